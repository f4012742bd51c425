"""The register of complaints, difficulties, hazards and mediation requests (Qualiopi 31): deadlines in working
days (weekends and French public holidays excluded) and overdue detection under a frozen clock, the reference
numbering (also under concurrency), the workflow and its refusals, the advisor's screens and their permissions,
the register's export and the dashboard's alert."""
from __future__ import annotations

import csv
import datetime as dt
import io
import threading

import pytest
from sqlalchemy import func, select

from trainingmgr.core.errors import ConflictError, ValidationError
from trainingmgr.core.timeutil import PARIS
from trainingmgr.extensions import db
from trainingmgr.messaging.models import OutboxMessage
from trainingmgr.organisation.services import get_organisation
from trainingmgr.quality.complaints import services as service
from trainingmgr.quality.models import QualityEvent, QualityRequest

from tests.catalogue.pagetools import page_of
from tests.enrolments.support import assert_refused, errors_of
from tests.helpers import exported, page

# Easter Monday 2031 is 14 April, Ascension Thursday 22 May.
GOOD_FRIDAY_EVE = dt.date(2031, 4, 11)  # a Friday before the Easter Monday
QUALITY_CONTACT = "conseil@formaction.example"  # the demo organisation's quality contact (world fixture)


def paris(day: dt.date, hhmm: str = "10:00") -> dt.datetime:
    hour, minute = map(int, hhmm.split(":"))
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=PARIS).astimezone(dt.timezone.utc)


class Clock:
    """The time trainingmgr.quality.complaints.services reads instead of the real one."""

    def __init__(self, monkeypatch, start: dt.datetime):
        self.now = start
        monkeypatch.setattr("trainingmgr.quality.complaints.services.utcnow", self)

    def __call__(self) -> dt.datetime:
        return self.now

    def at(self, day: dt.date, hhmm: str = "10:00") -> dt.datetime:
        self.now = paris(day, hhmm)
        return self.now

    @property
    def today(self) -> dt.date:
        return self.now.astimezone(PARIS).date()


@pytest.fixture
def request_clock(app, monkeypatch):
    return Clock(monkeypatch, paris(GOOD_FRIDAY_EVE, "16:00"))


PUBLIC = {"kind": "complaint", "requester_role": "trainee", "requester_name": "Léa Martin",
          "requester_email": "Lea.Martin@Exemple.fr", "requester_phone": "06 12 34 56 78", "organisation_name": "",
          "subject": "Salle trop froide", "description": "La salle n'était pas chauffée le deuxième jour.",
          "consent": True}
PHONE = {"kind": "complaint", "channel": "phone", "requester_role": "company", "requester_name": "M. Dupont",
         "requester_email": "", "requester_phone": "05 61 00 00 00", "organisation_name": "Cabinet Dupont",
         "subject": "Facture erronée", "description": "Le montant facturé ne correspond pas au devis signé."}


def file(data=None, **over):
    req = service.file_public_request({**PUBLIC, **(data or {}), **over})
    db.session.commit()
    return req


def record(actor, **over):
    req = service.record_request({**PHONE, **over}, actor)
    db.session.commit()
    return req


def step(req, action, actor, **data):
    service.transition(req, action, data, actor)
    db.session.commit()
    return req


def outbox(topic=None) -> list[OutboxMessage]:
    db.session.expire_all()
    query = select(OutboxMessage).order_by(OutboxMessage.id)
    if topic:
        query = query.where(OutboxMessage.topic == topic)
    return list(db.session.scalars(query))


def count_requests() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(QualityRequest))


def events(req) -> list[QualityEvent]:
    db.session.expire_all()
    return list(db.session.scalars(select(QualityEvent).where(QualityEvent.request_id == req.id)
                                   .order_by(QualityEvent.id)))


# --------------------------------------------------------------------------- deadlines


