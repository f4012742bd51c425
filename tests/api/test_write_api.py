"""Creating and changing sessions through the API: POST /sessions and PATCH /sessions/<id>."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from trainingmgr.extensions import db
from trainingmgr.sessions.models import Slot, TrainingSession

from tests.api.support import (
    API,
    CHORUS,
    DUME,
    FIELDS_INVALID,
    INVALID,
    NUL,
    assert_error,
    committed_count,
    committed_value,
    set_status,
)
from tests.helpers import MONDAY

STAFF_KEYS = {"id", "course_slug", "course_title", "course_version", "status", "status_label", "format",
              "delivery_mode", "location", "trainers", "capacity", "min_trainees", "seats_left", "price_per_trainee",
              "intra_price", "first_date", "last_date", "planned_hours", "ics_url", "slots", "cancel_reason", "notes",
              "client_company_id", "warnings"}


def create(client, staff, **body):
    return client.post(f"{API}/sessions", json=body, headers=staff)


def patch(client, staff, session, **body):
    return client.patch(f"{API}/sessions/{session.id}", json=body, headers=staff)


def staff_view(client, staff, session_id: int) -> dict:
    response = client.get(f"{API}/sessions/{session_id}", headers=staff)
    assert response.status_code == 200
    return response.get_json()


def _variant_course(world, slug: str, **changes):
    """A course like Chorus Pro with other settings (not published: sessions may still be planned)."""
    from trainingmgr.catalogue.services import create_course
    from trainingmgr.demo.seeds import CHORUS_PRO

    course = create_course({**CHORUS_PRO, **changes}, world.users["advisor"], slug=slug)
    db.session.commit()
    return course


# --------------------------------------------------------------------------- POST /sessions: accepted


def test_create_chorus_session_lays_out_the_usual_day(client, world, staff):
    response = create(client, staff, course_slug=CHORUS, start_date=MONDAY.isoformat(), location_id=world.room.id,
                      trainer_ids=[world.pierre.id], price_per_trainee="600", notes="  Salle réservée  ")
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == STAFF_KEYS
    session = db.session.get(TrainingSession, body["id"])
    assert [(s["date"], s["start_time"], s["end_time"], s["half_day"], s["hours"]) for s in body["slots"]] == [
        ("2031-03-03", "09:00", "12:30", "morning", "3.50"),
        ("2031-03-03", "13:30", "17:00", "afternoon", "3.50"),
    ]
    assert all(s["trainer_id"] == world.pierre.id and s["location_id"] == world.room.id and
               s["trainer_name"] == "Pierre Formateur" and s["session_id"] == body["id"] for s in body["slots"])
    assert body["planned_hours"] == "7.00"
    assert {k: body[k] for k in ("course_slug", "course_title", "course_version", "status", "status_label", "format",
                                 "delivery_mode", "capacity", "min_trainees", "seats_left", "price_per_trainee",
                                 "intra_price", "first_date", "last_date", "ics_url", "cancel_reason", "notes",
                                 "client_company_id", "warnings")} == {
        "course_slug": CHORUS, "course_title": "Chorus Pro", "course_version": 1, "status": "draft",
        "status_label": "Brouillon", "format": "inter", "delivery_mode": "presentiel",
        "capacity": 7, "min_trainees": 1, "seats_left": 7, "price_per_trainee": "600.00", "intra_price": None,
        "first_date": "2031-03-03", "last_date": "2031-03-03", "ics_url": None, "cancel_reason": "",
        "notes": "Salle réservée", "client_company_id": None, "warnings": [],
    }
    assert body["trainers"] == [{"id": world.pierre.id, "name": "Pierre Formateur"}]
    assert body["location"]["name"] == "Salle Capitole"
    # Saved for good.
    assert committed_count(TrainingSession) == 1
    assert committed_count(Slot, Slot.session_id == session.id) == 2
    assert committed_value(TrainingSession.price_per_trainee, TrainingSession.id == session.id) == Decimal("600.00")


def test_create_dume_session_by_id_takes_the_course_defaults(client, world, staff):
    response = create(client, staff, course_id=world.dume.id, start_date=MONDAY.isoformat(),
                      location_id=world.room.id, trainer_ids=[world.paula.id])
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert (body["course_slug"], body["price_per_trainee"], body["capacity"], body["min_trainees"]) == (
        DUME, "600.00", 8, 1)
    assert [(s["start_time"], s["end_time"], s["hours"]) for s in body["slots"]] == [
        ("08:30", "12:30", "4.00"), ("13:30", "17:30", "4.00")]
    assert body["planned_hours"] == "8.00"


def test_create_without_start_date_has_no_slot_and_says_what_is_missing(client, world, staff):
    response = create(client, staff, course_slug=DUME)
    assert response.status_code == 201
    body = response.get_json()
    assert body["slots"] == []
    assert (body["planned_hours"], body["first_date"], body["last_date"]) == ("0.00", None, None)
    assert (body["location"], body["trainers"], body["capacity"]) == (None, [], 8)
    assert body["warnings"] == ["Aucun créneau planifié.", "Aucun formateur.", "Aucun lieu."]


def test_capacity_defaults_to_the_smaller_of_course_and_room(client, world, staff):
    body = create(client, staff, course_slug=CHORUS, location_id=world.small_room.id).get_json()
    assert body["capacity"] == 4
    body = create(client, staff, course_slug=CHORUS, location_id=world.room.id).get_json()
    assert body["capacity"] == 7


def test_create_intra_session_with_client_company(client, world, staff):
    response = create(client, staff, course_slug=CHORUS, format="intra", client_company_id=world.company.id,
                      intra_price=1500, capacity=6, min_trainees=3)
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert (body["format"], body["client_company_id"], body["intra_price"], body["price_per_trainee"]) == (
        "intra", world.company.id, "1500.00", None)
    assert (body["capacity"], body["min_trainees"], body["seats_left"]) == (6, 3, 6)


def test_create_over_several_days_skips_the_weekend(client, world, staff):
    _variant_course(world, "chorus-pro-2-jours", title="Chorus Pro approfondi", duration_hours=Decimal("14"),
                    duration_days=Decimal("2"))
    friday = MONDAY + dt.timedelta(days=4)
    body = create(client, staff, course_slug="chorus-pro-2-jours", start_date=friday.isoformat(),
                  trainer_ids=[world.pierre.id], location_id=world.room.id).get_json()
    assert [(s["date"], s["start_time"], s["end_time"]) for s in body["slots"]] == [
        ("2031-03-07", "09:00", "12:30"), ("2031-03-07", "13:30", "17:00"),
        ("2031-03-10", "09:00", "12:30"), ("2031-03-10", "13:30", "17:00"),
    ]
    assert (body["first_date"], body["last_date"], body["planned_hours"]) == ("2031-03-07", "2031-03-10", "14.00")


def test_create_shortens_the_last_half_day_to_the_course_duration(client, world, staff):
    _variant_course(world, "chorus-pro-5h", duration_hours=Decimal("5"), duration_days=None)
    body = create(client, staff, course_slug="chorus-pro-5h", start_date=MONDAY.isoformat()).get_json()
    assert [(s["start_time"], s["end_time"], s["hours"]) for s in body["slots"]] == [
        ("09:00", "12:30", "3.50"), ("13:30", "15:00", "1.50")]
    assert body["planned_hours"] == "5.00"


def test_create_on_a_public_holiday_warns(client, world, staff):
    body = create(client, staff, course_slug=CHORUS, start_date="2031-05-01", price_per_trainee="600",
                  trainer_ids=[world.pierre.id], location_id=world.room.id).get_json()
    assert body["warnings"] == ["Le 01/05/2031 est un jour férié (Fête du Travail)."]


def test_created_session_is_a_draft_hidden_from_the_public(client, world, staff):
    body = create(client, staff, course_slug=CHORUS, start_date=MONDAY.isoformat(), price_per_trainee="600").get_json()
    assert_error(client.get(f"{API}/sessions/{body['id']}"), 404, "not_found", "Session introuvable.")
    assert client.get(f"{API}/sessions").get_json() == []
    assert [s["id"] for s in client.get(f"{API}/sessions", headers=staff).get_json()] == [body["id"]]


def test_a_session_may_be_planned_on_a_course_not_yet_published(client, world, staff):
    _variant_course(world, "nouveaute", title="Nouveauté")
    response = create(client, staff, course_slug="nouveaute", start_date=MONDAY.isoformat())
    assert response.status_code == 201
    assert response.get_json()["course_title"] == "Nouveauté"


def test_remote_room_is_never_double_booked(client, world, staff):
    for trainer in (world.pierre, world.paula):
        response = create(client, staff, course_slug=CHORUS, start_date=MONDAY.isoformat(),
                          delivery_mode="distanciel", location_id=world.remote.id, trainer_ids=[trainer.id])
        assert response.status_code == 201, response.get_data(as_text=True)
    assert committed_count(TrainingSession) == 2


def test_a_cancelled_session_frees_its_trainer_and_room(client, world, make_session, staff):
    other = make_session()
    set_status(other, "cancelled")
    response = create(client, staff, course_slug=CHORUS, start_date=MONDAY.isoformat(), location_id=world.room.id,
                      trainer_ids=[world.pierre.id])
    assert response.status_code == 201, response.get_data(as_text=True)


# --------------------------------------------------------------------------- POST /sessions: refused


def _assert_nothing_created():
    assert committed_count(TrainingSession) == 0
    assert committed_count(Slot) == 0


@pytest.mark.parametrize("body, fields", [
    ({"capacity": "abc"}, {"capacity": ["Nombre entier attendu."]}),
    ({"capacity": 3.5}, {"capacity": ["Nombre entier attendu."]}),
    ({"capacity": True}, {"capacity": ["Nombre entier attendu."]}),
    ({"capacity": "5"}, {"capacity": ["Nombre entier attendu."]}),
    ({"capacity": None}, {"capacity": ["Ce champ ne peut pas être vide."]}),
    ({"min_trainees": "deux"}, {"min_trainees": ["Nombre entier attendu."]}),
    ({"price_per_trainee": "abc"}, {"price_per_trainee": ["Nombre attendu."]}),
    ({"price_per_trainee": "NaN"}, {"price_per_trainee": ["Nombre attendu."]}),
    ({"intra_price": [600]}, {"intra_price": ["Nombre attendu."]}),
    ({"trainer_ids": "abc"}, {"trainer_ids": ["Liste attendue."]}),
    ({"trainer_ids": ["un"]}, {"trainer_ids.0": ["Nombre entier attendu."]}),
    ({"course_id": "1"}, {"course_id": ["Nombre entier attendu."]}),
    ({"location_id": 99999999999999999999},
     {"location_id": ["Identifiant invalide : nombre entier de 1 à 2147483647 attendu."]}),
    ({"trainer_ids": [2**31]}, {"trainer_ids.0": ["Identifiant invalide : nombre entier de 1 à 2147483647 attendu."]}),
    ({"client_company_id": 2**40},
     {"client_company_id": ["Identifiant invalide : nombre entier de 1 à 2147483647 attendu."]}),
    ({"start_date": "2031-02-30"}, {"start_date": ["Date invalide (format AAAA-MM-JJ)."]}),
    ({"start_date": "03/03/2031"}, {"start_date": ["Date invalide (format AAAA-MM-JJ)."]}),
    ({"format": "xx"}, {"format": ["Valeur attendue parmi : inter, intra."]}),
    ({"delivery_mode": "hybride"}, {"delivery_mode": ["Valeur attendue parmi : presentiel, distanciel, mixte."]}),
    ({"bogus": 1, "status": "open"}, {"bogus": ["Champ inconnu."], "status": ["Champ inconnu."]}),
])
def test_create_refuses_badly_typed_input(client, world, staff, body, fields):
    response = create(client, staff, **{"course_slug": CHORUS, "start_date": MONDAY.isoformat(), **body})
    assert_error(response, 422, "validation_error", INVALID, fields)
    _assert_nothing_created()


@pytest.mark.parametrize("body", [
    {"course_slug": CHORUS, "notes": "a\x00b"},
    {"course_slug": "chorus\x00pro"},
    {"course_slug": CHORUS, "notes": "ok", "bo\x00gus": 1},
])
def test_create_refuses_a_nul_character_anywhere_in_the_body(client, world, staff, body):
    response = create(client, staff, **{"start_date": MONDAY.isoformat(), **body})
    assert_error(response, 400, "bad_request", NUL, {})
    _assert_nothing_created()


@pytest.mark.parametrize("body, fields", [
    ({"price_per_trainee": "-5"}, {"price_per_trainee": ["Le prix par stagiaire doit être un nombre positif ou nul."]}),
    ({"price_per_trainee": -0.01},
     {"price_per_trainee": ["Le prix par stagiaire doit être un nombre positif ou nul."]}),
    ({"intra_price": "-1500"}, {"intra_price": ["Le prix intra doit être un nombre positif ou nul."]}),
    ({"price_per_trainee": "1e20"},
     {"price_per_trainee": ["Le prix par stagiaire doit être un nombre inférieur à 10 millions."]}),
    ({"price_per_trainee": "1e30"},
     {"price_per_trainee": ["Le prix par stagiaire doit être un nombre inférieur à 10 millions."]}),
    ({"price_per_trainee": "600.005"}, {"price_per_trainee": ["Le prix par stagiaire : deux décimales au plus."]}),
    ({"intra_price": 1500.001}, {"intra_price": ["Le prix intra : deux décimales au plus."]}),
    ({"min_trainees": 0},
     {"min_trainees": ["Le nombre minimum de stagiaires doit être un nombre entier compris entre 1 et 1000."]}),
    ({"start_date": "1999-12-31"}, {"start_date": ["L'année doit être comprise entre 2000 et 2100."]}),
    ({"start_date": "2101-01-01"}, {"start_date": ["L'année doit être comprise entre 2000 et 2100."]}),
])
def test_create_refuses_input_against_the_documented_rules(client, world, staff, body, fields):
    """Rules that the document states: the schema of the request checks them, with the services' messages."""
    response = create(client, staff, **{"course_slug": CHORUS, "start_date": MONDAY.isoformat(), **body})
    assert_error(response, 422, "validation_error", INVALID, fields)
    _assert_nothing_created()


