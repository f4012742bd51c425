"""Surveys after a session: the schedule (hot at the end, client J+7, cold J+60, default automation rules), reminders that stop once
answered, tokens answering only their own invitation once, anonymous answers carrying no person."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from trainingmgr.evaluations.models import Response, SurveyInvitation
from trainingmgr.evaluations.surveys.services import survey_url
from trainingmgr.extensions import db
from trainingmgr.messaging.models import Job

from tests.enrolments.support import outbox
from tests.fixtures.attendance import paris
from tests.fixtures.evaluations import run_due_jobs
from tests.helpers import MONDAY, page

# The surveys read their clock from ``survey_clock`` (Monday 17:30 in Paris; ``run_due_jobs(at)`` moves it).
pytestmark = pytest.mark.usefixtures("survey_clock")


def jobs(kind: str) -> dict[str, Job]:
    db.session.expire_all()
    return {job.key: job for job in db.session.scalars(select(Job).where(Job.kind == kind))}


def planned_sends(session, start, days: int) -> dict[str, list]:
    """What the default « Enquête à envoyer » rules will send about ``session``, by kind: the moments."""
    from trainingmgr.automations import engine

    found: dict[str, list] = {}
    for message in engine.plan(start, start + dt.timedelta(days=days), session_id=session.id):
        if message.rule.trigger.startswith("survey_send_"):
            found.setdefault(message.rule.trigger.removeprefix("survey_send_"), []).append(message.when)
    return found


def test_the_schedule_follows_the_end_of_the_session(ended):
    """The first e-mails are the default automation rules (the old « survey_send » jobs): the hot survey, the
    quiz and the trainer's report at the end, the company and the funder J+7, the cold survey J+60."""
    session, _ = ended
    end = paris(MONDAY, "17:30")
    due = planned_sends(session, end, 61)
    db.session.rollback()
    assert due == {"hot": [end] * 3, "trainer_report": [end],
                   "acquis": [end] * 3,  # the DUME course has a quiz (demo defaults)
                   "client": [end + dt.timedelta(days=7)],
                   "cold": [end + dt.timedelta(days=60)] * 3}  # no funder on the session: no funder survey
    assert jobs("survey_send") == {}


def test_the_cold_delay_is_set_per_course(app, world, ended):
    session, _ = ended
    world.dume.cold_survey_days = 90
    db.session.commit()
    assert planned_sends(session, paris(MONDAY, "17:30"), 91)["cold"] == [paris(MONDAY, "17:30")
                                                                           + dt.timedelta(days=90)] * 3


def test_each_send_mails_the_right_people_once(ended):
    session, enrolments = ended
    end = paris(MONDAY, "17:30")
    run_due_jobs(end)
    db.session.commit()
    assert sorted(m.recipient for m in outbox("survey_hot")) == ["p1@exemple.fr", "p2@exemple.fr", "p3@exemple.fr"]
    assert [m.recipient for m in outbox("survey_trainer_report")] == ["formateur@test.example"]
    assert outbox("survey_client") == [] and outbox("survey_cold") == []
    run_due_jobs(end + dt.timedelta(days=7, minutes=1))
    db.session.commit()
    assert [m.recipient for m in outbox("survey_client")] == ["rh@dupont.example"]  # one per company
    run_due_jobs(end + dt.timedelta(days=60, minutes=1))
    db.session.commit()
    assert len(outbox("survey_cold")) == 3
    # Sending again (a later pass, « send now ») creates no second invitation and no second e-mail.
    from trainingmgr.evaluations.surveys.services import send_survey

    run_due_jobs(end + dt.timedelta(days=61))
    assert send_survey({"session_id": session.id, "kind": "hot"}) == 0
    db.session.commit()
    assert len(db.session.scalars(select(SurveyInvitation).where(SurveyInvitation.kind == "hot")).all()) == 3
    assert len(outbox("survey_hot")) == 3


