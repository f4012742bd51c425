"""Merging two records of the same person keeps all history: enrolments with their events, funding lines and
e-mails move to the kept record; the removed record's data is traced (TraineeMerge); two enrolments in the same
session are refused (409). Through the service and the page POST /trainees/<id>/merge."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from trainingmgr.core.errors import ConflictError, ValidationError
from trainingmgr.enrolments import services as enrolments
from trainingmgr.enrolments.models import Enrolment, EnrolmentEvent, FundingLine
from trainingmgr.extensions import db
from trainingmgr.messaging.models import OutboxMessage
from trainingmgr.trainees.models import Trainee, TraineeMerge
from trainingmgr.trainees.services import merge_trainees

from tests.catalogue.pagetools import page_of
from tests.enrolments.support import assert_refused, count, fresh
from tests.helpers import page


@pytest.fixture
def pair(world, new_trainee, open_session):
    """Two records of Léa: the kept one (little filled in) enrolled in a DUME session; the duplicate, with more
    data, enrolled in a Chorus Pro session with a funding line, and in a second DUME session, cancelled."""
    kept = new_trainee(1, first_name="Léa", last_name="Martin", civility="", phone="", job_title="",
                       accessibility_needs="Boucle magnétique")
    removed = new_trainee(2, first_name="Lea", last_name="MARTIN", civility="Mme", phone="06 00 00 00 00",
                          job_title="Assistante", company_id=world.company.id,
                          accessibility_needs="Fauteuil roulant", consent=True)
    dume = open_session(course=world.dume)
    chorus = open_session()
    dume2 = open_session(course=world.dume)
    kept_enrolment = enrolments.enrol(dume, kept)
    moved = enrolments.enrol(chorus, removed)
    enrolments.save_funding_line(moved, None, {"kind": "company", "amount": "600"})
    cancelled = enrolments.enrol(dume2, removed)
    db.session.commit()
    enrolments.cancel(cancelled, world.users["advisor"], "Doublon")
    db.session.commit()

    class Pair:
        pass

    p = Pair()
    p.kept, p.removed, p.kept_enrolment, p.moved, p.cancelled = kept, removed, kept_enrolment, moved, cancelled
    p.dume, p.chorus, p.dume2 = dume, chorus, dume2
    return p


def history(enrolment) -> tuple:
    db.session.expire_all()
    events = db.session.scalars(select(EnrolmentEvent.id).where(EnrolmentEvent.enrolment_id == enrolment.id))
    lines = db.session.scalars(select(FundingLine.id).where(FundingLine.enrolment_id == enrolment.id))
    mails = db.session.scalars(select(OutboxMessage.id).where(OutboxMessage.enrolment_id == enrolment.id))
    return sorted(events), sorted(lines), sorted(mails)


def test_merge_keeps_every_enrolment_and_its_history(world, pair):
    before = {e.id: history(e) for e in (pair.kept_enrolment, pair.moved, pair.cancelled)}
    assert all(h[0] for h in before.values()) and before[pair.moved.id][1] and before[pair.moved.id][2]
    removed_id = pair.removed.id
    merge_trainees(fresh(Trainee, pair.kept.id), fresh(Trainee, removed_id), world.users["advisor"])
    db.session.commit()
    assert fresh(Trainee, removed_id) is None
    assert count(Trainee) == 1
    rows = db.session.execute(select(Enrolment.id, Enrolment.trainee_id, Enrolment.status).order_by(Enrolment.id))
    assert [tuple(r) for r in rows] == [(pair.kept_enrolment.id, pair.kept.id, "confirmed"),
                                        (pair.moved.id, pair.kept.id, "pending_prerequisite"),
                                        (pair.cancelled.id, pair.kept.id, "cancelled")]
    after = {e.id: history(e) for e in (pair.kept_enrolment, pair.moved, pair.cancelled)}
    assert after == before
    assert fresh(Enrolment, pair.cancelled.id).cancel_reason == "Doublon"


def test_merge_fills_the_empty_fields_and_keeps_the_kept_ones(world, pair):
    consent = fresh(Trainee, pair.removed.id).consent_at
    merge_trainees(fresh(Trainee, pair.kept.id), fresh(Trainee, pair.removed.id), world.users["advisor"])
    db.session.commit()
    kept = fresh(Trainee, pair.kept.id)
    assert (kept.first_name, kept.last_name, kept.email) == ("Léa", "Martin", "p01@exemple.fr")
    assert (kept.civility, kept.phone, kept.job_title, kept.company_id) == (
        "Mme", "06 00 00 00 00", "Assistante", world.company.id)
    assert kept.accessibility_needs == "Boucle magnétique\nFauteuil roulant"
    assert kept.consent_at == consent


def test_merge_leaves_a_trace_with_the_removed_data(world, pair):
    removed_id = pair.removed.id
    merge_trainees(fresh(Trainee, pair.kept.id), fresh(Trainee, removed_id), world.users["advisor"])
    db.session.commit()
    (trace,) = db.session.scalars(select(TraineeMerge)).all()
    assert (trace.kept_id, trace.removed_id, trace.merged_by_id) == (pair.kept.id, removed_id,
                                                                     world.users["advisor"].id)
    data = trace.removed_data
    assert (data["email"], data["first_name"], data["last_name"], data["civility"]) == (
        "p02@exemple.fr", "Lea", "MARTIN", "Mme")
    assert (data["phone"], data["job_title"], data["company_id"], data["accessibility_needs"]) == (
        "06 00 00 00 00", "Assistante", world.company.id, "Fauteuil roulant")
    assert dt.datetime.fromisoformat(data["consent_at"]) is not None
    assert trace.merged_at is not None


def test_merge_refuses_two_enrolments_in_the_same_session(world, pair):
    enrolments.enrol(pair.dume2, fresh(Trainee, pair.kept.id))  # the kept one is now in dume2 too
    db.session.commit()
    with pytest.raises(ConflictError) as error:
        merge_trainees(fresh(Trainee, pair.kept.id), fresh(Trainee, pair.removed.id), world.users["advisor"])
    db.session.rollback()
    assert error.value.status_code == 409
    assert f"(n° {pair.dume2.id})" in error.value.message
    assert count(Trainee) == 2 and count(TraineeMerge) == 0
    assert fresh(Enrolment, pair.moved.id).trainee_id == pair.removed.id


def test_merging_a_record_with_itself_is_refused(world, pair):
    with pytest.raises(ValidationError, match="deux fiches différentes"):
        merge_trainees(fresh(Trainee, pair.kept.id), fresh(Trainee, pair.kept.id))
    db.session.rollback()
    assert count(Trainee) == 2


def test_after_a_merge_the_moved_enrolments_count_for_the_kept_record(world, pair):
    merge_trainees(fresh(Trainee, pair.kept.id), fresh(Trainee, pair.removed.id))
    db.session.commit()
    with pytest.raises(ConflictError):
        enrolments.enrol(fresh(type(pair.chorus), pair.chorus.id), fresh(Trainee, pair.kept.id))
    db.session.rollback()


# --------------------------------------------------------------------------- through the page


def test_merge_through_the_page(advisor, world, pair):
    tree = page_of(advisor.get(f"/trainees/{pair.kept.id}"))
    options = {o.attrs["value"] for o in tree.find("select", id="other_id").find_all("option")}
    assert str(pair.removed.id) in options and str(pair.kept.id) not in options
    response = advisor.post(f"/trainees/{pair.kept.id}/merge", data={"other_id": str(pair.removed.id)})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/trainees/{pair.kept.id}")
    assert count(Trainee) == 1 and count(TraineeMerge) == 1
    text = page(advisor.get(f"/trainees/{pair.kept.id}"))
    assert "Fiches fusionnées" in text
    assert "Chorus Pro" in text and "Marchés publics" in text  # the three enrolments are listed
    assert advisor.get(f"/trainees/{pair.removed.id}").status_code == 404


def test_merge_page_refuses_two_enrolments_in_the_same_session_with_409(advisor, world, pair):
    enrolments.enrol(pair.dume2, fresh(Trainee, pair.kept.id))
    db.session.commit()
    response = advisor.post(f"/trainees/{pair.kept.id}/merge", data={"other_id": str(pair.removed.id)})
    assert_refused(response, 409, "Les deux fiches sont inscrites à la session")
    assert count(Trainee) == 2 and count(TraineeMerge) == 0


@pytest.mark.parametrize("other, status, message", [
    ("", 422, "Ce champ est requis."),
    ("999999", 422, "Stagiaire introuvable."),
    ("abc", 422, "Stagiaire introuvable."),
    ("99999999999999999999", 422, "Stagiaire introuvable."),
])
def test_merge_page_bad_input(advisor, world, pair, other, status, message):
    response = advisor.post(f"/trainees/{pair.kept.id}/merge", data={"other_id": other})
    assert_refused(response, status, fields={"other_id": message})
    assert count(Trainee) == 2 and count(TraineeMerge) == 0


def test_merge_page_refuses_the_same_record(advisor, world, pair):
    response = advisor.post(f"/trainees/{pair.kept.id}/merge", data={"other_id": str(pair.kept.id)})
    assert_refused(response, 422, "Choisissez deux fiches différentes.")
    assert count(Trainee) == 2


def test_merge_into_an_unknown_record_is_404(advisor, world, pair):
    response = advisor.post("/trainees/999999/merge", data={"other_id": str(pair.removed.id)})
    assert response.status_code == 404
    assert count(Trainee) == 2


def test_merge_without_csrf_token_is_refused(advisor, world, pair):
    response = advisor.post(f"/trainees/{pair.kept.id}/merge", data={"other_id": str(pair.removed.id)}, csrf=False)
    assert response.status_code == 400
    assert count(Trainee) == 2
