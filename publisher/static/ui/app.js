/* OPD Publisher admin UI: small progressive enhancements; every page works without it. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  // Buttons that need a second thought (cancel, pause, ...).
  document.addEventListener("submit", function (event) {
    var button = event.submitter;
    var message = (button && button.dataset.confirm) || event.target.dataset.confirm;
    if (message && !window.confirm(message)) { event.preventDefault(); }
  });

  var form = document.getElementById("compose");
  if (!form) { return; }
  var opdSelect = document.getElementById("f-opd");
  var tzLabel = document.getElementById("tz-label");
  var exemption = document.getElementById("exemption");
  var submitButton = document.getElementById("btn-submit");
  var submitHint = document.getElementById("submit-hint");
  var previews = document.getElementById("previews");

  function syncOpd() {
    var opd = opdSelect.value;
    var option = opdSelect.options[opdSelect.selectedIndex];
    if (option && tzLabel) { tzLabel.textContent = option.dataset.tz || ""; }
    form.querySelectorAll("#targets [data-opd]").forEach(function (label) {
      var mine = label.dataset.opd === opd;
      label.hidden = !mine;
      var box = label.querySelector("input");
      if (!form.dataset.locked) { box.disabled = !mine; }
      if (!mine) { box.checked = false; }
    });
  }

  function syncCategory() {
    var checked = form.querySelector('input[name="category"]:checked');
    var exempt = checked && checked.value === "dikecualikan";
    exemption.hidden = !exempt;
    submitButton.disabled = exempt;
    submitHint.hidden = !exempt;
  }

  var timer = null;
  var inFlight = null;
  function refreshPreview() {
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(function () {
      var data = new FormData(form);
      for (var i = 0; i < 10; i++) { data.delete("image_" + i); }
      if (inFlight) { inFlight.abort(); }
      inFlight = new AbortController();
      fetch(form.dataset.previewUrl, {
        method: "POST", body: data, credentials: "same-origin", signal: inFlight.signal,
        headers: { "X-CSRFToken": csrfToken() }
      }).then(function (response) {
        return response.ok ? response.text() : Promise.reject(response.status);
      }).then(function (html) {
        previews.innerHTML = html;
        previews.dataset.updated = String(Date.now());
      }).catch(function (err) {
        if (err && err.name === "AbortError") { return; }
        previews.dataset.error = String(err);
      });
    }, 350);
  }

  if (opdSelect && !opdSelect.disabled) {
    opdSelect.addEventListener("change", function () { syncOpd(); refreshPreview(); });
    syncOpd();
  }
  form.querySelectorAll('input[name="category"]').forEach(function (radio) {
    radio.addEventListener("change", syncCategory);
  });
  syncCategory();
  form.addEventListener("input", function (event) {
    if (event.target.type !== "file") { refreshPreview(); }
  });
  form.addEventListener("change", function (event) {
    if (event.target.type === "checkbox" || event.target.type === "radio") { refreshPreview(); }
  });
  refreshPreview();
})();
