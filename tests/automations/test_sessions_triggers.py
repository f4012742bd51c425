"""The session and enrolment automations: the convocation at J−7 to each trainee and once to each company (it replaced
the convocation job: its evidence is still recorded, nothing leaves twice), held until the session is confirmed and
the trainee admitted, still sent to a trainee confirmed late, never after the start; the confirmation e-mail; the
J−1 practical reminder (the meeting link of a remote session); the trainer's mission at J−7; J+n after the end; the
audiences of both contexts. The clock is the ``now`` given to the engine (the worker's pass), as in the worker."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from trainingmgr.automations import engine, registry
from trainingmgr.automations.models import AutomationFiring, AutomationRule, MailTemplate
from trainingmgr.automations.rendering import check_template
from trainingmgr.companies.services import save_contact
from trainingmgr.core.timeutil import PARIS, utcnow
from trainingmgr.documents import services as document_services
from trainingmgr.enrolments import services
from trainingmgr.enrolments.models import Enrolment
from trainingmgr.extensions import db
from trainingmgr.messaging.models import Job
from trainingmgr.messaging.services import send_due_messages

from tests.enrolments.support import events, fresh, outbox
from tests.fixtures.enrolments import confirm, enrol
from tests.helpers import MONDAY

UTC = dt.timezone.utc
DAY = dt.timedelta(days=1)


def paris(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=PARIS).astimezone(UTC)


J7 = paris(MONDAY - 7 * DAY, 9)  # the sessions of open_session() start on MONDAY (the first one) at 08:30


def fire(now: dt.datetime) -> int:
    """The worker's pass at ``now``; committed."""
    count = engine.fire_due(now)
    db.session.commit()
    return count


def sent(topic: str) -> list[tuple[str, str]]:
    return [(m.recipient, m.subject) for m in outbox(topic)]


def to(topic: str) -> list[str]:
    return sorted(m.recipient for m in outbox(topic))


@pytest.fixture
def company(world):
    save_contact(world.company, None, {"role": "signatory", "name": "Anne Dupont", "email": "anne@dupont.example"})
    save_contact(world.company, None, {"role": "hr", "name": "Rémi RH", "email": "rh@dupont.example"})
    db.session.commit()
    return world.company


@pytest.fixture
def session_of_three(world, company, dume_session, new_trainee):
    """DUME (no prerequisite), confirmed: two employees of the company and a self-funded trainee."""
    for n, company_id in ((1, company.id), (2, company.id), (3, None)):
        enrol(dume_session, new_trainee(n, company_id=company_id))
    confirm(dume_session)
    return dume_session


def test_the_default_templates_are_valid():
    for code in ("convocation", "convocation_company", "enrolment_confirmed", "reminder_j1", "trainer_mission_j7"):
        template = registry.DEFAULT_TEMPLATES[code]
        assert check_template(template.context, template.subject, template.body) == [], code


