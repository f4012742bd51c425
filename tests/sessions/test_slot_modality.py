"""Each half-day's modality (issue 27): in the room, virtual classroom (its meeting link) or asynchronous activity (what
the trainee does, the quiz it records). The rules against the session's delivery mode and the place, through the
service, the slot form and the API; the session page; the API's answer (the link for the advisor only); the iCal
events (a virtual half-day is held at its link); the SEQUENCE that grows when the modality or the link changes."""
from __future__ import annotations

import datetime as dt

import pytest
from icalendar import Calendar

from tests.api.support import API
from tests.helpers import MONDAY, page
from trainingmgr.core.errors import ValidationError
from trainingmgr.evaluations.questionnaires.services import create_questionnaire
from trainingmgr.extensions import db
from trainingmgr.organisation.services import get_organisation
from trainingmgr.sessions import services
from trainingmgr.sessions.ical import session_calendar
from trainingmgr.sessions.models import Slot, TrainingSession
from trainingmgr.sessions.services.workflow import confirmation_problems

TUESDAY = MONDAY + dt.timedelta(days=1)
LINK = "https://visio.example.com/apres-midi"


def add(session, day=TUESDAY, start="09:00", end="12:30", **extra):
    return services.add_slot(session, {"date": day, "start_time": start, "end_time": end, **extra})


def refused(fn, *args, **kwargs) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        fn(*args, **kwargs)
    db.session.rollback()
    assert info.value.status_code == 422
    return info.value


def quiz(course=None, kind="acquis", **extra):
    questionnaire = create_questionnaire({
        "kind": kind, "title": f"Quiz {kind}", "course": course, **extra,
        "questions": [{"kind": "single", "text": "Où déposer une facture ?",
                       "choices": [{"text": "Chorus Pro", "correct": True, "points": 1}, "Par courrier"]}]})
    db.session.commit()
    return questionnaire


@pytest.fixture
def mixed(make_session):
    """A draft « mixte » Chorus Pro session without slots (Salle Capitole, Pierre)."""
    return make_session(start=None, delivery_mode="mixte")


# --------------------------------------------------------------------------- the rules


def test_a_virtual_half_day_with_its_own_link_leaves_the_room(mixed):
    slot, _ = add(mixed, modality="virtual", meeting_url=f"  {LINK} ")
    db.session.commit()
    assert (slot.modality, slot.modality_label, slot.meeting_url, slot.location) == (
        "virtual", "Classe virtuelle", LINK, None)  # the session's room is not inherited
    assert slot.meeting_link == LINK and slot.is_remote


def test_a_virtual_half_day_takes_its_remote_places_link(mixed, world):
    slot, _ = add(mixed, modality="virtual", location_id=world.remote.id)
    assert slot.meeting_link == "https://visio.example.com/salle"
    default, _ = add(mixed, day=MONDAY, location_id=world.remote.id)  # no modality: the place calls for it
    assert default.modality == "virtual"


@pytest.mark.parametrize("extra,field,message", [
    ({"modality": "virtual"}, "meeting_url",
     "Une classe virtuelle a besoin d'un lien de réunion : indiquez-le, ou choisissez un lieu à distance qui en a un."),
    ({"modality": "virtual", "meeting_url": "http://visio.example.com/x"}, "meeting_url",
     "Le lien de réunion doit être une adresse web sécurisée (https://…)."),
    ({"modality": "virtual", "meeting_url": "https://[::1"}, "meeting_url",
     "Le lien de réunion doit être une adresse web sécurisée (https://…)."),
    ({"modality": "virtual", "meeting_url": LINK, "location_id": "room"}, "location_id",
     "Une classe virtuelle n'a pas de salle : choisissez un lieu à distance ou aucun lieu."),
    ({"modality": "room", "location_id": "remote"}, "location_id",
     "Une demi-journée en salle a besoin d'un lieu physique (ou d'aucun lieu), pas d'un lieu à distance."),
    ({"modality": "room", "meeting_url": LINK}, "meeting_url", "Le lien de réunion ne sert qu'à une classe virtuelle."),
    ({"modality": "async"}, "activity",
     "Décrivez l'activité asynchrone : ce que le stagiaire fait pendant cette demi-journée."),
    ({"modality": "room", "activity": "Lire le guide"}, "activity",
     "La description d'activité ne sert qu'à une activité asynchrone."),
    ({"modality": "hybride"}, "modality", "Modalité inconnue : en salle, classe virtuelle ou activité asynchrone."),
    ({"modality": "async", "activity": "x" * 2001}, "activity", "Ce champ ne doit pas dépasser 2000 caractères."),
])
def test_what_each_modality_needs(mixed, world, extra, field, message):
    places = {"room": world.room.id, "remote": world.remote.id}
    if extra.get("location_id") in places:
        extra = {**extra, "location_id": places[extra["location_id"]]}
    error = refused(add, mixed, **extra)
    assert message in error.fields[field]
    assert db.session.query(Slot).count() == 0


