"""Consistency checks: what each session's documents printed, against the session's facts as they stand now.

Auditors and OPCOs follow a session from the convention to the invoice and cross-check the course title, the dates,
the hours, the place and the trainees. The facts are the session's (its course version, half-days, room) and the
attendance register's (the trainees on the sheets and the hours each one signed); the documents are the current
version of each generated document (``GeneratedDocument.context``, the data its template was rendered with) and the
issued invoices that a credit note has not cancelled. Read-only; a fixed number of queries whatever the number of
trainees or sessions (``period_mismatches`` loads a period's sessions at once).

What is compared (*decision*, the documents do not all carry every fact):
- title, dates, planned hours and place: on the convention, the contract, the convocations, the attendance sheets,
  the attestations and the certificates (each prints the session block) — not on the programme, the rules, the
  quotes or the trainer's contract (course or mission documents, not the session's record);
- trainees: a convention names its company's trainees admitted to the session (pending ones are added when admitted);
  an attestation, a certificate or an invoice line of a trainee must be of a trainee on the attendance sheets;
- hours per trainee: the hours attended on an attestation or a certificate, and on an invoice line that states them,
  equal the hours signed on the sheets; on an attestation or a certificate of a session with distance half-days
  (issue 27), the hours printed per modality (« 3,5 h en classe virtuelle ») equal those signed per modality too
  (documents made before they printed them are not compared on it);
- invoices: their service dates and the course title in their training lines; drafts and credit notes are not
  compared (nothing is sent before issue; a credit note cancels, it states no fact of its own).
The attendance sheet's per-half-day statuses are not compared: a sheet printed during the session shows the half-days
to come as such, which is no mismatch.
"""
from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import and_, func, select
from sqlalchemy.orm import joinedload, selectinload

from ..attendance import services as attendance
from ..billing.models import BalanceStatus, Invoice, InvoiceKind, InvoiceStatus
from ..billing.payments.services import balance_details
from ..core.formatting import date_fr, hours_fr
from ..documents.models import GeneratedDocument
from ..documents.rendering.context import by_modality, session_context
from ..enrolments.models import Enrolment
from ..extensions import db
from ..sessions.modality import IN_SENTENCE, SLOT_MODALITIES
from ..sessions.models import SessionStatus, Slot, TrainingSession

TITLE, DATES, HOURS, PLACE, TRAINEES = "Intitulé", "Dates", "Heures", "Lieu", "Stagiaires"
# The generated documents that print the session block (title, dates, hours, place).
SESSION_DOCUMENTS = ("convention", "contract", "convocation", "attendance_sheet", "attestation", "certificate")
# Those that state a trainee's hours attended.
HOURS_DOCUMENTS = ("attestation", "certificate")
# How a training line of an invoice names the course (billing/invoices: « Formation « titre » du … »).
LINE_TITLE = re.compile(r"^Formation[^«]*« (.+?) »")


@dataclass(frozen=True)
class Mismatch:
    field: str  # « Heures », « Dates », « Intitulé », « Lieu », « Stagiaires »
    document: str  # « Certificat de réalisation n° CERT-0003-12-1 »
    expected: str  # the session's fact
    found: str  # what the document says
    message: str  # the whole mismatch, in one French sentence
    enrolment_id: int | None = None


@dataclass
class Facts:
    """What every document of a session should say: the session block as documents print it, the trainees on the
    sheets (expected enrolments, by id), the hours each one signed, and the minutes per half-day modality."""

    session: TrainingSession
    block: dict
    enrolments: dict[int, Enrolment]
    signed: dict[int, Decimal]
    by_modality: dict[int, dict[str, int]]

    def modality_hours(self, enrolment_id: int) -> dict[str, str]:
        """{modality label: « 3,5 h »} as an attestation prints them from the hours signed (documents/rendering/
        context.by_modality): nothing when every hour signed was in the room."""
        lines = by_modality(self.by_modality.get(enrolment_id, {}))["modalities"]
        return {line["label"]: line["hours"] for line in lines}

    @property
    def title(self) -> str:
        return self.session.title

    @property
    def roster(self) -> str:
        """Where the trainees of the session are read from, in French."""
        return "les feuilles d'émargement" if self.session.has_started else "la liste des stagiaires de la session"


