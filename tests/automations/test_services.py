"""Rules and templates as the organisation edits them: every refusal (French, per field), the versions, the switch
per session, the preview."""
from __future__ import annotations

import pytest

from tests.fixtures.automations import CONTEXT, paris, rule_of
from tests.helpers import MONDAY
from trainingmgr.automations import services
from trainingmgr.automations.models import AutomationRule, RuleSessionOff
from trainingmgr.core.errors import ConflictError, NotFoundError, PermissionDenied, ValidationError
from trainingmgr.extensions import db


@pytest.fixture
def template(app, test_automations):
    made = services.create_template("Relance", CONTEXT, "Relance : {{ session.title }}",
                                    "Bonjour {{ recipient.name }}", None)
    db.session.commit()
    return made


def data(template, **changes) -> dict:
    return {"name": "Relance J−4", "trigger": "test_before_start", "offset_days": 4, "send_time": "10:15",
            "audience": "trainee", "template_id": template.id, "attachments": ["test_ics"], "active": True,
            **changes}


def refusal(call, *args) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as refused:
        call(*args)
    return refused.value.fields


def test_a_rule_is_created_enabled_from_now(app, template, services_clock):
    rule = services.create_rule(data(template), None)
    assert (rule.code, rule.trigger, rule.offset_days, rule.send_time, rule.audience, rule.attachments,
            rule.active, rule.enabled_since) == (None, "test_before_start", 4, "10:15", "trainee", ["test_ics"],
                                                 True, services_clock.now)
    assert rule in services.list_rules()
    assert services.get_rule(rule.id) is rule


@pytest.mark.parametrize("changes, field, message", [
    ({"name": " "}, "name", "Le nom est obligatoire."),
    ({"trigger": "nope"}, "trigger", "Déclencheur inconnu."),
    ({"offset_days": -1}, "offset_days", "Le nombre de jours doit être un nombre entier compris entre 0 et 365."),
    ({"offset_days": 366}, "offset_days", "Le nombre de jours doit être un nombre entier compris entre 0 et 365."),
    ({"offset_days": "deux"}, "offset_days", "Le nombre de jours doit être un nombre entier."),
    ({"send_time": "25:00"}, "send_time", "Heure d'envoi invalide (format attendu HH:MM, par exemple 09:00)."),
    ({"send_time": "9h"}, "send_time", "Heure d'envoi invalide (format attendu HH:MM, par exemple 09:00)."),
    ({"audience": "nope"}, "audience", "Destinataire inconnu."),
    ({"audience": "payer"}, "audience",
     "Ce déclencheur ne peut pas écrire à ce destinataire (« Payeur de la facture (comptabilité, acheteur public) »)."),
    ({"template_id": 99999}, "template_id", "Modèle de message introuvable."),
    ({"template_id": "x"}, "template_id", "Modèle de message introuvable."),
    ({"attachments": ["nope"]}, "attachments", "Pièce jointe inconnue : « nope »."),
    ({"attachments": "test_ics"}, "attachments", "Pièces jointes invalides."),
])
def test_a_bad_rule_is_refused_in_french(app, template, services_clock, changes, field, message):
    assert refusal(services.create_rule, data(template, **changes), None)[field] == [message]


def test_a_template_of_another_context_or_an_attachment_of_another_context_is_refused(app, template, services_clock,
                                                                                     monkeypatch):
    from trainingmgr.automations import registry

    other = registry.Context("other_test", "Autre", (), lambda t, i: None, lambda o, a: [], lambda o, r: {},
                             lambda s, e: None)
    monkeypatch.setitem(registry.CONTEXTS, other.code, other)
    monkeypatch.setitem(registry.ATTACHMENTS, "other_file", registry.AttachmentKind(
        "other_file", "Autre fichier", ("other_test",), lambda o, r: [], lambda o, r: []))
    foreign = services.create_template("Autre", "other_test", "Objet", "Corps", None)
    assert refusal(services.create_rule, data(template, template_id=foreign.id), None)["template_id"] == [
        "Ce modèle n'est pas fait pour ce déclencheur (ses variables ne sont pas celles de ce déclencheur)."]
    assert refusal(services.create_rule, data(template, attachments=["other_file"]), None)["attachments"] == [
        "La pièce jointe « Autre fichier » n'est pas disponible pour ce déclencheur."]


def test_updating_checks_the_same_and_keeps_the_switch(app, template, services_clock):
    rule = services.create_rule(data(template), None)
    services.set_rule_active(rule, False, None)
    assert refusal(services.update_rule, rule, data(template, offset_days=400), None)["offset_days"]
    changed = {k: v for k, v in data(template, offset_days=1).items() if k != "active"}
    services.update_rule(rule, changed, None)
    assert (rule.offset_days, rule.active) == (1, False)
    services_clock.now = paris(MONDAY)
    services.update_rule(rule, data(template), None)
    assert (rule.active, rule.enabled_since) == (True, paris(MONDAY))


