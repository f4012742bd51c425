"""A database older than the automations: migration c25a00000001 records when they took over from the old jobs
(Organisation.automations_since), and the default rules created afterwards never send what fell due before it,
which the old jobs had sent already. A new database has no such moment: its default rules send everything due."""
from __future__ import annotations

import datetime as dt

from tests.fixtures.automations import only, paris, rule_of
from tests.helpers import MONDAY
from trainingmgr.automations import engine
from trainingmgr.automations.models import AutomationRule
from trainingmgr.extensions import db
from trainingmgr.organisation.services import get_organisation

FRIDAY, SATURDAY = MONDAY - dt.timedelta(days=3), MONDAY - dt.timedelta(days=2)


def _recreate_defaults(since: dt.datetime | None) -> None:
    """The default rules as an upgraded database creates them at the worker's first pass after the migration."""
    get_organisation().automations_since = since
    for rule in db.session.scalars(db.select(AutomationRule).where(AutomationRule.code.is_not(None))):
        db.session.delete(rule)
    db.session.flush()
    engine.ensure_defaults()
    db.session.commit()


def test_an_upgraded_database_does_not_resend_what_the_old_jobs_handled(app, rules_world):
    # Upgraded on Friday 10:00: the trainers' J−3 mission (Friday 08:30) was the old code's to send.
    _recreate_defaults(paris(FRIDAY, 10))
    assert rule_of("test_mission_j3").enabled_since == paris(FRIDAY, 10)
    planned = only(engine.plan(paris(FRIDAY, 10), paris(SATURDAY, 12)), "test_mission_j3", "test_reminder_j2")
    assert [(p.rule.code, p.recipient.email) for p in planned] == [
        ("test_reminder_j2", "p01@exemple.fr"), ("test_reminder_j2", "p02@exemple.fr")]


def test_a_new_database_sends_everything_still_due(app, rules_world):
    _recreate_defaults(None)
    assert rule_of("test_mission_j3").enabled_since is None
    planned = only(engine.plan(paris(FRIDAY, 10), paris(SATURDAY, 12)), "test_mission_j3", "test_reminder_j2")
    assert [p.rule.code for p in planned] == ["test_mission_j3", "test_reminder_j2", "test_reminder_j2"]
