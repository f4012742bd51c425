"""A trainer's file: the subcontracting side of the record (status, SIRET, NDA, rate) and what a subcontracting
contract needs from it, the documents of the file (diplomas, insurance…) and the professional-development log
(Qualiopi indicator 22). Uploads are stored by files.services with its checks."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..accounts.models import User
from ..core.errors import ErrorCollector, NotFoundError
from ..core.identifiers import clean_nda, clean_siret
from ..core.persistence import get_by_id
from ..core.timeutil import paris_today
from ..core.validation import clean_text, parse_date, parse_decimal
from ..extensions import db
from ..files.services import store_upload
from .models import (
    DEVELOPMENT_KINDS,
    EXTERNAL_STATUSES,
    RATE_UNITS,
    TRAINER_DOCUMENT_KINDS,
    TRAINER_STATUSES,
    Trainer,
    TrainerStatus,
    TrainerDevelopment,
    TrainerDocument,
)

MAX_TITLE = 200
MAX_NOTE = 5000
MAX_DEVELOPMENT_HOURS = 1000


def _has_file(upload) -> bool:
    return upload is not None and bool(getattr(upload, "filename", ""))


# --------------------------------------------------------------------------- the record


def subcontractor_fields(data: dict, errors: ErrorCollector) -> dict:
    """The status and what goes with it, checked (errors collected): an external trainer needs a SIRET, a
    subcontracting organisation its name; the NDA (11 digits) and the rate are optional here, required before a
    contract (``contract_problems``). ``is_external`` (the former flag) is read when no status is given."""
    status = clean_text(data.get("status")) or (TrainerStatus.ORGANISATION.value if data.get("is_external")
                                                 else TrainerStatus.EMPLOYEE.value)
    if status not in TRAINER_STATUSES:
        errors.add("status", "Choisissez le statut du formateur dans la liste.")
        status = TrainerStatus.EMPLOYEE.value
    external = status in EXTERNAL_STATUSES
    siret = errors.run(clean_siret, data.get("company_siret"), "company_siret", external) if external else None
    company_name = clean_text(data.get("company_name")) if external else ""
    if status == TrainerStatus.ORGANISATION.value and not company_name:
        errors.add("company_name", "Indiquez la raison sociale de l'organisme sous-traitant.")
    nda = errors.run(clean_nda, data.get("nda"), "nda") if external else ""
    rate = parse_decimal(data.get("rate"), "rate", errors, label="Le tarif", positive=True) if external else None
    rate_unit = clean_text(data.get("rate_unit")) or "hour"
    if rate_unit not in RATE_UNITS:
        errors.add("rate_unit", "Choisissez l'unité du tarif : à l'heure ou à la journée.")
        rate_unit = "hour"
    return {"status": status, "company_name": company_name[:200], "company_siret": siret,
            "address": clean_text(data.get("address"), 255) if external else "", "nda": nda or "", "rate": rate,
            "rate_unit": rate_unit}


def contract_problems(trainer: Trainer) -> list[str]:
    """What the record lacks for a subcontracting contract (contrat de sous-traitance or lettre de mission), in
    French; empty when one can be made. An employee teaches under their employment contract: none is made."""
    if trainer.status not in EXTERNAL_STATUSES:
        return [f"{trainer.full_name} est salarié(e) de l'organisme : il ou elle intervient dans le cadre de son "
                "contrat de travail, sans contrat de sous-traitance"]
    lacking = []
    if trainer.status == TrainerStatus.ORGANISATION.value and not trainer.company_name:
        lacking.append("la raison sociale de l'organisme sous-traitant")
    if not trainer.company_siret:
        lacking.append("le SIRET")
    if not trainer.nda:
        lacking.append("le numéro de déclaration d'activité (NDA) du sous-traitant")
    if trainer.rate is None:
        lacking.append("le tarif (à l'heure ou à la journée)")
    if not trainer.email:
        lacking.append("l'adresse e-mail")
    if not lacking:
        return []
    return [f"Complétez la fiche de {trainer.full_name} (Ressources → Formateurs) : " + ", ".join(lacking)]


# --------------------------------------------------------------------------- documents


def trainer_documents(trainer: Trainer) -> list[TrainerDocument]:
    return list(db.session.scalars(select(TrainerDocument).where(TrainerDocument.trainer_id == trainer.id)
                                   .options(selectinload(TrainerDocument.file))
                                   .order_by(TrainerDocument.kind, TrainerDocument.created_at.desc())))


def add_document(trainer: Trainer, data: dict, upload, actor: User) -> TrainerDocument:
    """A document of the trainer's file: its kind, an optional title and validity date, the file (PDF, image or
    word-processor document, checked and stored by files.services)."""
    errors = ErrorCollector()
    kind = clean_text(data.get("kind"))
    if kind not in TRAINER_DOCUMENT_KINDS:
        errors.add("kind", "Choisissez le type de document dans la liste.")
    title = clean_text(data.get("title"))
    if len(title) > MAX_TITLE:
        errors.add("title", f"Le titre ne doit pas dépasser {MAX_TITLE} caractères.")
    valid_until = parse_date(data.get("valid_until"), "valid_until", errors, label="La date de fin de validité",
                             required=False)
    stored = None
    if not _has_file(upload):
        errors.add("file", "Choisissez le fichier à déposer.")
    elif not errors.fields:
        stored = errors.run(store_upload, upload, "trainer_document", "file")
    errors.raise_if_any()
    document = TrainerDocument(trainer=trainer, kind=kind, title=title, file=stored, valid_until=valid_until,
                               uploaded_by_id=actor.id)
    db.session.add(document)
    db.session.flush()
    return document


def remove_document(trainer: Trainer, document_id) -> None:
    _remove_own(trainer, TrainerDocument, document_id, "Document introuvable dans le dossier de ce formateur.")


def _remove_own(trainer: Trainer, model, row_id, message: str) -> None:
    """Delete a row of ``trainer``'s file; another trainer's row, or none, is NotFoundError(``message``)."""
    row = get_by_id(model, row_id, message)
    if row.trainer_id != trainer.id:
        raise NotFoundError(message)
    db.session.delete(row)
    db.session.flush()


# --------------------------------------------------------------------------- professional development (Qualiopi 22)


def development_log(trainer: Trainer) -> list[TrainerDevelopment]:
    return list(db.session.scalars(select(TrainerDevelopment).where(TrainerDevelopment.trainer_id == trainer.id)
                                   .options(selectinload(TrainerDevelopment.evidence))
                                   .order_by(TrainerDevelopment.day.desc(), TrainerDevelopment.id.desc())))


def add_development(trainer: Trainer, data: dict, upload, actor: User, today: dt.date | None = None
                    ) -> TrainerDevelopment:
    """An entry of the log: what was done (a past or today's date), its kind, hours, a note and an optional
    evidence file (an attestation, a programme…)."""
    errors = ErrorCollector()
    day = parse_date(data.get("day"), "day", errors, label="La date")
    if day is not None and day > (today or paris_today()):
        errors.add("day", "Le journal consigne ce qui a été fait : la date ne peut pas être dans le futur.")
    title = clean_text(data.get("title"))
    if not title:
        errors.add("title", "Indiquez l'intitulé (formation suivie, conférence…).")
    elif len(title) > MAX_TITLE:
        errors.add("title", f"L'intitulé ne doit pas dépasser {MAX_TITLE} caractères.")
    kind = clean_text(data.get("kind"))
    if kind not in DEVELOPMENT_KINDS:
        errors.add("kind", "Choisissez le type d'action dans la liste.")
    hours = parse_decimal(data.get("hours"), "hours", errors, label="La durée")
    if hours is not None and hours > MAX_DEVELOPMENT_HOURS:
        errors.add("hours", f"La durée ne peut pas dépasser {MAX_DEVELOPMENT_HOURS} heures.")
    note = clean_text(data.get("note"))
    if len(note) > MAX_NOTE:
        errors.add("note", f"La note ne doit pas dépasser {MAX_NOTE} caractères.")
    evidence = None
    if _has_file(upload) and not errors.fields:
        evidence = errors.run(store_upload, upload, "trainer_document", "evidence")
    errors.raise_if_any()
    entry = TrainerDevelopment(trainer=trainer, day=day, title=title, kind=kind, hours=hours, note=note,
                               evidence=evidence, created_by_id=actor.id)
    db.session.add(entry)
    db.session.flush()
    return entry


def remove_development(trainer: Trainer, entry_id) -> None:
    _remove_own(trainer, TrainerDevelopment, entry_id, "Entrée introuvable dans le journal de ce formateur.")


def get_trainer(trainer_id) -> Trainer:
    """A trainer by id, or 404 in French."""
    return get_by_id(Trainer, trainer_id, "Formateur introuvable.")
