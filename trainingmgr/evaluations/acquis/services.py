"""Continuous evaluation of the acquis: per objective of the session's course version, the trainer records for
each trainee whether it is acquired, partly acquired or not acquired. Allowed to a trainer of the session and
to the staff once the session has started; callers commit. See docs/evaluations.md (« Acquis »)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select

from ...accounts.models import User
from ...attendance.services import expected_enrolments, teaches, trainer_of
from ...catalogue.models import CourseObjective
from ...core.errors import ConflictError, ErrorCollector, PermissionDenied, ValidationError
from ...core.persistence import lock_row
from ...core.timeutil import utcnow
from ...core.validation import id_or_none
from ...enrolments.models import EXPECTED, Enrolment
from ...extensions import db
from ...resources.models import Trainer
from ...sessions.models import TrainingSession
from ..models import ACQUIS_LEVELS, AcquisAssessment

MAX_COMMENT = 2000
# The order in which levels are listed (grid legend, attestation).
LEVEL_ORDER = ("acquired", "partial", "not_acquired")
SUMMARY_LABELS = {"acquired": "Acquis", "partial": "Partiellement acquis", "not_acquired": "Non acquis"}
# Who recorded a judgement made with no author account: only the trainer space does that (users are never deleted).
BY_TRAINER_LINK = "le formateur (espace formateur)"


# --------------------------------------------------------------------------- who and when


def can_record(actor: User | None, session: TrainingSession) -> bool:
    return actor is not None and (actor.is_staff or trainer_of(actor, session) is not None)


def ensure_can_record(actor: User | None, session: TrainingSession) -> None:
    if not can_record(actor, session):
        raise PermissionDenied("Seuls les formateurs de la session et le conseiller formation évaluent les acquis.")


def is_open(session: TrainingSession) -> bool:
    return session.has_started


def ensure_open(session: TrainingSession) -> None:
    if not is_open(session):
        raise ConflictError("L'évaluation des acquis s'ouvre une fois la session commencée "
                            f"(statut actuel : {session.status_label.lower()}).")


def _check_enrolment(session: TrainingSession, enrolment: Enrolment | None) -> None:
    if enrolment is None or enrolment.session_id != session.id:
        raise PermissionDenied("Ce stagiaire n'est pas inscrit à cette session.")
    if enrolment.status not in EXPECTED:
        raise ConflictError(f"L'inscription de {enrolment.trainee.full_name} n'est pas confirmée "
                            f"({enrolment.status_label.lower()}) : ses acquis ne s'évaluent pas.")


def objectives(session: TrainingSession) -> list[CourseObjective]:
    """The objectives of the session's course version, in order."""
    return sorted(session.course_version.objectives, key=lambda o: (o.position, o.id))


# --------------------------------------------------------------------------- recording


def _validated(known: dict[int, CourseObjective], objective_id, level, comment,
               errors: ErrorCollector, key: str = "") -> tuple[CourseObjective | None, str, str]:
    """The objective, level and comment of one cell, or errors added to ``errors`` (field names
    ``objective``, ``level``, ``comment``, or ``level-<key>`` … for a grid cell)."""
    suffix = f"-{key}" if key else ""
    objective = known.get(id_or_none(objective_id) or 0)
    if objective is None:
        errors.add(f"objective{suffix}", "Objectif inconnu pour cette formation.")
    level = (level or "").strip()
    if level not in ACQUIS_LEVELS:
        errors.add(f"level{suffix}", "Niveau inconnu : choisissez acquis, partiellement acquis ou non acquis.")
    comment = (comment or "").strip()
    if len(comment) > MAX_COMMENT:
        errors.add(f"comment{suffix}", f"Le commentaire ne doit pas dépasser {MAX_COMMENT} caractères.")
    return objective, level, comment


def _write(existing: AcquisAssessment | None, enrolment: Enrolment, objective: CourseObjective, level: str,
           comment: str, by_id: int | None, now: dt.datetime) -> AcquisAssessment:
    if existing is None:
        row = AcquisAssessment(enrolment_id=enrolment.id, objective_id=objective.id, level=level, comment=comment,
                               history=[], recorded_by_id=by_id, recorded_at=now)
        db.session.add(row)
        return row
    if existing.level == level and (existing.comment or "") == comment:
        return existing  # nothing new: no history entry
    previous = {"level": existing.level, "comment": existing.comment or "", "by": existing.recorded_by_id,
                "by_name": _user_name(existing.recorded_by_id),
                "at": existing.recorded_at.isoformat() if existing.recorded_at else None}
    existing.history = [*(existing.history or []), previous]  # a new list: the JSON column sees the change
    existing.level = level
    existing.comment = comment
    existing.recorded_by_id = by_id
    existing.recorded_at = now
    return existing


