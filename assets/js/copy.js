// Copy buttons: a button with data-copy="ID" copies the text of element ID
// and says so. It is shown only where this script runs.
(function () {
  "use strict";
  document.querySelectorAll("button[data-copy]").forEach(function (b) { b.hidden = false; });
  document.addEventListener("click", function (e) {
    const b = e.target.closest("button[data-copy]");
    if (!b) return;
    const el = document.getElementById(b.dataset.copy);
    if (!el) return;
    const text = el.textContent.trim();
    const done = function (msg) {
      const was = b.dataset.label || b.textContent;
      b.dataset.label = was;
      b.textContent = msg;
      setTimeout(function () { b.textContent = was; }, 2000);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { done("Copied"); }, function () { done("Select and copy it"); });
    } else {
      const r = document.createRange();
      r.selectNodeContents(el);
      const sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(r);
      try { document.execCommand("copy"); done("Copied"); } catch (err) { done("Selected: press Ctrl+C"); }
    }
  });
})();