@pytest.mark.parametrize("body, fields", [
    ({"capacity": 8}, {"capacity": ["La capacité (8) dépasse le maximum de la formation (7 stagiaires)."]}),
    ({"capacity": 5, "location_id": "small_room"},
     {"capacity": ["La capacité (5) dépasse celle de la salle « Petite salle » (4 places)."]}),
    ({"capacity": 3, "min_trainees": 4},
     {"min_trainees": ["Le minimum de stagiaires doit être inférieur ou égal à la capacité."]}),
    ({"location_id": 999, "trainer_ids": [999], "format": "intra", "client_company_id": 999},
     {"location_id": ["Lieu introuvable."], "trainer_ids": ["Formateur introuvable."],
      "client_company_id": ["Entreprise introuvable."]}),
    ({"format": "intra"}, {"client_company_id": ["Une session intra doit avoir une entreprise cliente."]}),
    ({"delivery_mode": "distanciel", "location_id": "room"},
     {"location_id": ["Une session à distance a besoin d'un lieu à distance (lien de réunion)."]}),
    ({"location_id": "remote"}, {"location_id": ["Une session en présentiel a besoin d'un lieu physique."]}),
])
def test_create_refuses_input_that_breaks_a_rule(client, world, staff, body, fields):
    rooms = {"room": world.room.id, "small_room": world.small_room.id, "remote": world.remote.id}
    body = {k: rooms.get(v, v) if k == "location_id" and isinstance(v, str) else v for k, v in body.items()}
    response = create(client, staff, **{"course_slug": CHORUS, "start_date": MONDAY.isoformat(), **body})
    error = assert_error(response, 422, "validation_error", fields=fields)
    assert error["message"] in (FIELDS_INVALID, fields[next(iter(fields))][0])
    _assert_nothing_created()