def _answers(invitation, overall: int = 4) -> dict:
    data = {}
    for question in invitation.questionnaire.questions:
        key = f"q{question.id}"
        if question.kind == "scale":
            data[key] = str(overall)
        elif question.kind == "single":
            data[key] = str(question.choices[9].id)
        elif question.kind == "yes_no":
            data[key] = "yes"
    return data


def test_reminders_at_j3_and_j7_stop_once_answered(ended, client, monkeypatch):
    """The reminders are the default automation rules « Relance J+3/J+7 des enquêtes sans réponse »
    (tests/automations/test_survey_triggers.py tests them in full)."""
    from trainingmgr.automations import engine
    from trainingmgr.automations.triggers import surveys as survey_automations

    session, (first, second, third) = ended
    end = paris(MONDAY, "17:30")
    monkeypatch.setattr(survey_automations, "utcnow", lambda: end)
    run_due_jobs(end)
    db.session.commit()
    invitation = db.session.scalar(select(SurveyInvitation).where(SurveyInvitation.enrolment_id == first.id,
                                                                  SurveyInvitation.kind == "hot"))
    assert jobs("survey_remind") == {}
    reminders = [p.when for p in engine.plan(end, end + dt.timedelta(days=8))
                 if p.rule.trigger == "survey_unanswered" and p.obj.id == invitation.id]
    assert sorted(reminders) == [end + dt.timedelta(days=3), end + dt.timedelta(days=7)]
    engine.fire_due(end + dt.timedelta(days=3, hours=1))
    db.session.commit()
    hot_reminders = [m for m in outbox("survey_reminder") if m.subject.startswith("Rappel : Satisfaction à chaud")]
    assert len(hot_reminders) == 3
    # The first trainee answers; the J+7 reminder then skips them.
    url = survey_url(invitation).split("localhost", 1)[1]
    response = client.post(url, data={**_answers(invitation), "action": "submit"})
    assert response.status_code == 302, page(response)
    engine.fire_due(end + dt.timedelta(days=7, hours=1))
    db.session.commit()
    reminded = [m.recipient for m in outbox("survey_reminder") if m.subject.startswith("Rappel : Satisfaction")]
    assert reminded.count(first.trainee.email) == 1 and reminded.count(second.trainee.email) == 2


def test_a_token_answers_its_own_invitation_once(ended, client):
    session, (first, second, _) = ended
    run_due_jobs(paris(MONDAY, "17:30"))
    db.session.commit()
    invitation = db.session.scalar(select(SurveyInvitation).where(SurveyInvitation.enrolment_id == first.id,
                                                                  SurveyInvitation.kind == "hot"))
    url = survey_url(invitation).split("localhost", 1)[1]
    assert "Votre avis sur la formation" in page(client.get(url))
    # Save a draft, resume, then send.
    data = _answers(invitation)
    assert client.post(url, data={**data, "action": "save"}).status_code == 302
    draft = db.session.get(Response, invitation.response_id)
    assert draft.status == "draft" and draft.enrolment_id == first.id and draft.session_id == session.id
    assert client.post(url, data={**data, "action": "submit"}).status_code == 302
    assert client.post(url, data={**data, "action": "submit"}).status_code == 409
    assert "Merci !" in page(client.get(url))
    # A tampered token opens nothing.
    assert client.get(url[:-4] + "AAAA").status_code == 403
    db.session.expire_all()
    assert db.session.scalar(select(SurveyInvitation).where(SurveyInvitation.enrolment_id == second.id,
                                                            SurveyInvitation.kind == "hot")).responded_at is None