def test_the_convocation_leaves_at_j_minus_7_to_each_trainee_and_once_to_each_company(session_of_three):
    assert [p for p in engine.plan(J7 - dt.timedelta(minutes=1), J7 - dt.timedelta(minutes=1))
            if engine.topic_of(p.rule) == "convocation"] == []
    planned = [p for p in engine.plan(J7 - DAY, J7 + DAY) if engine.topic_of(p.rule) == "convocation"]
    assert {p.when for p in planned} == {J7}
    assert sorted(p.recipient.email for p in planned) == ["p01@exemple.fr", "p02@exemple.fr", "p03@exemple.fr",
                                                          "rh@dupont.example"]
    assert [label for label, _ in planned[0].attachments] == [
        "Convocation", "Programme de formation", "Règlement intérieur", "Fichier agenda"]
    assert fire(J7 - dt.timedelta(minutes=1)) == 0
    fire(J7)
    messages = {m.recipient: m for m in outbox("convocation")}
    assert sorted(messages) == sorted(p.recipient.email for p in planned)
    assert all(m.subject.startswith("Convocation – Marchés publics : DUME et Chorus Pro") for m in messages.values())
    trainee, hr = messages["p01@exemple.fr"], messages["rh@dupont.example"]
    assert "Vous êtes convoqué(e)" in trainee.body_text and "/t/" in trainee.body_text
    assert "Salle Capitole" in trainee.body_text and "Formateur : Pierre Formateur" in trainee.body_text
    assert "Bonjour Rémi RH" in hr.body_text and "/t/" not in hr.body_text
    assert "convocation de Mme Prénom01 Nom01, Mme Prénom02 Nom02 à la formation" in hr.body_text
    assert "les stagiaires s'engagent" in hr.body_text
    ics_name, programme = f"session-{session_of_three.id}.ics", "programme-marches-publics-dume-et-chorus-pro.docx"
    assert [a.filename for a in trainee.attachments] == [
        "convocation-prenom01-nom01.docx", programme, "reglement-interieur.docx", ics_name]
    assert [a.filename for a in hr.attachments] == [
        "convocation-prenom01-nom01.docx", programme, "reglement-interieur.docx", "convocation-prenom02-nom02.docx",
        ics_name]
    for message in (trainee, hr):  # the dry run named them, and the body lists them
        [described] = [p for p in planned if p.recipient.email == message.recipient]
        assert [name for _, name in described.attachments] == [a.filename for a in message.attachments]
        assert f"Pièces jointes :\n- Convocation : convocation-prenom01-nom01.docx\n- Programme de formation : " \
               f"{programme}\n" in message.body_text
        assert "règlement intérieur de l'organisme de formation, joint à ce message." in message.body_text
    ics = trainee.attachments[-1]
    assert (ics.filename, ics.content_type) == (ics_name, "text/calendar")
    assert b"BEGIN:VEVENT" in ics.data
    # once: a later pass, and the old job is gone
    assert fire(J7 + dt.timedelta(hours=2)) == 0 and len(outbox("convocation")) == 4
    assert db.session.scalar(select(Job).where(Job.key.like("convocation:%"))) is None


def test_the_convocations_evidence_is_still_recorded(session_of_three):
    fire(J7)
    enrolment = db.session.scalar(select(Enrolment).where(Enrolment.session_id == session_of_three.id)
                                  .order_by(Enrolment.id).limit(1))
    assert [e.message for e in events(enrolment) if e.kind == "convocation"] == [
        "Convocation mise en envoi pour p01@exemple.fr.",
        "Convocation mise en envoi pour rh@dupont.example (Cabinet d'architecture Dupont)."]
    assert fresh(Enrolment, enrolment.id).convocation_sent_at is None  # queued, not sent yet
    send_due_messages(now=J7 + dt.timedelta(minutes=1))
    enrolment = fresh(Enrolment, enrolment.id)
    message = next(m for m in outbox("convocation", enrolment) if m.recipient == "p01@exemple.fr")
    assert enrolment.convocation_sent_at == message.sent_at is not None
    assert events(enrolment)[-1].message.startswith("Convocation écrite dans la console pour p01@exemple.fr")


def test_an_open_session_convokes_nobody_until_confirmed_then_at_once(world, dume_session, new_trainee):
    enrol(dume_session, new_trainee(1))
    assert fire(J7) == 0 and outbox("convocation") == []
    confirm(dume_session)
    later = J7 + 4 * DAY  # confirmed at J−3: the convocation leaves at the next pass, before the start
    [planned] = [p for p in engine.plan(later, later) if engine.topic_of(p.rule) == "convocation"]
    assert planned.when == later
    fire(later)
    assert to("convocation") == ["p01@exemple.fr"]


def test_a_trainee_confirmed_after_j_minus_7_is_convoked_at_once(session_of_three, new_trainee):
    fire(J7)
    late = J7 + 5 * DAY
    enrol(session_of_three, new_trainee(4))
    fire(late)
    assert to("convocation").count("p04@exemple.fr") == 1 and len(outbox("convocation")) == 5