@pytest.mark.parametrize("received, ack_due", [
    (paris(GOOD_FRIDAY_EVE, "16:00"), dt.date(2031, 4, 16)),  # Fri → (Mon 14 is Easter Monday) Tue 15, Wed 16
    (paris(dt.date(2031, 4, 12), "10:00"), dt.date(2031, 4, 16)),  # a Saturday: Tue 15, Wed 16
    (paris(dt.date(2031, 5, 21), "09:00"), dt.date(2031, 5, 26)),  # Wed before Ascension: Fri 23, Mon 26
    (paris(dt.date(2031, 4, 7), "09:00"), dt.date(2031, 4, 9)),  # an ordinary Monday: Wednesday
    # 23:30 UTC on Thursday is already Friday in Paris: the Paris date counts.
    (dt.datetime(2031, 4, 10, 23, 30, tzinfo=dt.timezone.utc), dt.date(2031, 4, 16)),
])
def test_acknowledgement_due_in_working_days_from_the_paris_date(app, received, ack_due):
    assert service.deadlines(received) == (ack_due, received.astimezone(PARIS).date() + dt.timedelta(days=15))


def test_deadlines_come_from_the_configuration(app, monkeypatch):
    monkeypatch.setitem(app.config, "QUALITY_ACK_WORKING_DAYS", 3)
    monkeypatch.setitem(app.config, "QUALITY_ANSWER_DAYS", 30)
    assert service.deadlines(paris(GOOD_FRIDAY_EVE)) == (dt.date(2031, 4, 17), dt.date(2031, 5, 11))


def test_a_request_received_on_friday_before_easter_monday(request_clock, world):
    req = file()
    assert (req.acknowledge_due, req.answer_due) == (dt.date(2031, 4, 16), dt.date(2031, 4, 26))
    assert req.received_at == request_clock.now
    assert req.consent_at == request_clock.now


def test_overdue_steps_flip_exactly_the_day_after_their_due_date(request_clock, world):
    advisor = world.users["advisor"]
    req = file()
    assert service.overdue_requests(dt.date(2031, 4, 16)) == []  # the due date itself is still in time
    assert not service.is_overdue(req, dt.date(2031, 4, 16))
    late = service.overdue_requests(dt.date(2031, 4, 17))
    assert [(r.id, what, due) for r, what, due in late] == [
        (req.id, "accusé de réception attendu le 16/04/2031", dt.date(2031, 4, 16))]
    assert service.is_overdue(req, dt.date(2031, 4, 17))
    # Both steps late: one line, both named, the earliest due date.
    [(r, what, due)] = service.overdue_requests(dt.date(2031, 4, 27))
    assert what == "accusé de réception attendu le 16/04/2031 ; réponse attendue le 26/04/2031"
    assert due == dt.date(2031, 4, 16)

    request_clock.at(dt.date(2031, 4, 17))
    step(req, "acknowledge", advisor)  # a day late, but done: no longer listed for it
    assert service.overdue_requests(dt.date(2031, 4, 20)) == []
    step(req, "analyse", advisor)
    assert service.overdue_requests(dt.date(2031, 4, 26)) == []
    [(r, what, due)] = service.overdue_requests(dt.date(2031, 4, 27))
    assert (r.id, what, due) == (req.id, "réponse attendue le 26/04/2031", dt.date(2031, 4, 26))

    request_clock.at(dt.date(2031, 4, 26), "23:50")  # the last evening (Paris) is in time
    step(req, "answer", advisor, answer="Le chauffage a été réparé ; nous vous offrons une demi-journée.")
    assert service.overdue_requests(dt.date(2031, 5, 30)) == []
    assert not service.answered_late(req)
    assert service.delay_days(req) == 15


def test_an_answer_after_the_due_date_is_late(request_clock, world):
    advisor = world.users["advisor"]
    req = file()
    for action in ("acknowledge", "analyse"):
        step(req, action, advisor)
    request_clock.at(dt.date(2031, 4, 27), "00:10")  # Paris: just past midnight after the due date
    step(req, "answer", advisor, answer="Réponse tardive.")
    assert service.answered_late(req)
    assert service.delay_days(req) == 16


