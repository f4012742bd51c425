"""The advisor's HTML screens for sessions: forms, French messages, 4xx answers, nothing lost on a refusal."""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest

from trainingmgr.core.formatting import money_fr
from trainingmgr.catalogue.services import set_course_status, update_course, version_as_form_data
from trainingmgr.extensions import db
from trainingmgr.sessions import services
from trainingmgr.sessions.models import Slot, TrainingSession

from tests.fixtures.sessions import counts
from tests.helpers import MONDAY, page

TUESDAY = MONDAY + dt.timedelta(days=1)


def new_form(world, **over) -> dict:
    data = {"course_id": str(world.chorus.id), "start_date": MONDAY.isoformat(), "format": "",
            "delivery_mode": "", "location_id": str(world.room.id), "trainer_ids": [str(world.pierre.id)],
            "capacity": "", "min_trainees": "", "price_per_trainee": "600", "intra_price": "",
            "client_company_id": "", "notes": ""}
    data.update(over)
    return data


def edit_form(session, **over) -> dict:
    data = {"format": session.format, "delivery_mode": session.delivery_mode,
            "location_id": str(session.location_id or ""), "trainer_ids": [str(t.id) for t in session.trainers],
            "capacity": str(session.capacity), "min_trainees": str(session.min_trainees),
            "price_per_trainee": "" if session.price_per_trainee is None else str(session.price_per_trainee),
            "intra_price": "" if session.intra_price is None else str(session.intra_price),
            "client_company_id": str(session.client_company_id or ""), "notes": session.notes}
    data.update(over)
    return data


def slot_form(day=TUESDAY, start="09:00", end="12:30", location="", trainer="", **over) -> dict:
    data = {"date": str(day), "start_time": start, "end_time": end, "location_id": str(location),
            "trainer_id": str(trainer)}
    data.update(over)
    return data


def snapshot(session_id: int) -> tuple:
    db.session.expire_all()
    s = db.session.get(TrainingSession, session_id)
    return (s.status, s.format, s.delivery_mode, s.location_id, tuple(t.id for t in s.trainers), s.capacity,
            s.min_trainees, s.price_per_trainee, s.intra_price, s.client_company_id, s.notes,
            s.course_version_id, tuple((x.date, x.start_time, x.end_time, x.location_id, x.trainer_id)
                                       for x in s.slots))


def field_errors(text: str) -> list[str]:
    return [m.strip() for m in re.findall(r'class="invalid-feedback[^"]*"[^>]*>\s*([^<]+)', text)]


def assert_refused(response, *messages, status=422):
    """A 4xx answer showing every French ``message``."""
    assert response.status_code == status, page(response)[:3000]
    text = page(response)
    for message in messages:
        assert message in text, f"{message!r} not shown; field errors: {field_errors(text)}"
    return text


# --------------------------------------------------------------------------- new session


def test_new_session_page_lists_courses_but_not_archived_ones(advisor, world):
    set_course_status(world.dume, "archived")
    db.session.commit()
    text = page(advisor.get("/sessions/new"))
    assert "Nouvelle session" in text
    assert f'<option value="{world.chorus.id}">Chorus Pro</option>' in text
    assert "DUME" not in text


def test_new_session_page_preselects_the_course(advisor, world):
    text = page(advisor.get(f"/sessions/new?course_id={world.dume.id}"))
    assert f'<option selected value="{world.dume.id}">' in text or \
        f'<option value="{world.dume.id}" selected>' in text


def test_create_session_through_the_form(advisor, world):
    response = advisor.post("/sessions/new", data=new_form(world, notes="Groupe du matin"))
    assert response.status_code == 302
    session = db.session.scalars(db.select(TrainingSession)).one()
    assert response.headers["Location"].endswith(f"/sessions/{session.id}")
    assert session.status == "draft" and session.capacity == 7 and session.price_per_trainee == Decimal("600.00")
    assert [(s.start_time, s.end_time) for s in session.slots] == [(dt.time(9), dt.time(12, 30)),
                                                                   (dt.time(13, 30), dt.time(17))]
    text = page(advisor.get(response.headers["Location"]))
    assert "créée en brouillon" in text
    assert "Salle Capitole" in text and "Pierre Formateur" in text
    assert "0 inscrit / 7" in text


def test_create_session_shows_date_warnings(advisor, world):
    response = advisor.post("/sessions/new", data=new_form(world, start_date="2031-07-14"), follow_redirects=True)
    assert response.status_code == 200
    assert "Le 14/07/2031 est un jour férié (Fête nationale)." in page(response)