def test_the_delivery_mode_says_which_modalities_a_session_has(make_session, world):
    face_to_face = make_session(start=None)
    error = refused(add, face_to_face, modality="virtual", meeting_url=LINK)
    assert error.fields["modality"] == [(
        "Une session en présentiel n'a que des demi-journées en salle : passez-la en « mixte » pour y prévoir une "
        "classe virtuelle ou une activité asynchrone.")]
    remote = make_session(start=None, location=world.remote, delivery_mode="distanciel")
    error = refused(add, remote, modality="room", location_id=None)
    assert error.fields["modality"] == [(
        "Une session à distance n'a pas de demi-journée en salle : passez-la en « mixte » pour y prévoir une "
        "demi-journée en salle.")]
    slot, _ = add(remote, modality="async", activity="Lire le guide de dépôt")
    assert (slot.modality, slot.location, slot.meeting_link) == ("async", world.remote, "")


def test_a_session_with_half_days_at_a_distance_stays_mixed(mixed):
    add(mixed, modality="virtual", meeting_url=LINK)
    db.session.commit()
    error = refused(services.update_session, mixed, {"delivery_mode": "presentiel"})
    assert error.fields["delivery_mode"] == [(
        "Des demi-journées de cette session sont à distance (classe virtuelle le 04/03/2031, matin) : choisissez la "
        "modalité « mixte », ou repassez-les en salle.")]
    assert db.session.get(TrainingSession, mixed.id).delivery_mode == "mixte"


def test_a_session_going_online_takes_its_half_days_along(make_session, world):
    session = make_session(start=MONDAY)
    services.update_session(session, {"delivery_mode": "distanciel", "location_id": world.remote.id})
    db.session.commit()
    assert [(s.modality, s.location_id, s.sequence) for s in session.slots] == [
        ("virtual", world.remote.id, 1), ("virtual", world.remote.id, 1)]


def test_an_asynchronous_half_day_records_an_acquis_quiz(mixed, world):
    anonymous = quiz(anonymous=True)  # answers unlinked once submitted: no completion to read
    assert anonymous not in services.slot_quizzes(mixed)
    # one active quiz per kind and course: the shared one replaces the anonymous one
    shared, own, other, survey = quiz(), quiz(world.chorus), quiz(world.dume), quiz(kind="hot")
    offered = services.slot_quizzes(mixed)
    assert shared in offered and own in offered
    assert not {other, survey, anonymous} & set(offered)
    slot, _ = add(mixed, modality="async", activity="Déposer une facture d'essai", quiz_id=str(own.id))
    db.session.commit()
    assert (slot.quiz, slot.activity) == (own, "Déposer une facture d'essai")
    for wrong in (other, survey, anonymous):  # another course's, a survey, an inactive one
        error = refused(add, mixed, day=MONDAY, modality="async", activity="Lire", quiz_id=wrong.id)
        assert error.fields["quiz_id"] == [("Ce quiz ne convient pas : choisissez une évaluation des acquis active, "
                                            "commune ou propre à cette formation.")]
    error = refused(add, mixed, day=MONDAY, modality="virtual", meeting_url=LINK, quiz_id=own.id)
    assert error.fields["quiz_id"] == ["Un quiz ne s'attache qu'à une activité asynchrone."]
    assert refused(add, mixed, day=MONDAY, modality="async", activity="Lire",
                   quiz_id=999999).fields["quiz_id"] == ["Quiz introuvable."]


