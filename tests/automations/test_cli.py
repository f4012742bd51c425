"""``flask automations dry-run``: one line per message the rules will send (when in Paris time, to whom, subject,
files, rule, error), from engine.plan; nothing is written, nothing is sent."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from tests.cli_support import run_flask
from tests.fixtures.app import invoke_command
from tests.fixtures.automations import paris, rule_of
from tests.helpers import MONDAY
from trainingmgr.automations import cli, engine
from trainingmgr.automations.models import AutomationFiring
from trainingmgr.extensions import db
from trainingmgr.messaging.models import OutboxMessage

NOW = paris(MONDAY - dt.timedelta(days=5), 7)


@pytest.fixture
def at_now(monkeypatch):
    monkeypatch.setattr(cli, "utcnow", lambda: NOW)


def dry_run(app, *args: str) -> list[str]:
    result = invoke_command(app, "automations", "dry-run", *args)
    assert result.exit_code == 0, result.output
    return result.output.splitlines()


def ours(lines: list[str]) -> list[str]:
    return [line for line in lines if "(test) »" in line]


def test_the_dry_run_lists_the_test_rules_messages(app, rules_world, at_now):
    title = rules_world.title
    lines = dry_run(app, "--days", "7")
    assert ours(lines) == [
        f"28/02/2031 08:30 · formateur@test.example · Mission : {title} · règle « Mission J−3 (test) »",
        f"01/03/2031 09:00 · p01@exemple.fr · Rappel : {title} · pièces jointes : session-{rules_world.id}.ics · "
        "règle « Rappel J−2 (test) »",
        f"01/03/2031 09:00 · p02@exemple.fr · Rappel : {title} · pièces jointes : session-{rules_world.id}.ics · "
        "règle « Rappel J−2 (test) »",
    ]
    assert lines[-1] == f"{len(lines) - 1} messages en 7 jours."
    assert ours(dry_run(app, "--days", "2")) == []  # from Wednesday 07:00 to Friday 07:00


def test_the_dry_run_follows_the_plan_and_writes_nothing(app, rules_world, at_now):
    lines = dry_run(app)  # 7 days by default
    db.session.expire_all()
    assert lines[:-1] == [cli.line(p) for p in engine.plan(NOW, NOW + dt.timedelta(days=7))]
    assert db.session.scalar(select(func.count()).select_from(AutomationFiring)) == 0
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_the_dry_run_of_one_session(app, rules_world, open_session, at_now):
    other = open_session()
    assert ours(dry_run(app, "--session", str(other.id))) == []
    assert len(ours(dry_run(app, "--session", str(rules_world.id)))) == 3


def test_a_message_that_cannot_be_rendered_is_shown_with_its_error(app, rules_world, at_now):
    rule_of("test_mission_j3").template.subject = "{{ 1 / 0 }}"
    db.session.commit()
    [line] = [line for line in dry_run(app) if "Mission J−3" in line]
    assert line == ("28/02/2031 08:30 · formateur@test.example · (objet non rendu) · règle « Mission J−3 (test) » · "
                    "ERREUR : Modèle « Mission (test) » : Objet : le modèle ne peut pas être rendu : division par "
                    "zéro.")


def test_a_dry_run_creates_the_default_rules(app, test_automations):
    dry_run(app)
    assert rule_of("test_reminder_j2") is not None
    assert db.session.scalar(select(func.count()).select_from(AutomationFiring)) == 0


@pytest.mark.parametrize("args, message", [
    (["--days", "0"], "Erreur : Le nombre de jours doit être compris entre 1 et 366 (reçu : 0)."),
    (["--days", "400"], "Erreur : Le nombre de jours doit être compris entre 1 et 366 (reçu : 400)."),
    (["--session", "abc"], "Erreur : L'identifiant doit être un nombre entier entre 1 et 2147483647 (reçu : « abc »)."),
])
def test_bad_options_are_refused_in_french(app, args, message):
    result = invoke_command(app, "automations", "dry-run", *args)
    assert result.exit_code == 2
    assert result.output.strip().splitlines()[-1] == message


def test_the_real_command_runs(app, database_url, tmp_path):
    """As an operator runs it (its own process): an empty plan is one line."""
    result = run_flask("automations", "dry-run", "--days", "3", database_url=database_url, files_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].endswith("en 3 jours.")
