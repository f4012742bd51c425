/* The rule form (templates/automations/rule_form.html): hide the offset for the triggers that have none (listed in
   data-without-offset). Without JavaScript the field shows, and the service ignores it for those triggers. An offset
   holding an error stays shown. */
(function () {
  var form = document.querySelector("form[data-form=automation-rule]");
  var trigger = form && form.querySelector("select[name=trigger]");
  var offset = form && form.querySelector(".js-offset");
  if (!trigger || !offset) { return; }
  var without = (form.getAttribute("data-without-offset") || "").split(" ");
  function update() {
    offset.hidden = without.indexOf(trigger.value) >= 0 && !offset.querySelector(".is-invalid");
  }
  trigger.addEventListener("change", update);
  update();
})();
