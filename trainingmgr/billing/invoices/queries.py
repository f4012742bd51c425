"""Reading invoices: one invoice (staff only), the lists and their totals, what a credit note has cancelled."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ...accounts.models import User
from ...accounts.permissions import ensure_staff_or_system, is_staff_or_system
from ...core.numbers import money
from ...core.paging import PER_PAGE, Page
from ...core.persistence import get_by_id
from ...extensions import db
from ...sessions.models import TrainingSession
from ..models import Invoice, InvoiceKind, InvoiceStatus
from .amounts import ZERO


def can_bill(actor: User | None) -> bool:
    """The advisor and the admin bill; no actor is the application itself (CLI, worker)."""
    return is_staff_or_system(actor)


def ensure_can_bill(actor: User | None) -> None:
    ensure_staff_or_system(actor, "Seul le conseiller formation gère la facturation.")


def sessions_of(invoices) -> dict[int, TrainingSession]:
    """The invoices' sessions by id (title and dates loaded), in one query."""
    ids = {i.session_id for i in invoices if i.session_id is not None}
    if not ids:
        return {}
    return {s.id: s for s in db.session.scalars(
        select(TrainingSession).where(TrainingSession.id.in_(ids))
        .options(selectinload(TrainingSession.course_version), selectinload(TrainingSession.slots)))}


def session_of(invoice: Invoice) -> TrainingSession | None:
    return db.session.get(TrainingSession, invoice.session_id) if invoice.session_id is not None else None


def get_invoice(invoice_id, actor: User | None = None) -> Invoice:
    ensure_can_bill(actor)
    return get_by_id(Invoice, invoice_id, "Facture introuvable.")


# The latest first; drafts, which have no date yet, first of all.
LIST_ORDER = (Invoice.issue_date.desc().nulls_first(), Invoice.sequence.desc(), Invoice.id.desc())


def _filtered(query, *, status: str | None, kind: str | None, year: int | None, session_id: int | None):
    """The invoices list's filters, for its rows and for its totals alike."""
    for column, value in ((Invoice.status, status), (Invoice.kind, kind), (Invoice.year, year),
                          (Invoice.session_id, session_id)):
        if value:
            query = query.where(column == value)
    return query


def list_invoices(*, status: str | None = None, kind: str | None = None, year: int | None = None,
                  session_id: int | None = None, limit: int = 1000) -> list[Invoice]:
    """Invoices and credit notes, the latest first (drafts, which have no date yet, first of all)."""
    query = _filtered(select(Invoice).options(selectinload(Invoice.lines)), status=status, kind=kind, year=year,
                      session_id=session_id)
    return list(db.session.scalars(query.order_by(*LIST_ORDER).limit(limit)))


def invoice_page(page: int = 1, *, status: str | None = None, kind: str | None = None, year: int | None = None
                 ) -> Page:
    """One page of the invoices list, in list_invoices' order (a count and the rows, whatever the history)."""
    return invoice_list(page, status=status, kind=kind, year=year)[0]


