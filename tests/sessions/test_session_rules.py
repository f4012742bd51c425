"""Session settings, day pattern, warnings, seats, duplication and course versions, through the services."""
from __future__ import annotations

import datetime as dt
import html
from decimal import Decimal

import pytest

from trainingmgr.catalogue.models import CourseVersion
from trainingmgr.catalogue.services import create_course, set_course_status, update_course, version_as_form_data
from trainingmgr.core.errors import ConflictError, ValidationError
from trainingmgr.demo.seeds import DUME_CHORUS_PRO
from trainingmgr.extensions import db
from trainingmgr.sessions import services
from trainingmgr.sessions.models import TrainingSession

from tests.fixtures.sessions import counts
from tests.helpers import MONDAY

T = dt.time
FRIDAY = MONDAY + dt.timedelta(days=4)


def create(world, **data):
    base = {"course_id": world.chorus.id, "location_id": world.room.id, "trainer_ids": [world.pierre.id],
            "price_per_trainee": Decimal("600")}
    base.update(data)
    return services.create_session(base, world.users["advisor"])


def refused(world, **data) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        create(world, **data)
    db.session.rollback()
    assert counts() == (0, 0), "nothing may be saved"
    return info.value


def new_course(users, slug, publish=True, **changes):
    data = {**DUME_CHORUS_PRO, **changes}
    course = create_course(data, users["advisor"], slug=slug)
    if publish:
        set_course_status(course, "published")
    db.session.commit()
    return course


# --------------------------------------------------------------------------- settings


def test_defaults_come_from_course_and_room(world):
    session, _ = services.create_session({"course_id": world.dume.id, "location_id": world.small_room.id,
                                          "trainer_ids": [world.paula.id]}, world.users["advisor"])
    db.session.commit()
    assert session.status == "draft"
    assert session.format == "inter"
    assert session.delivery_mode == "presentiel"
    assert session.capacity == 4  # the small room, under the course maximum of 8
    assert session.min_trainees == 1
    assert session.price_per_trainee == Decimal("600.00")
    assert session.course_version_id == world.dume.current_version_id
    assert session.course_version.is_frozen


def test_capacity_defaults_to_course_maximum_in_a_big_room(world):
    session, _ = create(world)
    assert session.capacity == 7


def test_capacity_above_course_maximum_is_refused(world):
    error = refused(world, capacity=8)
    assert error.fields["capacity"] == ["La capacité (8) dépasse le maximum de la formation (7 stagiaires)."]


def test_capacity_equal_to_course_maximum_is_accepted(world):
    session, _ = create(world, course_id=world.dume.id, capacity=8)
    assert session.capacity == 8


def test_capacity_above_room_capacity_is_refused(world):
    error = refused(world, location_id=world.small_room.id, capacity=5)
    assert error.fields["capacity"] == ["La capacité (5) dépasse celle de la salle « Petite salle » (4 places)."]


def test_remote_location_has_no_room_capacity(world):
    session, _ = create(world, course_id=world.dume.id, location_id=world.remote.id, delivery_mode="distanciel",
                        capacity=8)
    assert session.capacity == 8


def test_capacity_is_checked_against_slot_locations(make_session, world):
    session = make_session(course=world.dume, start=None, capacity=4)
    services.add_slot(session, {"date": MONDAY, "start_time": "09:00", "end_time": "12:00",
                                "location_id": world.small_room.id})
    db.session.commit()
    with pytest.raises(ValidationError) as info:
        services.update_session(session, {"capacity": 5})
    db.session.rollback()
    assert info.value.fields["capacity"] == ["La capacité (5) dépasse celle de la salle « Petite salle » (4 places)."]
    assert db.session.get(TrainingSession, session.id).capacity == 4


