"""Confirming a session says what it set going (convocations due now, when the others leave, where they go), the
session page shows where each trainee's convocation stands (read from the automation rules « convocation »: the
ledger and the outbox, the holds, the rule switched off, the engine's plan), and « Envoyer les convocations
maintenant » fires the planned ones at once (automations.engine.fire_now) and sends them: staff only, each once,
refused with a reason when there is nothing to send."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from trainingmgr.automations import engine
from trainingmgr.automations import services as automation_services
from trainingmgr.automations.models import AutomationFiring, AutomationRule
from trainingmgr.core.timeutil import paris_today, utcnow
from trainingmgr.enrolments import convocations
from trainingmgr.enrolments import services as enrolment_services
from trainingmgr.enrolments.models import Enrolment
from trainingmgr.extensions import db
from trainingmgr.messaging.models import OutboxMessage, Task
from trainingmgr.sessions.services import change_status

from tests.helpers import page, run_started_task

pytestmark = pytest.mark.usefixtures("world")


def enrolments_of(session) -> list[Enrolment]:
    db.session.expire_all()
    return list(db.session.scalars(select(Enrolment).where(Enrolment.session_id == session.id).order_by(Enrolment.id)))


def convocation_messages(session) -> list[OutboxMessage]:
    ids = [e.id for e in enrolments_of(session)]
    return list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.topic == "convocation",
                                                               OutboxMessage.enrolment_id.in_(ids))
                                   .order_by(OutboxMessage.id)))


def firings(session) -> list[AutomationFiring]:
    db.session.expire_all()
    return list(db.session.scalars(select(AutomationFiring).join(AutomationRule).where(
        AutomationFiring.session_id == session.id, AutomationRule.code == "convocation").order_by(AutomationFiring.id)))


def states(session) -> dict[str, str]:
    db.session.expire_all()
    return {s.enrolment.trainee.email: s.code for s in convocations.session_convocations(session)}


def labels(session) -> dict[str, str]:
    db.session.expire_all()
    return {s.enrolment.trainee.email: s.label for s in convocations.session_convocations(session)}


def trainee_rule() -> AutomationRule:
    engine.ensure_defaults()
    return db.session.scalar(select(AutomationRule).where(AutomationRule.code == "convocation"))


def send_url(session) -> str:
    return f"/sessions/{session.id}/convocations/send"


def worker_pass(now: dt.datetime | None = None) -> int:
    """The worker's pass of the automations, committed."""
    count = engine.fire_due(now or utcnow() + dt.timedelta(seconds=1))
    db.session.commit()
    return count


@pytest.fixture
def soon_session(world, open_session, new_trainee):
    """A DUME session (no prerequisite) starting in three days, two trainees confirmed, not yet confirmed itself."""
    session = open_session(course=world.dume, start=paris_today() + dt.timedelta(days=3))
    for n in (1, 2):
        enrolment_services.enrol(session, new_trainee(n))
    db.session.commit()
    return session


@pytest.fixture
def far_session(world, open_session, new_trainee):
    """A DUME session in 2031 with one trainee: its convocation is due at J−7."""
    session = open_session(course=world.dume)
    enrolment_services.enrol(session, new_trainee(3))
    db.session.commit()
    return session


def confirm(client, session):
    return client.post(f"/sessions/{session.id}/status", data={"status": "confirmed"}, follow_redirects=True)


# --------------------------------------------------------------------------- the state of each convocation


def test_before_confirmation_the_convocations_wait_for_it(soon_session):
    assert set(states(soon_session).values()) == {"held"}
    assert set(labels(soon_session).values()) == {"En attente de la confirmation de la session"}


def test_confirming_says_how_many_convocations_leave_and_that_the_console_sends_nothing(advisor, soon_session):
    html = page(confirm(advisor, soon_session))
    assert "Statut de la session : confirmée." in html
    assert "2 convocations en file : le worker les écrira dans sa console dans les 30 secondes" in html
    assert "aucun e-mail ne part" in html
    assert set(states(soon_session).values()) == {"waiting"}


def test_with_a_mail_server_the_confirmation_says_they_leave_within_30_seconds(app, monkeypatch, advisor,
                                                                               soon_session):
    monkeypatch.setitem(app.config, "MAIL_BACKEND", "smtp")
    html = page(confirm(advisor, soon_session))
    assert "2 convocations en file d'envoi : le worker les envoie dans les 30 secondes." in html
    assert "console" not in html.split("Statut de la session")[1].split("</div>")[0]


def test_a_far_session_says_when_its_convocations_are_planned(advisor, far_session):
    html = page(confirm(advisor, far_session))
    assert "Convocations : 1 prévue à partir du 24/02/2031 09:00." in html
    assert 'data-convocation="scheduled"' in html and "Prévue le 24/02/2031 09:00" in html
    assert "Envoyer les convocations maintenant (1)" in html  # sent before its date if the staff asks


def test_a_session_without_trainee_says_there_is_nothing_to_send(world, open_session, advisor):
    session = open_session(course=world.dume, start=paris_today() + dt.timedelta(days=3))
    assert "Aucune convocation à envoyer : aucun stagiaire n'est confirmé." in page(confirm(advisor, session))


