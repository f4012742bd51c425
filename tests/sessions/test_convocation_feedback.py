"""Confirming a session says what it set going (convocations queued, when they leave, where they go), the session
page shows where each convocation stands, and « Envoyer les convocations maintenant » sends the waiting ones
without waiting for the worker: staff only, refused with a reason when none waits."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from trainingmgr.core.timeutil import paris_today
from trainingmgr.enrolments import convocations
from trainingmgr.enrolments import services as enrolment_services
from trainingmgr.enrolments.models import Enrolment
from trainingmgr.extensions import db
from trainingmgr.messaging.models import Job, OutboxMessage, Task
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


def states(session) -> dict[str, str]:
    db.session.expire_all()
    return {s.enrolment.trainee.email: s.code for s in convocations.session_convocations(session)}


def send_url(session) -> str:
    return f"/sessions/{session.id}/convocations/send"


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
    labels = {s.label for s in convocations.session_convocations(soon_session)}
    assert labels == {"En attente de la confirmation de la session"}


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


def test_a_far_session_says_when_its_convocations_are_scheduled_and_offers_no_button(advisor, far_session):
    html = page(confirm(advisor, far_session))
    assert "1 programmée pour J−7 (à partir du 24/02/2031 09:00)" in html
    assert 'data-convocation="scheduled"' in html
    assert "Envoyer les convocations maintenant" not in html


def test_a_session_without_trainee_says_there_is_nothing_to_send(world, open_session, advisor):
    session = open_session(course=world.dume, start=paris_today() + dt.timedelta(days=3))
    assert "Aucune convocation à envoyer : aucun stagiaire n'est confirmé." in page(confirm(advisor, session))


# --------------------------------------------------------------------------- sending now


def test_the_button_appears_only_while_convocations_wait(advisor, soon_session):
    before = page(advisor.get(f"/sessions/{soon_session.id}"))
    assert "Envoyer les convocations maintenant" not in before  # held until the confirmation
    html = page(confirm(advisor, soon_session))
    assert "Envoyer les convocations maintenant (2)" in html
    assert html.count('data-convocation="waiting"') == 2


def send_now(client, session):
    """« Envoyer les convocations maintenant »: the request starts a task; run it as the worker would."""
    task, _ = run_started_task(client, client.post(send_url(session)))
    return task


def test_send_now_runs_the_jobs_and_writes_the_convocations_to_the_console(advisor, soon_session):
    confirm(advisor, soon_session)
    task = send_now(advisor, soon_session)
    assert (task.kind, task.status, task.done, task.total) == ("convocations", "done", 2, 2)
    assert task.summary == ("Convocations : 2 e-mails écrits dans la console (aucun e-mail n'est parti "
                                       ": MAIL_BACKEND=console).")
    html = page(advisor.get(f"/sessions/{soon_session.id}"))
    messages = convocation_messages(soon_session)
    assert [(m.status, m.transport) for m in messages] == [("sent", "console"), ("sent", "console")]
    jobs = db.session.scalars(select(Job).where(Job.kind == "convocation")).all()
    assert {j.status for j in jobs} == {"done"}
    assert set(states(soon_session).values()) == {"console"}
    assert "Écrite dans la console le" in html and "Envoyer les convocations maintenant" not in html
    assert "Envoyée le" not in html  # nothing claims a convocation left


def test_send_now_is_a_task_with_one_step_per_trainee(advisor, soon_session):
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
    names = [e.trainee.full_name for e in enrolments_of(soon_session)]
    assert seen == [(0, 2, "Préparation des convocations"), (1, 2, f"Convocation de {names[0]}"),
                    (2, 2, f"Convocation de {names[1]}")]
    assert done.status == "done" and done.summary.startswith("Convocations : 2 e-mails ")


def test_send_now_with_nothing_waiting_is_refused_with_a_reason(advisor, soon_session, far_session):
    response = advisor.post(send_url(far_session))  # scheduled for J−7: it keeps its date
    assert response.status_code == 409
    assert "Aucune convocation n'attend d'être envoyée" in page(response)
    assert convocation_messages(far_session) == []
    confirm(advisor, soon_session)
    assert send_now(advisor, soon_session).status == "done"
    tasks_before = db.session.scalar(select(func.count()).select_from(Task))
    assert advisor.post(send_url(soon_session)).status_code == 409  # already gone: answered at once, no task
    assert db.session.scalar(select(func.count()).select_from(Task)) == tasks_before


def test_send_now_for_one_enrolment_sends_only_its_convocation(advisor, soon_session):
    confirm(advisor, soon_session)
    first = enrolments_of(soon_session)[0]
    back = f"/enrolments/{first.id}"
    response = advisor.post(send_url(soon_session), data={"enrolment_id": str(first.id), "next": back})
    assert response.status_code == 302 and response.headers["Location"].endswith(back)
    assert states(soon_session) == {"p01@exemple.fr": "console", "p02@exemple.fr": "waiting"}
    assert advisor.post(send_url(soon_session), data={"enrolment_id": "abc"}).status_code == 400


def test_the_enrolment_page_tells_the_convocation_honestly_and_offers_to_send_it(advisor, soon_session):
    confirm(advisor, soon_session)
    enrolment = enrolments_of(soon_session)[0]
    html = page(advisor.get(f"/enrolments/{enrolment.id}"))
    assert "En file d'envoi : part dans la console dans les 30 secondes" in html
    assert 'data-action="send-convocation"' in html
    advisor.post(send_url(soon_session), data={"enrolment_id": str(enrolment.id)})
    html = page(advisor.get(f"/enrolments/{enrolment.id}"))
    assert "Écrite dans la console le" in html and "(non envoyée)" in html
    assert "envoyée le" not in html.lower().replace("(non envoyée)", "")


def test_an_unreachable_mail_server_is_a_failure_the_worker_retries(app, monkeypatch, advisor, soon_session):
    confirm(advisor, soon_session)
    monkeypatch.setitem(app.config, "MAIL_BACKEND", "smtp")
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", 1)  # nothing listens there
    task = send_now(advisor, soon_session)
    assert task.status == "done" and (task.done, task.total) == (2, 2)
    assert "Convocations : aucun e-mail envoyé, 1 en échec : le worker réessaie plus tard" in task.summary
    assert {m.status for m in convocation_messages(soon_session)} == {"pending"}
    assert set(states(soon_session).values()) == {"waiting"}  # the button stays for another try


@pytest.mark.parametrize("who", ["trainer", "anonymous"])
def test_only_staff_may_send_convocations_now(request, app, advisor, soon_session, who):
    confirm(advisor, soon_session)
    client = request.getfixturevalue("trainer") if who == "trainer" else app.test_client()
    response = client.post(send_url(soon_session))
    assert response.status_code == (403 if who == "trainer" else 302)
    assert convocation_messages(soon_session) == []
    assert "Envoyer les convocations maintenant" not in page(request.getfixturevalue("trainer").get(
        f"/sessions/{soon_session.id}"))


def test_the_session_page_reads_the_convocations_in_a_bounded_number_of_queries(advisor, soon_session, new_trainee,
                                                                                count_queries):
    from trainingmgr.enrolments.services import session_enrolments

    confirm(advisor, soon_session)
    db.session.expire_all()
    enrolments = session_enrolments(soon_session)
    with count_queries() as few:
        convocations.convocation_states(enrolments)
    for n in range(4, 8):
        enrolment_services.enrol(soon_session, new_trainee(n))
    db.session.commit()
    db.session.expire_all()
    more = session_enrolments(soon_session)
    with count_queries() as many:
        convocations.convocation_states(more)
    assert many.count <= few.count + 1


def test_change_status_to_open_keeps_its_plain_message(advisor, world, make_session):
    session = make_session(course=world.dume)
    html = page(advisor.post(f"/sessions/{session.id}/status", data={"status": "open"}, follow_redirects=True))
    assert "Statut de la session : inscriptions ouvertes." in html and "Convocations" not in html.split("alert")[1]
    change_status(session, "draft", None)