@pytest.mark.parametrize("value,message", [
    (0, "La capacité doit être un nombre entier compris entre 1 et 1000."),
    (-3, "La capacité doit être un nombre entier compris entre 1 et 1000."),
    (1001, "La capacité doit être un nombre entier compris entre 1 et 1000."),
    ("abc", "La capacité doit être un nombre entier."),
    (2.5, "La capacité doit être un nombre entier."),
])
def test_bad_capacity_is_refused(world, value, message):
    assert refused(world, capacity=value).fields["capacity"] == [message]


def test_min_trainees_cannot_exceed_capacity(world):
    error = refused(world, capacity=3, min_trainees=4)
    assert error.fields["min_trainees"] == ["Le minimum de stagiaires doit être inférieur ou égal à la capacité."]


def test_min_trainees_equal_to_capacity_is_fine(world):
    session, _ = create(world, capacity=3, min_trainees=3)
    assert (session.capacity, session.min_trainees) == (3, 3)


@pytest.mark.parametrize("field,message", [
    ("price_per_trainee", "Le prix par stagiaire doit être un nombre positif ou nul."),
    ("intra_price", "Le prix intra doit être un nombre positif ou nul."),
])
def test_negative_price_is_refused(world, field, message):
    assert refused(world, **{field: Decimal("-1")}).fields[field] == [message]


@pytest.mark.parametrize("field,value,message", [
    ("price_per_trainee", Decimal("10000000"), "Le prix par stagiaire doit être un nombre inférieur à 10 millions."),
    ("intra_price", "1e12", "Le prix intra doit être un nombre inférieur à 10 millions."),
    ("price_per_trainee", Decimal("600.005"), "Le prix par stagiaire : deux décimales au plus."),
    ("intra_price", "2500,001", "Le prix intra : deux décimales au plus."),
])
def test_price_too_big_or_too_precise_is_refused(world, field, value, message):
    assert refused(world, **{field: value}).fields[field] == [message]


def test_price_must_be_a_number(world):
    assert refused(world, price_per_trainee="douze").fields["price_per_trainee"] == [
        "Le prix par stagiaire doit être un nombre."]


def test_french_price_is_read(world):
    session, _ = create(world, price_per_trainee="1 234,50")
    assert session.price_per_trainee == Decimal("1234.50")


def test_free_session_is_allowed(world):
    session, _ = create(world, price_per_trainee=Decimal("0"))
    assert session.price_per_trainee == Decimal("0.00")


@pytest.mark.parametrize("field,value,message", [
    ("course_id", 9999, "Formation introuvable."),
    ("course_id", "abc", "Formation introuvable."),
    ("location_id", 9999, "Lieu introuvable."),
    ("location_id", "x", "Lieu introuvable."),
    ("client_company_id", 9999, "Entreprise introuvable."),
])
def test_unknown_ids_are_refused(world, field, value, message):
    data = {field: value}
    if field == "client_company_id":
        data["format"] = "intra"
    assert message in refused(world, **data).fields[field]


def test_unknown_trainer_is_refused(world):
    assert refused(world, trainer_ids=[world.pierre.id, 9999]).fields["trainer_ids"] == ["Formateur introuvable."]


def test_course_is_required(world):
    assert refused(world, course_id="").fields["course_id"] == ["Choisissez la formation."]


def test_archived_course_cannot_get_sessions(world):
    set_course_status(world.chorus, "archived")
    db.session.commit()
    assert "archivée" in refused(world).message


def test_intra_session_needs_a_client_company(world):
    error = refused(world, format="intra")
    assert error.fields["client_company_id"] == ["Une session intra doit avoir une entreprise cliente."]


def test_intra_session_with_company(world):
    session, _ = create(world, format="intra", client_company_id=world.company.id, intra_price="2 400")
    db.session.commit()
    assert session.client_company is world.company
    assert session.intra_price == Decimal("2400.00")


def test_inter_session_drops_the_company(world):
    session, _ = create(world, format="inter", client_company_id=world.company.id)
    assert session.client_company is None


def test_inter_only_course_cannot_have_an_intra_session(world):
    error = refused(world, course_id=world.dume.id, format="intra", client_company_id=world.company.id)
    assert error.fields["format"] == ["Cette formation est proposée en inter-entreprises uniquement."]