def test_nothing_leaves_once_the_session_has_started(world, dume_session, new_trainee):
    enrol(dume_session, new_trainee(1))
    confirm(dume_session)
    start = paris(MONDAY, 8, 30)
    assert [p for p in engine.plan(start, start) if p.occurrence.occasion == "start"] == []
    fire(start + dt.timedelta(minutes=5))
    assert [m.topic for m in outbox() if m.topic in ("convocation", "reminder_j1", "trainer_mission")] == []


def test_an_enrolment_cancelled_before_j_minus_7_gets_nothing(world, dume_session, new_trainee):
    kept = enrol(dume_session, new_trainee(1))
    gone = enrol(dume_session, new_trainee(2))
    services.cancel(gone, world.users["advisor"], "Empêchement")
    db.session.commit()
    confirm(dume_session)
    fire(J7)
    assert to("convocation") == [kept.trainee.email]
    assert [m for m in outbox() if m.recipient == "p02@exemple.fr" and m.topic != "enrolment_cancelled"] == []


def test_a_trainee_waiting_for_the_prerequisite_decision_is_convoked_once_admitted(world, chorus_session,
                                                                                   new_trainee):
    enrolment = enrol(chorus_session, new_trainee(1))
    assert enrolment.status == "pending_prerequisite"
    confirm(chorus_session)
    fire(J7)
    assert outbox("convocation") == []
    services.record_decision(fresh(Enrolment, enrolment.id), "admitted", "", world.users["advisor"])
    db.session.commit()
    fire(J7 + DAY)
    assert to("convocation") == ["p01@exemple.fr"]


def test_the_confirmation_email_is_the_rule_and_leaves_once(world, dume_session, new_trainee):
    enrolment = enrol(dume_session, new_trainee(1))
    assert outbox("enrolment_status") == []  # no longer sent by enrol() itself
    now = utcnow() + dt.timedelta(seconds=1)
    fire(now)
    assert sent("enrolment_status") == [("p01@exemple.fr", f"Inscription confirmée – {dume_session.title}")]
    [message] = outbox("enrolment_status")
    assert message.enrolment_id == enrolment.id and "/t/" in message.body_text
    assert "Votre inscription à la formation « Marchés publics : DUME et Chorus Pro » est confirmée." in \
        message.body_text
    fire(now + dt.timedelta(hours=1))
    assert len(outbox("enrolment_status")) == 1


def test_a_trainee_leaving_the_waiting_list_gets_the_promotion_email_only(world, open_session, new_trainee):
    session = open_session(course=world.dume, capacity=1)
    first = enrol(session, new_trainee(1))
    second = enrol(session, new_trainee(2))
    assert second.status == "waitlisted"
    services.cancel(fresh(Enrolment, first.id), world.users["advisor"], "Empêchement")
    db.session.commit()
    assert fresh(Enrolment, second.id).status == "confirmed"
    fire(utcnow() + dt.timedelta(seconds=1))
    confirmed = [m.recipient for m in outbox("enrolment_status") if m.subject.startswith("Inscription confirmée")]
    assert confirmed == []  # the first was cancelled before the pass; the second had « Une place s'est libérée »
    assert [m.recipient for m in outbox("promoted")] == ["p02@exemple.fr"]


def test_the_j_minus_1_reminder_gives_the_address_on_site(session_of_three):
    due = paris(MONDAY - DAY, 9)
    fire(due)
    reminders = outbox("reminder_j1")
    assert sorted(m.recipient for m in reminders) == ["p01@exemple.fr", "p02@exemple.fr", "p03@exemple.fr"]
    text = reminders[0].body_text
    assert f"commence le {(MONDAY).strftime('%d/%m/%Y')} à 08:30" in text
    assert "Lieu : Salle Capitole, 1 rue A" in text and "/t/" in text and "à distance" not in text


def test_the_j_minus_1_reminder_gives_the_meeting_link_of_a_remote_session(world, open_session, new_trainee):
    session = open_session(course=world.dume, location=world.remote, delivery_mode="distanciel")
    enrol(session, new_trainee(1))
    confirm(session)
    first = min(session.first_date, MONDAY)
    fire(paris(first - DAY, 9))
    [reminder] = outbox("reminder_j1")
    assert "Lien de connexion : https://visio.example.com/salle" in reminder.body_text
    assert "Lieu :" not in reminder.body_text


