"""A subcontracting trainer's missions (the sessions they teach, with their contract and invoices) and the
invoices they send, checked against the contract.

The check (``record_invoice``): the amount excluding VAT the trainer invoices is compared with what is due for the
session — the total of the current contrat de sous-traitance or lettre de mission, or, when none was issued, the
trainer's rate × their hours (or days) of the session — minus what they already invoiced for it. A difference is a
warning naming both figures, never a refusal (an invoice is what the trainer sent; the advisor settles the
difference with them), and is recorded on the invoice with the figure it was checked against.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload
from sqlalchemy.exc import IntegrityError

from ..accounts.models import User
from ..core.errors import ConflictError, ErrorCollector
from ..core.formatting import money_fr
from ..core.timeutil import paris_today
from ..core.validation import parse_date, parse_decimal
from ..documents.rendering import context as document_context
from ..documents import services as document_services
from ..documents.models import GeneratedDocument
from ..extensions import db
from ..files.services import store_upload
from ..resources.models import EXTERNAL_STATUSES, Trainer
from ..sessions import services as session_services
from ..sessions.models import SessionStatus, Slot, TrainingSession, session_trainer
from .models import TrainerInvoice

CONTRACT = "trainer_contract"
MAX_NUMBER = 60


@dataclass
class MissionRow:
    """A session a trainer teaches: their half-days and amount, the current contract, the invoices received."""

    session: TrainingSession
    mission: document_context.Mission
    contract: GeneratedDocument | None
    contract_problem: str | None
    invoices: list[TrainerInvoice] = field(default_factory=list)

    @property
    def invoiced(self) -> Decimal:
        return sum((i.amount_excl_vat for i in self.invoices), Decimal("0.00"))


def contract_subject(session: TrainingSession, trainer: Trainer) -> str:
    return f"trainer:{session.id}:{trainer.id}"


def current_contract(session: TrainingSession, trainer: Trainer) -> GeneratedDocument | None:
    return document_services.current_version(CONTRACT, contract_subject(session, trainer))


def trainer_missions(trainer: Trainer) -> list[MissionRow]:
    """The sessions the trainer teaches (named on the session or on one of its half-days), cancelled ones aside,
    the latest first; in a fixed number of queries whatever the number of sessions."""
    on_slots = select(Slot.session_id).where(Slot.trainer_id == trainer.id)
    on_session = select(session_trainer.c.session_id).where(session_trainer.c.trainer_id == trainer.id)
    sessions = db.session.scalars(select(TrainingSession).where(
        or_(TrainingSession.id.in_(on_slots), TrainingSession.id.in_(on_session)),
        TrainingSession.status != SessionStatus.CANCELLED.value)
        .options(selectinload(TrainingSession.slots), selectinload(TrainingSession.trainers),
                 selectinload(TrainingSession.course_version))).all()
    contracts: dict[int, GeneratedDocument] = {}  # the current version per session: the last one read
    for document in db.session.scalars(select(GeneratedDocument).where(
            GeneratedDocument.doc_type == CONTRACT, GeneratedDocument.trainer_id == trainer.id)
            .order_by(GeneratedDocument.version)):
        contracts[document.session_id] = document
    invoices: dict[int, list[TrainerInvoice]] = {}
    for invoice in db.session.scalars(select(TrainerInvoice).where(TrainerInvoice.trainer_id == trainer.id)
                                      .order_by(TrainerInvoice.issued_on, TrainerInvoice.id)):
        invoices.setdefault(invoice.session_id, []).append(invoice)
    rows = [MissionRow(session, document_context.trainer_mission(session, trainer), contracts.get(session.id),
                       document_services.applicable(CONTRACT, session, trainer=trainer), invoices.get(session.id, []))
            for session in sessions]
    return sorted(rows, key=lambda r: (r.session.first_date or dt.date.min, r.session.id), reverse=True)


def expected_amount(session: TrainingSession, trainer: Trainer) -> tuple[Decimal | None, str]:
    """What the trainer is due for the session excluding VAT, and on what basis (French): the current contract's
    total, else the rate × the hours (or days) of their half-days; (None, "") without either."""
    contract = current_contract(session, trainer)
    total = (contract.context.get("mission") or {}).get("total_value") if contract is not None else ""
    if total:
        return Decimal(total), f"contrat n° {contract.number}"
    mission = document_context.trainer_mission(session, trainer)
    if mission.amount is None:
        return None, ""
    quantity = document_context.mission_quantity(mission)
    return mission.amount, f"tarif de {money_fr(mission.rate)} × {quantity}, aucun contrat émis"


def _invoice_fields(data: dict, upload, errors: ErrorCollector, today: dt.date) -> dict:
    number = " ".join(str(data.get("number") or "").split())
    if not number:
        errors.add("number", "Indiquez le numéro de la facture.")
    elif len(number) > MAX_NUMBER:
        errors.add("number", f"Le numéro ne doit pas dépasser {MAX_NUMBER} caractères.")
    issued_on = parse_date(data.get("issued_on"), "issued_on", errors, label="La date de la facture")
    if issued_on is not None and issued_on > today:
        errors.add("issued_on", "La date de la facture ne peut pas être dans le futur.")
    amount = parse_decimal(data.get("amount_excl_vat"), "amount_excl_vat", errors, label="Le montant HT",
                           required=True, positive=True)
    vat = parse_decimal(data.get("vat_amount"), "vat_amount", errors, label="La TVA") or Decimal("0.00")
    if upload is None or not getattr(upload, "filename", ""):
        errors.add("file", "Joignez la facture (PDF).")
    return {"number": number, "issued_on": issued_on, "amount_excl_vat": amount, "vat_amount": vat}


def record_invoice(trainer: Trainer, session: TrainingSession, data: dict, upload, actor: User,
                   today: dt.date | None = None) -> tuple[TrainerInvoice, list[str]]:
    """Record the invoice a subcontracting trainer sent for a session (its PDF stored by files.services) and check
    it against what is due (see the module); the invoice and the warnings (French) to show."""
    session_services.ensure_can_manage_sessions(actor)
    if trainer.status not in EXTERNAL_STATUSES:
        raise ConflictError(f"{trainer.full_name} est salarié(e) de l'organisme : ses interventions ne sont pas "
                            "facturées.")
    if not document_context.trainer_slots(session, trainer):
        raise ConflictError(f"{trainer.full_name} n'intervient dans aucune demi-journée de cette session.")
    errors = ErrorCollector()
    values = _invoice_fields(data, upload, errors, today or paris_today())
    stored = None if errors.fields else errors.run(store_upload, upload, "trainer_invoice", "file")
    errors.raise_if_any()
    if _number_taken(trainer, values["number"]):
        raise ConflictError(f"La facture n° {values['number']} de {trainer.full_name} est déjà enregistrée.")
    due, basis = expected_amount(session, trainer)
    already = db.session.scalar(select(func.coalesce(func.sum(TrainerInvoice.amount_excl_vat), 0)).where(
        TrainerInvoice.trainer_id == trainer.id, TrainerInvoice.session_id == session.id))
    expected = None if due is None else due - Decimal(already)
    if expected is not None and already:
        basis += f", moins {money_fr(Decimal(already))} déjà facturés"
    invoice = TrainerInvoice(trainer=trainer, session=session, file=stored, recorded_by_id=actor.id,
                             expected_excl_vat=expected, expected_basis=basis[:200],
                             matches=None if expected is None else values["amount_excl_vat"] == expected, **values)
    try:
        with db.session.begin_nested():
            db.session.add(invoice)
    except IntegrityError:  # the same number recorded at the same moment by someone else
        raise ConflictError(f"La facture n° {values['number']} de {trainer.full_name} est déjà enregistrée.") \
            from None
    return invoice, invoice_warnings(invoice)


def _number_taken(trainer: Trainer, number: str) -> bool:
    return db.session.scalar(select(TrainerInvoice.id).where(TrainerInvoice.trainer_id == trainer.id,
                                                             TrainerInvoice.number == number)) is not None


def invoice_warnings(invoice: TrainerInvoice) -> list[str]:
    """What the check of a recorded invoice found, in French: a mismatch with both figures, or nothing to compare."""
    if invoice.matches is None:
        return [f"Facture n° {invoice.number} : ni contrat émis ni tarif sur la fiche du formateur, elle n'a pas "
                "pu être rapprochée."]
    if invoice.matches:
        return []
    difference = invoice.amount_excl_vat - invoice.expected_excl_vat
    return [f"Facture n° {invoice.number} : montant HT facturé {money_fr(invoice.amount_excl_vat)}, montant attendu "
            f"{money_fr(invoice.expected_excl_vat)} ({invoice.expected_basis}) : écart de {money_fr(difference)}."]