def test_create_session_with_french_numbers(advisor, world):
    response = advisor.post("/sessions/new", data=new_form(world, course_id=str(world.dume.id),
                                                           price_per_trainee="1 234,50", capacity=" 6 "))
    assert response.status_code == 302
    session = db.session.scalars(db.select(TrainingSession)).one()
    assert (session.capacity, session.price_per_trainee) == (6, Decimal("1234.50"))


def test_double_booked_trainer_through_the_new_session_form(advisor, make_session, world):
    booked = make_session(start=MONDAY)
    response = advisor.post("/sessions/new", data=new_form(world, location_id=str(world.small_room.id)))
    assert_refused(response, "Le formateur Pierre Formateur est déjà pris le 03/03/2031 de 09:00 à 12:30 par la "
                             f"session « Chorus Pro » le 03/03/2031 (n° {booked.id}).", status=409)
    assert counts() == (1, 2)


def test_double_booked_room_through_the_new_session_form(advisor, make_session, world):
    booked = make_session(start=MONDAY)
    response = advisor.post("/sessions/new", data=new_form(world, course_id=str(world.dume.id),
                                                           trainer_ids=[str(world.paula.id)]))
    assert_refused(response, "Le lieu « Salle Capitole » est déjà pris le 03/03/2031",
                   f"par la session « Chorus Pro » le 03/03/2031 (n° {booked.id}).", status=409)
    assert counts() == (1, 2)


NEW_SESSION_BAD_INPUT = [
    ({"capacity": "abc"}, ["Saisissez un nombre entier."]),
    ({"capacity": "0"}, ["La capacité doit être un nombre entier compris entre 1 et 1000."]),
    ({"capacity": "8"}, ["La capacité (8) dépasse le maximum de la formation (7 stagiaires)."]),
    ({"capacity": "5", "location_id": "SMALL"}, ["La capacité (5) dépasse celle de la salle « Petite salle »"]),
    ({"capacity": "3", "min_trainees": "4"}, ["Le minimum de stagiaires doit être inférieur ou égal à la capacité."]),
    ({"min_trainees": "deux"}, ["Saisissez un nombre entier."]),
    ({"price_per_trainee": "-5"}, ["Le prix par stagiaire doit être un nombre positif ou nul."]),
    ({"price_per_trainee": "abc"}, ["Saisissez un nombre, par exemple 600 ou 1 234,56."]),
    ({"price_per_trainee": "NaN"}, ["Saisissez un nombre"]),
    ({"price_per_trainee": "1e12"}, ["Le prix par stagiaire doit être un nombre inférieur à 10 millions."]),
    ({"price_per_trainee": "600,005"}, ["Le prix par stagiaire : deux décimales au plus."]),
    ({"intra_price": "-1"}, ["Le prix intra doit être un nombre positif ou nul."]),
    ({"start_date": "2031-02-30"}, ["date valide"]),
    ({"start_date": "demain"}, ["date valide"]),
    ({"start_date": "1999-01-04"}, ["La date de début : l'année doit être comprise entre 2000 et 2100."]),
    ({"course_id": ""}, ["Ce champ est requis."]),
    ({"course_id": "9999"}, ["Formation introuvable."]),
    ({"course_id": "abc"}, ["Formation introuvable."]),
    ({"location_id": "9999"}, ["Lieu introuvable."]),
    ({"location_id": "REMOTE"}, ["Une session en présentiel a besoin d'un lieu physique."]),
    ({"trainer_ids": ["9999"]}, ["Formateur introuvable."]),
    ({"client_company_id": "9999", "format": "intra"}, ["Entreprise introuvable."]),
    ({"format": "intra"}, ["Une session intra doit avoir une entreprise cliente."]),
    ({"format": "zzz"}, ["choix valide"]),
    ({"course_id": "DUME", "format": "intra", "client_company_id": "COMPANY"},
     ["Cette formation est proposée en inter-entreprises uniquement."]),
    ({"notes": "x" * 10001}, ["Ce champ ne doit pas dépasser 10000 caractères."]),
]


def _resolve(world, over: dict) -> dict:
    names = {"SMALL": world.small_room.id, "REMOTE": world.remote.id, "DUME": world.dume.id,
             "COMPANY": world.company.id}
    return {k: (str(names[v]) if isinstance(v, str) and v in names else v) for k, v in over.items()}


@pytest.mark.parametrize("over,messages", NEW_SESSION_BAD_INPUT, ids=[str(o)[:40] for o, _ in NEW_SESSION_BAD_INPUT])
def test_new_session_form_bad_input(advisor, world, over, messages):
    response = advisor.post("/sessions/new", data=new_form(world, **_resolve(world, over)))
    text = assert_refused(response, *messages)
    assert 'name="course_id"' in text  # the form again, with what was typed
    assert counts() == (0, 0)


