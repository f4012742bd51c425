"""Attendance rules: when a slot can be signed, by whom, what each cell of the grid says, hours attended.

Everything is appended to the session's chain through ``_append`` (never updated, never deleted):
- ``sign``: a trainee's signature (personal link, QR code then one-time code, or the trainer's kiosk);
- ``countersign``: the trainer's signature of a slot, which locks it;
- ``mark_presence``: the trainer's absent / late arrival / early departure marks, before the lock;
- ``countersign_as`` and ``mark_presence_as``: the same by a trainer without an account, known by the personal link
  of the trainer space (resources/space.py): no author account on the record, the trainer named as always;
- ``correct`` and ``justify``: the advisor's corrections and absence justifications, with reason and author.
A mark or correction of an absence or a late arrival is what the automation « Absence constatée » reads to e-mail the
employer who asked for it (automations/triggers/attendance.py); the
absences a trainee announced from their page (planned.py) stay beside the chain and read as justified in the grid.
Callers commit.
"""
from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
import logging
import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal

from flask import current_app
from sqlalchemy import and_, bindparam, exists, or_, select
from sqlalchemy.orm import aliased, contains_eager, defer, joinedload, load_only, make_transient_to_detached, selectinload
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from ..accounts.models import User
from ..core.errors import (
    ConflictError,
    DomainError,
    ErrorCollector,
    NotFoundError,
    PermissionDenied,
    ValidationError,
)
from ..core.formatting import date_fr, time_fr
from ..core.persistence import get_by_id, lock_row, mark_row_locked
from ..core.timeutil import PARIS, utcnow
from ..core.validation import parse_time
from ..enrolments import services as enrolment_services
from ..enrolments.models import EXPECTED, Enrolment, EnrolmentStatus
from ..evaluations.models import Response
from ..extensions import db
from ..resources.models import Trainer
from ..sessions import services as session_services
from ..sessions.modality import minutes_by_modality, modality_lines
from ..sessions.models import SessionStatus, Slot, SlotModality, TrainingSession
from ..trainees.models import Trainee
from . import pngcheck, seals
from .chain import GENESIS, record_hash
from .models import (
    JUSTIFIABLE_CELLS,
    PRESENT_CELLS,
    UNSIGNED_CELLS,
    AttendanceChain,
    AttendanceRecord,
    AttendanceReport,
    CellStatus,
    PlannedAbsence,
    WindowState,
)

log = logging.getLogger("trainingmgr.attendance")

MAX_IMAGE_BYTES = 300 * 1024
MAX_IMAGE_SIDE = 3000
MAX_USER_AGENT = 500


class SigningNotOpen(ConflictError):
    pass


class SigningClosed(DomainError):
    status_code = 410
    code = "gone"


class AlreadySigned(ConflictError):
    pass


class SlotLocked(ConflictError):
    pass


class EarlyCountersignature(ConflictError):
    """The half-day has not ended yet: closing its sheet now needs the trainer's confirmation."""


# The kinds of record that the audit log (audit/tracking.py, a listener of the session's flushes) records: they go
# through the flush; the others are inserted by one statement (``_insert``).
AUDITED_KINDS = ("correction", "justification")

# The message of an empty signature pad (no drawing, no typed name): static/js/signature-pad.js says the same.
EMPTY_SIGNATURE = "Signez dans le cadre, ou tapez votre nom complet si vous ne pouvez pas dessiner."


def refused(reason: str, **details) -> None:
    """Log a refused attempt (replay, stale QR code, another trainee, bad code…) for the audit trail."""
    log.warning("Émargement refusé : %s (%s)", reason, ", ".join(f"{k}={v}" for k, v in details.items()))


# --------------------------------------------------------------------------- the signing window


def window(slot: Slot) -> tuple[dt.datetime, dt.datetime]:
    """When trainees may sign ``slot``: from ATTENDANCE_OPENS_BEFORE minutes before its start until
    ATTENDANCE_CLOSES_AFTER minutes after its end (15 and 60 by default)."""
    config = current_app.config
    opens = slot.starts_at - dt.timedelta(minutes=config["ATTENDANCE_OPENS_BEFORE_MINUTES"])
    closes = slot.ends_at + dt.timedelta(minutes=config["ATTENDANCE_CLOSES_AFTER_MINUTES"])
    return opens, closes


def window_state(slot: Slot, now: dt.datetime | None = None) -> str:
    """'before', 'open' or 'closed'."""
    now = now or utcnow()
    opens, closes = window(slot)
    if now < opens:
        return WindowState.BEFORE.value
    if now > closes:
        return WindowState.CLOSED.value
    return WindowState.OPEN.value


def slot_label(slot: Slot) -> str:
    return f"{date_fr(slot.date)}, {slot.half_day_label.lower()} ({time_fr(slot.start_time)}–{time_fr(slot.end_time)})"


def check_window(slot: Slot, now: dt.datetime | None = None) -> None:
    state = window_state(slot, now)
    opens, closes = window(slot)
    if state == WindowState.BEFORE.value:
        raise SigningNotOpen(f"L'émargement du créneau du {slot_label(slot)} n'est pas encore ouvert : il ouvre "
                             f"le {date_fr(slot.date)} à {time_fr(opens.astimezone(PARIS).time())}.")
    if state == WindowState.CLOSED.value:
        raise SigningClosed(f"L'émargement du créneau du {slot_label(slot)} est clos depuis "
                            f"{time_fr(closes.astimezone(PARIS).time())}. Si vous étiez présent(e), prévenez "
                            "votre conseiller formation, qui pourra corriger la feuille.")


# --------------------------------------------------------------------------- the chain


def _append(slot: Slot, kind: str, *, unique_key: str | None = None, closing_key: str | None = None,
            now: dt.datetime | None = None, **values) -> AttendanceRecord:
    """Add a record at the end of the session's chain. The session row is locked first, so that records
    of one session are chained one at a time, even when fifty trainees sign at once. Under that lock, one
    statement reads the chain's head and whether ``unique_key`` (then: AlreadySigned) and ``closing_key`` (a
    record that closes the slot to this one, checked first: SlotLocked) are in the chain already; the record
    is inserted, then the head moved on by one statement."""
    session_id = slot.session_id
    lock_row(TrainingSession, session_id)
    head, taken = _head_and_keys(session_id, unique_key, closing_key)
    if closing_key is not None and taken[closing_key]:
        raise SlotLocked("Feuille close.")
    if unique_key is not None and taken[unique_key]:
        raise AlreadySigned("Déjà signé.")
    length, head_hash = head or (0, GENESIS)
    record = AttendanceRecord(session_id=session_id, seq=length + 1, kind=kind, slot_id=slot.id,
                              unique_key=unique_key, prev_hash=head_hash, created_at=now or utcnow(),
                              **values)
    for name in ("method", "mode", "signer_name", "typed_name", "presence", "reason", "ip", "user_agent"):
        if getattr(record, name) is None:
            setattr(record, name, "")
    record.hash = record_hash(record)
    if kind in AUDITED_KINDS:
        db.session.add(record)
        db.session.flush()
        _move_head(session_id, record, first=head is None)
    else:
        _insert(record, first=head is None)
    seals.after_append(slot.session, record)
    return record


