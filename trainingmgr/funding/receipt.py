"""The facture acquittée of a fund of the self-employed (FIF PL, AGEFICE…): each of the enrolment's issued invoices to
the trainee or to the fund stated as paid, from its payments; for an enrolment with a self_employed_fund line whose
invoices are fully paid. Registered with the documents engine (documents/providers.py) as the "receipt" type; the
fund's refund pack (packs.py) carries it."""
from __future__ import annotations

from sqlalchemy import and_, or_, select

from ..billing.kinds import PayerKind
from ..billing.models import BalanceStatus, Invoice, InvoiceKind, InvoiceLine, InvoiceStatus
from ..billing.payments import services as billing_payments
from ..core.formatting import date_fr, money_fr
from ..documents import providers
from ..documents.funders import ZERO, fund_line, fund_name, the
from ..documents.rendering import context as builders
from ..enrolments.models import Enrolment
from ..extensions import db


def _to_the(name: str) -> str:
    return f"à l'{name}" if name[:1].upper() in "AEIOUY" else f"au {name}"


def receipt_problem(enrolment: Enrolment) -> str | None:
    """Why the facture acquittée (and the fund's refund pack) cannot be made: no fund line, no issued invoice, or
    an invoice not fully paid (what remains due, invoice by invoice)."""
    line = fund_line(enrolment)
    if line is None:
        return ("Ce stagiaire n'est pas financé par un fonds des non-salariés (FIF PL, AGEFICE, FAFCEA…) : pas de "
                "dossier de remboursement.")
    found = fund_invoices(enrolment)
    if not found:
        return (f"Aucune facture n'est émise pour cette formation au stagiaire ou {_to_the(fund_name(line))} : "
                "émettez-la d'abord (Facturation de la session).")
    unpaid = [(invoice, balance) for invoice, balance in found if balance.balance > 0]
    if unpaid:
        dues = " ; ".join(f"il reste {money_fr(balance.balance)} à régler sur la facture n° {invoice.number} "
                          f"({money_fr(balance.total)} TTC)" for invoice, balance in unpaid)
        fund = the(fund_name(line))
        return (f"Facture non acquittée : {dues}. {fund[:1].upper()}{fund[1:]} rembourse sur facture acquittée : "
                "enregistrez d'abord le paiement.")
    return None


def fund_invoices(enrolment: Enrolment) -> list[tuple[Invoice, billing_payments.Balance]]:
    """The enrolment's issued invoices to the trainee (for this session) or to a fund of the self-employed (a line
    for this enrolment), oldest first, with their balances; those wholly cancelled by credit notes left out."""
    billed = select(InvoiceLine.invoice_id).where(InvoiceLine.enrolment_id == enrolment.id)
    to_trainee = and_(Invoice.payer_trainee_id == enrolment.trainee_id, Invoice.session_id == enrolment.session_id)
    to_fund = and_(Invoice.payer_kind == PayerKind.SELF_EMPLOYED_FUND.value, Invoice.id.in_(billed))
    invoices = list(db.session.scalars(select(Invoice).where(
        Invoice.kind == InvoiceKind.INVOICE.value, Invoice.status == InvoiceStatus.ISSUED.value, or_(to_trainee, to_fund))
        .order_by(Invoice.issue_date, Invoice.id)))
    balances = billing_payments.balance_details(invoices)
    return [(invoice, balances[invoice.id]) for invoice in invoices if balances[invoice.id].status != BalanceStatus.CREDITED.value]


def _statement(invoice: Invoice, balance: billing_payments.Balance, payments: list) -> str:
    """« Facture n° F2026-0003 acquittée le 15/12/2026 par virement, montant 600,00 € »."""
    methods = " et ".join(dict.fromkeys(p.method_label.lower() for p in payments))
    last = max((p.paid_on for p in payments), default=None)
    text = f"Facture n° {invoice.number} acquittée le {date_fr(last)} par {methods}, montant {money_fr(balance.paid)}"
    if balance.credited:
        text += f" (après un avoir de {money_fr(balance.credited)})"
    return text


def receipt(enrolment: Enrolment, number: str) -> dict:
    """The facture acquittée: each invoice with its acquittal statement, and the payments received."""
    result = builders.trainee_document(enrolment, number)
    line = fund_line(enrolment)
    invoices, payments, payers, days = [], [], [], []
    total = ZERO
    for invoice, balance in fund_invoices(enrolment):
        received = [p for p in invoice.payments if not p.is_cancelled]
        invoices.append({"number": invoice.number, "issue_date": date_fr(invoice.issue_date),
                         "total": money_fr(invoice.total_incl_vat), "statement": _statement(invoice, balance, received)})
        payments += [{"invoice": invoice.number, "date": date_fr(p.paid_on), "method": p.method_label,
                      "reference": p.reference or "—", "amount": money_fr(p.amount)} for p in received]
        payers.append(invoice.buyer_name)
        days += [p.paid_on for p in received]
        total += balance.paid
    result["fund"] = {"name": fund_name(line), "file_number": line.opco_file_number or "",
                      "member_number": line.opco_member_number or ""}
    result["receipt"] = {"payer": " et ".join(dict.fromkeys(payers)), "total_paid": money_fr(total),
                         "paid_on": date_fr(max(days)) if days else "", "invoices": invoices, "payments": payments}
    return result


providers.register_enrolment_document("receipt", receipt, receipt_problem)
