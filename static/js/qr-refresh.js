/* The room's QR code (templates/attendance/qr.html): reload the image every data-refresh-ms milliseconds. */
(function () {
  var img = document.getElementById("qr");
  if (!img) { return; }
  var base = img.getAttribute("src");
  var every = parseInt(img.getAttribute("data-refresh-ms"), 10) || 5000;
  setInterval(function () { img.src = base + "?t=" + Date.now(); }, every);
})();
