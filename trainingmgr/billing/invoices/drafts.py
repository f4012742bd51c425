"""Drafts: their buyer, their lines, a draft by hand, deletion. An issued invoice never changes."""
from __future__ import annotations

import re
from decimal import Decimal

from sqlalchemy import select
from stdnum import exceptions as stdnum_exceptions
from stdnum.fr import siren

from ...accounts.models import User
from ...accounts.services import normalise_email
from ...companies.models import OPCOS, Company
from ...core.errors import ConflictError, ErrorCollector, NotFoundError
from ...core.identifiers import clean_siret, clean_vat_number
from ...core.validation import id_or_none, parse_date, parse_decimal
from ...enrolments.models import PUBLIC_FUNDER_CATEGORIES, SELF_EMPLOYED_FUNDS, Enrolment
from ...extensions import db
from ...sessions.models import TrainingSession
from ...trainees.models import Trainee
from ..kinds import PayerKind
from ..models import LINE_UNITS, PAYER_KINDS, Invoice, InvoiceKind, InvoiceLine, InvoiceStatus
from .amounts import ZERO, current_vat_rate, recompute
from .payers import (
    COMPANY_PAYERS,
    FRANCE_TRAVAIL,
    FUNDER_PAYERS,
    PUBLIC_PAYERS,
    company_values,
    previous_buyer,
    trainee_values,
)
from .queries import ensure_can_bill

MAX_QUANTITY = Decimal("99999")


TEXT_LIMITS = {"buyer_name": 200, "buyer_address": 255, "buyer_postal_code": 10, "buyer_city": 120,
               "buyer_email": 254, "buyer_vat_number": 20, "service_code": 100, "engagement_number": 100,
               "buyer_reference": 100, "opco_file_number": 60, "notes": 5000}


DRAFT_FIELDS = tuple(TEXT_LIMITS) + ("buyer_country", "buyer_siret", "service_start", "service_end")


MAX_DESCRIPTION = 2000


NOT_EDITABLE = "Une facture émise ne se modifie plus : établissez un avoir pour l'annuler en tout ou partie."


def service_dates(session: TrainingSession) -> dict:
    return {"service_start": session.first_date, "service_end": session.last_date}


def _ensure_draft(invoice: Invoice) -> None:
    if not invoice.is_draft:
        raise ConflictError(NOT_EDITABLE)


def _clean_buyer_id(value, field: str, errors: ErrorCollector) -> str:
    """A SIRET (14 digits) or a SIREN (9 digits), compact; "" when empty."""
    text = re.sub(r"[\s.]", "", str(value or ""))
    if not text:
        return ""
    if len(text) == 9:
        try:
            return siren.validate(text)
        except stdnum_exceptions.ValidationError:
            errors.add(field, "Ce SIREN n'est pas valide.")
            return ""
    return errors.run(clean_siret, text, field) or ""


def clean_draft_data(data: dict, invoice: Invoice) -> dict:
    errors = ErrorCollector()
    out: dict = {}
    for key, limit in TEXT_LIMITS.items():
        value = str(data.get(key) or "").strip()
        if len(value) > limit:
            errors.add(key, f"Ce champ ne doit pas dépasser {limit} caractères.")
        out[key] = value[:limit]
    if not out["buyer_name"]:
        errors.add("buyer_name", "Indiquez le nom du client facturé.")
    country = str(data.get("buyer_country") or "FR").strip().upper()
    if not re.fullmatch(r"[A-Z]{2}", country):
        errors.add("buyer_country", "Code pays à deux lettres (FR, BE…).")
    out["buyer_country"] = country[:2]
    out["buyer_siret"] = _clean_buyer_id(data.get("buyer_siret"), "buyer_siret", errors)
    out["buyer_vat_number"] = errors.run(clean_vat_number, out["buyer_vat_number"], "buyer_vat_number") or ""
    if out["buyer_email"]:
        out["buyer_email"] = errors.run(normalise_email, out["buyer_email"], "buyer_email") or ""
    for key, label in (("service_start", "Le début de la prestation"), ("service_end", "La fin de la prestation")):
        out[key] = parse_date(data.get(key), key, errors, label=label, required=False)
    if out["service_start"] and out["service_end"] and out["service_end"] < out["service_start"]:
        errors.add("service_end", "La fin de la prestation précède son début.")
    if invoice.payer_kind not in FUNDER_PAYERS:
        out["opco_file_number"] = invoice.opco_file_number
    if invoice.payer_kind not in PUBLIC_PAYERS:
        out["service_code"], out["engagement_number"] = invoice.service_code, invoice.engagement_number
    errors.raise_if_any()
    return out


