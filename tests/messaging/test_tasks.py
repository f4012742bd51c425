"""Long tasks (messaging/tasks.py, messaging/task_views.py): progress committed step by step, the file offered once
done (404 before), a failing runner's French error and no file, one run per claim, an interrupted task queued again
once then failed, the worker picking a queued task within about a second, and who may see a task."""
from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from sqlalchemy import func, select

from trainingmgr.core.timeutil import utcnow
from trainingmgr.extensions import db
from trainingmgr.files.models import StoredFile
from trainingmgr.messaging import cli as messaging_cli
from trainingmgr.messaging import tasks
from trainingmgr.messaging.models import OutboxMessage, Task
from trainingmgr.messaging.services import queue_email

from tests.helpers import login, page

CSV = "text/csv"
RUNS: list[int] = []  # task ids, each time a test runner starts


@tasks.task_runner("test_count")
def _count_runner(task, progress):
    """Counts to payload["n"], queueing one e-mail per item (the runner's own rows), then returns a CSV."""
    RUNS.append(task.id)
    n = task.payload["n"]
    progress.begin(n, "Préparation")
    for i in range(1, n + 1):
        queue_email(f"item{i}@test.example", f"Élément {i}", "corps")
        progress.advance(f"Élément {i}")
        hook = task.payload.get("hook")
        if hook:
            HOOKS[hook](task, i)
    progress.conclude(f"Comptage terminé ({n}).")
    return tasks.TaskFile(b"nom;valeur\nun;1\n", "export-test.csv", CSV)


@tasks.task_runner("test_fail")
def _failing_runner(task, progress):
    progress.begin(2, "Premier")
    queue_email("kept@test.example", "Gardé", "corps")
    progress.advance("Premier")  # committed with the e-mail above
    queue_email("lost@test.example", "Perdu", "corps")  # not committed: rolled back with the failure
    if task.payload.get("crash"):
        raise RuntimeError("disque plein")
    raise tasks.TaskFailed("Le modèle de convention est introuvable : déposez-le, puis relancez.")


@tasks.task_runner("test_slow")
def _slow_runner(task, progress):
    RUNS.append(task.id)
    progress.begin(1)
    time.sleep(0.3)
    progress.advance("Fait")
    return None


HOOKS: dict = {}


@pytest.fixture(autouse=True)
def _fresh_runs():
    RUNS.clear()
    HOOKS.clear()
    yield


def _start(kind: str, actor, **payload) -> Task:
    task = tasks.start_task(kind, "Export de test", payload, actor, unit="lignes", back_url="/sessions/")
    db.session.commit()
    return task


def _committed(task_id: int) -> tuple[int, int, str]:
    """What another connection sees of the task (what is committed)."""
    with db.engine.connect() as connection:
        return tuple(connection.execute(select(Task.done, Task.total, Task.status).where(Task.id == task_id)).one())


def _emails(*recipients) -> int:
    return db.session.scalar(select(func.count()).select_from(OutboxMessage)
                             .where(OutboxMessage.recipient.in_(recipients)))


# --------------------------------------------------------------------------- progress, file, failure


def test_progress_is_committed_at_each_step_and_the_json_says_so(advisor_client, users):
    task = _start("test_count", users["advisor"], n=3, hook="look")
    seen = []
    HOOKS["look"] = lambda t, i: seen.append((_committed(t.id), advisor_client.get(f"/tasks/{t.id}.json").json))
    queued = advisor_client.get(f"/tasks/{task.id}.json").json
    assert (queued["status"], queued["done"], queued["total"], queued["download_url"]) == ("queued", 0, 0, None)

    done = tasks.run_task(task.id)

    assert [committed for committed, _ in seen] == [(1, 3, "running"), (2, 3, "running"), (3, 3, "running")]
    assert [(j["done"], j["total"], j["step"], j["percent"]) for _, j in seen] == [
        (1, 3, "Élément 1", 33), (2, 3, "Élément 2", 66), (3, 3, "Élément 3", 100)]
    assert done.status == "done" and (done.done, done.total) == (3, 3)
    assert _emails("item1@test.example", "item2@test.example", "item3@test.example") == 3
    final = advisor_client.get(f"/tasks/{task.id}.json").json
    assert final["status"] == "done" and final["status_label"] == "Terminé" and final["percent"] == 100
    assert final["download_url"] == f"/tasks/{task.id}/download" and final["unit"] == "lignes"


