// Live progress of a QA run or replay: the page's #run-progress names its
// event stream (data-events); each "progress" event updates the bar and the
// counts, and when the work is finished the page reloads to show the results.
(function () {
  "use strict";
  var box = document.getElementById("run-progress");
  if (!box || !box.dataset.events || !window.EventSource) return;
  var bar = document.getElementById("run-bar");
  var es = new EventSource(box.dataset.events);
  function set(name, value) {
    box.querySelectorAll('[data-field="' + name + '"]').forEach(function (el) { el.textContent = value; });
  }
  es.addEventListener("progress", function (e) {
    var p = JSON.parse(e.data);
    if (bar) { bar.max = p.total || 1; bar.value = p.done; bar.textContent = p.percent + "%"; }
    set("percent", p.percent + "%");
    set("done", p.done);
    set("total", p.total);
    set("passed", p.passed);
    set("failed", p.failed);
    set("errored", p.errored);
    set("status", p.status);
    if (p.finished) {
      es.close();
      window.location.reload();
    }
  });
})();
