"""The CSV and XLSX exports made by a task (messaging/exports.py): each « Exporter » button starts an export task and
answers 303 to its page; the task makes the same file the service makes directly, counts its rows on the progress;
bad filters are refused at once, before any task; staff only; the command line runs the same exporter."""
from __future__ import annotations

import datetime as dt
import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from trainingmgr.billing.bpf import services as bpf
from trainingmgr.billing.payments import services as payments
from trainingmgr.evaluations.results import services as results
from trainingmgr.evaluations.results import spreadsheets
from trainingmgr.extensions import db
from trainingmgr.messaging import exports
from trainingmgr.messaging.models import Task
from trainingmgr.messaging.tasks import run_task
from trainingmgr.quality.actions import services as actions

from tests.helpers import login, run_started_task

TODAY = dt.date(2031, 2, 3)


def task_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Task))


def make_actions(users, n: int) -> None:
    for i in range(n):
        actions.create_action(users["advisor"], source="audit", title=f"Action {i}", analysis="", description="",
                              owner_id=users["advisor"].id, due_date=TODAY + dt.timedelta(days=10))
    db.session.commit()


def sheet_values(data: bytes) -> dict[str, list[tuple]]:
    book = load_workbook(io.BytesIO(data))
    return {ws.title: list(ws.iter_rows(values_only=True)) for ws in book.worksheets}


@pytest.fixture
def trainer_client(app, users):
    client = app.test_client()
    login(client, "formateur@test.example")
    return client


# --------------------------------------------------------------------------- a task, the same file


def test_an_export_button_starts_a_task_and_its_file_is_the_services(advisor_client, users):
    make_actions(users, 3)
    response = advisor_client.post("/quality/actions/export.csv?status=planned")
    assert response.status_code == 303 and "/tasks/" in response.headers["Location"]
    task = db.session.scalars(select(Task)).one()
    assert (task.kind, task.status, task.actor_id) == ("export", "queued", users["advisor"].id)
    assert task.payload["exporter"] == "improvement_actions"
    assert task.payload["params"] == {"fmt": "csv", "status": "planned", "source": None, "overdue": False}
    assert task.label == "Export des actions d'amélioration (CSV)"
    assert task.back_url.startswith("/quality/actions/")
    task, download = run_started_task(advisor_client, response)
    found = actions.list_actions(status="planned")
    assert download.data == actions.to_csv(actions.Register(found, actions.sessions_of(found)))
    assert (task.status, task.done, task.total) == ("done", 3, 3)
    assert task.result_name == actions.export_filename("csv")


def test_the_xlsx_export_holds_the_same_cells(advisor_client, users):
    make_actions(users, 2)
    task, download = run_started_task(advisor_client, advisor_client.post("/quality/actions/export.xlsx"))
    found = actions.list_actions()
    direct = actions.to_xlsx(actions.Register(found, actions.sessions_of(found)))
    assert sheet_values(download.data) == sheet_values(direct)
    assert download.mimetype == exports.XLSX


def test_the_progress_counts_the_rows_every_step(app, advisor_client, users, monkeypatch):
    monkeypatch.setattr(exports, "ROWS_PER_STEP", 2)
    make_actions(users, 5)
    advisor_client.post("/quality/actions/export.csv")
    task_id = db.session.scalar(select(Task.id))
    seen = []
    task = run_task(task_id, echo=lambda t: seen.append((t.done, t.total, t.step)))
    assert seen == [(0, 0, "Lecture des données"), (0, 5, "Écriture des lignes"), (2, 5, "Écriture des lignes"),
                    (4, 5, "Écriture des lignes"), (5, 5, "Écriture des lignes")]
    assert (task.status, task.done, task.total) == ("done", 5, 5)


def test_the_sales_journal_and_the_bpf_through_their_tasks(advisor_client, world):
    _, journal = run_started_task(advisor_client,
                                  advisor_client.post("/billing/journal.csv?du=2030-01-01&au=2030-01-31"))
    entries = payments.journal(dt.date(2030, 1, 1), dt.date(2030, 1, 31))
    assert journal.data == payments.journal_csv(entries) and journal.mimetype == "text/csv"
    task, sheet = run_started_task(advisor_client, advisor_client.post("/bpf/2031.xlsx"))
    assert sheet_values(sheet.data) == sheet_values(bpf.to_xlsx(bpf.compute_bpf(2031)))
    assert task.result_name == "bpf-2031.xlsx" and task.total == len(bpf.export_rows(bpf.compute_bpf(2031)))


