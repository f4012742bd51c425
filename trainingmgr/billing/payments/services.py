"""Payments, balances, overdue invoices and their reminders, and the accounting export (sales and bank
journals). The rules (cancellation, statuses, who is reminded and when): see docs/payments.md."""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from flask import current_app, render_template
from sqlalchemy import func, select
from sqlalchemy.orm import aliased, selectinload

from ...accounts.models import User
from ...companies.models import Company
from ...core.errors import ConflictError, ErrorCollector, NotFoundError, ValidationError
from ...core.formatting import date_fr, money_fr
from ...core.persistence import get_by_id, lock_row
from ...core.spreadsheet import csv_bytes
from ...core.timeutil import PARIS, paris_date, paris_today, utcnow
from ...core.validation import MAX_AMOUNT, french_decimal
from ...messaging.bodies import html_body
from ...enrolments.models import FundingLine
from ...extensions import db
from ...files.services import path_for
from ...messaging.models import OutboxMessage
from ...messaging.services import queue_email
from ...organisation.services import get_organisation
from ...trainees.models import Trainee
from ..invoices.issue import is_public_buyer
from ..invoices.payers import COMPANY_PAYERS, FUNDER_PAYERS, TRAINEE_PAYERS
from ..models import PAYMENT_METHODS, BalanceStatus, Invoice, InvoiceKind, InvoiceLine, InvoiceStatus, Payment
from .transfer import transfer_or_none

log = logging.getLogger("trainingmgr.billing")

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
# SQLite sums money as floating point: a balance is "positive" in SQL from half a cent.
_HALF_CENT = Decimal("0.005")
MAX_REFERENCE = 100
MAX_REASON = 500

PAYMENT_STATUSES = {
    BalanceStatus.UNPAID.value: "Non réglée",
    BalanceStatus.PARTIAL.value: "Partiellement réglée",
    BalanceStatus.PAID.value: "Réglée",
    BalanceStatus.CREDITED.value: "Annulée par avoir",
}
REMINDER_TOPIC = "invoice_reminder"


def _cents(value) -> Decimal:
    if value is None:
        return ZERO
    return Decimal(str(value) if isinstance(value, float) else value).quantize(CENT, rounding=ROUND_HALF_UP)


# --------------------------------------------------------------------------- balances


@dataclass(frozen=True)
class Balance:
    """What an invoice is owed: its total, what was paid, what credit notes cancelled, the rest."""

    total: Decimal
    paid: Decimal
    credited: Decimal
    status: str | None  # None for drafts and credit notes

    @property
    def balance(self) -> Decimal:
        return self.total - self.paid - self.credited

    @property
    def overpaid(self) -> Decimal:
        """What the organisation owes back (an invoice paid, then credited)."""
        return max(ZERO, -self.balance)

    @property
    def status_label(self) -> str:
        return PAYMENT_STATUSES.get(self.status, "") if self.status else ""


def _status(invoice: Invoice, paid: Decimal, credited: Decimal) -> str | None:
    if invoice.kind != InvoiceKind.INVOICE.value or not invoice.is_issued:
        return None
    total = _cents(invoice.total_incl_vat)
    if credited > 0 and credited >= total:
        return BalanceStatus.CREDITED.value
    if total - paid - credited <= 0:
        return BalanceStatus.PAID.value
    return BalanceStatus.PARTIAL.value if paid > 0 else BalanceStatus.UNPAID.value


def _sums(ids: list[int]) -> tuple[dict[int, Decimal], dict[int, Decimal]]:
    """(paid by invoice id, credited by invoice id): two grouped queries whatever the number of invoices.
    Cancelled payments are not counted."""
    if not ids:
        return {}, {}
    paid = dict(db.session.execute(
        select(Payment.invoice_id, func.sum(Payment.amount))
        .where(Payment.invoice_id.in_(ids), Payment.cancelled_at.is_(None))
        .group_by(Payment.invoice_id)).all())
    credit = aliased(Invoice)
    credited = dict(db.session.execute(
        select(credit.credited_invoice_id, func.sum(credit.total_incl_vat))
        .where(credit.credited_invoice_id.in_(ids), credit.kind == InvoiceKind.CREDIT_NOTE.value, credit.is_issued)
        .group_by(credit.credited_invoice_id)).all())
    return ({k: _cents(v) for k, v in paid.items()}, {k: _cents(v) for k, v in credited.items()})


