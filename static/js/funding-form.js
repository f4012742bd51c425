/* The funding form (templates/enrolments/funding.html): show only the fieldsets of the chosen funder (each names the
   kinds it serves in data-kinds). Without JavaScript every fieldset shows, and the server reads only the chosen
   funder's fields. A fieldset holding an error stays shown. */
(function () {
  var form = document.querySelector("form[data-form=funding]");
  var kind = form && form.querySelector("select[name=kind]");
  if (!kind) { return; }
  var sets = form.querySelectorAll("fieldset[data-kinds]");
  form.querySelectorAll(".js-hidden").forEach(function (el) { el.hidden = true; });
  function update() {
    sets.forEach(function (set) {
      var serves = set.getAttribute("data-kinds").split(" ").indexOf(kind.value) >= 0;
      set.hidden = !serves && !set.querySelector(".is-invalid");
    });
  }
  kind.addEventListener("change", update);
  update();
})();
