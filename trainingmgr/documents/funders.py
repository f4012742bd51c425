"""The paperwork a funder other than an OPCO asks for, as document types (catalogue.py) of one enrolment.

- France Travail (AIF): the attestation d'entrée en formation (the first half-day the trainee attended) and the
  attestation de présence (the hours attended per half-day and per month, read from the attendance register), both
  with the reference of the AIF agreement; for an enrolment with a france_travail funding line only.
- A fund of the self-employed (FIF PL, AGEFICE…): the facture acquittée, built from the invoices by
  trainingmgr/funding/receipt.py, which registers it (providers.py); this module names the fund.
"""
from __future__ import annotations

from decimal import Decimal

from ..attendance import services as attendance
from ..attendance.models import PRESENT_CELLS, CellStatus
from ..core.formatting import date_fr, hours_fr, money_fr, month_fr, time_fr
from ..enrolments.models import ENROLMENT_STATUS_LABELS, Enrolment, FundingLine
from ..sessions.modality import minutes_by_modality
from ..sessions.models import TrainingSession
from . import providers
from .rendering import context as builders

FRANCE_TRAVAIL_TYPES = ("ft_entry", "ft_attendance")
TYPES = FRANCE_TRAVAIL_TYPES + ("receipt",)
ZERO = Decimal(0)


def _line(enrolment: Enrolment, kind: str) -> FundingLine | None:
    return next((line for line in enrolment.funding_lines if line.kind == kind), None)


def france_travail_line(enrolment: Enrolment) -> FundingLine | None:
    return _line(enrolment, "france_travail")


def fund_line(enrolment: Enrolment) -> FundingLine | None:
    """The enrolment's line of a fund of the self-employed (FIF PL, AGEFICE…), if any."""
    return _line(enrolment, "self_employed_fund")


def fund_name(line: FundingLine) -> str:
    return line.opco_name or "fonds des non-salariés"


def the(name: str) -> str:
    """« le FIF PL », « l'AGEFICE »."""
    return f"l'{name}" if name[:1].upper() in "AEIOUY" else f"le {name}"


def _hours(value: Decimal) -> str:
    return hours_fr(value) if value else "0 h"


def _period(days: list) -> str:
    if not days:
        return ""
    first, last = min(days), max(days)
    return f"le {date_fr(first)}" if first == last else f"du {date_fr(first)} au {date_fr(last)}"


# --------------------------------------------------------------------------- applicability


def problem(doc_type: str, session: TrainingSession, enrolment: Enrolment | None) -> str | None:
    """Why this document cannot be made for ``enrolment`` now (French), or None."""
    if enrolment is None:
        return "Choisissez l'inscription."
    if doc_type == "receipt":
        return providers.enrolment_document(doc_type).problem(enrolment)
    line = france_travail_line(enrolment)
    if line is None:
        return ("Ce stagiaire n'est pas financé par France Travail (AIF) : ajoutez d'abord sa ligne de financement "
                "avec la référence de l'accord.")
    if not (line.opco_file_number or "").strip():
        return "Indiquez la référence de l'accord France Travail (devis AIF) sur la ligne de financement."
    if not session.has_started:
        return "Ce document se produit une fois la session commencée."
    if not enrolment.is_expected:  # on the attendance sheet: the attestations speak of presence
        return ("Le stagiaire n'a pas suivi la formation (statut : "
                + ENROLMENT_STATUS_LABELS.get(enrolment.status, enrolment.status).lower() + ").")
    cells = held_cells(enrolment)
    if doc_type == "ft_entry" and not any(cell.minutes for cell in cells):
        return ("Aucune présence n'est encore émargée pour ce stagiaire : l'attestation d'entrée se produit après sa "
                "première demi-journée.")
    if not cells:
        return "Aucune demi-journée de la session n'a encore commencé."
    return None


# --------------------------------------------------------------------------- attendance


def held_cells(enrolment: Enrolment) -> list[attendance.Cell]:
    """The trainee's cells of the register for the half-days that have begun, in date order."""
    row = attendance.session_grid(enrolment.session).row(enrolment.id)
    cells = [cell for cell in row.cells if cell.status != CellStatus.UPCOMING.value] if row is not None else []
    return sorted(cells, key=lambda cell: (cell.slot.date, cell.slot.start_time))


