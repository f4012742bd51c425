"""The « Dossier d'audit » (Qualiopi audit pack) of a period, made as a task: the page (quality/pack/views.py) or
`flask quality audit-pack` (quality/cli.py) starts it with the sampled or chosen sessions; the worker (or the command
itself) builds one zip: the index (index.pdf, or index.docx without a converter), the indicators' files from the
quality registers, each sampled session's chain of files, and manifest.csv listing every file with its SHA-256.

Read-only: the pack gathers what was issued and recorded (the current version of each generated document, the
issued invoices, the signed PDFs); a missing piece is « absent » in the index, never generated here. See
quality/pack/ for the parts."""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from ..accounts.models import User
from ..accounts.permissions import ensure_staff
from ..core.errors import DomainError, ValidationError
from ..core.formatting import count_fr
from ..core.timeutil import paris_today
from ..core.validation import id_or_none
from ..extensions import db
from ..messaging import tasks
from ..organisation.services import get_organisation
from ..sessions.models import TrainingSession
from .board.services import build_board
from .consistency import period_mismatches
from .pack import selection
from .pack.archive import PackArchive
from .pack.chain import SessionChain, session_chain, step_indicators
from .pack.index import PackIndex, index_file
from .pack.indicators import indicator_sections
from .pack.selection import DEFAULT_SAMPLE, Period

AUDIT_PACK = "audit_pack"
ZIP = "application/zip"
SAMPLED = "tirées par l'application, réparties entre les formations"
CHOSEN = "choisies par le conseiller"
REFUSED = "Seuls les conseillers et les administrateurs constituent un dossier d'audit."


@dataclass(frozen=True)
class PackRequest:
    """What a pack is made of: the period and the sessions it follows (sampled or chosen), in order."""

    period: Period
    session_ids: tuple[int, ...]
    chosen: bool
    held: int

    def payload(self) -> dict:
        return {"since": self.period.since.isoformat(), "until": self.period.until.isoformat(),
                "session_ids": list(self.session_ids), "chosen": self.chosen, "held": self.held}

    @classmethod
    def from_payload(cls, payload: dict) -> PackRequest:
        period = Period(dt.date.fromisoformat(payload["since"]), dt.date.fromisoformat(payload["until"]))
        return cls(period, tuple(payload.get("session_ids") or ()), bool(payload.get("chosen")),
                   int(payload.get("held") or 0))


def parse_ids(values) -> list[int]:
    """The session numbers the advisor ticked; ValidationError on one that cannot be a session's."""
    ids = []
    for value in values or ():
        number = id_or_none(value)
        if number is None:
            raise ValidationError(f"Session invalide : « {str(value)[:40]} ».", field="sessions")
        ids.append(number)
    return ids


def plan_pack(since: dt.date | None, until: dt.date | None, session_ids: list[int] | None = None,
              sample: int | None = None) -> PackRequest:
    """The pack asked for: the period checked, and the sessions the advisor chose (each held in the period) or, when
    none is chosen, ``sample`` of them (3 by default) drawn by selection.sample. ValidationError in French."""
    period = selection.check_period(since, until)
    size = selection.check_sample(sample)
    held = selection.held_sessions(period)
    if session_ids:
        sessions, chosen = selection.chosen(period, session_ids, held), True
    else:
        sessions, chosen = selection.sample(period, size, held), False
    return PackRequest(period, tuple(s.id for s in sessions), chosen, len(held))


def pack_filename(period: Period) -> str:
    return f"dossier-audit-{period.since.isoformat()}-{period.until.isoformat()}.zip"


def start_audit_pack(plan: PackRequest, actor: User, back_url: str = ""):
    """Queue the making of the pack for ``actor`` (staff). The caller commits."""
    ensure_staff(actor, REFUSED)
    return tasks.start_task(AUDIT_PACK, f"Dossier d'audit {plan.period.label}", plan.payload(), actor,
                            unit="étapes", back_url=back_url)


