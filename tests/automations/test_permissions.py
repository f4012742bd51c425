"""The automations' pages are the staff's: an anonymous visitor is sent to the login page, a trainer is refused
(403) and changes nothing, an advisor and an admin get in."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.helpers import login, page
from trainingmgr.automations import engine
from trainingmgr.automations.models import AutomationRule, MailTemplate, RuleSessionOff
from trainingmgr.extensions import db


@pytest.fixture
def ids(world, make_session):
    engine.ensure_defaults()
    db.session.commit()
    rule = db.session.scalar(select(AutomationRule).where(AutomationRule.code == "reminder_j1"))
    template = rule.template
    return {"rule": rule.id, "template": template.id, "session": make_session().id}


def pages(ids) -> list[str]:
    return ["/automations/", "/automations/dry-run?days=7", "/automations/rules/new",
            f"/automations/rules/{ids['rule']}/edit", "/automations/templates", "/automations/templates/new",
            f"/automations/templates/{ids['template']}",
            f"/automations/templates/{ids['template']}?session_id={ids['session']}"]


def posts(ids) -> list[str]:
    rule, template, session = ids["rule"], ids["template"], ids["session"]
    return ["/automations/rules/new", f"/automations/rules/{rule}/edit", f"/automations/rules/{rule}/off",
            f"/automations/rules/{rule}/on", f"/automations/rules/{rule}/delete",
            f"/automations/rules/{rule}/sessions/{session}/off", f"/automations/rules/{rule}/sessions/{session}/on",
            "/automations/templates/new", f"/automations/templates/{template}",
            f"/automations/templates/{template}/versions/1/restore"]


def test_anonymous_visitors_are_sent_to_login(client, ids):
    for url in pages(ids):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"], url
    for url in posts(ids):
        response = client.post(url, data={"subject": "x", "body": "x", "name": "x"})
        assert response.status_code == 302 and "/login" in response.headers["Location"], url


@pytest.mark.parametrize("email", ["formateur@test.example", "formateur2@test.example"])
def test_trainers_are_refused_and_change_nothing(client, ids, email):
    login(client, email)
    rule = db.session.get(AutomationRule, ids["rule"])
    before = (rule.active, rule.name, db.session.get(MailTemplate, ids["template"]).version)
    for url in pages(ids):
        assert client.get(url).status_code == 403, url
    for url in posts(ids):
        response = client.post(url, data={"subject": "Piraté", "body": "Piraté", "name": "Piraté"})
        assert response.status_code == 403, url
    db.session.expire_all()
    rule = db.session.get(AutomationRule, ids["rule"])
    assert (rule.active, rule.name, db.session.get(MailTemplate, ids["template"]).version) == before
    assert db.session.scalar(select(RuleSessionOff)) is None
    assert "Automatisations" not in page(client.get("/"))  # no link in the trainer's navigation


@pytest.mark.parametrize("email", ["conseil@test.example", "admin@test.example"])
def test_advisors_and_admins_get_in(client, ids, email):
    login(client, email)
    for url in pages(ids):
        assert client.get(url).status_code == 200, url