def _hours(value: Decimal | None) -> str:
    return hours_fr(value) if value else "0 h"


def _span(first: dt.date | None, last: dt.date | None) -> str:
    if first is None:
        return "dates à définir"
    return f"le {date_fr(first)}" if first == last or last is None else f"du {date_fr(first)} au {date_fr(last)}"


# --------------------------------------------------------------------------- loading (one query per kind of data)


def _sessions(start: dt.date | None, end: dt.date | None, session_ids) -> list[TrainingSession]:
    query = (select(TrainingSession).where(TrainingSession.status != SessionStatus.CANCELLED.value)
             .options(selectinload(TrainingSession.slots), selectinload(TrainingSession.trainers),
                      joinedload(TrainingSession.location), joinedload(TrainingSession.course_version))
             .order_by(TrainingSession.id))
    if start is not None:
        query = query.where(TrainingSession.id.in_(
            select(Slot.session_id).where(Slot.date >= start, Slot.date <= end)))
    if session_ids is not None:
        query = query.where(TrainingSession.id.in_(list(session_ids)))
    return list(db.session.scalars(query).unique())


def _facts(sessions: list[TrainingSession]) -> dict[int, Facts]:
    ids = [s.id for s in sessions]
    expected = attendance.expected_enrolments_of(ids)
    records: dict[int, list] = defaultdict(list)
    for record in attendance.session_records(ids):
        records[record.session_id].append(record)
    planned = attendance.planned_absences_of(ids)
    facts = {}
    for session in sessions:
        enrolments = expected.get(session.id, [])
        grid = attendance.build_grid(session, enrolments, records[session.id], planned=planned)
        facts[session.id] = Facts(session, session_context(session, trainees_count=0),
                                  {e.id: e for e in enrolments}, {row.enrolment.id: row.hours for row in grid.rows},
                                  {row.enrolment.id: row.minutes_by_modality for row in grid.rows})
    return facts


def _documents(ids: list[int]) -> list[GeneratedDocument]:
    """The current version of each compared document of the sessions."""
    latest = (select(GeneratedDocument.subject, GeneratedDocument.doc_type,
                     func.max(GeneratedDocument.version).label("version"))
              .where(GeneratedDocument.session_id.in_(ids), GeneratedDocument.doc_type.in_(SESSION_DOCUMENTS))
              .group_by(GeneratedDocument.subject, GeneratedDocument.doc_type).subquery())
    return list(db.session.scalars(
        select(GeneratedDocument).join(latest, and_(GeneratedDocument.subject == latest.c.subject,
                                                    GeneratedDocument.doc_type == latest.c.doc_type,
                                                    GeneratedDocument.version == latest.c.version))
        .where(GeneratedDocument.session_id.in_(ids)).order_by(GeneratedDocument.id)))


def _invoices(ids: list[int]) -> list[Invoice]:
    """The sessions' issued invoices that no credit note cancelled wholly, with their lines."""
    invoices = list(db.session.scalars(
        select(Invoice).where(Invoice.session_id.in_(ids), Invoice.kind == InvoiceKind.INVOICE.value,
                              Invoice.status == InvoiceStatus.ISSUED.value)
        .options(selectinload(Invoice.lines)).order_by(Invoice.issue_date, Invoice.id)))
    details = balance_details(invoices) if invoices else {}
    return [i for i in invoices if details[i.id].status != BalanceStatus.CREDITED.value]


def _outsiders(invoices: list[Invoice], facts: dict[int, Facts]) -> dict[int, Enrolment]:
    """The enrolments named by invoice lines that are not on their session's sheets, with their trainee."""
    ids = {line.enrolment_id for invoice in invoices for line in invoice.lines
           if line.enrolment_id is not None and line.enrolment_id not in facts[invoice.session_id].enrolments}
    if not ids:
        return {}
    return {e.id: e for e in db.session.scalars(
        select(Enrolment).where(Enrolment.id.in_(ids)).options(selectinload(Enrolment.trainee)))}


