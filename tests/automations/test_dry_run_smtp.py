"""The issue's acceptance test: what the dry run lists for the next 7 days is exactly what the worker then sends to
a real SMTP server (aiosmtpd) as the clock moves over those 7 days, hour by hour — no more, no less — and editing
the rules afterwards (offset, template text) sends nothing new.

Every default rule takes part (the application's own, J−7 convocation, J−1 reminder, J−7 trainer mission…, and the
test ones of tests/fixtures/automations.py). The clock is the engine's ``now`` argument and the dry-run command's
``utcnow``; the session's first half-day is on MONDAY, 5 days after the start. The programme the J−7 convocation
makes as it leaves is in the trainer's J−7 mission too, in the dry run as in the mail."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select

from tests.fixtures.app import invoke_command
from tests.fixtures.automations import paris
from tests.fixtures.enrolments import confirm
from tests.helpers import MONDAY
from trainingmgr.automations import cli, engine, services
from trainingmgr.automations.models import AutomationFiring, AutomationRule
from trainingmgr.extensions import db
from trainingmgr.messaging import services as messaging
from trainingmgr.messaging.models import OutboxMessage

START = paris(MONDAY - dt.timedelta(days=5), 7)
WEEK = dt.timedelta(days=7)
STEP = dt.timedelta(hours=1)


def mail_of(recipient: str, subject: str, filenames) -> tuple:
    return recipient.lower(), subject, tuple(sorted(filenames))


def received(smtp_server) -> list[tuple]:
    return sorted(mail_of(str(m["To"]), str(m["Subject"]), [a.get_filename() for a in m.iter_attachments()])
                  for m in smtp_server.messages)


def run_week(run_in, start: dt.datetime) -> int:
    """The worker's passes, hourly over 7 days from ``start``: the rules fire, then the outbox leaves."""
    fired, now = 0, start
    while now <= start + WEEK:
        fired += engine.fire_due(now)
        db.session.commit()
        run_in(messaging.send_due_messages, now)
        now += STEP
    return fired


def test_the_dry_run_is_what_the_worker_sends_and_editing_the_rules_sends_nothing_new(
        app, world, open_session, new_trainee, test_automations, run_in, smtp_server, monkeypatch):
    from trainingmgr.enrolments.services import enrol

    session = open_session(course=world.dume, start=MONDAY)
    for n in (1, 2, 3):
        enrol(session, new_trainee(n), notify=False)
    confirm(session)  # the convocations and reminders are for a confirmed session
    engine.ensure_defaults()
    db.session.execute(delete(OutboxMessage))  # what the setup queued by other paths is not the rules' business
    db.session.commit()

    dry_run = engine.plan(START, START + WEEK)
    db.session.commit()  # the contexts may create what a message links to (a trainee's personal link)
    assert dry_run and not [p.error for p in dry_run if p.error]
    assert {p.recipient.email for p in dry_run} >= {"p01@exemple.fr", "p02@exemple.fr", "p03@exemple.fr",
                                                    "formateur@test.example"}
    assert any(p.attachments for p in dry_run)
    monkeypatch.setattr(cli, "utcnow", lambda: START)
    shown = invoke_command(app, "automations", "dry-run", "--days", "7")
    assert shown.exit_code == 0, (shown.output, shown.exc_info)
    assert shown.output.splitlines()[:-1] == [cli.line(p) for p in dry_run]

    assert run_week(run_in, START) == len(dry_run)
    # exactly the messages the dry run listed, to the same people, with the same subjects and the same files (the
    # documents made as a message leaves are named beforehand: triggers/sessions.pack_files)
    assert received(smtp_server) == sorted(mail_of(p.recipient.email, p.subject, [name for _, name in p.attachments])
                                           for p in dry_run)
    [mission] = [p for p in dry_run if p.rule.code == "trainer_mission_j7"]
    assert [label for label, _ in mission.attachments] == ["Programme de formation", "Fichier agenda"]
    for planned in dry_run:  # each left at the first pass after its moment
        firing = db.session.scalar(select(AutomationFiring).where(
            AutomationFiring.rule_id == planned.rule.id, AutomationFiring.recipient == planned.key[1],
            AutomationFiring.object_id == planned.occurrence.object_id))
        assert planned.when <= firing.fired_at < planned.when + STEP

    for rule in db.session.scalars(select(AutomationRule).where(
            AutomationRule.id.in_({p.rule.id for p in dry_run}))):
        data = {"name": rule.name, "trigger": rule.trigger, "offset_days": max(rule.offset_days - 1, 0),
                "send_time": "07:30", "audience": rule.audience, "template_id": rule.template_id,
                "attachments": list(rule.attachments)}
        services.update_rule(rule, data, None)
        services.save_template(rule.template, rule.template.subject + " (modifié)",
                               rule.template.body + "\n\nTexte modifié.", None)
    db.session.commit()
    assert [p for p in engine.plan(START, START + WEEK) if p.rule.id in {q.rule.id for q in dry_run}] == []
    count = len(smtp_server.messages)
    assert run_week(run_in, START) == 0
    assert len(smtp_server.messages) == count