@pytest.mark.parametrize("capacity", [0, -3, 1001])
def test_create_refuses_a_capacity_out_of_range(client, world, staff, capacity):
    response = create(client, staff, course_slug=CHORUS, capacity=capacity)
    error = assert_error(response, 422, "validation_error", INVALID)
    assert error["fields"] == {"capacity": ["La capacité doit être un nombre entier compris entre 1 et 1000."]}
    _assert_nothing_created()


def test_range_messages_are_gender_neutral(client, world, staff):
    # « La capacité » and « Le nombre minimum » share one wording that agrees with both.
    response = create(client, staff, course_slug=CHORUS, capacity=0, min_trainees=0)
    assert_error(response, 422, "validation_error", INVALID, {
        "capacity": ["La capacité doit être un nombre entier compris entre 1 et 1000."],
        "min_trainees": ["Le nombre minimum de stagiaires doit être un nombre entier compris entre 1 et 1000."],
    })
    _assert_nothing_created()


@pytest.mark.parametrize("body, fields", [
    ({}, {"course_id": ["Choisissez la formation (course_id ou course_slug)."]}),
    ({"course_slug": "inconnue"}, {"course_slug": ["Formation introuvable."]}),
    ({"course_id": 999}, {"course_id": ["Formation introuvable."]}),
    ({"course_id": 2**31}, {"course_id": ["Identifiant invalide : nombre entier de 1 à 2147483647 attendu."]}),
])
def test_create_needs_a_known_course(client, world, staff, body, fields):
    assert_error(create(client, staff, **body), 422, "validation_error", fields=fields)
    _assert_nothing_created()


