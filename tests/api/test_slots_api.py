"""Half-day slots through the API: POST /sessions/<id>/slots and DELETE /slots/<id>."""
from __future__ import annotations

import datetime as dt

import pytest

from trainingmgr.extensions import db
from trainingmgr.sessions.models import Slot, TrainingSession

from tests.api.support import API, FIELDS_INVALID, INVALID, assert_error, committed_count, set_status
from tests.helpers import MONDAY

TUESDAY = (MONDAY + dt.timedelta(days=1)).isoformat()
SLOT_KEYS = {"id", "session_id", "date", "start_time", "end_time", "half_day", "hours", "location_id", "trainer_id",
             "trainer_name", "modality", "modality_label", "meeting_url", "activity", "quiz_id", "warnings"}


def add(client, staff, session_id, **body):
    return client.post(f"{API}/sessions/{session_id}/slots", json=body, headers=staff)


@pytest.fixture
def half(world, make_session):
    """A draft Chorus Pro session with only its morning slot left (Pierre, Salle Capitole, MONDAY)."""
    from trainingmgr.sessions.services import delete_slot

    session = make_session()
    delete_slot(session.slots[1])
    db.session.commit()
    return session


def slot_count(session) -> int:
    return committed_count(Slot, Slot.session_id == session.id)


# --------------------------------------------------------------------------- accepted


def test_add_afternoon_slot_with_the_session_defaults(client, world, half, staff):
    response = add(client, staff, half.id, date=MONDAY.isoformat(), start_time="13:30", end_time="17:00")
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == SLOT_KEYS
    slot_id = body.pop("id")
    assert body == {"session_id": half.id, "date": "2031-03-03", "start_time": "13:30", "end_time": "17:00",
                    "half_day": "afternoon", "hours": "3.50", "location_id": world.room.id,
                    "trainer_id": world.pierre.id, "trainer_name": "Pierre Formateur", "modality": "room",
                    "modality_label": "En salle", "meeting_url": "", "activity": "", "quiz_id": None, "warnings": []}
    session = client.get(f"{API}/sessions/{half.id}", headers=staff).get_json()
    assert [s["id"] for s in session["slots"]] == [half.slots[0].id, slot_id]
    assert session["planned_hours"] == "7.00"
    assert slot_count(half) == 2


def test_add_slot_with_another_trainer_and_room(client, world, half, staff):
    half.capacity = 4
    db.session.commit()
    response = add(client, staff, half.id, date=TUESDAY, start_time="09:00", end_time="12:00",
                   trainer_id=world.paula.id, location_id=world.small_room.id)
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert (body["trainer_id"], body["trainer_name"], body["location_id"], body["hours"]) == (
        world.paula.id, "Paula Formatrice", world.small_room.id, "3.00")
    assert (body["start_time"], body["end_time"], body["half_day"]) == ("09:00", "12:00", "morning")
    trainers = client.get(f"{API}/sessions/{half.id}", headers=staff).get_json()["trainers"]
    assert trainers == [{"id": world.pierre.id, "name": "Pierre Formateur"},
                        {"id": world.paula.id, "name": "Paula Formatrice"}]


def test_add_slot_without_trainer_or_room(client, world, half, staff):
    body = add(client, staff, half.id, date=TUESDAY, start_time="14:00", end_time="17:00", trainer_id=None,
               location_id=None).get_json()
    assert (body["trainer_id"], body["trainer_name"], body["location_id"]) == (None, None, None)
    warnings = client.patch(f"{API}/sessions/{half.id}", json={}, headers=staff).get_json()["warnings"]
    assert "Créneau sans formateur : 04/03/2031 (après-midi)." in warnings


def test_a_morning_slot_may_end_at_14_00(client, world, half, staff):
    response = add(client, staff, half.id, date=TUESDAY, start_time="10:00", end_time="14:00")
    assert response.status_code == 201, response.get_data(as_text=True)
    assert (response.get_json()["half_day"], response.get_json()["hours"]) == ("morning", "4.00")