def _insert(record: AttendanceRecord, first: bool) -> None:
    """INSERT ``record`` with one Core statement and move the chain's head to it (``_move_head``; ``first``: the
    chain's first record), then hold the record in the session as its flush would have: persistent, every column
    loaded, nothing pending (the unit of work costs several times the statement: bench/signing.py). The columns
    left empty are NULL, as the flush writes them. On PostgreSQL both writes are one statement: the head's in a
    WITH clause of the record's INSERT (a data-modifying WITH runs whether or not the INSERT reads it)."""
    table = AttendanceRecord.__table__
    values = {column.key: getattr(record, column.key) for column in table.columns if column.key != "id"}
    values_given = {k: v for k, v in values.items() if v is not None}
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        statement = _insert_with_head(first, tuple(values_given))
        record.id = connection.execute(statement, {f"record_{k}": v for k, v in values_given.items()}
                                       | _head_values(record)).scalar_one()
        _forget_held_head(record.session_id)
    else:
        record.id = connection.execute(table.insert(), values_given).inserted_primary_key[0]
        _move_head(record.session_id, record, first)
    for key, value in values.items():
        if key not in record.__dict__:
            set_committed_value(record, key, value)
    make_transient_to_detached(record)
    db.session.add(record)


def _head_and_keys(session_id: int, *keys: str | None) -> tuple[tuple[int, str] | None, dict[str, bool]]:
    """The session's chain head, (length, hash) or None before its first record, and, for each key given, whether
    a record holds it: one statement, to be run under the session's lock."""
    keys = tuple(key for key in keys if key is not None)
    row = db.session.connection().execute(_head_statement(len(keys)), {"session_id": session_id} | {
        f"key{i}": key for i, key in enumerate(keys)}).one()
    head = (row[0], row[1]) if row[0] is not None else None
    return head, {key: bool(value) for key, value in zip(keys, row[2:])}


@functools.cache
def _head_statement(keys: int):
    """The statement of ``_head_and_keys`` for that many keys (Core, built once; bound at each call)."""
    chain, records, sessions = AttendanceChain.__table__, AttendanceRecord.__table__, TrainingSession.__table__
    found = [exists().where(records.c.unique_key == bindparam(f"key{i}")) for i in range(keys)]
    return (select(chain.c.length, chain.c.head_hash, *found)
            .select_from(sessions.outerjoin(chain, chain.c.session_id == sessions.c.id))
            .where(sessions.c.id == bindparam("session_id")))


def _move_head(session_id: int, record: AttendanceRecord, first: bool) -> None:
    """The head now names ``record``: one INSERT (the chain's first record) or UPDATE, without loading the row; a
    head object this session holds is expired (read afresh next time)."""
    db.session.connection().execute(_head_write(first), _head_values(record))
    _forget_held_head(session_id)


def _head_values(record: AttendanceRecord) -> dict:
    return {"chain_id": record.session_id, "new_length": record.seq, "new_hash": record.hash, "now": utcnow()}


def _forget_held_head(session_id: int) -> None:
    held = db.session.identity_map.get(identity_key(AttendanceChain, session_id))
    if held is not None:
        db.session.expire(held)


@functools.cache
def _insert_with_head(first: bool, columns: tuple[str, ...]):
    """PostgreSQL: WITH head AS (the head's INSERT or UPDATE) INSERT INTO attendance_record (``columns``) … RETURNING
    id, built once per shape (Core, bound at each call). The record's values are bound as record_<column>: a
    parameter named after a column would also be set by the head's statement (attendance_chain.session_id)."""
    table = AttendanceRecord.__table__
    head = _head_write(first).returning(AttendanceChain.__table__.c.session_id).cte("head")
    return (table.insert().values({name: bindparam(f"record_{name}") for name in columns}).add_cte(head)
            .returning(table.c.id))


@functools.cache
def _head_write(first: bool):
    chain = AttendanceChain.__table__
    values = {"length": bindparam("new_length"), "head_hash": bindparam("new_hash"), "updated_at": bindparam("now")}
    if first:
        return chain.insert().values(session_id=bindparam("chain_id"), **values)
    return chain.update().where(chain.c.session_id == bindparam("chain_id")).values(**values)


def countersignature(slot: Slot) -> AttendanceRecord | None:
    """The trainer's signature of the slot's sheet, which locks it (None while the sheet is open)."""
    return db.session.scalar(select(AttendanceRecord).where(AttendanceRecord.unique_key == f"cs:{slot.id}"))


# --------------------------------------------------------------------------- what a signature is made of


def _name_key(value: str) -> str:
    text = unicodedata.normalize("NFKD", value or "")
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


def _png(data_url: str) -> bytes:
    """The PNG bytes of a canvas' data URL, checked (pngcheck.py, without decoding the pixels): a real PNG, whole,
    of accepted dimensions and size, not blank."""
    unreadable = "La signature dessinée n'a pas pu être lue : réessayez, ou tapez votre nom."
    match = re.fullmatch(r"data:image/png;base64,([A-Za-z0-9+/=\s]+)", data_url.strip())
    if match is None:
        raise ValidationError(unreadable, field="signature")
    try:
        data = base64.b64decode(match.group(1), validate=False)
    except (binascii.Error, ValueError):
        raise ValidationError(unreadable, field="signature") from None
    if len(data) > MAX_IMAGE_BYTES:
        raise ValidationError("La signature dessinée est trop volumineuse : effacez-la et recommencez.",
                              field="signature")
    if not data.startswith(pngcheck.SIGNATURE):
        if pngcheck.other_image_format(data):
            raise ValidationError("La signature doit être une image PNG.", field="signature")
        raise ValidationError(unreadable, field="signature")
    try:
        pngcheck.check(data, _check_drawing_size)
    except pngcheck.Unreadable:
        raise ValidationError(unreadable, field="signature") from None
    except pngcheck.Blank:
        raise ValidationError("La signature est vide : signez dans le cadre, ou tapez votre nom.",
                              field="signature") from None
    return data


def _check_drawing_size(width: int, height: int) -> None:
    if max(width, height) > MAX_IMAGE_SIDE or min(width, height) < 10:
        raise ValidationError("La taille de la signature dessinée n'est pas acceptée.", field="signature")


def signature_input(drawing: str | None, typed_name: str | None, expected_name: str,
                    errors: ErrorCollector | None = None) -> tuple[str, bytes | None, str]:
    """(mode, PNG, typed name) from the form: a drawing, or the signer's full name typed in."""
    drawing = (drawing or "").strip()
    typed = " ".join((typed_name or "").split())
    if drawing:
        return "drawn", _png(drawing), ""
    if typed:
        if len(typed) > 250 or _name_key(typed) not in {_name_key(expected_name),
                                                         _name_key(" ".join(reversed(expected_name.split(" ", 1))))}:
            raise ValidationError(f"Tapez votre nom complet tel qu'inscrit : « {expected_name} ».",
                                  field="typed_name")
        return "typed", None, typed
    raise ValidationError(EMPTY_SIGNATURE, field="signature")


def _client(ip: str | None, user_agent: str | None) -> dict:
    return {"ip": (ip or "")[:45], "user_agent": (user_agent or "")[:MAX_USER_AGENT]}


# --------------------------------------------------------------------------- trainees sign


