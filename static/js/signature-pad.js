/* The signature pad of the signing pages (templates/attendance/_pad.html): draw in #signature-pad, the drawing
   goes to #signature-data as a PNG data URL; an empty pad needs the typed name (#typed_name) instead. */
(function () {
  var canvas = document.getElementById("signature-pad");
  var form = document.getElementById("sign-form");
  if (!canvas || !form || typeof SignaturePad === "undefined") { return; }
  var pad = new SignaturePad(canvas, { minWidth: 1, maxWidth: 3, penColor: "#0b1f66" });
  function resize() {
    var data = pad.toData();
    var ratio = Math.max(window.devicePixelRatio || 1, 1);
    canvas.width = canvas.offsetWidth * ratio;
    canvas.height = canvas.offsetHeight * ratio;
    canvas.getContext("2d").scale(ratio, ratio);
    pad.clear();
    pad.fromData(data);
  }
  window.addEventListener("resize", resize);
  resize();
  document.getElementById("clear-pad").addEventListener("click", function () { pad.clear(); });
  form.addEventListener("submit", function (event) {
    var hidden = document.getElementById("signature-data");
    var typed = document.getElementById("typed_name");
    if (!pad.isEmpty()) {
      hidden.value = pad.toDataURL("image/png");
    } else {
      hidden.value = "";
      if (!typed || !typed.value.trim()) {
        event.preventDefault();
        var option = document.getElementById("typed-option");
        if (option) { option.open = true; }
        alert(form.getAttribute("data-empty-message") || "Signez dans le cadre, ou tapez votre nom complet.");
        return;
      }
    }
    document.getElementById("sign-submit").disabled = true;
  });
})();
