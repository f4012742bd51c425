"""The amounts of invoices: VAT rate, amounts excluding / including VAT, pro rata of an abandonment, totals.
See docs/billing-invoices.md."""
from __future__ import annotations

from decimal import Decimal

from flask import current_app

from ...core.numbers import money
from ...organisation.models import VAT_EXEMPTION_MENTION
from ...organisation.services import get_organisation
from ..models import Invoice

ZERO = Decimal("0.00")


STANDARD_VAT_RATE = Decimal("20.00")


OPERATION_CATEGORIES = {"services": "Prestation de services"}


def attended_share(amount: Decimal, hours: Decimal | None, planned: Decimal) -> Decimal:
    """The part of ``amount`` due for the hours attended, rounded to the cent: amount × hours / planned (an
    abandonment, pro rata temporis); the whole amount when no hours are planned."""
    return money(amount * (hours or 0) / planned) if planned else money(amount)


def abandonment_dedit_percent() -> Decimal:
    """The dédit charged on an abandonment, in % of the price of the hours not attended (0: none)."""
    return Decimal(str(current_app.config["BILLING_ABANDONMENT_DEDIT_PERCENT"] or 0))


def current_vat_rate() -> Decimal:
    """The organisation's rate: 0 when exempt (article 261-4-4°-a of the CGI), else 20 %."""
    return ZERO if get_organisation().vat_exempt else STANDARD_VAT_RATE


def excl_vat(amount_incl: Decimal, rate: Decimal) -> Decimal:
    return money(amount_incl * 100 / (100 + rate)) if rate else money(amount_incl)


def incl_vat(amount_excl: Decimal, rate: Decimal) -> Decimal:
    return money(amount_excl + money(amount_excl * rate / 100))


def recompute(invoice: Invoice) -> None:
    """Line totals (quantity × unit price) and the invoice's totals; VAT per rate on the sum of its lines."""
    bases: dict[Decimal, Decimal] = {}
    for position, line in enumerate(invoice.lines, 1):
        line.position = position
        line.total_excl_vat = money(line.quantity * line.unit_price_excl_vat)
        line.vat_amount = money(line.total_excl_vat * line.vat_rate / 100)
        bases[line.vat_rate] = bases.get(line.vat_rate, ZERO) + line.total_excl_vat
    invoice.total_excl_vat = money(sum(bases.values(), ZERO))
    invoice.total_vat = money(sum((money(base * rate / 100) for rate, base in bases.items()), ZERO))
    invoice.total_incl_vat = money(invoice.total_excl_vat + invoice.total_vat)
    invoice.vat_exemption = VAT_EXEMPTION_MENTION if not any(bases) else ""