def update_draft(invoice: Invoice, data: dict, actor: User | None) -> Invoice:
    """The buyer, the dates of the service, the references and the notes of a draft."""
    ensure_can_bill(actor)
    _ensure_draft(invoice)
    for key, value in clean_draft_data(data, invoice).items():
        setattr(invoice, key, value)
    return invoice


def clean_line_data(data: dict) -> dict:
    errors = ErrorCollector()
    description = str(data.get("description") or "").strip()
    if not description:
        errors.add("description", "Indiquez la désignation de la ligne.")
    elif len(description) > MAX_DESCRIPTION:
        errors.add("description", f"La désignation ne doit pas dépasser {MAX_DESCRIPTION} caractères.")
    quantity = parse_decimal(data.get("quantity"), "quantity", errors, label="La quantité", required=True,
                             positive=True)
    if quantity is not None and quantity > MAX_QUANTITY:
        errors.add("quantity", "La quantité doit être inférieure à 100 000.")
    unit = str(data.get("unit") or "C62")
    if unit not in LINE_UNITS:
        errors.add("unit", "Unité inconnue : stagiaire ou heure.")
    price = parse_decimal(data.get("unit_price"), "unit_price", errors, label="Le prix unitaire HT", required=True)
    errors.raise_if_any()
    return {"description": description, "quantity": quantity, "unit": unit, "unit_price_excl_vat": price}


def get_line(invoice: Invoice, line_id) -> InvoiceLine:
    number = id_or_none(line_id)
    line = next((line for line in invoice.lines if line.id == number), None)
    if line is None:
        raise NotFoundError("Ligne de facture introuvable.")
    return line


def add_line(invoice: Invoice, data: dict, actor: User | None) -> InvoiceLine:
    """A line typed by the advisor (e.g. a late-cancellation fee), at the organisation's VAT rate."""
    ensure_can_bill(actor)
    _ensure_draft(invoice)
    clean = clean_line_data(data)
    line = InvoiceLine(vat_rate=current_vat_rate(), total_excl_vat=ZERO, **clean)
    invoice.lines.append(line)
    recompute(invoice)
    db.session.flush()
    return line


def update_line(invoice: Invoice, line_id, data: dict, actor: User | None) -> InvoiceLine:
    ensure_can_bill(actor)
    _ensure_draft(invoice)
    line = get_line(invoice, line_id)
    for key, value in clean_line_data(data).items():
        setattr(line, key, value)
    recompute(invoice)
    return line


def delete_line(invoice: Invoice, line_id, actor: User | None) -> None:
    ensure_can_bill(actor)
    _ensure_draft(invoice)
    invoice.lines.remove(get_line(invoice, line_id))
    recompute(invoice)


def _enrolled_trainee(session: TrainingSession, data: dict, errors: ErrorCollector) -> Trainee | None:
    trainee = db.session.get(Trainee, id_or_none(data.get("payer_trainee_id")) or 0)
    enrolled = trainee is not None and db.session.scalar(select(Enrolment.id).where(
        Enrolment.session_id == session.id, Enrolment.trainee_id == trainee.id)) is not None
    if not enrolled:
        errors.add("payer_trainee_id", "Stagiaire introuvable dans cette session.")
        return None
    return trainee


