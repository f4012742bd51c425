"""The automations' pages: the rules (list, form, switch, delete), the templates (editor, variables, versions,
preview), the dry run, and the session page's panel. Every refusal is French, 4xx, and leaves what was saved."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from tests.fixtures.enrolments import confirm, enrol
from tests.helpers import page
from trainingmgr.automations import engine, registry, services
from trainingmgr.automations.models import AutomationRule, MailTemplate, MailTemplateVersion, RuleSessionOff
from trainingmgr.extensions import db

# J−6 before MONDAY's session, 09:00 Paris: the J−1 reminder (02/03/2031 09:00) falls in the next 7 days.
NOW = dt.datetime(2031, 2, 25, 8, 0, tzinfo=dt.UTC)
SSTI = "Bonjour {{ recipient.name }}\n\nLigne deux\n{{ ''.__class__.__mro__[1].__subclasses__() }}"


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def default_rule(code: str) -> AutomationRule:
    engine.ensure_defaults()
    db.session.commit()
    return db.session.scalar(select(AutomationRule).where(AutomationRule.code == code))


def default_template(context: str) -> MailTemplate:
    engine.ensure_defaults()
    db.session.commit()
    return db.session.scalar(select(MailTemplate).where(MailTemplate.context == context,
                                                        MailTemplate.code.is_not(None)).order_by(MailTemplate.id))


def rule_form(template: MailTemplate, **changes) -> dict:
    form = {"name": "Rappel pratique maison", "trigger": "before_start", "offset_days": "2", "send_time": "10:30",
            "audience": "trainee", "template_id": str(template.id), "attachments": ["ics"], "active": "y"}
    form.update(changes)
    return form


@pytest.fixture
def booked(world, dume_session, new_trainee):
    """The DUME session (tests.helpers.MONDAY), confirmed, with one confirmed trainee."""
    enrolment = enrol(dume_session, new_trainee(1), notify=False)
    confirm(dume_session)
    return enrolment


@pytest.fixture
def at_now(monkeypatch):
    """The pages' clock at NOW (what they plan from)."""
    monkeypatch.setattr(services, "utcnow", lambda: NOW)
    return NOW


# --------------------------------------------------------------------------- the pages render


def test_every_page_renders_for_the_advisor(advisor_client, world):
    rule, template = default_rule("reminder_j1"), default_template("session")
    for url in ("/automations/", "/automations/dry-run", "/automations/dry-run?days=31", "/automations/rules/new",
                f"/automations/rules/{rule.id}/edit", "/automations/templates", "/automations/templates/new",
                "/automations/templates/new?context=session", f"/automations/templates/{template.id}"):
        response = advisor_client.get(url)
        assert response.status_code == 200, (url, page(response)[:2000])
    assert "Automatisations" in page(advisor_client.get("/"))  # the staff navigation


def test_the_index_lists_the_default_rules_with_their_moment_in_words(advisor_client, world):
    text = page(advisor_client.get("/automations/"))
    for default in registry.DEFAULT_RULES.values():
        assert default.name in text
    assert "1 jour avant le premier jour de la session, à 09:00" in text
    assert "Ce qui partira dans les 7 prochains jours" in text and "Nouvelle règle" in text


def test_the_dry_run_shows_what_the_worker_will_send(advisor_client, booked, at_now):
    expected = engine.plan(NOW, NOW + dt.timedelta(days=7))
    text = page(advisor_client.get("/automations/"))
    assert expected, "the J−1 reminder and the convocation are due within the week"
    for message in expected:
        assert message.recipient.email in text and message.subject in text
    assert "02/03/2031 09:00" in text  # the J−1 reminder, Paris time
    assert page(advisor_client.get("/automations/dry-run?days=7")).count(booked.trainee.email) == text.count(
        booked.trainee.email)


@pytest.mark.parametrize("days", ["0", "32", "abc", "-1", "99999999999999999999"])
def test_the_dry_run_refuses_a_bad_number_of_days(advisor_client, world, days):
    response = advisor_client.get(f"/automations/dry-run?days={days}")
    assert response.status_code == 400
    assert "choisissez un nombre entier de 1 à 31" in page(response)


# --------------------------------------------------------------------------- rules


def test_the_advisor_creates_a_rule_and_edits_it(advisor_client, world):
    template = default_template("session")
    response = advisor_client.post("/automations/rules/new", data=rule_form(template))
    assert response.status_code == 302, page(response)[:3000]
    rule = db.session.scalar(select(AutomationRule).where(AutomationRule.code.is_(None)))
    assert (rule.name, rule.trigger, rule.offset_days, rule.send_time, rule.audience, rule.attachments, rule.active) \
        == ("Rappel pratique maison", "before_start", 2, "10:30", "trainee", ["ics"], True)
    assert rule.enabled_since is not None
    edit = page(advisor_client.get(f"/automations/rules/{rule.id}/edit"))
    assert 'value="Rappel pratique maison"' in edit and "10:30" in edit and "Supprimer cette règle" in edit
    response = advisor_client.post(f"/automations/rules/{rule.id}/edit",
                                   data=rule_form(template, offset_days="5", attachments=[], active=""))
    assert response.status_code == 302
    db.session.expire_all()
    rule = db.session.get(AutomationRule, rule.id)
    assert (rule.offset_days, rule.attachments, rule.active) == (5, [], False)


