"""What one signature costs the database: a fixed number of SQL statements on every path (personal link, room's QR
code, kiosk), nothing read again after the commit; and the record that one INSERT writes (services._insert) is the
one the session's flush wrote, chain, evidence and erasure included."""
from __future__ import annotations

import logging

import pytest
from sqlalchemy import event, select

from trainingmgr.attendance import services
from trainingmgr.attendance.chain import verify_chain
from trainingmgr.attendance.models import RECORD_KINDS, AttendanceChain, AttendanceRecord
from trainingmgr.extensions import db

from tests.attendance.support import drawing, link, slots
from tests.attendance.test_qr_kiosk_evidence import qr_url
from tests.helpers import page

# The trainee's signature, whatever the path: the enrolment with its trainee, session and slot (one statement), the
# chain's lock (BEGIN IMMEDIATE on SQLite, SELECT … FOR UPDATE on PostgreSQL), the head with the signature's and the
# countersignature's keys (one statement), the record's INSERT, the head's INSERT or UPDATE.
SIGNATURE_STATEMENTS = 5


def counted_post(client, url: str, data: dict, count_queries) -> tuple:
    """POST ``url`` as a request of its own (the test's session emptied first: a request starts with an empty one);
    the answer and the statements it ran."""
    client.csrf_token()  # read from /login, before counting
    db.session.close()
    seen = []

    def keep(conn, cursor, statement, *args):
        seen.append(" ".join(statement.split())[:120])

    with count_queries() as counter:
        event.listen(db.engine, "before_cursor_execute", keep)
        try:
            response = client.post(url, data=data)
        finally:
            event.remove(db.engine, "before_cursor_execute", keep)
    assert counter.count == len(seen)
    return response, seen


def records(session_id: int) -> list[AttendanceRecord]:
    db.session.expire_all()
    return list(db.session.scalars(select(AttendanceRecord).where(AttendanceRecord.session_id == session_id)
                                   .order_by(AttendanceRecord.seq)))


def test_a_signature_by_link_costs_five_statements_first_and_next(client, klass, clock, count_queries):
    session, (julie, paul, _) = klass
    morning = slots(session)[0]
    session_id = session.id
    for enrolment, head in ((julie, "INSERT INTO attendance_chain"), (paul, "UPDATE attendance_chain")):
        response, seen = counted_post(client, link(enrolment, morning), {"signature": drawing()}, count_queries)
        assert response.status_code == 302, page(response)
        assert len(seen) == SIGNATURE_STATEMENTS, seen
        assert seen[-2].startswith("INSERT INTO attendance_record") and seen[-1].startswith(head), seen
    assert [r.seq for r in records(session_id)] == [1, 2] and verify_chain(session_id).ok


def test_a_typed_signature_costs_the_same(client, klass, clock, count_queries):
    session, (julie, *_) = klass
    name = julie.trainee.full_name
    response, seen = counted_post(client, link(julie, slots(session)[0]), {"typed_name": name}, count_queries)
    assert response.status_code == 302 and len(seen) == SIGNATURE_STATEMENTS, seen


def test_the_redirect_needs_nothing_after_the_commit(client, klass, clock, count_queries):
    """The answer (redirect, the phone's cookie) is built from values read before the commit: the last statement is
    the chain head's write, no SELECT of what was just written or of the expired enrolment."""
    session, (julie, *_) = klass
    url = link(julie, slots(session)[0])
    response, seen = counted_post(client, url, {"signature": drawing()}, count_queries)
    assert response.headers["Location"].endswith(url) and "tm_signer=" in response.headers["Set-Cookie"]
    assert not any(statement.startswith("SELECT") for statement in seen[3:]), seen


def test_a_signature_by_the_rooms_qr_code_costs_the_same(client, klass, clock, count_queries):
    session, (julie, *_) = klass
    morning = slots(session)[0]
    client.get(link(julie, morning))  # this phone opened Julie's link: the QR code leads her straight to signing
    assert client.get(qr_url(morning)).status_code == 302
    response, seen = counted_post(client, f"/emargement/qr/{morning.id}/signer", {"signature": drawing()},
                                  count_queries)
    assert response.status_code == 302 and len(seen) == SIGNATURE_STATEMENTS, seen