def test_switching_on_again_moves_enabled_since(app, template, services_clock):
    rule = services.create_rule(data(template), None)
    services_clock.now = paris(MONDAY)
    services.set_rule_active(rule, True, None)  # already on: unchanged
    assert rule.enabled_since != paris(MONDAY)
    services.set_rule_active(rule, False, None)
    services.set_rule_active(rule, True, None)
    assert rule.enabled_since == paris(MONDAY)


def test_a_rule_is_switched_off_and_on_for_one_session(app, rules_world, services_clock):
    rule = rule_of("test_reminder_j2")
    services.set_rule_session(rule, rules_world.id, True, None)
    services.set_rule_session(rule, rules_world.id, True, None)  # twice: one row
    assert db.session.query(RuleSessionOff).count() == 1
    assert (rule, True) in services.rules_for_session(rules_world.id)
    services.set_rule_session(rule, rules_world.id, False, None)
    assert (rule, False) in services.rules_for_session(rules_world.id)
    with pytest.raises(NotFoundError, match="Session introuvable."):
        services.set_rule_session(rule, 99999, True, None)


def test_a_default_rule_cannot_be_deleted_a_browser_one_can(app, rules_world, template, services_clock):
    with pytest.raises(ConflictError, match="Une règle par défaut ne peut pas être supprimée : désactivez-la."):
        services.delete_rule(rule_of("test_reminder_j2"), None)
    rule = services.create_rule(data(template), None)
    services.delete_rule(rule, None)
    assert db.session.get(AutomationRule, rule.id) is None
    with pytest.raises(NotFoundError, match="Règle d'automatisation introuvable."):
        services.get_rule(rule.id)


def test_a_trainer_may_not_edit_the_automations(app, template, world, services_clock):
    with pytest.raises(PermissionDenied):
        services.create_rule(data(template), world.users["trainer"])
    with pytest.raises(PermissionDenied):
        services.save_template(template, "Objet", "Corps", world.users["trainer"])


def test_templates_keep_their_versions(app, template, world):
    advisor = world.users["advisor"]
    services.save_template(template, "Relance : {{ session.title }}", "Bonjour {{ recipient.name }}", advisor)
    assert template.version == 1  # unchanged: no new version
    services.save_template(template, "Nouvelle relance", "Bonjour {{ recipient.name }} !", advisor)
    assert (template.version, template.subject, template.updated_by) == (2, "Nouvelle relance", advisor)
    services.restore_version(template, 1, advisor)
    db.session.commit()
    assert (template.version, template.subject) == (3, "Relance : {{ session.title }}")
    assert [v.version for v in template.versions] == [3, 2, 1]
    with pytest.raises(NotFoundError, match="Version du modèle introuvable."):
        services.restore_version(template, 9, advisor)
    assert template in services.list_templates()


@pytest.mark.parametrize("subject, body, field, message", [
    ("", "Corps", "subject", "L'objet est obligatoire."),
    ("Objet", " ", "body", "Le corps du message est obligatoire."),
    ("x" * 301, "Corps", "subject", "L'objet tient sur une ligne de 300 caractères au plus."),
    ("Objet", "x" * 20001, "body", "Le corps du message ne doit pas dépasser 20 000 caractères."),
    ("{{ config }}", "Corps", "subject", "Objet : variable inconnue « config »."),
    ("Objet", "Un\n{{ ''.__class__ }}", "body", "Corps, ligne 2 : construction interdite « __class__ »."),
    ("Objet", "{% include 'x' %}", "body", "Corps, ligne 1 : construction interdite « {% include %} »."),
])
def test_a_bad_template_is_refused_with_its_problems(app, template, subject, body, field, message):
    assert refusal(services.save_template, template, subject, body, None)[field] == [message]
    assert template.version == 1


def test_a_template_needs_a_name_and_a_known_context(app, test_automations):
    fields = refusal(services.create_template, "", "nope", "Objet", "Corps", None)
    assert fields == {"name": ["Le nom est obligatoire."], "context": ["Type de modèle inconnu."]}


def test_the_preview_renders_with_a_real_session_and_trainee(app, rules_world, template):
    from trainingmgr.enrolments.models import Enrolment

    second = db.session.query(Enrolment).order_by(Enrolment.id).all()[1]
    shown = services.preview(template, rules_world.id, second.id)
    assert shown["to"] == "p02@exemple.fr"
    assert shown["subject"] == f"Relance : {rules_world.title}"
    assert shown["text"] == "Bonjour Prénom02 Nom02\n" and "Bonjour Prénom02 Nom02" in shown["html"]
    assert services.preview(template, rules_world.id, "")["to"] == "p01@exemple.fr"


def test_the_preview_says_when_there_is_nothing_to_show(app, rules_world, template, open_session):
    empty = open_session()
    with pytest.raises(ValidationError, match="Rien à montrer pour cette session"):
        services.preview(template, empty.id, None)
    with pytest.raises(NotFoundError, match="Session introuvable."):
        services.preview(template, 99999, None)
    with pytest.raises(ValidationError, match="Stagiaire introuvable pour l'aperçu."):
        services.preview(template, rules_world.id, "abc")
