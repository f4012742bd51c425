"""The needs analysis with the client company (Qualiopi indicator 4): sent before the session to the HR contact
(or else the signatory) of each company concerned, once per company; answered through the survey page; its
answers shown to the advisor and the session's trainer; awaited in the company space; counted on the board."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from trainingmgr.companies.services import save_company, save_contact
from trainingmgr.core.errors import ConflictError, PermissionDenied
from trainingmgr.evaluations.needs import services as needs
from trainingmgr.evaluations.models import SurveyInvitation
from trainingmgr.extensions import db
from trainingmgr.messaging.models import Job

from tests.enrolments.support import outbox
from tests.helpers import MONDAY, page

SURVEY_LINK = re.compile(r"http://localhost(/s/[^\s]+)")


@pytest.fixture
def defaults(app):
    from trainingmgr.demo.surveys import load_default_surveys

    load_default_surveys()
    db.session.commit()


@pytest.fixture
def other_company(app):
    company = save_company(None, {"name": "Mairie de Colomiers", "siret": "21310149600015"})
    db.session.commit()
    return company


@pytest.fixture
def booked(world, defaults, other_company, users):
    """An open DUME session (MONDAY) with a trainee of each company and a self-funded one; Dupont has an HR
    contact and a signatory, Colomiers only a signatory."""
    from trainingmgr.enrolments.services import enrol
    from trainingmgr.sessions.services import change_status, create_session
    from trainingmgr.trainees.services import save_trainee

    save_contact(world.company, None, {"role": "signatory", "name": "Jean Dupont", "email": "direction@dupont.example"})
    save_contact(world.company, None, {"role": "hr", "name": "Marie Dupont", "email": "rh@dupont.example"})
    save_contact(other_company, None, {"role": "signatory", "name": "Léa Maire", "email": "maire@colomiers.example"})
    session, _ = create_session({"course_id": world.dume.id, "start_date": MONDAY, "location_id": world.room.id,
                                 "trainer_ids": [world.pierre.id], "format": "inter"}, users["advisor"])
    change_status(session, "open", users["advisor"])
    for n, company in ((1, world.company), (2, other_company), (3, None)):
        trainee = save_trainee(None, {"civility": "Mme", "first_name": f"Prénom{n}", "last_name": f"Nom{n}",
                                      "email": f"p{n}@exemple.fr"})
        enrol(session, trainee, company=company, actor=users["advisor"], notify=False)
    db.session.commit()
    return session


def send(session, users, **kwargs):
    result = needs.send_needs_analysis(session, users["advisor"], **kwargs)
    db.session.commit()
    return result


def invitations(session) -> list[SurveyInvitation]:
    db.session.expire_all()
    return list(db.session.scalars(select(SurveyInvitation).where(SurveyInvitation.session_id == session.id)
                                   .order_by(SurveyInvitation.id)))


def link_of(message) -> str:
    return SURVEY_LINK.search(message.body_text).group(1)


def answer_all(client, url: str, action: str = "submit"):
    """Answer the default needs questionnaire through its page (the first choice of each choice question)."""
    data = {"action": action}
    questionnaire = needs.surveys.survey_questionnaire("needs", None)
    for question in questionnaire.questions:
        key = f"q{question.id}"
        if question.kind == "text":
            data[key] = f"Réponse à « {question.text[:20]} »"
        elif question.kind in ("single", "multiple"):
            data[key] = str(question.choices[0].id)
        elif question.kind == "yes_no":
            data[key] = "no"
        else:
            data[key] = "4"
    return client.post(url, data=data)


# --------------------------------------------------------------------------- sending


def test_each_company_gets_one_invitation_addressed_to_its_hr_contact_or_signatory(booked, users):
    sent = send(booked, users)
    assert sorted(i.recipient_email for i in sent.invitations) == ["maire@colomiers.example", "rh@dupont.example"]
    mails = outbox("survey_needs")
    assert sorted(m.recipient for m in mails) == ["maire@colomiers.example", "rh@dupont.example"]
    assert all(m.subject == f"Analyse des besoins – {booked.title}" for m in mails)
    assert "vont suivre la formation" in mails[0].body_text and "/s/" in mails[0].body_text
    assert {i.kind for i in invitations(booked)} == {"needs"}


def test_sending_again_reaches_only_the_companies_added_since(booked, users, world):
    from trainingmgr.enrolments.services import enrol
    from trainingmgr.trainees.services import save_trainee

    send(booked, users)
    again = send(booked, users)
    assert again.invitations == [] and sorted(again.already) == sorted([world.company.name, "Mairie de Colomiers"])
    third = save_company(None, {"name": "Bureau Occitanie", "siret": "73282932000074"})
    save_contact(third, None, {"role": "hr", "name": "Paul RH", "email": "rh@occitanie.example"})
    enrol(booked, save_trainee(None, {"civility": "M.", "first_name": "Léo", "last_name": "Nouveau",
                                      "email": "leo@exemple.fr"}), company=third, actor=users["advisor"], notify=False)
    db.session.commit()
    later = send(booked, users)
    assert [i.recipient_email for i in later.invitations] == ["rh@occitanie.example"]
    assert len(outbox("survey_needs")) == 3


def test_a_company_without_hr_contact_nor_signatory_is_named_and_skipped(booked, users, other_company):
    other_company.contacts[0].role = "accounting"
    db.session.commit()
    sent = send(booked, users)
    assert [i.recipient_email for i in sent.invitations] == ["rh@dupont.example"]
    assert sent.without_contact == ["Mairie de Colomiers"]


def test_nobody_reachable_is_refused(booked, users, world, other_company):
    for company in (world.company, other_company):
        for contact in company.contacts:
            contact.role = "other"
    db.session.commit()
    with pytest.raises(ConflictError, match="ni contact RH ni signataire"):
        needs.send_needs_analysis(booked, users["advisor"])


def test_no_sending_once_the_session_has_started(booked, users):
    started = min(s.starts_at for s in booked.slots) + dt.timedelta(minutes=1)
    with pytest.raises(ConflictError, match="avant la formation"):
        needs.send_needs_analysis(booked, users["advisor"], now=started)
    assert not needs.can_send(booked, started)


def test_without_a_needs_questionnaire_nothing_leaves(world, booked, users):
    from trainingmgr.evaluations.models import Questionnaire

    for questionnaire in db.session.scalars(select(Questionnaire).where(Questionnaire.kind == "needs")):
        questionnaire.active = False
    db.session.commit()
    with pytest.raises(ConflictError, match="Analyse des besoins"):
        needs.send_needs_analysis(booked, users["advisor"])
    assert outbox("survey_needs") == []


def test_a_trainer_cannot_send(booked, users):
    with pytest.raises(PermissionDenied):
        needs.send_needs_analysis(booked, users["trainer"])


def test_reminders_are_planned_only_before_the_session(booked, users):
    """The reminders are the default automation rules « Relance J+3/J+7 des enquêtes sans réponse : entreprises »;
    the needs analysis closes when the session starts (tests/automations/test_survey_triggers.py)."""
    from trainingmgr.automations import engine

    first = min(s.starts_at for s in booked.slots)
    sent = first - dt.timedelta(days=5)
    send(booked, users, now=sent)  # J+3 before the start, J+7 after it
    assert db.session.scalars(select(Job).where(Job.kind == "survey_remind")).all() == []
    planned = [p for p in engine.plan(sent, first + dt.timedelta(days=10)) if p.rule.trigger == "survey_unanswered"]
    assert sorted(p.recipient.email for p in planned) == ["maire@colomiers.example", "rh@dupont.example"]
    assert {(p.when, p.rule.offset_days) for p in planned} == {(sent + dt.timedelta(days=3), 3)}


# --------------------------------------------------------------------------- answering and reading


def test_the_company_answers_through_its_link_and_the_advisor_and_trainer_read_it(booked, users, app, advisor,
                                                                                   trainer, trainer2):
    send(booked, users)
    mail = next(m for m in outbox("survey_needs") if m.recipient == "rh@dupont.example")
    company_phone = app.test_client()
    shown = page(company_phone.get(link_of(mail)))
    assert "Analyse des besoins" in shown and booked.title in shown
    response = answer_all(company_phone, link_of(mail))
    assert response.status_code == 302
    assert "Merci" in page(company_phone.get(link_of(mail)))

    items = needs.needs_answers(booked)
    answered = {item.company_name: item for item in items}
    assert answered["Cabinet d'architecture Dupont"].answered
    assert not answered["Mairie de Colomiers"].answered and answered["Mairie de Colomiers"].view is None
    rows = answered["Cabinet d'architecture Dupont"].view.rows
    assert rows[0].text.startswith("Réponse à «")

    for client in (advisor, trainer):
        html = page(client.get(f"/evaluations/sessions/{booked.id}/needs"))
        assert "Réponse à « Pourquoi cette forma »" in html and "Répondu le" in html
        assert "Écrite dans la console le" in html  # the tests' console backend: no e-mail left
        assert "pour Léa Maire (Mairie de Colomiers) (aucun e-mail n'est parti), en attente" in html
        session_page = page(client.get(f"/sessions/{booked.id}"))
        assert 'data-card="needs"' in session_page and "Cabinet d'architecture Dupont : Répondu le" in session_page
    assert 'data-action="send-needs"' in page(advisor.get(f"/evaluations/sessions/{booked.id}/needs"))
    assert 'data-action="send-needs"' not in page(trainer.get(f"/evaluations/sessions/{booked.id}/needs"))
    assert trainer2.get(f"/evaluations/sessions/{booked.id}/needs").status_code in (403, 404)


def test_the_session_results_include_the_needs_analysis(booked, users, app, advisor):
    send(booked, users)
    mail = outbox("survey_needs")[0]
    answer_all(app.test_client(), link_of(mail))
    html = page(advisor.get(f"/evaluations/sessions/{booked.id}"))
    assert "Analyse des besoins" in html


def test_the_send_button_refuses_with_a_french_409_once_started(booked, users, advisor, monkeypatch):
    started = min(s.starts_at for s in booked.slots) + dt.timedelta(hours=1)
    monkeypatch.setattr("trainingmgr.evaluations.needs.services.utcnow", lambda: started)
    response = advisor.post(f"/evaluations/sessions/{booked.id}/needs/send")
    assert response.status_code == 409
    assert "avant la formation" in page(response)
    assert outbox("survey_needs") == []


def test_the_send_button_sends_and_says_to_whom(booked, advisor, trainer):
    response = advisor.post(f"/evaluations/sessions/{booked.id}/needs/send", follow_redirects=True)
    assert response.status_code == 200
    # The tests' console backend: the page does not claim an e-mail left (tests/messaging/test_transport_honesty.py).
    assert ("Analyse des besoins écrite dans la console pour Marie Dupont (Cabinet d'architecture Dupont), Léa Maire "
            "(Mairie de Colomiers) (aucun e-mail n'est parti).") in page(response)
    assert trainer.post(f"/evaluations/sessions/{booked.id}/needs/send").status_code == 403
    assert len(outbox("survey_needs")) == 2


# --------------------------------------------------------------------------- the company space and the board


def test_awaited_needs_analyses_lists_only_the_company_s_unanswered_ones(booked, users, app, world, other_company):
    send(booked, users)
    dupont = needs.awaited_needs_analyses(world.company)
    colomiers = needs.awaited_needs_analyses(other_company)
    assert [a.session.id for a in dupont] == [booked.id] and len(colomiers) == 1
    assert dupont[0].invitation.company_id == world.company.id
    assert app.test_client().get(dupont[0].url.removeprefix("http://localhost")).status_code == 200
    answer_all(app.test_client(), dupont[0].url.removeprefix("http://localhost"))
    assert needs.awaited_needs_analyses(world.company) == []
    assert len(needs.awaited_needs_analyses(other_company)) == 1


def test_a_cancelled_session_awaits_nothing(booked, users, world):
    from trainingmgr.sessions.services import change_status

    send(booked, users)
    change_status(booked, "cancelled", users["advisor"], reason="Trop peu d'inscrits")
    db.session.commit()
    assert needs.awaited_needs_analyses(world.company) == []


def test_the_board_counts_needs_analyses_as_evidence_of_indicator_4(booked, users, app):
    from trainingmgr.quality.board.services import NOTHING_OUTSIDE, build_board

    since, until = MONDAY - dt.timedelta(days=30), MONDAY + dt.timedelta(days=30)
    before = build_board(since, until, MONDAY)
    assert before.fact("needs_analyses").value == 0
    assert any(NOTHING_OUTSIDE in note for note in before.indicator(4).notes)
    send(booked, users)
    mail = outbox("survey_needs")[0]
    answer_all(app.test_client(), link_of(mail))
    after = build_board(since, until, MONDAY)
    fact = after.fact("needs_analyses")
    assert (fact.value, fact.total) == (1, 2)
    assert not any(NOTHING_OUTSIDE in note for note in after.indicator(4).notes)
    assert after.indicator(4).status == "ok"


def test_an_external_trainer_reads_the_needs_analysis_in_the_trainer_space(booked, users, app, world):
    from trainingmgr.resources import links

    send(booked, users)
    mail = next(m for m in outbox("survey_needs") if m.recipient == "rh@dupont.example")
    answer_all(app.test_client(), link_of(mail))
    url = links.space_url(world.pierre).replace("http://localhost", "")
    db.session.commit()
    html = page(app.test_client().get(f"{url}/sessions/{booked.id}/positionnement"))
    assert "Analyse des besoins des entreprises" in html and "Réponse à « Pourquoi cette forma »" in html
    assert "pour Léa Maire (Mairie de Colomiers) (aucun e-mail n'est parti), en attente" in html
    paula = links.space_url(world.paula).replace("http://localhost", "")
    db.session.commit()
    assert app.test_client().get(f"{paula}/sessions/{booked.id}/positionnement").status_code == 403
