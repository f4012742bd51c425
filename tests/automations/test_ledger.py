"""The ledger: a rule fires once per (rule, recipient, object, occasion), whatever happens to it afterwards (its
offset, template or audience edited, switched off and on), when two workers run at once, and after an outage."""
from __future__ import annotations

import datetime as dt
import threading

from sqlalchemy import func, select

from tests.fixtures.automations import only, paris, rule_of
from tests.helpers import MONDAY
from trainingmgr.automations import engine, services
from trainingmgr.automations.models import AutomationFiring
from trainingmgr.extensions import db
from trainingmgr.messaging.models import OutboxMessage
from trainingmgr.trainees.models import Trainee

SATURDAY, FRIDAY, SUNDAY = (MONDAY - dt.timedelta(days=n) for n in (2, 3, 1))
TESTS = ("test_reminder_j2", "test_mission_j3")


def sent() -> list[tuple[str, str]]:
    """(topic, recipient) of every queued message, read afresh."""
    db.session.expire_all()
    return sorted(tuple(row) for row in db.session.execute(select(OutboxMessage.topic, OutboxMessage.recipient)))


def fire(now: dt.datetime) -> int:
    count = engine.fire_due(now)
    db.session.commit()
    return count


def rule_data(rule, **changes) -> dict:
    data = {"name": rule.name, "trigger": rule.trigger, "offset_days": rule.offset_days, "send_time": rule.send_time,
            "audience": rule.audience, "template_id": rule.template_id, "attachments": list(rule.attachments),
            "active": rule.active}
    return {**data, **changes}


ALL = [("test_mission_j3", "formateur@test.example"), ("test_reminder", "p01@exemple.fr"),
       ("test_reminder", "p02@exemple.fr")]


def test_each_message_leaves_once(app, rules_world):
    assert fire(paris(FRIDAY, 8, 30)) == 1
    assert fire(paris(FRIDAY, 8, 31)) == 0
    assert fire(paris(SATURDAY)) == 2
    for hour in (10, 12, 18):
        assert fire(paris(SATURDAY, hour)) == 0
    assert sent() == ALL
    assert db.session.scalar(select(func.count()).select_from(AutomationFiring)) == 3


def test_editing_the_offset_the_send_time_or_the_template_never_resends(app, rules_world, services_clock):
    fire(paris(SATURDAY))
    reminder = rule_of("test_reminder_j2")
    services.update_rule(reminder, rule_data(reminder, offset_days=1, send_time="18:00"), None)
    services.save_template(reminder.template, "Nouveau rappel : {{ session.title }}",
                           "Bonjour {{ recipient.name }}, à lundi !", None)
    mission = rule_of("test_mission_j3")
    services.update_rule(mission, rule_data(mission, offset_days=1), None)
    db.session.commit()
    assert only(engine.plan(paris(SATURDAY, 10), paris(MONDAY)), *TESTS) == []
    for moment in (paris(SUNDAY), paris(SUNDAY, 18), paris(SUNDAY, 20)):
        assert fire(moment) == 0
    assert sent() == ALL


def test_an_audience_that_still_includes_the_recipient_does_not_resend(app, rules_world, world, new_trainee, services_clock):
    from trainingmgr.enrolments.services import enrol

    enrol(rules_world, new_trainee(3, email="formateur@test.example"), notify=False)  # the trainer is a trainee too
    db.session.commit()
    fire(paris(SATURDAY))
    assert ("test_reminder", "formateur@test.example") in sent()
    reminder = rule_of("test_reminder_j2")
    services.update_rule(reminder, rule_data(reminder, audience="trainer", attachments=[]), None)
    db.session.commit()
    assert fire(paris(SATURDAY, 10)) == 0
    assert len(sent()) == 4


def test_switching_a_rule_off_and_on_neither_resends_nor_catches_up(app, rules_world, services_clock):
    fire(paris(FRIDAY, 8, 30))  # the trainer's mission left; the trainees' J−2 falls due while the rule is off
    reminder, mission = rule_of("test_reminder_j2"), rule_of("test_mission_j3")
    services_clock.now = paris(FRIDAY, 12)
    services.set_rule_active(reminder, False, None)
    services.set_rule_active(mission, False, None)
    db.session.commit()
    assert fire(paris(SATURDAY)) == 0
    services_clock.now = paris(SATURDAY, 10)
    services.set_rule_active(reminder, True, None)
    services.set_rule_active(mission, True, None)
    db.session.commit()
    assert reminder.enabled_since == paris(SATURDAY, 10)
    assert fire(paris(SATURDAY, 10, 5)) == 0
    assert sent() == [("test_mission_j3", "formateur@test.example")]


def test_switching_a_rule_off_for_the_session_and_back_does_not_resend(app, rules_world, services_clock):
    fire(paris(SATURDAY))
    reminder = rule_of("test_reminder_j2")
    services.set_rule_session(reminder, rules_world.id, True, None)
    services.set_rule_session(reminder, rules_world.id, False, None)
    db.session.commit()
    assert fire(paris(SATURDAY, 10)) == 0
    assert sent() == ALL


def test_a_message_due_during_an_outage_leaves_once_when_the_worker_comes_back(app, open_session, world,
                                                                                new_trainee, test_automations):
    from trainingmgr.enrolments.services import enrol

    session = open_session(course=world.dume, start=MONDAY + dt.timedelta(days=7))  # J−2 on the Saturday before, J−3 on Friday
    enrol(session, new_trainee(1), notify=False)
    db.session.commit()
    back = paris(MONDAY + dt.timedelta(days=7) - dt.timedelta(days=1), 7)  # the worker was down for two days
    assert fire(back) == 2, sent()
    assert fire(back + dt.timedelta(minutes=1)) == 0
    assert sent() == [("test_mission_j3", "formateur@test.example"), ("test_reminder", "p01@exemple.fr")]
    firing = db.session.scalar(select(AutomationFiring).where(AutomationFiring.recipient == "p01@exemple.fr"))
    assert (firing.due_at, firing.fired_at) == (paris(MONDAY + dt.timedelta(days=5)), back)


def test_a_change_of_case_in_the_address_does_not_resend(app, rules_world):
    fire(paris(SATURDAY))
    trainee = db.session.scalar(select(Trainee).where(Trainee.email == "p01@exemple.fr"))
    trainee.email = "P01@Exemple.fr"
    db.session.commit()
    assert fire(paris(SATURDAY, 10)) == 0


def test_two_workers_at_once_send_each_message_once(app, rules_world):
    """Two passes of the worker at the same moment, each in its own application context and connection,
    released together: every key is claimed by one of them only."""
    now = paris(SATURDAY)
    barrier = threading.Barrier(2)
    results: list = [None, None]

    def worker(index: int) -> None:
        with app.app_context():
            try:
                barrier.wait(timeout=30)
                results[index] = engine.fire_due(now)
                db.session.commit()
            except Exception as exc:  # noqa: BLE001 - reported by the assertions
                db.session.rollback()
                results[index] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    assert all(isinstance(result, int) for result in results), results
    assert sum(results) == 3
    assert sent() == ALL
    assert fire(paris(SATURDAY, 10)) == 0
