"""Column types shared by the models."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import DateTime, Numeric
from sqlalchemy.types import TypeDecorator

UTC = dt.timezone.utc


class UTCDateTime(TypeDecorator):
    """An aware datetime stored in UTC.

    PostgreSQL keeps it as ``timestamptz``; SQLite as a naive UTC string. Values always come back
    aware, in UTC, and naive values are refused on the way in so that local times never slip in.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def Money() -> Numeric:  # noqa: N802 - reads like a type
    """Amounts in euros, two decimals, as ``Decimal``."""
    return Numeric(12, 2, asdecimal=True)


def Hours() -> Numeric:  # noqa: N802
    """Durations in hours with two decimals (7.00, 3.50)."""
    return Numeric(6, 2, asdecimal=True)


CENT = Decimal("0.01")
