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
from tests.fixtures.attendance import qr_url
from tests.helpers import page

# The trainee's signature, whatever the path. SQLite: the enrolment with its trainee, session and slot (one
# statement), the chain's lock (BEGIN IMMEDIATE), the head with the signature's and the countersignature's keys (one
# statement), the record's INSERT, the head's INSERT or UPDATE. PostgreSQL: the loading statement takes the chain's
# lock (FOR UPDATE OF training_session), and the record's INSERT carries the head's write (WITH head AS …).
SIGNATURE_STATEMENTS = {"sqlite": 5, "postgresql": 3}


def signature_statements() -> int:
    return SIGNATURE_STATEMENTS[db.engine.dialect.name]


def check_writes(seen: list[str], head: str) -> None:
    """The last statements write the record, then the head (SQLite), or both at once (PostgreSQL); the first takes
    the chain's lock on PostgreSQL, on the session's row only."""
    if db.engine.dialect.name == "postgresql":
        locks = [statement for statement in seen if "FOR UPDATE" in statement]
        assert [lock.endswith(" FOR UPDATE OF training_session") and "FROM enrolment JOIN slot" in lock
                for lock in locks] == [True], [lock[-80:] for lock in locks]
        assert seen[-1].startswith(f"WITH head AS ({head}") and "INSERT INTO attendance_record" in seen[-1], seen
    else:
        assert seen[-2].startswith("INSERT INTO attendance_record") and seen[-1].startswith(head), seen


def counted_post(client, url: str, data: dict, count_queries) -> tuple:
    """POST ``url`` as a request of its own (the test's session emptied first: a request starts with an empty one);
    the answer and the statements it ran."""
    client.csrf_token()  # read from /login, before counting
    db.session.close()
    seen = []

    def keep(conn, cursor, statement, *args):
        seen.append(" ".join(statement.split()))

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


def test_a_signature_by_link_costs_five_statements_first_and_next_three_on_postgresql(client, klass, clock, count_queries):
    session, (julie, paul, _) = klass
    morning = slots(session)[0]
    session_id = session.id
    for enrolment, head in ((julie, "INSERT INTO attendance_chain"), (paul, "UPDATE attendance_chain")):
        response, seen = counted_post(client, link(enrolment, morning), {"signature": drawing()}, count_queries)
        assert response.status_code == 302, page(response)
        assert len(seen) == signature_statements(), seen
        check_writes(seen, head)
    assert [r.seq for r in records(session_id)] == [1, 2] and verify_chain(session_id).ok


def test_a_typed_signature_costs_the_same(client, klass, clock, count_queries):
    session, (julie, *_) = klass
    name = julie.trainee.full_name
    response, seen = counted_post(client, link(julie, slots(session)[0]), {"typed_name": name}, count_queries)
    assert response.status_code == 302 and len(seen) == signature_statements(), seen


def test_the_redirect_needs_nothing_after_the_commit(client, klass, clock, count_queries):
    """The answer (redirect, the phone's cookie) is built from values read before the commit: the last statement is
    the chain head's write, no SELECT of what was just written or of the expired enrolment."""
    session, (julie, *_) = klass
    url = link(julie, slots(session)[0])
    response, seen = counted_post(client, url, {"signature": drawing()}, count_queries)
    assert response.headers["Location"].endswith(url) and "tm_signer=" in response.headers["Set-Cookie"]
    writes = next(i for i, statement in enumerate(seen) if statement.startswith(("INSERT", "WITH")))
    assert not any(statement.startswith("SELECT") for statement in seen[writes:]), seen


def test_a_signature_by_the_rooms_qr_code_costs_the_same(client, klass, clock, count_queries):
    session, (julie, *_) = klass
    morning = slots(session)[0]
    client.get(link(julie, morning))  # this phone opened Julie's link: the QR code leads her straight to signing
    assert client.get(qr_url(morning)).status_code == 302
    response, seen = counted_post(client, f"/emargement/qr/{morning.id}/signer", {"signature": drawing()},
                                  count_queries)
    assert response.status_code == 302 and len(seen) == signature_statements(), seen
    check_writes(seen, "INSERT INTO attendance_chain")


def test_a_signature_on_the_kiosk_adds_the_login_and_the_trainers_permission(trainer, klass, clock, count_queries):
    session, (julie, *_) = klass
    morning = slots(session)[0]
    assert trainer.post(f"/attendance/slots/{morning.id}/kiosk").status_code == 302  # kiosk mode
    response, seen = counted_post(trainer, f"/attendance/slots/{morning.id}/kiosk/{julie.id}",
                                  {"signature": drawing()}, count_queries)
    assert response.status_code == 302
    # + the login session and its user (every logged-in request), + the session's trainers and slots (may this
    # trainer see the session: sessions.services.can_view_session)
    assert len(seen) == signature_statements() + 4, seen
    check_writes(seen, "INSERT INTO attendance_chain")


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


def test_the_lock_taken_by_the_loading_statement_is_not_asked_again(app, klass, clock):
    """PostgreSQL: signing_pair(lock=True) locks the session's row (FOR UPDATE OF training_session only), and the
    chain's lock_row then runs no statement; inside a savepoint rolled back, a lock is asked for again (the
    database may have released it), as in a new transaction."""
    from trainingmgr.core.persistence import lock_row
    from trainingmgr.sessions.models import TrainingSession

    session, (julie, *_) = klass
    enrolment_id, slot_id, session_id = julie.id, slots(session)[0].id, session.id
    db.session.commit()
    db.session.close()
    seen = []

    def keep(conn, cursor, statement, *args):
        seen.append(" ".join(statement.split()))

    event.listen(db.engine, "before_cursor_execute", keep)
    try:
        enrolment, slot, _ = services.signing_pair(enrolment_id, slot_id, lock=True)
        lock_row(TrainingSession, session_id)
        locks_first = [s for s in seen if "FOR UPDATE" in s]
        with db.session.begin_nested() as savepoint:
            lock_row(TrainingSession, session_id)
            savepoint.rollback()
        lock_row(TrainingSession, session_id)
        db.session.rollback()
        lock_row(TrainingSession, session_id)
    finally:
        event.remove(db.engine, "before_cursor_execute", keep)
        db.session.rollback()
    assert enrolment.id == enrolment_id and slot.id == slot_id
    locks = [s for s in seen if "FOR UPDATE" in s]
    if db.engine.dialect.name == "postgresql":
        assert len(locks_first) == 1 and locks_first[0].endswith("FOR UPDATE OF training_session"), locks_first
        # the savepoint's, the outer transaction's again after it, the next transaction's
        assert len(locks) == 4 and all(lock.endswith("FOR UPDATE") for lock in locks[1:]), locks
    else:
        assert locks == [] and seen.count("BEGIN IMMEDIATE") == 2, seen
