"""Mail templates in the documents' sandbox: what check_template refuses at save time (each problem with its line),
and what render refuses when it runs anyway (a French error, never a server error)."""
from __future__ import annotations

import pytest

from tests.fixtures.automations import CONTEXT
from trainingmgr.automations.rendering import RenderError, check_template, render, sample_context

GOOD_BODY = "Bonjour {{ recipient.name }},\n\nRendez-vous le {{ session.first_date }}.\n"


def problems(body: str, subject: str = "Rappel : {{ session.title }}") -> list[str]:
    return check_template(CONTEXT, subject, body)


def test_a_template_of_the_catalogue_is_valid(app, test_automations):
    assert problems(GOOD_BODY) == []


def test_names_the_template_sets_or_loops_are_allowed(app, test_automations):
    body = ("{% set greeting = 'Bonjour' %}{{ greeting }} {{ recipient.name|upper }}\n"
            "{% for t in session.trainers %}{{ loop.index }}. {{ t.name }}{% endfor %}\n"
            "{% for i in range(2) %}{{ i }}{% endfor %}{{ session.title.upper() }}")
    assert problems(body) == []


@pytest.mark.parametrize("payload, shown", [
    ("{{ ''.__class__.__mro__ }}", "« __class__ »"),
    ("{{ cycler.__init__.__globals__ }}", "« __init__ »"),
    ("{{ self.__dict__ }}", "« __dict__ »"),
    ("{% include 'x' %}", "« {% include %} »"),
    ("{% extends 'x' %}", "« {% extends %} »"),
    ("{% import 'x' as y %}", "« {% import %} »"),
    ("{% from 'x' import y %}", "« {% from %} »"),
    ("{{ lipsum.__globals__['os'] }}", "« __globals__ »"),
    ("{{ ''|attr('__class__') }}", "« __class__ »"),
    ("{{ ''|attr(recipient.name) }}", "« attr(…) »"),
    ("{{ session.trainers|map(attribute='__class__')|list }}", "« __class__ »"),
    ("{{ session['__class__'] }}", "« __class__ »"),
    ("{{ session|attr('_' ~ '_class__') }}", "« attr(…) »"),
])
def test_forbidden_constructs_are_refused_with_their_line(app, test_automations, payload, shown):
    found = problems(f"Bonjour,\n\n{payload}\n")
    assert found, payload
    assert all(p.startswith("Corps, ligne 3 : ") for p in found), found
    assert f"Corps, ligne 3 : construction interdite {shown}." in found


@pytest.mark.parametrize("payload, name", [
    ("{{ config }}", "config"),
    ("{{ request }}", "request"),
    ("{{ self }}", "self"),
    ("{{ session.titel }}", "session.titel"),
    ("{% for t in session.trainers %}{{ t.email }}{% endfor %}", "session.trainers.email"),
    ("{{ url_for('x') }}", "url_for"),
])
def test_unknown_variables_are_refused_with_their_line(app, test_automations, payload, name):
    assert problems(f"Bonjour,\n{payload}\n") == [f"Corps, ligne 2 : variable inconnue « {name} »."]


def test_the_subject_is_checked_too(app, test_automations):
    assert problems(GOOD_BODY, subject="{{ config.SECRET_KEY }}") == ["Objet : variable inconnue « config »."]
    assert problems(GOOD_BODY, subject="{{ ''.__class__ }}") == ["Objet : construction interdite « __class__ »."]


def test_a_syntax_error_is_refused_with_its_line(app, test_automations):
    [found] = problems("Bonjour,\n\n{% if recipient.name %}\nsans fin\n")
    assert found.startswith("Corps, ligne ") and "erreur de syntaxe" in found and "endif" in found
    assert problems("Un\n{{ recipient.name }\n") == [
        "Corps, ligne 2 : erreur de syntaxe : caractère inattendu « } »."]


def test_an_unknown_context_is_refused(app):
    assert check_template("nope", "Objet", "Corps") == ["Contexte de modèle inconnu : « nope »."]


def test_a_template_that_fails_on_the_examples_is_refused(app, test_automations):
    [found] = problems("Bonjour,\n{{ 1 / 0 }}\n")
    assert found == "Corps, ligne 2 : le modèle ne peut pas être rendu : division par zéro."


def test_the_sample_context_follows_the_catalogue(app, test_automations):
    assert sample_context(CONTEXT)["session"]["trainers"] == [{"name": "Pierre Formateur"}]
    assert sample_context(CONTEXT)["recipient"]["name"] == "Éloïse Martin"


def test_render_gives_a_one_line_subject_and_the_text(app, test_automations):
    subject, text = render("  Rappel :\n {{ session.title }} ", GOOD_BODY, sample_context(CONTEXT))
    assert subject == "Rappel : Chorus Pro"
    assert text == "Bonjour Éloïse Martin,\n\nRendez-vous le 25/11/2026.\n"


def test_render_does_not_escape_html(app, test_automations):
    _, text = render("x", "{{ recipient.name }}", {"recipient": {"name": "A & B <c>"}})
    assert text == "A & B <c>\n"


@pytest.mark.parametrize("payload", [
    "{{ ''.__class__.__mro__ }}", "{{ cycler.__init__.__globals__ }}", "{{ lipsum.__globals__['os'] }}",
    "{{ ''|attr('__class__') }}", "{{ ('_' ~ '_class__') and ''|attr('_' ~ '_class__') }}",
    "{{ session|attr('_' ~ '_init__') }}",
])
def test_the_sandbox_refuses_at_render_time_too(app, payload):
    """A template stored before the checks (or past them) still runs in the sandbox: a French error."""
    with pytest.raises(RenderError) as refused:
        render("Objet", f"Bonjour\n{payload}", {"session": {"title": "x"}})
    assert "accès interdit" in refused.value.message or "ne peut pas être rendu" in refused.value.message


def test_a_runaway_template_is_stopped(app):
    with pytest.raises(RenderError) as refused:
        render("Objet", "{% for i in range(100000000) %}{% for j in range(100000000) %}x{% endfor %}{% endfor %}", {})
    assert refused.value.message.startswith("Corps")


def test_an_undefined_name_renders_as_nothing(app):
    assert render("{{ nothing }}Objet", "{{ nothing.at.all }}Texte", {}) == ("Objet", "Texte\n")