def test_create_refuses_an_archived_course(client, world, staff):
    from trainingmgr.catalogue.services import set_course_status

    set_course_status(world.chorus, "archived")
    db.session.commit()
    message = "Cette formation est archivée : on ne peut plus y planifier de session."
    assert_error(create(client, staff, course_slug=CHORUS), 422, "validation_error", message,
                 {"course_id": [message]})
    _assert_nothing_created()


def test_create_refuses_an_archived_trainer_or_room(client, world, staff):
    world.paula.active = False
    world.room.active = False
    db.session.commit()
    response = create(client, staff, course_slug=CHORUS, start_date=MONDAY.isoformat(),
                      trainer_ids=[world.paula.id], location_id=world.room.id)
    assert_error(response, 422, "validation_error", FIELDS_INVALID,
                 {"location_id": ["Ce lieu est archivé."], "trainer_ids": ["Paula Formatrice est archivé(e)."]})
    _assert_nothing_created()


def test_create_refuses_intra_for_an_inter_only_course(client, world, staff):
    response = create(client, staff, course_slug=DUME, format="intra", client_company_id=world.company.id)
    assert_error(response, 422, "validation_error", FIELDS_INVALID,
                 {"format": ["Cette formation est proposée en inter-entreprises uniquement."]})
    _assert_nothing_created()


@pytest.mark.parametrize("raw, status, code, message, fields", [
    ("{pas du json", 400, "bad_request", "La requête n'a pas pu être comprise.", {"_schema": ["Corps JSON invalide."]}),
    ("[1, 2]", 422, "validation_error", INVALID, {"_schema": ["Type de données invalide."]}),
    ('"chorus-pro"', 422, "validation_error", INVALID, {"_schema": ["Type de données invalide."]}),
])
def test_create_refuses_a_body_that_is_not_a_json_object(client, world, staff, raw, status, code, message, fields):
    response = client.post(f"{API}/sessions", data=raw, content_type="application/json", headers=staff, csrf=False)
    assert_error(response, status, code, message, fields)
    _assert_nothing_created()


