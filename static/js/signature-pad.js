/* The signature pad of the signing pages (templates/attendance/_pad.html): draw in #signature-pad, the drawing
   goes to #signature-data as a PNG data URL; an empty pad needs the typed name (#typed_name) instead. An empty
   pad is told at once beside it, in a live region (#pad-message) that screen readers announce; the server refuses
   it too (attendance/services.py: EMPTY_SIGNATURE, the same sentence). A drawing sent back by the server (a page
   asking a question, e.g. closing a sheet early) is shown again and kept unless cleared. */
(function () {
  var EMPTY_MESSAGE = "Signez dans le cadre, ou tapez votre nom complet si vous ne pouvez pas dessiner.";
  var canvas = document.getElementById("signature-pad");
  var form = document.getElementById("sign-form");
  if (!canvas || !form || typeof SignaturePad === "undefined") { return; }
  var hidden = document.getElementById("signature-data");
  var typed = document.getElementById("typed_name");
  var wrapper = canvas.parentNode;
  var kept = hidden && hidden.value.indexOf("data:image/png") === 0 ? hidden.value : "";
  var message = document.getElementById("pad-message");
  if (!message) {
    message = document.createElement("div");
    message.id = "pad-message";
    message.className = "pad-message";
    message.setAttribute("aria-live", "assertive");
    message.setAttribute("data-error", "empty-pad");
    wrapper.parentNode.insertBefore(message, wrapper.nextSibling);
  }
  var pad = new SignaturePad(canvas, { minWidth: 1, maxWidth: 3, penColor: "#0b1f66" });

  function say(text) {
    message.textContent = text;
    message.classList.toggle("invalid-feedback", !!text);
    message.classList.toggle("d-block", !!text);
    wrapper.classList.toggle("is-invalid", !!text);
  }
  function resize() {
    var data = pad.toData();
    var ratio = Math.max(window.devicePixelRatio || 1, 1);
    canvas.width = canvas.offsetWidth * ratio;
    canvas.height = canvas.offsetHeight * ratio;
    canvas.getContext("2d").scale(ratio, ratio);
    pad.clear();
    pad.fromData(data);
    if (kept && !data.length) {
      pad.fromDataURL(kept, { ratio: ratio, width: canvas.offsetWidth, height: canvas.offsetHeight });
    }
  }
  window.addEventListener("resize", resize);
  resize();
  pad.addEventListener("endStroke", function () { say(""); });
  if (typed) { typed.addEventListener("input", function () { if (typed.value.trim()) { say(""); } }); }
  document.getElementById("clear-pad").addEventListener("click", function () {
    kept = "";
    if (hidden) { hidden.value = ""; }
    pad.clear();
  });
  form.addEventListener("submit", function (event) {
    if (pad.toData().length) {
      hidden.value = pad.toDataURL("image/png");
    } else if (kept) {
      hidden.value = kept;
    } else {
      hidden.value = "";
      if (!typed || !typed.value.trim()) {
        event.preventDefault();
        var option = document.getElementById("typed-option");
        if (option) { option.open = true; }
        say(form.getAttribute("data-empty-message") || EMPTY_MESSAGE);
        wrapper.scrollIntoView({ block: "center" });
        return;
      }
    }
    say("");
    var submit = document.getElementById("sign-submit");
    if (submit) { submit.disabled = true; }
  });
})();
