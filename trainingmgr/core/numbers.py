"""Small computations shared by the pages' figures: money rounded to the cent, percentages."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
PERCENT_PLACES = Decimal("0.1")


def money(value) -> Decimal:
    """``value`` rounded half-up to the cent (None counts as 0)."""
    return Decimal(value if value is not None else 0).quantize(CENT, ROUND_HALF_UP)


def percent(part: int, whole: int) -> Decimal | None:
    """part / whole in %, one decimal place (None when there is nothing to divide by)."""
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(PERCENT_PLACES, ROUND_HALF_UP)