def test_the_mediation_stops_the_answer_clock(request_clock, world):
    advisor = world.users["advisor"]
    req = file(kind="mediation")
    for action in ("acknowledge", "analyse"):
        step(req, action, advisor)
    step(req, "escalate", advisor, mediator_name="Médiateur de la consommation CM2C")
    assert not service.is_overdue(req, dt.date(2031, 6, 30))
    assert service.overdue_requests(dt.date(2031, 6, 30)) == []


# --------------------------------------------------------------------------- numbering


def test_references_follow_each_other_within_the_year_of_receipt(request_clock, world):
    advisor = world.users["advisor"]
    assert [file().reference for _ in range(3)] == ["REC-2031-0001", "REC-2031-0002", "REC-2031-0003"]
    # Recorded later, received in the previous year: that year's series.
    old = record(advisor, received_on=dt.date(2030, 12, 30), received_time=dt.time(17, 0))
    assert old.reference == "REC-2030-0001"
    assert old.received_at == paris(dt.date(2030, 12, 30), "17:00")
    assert file().reference == "REC-2031-0004"


def test_numbering_carries_on_past_9999(request_clock, world):
    existing = file()
    existing.reference = "REC-2031-9999"
    db.session.commit()
    assert file().reference == "REC-2031-10000"
    assert file().reference == "REC-2031-10001"


def test_a_reference_taken_meanwhile_is_retried_with_the_next_one(request_clock, world, monkeypatch):
    """Should another transaction take the number despite the lock (e.g. a row typed in by hand), the insert is
    retried in a savepoint with the next number: the request is saved, nothing else is lost."""
    first = file()
    real = service._next_reference
    answers = iter(["REC-2031-0001"])  # already taken by ``first``
    monkeypatch.setattr(service, "_next_reference", lambda year: next(answers, None) or real(year))
    second = file()
    assert (first.reference, second.reference) == ("REC-2031-0001", "REC-2031-0002")
    assert [e.status for e in events(second)] == ["received"]
    assert count_requests() == 2