NOT_JSON = "Envoyez le corps de la requête en JSON (Content-Type: application/json)."


@pytest.mark.parametrize("data, content_type", [
    ("course_slug=chorus-pro", "application/x-www-form-urlencoded"),
    ('{"course_slug": "chorus-pro"}', "text/plain"),
])
def test_writes_whose_body_is_not_json_are_415(client, world, make_session, staff, data, content_type):
    session = make_session()
    for method, url in (("post", f"{API}/sessions"), ("patch", f"{API}/sessions/{session.id}"),
                        ("post", f"{API}/sessions/{session.id}/slots")):
        kwargs = {"data": data, "content_type": content_type}
        if method == "post":
            kwargs["csrf"] = False
        assert_error(getattr(client, method)(url, headers=staff, **kwargs), 415, "unsupported_media_type",
                     NOT_JSON, {})
        # An anonymous caller is told to authenticate first, whatever the body.
        assert_error(getattr(client, method)(url, **kwargs), 401, "unauthorized")
    assert committed_count(TrainingSession) == 1
    assert committed_count(Slot) == 2


def test_trainer_double_booked_across_two_sessions_is_409_naming_the_other_session(client, world, make_session,
                                                                                      staff):
    other = make_session()  # Pierre, Salle Capitole, MONDAY 09:00-12:30 and 13:30-17:00
    message = (f"Le formateur Pierre Formateur est déjà pris le 03/03/2031 de 09:00 à 12:30 par la session "
               f"« Chorus Pro » le 03/03/2031 (n° {other.id}).")
    response = create(client, staff, course_slug=DUME, start_date=MONDAY.isoformat(), trainer_ids=[world.pierre.id],
                      location_id=world.small_room.id, capacity=4)
    assert_error(response, 409, "conflict", message, {"trainer_id": [message]})
    assert committed_count(TrainingSession) == 1
    assert committed_count(Slot) == 2


def test_room_double_booked_is_409(client, world, make_session, staff):
    other = make_session()
    message = (f"Le lieu « Salle Capitole » est déjà pris le 03/03/2031 de 09:00 à 12:30 par la session "
               f"« Chorus Pro » le 03/03/2031 (n° {other.id}).")
    response = create(client, staff, course_slug=CHORUS, start_date=MONDAY.isoformat(), trainer_ids=[world.paula.id],
                      location_id=world.room.id)
    assert_error(response, 409, "conflict", message, {"location_id": [message]})
    assert committed_count(TrainingSession) == 1
    assert committed_count(Slot) == 2


def test_conflict_on_the_second_day_keeps_nothing_of_the_first(client, world, make_session, staff):
    _variant_course(world, "chorus-pro-2-jours", duration_hours=Decimal("14"), duration_days=Decimal("2"))
    make_session(start=MONDAY + dt.timedelta(days=1), trainer=world.pierre, location=world.small_room, capacity=4)
    response = create(client, staff, course_slug="chorus-pro-2-jours", start_date=MONDAY.isoformat(),
                      trainer_ids=[world.pierre.id], location_id=world.room.id)
    error = assert_error(response, 409, "conflict")
    assert error["message"].startswith("Le formateur Pierre Formateur est déjà pris le 04/03/2031 de 09:00 à 12:30")
    assert committed_count(TrainingSession) == 1
    assert committed_count(Slot) == 2


# --------------------------------------------------------------------------- PATCH /sessions/<id>


def test_patch_changes_settings(client, world, make_session, staff):
    session = make_session()
    response = patch(client, staff, session, capacity=5, min_trainees=2, price_per_trainee="550.5",
                     notes="Prévoir le vidéoprojecteur")
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert (body["capacity"], body["min_trainees"], body["seats_left"], body["price_per_trainee"], body["notes"]) == (
        5, 2, 5, "550.50", "Prévoir le vidéoprojecteur")
    assert body["status"] == "draft"
    assert committed_value(TrainingSession.capacity, TrainingSession.id == session.id) == 5
    assert committed_value(TrainingSession.price_per_trainee, TrainingSession.id == session.id) == Decimal("550.50")


def test_patch_with_empty_body_changes_nothing(client, world, make_session, staff):
    session = make_session()
    before = staff_view(client, staff, session.id)
    response = patch(client, staff, session)
    assert response.status_code == 200
    assert staff_view(client, staff, session.id) == before


def test_patch_trainer_and_room_moves_the_slots(client, world, make_session, staff):
    session = make_session()
    response = patch(client, staff, session, trainer_ids=[world.paula.id], location_id=world.small_room.id,
                     capacity=4)
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["trainers"] == [{"id": world.paula.id, "name": "Paula Formatrice"}]
    assert [(s["trainer_id"], s["location_id"]) for s in body["slots"]] == [(world.paula.id, world.small_room.id)] * 2
    assert committed_count(Slot, Slot.trainer_id == world.paula.id) == 2


