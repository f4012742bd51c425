/* The enrolment form's « Stagiaire déjà connu » (templates/enrolments/new.html): suggestions as one types, from
   /trainees/search.json (at most 20, by name, e-mail or company), each « Nom Prénom <e-mail> », which the server
   reads back by its e-mail. Without JavaScript the field is a search: the form answers with the matches. */
(function () {
  var input = document.querySelector("input[data-trainee-search]");
  var list = document.getElementById("trainee-suggestions");
  if (!input || !list) { return; }
  var timer = null, asked = "";
  function fill(trainees) {
    list.textContent = "";
    trainees.forEach(function (t) {
      var option = document.createElement("option");
      option.value = t.label;
      if (t.company) { option.label = t.label + " — " + t.company; }
      list.appendChild(option);
    });
  }
  function ask() {
    var q = input.value.trim();
    if (q.length < 2 || q === asked || /<[^<>]+>\s*$/.test(q)) { return; }
    asked = q;
    fetch(list.getAttribute("data-url") + "?q=" + encodeURIComponent(q), {credentials: "same-origin",
                                                                         headers: {"Accept": "application/json"}})
      .then(function (response) { return response.ok ? response.json() : {trainees: []}; })
      .then(function (data) { if (input.value.trim() === q) { fill(data.trainees || []); } })
      .catch(function () {});
  }
  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(ask, 200);
  });
})();