def test_an_afternoon_starts_at_noon(client, world, half, staff):
    body = add(client, staff, half.id, date=MONDAY.isoformat(), start_time="12:30", end_time="16:00").get_json()
    assert body["half_day"] == "afternoon"


@pytest.mark.parametrize("day, warning", [
    ("2031-03-08", "Le 08/03/2031 tombe un samedi."),
    ("2031-03-09", "Le 09/03/2031 tombe un dimanche."),
    ("2031-05-01", "Le 01/05/2031 est un jour férié (Fête du Travail)."),
])
def test_slot_on_a_day_off_is_saved_with_a_warning(client, world, half, staff, day, warning):
    response = add(client, staff, half.id, date=day, start_time="09:00", end_time="12:00")
    assert response.status_code == 201
    assert response.get_json()["warnings"] == [warning]


# --------------------------------------------------------------------------- refused


BAD_DATE = ["Date invalide (format AAAA-MM-JJ)."]
BAD_TIME = ["Heure invalide (format HH:MM)."]


@pytest.mark.parametrize("body, fields", [
    ({}, {"date": ["Champ obligatoire."], "start_time": ["Champ obligatoire."], "end_time": ["Champ obligatoire."]}),
    ({"date": "03/03/2031", "start_time": "13:30", "end_time": "17:00"}, {"date": BAD_DATE}),
    ({"date": "2031-03-03", "start_time": "9h", "end_time": "17:00"}, {"start_time": BAD_TIME}),
    ({"date": "2031-03-03", "start_time": "13:30", "end_time": "25:00"}, {"end_time": BAD_TIME}),
    ({"date": "2031-03-03", "start_time": "13:30:00", "end_time": "1:00"}, {"start_time": BAD_TIME,
                                                                           "end_time": BAD_TIME}),
    ({"date": "2031-03-03", "start_time": 1330, "end_time": "17:00"}, {"start_time": BAD_TIME}),
    ({"date": None, "start_time": "13:30", "end_time": "17:00"}, {"date": ["Ce champ ne peut pas être vide."]}),
    ({"date": "2031-03-03", "start_time": "13:30", "end_time": "17:00", "hours": 3.5}, {"hours": ["Champ inconnu."]}),
    ({"date": "2031-03-03", "start_time": "13:30", "end_time": "17:00", "trainer_id": "1"},
     {"trainer_id": ["Nombre entier attendu."]}),
    ({"date": "2031-03-03", "start_time": "13:30", "end_time": "17:00", "location_id": 2**31},
     {"location_id": ["Identifiant invalide : nombre entier de 1 à 2147483647 attendu."]}),
])
def test_add_slot_refuses_badly_typed_input(client, world, half, staff, body, fields):
    assert_error(add(client, staff, half.id, **body), 422, "validation_error", INVALID, fields)
    assert slot_count(half) == 1


@pytest.mark.parametrize("start, end, field, message", [
    ("17:00", "13:30", "end_time", "L'heure de fin doit être postérieure à l'heure de début."),
    ("14:00", "14:00", "end_time", "L'heure de fin doit être postérieure à l'heure de début."),
    ("09:00", "14:30", "end_time", "Un créneau du matin doit se terminer au plus tard à 14:00 "
                                   "(un créneau de l'après-midi commence à partir de 12:00)."),
    ("11:59", "17:00", "end_time", "Un créneau du matin doit se terminer au plus tard à 14:00 "
                                   "(un créneau de l'après-midi commence à partir de 12:00)."),
    ("12:00", "13:00", "start_time", "Ce créneau chevauche celui du 03/03/2031 de 09:00 à 12:30 dans cette session."),
    ("08:00", "09:30", "start_time", "Ce créneau chevauche celui du 03/03/2031 de 09:00 à 12:30 dans cette session."),
    ("07:00", "08:30", "start_time", "Cette session a déjà un créneau le 03/03/2031 (matin) : une demi-journée ne "
                                     "compte qu'un créneau."),
])
def test_add_slot_refuses_a_bad_half_day(client, world, half, staff, start, end, field, message):
    response = add(client, staff, half.id, date=MONDAY.isoformat(), start_time=start, end_time=end)
    assert_error(response, 422, "validation_error", message, {field: [message]})
    assert slot_count(half) == 1