def test_simultaneous_requests_get_distinct_consecutive_references(app, world):
    """Eight requests filed at the same instant, each in its own transaction: none fails, none shares a number."""
    threads_count = 8
    barrier = threading.Barrier(threads_count)
    results, failures = [], []

    def worker(n: int):
        with app.app_context():
            try:
                barrier.wait(timeout=10)
                req = service.file_public_request({**PUBLIC, "requester_email": f"p{n}@exemple.fr"})
                db.session.commit()
                results.append(req.reference)
            except Exception as exc:  # pragma: no cover - reported below
                failures.append(repr(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    year = service.today_in_paris().year
    assert sorted(results) == [f"REC-{year}-{n:04d}" for n in range(1, threads_count + 1)]
    assert count_requests() == threads_count


# --------------------------------------------------------------------------- creating


def test_a_phone_request_is_recorded_by_the_advisor(request_clock, world):
    advisor = world.users["advisor"]
    req = record(advisor, kind="hazard", requester_name="", requester_phone="", organisation_name="",
                 received_on=dt.date(2031, 4, 10), received_time=dt.time(14, 30))
    assert (req.kind, req.channel, req.status, req.created_by_id) == ("hazard", "phone", "received", advisor.id)
    assert req.received_at == paris(dt.date(2031, 4, 10), "14:30")
    assert (req.acknowledge_due, req.answer_due) == (dt.date(2031, 4, 15), dt.date(2031, 4, 25))
    [event] = events(req)
    assert (event.status, event.author_id, event.created_at) == ("received", advisor.id, request_clock.now)
    assert "Camille Conseil" in event.note and "téléphone" in event.note
    assert outbox("complaint_ack") == []  # no e-mail known
    # The quality contact hears of it, with the link to the request.
    [mail] = outbox("complaint_advisor")
    assert mail.recipient == QUALITY_CONTACT
    assert f"/quality/requests/{req.id}" in mail.body_text and req.reference in mail.body_text


def test_recorded_without_date_is_received_now_and_acknowledged_by_mail_when_the_email_is_known(request_clock, world):
    req = record(world.users["advisor"], channel="email", requester_email="Dupont@Cabinet.example")
    assert req.received_at == request_clock.now
    assert req.requester_email == "dupont@cabinet.example"
    [ack] = outbox("complaint_ack")
    assert ack.recipient == "dupont@cabinet.example"
    assert req.reference in ack.subject and req.reference in ack.body_text
    assert "/reclamation/suivi/" in ack.body_text
    assert "26/04/2031" in ack.body_text  # the answer's due date


def test_the_quality_contact_recording_a_request_is_not_told_of_it(request_clock, world, users):
    get_organisation().quality_contact_email = "conseil@test.example"  # Camille, who records it
    db.session.commit()
    record(users["advisor"])
    assert outbox("complaint_advisor") == []


def test_without_quality_contact_every_advisor_and_admin_hears_of_it(request_clock, world):
    get_organisation().quality_contact_email = ""
    db.session.commit()
    file()
    assert sorted(m.recipient for m in outbox("complaint_advisor")) == ["admin@test.example", "conseil@test.example"]


@pytest.mark.parametrize("over, field, message", [
    ({"received_on": dt.date(2031, 4, 12)}, "received_on", "La date de réception ne peut pas être dans le futur."),
    ({"received_on": dt.date(2031, 4, 11), "received_time": dt.time(16, 30)}, "received_on",
     "La date de réception ne peut pas être dans le futur."),
    ({"received_time": dt.time(9, 0)}, "received_on", "Indiquez aussi la date de réception."),
    ({"channel": "pigeon"}, "channel", "Choisissez par quel canal la demande est arrivée."),
    ({"kind": "other"}, "kind", "Choisissez la nature de la demande dans la liste."),
    ({"requester_name": " "}, "requester_name", "Indiquez le nom du demandeur."),
    ({"requester_email": "dupont@"}, "requester_email", "Cette adresse e-mail n'est pas valide."),
    ({"subject": ""}, "subject", "Donnez un objet à la demande."),
    ({"description": "court"}, "description", "Décrivez la demande en quelques phrases (10 caractères au moins)."),
    ({"session_id": "999999"}, "session_id", "Session introuvable."),
])
def test_recording_refuses_bad_input(request_clock, world, over, field, message):
    with pytest.raises(ValidationError) as refused:
        service.record_request({**PHONE, **over}, world.users["advisor"])
    assert message in refused.value.fields[field]
    db.session.rollback()
    assert count_requests() == 0


# --------------------------------------------------------------------------- workflow


def test_the_whole_workflow_with_mediation_is_dated_and_authored(request_clock, world, users):
    advisor, admin = users["advisor"], users["admin"]
    req = file(kind="mediation")
    moments = {}
    for day, action, actor, data in [
        (dt.date(2031, 4, 14), "acknowledge", advisor, {"note": "Nous étudions votre demande.", "notify": True}),
        (dt.date(2031, 4, 15), "analyse", advisor, {"note": "Appeler le formateur."}),
        (dt.date(2031, 4, 18), "answer", admin, {"answer": "Nous proposons une session de rattrapage.",
                                                 "analysis": "Panne de chauffage non signalée.", "notify": True}),
        (dt.date(2031, 4, 22), "escalate", advisor, {"mediator_name": "CM2C, médiateur de la consommation"}),
        (dt.date(2031, 5, 20), "outcome", advisor, {"mediation_outcome": "Accord : remboursement de 50 %."}),
        (dt.date(2031, 5, 21), "close", admin, {"note": "Remboursement effectué."}),
    ]:
        moments[action] = request_clock.at(day, "11:00")
        step(req, action, actor, **data)
    db.session.expire_all()
    assert req.status == "closed"
    assert req.acknowledged_at == moments["acknowledge"]
    assert req.analysis_started_at == moments["analyse"]
    assert (req.answered_at, req.answer, req.analysis) == (
        moments["answer"], "Nous proposons une session de rattrapage.", "Panne de chauffage non signalée.")
    assert (req.escalated_at, req.mediator_name) == (moments["escalate"], "CM2C, médiateur de la consommation")
    assert req.mediation_outcome == "Accord : remboursement de 50 %."
    assert (req.closed_at, req.closing_note) == (moments["close"], "Remboursement effectué.")
    assert [(e.status, e.author_id, e.created_at) for e in events(req)] == [
        ("received", None, paris(GOOD_FRIDAY_EVE, "16:00")),
        ("acknowledged", advisor.id, moments["acknowledge"]),
        ("analysing", advisor.id, moments["analyse"]),
        ("answered", admin.id, moments["answer"]),
        ("mediation", advisor.id, moments["escalate"]),
        ("outcome", advisor.id, moments["outcome"]),
        ("closed", admin.id, moments["close"]),
    ]
    # E-mails: the acknowledgement at filing, again when acknowledged, then the answer.
    assert [m.topic for m in outbox() if m.recipient == "lea.martin@exemple.fr"] == [
        "complaint_ack", "complaint_ack", "complaint_update"]
    assert "Nous proposons une session de rattrapage." in outbox("complaint_update")[0].body_text
    # Closed is final.
    for action in service.TRANSITIONS:
        with pytest.raises(ConflictError) as refused:
            service.transition(req, action, {"answer": "x" * 10, "mediator_name": "X", "mediation_outcome": "xxx"},
                               advisor)
        assert "Elle est close." in refused.value.message
        db.session.rollback()
    assert len(events(req)) == 7


@pytest.mark.parametrize("path, action", [
    ((), "analyse"), ((), "answer"), ((), "escalate"), ((), "close"), ((), "outcome"),
    (("acknowledge",), "answer"), (("acknowledge",), "escalate"), (("acknowledge",), "acknowledge"),
    (("acknowledge", "analyse"), "close"),
])
def test_illegal_transitions_are_refused(request_clock, world, path, action):
    advisor = world.users["advisor"]
    req = file()
    for done in path:
        step(req, done, advisor)
    status = req.status
    with pytest.raises(ConflictError) as refused:
        service.transition(req, action, {"answer": "Une réponse.", "mediator_name": "M. Médiateur"}, advisor)
    assert f"La demande est « {req.status_label.lower()} » : impossible de" in refused.value.message
    db.session.rollback()
    db.session.expire_all()
    assert req.status == status
    assert len(events(req)) == 1 + len(path)


@pytest.mark.parametrize("path, action, data, field, message", [
    (("acknowledge", "analyse"), "answer", {"answer": "  "}, "answer", "Écrivez la réponse apportée au demandeur."),
    (("acknowledge", "analyse"), "escalate", {}, "mediator_name", "Indiquez le nom du médiateur saisi."),
    (("acknowledge", "analyse", "escalate"), "close", {}, "mediation_outcome", "Indiquez l'issue de la médiation."),
    (("acknowledge", "analyse", "escalate"), "outcome", {"mediation_outcome": ""}, "mediation_outcome",
     "Indiquez l'issue de la médiation."),
    ((), "nonsense", {}, None, "Étape inconnue : rechargez la page et choisissez l'une des étapes proposées."),
])
def test_steps_missing_their_text_are_refused_and_change_nothing(request_clock, world, path, action, data, field, message):
    advisor = world.users["advisor"]
    req = file()
    for done in path:
        step(req, done, advisor, mediator_name="M. Médiateur")
    before = (req.status, len(events(req)))
    with pytest.raises(ValidationError) as refused:
        service.transition(req, action, data, advisor)
    assert message in (refused.value.fields[field] if field else [refused.value.message])
    db.session.rollback()
    db.session.expire_all()
    assert (req.status, len(events(req))) == before
    assert req.answered_at is None and req.closed_at is None


def test_closing_a_mediation_may_record_its_outcome(request_clock, world):
    advisor = world.users["advisor"]
    req = file()
    for action in ("acknowledge", "analyse"):
        step(req, action, advisor)
    step(req, "escalate", advisor, mediator_name="M. Médiateur")
    step(req, "close", advisor, mediation_outcome="Désistement du demandeur.")
    assert (req.status, req.mediation_outcome) == ("closed", "Désistement du demandeur.")
    assert [e.status for e in events(req)] == ["received", "acknowledged", "analysing", "mediation", "outcome",
                                               "closed"]


def test_notifying_a_requester_without_email_is_refused(request_clock, world):
    advisor = world.users["advisor"]
    req = record(advisor)
    with pytest.raises(ValidationError) as refused:
        service.transition(req, "acknowledge", {"notify": True}, advisor)
    assert "Aucune adresse e-mail" in refused.value.fields["notify"][0]


def test_notes_are_authored_and_never_public(request_clock, world):
    advisor = world.users["advisor"]
    req = file()
    service.add_note(req, "Le stagiaire a déjà appelé deux fois.", advisor)
    db.session.commit()
    with pytest.raises(ValidationError):
        service.add_note(req, " ", advisor)
    db.session.rollback()
    note = events(req)[-1]
    assert (note.status, note.author_id, note.note) == ("note", advisor.id, "Le stagiaire a déjà appelé deux fois.")
    assert all(item["status"] != "note" for item in service.public_timeline(req))


# --------------------------------------------------------------------------- staff screens

STAFF_FORM = {"kind": "complaint", "channel": "phone", "requester_role": "company", "requester_name": "M. Dupont",
              "requester_email": "", "requester_phone": "05 61 00 00 00", "organisation_name": "Cabinet Dupont",
              "session_id": "", "received_on": "", "received_time": "", "subject": "Facture erronée",
              "description": "Le montant facturé ne correspond pas au devis signé."}


def staff_urls(req_id: int) -> list[tuple[str, str]]:
    base = "/quality/requests"
    return [("get", f"{base}/"), ("get", f"{base}/new"), ("get", f"{base}/{req_id}"), ("post", f"{base}/export.csv"),
            ("post", f"{base}/new"), ("post", f"{base}/{req_id}/transition"), ("post", f"{base}/{req_id}/note")]


def test_staff_screens_refuse_anonymous_and_trainers(client, trainer, world):
    req = file()
    for method, url in staff_urls(req.id):
        data = {**STAFF_FORM, "action": "acknowledge", "note": "Vu."} if method == "post" else None
        anonymous = getattr(client, method)(url, data=data) if data else client.get(url)
        assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"], url
        refused = getattr(trainer, method)(url, data=data) if data else trainer.get(url)
        assert refused.status_code == 403, url
    db.session.expire_all()
    assert (req.status, count_requests(), len(events(req))) == ("received", 1, 1)


def test_the_advisor_records_then_follows_a_request_through_the_pages(advisor, world, open_session):
    session = open_session()
    response = advisor.post("/quality/requests/new", data={**STAFF_FORM, "session_id": str(session.id)})
    assert response.status_code == 302, page(response)[:3000]
    req = db.session.scalar(select(QualityRequest))
    assert response.headers["Location"].endswith(f"/quality/requests/{req.id}")
    assert (req.session_id, req.channel, req.created_by_id) == (session.id, "phone", world.users["advisor"].id)
    text = page(advisor.get(f"/quality/requests/{req.id}"))
    assert req.reference in text and "Facture erronée" in text and session.title in text
    tree = page_of(advisor.get(f"/quality/requests/{req.id}"))
    assert [n.attrs["data-action"] for n in tree.find_all(data_action=True)] == ["acknowledge"]

    response = advisor.post(f"/quality/requests/{req.id}/transition",
                            data={"action": "acknowledge", "note": "Bien reçu, nous revenons vers vous."})
    assert response.status_code == 302
    # A step not allowed from here: 409 and a French message.
    assert_refused(advisor.post(f"/quality/requests/{req.id}/transition", data={"action": "answer", "answer": "Oui."}),
                   409, "La demande est « accusé de réception envoyé » : impossible de « enregistrer la réponse ».")
    advisor.post(f"/quality/requests/{req.id}/transition", data={"action": "analyse"})
    # The answer's text is required: 422, the message beside the field, the analysis typed kept.
    response = advisor.post(f"/quality/requests/{req.id}/transition",
                            data={"action": "answer", "answer": "", "analysis": "Erreur de saisie du tarif."})
    assert_refused(response, 422, fields={"answer-answer": "Écrivez la réponse apportée au demandeur."})
    assert "Erreur de saisie du tarif." in page(response)
    response = advisor.post(f"/quality/requests/{req.id}/transition",
                            data={"action": "answer", "answer": "Un avoir vous est adressé."})
    assert response.status_code == 302
    response = advisor.post(f"/quality/requests/{req.id}/note", data={"note": ""})
    assert_refused(response, 422, fields={"note-note": "Écrivez la note (3 caractères au moins)."})
    assert advisor.post(f"/quality/requests/{req.id}/note", data={"note": "Avoir n° 12 émis."}).status_code == 302
    text = page(advisor.get(f"/quality/requests/{req.id}"))
    assert "Avoir n° 12 émis." in text and "Un avoir vous est adressé." in text and "Camille Conseil" in text
    assert [e.status for e in events(req)] == ["received", "acknowledged", "analysing", "answered", "note"]


def test_the_register_lists_filters_and_exports(advisor, world, users):
    long_ago = service.today_in_paris() - dt.timedelta(days=100)
    done = record(users["advisor"], subject="Déjà traitée", received_on=long_ago, received_time=dt.time(9, 0))
    for action in ("acknowledge", "analyse"):
        step(done, action, users["advisor"])
    step(done, "answer", users["advisor"], answer="Réponse.")
    step(done, "close", users["advisor"])
    late = record(users["advisor"], subject="Oubliée", received_on=long_ago, kind="suggestion")
    fresh = record(users["advisor"], subject="=HYPERLINK(\"http://x\")", kind="hazard")
    tree = page_of(advisor.get("/quality/requests/"))  # open ones by default
    assert [int(n.attrs["data-request"]) for n in tree.find_all("tr", data_request=True)] == [fresh.id, late.id]
    row = tree.find("tr", data_request=str(late.id))
    assert row.find(data_field="overdue") is not None and "table-danger" in row.classes
    assert tree.find("tr", data_request=str(fresh.id)).find(data_field="overdue") is None
    tree = page_of(advisor.get("/quality/requests/?status=overdue"))
    assert [int(n.attrs["data-request"]) for n in tree.find_all("tr", data_request=True)] == [late.id]
    tree = page_of(advisor.get("/quality/requests/?status=&kind=complaint"))
    assert [int(n.attrs["data-request"]) for n in tree.find_all("tr", data_request=True)] == [done.id]
    assert advisor.get("/quality/requests/?status=nope").status_code == 400
    assert "Nature de demande inconnue" in page(advisor.get("/quality/requests/?kind=nope"))

    response = exported(advisor, "/quality/requests/export.csv?status=")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:3] == ["Référence", "Reçue le", "Canal"]
    by_reference = {r[0]: dict(zip(rows[0], r)) for r in rows[1:]}
    assert by_reference[done.reference]["Statut"] == "Clôturée"
    assert by_reference[done.reference]["Reçue le"] == long_ago.strftime("%d/%m/%Y 09:00")
    assert by_reference[late.reference]["En retard aujourd'hui"] == "oui"
    assert by_reference[fresh.reference]["Objet"].startswith("'=")  # never a formula


def test_the_request_page_links_to_a_new_improvement_action(app, advisor, world):
    req = file()
    tree = page_of(advisor.get(f"/quality/requests/{req.id}"))
    link = tree.find(data_field="improvement-action")
    assert link is not None and f"request_id={req.id}" in link.attrs["href"]
    assert advisor.get("/quality/requests/999999").status_code == 404


def test_the_dashboard_shows_overdue_requests_in_constant_queries(advisor, world, users, count_queries):
    old = service.today_in_paris() - dt.timedelta(days=20)
    first = record(users["advisor"], subject="Première en retard", received_on=old)
    record(users["advisor"], subject="Pas encore en retard")
    tree = page_of(advisor.get("/"))
    alert = tree.find(data_field="overdue-requests")
    assert alert is not None
    assert [int(li.attrs["data-request"]) for li in alert.find_all("li")] == [first.id]
    assert first.reference in alert.text and "Première en retard" in alert.text
    assert "accusé de réception attendu le" in alert.text and "réponse attendue le" in alert.text

    def queries() -> int:
        db.session.expire_all()
        with count_queries() as counter:
            assert advisor.get("/").status_code == 200
        return counter.count

    few = queries()
    for n in range(4):
        record(users["advisor"], subject=f"Autre {n}", received_on=old)
    advisor.get("/")  # the writes forgot the dashboard's short memory (core/memo.py): warm it as before
    assert queries() == few
    assert len(page_of(advisor.get("/")).find(data_field="overdue-requests").find_all("li")) == 5


def test_the_dashboard_says_nothing_without_overdue_requests(advisor, world, users):
    record(users["advisor"])
    assert page_of(advisor.get("/")).find(data_field="overdue-requests") is None


def test_errors_of_helper_sees_transition_fields(advisor, world, users):
    """The refusal page of a step names its fields "<action>-<field>" so that several step forms can share it."""
    req = record(users["advisor"])
    step(req, "acknowledge", users["advisor"])
    step(req, "analyse", users["advisor"])
    response = advisor.post(f"/quality/requests/{req.id}/transition", data={"action": "escalate"})
    assert errors_of(response) == {"escalate-mediator_name": ["Indiquez le nom du médiateur saisi."]}
    response = advisor.post(f"/quality/requests/{req.id}/transition", data={"action": "reopen"})
    assert_refused(response, 422, "Étape inconnue : rechargez la page")


def test_a_backdated_request_shows_its_receipt_date_to_the_requester(request_clock, world):
    req = record(world.users["advisor"], received_on=dt.date(2031, 4, 7), received_time=dt.time(8, 15))
    [event] = events(req)
    assert event.created_at == request_clock.now  # the audit trail keeps when it was recorded…
    assert "reçue le 07/04/2031 08:15" in event.note
    assert service.public_timeline(req)[0]["at"] == paris(dt.date(2031, 4, 7), "08:15")  # …the requester the receipt


def test_the_recording_form_refuses_a_future_date_beside_the_field(advisor, world):
    tomorrow = service.today_in_paris() + dt.timedelta(days=1)
    response = advisor.post("/quality/requests/new", data={**STAFF_FORM, "received_on": tomorrow.isoformat()})
    assert_refused(response, 422, fields={"received_on": "La date de réception ne peut pas être dans le futur."})
    response = advisor.post("/quality/requests/new", data={**STAFF_FORM, "received_on": "31/02/2026"})
    assert response.status_code == 422 and "received_on" in errors_of(response)
    assert count_requests() == 0
    assert outbox() == []