def balance_details(invoices) -> dict[int, Balance]:
    """The Balance of each invoice, by id. Drafts: their total (nothing can be paid yet); credit notes: 0."""
    invoices = list(invoices)
    paid, credited = _sums([i.id for i in invoices if i.kind == InvoiceKind.INVOICE.value and i.is_issued])
    details = {}
    for invoice in invoices:
        if invoice.kind != InvoiceKind.INVOICE.value:
            details[invoice.id] = Balance(ZERO, ZERO, ZERO, None)
            continue
        p, c = paid.get(invoice.id, ZERO), credited.get(invoice.id, ZERO)
        details[invoice.id] = Balance(_cents(invoice.total_incl_vat), p, c, _status(invoice, p, c))
    return details


def balances(invoices) -> dict[int, Decimal]:
    """What remains to be paid on each invoice, by id (two queries for the whole list; see balance_details)."""
    return {pk: detail.balance for pk, detail in balance_details(invoices).items()}


def balance_of(invoice: Invoice) -> Balance:
    return balance_details([invoice])[invoice.id]


def payment_status(invoice: Invoice) -> str | None:
    """unpaid / partial / paid / credited for an issued invoice; None for a draft or a credit note."""
    return balance_of(invoice).status


def payment_statuses(invoices) -> dict[int, str | None]:
    return {pk: detail.status for pk, detail in balance_details(invoices).items()}


def _unpaid_ids(today: dt.date):
    """SELECT of the ids (and what remains due) of the issued invoices past their due date with something left
    to pay.

    The payments and the credit notes are summed once each, grouped by invoice, then joined: one pass over
    each table, whatever the planner knows. (Correlated sums per invoice turned quadratic on SQLite once
    ANALYZE had seen that almost every invoice's credited_invoice_id is NULL: it then scanned the whole
    invoice table for each invoice, 10 s for the dashboard's count with ten years of invoices.)"""
    paid = (select(Payment.invoice_id.label("invoice_id"), func.sum(Payment.amount).label("amount"))
            .where(Payment.cancelled_at.is_(None)).group_by(Payment.invoice_id).subquery("paid"))
    credit = aliased(Invoice)
    credited = (select(credit.credited_invoice_id.label("invoice_id"), func.sum(credit.total_incl_vat).label("amount"))
                .where(credit.kind == InvoiceKind.CREDIT_NOTE.value, credit.is_issued, credit.credited_invoice_id.is_not(None))
                .group_by(credit.credited_invoice_id).subquery("credited"))
    due = aliased(Invoice)
    remaining = due.total_incl_vat - func.coalesce(paid.c.amount, 0) - func.coalesce(credited.c.amount, 0)
    return (select(due.id, remaining.label("remaining"))
            .outerjoin(paid, paid.c.invoice_id == due.id)
            .outerjoin(credited, credited.c.invoice_id == due.id)
            .where(due.kind == InvoiceKind.INVOICE.value, due.is_issued, due.due_date.is_not(None), due.due_date < today,
                   remaining > _HALF_CENT))


def _unpaid_conditions(today: dt.date) -> tuple:
    """Issued invoices past their due date with something left to pay (in SQL)."""
    return (Invoice.id.in_(select(_unpaid_ids(today).subquery().c.id)),)


# --------------------------------------------------------------------------- payments


def get_invoice(invoice_id) -> Invoice:
    return get_by_id(Invoice, invoice_id, "Facture introuvable.")


def check_payable(invoice: Invoice) -> None:
    """Payments and reminders concern issued invoices only (409 otherwise)."""
    if invoice.kind != InvoiceKind.INVOICE.value:
        raise ConflictError("Un avoir ne reçoit pas de paiement : enregistrez le paiement sur la facture.")
    if not invoice.is_issued:
        raise ConflictError("Cette facture est encore un brouillon : un paiement ne s'enregistre que sur une "
                            "facture émise.")