def check_can_sign(slot: Slot, enrolment: Enrolment, now: dt.datetime | None = None) -> None:
    """Everything that must hold for ``enrolment`` to sign ``slot`` now, the lock and replays aside."""
    check_signer(slot, enrolment)
    check_window(slot, now)


def check_signer(slot: Slot, enrolment: Enrolment) -> None:
    """The trainee of ``enrolment`` is expected on ``slot``, in a session that takes place (whatever the time)."""
    if enrolment.session_id != slot.session_id:
        refused("créneau d'une autre session", enrolment=enrolment.id, slot=slot.id)
        raise PermissionDenied("Ce lien ne permet pas de signer ce créneau.")
    if not enrolment.is_expected:
        raise ConflictError("Votre inscription n'est pas confirmée : vous ne pouvez pas signer la feuille "
                            "d'émargement. Adressez-vous à votre conseiller formation.")
    if enrolment.session.status in (SessionStatus.CANCELLED.value, SessionStatus.DRAFT.value):
        raise ConflictError("Cette session n'a pas lieu : il n'y a rien à signer.")


def sign(slot: Slot, enrolment: Enrolment, *, method: str, drawing: str | None = None,
         typed_name: str | None = None, ip: str | None = None, user_agent: str | None = None,
         actor: User | None = None, now: dt.datetime | None = None) -> AttendanceRecord:
    """The trainee of ``enrolment`` signs ``slot``: once, inside the window, before the countersignature (both
    checked under the chain's lock, in the statement that reads its head)."""
    if method not in ("link", "qr", "kiosk"):
        raise ValidationError("Mode d'émargement inconnu.")
    if slot.modality == SlotModality.ASYNC.value:
        raise ConflictError("Cette demi-journée est une activité à distance : déclarez le temps que vous y avez "
                            "passé depuis votre lien personnel.")
    now = now or utcnow()
    check_can_sign(slot, enrolment, now)
    record = _trainee_signature(slot, enrolment, "signature", f"sig:{slot.id}:{enrolment.id}", method=method,
                                drawing=drawing, typed_name=typed_name, ip=ip, user_agent=user_agent, actor=actor,
                                now=now, replayed=("signature rejouée",
                                                   f"Vous avez déjà signé le créneau du {slot_label(slot)}."))
    _after_change(enrolment)
    return record


def _trainee_signature(slot: Slot, enrolment: Enrolment, kind: str, unique_key: str, *, method: str, drawing, typed_name,
                       ip, user_agent, actor: User | None, now: dt.datetime, replayed: tuple[str, str]
                       ) -> AttendanceRecord:
    """Append a trainee's signature of ``kind`` (the start, or a virtual half-day's second part), once
    (``unique_key``) and before the countersignature, both checked under the chain's lock; ``replayed``: what the
    log and the trainee are told of a replay."""
    mode, image, typed = signature_input(drawing, typed_name, enrolment.trainee.full_name)
    try:
        return _append(slot, kind, unique_key=unique_key, closing_key=f"cs:{slot.id}", now=now,
                       enrolment_id=enrolment.id, author_id=actor.id if actor is not None else None, method=method,
                       mode=mode, signer_name=enrolment.trainee.full_name, typed_name=typed, image=image,
                       **_client(ip, user_agent))
    except SlotLocked:
        refused("créneau verrouillé", enrolment=enrolment.id, slot=slot.id, method=method, ip=ip)
        raise SlotLocked("Le formateur a déjà clos la feuille de ce créneau : votre conseiller formation peut "
                         "la corriger si vous étiez présent(e).") from None
    except AlreadySigned:
        refused(replayed[0], enrolment=enrolment.id, slot=slot.id, method=method, ip=ip)
        raise AlreadySigned(replayed[1]) from None


# --------------------------------------------------------------------------- distance half-days (issue 27)

# How long after an asynchronous half-day's end its trainees may still declare the time spent on it.
DECLARATION_DAYS = 7


def second_part_opens(slot: Slot) -> dt.datetime:
    """When the second signature of a virtual half-day opens: the slot's midpoint (it closes with the window)."""
    return slot.starts_at + (slot.ends_at - slot.starts_at) / 2


def check_can_sign_check(slot: Slot, enrolment: Enrolment, now: dt.datetime | None = None) -> None:
    """Everything that must hold for the second signature of a virtual half-day now, the lock and replays aside:
    a virtual slot, its window open, past its midpoint, the first signature made."""
    now = now or utcnow()
    if slot.modality != SlotModality.VIRTUAL.value:
        raise ConflictError("Ce créneau n'a pas de seconde signature : elle ne concerne que les classes virtuelles.")
    check_can_sign(slot, enrolment, now)
    opens = second_part_opens(slot)
    if now < opens:
        raise SigningNotOpen(f"La seconde signature du créneau du {slot_label(slot)} ouvre à "
                             f"{time_fr(opens)}, au milieu de la demi-journée.")
    if signature_of(slot, enrolment) is None:
        refused("seconde signature sans la première", enrolment=enrolment.id, slot=slot.id)
        raise ConflictError("Signez d'abord le début de la demi-journée : la seconde signature vient ensuite.")


def sign_check(slot: Slot, enrolment: Enrolment, *, method: str, drawing: str | None = None,
               typed_name: str | None = None, ip: str | None = None, user_agent: str | None = None,
               actor: User | None = None, now: dt.datetime | None = None) -> AttendanceRecord:
    """The second signature of a virtual half-day ("check"), from its midpoint until the window closes, once the
    first is made: once, before the countersignature (checked under the chain's lock)."""
    if method not in ("link", "qr", "kiosk"):
        raise ValidationError("Mode d'émargement inconnu.")
    now = now or utcnow()
    check_can_sign_check(slot, enrolment, now)
    return _trainee_signature(slot, enrolment, "check", f"chk:{slot.id}:{enrolment.id}", method=method,
                              drawing=drawing, typed_name=typed_name, ip=ip, user_agent=user_agent, actor=actor,
                              now=now, replayed=("seconde signature rejouée", "Vous avez déjà signé la seconde "
                                                 f"partie du créneau du {slot_label(slot)}."))


def second_part_open(slot: Slot, now: dt.datetime | None = None) -> bool:
    return (now or utcnow()) >= second_part_opens(slot)


def signing_part(slot: Slot, enrolment: Enrolment, now: dt.datetime | None = None) -> str:
    """Which signature of a virtual half-day the trainee may make now: "sig" (the first) or "chk" (the second);
    the refusal of either otherwise (not open, closed, too early for the second, both made)."""
    now = now or utcnow()
    if signature_of(slot, enrolment) is None:
        check_can_sign(slot, enrolment, now)
        return "sig"
    if check_of(slot, enrolment) is not None:
        raise AlreadySigned(f"Vous avez déjà signé les deux parties du créneau du {slot_label(slot)}.")
    check_can_sign_check(slot, enrolment, now)
    return "chk"


def check_of(slot: Slot, enrolment: Enrolment) -> AttendanceRecord | None:
    """The second signature of a virtual half-day, if made."""
    return db.session.scalar(select(AttendanceRecord).options(defer(AttendanceRecord.image))
                             .where(AttendanceRecord.unique_key == f"chk:{slot.id}:{enrolment.id}"))


