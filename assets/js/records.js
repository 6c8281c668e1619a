// Dataset record list (views/pages/datasets/show.html): a checkbox that
// selects every record on the page, and the number selected next to "Delete
// selected". Without JavaScript each record's box is ticked by itself and the
// form works the same.
(function () {
  'use strict';

  function boxes(form) {
    return Array.prototype.slice.call(form.querySelectorAll('input[type=checkbox][name=ids]'));
  }

  function sync(form) {
    var all = form.querySelector('#select-all');
    var list = boxes(form);
    var n = list.filter(function (b) { return b.checked; }).length;
    if (all) {
      all.checked = n > 0 && n === list.length;
      all.indeterminate = n > 0 && n < list.length;
    }
    var count = form.querySelector('#selected-count');
    if (count) {
      count.textContent = n === 0 ? '' : (n === 1 ? '1 record selected' : n + ' records selected');
    }
  }

  function init() {
    var form = document.querySelector('form[data-records]');
    if (!form) {
      return;
    }
    var all = form.querySelector('#select-all');
    if (all) {
      all.hidden = false;
      all.addEventListener('change', function () {
        boxes(form).forEach(function (b) { b.checked = all.checked; });
        sync(form);
      });
    }
    form.addEventListener('change', function (evt) {
      if (evt.target && evt.target.name === 'ids') {
        sync(form);
      }
    });
    sync(form);
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', init);
  } else {
    init();
  }
})();