def test_intra_only_course_defaults_to_intra_and_refuses_inter(world):
    course = new_course(world.users, "intra-seulement", audience_format="intra")
    session, _ = create(world, course_id=course.id, client_company_id=world.company.id)
    assert session.format == "intra"
    db.session.rollback()
    error = refused(world, course_id=course.id, format="inter")
    assert error.fields["format"] == ["Cette formation est proposée en intra-entreprise uniquement."]


@pytest.mark.parametrize("field,value,message", [
    ("format", "mixte", "Format inconnu : inter ou intra."),
    ("delivery_mode", "hybride", "Modalité inconnue : présentiel, distanciel ou mixte."),
])
def test_unknown_format_or_delivery_mode(world, field, value, message):
    assert refused(world, **{field: value}).fields[field] == [message]


def test_location_must_match_delivery_mode(world):
    assert refused(world, location_id=world.remote.id).fields["location_id"] == [
        "Une session en présentiel a besoin d'un lieu physique."]
    assert refused(world, delivery_mode="distanciel").fields["location_id"] == [
        "Une session à distance a besoin d'un lieu à distance (lien de réunion)."]


def test_every_field_error_is_reported_at_once(world):
    error = refused(world, capacity="abc", price_per_trainee=Decimal("-5"), location_id=9999)
    assert {"capacity", "price_per_trainee", "location_id"} <= set(error.fields)


def test_update_session_refuses_bad_settings_and_keeps_the_old_ones(make_session, world):
    session = make_session(start=MONDAY, capacity=5, notes="à garder")
    with pytest.raises(ValidationError):
        services.update_session(session, {"capacity": 99, "price_per_trainee": Decimal("-1"), "notes": "perdu"})
    db.session.rollback()
    session = db.session.get(TrainingSession, session.id)
    assert (session.capacity, session.price_per_trainee, session.notes) == (5, Decimal("600.00"), "à garder")


def test_update_session_moves_slots_that_follow_the_session_location(make_session, world):
    session = make_session(start=MONDAY, capacity=4)
    services.update_session(session, {"location_id": world.small_room.id})
    db.session.commit()
    assert {s.location_id for s in session.slots} == {world.small_room.id}


def test_moving_to_a_bigger_room_and_growing_at_once(make_session, world):
    """The slots follow the session to the bigger room: the small room they leave no longer limits it."""
    session = make_session(start=MONDAY, location=world.small_room, capacity=4)
    services.update_session(session, {"location_id": world.room.id, "capacity": 7})
    db.session.commit()
    db.session.expire_all()
    session = db.session.get(TrainingSession, session.id)
    assert session.capacity == 7
    assert {s.location_id for s in session.slots} == {world.room.id}


def test_slot_with_its_own_small_room_still_limits_the_capacity(make_session, world):
    session = make_session(course=world.dume, start=MONDAY, location=world.room, capacity=4)
    services.add_slot(session, {"date": MONDAY + dt.timedelta(days=1), "start_time": "09:00",
                                "end_time": "12:00", "location_id": world.small_room.id})
    db.session.commit()
    with pytest.raises(ValidationError) as info:
        services.update_session(session, {"location_id": world.room.id, "capacity": 6})
    db.session.rollback()
    assert "« Petite salle »" in info.value.fields["capacity"][0]


def test_update_session_replaces_a_removed_trainer_on_its_slots(make_session, world):
    session = make_session(start=MONDAY)
    services.update_session(session, {"trainer_ids": [world.paula.id]})
    db.session.commit()
    assert {s.trainer_id for s in session.slots} == {world.paula.id}


NUL_MESSAGE = "La requête contient un caractère nul, qui n'est pas accepté."


