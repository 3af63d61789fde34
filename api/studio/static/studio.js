// artbandit studio: a little progressive enhancement. Every page works without it.
(function () {
  "use strict";

  // Forms: disable the submit button while a (possibly large) upload is on its way.
  document.querySelectorAll("form[data-busy-text]").forEach(function (form) {
    form.addEventListener("submit", function () {
      var button = form.querySelector("button[type=submit]");
      if (button) {
        button.disabled = true;
        button.textContent = form.dataset.busyText;
      }
    });
  });

  // Job and replay pages: poll the status JSON and update the progress bar until it finishes.
  var box = document.querySelector("[data-poll-url]");
  if (!box) { return; }
  var field = function (name) { return box.querySelector('[data-field="' + name + '"]'); };
  var bar = box.querySelector("progress");
  function show(state) {
    var pct = Math.round((state.progress || 0) * 100);
    bar.value = state.progress || 0;
    bar.textContent = pct + "%";
    field("status").textContent = state.status;
    field("percent").textContent = pct + "%";
    if (field("stage")) { field("stage").textContent = state.stage || ""; }
    if (state.error) {
      field("error").textContent = state.error;
      field("error").hidden = false;
    }
    if (state.status === "done") {
      var link = field("report-link");
      if (link && state.report_url) { link.href = state.report_url; }
      field("done").hidden = false;
    }
    return state.status === "done" || state.status === "failed";
  }
  function poll() {
    fetch(box.dataset.pollUrl, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (state) { if (!show(state)) { setTimeout(poll, 700); } })
      .catch(function () { setTimeout(poll, 2000); });
  }
  poll();
})();