def test_the_worker_sends_them_and_the_page_says_when(app, monkeypatch, advisor, soon_session):
    confirm(advisor, soon_session)
    worker_pass()
    assert set(states(soon_session).values()) == {"waiting"}  # queued, not yet gone
    message, other = convocation_messages(soon_session)
    message.status, message.transport, message.sent_at = "sent", "smtp", utcnow()
    other.status, other.last_error = "failed", "550 boîte inconnue"
    db.session.commit()
    monkeypatch.setitem(app.config, "MAIL_BACKEND", "smtp")
    assert states(soon_session) == {"p01@exemple.fr": "sent", "p02@exemple.fr": "failed"}
    html = page(advisor.get(f"/sessions/{soon_session.id}"))
    assert "Envoyée le" in html and "Échec de l'envoi" in html and "550 boîte inconnue" in html
    assert "Envoyer les convocations maintenant" not in html


def test_a_message_gone_with_the_retention_is_still_told_sent(advisor, soon_session):
    confirm(advisor, soon_session)
    worker_pass()
    for message in convocation_messages(soon_session):
        db.session.delete(message)  # the firing keeps its row, without its message
    db.session.commit()
    assert set(states(soon_session).values()) == {"sent"}
    assert set(labels(soon_session).values()) == {"Déjà envoyée"}


def test_a_trainee_awaiting_the_prerequisite_decision_is_held(advisor, soon_session):
    confirm(advisor, soon_session)
    soon_session.course_version.prerequisites_none = False  # the decision now matters, and nobody took it
    db.session.commit()
    assert set(labels(soon_session).values()) == {"En attente de la décision sur les prérequis"}


def test_a_rule_switched_off_for_the_session_or_everywhere_says_so(advisor, soon_session):
    confirm(advisor, soon_session)
    rule = trainee_rule()
    automation_services.set_rule_session(rule, soon_session.id, True, None)
    db.session.commit()
    assert set(labels(soon_session).values()) == {"Convocations automatiques désactivées pour cette session"}
    html = page(advisor.get(f"/sessions/{soon_session.id}"))
    assert html.count('data-convocation="off"') == 2 and 'href="#automations"' in html
    assert "Envoyer les convocations maintenant" not in html
    assert advisor.post(send_url(soon_session)).status_code == 409
    automation_services.set_rule_session(rule, soon_session.id, False, None)
    automation_services.set_rule_active(trainee_rule(), False, None)
    db.session.commit()
    assert set(labels(soon_session).values()) == {"Convocations automatiques désactivées pour toutes les sessions"}


# --------------------------------------------------------------------------- sending now


def test_the_button_appears_only_when_convocations_can_leave(advisor, soon_session):
    before = page(advisor.get(f"/sessions/{soon_session.id}"))
    assert "Envoyer les convocations maintenant" not in before  # held until the confirmation
    html = page(confirm(advisor, soon_session))
    assert "Envoyer les convocations maintenant (2)" in html
    assert html.count('data-convocation="waiting"') == 2


def send_now(client, session):
    """« Envoyer les convocations maintenant »: the request starts a task; run it as the worker would."""
    task, _ = run_started_task(client, client.post(send_url(session)))
    return task


def test_send_now_fires_the_rules_and_writes_the_convocations_to_the_console(advisor, soon_session):
    confirm(advisor, soon_session)
    task = send_now(advisor, soon_session)
    assert (task.kind, task.status) == ("convocations", "done")
    assert task.summary == ("Convocations : 2 e-mails écrits dans la console (aucun e-mail n'est parti "
                            ": MAIL_BACKEND=console).")
    messages = convocation_messages(soon_session)
    assert [(m.recipient, m.status, m.transport) for m in messages] == [
        ("p01@exemple.fr", "sent", "console"), ("p02@exemple.fr", "sent", "console")]
    assert [f.message_id for f in firings(soon_session)] == [m.id for m in messages]  # in the ledger
    assert set(states(soon_session).values()) == {"console"}
    html = page(advisor.get(f"/sessions/{soon_session.id}"))
    assert "Écrite dans la console le" in html and "Envoyer les convocations maintenant" not in html
    assert "Envoyée le" not in html  # nothing claims a convocation left
    worker_pass()  # the worker's next pass (the other rules' messages) sends no convocation again
    assert len(convocation_messages(soon_session)) == 2 and len(firings(soon_session)) == 2


def test_send_now_is_a_task_that_prepares_then_sends(advisor, soon_session):
    from trainingmgr.messaging.tasks import run_task

    confirm(advisor, soon_session)
    response = advisor.post(send_url(soon_session))
    assert response.status_code == 303
    task = db.session.scalars(select(Task)).one()
    assert response.headers["Location"].endswith(f"/tasks/{task.id}")
    assert (task.kind, task.status) == ("convocations", "queued")
    assert task.payload["enrolment_ids"] == [e.id for e in enrolments_of(soon_session)]
    assert task.back_url == f"/sessions/{soon_session.id}#convocations"
    seen = []
    done = run_task(task.id, echo=lambda t: seen.append((t.done, t.total, t.step)))
    assert seen == [(0, 2, "Préparation des convocations"), (2, 2, "2 convocations préparées")]
    assert done.status == "done" and done.summary.startswith("Convocations : 2 e-mails ")


