"""Planned absences: the trainee announces from their personal page that they will miss a half-day, with a reason,
until PLANNED_ABSENCE_HOURS_BEFORE hours before it; the sheet shows it to the advisor and the trainer and reads it
as a justified absence; the register itself is left as it is."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from trainingmgr.attendance import board, planned, services
from trainingmgr.attendance.models import AttendanceRecord, PlannedAbsence
from trainingmgr.automations import engine
from trainingmgr.companies.services import save_contact
from trainingmgr.enrolments.links import trainee_token
from trainingmgr.extensions import db

from tests.enrolments.support import outbox
from tests.helpers import page


def slots_of(session):
    return sorted(session.slots, key=lambda s: (s.date, s.start_time))


def url(enrolment) -> str:
    return f"/t/{trainee_token(enrolment)}"


def announce(client, enrolment, slot_id, reason="Rendez-vous médical"):
    return client.post(f"{url(enrolment)}/absences", data={"slot_id": str(slot_id), "reason": reason})


def stored() -> list[PlannedAbsence]:
    db.session.expire_all()
    return list(db.session.scalars(select(PlannedAbsence).order_by(PlannedAbsence.id)))


@pytest.fixture
def before(monkeypatch, klass):
    """The planned absences' clock, a week before the session (the attendance clock is ``clock``)."""
    class At:
        now = slots_of(klass[0])[0].starts_at - dt.timedelta(days=7)

        def __call__(self):
            return self.now

    at = At()
    monkeypatch.setattr("trainingmgr.attendance.planned.utcnow", at)
    return at


def test_a_trainee_announces_an_absence_from_the_personal_page(klass, client, before):
    session, (alice, _, _) = klass
    morning, afternoon = slots_of(session)
    home = page(client.get(url(alice)))
    assert 'data-card="absences"' in home and f'value="{morning.id}"' in home and f'value="{afternoon.id}"' in home
    response = announce(client, alice, afternoon.id, "Convocation au tribunal")
    assert response.status_code == 302
    [absence] = stored()
    assert (absence.enrolment_id, absence.slot_id, absence.reason) == (alice.id, afternoon.id, "Convocation au tribunal")
    home = page(client.get(url(alice)))
    assert "Convocation au tribunal" in home and f'value="{afternoon.id}"' not in home
    assert f'value="{morning.id}"' in home
    assert db.session.scalar(select(func.count()).select_from(AttendanceRecord)) == 0  # the register is untouched


def test_the_sheet_reads_it_as_a_justified_absence_shown_to_advisor_and_trainer(klass, client, before, clock,
                                                                              advisor, trainer):
    session, (alice, bob, _) = klass
    morning = slots_of(session)[0]
    assert announce(client, alice, morning.id).status_code == 302
    clock.at("08:00")  # before the window: still to come, announced
    cell = services.session_grid(session).cell(alice.id, morning.id)
    assert cell.status == "upcoming" and cell.planned is not None
    clock.at("09:00")  # open: no signature expected from Alice
    grid = services.session_grid(session)
    cell = grid.cell(alice.id, morning.id)
    assert cell.status == "absent" and cell.justification.startswith("absence prévue") and cell.justified_by_trainee
    assert cell.minutes == 0 and grid.cell(bob.id, morning.id).status == "pending"
    missing = board.missing_signatures(advisor_user(klass))
    assert [e.id for e, _ in missing[0].missing] == [bob.id, klass[1][2].id]
    for who in (advisor, trainer):
        sheet = page(who.get(f"/attendance/slots/{morning.id}"))
        assert "Absent (justifiée)" in sheet and "Rendez-vous médical" in sheet and "signalée par le stagiaire" in sheet
    from trainingmgr.documents.rendering.context import attendance_sheet

    rows = attendance_sheet(session, "T", "ABCDEFGHJKMN", "http://localhost/verify/x")["sheet"]["slots"][0]["rows"]
    assert next(r for r in rows if r["name"] == alice.trainee.full_name)["status"] == "Absent (justifiée)"


def advisor_user(klass):
    from trainingmgr.accounts.models import User

    return db.session.scalar(select(User).where(User.email == "conseil@test.example"))


def test_a_signature_still_wins_the_trainee_came_after_all(klass, client, before, clock):
    session, (alice, _, _) = klass
    morning = slots_of(session)[0]
    announce(client, alice, morning.id)
    services.sign(morning, alice, method="link", typed_name=alice.trainee.full_name)
    db.session.commit()
    cell = services.session_grid(session).cell(alice.id, morning.id)
    assert cell.status == "signed" and cell.minutes > 0 and not cell.justification