@dataclass
class BuiltPack:
    data: bytes  # the zip
    index: PackIndex
    manifest: list[tuple[str, str, int, str]]  # (path, SHA-256, size, section) of every file but the manifest
    note: str  # why the index is not a PDF, or ""

    @property
    def summary(self) -> str:
        index = self.index
        text = (f"Dossier d'audit {index.period.label} : "
                f"{count_fr(len(index.sessions), 'session suivie', 'sessions suivies')}, "
                f"{count_fr(len(self.manifest), 'fichier')} et le manifeste, "
                f"{count_fr(index.mismatches, 'incohérence relevée', 'incohérences relevées')}.")
        return text + (f" {self.note}" if self.note else "")


def build_pack(plan: PackRequest, today: dt.date | None = None,
               advance: Callable[[str], None] | None = None) -> BuiltPack:
    """The pack's zip, with its index and manifest (the tests and the summary read them). ``advance(step)`` is told
    each part made (a task's progress)."""
    today = today or paris_today()
    advance = advance or (lambda step: None)
    period, archive = plan.period, PackArchive()
    sessions = _sessions(plan.session_ids)
    mismatches = period_mismatches(period.since, period.until, session_ids=plan.session_ids) if sessions else {}
    chains: list[SessionChain] = []
    for position, session in enumerate(sessions, start=1):
        chains.append(session_chain(session, position, archive, mismatches.get(session.id, [])))
        advance(f"Session {session.label}"[:200])
    board = build_board(period.since, period.until, today)
    indicators = indicator_sections(board, archive, period, _session_folders(chains))
    advance("Index et manifeste")
    index = PackIndex(get_organisation().name, period, today, CHOSEN if plan.chosen else SAMPLED, plan.held,
                      indicators, chains)
    name, data, note = index_file(index)
    archive.add(name, data, "Index")
    zipped, manifest = archive.zip()
    return BuiltPack(zipped, index, manifest, note)


def _sessions(ids) -> list[TrainingSession]:
    found = {s.id: s for s in db.session.query(TrainingSession).filter(TrainingSession.id.in_(list(ids)))}
    missing = [i for i in ids if i not in found]
    if missing:
        raise tasks.TaskFailed(f"La session n° {missing[0]} n'existe plus : le dossier n'est pas constitué.")
    return [found[i] for i in ids]


def _session_folders(chains: list[SessionChain]) -> dict[int, list[str]]:
    folders: dict[int, list[str]] = defaultdict(list)
    for number, keys in step_indicators().items():
        for chain in chains:
            for key in keys:
                step = chain.step(key)
                if not step.absent:
                    folders[number].append(f"{chain.folder}/{step.folder}/")
    return folders


@tasks.task_runner(AUDIT_PACK)
def run_audit_pack(task, progress) -> tasks.TaskFile:
    """The pack of the task's plan: a step per sampled session, then the indicators, the index and the zip."""
    actor = db.session.get(User, task.actor_id) if task.actor_id else None
    if actor is None or not actor.is_active or not actor.is_staff:
        raise tasks.TaskFailed("Le compte qui a demandé ce dossier n'existe plus, est désactivé ou n'est plus "
                               "conseiller : le dossier n'est pas constitué.")
    plan = PackRequest.from_payload(task.payload)
    progress.begin(len(plan.session_ids) + 1, "Sessions de l'échantillon")
    try:
        built = build_pack(plan, advance=progress.advance)
    except DomainError as exc:  # a file no longer matches its SHA-256…
        raise tasks.TaskFailed(f"{exc.message} Le dossier n'est pas constitué.") from exc
    progress.conclude(built.summary)
    return tasks.TaskFile(built.data, pack_filename(plan.period), ZIP)


__all__ = ["AUDIT_PACK", "DEFAULT_SAMPLE", "BuiltPack", "PackRequest", "build_pack", "pack_filename", "plan_pack",
           "start_audit_pack"]
