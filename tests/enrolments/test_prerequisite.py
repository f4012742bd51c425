"""The prerequisite gate (Qualiopi indicators 4 and 8): a Chorus Pro enrolment holds its seat but waits for the
advisor's decision; admitted → confirmed and convoked; redirected → cancelled, seat freed; « aucun » → at once."""
from __future__ import annotations

import pytest

from trainingmgr.core.errors import ConflictError, ValidationError
from trainingmgr.enrolments import services
from trainingmgr.enrolments.models import Enrolment
from trainingmgr.extensions import db
from trainingmgr.sessions.services import seats_taken

from tests.enrolments.support import (convocation_planned, event_kinds, events, fresh, outbox, recipients, statuses,
                                     worker_pass)


def enrol(session, trainee):
    enrolment = services.enrol(session, trainee)
    db.session.commit()
    return enrolment


def decide(enrolment, decision, comment, actor):
    services.record_decision(fresh(Enrolment, enrolment.id), decision, comment, actor)
    db.session.commit()
    return fresh(Enrolment, enrolment.id)


def test_chorus_enrolment_waits_for_the_decision_and_holds_its_seat(world, chorus_session, new_trainee):
    enrolment = enrol(chorus_session, new_trainee(1))
    assert enrolment.status == "pending_prerequisite"
    assert enrolment.holds_seat
    assert services.needs_prerequisite_decision(enrolment)
    assert seats_taken([chorus_session.id])[chorus_session.id] == 1
    assert not convocation_planned(enrolment)
    assert "prérequis à confirmer" in outbox("enrolment_status", enrolment)[0].subject


def test_dume_enrolment_aucun_is_confirmed_at_once(world, dume_session, new_trainee):
    assert world.dume.current_version.prerequisites_none
    enrolment = enrol(dume_session, new_trainee(1))
    assert enrolment.status == "confirmed"
    assert not services.needs_prerequisite_decision(enrolment)
    assert convocation_planned(enrolment)


@pytest.mark.parametrize("decision, comment, label", [
    ("admitted", "", "Admis"),
    ("admitted_with_adaptation", "Supports en gros caractères", "Admis avec adaptation"),
])
def test_admission_confirms_and_schedules_the_convocation(world, chorus_session, new_trainee, decision, comment,
                                                          label):
    advisor = world.users["advisor"]
    enrolment = enrol(chorus_session, new_trainee(1))
    enrolment = decide(enrolment, decision, comment, advisor)
    assert enrolment.status == "confirmed"
    assert (enrolment.positioning_decision, enrolment.positioning_comment) == (decision, comment)
    assert enrolment.positioning_decided_by_id == advisor.id
    assert enrolment.positioning_decided_at is not None
    assert enrolment.positioning_decision_label == label
    assert enrolment.confirmed_at is not None
    assert convocation_planned(enrolment)
    kinds = event_kinds(enrolment)
    assert kinds[-2:] == ["decision", "status"]
    assert events(enrolment)[-1].to_status == "confirmed"
    assert label in events(enrolment)[-2].message
    worker_pass()  # the confirmation e-mail is an automation
    subjects = [m.subject for m in outbox("enrolment_status", enrolment)]
    assert len(subjects) == 2 and subjects[-1].startswith("Inscription confirmée")
    assert seats_taken([chorus_session.id])[chorus_session.id] == 1


@pytest.mark.parametrize("decision", ["admitted_with_adaptation", "redirected"])
@pytest.mark.parametrize("comment", ["", "  ", "ok"])
def test_adaptation_and_redirection_need_a_comment(world, chorus_session, new_trainee, decision, comment):
    enrolment = enrol(chorus_session, new_trainee(1))
    with pytest.raises(ValidationError) as refused:
        services.record_decision(enrolment, decision, comment, world.users["advisor"])
    db.session.rollback()
    assert refused.value.fields == {"comment": ["Expliquez l'adaptation prévue ou la réorientation proposée."]}
    enrolment = fresh(Enrolment, enrolment.id)
    assert (enrolment.status, enrolment.positioning_decision) == ("pending_prerequisite", None)


@pytest.mark.parametrize("decision", ["", "admis", "confirmed", None])
def test_unknown_decision_is_refused(world, chorus_session, new_trainee, decision):
    enrolment = enrol(chorus_session, new_trainee(1))
    with pytest.raises(ValidationError) as refused:
        services.record_decision(enrolment, decision, "commentaire", world.users["advisor"])
    db.session.rollback()
    assert "decision" in refused.value.fields
    assert fresh(Enrolment, enrolment.id).status == "pending_prerequisite"


def test_redirection_cancels_frees_the_seat_and_promotes(world, open_session, new_trainee):
    advisor = world.users["advisor"]
    session = open_session(capacity=1)
    first, second = enrol(session, new_trainee(1)), enrol(session, new_trainee(2))
    assert second.status == "waitlisted"
    first = decide(first, "redirected", "Orientée vers la formation « Marchés publics »", advisor)
    assert first.status == "cancelled"
    assert first.cancel_reason == "Réorientation : Orientée vers la formation « Marchés publics »"
    assert first.cancelled_by_id == advisor.id
    assert first.positioning_decision == "redirected"
    assert statuses(session) == [("p01@exemple.fr", "cancelled", None),
                                 ("p02@exemple.fr", "pending_prerequisite", None)]
    assert recipients("promoted", second) == ["p02@exemple.fr"]
    assert recipients("enrolment_cancelled", first) == ["p01@exemple.fr"]
    assert not convocation_planned(first)


def test_decision_on_a_cancelled_enrolment_is_a_conflict(world, chorus_session, new_trainee):
    advisor = world.users["advisor"]
    enrolment = enrol(chorus_session, new_trainee(1))
    services.cancel(enrolment, advisor, "Désistement")
    db.session.commit()
    with pytest.raises(ConflictError) as refused:
        services.record_decision(fresh(Enrolment, enrolment.id), "admitted", "", advisor)
    db.session.rollback()
    assert refused.value.status_code == 409
    enrolment = fresh(Enrolment, enrolment.id)
    assert (enrolment.status, enrolment.positioning_decision) == ("cancelled", None)


def test_an_admitted_waitlisted_trainee_is_confirmed_when_promoted(world, open_session, new_trainee):
    advisor = world.users["advisor"]
    session = open_session(capacity=1)
    first, second = enrol(session, new_trainee(1)), enrol(session, new_trainee(2))
    second = decide(second, "admitted", "", advisor)
    assert (second.status, second.waitlist_position) == ("waitlisted", 1)  # no seat yet
    assert not convocation_planned(second)
    services.cancel(fresh(Enrolment, first.id), advisor, "Désistement")
    db.session.commit()
    second = fresh(Enrolment, second.id)
    assert second.status == "confirmed"
    assert convocation_planned(second)


def test_a_later_decision_on_a_confirmed_enrolment_only_updates_it(world, chorus_session, new_trainee):
    advisor = world.users["advisor"]
    enrolment = decide(enrol(chorus_session, new_trainee(1)), "admitted", "", advisor)
    enrolment = decide(enrolment, "admitted_with_adaptation", "Pause toutes les heures", advisor)
    assert enrolment.status == "confirmed"
    assert enrolment.positioning_comment == "Pause toutes les heures"
    worker_pass()
    assert [m.subject.split(" –")[0] for m in outbox("enrolment_status", enrolment)] == [
        "Inscription enregistrée : prérequis à confirmer", "Inscription confirmée"]
