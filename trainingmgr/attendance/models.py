"""Attendance evidence: an append-only, hash-chained record per session, and one-time codes.

Every fact about attendance is a row of ``attendance_record`` that is never updated or deleted: a trainee's
signature, the trainer's countersignature (which locks the slot), the trainer's presence marks (absent,
late arrival, early departure) and the advisor's corrections and justifications. Rows of one session form
a chain: each row's SHA-256 covers a canonical payload holding the previous row's hash (see chain.py), and
``attendance_chain`` keeps the length and head of each chain, so that a removed last row shows too.

The personal fields (``ERASABLE``: names, drawn signature, IP address, browser) enter the chain by their
SHA-256 only. Once past retention (privacy/retention.py) they are erased: the row keeps their digests in
``erased`` and the chain still verifies. That erasure is the only update the database lets through
(guard.py).
"""
from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import User
from ..core.timeutil import utcnow
from ..core.types import UTCDateTime
from ..enrolments.models import Enrolment
from ..extensions import db
from ..resources.models import Trainer
from ..sessions.models import Slot

RECORD_KINDS = {
    "signature": "Signature du stagiaire",
    "countersignature": "Signature du formateur",
    "presence": "Relevé du formateur",
    "correction": "Correction du conseiller",
    "justification": "Justificatif d'absence",
    # Distance half-days (issue 27): the second signature of a virtual half-day, a row of the meeting tool's
    # attendance report matched to a trainee, the time a trainee declares on an asynchronous activity.
    "check": "Signature de seconde partie",
    "connection": "Connexion (rapport de l'outil de visioconférence)",
    "declaration": "Temps déclaré (activité asynchrone)",
    # One per imported report, whoever it matched: it puts the file's SHA-256 in the chain even when no row of the
    # report matched a trainee.
    "report": "Rapport de connexion importé",
}
TRAINER_KINDS = ("countersignature", "presence")  # what the trainer records themself, on nobody's behalf
METHODS = {
    "link": "lien personnel",
    "qr": "QR code",
    "kiosk": "poste du formateur",
    "trainer": "formateur",
    "advisor": "conseiller",
    "report": "rapport importé",
}
MODES = {"drawn": "signature manuscrite", "typed": "nom saisi"}
PRESENCE = {"present": "Présent", "absent": "Absent"}


class CellStatus(str, enum.Enum):
    """What a trainee's half-day reads as (``attendance/services.py``: ``Cell``, ``CELL_LABELS``)."""

    SIGNED = "signed"
    CORRECTED = "corrected"
    ABSENT = "absent"
    MISSING = "missing"
    PENDING = "pending"
    UPCOMING = "upcoming"


# Half-days the trainee attended: signed, or marked present by the advisor's correction.
PRESENT_CELLS = (CellStatus.SIGNED.value, CellStatus.CORRECTED.value)
# Half-days not signed once the sheet opened: still open, or closed without a signature.
UNSIGNED_CELLS = (CellStatus.PENDING.value, CellStatus.MISSING.value)
# Half-days whose absence the advisor may justify.
JUSTIFIABLE_CELLS = (CellStatus.ABSENT.value, CellStatus.MISSING.value)
# Half-days whose outcome is known: attended or absent.
SETTLED_CELLS = PRESENT_CELLS + (CellStatus.ABSENT.value,)


class WindowState(str, enum.Enum):
    """Where now stands against a half-day's signing window (``attendance/services.py``: ``window_state``)."""

    BEFORE = "before"
    OPEN = "open"
    CLOSED = "closed"
# The personal fields of a record, hashed into the chain and erased at the end of retention (see chain.py).
ERASABLE = ("signer_name", "typed_name", "image", "ip", "user_agent")
ERASED_LABEL = "signature effacée (RGPD)"


def device_holder_label(user: User) -> str:
    """The kiosk's device by its holder: « poste de Claire Martin (conseiller formation) »."""
    return f"poste de {user.name or user.email} ({user.role_label.lower()})"


