// Dataset import form (views/partials/import_form.html) and the Import
// button of a preview (views/partials/import_preview.html): checks the
// file's size before sending it, and shows the upload's progress while htmx
// sends it (then that the server is reading and saving the records). In a
// preview, typing a text template chooses "Several columns, with a
// template", and the preview that htmx swaps in gets the focus. Without
// JavaScript the forms are plain POSTs and GETs and work the same.
(function () {
  'use strict';

  var MB = 1024 * 1024;

  function importForm(el) {
    return el && el.closest ? el.closest('form[data-import]') : null;
  }

  // sentBy reports whether a request's element is the form or one of its
  // submit buttons (the import form's Preview button posts by itself).
  function sentBy(form, el) {
    return el === form || (el && el.type === 'submit' && importForm(el) === form);
  }

  function sizeText(n) {
    return n >= MB ? (n / MB).toFixed(1) + ' MB' : Math.ceil(n / 1024) + ' KB';
  }

  // tooLarge returns the message for a chosen file over the limit, or "".
  function tooLarge(form) {
    var input = form.querySelector('input[type=file]');
    var max = parseInt(form.getAttribute('data-max-bytes'), 10);
    var file = input && input.files && input.files[0];
    if (!file || !max || file.size <= max) {
      return '';
    }
    return 'File too large (max ' + form.getAttribute('data-max-size') + '): ' + file.name + ' is ' + sizeText(file.size) + '.';
  }

  function showSizeError(form, msg) {
    var p = form.querySelector('#e-file-size');
    var input = form.querySelector('input[type=file]');
    if (!p || !input) {
      return;
    }
    p.textContent = msg;
    p.hidden = !msg;
    syncInvalid(form);
  }

  // syncInvalid marks the file input invalid when a message is shown for it.
  // The input itself survives htmx swaps (hx-preserve keeps the chosen file),
  // so its attributes are set here rather than by the template.
  function syncInvalid(form) {
    var input = form.querySelector('input[type=file]');
    if (!input) {
      return;
    }
    var ids = [];
    var server = form.querySelector('#e-file');
    var size = form.querySelector('#e-file-size');
    if (server) {
      ids.push('e-file');
    }
    if (size && !size.hidden) {
      ids.push('e-file-size');
    }
    ids.push('h-file');
    input.setAttribute('aria-describedby', ids.join(' '));
    if (ids.length > 1) {
      input.setAttribute('aria-invalid', 'true');
    } else {
      input.removeAttribute('aria-invalid');
    }
  }

  function progressParts(form) {
    return {
      box: form.querySelector('#import-progress'),
      bar: form.querySelector('#import-progress-bar'),
      text: form.querySelector('#import-progress-text')
    };
  }

  function say(form, msg) {
    var p = progressParts(form);
    if (p.text && p.text.textContent !== msg) {
      p.text.textContent = msg;
    }
  }

  document.addEventListener('change', function (evt) {
    var form = importForm(evt.target);
    if (form && evt.target.type === 'file') {
      showSizeError(form, tooLarge(form));
    }
  });

  document.addEventListener('htmx:beforeRequest', function (evt) {
    var form = importForm(evt.target);
    if (!form || !sentBy(form, evt.target)) {
      return;
    }
    var msg = tooLarge(form);
    if (msg) {
      evt.preventDefault();
      showSizeError(form, msg);
      return;
    }
    showSizeError(form, '');
    var p = progressParts(form);
    form.removeAttribute('data-uploaded');
    form.removeAttribute('data-step');
    if (p.box && p.bar) {
      p.bar.value = 0;
      p.box.hidden = false;
      say(form, 'Uploading…');
    }
  });

  // htmx reports progress of both the upload and the response under one
  // name; the upload comes first, and its end is when the server starts work.
  document.addEventListener('htmx:xhr:progress', function (evt) {
    var form = importForm(evt.target);
    var d = evt.detail || {};
    if (!form || form.hasAttribute('data-uploaded') || !d.lengthComputable || !d.total) {
      return;
    }
    var p = progressParts(form);
    if (!p.bar) {
      return;
    }
    if (d.loaded >= d.total) {
      form.setAttribute('data-uploaded', '');
      p.bar.removeAttribute('value'); // indeterminate while the server works
      say(form, 'Uploaded. Reading the file and saving its records…');
      return;
    }
    var pct = Math.floor((d.loaded / d.total) * 100);
    p.bar.value = pct;
    // Speak every tenth, not every event.
    var step = String(Math.floor(pct / 10));
    if (form.getAttribute('data-step') !== step) {
      form.setAttribute('data-step', step);
      say(form, 'Uploading: ' + pct + '% (' + sizeText(d.loaded) + ' of ' + sizeText(d.total) + ')');
    }
  });

  document.addEventListener('htmx:afterRequest', function (evt) {
    var form = importForm(evt.target);
    if (!form || !sentBy(form, evt.target)) {
      return;
    }
    var xhr = evt.detail && evt.detail.xhr;
    if (xhr && xhr.getResponseHeader('HX-Redirect')) {
      say(form, 'Imported. Opening the dataset…');
      return;
    }
    var p = progressParts(form);
    if (p.box) {
      p.box.hidden = true;
    }
  });

  document.addEventListener('htmx:sendError', function (evt) {
    var form = importForm(evt.target);
    if (form) {
      var p = progressParts(form);
      if (p.box) {
        p.box.hidden = true;
      }
      showSizeError(form, 'The upload failed: the connection was lost, or the file changed after it was chosen. Choose the file again and retry.');
    }
  });

  // A preview's choices update it as they change (htmx swaps the preview,
  // choices included). What the person typed or chose while that request was
  // under way must not be swapped away: such a response is dropped, and the
  // next change brings a preview of what the form now says.
  function snapshot(form) {
    return new URLSearchParams(new FormData(form)).toString();
  }

  document.addEventListener('htmx:configRequest', function (evt) {
    var form = evt.detail && evt.detail.elt;
    if (form && form.id === 'preview-options') {
      form.setAttribute('data-sent', snapshot(form));
    }
  });

  document.addEventListener('htmx:beforeSwap', function (evt) {
    var form = evt.detail && evt.detail.requestConfig && evt.detail.requestConfig.elt;
    if (form && form.id === 'preview-options' && form.isConnected && form.getAttribute('data-sent') !== snapshot(form)) {
      evt.detail.shouldSwap = false;
    }
  });

  // Typing a template means the text comes from it.
  document.addEventListener('input', function (evt) {
    if (evt.target && evt.target.id === 'f-textTemplate') {
      var radio = document.getElementById('f-textFrom-template');
      if (radio && !radio.checked) {
        radio.checked = true;
      }
    }
  });

  document.addEventListener('htmx:afterSwap', function (evt) {
    var form = document.querySelector('form[data-import]');
    if (form) {
      syncInvalid(form);
    }
    // A preview swapped in for the import form: move the focus to it, as a
    // page load would. (A preview updated in place keeps the focus where it was.)
    var heading = document.getElementById('h-preview-file');
    var target = evt.detail && evt.detail.target;
    if (heading && target && target.id === 'import-form') {
      heading.focus();
    }
  });
})();
