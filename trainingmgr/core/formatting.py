"""French formatting of dates, times, money, hours and file sizes (Babel), also used as Jinja filters."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from babel.dates import format_date, format_datetime
from babel.numbers import format_currency, format_decimal

from .timeutil import PARIS

LOCALE = "fr_FR"


def date_fr(value: dt.date | dt.datetime | None) -> str:
    """25/11/2026"""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = value.astimezone(PARIS).date() if value.tzinfo else value.date()
    return value.strftime("%d/%m/%Y")


def date_long_fr(value: dt.date | None) -> str:
    """mercredi 25 novembre 2026"""
    if value is None:
        return ""
    return format_date(value, "EEEE d MMMM y", locale=LOCALE)


def month_fr(value: dt.date) -> str:
    """novembre 2026"""
    return format_date(value, "LLLL y", locale=LOCALE)


def datetime_fr(value: dt.datetime | None) -> str:
    """25/11/2026 14:05, in Paris time."""
    if value is None:
        return ""
    if value.tzinfo is not None:
        value = value.astimezone(PARIS)
    return format_datetime(value, "dd/MM/y HH:mm", locale=LOCALE)


def time_fr(value: dt.time | dt.datetime | None) -> str:
    """09:00 (an aware datetime is shown in Paris time)."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        value = value.astimezone(PARIS)
    return value.strftime("%H:%M")


def money_fr(value: Decimal | None) -> str:
    """1 234,56 €"""
    if value is None:
        return ""
    return format_currency(Decimal(value), "EUR", locale=LOCALE)


def hours_fr(value: Decimal | float | int | None) -> str:
    """7 h, 3,5 h"""
    if value is None:
        return ""
    return f"{format_decimal(Decimal(value).normalize(), format='#,##0.##', locale=LOCALE)} h"


def number_fr(value) -> str:
    if value is None:
        return ""
    return format_decimal(Decimal(value).normalize(), format="#,##0.##", locale=LOCALE)


# Binary units, as the operating systems show file sizes.
SIZE_UNITS = (("Go", 1 << 30), ("Mo", 1 << 20), ("Ko", 1 << 10))


def size_fr(size: int, unit: str | None = None) -> str:
    """A size in bytes in the largest unit it reaches, to a tenth: « 512 o », « 12,3 Ko », « 1,2 Mo », « 3 Go »;
    always in ``unit`` (« Mo ») to set a size beside a limit: « 1 024 Mo » beyond « 20 Mo », « 0,5 Mo »."""
    for name, scale in SIZE_UNITS:
        if name == unit or (unit is None and size >= scale):
            return f"{number_fr(round(size / scale, 1))} {name}"
    return f"{size} o"


def plural_fr(value: int | None, singular: str, plural: str | None = None) -> str:
    """The words agreed with ``value``: « réponse envoyée » for 0 and 1, « réponses envoyées » from 2 (French
    usage); without ``plural``, an « s » is added to each word (give it for « travail » / « travaux »…)."""
    if abs(value or 0) < 2:
        return singular
    return plural or " ".join(word + "s" for word in singular.split(" "))


def count_fr(value: int | None, singular: str, plural: str | None = None, zero: str | None = None) -> str:
    """« 1 réponse envoyée », « 3 réponses envoyées », « 1 234 réponses » (thousands as number_fr, narrow
    no-break space), « 0 réponse envoyée »; ``zero`` replaces the whole text for 0 (« aucun e-mail envoyé »)."""
    n = value or 0
    if n == 0 and zero is not None:
        return zero
    return f"{format_decimal(n, format='#,##0', locale=LOCALE)} {plural_fr(n, singular, plural)}"


FILTERS = {
    "date_fr": date_fr,
    "date_long_fr": date_long_fr,
    "month_fr": month_fr,
    "datetime_fr": datetime_fr,
    "time_fr": time_fr,
    "money_fr": money_fr,
    "hours_fr": hours_fr,
    "number_fr": number_fr,
    "count_fr": count_fr,
    "plural_fr": plural_fr,
}
