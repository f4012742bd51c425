"""Seals over a session's attendance chain: the organisation's Ed25519 signature by a key kept outside the
database (core/sealkeys.py), and an RFC 3161 timestamp over it where a timestamp authority is configured.

See docs/evidence-chain.md for when a seal is made and what it proves."""
from __future__ import annotations

import base64
import datetime as dt
import functools
import logging
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import select

from ..core import sealkeys
from ..core.formatting import datetime_fr
from ..core.persistence import lock_row
from ..core.timestamps import TimestampError, configured_roots, request_token, token_time, verify_token
from ..core.timeutil import utcnow
from ..extensions import db
from ..messaging.services import job_handler, schedule_job
from ..sessions.models import ENDED, TrainingSession
from .chain import GENESIS, canonical_json, first_break, utc_text, verify_chain
from .models import AttendanceChain, AttendanceRecord, AttendanceSeal

log = logging.getLogger("trainingmgr.attendance")

MESSAGE_FORMAT = "trainingmgr/attendance-seal/1"
TIMESTAMP_JOB = "attendance_timestamp"


def seal_message(seal: AttendanceSeal) -> bytes:
    """The bytes the seal's signature covers."""
    payload = {
        "format": MESSAGE_FORMAT,
        "session_id": seal.session_id,
        "scope": seal.scope,
        "slot_id": seal.slot_id,
        "from_seq": seal.from_seq,
        "length": seal.length,
        "head_hash": seal.head_hash,
        "hashes": list(seal.hashes or []),
        "sealed_at": utc_text(seal.sealed_at),
        "key_id": seal.key_id,
    }
    return canonical_json(payload)


def signature_bytes(seal: AttendanceSeal) -> bytes:
    """The raw signature: what a timestamp token covers (its SHA-256)."""
    try:
        return base64.b64decode(seal.signature or "", validate=True)
    except ValueError:
        return b""


def seals_of(session_id: int) -> list[AttendanceSeal]:
    return list(db.session.scalars(select(AttendanceSeal).where(AttendanceSeal.session_id == session_id)
                                   .order_by(AttendanceSeal.length, AttendanceSeal.id)
                                   .execution_options(populate_existing=True)))


def latest_seal(session_id: int) -> AttendanceSeal | None:
    return db.session.scalar(select(AttendanceSeal).where(AttendanceSeal.session_id == session_id)
                             .order_by(AttendanceSeal.length.desc()).limit(1))


# --------------------------------------------------------------------------- sealing


def seal(session_id: int, scope: str, *, slot_id: int | None = None,
         now: dt.datetime | None = None) -> AttendanceSeal | None:
    """Seal the chain's head in the current transaction (the session row locked first). Returns the seal that
    covers the head: a new one, or the one already there; None when the chain is empty, when its unsealed part
    does not verify (it is never blessed: verification names it), or when there is no key (logged: the
    evidence is still recorded, and verification shows the seal missing until ``flask attendance seal``)."""
    lock_row(TrainingSession, session_id)
    head = db.session.get(AttendanceChain, session_id, populate_existing=True)
    if head is None or head.length == 0:
        return None
    last = latest_seal(session_id)
    if last is not None and last.length >= head.length:
        return last
    start = last.length + 1 if last is not None else 1
    records = list(db.session.scalars(
        select(AttendanceRecord).where(AttendanceRecord.session_id == session_id, AttendanceRecord.seq >= start)
        .order_by(AttendanceRecord.seq)))
    broken = first_break(records, start, last.head_hash if last is not None else GENESIS)
    if broken is not None:
        log.error("Registre de la session %s non scellé : l'enregistrement n° %s ne se vérifie pas (%s).",
                  session_id, broken[0].seq, broken[1])
        return None
    if not records or records[-1].hash != head.head_hash or records[-1].seq != head.length:
        log.error("Registre de la session %s non scellé : la tête de chaîne ne correspond pas.", session_id)
        return None
    try:
        signer = sealkeys.active_signer()
    except sealkeys.KeyringError as exc:
        log.error("Registre de la session %s non scellé : %s", session_id, exc.message)
        return None
    if signer is None:
        log.error("Registre de la session %s non scellé : aucune clé de scellement (flask attendance keygen).",
                  session_id)
        return None
    new = AttendanceSeal(session_id=session_id, scope=scope, slot_id=slot_id, from_seq=start, length=head.length,
                         head_hash=head.head_hash, hashes=[r.hash for r in records], sealed_at=now or utcnow(),
                         key_id=signer.key.id)
    new.signature = signer.sign(seal_message(new))
    db.session.add(new)
    db.session.flush()
    if current_app.config.get("TSA_URL"):
        schedule_job(TIMESTAMP_JOB, f"attendance-seal-timestamp:{new.id}", utcnow(), {"seal_id": new.id})
    return new


