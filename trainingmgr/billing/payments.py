"""Payments, balances, overdue invoices and reminders, accounting export. TO BE WRITTEN."""
from __future__ import annotations

from decimal import Decimal


def balances(invoices) -> dict[int, Decimal]:
    """What remains to be paid on each invoice, by id."""
    return {invoice.id: invoice.total_incl_vat for invoice in invoices}


def panel(invoice) -> dict:
    """The template context of the payments panel on an invoice's page (templates/billing/_payments.html)."""
    return {}