def test_a_wrong_audience_or_template_is_refused_in_french_and_nothing_changes(advisor_client, world):
    rule = default_rule("reminder_j1")
    before = (rule.audience, rule.template_id, rule.offset_days)
    invoice_template = default_template("invoice")
    response = advisor_client.post(f"/automations/rules/{rule.id}/edit", data=rule_form(
        invoice_template, audience="payer", trigger="before_start", offset_days="3"))
    assert response.status_code == 422
    text = page(response)
    assert "Ce déclencheur ne peut pas écrire à ce destinataire" in text
    assert "Ce modèle n'est pas fait pour ce déclencheur" in text
    assert "This field" not in text and "Not a valid" not in text
    db.session.expire_all()
    rule = db.session.get(AutomationRule, rule.id)
    assert (rule.audience, rule.template_id, rule.offset_days) == before


def test_bad_input_in_the_rule_form_is_refused_in_french(advisor_client, world):
    template = default_template("session")
    rules = count(AutomationRule)
    response = advisor_client.post("/automations/rules/new", data=rule_form(
        template, name="", trigger="inconnu", offset_days="abc", send_time="25:99", attachments=["nimporte"]))
    assert response.status_code == 422
    text = page(response)
    assert "Saisissez un nombre entier." in text
    assert "N'est pas un horaire valide." in text
    assert "Not a valid" not in text and "This field" not in text
    assert count(AutomationRule) == rules
    response = advisor_client.post("/automations/rules/new", data=rule_form(template, offset_days="400"))
    assert response.status_code == 422 and "compris entre 0 et 365" in page(response)
    assert count(AutomationRule) == rules


def test_a_rule_is_switched_off_and_on_and_a_default_rule_is_not_deleted(advisor_client, world):
    rule = default_rule("reminder_j1")
    assert advisor_client.post(f"/automations/rules/{rule.id}/off").status_code == 302
    db.session.expire_all()
    assert db.session.get(AutomationRule, rule.id).active is False
    assert "Activer" in page(advisor_client.get("/automations/"))
    assert advisor_client.post(f"/automations/rules/{rule.id}/on").status_code == 302
    db.session.expire_all()
    rule = db.session.get(AutomationRule, rule.id)
    assert rule.active is True and rule.enabled_since is not None
    response = advisor_client.post(f"/automations/rules/{rule.id}/delete", follow_redirects=True)
    assert "Une règle par défaut ne peut pas être supprimée" in page(response)
    assert db.session.get(AutomationRule, rule.id) is not None
    assert advisor_client.post("/automations/rules/999999/off").status_code == 404


def test_a_rule_made_in_the_browser_is_deleted(advisor_client, world):
    template = default_template("session")
    assert advisor_client.post("/automations/rules/new", data=rule_form(template)).status_code == 302
    rule = db.session.scalar(select(AutomationRule).where(AutomationRule.code.is_(None)))
    response = advisor_client.post(f"/automations/rules/{rule.id}/delete")
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(AutomationRule, rule.id) is None


# --------------------------------------------------------------------------- templates


def test_the_template_page_shows_the_variables_and_saves_a_new_version(advisor_client, world):
    template = default_template("session")
    text = page(advisor_client.get(f"/automations/templates/{template.id}"))
    for var in registry.CONTEXTS["session"].variables[:5]:
        assert var.name in text and var.label in text
    assert "font-monospace" in text and template.body.splitlines()[0] in text
    body = template.body + "\n\nÀ très bientôt, {{ org.name }}."
    response = advisor_client.post(f"/automations/templates/{template.id}",
                                   data={"subject": template.subject, "body": body})
    assert response.status_code == 302, page(response)[:3000]
    db.session.expire_all()
    template = db.session.get(MailTemplate, template.id)
    assert template.version == 2 and template.body.endswith("{{ org.name }}.")
    text = page(advisor_client.get(f"/automations/templates/{template.id}"))
    assert "n° 2" in text and "Rétablir" in text
    # the first version back: a third one
    response = advisor_client.post(f"/automations/templates/{template.id}/versions/1/restore")
    assert response.status_code == 302
    db.session.expire_all()
    template = db.session.get(MailTemplate, template.id)
    assert template.version == 3 and not template.body.endswith("{{ org.name }}.")
    assert advisor_client.post(f"/automations/templates/{template.id}/versions/99/restore",
                               follow_redirects=True).status_code in (200, 404)
    assert db.session.get(MailTemplate, template.id).version == 3