def test_patch_status_walks_through_the_life_of_a_session(client, world, make_session, staff):
    session = make_session()
    body = patch(client, staff, session, status="open").get_json()
    assert (body["status"], body["status_label"]) == ("open", "Inscriptions ouvertes")
    assert body["ics_url"] == f"http://localhost/catalogue/chorus-pro/sessions/{session.id}.ics"
    assert body["warnings"] == ["Sous le minimum : 0 inscrit pour 1 minimum."]
    assert [s["id"] for s in client.get(f"{API}/sessions").get_json()] == [session.id]  # now public
    body = patch(client, staff, session, status="confirmed").get_json()
    assert (body["status"], body["status_label"]) == ("confirmed", "Confirmée")
    body = patch(client, staff, session, status="cancelled", cancel_reason="  Formateur malade ").get_json()
    assert (body["status"], body["status_label"], body["cancel_reason"]) == ("cancelled", "Annulée", "Formateur malade")
    assert body["warnings"] == []
    assert committed_value(TrainingSession.status, TrainingSession.id == session.id) == "cancelled"
    assert client.get(f"{API}/sessions").get_json() == []


def test_patch_status_of_a_past_session_up_to_closed(client, world, make_session, staff):
    session = make_session(start=dt.date(2020, 1, 6))
    for status in ("open", "confirmed", "in_progress", "completed", "closed"):
        response = patch(client, staff, session, status=status)
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.get_json()["status"] == status
    assert committed_value(TrainingSession.status, TrainingSession.id == session.id) == "closed"


def test_patch_back_to_draft_hides_the_session_again(client, world, make_session, staff):
    session = make_session()
    set_status(session, "open")
    assert patch(client, staff, session, status="draft").get_json()["status"] == "draft"
    assert_error(client.get(f"{API}/sessions/{session.id}"), 404, "not_found")


@pytest.mark.parametrize("start, new, message", [
    ("draft", "closed", "Une session « brouillon » ne peut pas passer à « clôturée »."),
    ("draft", "in_progress", "Une session « brouillon » ne peut pas passer à « en cours »."),
    ("open", "completed", "Une session « inscriptions ouvertes » ne peut pas passer à « terminée »."),
    ("confirmed", "draft", "Une session « confirmée » ne peut pas passer à « brouillon »."),
    ("cancelled", "open", "Une session « annulée » ne peut pas passer à « inscriptions ouvertes »."),
    ("closed", "cancelled", "Une session « clôturée » ne peut pas passer à « annulée »."),
])
def test_patch_illegal_status_transition_is_409(client, world, make_session, staff, start, new, message):
    session = make_session()
    set_status(session, start)
    response = patch(client, staff, session, status=new, cancel_reason="Motif sérieux")
    assert_error(response, 409, "conflict", message, {"status": [message]})
    assert committed_value(TrainingSession.status, TrainingSession.id == session.id) == start


def test_refused_status_change_keeps_the_other_changes_out_too(client, world, make_session, staff):
    session = make_session()
    response = patch(client, staff, session, capacity=5, notes="Ne doit pas rester", status="closed")
    assert_error(response, 409, "conflict")
    assert committed_value(TrainingSession.capacity, TrainingSession.id == session.id) == 7
    assert committed_value(TrainingSession.notes, TrainingSession.id == session.id) == ""
    assert staff_view(client, staff, session.id)["capacity"] == 7


def test_patch_unknown_status_is_422(client, world, make_session, staff):
    session = make_session()
    response = patch(client, staff, session, status="annulee")
    assert_error(response, 422, "validation_error", INVALID, {"status": [
        "Valeur attendue parmi : draft, open, confirmed, in_progress, completed, closed, cancelled."]})


def test_confirming_a_session_whose_hours_do_not_match_the_course_is_422(client, world, make_session, staff):
    from trainingmgr.sessions.services import delete_slot

    session = make_session()
    delete_slot(session.slots[1])
    db.session.commit()
    assert patch(client, staff, session, status="open").status_code == 200  # an inter session opens first
    message = "La durée planifiée (3,5 h) doit être égale à celle de la formation (7 h)."
    response = patch(client, staff, session, status="confirmed")
    assert_error(response, 422, "validation_error", message, {"status": [message]})
    assert committed_value(TrainingSession.status, TrainingSession.id == session.id) == "open"