def _parse_amount(value, errors: ErrorCollector) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        errors.add("amount", "Le montant est obligatoire.")
        return None
    try:
        number = value if isinstance(value, Decimal) else french_decimal(str(value))
    except (InvalidOperation, ValueError):
        errors.add("amount", "Le montant doit être un nombre, par exemple 600 ou 1 234,56.")
        return None
    if not number.is_finite():
        errors.add("amount", "Le montant doit être un nombre, par exemple 600 ou 1 234,56.")
    elif number <= 0:
        errors.add("amount", "Le montant doit être supérieur à 0 €.")
    elif number != number.quantize(CENT):
        errors.add("amount", "Le montant : deux décimales au plus.")
    elif number > MAX_AMOUNT:
        errors.add("amount", "Le montant doit être inférieur à 10 millions d'euros.")
    else:
        return number.quantize(CENT)
    return None


def record_payment(invoice: Invoice, data: dict, actor: User, *, today: dt.date | None = None) -> Payment:
    """Record a payment received for ``invoice``: data holds paid_on (date), amount, method and reference."""
    check_payable(invoice)
    lock_row(Invoice, invoice.id)  # two payments at once: the second waits, then sees the first
    today = today or paris_today()
    errors = ErrorCollector()
    paid_on = data.get("paid_on")
    if paid_on in (None, ""):
        errors.add("paid_on", "La date du paiement est obligatoire.")
    elif not isinstance(paid_on, dt.date) or isinstance(paid_on, dt.datetime):
        errors.add("paid_on", "Date du paiement invalide (format JJ/MM/AAAA).")
    elif paid_on > today:
        errors.add("paid_on", "La date du paiement ne peut pas être dans le futur.")
    elif invoice.issue_date and paid_on < invoice.issue_date:
        errors.add("paid_on", "La date du paiement ne peut pas précéder l'émission de la facture "
                              f"({date_fr(invoice.issue_date)}).")
    amount = _parse_amount(data.get("amount"), errors)
    method = data.get("method") or ""
    if method not in PAYMENT_METHODS:
        errors.add("method", "Choisissez un mode de paiement dans la liste.")
    reference = " ".join(str(data.get("reference") or "").split())
    if len(reference) > MAX_REFERENCE:
        errors.add("reference", f"La référence ne doit pas dépasser {MAX_REFERENCE} caractères.")
    balance = balance_of(invoice)  # read after the lock
    if balance.status == BalanceStatus.CREDITED.value or balance.balance <= 0:
        raise ConflictError("Cette facture est soldée : il ne reste rien à payer "
                            f"(solde restant dû : {money_fr(max(ZERO, balance.balance))}).")
    if amount is not None and amount > balance.balance:
        errors.add("amount", f"Le montant ({money_fr(amount)}) est supérieur au solde restant dû "
                             f"({money_fr(balance.balance)}).")
    errors.raise_if_any()
    payment = Payment(invoice_id=invoice.id, paid_on=paid_on, amount=amount, method=method, reference=reference,
                      created_by_id=actor.id if actor else None)
    db.session.add(payment)
    db.session.flush()
    log.info("Paiement %s de %s enregistré sur la facture %s par %s", payment.id, amount, invoice.number,
             getattr(actor, "email", "?"))
    return payment


def can_cancel(payment: Payment) -> bool:
    """Any payment not cancelled yet may be cancelled (with a reason), whatever the day."""
    return payment.cancelled_at is None


def get_payment(invoice: Invoice, payment_id) -> Payment:
    payment = get_by_id(Payment, payment_id, "Paiement introuvable.")
    if payment.invoice_id != invoice.id:
        raise NotFoundError("Paiement introuvable.")
    return payment


