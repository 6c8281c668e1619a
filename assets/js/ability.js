// The ability editor: shows the fields of the chosen action, adds and removes
// parameter and header rows in place, and checks the URL template against
// the parameters as you type. Without it every field shows and a blank row
// is there to fill.
(function () {
  "use strict";
  const form = document.getElementById("ability-form");
  if (!form) return;

  function chosen() {
    const r = form.querySelector('input[name="action"]:checked');
    return r ? r.value : "";
  }
  function showFields() {
    const action = chosen();
    form.querySelectorAll(".action-fields").forEach(function (el) {
      el.hidden = el.dataset.action !== action;
    });
  }
  form.querySelectorAll('input[name="action"]').forEach(function (r) { r.addEventListener("change", showFields); });
  showFields();

  let seq = 1000;
  function fresh(row) {
    const copy = row.cloneNode(true);
    seq++;
    copy.querySelectorAll("input, select").forEach(function (el) {
      if (el.tagName === "INPUT") el.value = "";
      el.removeAttribute("aria-invalid");
      el.removeAttribute("aria-describedby");
      const label = copy.querySelector('label[for="' + el.id + '"]');
      el.id = el.id.replace(/-\d+$/, "-" + seq);
      if (label) label.htmlFor = el.id;
    });
    copy.querySelectorAll(".error-text").forEach(function (p) { p.remove(); });
    return copy;
  }
  form.addEventListener("click", function (e) {
    const add = e.target.closest(".add-row");
    if (add) {
      const body = document.getElementById(add.dataset.rows).tBodies[0];
      const row = fresh(body.rows[body.rows.length - 1]);
      body.appendChild(row);
      row.querySelector("input").focus();
      check();
      return;
    }
    const remove = e.target.closest(".remove-row");
    if (remove) {
      const row = remove.closest("tr");
      const body = row.parentNode;
      if (body.rows.length > 1) {
        row.remove();
      } else {
        row.querySelectorAll("input").forEach(function (el) { el.value = ""; });
      }
      check();
    }
  });

  // The URL template's {placeholders} must each be a parameter.
  const url = document.getElementById("f-url");
  const out = document.getElementById("url-check");
  function check() {
    if (!url || !out) return;
    const names = Array.from(form.querySelectorAll('input[name="paramName"]')).map(function (el) { return el.value.trim(); }).filter(Boolean);
    const used = [];
    url.value.replace(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g, function (_, n) { if (used.indexOf(n) < 0) used.push(n); });
    const missing = used.filter(function (n) { return names.indexOf(n) < 0; });
    const unused = names.filter(function (n) { return used.indexOf(n) < 0; });
    const msgs = [];
    if (missing.length) msgs.push("No parameter for " + missing.map(function (n) { return "{" + n + "}"; }).join(", ") + ": add one below.");
    if (unused.length && form.querySelector('select[name="method"]').value === "GET") msgs.push("Not in the URL (sent nowhere with GET): " + unused.join(", ") + ".");
    if (!msgs.length && url.value && !/^https?:\/\//i.test(url.value)) msgs.push("The URL should start with https:// or http://.");
    out.textContent = msgs.join(" ");
    out.classList.toggle("error-text", msgs.length > 0);
  }
  form.addEventListener("input", check);
  form.addEventListener("change", check);
  check();
})();