def test_a_new_modality_or_link_moves_the_calendar_event(make_session):
    session = make_session(start=MONDAY, delivery_mode="mixte")
    slot = session.slots[1]
    services.update_slot(slot, {"trainer_id": slot.trainer_id})
    assert slot.sequence == 0  # nothing a calendar shows changed
    services.update_slot(slot, {"modality": "virtual", "meeting_url": LINK})
    db.session.commit()
    assert (slot.modality, slot.location, slot.sequence) == ("virtual", None, 1)
    services.update_slot(slot, {"meeting_url": LINK + "-2"})
    assert slot.sequence == 2
    services.update_slot(slot, {"meeting_url": LINK + "-2"})
    assert slot.sequence == 2


def test_a_virtual_half_day_without_a_link_keeps_the_session_from_being_confirmed(make_session):
    # laid out from the course pattern, with no place: the half-days are virtual classrooms still to be linked
    session = make_session(start=MONDAY, delivery_mode="distanciel", location_id=None)
    assert {s.modality for s in session.slots} == {"virtual"}
    assert "Chaque classe virtuelle doit avoir un lien de réunion." in confirmation_problems(session)
    for slot in session.slots:
        services.update_slot(slot, {"meeting_url": LINK})
    assert "Chaque classe virtuelle doit avoir un lien de réunion." not in confirmation_problems(session)


def test_a_duplicate_keeps_each_half_days_modality(make_session):
    session = make_session(start=MONDAY, delivery_mode="mixte")
    services.update_slot(session.slots[1], {"modality": "async", "activity": "Lire le guide"})
    db.session.commit()
    copy, _ = services.duplicate_session(session, MONDAY + dt.timedelta(weeks=3))
    db.session.commit()
    assert [(s.modality, s.activity) for s in copy.slots] == [("room", ""), ("async", "Lire le guide")]


# --------------------------------------------------------------------------- the pages


def test_the_slot_form_and_the_session_page_show_the_modality(advisor, make_session, world):
    session = make_session(start=MONDAY, delivery_mode="mixte")
    form = {"date": TUESDAY.isoformat(), "start_time": "09:00", "end_time": "12:30", "location_id": "",
            "trainer_id": str(world.pierre.id), "modality": "virtual", "meeting_url": "", "activity": "",
            "quiz_id": ""}
    response = advisor.post(f"/sessions/{session.id}/slots/new", data=form)
    assert response.status_code == 422
    assert "Une classe virtuelle a besoin d'un lien de réunion" in page(response)
    response = advisor.post(f"/sessions/{session.id}/slots/new", data={**form, "meeting_url": LINK})
    assert response.status_code == 302
    slot = db.session.scalar(db.select(Slot).where(Slot.session_id == session.id, Slot.date == TUESDAY))
    edit = page(advisor.get(f"/sessions/{session.id}/slots/{slot.id}"))
    assert f'value="{LINK}"' in edit and "Activité (asynchrone)" in edit
    response = advisor.post(f"/sessions/{session.id}/slots/{slot.id}",
                            data={**form, "modality": "async", "activity": "Lire le guide de dépôt"})
    assert response.status_code == 302
    text = page(advisor.get(f"/sessions/{session.id}"))
    assert 'data-modality="room"' in text and "En salle" in text
    assert 'data-modality="async"' in text and "Activité asynchrone" in text and "Lire le guide de dépôt" in text


def test_the_session_page_gives_a_virtual_half_days_link(advisor, make_session):
    session = make_session(start=MONDAY, delivery_mode="mixte")
    services.update_slot(session.slots[1], {"modality": "virtual", "meeting_url": LINK})
    db.session.commit()
    text = page(advisor.get(f"/sessions/{session.id}"))
    assert "Classe virtuelle" in text and f'href="{LINK}"' in text


# --------------------------------------------------------------------------- the API


def test_the_api_writes_and_gives_each_half_days_modality(client, make_session, world, staff):
    session = make_session(start=MONDAY, delivery_mode="mixte")
    response = client.post(f"{API}/sessions/{session.id}/slots", headers=staff, json={
        "date": TUESDAY.isoformat(), "start_time": "09:00", "end_time": "12:30", "modality": "virtual",
        "meeting_url": LINK})
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert (body["modality"], body["modality_label"], body["meeting_url"], body["location_id"], body["activity"]) == (
        "virtual", "Classe virtuelle", LINK, None, "")
    response = client.post(f"{API}/sessions/{session.id}/slots", headers=staff, json={
        "date": TUESDAY.isoformat(), "start_time": "13:30", "end_time": "17:00", "modality": "async",
        "activity": "Lire le guide de dépôt"})
    assert response.status_code == 201
    detail = client.get(f"{API}/sessions/{session.id}", headers=staff).get_json()
    assert [(s["modality"], s["meeting_url"], s["activity"]) for s in detail["slots"]] == [
        ("room", "", ""), ("room", "", ""), ("virtual", LINK, ""), ("async", "", "Lire le guide de dépôt")]