def test_the_advisor_may_still_record_a_justification_of_their_own(klass, client, before, clock, users):
    session, (alice, _, _) = klass
    morning = slots_of(session)[0]
    announce(client, alice, morning.id)
    clock.at("13:00")
    services.justify(morning, alice, {"reason": "Arrêt de travail reçu"}, users["advisor"])
    db.session.commit()
    cell = services.session_grid(session).cell(alice.id, morning.id)
    assert cell.justification == "Arrêt de travail reçu" and not cell.justified_by_trainee


def test_the_trainer_s_absence_mark_tells_the_employer_it_was_announced(klass, client, before, clock, users, world):
    session, (alice, _, _) = klass
    save_contact(world.company, None, {"role": "hr", "name": "Marie Dupont", "email": "rh@dupont.example"})
    world.company.absence_alerts = True
    alice.company = world.company
    db.session.commit()
    morning = slots_of(session)[0]
    announce(client, alice, morning.id)
    services.mark_presence(morning, alice, {"presence": "absent"}, users["trainer"])
    db.session.commit()
    engine.fire_due(clock.now)  # the worker's pass: the rule « Absence constatée » (automations)
    db.session.commit()
    [mail] = outbox("absence_alert")
    assert "signalée à l'avance par le stagiaire" in mail.body_text and "Rendez-vous" not in mail.body_text


# --------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(("slot", "reason", "field", "message"), [
    ("other", "Rendez-vous médical", "slot_id", "Choisissez une demi-journée de votre formation."),
    ("garbage", "Rendez-vous médical", "slot_id", "Choisissez une demi-journée de votre formation."),
    ("morning", "", "reason", "Indiquez le motif de votre absence."),
    ("morning", "  a ", "reason", "Indiquez le motif de votre absence."),
    ("morning", "x" * 1001, "reason", "Ce champ ne doit pas dépasser 1000 caractères."),
])
def test_bad_input_is_refused_with_a_french_422(make_class, client, before, slot, reason, field, message):
    session, (alice, _, _) = make_class(3)
    other, _ = make_class(1)
    slot_id = {"other": slots_of(other)[0].id, "garbage": "abc", "morning": slots_of(session)[0].id}[slot]
    response = announce(client, alice, slot_id, reason)
    assert response.status_code == 422
    assert message in page(response)
    assert stored() == []


def test_after_the_delay_it_is_too_late_409(klass, client, before, app):
    session, (alice, _, _) = klass
    morning = slots_of(session)[0]
    hours = app.config["PLANNED_ABSENCE_HOURS_BEFORE"]
    before.now = morning.starts_at - dt.timedelta(hours=hours, minutes=1)
    assert f'value="{morning.id}"' in page(client.get(url(alice)))
    before.now = morning.starts_at - dt.timedelta(hours=hours - 1)
    assert f'value="{morning.id}"' not in page(client.get(url(alice)))
    response = announce(client, alice, morning.id)
    assert response.status_code == 409
    assert "Il est trop tard pour signaler une absence" in page(response)
    assert stored() == []


def test_one_announcement_per_half_day_409(klass, client, before):
    session, (alice, _, _) = klass
    morning = slots_of(session)[0]
    assert announce(client, alice, morning.id).status_code == 302
    response = announce(client, alice, morning.id, "Autre motif")
    assert response.status_code == 409 and "déjà signalé" in page(response)
    assert [a.reason for a in stored()] == ["Rendez-vous médical"]


def test_a_cancelled_enrolment_announces_nothing_409(klass, client, before, users):
    from trainingmgr.enrolments.services import cancel

    session, (alice, _, _) = klass
    cancel(alice, users["advisor"], "Empêchement", notify=False)
    db.session.commit()
    assert 'data-card="absences"' not in page(client.get(url(alice)))
    response = announce(client, alice, slots_of(session)[0].id)
    assert response.status_code == 409
    assert stored() == []


def test_declarable_slots_leave_out_those_announced_and_past_the_deadline(klass, before):
    session, (alice, _, _) = klass
    morning, afternoon = slots_of(session)
    planned.declare(alice, {"slot_id": morning.id, "reason": "Formation interne"})
    db.session.commit()
    assert planned.declarable_slots(alice, before.now) == [afternoon]
    assert planned.declarable_slots(alice, afternoon.starts_at) == []


def test_the_reason_is_in_the_trainee_s_export_and_erased_with_their_identity(klass, before):
    from trainingmgr.privacy.services import anonymise_trainee, export_trainee

    session, (alice, _, _) = klass
    planned.declare(alice, {"slot_id": slots_of(session)[0].id, "reason": "Rendez-vous médical"}, ip="192.0.2.7")
    db.session.commit()
    exported = export_trainee(alice.trainee)["planned_absences"]
    assert [(a["reason"], a["ip"]) for a in exported] == [("Rendez-vous médical", "192.0.2.7")]
    anonymise_trainee(alice.trainee)
    db.session.commit()
    [absence] = stored()
    assert (absence.reason, absence.ip) == ("", "")
    assert services.session_grid(session).cell(alice.id, absence.slot_id).planned is not None  # still justified
