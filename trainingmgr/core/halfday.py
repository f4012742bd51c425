"""Half-day rules shared by the catalogue (usual day pattern) and the sessions (slots).

A slot starting before noon is a morning and must end by 14:00; an afternoon starts from 12:00.
"""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

NOON = dt.time(12, 0)
MORNING_LATEST_END = dt.time(14, 0)
MORNING = "morning"
AFTERNOON = "afternoon"
HALF_DAY_LABELS = {MORNING: "matin", AFTERNOON: "après-midi"}


def half_of(start: dt.time) -> str:
    return MORNING if start < NOON else AFTERNOON


def hours_between(start: dt.time, end: dt.time) -> Decimal:
    minutes = (end.hour * 60 + end.minute) - (start.hour * 60 + start.minute)
    return (Decimal(minutes) / Decimal(60)).quantize(Decimal("0.01"))


def half_day_problem(start: dt.time, end: dt.time) -> str | None:
    """The French reason why (start, end) is not a valid half-day, or None."""
    if end <= start:
        return "L'heure de fin doit être postérieure à l'heure de début."
    if half_of(start) == MORNING and end > MORNING_LATEST_END:
        return (
            "Un créneau du matin doit se terminer au plus tard à 14:00 "
            "(un créneau de l'après-midi commence à partir de 12:00)."
        )
    return None


_RANGE = re.compile(r"^(\d{1,2})[:h](\d{2})\s*[-–à]\s*(\d{1,2})[:h](\d{2})$")


def parse_day_pattern(text: str) -> list[tuple[dt.time, dt.time]]:
    """Parse "09:00-12:30 13:30-17:00" (or with commas / "9h00-12h30") into ordered half-days.

    Raises ValueError with a French message.
    """
    chunks = [c.strip() for c in re.split(r"[,;\s]+(?=\d)", (text or "").strip()) if c.strip()]
    if not chunks:
        raise ValueError("Indiquez au moins un créneau, par exemple 09:00-12:30 13:30-17:00.")
    result: list[tuple[dt.time, dt.time]] = []
    for chunk in chunks:
        match = _RANGE.match(chunk.replace(" ", ""))
        if not match:
            raise ValueError(f"Créneau illisible : « {chunk} » (format attendu : 09:00-12:30).")
        h1, m1, h2, m2 = (int(x) for x in match.groups())
        try:
            start, end = dt.time(h1, m1), dt.time(h2, m2)
        except ValueError:
            raise ValueError(f"Heure invalide dans « {chunk} ».") from None
        problem = half_day_problem(start, end)
        if problem:
            raise ValueError(f"« {chunk} » : {problem}")
        if result and start < result[-1][1]:
            raise ValueError("Les créneaux d'une journée doivent se suivre sans se chevaucher.")
        result.append((start, end))
    halves = [half_of(s) for s, _ in result]
    if len(halves) != len(set(halves)):
        raise ValueError("Une journée compte au plus un créneau le matin et un l'après-midi.")
    return result


def format_day_pattern(pattern: list[tuple[dt.time, dt.time]]) -> str:
    return " ".join(f"{s:%H:%M}-{e:%H:%M}" for s, e in pattern)