def test_confirming_a_session_without_slot_trainer_room_or_price_lists_every_problem(client, world, staff):
    session_id = create(client, staff, course_slug=CHORUS).get_json()["id"]
    # Opening would refuse it (no slot, no price): put it in "open" directly, as an inter session must be.
    set_status(db.session.get(TrainingSession, session_id), "open")
    message = ("Aucun créneau n'est planifié. Chaque créneau doit avoir un formateur. Chaque créneau doit avoir "
               "un lieu. Indiquez le prix par stagiaire.")
    response = client.patch(f"{API}/sessions/{session_id}", json={"status": "confirmed"}, headers=staff)
    assert_error(response, 422, "validation_error", message, {"status": [message]})
    assert committed_value(TrainingSession.status, TrainingSession.id == session_id) == "open"


def test_confirming_an_inter_session_straight_from_draft_is_409(client, world, make_session, staff):
    session = make_session()
    message = ("Une session inter-entreprises ouvre d'abord ses inscriptions : passez-la en « inscriptions "
               "ouvertes » avant de la confirmer.")
    assert_error(patch(client, staff, session, status="confirmed"), 409, "conflict", message, {"status": [message]})
    assert committed_value(TrainingSession.status, TrainingSession.id == session.id) == "draft"
    assert patch(client, staff, session, status="open").get_json()["status"] == "open"
    assert patch(client, staff, session, status="confirmed").get_json()["status"] == "confirmed"


def test_an_intra_session_may_be_confirmed_straight_from_draft(client, world, make_session, staff):
    session = make_session(format="intra", client_company_id=world.company.id, intra_price=Decimal("2500"))
    response = patch(client, staff, session, status="confirmed")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["status"] == "confirmed"
    assert committed_value(TrainingSession.status, TrainingSession.id == session.id) == "confirmed"


def test_opening_needs_a_published_course_and_a_price(client, world, make_session, staff):
    from trainingmgr.catalogue.services import set_course_status

    session = make_session()
    set_course_status(world.chorus, "draft")
    db.session.commit()
    message = "La formation doit d'abord être publiée au catalogue."
    assert_error(patch(client, staff, session, status="open"), 422, "validation_error", message)
    set_course_status(world.chorus, "published")
    db.session.commit()
    no_price = create(client, staff, course_slug=CHORUS, start_date="2031-03-10").get_json()
    response = client.patch(f"{API}/sessions/{no_price['id']}", json={"status": "open"}, headers=staff)
    assert_error(response, 422, "validation_error", "Indiquez le prix par stagiaire.")


@pytest.mark.parametrize("body", [{}, {"cancel_reason": ""}, {"cancel_reason": "   "}, {"cancel_reason": "ok"}])
def test_cancelling_without_a_reason_is_422(client, world, make_session, staff, body):
    session = make_session()
    set_status(session, "open")
    message = "Indiquez le motif de l'annulation (3 caractères au moins)."
    response = patch(client, staff, session, status="cancelled", **body)
    assert_error(response, 422, "validation_error", INVALID, {"cancel_reason": [message]})
    assert committed_value(TrainingSession.status, TrainingSession.id == session.id) == "open"
    assert committed_value(TrainingSession.cancel_reason, TrainingSession.id == session.id) == ""


def test_starting_a_session_before_its_first_slot_is_422(client, world, make_session, staff):
    session = make_session()
    set_status(session, "confirmed")
    message = "La session ne peut démarrer avant son premier créneau (03/03/2031)."
    assert_error(patch(client, staff, session, status="in_progress"), 422, "validation_error", message)


@pytest.mark.parametrize("body, fields", [
    ({"capacity": "abc"}, {"capacity": ["Nombre entier attendu."]}),
    ({"capacity": None}, {"capacity": ["Ce champ ne peut pas être vide."]}),
    ({"trainer_ids": [None]}, {"trainer_ids.0": ["Ce champ ne peut pas être vide."]}),
    ({"price_per_trainee": "six cents"}, {"price_per_trainee": ["Nombre attendu."]}),
    ({"course_slug": DUME}, {"course_slug": ["Champ inconnu."]}),
    ({"start_date": "2031-03-10"}, {"start_date": ["Champ inconnu."]}),
    ({"location_id": 2**31}, {"location_id": ["Identifiant invalide : nombre entier de 1 à 2147483647 attendu."]}),
    ({"price_per_trainee": "-600"},
     {"price_per_trainee": ["Le prix par stagiaire doit être un nombre positif ou nul."]}),
    ({"capacity": 0}, {"capacity": ["La capacité doit être un nombre entier compris entre 1 et 1000."]}),
])
def test_patch_refuses_badly_typed_input(client, world, make_session, staff, body, fields):
    session = make_session()
    before = staff_view(client, staff, session.id)
    assert_error(patch(client, staff, session, **body), 422, "validation_error", INVALID, fields)
    assert staff_view(client, staff, session.id) == before


@pytest.mark.parametrize("body", [
    {"status": "cancelled", "cancel_reason": "a\x00"},
    {"notes": "avant\x00après", "capacity": 5},
])
def test_patch_refuses_a_nul_character_and_changes_nothing(client, world, make_session, staff, body):
    session = make_session()
    set_status(session, "open")
    before = staff_view(client, staff, session.id)
    assert_error(patch(client, staff, session, **body), 400, "bad_request", NUL, {})
    assert staff_view(client, staff, session.id) == before
    assert committed_value(TrainingSession.status, TrainingSession.id == session.id) == "open"


