"""The session status workflow: draft → open → confirmed → in_progress → completed → closed, or cancelled."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from trainingmgr.catalogue.services import set_course_status
from trainingmgr.core.errors import ConflictError, PermissionDenied, ValidationError
from trainingmgr.extensions import db
from trainingmgr.sessions import services
from trainingmgr.sessions.models import TrainingSession

from tests.helpers import MONDAY
from tests.helpers import page

UTC = dt.timezone.utc
PAST_MONDAY = dt.date(2020, 1, 6)


def utc(day, hour, minute=0):
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=UTC)


def status_of(session) -> str:
    db.session.expire_all()
    return db.session.get(TrainingSession, session.id).status


def move(session, *statuses, now=None, reason="Motif de test"):
    for status in statuses:
        services.change_status(session, status, reason=reason, now=now)
    db.session.commit()


def refused(exc_type, session, status, **kwargs):
    before = session.status
    with pytest.raises(exc_type) as info:
        services.change_status(session, status, **kwargs)
    db.session.rollback()
    assert status_of(session) == before
    return info.value


@pytest.fixture
def session(make_session):
    """A complete Chorus Pro session on MONDAY, 09:00-12:30 and 13:30-17:00 (Paris time, UTC+1 in March)."""
    return make_session(start=MONDAY)


def test_full_workflow(session):
    assert session.status == "draft"
    move(session, "open")
    assert status_of(session) == "open"
    move(session, "confirmed")
    assert status_of(session) == "confirmed"
    move(session, "in_progress", now=utc(MONDAY, 8))
    assert status_of(session) == "in_progress"
    move(session, "completed", now=utc(MONDAY, 16))
    assert status_of(session) == "completed"
    move(session, "closed")
    assert status_of(session) == "closed"


def test_status_change_records_when(session):
    before = session.status_changed_at
    move(session, "open")
    assert session.status_changed_at >= before


def test_open_can_go_back_to_draft(session):
    move(session, "open", "draft")
    assert status_of(session) == "draft"


def test_same_status_is_a_no_op(session):
    move(session, "draft")
    assert status_of(session) == "draft"


@pytest.mark.parametrize("path,target", [
    ((), "in_progress"), ((), "completed"), ((), "closed"),
    (("open",), "in_progress"), (("open",), "closed"),
    (("open", "confirmed"), "draft"), (("open", "confirmed"), "open"), (("open", "confirmed"), "closed"),
    (("open", "confirmed"), "completed"),
])
def test_illegal_transitions_are_refused(session, path, target):
    move(session, *path)
    error = refused(ConflictError, session, target, now=utc(MONDAY, 20))
    assert error.status_code == 409
    assert error.message.startswith(f"Une session « {session.status_label.lower()} » ne peut pas passer à « ")
    assert "status" in error.fields


def test_illegal_transition_message_is_french(session):
    error = refused(ConflictError, session, "closed")
    assert error.message == "Une session « brouillon » ne peut pas passer à « clôturée »."


@pytest.mark.parametrize("target", ["draft", "open", "confirmed", "in_progress", "completed", "cancelled"])
def test_closed_is_final(session, target):
    move(session, "open", "confirmed")
    move(session, "in_progress", "completed", now=utc(MONDAY, 18))
    move(session, "closed")
    refused(ConflictError, session, target, reason="trop tard")


@pytest.mark.parametrize("target", ["draft", "open", "confirmed", "in_progress"])
def test_cancelled_is_final(session, target):
    move(session, "cancelled")
    refused(ConflictError, session, target)


def test_completed_cannot_be_cancelled(session):
    move(session, "open", "confirmed")
    move(session, "in_progress", "completed", now=utc(MONDAY, 18))
    refused(ConflictError, session, "cancelled", reason="Trop tard")


def test_unknown_status(session):
    error = refused(ValidationError, session, "archived")
    assert error.message == "Statut inconnu."


# --------------------------------------------------------------------------- open


def test_open_requires_a_published_course(session, world):
    set_course_status(world.chorus, "draft")
    db.session.commit()
    error = refused(ValidationError, session, "open")
    assert "La formation doit d'abord être publiée au catalogue." in error.message


def test_open_requires_a_price(make_session):
    session = make_session(start=MONDAY, price_per_trainee=None)
    assert session.price_per_trainee is None
    error = refused(ValidationError, session, "open")
    assert "Indiquez le prix par stagiaire." in error.message


def test_open_requires_a_slot(make_session):
    session = make_session(start=None)
    error = refused(ValidationError, session, "open")
    assert "Planifiez au moins un créneau." in error.message


def test_open_intra_session_needs_its_price(make_session, world):
    session = make_session(start=MONDAY, format="intra", client_company_id=world.company.id,
                           price_per_trainee=None, intra_price=None)
    error = refused(ValidationError, session, "open")
    assert "Indiquez le prix de la session intra." in error.message
    services.update_session(session, {"intra_price": Decimal("2500")})
    move(session, "open")
    assert status_of(session) == "open"


def test_open_with_several_problems_lists_them_all(make_session, world):
    session = make_session(start=None, price_per_trainee=None)
    set_course_status(world.chorus, "draft")
    db.session.commit()
    error = refused(ValidationError, session, "open")
    for part in ("publiée", "Planifiez", "prix"):
        assert part in error.message


# --------------------------------------------------------------------------- confirmed


INTER_OPENS_FIRST = ("Une session inter-entreprises ouvre d'abord ses inscriptions : passez-la en « inscriptions "
                     "ouvertes » avant de la confirmer.")


def test_inter_session_opens_its_enrolments_before_it_is_confirmed(session):
    assert session.format == "inter"
    error = refused(ConflictError, session, "confirmed")
    assert error.status_code == 409
    assert error.message == INTER_OPENS_FIRST
    assert error.fields == {"status": [INTER_OPENS_FIRST]}
    assert services.allowed_transitions(session) == ["open", "cancelled"]
    move(session, "open")
    assert services.allowed_transitions(session) == ["draft", "confirmed", "cancelled"]
    move(session, "confirmed")
    assert status_of(session) == "confirmed"


def test_intra_session_may_be_confirmed_straight_from_draft(make_session, world):
    session = make_session(start=MONDAY, format="intra", client_company_id=world.company.id,
                           intra_price=Decimal("2500"))
    assert services.allowed_transitions(session) == ["open", "confirmed", "cancelled"]
    move(session, "confirmed")
    assert status_of(session) == "confirmed"


def test_confirm_requires_planned_hours_equal_to_course_duration(make_session):
    session = make_session(start=None)
    services.add_slot(session, {"date": MONDAY, "start_time": "09:00", "end_time": "12:30"})
    move(session, "open")
    error = refused(ValidationError, session, "confirmed")
    assert "La durée planifiée (3,5 h) doit être égale à celle de la formation (7 h)." in error.message
    services.add_slot(session, {"date": MONDAY, "start_time": "13:30", "end_time": "17:00"})
    move(session, "confirmed")
    assert status_of(session) == "confirmed"


def test_confirm_refuses_more_hours_than_the_course(make_session, world):
    session = make_session(course=world.dume, start=MONDAY)
    services.add_slot(session, {"date": MONDAY + dt.timedelta(days=1), "start_time": "09:00",
                                "end_time": "10:00"})
    move(session, "open")
    error = refused(ValidationError, session, "confirmed")
    assert "La durée planifiée (9 h) doit être égale à celle de la formation (8 h)." in error.message


def test_confirm_dume_8h(make_session, world):
    session = make_session(course=world.dume, start=MONDAY)
    move(session, "open", "confirmed")
    assert status_of(session) == "confirmed"


def test_confirm_requires_trainer_and_location(make_session):
    session = make_session(start=MONDAY, trainer_ids=[], location_id=None)
    move(session, "open")
    error = refused(ValidationError, session, "confirmed")
    assert "Chaque créneau doit avoir un formateur." in error.message
    assert "Chaque créneau doit avoir un lieu." in error.message


def open_without_checks(session) -> None:
    """Put an inter session in "open" directly: opening refuses a session without slot, but confirming must
    still explain what is missing."""
    session.status = "open"
    db.session.commit()


def test_confirm_without_slot(make_session):
    session = make_session(start=None)
    open_without_checks(session)
    error = refused(ValidationError, session, "confirmed")
    assert "Aucun créneau n'est planifié." in error.message


# --------------------------------------------------------------------------- in progress and completed


def test_cannot_start_before_first_slot(session):
    move(session, "open", "confirmed")
    # 09:00 in Paris is 08:00 UTC in March.
    error = refused(ValidationError, session, "in_progress", now=utc(MONDAY, 7, 59))
    assert error.message == "La session ne peut démarrer avant son premier créneau (03/03/2031)."
    refused(ValidationError, session, "in_progress", now=utc(MONDAY - dt.timedelta(days=1), 12))
    move(session, "in_progress", now=utc(MONDAY, 8))
    assert status_of(session) == "in_progress"


def test_cannot_complete_before_last_slot_ends(session):
    move(session, "open", "confirmed")
    move(session, "in_progress", now=utc(MONDAY, 9))
    # 17:00 in Paris is 16:00 UTC in March.
    error = refused(ValidationError, session, "completed", now=utc(MONDAY, 15, 59))
    assert error.message == ("La session ne peut être terminée avant la fin de son dernier créneau "
                             "(03/03/2031).")
    move(session, "completed", now=utc(MONDAY, 16))
    assert status_of(session) == "completed"


def test_start_and_end_use_the_real_first_and_last_slots_in_the_same_transaction(session):
    move(session, "open", "confirmed")
    friday = MONDAY - dt.timedelta(days=3)
    # The afternoon moves to the Friday before, without a reload in between: the list is no longer in order.
    services.update_slot(session.slots[1], {"date": friday})
    services.change_status(session, "in_progress", now=utc(friday, 13))  # 14:00 in Paris, Friday
    assert session.status == "in_progress"
    with pytest.raises(ValidationError) as info:
        services.change_status(session, "completed", now=utc(MONDAY, 11))  # Monday morning not over
    assert "(03/03/2031)" in info.value.message
    db.session.rollback()


def test_advance_sessions_uses_the_real_first_slot(session):
    move(session, "open", "confirmed")
    friday = MONDAY - dt.timedelta(days=3)
    services.update_slot(session.slots[1], {"date": friday})
    changed = services.advance_sessions(utc(friday, 13))
    assert [status for _, status in changed] == ["in_progress"]
    db.session.rollback()


def test_start_uses_paris_summer_time(make_session):
    day = dt.date(2031, 7, 15)  # a Tuesday, Paris is UTC+2
    session = make_session(start=day)
    move(session, "open", "confirmed")
    refused(ValidationError, session, "in_progress", now=utc(day, 6, 59))
    move(session, "in_progress", now=utc(day, 7))
    assert status_of(session) == "in_progress"


def test_now_may_be_given_in_another_timezone(session):
    move(session, "open", "confirmed")
    paris_winter = dt.timezone(dt.timedelta(hours=1))
    refused(ValidationError, session, "in_progress", now=dt.datetime(2031, 3, 3, 8, 59, tzinfo=paris_winter))
    move(session, "in_progress", now=dt.datetime(2031, 3, 3, 9, 0, tzinfo=paris_winter))


# --------------------------------------------------------------------------- cancelled


@pytest.mark.parametrize("reason", ["", "   ", "no", None])
def test_cancel_requires_a_reason(session, reason):
    error = refused(ValidationError, session, "cancelled", reason=reason)
    assert error.fields["cancel_reason"] == ["Indiquez le motif de l'annulation."]


@pytest.mark.parametrize("path", [(), ("open",), ("open", "confirmed")])
def test_cancel_keeps_the_reason(session, path):
    move(session, *path)
    services.change_status(session, "cancelled", reason="  Formateur indisponible  ")
    db.session.commit()
    db.session.expire_all()
    saved = db.session.get(TrainingSession, session.id)
    assert saved.status == "cancelled"
    assert saved.cancel_reason == "Formateur indisponible"
    assert saved.cancelled_at is not None


def test_running_session_can_be_cancelled(session):
    move(session, "open", "confirmed")
    move(session, "in_progress", now=utc(MONDAY, 10))
    move(session, "cancelled", reason="Incendie dans la salle")
    assert status_of(session) == "cancelled"


def test_trainer_cannot_change_status(session, world):
    error = refused(PermissionDenied, session, "open", actor=world.users["trainer"])
    assert error.status_code == 403


def test_advisor_and_admin_can_change_status(session, world):
    services.change_status(session, "open", actor=world.users["advisor"])
    services.change_status(session, "draft", actor=world.users["admin"])
    db.session.commit()
    assert status_of(session) == "draft"


# --------------------------------------------------------------------------- advance_sessions


def test_advance_sessions_moves_confirmed_sessions_along(make_session, world):
    confirmed = make_session(start=MONDAY)
    move(confirmed, "open", "confirmed")
    later = make_session(start=MONDAY + dt.timedelta(days=7))
    move(later, "open", "confirmed")
    draft = make_session(start=MONDAY, trainer=world.paula, location=world.small_room, capacity=4)

    assert services.advance_sessions(utc(MONDAY, 7, 59)) == []
    db.session.commit()
    assert status_of(confirmed) == "confirmed"

    changed = services.advance_sessions(utc(MONDAY, 8))
    db.session.commit()
    assert [(s.id, status) for s, status in changed] == [(confirmed.id, "in_progress")]
    assert status_of(confirmed) == "in_progress"

    assert services.advance_sessions(utc(MONDAY, 15, 59)) == []
    changed = services.advance_sessions(utc(MONDAY, 16))
    db.session.commit()
    assert [(s.id, status) for s, status in changed] == [(confirmed.id, "completed")]
    assert status_of(confirmed) == "completed"
    assert status_of(later) == "confirmed"
    assert status_of(draft) == "draft"


def test_advance_sessions_jumps_to_completed_after_the_end(session):
    move(session, "open", "confirmed")
    changed = services.advance_sessions(utc(MONDAY + dt.timedelta(days=2), 12))
    db.session.commit()
    assert [status for _, status in changed] == ["in_progress", "completed"]
    assert status_of(session) == "completed"


def test_advance_sessions_leaves_other_statuses_alone(make_session, world):
    draft = make_session(start=MONDAY)
    opened = make_session(start=MONDAY + dt.timedelta(days=1))
    move(opened, "open")
    cancelled = make_session(start=MONDAY + dt.timedelta(days=2))
    move(cancelled, "cancelled")
    assert services.advance_sessions(utc(MONDAY + dt.timedelta(days=30), 12)) == []
    db.session.commit()
    assert [status_of(s) for s in (draft, opened, cancelled)] == ["draft", "open", "cancelled"]


def test_sessions_advance_command(app, make_session):
    session = make_session(start=PAST_MONDAY)
    move(session, "open", "confirmed")
    result = app.test_cli_runner().invoke(args=["sessions", "advance"])
    assert result.exit_code == 0, result.output
    assert f"Session {session.id} : completed" in result.output
    assert "2 changements." in result.output
    assert status_of(session) == "completed"


# --------------------------------------------------------------------------- through the HTML buttons


def test_status_buttons_through_the_page(advisor, session):
    response = advisor.post(f"/sessions/{session.id}/status", data={"status": "open"})
    assert response.status_code == 302
    assert status_of(session) == "open"
    shown = page(advisor.get(f"/sessions/{session.id}"))
    assert "Inscriptions ouvertes" in shown
    assert "Statut de la session : inscriptions ouvertes." in shown


def test_illegal_transition_through_the_page_is_409(advisor, session):
    response = advisor.post(f"/sessions/{session.id}/status", data={"status": "closed"})
    assert response.status_code == 409
    assert "Une session « brouillon » ne peut pas passer à « clôturée »." in page(response)
    assert status_of(session) == "draft"


def test_refused_confirmation_through_the_page_is_422(advisor, make_session):
    session = make_session(start=None)
    open_without_checks(session)
    response = advisor.post(f"/sessions/{session.id}/status", data={"status": "confirmed"})
    assert response.status_code == 422
    assert "Aucun créneau n'est planifié." in page(response)
    assert status_of(session) == "open"


def test_confirming_an_inter_draft_through_the_page_is_409(advisor, session):
    response = advisor.post(f"/sessions/{session.id}/status", data={"status": "confirmed"})
    assert response.status_code == 409
    assert INTER_OPENS_FIRST in page(response)
    assert status_of(session) == "draft"


def test_cancel_through_the_page(advisor, session):
    response = advisor.post(f"/sessions/{session.id}/status", data={"status": "cancelled", "cancel_reason": ""})
    assert response.status_code == 422
    assert "Indiquez le motif de l'annulation." in page(response)
    assert status_of(session) == "draft"
    response = advisor.post(f"/sessions/{session.id}/status",
                            data={"status": "cancelled", "cancel_reason": "Salle indisponible"})
    assert response.status_code == 302
    assert status_of(session) == "cancelled"
    assert "Salle indisponible" in page(advisor.get(f"/sessions/{session.id}"))


@pytest.mark.parametrize("data,status", [({"status": "nimporte"}, 422), ({}, 400), ({"status": ""}, 400)])
def test_bad_status_input_through_the_page(advisor, session, data, status):
    response = advisor.post(f"/sessions/{session.id}/status", data=data)
    assert response.status_code == status
    text = page(response)
    assert "Statut inconnu." in text or "requis" in text
    assert status_of(session) == "draft"


def test_cancel_reason_too_long_through_the_page(advisor, session):
    response = advisor.post(f"/sessions/{session.id}/status",
                            data={"status": "cancelled", "cancel_reason": "x" * 2001})
    assert response.status_code == 400
    assert "Ce champ ne doit pas dépasser 2000 caractères." in page(response)
    assert status_of(session) == "draft"