def test_new_session_form_shows_every_error_at_once(advisor, world):
    response = advisor.post("/sessions/new", data=new_form(world, capacity="abc", price_per_trainee="-5",
                                                           location_id="9999"))
    assert_refused(response, "Saisissez un nombre entier.", "Le prix par stagiaire doit être un nombre positif ou nul.",
                   "Lieu introuvable.")
    assert counts() == (0, 0)


def test_new_session_form_keeps_what_was_typed(advisor, world):
    response = advisor.post("/sessions/new", data=new_form(world, capacity="abc", notes="Mes notes"))
    text = assert_refused(response)
    assert 'value="abc"' in text
    assert "Mes notes" in text


def test_new_session_without_csrf_token_is_refused(advisor, world):
    response = advisor.post("/sessions/new", data=new_form(world), csrf=False)
    assert response.status_code == 400
    assert counts() == (0, 0)


# --------------------------------------------------------------------------- show and list


def test_show_page(advisor, make_session, world):
    session = make_session(start=MONDAY, capacity=6, min_trainees=2)
    text = page(advisor.get(f"/sessions/{session.id}"))
    assert "Chorus Pro" in text and "Brouillon" in text
    assert "lundi 3 mars 2031" in text.lower()
    assert "09:00 – 12:30" in text and "13:30 – 17:00" in text
    assert "0 inscrit / 6 — minimum 2" in text
    assert "7 h sur 7 h" in text
    assert money_fr(Decimal("600")) in text  # 600,00 € with a narrow no-break space


def test_show_page_lists_warnings(advisor, make_session):
    session = make_session(start=None)
    services.add_slot(session, {"date": "2031-12-25", "start_time": "09:00", "end_time": "12:30"})
    db.session.commit()
    text = page(advisor.get(f"/sessions/{session.id}"))
    assert "Durée planifiée : 3,5 h au lieu des 7 h de la formation." in text
    assert "Le 25/12/2031 est un jour férié (Noël)." in text


@pytest.mark.parametrize("url", ["/sessions/9999", "/sessions/9999/edit", "/sessions/9999/slots/new",
                                 "/sessions/9999/duplicate"])
def test_unknown_session_is_404(advisor, world, url):
    response = advisor.get(url)
    assert response.status_code == 404
    assert "Session introuvable." in page(response)


@pytest.mark.parametrize("url", ["/sessions/9999/status", "/sessions/9999/rebase",
                                 "/sessions/9999/slots/1/delete"])
def test_unknown_session_is_404_on_post(advisor, world, url):
    assert advisor.post(url, data={"status": "open"}).status_code == 404


def test_session_list_and_filters(advisor, make_session, world):
    chorus = make_session(start=MONDAY)
    dume = make_session(course=world.dume, start=MONDAY + dt.timedelta(days=14), trainer=world.paula)
    services.change_status(dume, "open")
    db.session.commit()

    def listed(query=""):
        response = advisor.get(f"/sessions/{query}")
        assert response.status_code == 200
        return {int(x) for x in re.findall(r'data-session="(\d+)"', response.get_data(as_text=True))}

    assert listed() == {chorus.id, dume.id}
    assert listed("?status=open") == {dume.id}
    assert listed(f"?course={world.chorus.id}") == {chorus.id}
    assert listed("?from=2031-03-10") == {dume.id}
    assert listed("?to=2031-03-10") == {chorus.id}
    assert listed("?from=2031-04-01") == set()
    assert listed("?course=abc") == {chorus.id, dume.id}


@pytest.mark.parametrize("query", ["?status=bogus", "?from=abc", "?to=2031-02-30", "?from=31/03/2031"])
def test_session_list_bad_filters_are_400(advisor, world, query):
    response = advisor.get(f"/sessions/{query}")
    assert response.status_code == 400
    assert "Requête invalide" in page(response)


# --------------------------------------------------------------------------- edit


def test_edit_page_is_prefilled(advisor, make_session):
    session = make_session(start=MONDAY, capacity=5, notes="Parking à l'arrière")
    text = page(advisor.get(f"/sessions/{session.id}/edit"))
    assert 'value="5"' in text
    assert "Parking à l'arrière" in text
    assert 'value="600,00"' in text


