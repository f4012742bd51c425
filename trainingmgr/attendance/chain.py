"""The hash chain of a session's attendance records.

Each record's hash is the SHA-256 of a canonical payload: its fields as JSON with sorted keys, no spaces,
UTF-8, times in UTC ISO 8601 with microseconds, the previous record's hash (GENESIS for the first), and the
personal fields (models.ERASABLE: signer's name, typed name, drawn signature, IP address, browser) by their
own SHA-256 only (None when empty). Changing, removing or reordering any row breaks the chain from there.
The head (length and last hash) kept in ``attendance_chain`` catches the removal of the last rows. Someone who
can write to the database can recompute the whole chain, though: the seals (seals.py), signed by a key outside
the database, are what catch that, and ``verify_chain`` checks them too.

Erasure (RGPD, privacy/services.py) empties the personal fields and keeps their digests in the record's
``erased`` column: verification takes the digest of the value when it is there, else the kept digest, so
an erased register still verifies, while emptying a field without keeping its digest breaks the chain.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field

from sqlalchemy import select

from ..core.formatting import count_fr, plural_fr
from ..extensions import db
from .models import ERASABLE, AttendanceChain, AttendanceRecord
from .reports.integrity import check_reports

GENESIS = "0" * 64
# 2: the personal fields by their SHA-256 (1 held them in clear; nothing was stored under it in production).
PAYLOAD_VERSION = 2


def _time(value: dt.time | None) -> str | None:
    return value.strftime("%H:%M:%S") if value is not None else None


def utc_text(value: dt.datetime) -> str:
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def digest(value: str | bytes | memoryview | None) -> str | None:
    """The SHA-256 of a personal field (UTF-8 for text), None when it is empty."""
    if not value:
        return None
    return hashlib.sha256(value.encode("utf-8") if isinstance(value, str) else bytes(value)).hexdigest()


def field_digest(record: AttendanceRecord, name: str) -> str | None:
    """The digest of a personal field: of its value while it is held, else the one kept at its erasure."""
    value = getattr(record, name)
    if value:
        return digest(value)
    return (record.erased or {}).get(name)


def erasure_digests(record: AttendanceRecord) -> dict[str, str]:
    """What ``erased`` keeps when the record's personal fields are emptied."""
    return {name: value for name in ERASABLE if (value := field_digest(record, name)) is not None}


def canonical_payload(record: AttendanceRecord) -> bytes:
    payload = {
        "v": PAYLOAD_VERSION,
        "session_id": record.session_id,
        "seq": record.seq,
        "kind": record.kind,
        "slot_id": record.slot_id,
        "enrolment_id": record.enrolment_id,
        "trainer_id": record.trainer_id,
        "author_id": record.author_id,
        "method": record.method or "",
        "mode": record.mode or "",
        "signer_name_sha256": field_digest(record, "signer_name"),
        "typed_name_sha256": field_digest(record, "typed_name"),
        "image_sha256": field_digest(record, "image"),
        "presence": record.presence or "",
        "arrived_at": _time(record.arrived_at),
        "left_at": _time(record.left_at),
        "reason": record.reason or "",
        "created_at": utc_text(record.created_at),
        "ip_sha256": field_digest(record, "ip"),
        "user_agent_sha256": field_digest(record, "user_agent"),
        "unique_key": record.unique_key,
        "prev_hash": record.prev_hash,
    }
    # The distance half-days' fields (issue 27) enter the payload only when set, so that the records made before
    # them keep their hashes; removing one from a record that had it changes the payload all the same.
    if record.minutes is not None:
        payload["minutes"] = record.minutes
    if record.file_sha256:
        payload["file_sha256"] = record.file_sha256
    return canonical_json(payload)


