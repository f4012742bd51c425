"""Half-day slot rules, through the service layer: times, half-days, overlaps within a session, trainer and
room double-booking across sessions."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from trainingmgr.core.errors import ConflictError, ValidationError
from trainingmgr.extensions import db
from trainingmgr.sessions import services
from trainingmgr.sessions.models import Slot

from tests.fixtures.sessions import counts
from tests.helpers import MONDAY

TUESDAY = MONDAY + dt.timedelta(days=1)


def add(session, day=TUESDAY, start="09:00", end="12:30", **extra):
    data = {"date": day, "start_time": start, "end_time": end, **extra}
    return services.add_slot(session, data)


def refused(exc_type, fn, *args, **kwargs):
    """Run ``fn``, expect ``exc_type``; roll back as a view would and return the error."""
    with pytest.raises(exc_type) as info:
        fn(*args, **kwargs)
    db.session.rollback()
    return info.value


# --------------------------------------------------------------------------- one slot's times


@pytest.fixture
def empty(make_session):
    """A draft Chorus Pro session without slots (room, Pierre)."""
    return make_session(start=None)


def test_session_without_start_date_has_no_slot(empty):
    assert empty.slots == []
    assert empty.status == "draft"


@pytest.mark.parametrize("start,end", [("09:00", "12:30"), ("13:30", "17:00"), ("08:00", "14:00"),
                                       ("12:00", "18:00"), ("11:59", "14:00")])
def test_valid_half_days_are_accepted(empty, start, end):
    slot, _ = add(empty, start=start, end=end)
    db.session.commit()
    assert slot.id is not None
    assert (slot.start_time, slot.end_time) == (dt.time.fromisoformat(start), dt.time.fromisoformat(end))


@pytest.mark.parametrize("start,end", [("12:30", "09:00"), ("10:00", "10:00"), ("15:00", "14:59")])
def test_slot_must_end_after_it_starts(empty, start, end):
    error = refused(ValidationError, add, empty, start=start, end=end)
    assert error.status_code == 422
    assert "L'heure de fin doit être postérieure à l'heure de début." in error.fields["end_time"]
    assert counts()[1] == 0


@pytest.mark.parametrize("start,end", [("09:00", "14:01"), ("09:00", "17:00"), ("11:59", "14:30")])
def test_morning_slot_ends_by_14h(empty, start, end):
    error = refused(ValidationError, add, empty, start=start, end=end)
    assert "au plus tard à 14:00" in error.fields["end_time"][0]
    assert counts()[1] == 0


def test_half_day_follows_start_time(empty):
    morning, _ = add(empty, start="11:00", end="13:00")
    afternoon, _ = add(empty, start="14:00", end="17:00")
    assert (morning.half_day, afternoon.half_day) == ("morning", "afternoon")
    assert morning.half_day_label == "Matin" and afternoon.half_day_label == "Après-midi"
    assert morning.hours == Decimal("2.00")


@pytest.mark.parametrize("field,value,message", [
    ("date", "2031-02-30", "La date : date invalide (format attendu AAAA-MM-JJ)."),
    ("date", "demain", "La date : date invalide (format attendu AAAA-MM-JJ)."),
    ("date", "1999-12-31", "La date : l'année doit être comprise entre 2000 et 2100."),
    ("date", "", "La date est obligatoire."),
    ("start_time", "25:00", "L'heure de début : heure invalide (format attendu HH:MM)."),
    ("start_time", None, "L'heure de début est obligatoire."),
    ("end_time", "midi", "L'heure de fin : heure invalide (format attendu HH:MM)."),
])
def test_bad_slot_input_is_refused_in_french(empty, field, value, message):
    data = {"date": TUESDAY.isoformat(), "start_time": "09:00", "end_time": "12:30", field: value}
    error = refused(ValidationError, services.add_slot, empty, data)
    assert message in error.fields[field]
    assert counts()[1] == 0


@pytest.mark.parametrize("field,label", [("location_id", "Lieu introuvable."),
                                         ("trainer_id", "Formateur introuvable.")])
@pytest.mark.parametrize("value", ["9999", "abc"])
def test_slot_unknown_ids_are_refused(empty, field, label, value):
    error = refused(ValidationError, add, empty, **{field: value})
    assert error.fields[field] == [label]
    assert counts()[1] == 0


def test_slot_defaults_to_session_location_and_first_trainer(empty, world):
    slot, _ = add(empty)
    assert slot.location is world.room
    assert slot.trainer is world.pierre


def test_slot_trainer_joins_the_session_trainers(empty, world):
    add(empty, trainer_id=world.paula.id)
    db.session.commit()
    assert {t.id for t in empty.trainers} == {world.pierre.id, world.paula.id}


# --------------------------------------------------------------------------- within one session


def test_overlapping_slots_in_the_same_session_are_refused(empty):
    add(empty, start="09:00", end="12:30")
    db.session.commit()
    error = refused(ValidationError, add, empty, start="12:00", end="17:00")
    assert "chevauche celui du 04/03/2031 de 09:00 à 12:30" in error.message
    assert counts()[1] == 1


def test_only_one_morning_per_date_and_session(empty):
    add(empty, start="08:00", end="09:00")
    db.session.commit()
    error = refused(ValidationError, add, empty, start="10:00", end="11:00")
    assert "déjà un créneau le 04/03/2031 (matin)" in error.message
    assert counts()[1] == 1


def test_only_one_afternoon_per_date_and_session(empty):
    add(empty, start="13:00", end="14:00")
    db.session.commit()
    error = refused(ValidationError, add, empty, start="15:00", end="17:00")
    assert "(après-midi)" in error.message
    assert counts()[1] == 1


def test_morning_and_afternoon_that_touch_are_fine(empty):
    add(empty, start="09:00", end="12:30")
    add(empty, start="12:30", end="17:00")
    db.session.commit()
    assert len(empty.slots) == 2


def test_same_half_day_on_another_date_is_fine(empty):
    add(empty, day=TUESDAY)
    add(empty, day=TUESDAY + dt.timedelta(days=1))
    db.session.commit()
    assert counts()[1] == 2


def test_update_slot_can_keep_its_own_half_day(empty):
    slot, _ = add(empty, start="09:00", end="12:00")
    db.session.commit()
    services.update_slot(slot, {"start_time": "09:30", "end_time": "12:30"})
    db.session.commit()
    assert (slot.start_time, slot.end_time) == (dt.time(9, 30), dt.time(12, 30))


def test_update_slot_cannot_move_onto_another_slot(empty):
    add(empty, day=TUESDAY)
    other, _ = add(empty, day=TUESDAY + dt.timedelta(days=1))
    db.session.commit()
    refused(ValidationError, services.update_slot, other, {"date": TUESDAY})
    db.session.expire_all()
    assert db.session.get(Slot, other.id).date == TUESDAY + dt.timedelta(days=1)


def test_update_slot_refuses_an_invalid_half_day(empty):
    slot, _ = add(empty)
    db.session.commit()
    error = refused(ValidationError, services.update_slot, slot, {"end_time": "15:00"})
    assert "au plus tard à 14:00" in error.message
    assert db.session.get(Slot, slot.id).end_time == dt.time(12, 30)


def test_delete_slot(empty):
    slot, _ = add(empty)
    db.session.commit()
    services.delete_slot(slot)
    db.session.commit()
    assert counts()[1] == 0


# --------------------------------------------------------------------------- across sessions


@pytest.fixture
def booked(make_session, world):
    """Session A on MONDAY (09:00-12:30, 13:30-17:00), Pierre in the Capitole room."""
    return make_session(start=MONDAY, trainer=world.pierre, location=world.room)


def test_trainer_cannot_be_double_booked_when_creating_a_session(booked, make_session, world):
    with pytest.raises(ConflictError) as info:
        make_session(start=MONDAY, trainer=world.pierre, location=world.small_room, capacity=4)
    db.session.rollback()
    error = info.value
    assert error.status_code == 409
    assert error.message == (f"Le formateur Pierre Formateur est déjà pris le 03/03/2031 de 09:00 à 12:30 par la "
                             f"session « Chorus Pro » le 03/03/2031 (n° {booked.id}).")
    assert "trainer_id" in error.fields
    assert counts() == (1, 2)


def test_room_cannot_be_double_booked_when_creating_a_session(booked, make_session, world):
    with pytest.raises(ConflictError) as info:
        make_session(course=world.dume, start=MONDAY, trainer=world.paula, location=world.room)
    db.session.rollback()
    assert info.value.message.startswith("Le lieu « Salle Capitole » est déjà pris le 03/03/2031 de 09:00 à 12:30")
    assert f"par la session « Chorus Pro » le 03/03/2031 (n° {booked.id})" in info.value.message
    assert "location_id" in info.value.fields
    assert counts() == (1, 2)


def test_trainer_double_booked_when_adding_a_slot(booked, make_session, world):
    other = make_session(start=None, trainer=world.pierre, location=world.small_room, capacity=4)
    error = refused(ConflictError, add, other, day=MONDAY, start="14:00", end="15:00")
    assert f"Le formateur Pierre Formateur est déjà pris le 03/03/2031 de 13:30 à 17:00 par la session " \
           f"« Chorus Pro » le 03/03/2031 (n° {booked.id})" in error.message
    assert counts() == (2, 2)


def test_room_double_booked_when_adding_a_slot(booked, make_session, world):
    other = make_session(start=None, trainer=world.paula, location=world.small_room, capacity=4)
    error = refused(ConflictError, add, other, day=MONDAY, start="08:00", end="09:30", location_id=world.room.id)
    assert "Le lieu « Salle Capitole » est déjà pris" in error.message
    assert f"(n° {booked.id})" in error.message
    assert counts() == (2, 2)


def test_trainer_double_booked_when_moving_a_slot(booked, make_session, world):
    other = make_session(start=TUESDAY, trainer=world.pierre, location=world.small_room, capacity=4)
    slot = other.slots[0]
    error = refused(ConflictError, services.update_slot, slot, {"date": MONDAY})
    assert f"(n° {booked.id})" in error.message
    assert db.session.get(Slot, slot.id).date == TUESDAY


def test_trainer_double_booked_when_changing_a_slot_trainer(booked, make_session, world):
    other = make_session(start=MONDAY, trainer=world.paula, location=world.small_room, capacity=4)
    error = refused(ConflictError, services.update_slot, other.slots[0], {"trainer_id": world.pierre.id})
    assert "Le formateur Pierre Formateur est déjà pris" in error.message
    assert db.session.get(Slot, other.slots[0].id).trainer_id == world.paula.id


def test_slots_that_only_touch_do_not_conflict(booked, make_session, world):
    other = make_session(start=None, trainer=world.pierre, location=world.room)
    add(other, day=MONDAY, start="07:00", end="09:00")  # ends when A's morning starts
    add(other, day=MONDAY, start="12:30", end="13:30")  # between A's morning and afternoon
    db.session.commit()
    assert counts() == (2, 4)


def test_same_times_on_another_day_do_not_conflict(booked, make_session, world):
    make_session(start=TUESDAY, trainer=world.pierre, location=world.room)
    assert counts() == (2, 4)


def test_other_trainer_and_other_room_do_not_conflict(booked, make_session, world):
    make_session(start=MONDAY, trainer=world.paula, location=world.small_room, capacity=4)
    assert counts() == (2, 4)


def test_cancelled_sessions_do_not_block(booked, make_session, world):
    services.change_status(booked, "cancelled", reason="Formateur malade")
    db.session.commit()
    second = make_session(start=MONDAY, trainer=world.pierre, location=world.room)
    assert len(second.slots) == 2
    assert counts() == (2, 4)


def test_remote_locations_have_no_room_conflict(make_session, world):
    first = make_session(start=MONDAY, trainer=world.pierre, location=world.remote, delivery_mode="distanciel")
    second = make_session(start=MONDAY, trainer=world.paula, location=world.remote, delivery_mode="distanciel")
    assert first.slots[0].location is world.remote and second.slots[0].location is world.remote
    assert counts() == (2, 4)


def test_remote_trainer_is_still_double_booked(make_session, world):
    make_session(start=MONDAY, trainer=world.pierre, location=world.remote, delivery_mode="distanciel")
    with pytest.raises(ConflictError):
        make_session(start=MONDAY, trainer=world.pierre, location=world.remote, delivery_mode="distanciel")
    db.session.rollback()
    assert counts() == (1, 2)


def test_slot_without_trainer_never_conflicts_on_trainer(booked, make_session, world):
    other = make_session(start=None, trainer=world.pierre, location=world.small_room, capacity=4)
    add(other, day=MONDAY, trainer_id="", location_id=world.small_room.id)
    db.session.commit()
    assert counts() == (2, 3)


def test_changing_session_location_checks_the_room(booked, make_session, world):
    other = make_session(start=MONDAY, trainer=world.paula, location=world.small_room, capacity=4)
    error = refused(ConflictError, services.update_session, other, {"location_id": world.room.id})
    assert "Le lieu « Salle Capitole » est déjà pris" in error.message
    assert f"(n° {booked.id})" in error.message
    db.session.expire_all()
    assert {s.location_id for s in db.session.get(type(other), other.id).slots} == {world.small_room.id}


def test_changing_session_trainers_checks_the_trainer(booked, make_session, world):
    other = make_session(start=MONDAY, trainer=world.paula, location=world.small_room, capacity=4)
    error = refused(ConflictError, services.update_session, other, {"trainer_ids": [world.pierre.id]})
    assert "Le formateur Pierre Formateur est déjà pris" in error.message
    db.session.expire_all()
    assert [t.id for t in db.session.get(type(other), other.id).trainers] == [world.paula.id]


# --------------------------------------------------------------------------- slot locations


def test_slot_room_smaller_than_the_session_is_refused(make_session, world):
    session = make_session(start=None, location=world.room, capacity=7)
    error = refused(ValidationError, add, session, location_id=world.small_room.id)
    assert error.fields["location_id"] == ["La salle « Petite salle » n'a que 4 places pour une session de 7 "
                                           "stagiaires."]
    assert counts()[1] == 0


def test_face_to_face_session_needs_a_physical_slot_location(empty, world):
    error = refused(ValidationError, add, empty, location_id=world.remote.id)
    assert error.fields["location_id"] == ["Une session en présentiel a besoin d'un lieu physique."]


def test_remote_session_needs_a_remote_slot_location(make_session, world):
    session = make_session(start=None, location=world.remote, delivery_mode="distanciel")
    error = refused(ValidationError, add, session, location_id=world.room.id)
    assert error.fields["location_id"] == ["Une session à distance a besoin d'un lieu à distance."]


def test_mixed_session_accepts_both_kinds_of_locations(make_session, world):
    session = make_session(start=None, location=world.room, delivery_mode="mixte")
    add(session, day=MONDAY, location_id=world.room.id)
    add(session, day=TUESDAY, location_id=world.remote.id)
    db.session.commit()
    assert counts()[1] == 2


def test_slots_cannot_be_given_an_archived_room_or_trainer(make_session, world):
    session = make_session(start=None, capacity=4)
    world.small_room.active = False
    world.paula.active = False
    db.session.commit()
    error = refused(ValidationError, add, session, location_id=world.small_room.id)
    assert error.fields == {"location_id": ["Le lieu « Petite salle » est archivé."]}
    error = refused(ValidationError, add, session, trainer_id=world.paula.id)
    assert error.fields == {"trainer_id": ["Paula Formatrice est archivé(e)."]}
    slot, _ = add(session, day=MONDAY)  # the session's own, active room and trainer
    db.session.commit()
    error = refused(ValidationError, services.update_slot, slot, {"location_id": world.small_room.id})
    assert error.fields == {"location_id": ["Le lieu « Petite salle » est archivé."]}
    error = refused(ValidationError, services.update_slot, slot, {"trainer_id": world.paula.id})
    assert error.fields == {"trainer_id": ["Paula Formatrice est archivé(e)."]}
    assert counts()[1] == 1
    db.session.expire_all()
    slot = db.session.get(Slot, slot.id)
    assert (slot.location_id, slot.trainer_id) == (world.room.id, world.pierre.id)


def test_a_slot_may_keep_the_archived_room_and_trainer_it_already_had(make_session, world):
    session = make_session(start=MONDAY)
    world.room.active = False
    world.pierre.active = False
    db.session.commit()
    services.update_slot(session.slots[0], {"start_time": "09:30"})
    db.session.commit()
    db.session.expire_all()
    slot = db.session.get(Slot, session.slots[0].id)
    assert (slot.start_time, slot.location_id, slot.trainer_id) == (dt.time(9, 30), world.room.id, world.pierre.id)


# --------------------------------------------------------------------------- session settings and the slots


def _third_trainer():
    from trainingmgr.resources.services import save_trainer

    trainer = save_trainer(None, {"first_name": "Jean", "last_name": "Tiers", "email": "jean.tiers@test.example"})
    db.session.commit()
    return trainer


def test_only_slots_held_at_the_session_location_follow_a_new_location(make_session, world):
    from trainingmgr.resources.services import save_location

    garonne = save_location(None, {"name": "Salle Garonne", "city": "Toulouse", "capacity": 12})
    session = make_session(start=MONDAY, capacity=4)  # Salle Capitole
    add(session, day=TUESDAY, location_id=world.small_room.id)
    add(session, day=TUESDAY + dt.timedelta(days=1), location_id="")  # deliberately without a place
    db.session.commit()
    services.update_session(session, {"location_id": garonne.id})
    db.session.commit()
    db.session.expire_all()
    slots = db.session.get(type(session), session.id).slots
    assert [(s.date, s.location_id) for s in slots] == [
        (MONDAY, garonne.id), (MONDAY, garonne.id), (TUESDAY, world.small_room.id),
        (TUESDAY + dt.timedelta(days=1), None)]


def test_slots_whose_trainer_leaves_the_team_get_the_new_first_trainer(make_session, world):
    jean = _third_trainer()
    session = make_session(start=MONDAY)  # Pierre on both Monday slots
    add(session, day=TUESDAY, trainer_id=world.paula.id)  # Paula joins the team
    db.session.commit()
    services.update_session(session, {"trainer_ids": [jean.id, world.paula.id]})
    db.session.commit()
    db.session.expire_all()
    saved = db.session.get(type(session), session.id)
    assert {t.id for t in saved.trainers} == {jean.id, world.paula.id}
    # Pierre left: his slots go to Jean, the new team's first; Paula stays on hers.
    assert [(s.date, s.trainer_id) for s in saved.slots] == [
        (MONDAY, jean.id), (MONDAY, jean.id), (TUESDAY, world.paula.id)]


def test_a_slot_left_without_trainer_stays_so_when_the_team_changes(make_session, world):
    session = make_session(start=MONDAY)  # Pierre
    add(session, day=TUESDAY, trainer_id="")  # deliberately without a trainer
    db.session.commit()
    services.update_session(session, {"trainer_ids": [world.paula.id]})
    db.session.commit()
    db.session.expire_all()
    slots = db.session.get(type(session), session.id).slots
    assert [(s.date, s.trainer_id) for s in slots] == [
        (MONDAY, world.paula.id), (MONDAY, world.paula.id), (TUESDAY, None)]


def test_slots_of_a_session_without_trainers_get_the_first_trainer_of_the_new_team(make_session, world):
    session = make_session(start=MONDAY, trainer_ids=[])
    assert {s.trainer_id for s in session.slots} == {None}
    services.update_session(session, {"trainer_ids": [world.paula.id, world.pierre.id]})
    db.session.commit()
    db.session.expire_all()
    assert {s.trainer_id for s in db.session.get(type(session), session.id).slots} == {world.paula.id}


# --------------------------------------------------------------------------- slots and status


@pytest.mark.parametrize("status", ["in_progress", "completed", "closed", "cancelled"])
def test_slots_of_a_running_or_finished_session_are_frozen(make_session, world, status):
    session = make_session(start=MONDAY)
    session.status = status  # reached through the workflow in test_status.py
    db.session.commit()
    error = refused(ValidationError, add, session, day=TUESDAY)
    assert "ne peuvent plus être modifiés" in error.message
    refused(ValidationError, services.update_slot, session.slots[0], {"start_time": "09:30"})
    refused(ValidationError, services.delete_slot, session.slots[0])
    assert counts() == (1, 2)


def test_confirmed_session_keeps_its_duration(make_session, world):
    session = make_session(start=MONDAY)
    services.change_status(session, "open")  # an inter session opens its enrolments before it is confirmed
    services.change_status(session, "confirmed")
    db.session.commit()
    error = refused(ValidationError, add, session, day=TUESDAY)
    assert "Session confirmée : la durée planifiée doit rester de 7 h (elle serait de 10,5 h)." == error.message
    error = refused(ValidationError, services.update_slot, session.slots[0], {"end_time": "12:00"})
    assert "elle serait de 6,5 h" in error.message
    error = refused(ValidationError, services.delete_slot, session.slots[0])
    assert "Modifiez le créneau" in error.message
    assert counts() == (1, 2)
    assert db.session.get(Slot, session.slots[0].id).end_time == dt.time(12, 30)


def test_confirmed_session_slot_may_move_with_same_duration(make_session, world):
    session = make_session(start=MONDAY)
    services.change_status(session, "open")  # an inter session opens its enrolments before it is confirmed
    services.change_status(session, "confirmed")
    db.session.commit()
    services.update_slot(session.slots[1], {"start_time": "14:00", "end_time": "17:30"})
    db.session.commit()
    assert session.planned_hours == Decimal("7.00")