def test_nul_characters_in_notes_and_reasons_are_refused_and_nothing_is_saved(make_session, advisor):
    """Every request holding a NUL character is refused (400) before any work: nothing is stripped or saved."""
    session = make_session(start=MONDAY, notes="avant")
    response = advisor.post(f"/sessions/{session.id}/edit", data={
        "format": "inter", "delivery_mode": "presentiel", "location_id": str(session.location_id),
        "trainer_ids": [str(t.id) for t in session.trainers], "capacity": "5", "min_trainees": "1",
        "price_per_trainee": "600", "intra_price": "", "client_company_id": "", "notes": "avant\x00après "})
    assert response.status_code == 400
    assert NUL_MESSAGE in html.unescape(response.get_data(as_text=True))
    response = advisor.post(f"/sessions/{session.id}/status",
                            data={"status": "cancelled", "cancel_reason": "\x00Salle\x00 fermée"})
    assert response.status_code == 400
    assert NUL_MESSAGE in html.unescape(response.get_data(as_text=True))
    db.session.expire_all()
    saved = db.session.get(TrainingSession, session.id)
    assert (saved.notes, saved.capacity, saved.status, saved.cancel_reason) == ("avant", 7, "draft", "")


def test_running_session_only_accepts_notes(make_session, world):
    session = make_session(start=MONDAY)
    session.status = "in_progress"
    db.session.commit()
    with pytest.raises(ValidationError) as info:
        services.update_session(session, {"capacity": 3})
    db.session.rollback()
    assert "seules les notes" in info.value.message
    services.update_session(session, {"notes": "  salle au 2e étage  "})
    db.session.commit()
    assert db.session.get(TrainingSession, session.id).notes == "salle au 2e étage"


# --------------------------------------------------------------------------- the usual day pattern


def slots_of(session):
    return [(s.date, s.start_time, s.end_time) for s in session.slots]


def test_chorus_7h_is_laid_out_on_one_day(world):
    session, warnings = create(world, start_date=MONDAY)
    assert slots_of(session) == [(MONDAY, T(9), T(12, 30)), (MONDAY, T(13, 30), T(17))]
    assert session.planned_hours == Decimal("7.00")
    assert warnings == []
    assert all(s.trainer is world.pierre and s.location is world.room for s in session.slots)


def test_dume_8h_is_laid_out_on_one_day(world):
    session, _ = create(world, course_id=world.dume.id, start_date=MONDAY.isoformat())
    assert slots_of(session) == [(MONDAY, T(8, 30), T(12, 30)), (MONDAY, T(13, 30), T(17, 30))]
    assert session.planned_hours == Decimal("8.00")


@pytest.mark.parametrize("hours,pattern,expected", [
    ("10.5", "08:30-12:30 13:30-17:30",
     [(0, T(8, 30), T(12, 30)), (0, T(13, 30), T(17, 30)), (3, T(8, 30), T(11))]),
    ("10", "09:00-12:30 13:30-17:00",
     [(0, T(9), T(12, 30)), (0, T(13, 30), T(17)), (3, T(9), T(12))]),
    ("10.5", "09:00-12:30 13:30-17:00",
     [(0, T(9), T(12, 30)), (0, T(13, 30), T(17)), (3, T(9), T(12, 30))]),
    ("3", "09:00-12:30 13:30-17:00", [(0, T(9), T(12))]),
    ("14", "09:00-12:30 13:30-17:00",
     [(0, T(9), T(12, 30)), (0, T(13, 30), T(17)), (3, T(9), T(12, 30)), (3, T(13, 30), T(17))]),
])
def test_pattern_slots_skip_the_weekend_and_shorten_the_last_half_day(hours, pattern, expected):
    version = CourseVersion(duration_hours=Decimal(hours), daily_pattern=pattern)
    got = services.pattern_slots(version, FRIDAY)
    assert got == [(FRIDAY + dt.timedelta(days=d), s, e) for d, s, e in expected]
    total = sum((Decimal((dt.datetime.combine(d, e) - dt.datetime.combine(d, s)).seconds) / 3600
                 for d, s, e in got), Decimal(0))
    assert total == Decimal(hours)


