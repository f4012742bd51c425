"""The job queue: one job per key, failures isolated, retried with back-off, then failed and shown."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from trainingmgr.core.timeutil import utcnow
from trainingmgr.extensions import db
from trainingmgr.messaging import services
from trainingmgr.messaging.models import Job, OutboxMessage
from trainingmgr.messaging.services import cancel_job, forget_job, queue_email, run_due_jobs, schedule_job

from tests.helpers import page

NOW = dt.datetime(2031, 3, 1, 8, 0, tzinfo=dt.timezone.utc)


def job(key: str) -> Job:
    db.session.expire_all()
    return db.session.scalar(select(Job).where(Job.key == key))


def outbox_subjects() -> list[str]:
    return list(db.session.scalars(select(OutboxMessage.subject).order_by(OutboxMessage.id)))


@pytest.fixture
def handlers(monkeypatch):
    """Test handlers: "test_ok" queues an e-mail; "test_fail" queues one too, then raises."""
    calls = []

    def ok(payload):
        calls.append(("ok", payload))
        queue_email("ok@test.example", f"Tâche {payload['n']}", "Texte")

    def boom(payload):
        calls.append(("fail", payload))
        queue_email("jamais@test.example", "Ne doit pas partir", "Texte")
        db.session.flush()
        raise RuntimeError("le service distant ne répond pas")

    monkeypatch.setitem(services._JOB_HANDLERS, "test_ok", ok)
    monkeypatch.setitem(services._JOB_HANDLERS, "test_fail", boom)
    return calls


def test_scheduling_is_idempotent_per_key(app):
    first = schedule_job("test_ok", "clé:1", NOW, {"n": 1})
    db.session.commit()
    again = schedule_job("test_ok", "clé:1", NOW + dt.timedelta(days=1), {"n": 2})
    db.session.commit()
    assert again.id == first.id
    assert db.session.scalar(select(func.count()).select_from(Job)) == 1
    moved = job("clé:1")
    assert (moved.due_at, moved.payload, moved.status) == (NOW + dt.timedelta(days=1), {"n": 2}, "pending")

    cancel_job("clé:1")
    db.session.commit()
    assert job("clé:1").status == "cancelled"
    schedule_job("test_ok", "clé:1", NOW, {"n": 3})  # a cancelled job is scheduled afresh
    db.session.commit()
    assert (job("clé:1").status, job("clé:1").payload) == ("pending", {"n": 3})

    row = job("clé:1")
    row.status, row.done_at = "done", utcnow()
    db.session.commit()
    schedule_job("test_ok", "clé:1", NOW, {"n": 4})  # done stays done: no second convocation
    db.session.commit()
    assert (job("clé:1").status, job("clé:1").payload) == ("done", {"n": 3})

    forget_job("clé:1")  # …unless the key is forgotten (a re-enrolment deserves a new convocation)
    schedule_job("test_ok", "clé:1", NOW, {"n": 5})
    db.session.commit()
    assert (job("clé:1").status, job("clé:1").payload, job("clé:1").attempts) == ("pending", {"n": 5}, 0)


def test_a_failing_job_is_retried_with_back_off_and_does_not_stop_the_others(app, handlers):
    schedule_job("test_fail", "echec", NOW - dt.timedelta(hours=1), {"n": 0})
    schedule_job("test_ok", "ok:1", NOW, {"n": 1})
    schedule_job("test_ok", "ok:2", NOW + dt.timedelta(minutes=5), {"n": 2})  # not due yet
    db.session.commit()

    assert run_due_jobs(NOW) == (1, 1)

    failed = job("echec")
    assert (failed.status, failed.attempts) == ("pending", 1)
    assert failed.last_error == "RuntimeError : le service distant ne répond pas"
    assert failed.due_at == NOW + dt.timedelta(seconds=services.JOB_RETRY_DELAYS[0])
    assert (job("ok:1").status, job("ok:1").attempts) == ("done", 1)
    assert job("ok:1").done_at is not None
    assert job("ok:2").status == "pending"
    # The failed handler's work was rolled back with it; the other job's e-mail is queued.
    assert outbox_subjects() == ["Tâche 1"]

    now = NOW
    for attempt in range(2, services.MAX_JOB_ATTEMPTS + 1):
        now = job("echec").due_at
        done, failed_count = run_due_jobs(now)
        assert failed_count == 1
        assert job("echec").attempts == attempt
    assert job("echec").status == "failed"
    assert "Ne doit pas partir" not in outbox_subjects()
    assert run_due_jobs(now + dt.timedelta(days=30)) == (0, 0)
    assert [kind for kind, _ in handlers].count("fail") == services.MAX_JOB_ATTEMPTS


def test_a_job_without_handler_fails_like_any_other(app):
    schedule_job("inconnue", "inconnue:1", NOW)
    db.session.commit()
    assert run_due_jobs(NOW) == (0, 1)
    row = job("inconnue:1")
    assert row.status == "pending" and "aucune fonction ne traite les tâches « inconnue »" in row.last_error


def test_a_job_is_run_once_even_if_two_runners_saw_it(app, handlers):
    schedule_job("test_ok", "ok:1", NOW, {"n": 1})
    db.session.commit()
    row = job("ok:1")
    assert services._run_job(row.id, NOW) == "done"
    assert services._run_job(row.id, NOW) is None  # the second runner finds it done
    assert outbox_subjects() == ["Tâche 1"]


def test_the_jobs_page_shows_failures_and_retries_them(app, handlers, staff_client):
    schedule_job("test_fail", "echec", NOW, {"n": 0})
    schedule_job("test_ok", "ok:1", NOW, {"n": 1})
    schedule_job("test_ok", "annulee", NOW + dt.timedelta(days=3), {"n": 2})
    cancel_job("annulee")
    schedule_job("convocation", "convocation:999", NOW + dt.timedelta(days=3), {"enrolment_id": 999})
    db.session.commit()
    run_due_jobs(NOW)
    row = job("echec")
    row.attempts, row.status = services.MAX_JOB_ATTEMPTS, "failed"
    db.session.commit()

    client = staff_client()
    listing = page(client.get("/admin/outbox/jobs"))
    assert "echec" in listing and "Échec définitif" in listing and "le service distant ne répond pas" in listing
    assert "convocation:999" in listing and "Envoi de la convocation" in listing
    assert "ok:1" not in listing and "annulee" not in listing  # done and cancelled: on their own tabs
    assert "ok:1" in page(client.get("/admin/outbox/jobs?status=done"))
    assert client.get("/admin/outbox/jobs?status=nimporte").status_code == 400

    response = client.post(f"/admin/outbox/jobs/{row.id}/retry")
    assert response.status_code == 302
    retried = job("echec")
    assert (retried.status, retried.attempts) == ("pending", 0)
    assert retried.due_at <= utcnow()

    future = job("convocation:999")  # not yet due: no button, and no way to send it weeks early
    assert f"/admin/outbox/jobs/{future.id}/retry" not in listing
    response = client.post(f"/admin/outbox/jobs/{future.id}/retry")
    assert response.status_code == 409 and "elle s'exécutera à cette date" in page(response)
    assert job("convocation:999").due_at == NOW + dt.timedelta(days=3)

    response = client.post(f"/admin/outbox/jobs/{job('ok:1').id}/retry")
    assert response.status_code == 409 and "déjà été exécutée" in page(response)
    response = client.post(f"/admin/outbox/jobs/{job('annulee').id}/retry")
    assert response.status_code == 409 and "annulée" in page(response)
    response = client.post(f"/admin/outbox/jobs/{row.id}/retry", csrf=False)
    assert response.status_code == 400 and "jeton de sécurité" in page(response)
    assert client.post("/admin/outbox/jobs/123456/retry").status_code == 404


def test_a_reschedule_during_a_postponed_attempt_is_not_overwritten(app, monkeypatch):
    """A job that puts itself off (a convocation while the session is not confirmed) keeps its claim until the
    "tomorrow" is written: a reschedule made meanwhile by another transaction (the confirmation bringing the
    convocations forward) waits for it and wins, instead of being overwritten by the stale "tomorrow"."""
    import threading

    tomorrow = NOW + dt.timedelta(days=1)
    other: dict = {}

    def reschedule_meanwhile():
        with app.app_context():
            schedule_job("test_later", "clé:later", NOW, {})
            db.session.commit()
            other["done"] = True
            db.session.remove()

    def later(payload):
        worker = threading.Thread(target=reschedule_meanwhile)
        worker.start()
        worker.join(timeout=0.5)  # it waits for this attempt's claim (it cannot finish first)
        other["thread"] = worker
        raise services.Postpone(tomorrow, "En attente de la confirmation de la session.")

    monkeypatch.setitem(services._JOB_HANDLERS, "test_later", later)
    schedule_job("test_later", "clé:later", NOW - dt.timedelta(minutes=1), {})
    db.session.commit()
    assert run_due_jobs(NOW) == (0, 0)
    other["thread"].join(timeout=20)
    assert other.get("done")
    row = job("clé:later")
    assert (row.status, row.due_at, row.attempts) == ("pending", NOW, 0)