def after_append(session: TrainingSession, record: AttendanceRecord) -> None:
    """Seal what is due once ``record`` is in the chain: a countersigned half-day; any record of an ended
    session."""
    if record.kind == "countersignature":
        seal(session.id, "slot", slot_id=record.slot_id)
    elif session.status in ENDED:
        seal(session.id, "session")


def seal_unsealed(now: dt.datetime | None = None) -> list[tuple[int, AttendanceSeal | None]]:
    """Seal the head of every chain that has records after its last seal (registers kept before the seals, or
    while the key was missing), each seal marked as a catch-up: [(session id, the seal, or None when that
    register does not verify and stays unsealed)]. The caller commits."""
    done = []
    sealed = {sid: length for sid, length in db.session.execute(
        select(AttendanceSeal.session_id, db.func.max(AttendanceSeal.length)).group_by(AttendanceSeal.session_id))}
    heads = [(h.session_id, h.length) for h in db.session.scalars(
        select(AttendanceChain).where(AttendanceChain.length > 0).order_by(AttendanceChain.session_id))]
    for session_id, length in heads:
        if sealed.get(session_id, 0) < length:
            done.append((session_id, seal(session_id, "catchup", now=now)))
    return done


# --------------------------------------------------------------------------- timestamps


@job_handler(TIMESTAMP_JOB)
def _timestamp_seal(payload: dict) -> None:
    """Ask the timestamp authority for a token over a seal's signature (retried by the queue when it fails)."""
    row = db.session.get(AttendanceSeal, payload.get("seal_id"))
    url = current_app.config.get("TSA_URL")
    if row is None or row.tsa_token is not None or not url:
        return
    token = request_token(signature_bytes(row), url, timeout=float(current_app.config.get("TSA_TIMEOUT", 10)),
                          username=current_app.config.get("TSA_USERNAME", ""),
                          password=current_app.config.get("TSA_PASSWORD", ""))
    row.tsa_token = token
    row.tsa_time = token_time(token)


# --------------------------------------------------------------------------- verification


@dataclass
class SealView:
    """What a page or a command shows of one seal once checked."""
    number: int
    seal: AttendanceSeal
    problem: str = ""
    timestamp: str = ""  # "horodaté le …" or why not

    @property
    def ok(self) -> bool:
        return not self.problem

    @property
    def label(self) -> str:
        return (f"scellement n° {self.number} ({self.seal.scope_label}) du {datetime_fr(self.seal.sealed_at)}, "
                f"enregistrements n° {self.seal.from_seq} à {self.seal.length}, clé {self.seal.key_id}")


@dataclass
class SealsCheck:
    views: list[SealView] = field(default_factory=list)
    problem: str = ""
    broken_seq: int | None = None
    broken_id: int | None = None
    warnings: list[str] = field(default_factory=list)
    sealed_length: int = 0

    @property
    def ok(self) -> bool:
        return not self.problem


def check_seals(session_id: int, records: list[AttendanceRecord], *, keys: list[sealkeys.PublicKey] | None = None,
                roots: list[bytes] | None = None, timestamps: bool = True) -> SealsCheck:
    """Check a session's seals against its records (whose own chain was checked already): each seal's
    signature, key and validity, the hashes it names, its timestamp token; then that every seal due is
    there. The first failure is kept, with the record it names when it names one."""
    result = SealsCheck()
    try:
        keys = sealkeys.load_keyring() if keys is None else keys
    except sealkeys.KeyringError as exc:
        result.problem = exc.message
        return result
    if timestamps and roots is None and current_app.config.get("TSA_CA_FILE"):
        try:
            roots = configured_roots()
        except TimestampError as exc:  # an unreadable file is the operator's to fix: said, not a crash
            result.warnings.append(exc.message)
    by_seq = {r.seq: r for r in records}
    expected_start = 1
    for number, row in enumerate(seals_of(session_id), start=1):
        view = SealView(number, row)
        result.views.append(view)
        view.problem = sealkeys.check_signature(keys, row.key_id, seal_message(row), row.signature, row.sealed_at)
        if not view.problem and (row.from_seq != expected_start or len(row.hashes or []) != row.length - row.from_seq + 1
                                 or (row.hashes or [None])[-1] != row.head_hash):
            view.problem = (f"ne suit pas le scellement précédent (il devrait partir de l'enregistrement "
                            f"n° {expected_start})")
        if view.problem:
            result.problem = f"{view.label} : {view.problem}"
            return result
        for offset, sealed_hash in enumerate(row.hashes):
            seq = row.from_seq + offset
            record = by_seq.get(seq)
            if record is None:
                result.problem = f"l'enregistrement n° {seq}, couvert par le {view.label}, a disparu"
                result.broken_seq = seq
                return result
            if record.hash != sealed_hash:
                result.problem = (f"son empreinte ne correspond plus à celle du {view.label} : modifié après le "
                                  "scellement")
                result.broken_seq, result.broken_id = seq, record.id
                return result
        expected_start = row.length + 1
        result.sealed_length = row.length
        if timestamps:
            _check_token(view, roots, result)
            if view.problem:
                result.problem = f"{view.label} : {view.problem}"
                return result
    _check_due(session_id, records, result)
    return result