def test_add_slot_refuses_a_date_out_of_range(client, world, half, staff):
    response = add(client, staff, half.id, date="1999-03-03", start_time="09:00", end_time="12:00")
    assert_error(response, 422, "validation_error", INVALID,
                 {"date": ["L'année doit être comprise entre 2000 et 2100."]})


@pytest.mark.parametrize("extra, fields", [
    ({"trainer_id": 999, "location_id": 999},
     {"location_id": ["Lieu introuvable."], "trainer_id": ["Formateur introuvable."]}),
    ({"trainer_id": 999}, {"trainer_id": ["Formateur introuvable."]}),
])
def test_add_slot_refuses_unknown_trainer_or_room(client, world, half, staff, extra, fields):
    response = add(client, staff, half.id, date=TUESDAY, start_time="09:00", end_time="12:00", **extra)
    assert_error(response, 422, "validation_error", FIELDS_INVALID, fields)
    assert slot_count(half) == 1


def test_add_slot_refuses_a_remote_room_for_a_session_in_person(client, world, half, staff):
    message = "Une session en présentiel a besoin d'un lieu physique."
    response = add(client, staff, half.id, date=TUESDAY, start_time="09:00", end_time="12:00",
                   location_id=world.remote.id)
    assert_error(response, 422, "validation_error", message, {"location_id": [message]})


def test_add_slot_refuses_a_room_too_small_for_the_session(client, world, half, staff):
    message = "La salle « Petite salle » n'a que 4 places pour une session de 7 stagiaires."
    response = add(client, staff, half.id, date=TUESDAY, start_time="09:00", end_time="12:00",
                   location_id=world.small_room.id)
    assert_error(response, 422, "validation_error", message, {"location_id": [message]})
    assert slot_count(half) == 1


def test_trainer_double_booked_by_another_session_is_409(client, world, make_session, half, staff):
    other = make_session(start=MONDAY + dt.timedelta(days=1), trainer=world.pierre, location=world.small_room,
                         capacity=4)
    message = (f"Le formateur Pierre Formateur est déjà pris le 04/03/2031 de 13:30 à 17:00 par la session "
               f"« Chorus Pro » le 04/03/2031 (n° {other.id}).")
    response = add(client, staff, half.id, date=TUESDAY, start_time="14:00", end_time="16:00")
    assert_error(response, 409, "conflict", message, {"trainer_id": [message]})
    assert slot_count(half) == 1


def test_room_double_booked_by_another_session_is_409(client, world, make_session, half, staff):
    other = make_session(start=MONDAY + dt.timedelta(days=1), trainer=world.paula, location=world.room)
    message = (f"Le lieu « Salle Capitole » est déjà pris le 04/03/2031 de 09:00 à 12:30 par la session "
               f"« Chorus Pro » le 04/03/2031 (n° {other.id}).")
    response = add(client, staff, half.id, date=TUESDAY, start_time="08:00", end_time="09:30", trainer_id=None)
    assert_error(response, 409, "conflict", message, {"location_id": [message]})
    assert slot_count(half) == 1


def test_slots_that_only_touch_do_not_conflict(client, world, make_session, half, staff):
    make_session(start=MONDAY + dt.timedelta(days=1), trainer=world.pierre, location=world.room)
    response = add(client, staff, half.id, date=TUESDAY, start_time="07:30", end_time="09:00")
    assert response.status_code == 201, response.get_data(as_text=True)