@pytest.mark.parametrize("body, fields", [
    ({"capacity": 8}, {"capacity": ["La capacité (8) dépasse le maximum de la formation (7 stagiaires)."]}),
    ({"location_id": "small_room"},
     {"capacity": ["La capacité (7) dépasse celle de la salle « Petite salle » (4 places)."]}),
    ({"min_trainees": 8, "capacity": 7},
     {"min_trainees": ["Le minimum de stagiaires doit être inférieur ou égal à la capacité."]}),
    ({"location_id": 999}, {"location_id": ["Lieu introuvable."]}),
    ({"trainer_ids": [999]}, {"trainer_ids": ["Formateur introuvable."]}),
    ({"format": "intra", "client_company_id": 999}, {"client_company_id": ["Entreprise introuvable."]}),
    ({"format": "intra"}, {"client_company_id": ["Une session intra doit avoir une entreprise cliente."]}),
])
def test_patch_refuses_input_that_breaks_a_rule(client, world, make_session, staff, body, fields):
    session = make_session()
    if body.get("location_id") == "small_room":
        body = {**body, "location_id": world.small_room.id}
    before = staff_view(client, staff, session.id)
    assert_error(patch(client, staff, session, **body), 422, "validation_error", FIELDS_INVALID, fields)
    assert staff_view(client, staff, session.id) == before


def test_patch_trainer_double_booked_is_409(client, world, make_session, staff):
    other = make_session(trainer=world.paula, location=world.small_room, capacity=4)
    session = make_session(start=MONDAY, location=world.room, trainer=world.pierre)
    message = (f"Le formateur Paula Formatrice est déjà pris le 03/03/2031 de 09:00 à 12:30 par la session "
               f"« Chorus Pro » le 03/03/2031 (n° {other.id}).")
    response = patch(client, staff, session, trainer_ids=[world.paula.id])
    assert_error(response, 409, "conflict", message, {"trainer_id": [message]})
    assert committed_count(Slot, Slot.session_id == session.id, Slot.trainer_id == world.pierre.id) == 2
    assert staff_view(client, staff, session.id)["trainers"] == [{"id": world.pierre.id, "name": "Pierre Formateur"}]


def test_patch_room_double_booked_is_409(client, world, make_session, staff):
    other = make_session(trainer=world.paula, location=world.small_room, capacity=4)
    session = make_session(location=world.room, trainer=world.pierre, capacity=4)
    message = (f"Le lieu « Petite salle » est déjà pris le 03/03/2031 de 09:00 à 12:30 par la session "
               f"« Chorus Pro » le 03/03/2031 (n° {other.id}).")
    response = patch(client, staff, session, location_id=world.small_room.id)
    assert_error(response, 409, "conflict", message, {"location_id": [message]})
    assert committed_count(Slot, Slot.session_id == session.id, Slot.location_id == world.room.id) == 2


def test_patch_a_confirmed_session_must_keep_it_confirmable(client, world, make_session, staff):
    session = make_session()
    set_status(session, "confirmed")
    message = "Session confirmée : Chaque créneau doit avoir un formateur."
    assert_error(patch(client, staff, session, trainer_ids=[]), 422, "validation_error", message)
    assert committed_count(Slot, Slot.session_id == session.id, Slot.trainer_id == world.pierre.id) == 2


def test_patch_a_cancelled_session_changes_only_its_notes(client, world, make_session, staff):
    session = make_session()
    set_status(session, "cancelled")
    message = "Une session « annulée » ne peut plus être modifiée (seules les notes le peuvent)."
    assert_error(patch(client, staff, session, capacity=3, notes="x"), 422, "validation_error", message)
    response = patch(client, staff, session, notes="Rembourser les inscrits")
    assert response.status_code == 200
    assert response.get_json()["notes"] == "Rembourser les inscrits"
    assert committed_value(TrainingSession.capacity, TrainingSession.id == session.id) == 7


@pytest.mark.parametrize("session_id", [999, 99999999999999999999])
def test_patch_unknown_session_is_404(client, world, staff, session_id):
    response = client.patch(f"{API}/sessions/{session_id}", json={"notes": "x"}, headers=staff)
    assert_error(response, 404, "not_found", "Session introuvable.", {})


def test_an_escaped_backslash_before_u0000_is_not_a_nul_character(client, staff, make_session):
    """"C:\\u0000" in JSON is the text C:\u0000 (backslash, u, 0000), which holds no NUL character."""
    session = make_session()
    response = client.patch(f"{API}/sessions/{session.id}", data='{"notes": "chemin C:\\\\u0000"}',
                            content_type="application/json", headers=staff)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["notes"] == "chemin C:\\u0000"