def declaration_window(slot: Slot) -> tuple[dt.datetime, dt.datetime]:
    """When the time spent on an asynchronous half-day may be declared: from its start until DECLARATION_DAYS
    days after its end."""
    return slot.starts_at, slot.ends_at + dt.timedelta(days=DECLARATION_DAYS)


def declaration_state(slot: Slot, now: dt.datetime | None = None) -> str:
    """'before', 'open' or 'closed', against ``declaration_window``."""
    now = now or utcnow()
    opens, closes = declaration_window(slot)
    if now < opens:
        return WindowState.BEFORE.value
    return WindowState.CLOSED.value if now > closes else WindowState.OPEN.value


def duration_fr(minutes: int | None) -> str:
    """« 1 h 30 », « 2 h », « 45 min »."""
    hours, rest = divmod(minutes or 0, 60)
    if not hours:
        return f"{rest} min"
    return f"{hours} h {rest:02d}" if rest else f"{hours} h"


def parse_duration(hours, minutes) -> int:
    """Minutes from the hours and minutes typed in (either may be empty); ValidationError in French."""
    total = 0
    for value, name, label, most in ((hours, "hours", "heures", 99), (minutes, "minutes", "minutes", 59)):
        text = str(value if value is not None else "").strip()
        if not text:
            continue
        if not text.isdigit() or int(text) > most:
            raise ValidationError(f"Indiquez un nombre de {label} entre 0 et {most}.", field=name)
        total += int(text) * (60 if name == "hours" else 1)
    return total


def declare_time(slot: Slot, enrolment: Enrolment, minutes: int, *, ip: str | None = None,
                 user_agent: str | None = None, now: dt.datetime | None = None) -> AttendanceRecord:
    """The trainee declares the time spent on an asynchronous half-day ("declaration"): once, from its start
    until DECLARATION_DAYS days after its end, between 1 minute and twice its span (counted up to its span)."""
    now = now or utcnow()
    if slot.modality != SlotModality.ASYNC.value:
        raise ConflictError("Ce créneau n'est pas une activité asynchrone : il n'y a pas de temps à déclarer.")
    check_signer(slot, enrolment)
    opens, closes = declaration_window(slot)
    if now < opens:
        raise SigningNotOpen(f"L'activité du {slot_label(slot)} n'a pas encore commencé : vous pourrez déclarer "
                             f"votre temps à partir du {date_fr(opens)} à {time_fr(opens)}.")
    if now > closes:
        raise SigningClosed(f"La déclaration du temps passé sur l'activité du {slot_label(slot)} est close depuis "
                            f"le {date_fr(closes.astimezone(PARIS))}. Prévenez votre conseiller formation.")
    most = 2 * _minutes(slot.start_time, slot.end_time)
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 1 <= minutes <= most:
        raise ValidationError(f"Indiquez un temps entre 1 minute et {duration_fr(most)}.", field="minutes")
    try:
        record = _append(slot, "declaration", unique_key=f"decl:{slot.id}:{enrolment.id}", now=now,
                         enrolment_id=enrolment.id, method="link", signer_name=enrolment.trainee.full_name,
                         minutes=minutes, **_client(ip, user_agent))
    except AlreadySigned:
        refused("déclaration rejouée", enrolment=enrolment.id, slot=slot.id, ip=ip)
        raise AlreadySigned(f"Vous avez déjà déclaré votre temps pour l'activité du {slot_label(slot)}.") from None
    _after_change(enrolment)
    return record


def declaration_of(slot: Slot, enrolment: Enrolment) -> AttendanceRecord | None:
    return db.session.scalar(select(AttendanceRecord).options(defer(AttendanceRecord.image))
                             .where(AttendanceRecord.unique_key == f"decl:{slot.id}:{enrolment.id}"))


def quiz_response(slot: Slot, enrolment: Enrolment) -> Response | None:
    """The enrolment's response to the quiz of an asynchronous half-day (draft or submitted), if begun."""
    if not slot.quiz_id:
        return None
    return db.session.scalar(select(Response).where(Response.questionnaire_id == slot.quiz_id,
                                                    Response.enrolment_id == enrolment.id)
                             .order_by(Response.id.desc()).limit(1))


def quiz_invitation_url(slot: Slot, enrolment: Enrolment) -> str | None:
    """The link of a survey invitation already made to this trainee for the slot's quiz (not anonymous: its answers
    must name them), which the trainee then uses rather than the signing link's quiz page."""
    from ..evaluations.models import Questionnaire, SurveyInvitation
    from ..evaluations.surveys.services import survey_url

    if not slot.quiz_id:
        return None
    invitation = db.session.scalar(
        select(SurveyInvitation).join(Questionnaire, Questionnaire.id == SurveyInvitation.questionnaire_id)
        .where(SurveyInvitation.questionnaire_id == slot.quiz_id, SurveyInvitation.enrolment_id == enrolment.id,
               Questionnaire.anonymous.is_(False)).order_by(SurveyInvitation.id.desc()).limit(1))
    return survey_url(invitation) if invitation is not None else None


def answer_quiz(slot: Slot, enrolment: Enrolment, data: dict, *, submit: bool = False,
                now: dt.datetime | None = None) -> Response:
    """The trainee answers the quiz of an asynchronous half-day (save, or send: then frozen), while its time may
    be declared (``declaration_window``); the questionnaire's own rules check the answers."""
    from ..evaluations.questionnaires import services as questionnaires  # it imports enrolments' services

    check_signer(slot, enrolment)
    if slot.modality != SlotModality.ASYNC.value or slot.quiz is None:
        raise NotFoundError("Cette demi-journée n'a pas de quiz.")
    state = declaration_state(slot, now)
    if state != WindowState.OPEN.value:
        raise ConflictError(f"Le quiz de l'activité du {slot_label(slot)} "
                            + ("n'est pas encore ouvert." if state == WindowState.BEFORE.value else "est clos."))
    response = questionnaires.get_or_create_response(slot.quiz, enrolment)
    response.session_id = slot.session_id
    return questionnaires.save_answers(response, data, submit=submit)


def signing_pair(enrolment_id: int, slot_id: int, lock: bool = False) -> tuple[Enrolment | None, Slot, bool]:
    """(enrolment, slot, whether the slot is its session's last) named by a signing link or a QR identification:
    one statement, the enrolment's trainee and session (the slot's) loaded with them. When that finds nothing
    (no such enrolment or slot, or an enrolment of another session), the separate loads of before: NotFoundError
    for an unknown slot, None for an unknown enrolment, and the mismatched pair for the caller to refuse.

    ``lock`` (a signature is coming): on PostgreSQL the same statement locks the session's row, the lock that
    serialises its chain (``_append``), which then needs no statement of its own (core.persistence.lock_row)."""
    locking = lock and db.session.connection().dialect.name == "postgresql"
    row = db.session.execute(_signing_pair_statement(locking),
                             {"enrolment_id": enrolment_id, "slot_id": slot_id}).first()
    if row is not None:
        if locking:
            mark_row_locked(TrainingSession, row[1].session_id)
        return row[0], row[1], bool(row[2])
    slot = session_services.get_slot(slot_id)
    return db.session.get(Enrolment, enrolment_id), slot, is_last_slot(slot)