def test_adding_hours_to_a_confirmed_session_is_422(client, world, make_session, staff):
    session = make_session()
    set_status(session, "confirmed")
    message = "Session confirmée : la durée planifiée doit rester de 7 h (elle serait de 10,5 h)."
    response = add(client, staff, session.id, date=TUESDAY, start_time="09:00", end_time="12:30")
    assert_error(response, 422, "validation_error", message, {})
    assert slot_count(session) == 2
    assert client.get(f"{API}/sessions/{session.id}", headers=staff).get_json()["planned_hours"] == "7.00"


@pytest.mark.parametrize("status, label", [("cancelled", "annulée"), ("in_progress", "en cours"),
                                           ("closed", "clôturée")])
def test_no_slot_may_be_added_once_the_session_runs_or_is_cancelled(client, world, half, staff, status, label):
    set_status(half, status)
    message = f"Les créneaux d'une session « {label} » ne peuvent plus être modifiés."
    response = add(client, staff, half.id, date=MONDAY.isoformat(), start_time="13:30", end_time="17:00")
    assert_error(response, 422, "validation_error", message)
    assert slot_count(half) == 1


@pytest.mark.parametrize("session_id", [999, 99999999999999999999])
def test_add_slot_to_unknown_session_is_404(client, world, staff, session_id):
    response = add(client, staff, session_id, date=TUESDAY, start_time="09:00", end_time="12:00")
    assert_error(response, 404, "not_found", "Session introuvable.", {})
    assert committed_count(Slot) == 0


# --------------------------------------------------------------------------- DELETE /slots/<id>


def test_delete_slot_of_a_draft_session(client, world, make_session, staff):
    session = make_session()
    afternoon = session.slots[1].id
    response = client.delete(f"{API}/slots/{afternoon}", headers=staff)
    assert response.status_code == 204
    assert response.get_data() == b""
    body = client.get(f"{API}/sessions/{session.id}", headers=staff).get_json()
    assert [s["start_time"] for s in body["slots"]] == ["09:00"]
    assert body["planned_hours"] == "3.50"
    assert committed_count(Slot, Slot.id == afternoon) == 0
    assert committed_count(TrainingSession) == 1
    assert_error(client.delete(f"{API}/slots/{afternoon}", headers=staff), 404, "not_found", "Créneau introuvable.")


def test_delete_slot_of_an_open_session(client, world, make_session, staff):
    session = make_session()
    set_status(session, "open")
    assert client.delete(f"{API}/slots/{session.slots[0].id}", headers=staff).status_code == 204
    assert slot_count(session) == 1


def test_deleting_a_slot_of_a_confirmed_session_is_422(client, world, make_session, staff):
    session = make_session()
    set_status(session, "confirmed")
    message = ("Session confirmée : sa durée doit rester celle de la formation. Modifiez le créneau (date, heures) au "
               "lieu de le supprimer.")
    assert_error(client.delete(f"{API}/slots/{session.slots[0].id}", headers=staff), 422, "validation_error",
                 message, {})
    assert slot_count(session) == 2


@pytest.mark.parametrize("status, label", [("cancelled", "annulée"), ("completed", "terminée")])
def test_deleting_a_slot_of_a_finished_session_is_422(client, world, make_session, staff, status, label):
    session = make_session()
    set_status(session, status)
    message = f"Les créneaux d'une session « {label} » ne peuvent plus être modifiés."
    assert_error(client.delete(f"{API}/slots/{session.slots[0].id}", headers=staff), 422, "validation_error",
                 message)
    assert slot_count(session) == 2


@pytest.mark.parametrize("slot_id", [999, 99999999999999999999])
def test_delete_unknown_slot_is_404(client, world, staff, slot_id):
    assert_error(client.delete(f"{API}/slots/{slot_id}", headers=staff), 404, "not_found", "Créneau introuvable.", {})