def _user_name(user_id: int | None) -> str:
    if user_id is None:
        return BY_TRAINER_LINK
    user = db.session.get(User, user_id)
    return (user.name or user.email) if user is not None else ""


def _existing(enrolment_ids) -> dict[tuple[int, int], AcquisAssessment]:
    ids = list(enrolment_ids)
    if not ids:
        return {}
    return {(row.enrolment_id, row.objective_id): row for row in db.session.scalars(
        select(AcquisAssessment).where(AcquisAssessment.enrolment_id.in_(ids)))}


def record(session: TrainingSession, enrolment: Enrolment, objective_id, level: str, comment: str | None,
           actor: User, *, now: dt.datetime | None = None) -> AcquisAssessment:
    """Record (or change) the judgement of ``enrolment`` on one objective of the session's course version."""
    ensure_can_record(actor, session)
    ensure_open(session)
    _check_enrolment(session, enrolment)
    errors = ErrorCollector()
    objective, level, comment = _validated({o.id: o for o in objectives(session)}, objective_id, level, comment,
                                           errors)
    if errors.fields:
        first = next(iter(errors.fields.values()))[0]
        raise ValidationError(first, fields=errors.fields)
    lock_row(TrainingSession, session.id)  # one writer per session: no judgement lost between two saves
    existing = _existing([enrolment.id]).get((enrolment.id, objective.id))
    row = _write(existing, enrolment, objective, level, comment, actor.id, now or utcnow())
    db.session.flush()
    return row


@dataclass
class Cell:
    """One posted cell of the grid: ``level`` empty means no judgement given (left as it is)."""

    enrolment_id: object
    objective_id: object
    level: str = ""
    comment: str | None = None  # None: keep the current comment


def cell_key(enrolment_id, objective_id) -> str:
    return f"{enrolment_id}-{objective_id}"


def record_many(session: TrainingSession, cells: list[Cell], actor: User, *,
                now: dt.datetime | None = None) -> int:
    """Record a whole grid at once: every cell is checked before anything is written; any refusal saves
    nothing. A trainee of another session: 403; one not expected in the room: 409; a bad objective, level or
    comment: 422 with one message per cell (fields ``level-<enrolment>-<objective>`` …).
    Returns how many judgements were recorded or changed."""
    ensure_can_record(actor, session)
    return _record_many(session, cells, actor.id, now)


def record_many_by_trainer(session: TrainingSession, cells: list[Cell], trainer: Trainer, *,
                           now: dt.datetime | None = None) -> int:
    """``record_many`` by a trainer of the session known by their personal link (the trainer space)."""
    if not teaches(trainer, session):
        raise PermissionDenied("Seuls les formateurs de la session et le conseiller formation évaluent les acquis.")
    return _record_many(session, cells, trainer.user_id, now)


def _record_many(session: TrainingSession, cells: list[Cell], by_id: int | None, now: dt.datetime | None) -> int:
    ensure_open(session)
    expected = {e.id: e for e in expected_enrolments(session)}
    _check_posted_enrolments(session, cells, expected)
    known = {o.id: o for o in objectives(session)}
    lock_row(TrainingSession, session.id)
    existing = _existing(expected)
    todo = _changes(cells, expected, known, existing)
    now = now or utcnow()
    changed = 0
    for enrolment, objective, level, comment in todo:
        current = existing.get((enrolment.id, objective.id))
        if current is not None and current.level == level and (current.comment or "") == comment:
            continue
        _write(current, enrolment, objective, level, comment, by_id, now)
        changed += 1
    db.session.flush()
    return changed


def _check_posted_enrolments(session: TrainingSession, cells: list[Cell], expected: dict[int, Enrolment]) -> None:
    """Refuse a cell about an enrolment the grid does not show (another session's, a cancelled one)."""
    posted_ids = {id_or_none(c.enrolment_id) for c in cells}
    unknown = [i for i in posted_ids if i not in expected]
    if not unknown:
        return
    others = {e.id: e for e in db.session.scalars(
        select(Enrolment).where(Enrolment.id.in_([i for i in unknown if i is not None])))}
    for enrolment_id in unknown:
        _check_enrolment(session, others.get(enrolment_id))


def _changes(cells: list[Cell], expected: dict[int, Enrolment], known: dict, existing: dict) -> list[tuple]:
    """(enrolment, objective, level, comment) for each posted cell to write; every error at once (nothing saved)."""
    errors = ErrorCollector()
    todo = []
    seen = set()
    for cell in cells:
        enrolment = expected[id_or_none(cell.enrolment_id)]
        key = cell_key(enrolment.id, cell.objective_id)
        if key in seen:
            continue
        seen.add(key)
        current = existing.get((enrolment.id, id_or_none(cell.objective_id) or 0))
        comment = cell.comment if cell.comment is not None else (current.comment if current else "")
        level = _posted_level(cell, enrolment, current, comment, errors, key)
        if level is None:
            continue
        objective, level, comment = _validated(known, cell.objective_id, level, comment, errors, key)
        if objective is not None and f"level-{key}" not in errors.fields and f"comment-{key}" not in errors.fields:
            todo.append((enrolment, objective, level, comment))
    if errors.fields:
        raise ValidationError("Certaines évaluations sont invalides : rien n'a été enregistré.", fields=errors.fields)
    return todo