def test_pattern_slots_skip_public_holidays():
    version = CourseVersion(duration_hours=Decimal("14"), daily_pattern="09:00-12:30 13:30-17:00")
    friday = dt.date(2031, 7, 11)  # Monday 14 July is the Fête nationale
    days = sorted({d for d, _, _ in services.pattern_slots(version, friday)})
    assert days == [friday, dt.date(2031, 7, 15)]


def test_create_session_from_a_longer_course(world):
    course = new_course(world.users, "dume-long", duration_hours=Decimal("10.5"), max_trainees=10)
    session, warnings = create(world, course_id=course.id, start_date=FRIDAY)
    db.session.commit()
    assert slots_of(session) == [(FRIDAY, T(8, 30), T(12, 30)), (FRIDAY, T(13, 30), T(17, 30)),
                                 (FRIDAY + dt.timedelta(days=3), T(8, 30), T(11))]
    assert session.planned_hours == Decimal("10.50")
    assert warnings == []
    assert session.dates_label == "du 07/03/2031 au 10/03/2031"


# --------------------------------------------------------------------------- warnings


def test_weekend_start_gives_a_warning(world):
    saturday = MONDAY + dt.timedelta(days=5)
    session, warnings = create(world, start_date=saturday)
    assert warnings == ["Le 08/03/2031 tombe un samedi."]
    assert "Le 08/03/2031 tombe un samedi." in services.session_warnings(session)
    assert len(session.slots) == 2  # a warning, not a refusal


def test_sunday_gives_a_warning(world):
    _, warnings = create(world, start_date=MONDAY + dt.timedelta(days=6))
    assert warnings == ["Le 09/03/2031 tombe un dimanche."]


@pytest.mark.parametrize("day,name", [(dt.date(2031, 7, 14), "Fête nationale"), (dt.date(2031, 12, 25), "Noël")])
def test_public_holiday_gives_a_warning(world, day, name):
    session, warnings = create(world, start_date=day)
    expected = f"Le {day:%d/%m/%Y} est un jour férié ({name})."
    assert warnings == [expected]
    assert expected in services.session_warnings(session)
    assert services.holiday_name(day) == name


def test_ordinary_weekday_has_no_date_warning():
    assert services.date_warnings(MONDAY) == []
    assert services.holiday_name(MONDAY) is None


def test_slot_on_a_holiday_gives_a_warning(make_session):
    session = make_session(start=None)
    _, warnings = services.add_slot(session, {"date": "2031-12-25", "start_time": "09:00", "end_time": "12:30"})
    assert warnings == ["Le 25/12/2031 est un jour férié (Noël)."]


def test_past_date_gives_a_warning(make_session):
    session = make_session(start=None)
    _, warnings = services.add_slot(session, {"date": "2020-01-06", "start_time": "09:00", "end_time": "12:30"})
    assert warnings == ["Le 06/01/2020 est déjà passé."]


def test_duration_difference_is_a_warning_while_draft(make_session):
    session = make_session(start=None)
    assert "Aucun créneau planifié." in services.session_warnings(session)
    services.add_slot(session, {"date": MONDAY, "start_time": "09:00", "end_time": "12:30"})
    db.session.commit()
    assert "Durée planifiée : 3,5 h au lieu des 7 h de la formation." in services.session_warnings(session)
    assert session.status == "draft"


def test_complete_draft_session_has_no_warning(make_session, world):
    session = make_session(start=MONDAY)
    assert services.session_warnings(session) == []


def test_session_warnings_list_what_is_missing(make_session, world):
    session = make_session(start=None, trainer_ids=[], location_id=None, price_per_trainee=None)
    warnings = services.session_warnings(session)
    for expected in ("Aucun créneau planifié.", "Aucun formateur.", "Aucun lieu.", "Aucun prix."):
        assert expected in warnings


# --------------------------------------------------------------------------- seats


def test_seats_left_is_capacity_without_enrolment(make_session):
    session = make_session(start=MONDAY, capacity=5)
    other = make_session(start=MONDAY + dt.timedelta(days=7), capacity=3)
    assert services.seats_taken([session.id, other.id]) == {session.id: 0, other.id: 0}
    assert services.seats_left(session) == 5
    assert services.seats_left(other) == 3
    assert services.seats_left(session, taken=2) == 3
    assert services.seats_left(session, taken=9) == 0


