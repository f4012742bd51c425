"""A session's pack (« Générer le dossier de session ») made as a task: the request starts it and answers at once;
the worker (or `flask documents pack`) generates the documents one at a time — each committed with its row as the
progress advances — then zips the current version of each into « dossier-session-<id>.zip »."""
from __future__ import annotations

from ...accounts.models import User
from ...core.errors import DomainError
from ...extensions import db
from ...messaging import tasks
from ...sessions import services as session_services
from ...sessions.models import TrainingSession
from ...sessions.services import get_session
from .. import services
from ..catalogue import DOC_TYPES

SESSION_PACK = "session_pack"
ZIP = "application/zip"
STEP_LENGTH = 200  # Task.step's column


def start_session_pack(session: TrainingSession, actor: User, back_url: str = ""):
    """Queue the making of the session's pack for ``actor`` (who may manage the session). The caller commits."""
    session_services.ensure_can_manage_sessions(actor)
    return tasks.start_task(SESSION_PACK, f"Dossier de la session {session.label}", {"session_id": session.id},
                            actor, unit="documents", back_url=back_url)


def pack_filename(session_id: int) -> str:
    return f"dossier-session-{session_id}.zip"


def step_label(doc_type: str, enrolment, company) -> str:
    """« Convocation — Jeanne Martin »: what a document of the pack is, and for whom."""
    label = DOC_TYPES[doc_type].label
    who = enrolment.trainee.full_name if enrolment is not None else (company.name if company is not None else "")
    return (f"{label} — {who}" if who else label)[:STEP_LENGTH]


def _subject(task) -> tuple[TrainingSession, User]:
    actor = db.session.get(User, task.actor_id) if task.actor_id else None
    if actor is None or not actor.is_active:
        raise tasks.TaskFailed("Le compte qui a demandé ce dossier n'existe plus ou est désactivé.")
    try:
        session = get_session(task.payload.get("session_id"), actor)
    except DomainError as exc:
        raise tasks.TaskFailed(f"{exc.message} Le dossier n'est pas constitué.") from exc
    return session, actor


@tasks.task_runner(SESSION_PACK)
def run_session_pack(task, progress) -> tasks.TaskFile:
    """Every document of the session's pack (services.pack_subjects), reused when unchanged, one at a time; then
    the zip of the current versions."""
    session, actor = _subject(task)
    subjects = services.pack_subjects(session)
    progress.begin(len(subjects), "Génération des documents")
    try:
        for doc_type, enrolment, company in subjects:
            label = step_label(doc_type, enrolment, company)
            services.generate(doc_type, session, actor, enrolment=enrolment, company=company, reuse=True)
            progress.advance(label)  # commits this document with its row
        progress.advance("Constitution du fichier zip", by=0)
        data = services.session_pack_zip(session)
    except DomainError as exc:  # the session changed since the request (a template removed…)
        raise tasks.TaskFailed(f"{exc.message} Le dossier n'est pas constitué.") from exc
    return tasks.TaskFile(data, pack_filename(session.id), ZIP)
