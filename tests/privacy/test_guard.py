"""The attendance register stays append-only in the database: the one update let through is the erasure of a
record's personal fields, their digests kept, once; a record is never deleted, an erased value never comes back."""
from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select, text

from trainingmgr.attendance import guard
from trainingmgr.attendance.chain import verify_chain
from trainingmgr.attendance.models import ERASABLE, AttendanceRecord
from trainingmgr.extensions import db
from trainingmgr.privacy import services

from tests.attendance.support import drawing, link, slots
from tests.helpers import page


@pytest.fixture
def signed(client, trainer, klass, clock):
    """Julie signs the morning by drawing, Paul by typing his name, the trainer countersigns: 3 records."""
    session, (julie, paul, _) = klass
    morning = slots(session)[0]
    client.post(link(julie, morning), data={"signature": drawing()})
    client.post(link(paul, morning), data={"typed_name": paul.trainee.full_name})
    trainer.post(f"/attendance/slots/{morning.id}/countersign", data={"typed_name": "Pierre Formateur",
                                                                      "early_ok": "y"})  # closed before its end
    records = list(db.session.scalars(select(AttendanceRecord).where(AttendanceRecord.session_id == session.id)
                                      .order_by(AttendanceRecord.seq)))
    assert len(records) == 3 and records[0].image and records[0].ip
    return session, records


def refused(statement: str) -> None:
    with pytest.raises(Exception, match="append-only"):
        db.session.execute(text(statement))
        db.session.flush()
    db.session.rollback()


def test_the_guard_names_every_column_of_the_table():
    columns = set(AttendanceRecord.__table__.columns.keys())
    assert set(guard.FIXED) | set(guard.ERASABLE) | set(guard.ERASURE) == columns
    assert not set(guard.FIXED) & set(guard.ERASABLE)
    assert guard.ERASABLE == ERASABLE


def test_the_payload_holds_digests_not_personal_data(signed):
    from trainingmgr.attendance.chain import canonical_payload

    _, (julie, paul, _) = signed
    payload = canonical_payload(paul).decode()
    assert paul.typed_name not in payload and paul.ip not in payload and paul.user_agent not in payload
    assert hashlib.sha256(paul.typed_name.encode()).hexdigest() in payload
    assert hashlib.sha256(julie.image).hexdigest() in canonical_payload(julie).decode()


def test_before_erasure_nothing_may_be_changed_or_emptied(signed):
    session, _ = signed
    for statement in ("UPDATE attendance_record SET reason = 'x'",
                      "UPDATE attendance_record SET method = 'kiosk' WHERE seq = 2",
                      "UPDATE attendance_record SET typed_name = 'Quelqu''un' WHERE seq = 2",
                      # Emptying without keeping the digests would hide what was signed: refused too.
                      "UPDATE attendance_record SET ip = ''",
                      "UPDATE attendance_record SET image = NULL WHERE seq = 1",
                      "DELETE FROM attendance_record WHERE seq = 3"):
        refused(statement)
    assert verify_chain(session.id).ok


def test_the_erasure_goes_through_once_and_the_chain_still_verifies(app, signed, advisor, trainer):
    session, records = signed
    julie_image = hashlib.sha256(records[0].image).hexdigest()
    assert services.erase_attendance(session.id) == 3
    db.session.commit()
    db.session.expire_all()
    for record in db.session.scalars(select(AttendanceRecord).where(AttendanceRecord.session_id == session.id)):
        assert (record.signer_name, record.typed_name, record.image, record.ip, record.user_agent) == \
            ("", "", None, "", "")
        assert record.erased_at is not None and "signer_name" in record.erased and "ip" in record.erased
    assert db.session.get(AttendanceRecord, records[0].id).erased["image"] == julie_image
    assert verify_chain(session.id).ok
    assert app.test_cli_runner().invoke(args=["attendance", "verify", str(session.id)]).exit_code == 0
    # Erasing again finds nothing to do.
    assert services.erase_attendance(session.id) == 0
    # An erased value never comes back, the digests and the date are kept, the rest stays frozen, no deletion.
    for statement in ("UPDATE attendance_record SET typed_name = 'Paul Martin' WHERE seq = 2",
                      "UPDATE attendance_record SET ip = '203.0.113.9'",
                      "UPDATE attendance_record SET user_agent = 'curl'",
                      "UPDATE attendance_record SET signer_name = 'Julie'",
                      "UPDATE attendance_record SET erased = NULL",
                      "UPDATE attendance_record SET erased_at = NULL",
                      "UPDATE attendance_record SET presence = 'absent'",
                      "DELETE FROM attendance_record"):
        refused(statement)
    assert verify_chain(session.id).ok
    # The pages show the erasure instead of the signatures.
    morning = slots(session)[0]
    body = page(trainer.get(f"/attendance/slots/{morning.id}"))
    assert body.count("signature effacée (RGPD)") == 3
    assert advisor.get(f"/attendance/records/{records[0].id}.png").status_code == 404


def test_a_forged_digest_passes_the_trigger_but_not_the_chain(backend, signed):
    """What the trigger cannot judge (the digests kept), the chain does."""
    session, _ = signed
    db.session.execute(text("UPDATE attendance_record SET ip = '', erased = '{\"ip\": \"0000\"}', "
                            "erased_at = CURRENT_TIMESTAMP WHERE seq = 1"))
    db.session.commit()
    check = verify_chain(session.id)
    assert not check.ok and check.broken_seq == 1