@functools.cache
def _signing_pair_statement(lock: bool = False):
    """The statement of ``signing_pair``; ``lock``: FOR UPDATE OF the session's table only (PostgreSQL), the
    enrolment, trainee and slot rows are read, not locked."""
    later = aliased(Slot)
    is_last = ~exists().where(later.session_id == Slot.session_id, or_(
        later.date > Slot.date, and_(later.date == Slot.date, later.start_time > Slot.start_time)))
    statement = (select(Enrolment, Slot, is_last)
                 .join(Slot, and_(Slot.id == bindparam("slot_id"), Slot.session_id == Enrolment.session_id))
                 .join(TrainingSession, TrainingSession.id == Enrolment.session_id)
                 .where(Enrolment.id == bindparam("enrolment_id")))
    if not lock:
        return statement.options(joinedload(Enrolment.trainee), contains_eager(Enrolment.session))
    return statement.options(
        load_only(Enrolment.id, Enrolment.session_id, Enrolment.trainee_id, Enrolment.status),
        joinedload(Enrolment.trainee).load_only(Trainee.id, Trainee.first_name, Trainee.last_name),
        contains_eager(Enrolment.session).load_only(TrainingSession.id, TrainingSession.status),
    ).with_for_update(of=TrainingSession)


def is_last_slot(slot: Slot) -> bool:
    """Whether ``slot`` is its session's last half-day (its signature then offers the hot survey)."""
    return slot.id == max(slot.session.slots, key=lambda s: (s.date, s.start_time)).id


def signature_of(slot: Slot, enrolment: Enrolment) -> AttendanceRecord | None:
    return db.session.scalar(select(AttendanceRecord).options(defer(AttendanceRecord.image))
                             .where(AttendanceRecord.unique_key == f"sig:{slot.id}:{enrolment.id}"))


# --------------------------------------------------------------------------- the trainer


def trainer_of(actor: User | None, session: TrainingSession) -> Trainer | None:
    """The trainer record of ``actor`` if they teach ``session``."""
    if actor is None:
        return None
    return next((trainer for trainer in session.trainers if trainer.user_id == actor.id), None)


def _require_trainer(actor: User | None, session: TrainingSession) -> Trainer:
    trainer = trainer_of(actor, session)
    if trainer is None:
        raise PermissionDenied("Seul un formateur de la session peut faire cela.")
    return trainer


def teaches(trainer: Trainer | None, session: TrainingSession) -> bool:
    """Whether ``trainer`` is one of the session's trainers (those who mark and countersign its sheets)."""
    return trainer is not None and any(t.id == trainer.id for t in session.trainers)


def _require_teaching(trainer: Trainer | None, session: TrainingSession) -> Trainer:
    if not teaches(trainer, session):
        raise PermissionDenied("Seul un formateur de la session peut faire cela.")
    return trainer


def countersign(slot: Slot, actor: User, *, drawing: str | None = None, typed_name: str | None = None,
                ip: str | None = None, user_agent: str | None = None, early_ok: bool = False,
                now: dt.datetime | None = None) -> AttendanceRecord:
    """The trainer signs the slot's sheet; the slot is then locked (late signatures need a correction).
    Before the half-day's end, only with ``early_ok`` (the trainer confirmed): else ``EarlyCountersignature``."""
    trainer = _require_trainer(actor, slot.session)
    return _countersign(slot, trainer, actor.id, drawing=drawing, typed_name=typed_name, ip=ip,
                        user_agent=user_agent, early_ok=early_ok, now=now)


def countersign_as(slot: Slot, trainer: Trainer, *, drawing: str | None = None, typed_name: str | None = None,
                   ip: str | None = None, user_agent: str | None = None, early_ok: bool = False,
                   now: dt.datetime | None = None) -> AttendanceRecord:
    """``countersign`` by a trainer known by their personal link rather than an account (the trainer space):
    the same record, lock and seal, with no author account."""
    _require_teaching(trainer, slot.session)
    return _countersign(slot, trainer, None, drawing=drawing, typed_name=typed_name, ip=ip,
                        user_agent=user_agent, early_ok=early_ok, now=now)


def _countersign(slot: Slot, trainer: Trainer, author_id: int | None, *, drawing, typed_name, ip, user_agent,
                 early_ok, now) -> AttendanceRecord:
    now = now or utcnow()
    if now < slot.starts_at:
        raise ConflictError(f"Le créneau du {slot_label(slot)} n'a pas encore commencé.")
    mode, image, typed = signature_input(drawing, typed_name, trainer.full_name)
    if countersignature(slot) is not None:
        raise AlreadySigned("La feuille de ce créneau est déjà signée par le formateur.")
    # After the signature's checks, so that the page asking the question keeps a valid drawing to send again.
    if now < slot.ends_at and not early_ok:
        raise EarlyCountersignature(f"Le créneau se termine à {time_fr(slot.end_time)} : il est {time_fr(now)}. "
                                    "Clôturer maintenant ?")
    try:
        return _append(slot, "countersignature", unique_key=f"cs:{slot.id}", now=now, trainer_id=trainer.id,
                       author_id=author_id, method="trainer", mode=mode, signer_name=trainer.full_name,
                       typed_name=typed, image=image, **_client(ip, user_agent))
    except AlreadySigned:
        raise AlreadySigned("La feuille de ce créneau est déjà signée par le formateur.") from None


def _clean_times(slot: Slot, presence: str, arrived, left, errors: ErrorCollector):
    arrived_at = parse_time(arrived, "arrived_at", errors, label="Heure d'arrivée") if arrived not in (None, "") else None
    left_at = parse_time(left, "left_at", errors, label="Heure de départ") if left not in (None, "") else None
    if presence == "absent":
        return None, None
    if arrived_at is not None and not slot.start_time < arrived_at < slot.end_time:
        errors.add("arrived_at", f"L'heure d'arrivée doit être comprise entre {time_fr(slot.start_time)} et "
                                 f"{time_fr(slot.end_time)}.")
    if left_at is not None and not slot.start_time < left_at < slot.end_time:
        errors.add("left_at", f"L'heure de départ doit être comprise entre {time_fr(slot.start_time)} et "
                              f"{time_fr(slot.end_time)}.")
    if arrived_at is not None and left_at is not None and left_at <= arrived_at:
        errors.add("left_at", "L'heure de départ doit suivre l'heure d'arrivée.")
    return arrived_at, left_at


def _clean_presence(data: dict, errors: ErrorCollector) -> str:
    presence = (data.get("presence") or "").strip()
    if presence not in ("present", "absent"):
        errors.add("presence", "Choisissez présent ou absent.")
    return presence


def _enrolment_of(slot: Slot, enrolment: Enrolment) -> None:
    if enrolment.session_id != slot.session_id:
        raise PermissionDenied("Ce stagiaire n'est pas inscrit à cette session.")
    if not enrolment.is_expected:
        raise ConflictError("Seuls les stagiaires dont l'inscription est confirmée figurent sur la feuille.")


def mark_presence(slot: Slot, enrolment: Enrolment, data: dict, actor: User, *, ip: str | None = None,
                  user_agent: str | None = None, now: dt.datetime | None = None) -> AttendanceRecord:
    """The trainer records an absence, a late arrival or an early departure (actual times), before the lock."""
    trainer = _require_trainer(actor, slot.session)
    return _mark_presence(slot, enrolment, data, trainer, actor.id, ip=ip, user_agent=user_agent, now=now)