def test_the_file_is_offered_once_done_and_404_before(advisor_client, users):
    task = _start("test_count", users["advisor"], n=1)
    before = advisor_client.get(f"/tasks/{task.id}/download")
    assert before.status_code == 404
    assert "Le fichier n'est pas encore prêt : le traitement est en cours." in page(before)
    body = page(advisor_client.get(f"/tasks/{task.id}"))
    assert "En attente" in body and 'data-state-url="/tasks/%d.json"' % task.id in body
    assert "js/task-progress.js" in body and "<progress" in body

    tasks.run_task(task.id)

    download = advisor_client.get(f"/tasks/{task.id}/download")
    assert download.status_code == 200 and download.data == b"nom;valeur\nun;1\n"
    assert download.mimetype == CSV and "export-test.csv" in download.headers["Content-Disposition"]
    assert download.headers["Cache-Control"] == "private, no-store"
    stored = db.session.get(StoredFile, db.session.get(Task, task.id).result_file_id)
    assert stored.kind == "export"
    body = page(advisor_client.get(f"/tasks/{task.id}"))
    assert "1 / 1 lignes" in " ".join(body.replace("<span data-field=\"done\">", "").replace(
        "<span data-field=\"total\">", "").replace("</span>", "").split())
    assert "Télécharger" in body and 'href="/sessions/"' in body and "Terminé" in body
    assert "Comptage terminé (1)." in body  # the runner's summary, kept once done
    assert advisor_client.get(f"/tasks/{task.id}.json").get_json()["summary"] == "Comptage terminé (1)."


def test_a_failing_runner_gives_its_french_error_no_file_and_a_relancer_button(advisor_client, users):
    task = _start("test_fail", users["advisor"])
    failed = tasks.run_task(task.id)
    assert failed.status == "failed" and failed.result_file_id is None
    assert failed.error == "Le modèle de convention est introuvable : déposez-le, puis relancez."
    # the work committed with the progress stays, the rest is rolled back
    assert (_emails("kept@test.example"), _emails("lost@test.example")) == (1, 0)
    assert advisor_client.get(f"/tasks/{task.id}/download").status_code == 404
    assert advisor_client.get(f"/tasks/{task.id}.json").json["error"] == failed.error
    body = page(advisor_client.get(f"/tasks/{task.id}"))
    assert failed.error in body and "Relancer" in body and f'action="/tasks/{task.id}/retry"' in body

    again = advisor_client.post(f"/tasks/{task.id}/retry")
    assert again.status_code == 303 and again.headers["Location"].endswith(f"/tasks/{task.id}")
    db.session.expire_all()
    requeued = db.session.get(Task, task.id)
    assert (requeued.status, requeued.error, requeued.done) == ("queued", "", 0)
    refused = advisor_client.post(f"/tasks/{task.id}/retry")  # only a failed task is retried
    assert refused.status_code == 409 and "seul un traitement en échec" in page(refused)


def test_an_unexpected_exception_is_logged_and_told_in_french(app, users, caplog):
    task = _start("test_fail", users["advisor"], crash=True)
    failed = tasks.run_task(task.id)
    assert failed.status == "failed"
    assert failed.error == "Le traitement a échoué : RuntimeError : disque plein"
    assert "a échoué" in caplog.text
    assert _emails("lost@test.example") == 0


def test_an_unknown_kind_fails_in_french(app, users):
    task = Task(kind="disparu", label="Ancien traitement", payload={}, actor_id=users["advisor"].id)
    db.session.add(task)
    db.session.commit()
    assert tasks.run_task(task.id).error == "Ce type de traitement (« disparu ») n'est plus pris en charge."


# --------------------------------------------------------------------------- one run per task


def test_a_task_is_claimed_once(app, users):
    task = _start("test_slow", users["advisor"])
    assert tasks.claim_task(task.id) == 1
    assert tasks.claim_task(task.id) is None  # running: nobody else takes it
    assert tasks.run_task(task.id).status == "running" and RUNS == []


def test_two_simultaneous_runs_run_the_task_once(app, users):
    task_id = _start("test_slow", users["advisor"]).id
    barrier = threading.Barrier(2)
    outcomes, errors = [], []

    def worker():
        try:
            with app.app_context():
                barrier.wait()
                outcomes.append(tasks.run_task(task_id).status)
                db.session.remove()
        except Exception as exc:  # pragma: no cover - shown by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert RUNS == [task_id]  # one run only
    db.session.expire_all()
    assert db.session.get(Task, task_id).status == "done" and db.session.get(Task, task_id).attempts == 1


# --------------------------------------------------------------------------- interruptions


def _go_silent(task_id: int, seconds: int = 600) -> None:
    db.session.execute(Task.__table__.update().where(Task.id == task_id)
                       .values(heartbeat_at=utcnow() - dt.timedelta(seconds=seconds)))
    db.session.commit()