def cancel_payment(payment: Payment, reason: str, actor: User | None, *, now: dt.datetime | None = None) -> Payment:
    """Cancel a payment recorded by mistake, with a reason: the row stays (who, when, why) and no longer counts in
    balances, statuses, the overdue list, reminders or the accounting export. Final: a payment received after all
    is recorded again."""
    reason = " ".join(str(reason or "").split())
    if len(reason) < 3:
        raise ValidationError("Indiquez pourquoi ce paiement est annulé (saisie erronée, doublon, chèque "
                              "impayé…).", field="reason")
    if len(reason) > MAX_REASON:
        raise ValidationError(f"Le motif ne doit pas dépasser {MAX_REASON} caractères.", field="reason")
    invoice = payment.invoice
    lock_row(Invoice, invoice.id)  # a cancellation and a payment at once: the balance is read after both
    db.session.refresh(payment)  # another advisor may have cancelled it meanwhile
    if payment.cancelled_at is not None:
        who = payment.cancelled_by.name or payment.cancelled_by.email if payment.cancelled_by else "quelqu'un"
        raise ConflictError(f"Ce paiement a déjà été annulé le {date_fr(paris_date(payment.cancelled_at))} par "
                            f"{who} : « {payment.cancel_reason} ».")
    payment.cancelled_at = now or utcnow()
    payment.cancelled_by_id = actor.id if actor else None
    payment.cancel_reason = reason
    db.session.flush()
    log.info("Paiement %s annulé (facture %s, %s du %s, %s, réf. « %s ») par %s : %s", payment.id,
             invoice.number, payment.amount, payment.paid_on, payment.method, payment.reference,
             getattr(actor, "email", "?"), reason)
    return payment


# --------------------------------------------------------------------------- overdue invoices and reminders


@dataclass(frozen=True)
class OverdueInvoice:
    invoice: Invoice
    balance: Balance
    days_late: int
    recipient: str
    reminded_today: bool


def overdue_count(today: dt.date | None = None) -> int:
    """Issued invoices past their due date and not fully paid: one query (the dashboard's warning)."""
    return overdue_summary(today)[0]


def overdue_summary(today: dt.date | None = None) -> tuple[int, Decimal]:
    """(how many, what remains due on them including VAT): the overdue list's headline, in one query."""
    unpaid = _unpaid_ids(today or paris_today()).subquery()
    count, remaining = db.session.execute(select(func.count(), func.coalesce(func.sum(unpaid.c.remaining), 0))
                                          .select_from(unpaid)).one()
    return count or 0, _cents(remaining)


def overdue_invoices(today: dt.date | None = None) -> list[OverdueInvoice]:
    """Issued invoices past their due date with a balance, the oldest due first, with their days late."""
    today = today or paris_today()
    invoices = list(db.session.scalars(select(Invoice).where(*_unpaid_conditions(today))
                                       .order_by(Invoice.due_date, Invoice.number)))
    details = balance_details(invoices)
    recipients = reminder_recipients(invoices)
    rows = []
    for invoice in invoices:
        if details[invoice.id].balance <= 0:  # pragma: no cover - the SQL condition already excludes them
            continue
        rows.append(OverdueInvoice(invoice, details[invoice.id], (today - invoice.due_date).days,
                                   recipients.get(invoice.id, ""), paris_date(invoice.last_reminder_at) == today))
    return rows


def reminder_recipients(invoices) -> dict[int, str]:
    """Who receives each invoice's reminder (a few queries for the whole list): the buyer's e-mail on the
    invoice; failing that a funder's adviser on its funding lines (an OPCO, a fund under subrogation, France
    Travail, a public funder), a company's accounting contact (else its signatory: a company, a public buyer or a
    public funder on file), the trainee who pays (personally, or as a self-employed professional refunded by their
    fund). "" when nobody is known."""
    invoices = list(invoices)
    found = {i.id: i.buyer_email.strip() for i in invoices if (i.buyer_email or "").strip()}
    rest = [i for i in invoices if i.id not in found]
    funder_ids = [i.id for i in rest if i.payer_kind in FUNDER_PAYERS and i.payer_trainee_id is None]
    if funder_ids:
        for invoice_id, email in db.session.execute(
                select(InvoiceLine.invoice_id, FundingLine.opco_contact_email)
                .join(FundingLine, FundingLine.id == InvoiceLine.funding_line_id)
                .where(InvoiceLine.invoice_id.in_(funder_ids), FundingLine.opco_contact_email != "")
                .order_by(InvoiceLine.invoice_id, InvoiceLine.position)):
            found.setdefault(invoice_id, email.strip())
    company_ids = {i.payer_company_id for i in rest
                   if i.payer_kind in COMPANY_PAYERS} - {None}
    if company_ids:
        companies = {c.id: c for c in db.session.scalars(select(Company).where(Company.id.in_(company_ids)))}
        for invoice in rest:
            company = (companies.get(invoice.payer_company_id)
                       if invoice.payer_kind in COMPANY_PAYERS else None)
            contact = company.contact("accounting", "signatory") if company else None
            if contact is not None:
                found.setdefault(invoice.id, contact.email.strip())
    paying = [i for i in rest
              if i.payer_trainee_id is not None and i.payer_kind in TRAINEE_PAYERS]
    if paying:
        emails = dict(db.session.execute(select(Trainee.id, Trainee.email).where(
            Trainee.id.in_({i.payer_trainee_id for i in paying}))).all())
        for invoice in paying:
            if emails.get(invoice.payer_trainee_id):
                found.setdefault(invoice.id, emails[invoice.payer_trainee_id].strip())
    return found


