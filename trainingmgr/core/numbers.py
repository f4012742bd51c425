"""Small computations shared by the pages' figures."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

PERCENT_PLACES = Decimal("0.1")


def percent(part: int, whole: int) -> Decimal | None:
    """part / whole in %, one decimal place (None when there is nothing to divide by)."""
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(PERCENT_PLACES, ROUND_HALF_UP)
