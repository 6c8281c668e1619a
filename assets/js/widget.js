/*! Parley web chat widget. One self-contained file, no dependencies.
 * Embed: <script src="https://PARLEY/widget/{id}.js" async></script>
 * Inline: <div id="chat"></div><script src="…/widget/{id}.js" data-target="#chat" async></script>
 * Optional: data-user-id + data-signature (hex HMAC-SHA256 of the user id
 * under the widget's identity secret), data-open (open at once). */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) return;
  var m = /^(.*)\/widget\/([A-Za-z0-9-]+)\.js(?:[?#].*)?$/.exec(script.src);
  if (!m) return;
  var base = m[1], wid = m[2], ds = script.dataset;
  var cfgURL = ds.configUrl || base + "/widget/" + wid + "/config";
  var sessURL = ds.sessionUrl || base + "/widget/" + wid + "/session";
  var api = base + "/api/v1/conversation/";
  var KEY = "parley-widget:" + wid;
  var ENDED = "This chat has ended \u2014 start a new one.";

  function load() {
    try { return JSON.parse(localStorage.getItem(KEY)) || {}; } catch (e) { return {}; }
  }
  function save() {
    try { localStorage.setItem(KEY, JSON.stringify(st)); } catch (e) { /* private mode: no resume */ }
  }
  function rnd() {
    var b = new Uint8Array(18), s = "";
    crypto.getRandomValues(b);
    for (var i = 0; i < b.length; i++) s += ("0" + b[i].toString(16)).slice(-2);
    return s;
  }
  var st = load();
  if (!st.fp) { st.fp = "w" + rnd(); save(); }

  var CSS = [
    ":host{all:initial;--bg:#fff;--fg:#1a1a1a;--mut:#4b5563;--ac:#1d4ed8;--acfg:#fff;--bub:#f1f5f9;--bd:#cbd5e1;--err:#b91c1c;font:15px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif}",
    ".dark{--bg:#111827;--fg:#f3f4f6;--mut:#cbd5e1;--ac:#93c5fd;--acfg:#111827;--bub:#1f2937;--bd:#4b5563;--err:#fca5a5}",
    "@media (prefers-color-scheme:dark){.auto{--bg:#111827;--fg:#f3f4f6;--mut:#cbd5e1;--ac:#93c5fd;--acfg:#111827;--bub:#1f2937;--bd:#4b5563;--err:#fca5a5}}",
    ".root{color:var(--fg)}*{box-sizing:border-box}",
    "button,textarea{font:inherit;color:inherit}",
    "button{cursor:pointer;border-radius:8px;border:1px solid var(--bd);background:var(--bg);padding:6px 10px}",
    "button:focus-visible,textarea:focus-visible,a:focus-visible{outline:3px solid var(--ac);outline-offset:2px}",
    ".launch{position:fixed;right:20px;bottom:20px;z-index:2147483646;width:56px;height:56px;border-radius:50%;border:0;background:var(--ac);color:var(--acfg);box-shadow:0 4px 14px rgba(0,0,0,.3);display:flex;align-items:center;justify-content:center}",
    ".launch svg{width:26px;height:26px;fill:currentColor}",
    ".panel{background:var(--bg);color:var(--fg);display:flex;flex-direction:column;border:1px solid var(--bd);border-radius:12px;overflow:hidden}",
    ".bubble .panel{position:fixed;right:20px;bottom:88px;z-index:2147483647;width:370px;height:min(600px,calc(100vh - 110px));box-shadow:0 8px 30px rgba(0,0,0,.3)}",
    ".inline .panel{width:100%;height:100%;min-height:420px}",
    ".panel[hidden]{display:none}",
    "header{display:flex;align-items:center;gap:6px;padding:10px 12px;border-bottom:1px solid var(--bd)}",
    "h2{font-size:16px;margin:0;flex:1;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}",
    ".tools{display:flex;gap:4px;flex-wrap:wrap;padding:6px 12px;border-bottom:1px solid var(--bd)}",
    ".tools button{font-size:13px;padding:3px 8px}",
    ".log{flex:1;overflow-y:auto;padding:12px;display:flex;flex-direction:column;gap:8px}",
    ".intro{color:var(--mut);margin:0 0 4px}",
    ".msg{max-width:85%;padding:8px 11px;border-radius:12px;white-space:pre-wrap;overflow-wrap:anywhere}",
    ".bot{align-self:flex-start;background:var(--bub)}",
    ".user{align-self:flex-end;background:var(--ac);color:var(--acfg)}",
    ".typing{color:var(--mut);font-style:italic;padding:0 12px 6px}",
    ".err{margin:0 12px 8px;padding:8px 10px;border:1px solid var(--err);border-radius:8px;color:var(--err);display:flex;gap:8px;align-items:center;justify-content:space-between}",
    ".err button{color:var(--fg)}",
    "form{display:flex;gap:8px;padding:10px 12px;border-top:1px solid var(--bd)}",
    "textarea{flex:1;resize:none;min-height:42px;max-height:120px;padding:9px 10px;border:1px solid var(--bd);border-radius:8px;background:var(--bg)}",
    ".send{background:var(--ac);color:var(--acfg);border-color:var(--ac);font-weight:600}",
    "button:disabled{opacity:.6;cursor:not-allowed}",
    ".who{padding:6px 12px;border-top:1px solid var(--bd);font-size:14px}.whof{display:grid;gap:4px;padding-top:6px}",
    ".whof input{font:inherit;color:inherit;background:var(--bg);border:1px solid var(--bd);border-radius:6px;padding:5px 8px}",
    ".whof input:focus-visible,summary:focus-visible{outline:3px solid var(--ac);outline-offset:2px}",
    ".pb{font-size:12px;color:var(--mut);text-align:center;padding:0 0 6px}",
    ".sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}",
    "@media (max-width:479px){.bubble .panel{inset:0;width:100%;height:100%;border-radius:0;border:0}}"
  ].join("\n");

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) {
      if (k === "class") e.className = attrs[k]; else e.setAttribute(k, attrs[k]);
    }
    if (text != null) e.textContent = text;
    return e;
  }

  var W = {}, msgs = [], busy = false, pending = null, ended = false, refused = "";
  var host, root, launch, panel, log, live, typing, errBox, form, ta, send, title, tools, sess = null;

  function build(inlineTarget) {
    host = el("div", { "data-parley-widget": wid });
    var sh = host.attachShadow({ mode: "open" });
    if (sh.adoptedStyleSheets !== undefined && window.CSSStyleSheet && CSSStyleSheet.prototype.replaceSync) {
      var ss = new CSSStyleSheet();
      ss.replaceSync(CSS); // a constructed sheet: not blocked by a site's style-src
      sh.adoptedStyleSheets = [ss];
    } else {
      sh.appendChild(el("style", {}, CSS));
    }
    var theme = W.theme === "light" || W.theme === "dark" ? W.theme : "auto";
    root = el("div", { "class": "root " + theme + (inlineTarget ? " inline" : " bubble") });
    if (W.language) root.setAttribute("lang", W.language);
    sh.appendChild(root);
    var name = W.title || W.name || "Chat";
    var pid = "parley-panel-" + wid;
    if (!inlineTarget) {
      launch = el("button", { "class": "launch", type: "button", "aria-label": "Open chat: " + name, "aria-expanded": "false", "aria-controls": pid });
      launch.innerHTML = '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z"/></svg>';
      launch.addEventListener("click", function () { panel.hidden ? open() : close(); });
      root.appendChild(launch);
    }
    panel = el("section", { "class": "panel", id: pid, role: inlineTarget ? "region" : "dialog", "aria-labelledby": pid + "-t" });
    if (!inlineTarget) panel.hidden = true;
    var head = el("header");
    title = el("h2", { id: pid + "-t" }, name);
    head.appendChild(title);
    if (!inlineTarget) {
      var x = el("button", { type: "button", "aria-label": "Close chat" }, "\u00d7");
      x.addEventListener("click", close);
      head.appendChild(x);
    }
    panel.appendChild(head);
    tools = el("div", { "class": "tools", role: "toolbar", "aria-label": "Chat actions" });
    if (W.restartConversation) tools.appendChild(btn("New chat", function () { start(true); }));
    if (W.exportConversation) {
      tools.appendChild(btn("Export text", function () { exp("txt"); }));
      tools.appendChild(btn("Export JSON", function () { exp("json"); }));
    }
    if (tools.children.length) panel.appendChild(tools);
    log = el("div", { "class": "log", tabindex: "0", "aria-label": "Conversation" });
    panel.appendChild(log);
    live = el("div", { "class": "sr", "aria-live": "polite", "aria-atomic": "false" });
    panel.appendChild(live);
    typing = el("div", { "class": "typing", hidden: "" }, "Typing\u2026");
    typing.hidden = true;
    panel.appendChild(typing);
    errBox = el("div", { "class": "err", role: "alert" });
    errBox.hidden = true;
    panel.appendChild(errBox);
    if (W.contactCollection) panel.appendChild(details(pid));
    form = el("form");
    var lid = pid + "-in";
    form.appendChild(el("label", { "for": lid, "class": "sr" }, "Message"));
    ta = el("textarea", { id: lid, rows: "1", placeholder: W.placeholder || "Type your message\u2026", maxlength: "20000" });
    form.appendChild(ta);
    send = el("button", { "class": "send", type: "submit" }, "Send");
    form.appendChild(send);
    form.addEventListener("submit", function (e) { e.preventDefault(); submit(); });
    ta.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); submit(); }
    });
    panel.appendChild(form);
    if (W.poweredBy) panel.appendChild(el("div", { "class": "pb" }, "Powered by Parley"));
    panel.addEventListener("keydown", function (e) {
      if (e.key === "Escape" && !inlineTarget) { e.stopPropagation(); close(); }
    });
    root.appendChild(panel);
    (inlineTarget || document.body).appendChild(host);
    render();
  }

  // details is the optional "Your details" form of a widget that collects
  // contacts: saved with the next session request.
  function details(pid) {
    var d = el("details", { "class": "who" }), f = el("div", { "class": "whof" }), c = st.contact || {};
    d.appendChild(el("summary", {}, c.name || c.email ? "Your details (saved)" : "Your details (optional)"));
    function inp(key, label, type) {
      var id = pid + "-" + key, i = el("input", { id: id, type: type, maxlength: "200", autocomplete: key });
      i.value = c[key] || "";
      f.appendChild(el("label", { "for": id }, label));
      f.appendChild(i);
      return i;
    }
    var n = inp("name", "Name", "text"), e = inp("email", "Email", "email");
    f.appendChild(btn("Save details", function () {
      st.contact = { name: n.value.trim(), email: e.value.trim() }; save();
      start(false).then(function (ok) { if (ok) d.open = false; });
    }));
    d.appendChild(f);
    return d;
  }

  function btn(label, fn) {
    var b = el("button", { type: "button" }, label);
    b.addEventListener("click", fn);
    return b;
  }

  function render() {
    log.textContent = "";
    if (W.intro) log.appendChild(el("p", { "class": "intro" }, W.intro));
    if (W.initial) log.appendChild(el("div", { "class": "msg bot" }, W.initial));
    for (var i = 0; i < msgs.length; i++) log.appendChild(bubble(msgs[i]));
    var off = !!refused || ended || busy || !sess;
    ta.disabled = !!refused || ended;
    send.disabled = off;
    if (refused) showErr(refused);
    else if (ended) showErr(ENDED, "Start a new chat", function () { start(true); });
    scroll();
  }
  function bubble(mm) {
    return el("div", { "class": "msg " + (mm.type === "user" ? "user" : "bot") }, mm.text);
  }
  function scroll() { log.scrollTop = log.scrollHeight; }
  function announce(text) {
    live.appendChild(el("p", {}, text));
    while (live.children.length > 3) live.removeChild(live.firstChild);
  }
  function showErr(text, label, fn) {
    errBox.textContent = "";
    errBox.appendChild(el("span", {}, text));
    if (label) errBox.appendChild(btn(label, fn));
    errBox.hidden = false;
  }
  function clearErr() { errBox.hidden = true; errBox.textContent = ""; }

  function open() {
    if (!panel.hidden) return;
    panel.hidden = false;
    if (launch) launch.setAttribute("aria-expanded", "true");
    st.open = true; save();
    if (!sess && !refused && !ended) start(false);
    (ta.disabled ? (errBox.querySelector("button") || log) : ta).focus();
    scroll();
  }
  function close() {
    if (!launch || panel.hidden) return;
    panel.hidden = true;
    launch.setAttribute("aria-expanded", "false");
    st.open = false; save();
    launch.focus();
  }

  function j(r) {
    return r.json().catch(function () { return {}; }).then(function (b) { b.__s = r.status; return b; });
  }
  function sessionBody(restart) {
    var b = { fingerprint: st.fp, restart: !!restart };
    if (st.token && !restart) b.previousToken = st.token;
    if (ds.userId) { b.userId = ds.userId; b.signature = ds.signature || ""; }
    if (st.contact && W.contactCollection) b.contact = st.contact;
    return JSON.stringify(b);
  }
  function headers(extra) {
    var h = { "Content-Type": "application/json", Accept: "application/json" };
    if (ds.csrf) h["X-CSRF-Token"] = ds.csrf;
    for (var k in extra || {}) h[k] = extra[k];
    return h;
  }
  // start gets a session (resuming the conversation, or a new one).
  function start(restart) {
    clearErr();
    busy = true; render();
    return fetch(sessURL, { method: "POST", headers: headers(), body: sessionBody(restart), credentials: ds.csrf ? "same-origin" : "omit" })
      .then(j).then(function (b) {
        busy = false;
        if (b.__s !== 200) { sess = null; render(); showErr(b.message || "The chat could not start.", "Retry", function () { start(restart); }); return false; }
        if (b.ended) { ended = true; sess = null; render(); return false; }
        ended = false;
        sess = b; st.token = b.token; st.conv = b.conversationId; save();
        if (b.widget) W = b.widget;
        msgs = b.messages || [];
        render();
        if (restart) ta.focus();
        return true;
      }, function () {
        busy = false; render();
        showErr("The chat cannot be reached right now.", "Retry", function () { start(restart); });
        return false;
      });
  }

  function submit() {
    var text = ta.value.trim();
    if (!text || busy || !sess || ended || refused) return;
    if (!pending || pending.text !== text) pending = { text: text, key: "w-" + rnd() };
    ask(pending, true);
  }

  // ask sends the user's message and shows the answer as it streams; the
  // text stays in the box until the server has taken it.
  function ask(p, renew) {
    clearErr();
    busy = true; send.disabled = true;
    typing.hidden = false;
    var stream = W.stream !== false;
    fetch(api + sess.conversationId + "/complete", {
      method: "POST", credentials: "omit",
      headers: headers({ Authorization: "Bearer " + sess.token, Accept: stream ? "application/jsonl" : "application/json", "Idempotency-Key": p.key }),
      body: JSON.stringify({ text: p.text })
    }).then(function (r) {
      if (r.status === 401 && renew) {
        // Expired: renew through the session endpoint, then try once more.
        return start(false).then(function (ok) { if (ok) ask(p, false); else done(); });
      }
      if (r.status !== 200) return j(r).then(function (b) { fail(b.message || "The message could not be sent."); });
      ta.value = ""; pending = null;
      var um = { type: "user", text: p.text };
      msgs.push(um); log.appendChild(bubble(um));
      var bm = { type: "bot", text: "" }, node = null;
      function token(t) {
        bm.text += t;
        if (!node) { node = bubble(bm); log.appendChild(node); }
        node.textContent = bm.text;
        scroll();
      }
      function finish(text, id) {
        if (text != null) bm.text = text;
        if (!node) { node = bubble(bm); log.appendChild(node); }
        node.textContent = bm.text; bm.id = id;
        msgs.push(bm); announce(bm.text); done(); scroll();
      }
      if (!stream || !r.body || !r.body.getReader) {
        return r.json().then(function (b) { finish(b.text, b.id); });
      }
      var rd = r.body.getReader(), dec = new TextDecoder(), buf = "", got = false;
      function line(s) {
        if (!s.trim()) return;
        var ev; try { ev = JSON.parse(s); } catch (e) { return; }
        if (ev.type === "token") token(ev.data.token || "");
        else if (ev.type === "result") { got = true; finish(ev.data.text, ev.data.id); }
        else if (ev.type === "error") { got = true; fail((ev.data && ev.data.message) || "The answer failed."); }
      }
      function pump() {
        return rd.read().then(function (x) {
          if (x.done) { line(buf); if (!got) fail("The answer was cut short."); return; }
          buf += dec.decode(x.value, { stream: true });
          var i;
          while ((i = buf.indexOf("\n")) >= 0) { line(buf.slice(0, i)); buf = buf.slice(i + 1); }
          return pump();
        });
      }
      return pump();
    }).catch(function () { fail("The chat cannot be reached right now."); });
  }
  function done() { busy = false; typing.hidden = true; send.disabled = !sess || ended; }
  function fail(msg) {
    done();
    var p = pending;
    showErr(msg, p ? "Retry" : null, p ? function () { ask(p, true); } : null);
  }

  function exp(kind) {
    var all = [];
    if (W.initial) all.push({ type: "bot", text: W.initial });
    all = all.concat(msgs);
    var name = (W.title || W.name || "chat").replace(/[^\w.-]+/g, "-"), body, type;
    if (kind === "json") {
      body = JSON.stringify({ conversationId: sess && sess.conversationId, exportedAt: new Date().toISOString(),
        messages: all.map(function (x) { return { type: x.type, text: x.text, createdAt: x.createdAt }; }) }, null, 2);
      type = "application/json";
    } else {
      body = all.map(function (x) { return (x.type === "user" ? "You: " : "Bot: ") + x.text; }).join("\n\n") + "\n";
      type = "text/plain";
    }
    var a = el("a", { download: name + "." + kind, href: URL.createObjectURL(new Blob([body], { type: type })) });
    a.style.display = "none";
    root.appendChild(a); a.click();
    setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
  }

  function boot() {
    fetch(cfgURL, { credentials: ds.csrf ? "same-origin" : "omit", headers: { Accept: "application/json" } }).then(j).then(function (b) {
      if (b.widget) W = b.widget;
      var target = null;
      var sel = ds.target;
      if (sel || W.layout === "inline") target = sel ? document.querySelector(sel) : null;
      if (!b.allowed) refused = b.message || "This chat is not available here.";
      build(target);
      if (target || ds.open !== undefined || st.open) { if (target) { if (!refused) start(false); } else open(); }
    }, function () {
      refused = "The chat cannot be reached right now.";
      build(ds.target ? document.querySelector(ds.target) : null);
    });
  }
  window.ParleyWidget = window.ParleyWidget || {};
  window.ParleyWidget[wid] = { open: function () { open(); }, close: function () { close(); } };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot); else boot();
})();