def reminder_recipient(invoice: Invoice) -> str:
    return reminder_recipients([invoice]).get(invoice.id, "")


def _attachment(invoice: Invoice) -> tuple[str, str, bytes] | None:
    """The invoice's Factur-X PDF, else its DOCX, checked against the SHA-256 it was stored with."""
    for stored, extension in ((invoice.pdf_file, "pdf"), (invoice.docx_file, "docx")):
        if stored is None:
            continue
        try:
            data = path_for(stored).read_bytes()
        except OSError:
            raise ConflictError(f"Le fichier de la facture {invoice.number} est introuvable dans le stockage : "
                                "la relance n'est pas envoyée.") from None
        if hashlib.sha256(data).hexdigest() != stored.sha256:
            raise ConflictError(f"Le fichier de la facture {invoice.number} ne correspond plus à son empreinte "
                                "SHA-256 : il a été altéré, la relance n'est pas envoyée.")
        return f"{invoice.number}.{extension}", stored.content_type, data
    return None


def send_reminder(invoice: Invoice, actor: User | None = None, *, now: dt.datetime | None = None) -> OutboxMessage:
    """Queue a reminder of an overdue invoice (the *Relancer* button) and count it. The automatic reminders are
    automation rules (automations/triggers/billing.py: invoice_overdue), counted the same way."""
    check_payable(invoice)
    now = now or utcnow()
    today = now.astimezone(PARIS).date()
    lock_row(Invoice, invoice.id)
    db.session.refresh(invoice)  # another reminder may have been counted meanwhile
    balance = balance_of(invoice)
    if balance.balance <= 0:
        raise ConflictError(f"La facture {invoice.number} est soldée ({balance.status_label.lower()}) : "
                            "pas de relance.")
    if invoice.due_date is None or invoice.due_date >= today:
        due = f" (échéance le {date_fr(invoice.due_date)})" if invoice.due_date else ""
        raise ConflictError(f"La facture {invoice.number} n'est pas encore échue{due} : pas de relance.")
    if paris_date(invoice.last_reminder_at) == today:
        raise ConflictError(f"Une relance de la facture {invoice.number} a déjà été envoyée aujourd'hui.")
    recipient = reminder_recipient(invoice)
    if not recipient:
        raise ConflictError(f"Aucun destinataire pour la relance de la facture {invoice.number} : renseignez "
                            "l'e-mail de l'acheteur, ou le contact comptabilité de l'entreprise.")
    attachment = _attachment(invoice)
    transfer, _ = transfer_or_none(invoice, balance.balance)  # the EPC QR code for what remains due
    number = invoice.reminder_count + 1
    text = render_template(f"mail/{REMINDER_TOPIC}.txt", invoice=invoice, balance=balance, number=number,
                           days_late=(today - invoice.due_date).days, attached=attachment is not None,
                           org=get_organisation(), public_terms=is_public_buyer(invoice), transfer=transfer)
    subject = (f"{'Relance' if number == 1 else f'Relance n° {number}'} : facture {invoice.number} échue – "
               f"reste dû {money_fr(balance.balance)}")
    attachments = [attachment] if attachment else []
    if transfer is not None:
        attachments.append((f"virement-{invoice.number}.png", "image/png", transfer.png()))
    message = queue_email(recipient, subject, text, html_body(text), topic=REMINDER_TOPIC,
                          attachments=attachments or None)
    invoice.reminder_count = number
    invoice.last_reminder_at = now
    log.info("Relance n° %s de la facture %s envoyée à %s (%s)", number, invoice.number, recipient,
             getattr(actor, "email", "automatique"))
    return message


# --------------------------------------------------------------------------- accounting export