def test_edit_session_through_the_form(advisor, make_session, world):
    session = make_session(start=MONDAY, capacity=5)
    response = advisor.post(f"/sessions/{session.id}/edit",
                            data=edit_form(session, capacity="4", location_id=str(world.small_room.id),
                                           price_per_trainee="550,50", notes="Nouvelle salle"))
    assert response.status_code == 302
    db.session.expire_all()
    saved = db.session.get(TrainingSession, session.id)
    assert (saved.capacity, saved.location_id, saved.price_per_trainee, saved.notes) == (
        4, world.small_room.id, Decimal("550.50"), "Nouvelle salle")
    assert {s.location_id for s in saved.slots} == {world.small_room.id}


EDIT_BAD_INPUT = [
    ({"capacity": "abc"}, ["Saisissez un nombre entier."]),
    ({"capacity": ""}, ["La capacité est obligatoire."]),
    ({"capacity": "8"}, ["La capacité (8) dépasse le maximum de la formation (7 stagiaires)."]),
    ({"capacity": "5", "location_id": "SMALL"}, ["dépasse celle de la salle « Petite salle » (4 places)."]),
    ({"min_trainees": "6"}, ["Le minimum de stagiaires doit être inférieur ou égal à la capacité."]),
    ({"min_trainees": "1.5"}, ["Saisissez un nombre entier."]),
    ({"price_per_trainee": "-1"}, ["Le prix par stagiaire doit être un nombre positif ou nul."]),
    ({"price_per_trainee": "six cents"}, ["Saisissez un nombre, par exemple 600 ou 1 234,56."]),
    ({"intra_price": "Infinity"}, ["Saisissez un nombre"]),
    ({"location_id": "9999"}, ["Lieu introuvable."]),
    ({"trainer_ids": ["abc"]}, ["Formateur introuvable."]),
    ({"format": "intra"}, ["Une session intra doit avoir une entreprise cliente."]),
    ({"format": "abc"}, ["choix valide"]),
    ({"delivery_mode": "distanciel"}, ["Une session à distance a besoin d'un lieu à distance"]),
    ({"client_company_id": "abc", "format": "intra"}, ["Entreprise introuvable."]),
]


@pytest.mark.parametrize("over,messages", EDIT_BAD_INPUT, ids=[str(o)[:40] for o, _ in EDIT_BAD_INPUT])
def test_edit_form_bad_input_loses_nothing(advisor, make_session, world, over, messages):
    session = make_session(start=MONDAY, capacity=5, notes="Notes d'origine")
    before = snapshot(session.id)
    response = advisor.post(f"/sessions/{session.id}/edit",
                            data=edit_form(session, notes="Notes modifiées", **_resolve(world, over)))
    assert_refused(response, *messages)
    assert snapshot(session.id) == before


def test_edit_form_with_a_parse_error_saves_none_of_the_valid_fields(advisor, make_session, world):
    session = make_session(start=MONDAY, capacity=5, notes="Notes d'origine")
    before = snapshot(session.id)
    # The price cannot be read, everything else is valid: nothing may be saved, the price is not wiped.
    response = advisor.post(f"/sessions/{session.id}/edit",
                            data=edit_form(session, price_per_trainee="abc", capacity="3", notes="Nouveau"))
    assert_refused(response, "Saisissez un nombre, par exemple 600 ou 1 234,56.")
    assert snapshot(session.id) == before


def test_edit_room_conflict_through_the_form(advisor, make_session, world):
    booked = make_session(start=MONDAY)
    session = make_session(start=MONDAY, trainer=world.paula, location=world.small_room, capacity=4)
    before = snapshot(session.id)
    response = advisor.post(f"/sessions/{session.id}/edit", data=edit_form(session, location_id=str(world.room.id)))
    assert_refused(response, "Le lieu « Salle Capitole » est déjà pris", f"(n° {booked.id})", status=409)
    assert snapshot(session.id) == before


@pytest.mark.parametrize("status", ["in_progress", "completed", "closed", "cancelled"])
def test_edit_of_a_session_no_longer_editable_only_saves_its_notes(advisor, make_session, status):
    session = make_session(start=MONDAY, notes="Notes d'origine")
    session.status = status
    db.session.commit()
    before = snapshot(session.id)
    assert "Modifier les notes" in page(advisor.get(f"/sessions/{session.id}"))
    form_page = page(advisor.get(f"/sessions/{session.id}/edit"))
    assert "seules les notes peuvent encore changer" in form_page
    assert 'name="notes"' in form_page and 'name="capacity"' not in form_page
    response = advisor.post(f"/sessions/{session.id}/edit",
                            data=edit_form(session, capacity="3", notes="  Rembourser les inscrits  "))
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/sessions/{session.id}")
    after = snapshot(session.id)
    assert after[10] == "Rembourser les inscrits"  # the notes are saved...
    assert after[5] == 7  # ...the capacity sent along is ignored
    assert after[:10] + after[11:] == before[:10] + before[11:]  # and nothing else changed