def test_send_now_sends_a_planned_convocation_before_its_date_and_never_again(advisor, far_session):
    confirm(advisor, far_session)
    assert send_now(advisor, far_session).status == "done"
    assert [m.recipient for m in convocation_messages(far_session)] == ["p03@exemple.fr"]
    [firing] = firings(far_session)
    assert firing.due_at == dt.datetime(2031, 2, 24, 8, 0, tzinfo=dt.UTC)  # 09:00 in Paris, J−7
    tasks_before = db.session.scalar(select(func.count()).select_from(Task))
    response = advisor.post(send_url(far_session))  # a second click: nothing more, answered at once, no task
    assert response.status_code == 409
    assert "Aucune convocation à envoyer maintenant" in page(response)
    assert db.session.scalar(select(func.count()).select_from(Task)) == tasks_before
    engine.fire_due(firing.due_at)  # and nothing at J−7 either
    db.session.commit()
    assert len(convocation_messages(far_session)) == 1


def test_send_now_with_nothing_to_send_is_refused_with_a_reason(advisor, soon_session):
    response = advisor.post(send_url(soon_session))  # the session is not confirmed: they wait for it
    assert response.status_code == 409
    assert "Aucune convocation à envoyer maintenant" in page(response)
    assert convocation_messages(soon_session) == [] and firings(soon_session) == []


def test_the_enrolment_page_tells_the_convocation_and_points_to_the_session(advisor, soon_session):
    confirm(advisor, soon_session)
    enrolment = enrolments_of(soon_session)[0]
    html = page(advisor.get(f"/enrolments/{enrolment.id}"))
    assert "En file d'envoi : part dans la console dans les 30 secondes" in html
    assert 'data-action="session-convocations"' in html and f"/sessions/{soon_session.id}#convocations" in html
    send_now(advisor, soon_session)
    html = page(advisor.get(f"/enrolments/{enrolment.id}"))
    assert "Écrite dans la console le" in html and "(non envoyée)" in html
    assert "envoyée le" not in html.lower().replace("(non envoyée)", "")


def test_an_unreachable_mail_server_is_a_failure_the_worker_retries(app, monkeypatch, advisor, soon_session):
    confirm(advisor, soon_session)
    monkeypatch.setitem(app.config, "MAIL_BACKEND", "smtp")
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", 1)  # nothing listens there
    task = send_now(advisor, soon_session)
    assert task.status == "done"
    assert "Convocations : aucun e-mail envoyé, 1 en échec : le worker réessaie plus tard" in task.summary
    assert {m.status for m in convocation_messages(soon_session)} == {"pending"}
    assert set(states(soon_session).values()) == {"waiting"}  # the button stays for another try
    assert len(firings(soon_session)) == 2  # fired once: another try sends the same messages


@pytest.mark.parametrize("who", ["trainer", "anonymous"])
def test_only_staff_may_send_convocations_now(request, app, advisor, soon_session, who):
    confirm(advisor, soon_session)
    client = request.getfixturevalue("trainer") if who == "trainer" else app.test_client()
    response = client.post(send_url(soon_session))
    assert response.status_code == (403 if who == "trainer" else 302)
    assert convocation_messages(soon_session) == [] and firings(soon_session) == []
    assert "Envoyer les convocations maintenant" not in page(request.getfixturevalue("trainer").get(
        f"/sessions/{soon_session.id}"))


def test_reading_the_convocations_does_not_grow_with_the_trainees_once_sent_or_held(advisor, soon_session,
                                                                                     new_trainee, count_queries):
    """Held or sent: a fixed number of queries (the ledger and the outbox in one). Planned: the engine's plan of
    the session is asked once (it renders each trainee's message, as the dry run does)."""
    from trainingmgr.enrolments.services import session_enrolments

    def counted(how_many: int) -> int:
        db.session.expire_all()
        enrolments = session_enrolments(soon_session)[:how_many]
        with count_queries() as counter:
            assert len(convocations.convocation_states(enrolments)) == how_many
        return counter.count

    for n in range(4, 8):
        enrolment_services.enrol(soon_session, new_trainee(n))
    db.session.commit()
    counted(1)  # the first reading creates the default rules
    assert counted(6) <= counted(2)  # held: the session is not confirmed
    confirm(advisor, soon_session)
    send_now(advisor, soon_session)
    assert set(states(soon_session).values()) == {"console"}
    assert counted(6) <= counted(2)  # sent


def test_change_status_to_open_keeps_its_plain_message(advisor, world, make_session):
    session = make_session(course=world.dume)
    html = page(advisor.post(f"/sessions/{session.id}/status", data={"status": "open"}, follow_redirects=True))
    assert "Statut de la session : inscriptions ouvertes." in html and "Convocations" not in html.split("alert")[1]
    change_status(session, "draft", None)