JOURNAL_HEADERS = ("Journal", "Date", "Pièce", "Compte", "Compte auxiliaire", "Libellé", "Débit", "Crédit")


@dataclass
class JournalLine:
    journal: str
    date: dt.date
    piece: str
    account: str
    auxiliary: str
    label: str
    debit: Decimal = ZERO
    credit: Decimal = ZERO

    def row(self) -> tuple:
        return (self.journal, self.date, self.piece, self.account, self.auxiliary, self.label, self.debit,
                self.credit)


@dataclass
class Journal:
    start: dt.date
    end: dt.date
    lines: list[JournalLine] = field(default_factory=list)
    # The payments of the period that were cancelled: no entry (an earlier export may hold them; see the module).
    cancelled: list[Payment] = field(default_factory=list)

    def totals(self, journal: str | None = None) -> tuple[Decimal, Decimal]:
        lines = [x for x in self.lines if journal is None or x.journal == journal]
        return sum((x.debit for x in lines), ZERO), sum((x.credit for x in lines), ZERO)

    def pieces(self, journal: str | None = None) -> int:
        return len({(x.journal, x.piece) for x in self.lines if journal is None or x.journal == journal})


def _ascii_upper(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^A-Z0-9]", "", plain.upper())


def customer_account(invoice: Invoice, root: str = "411") -> str:
    """The customer's auxiliary account: 411C00012 for company 12 (public buyers, and public funders on file, too),
    411P00007 for trainee 7 paying (personally, or as a professional refunded by their fund), 411OPCOEP for an OPCO
    (411FIFPL, 411FRANCETRAVAIL, 411REGIONOCCITANIE for the other funders), 411DIVERS otherwise (at most 17
    characters)."""
    funder = _ascii_upper(invoice.opco_name or invoice.buyer_name)
    if invoice.payer_kind in COMPANY_PAYERS and invoice.payer_company_id:
        code = f"C{invoice.payer_company_id:05d}"
    elif invoice.payer_kind in TRAINEE_PAYERS and invoice.payer_trainee_id:
        code = f"P{invoice.payer_trainee_id:05d}"
    elif invoice.payer_kind in FUNDER_PAYERS and funder:
        code = funder
    else:
        code = "DIVERS"
    return (root + code)[:17]


def _parse_period_date(raw: str | None, label: str) -> dt.date:
    if not (raw or "").strip():
        raise ValidationError(f"Indiquez la date {label} (format AAAA-MM-JJ).")
    try:
        return dt.date.fromisoformat((raw or "").strip())
    except ValueError:
        raise ValidationError(f"Date {label} invalide : « {raw[:40]} » (format attendu AAAA-MM-JJ).") from None


