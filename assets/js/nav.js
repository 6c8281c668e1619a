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
  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape" && button.getAttribute("aria-expanded") === "true") { set(false); button.focus(); }
  });
})();