# --------------------------------------------------------------------------- duplication


def test_duplicate_shifts_slots_and_keeps_settings(make_session, world):
    original = make_session(start=MONDAY, capacity=5, min_trainees=2, notes="Apporter un PC",
                            trainer=world.paula, location=world.room)
    services.change_status(original, "open")
    db.session.commit()
    new_start = MONDAY + dt.timedelta(days=14)
    copy, warnings = services.duplicate_session(original, new_start, world.users["advisor"])
    db.session.commit()
    assert copy.id != original.id
    assert copy.status == "draft"
    assert slots_of(copy) == [(new_start, T(9), T(12, 30)), (new_start, T(13, 30), T(17))]
    assert [s.trainer_id for s in copy.slots] == [world.paula.id] * 2
    assert [s.location_id for s in copy.slots] == [world.room.id] * 2
    assert (copy.capacity, copy.min_trainees, copy.price_per_trainee, copy.notes) == (
        5, 2, Decimal("600.00"), "Apporter un PC")
    assert (copy.format, copy.delivery_mode, copy.location_id) == ("inter", "presentiel", world.room.id)
    assert [t.id for t in copy.trainers] == [world.paula.id]
    assert warnings == []
    db.session.expire_all()
    original = db.session.get(TrainingSession, original.id)
    assert original.status == "open" and slots_of(original)[0][0] == MONDAY


def test_duplicate_keeps_the_gaps_between_days(world):
    course = new_course(world.users, "dume-long", duration_hours=Decimal("10.5"), max_trainees=10)
    original, _ = create(world, course_id=course.id, start_date=FRIDAY)
    db.session.commit()
    copy, warnings = services.duplicate_session(original, dt.date(2031, 4, 4))  # a Friday
    db.session.commit()
    assert [s.date for s in copy.slots] == [dt.date(2031, 4, 4)] * 2 + [dt.date(2031, 4, 7)]
    assert copy.planned_hours == Decimal("10.50")


def test_duplicate_of_an_intra_session_keeps_the_client(world):
    original, _ = create(world, format="intra", client_company_id=world.company.id, intra_price=Decimal("2000"),
                         start_date=MONDAY)
    db.session.commit()
    copy, _ = services.duplicate_session(original, MONDAY + dt.timedelta(days=7))
    assert (copy.format, copy.client_company_id, copy.intra_price) == ("intra", world.company.id, Decimal("2000.00"))


def test_duplicate_still_checks_conflicts(make_session, world):
    original = make_session(start=MONDAY)
    with pytest.raises(ConflictError) as info:
        services.duplicate_session(original, MONDAY)
    db.session.rollback()
    assert f"par la session « Chorus Pro » le 03/03/2031 (n° {original.id})" in info.value.message
    assert counts() == (1, 2)


def test_duplicate_onto_dates_of_a_cancelled_session(make_session, world):
    original = make_session(start=MONDAY)
    services.change_status(original, "cancelled", reason="Pas assez d'inscrits")
    db.session.commit()
    copy, _ = services.duplicate_session(original, MONDAY)
    db.session.commit()
    assert copy.status == "draft" and counts() == (2, 4)


def test_duplicate_warns_about_weekends(make_session, world):
    original = make_session(start=MONDAY)
    _, warnings = services.duplicate_session(original, MONDAY + dt.timedelta(days=5))
    assert warnings == ["Le 08/03/2031 tombe un samedi."]


@pytest.mark.parametrize("value,message", [
    (None, "La nouvelle date de début est obligatoire."),
    ("n'importe", "La nouvelle date de début : date invalide (format attendu AAAA-MM-JJ)."),
    ("1900-01-01", "La nouvelle date de début : l'année doit être comprise entre 2000 et 2100."),
])
def test_duplicate_bad_date(make_session, value, message):
    original = make_session(start=MONDAY)
    with pytest.raises(ValidationError) as info:
        services.duplicate_session(original, value)
    db.session.rollback()
    assert info.value.fields["start_date"] == [message]
    assert counts() == (1, 2)


