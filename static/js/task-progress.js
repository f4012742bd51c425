/* A long task's progress page (templates/tasks/show.html): poll data-state-url every second and update the
   status, the count, the bar and the step in place until the task is done or failed. */
(function () {
  var box = document.getElementById("task");
  if (!box) { return; }
  var url = box.getAttribute("data-state-url");
  var field = function (name) { return box.querySelector('[data-field="' + name + '"]'); };
  var setText = function (name, text) { var el = field(name); if (el) { el.textContent = text; } };
  var finished = function (status) { return status === "done" || status === "failed"; };
  if (finished(box.getAttribute("data-status"))) { return; }

  function show(state) {
    var badge = field("status");
    if (badge) {
      badge.textContent = state.status_label;
      badge.className = "badge task-status task-status-" + state.status;
    }
    setText("done", String(state.done));
    setText("total", state.total ? String(state.total) : "…");
    var bar = field("bar");
    if (bar) { bar.value = state.percent; bar.textContent = state.percent + " %"; }
    setText("step", state.status === "queued" ? "En attente du worker…" : (state.step || ""));
    box.setAttribute("data-status", state.status);
    if (state.status === "done") {
      field("done-box").hidden = false;
      setText("summary", state.summary || "");
      var link = field("download");
      if (link && state.download_url) {
        link.href = state.download_url;
        link.hidden = false;
        setText("result-name", state.result_name || "");
      }
    } else if (state.status === "failed") {
      setText("error", state.error || "");
      field("error-box").classList.add("alert-danger");
      field("failed-box").hidden = false;
    }
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" }, cache: "no-store" })
      .then(function (response) {
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.json();
      })
      .then(function (state) {
        show(state);
        if (!finished(state.status)) { setTimeout(poll, 1000); }
      })
      .catch(function () { setTimeout(poll, 3000); });  /* the server restarting: keep trying, more slowly */
  }
  setTimeout(poll, 1000);
})();
