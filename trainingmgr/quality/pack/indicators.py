"""The indicators of an audit pack: for each one, the Qualiopi board's facts over the period and the files that
show them — the quality registers' entries of the period (needs analyses: 4; trainers' development, with each
entry's evidence: 22; the watch log: 23 to 25; the disability partners and the trainees' adaptations: 26), the
registers of complaints (31) and improvement actions (32), and the folders of the sampled sessions."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload

from ...core.formatting import count_fr, hours_fr, number_fr
from ...core.spreadsheet import csv_bytes
from ...core.timeutil import PARIS, UTC
from ...extensions import db
from ...files.services import read_checked
from ...organisation.services import get_organisation
from ...resources.models import TrainerDevelopment
from ..board.services import Board, Fact, Indicator
from ..models import ImprovementAction, QualityRequest
from ..registers.models import WATCH_INDICATORS, Adaptation, DisabilityPartner, NeedsAnalysis, WatchEntry
from .archive import PackArchive, slug
from .selection import Period

WATCH_FILES = {23: "veille-legale-et-reglementaire.csv", 24: "veille-competences-metiers-emplois.csv",
               25: "veille-innovations-pedagogiques-et-technologiques.csv"}


@dataclass
class IndicatorSection:
    number: int
    title: str
    status: str  # the board's status label
    applicable: bool
    reason: str = ""
    facts: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)  # this indicator's own files in the archive
    session_files: list[str] = field(default_factory=list)  # the sampled sessions' step folders that document it

    @property
    def folder(self) -> str:
        return f"indicateurs/{self.number:02d}"


def fact_text(fact: Fact) -> str:
    if fact.value is None:
        value = ""
    elif isinstance(fact.value, bool):
        value = "oui" if fact.value else "non"
    else:
        value = number_fr(fact.value) + (f" / {number_fr(fact.total)}" if fact.total is not None else "") \
            + (f" {fact.unit}" if fact.unit else "")
    text = f"{fact.label} : {value}" if value else fact.label
    return text + (f" ({fact.detail})" if fact.detail else "")


def _section(indicator: Indicator) -> IndicatorSection:
    return IndicatorSection(indicator.number, indicator.title, indicator.status_label, indicator.applicable,
                            indicator.reason, [fact_text(f) for f in indicator.facts]
                            + [f"À compléter : {g.text}" for g in indicator.gaps], list(indicator.notes))


def _in_period(column, period: Period):
    return (column >= period.since) & (column <= period.until)


def _utc_bounds(period: Period) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(period.since, dt.time(0), tzinfo=PARIS).astimezone(UTC)
    end = dt.datetime.combine(period.until + dt.timedelta(days=1), dt.time(0), tzinfo=PARIS).astimezone(UTC)
    return start, end


def _needs(section: IndicatorSection, archive: PackArchive, period: Period) -> None:
    rows = list(db.session.scalars(select(NeedsAnalysis).where(_in_period(NeedsAnalysis.day, period))
                                   .options(joinedload(NeedsAnalysis.company), joinedload(NeedsAnalysis.session))
                                   .order_by(NeedsAnalysis.day, NeedsAnalysis.id)))
    if rows:
        section.notes.append(f"Registre des analyses des besoins : {count_fr(len(rows), 'entrée')} dans la période.")
        section.files.append(archive.add(f"{section.folder}/analyses-des-besoins.csv", csv_bytes(
            ("Date", "Recueillie par", "Entreprise", "Session", "Interlocuteur", "Besoins identifiés", "Suite donnée"),
            [(r.day, r.channel_label, r.company.name if r.company else "", r.session.label if r.session else "",
              r.contact, r.needs, r.outcome) for r in rows]), "Indicateur 4"))


def _development(section: IndicatorSection, archive: PackArchive, period: Period) -> None:
    rows = list(db.session.scalars(select(TrainerDevelopment).where(_in_period(TrainerDevelopment.day, period))
                                   .options(joinedload(TrainerDevelopment.trainer),
                                            joinedload(TrainerDevelopment.evidence))
                                   .order_by(TrainerDevelopment.day, TrainerDevelopment.id)))
    evidence = {}
    for row in rows:
        if row.evidence is not None:
            name = f"{section.folder}/justificatifs/{row.day.isoformat()}-{slug(row.title, 40)}"
            ext = row.evidence.original_name.rsplit(".", 1)[-1].lower() if "." in row.evidence.original_name else "bin"
            evidence[row.id] = archive.add(f"{name}.{ext}", read_checked(row.evidence), "Indicateur 22")
    if rows:
        section.notes.append(f"Développement des compétences des formateurs : {count_fr(len(rows), 'entrée')} dans "
                             f"la période, {count_fr(len(evidence), 'justificatif')} joint{'s' if len(evidence) > 1 else ''}.")
        section.files.append(archive.add(f"{section.folder}/developpement-des-competences.csv", csv_bytes(
            ("Date", "Formateur", "Intitulé", "Type", "Heures", "Note", "Justificatif"),
            [(r.day, r.trainer.full_name, r.title, r.kind_label, hours_fr(r.hours) if r.hours else "", r.note,
              evidence.get(r.id, "")) for r in rows]), "Indicateur 22"))
        section.files.extend(evidence.values())


def _watch(sections: dict[int, IndicatorSection], archive: PackArchive, period: Period) -> None:
    rows = list(db.session.scalars(select(WatchEntry).where(_in_period(WatchEntry.day, period))
                                   .options(joinedload(WatchEntry.action)).order_by(WatchEntry.day, WatchEntry.id)))
    for number, filename in WATCH_FILES.items():
        mine = [r for r in rows if WATCH_INDICATORS.get(r.domain) == number]
        if mine and number in sections:
            sections[number].notes.append(f"Registre de veille : {count_fr(len(mine), 'entrée')} dans la période.")
            sections[number].files.append(archive.add(f"{sections[number].folder}/{filename}", csv_bytes(
                ("Date", "Domaine", "Source", "Résumé", "Analyse", "Action d'amélioration"),
                [(r.day, r.domain_label, r.source, r.summary, r.analysis,
                  f"n° {r.action.id} : {r.action.title} ({r.action.status_label.lower()})" if r.action else "")
                 for r in mine]), f"Indicateur {number}"))


def _disability(section: IndicatorSection, archive: PackArchive, period: Period) -> None:
    org = get_organisation()
    if org.disability_contact_name:
        section.notes.append("Référent handicap : " + " – ".join(
            x for x in (org.disability_contact_name, org.disability_contact_email, org.disability_contact_phone) if x))
    partners = list(db.session.scalars(select(DisabilityPartner).where(DisabilityPartner.active.is_(True))
                                       .order_by(DisabilityPartner.name, DisabilityPartner.id)))
    if partners:
        section.notes.append(f"Réseau de partenaires handicap : {count_fr(len(partners), 'partenaire actif', 'partenaires actifs')}.")
        section.files.append(archive.add(f"{section.folder}/reseau-partenaires-handicap.csv", csv_bytes(
            ("Partenaire", "Type", "Contact", "E-mail", "Téléphone", "Notes"),
            [(p.name, p.kind_label, p.contact_name, p.email, p.phone, p.notes) for p in partners]), "Indicateur 26"))
    adaptations = list(db.session.scalars(
        select(Adaptation).where(or_(*(_in_period(column, period) for column in (
            Adaptation.requested_on, Adaptation.decided_on, Adaptation.carried_out_on, Adaptation.checked_on))))
        .options(joinedload(Adaptation.enrolment), joinedload(Adaptation.partner))
        .order_by(Adaptation.requested_on, Adaptation.id)))
    if adaptations:
        section.notes.append(f"Adaptations des stagiaires suivies dans la période : {len(adaptations)}.")
        section.files.append(archive.add(f"{section.folder}/adaptations-des-stagiaires.csv", csv_bytes(
            ("Stagiaire", "Session", "Demande", "Demandée le", "Décision", "Décidée le", "Mise en œuvre", "Le",
             "Vérification en fin de session", "Le", "État", "Partenaire"),
            [(a.enrolment.trainee.full_name, a.enrolment.session.label, a.request, a.requested_on, a.decision,
              a.decided_on, a.carried_out, a.carried_out_on, a.end_check, a.checked_on, a.status_label,
              a.partner.name if a.partner else "") for a in adaptations]), "Indicateur 26"))


def _complaints(section: IndicatorSection, archive: PackArchive, period: Period) -> None:
    start, end = _utc_bounds(period)
    rows = list(db.session.scalars(select(QualityRequest).where(QualityRequest.received_at >= start,
                                                                QualityRequest.received_at < end)
                                   .order_by(QualityRequest.received_at, QualityRequest.id)))
    if rows:
        section.files.append(archive.add(f"{section.folder}/registre-des-reclamations.csv", csv_bytes(
            ("Référence", "Nature", "Reçue le", "Session", "Objet", "Analyse", "Réponse", "Répondue le", "État"),
            [(r.reference, r.kind_label, r.received_at, r.session_id or "", r.subject, r.analysis, r.answer,
              r.answered_at, r.status_label) for r in rows]), "Indicateur 31"))


def _actions(section: IndicatorSection, archive: PackArchive, period: Period) -> None:
    start, end = _utc_bounds(period)
    rows = list(db.session.scalars(select(ImprovementAction).where(ImprovementAction.created_at >= start,
                                                                   ImprovementAction.created_at < end)
                                   .order_by(ImprovementAction.created_at, ImprovementAction.id)))
    if rows:
        section.files.append(archive.add(f"{section.folder}/actions-d-amelioration.csv", csv_bytes(
            ("N°", "Décidée le", "Origine", "Intitulé", "Mesure", "État"),
            [(a.id, a.created_at, a.source_label, a.title, a.description, a.status_label) for a in rows]),
            "Indicateur 32"))


def indicator_sections(board: Board, archive: PackArchive, period: Period,
                       session_folders: dict[int, list[str]]) -> list[IndicatorSection]:
    """Every indicator of ``board`` with its own files added to ``archive``; ``session_folders`` gives, per
    indicator, the sampled sessions' step folders that document it."""
    sections = {i.number: _section(i) for i in board.indicators}
    applicable = {n: s for n, s in sections.items() if s.applicable}
    for number, fill in ((4, _needs), (22, _development), (26, _disability), (31, _complaints), (32, _actions)):
        if number in applicable:
            fill(applicable[number], archive, period)
    _watch(applicable, archive, period)
    for number, folders in session_folders.items():
        if number in applicable:
            applicable[number].session_files.extend(folders)
    return list(sections.values())