def _posted_level(cell: Cell, enrolment: Enrolment, current: AcquisAssessment | None, comment: str | None,
                  errors: ErrorCollector, key: str) -> str | None:
    """The level to record for a cell: the posted one, the current one when only the comment changes, None to skip."""
    level = (cell.level or "").strip()
    if level:
        return level
    if current is None and (comment or "").strip():
        errors.add(f"level-{key}", f"{enrolment.trainee.full_name} : choisissez un niveau pour "
                                   "accompagner le commentaire.")
        return ""
    if current is not None and (comment or "").strip() != (current.comment or ""):
        return current.level  # only the comment changes
    return None


# --------------------------------------------------------------------------- reading


@dataclass
class GridCell:
    objective: CourseObjective
    assessment: AcquisAssessment | None = None
    recorded_by: str = ""

    @property
    def level(self) -> str:
        return self.assessment.level if self.assessment else ""

    @property
    def label(self) -> str:
        return self.assessment.level_label if self.assessment else "Non évalué"

    @property
    def comment(self) -> str:
        return self.assessment.comment if self.assessment else ""


@dataclass
class GridRow:
    enrolment: Enrolment
    cells: list[GridCell] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        found = {level: 0 for level in LEVEL_ORDER}
        for cell in self.cells:
            if cell.level in found:
                found[cell.level] += 1
        return found


@dataclass
class Grid:
    session: TrainingSession
    objectives: list[CourseObjective]
    rows: list[GridRow]

    def row(self, enrolment_id: int) -> GridRow | None:
        return next((r for r in self.rows if r.enrolment.id == enrolment_id), None)

    def cell(self, enrolment_id: int, objective_id: int) -> GridCell | None:
        row = self.row(enrolment_id)
        return next((c for c in row.cells if c.objective.id == objective_id), None) if row else None


def grid(session: TrainingSession) -> Grid:
    """Trainees expected in the session × objectives of its course version, with the current judgements
    and who recorded them (a handful of queries whatever the size)."""
    goals = objectives(session)
    enrolments = expected_enrolments(session)
    existing = _existing(e.id for e in enrolments)
    user_ids = {row.recorded_by_id for row in existing.values() if row.recorded_by_id}
    names = {u.id: (u.name or u.email) for u in db.session.scalars(
        select(User).where(User.id.in_(user_ids)))} if user_ids else {}
    rows = []
    for enrolment in enrolments:
        cells = []
        for objective in goals:
            assessment = existing.get((enrolment.id, objective.id))
            cells.append(GridCell(objective, assessment, "" if assessment is None else
                                  names.get(assessment.recorded_by_id, "") if assessment.recorded_by_id
                                  else BY_TRAINER_LINK))
        rows.append(GridRow(enrolment, cells))
    return Grid(session, goals, rows)


def _objective_text(objective: CourseObjective) -> str:
    return " ".join(objective.text.split()).rstrip(" .;")


def results_text(enrolment: Enrolment) -> str:
    """The attestation's « Résultats » line, e.g. « Objectifs acquis : 3 sur 5. Acquis : A ; B ; C.
    Partiellement acquis : D. Non acquis : E. », or "" when nothing was recorded for this trainee."""
    goals = objectives(enrolment.session)
    if not goals:
        return ""
    found = {row.objective_id: row for row in db.session.scalars(
        select(AcquisAssessment).where(AcquisAssessment.enrolment_id == enrolment.id))}
    by_level: dict[str, list[str]] = {level: [] for level in LEVEL_ORDER}
    unassessed = []
    for objective in goals:
        row = found.get(objective.id)
        if row is None or row.level not in by_level:
            unassessed.append(_objective_text(objective))
        else:
            by_level[row.level].append(_objective_text(objective))
    if len(unassessed) == len(goals):
        return ""
    parts = [f"Objectifs acquis : {len(by_level['acquired'])} sur {len(goals)}."]
    for level in LEVEL_ORDER:
        if by_level[level]:
            parts.append(f"{SUMMARY_LABELS[level]} : {' ; '.join(by_level[level])}.")
    if unassessed:
        parts.append(f"Non évalué{'s' if len(unassessed) > 1 else ''} : {' ; '.join(unassessed)}.")
    return " ".join(parts)