def mark_presence_as(slot: Slot, enrolment: Enrolment, data: dict, trainer: Trainer, *, ip: str | None = None,
                     user_agent: str | None = None, now: dt.datetime | None = None) -> AttendanceRecord:
    """``mark_presence`` by a trainer known by their personal link (the trainer space), with no author account."""
    _require_teaching(trainer, slot.session)
    return _mark_presence(slot, enrolment, data, trainer, None, ip=ip, user_agent=user_agent, now=now)


def _mark_presence(slot: Slot, enrolment: Enrolment, data: dict, trainer: Trainer, author_id: int | None, *,
                   ip, user_agent, now) -> AttendanceRecord:
    _enrolment_of(slot, enrolment)
    now = now or utcnow()
    errors = ErrorCollector()
    presence = _clean_presence(data, errors)
    arrived_at, left_at = _clean_times(slot, presence, data.get("arrived_at"), data.get("left_at"), errors)
    if presence == "present" and arrived_at is None and left_at is None and not errors.fields:
        errors.add("arrived_at", "Indiquez l'heure d'arrivée ou de départ réelle (retard, départ anticipé).")
    errors.raise_if_any()
    if window_state(slot, now) == WindowState.BEFORE.value:
        raise ConflictError(f"Le créneau du {slot_label(slot)} n'a pas encore commencé.")
    if countersignature(slot) is not None:
        raise SlotLocked("Vous avez déjà signé la feuille de ce créneau : demandez une correction au conseiller "
                         "formation.")
    record = _append(slot, "presence", now=now, enrolment_id=enrolment.id, trainer_id=trainer.id,
                     author_id=author_id, method="trainer", signer_name=enrolment.trainee.full_name,
                     presence=presence, arrived_at=arrived_at, left_at=left_at, **_client(ip, user_agent))
    _after_change(enrolment)
    return record


def correct(slot: Slot, enrolment: Enrolment, data: dict, actor: User, *, ip: str | None = None,
            user_agent: str | None = None, now: dt.datetime | None = None) -> AttendanceRecord:
    """The advisor corrects a trainee's presence on a slot (e.g. present but could not sign), with a reason.
    The original signature and marks stay; the correction is appended after them."""
    session_services.ensure_can_manage_sessions(actor)
    _enrolment_of(slot, enrolment)
    now = now or utcnow()
    errors = ErrorCollector()
    presence = _clean_presence(data, errors)
    arrived_at, left_at = _clean_times(slot, presence, data.get("arrived_at"), data.get("left_at"), errors)
    reason = " ".join((data.get("reason") or "").split())
    if len(reason) < 3:
        errors.add("reason", "Indiquez le motif de la correction.")
    elif len(reason) > 2000:
        errors.add("reason", "Le motif ne doit pas dépasser 2 000 caractères.")
    errors.raise_if_any()
    if now < window(slot)[0]:
        raise ConflictError(f"Le créneau du {slot_label(slot)} n'a pas encore commencé.")
    record = _append(slot, "correction", now=now, enrolment_id=enrolment.id, author_id=actor.id,
                     method="advisor", signer_name=enrolment.trainee.full_name, presence=presence,
                     arrived_at=arrived_at, left_at=left_at, reason=reason, **_client(ip, user_agent))
    _after_change(enrolment)
    return record


def justify(slot: Slot, enrolment: Enrolment, data: dict, actor: User, *, ip: str | None = None,
            user_agent: str | None = None, now: dt.datetime | None = None) -> AttendanceRecord:
    """The advisor records why a trainee was absent (sick leave, …)."""
    session_services.ensure_can_manage_sessions(actor)
    _enrolment_of(slot, enrolment)
    reason = " ".join((data.get("reason") or "").split())
    if len(reason) < 3:
        raise ValidationError("Indiquez le justificatif de l'absence.", field="reason")
    if len(reason) > 2000:
        raise ValidationError("Le justificatif ne doit pas dépasser 2 000 caractères.", field="reason")
    cell = session_grid(slot.session, now=now).cell(enrolment.id, slot.id)
    if cell.status not in JUSTIFIABLE_CELLS:
        raise ConflictError("Seule une absence peut être justifiée.")
    return _append(slot, "justification", now=now, enrolment_id=enrolment.id, author_id=actor.id,
                   method="advisor", signer_name=enrolment.trainee.full_name, reason=reason,
                   **_client(ip, user_agent))


# --------------------------------------------------------------------------- reading: cells, grid, hours

CELL_LABELS = {
    CellStatus.SIGNED.value: "Signé",
    CellStatus.CORRECTED.value: "Corrigé",
    CellStatus.ABSENT.value: "Absent",
    CellStatus.MISSING.value: "Signature manquante",
    CellStatus.PENDING.value: "À signer",
    CellStatus.UPCOMING.value: "À venir",
}
# The colour of each status's badge (Bootstrap's text-bg-*).
CELL_COLOURS = {
    CellStatus.SIGNED.value: "success",
    CellStatus.CORRECTED.value: "primary",
    CellStatus.ABSENT.value: "danger",
    CellStatus.MISSING.value: "warning",
    CellStatus.PENDING.value: "light",
    CellStatus.UPCOMING.value: "light",
}


@dataclass
class Cell:
    slot: Slot
    enrolment_id: int
    status: str = CellStatus.UPCOMING.value
    signature: AttendanceRecord | None = None
    presence: str = ""  # the last explicit mark or correction: present / absent
    arrived_at: dt.time | None = None
    left_at: dt.time | None = None
    corrected: bool = False
    trainer_says_present: bool = False
    justification: str = ""
    planned: PlannedAbsence | None = None  # the absence the trainee announced from their page (planned.py)
    justified_by_trainee: bool = False  # ``justification`` is the announcement's, not the advisor's
    minutes: int = 0
    records: list[AttendanceRecord] = field(default_factory=list)
    # Distance half-days (issue 27; the rules: docs/distance.md). Virtual: signed at the start but not in the
    # second part once the window closed; the minutes of the imported report (None: no report for the slot);
    # present but not in the report, or in the report but not present. Asynchronous: the minutes declared, and
    # whether the slot's quiz was submitted (None: the slot has no quiz) or is missing from a declared cell.
    check: AttendanceRecord | None = None
    second_part_missing: bool = False
    connection_minutes: int | None = None
    not_in_report: bool = False
    in_report_unsigned: bool = False
    declared_minutes: int | None = None
    quiz_done: bool | None = None
    quiz_missing: bool = False

    @property
    def label(self) -> str:
        return CELL_LABELS[self.status]

    @property
    def colour(self) -> str:
        return CELL_COLOURS[self.status]

    @property
    def is_justified_absence(self) -> bool:
        return self.status == CellStatus.ABSENT.value and bool(self.justification)

    @property
    def is_pending(self) -> bool:
        """Open for signing, not signed yet."""
        return self.status == CellStatus.PENDING.value

    @property
    def is_justifiable(self) -> bool:
        return self.status in JUSTIFIABLE_CELLS

    @property
    def hours(self) -> Decimal:
        return (Decimal(self.minutes) / Decimal(60)).quantize(Decimal("0.01"))

    @property
    def late(self) -> bool:
        return self.arrived_at is not None

    @property
    def left_early(self) -> bool:
        return self.left_at is not None

    @property
    def signed_at(self) -> dt.datetime | None:
        return self.signature.created_at if self.signature is not None else None

    @property
    def remote_notes(self) -> list[tuple[str, str, bool]]:
        """What the grid says of a distance half-day, in French: (code, text, whether it is a gap to look at)."""
        notes = []
        if self.declared_minutes is not None:
            notes.append(("declared", f"{duration_fr(self.declared_minutes)} déclarées", False))
        if self.connection_minutes:
            notes.append(("connection", f"connecté(e) {duration_fr(self.connection_minutes)}", False))
        for code, text in (("second_part_missing", "seconde signature manquante"),
                           ("not_in_report", "absent(e) du rapport de connexion"),
                           ("in_report_unsigned", "connecté(e) sans émargement"),
                           ("quiz_missing", "quiz non fait")):
            if getattr(self, code):
                notes.append((code, text, True))
        return notes