def test_bad_answers_get_a_french_message_and_nothing_is_lost(ended, client):
    _, (first, _, _) = ended
    run_due_jobs(paris(MONDAY, "17:30"))
    db.session.commit()
    invitation = db.session.scalar(select(SurveyInvitation).where(SurveyInvitation.enrolment_id == first.id,
                                                                  SurveyInvitation.kind == "hot"))
    url = survey_url(invitation).split("localhost", 1)[1]
    data = _answers(invitation)
    assert client.post(url, data={**data, "action": "save"}).status_code == 302
    scale = next(q for q in invitation.questionnaire.questions if q.kind == "scale")
    single = next(q for q in invitation.questionnaire.questions if q.kind == "single")
    for bad, message in (({f"q{scale.id}": "7"}, "de 1 à 5"), ({f"q{single.id}": "999999"}, "Choix inconnu"),
                         ({f"q{scale.id}": ""}, "obligatoire")):
        response = client.post(url, data={**data, **bad, "action": "submit"})
        assert response.status_code == 422 and message in page(response), message
    db.session.expire_all()
    saved = db.session.get(Response, invitation.response_id)
    assert saved.status == "draft" and len(saved.answers) == len(data)  # the draft is intact


def test_anonymous_answers_carry_no_person(ended, client):
    from trainingmgr.evaluations.models import Questionnaire

    session, (first, second, _) = ended
    hot = db.session.scalar(select(Questionnaire).where(Questionnaire.kind == "hot"))
    hot.anonymous = True
    db.session.commit()
    run_due_jobs(paris(MONDAY, "17:30"))
    db.session.commit()
    invitation = db.session.scalar(select(SurveyInvitation).where(SurveyInvitation.enrolment_id == first.id,
                                                                  SurveyInvitation.kind == "hot"))
    url = survey_url(invitation).split("localhost", 1)[1]
    assert "réponses anonymes" in page(client.get(url))
    assert client.post(url, data={**_answers(invitation), "action": "submit"}).status_code == 302
    db.session.expire_all()
    invitation = db.session.get(SurveyInvitation, invitation.id)
    assert invitation.responded_at is not None and invitation.response_id is None
    (response,) = db.session.scalars(select(Response).where(Response.questionnaire_id == hot.id)).all()
    assert response.enrolment_id is None and response.session_id == session.id and response.status == "submitted"
    # The rate is still known: 1 of 3 invitations answered.
    invitations = db.session.scalars(select(SurveyInvitation).where(SurveyInvitation.kind == "hot")).all()
    assert sum(i.responded_at is not None for i in invitations) == 1 and len(invitations) == 3


# --------------------------------------------------------------------------- alerts, on-site survey, indicators


def _hot_invitation(enrolment):
    return db.session.scalar(select(SurveyInvitation).where(SurveyInvitation.enrolment_id == enrolment.id,
                                                            SurveyInvitation.kind == "hot"))