def test_the_trainer_gets_the_mission_at_j_minus_7_with_the_trainees_and_the_programme(world, session_of_three):
    programme = document_services.generate("programme", session_of_three, world.users["advisor"])
    db.session.commit()
    [planned] = [p for p in engine.plan(J7, J7) if p.rule.code == "trainer_mission_j7"]
    assert planned.recipient.email == "formateur@test.example"
    assert planned.attachments == [("Programme de formation", "programme-marches-publics-dume-et-chorus-pro.docx"),
                                   ("Fichier agenda", f"session-{session_of_three.id}.ics")]
    fire(J7)
    [mission] = outbox("trainer_mission")
    assert mission.recipient == "formateur@test.example"
    assert "Bonjour Pierre Formateur" in mission.body_text
    assert "Stagiaires confirmés à ce jour : 3" in mission.body_text
    assert "- Prénom01 Nom01 (Cabinet d'architecture Dupont)" in mission.body_text
    assert "- Prénom03 Nom03\n" in mission.body_text
    assert "/formateur/" in mission.body_text or "espace formateur" in mission.body_text.lower()
    assert [a.filename for a in mission.attachments] == [name for _, name in planned.attachments]
    assert mission.attachments[0].data == document_services.read_file(programme, "docx")  # unchanged: reused
    assert "Pièces jointes :\n- Programme de formation : programme-marches-publics-dume-et-chorus-pro.docx\n" \
           f"- Fichier agenda : session-{session_of_three.id}.ics\n" in mission.body_text


def _rule(trigger: str, audience: str, offset: int, context: str = "session", send_time: str = "10:00"):
    template = MailTemplate(name="Essai", context=context, subject="Essai – {{ session.title }}",
                            body="Bonjour {{ recipient.name }}")
    rule = AutomationRule(name="Essai", trigger=trigger, offset_days=offset, send_time=send_time, audience=audience,
                          template=template, attachments=[], active=True)
    db.session.add(rule)
    db.session.commit()
    return rule


def test_after_end_fires_j_plus_n_after_the_last_half_day(session_of_three):
    rule = _rule("after_end", "trainee", 2)
    last = session_of_three.last_date
    due = paris(last + 2 * DAY, 10)
    assert [p.when for p in engine.plan(due - DAY * 5, due + DAY, rule=rule)] == [due] * 3
    assert engine.plan(due - DAY * 5, due - dt.timedelta(minutes=1), rule=rule) == []
    assert fire(due) >= 3
    assert db.session.scalar(select(AutomationFiring).where(AutomationFiring.rule_id == rule.id)).occasion == "end"


def test_the_audiences_of_a_session(world, session_of_three):
    enrolment = db.session.scalar(select(Enrolment).where(Enrolment.session_id == session_of_three.id)
                                  .order_by(Enrolment.id).limit(1))
    services.save_funding_line(enrolment, None, {"kind": "opco", "amount": "300", "opco_name": "AKTO",
                                                 "opco_contact_email": "conseil@akto.example"}, None)
    db.session.commit()
    context = registry.CONTEXTS["session"]
    emails = {audience: [r.email for r in context.recipients(session_of_three, audience)]
              for audience in registry.TRIGGERS["before_start"].audiences}
    assert emails["company_hr"] == ["rh@dupont.example"]
    assert emails["company_signatory"] == ["anne@dupont.example"]
    assert emails["trainer"] == ["formateur@test.example"]
    assert emails["funder"] == ["conseil@akto.example"]
    assert emails["advisor"] and all("@" in e for e in emails["advisor"])
    by_enrolment = registry.CONTEXTS["enrolment"]
    assert [r.email for r in by_enrolment.recipients(enrolment, "funder")] == ["conseil@akto.example"]
    assert [r.email for r in by_enrolment.recipients(enrolment, "company_hr")] == ["rh@dupont.example"]


