"""Small parsers that turn raw or typed input into clean values, collecting French errors."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from .errors import ErrorCollector

MAX_AMOUNT = Decimal("9999999")


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
            raw = str(value).replace("\u202f", "").replace("\xa0", "").replace(" ", "").replace("€", "")
            number = Decimal(raw.replace(",", "."))
    except (InvalidOperation, ValueError):
        errors.add(field, f"{label} doit être un nombre.")
        return None
    if not number.is_finite():
        errors.add(field, f"{label} doit être un nombre.")
        return None
    if number < 0:
        errors.add(field, f"{label} ne peut pas être négatif.")
        return None
    if positive and number == 0:
        errors.add(field, f"{label} doit être supérieur à 0.")
        return None
    if number > MAX_AMOUNT:
        errors.add(field, f"{label} est trop grand.")
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
        errors.add(field, f"{label} doit être compris entre {minimum} et {maximum}.")
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