# --------------------------------------------------------------------------- slots


def test_add_slot_through_the_form(advisor, make_session, world):
    session = make_session(start=MONDAY)
    response = advisor.post(f"/sessions/{session.id}/slots/new",
                            data=slot_form(location=world.room.id, trainer=world.paula.id))
    assert response.status_code == 302
    db.session.expire_all()
    slots = db.session.get(TrainingSession, session.id).slots
    assert [(s.date, s.trainer_id) for s in slots] == [(MONDAY, world.pierre.id), (MONDAY, world.pierre.id),
                                                       (TUESDAY, world.paula.id)]
    text = page(advisor.get(f"/sessions/{session.id}"))
    assert "Créneau ajouté." in text
    assert "Durée planifiée : 10,5 h au lieu des 7 h de la formation." in text


def test_add_slot_page_is_prefilled(advisor, make_session, world):
    session = make_session(start=MONDAY)
    text = page(advisor.get(f"/sessions/{session.id}/slots/new"))
    assert "Nouveau créneau" in text
    assert re.search(rf'<option selected value="{world.room.id}">|<option value="{world.room.id}" selected', text)


def test_add_slot_on_a_weekend_shows_a_warning(advisor, make_session, world):
    session = make_session(start=None)
    response = advisor.post(f"/sessions/{session.id}/slots/new", follow_redirects=True,
                            data=slot_form(day=MONDAY + dt.timedelta(days=6), location=world.room.id,
                                           trainer=world.pierre.id))
    assert response.status_code == 200
    assert "Le 09/03/2031 tombe un dimanche." in page(response)
    assert counts()[1] == 1


def test_double_booked_trainer_through_the_slot_form(advisor, make_session, world):
    booked = make_session(start=MONDAY)
    other = make_session(start=None, trainer=world.pierre, location=world.small_room, capacity=4)
    response = advisor.post(f"/sessions/{other.id}/slots/new",
                            data=slot_form(day=MONDAY, start="10:00", end="12:00", location=world.small_room.id,
                                           trainer=world.pierre.id))
    assert_refused(response, "Le formateur Pierre Formateur est déjà pris le 03/03/2031 de 09:00 à 12:30 par la "
                             f"session « Chorus Pro » le 03/03/2031 (n° {booked.id}).", status=409)
    assert counts() == (2, 2)


def test_double_booked_room_through_the_slot_form(advisor, make_session, world):
    booked = make_session(start=MONDAY)
    other = make_session(start=None, trainer=world.paula, location=world.small_room, capacity=4)
    response = advisor.post(f"/sessions/{other.id}/slots/new",
                            data=slot_form(day=MONDAY, start="14:00", end="16:00", location=world.room.id,
                                           trainer=world.paula.id))
    assert_refused(response, "Le lieu « Salle Capitole » est déjà pris le 03/03/2031 de 13:30 à 17:00 par la "
                             f"session « Chorus Pro » le 03/03/2031 (n° {booked.id}).", status=409)
    assert counts() == (2, 2)


SLOT_BAD_INPUT = [
    ({"date": "abc"}, ["date valide"]),
    ({"date": "2031-02-30"}, ["date valide"]),
    ({"date": ""}, ["Ce champ est requis."]),
    ({"date": "1999-03-01"}, ["La date : l'année doit être comprise entre 2000 et 2100."]),
    ({"start_time": "25:00"}, ["horaire valide"]),
    ({"start_time": "abc"}, ["horaire valide"]),
    ({"end_time": ""}, ["Ce champ est requis."]),
    ({"start_time": "12:30", "end_time": "09:00"}, ["L'heure de fin doit être postérieure à l'heure de début."]),
    ({"start_time": "09:00", "end_time": "09:00"}, ["L'heure de fin doit être postérieure à l'heure de début."]),
    ({"start_time": "09:00", "end_time": "17:00"}, ["Un créneau du matin doit se terminer au plus tard à 14:00"]),
    ({"location_id": "9999"}, ["Lieu introuvable."]),
    ({"location_id": "abc"}, ["Lieu introuvable."]),
    ({"trainer_id": "9999"}, ["Formateur introuvable."]),
    ({"location_id": "REMOTE"}, ["Une session en présentiel a besoin d'un lieu physique."]),
    ({"location_id": "SMALL"}, ["La salle « Petite salle » n'a que 4 places pour une session de 7 stagiaires."]),
    ({"date": MONDAY.isoformat(), "start_time": "10:00", "end_time": "11:00"},
     ["Ce créneau chevauche celui du 03/03/2031 de 09:00 à 12:30 dans cette session."]),
    ({"date": MONDAY.isoformat(), "start_time": "08:00", "end_time": "09:00"},
     ["Cette session a déjà un créneau le 03/03/2031 (matin) : une demi-journée ne compte qu'un créneau."]),
]


