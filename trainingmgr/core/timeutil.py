"""Time helpers: timestamps are UTC, session times are Europe/Paris wall-clock times."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")
UTC = dt.timezone.utc


def utcnow() -> dt.datetime:
    return dt.datetime.now(UTC)


def paris_now() -> dt.datetime:
    return utcnow().astimezone(PARIS)


def paris_today() -> dt.date:
    return paris_now().date()


def paris_date(moment: dt.datetime | None) -> dt.date | None:
    """The Paris calendar date of a UTC timestamp (a naive value is taken as UTC)."""
    if moment is None:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(PARIS).date()


def paris_datetime(day: dt.date, time: dt.time) -> dt.datetime:
    """An aware datetime for a wall-clock time in Paris."""
    return dt.datetime.combine(day, time, tzinfo=PARIS)
