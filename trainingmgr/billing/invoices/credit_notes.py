"""Credit notes: full or partial, never beyond what remains uncredited, issued at once."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select

from ...accounts.models import User
from ...core.errors import ConflictError, ErrorCollector, ValidationError
from ...core.formatting import date_fr, money_fr
from ...core.numbers import money
from ...core.persistence import lock_row
from ...core.timeutil import paris_today
from ...core.validation import parse_decimal
from ...extensions import db
from ..models import Invoice, InvoiceKind, InvoiceLine, InvoiceStatus
from .amounts import ZERO, excl_vat, recompute
from .drafts import MAX_DESCRIPTION
from .issue import frozen_seller, is_public_buyer, issue_problems, refuse, take_number_and_produce
from .queries import ensure_can_bill

# What a credit note takes from the invoice it cancels.
COPIED_COLUMNS = ("session_id", "payer_kind", "payer_company_id", "payer_trainee_id", "buyer_name", "buyer_address",
                  "buyer_postal_code", "buyer_city", "buyer_country", "buyer_siret", "buyer_vat_number",
                  "buyer_email", "opco_name", "opco_file_number", "beneficiary_company_id", "funder_category",
                  "service_code", "engagement_number", "buyer_reference", "service_start", "service_end")


def credit_invoice(invoice: Invoice, actor: User | None, amount=None, reason: str = "",
                   today: dt.date | None = None) -> Invoice:
    """A credit note against an issued invoice, issued at once: the whole remainder (``amount`` None or empty),
    or ``amount`` including VAT, never more than what remains uncredited."""
    ensure_can_bill(actor)
    reason, wanted = _clean_request(reason, amount)
    lock_row(Invoice, invoice.id)  # two credit notes at once cannot together exceed the invoice
    db.session.refresh(invoice)
    credited, remaining = _uncredited(invoice, wanted)
    note = Invoice(kind=InvoiceKind.CREDIT_NOTE.value, status=InvoiceStatus.DRAFT.value, credited_invoice=invoice,
                   reason=reason, created_by_id=actor.id if actor else None)
    for column in COPIED_COLUMNS:
        setattr(note, column, getattr(invoice, column))
    _add_lines(note, invoice, credited, wanted, remaining)
    recompute(note)
    if note.total_incl_vat > remaining:  # a cent of rounding on a partial amount with VAT
        raise ValidationError(f"L'avoir ({money_fr(note.total_incl_vat)}) dépasse ce qui reste à annuler "
                              f"({money_fr(remaining)}).", field="amount")
    seller = frozen_seller(note.payer_kind, is_public_buyer(note))
    refuse(issue_problems(note, seller))
    note.seller = seller
    note.payment_terms = (f"Avoir à imputer sur la facture n° {invoice.number} ; la somme éventuellement déjà "
                          "réglée au-delà est remboursée par virement.")
    db.session.add(note)
    db.session.flush()
    take_number_and_produce(note, actor, today or paris_today())
    return note


def _clean_request(reason, amount) -> tuple[str, Decimal | None]:
    """The reason (3 to 2000 characters) and the amount asked, including VAT (None: the whole remainder)."""
    reason = str(reason or "").strip()
    errors = ErrorCollector()
    if len(reason) < 3:
        errors.add("reason", "Indiquez le motif de l'avoir.")
    elif len(reason) > 2000:
        errors.add("reason", "Le motif ne doit pas dépasser 2000 caractères.")
    wanted = parse_decimal(amount, "amount", errors, label="Le montant de l'avoir", positive=True)
    errors.raise_if_any()
    return reason, wanted


def _uncredited(invoice: Invoice, wanted: Decimal | None) -> tuple[list[Invoice], Decimal]:
    """The credit notes already issued against ``invoice`` and what remains to cancel, refusing what cannot be."""
    if invoice.kind != InvoiceKind.INVOICE.value:
        raise ConflictError("Un avoir ne s'annule pas par un autre avoir.")
    if not invoice.is_issued:
        raise ConflictError("Un brouillon se modifie ou se supprime : l'avoir ne s'applique qu'à une facture émise.")
    credited = list(db.session.scalars(select(Invoice).where(
        Invoice.credited_invoice_id == invoice.id, Invoice.kind == InvoiceKind.CREDIT_NOTE.value, Invoice.is_issued)))
    remaining = money(invoice.total_incl_vat - sum((c.total_incl_vat for c in credited), ZERO))
    if remaining <= 0:
        raise ConflictError(f"La facture {invoice.number} est déjà entièrement annulée par avoir.")
    if wanted is not None and wanted > remaining:
        raise ValidationError(f"L'avoir ({money_fr(wanted)}) dépasse ce qui reste à annuler sur la facture "
                              f"{invoice.number} ({money_fr(remaining)}).", field="amount")
    return credited, remaining


def _add_lines(note: Invoice, invoice: Invoice, credited: list[Invoice], wanted: Decimal | None,
               remaining: Decimal) -> None:
    """A first, whole credit note copies the invoice's lines; otherwise one line for the amount (one VAT rate)."""
    if wanted is None and not credited:
        for line in invoice.lines:
            note.lines.append(InvoiceLine(
                description=line.description, quantity=line.quantity, unit=line.unit,
                unit_price_excl_vat=line.unit_price_excl_vat, vat_rate=line.vat_rate, hours=line.hours,
                enrolment_id=line.enrolment_id, funding_line_id=line.funding_line_id, total_excl_vat=ZERO))
        return
    rates = {line.vat_rate for line in invoice.lines} or {ZERO}
    if len(rates) > 1:
        raise ValidationError("La facture porte plusieurs taux de TVA : un avoir partiel n'est pas possible, "
                              "établissez un avoir total.", field="amount")
    rate = next(iter(rates))
    if wanted is None:
        excl = money(invoice.total_excl_vat - sum((c.total_excl_vat for c in credited), ZERO))
        label = f"Annulation du solde de la facture n° {invoice.number} du {date_fr(invoice.issue_date)}"
        if rate and money(excl * rate / 100) != money(invoice.total_vat - sum((c.total_vat for c in credited), ZERO)):
            excl = excl_vat(remaining, rate)
    else:
        excl = excl_vat(wanted, rate)
        label = f"Avoir partiel sur la facture n° {invoice.number} du {date_fr(invoice.issue_date)}"
    note.lines.append(InvoiceLine(description=f"{label} : {note.reason}"[:MAX_DESCRIPTION], quantity=Decimal("1"),
                                  unit="C62", unit_price_excl_vat=excl, vat_rate=rate, total_excl_vat=ZERO))
