"""A trainee answers the hot satisfaction survey on a phone-sized screen, in Debian's chromium (see
tests/fixtures/browser.py for the browser set-up; SKIP_BROWSER_TESTS=1 leaves it out)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from trainingmgr.evaluations.models import Response, SurveyInvitation
from trainingmgr.evaluations.surveys.services import survey_url
from trainingmgr.extensions import db

from tests.fixtures.attendance import paris
from tests.fixtures.browser import Phone, phone_browser, running_server
from tests.fixtures.evaluations import run_due_jobs
from tests.helpers import MONDAY

# The surveys read their clock from ``survey_clock`` (Monday 17:30 in Paris; ``run_due_jobs(at)`` moves it).
pytestmark = pytest.mark.usefixtures("survey_clock")


def test_a_trainee_answers_the_hot_survey_on_her_phone(app, ended):  # noqa: F811 - the fixture imported above
    from playwright.sync_api import expect

    _, (first, *_) = ended
    run_due_jobs(paris(MONDAY, "17:30"))
    db.session.commit()
    invitation = db.session.scalar(select(SurveyInvitation).where(SurveyInvitation.enrolment_id == first.id,
                                                                  SurveyInvitation.kind == "hot"))
    path = survey_url(invitation).split("localhost", 1)[1]
    questions = [(q.id, q.kind) for q in invitation.questionnaire.questions]
    invitation_id = invitation.id
    db.session.commit()
    with running_server(app) as (host, port), phone_browser() as browser:
        phone = Phone(browser, f"http://{host}:{port}")
        phone.goto(path)
        page = phone.page
        expect(page.get_by_role("heading", name="Votre avis sur la formation")).to_be_visible()
        for question_id, kind in questions:
            if kind == "scale":
                page.locator(f"label[for='q{question_id}-4']").click()
            elif kind == "single":
                page.locator(f"[data-question='{question_id}'] .form-check-input").nth(9).check()
            elif kind == "text":
                page.locator(f"#q{question_id}-text").fill("Très bonne formation, merci.")
        page.get_by_role("button", name="Envoyer mes réponses").click()
        expect(page.locator("[data-field=thanks]")).to_be_visible()
        assert phone.problems == [], phone.problems
        phone.close()
    db.session.expire_all()
    invitation = db.session.get(SurveyInvitation, invitation_id)
    response = db.session.get(Response, invitation.response_id)
    assert invitation.responded_at is not None and response.status == "submitted"
    scale_ids = {question_id for question_id, kind in questions if kind == "scale"}
    assert [a.value for a in response.answers if a.question_id in scale_ids] == [4] * len(scale_ids)