def test_the_public_api_keeps_the_link_for_the_trainees(client, open_session):
    session = open_session(delivery_mode="mixte")
    services.update_slot(session.slots[1], {"modality": "virtual", "meeting_url": LINK})
    db.session.commit()
    slots = client.get(f"{API}/sessions/{session.id}").get_json()["slots"]
    assert [(s["modality"], s["modality_label"], s["meeting_url"]) for s in slots] == [
        ("room", "En salle", ""), ("virtual", "Classe virtuelle", "")]


@pytest.mark.parametrize("body,field,message", [
    ({"modality": "virtual", "meeting_url": "http://visio.example.com"}, "meeting_url",
     "Le lien de réunion doit être une adresse web sécurisée (https://…)."),
    ({"modality": "distance"}, "modality", None),
    ({"modality": "room", "quiz_id": 0}, "quiz_id", None),
])
def test_the_api_refuses_what_the_document_refuses(client, make_session, staff, body, field, message):
    session = make_session(start=None, delivery_mode="mixte")
    response = client.post(f"{API}/sessions/{session.id}/slots", headers=staff, json={
        "date": TUESDAY.isoformat(), "start_time": "09:00", "end_time": "12:30", **body})
    assert response.status_code == 422
    fields = response.get_json()["error"]["fields"]
    assert field in fields and (message is None or fields[field] == [message])


def test_the_api_refuses_a_virtual_half_day_in_a_face_to_face_session(client, make_session, staff):
    session = make_session(start=None)
    response = client.post(f"{API}/sessions/{session.id}/slots", headers=staff, json={
        "date": TUESDAY.isoformat(), "start_time": "09:00", "end_time": "12:30", "modality": "virtual",
        "meeting_url": LINK})
    assert response.status_code == 422
    assert "modality" in response.get_json()["error"]["fields"]


def test_the_openapi_document_states_the_modalities(client):
    schemas = client.get(f"{API}/openapi.json").get_json()["components"]["schemas"]
    assert schemas["Slot"]["properties"]["modality"]["enum"] == ["room", "virtual", "async"]
    assert {"modality_label", "meeting_url", "activity", "quiz_id"} <= set(schemas["Slot"]["required"])
    assert schemas["SlotCreate"]["properties"]["meeting_url"]["pattern"].startswith("^(https://")


# --------------------------------------------------------------------------- iCal


def test_a_virtual_half_days_event_is_held_at_its_link(make_session, world):
    session = make_session(start=MONDAY, delivery_mode="mixte")
    services.update_slot(session.slots[1], {"modality": "virtual", "meeting_url": LINK})
    db.session.commit()
    events = Calendar.from_ical(session_calendar(session, get_organisation())).walk("VEVENT")
    morning, afternoon = sorted(events, key=lambda e: e.decoded("dtstart"))
    assert str(morning["location"]).startswith("Salle Capitole") and "url" not in morning
    assert (str(afternoon["location"]), str(afternoon["url"])) == (LINK, LINK)
    assert f"Classe virtuelle : {LINK}" in str(afternoon["description"])
    assert int(afternoon["sequence"]) == 1


def test_an_asynchronous_half_days_event_says_what_to_do(make_session):
    session = make_session(start=MONDAY, delivery_mode="mixte")
    services.update_slot(session.slots[1], {"modality": "async", "activity": "Lire le guide de dépôt"})
    db.session.commit()
    afternoon = sorted(Calendar.from_ical(session_calendar(session, get_organisation())).walk("VEVENT"),
                       key=lambda e: e.decoded("dtstart"))[1]
    assert str(afternoon["location"]) == "À distance (activité asynchrone)" and "url" not in afternoon
    assert "Activité asynchrone : Lire le guide de dépôt" in str(afternoon["description"])
