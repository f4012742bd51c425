/* The enrolment form's « Entreprise (employeur) » (templates/enrolments/new.html): suggestions as one types, from
   /companies/search.json (at most 20, by name, SIRET or city), each « Nom (SIRET) », which the server reads back
   by its SIRET. Without JavaScript the field is a search: the form answers with the matches to choose from. */
(function () {
  var input = document.querySelector("input[data-company-search]");
  var list = document.getElementById("company-suggestions");
  if (!input || !list) { return; }
  var timer = null, asked = "";
  function fill(companies) {
    list.textContent = "";
    companies.forEach(function (c) {
      var option = document.createElement("option");
      option.value = c.label;
      if (c.city) { option.label = c.label + " — " + c.city; }
      list.appendChild(option);
    });
  }
  function ask() {
    var q = input.value.trim();
    if (q.length < 2 || q === asked || /\((\d{14}|fiche n° \d+)\)\s*$/.test(q)) { return; }
    asked = q;
    fetch(list.getAttribute("data-url") + "?q=" + encodeURIComponent(q), {credentials: "same-origin",
                                                                         headers: {"Accept": "application/json"}})
      .then(function (response) { return response.ok ? response.json() : {companies: []}; })
      .then(function (data) { if (input.value.trim() === q) { fill(data.companies || []); } })
      .catch(function () {});
  }
  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(ask, 200);
  });
})();
