"""Small parsers that turn raw or typed input into clean values, collecting French errors."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from .errors import ErrorCollector

MAX_AMOUNT = Decimal("9999999")
# Primary keys are PostgreSQL integers: a larger number names no row, and sending it to the database fails
# (integer out of range on PostgreSQL, OverflowError on SQLite) instead of finding nothing.
MAX_ID = 2**31 - 1


def id_or_none(value) -> int | None:
    """``value`` as a possible primary key, or None when it cannot name a row."""
    if isinstance(value, bool):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if 0 < number <= MAX_ID else None


def clean_text(value, limit: int | None = None) -> str:
    """Free text as stored: trimmed, "" for None, cut at ``limit`` when given. (NUL characters never get this
    far: see core.request_guards.reject_nul_characters.)"""
    text = str(value or "").strip()
    return text[:limit] if limit else text


def parse_text(value, field: str, errors: ErrorCollector, *, label: str, limit: int, required: bool = False) -> str:
    """Trimmed text, cut at ``limit``; an error when required and blank, or longer than ``limit``."""
    text = clean_text(value)
    if required and not text:
        errors.add(field, f"{label} est obligatoire.")
    elif len(text) > limit:
        errors.add(field, f"Ce champ ne doit pas dépasser {limit} caractères.")
    return text[:limit]


def french_decimal(text: str) -> Decimal:
    """ "1 234,56 €", "600", "600.00" as a Decimal (spaces, no-break spaces and the euro sign ignored)."""
    for char in ("\u202f", "\xa0", " ", "€"):
        text = text.replace(char, "")
    return Decimal(text.replace(",", "."))


def parse_decimal(value, field: str, errors: ErrorCollector, *, label: str, required: bool = False,
                  positive: bool = False) -> Decimal | None:
    """A non-negative Decimal with two places; accepts "1 234,56" as well as Decimal('1234.56')."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors.add(field, f"{label} est obligatoire.")
        return None
    if isinstance(value, bool):
        errors.add(field, f"{label} doit être un nombre.")
        return None
    try:
        if isinstance(value, Decimal):
            number = value
        elif isinstance(value, int):
            number = Decimal(value)
        elif isinstance(value, float):
            number = Decimal(str(value))
        else:
            number = french_decimal(str(value))
    except (InvalidOperation, ValueError):
        errors.add(field, f"{label} doit être un nombre.")
        return None
    if not number.is_finite():
        errors.add(field, f"{label} doit être un nombre.")
        return None
    if number < 0:
        errors.add(field, f"{label} doit être un nombre positif ou nul.")
        return None
    if positive and number == 0:
        errors.add(field, f"{label} doit être un nombre supérieur à 0.")
        return None
    if number > MAX_AMOUNT:
        errors.add(field, f"{label} doit être un nombre inférieur à 10 millions.")
        return None
    if number != number.quantize(Decimal("0.01")):
        errors.add(field, f"{label} : deux décimales au plus.")
        return None
    return number.quantize(Decimal("0.01"))


def parse_int(value, field: str, errors: ErrorCollector, *, label: str, minimum: int, maximum: int,
              required: bool = True) -> int | None:
    if value is None or value == "":
        if required:
            errors.add(field, f"{label} est obligatoire.")
        return None
    if isinstance(value, bool):
        errors.add(field, f"{label} doit être un nombre entier.")
        return None
    try:
        number = int(value)
        if isinstance(value, float) and value != number:
            raise ValueError
    except (TypeError, ValueError):
        errors.add(field, f"{label} doit être un nombre entier.")
        return None
    if number < minimum or number > maximum:
        errors.add(field, f"{label} doit être un nombre entier compris entre {minimum} et {maximum}.")
        return None
    return number


def parse_date(value, field: str, errors: ErrorCollector, *, label: str, required: bool = True) -> dt.date | None:
    if value is None or value == "":
        if required:
            errors.add(field, f"{label} est obligatoire.")
        return None
    if isinstance(value, dt.datetime):
        value = value.date()
    if not isinstance(value, dt.date):
        try:
            value = dt.date.fromisoformat(str(value))
        except ValueError:
            errors.add(field, f"{label} : date invalide (format attendu AAAA-MM-JJ).")
            return None
    if not (2000 <= value.year <= 2100):
        errors.add(field, f"{label} : l'année doit être comprise entre 2000 et 2100.")
        return None
    return value


def parse_time(value, field: str, errors: ErrorCollector, *, label: str) -> dt.time | None:
    if value is None or value == "":
        errors.add(field, f"{label} est obligatoire.")
        return None
    if not isinstance(value, dt.time):
        try:
            value = dt.time.fromisoformat(str(value))
        except ValueError:
            errors.add(field, f"{label} : heure invalide (format attendu HH:MM).")
            return None
    return value.replace(second=0, microsecond=0, tzinfo=None)
