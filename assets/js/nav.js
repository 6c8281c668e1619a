// The top navigation collapses behind a Menu button on narrow screens. The
// button is shown only when this script runs; without it the navigation
// stays visible (stacked).
(function () {
  "use strict";
  const button = document.getElementById("menu-toggle");
  const nav = document.getElementById("main-nav");
  if (!button || !nav) return;
  document.documentElement.classList.add("has-menu");
  button.hidden = false;
  function set(open) {
    button.setAttribute("aria-expanded", open ? "true" : "false");
    nav.classList.toggle("open", open);
  }
  button.addEventListener("click", function () { set(button.getAttribute("aria-expanded") !== "true"); });
  // The Settings group closes on Escape and on a click elsewhere.
  const group = document.getElementById("nav-settings");
  document.addEventListener("keydown", function (e) {
    if (e.key !== "Escape") return;
    if (group && group.open) { group.open = false; group.querySelector("summary").focus(); return; }
    if (button.getAttribute("aria-expanded") === "true") { set(false); button.focus(); }
  });
  document.addEventListener("click", function (e) {
    if (group && group.open && !group.contains(e.target)) group.open = false;
  });
})();