class AttendanceRecord(db.Model):
    __tablename__ = "attendance_record"
    __table_args__ = (
        UniqueConstraint("session_id", "seq", name="uq_attendance_record_session_seq"),
        Index("ix_attendance_record_slot_enrolment", "slot_id", "enrolment_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("training_session.id"))
    seq: Mapped[int]  # 1, 2, 3… within the session's chain
    kind: Mapped[str] = mapped_column(String(20))
    slot_id: Mapped[int] = mapped_column(ForeignKey("slot.id"))
    enrolment_id: Mapped[int | None] = mapped_column(ForeignKey("enrolment.id"), index=True)
    trainer_id: Mapped[int | None] = mapped_column(ForeignKey("trainer.id"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))  # who keyed it in, if logged in
    method: Mapped[str] = mapped_column(String(10), default="")
    mode: Mapped[str] = mapped_column(String(10), default="")  # drawn or typed, for signatures
    signer_name: Mapped[str] = mapped_column(String(250), default="")  # the name at the time, as shown
    typed_name: Mapped[str] = mapped_column(String(250), default="")
    image: Mapped[bytes | None] = mapped_column(LargeBinary)  # PNG of a drawn signature
    presence: Mapped[str] = mapped_column(String(10), default="")  # present / absent, for marks and corrections
    arrived_at: Mapped[dt.time | None]  # Europe/Paris wall-clock, late arrival
    left_at: Mapped[dt.time | None]  # Europe/Paris wall-clock, early departure
    reason: Mapped[str] = mapped_column(Text, default="")
    # Connection or declared minutes (kinds connection, declaration), and the SHA-256 of the imported report a
    # connection row comes from: both enter the chain's payload when set (chain.py), so that the stored report
    # cannot be edited afterwards without ``attendance verify`` failing.
    minutes: Mapped[int | None]
    file_sha256: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ip: Mapped[str] = mapped_column(String(45), default="")
    user_agent: Mapped[str] = mapped_column(String(500), default="")
    # One signature per trainee and slot, one countersignature per slot: "sig:<slot>:<enrolment>", "cs:<slot>".
    unique_key: Mapped[str | None] = mapped_column(String(60), unique=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    # Set once, when the personal fields are erased: {field: SHA-256 of the erased value} and when.
    erased: Mapped[dict | None] = mapped_column(JSON)
    erased_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    slot: Mapped[Slot] = relationship()
    enrolment: Mapped[Enrolment | None] = relationship()
    trainer: Mapped[Trainer | None] = relationship()
    author: Mapped[User | None] = relationship()

    @property
    def kind_label(self) -> str:
        return RECORD_KINDS.get(self.kind, self.kind)

    @property
    def is_trainers_own(self) -> bool:
        return self.kind in TRAINER_KINDS

    @property
    def method_label(self) -> str:
        """How it was signed; on a kiosk, whose device it was (kiosk.py): the logged-in author's."""
        if self.method == "kiosk" and self.author is not None:
            return device_holder_label(self.author)
        return METHODS.get(self.method, self.method)

    @property
    def mode_label(self) -> str:
        return MODES.get(self.mode, self.mode)

    @property
    def is_erased(self) -> bool:
        return self.erased_at is not None

    @property
    def signature_label(self) -> str:
        """What stands for the signature where no picture is shown: the typed name, or the erasure."""
        if self.is_erased:
            return ERASED_LABEL
        return f"« {self.typed_name} » (nom saisi)"


class AttendanceChain(db.Model):
    """The length and last hash of a session's chain, written with each record."""

    __tablename__ = "attendance_chain"

    session_id: Mapped[int] = mapped_column(ForeignKey("training_session.id"), primary_key=True)
    length: Mapped[int] = mapped_column(default=0)
    head_hash: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SigningCode(db.Model):
    """A one-time code e-mailed to a trainee who scanned the room's QR code and chose their name."""

    __tablename__ = "attendance_signing_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolment.id", ondelete="CASCADE"), index=True)
    slot_id: Mapped[int] = mapped_column(ForeignKey("slot.id", ondelete="CASCADE"))
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(default=0)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    ip: Mapped[str] = mapped_column(String(45), default="")


SEAL_SCOPES = {
    "slot": "signature du formateur",
    "session": "fin de session",
    "document": "édition de la feuille d'émargement",
    "catchup": "scellement de rattrapage",
}


class AttendanceSeal(db.Model):
    """The organisation's signature (Ed25519, a key outside the database) over a session's chain at one length:
    the hashes of the records since the previous seal, up to the head (see seals.py). Where a timestamp
    authority is configured, its RFC 3161 token over the signature is added once it answers."""

    __tablename__ = "attendance_seal"
    __table_args__ = (UniqueConstraint("session_id", "length", name="uq_attendance_seal_session_length"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("training_session.id"), index=True)
    scope: Mapped[str] = mapped_column(String(10))  # SEAL_SCOPES
    slot_id: Mapped[int | None] = mapped_column(ForeignKey("slot.id"))
    from_seq: Mapped[int]
    length: Mapped[int]
    head_hash: Mapped[str] = mapped_column(String(64))
    hashes: Mapped[list] = mapped_column(JSON)  # the records' hashes, from_seq to length
    sealed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    key_id: Mapped[str] = mapped_column(String(16))
    signature: Mapped[str] = mapped_column(String(100))  # base64
    tsa_token: Mapped[bytes | None] = mapped_column(LargeBinary)  # DER TimeStampToken over the signature's bytes
    tsa_time: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    slot: Mapped[Slot | None] = relationship()

    @property
    def scope_label(self) -> str:
        return SEAL_SCOPES.get(self.scope, self.scope)


class PlannedAbsence(db.Model):
    """A half-day the trainee said, from their personal page, they will miss, and why (attendance/planned.py).
    Kept beside the register, not in it: the reason is personal data that must stay erasable, and the register
    records what happened, not what was announced. The grid reads it as a justified absence."""

    __tablename__ = "planned_absence"
    __table_args__ = (UniqueConstraint("enrolment_id", "slot_id", name="uq_planned_absence_enrolment_slot"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("training_session.id", ondelete="CASCADE"), index=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolment.id", ondelete="CASCADE"), index=True)
    slot_id: Mapped[int] = mapped_column(ForeignKey("slot.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(Text)
    declared_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ip: Mapped[str] = mapped_column(String(45), default="")

    slot: Mapped[Slot] = relationship()


ALERT_KINDS = {"absent": "absence", "late": "retard"}


class AbsenceAlert(db.Model):
    """The e-mail telling a company's HR contact that an employee was marked absent or late on a half-day: one
    per employee and half-day at most (the unique key makes a second mark send nothing)."""

    __tablename__ = "absence_alert"
    __table_args__ = (UniqueConstraint("slot_id", "enrolment_id", name="uq_absence_alert_slot_enrolment"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    slot_id: Mapped[int] = mapped_column(ForeignKey("slot.id", ondelete="CASCADE"))
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolment.id", ondelete="CASCADE"), index=True)
    company_id: Mapped[int | None] = mapped_column(ForeignKey("company.id", ondelete="SET NULL"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # ALERT_KINDS
    recipient: Mapped[str] = mapped_column(String(254))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_message.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    @property
    def kind_label(self) -> str:
        return ALERT_KINDS.get(self.kind, self.kind)


class AttendanceReport(db.Model):
    """A meeting tool's attendance report imported for a virtual half-day (attendance/reports/): the stored file,
    its SHA-256 (also in each connection record it gave, in the chain), how its columns were read, and the rows
    that matched no trainee."""

    __tablename__ = "attendance_report"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("training_session.id", ondelete="CASCADE"), index=True)
    slot_id: Mapped[int] = mapped_column(ForeignKey("slot.id", ondelete="CASCADE"), index=True)
    # None once erased at the end of the register's retention (privacy/services.erase_attendance): the file named the
    # participants; its SHA-256 stays here and in the chain.
    file_id: Mapped[int | None] = mapped_column(ForeignKey("stored_file.id"))
    sha256: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(20))  # teams, zoom, meet, mapping (reports/formats.py)
    mapping: Mapped[dict] = mapped_column(JSON, default=dict)  # column -> role, as read
    rows_count: Mapped[int] = mapped_column(default=0)
    unmatched: Mapped[list] = mapped_column(JSON, default=list)  # [{"name": …, "email": …, "minutes": …}]
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    erased_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    slot: Mapped[Slot] = relationship()
    file = relationship("StoredFile")
    author: Mapped[User | None] = relationship()