def default_period(today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """The previous calendar month."""
    first_of_month = (today or paris_today()).replace(day=1)
    end = first_of_month - dt.timedelta(days=1)
    return end.replace(day=1), end


def parse_period(start: str | None, end: str | None) -> tuple[dt.date, dt.date]:
    """?du=AAAA-MM-JJ&au=AAAA-MM-JJ (the previous month when both are absent)."""
    if not (start or "").strip() and not (end or "").strip():
        return default_period()
    first = _parse_period_date(start, "de début (du)")
    last = _parse_period_date(end, "de fin (au)")
    if last < first:
        raise ValidationError("La date de fin (au) précède la date de début (du).")
    if (last - first).days > 366 * 5:
        raise ValidationError("Choisissez une période de cinq ans au plus.")
    return first, last


def journal(start: dt.date, end: dt.date) -> Journal:
    """The sales journal (VT: each issued invoice and credit note of the period, by issue date) and the bank
    journal (BQ: each payment not cancelled, by payment date). Each piece balances (debit = credit). The cancelled
    payments of the period produce no entry; they are listed apart (``Journal.cancelled``)."""
    accounts = current_app.config["BILLING_ACCOUNTS"]
    result = Journal(start, end)
    _add_sales(result, accounts)
    _add_bank(result, accounts)
    return result


def _add_sales(result: Journal, accounts: dict) -> None:
    """One sales piece per invoice or credit note issued in the period (a credit note's lines reversed)."""
    documents = list(db.session.scalars(
        select(Invoice).where(Invoice.status == InvoiceStatus.ISSUED.value, Invoice.issue_date >= result.start,
                              Invoice.issue_date <= result.end)
        .order_by(Invoice.issue_date, Invoice.kind.desc(), Invoice.number)))
    credited_ids = {d.credited_invoice_id for d in documents if d.kind == InvoiceKind.CREDIT_NOTE.value} - {None}
    credited_numbers = dict(db.session.execute(select(Invoice.id, Invoice.number)
                                               .where(Invoice.id.in_(credited_ids))).all()) if credited_ids else {}
    for document in documents:
        result.lines.extend(_sales_piece(document, credited_numbers.get(document.credited_invoice_id) or "",
                                         accounts))


def _sales_piece(document: Invoice, credited_number: str, accounts: dict) -> list[JournalLine]:
    sales, root = accounts.get("sales_journal", "VT"), accounts["customer"]
    total, vat, net = (_cents(document.total_incl_vat), _cents(document.total_vat), _cents(document.total_excl_vat))
    if net + vat != total:
        raise ConflictError(f"{document.kind_label} {document.number} : le total TTC ({money_fr(total)}) "
                            f"n'est pas la somme du HT ({money_fr(net)}) et de la TVA ({money_fr(vat)}) ; "
                            "corrigez-la par un avoir avant l'export.")
    customer = customer_account(document, root)
    if document.kind == InvoiceKind.CREDIT_NOTE.value:
        of = credited_number
        label = f"Avoir {document.number}{f' sur {of}' if of else ''} – {document.buyer_name}"
    else:
        label = f"Facture {document.number} – {document.buyer_name}"
    label = label[:120]
    lines = [JournalLine(sales, document.issue_date, document.number, root, customer, label, debit=total),
             JournalLine(sales, document.issue_date, document.number, accounts["revenue"], "", label, credit=net)]
    if vat > 0:
        lines.append(JournalLine(sales, document.issue_date, document.number, accounts["vat"], "", label, credit=vat))
    if document.kind == InvoiceKind.CREDIT_NOTE.value:  # reversed
        for line in lines:
            line.debit, line.credit = line.credit, line.debit
    return lines


def _add_bank(result: Journal, accounts: dict) -> None:
    """One bank piece per payment of the period not cancelled; the cancelled ones listed apart."""
    bank, root = accounts.get("bank_journal", "BQ"), accounts["customer"]
    payments = db.session.execute(
        select(Payment, Invoice).join(Invoice, Invoice.id == Payment.invoice_id)
        .where(Payment.paid_on >= result.start, Payment.paid_on <= result.end)
        .options(selectinload(Payment.cancelled_by))
        .order_by(Payment.paid_on, Payment.id)).all()
    for payment, invoice in payments:
        if payment.cancelled_at is not None:
            result.cancelled.append(payment)
            continue
        label = " – ".join(p for p in (f"Règlement {invoice.number}", payment.method_label,
                                       payment.reference, invoice.buyer_name) if p)[:120]
        amount = _cents(payment.amount)
        result.lines.append(JournalLine(bank, payment.paid_on, invoice.number, accounts["bank"], "", label,
                                        debit=amount))
        result.lines.append(JournalLine(bank, payment.paid_on, invoice.number, root,
                                        customer_account(invoice, root), label, credit=amount))


def journal_csv(entries: Journal, counted: Callable[[list], Iterable] = iter) -> bytes:
    """UTF-8 with BOM, ";", decimal commas, dates 25/11/2026 (core/spreadsheet); ``counted`` wraps the lines as
    they are written (an export task's progress)."""
    return csv_bytes(JOURNAL_HEADERS, (line.row() for line in counted(entries.lines)))


def journal_filename(entries: Journal) -> str:
    return f"journal-ventes-banque_{entries.start.isoformat()}_{entries.end.isoformat()}.csv"


# --------------------------------------------------------------------------- the invoice page's panel


def issued_credit_notes(invoice) -> list[Invoice]:
    """The credit notes issued against an issued invoice, in the order of their issue."""
    if invoice.kind != InvoiceKind.INVOICE.value or not invoice.is_issued:
        return []
    return list(db.session.scalars(
        select(Invoice).where(Invoice.credited_invoice_id == invoice.id, Invoice.kind == InvoiceKind.CREDIT_NOTE.value,
                              Invoice.is_issued).order_by(Invoice.issue_date, Invoice.number)))