def test_duplicate_of_a_session_without_slot_is_refused(make_session):
    original = make_session(start=None)
    with pytest.raises(ValidationError) as info:
        services.duplicate_session(original, MONDAY)
    db.session.rollback()
    assert info.value.message == "Cette session n'a aucun créneau à recopier."
    assert counts() == (1, 0)


# --------------------------------------------------------------------------- course versions


def edit_course(course, **changes):
    data = version_as_form_data(course.current_version)
    data.update(changes)
    version = update_course(course, data, None)
    db.session.commit()
    return version


def test_editing_a_published_course_makes_a_new_version_sessions_keep_theirs(make_session, world):
    v1 = world.chorus.current_version
    session = make_session(start=MONDAY)
    v2 = edit_course(world.chorus, title="Chorus Pro 2031")
    assert v2.id != v1.id and v2.number == 2
    assert world.chorus.current_version_id == v2.id
    db.session.expire_all()
    session = db.session.get(TrainingSession, session.id)
    assert session.course_version_id == v1.id
    assert session.title == "Chorus Pro"
    assert "Programme en version 1 ; la formation est passée en version 2." in services.session_warnings(session)
    newer = make_session(start=MONDAY + dt.timedelta(days=7))
    assert newer.course_version_id == v2.id and newer.title == "Chorus Pro 2031"


def test_scheduling_a_session_freezes_a_draft_course_version(make_session, world):
    course = new_course(world.users, "brouillon", publish=False)
    v1 = course.current_version
    assert not v1.is_frozen
    session = make_session(course=course, start=MONDAY)
    assert v1.is_frozen
    v2 = edit_course(course, title="Nouveau titre")
    assert v2.id != v1.id
    assert db.session.get(TrainingSession, session.id).course_version_id == v1.id


@pytest.mark.parametrize("status", ["draft", "open"])
def test_rebase_to_current_version(make_session, world, status):
    session = make_session(start=MONDAY)
    if status == "open":
        services.change_status(session, "open")
    db.session.commit()
    v2 = edit_course(world.chorus, title="Chorus Pro 2031")
    services.rebase_to_current_version(session, world.users["advisor"])
    db.session.commit()
    db.session.expire_all()
    session = db.session.get(TrainingSession, session.id)
    assert session.course_version_id == v2.id
    assert session.title == "Chorus Pro 2031"
    assert not any("Programme en version" in w for w in services.session_warnings(session))


@pytest.mark.parametrize("status", ["confirmed", "in_progress", "completed", "cancelled"])
def test_rebase_refused_once_confirmed(make_session, world, status):
    session = make_session(start=MONDAY)
    v1 = session.course_version_id
    session.status = status
    db.session.commit()
    edit_course(world.chorus, title="Chorus Pro 2031")
    with pytest.raises(ValidationError) as info:
        services.rebase_to_current_version(session)
    db.session.rollback()
    assert info.value.message == ("Seule une session en brouillon ou aux inscriptions ouvertes peut changer de "
                                  "version.")
    assert db.session.get(TrainingSession, session.id).course_version_id == v1


def test_rebase_refused_when_new_version_has_fewer_seats(make_session, world):
    session = make_session(start=MONDAY, capacity=7)
    edit_course(world.chorus, max_trainees=5)
    with pytest.raises(ValidationError) as info:
        services.rebase_to_current_version(session)
    db.session.rollback()
    assert "limite le groupe à 5 stagiaires" in info.value.message


def test_duplicate_uses_the_current_version(make_session, world):
    original = make_session(start=MONDAY)
    v2 = edit_course(world.chorus, title="Chorus Pro 2031")
    copy, _ = services.duplicate_session(original, MONDAY + dt.timedelta(days=7))
    assert copy.course_version_id == v2.id