@pytest.mark.parametrize("over,messages", SLOT_BAD_INPUT, ids=[str(o)[:40] for o, _ in SLOT_BAD_INPUT])
def test_slot_form_bad_input(advisor, make_session, world, over, messages):
    session = make_session(start=MONDAY)
    before = snapshot(session.id)
    data = slot_form(location=world.room.id, trainer=world.pierre.id)
    data.update(_resolve(world, over))
    response = advisor.post(f"/sessions/{session.id}/slots/new", data=data)
    assert_refused(response, *messages)
    assert snapshot(session.id) == before


def test_slot_form_missing_fields(advisor, make_session):
    session = make_session(start=MONDAY)
    response = advisor.post(f"/sessions/{session.id}/slots/new", data={})
    assert_refused(response, "Ce champ est requis.")
    assert counts() == (1, 2)


def test_edit_slot_through_the_form(advisor, make_session, world):
    session = make_session(start=MONDAY)
    slot = session.slots[1]
    text = page(advisor.get(f"/sessions/{session.id}/slots/{slot.id}"))
    assert "Modifier le créneau" in text and 'value="13:30"' in text
    response = advisor.post(f"/sessions/{session.id}/slots/{slot.id}",
                            data=slot_form(day=MONDAY, start="14:00", end="17:30", location=world.room.id,
                                           trainer=world.paula.id))
    assert response.status_code == 302
    db.session.expire_all()
    slot = db.session.get(Slot, slot.id)
    assert (slot.start_time, slot.end_time, slot.trainer_id) == (dt.time(14), dt.time(17, 30), world.paula.id)


@pytest.mark.parametrize("over,messages", SLOT_BAD_INPUT[:10], ids=[str(o)[:40] for o, _ in SLOT_BAD_INPUT[:10]])
def test_edit_slot_form_bad_input(advisor, make_session, world, over, messages):
    session = make_session(start=MONDAY)
    slot = session.slots[1]
    before = snapshot(session.id)
    data = slot_form(day=MONDAY, start="13:30", end="17:00", location=world.room.id, trainer=world.pierre.id)
    data.update(over)
    response = advisor.post(f"/sessions/{session.id}/slots/{slot.id}", data=data)
    assert_refused(response, *messages)
    assert snapshot(session.id) == before


def test_edit_slot_double_booking_through_the_form(advisor, make_session, world):
    booked = make_session(start=MONDAY)
    other = make_session(start=TUESDAY, trainer=world.paula, location=world.small_room, capacity=4)
    slot = other.slots[0]
    before = snapshot(other.id)
    response = advisor.post(f"/sessions/{other.id}/slots/{slot.id}",
                            data=slot_form(day=MONDAY, location=world.small_room.id, trainer=world.pierre.id))
    assert_refused(response, "Le formateur Pierre Formateur est déjà pris", f"(n° {booked.id})", status=409)
    assert snapshot(other.id) == before


def test_slot_of_another_session_is_404(advisor, make_session, world):
    first = make_session(start=MONDAY)
    second = make_session(start=TUESDAY)
    assert advisor.get(f"/sessions/{first.id}/slots/{second.slots[0].id}").status_code == 404
    assert advisor.post(f"/sessions/{first.id}/slots/{second.slots[0].id}/delete").status_code == 404
    assert advisor.get(f"/sessions/{first.id}/slots/9999").status_code == 404
    assert counts() == (2, 4)


def test_delete_slot_through_the_button(advisor, make_session):
    session = make_session(start=MONDAY)
    slot_id = session.slots[0].id
    response = advisor.post(f"/sessions/{session.id}/slots/{slot_id}/delete")
    assert response.status_code == 302
    assert counts() == (1, 1)
    assert db.session.get(Slot, slot_id) is None


def test_delete_slot_of_a_confirmed_session_is_refused(advisor, make_session):
    session = make_session(start=MONDAY)
    services.change_status(session, "open")  # an inter session opens its enrolments before it is confirmed
    services.change_status(session, "confirmed")
    db.session.commit()
    response = advisor.post(f"/sessions/{session.id}/slots/{session.slots[0].id}/delete")
    assert_refused(response, "Session confirmée : sa durée doit rester celle de la formation.")
    assert counts() == (1, 2)


def test_delete_slot_without_csrf_token(advisor, make_session):
    session = make_session(start=MONDAY)
    response = advisor.post(f"/sessions/{session.id}/slots/{session.slots[0].id}/delete", csrf=False)
    assert response.status_code == 400
    assert counts() == (1, 2)


