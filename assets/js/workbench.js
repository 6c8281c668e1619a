(function () {
  "use strict";
  const root = document.getElementById("workbench");
  if (!root || root.dataset.live !== "true") return;
  const id = root.dataset.conversation;
  const chat = document.getElementById("chat");
  const timeline = document.getElementById("timeline");
  const form = document.getElementById("chat-form");
  const status = document.getElementById("chat-status");
  const count = document.getElementById("message-count");
  const retry = document.getElementById("retry-button");
  const running = new Set(); // turns being answered, from the server's turn events
  let streaming = null;
  let sending = false;

  function fragment(html) {
    const t = document.createElement("template");
    t.innerHTML = html.trim();
    return t.content;
  }
  function scroll(el) { if (el) el.scrollTop = el.scrollHeight; }
  function say(msg) { if (status) status.textContent = msg; }
  function answering() {
    if (sending) return;
    say(running.size > 0 ? "The bot is answering…" : "");
  }

  // The header's message count follows the timeline.
  function recount(delta) {
    if (!count || count.dataset.capped === "true") return;
    const n = Math.max(0, parseInt(count.dataset.count || "0", 10) + delta);
    count.dataset.count = String(n);
    count.textContent = n === 1 ? "1 message" : n + " messages";
  }

  // A fresh key for each message: a resent request (double click, retry after
  // a dropped connection) is stored once.
  function newKey() {
    const key = form && form.querySelector('input[name="key"]');
    if (!key) return;
    const b = new Uint8Array(16);
    crypto.getRandomValues(b);
    key.value = Array.from(b, function (x) { return x.toString(16).padStart(2, "0"); }).join("");
  }

  const es = new EventSource("/conversations/" + encodeURIComponent(id) + "/events");
  es.addEventListener("token", function (e) {
    if (!chat) return;
    const data = JSON.parse(e.data);
    if (!streaming) {
      streaming = document.createElement("div");
      streaming.className = "bubble bot streaming";
      streaming.setAttribute("aria-busy", "true");
      chat.appendChild(streaming);
    }
    streaming.textContent += data.token;
    scroll(chat);
  });
  es.addEventListener("turn", function (e) {
    const data = JSON.parse(e.data);
    if (data.status === "running" || data.status === "queued") {
      running.add(data.turnId);
    } else {
      running.delete(data.turnId);
      if (streaming && running.size === 0) { streaming.remove(); streaming = null; }
    }
    answering();
  });
  es.addEventListener("message", function (e) {
    const data = JSON.parse(e.data);
    const empty = document.getElementById("timeline-empty");
    if (empty) empty.remove();
    const existing = document.getElementById("m-" + data.id);
    if (existing) {
      existing.replaceWith(fragment(data.timeline)); // e.g. a new rating
    } else if (timeline) {
      timeline.appendChild(fragment(data.timeline));
      recount(1);
    }
    // Entries that arrive live get htmx's behaviour too (votes, the prompt).
    const entry = document.getElementById("m-" + data.id);
    if (entry && window.htmx) window.htmx.process(entry);
    if (chat && data.chat && !chat.querySelector('[data-id="' + data.id + '"]')) {
      if (streaming && (data.type === "bot" || data.type === "activity")) {
        streaming.remove();
        streaming = null;
      }
      chat.appendChild(fragment(data.chat));
      scroll(chat);
    }
    if (data.type === "user") {
      // Something to retry now: both retry buttons come alive.
      for (const b of [retry, document.getElementById("save-retry")]) {
        if (b) { b.disabled = false; b.removeAttribute("title"); }
      }
    }
  });
  es.addEventListener("deleted", function (e) {
    const data = JSON.parse(e.data);
    const entry = document.getElementById("m-" + data.id);
    if (entry) { entry.remove(); recount(-1); }
    const bubble = chat && chat.querySelector('[data-id="' + data.id + '"]');
    if (bubble) bubble.remove();
  });
  es.onerror = function () { say("Reconnecting…"); };
  es.onopen = function () { if (status && status.textContent === "Reconnecting…") answering(); };

  if (form) {
    const text = form.querySelector("textarea");
    newKey();
    text.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        if (text.value.trim() !== "" && !sending) form.requestSubmit();
      }
    });
    form.addEventListener("htmx:beforeRequest", function () {
      sending = true;
      say("Sending…");
    });
    // Only a 202 means the server stored the message: then, and only then,
    // the text is cleared and the bot said to be answering. Anything else
    // keeps what was typed and says why.
    form.addEventListener("htmx:afterRequest", function (e) {
      sending = false;
      const xhr = e.detail.xhr;
      if (xhr && xhr.status === 202) {
        if (e.detail.elt !== retry) {
          text.value = "";
          newKey();
        }
        const turn = xhr.getResponseHeader("X-Turn-Id");
        if (turn) running.add(turn);
        answering();
        text.focus();
        return;
      }
      if (!xhr || xhr.status === 0) {
        say("Not sent: the server did not answer. Your message is still here: send it again.");
      } else {
        say("Not sent (" + xhr.status + "): see the message above. Your message is still here.");
      }
    });
  }
  // Chat only: hide the timeline to read the conversation.
  const only = document.getElementById("chat-only");
  if (only && chat) {
    only.hidden = false;
    only.addEventListener("click", function () {
      const on = only.getAttribute("aria-pressed") !== "true";
      only.setAttribute("aria-pressed", on ? "true" : "false");
      only.textContent = on ? "Show the timeline" : "Chat only";
      root.classList.toggle("chat-only", on);
    });
  }
  // "Save and retry": the answer follows live, like a send's.
  const saveRetry = document.getElementById("save-retry");
  if (saveRetry) {
    saveRetry.addEventListener("htmx:afterRequest", function (e) {
      const xhr = e.detail.xhr;
      const out = document.getElementById("bot-panel-status");
      if (xhr && xhr.status === 202) {
        const turn = xhr.getResponseHeader("X-Turn-Id");
        if (turn) running.add(turn);
        if (out) out.textContent = "Saved; answering again with the new settings…";
        answering();
      } else if (out) {
        out.textContent = "Not saved (" + (xhr ? xhr.status : "no answer") + "): see the message above.";
      }
    });
  }
  scroll(chat);
  window.addEventListener("beforeunload", function () { es.close(); });
})();