def test_a_signature_on_the_kiosk_adds_the_login_and_the_trainers_permission(trainer, klass, clock, count_queries):
    session, (julie, *_) = klass
    morning = slots(session)[0]
    assert trainer.post(f"/attendance/slots/{morning.id}/kiosk").status_code == 302  # kiosk mode
    response, seen = counted_post(trainer, f"/attendance/slots/{morning.id}/kiosk/{julie.id}",
                                  {"signature": drawing()}, count_queries)
    assert response.status_code == 302
    # + the login session and its user (every logged-in request), + the session's trainers and slots (may this
    # trainer see the session: sessions.services.can_view_session)
    assert len(seen) == SIGNATURE_STATEMENTS + 4, seen


def test_a_refusal_still_says_why(client, trainer, klass, clock, caplog):
    """Replay and lock are checked under the chain's lock, in the statement that reads its head: same answers."""
    session, (julie, paul, _) = klass
    morning = slots(session)[0]
    assert client.post(link(julie, morning), data={"signature": drawing()}).status_code == 302
    with caplog.at_level(logging.WARNING, logger="trainingmgr.attendance"):
        response = client.post(link(julie, morning), data={"signature": drawing()})
        assert response.status_code == 409 and "Vous avez déjà signé" in page(response)
        clock.at("12:35")
        assert trainer.post(f"/attendance/slots/{morning.id}/countersign",
                            data={"signature": drawing()}).status_code == 302
        response = client.post(link(paul, morning), data={"typed_name": paul.trainee.full_name})
        assert response.status_code == 409 and "déjà clos la feuille" in page(response)
        # Both at once: the lock is said first, as before.
        response = client.post(link(julie, morning), data={"signature": drawing()})
        assert response.status_code == 409 and "déjà clos la feuille" in page(response)
    assert "signature rejouée" in caplog.text and "créneau verrouillé" in caplog.text
    assert [r.kind for r in records(session.id)] == ["signature", "countersignature"]


def test_the_inserted_record_is_the_one_the_flush_wrote(app, klass, clock):
    """services._insert: the row holds every value the object holds (NULL where empty, JSON ``erased`` included),
    the object is persistent and clean, and the personal fields can still be erased at the end of retention."""
    session, (julie, *_) = klass
    morning = slots(session)[0]
    record = services.sign(morning, julie, method="link", drawing=drawing(), ip="10.0.0.7", user_agent="Téléphone")
    assert record in db.session and not db.session.dirty and not db.session.new
    kept = {c.key: getattr(record, c.key) for c in AttendanceRecord.__table__.columns}
    db.session.commit()
    db.session.expire_all()
    row = db.session.get(AttendanceRecord, kept["id"])
    assert {c.key: getattr(row, c.key) for c in AttendanceRecord.__table__.columns} == kept
    assert kept["erased"] is None and kept["trainer_id"] is None and kept["arrived_at"] is None
    assert db.session.scalar(select(AttendanceRecord.id).where(AttendanceRecord.erased.is_(None))) == row.id
    head = db.session.get(AttendanceChain, session.id)
    assert (head.length, head.head_hash) == (1, row.hash) and verify_chain(session.id).ok
    from trainingmgr.privacy.services import erase_attendance

    assert erase_attendance(session.id) == 1  # the end of retention: the one update the database lets through
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(AttendanceRecord, kept["id"]).image is None and verify_chain(session.id).ok


def test_a_head_held_by_the_session_is_read_afresh(app, klass, clock):
    session, (julie, paul, _) = klass
    morning = slots(session)[0]
    services.sign(morning, julie, method="link", typed_name=julie.trainee.full_name)
    head = db.session.get(AttendanceChain, session.id)
    assert head.length == 1
    services.sign(morning, paul, method="link", typed_name=paul.trainee.full_name)
    assert head.length == 2  # moved by one UPDATE statement: the object this session held is not stale


@pytest.mark.parametrize("kind", sorted(RECORD_KINDS))
def test_the_kinds_that_skip_the_flush_are_those_the_audit_log_ignores(kind):
    """The audit log listens to flushes (audit/tracking.py): the records it keeps must go through one."""
    from trainingmgr.audit.tracking import build_registry

    spec = build_registry()[AttendanceRecord]
    audited = spec.action(AttendanceRecord(kind=kind), "create", {}) is not None
    assert audited == (kind in services.AUDITED_KINDS)