# --------------------------------------------------------------------------- duplicate and rebase


def test_duplicate_through_the_form(advisor, make_session, world):
    session = make_session(start=MONDAY, capacity=6)
    assert "Dupliquer la session" in page(advisor.get(f"/sessions/{session.id}/duplicate"))
    response = advisor.post(f"/sessions/{session.id}/duplicate", data={"start_date": "2031-03-17"})
    assert response.status_code == 302
    copy = db.session.scalars(db.select(TrainingSession).where(TrainingSession.id != session.id)).one()
    assert response.headers["Location"].endswith(f"/sessions/{copy.id}")
    assert copy.status == "draft" and copy.capacity == 6
    assert [s.date for s in copy.slots] == [dt.date(2031, 3, 17)] * 2


@pytest.mark.parametrize("value,message", [("", "Ce champ est requis."), ("abc", "date valide"),
                                           ("2031-02-30", "date valide"),
                                           ("1999-01-01", "l'année doit être comprise entre 2000 et 2100")])
def test_duplicate_form_bad_date(advisor, make_session, value, message):
    session = make_session(start=MONDAY)
    response = advisor.post(f"/sessions/{session.id}/duplicate", data={"start_date": value})
    assert_refused(response, message)
    assert counts() == (1, 2)


def test_duplicate_form_conflict(advisor, make_session):
    session = make_session(start=MONDAY)
    response = advisor.post(f"/sessions/{session.id}/duplicate", data={"start_date": MONDAY.isoformat()})
    assert_refused(response, "Le formateur Pierre Formateur est déjà pris", f"(n° {session.id})", status=409)
    assert counts() == (1, 2)


def _new_version(course):
    data = version_as_form_data(course.current_version)
    data["title"] = "Chorus Pro 2031"
    version = update_course(course, data, None)
    db.session.commit()
    return version


def test_rebase_through_the_button(advisor, make_session, world):
    session = make_session(start=MONDAY)
    v2 = _new_version(world.chorus)
    text = page(advisor.get(f"/sessions/{session.id}"))
    assert "Passer à la version 2" in text
    assert "Programme en version 1 ; la formation est passée en version 2." in text
    response = advisor.post(f"/sessions/{session.id}/rebase")
    assert response.status_code == 302
    assert snapshot(session.id)[11] == v2.id


def test_rebase_of_a_confirmed_session_is_refused(advisor, make_session, world):
    session = make_session(start=MONDAY)
    services.change_status(session, "open")  # an inter session opens its enrolments before it is confirmed
    services.change_status(session, "confirmed")
    db.session.commit()
    _new_version(world.chorus)
    before = snapshot(session.id)
    response = advisor.post(f"/sessions/{session.id}/rebase")
    assert_refused(response, "Seule une session en brouillon ou aux inscriptions ouvertes peut changer de version.")
    assert snapshot(session.id) == before


# --------------------------------------------------------------------------- calendar


def test_month_calendar_lists_slots(advisor, make_session, world):
    make_session(start=MONDAY)
    make_session(course=world.dume, start=MONDAY + dt.timedelta(days=2), trainer=world.paula)
    april = make_session(start=dt.date(2031, 4, 7))
    response = advisor.get("/calendar?month=2031-03")
    assert response.status_code == 200
    text = page(response)
    assert "Mars 2031" in text
    assert "09:00–12:30 Chorus Pro" in text and "13:30–17:00 Chorus Pro" in text
    assert "08:30–12:30 Marchés publics : DUME et Chorus Pro" in text
    assert "Paula Formatrice" in text and "Salle Capitole" in text
    # 7 April is not in the weeks shown for March 2031 (the last week ends on Sunday 6 April).
    assert f"/sessions/{april.id}" not in text
    assert "février 2031" in text and "avril 2031" in text


def test_month_calendar_shows_public_holidays(advisor, world):
    text = page(advisor.get("/calendar?month=2031-07"))
    assert "Fête nationale" in text


def test_month_calendar_hides_cancelled_sessions(advisor, make_session):
    session = make_session(start=MONDAY)
    services.change_status(session, "cancelled", reason="Annulée")
    db.session.commit()
    assert f"/sessions/{session.id}" not in page(advisor.get("/calendar?month=2031-03"))


def test_month_calendar_defaults_to_this_month(advisor, world):
    assert advisor.get("/calendar").status_code == 200


@pytest.mark.parametrize("month", ["2031-13", "2031-00", "abc", "2031", "2031-03-01", "1999-12", "2101-01",
                                   "99999999999999999999-01", "2031-", "-03", "mars 2031"])