# --------------------------------------------------------------------------- comparisons


def _mismatch(field: str, document: str, expected: str, found: str, message: str,
              enrolment_id: int | None = None) -> Mismatch:
    return Mismatch(field, document, expected, found, f"{document} : {message}", enrolment_id)


def _session_block(facts: Facts, label: str, context: dict) -> list[Mismatch]:
    found_title = (context.get("course") or {}).get("title")
    block = context.get("session") or {}
    found = []
    if found_title is not None and found_title != facts.title:
        found.append(_mismatch(TITLE, label, facts.title, found_title,
                               f"intitulé « {found_title} », la formation s'intitule « {facts.title} »."))
    for field, key, text in (
            (DATES, "dates", "dates « {found} », la session a lieu {expected}."),
            (HOURS, "hours", "durée de {found} indiquée, la session en prévoit {expected}."),
            (PLACE, "place", "lieu indiqué « {found} », lieu de la session : « {expected} ».")):
        value, expected = block.get(key), facts.block[key]
        if value is not None and value != expected:
            found.append(_mismatch(field, label, expected, value, text.format(found=value, expected=expected)))
    return found


def _convention_trainees(facts: Facts, label: str, document: GeneratedDocument) -> list[Mismatch]:
    """The company's trainees on the session against those the convention names (by the name it prints)."""
    ours = {e.trainee.display_name: e for e in facts.enrolments.values()
            if (e.company_id or e.trainee.company_id) == document.company_id}
    named = [t.get("full_name", "") for t in document.context.get("trainees") or []]
    expected = ", ".join(sorted(ours)) or "aucun"
    found = []
    for name in named:
        if name not in ours:
            found.append(_mismatch(TRAINEES, label, expected, name,
                                   f"{name} est sur ce document, mais pas sur {facts.roster}."))
    for name, enrolment in ours.items():
        if name not in named:
            found.append(_mismatch(TRAINEES, label, name, ", ".join(named) or "aucun",
                                   f"{name} figure sur {facts.roster}, mais pas sur ce document.", enrolment.id))
    return found


def _trainee_hours(facts: Facts, label: str, document: GeneratedDocument) -> list[Mismatch]:
    """An attestation or a certificate: a trainee on the sheets, with the hours signed."""
    enrolment = facts.enrolments.get(document.enrolment_id)
    name = (document.context.get("trainee") or {}).get("full_name", "")
    if enrolment is None:
        return [_mismatch(TRAINEES, label, "", name, f"{name} ne figure pas sur {facts.roster}.",
                          document.enrolment_id)]
    name = enrolment.trainee.full_name
    attended = document.context.get("attendance") or {}
    printed = attended.get("hours")
    signed = _hours(facts.signed.get(enrolment.id))
    found = []
    if printed is not None and printed != signed:
        found.append(_mismatch(HOURS, label, signed, printed, f"{printed} indiquées pour {name}, {signed} signées "
                                                              "sur les feuilles d'émargement.", enrolment.id))
    if "modalities" in attended:
        found += _modality_hours(facts, label, enrolment, attended["modalities"] or [])
    return found


# {« Classe virtuelle »: « en classe virtuelle »}: how a modality printed on a document reads in a sentence.
_IN_SENTENCE_BY_LABEL = {label: IN_SENTENCE[modality] for modality, label in SLOT_MODALITIES.items()}


def _modality_hours(facts: Facts, label: str, enrolment: Enrolment, lines: list[dict]) -> list[Mismatch]:
    """The hours an attestation or a certificate prints per modality against those signed per modality (0 h for a
    modality on one side only)."""
    printed = {line.get("label", ""): line.get("hours", "") for line in lines}
    signed = facts.modality_hours(enrolment.id)
    found = []
    for modality in [m for m in SLOT_MODALITIES.values() if m in printed or m in signed] + [
            m for m in printed if m not in SLOT_MODALITIES.values()]:
        shown, expected = printed.get(modality) or "0 h", signed.get(modality) or "0 h"
        if shown != expected:
            where = _IN_SENTENCE_BY_LABEL.get(modality, f"« {modality} »")
            found.append(_mismatch(HOURS, label, expected, shown,
                                   f"{shown} {where} indiquées pour {enrolment.trainee.full_name}, {expected} "
                                   f"signées {where} sur les feuilles d'émargement.", enrolment.id))
    return found


