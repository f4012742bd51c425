"""A trainer's periods of unavailability (resources/unavailability.py): declared by the advisor or by the trainer from
their personal link, checked (dates, order, length, reason), and refused at scheduling like a double booking, the
message naming the period (409)."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from tests.helpers import MONDAY, login, page
from trainingmgr.core import personal_links
from trainingmgr.core.errors import ConflictError, NotFoundError, ValidationError
from trainingmgr.extensions import db
from trainingmgr.resources import links
from trainingmgr.resources.models import TrainerUnavailability
from trainingmgr.resources.unavailability import add_unavailability, delete_unavailability, get_unavailability
from trainingmgr.sessions import services as session_services
from trainingmgr.sessions.models import Slot

TUESDAY, WEDNESDAY, FRIDAY = (MONDAY + dt.timedelta(days=n) for n in (1, 2, 4))
HOLIDAYS = {"starts_on": TUESDAY, "ends_on": FRIDAY, "reason": "Congés"}
NAMED = "Le formateur Pierre Formateur est indisponible du 04/03/2031 au 07/03/2031 (Congés)"


def refused(exc_type, fn, *args, **kwargs):
    """Run ``fn``, expect ``exc_type``; roll back as a view would and return the error."""
    with pytest.raises(exc_type) as info:
        fn(*args, **kwargs)
    db.session.rollback()
    return info.value


def periods() -> int:
    return db.session.scalar(select(func.count()).select_from(TrainerUnavailability))


@pytest.fixture
def holidays(world):
    """Pierre away from Tuesday to Friday of the test week."""
    period, warnings = add_unavailability(world.pierre, HOLIDAYS)
    db.session.commit()
    assert warnings == []
    return period


# --------------------------------------------------------------------------- the period itself


def test_a_period_is_recorded_with_its_reason_trimmed(world):
    period, _ = add_unavailability(world.pierre, {"starts_on": "2031-03-04", "ends_on": "2031-03-04",
                                                  "reason": "  Jury   d'examen "})
    db.session.commit()
    assert (period.trainer_id, period.starts_on, period.ends_on, period.reason) == (
        world.pierre.id, TUESDAY, TUESDAY, "Jury d'examen")


@pytest.mark.parametrize("data,field,message", [
    ({"starts_on": "", "ends_on": "2031-03-07"}, "starts_on", "La date de début est obligatoire."),
    ({"starts_on": "2031-03-04", "ends_on": None}, "ends_on", "La date de fin est obligatoire."),
    ({"starts_on": "04/03/2031", "ends_on": "2031-03-07"}, "starts_on", "date invalide"),
    ({"starts_on": "2031-02-30", "ends_on": "2031-03-07"}, "starts_on", "date invalide"),
    ({"starts_on": "2031-03-07", "ends_on": "2031-03-04"}, "ends_on",
     "La date de fin doit être le jour de début ou après."),
    ({"starts_on": "2031-03-04", "ends_on": "2032-03-04"}, "ends_on", "dure au plus 366 jours"),
    ({"starts_on": "2020-01-06", "ends_on": "2020-01-10"}, "ends_on", "Cette période est déjà passée."),
    ({"starts_on": "1999-01-06", "ends_on": "2031-01-10"}, "starts_on", "entre 2000 et 2100"),
    ({"starts_on": "2031-03-04", "ends_on": "2031-03-07", "reason": "x" * 201}, "reason",
     "Le motif ne doit pas dépasser 200 caractères."),
])
def test_bad_periods_are_refused_in_french(world, data, field, message):
    error = refused(ValidationError, add_unavailability, world.pierre, data)
    assert error.status_code == 422
    assert any(message in text for text in error.fields[field]), error.fields
    assert periods() == 0


def test_a_period_overlapping_another_is_refused_naming_it(world, holidays):
    error = refused(ConflictError, add_unavailability, world.pierre, {"starts_on": FRIDAY, "ends_on": FRIDAY})
    assert error.status_code == 409
    assert error.message == "Cette période chevauche l'indisponibilité déjà déclarée du 04/03/2031 au 07/03/2031 " \
                            "(Congés)."
    add_unavailability(world.paula, HOLIDAYS)  # another trainer's days are theirs
    add_unavailability(world.pierre, {"starts_on": MONDAY, "ends_on": MONDAY})  # the day before touches only
    db.session.commit()
    assert periods() == 3


def test_a_period_over_planned_slots_is_recorded_and_names_them(world, make_session):
    session = make_session(start=WEDNESDAY, trainer=world.pierre)
    period, warnings = add_unavailability(world.pierre, HOLIDAYS)
    db.session.commit()
    assert period.id is not None
    assert warnings == [
        f"Le 05/03/2031 (matin), Pierre Formateur est déjà planifié(e) sur la session « Chorus Pro » le 05/03/2031 "
        f"(n° {session.id}) : remplacez ce créneau ou son formateur.",
        f"Le 05/03/2031 (après-midi), Pierre Formateur est déjà planifié(e) sur la session « Chorus Pro » le "
        f"05/03/2031 (n° {session.id}) : remplacez ce créneau ou son formateur."]


def test_a_period_is_found_only_through_its_trainer(world, holidays):
    assert get_unavailability(world.pierre, holidays.id) is holidays
    for who, period_id in ((world.paula, holidays.id), (world.pierre, holidays.id + 1000), (world.pierre, "abc")):
        refused(NotFoundError, get_unavailability, who, period_id)
    delete_unavailability(holidays)
    db.session.commit()
    assert periods() == 0


# --------------------------------------------------------------------------- scheduling refuses it


def test_a_session_on_an_unavailable_day_is_refused_naming_the_period(world, make_session, holidays):
    with pytest.raises(ConflictError) as info:
        make_session(start=WEDNESDAY, trainer=world.pierre)
    db.session.rollback()
    assert info.value.status_code == 409
    assert info.value.message == f"{NAMED} : choisissez une autre date ou un autre formateur."
    assert "trainer_id" in info.value.fields
    assert db.session.scalar(select(func.count()).select_from(Slot)) == 0
    make_session(start=WEDNESDAY, trainer=world.paula)  # Paula is free


def test_adding_moving_or_reassigning_a_slot_onto_the_period_is_refused(world, make_session, holidays):
    session = make_session(start=MONDAY, trainer=world.pierre)
    error = refused(ConflictError, session_services.add_slot, session,
                    {"date": FRIDAY, "start_time": "09:00", "end_time": "12:00"})
    assert NAMED in error.message

    morning = session.slots[0]
    error = refused(ConflictError, session_services.update_slot, morning, {"date": TUESDAY})
    assert NAMED in error.message
    assert db.session.get(Slot, morning.id).date == MONDAY

    other = make_session(start=WEDNESDAY, trainer=world.paula, location=world.small_room, capacity=4)
    error = refused(ConflictError, session_services.update_slot, other.slots[0], {"trainer_id": world.pierre.id})
    assert NAMED in error.message and db.session.get(Slot, other.slots[0].id).trainer_id == world.paula.id

    # the team changes: Paula's slots would go to Pierre, who is away that day
    error = refused(ConflictError, session_services.update_session, other, {"trainer_ids": [world.pierre.id]})
    assert NAMED in error.message


def test_a_slot_planned_before_the_period_can_still_be_edited(world, make_session):
    session = make_session(start=WEDNESDAY, trainer=world.pierre)
    add_unavailability(world.pierre, HOLIDAYS)
    db.session.commit()
    morning = session.slots[0]
    session_services.update_slot(morning, {"start_time": "09:30"})  # the advisor is told, not blocked
    db.session.commit()
    assert morning.start_time == dt.time(9, 30)
    session_services.update_slot(morning, {"date": MONDAY})  # and moves it out of the period
    db.session.commit()


def test_the_slot_page_answers_409_with_the_period(client, world, make_session, holidays):
    session = make_session(start=MONDAY, trainer=world.pierre)
    slot = session.slots[0]
    login(client, "conseil@test.example")
    response = client.post(f"/sessions/{session.id}/slots/{slot.id}", data={
        "date": "2031-03-06", "start_time": "09:00", "end_time": "12:30", "location_id": str(world.room.id),
        "trainer_id": str(world.pierre.id)})
    assert response.status_code == 409
    assert NAMED in page(response)
    assert db.session.get(Slot, slot.id).date == MONDAY


# --------------------------------------------------------------------------- the advisor's pages


def test_the_advisor_declares_lists_and_withdraws_a_period(client, world):
    advisor = client
    login(advisor, "conseil@test.example")
    url = f"/trainers/{world.pierre.id}/unavailabilities"
    response = advisor.post(url, data={"starts_on": "2031-03-04", "ends_on": "2031-03-07", "reason": "Congés"})
    assert response.status_code == 302 and response.headers["Location"].endswith(url)
    assert "Indisponibilité enregistrée du 04/03/2031 au 07/03/2031 (Congés)." in page(advisor.get(url))
    trainer_page = page(advisor.get(f"/trainers/{world.pierre.id}"))
    assert "Du 04/03/2031 au 07/03/2031 — Congés" in trainer_page
    assert "Du 04/03/2031" not in page(advisor.get(f"/trainers/{world.paula.id}"))

    period = db.session.scalar(select(TrainerUnavailability))
    assert advisor.post(f"/trainers/{world.paula.id}/unavailabilities/{period.id}/delete").status_code == 404
    response = advisor.post(f"{url}/{period.id}/delete")
    assert response.status_code == 302
    assert "Indisponibilité du 04/03/2031 au 07/03/2031 (Congés) retirée." in page(advisor.get(url))
    assert periods() == 0


def test_the_advisors_form_refuses_bad_input_with_422_in_french(client, world):
    advisor = client
    login(advisor, "conseil@test.example")
    url = f"/trainers/{world.pierre.id}/unavailabilities"
    response = advisor.post(url, data={"starts_on": "2031-03-07", "ends_on": "2031-03-04", "reason": "x" * 201})
    assert response.status_code == 422
    text = page(response)
    assert "La date de fin doit être le jour de début ou après." in text
    assert "Ce champ ne doit pas dépasser 200 caractères." in text
    response = advisor.post(url, data={"starts_on": "demain", "ends_on": ""})
    assert response.status_code == 422
    assert "La date de fin est obligatoire." in page(response)
    assert "Not a valid" not in page(response)
    assert advisor.post(url, data={"starts_on": "2031-03-04", "ends_on": "2031-03-04"}, csrf=False).status_code == 400
    assert periods() == 0


def test_a_logged_in_trainer_cannot_use_the_advisors_page(client, world):
    trainer = client
    login(trainer, "formateur@test.example")
    assert trainer.get(f"/trainers/{world.pierre.id}/unavailabilities").status_code == 403
    assert trainer.post(f"/trainers/{world.pierre.id}/unavailabilities",
                        data={"starts_on": "2031-03-04", "ends_on": "2031-03-07"}).status_code == 403
    assert periods() == 0


# --------------------------------------------------------------------------- the trainer, by their personal link


def space_page(someone) -> str:
    url = f"/formateur/{links.token(someone)}/indisponibilites"
    db.session.commit()
    return url


def test_the_trainer_declares_and_withdraws_their_own_periods_by_link(client, world):
    url = space_page(world.pierre)
    response = client.post(url, data={"starts_on": "2031-03-04", "ends_on": "2031-03-07", "reason": "Congés"})
    assert response.status_code == 302
    text = page(client.get(url))
    assert "Mes indisponibilités" in text and "Du 04/03/2031 au 07/03/2031 — Congés" in text
    period = db.session.scalar(select(TrainerUnavailability))
    assert period.trainer_id == world.pierre.id

    paula = space_page(world.paula)
    assert "04/03/2031" not in page(client.get(paula))  # Paula's page shows none of Pierre's
    assert client.post(f"{paula}/{period.id}/supprimer").status_code == 404  # nor withdraws them
    response = client.post(url, data={"starts_on": "2031-03-08", "ends_on": "2031-03-01"})
    assert response.status_code == 422 and "La date de fin doit être le jour de début ou après." in page(response)
    assert client.post(f"{url}/{period.id}/supprimer").status_code == 302
    assert periods() == 0


def test_the_trainers_pages_refuse_forged_and_revoked_links(client, world):
    url = space_page(world.pierre)
    forged = "/formateur/lien-contrefait/indisponibilites"
    assert client.get(forged).status_code == 403
    assert client.post(forged, data={"starts_on": "2031-03-04", "ends_on": "2031-03-07"}).status_code == 403
    personal_links.revoke(world.pierre)
    db.session.commit()
    for response in (client.get(url), client.post(url, data={"starts_on": "2031-03-04", "ends_on": "2031-03-07"}),
                     client.post(f"{url}/1/supprimer")):
        assert response.status_code == 410
    assert periods() == 0