def test_month_calendar_bad_month_is_400(advisor, world, month):
    response = advisor.get(f"/calendar?month={month}")
    assert response.status_code == 400
    assert "Requête invalide" in page(response)


def test_move_to_a_bigger_room_and_grow_through_the_form(advisor, make_session, world):
    session = make_session(start=MONDAY, location=world.small_room, capacity=4)
    response = advisor.post(f"/sessions/{session.id}/edit",
                            data=edit_form(session, location_id=str(world.room.id), capacity="7"))
    assert response.status_code == 302, field_errors(page(response))
    after = snapshot(session.id)
    assert after[3] == world.room.id and after[5] == 7
    assert {slot[3] for slot in after[12]} == {world.room.id}


# --------------------------------------------------------------------------- hostile input never gives a 500

HUGE = "99999999999999999999"


@pytest.mark.parametrize("url", [f"/sessions/{HUGE}", f"/sessions/{HUGE}/edit", f"/sessions/{HUGE}/slots/new",
                                 f"/sessions/{HUGE}/duplicate", "/sessions/2147483648",
                                 "/sessions/{id}/slots/" + HUGE])
def test_huge_ids_in_urls_are_404(advisor, make_session, url):
    session = make_session(start=MONDAY)
    response = advisor.get(url.format(id=session.id))
    assert response.status_code == 404
    assert "Page introuvable" in page(response)


def test_huge_course_filter_lists_nothing(advisor, make_session):
    make_session(start=MONDAY)
    response = advisor.get(f"/sessions/?course={HUGE}")
    assert response.status_code == 200
    assert "data-session=" not in response.get_data(as_text=True)


@pytest.mark.parametrize("field,message", [("course_id", "Formation introuvable."), ("location_id", "Lieu introuvable."),
                                           ("trainer_ids", "Formateur introuvable."),
                                           ("client_company_id", "Entreprise introuvable.")])
def test_huge_ids_in_the_new_session_form_are_refused(advisor, world, field, message):
    value = [HUGE] if field == "trainer_ids" else HUGE
    extra = {"format": "intra"} if field == "client_company_id" else {}
    response = advisor.post("/sessions/new", data=new_form(world, **{field: value}, **extra))
    assert_refused(response, message)
    assert counts() == (0, 0)


@pytest.mark.parametrize("field,message", [("location_id", "Lieu introuvable."),
                                           ("trainer_id", "Formateur introuvable.")])
def test_huge_ids_in_the_slot_form_are_refused(advisor, make_session, world, field, message):
    session = make_session(start=MONDAY)
    response = advisor.post(f"/sessions/{session.id}/slots/new", data=slot_form(**{field: HUGE}))
    assert_refused(response, message)
    assert counts() == (1, 2)


@pytest.mark.parametrize("field", ["notes", "capacity", "course_id"])
def test_nul_characters_are_refused(advisor, world, field):
    response = advisor.post("/sessions/new", data=new_form(world, **{field: "1\x00"}))
    assert_refused(response, "caractère nul", status=400)
    assert counts() == (0, 0)


HOSTILE = ["", " ", "abc", "-1", "0", "1e5", "NaN", "Infinity", HUGE, "1.5", "a\x00b", "2031-02-30", "25:61",
           "0001-01-01", "x" * 300, "12:00:00", "<b>gras</b>"]


def test_no_form_answers_500_to_hostile_input(app, advisor, make_session, world):
    app.config["PROPAGATE_UNHANDLED"] = False  # a crash must show up as a 500 to collect, not stop the loop
    session = make_session(start=MONDAY)
    slot = session.slots[0]
    new = new_form(world, start_date="2031-03-10")
    edit = edit_form(session)
    slot_data = slot_form(day="2031-03-12", start="09:00", end="12:00", location=world.room.id,
                          trainer=world.pierre.id)
    forms = [("/sessions/new", new), (f"/sessions/{session.id}/edit", edit),
             (f"/sessions/{session.id}/slots/new", slot_data), (f"/sessions/{session.id}/slots/{slot.id}", slot_data),
             (f"/sessions/{session.id}/duplicate", {"start_date": "2031-03-17"}),
             (f"/sessions/{session.id}/status", {"status": "open", "cancel_reason": ""})]
    crashes = []
    for url, base in forms:
        for key in base:
            for value in HOSTILE:
                data = {**base, key: [value] if isinstance(base[key], list) else value}
                response = advisor.post(url, data=data)
                if response.status_code >= 500:
                    crashes.append((url, key, value[:20]))
                else:
                    assert response.status_code in (200, 302, 400, 404, 409, 422), (url, key, value)
    assert crashes == []