def _check_token(view: SealView, roots: list[bytes] | None, result: SealsCheck) -> None:
    row = view.seal
    if row.tsa_token is None:
        if current_app.config.get("TSA_URL"):
            result.warnings.append(f"{view.label} : pas encore horodaté (autorité d'horodatage en attente)")
        view.timestamp = "non horodaté"
        return
    if not roots:
        view.timestamp = "jeton d'horodatage présent, non vérifié (TSA_CA_FILE n'est pas configuré)"
        result.warnings.append(f"{view.label} : {view.timestamp}")
        return
    check = _verified_token(bytes(row.tsa_token), signature_bytes(row), tuple(roots))
    if not check.ok:
        view.problem = f"jeton d'horodatage invalide : {check.problem}"
        return
    view.timestamp = f"horodaté le {datetime_fr(check.time)} par {check.tsa}"


@functools.lru_cache(maxsize=4096)
def _verified_token(token: bytes, data: bytes, roots: tuple[bytes, ...]):
    """A token's check (about 7 ms) depends on nothing but these bytes: no revocation is fetched, the
    certificates are judged at the token's own time (core/timestamps.py). Pages that show many seals check
    each token once per process."""
    return verify_token(token, data, list(roots))


def _check_due(session_id: int, records: list[AttendanceRecord], result: SealsCheck) -> None:
    for record in records:
        if record.kind == "countersignature" and record.seq > result.sealed_length:
            result.problem = (f"scellement manquant : la signature du formateur (enregistrement n° {record.seq}) "
                              "n'est couverte par aucun scellement")
            result.broken_seq, result.broken_id = record.seq, record.id
            return
    status = db.session.scalar(select(TrainingSession.status).where(TrainingSession.id == session_id))
    if status in ENDED and records and result.sealed_length < len(records):
        first = records[result.sealed_length]
        result.problem = (f"scellement de fin de session manquant : les enregistrements n° {first.seq} à "
                          f"{records[-1].seq} ne sont couverts par aucun scellement")
        result.broken_seq, result.broken_id = first.seq, first.id


@dataclass
class Pinned:
    """Whether a register still holds the state a copy of its sheet pins (a length and its head's hash)."""
    holds: bool
    problem: str = ""
    seal: AttendanceSeal | None = None
    later: int = 0  # records added since (later signatures, corrections)
    timestamp: str = ""


def pinned_state(session_id: int, length: int, head_hash: str) -> Pinned:
    check = verify_chain(session_id)
    if not check.ok:
        where = f"enregistrement n° {check.broken_seq} : " if check.broken_seq else ""
        return Pinned(False, f"le registre ne se vérifie plus ({where}{check.problem})")
    view = next((v for v in check.seals if v.seal.length == length), None)
    if view is None or view.seal.head_hash != head_hash:
        return Pinned(False, "le registre ne contient pas l'état scellé que porte cette feuille")
    return Pinned(True, seal=view.seal, later=check.length - length, timestamp=view.timestamp)


def proof(row: AttendanceSeal) -> dict:
    """A seal as anyone verifies it offline (README, « Vérifier un scellement hors ligne »): the exact signed
    message, its Ed25519 signature, the key's public part, and the timestamp token over the signature."""
    keys = {k.id: k for k in sealkeys.load_keyring()}
    key = keys.get(row.key_id)
    return {
        "format": MESSAGE_FORMAT,
        "message": seal_message(row).decode("utf-8"),
        "signature": row.signature,
        "key_id": row.key_id,
        "public_key": key.text if key else None,
        "public_key_pem": key.pem if key else None,
        "key_valid_from": utc_text(key.valid_from) if key else None,
        "key_valid_until": utc_text(key.valid_until) if key and key.valid_until else None,
        "timestamp_token": base64.b64encode(bytes(row.tsa_token)).decode("ascii") if row.tsa_token else None,
        "timestamp_covers": "SHA-256 des 64 octets de la signature (base64 ci-dessus, décodée)",
    }


def missing_keys() -> list[str]:
    """The keys that made seals of this database and that the key ring (SEAL_KEY_DIR) lacks: after a restore,
    the key directory saved apart must come back beside the database."""
    used = set(db.session.scalars(select(AttendanceSeal.key_id).distinct()))
    return sorted(used - {k.id for k in sealkeys.load_keyring()})