def test_a_stale_running_task_is_queued_again_once_then_failed(app, users):
    task = _start("test_count", users["advisor"], n=1)
    assert tasks.claim_task(task.id) == 1  # a worker took it, then died
    _go_silent(task.id, 60)
    assert tasks.interrupt_stale_tasks() == (0, 0)  # 60 s of silence: still within TASK_STALE_SECONDS
    _go_silent(task.id)
    assert tasks.interrupt_stale_tasks() == (1, 0)
    db.session.expire_all()
    assert db.session.get(Task, task.id).status == "queued"
    assert tasks.claim_task(task.id) == 2  # the next worker took it, and died too
    _go_silent(task.id)
    assert tasks.interrupt_stale_tasks() == (0, 1)
    db.session.expire_all()
    failed = db.session.get(Task, task.id)
    assert failed.status == "failed"
    assert failed.error == "Traitement interrompu (le serveur s'est arrêté) : relancez-le."
    # « Relancer » gives it a fresh start: one more interruption is forgiven again
    tasks.retry_task(failed)
    db.session.commit()
    assert tasks.claim_task(task.id) == 3
    _go_silent(task.id)
    assert tasks.interrupt_stale_tasks() == (1, 0)


def test_the_stale_threshold_is_configurable(make_app, users):
    short = make_app(TASK_STALE_SECONDS=5)
    with short.app_context():
        task = _start("test_count", users["advisor"].id, n=1)
        tasks.claim_task(task.id)
        _go_silent(task.id, 10)
        assert tasks.interrupt_stale_tasks() == (1, 0)
        db.session.remove()


def test_a_run_that_lost_its_task_stops_without_writing(app, users):
    """A worker thought dead (its task queued again) wakes up: its next step stops it, its work rolled back."""
    task = _start("test_count", users["advisor"], n=3, hook="lose")

    def lose(t, i):
        if i == 1:
            with db.engine.begin() as other:  # another worker declared it interrupted and queued it again
                other.execute(Task.__table__.update().where(Task.id == t.id).values(status="queued"))
            queue_email("after-loss@test.example", "Perdu", "corps")  # not yet committed

    HOOKS["lose"] = lose
    outcome = tasks.run_task(task.id)
    assert outcome.status == "queued" and outcome.done == 1
    assert _emails("item2@test.example", "after-loss@test.example") == 0


def test_a_worker_asked_to_stop_puts_its_task_back_in_the_queue(app, users):
    task = _start("test_count", users["advisor"], n=3)
    stop_after = iter([False, False, True])
    outcome = tasks.run_task(task.id, stop=lambda: next(stop_after))
    assert outcome.status == "queued" and outcome.payload["_base_attempts"] == 1
    assert tasks.run_task(task.id).status == "done"


# --------------------------------------------------------------------------- the worker


def test_worker_once_runs_the_queued_tasks(app, users, invoke):
    task = _start("test_count", users["advisor"], n=2)
    result = invoke("worker", "--once")
    assert result.exit_code == 0, result.output
    assert "Traitements longs : 1 terminé, 0 en échec." in result.output
    db.session.expire_all()
    assert db.session.get(Task, task.id).status == "done"


def test_between_passes_the_worker_starts_a_queued_task_within_a_second(app, users):
    stopper = messaging_cli._Stopper()
    task = _start("test_count", users["advisor"], n=1)
    asked = utcnow()
    messaging_cli._wait_for_next_pass(stopper, 2, database_down=False)
    db.session.expire_all()
    done = db.session.get(Task, task.id)
    assert done.status == "done"
    assert (done.started_at - asked).total_seconds() < 1.5


# --------------------------------------------------------------------------- who sees what


def test_only_staff_see_tasks(client, users):
    task = _start("test_count", users["advisor"], n=1)
    urls = [f"/tasks/{task.id}", f"/tasks/{task.id}.json", f"/tasks/{task.id}/download", "/tasks/"]
    for url in urls:
        assert client.get(url).status_code == 302  # to the login page
    login(client, "formateur@test.example")
    for url in urls:
        assert client.get(url).status_code == 403, url
    assert client.post(f"/tasks/{task.id}/retry").status_code == 403
    admin = client.application.test_client()
    login(admin, "admin@test.example")  # another staff member than the one who asked: the back office shares
    assert admin.get(f"/tasks/{task.id}").status_code == 200
    missing = admin.get("/tasks/999999")
    assert missing.status_code == 404 and "Ce traitement n'existe pas." in page(missing)
    assert tasks.can_see(users["trainer"], task) is False and tasks.can_see(users["advisor"], task) is True


def test_the_list_is_paged_newest_first(advisor_client, users):
    for n in range(35):
        tasks.start_task("test_count", f"Export n° {n}", {"n": 1}, users["advisor"])
    db.session.commit()
    first = page(advisor_client.get("/tasks/"))
    assert "Export n° 34" in first and "Export n° 4<" not in first and "Page 1 sur 2 (35 traitements)" in first
    second = page(advisor_client.get("/tasks/?page=2"))
    assert "Export n° 4<" in second and "Export n° 0<" in second
    assert advisor_client.get("/tasks/?page=x").status_code == 400