def test_an_ssti_payload_is_refused_with_its_line_and_the_text_typed_kept(advisor_client, world):
    template = default_template("session")
    saved = (template.subject, template.body, template.version)
    versions = count(MailTemplateVersion)
    response = advisor_client.post(f"/automations/templates/{template.id}",
                                   data={"subject": "Objet {{ config }}", "body": SSTI})
    assert response.status_code == 422
    text = page(response)
    assert "ligne 4" in text and "__class__" in text
    assert "config" in text and "Objet" in text
    assert "Lignedeux" not in text and "Ligne deux" in text  # the text typed, kept in the editor
    assert "&#39;&#39;.__class__" in response.get_data(as_text=True) or "''.__class__" in text
    db.session.expire_all()
    template = db.session.get(MailTemplate, template.id)
    assert (template.subject, template.body, template.version) == saved
    assert count(MailTemplateVersion) == versions


def test_a_new_template_is_created_then_used_by_a_rule(advisor_client, world):
    response = advisor_client.post("/automations/templates/new", data={
        "name": "Mot d'accueil", "context": "session", "subject": "Bienvenue {{ recipient.name }}",
        "body": "Bonjour {{ recipient.name }},\n\nÀ bientôt pour « {{ session.title }} »."})
    assert response.status_code == 302, page(response)[:3000]
    template = db.session.scalar(select(MailTemplate).where(MailTemplate.name == "Mot d'accueil"))
    assert template.version == 1 and template.code is None
    assert "Mot d'accueil" in page(advisor_client.get("/automations/rules/new"))
    templates = count(MailTemplate)
    response = advisor_client.post("/automations/templates/new", data={
        "name": "", "context": "inconnu", "subject": "", "body": "{% include 'x' %}"})
    assert response.status_code == 422
    text = page(response)
    assert "Type de modèle inconnu" in text and "Not a valid" not in text
    assert count(MailTemplate) == templates
    assert db.session.scalar(select(func.count()).select_from(MailTemplate).where(MailTemplate.name == "")) == 0


def test_the_preview_renders_a_real_session_with_the_html_sandboxed(advisor_client, booked):
    template = default_template("session")
    session_id = booked.session_id
    text = page(advisor_client.get(f"/automations/templates/{template.id}"))
    assert f'value="{session_id}"' in text  # the session is offered
    response = advisor_client.get(f"/automations/templates/{template.id}?session_id={session_id}"
                                  f"&enrolment_id={booked.id}")
    assert response.status_code == 200, page(response)[:3000]
    raw = response.get_data(as_text=True)
    assert "<iframe" in raw and " sandbox " in raw and 'srcdoc="' in raw
    html = raw.split('srcdoc="', 1)[1].split('"', 1)[0]
    assert "<" not in html  # escaped into the attribute, never raw into the page
    assert booked.trainee.full_name in page(response)
    response = advisor_client.get(f"/automations/templates/{template.id}?session_id=abc")
    assert response.status_code == 422 and "Choisissez une session" in page(response)
    response = advisor_client.get(f"/automations/templates/{template.id}?session_id=999999")
    assert response.status_code == 404 and "introuvable" in page(response)


# --------------------------------------------------------------------------- the session page's panel


def test_the_session_page_switches_a_rule_off_for_that_session(advisor_client, booked, at_now):
    rule = default_rule("reminder_j1")
    session_id = booked.session_id
    text = page(advisor_client.get(f"/sessions/{session_id}"))
    assert "Automatisations" in text and "Désactiver pour cette session" in text
    assert booked.trainee.email in text.split('id="automations"', 1)[1]
    response = advisor_client.post(f"/automations/rules/{rule.id}/sessions/{session_id}/off")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/sessions/{session_id}#automations")
    assert db.session.get(RuleSessionOff, (rule.id, session_id)) is not None
    assert all(p.rule.id != rule.id for p in engine.plan(NOW, NOW + dt.timedelta(days=7), session_id=session_id))
    assert "Réactiver" in page(advisor_client.get(f"/sessions/{session_id}"))
    assert advisor_client.post(f"/automations/rules/{rule.id}/sessions/{session_id}/on").status_code == 302
    db.session.expire_all()
    assert db.session.get(RuleSessionOff, (rule.id, session_id)) is None
    assert advisor_client.post(f"/automations/rules/{rule.id}/sessions/999999/off").status_code == 404


def test_the_panel_is_not_shown_to_the_trainer(trainer, booked):
    text = page(trainer.get(f"/sessions/{booked.session_id}"))
    assert 'id="automations"' not in text