def _document_mismatches(facts: Facts, document: GeneratedDocument) -> list[Mismatch]:
    label = f"{document.label} n° {document.number}"
    found = _session_block(facts, label, document.context or {})
    if document.doc_type == "convention":
        found += _convention_trainees(facts, label, document)
    elif document.doc_type in HOURS_DOCUMENTS:
        found += _trainee_hours(facts, label, document)
    return found


def _invoice_mismatches(facts: Facts, invoice: Invoice, outsiders: dict[int, Enrolment]) -> list[Mismatch]:
    label = f"{invoice.kind_label} n° {invoice.number}"
    session, found = facts.session, []
    if invoice.service_start is not None and (invoice.service_start, invoice.service_end) != (
            session.first_date, session.last_date):
        printed, expected = _span(invoice.service_start, invoice.service_end), facts.block["dates"]
        found.append(_mismatch(DATES, label, expected, printed,
                               f"prestation {printed}, la session a lieu {expected}."))
    titles = [m.group(1) for m in (LINE_TITLE.match(line.description) for line in invoice.lines) if m]
    other = next((title for title in titles if title != facts.title), None)
    if other is not None:
        found.append(_mismatch(TITLE, label, facts.title, other,
                               f"intitulé « {other} », la formation s'intitule « {facts.title} »."))
    for line in invoice.lines:
        if line.enrolment_id is None:
            continue
        enrolment = facts.enrolments.get(line.enrolment_id)
        if enrolment is None:
            outsider = outsiders.get(line.enrolment_id)
            name = outsider.trainee.full_name if outsider is not None else f"inscription n° {line.enrolment_id}"
            found.append(_mismatch(TRAINEES, label, "", name, f"une ligne facture {name}, qui ne figure pas sur "
                                                            f"{facts.roster}.", line.enrolment_id))
        elif line.hours is not None and _hours(line.hours) != _hours(facts.signed.get(enrolment.id)):
            printed, signed = _hours(line.hours), _hours(facts.signed.get(enrolment.id))
            found.append(_mismatch(HOURS, label, signed, printed,
                                   f"{printed} facturées pour {enrolment.trainee.full_name}, {signed} signées sur "
                                   "les feuilles d'émargement.", enrolment.id))
    return found


def _unique(mismatches: list[Mismatch]) -> list[Mismatch]:
    """Once each (an invoice's lines of one trainee state the same fact)."""
    return list(dict.fromkeys(mismatches))


def _check(sessions: list[TrainingSession]) -> dict[int, list[Mismatch]]:
    if not sessions:
        return {}
    ids = [s.id for s in sessions]
    facts = _facts(sessions)
    found: dict[int, list[Mismatch]] = {session_id: [] for session_id in ids}
    for document in _documents(ids):
        found[document.session_id] += _document_mismatches(facts[document.session_id], document)
    invoices = _invoices(ids)
    outsiders = _outsiders(invoices, facts)
    for invoice in invoices:
        found[invoice.session_id] += _invoice_mismatches(facts[invoice.session_id], invoice, outsiders)
    return {session_id: _unique(items) for session_id, items in found.items()}


def session_mismatches(session: TrainingSession) -> list[Mismatch]:
    """Every mismatch between the session's documents and its facts, documents in the order they were issued, then
    the invoices. The same number of queries whatever the number of trainees and documents."""
    return _check([session]).get(session.id, [])


def period_mismatches(start: dt.date, end: dt.date, session_ids=None) -> dict[int, list[Mismatch]]:
    """{session id: its mismatches} for the sessions (not cancelled) with a half-day from ``start`` to ``end``,
    narrowed to ``session_ids`` when given; a consistent session maps to an empty list."""
    return _check(_sessions(start, end, session_ids))
