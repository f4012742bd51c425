"""An enrolment's OPCO funding pack and a fund's refund pack (FIF PL…) made as tasks: the request checks that the
pack can be made (409 at once when not) and starts the task; the worker renders one document at a time, the task's
page follows it and offers the zip when ready."""
from __future__ import annotations

from ..accounts.models import User
from ..core.errors import DomainError
from ..documents import services
from ..enrolments.models import Enrolment
from ..extensions import db
from ..messaging import tasks
from . import packs

FUNDING_PACK = "funding_pack"
FUND_PACK = "fund_pack"
ZIP = "application/zip"
STEP_LENGTH = 200  # Task.step's column


def start_funding_pack(enrolment: Enrolment, actor: User, back_url: str = ""):
    """Start making the enrolment's OPCO funding pack; ConflictError at once when it has no company. The caller
    commits."""
    services.funding_pack_subjects(enrolment)
    return tasks.start_task(FUNDING_PACK, f"Dossier OPCO de {enrolment.trainee.full_name}",
                            {"enrolment_id": enrolment.id}, actor, unit="documents", back_url=back_url)


def start_fund_pack(enrolment: Enrolment, actor: User, back_url: str = ""):
    """Start making the fund's refund pack; ConflictError at once while an invoice is unpaid or the training not
    done. The caller commits."""
    packs.ensure_fund_pack_ready(enrolment, actor)
    return tasks.start_task(FUND_PACK, f"Dossier de remboursement de {enrolment.trainee.full_name}",
                            {"enrolment_id": enrolment.id}, actor, unit="documents", back_url=back_url)


def _subject(task) -> tuple[Enrolment, User]:
    enrolment = db.session.get(Enrolment, task.payload["enrolment_id"])
    actor = db.session.get(User, task.actor_id) if task.actor_id else None
    if enrolment is None:
        raise tasks.TaskFailed("L'inscription n'existe plus : le dossier n'est pas constitué.")
    if actor is None or not actor.is_active:
        raise tasks.TaskFailed("Le compte qui a demandé ce dossier n'existe plus ou est désactivé.")
    return enrolment, actor


def _step(progress):
    return lambda label: progress.advance(label[:STEP_LENGTH])


@tasks.task_runner(FUNDING_PACK)
def run_funding_pack(task, progress) -> tasks.TaskFile:
    enrolment, actor = _subject(task)
    try:
        progress.begin(len(services.funding_pack_subjects(enrolment)), "Génération des documents")
        data = services.funding_pack(enrolment, actor, _step(progress))
    except DomainError as exc:  # changed since the request (the company removed…)
        raise tasks.TaskFailed(exc.message) from exc
    return tasks.TaskFile(data, f"dossier-opco-{enrolment.session_id}-{enrolment.id}.zip", ZIP)


@tasks.task_runner(FUND_PACK)
def run_fund_pack(task, progress) -> tasks.TaskFile:
    enrolment, actor = _subject(task)
    try:
        progress.begin(packs.ensure_fund_pack_ready(enrolment, actor), "Constitution du dossier")
        pack = packs.fund_pack(enrolment, actor, _step(progress))
    except DomainError as exc:  # a payment cancelled since the request…
        raise tasks.TaskFailed(exc.message) from exc
    return tasks.TaskFile(pack.data, pack.filename, ZIP)
