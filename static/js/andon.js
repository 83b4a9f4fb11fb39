// The andon station: after a call is sent, the note field is emptied for the next one.
(function () {
  "use strict";
  document.addEventListener("htmx:afterRequest", function (e) {
    var form = e.detail && e.detail.elt && e.detail.elt.closest && e.detail.elt.closest("form.andon-form");
    if (form && e.detail.successful) {
      var note = form.querySelector("#andon-note");
      if (note) note.value = "";
    }
  });
})();