def _presence_status(cell: attendance.Cell) -> str:
    if cell.status in PRESENT_CELLS:
        notes = ["Présent(e)"]
        if cell.late:
            notes.append(f"arrivé(e) à {time_fr(cell.arrived_at)}")
        if cell.left_early:
            notes.append(f"parti(e) à {time_fr(cell.left_at)}")
        return ", ".join(notes)
    if cell.status == CellStatus.ABSENT.value:
        return "Absent(e), absence justifiée" if cell.justification else "Absent(e)"
    return "Non émargée" if cell.status == CellStatus.MISSING.value else "En cours"


def _presence(cells: list[attendance.Cell]) -> dict:
    """Hours attended per half-day and per month (late arrivals and early departures deducted), and per modality
    with the wording of an action (partly) at a distance, as the certificate (empty when all were in the room)."""
    slots, months = [], {}
    for cell in cells:
        slot = cell.slot
        slots.append({"date": date_fr(slot.date), "half_day": slot.half_day_label,
                      "times": f"{time_fr(slot.start_time)}–{time_fr(slot.end_time)}", "planned": _hours(slot.hours),
                      "hours": _hours(cell.hours), "status": _presence_status(cell)})
        month = months.setdefault((slot.date.year, slot.date.month), {"day": slot.date, "planned": ZERO,
                                                                       "hours": ZERO})
        month["planned"] += slot.hours
        month["hours"] += cell.hours
    planned = sum((cell.slot.hours for cell in cells), ZERO)
    attended = sum((cell.hours for cell in cells), ZERO)
    return {
        "period": _period([cell.slot.date for cell in cells]), "hours": _hours(attended),
        "planned_hours": _hours(planned), "absent_hours": _hours(max(ZERO, planned - attended)), "slots": slots,
        "months": [{"month": month_fr(m["day"]), "planned": _hours(m["planned"]), "hours": _hours(m["hours"]),
                    "absent": _hours(max(ZERO, m["planned"] - m["hours"]))} for m in months.values()],
        **builders.by_modality(minutes_by_modality((cell.slot, cell.minutes) for cell in cells)),
    }


# --------------------------------------------------------------------------- contexts


def context(doc_type: str, enrolment: Enrolment, number: str) -> dict:
    if doc_type == "receipt":
        return providers.enrolment_document(doc_type).context(enrolment, number)
    result = builders.trainee_document(enrolment, number)
    line = france_travail_line(enrolment)
    result["funder"] = {
        "name": line.opco_name or "France Travail", "reference": line.opco_file_number,
        "trainee_number": line.opco_member_number or "", "adviser": line.opco_contact_email or "",
        "agreed_hours": hours_fr(line.agreed_hours) if line.agreed_hours else "",
        "agreed_amount": money_fr(line.agreed_amount) if line.agreed_amount is not None else "",
    }
    cells = held_cells(enrolment)
    if doc_type == "ft_entry":
        entered = next((cell.slot.date for cell in cells if cell.minutes), None)
        result["entry"] = {"date": date_fr(entered)}
    else:
        result["presence"] = _presence(cells)
    return result


def missing_mentions(doc_type: str, context: dict) -> list[str]:
    """What these documents would print empty (French): they are not issued until it is completed."""
    missing = []
    if not context["org"]["signatory_name"]:
        missing.append("nom du représentant légal signataire de l'organisme (Administration → Organisme)")
    if doc_type in FRANCE_TRAVAIL_TYPES and not context["funder"]["reference"]:
        missing.append("référence de l'accord France Travail (devis AIF) sur la ligne de financement")
    return missing


def funders_of(enrolments: list[Enrolment]) -> dict[int, dict]:
    """For a session's documents page: by enrolment id, whether France Travail funds it, the name of its fund of
    the self-employed ("" without one) and the label of that fund's pack (« Dossier pour le FIF PL »)."""
    found = {}
    for enrolment in enrolments:
        fund = fund_line(enrolment)
        found[enrolment.id] = {"france_travail": france_travail_line(enrolment) is not None,
                               "fund": fund_name(fund) if fund is not None else "",
                               "pack": f"Dossier pour {the(fund_name(fund))}" if fund is not None else ""}
    return found