def test_the_survey_results_through_their_task(advisor_client, world, make_session):
    session = make_session()
    _, year = run_started_task(advisor_client, advisor_client.post("/evaluations/export.csv?year=2031"))
    assert year.data == spreadsheets.to_csv(results.year_results(2031))
    task, one = run_started_task(advisor_client,
                                 advisor_client.post(f"/evaluations/sessions/{session.id}/export.csv?kind=hot"))
    assert task.payload["params"] == {"fmt": "csv", "kind": "hot", "session_id": session.id}
    assert one.data == spreadsheets.to_csv(results.session_results(session, ["hot"]))
    task, _ = run_started_task(advisor_client,
                               advisor_client.post(f"/evaluations/courses/{world.dume.id}/export.xlsx?year=2031"))
    assert task.payload["params"] == {"fmt": "xlsx", "kind": None, "course_id": world.dume.id, "year": 2031}


# --------------------------------------------------------------------------- refusals at once, permissions


@pytest.mark.parametrize("url, status", [
    ("/quality/actions/export.csv?status=nonsense", 400),
    ("/quality/requests/export.csv?kind=nonsense", 400),
    ("/billing/journal.csv?du=2031-03-31&au=2031-03-01", 400),
    ("/bpf/3000.xlsx", 404),
    ("/evaluations/export.csv?year=abc", 422),
    ("/evaluations/export.csv?kind=nope", 422),
    ("/evaluations/sessions/999999/export.csv", 404),
])
def test_bad_filters_are_refused_at_once_without_a_task(advisor_client, world, url, status):
    response = advisor_client.post(url)
    assert response.status_code == status
    assert task_count() == 0


@pytest.mark.parametrize("url", ["/quality/actions/export.csv", "/quality/requests/export.csv",
                                 "/billing/journal.csv", "/bpf/2031.xlsx", "/evaluations/export.xlsx"])
def test_exports_are_for_staff_only(app, trainer_client, url):
    assert trainer_client.post(url).status_code == 403
    anonymous = app.test_client().post(url)
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    assert app.test_client().get(url).status_code == 405  # no direct download any more
    assert task_count() == 0


def test_an_export_whose_account_was_disabled_fails_in_french(advisor_client, users):
    response = advisor_client.post("/quality/requests/export.csv")
    users["advisor"].active = False
    db.session.commit()
    task, download = run_started_task(advisor_client, response)
    assert (task.status, download) == ("failed", None)
    assert task.error == "Le compte qui a demandé cet export n'existe plus ou est désactivé."


# --------------------------------------------------------------------------- the command line


def test_the_command_line_runs_the_same_export_with_its_progress(app, users, tmp_path):
    make_actions(users, 3)
    out = tmp_path / "actions.csv"
    result = app.test_cli_runner().invoke(args=["exports", "run", "improvement_actions", "--param", "fmt=csv",
                                                "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "3/3 Écriture des lignes" in result.output and f"Export écrit dans {out} (3 lignes" in result.output
    found = actions.list_actions()
    assert out.read_bytes() == actions.to_csv(actions.Register(found, actions.sessions_of(found)))
    listing = app.test_cli_runner().invoke(args=["exports", "list"])
    assert {"bpf", "evaluations", "improvement_actions", "quality_requests", "sales_journal"} <= {
        line.split(" :")[0] for line in listing.output.splitlines()}


@pytest.mark.parametrize("args, message", [
    (["nope"], "Export inconnu : « nope »"),
    (["bpf", "--param", "year=1999"], "Année inconnue"),
    (["bpf", "--param", "year"], "Paramètre invalide : « year »"),
    (["improvement_actions", "--param", "fmt=pdf"], "Format d'export inconnu"),
])
def test_the_command_line_refuses_in_french(app, users, args, message):
    result = app.test_cli_runner().invoke(args=["exports", "run", *args])
    assert result.exit_code == 1 and message in result.output
    assert task_count() == 0
