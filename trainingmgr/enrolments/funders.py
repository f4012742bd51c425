"""The funders that decide on a funding line (``models.AGREEMENT_KINDS``): what each one's name and reference are,
how they are named in messages, and which trainees they fund. The services, the form, the enrolment page and the
funding board read this table instead of branching on the kind.

A line of these kinds keeps the funder's name in ``opco_name`` and its reference in ``opco_file_number`` (the OPCO's
or the fund's file number, France Travail's AIF quote/agreement reference, a public funder's convention or order).
"""
from __future__ import annotations

from dataclasses import dataclass

from ..companies.models import OPCOS
from .models import FUNDING_KINDS, OPCO_STATUSES, SELF_EMPLOYED_FUNDS, FundingLine


@dataclass(frozen=True)
class Funder:
    kind: str
    noun: str  # in « accordé par … »
    reference_label: str  # the form's label of the reference
    reference_short: str  # before the reference on the pages and in the history: « dossier EP-1 »
    reference_missing: str  # the message when the reference is required and missing
    reference_always: bool = False  # required from the start (not only once the request is filed)
    names: tuple[str, ...] | None = None  # the names it may take; None: free text
    fixed_name: str = ""  # the name it always has
    name_message: str = ""  # the message for a name missing or not in ``names``
    subrogation: bool = False  # whether « the funder pays the organisation » is a choice on the line
    bpf_status: str = ""  # the trainee's BPF status it funds ("" when any)


FUNDERS = {
    "opco": Funder(
        "opco", "l'OPCO", "N° de dossier OPCO", "dossier", "Indiquez le numéro de dossier de l'OPCO.",
        names=OPCOS, name_message="Choisissez l'OPCO dans la liste des onze OPCO.", subrogation=True),
    "self_employed_fund": Funder(
        "self_employed_fund", "le fonds", "N° de dossier du fonds", "dossier", "Indiquez le numéro de dossier du fonds.",
        names=SELF_EMPLOYED_FUNDS,
        name_message=f"Choisissez le fonds des non-salariés : {', '.join(SELF_EMPLOYED_FUNDS)}.",
        subrogation=True, bpf_status="self_employed"),
    "france_travail": Funder(
        "france_travail", "France Travail", "Référence du devis / de l'accord AIF", "accord AIF",
        "Indiquez la référence de l'accord France Travail (devis AIF).", reference_always=True,
        fixed_name="France Travail", bpf_status="job_seeker"),
    "public_funder": Funder(
        "public_funder", "le financeur public", "N° de convention ou de bon de commande", "convention",
        "Indiquez le numéro de convention ou de bon de commande du financeur public.", reference_always=True,
        name_message="Indiquez le nom du financeur public (par exemple Région Occitanie)."),
}


def describe(line: FundingLine) -> str:
    """« OPCO — OPCO EP, dossier EP-1 », « France Travail (AIF), accord AIF 31-2026-7 », « Entreprise »."""
    text = FUNDING_KINDS.get(line.kind, line.kind)
    funder = FUNDERS.get(line.kind)
    if funder is None:
        return text
    if line.opco_name and line.opco_name not in text:
        text += f" — {line.opco_name}"
    if line.opco_file_number:
        text += f", {funder.reference_short} {line.opco_file_number}"
    return text


def status_text(line: FundingLine) -> str:
    """« prise en charge accordée » (the history)."""
    return f"prise en charge {OPCO_STATUSES.get(line.opco_status, line.opco_status).lower()}"
