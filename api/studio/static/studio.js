// artbandit studio: a little progressive enhancement. Every page works without it.
(function () {
  "use strict";

  // Forms: disable the submit button while a (possibly large) upload is on its way.
  document.querySelectorAll("form[data-busy-text]").forEach(function (form) {
    form.addEventListener("submit", function () {
      var button = form.querySelector("button[type=submit]");
      if (button) {
        button.dataset.idleText = button.dataset.idleText || button.textContent;
        button.disabled = true;
        button.textContent = form.dataset.busyText;
      }
    });
  });

  // Video uploads: send the form in the background and show how much of the file has gone;
  // once the server has it, follow its answer (the job's page). Without script the form posts.
  function megabytes(bytes) { return (bytes / 1048576).toFixed(1) + " MB"; }
  document.querySelectorAll("form[data-upload-progress]").forEach(function (form) {
    var box = document.getElementById(form.dataset.uploadProgress);
    var bar = box.querySelector("progress");
    var said = box.querySelector('[data-field="upload-status"]');
    var error = form.querySelector('[data-field="upload-error"]');
    var button = form.querySelector("button[type=submit]");
    function fail(message) {
      error.textContent = message;
      error.hidden = false;
      box.hidden = true;
      button.disabled = false;
      button.textContent = button.dataset.idleText || button.textContent;
    }
    form.addEventListener("submit", function (event) {
      if (!window.FormData || !window.XMLHttpRequest || !form.checkValidity()) { return; }
      event.preventDefault();
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.upload.addEventListener("progress", function (e) {
        if (!e.lengthComputable || !e.total) { return; }
        bar.value = e.loaded / e.total;
        bar.textContent = Math.round(100 * e.loaded / e.total) + "%";
        said.textContent = "Sent " + megabytes(e.loaded) + " of " + megabytes(e.total) +
          " (" + Math.round(100 * e.loaded / e.total) + "%)";
      });
      xhr.upload.addEventListener("load", function () {
        bar.value = 1;
        said.textContent = "Sent; the server is queuing the ingest…";
      });
      xhr.addEventListener("load", function () {
        if (xhr.status < 400 && xhr.responseURL) {
          window.location.assign(xhr.responseURL);
          return;
        }
        var page = new DOMParser().parseFromString(xhr.responseText || "", "text/html");
        var message = page.querySelector("#error-message");
        fail(message ? message.textContent : "The upload failed (HTTP " + xhr.status + ").");
      });
      xhr.addEventListener("error", function () {
        fail("The upload did not reach the server; check the connection and send it again.");
      });
      error.hidden = true;
      box.hidden = false;
      bar.value = 0;
      xhr.send(new FormData(form));
    });
  });

  // Bulk forms: a "select every one shown" box for the artworks' own boxes.
  document.querySelectorAll("[data-select-all]").forEach(function (label) {
    var all = label.querySelector("input");
    var form = label.closest("form");
    function picks() {
      return document.querySelectorAll('input[name="artwork"][form="' + form.id + '"]:not([disabled])');
    }
    if (!picks().length) { return; }
    label.hidden = false;
    all.addEventListener("change", function () {
      picks().forEach(function (pick) { pick.checked = all.checked; });
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
      if (box.hasAttribute("data-reload-when-done")) {
        window.location.reload();  // the page, rendered again, shows what the job stored
        return true;
      }
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