def _minutes(start: dt.time, end: dt.time) -> int:
    return max(0, (end.hour * 60 + end.minute) - (start.hour * 60 + start.minute))


# What a half-day neither signed nor marked reads as, by its signing window.
_UNSIGNED_BY_WINDOW = {WindowState.BEFORE.value: CellStatus.UPCOMING.value,
                       WindowState.OPEN.value: CellStatus.PENDING.value,
                       WindowState.CLOSED.value: CellStatus.MISSING.value}


def _fold(cell: Cell, now: dt.datetime) -> Cell:
    """Read a cell's records in chain order. A signature after an "absent" mark means the trainee came; so does
    the time declared on an asynchronous half-day, counted up to the half-day's span."""
    for record in cell.records:
        if record.kind == "signature":
            cell.signature = record
            if cell.presence == "absent" and not cell.corrected:
                cell.presence = ""
        elif record.kind == "check":
            cell.check = record
        elif record.kind == "declaration":
            cell.declared_minutes = record.minutes
            if cell.presence == "absent" and not cell.corrected:
                cell.presence = ""
        elif record.kind == "connection":  # several reports of one slot: the longest connection
            cell.connection_minutes = max(cell.connection_minutes or 0, record.minutes or 0)
        elif record.kind in ("presence", "correction"):
            cell.presence = record.presence
            cell.arrived_at, cell.left_at = record.arrived_at, record.left_at
            if record.kind == "correction":
                cell.corrected = True
            else:
                cell.trainer_says_present = record.presence == "present"
        elif record.kind == "justification":
            cell.justification = record.reason
    slot = cell.slot
    signed = cell.signature is not None or cell.declared_minutes is not None
    present = cell.presence != "absent" and (signed or (cell.corrected and cell.presence == "present"))
    if cell.presence == "absent":
        cell.status = CellStatus.ABSENT.value
    elif present:
        cell.status = CellStatus.CORRECTED.value if cell.corrected else CellStatus.SIGNED.value
    elif slot.modality == SlotModality.ASYNC.value:  # open to a declaration for days, not for the room's hour
        cell.status = _UNSIGNED_BY_WINDOW[declaration_state(slot, now)]
    else:
        cell.status = _UNSIGNED_BY_WINDOW[window_state(slot, now)]
    if present:
        start = max(slot.start_time, cell.arrived_at) if cell.arrived_at else slot.start_time
        end = min(slot.end_time, cell.left_at) if cell.left_at else slot.end_time
        cell.minutes = _minutes(start, end)
        if cell.declared_minutes is not None and not cell.corrected:
            cell.minutes = min(cell.minutes, cell.declared_minutes)
    return cell


@dataclass
class RemoteEvidence:
    """What the grid reads beside the chain for distance half-days: the slots with an imported meeting report, and
    the (questionnaire, enrolment) pairs whose quiz is submitted (``remote_evidence``)."""

    reported_slots: set[int] = field(default_factory=set)
    quizzes_done: set[tuple[int, int]] = field(default_factory=set)


def remote_evidence(sessions: list[TrainingSession]) -> RemoteEvidence:
    """The evidence of ``sessions``' distance half-days: one query for the reports when a slot is virtual, one for
    the quizzes when an asynchronous slot has one, none for sessions held in the room."""
    evidence = RemoteEvidence()
    slots = [slot for session in sessions for slot in session.slots]
    if any(slot.modality == SlotModality.VIRTUAL.value for slot in slots):
        evidence.reported_slots = set(db.session.scalars(
            select(AttendanceReport.slot_id).where(AttendanceReport.session_id.in_([s.id for s in sessions]))))
    quizzes = {slot.quiz_id for slot in slots if slot.modality == SlotModality.ASYNC.value and slot.quiz_id}
    if quizzes:
        evidence.quizzes_done = {(q, e) for q, e in db.session.execute(
            select(Response.questionnaire_id, Response.enrolment_id)
            .join(Enrolment, Enrolment.id == Response.enrolment_id)
            .where(Response.questionnaire_id.in_(quizzes), Response.submitted,
                   Enrolment.session_id.in_([s.id for s in sessions])))}
    return evidence


def _remote(cell: Cell, now: dt.datetime, evidence: RemoteEvidence) -> None:
    """The flags of a distance half-day (docs/distance.md): the second signature missing once the window closed,
    presence against the imported report, the quiz of an asynchronous activity."""
    slot = cell.slot
    present = cell.status in PRESENT_CELLS
    if slot.modality == SlotModality.VIRTUAL.value:
        cell.second_part_missing = (cell.signature is not None and cell.check is None
                                    and window_state(slot, now) == WindowState.CLOSED.value)
    if slot.id in evidence.reported_slots:
        connected = cell.connection_minutes is not None
        cell.connection_minutes = cell.connection_minutes or 0
        cell.not_in_report = present and not connected
        cell.in_report_unsigned = connected and not present
    if slot.modality == SlotModality.ASYNC.value and slot.quiz_id:
        cell.quiz_done = (slot.quiz_id, cell.enrolment_id) in evidence.quizzes_done
        cell.quiz_missing = cell.declared_minutes is not None and not cell.quiz_done


def _planned(cell: Cell, absence: PlannedAbsence | None) -> None:
    """An announced absence: a half-day neither signed nor marked reads as absent, and an absence as justified
    (unless the advisor recorded a justification of their own). A signature still wins: the trainee came."""
    if absence is None:
        return
    cell.planned = absence
    if cell.status in UNSIGNED_CELLS:
        cell.status = CellStatus.ABSENT.value
    if cell.status == CellStatus.ABSENT.value and not cell.justification:
        cell.justification = f"absence prévue, signalée par le stagiaire le {date_fr(absence.declared_at)}"
        cell.justified_by_trainee = True


@dataclass
class Row:
    enrolment: Enrolment
    cells: list[Cell]

    @property
    def minutes(self) -> int:
        return sum(cell.minutes for cell in self.cells)

    @property
    def hours(self) -> Decimal:
        return (Decimal(self.minutes) / Decimal(60)).quantize(Decimal("0.01"))

    @property
    def minutes_by_modality(self) -> dict[str, int]:
        """Minutes attended per half-day modality (sessions/modality.py), those with none left out."""
        return minutes_by_modality((cell.slot, cell.minutes) for cell in self.cells)

    @property
    def modality_lines(self) -> list[dict]:
        """The hours per modality as pages show them (« 3,5 h en salle »), sessions/modality.py."""
        return modality_lines(self.minutes_by_modality)