def test_a_low_score_raises_an_alert_for_the_advisor(ended, client, advisor_client):
    advisor = advisor_client
    from trainingmgr.evaluations.models import SurveyAlert

    _, (first, second, _) = ended
    run_due_jobs(paris(MONDAY, "17:30"))
    db.session.commit()
    good, bad = _hot_invitation(first), _hot_invitation(second)
    client.post(survey_url(good).split("localhost", 1)[1], data={**_answers(good, 4), "action": "submit"})
    client.post(survey_url(bad).split("localhost", 1)[1], data={**_answers(bad, 2), "action": "submit"})
    db.session.expire_all()
    (alert,) = db.session.scalars(select(SurveyAlert)).all()
    assert alert.status == "open" and "2/5" in alert.reason and "Satisfaction à chaud" in alert.reason
    assert "1 alerte de satisfaction à traiter" in page(advisor.get("/"))
    response = advisor.post(f"/evaluations/alerts/{alert.id}", data={"status": "handled", "note": ""})
    assert response.status_code == 422 and "Indiquez ce qui a été fait" in page(response)
    response = advisor.post(f"/evaluations/alerts/{alert.id}", data={"status": "peut-être", "note": "Appel"})
    assert response.status_code == 422  # the message beside the choice, the note typed kept
    assert '<div class="invalid-feedback d-block" data-error="status">Choisissez « traitée »' in page(response)
    assert 'name="note" value="Appel"' in page(response)
    response = advisor.post(f"/evaluations/alerts/{alert.id}", data={"status": "handled",
                                                                     "note": "Appel du stagiaire, rythme revu"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(SurveyAlert, alert.id).status == "handled"
    assert advisor.post(f"/evaluations/alerts/{alert.id}", data={"status": "handled", "note": "encore"}).status_code == 409


def test_the_last_signature_offers_the_hot_survey_on_the_spot(app, world, make_session, surveys, users, client):
    from trainingmgr.attendance.access import signing_token
    from trainingmgr.enrolments.services import enrol
    from trainingmgr.sessions.services import change_status
    from trainingmgr.trainees.services import save_trainee

    session = make_session(course=world.dume)
    change_status(session, "open", users["advisor"])
    trainee = save_trainee(None, {"first_name": "Léa", "last_name": "Vidal", "email": "lea@exemple.fr"})
    enrolment = enrol(session, trainee, actor=users["advisor"], notify=False)
    change_status(session, "confirmed", users["advisor"])
    db.session.commit()
    morning, afternoon = sorted(session.slots, key=lambda s: s.start_time)
    import trainingmgr.attendance.services as attendance

    original = attendance.utcnow
    attendance.utcnow = lambda: paris(MONDAY, "10:00")
    try:
        client.post(f"/emargement/{signing_token(enrolment, morning)}", data={"typed_name": "Léa Vidal"})
        assert "Donner mon avis" not in page(client.get(f"/emargement/{signing_token(enrolment, morning)}"))
        attendance.utcnow = lambda: paris(MONDAY, "17:00")
        client.post(f"/emargement/{signing_token(enrolment, afternoon)}", data={"typed_name": "Léa Vidal"})
        body = page(client.get(f"/emargement/{signing_token(enrolment, afternoon)}"))
    finally:
        attendance.utcnow = original
    assert "Donner mon avis sur la formation" in body
    invitation = _hot_invitation(enrolment)
    assert invitation is not None and invitation.sent_at is None
    url = survey_url(invitation).split("localhost", 1)[1]
    assert client.post(url, data={**_answers(invitation), "action": "submit"}).status_code == 302
    # At the end of the session, the e-mail goes only to those who have not answered on the spot.
    change_status(session, "in_progress", users["advisor"], now=paris(MONDAY, "08:30"))
    change_status(session, "completed", users["advisor"], now=paris(MONDAY, "17:45"))
    db.session.commit()
    run_due_jobs(paris(MONDAY, "17:31"))
    db.session.commit()
    assert outbox("survey_hot") == []


def test_public_indicators_appear_from_five_responses(ended, world, client, make_session, users):
    from trainingmgr.evaluations.surveys.services import answer

    _, enrolments = ended
    run_due_jobs(paris(MONDAY, "17:30"))
    db.session.commit()
    sheet = f"/catalogue/{world.dume.slug}"
    for enrolment, score in zip(enrolments, (5, 4, 2)):
        invitation = _hot_invitation(enrolment)
        answer(invitation, _answers(invitation, score), submit=True)
    db.session.commit()
    assert 'data-card="indicators"' not in page(client.get(sheet))  # 3 responses: not yet
    # Two more responses (another session of the course) make five.
    from trainingmgr.evaluations.models import Questionnaire

    hot = db.session.scalar(select(Questionnaire).where(Questionnaire.kind == "hot"))
    for n, score in ((4, 5), (5, 3)):
        response = Response(questionnaire_id=hot.id, session_id=enrolments[0].session_id, status="draft")
        db.session.add(response)
        db.session.flush()
        from trainingmgr.evaluations.questionnaires.services import save_answers

        fake = type("I", (), {"questionnaire": hot})()
        save_answers(response, _answers(fake, score), submit=True)
    db.session.commit()
    body = page(client.get(sheet))
    assert 'data-card="indicators"' in body
    # 6 scale questions per response; scores 5, 4, 2, 5, 3 → 3 responses of 5 at ≥ 4: 18 of 30 answers = 60 %.
    assert '<strong data-field="satisfaction">60 %</strong>' in body and "D'après 5 questionnaires" in body
    assert '<strong data-field="trainees">3</strong> stagiaires formés' in body
    assert '<strong data-field="completion">100 %</strong>' in body  # the three trainees completed


def test_the_funder_survey_goes_to_the_opco_adviser(ended, users):
    from trainingmgr.enrolments.services import save_funding_line

    session, (first, second, _) = ended
    for enrolment in (first, second):  # two files of the same OPCO adviser: one survey
        save_funding_line(enrolment, None, {"kind": "opco", "amount": "600.00", "opco_name": "OPCO EP",
                                            "opco_contact_email": "Conseil.EP@opco.example"}, users["advisor"])
    db.session.commit()
    run_due_jobs(paris(MONDAY, "17:30") + dt.timedelta(days=7, minutes=1))
    db.session.commit()
    assert [m.recipient for m in outbox("survey_funder")] == ["conseil.ep@opco.example"]
    with pytest.raises(Exception) as bad:
        save_funding_line(first, None, {"kind": "opco", "amount": "1.00", "opco_name": "OPCO EP",
                                        "opco_contact_email": "pas-une-adresse"}, users["advisor"])
    assert "opco_contact_email" in bad.value.fields
    db.session.rollback()


def test_the_funder_survey_goes_to_every_funders_adviser(ended, users):
    from trainingmgr.enrolments.services import save_funding_line

    session, (first, second, third) = ended
    save_funding_line(first, None, {"kind": "france_travail", "amount": "600.00", "opco_file_number": "AIF-1",
                                    "opco_contact_email": "conseiller@francetravail.example"}, users["advisor"])
    save_funding_line(second, None, {"kind": "self_employed_fund", "amount": "600.00", "opco_name": "FIF PL",
                                     "opco_contact_email": "gestion@fifpl.example"}, users["advisor"])
    save_funding_line(third, None, {"kind": "company", "amount": "600.00"}, users["advisor"])
    db.session.commit()
    run_due_jobs(paris(MONDAY, "17:30") + dt.timedelta(days=7, minutes=1))
    db.session.commit()
    assert sorted(m.recipient for m in outbox("survey_funder")) == ["conseiller@francetravail.example",
                                                                   "gestion@fifpl.example"]


# --------------------------------------------------------------------------- editing makes a new version


def test_editing_a_questionnaire_makes_a_new_version_and_keeps_the_answers(ended, client, advisor_client):
    from trainingmgr.evaluations.models import Questionnaire

    _, (first, _, _) = ended
    run_due_jobs(paris(MONDAY, "17:30"))
    db.session.commit()
    invitation = _hot_invitation(first)
    client.post(survey_url(invitation).split("localhost", 1)[1], data={**_answers(invitation), "action": "submit"})
    old = db.session.scalar(select(Questionnaire).where(Questionnaire.kind == "hot", Questionnaire.active.is_(True)))
    body = page(advisor_client.get(f"/evaluations/questionnaires/{old.id}/edit"))
    assert "Organisation (convocation, accueil, salle, horaires)" in body
    data = {"title": "Votre avis (v2)", "intro": "", "anonymous": "y"}
    for i, question in enumerate(old.questions):
        data.update({f"questions-{i}-kind": question.kind, f"questions-{i}-text": question.text,
                     f"questions-{i}-required": "y" if question.required else "",
                     f"questions-{i}-choices": "\n".join(c.text for c in question.choices)})
    n = len(old.questions)
    data.update({f"questions-{n}-kind": "single", f"questions-{n}-text": "Comment nous avez-vous connus ?",
                 f"questions-{n}-choices": "Internet\nBouche à oreille", f"questions-{n}-required": "y"})
    response = advisor_client.post(f"/evaluations/questionnaires/{old.id}/edit", data=data)
    assert response.status_code == 302, page(response)
    db.session.expire_all()
    new = db.session.scalar(select(Questionnaire).where(Questionnaire.kind == "hot", Questionnaire.active.is_(True)))
    assert (new.version, new.title, new.anonymous, len(new.questions)) == (old.version + 1, "Votre avis (v2)", True, n + 1)
    assert not db.session.get(Questionnaire, old.id).active
    answered = db.session.get(Response, db.session.get(SurveyInvitation, invitation.id).response_id)
    assert answered.questionnaire_id == old.id and len(answered.answers) > 0  # the answers keep their version
    # A choice question with one answer only is refused, with the row number, and nothing is saved.
    data[f"questions-{n}-choices"] = "Internet"
    response = advisor_client.post(f"/evaluations/questionnaires/{new.id}/edit", data=data)
    assert response.status_code == 422 and f"Question {n + 1} : Une question à choix propose au moins deux" in page(response)
    db.session.expire_all()
    assert db.session.scalar(select(Questionnaire).where(Questionnaire.kind == "hot",
                                                         Questionnaire.active.is_(True))).id == new.id


def test_a_course_quiz_on_the_acquis_is_sent_and_scored(ended, world, client):
    from trainingmgr.evaluations.results.services import session_results
    from trainingmgr.evaluations.questionnaires.services import create_questionnaire
    session, (first, second, third) = ended
    quiz = create_questionnaire({"kind": "acquis", "title": "Quiz DUME", "course": world.dume, "questions": [
        {"kind": "single", "text": "Le DUME remplace…", "choices": [{"text": "la DC1 et la DC2", "correct": True, "points": 2},
                                                                    {"text": "le Kbis", "correct": False}]},
        {"kind": "multiple", "text": "Chorus Pro reçoit les factures…",
         "choices": [{"text": "de l'État", "correct": True, "points": 1},
                     {"text": "des collectivités", "correct": True, "points": 1},
                     {"text": "des particuliers", "correct": False}]}]})
    db.session.commit()
    run_due_jobs(paris(MONDAY, "17:30"))
    db.session.commit()
    assert len(outbox("survey_acquis")) == 3
    single, multiple = quiz.questions
    right, wrong = single.choices[0].id, single.choices[1].id
    answers = {first: (right, [multiple.choices[0].id, multiple.choices[1].id]),  # 4 of 4 points
               second: (wrong, [multiple.choices[0].id])}  # 1 of 4 points
    for enrolment, (one, many) in answers.items():
        invitation = db.session.scalar(select(SurveyInvitation).where(SurveyInvitation.enrolment_id == enrolment.id,
                                                                      SurveyInvitation.kind == "acquis"))
        url = survey_url(invitation).split("localhost", 1)[1]
        response = client.post(url, data={f"q{single.id}": str(one), f"q{multiple.id}": [str(m) for m in many],
                                          "action": "submit"})
        assert response.status_code == 302, page(response)
    db.session.expire_all()
    (group,) = [g for g in session_results(session).questionnaires if g.kind == "acquis"]
    assert (group.score_points, group.score_max, str(group.score_percent)) == (5, 8, "62.5")


def test_the_cold_delay_is_set_on_the_course_page(world, advisor_client):
    response = advisor_client.post(f"/courses/{world.dume.id}/cold-survey", data={"cold_survey_days": "90"})
    assert response.status_code == 302
    db.session.expire_all()
    assert world.dume.cold_survey_days == 90
    for bad in ("3", "abc", "1000"):
        response = advisor_client.post(f"/courses/{world.dume.id}/cold-survey", data={"cold_survey_days": bad})
        assert response.status_code == 422 and "entre 7 et 365" in page(response), bad
    db.session.expire_all()
    assert world.dume.cold_survey_days == 90
    assert advisor_client.post(f"/courses/{world.dume.id}/cold-survey", data={"cold_survey_days": ""}).status_code == 302
    db.session.expire_all()
    assert world.dume.cold_survey_days is None