def _chosen_payer(session: TrainingSession, kind: str, data: dict, errors: ErrorCollector) -> dict:
    """The new draft's payer columns for a payer chosen by hand ({} with ``errors`` filled when it is not found)."""
    if kind in COMPANY_PAYERS:
        company = db.session.get(Company, id_or_none(data.get("payer_company_id")) or 0)
        category = str(data.get("funder_category") or "")
        if kind == PayerKind.PUBLIC_FUNDER.value and category not in PUBLIC_FUNDER_CATEGORIES:
            errors.add("funder_category", "Choisissez la catégorie du financeur public : région, État, instances "
                                          "européennes ou autre.")
        if company is None:
            errors.add("payer_company_id", "Entreprise introuvable : choisissez-la dans la liste.")
            return {}
        values = company_values(company)
        if kind != PayerKind.COMPANY.value:
            values["service_code"] = company.chorus_service_code or ""
        if kind == PayerKind.PUBLIC_FUNDER.value:
            values.update(opco_name=company.name[:60], funder_category=category)
        return values
    if kind in (PayerKind.OPCO.value, PayerKind.SELF_EMPLOYED_FUND.value):
        name = str(data.get("opco_name") or "")
        if kind == PayerKind.OPCO.value and name not in OPCOS:
            errors.add("opco_name", "Choisissez l'OPCO dans la liste des onze OPCO.")
        elif kind == PayerKind.SELF_EMPLOYED_FUND.value and name not in SELF_EMPLOYED_FUNDS:
            errors.add("opco_name", f"Choisissez le fonds des non-salariés : {', '.join(SELF_EMPLOYED_FUNDS)}.")
        elif kind == PayerKind.SELF_EMPLOYED_FUND.value and data.get("payer_trainee_id"):  # the trainee pays
            trainee = _enrolled_trainee(session, data, errors)
            return {**trainee_values(trainee), "opco_name": name} if trainee is not None else {}
        else:
            return {"opco_name": name, "buyer_name": name}
        return {}
    if kind == PayerKind.FRANCE_TRAVAIL.value:
        return previous_buyer({"opco_name": FRANCE_TRAVAIL, "buyer_name": FRANCE_TRAVAIL},
                               Invoice.payer_kind == PayerKind.FRANCE_TRAVAIL.value)
    trainee = _enrolled_trainee(session, data, errors)
    return trainee_values(trainee) if trainee is not None else {}


def create_draft(session: TrainingSession, data: dict, actor: User | None) -> Invoice:
    """An empty draft for a payer chosen by hand: a company, a public buyer or a public funder (by id), an OPCO or a
    self-employed fund (by name; the fund's trainee who pays, when one is chosen), France Travail, or a trainee of
    the session."""
    ensure_can_bill(actor)
    if session.is_cancelled:
        raise ConflictError("Cette session est annulée : elle ne se facture pas.")
    errors = ErrorCollector()
    kind = str(data.get("payer_kind") or "")
    values: dict = {}
    if kind not in PAYER_KINDS:
        errors.add("payer_kind", "Payeur inconnu : entreprise, OPCO, fonds des non-salariés, France Travail, "
                                 "financeur public, acheteur public ou particulier.")
    else:
        values = _chosen_payer(session, kind, data, errors)
    errors.raise_if_any()
    invoice = Invoice(kind=InvoiceKind.INVOICE.value, status=InvoiceStatus.DRAFT.value, session_id=session.id,
                      payer_kind=kind, created_by_id=actor.id if actor else None, **service_dates(session))
    for key, value in values.items():
        setattr(invoice, key, value)
    recompute(invoice)
    db.session.add(invoice)
    db.session.flush()
    return invoice


def delete_draft(invoice: Invoice, actor: User | None) -> None:
    ensure_can_bill(actor)
    if not invoice.is_draft:
        raise ConflictError("Une facture émise ne se supprime jamais : établissez un avoir pour l'annuler.")
    db.session.delete(invoice)