@dataclass
class Grid:
    session: TrainingSession
    slots: list[Slot]
    rows: list[Row]
    countersignatures: dict[int, AttendanceRecord]

    def cell(self, enrolment_id: int, slot_id: int) -> Cell:
        for row in self.rows:
            if row.enrolment.id == enrolment_id:
                for cell in row.cells:
                    if cell.slot.id == slot_id:
                        return cell
        raise PermissionDenied("Ce stagiaire n'est pas inscrit à cette session.")

    def row(self, enrolment_id: int) -> Row | None:
        return next((row for row in self.rows if row.enrolment.id == enrolment_id), None)

    def column(self, slot_id: int) -> list[tuple[Enrolment, Cell]]:
        return [(row.enrolment, cell) for row in self.rows for cell in row.cells if cell.slot.id == slot_id]

    def counts(self, slot_id: int) -> dict[str, int]:
        counts: dict[str, int] = {}
        for _, cell in self.column(slot_id):
            counts[cell.status] = counts.get(cell.status, 0) + 1
        return counts


def expected_enrolments(session: TrainingSession) -> list[Enrolment]:
    return expected_enrolments_of([session.id]).get(session.id, [])


def expected_enrolments_of(session_ids) -> dict[int, list[Enrolment]]:
    found: dict[int, list[Enrolment]] = {}
    for enrolment in db.session.scalars(
        select(Enrolment).join(Enrolment.trainee)
        .where(Enrolment.session_id.in_(list(session_ids)), Enrolment.status.in_(EXPECTED))
        .options(selectinload(Enrolment.trainee))
        .order_by(Trainee.last_name, Trainee.first_name, Enrolment.id)
    ):
        found.setdefault(enrolment.session_id, []).append(enrolment)
    return found


def session_records(session_id, with_images: bool = False) -> list[AttendanceRecord]:
    """The records of a session (or of several, given a list of ids), in chain order."""
    ids = list(session_id) if isinstance(session_id, (list, tuple, set)) else [session_id]
    query = (select(AttendanceRecord).where(AttendanceRecord.session_id.in_(ids))
             .order_by(AttendanceRecord.session_id, AttendanceRecord.seq))
    if not with_images:
        query = query.options(defer(AttendanceRecord.image))
    return list(db.session.scalars(query))


def session_grid(session: TrainingSession, now: dt.datetime | None = None) -> Grid:
    """Trainees × slots, each cell read from the chain and the planned absences: 4 queries whatever the size, and
    one per kind of distance evidence when the session has such half-days (``remote_evidence``)."""
    return build_grid(session, expected_enrolments(session), session_records(session.id), now,
                      planned=planned_absences_of([session.id]))


def planned_absences_of(session_ids) -> dict[tuple[int, int], PlannedAbsence]:
    """{(enrolment id, slot id): planned absence} of the sessions, for ``build_grid``."""
    return {(p.enrolment_id, p.slot_id): p for p in db.session.scalars(
        select(PlannedAbsence).where(PlannedAbsence.session_id.in_(list(session_ids))))}


def build_grid(session: TrainingSession, enrolments: list[Enrolment], records: list[AttendanceRecord],
               now: dt.datetime | None = None, planned: dict[tuple[int, int], PlannedAbsence] | None = None,
               evidence: RemoteEvidence | None = None) -> Grid:
    """The grid from the session's records, and its planned absences when given (``planned_absences_of``). The
    evidence of its distance half-days (``remote_evidence``) is read here when not given: no query for a session
    held in the room, one per kind (reports, quizzes) otherwise."""
    now = now or utcnow()
    if evidence is None:
        evidence = remote_evidence([session])
    slots = sorted(session.slots, key=lambda s: (s.date, s.start_time))
    by_cell: dict[tuple[int, int], list[AttendanceRecord]] = {}
    countersignatures: dict[int, AttendanceRecord] = {}
    for record in sorted(records, key=lambda r: r.seq):
        if record.kind == "countersignature":
            countersignatures[record.slot_id] = record
        elif record.enrolment_id is not None:
            by_cell.setdefault((record.enrolment_id, record.slot_id), []).append(record)
    rows = []
    for enrolment in enrolments:
        cells = []
        for slot in slots:
            cell = _fold(Cell(slot=slot, enrolment_id=enrolment.id,
                              records=by_cell.get((enrolment.id, slot.id), [])), now)
            if cell.status == CellStatus.PENDING.value and slot.id in countersignatures:
                cell.status = CellStatus.MISSING.value  # the sheet is closed: only a correction can add them now
            if planned:
                _planned(cell, planned.get((enrolment.id, slot.id)))
            _remote(cell, now, evidence)
            cells.append(cell)
        rows.append(Row(enrolment, cells))
    return Grid(session, slots, rows, countersignatures)


# --------------------------------------------------------------------------- end of the session


def _outcome(row: Row) -> str:
    if row.minutes == 0:
        return EnrolmentStatus.NO_SHOW.value
    last = row.cells[-1] if row.cells else None
    if last is not None and last.minutes > 0:
        return EnrolmentStatus.COMPLETED.value
    return EnrolmentStatus.ABANDONED.value


def apply_outcomes(session: TrainingSession, only: Enrolment | None = None) -> int:
    """Once the session has ended: each expected enrolment becomes completed (present at the last slot),
    abandoned (came, then left before the end) or no-show (never came), with its hours attended stored.
    Returns how many statuses changed."""
    changed = 0
    for row in session_grid(session).rows:
        if only is not None and row.enrolment.id != only.id:
            continue
        if enrolment_services.record_attendance_outcome(row.enrolment, _outcome(row), row.hours):
            changed += 1
    return changed


def _after_change(enrolment: Enrolment) -> None:
    """A late correction on an ended session updates that trainee's hours and outcome at once."""
    if enrolment.session.has_ended:
        apply_outcomes(enrolment.session, only=enrolment)


def on_session_completed(session: TrainingSession, actor: User | None = None) -> None:
    apply_outcomes(session)
    seals.seal(session.id, "session")


def on_slot_changing(slot: Slot, **_) -> None:
    """A slot that holds attendance evidence keeps its date and times and cannot be removed."""
    if db.session.scalar(select(AttendanceRecord.id).where(AttendanceRecord.slot_id == slot.id).limit(1)):
        raise ConflictError("Ce créneau porte déjà des signatures : sa date et ses horaires ne peuvent plus "
                            "changer, et il ne peut pas être supprimé.")


session_services.session_completed.connect(on_session_completed)
session_services.slot_changing.connect(on_slot_changing)


def get_slot(slot_id, actor: User | None = None) -> Slot:
    return session_services.get_slot(slot_id, actor)


def get_expected_enrolment(slot: Slot, enrolment_id) -> Enrolment:
    enrolment = get_by_id(Enrolment, enrolment_id, "Inscription introuvable.")
    _enrolment_of(slot, enrolment)
    return enrolment