def canonical_json(payload: dict) -> bytes:
    """The bytes that a hash or a seal covers: JSON with sorted keys, no spaces, UTF-8."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def record_hash(record: AttendanceRecord) -> str:
    return hashlib.sha256(canonical_payload(record)).hexdigest()


def first_break(records, start: int = 1, previous: str = GENESIS) -> tuple[AttendanceRecord, str] | None:
    """The first record of ``records`` (in order, numbered from ``start``, the one before having the hash
    ``previous``) whose number, link or content does not hold, with why; None when they all hold."""
    for position, record in enumerate(records, start=start):
        if record.seq != position:
            return record, f"numéro d'ordre {record.seq} au lieu de {position} (ligne supprimée ou insérée)"
        if record.prev_hash != previous:
            return record, "le lien vers l'enregistrement précédent ne correspond pas"
        if record_hash(record) != record.hash:
            return record, "le contenu ne correspond plus à son empreinte"
        previous = record.hash
    return None


@dataclass
class ChainCheck:
    session_id: int
    length: int
    ok: bool
    broken_seq: int | None = None
    broken_id: int | None = None
    problem: str = ""
    seals: list = field(default_factory=list)  # seals.SealView, in order
    sealed_length: int = 0  # the records 1..sealed_length are under a seal that verifies
    warnings: list[str] = field(default_factory=list)
    reports: list = field(default_factory=list)  # reports/integrity.ReportCheck: the imported attendance reports

    @property
    def label(self) -> str:
        return "intègre" if self.ok else "altéré"

    @property
    def status(self) -> str:
        return "intact" if self.ok else "altered"

    @property
    def unsealed(self) -> int:
        """Records after the last seal (not covered yet)."""
        return self.length - self.sealed_length if self.ok else 0

    @property
    def seal_summary(self) -> str:
        """One French line on the seals, for pages, commands and the attendance sheet."""
        if not self.ok or not self.length:
            return ""
        if not self.sealed_length:
            return "aucun enregistrement scellé pour l'instant"
        stamped = sum(1 for v in self.seals if v.seal.tsa_token is not None)
        text = (f"scellé jusqu'à l'enregistrement n° {self.sealed_length} ({count_fr(len(self.seals), 'scellement')}"
                f", {count_fr(stamped, 'horodaté')})")
        if self.unsealed:
            text += (f" ; {count_fr(self.unsealed, 'enregistrement postérieur')} "
                     f"pas encore {plural_fr(self.unsealed, 'scellé')}")
        return text


def verify_chain(session_id: int, *, timestamps: bool = True, keys=None, roots=None) -> ChainCheck:
    """Recompute a session's chain from its first record, stopping at the first broken link; then check its
    seals (seals.check_seals): their signatures, the hashes they name, their timestamp tokens (unless
    ``timestamps`` is False) and that none is missing where one is due. The imported attendance reports are
    checked between the two (reports/integrity.py): a stored report changed since its import breaks the register."""
    from .seals import check_seals  # seals → chain: a seal signs the chain's head (GENESIS, canonical_json)

    records = db.session.scalars(
        select(AttendanceRecord).where(AttendanceRecord.session_id == session_id)
        .order_by(AttendanceRecord.seq, AttendanceRecord.id)
        .execution_options(populate_existing=True)
    ).all()
    head = db.session.get(AttendanceChain, session_id, populate_existing=True)
    broken = first_break(records)
    if broken is not None:
        record, problem = broken
        return ChainCheck(session_id, len(records), False, record.seq, record.id, problem)
    previous = records[-1].hash if records else GENESIS
    if head is None:
        if records:
            return ChainCheck(session_id, len(records), False, records[0].seq, records[0].id,
                              "la tête de chaîne a disparu")
    elif head.length != len(records) or head.head_hash != previous:
        return ChainCheck(session_id, len(records), False, len(records) + 1 if head.length > len(records) else None,
                          None, f"la tête de chaîne annonce {count_fr(head.length, 'enregistrement')}, "
                                f"la table en contient {len(records)}")
    reports, report_break = check_reports(session_id, list(records))
    if report_break is not None:
        record, problem = report_break
        return ChainCheck(session_id, len(records), False, record.seq if record else None,
                          record.id if record else None, problem, reports=reports)
    sealed = check_seals(session_id, list(records), keys=keys, roots=roots, timestamps=timestamps)
    return ChainCheck(session_id, len(records), sealed.ok, sealed.broken_seq, sealed.broken_id, sealed.problem,
                      sealed.views, sealed.sealed_length, sealed.warnings, reports)
