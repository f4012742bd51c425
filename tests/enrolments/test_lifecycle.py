"""The enrolment lifecycle through the services: statuses, illegal transitions, one enrolment per trainee and
session, capacity never exceeded, the waiting list and its promotions, capacity raised, session cancelled."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from trainingmgr.core.errors import ConflictError, ValidationError
from trainingmgr.core.timeutil import utcnow
from trainingmgr.enrolments import links, services
from trainingmgr.enrolments.models import ENROLMENT_STATUS_LABELS, Enrolment, EnrolmentStatus
from trainingmgr.extensions import db
from trainingmgr.sessions.services import change_status, seats_taken, update_session

from tests.enrolments.support import (
    convocation_planned,
    count,
    event_kinds,
    events,
    fresh,
    outbox,
    person,
    recipients,
    statuses,
    worker_pass,
)


def enrol(session, trainee, **kwargs) -> Enrolment:
    enrolment = services.enrol(session, trainee, **kwargs)
    db.session.commit()
    return enrolment


def test_the_eight_statuses_and_their_french_labels():
    assert [s.value for s in EnrolmentStatus] == [
        "requested", "pending_prerequisite", "confirmed", "waitlisted", "cancelled", "no_show", "completed",
        "abandoned"]
    assert set(ENROLMENT_STATUS_LABELS) == {s.value for s in EnrolmentStatus}
    assert ENROLMENT_STATUS_LABELS["waitlisted"] == "Liste d'attente"


def test_enrolling_in_a_course_without_prerequisite_confirms_at_once(world, dume_session, new_trainee):
    trainee = new_trainee(1, company_id=world.company.id)
    enrolment = enrol(dume_session, trainee, actor=world.users["advisor"])
    enrolment = fresh(Enrolment, enrolment.id)
    assert enrolment.status == "confirmed"
    assert enrolment.confirmed_at is not None
    assert enrolment.waitlist_position is None
    assert enrolment.company_id == world.company.id  # the trainee's employer by default
    assert enrolment.source == "advisor"
    assert seats_taken([dume_session.id])[dume_session.id] == 1
    # One "created" event records where the new enrolment landed (it had no status before).
    assert event_kinds(enrolment)[:1] == ["created"]
    created = events(enrolment)[0]
    assert (created.from_status, created.to_status) == (None, "confirmed")
    assert created.actor_id == world.users["advisor"].id
    assert recipients("enrolment_status", enrolment) == []  # the confirmation e-mail is an automation
    worker_pass()
    assert recipients("enrolment_status", enrolment) == [trainee.email]
    assert "Inscription confirmée" in outbox("enrolment_status", enrolment)[0].subject


def test_enrolment_price_is_the_session_price_and_vat_follows_the_organisation(world, dume_session, new_trainee):
    from decimal import Decimal

    from trainingmgr.organisation.services import get_organisation

    enrolment = enrol(dume_session, new_trainee(1))
    assert (enrolment.price_excl_vat, enrolment.vat_rate, enrolment.price_incl_vat) == (
        Decimal("600.00"), Decimal("0.00"), Decimal("600.00"))  # the organisation is VAT-exempt
    get_organisation().vat_status = "subject"
    db.session.commit()
    enrolment = enrol(dume_session, new_trainee(2))
    assert (enrolment.vat_rate, enrolment.price_incl_vat) == (Decimal("20.00"), Decimal("720.00"))


def test_a_session_not_open_takes_no_enrolment(world, make_session, new_trainee):
    session = make_session(course=world.dume)  # draft
    with pytest.raises(ValidationError, match="n'accepte pas d'inscription"):
        services.enrol(session, new_trainee(1))
    db.session.rollback()
    assert count(Enrolment) == 0


def test_one_trainee_at_most_once_per_session(world, dume_session, new_trainee):
    trainee = new_trainee(1)
    enrol(dume_session, trainee)
    with pytest.raises(ConflictError) as refused:
        services.enrol(dume_session, trainee)
    db.session.rollback()
    assert refused.value.status_code == 409
    assert "déjà inscrit(e) à cette session" in refused.value.message
    assert count(Enrolment) == 1


@pytest.mark.parametrize("status", ["waitlisted", "pending_prerequisite"])
def test_a_waitlisted_or_pending_trainee_cannot_enrol_twice_either(world, open_session, new_trainee, status):
    session = open_session(capacity=1)
    first = enrol(session, new_trainee(1))
    second = enrol(session, new_trainee(2))
    target = first if status == "pending_prerequisite" else second
    assert target.status == status
    with pytest.raises(ConflictError):
        services.enrol(session, target.trainee)
    db.session.rollback()
    assert count(Enrolment) == 2


def test_a_cancelled_enrolment_is_reopened_by_enrolling_again(world, dume_session, new_trainee):
    advisor = world.users["advisor"]
    trainee = new_trainee(1)
    enrolment = enrol(dume_session, trainee)
    assert convocation_planned(enrolment)
    # The convocation already went out once.
    sent_at = utcnow()
    db.session.get(Enrolment, enrolment.id).convocation_sent_at = sent_at
    db.session.commit()
    services.cancel(db.session.get(Enrolment, enrolment.id), advisor, "Empêchement")
    db.session.commit()
    assert not convocation_planned(enrolment)
    again = enrol(dume_session, db.session.get(type(trainee), trainee.id), actor=advisor)
    assert again.id == enrolment.id  # the same row, reopened
    again = fresh(Enrolment, again.id)
    assert again.status == "confirmed"
    assert (again.cancelled_at, again.cancel_reason, again.cancelled_by_id) == (None, "", None)
    # The convocation rule writes once per trainee and session: the one sent stays the evidence.
    assert again.convocation_sent_at == sent_at
    assert convocation_planned(again)
    assert event_kinds(again).count("created") == 1
    reopened = [e for e in events(again) if e.kind == "reopened"]
    assert [(e.from_status, e.to_status) for e in reopened] == [("cancelled", "confirmed")]
    assert count(Enrolment) == 1


def test_capacity_is_never_exceeded_the_rest_waits_in_order(world, open_session, new_trainee):
    session = open_session(course=world.dume, capacity=3)
    made = [enrol(session, new_trainee(n)) for n in range(1, 7)]
    assert statuses(session) == [
        ("p01@exemple.fr", "confirmed", None), ("p02@exemple.fr", "confirmed", None),
        ("p03@exemple.fr", "confirmed", None), ("p04@exemple.fr", "waitlisted", 1),
        ("p05@exemple.fr", "waitlisted", 2), ("p06@exemple.fr", "waitlisted", 3)]
    assert seats_taken([session.id])[session.id] == 3
    waiting = fresh(Enrolment, made[4].id)
    assert waiting.status_label == "Liste d'attente (n° 2)"
    assert "place n° 2 sur la liste d'attente" in events(waiting)[-1].message
    assert "Inscription en liste d'attente" in outbox("enrolment_status", waiting)[0].subject
    assert not convocation_planned(waiting)  # no convocation for the waiting list


def test_pending_prerequisite_holds_a_seat(world, open_session, new_trainee):
    session = open_session(capacity=2)  # Chorus Pro: prerequisite
    made = [enrol(session, new_trainee(n)) for n in range(1, 4)]
    assert [e.status for e in made] == ["pending_prerequisite", "pending_prerequisite", "waitlisted"]
    assert seats_taken([session.id])[session.id] == 2
    assert not convocation_planned(made[0])  # no convocation before the decision


def test_cancelling_a_seat_holder_promotes_the_first_waitlisted(world, open_session, new_trainee):
    advisor = world.users["advisor"]
    session = open_session(course=world.dume, capacity=2)
    made = [enrol(session, new_trainee(n)) for n in range(1, 6)]
    before = len(outbox())
    services.cancel(made[0], advisor, "Arrêt maladie")
    db.session.commit()
    assert statuses(session) == [
        ("p01@exemple.fr", "cancelled", None), ("p02@exemple.fr", "confirmed", None),
        ("p03@exemple.fr", "confirmed", None), ("p04@exemple.fr", "waitlisted", 1),
        ("p05@exemple.fr", "waitlisted", 2)]
    cancelled = fresh(Enrolment, made[0].id)
    assert cancelled.cancelled_by_id == advisor.id
    assert cancelled.cancel_reason == "Arrêt maladie"
    assert cancelled.cancelled_at is not None
    assert not convocation_planned(cancelled)
    promoted = fresh(Enrolment, made[2].id)
    assert "promoted" in event_kinds(promoted)
    promoted_event = next(e for e in events(promoted) if e.kind == "promoted")
    assert (promoted_event.from_status, promoted_event.to_status) == ("waitlisted", "confirmed")
    assert "notified" in event_kinds(promoted)
    assert recipients("promoted", promoted) == ["p03@exemple.fr"]
    assert recipients("enrolment_cancelled", cancelled) == ["p01@exemple.fr"]
    assert convocation_planned(promoted)  # the promoted person gets a convocation
    assert {m.topic for m in outbox()[before:]} == {"enrolment_cancelled", "promoted"}


def test_a_promoted_chorus_enrolment_still_waits_for_the_decision(world, open_session, new_trainee):
    session = open_session(capacity=1)
    first, second = enrol(session, new_trainee(1)), enrol(session, new_trainee(2))
    services.cancel(first, world.users["advisor"], "Désistement")
    db.session.commit()
    second = fresh(Enrolment, second.id)
    assert second.status == "pending_prerequisite"
    assert not convocation_planned(second)
    assert recipients("promoted", second) == ["p02@exemple.fr"]


def test_cancelling_a_waitlisted_one_renumbers_the_list(world, open_session, new_trainee):
    session = open_session(course=world.dume, capacity=1)
    made = [enrol(session, new_trainee(n)) for n in range(1, 5)]
    services.cancel(made[1], world.users["advisor"], "Plus disponible")
    db.session.commit()
    assert statuses(session) == [
        ("p01@exemple.fr", "confirmed", None), ("p02@exemple.fr", "cancelled", None),
        ("p03@exemple.fr", "waitlisted", 1), ("p04@exemple.fr", "waitlisted", 2)]
    assert outbox("promoted") == []
    # The next one to join the list comes after the last.
    late = enrol(session, new_trainee(5))
    assert (late.status, late.waitlist_position) == ("waitlisted", 3)


def test_cancel_requires_a_reason_and_a_live_enrolment(world, dume_session, new_trainee):
    advisor = world.users["advisor"]
    enrolment = enrol(dume_session, new_trainee(1))
    with pytest.raises(ValidationError, match="motif"):
        services.cancel(enrolment, advisor, "  ")
    db.session.rollback()
    services.cancel(fresh(Enrolment, enrolment.id), advisor, "Doublon")
    db.session.commit()
    with pytest.raises(ConflictError) as refused:
        services.cancel(fresh(Enrolment, enrolment.id), advisor, "Encore")
    db.session.rollback()
    assert refused.value.status_code == 409
    assert fresh(Enrolment, enrolment.id).cancel_reason == "Doublon"


def test_raising_the_capacity_promotes_the_waiting_list(world, open_session, new_trainee):
    session = open_session(course=world.dume, capacity=2)
    made = [enrol(session, new_trainee(n)) for n in range(1, 6)]
    update_session(session, {"capacity": 4}, world.users["advisor"])
    db.session.commit()
    assert statuses(session) == [
        ("p01@exemple.fr", "confirmed", None), ("p02@exemple.fr", "confirmed", None),
        ("p03@exemple.fr", "confirmed", None), ("p04@exemple.fr", "confirmed", None),
        ("p05@exemple.fr", "waitlisted", 1)]
    assert recipients("promoted") == ["p03@exemple.fr", "p04@exemple.fr"]
    assert all(convocation_planned(e) for e in made[2:4])
    # Lowering it below the seats held is refused.
    with pytest.raises(ValidationError) as refused:
        update_session(fresh(type(session), session.id), {"capacity": 3}, world.users["advisor"])
    db.session.rollback()
    assert refused.value.fields["capacity"] == [
        "4 stagiaires sont déjà inscrits : la capacité ne peut être inférieure."]


def test_cancelling_the_session_cancels_every_live_enrolment_and_tells_each(world, open_session, new_trainee):
    advisor = world.users["advisor"]
    session = open_session(course=world.dume, capacity=2)
    made = [enrol(session, new_trainee(n)) for n in range(1, 5)]
    services.cancel(made[3], advisor, "Ne vient plus")
    db.session.commit()
    requested, _ = services.request_enrolment(session, {**person(5), "consent": True})  # a public request
    db.session.commit()
    mails_before = len(outbox())
    change_status(session, "cancelled", advisor, reason="Formateur indisponible")
    db.session.commit()
    assert [s[1:] for s in statuses(session)] == [("cancelled", None)] * 5
    for enrolment in made[:3] + [requested]:
        enrolment = fresh(Enrolment, enrolment.id)
        assert enrolment.cancel_reason == "Session annulée : Formateur indisponible"
        assert enrolment.cancelled_by_id == advisor.id
        assert enrolment.cancelled_at is not None
    assert sorted(recipients("session_cancelled")) == ["p01@exemple.fr", "p02@exemple.fr", "p03@exemple.fr",
                                                       "p05@exemple.fr"]
    assert len(outbox()) == mails_before + 4  # nothing else: no "cancelled" nor "promoted" e-mail
    assert "Formateur indisponible" in outbox("session_cancelled")[0].body_text
    assert not any(convocation_planned(e) for e in made[:2])
    # Nobody was promoted by the cancellations of the session.
    assert outbox("promoted") == []


def test_mark_outcome_only_once_the_session_has_started(world, dume_session, new_trainee):
    advisor = world.users["advisor"]
    enrolment = enrol(dume_session, new_trainee(1))
    with pytest.raises(ConflictError, match="une fois la session commencée"):
        services.mark_outcome(enrolment, "completed", advisor)
    db.session.rollback()
    assert fresh(Enrolment, enrolment.id).status == "confirmed"


@pytest.mark.parametrize("outcome", ["completed", "no_show", "abandoned"])
def test_mark_outcome_after_the_start(world, dume_session, new_trainee, outcome):
    advisor = world.users["advisor"]
    enrolment = enrol(dume_session, new_trainee(1))
    dume_session.status = "in_progress"
    db.session.commit()
    services.mark_outcome(fresh(Enrolment, enrolment.id), outcome, advisor)
    db.session.commit()
    enrolment = fresh(Enrolment, enrolment.id)
    assert enrolment.status == outcome
    last = events(enrolment)[-1]
    assert (last.from_status, last.to_status, last.actor_id) == ("confirmed", outcome, advisor.id)
    # A final mark may be corrected, but a finished enrolment cannot be cancelled any more.
    other = "completed" if outcome != "completed" else "no_show"
    services.mark_outcome(enrolment, other, advisor)
    db.session.commit()
    assert fresh(Enrolment, enrolment.id).status == other
    with pytest.raises(ConflictError):
        services.cancel(fresh(Enrolment, enrolment.id), advisor, "Trop tard")
    db.session.rollback()


def test_mark_outcome_refuses_unknown_statuses_and_non_confirmed_enrolments(world, open_session, new_trainee):
    advisor = world.users["advisor"]
    session = open_session(course=world.dume, capacity=1)
    confirmed, waiting = enrol(session, new_trainee(1)), enrol(session, new_trainee(2))
    session.status = "in_progress"
    db.session.commit()
    with pytest.raises(ValidationError, match="Statut inconnu"):
        services.mark_outcome(fresh(Enrolment, confirmed.id), "cancelled", advisor)
    db.session.rollback()
    with pytest.raises(ConflictError):
        services.mark_outcome(fresh(Enrolment, waiting.id), "completed", advisor)
    db.session.rollback()
    assert [s[1] for s in statuses(session)] == ["confirmed", "waitlisted"]


def test_session_enrolments_lists_seat_holders_then_the_waiting_list(world, open_session, new_trainee):
    session = open_session(course=world.dume, capacity=2)
    made = [enrol(session, new_trainee(n)) for n in (3, 1, 4, 2)]
    services.cancel(made[0], world.users["advisor"], "Absent")
    db.session.commit()
    listed = services.session_enrolments(fresh(type(session), session.id))
    assert [(e.trainee.email, e.status, e.waitlist_position) for e in listed] == [
        ("p01@exemple.fr", "confirmed", None), ("p04@exemple.fr", "confirmed", None),
        ("p02@exemple.fr", "waitlisted", 1), ("p03@exemple.fr", "cancelled", None)]


def test_the_personal_link_names_one_enrolment(world, dume_session, new_trainee):
    from trainingmgr.core.errors import PermissionDenied

    enrolment = enrol(dume_session, new_trainee(1))
    other = enrol(dume_session, new_trainee(2))
    token = links.trainee_token(enrolment)
    assert links.enrolment_from_token(token).id == enrolment.id
    assert links.enrolment_from_token(links.trainee_token(other)).id == other.id
    with pytest.raises(PermissionDenied):
        links.enrolment_from_token(token[:-2] + ("AA" if not token.endswith("AA") else "BB"))


def test_the_history_records_every_change_with_its_actor(world, open_session, new_trainee):
    advisor = world.users["advisor"]
    session = open_session(course=world.dume, capacity=1)
    first, second = enrol(session, new_trainee(1), actor=advisor), enrol(session, new_trainee(2), actor=advisor)
    services.cancel(first, advisor, "Raison personnelle")
    db.session.commit()
    history = [(e.kind, e.to_status) for e in events(second)]
    assert history == [("created", "waitlisted"), ("promoted", "confirmed"), ("notified", None)]
    assert events(second)[1].from_status == "waitlisted"
    cancel_event = events(first)[-1]
    assert (cancel_event.kind, cancel_event.to_status, cancel_event.message, cancel_event.actor_label) == (
        "status", "cancelled", "Raison personnelle", "Camille Conseil")
    assert db.session.scalar(select(Enrolment.status).where(Enrolment.id == second.id)) == "confirmed"
    assert dt.datetime.now(dt.timezone.utc) - cancel_event.at < dt.timedelta(hours=1)