def invoice_list(page: int = 1, *, status: str | None = None, kind: str | None = None, year: int | None = None
                 ) -> tuple[Page, IssuedTotals]:
    """The invoices list: one page in list_invoices' order and the issued totals of the whole selection
    (issued_totals' figures), in three statements.

    - the selection's count and its issued totals in one pass (aggregates with FILTER): the only part that
      still reads the whole selection, from the narrow ix_invoice_status_kind_total on SQLite (and on
      PostgreSQL once VACUUM has set the visibility map; the table's rows before);
    - the page's ids in the list's order, which an index gives (ix_invoice_status_order with a status,
      ix_invoice_issue_date without): no sort of every invoice;
    - their rows, by primary key alone, put back in that order (with the filters and the order kept on this
      query too, SQLite walked the status's whole index to find the fifty ids)."""
    issued = Invoice.status == InvoiceStatus.ISSUED.value
    total, invoiced, credited = db.session.execute(_filtered(
        select(func.count(),
               func.sum(Invoice.total_excl_vat).filter(issued, Invoice.kind == InvoiceKind.INVOICE.value),
               func.sum(Invoice.total_excl_vat).filter(issued, Invoice.kind == InvoiceKind.CREDIT_NOTE.value)).select_from(Invoice),
        status=status, kind=kind, year=year, session_id=None)).one()
    keys = list(db.session.scalars(
        _filtered(select(Invoice.id), status=status, kind=kind, year=year, session_id=None)
        .order_by(*LIST_ORDER).limit(PER_PAGE).offset((page - 1) * PER_PAGE)))
    found = {invoice.id: invoice for invoice in db.session.scalars(select(Invoice).where(Invoice.id.in_(keys)))
             } if keys else {}
    return (Page([found[key] for key in keys if key in found], total or 0, page, PER_PAGE),
            IssuedTotals(money(invoiced or 0), money(credited or 0)))


@dataclass(frozen=True)
class IssuedTotals:
    """Totals excluding VAT of the issued invoices and of the issued credit notes of a selection."""

    invoices: Decimal
    credit_notes: Decimal

    @property
    def net(self) -> Decimal:
        return self.invoices - self.credit_notes


def issued_totals(*, status: str | None = None, kind: str | None = None, year: int | None = None,
                  session_id: int | None = None) -> IssuedTotals:
    """What list_invoices(same filters) adds up to, excluding VAT, issued pieces only (one query, no limit)."""
    # One sum per kind, read from ix_invoice_status_kind_total alone (no row of the table, no CASE per row).
    query = select(Invoice.kind, func.sum(Invoice.total_excl_vat)).where(Invoice.status == InvoiceStatus.ISSUED.value)
    query = _filtered(query, status=None if status == InvoiceStatus.ISSUED.value else status, kind=kind, year=year,
                      session_id=session_id).group_by(Invoice.kind)
    sums = {row_kind: total for row_kind, total in db.session.execute(query)}
    return IssuedTotals(money(sums.get("invoice") or 0), money(sums.get("credit_note") or 0))


def invoice_years() -> list[int]:
    """The years that have an invoice or a credit note, the latest first. One statement that skips from a year
    to the next one down the year's index (a recursive max below the last one found): a few index probes per
    year, not a pass over every invoice."""
    found = select(func.max(Invoice.year).label("year")).cte("found", recursive=True)
    below = select(func.max(Invoice.year)).where(Invoice.year < found.c.year).scalar_subquery()
    found = found.union_all(select(below).where(found.c.year.is_not(None)))
    return list(db.session.scalars(select(found.c.year).where(found.c.year.is_not(None))
                                   .order_by(found.c.year.desc())))


def session_invoices(session: TrainingSession) -> list[Invoice]:
    return list_invoices(session_id=session.id)


def credited_amounts(invoice_ids) -> dict[int, Decimal]:
    """Total including VAT of the issued credit notes against each invoice, by id (0 when none)."""
    ids = [i for i in invoice_ids if i is not None]
    totals = dict.fromkeys(ids, ZERO)
    if ids:
        rows = db.session.execute(
            select(Invoice.credited_invoice_id, func.sum(Invoice.total_incl_vat))
            .where(Invoice.credited_invoice_id.in_(ids), Invoice.kind == InvoiceKind.CREDIT_NOTE.value, Invoice.is_issued)
            .group_by(Invoice.credited_invoice_id))
        for invoice_id, total in rows:
            totals[invoice_id] = money(total or 0)
    return totals


def credit_notes_of(invoice: Invoice) -> list[Invoice]:
    return list(db.session.scalars(select(Invoice).where(Invoice.credited_invoice_id == invoice.id)
                                   .order_by(Invoice.id)))


def remaining_to_credit(invoice: Invoice) -> Decimal:
    return money(invoice.total_incl_vat - credited_amounts([invoice.id])[invoice.id])
