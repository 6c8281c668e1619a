// Parley workbench: follows a conversation live over Server-Sent Events.
// Tokens stream into the chat panel; stored messages are added to the
// timeline (and chat) as the server renders them. No inline scripts (CSP).
(function () {
  "use strict";
  const root = document.getElementById("workbench");
  if (!root || root.dataset.live !== "true") return;
  const id = root.dataset.conversation;
  const chat = document.getElementById("chat");
  const timeline = document.getElementById("timeline");
  const form = document.getElementById("chat-form");
  const status = document.getElementById("chat-status");
  let streaming = null;

  function fragment(html) {
    const t = document.createElement("template");
    t.innerHTML = html.trim();
    return t.content;
  }
  function scroll(el) { if (el) el.scrollTop = el.scrollHeight; }

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
  es.addEventListener("message", function (e) {
    const data = JSON.parse(e.data);
    const empty = document.getElementById("timeline-empty");
    if (empty) empty.remove();
    const existing = document.getElementById("m-" + data.id);
    if (existing) {
      existing.replaceWith(fragment(data.timeline)); // e.g. a new rating
    } else if (timeline) {
      timeline.appendChild(fragment(data.timeline));
      if (window.htmx) window.htmx.process(timeline.lastElementChild);
    }
    if (chat && data.chat && !chat.querySelector('[data-id="' + data.id + '"]')) {
      if (streaming && (data.type === "bot" || data.type === "activity")) {
        streaming.remove();
        streaming = null;
      }
      chat.appendChild(fragment(data.chat));
      scroll(chat);
    }
    if (status && (data.type === "bot" || data.type === "activity")) status.textContent = "";
  });
  es.onerror = function () { if (status) status.textContent = "Reconnecting…"; };
  es.onopen = function () { if (status && status.textContent === "Reconnecting…") status.textContent = ""; };

  if (form) {
    const text = form.querySelector("textarea");
    text.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        if (text.value.trim() !== "") form.requestSubmit();
      }
    });
    form.addEventListener("htmx:afterRequest", function (e) {
      if (e.detail.successful) {
        if (e.detail.elt === form) text.value = "";
        if (status) status.textContent = "The bot is answering…";
      } else if (status) {
        status.textContent = "Not sent: " + (e.detail.xhr.responseText ? "see the message above." : "the server did not answer.");
      }
    });
  }
  scroll(chat);
  window.addEventListener("beforeunload", function () { es.close(); });
})();