def test_a_rule_switched_off_for_the_session_sends_nothing_about_it(world, session_of_three):
    engine.ensure_defaults()
    from trainingmgr.automations.models import RuleSessionOff

    rule = db.session.scalar(select(AutomationRule).where(AutomationRule.code == "convocation"))
    db.session.add(RuleSessionOff(rule_id=rule.id, session_id=session_of_three.id))
    db.session.commit()
    fire(J7)
    assert to("convocation") == ["rh@dupont.example"]  # the company's copy is its own rule


# --------------------------------------------------------------------------- the attachments the dry run names


def _documents_count() -> int:
    from trainingmgr.documents.models import GeneratedDocument

    return len(db.session.scalars(select(GeneratedDocument.id)).all())


def test_the_convocation_pack_is_named_beforehand_without_making_anything(world, session_of_three, monkeypatch):
    from trainingmgr.documents.conversion import pdf

    rh = next(r for r in registry.CONTEXTS["session"].recipients(session_of_three, "company_hr"))
    describe = registry.ATTACHMENTS["convocation_pack"].describe
    names = ["convocation-prenom01-nom01", "programme-marches-publics-dume-et-chorus-pro", "reglement-interieur",
             "convocation-prenom02-nom02"]
    assert [name for _, name in describe(session_of_three, rh)] == [f"{n}.docx" for n in names]
    monkeypatch.setattr(pdf, "available", lambda: True)  # a converter is there: the files will be PDF
    assert [name for _, name in describe(session_of_three, rh)] == [f"{n}.pdf" for n in names]
    assert _documents_count() == 0  # described, not made


def test_two_trainees_of_the_same_name_get_two_file_names(world, company, dume_session, new_trainee):
    for n in (1, 2):
        enrol(dume_session, new_trainee(n, company_id=company.id, first_name="Léa", last_name="Martin"))
    confirm(dume_session)
    rh = next(r for r in registry.CONTEXTS["session"].recipients(dume_session, "company_hr"))
    names = [name for _, name in registry.ATTACHMENTS["convocation"].describe(dume_session, rh)]
    assert names == ["convocation-lea-martin.docx", "convocation-lea-martin-2.docx"]


def test_the_trainers_programme_is_made_as_the_mission_leaves_even_without_a_convocation(world, session_of_three):
    engine.ensure_defaults()
    db.session.execute(AutomationRule.__table__.update().where(AutomationRule.code.like("convocation%"))
                       .values(active=False))
    db.session.commit()
    [planned] = [p for p in engine.plan(J7, J7) if p.rule.code == "trainer_mission_j7"]
    assert planned.attachments[0] == ("Programme de formation", "programme-marches-publics-dume-et-chorus-pro.docx")
    assert _documents_count() == 0
    fire(J7)
    [mission] = outbox("trainer_mission")
    assert [a.filename for a in mission.attachments] == [name for _, name in planned.attachments]
    made = document_services.session_documents(session_of_three)
    assert [d.doc_type for d in made] == ["programme"]
    assert mission.attachments[0].data == document_services.read_file(made[0], "docx")


def test_every_context_offers_the_attachments_variable():
    body = "{% for file in attachments %}- {{ file.label }} : {{ file.filename }}\n{% endfor %}"
    for code in registry.CONTEXTS:
        assert {"attachments", "attachments.label", "attachments.filename"} <= registry.variable_names(code), code
        assert check_template(code, "Essai", body) == [], code
        assert [v.name for v in registry.CONTEXTS[code].catalogue][-2:] == ["attachments[].label",
                                                                           "attachments[].filename"]


def test_a_message_without_the_rules_among_its_files_says_they_are_on_request(session_of_three):
    rule = _rule("before_start", "trainee", 7, send_time="09:00")
    rule.template.body = registry.DEFAULT_TEMPLATES["convocation"].body
    rule.attachments = ["ics"]
    db.session.commit()
    planned = engine.plan(J7, J7, rule=rule)[0]
    assert f"Pièces jointes :\n- Fichier agenda : session-{session_of_three.id}.ics\n" in planned.text
    assert "règlement intérieur de l'organisme de formation, disponible sur simple demande." in planned.text
