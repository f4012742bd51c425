"""The per-session administrative checklist: what an auditor (Qualiopi) or an OPCO checks for each session, with
due dates relative to the session and automatic ticks wherever the data proves the item; a manual tick
(``ChecklistTick``: comment, author, date) otherwise.

Items, in the order of their usual due dates (Europe/Paris calendar days: "J" is the first slot's date for the
items before the session, the last slot's date for the items after it):

==================  =====================================  ====  ===============================================
key                 due                                    Q.    ticks itself when
==================  =====================================  ====  ===============================================
convention_sent     J−15 (CHECKLIST_CONVENTION_DAYS_BEFORE) —    a convention for each client company (inter: the
                                                                 employer of each trainee; intra: the client) and
                                                                 a contract for each self-paying trainee has been
                                                                 archived and its e-mail has left the outbox
convention_signed   J−15                                    —    the same documents, each signed electronically by
                                                                 all its signatories (signing/); a paper copy
                                                                 returned is ticked by hand
convocations        J−7 (CONVOCATION_DAYS_BEFORE)           9    every trainee's convocation has left
                                                                 (Enrolment.convocation_sent_at)
opco_agreement      the day before J0                       —    every funder's line of the trainees (OPCO,
                                                                 France Travail, public funder, a fund of the
                                                                 self-employed under subrogation) is "accordée";
                                                                 not applicable without any
positioning         the day before J0                       8    every trainee answered the positioning
                                                                 questionnaire or has the advisor's decision
hot_survey          the last day                            30   every trainee who attended was sent the hot
                                                                 survey (or answered it on the spot)
attendance          the day after the end                   10   every half-day is countersigned by the trainer
                                                                 and every trainee's cell is signed, corrected or
                                                                 marked absent
certificates        J+7 (CHECKLIST_CERTIFICATES_DAYS_AFTER) —    every trainee who attended was e-mailed their
                                                                 certificat de réalisation
invoice             J+7 (CHECKLIST_INVOICE_DAYS_AFTER)      —    every payer of the session has an issued invoice
                                                                 not fully credited: nothing is left to invoice by
                                                                 the proposal rule of billing/invoices.py (drafts
                                                                 do not count) and every payer is known (OPCO
                                                                 agreements recorded…); not applicable when the
                                                                 ended session has nothing to invoice
cold_survey         J+60 (the course's cold delay, else     30   every trainee who attended was sent the cold
                    SURVEY_COLD_DAYS)                            evaluation
==================  =====================================  ====  ===============================================

"Trainees" are the enrolments expected at the session (confirmed, and after it completed, abandoned or no-show);
"who attended" are the completed and abandoned ones, known once the session has ended.

States: ``done`` (automatic, with the evidence and a link to it), ``manual`` (ticked by the staff, with the
comment, author and date), ``pending``, ``overdue`` (today is past the due date and the item is not done), ``na``
(not applicable, with the reason). A cancelled session has every item ``na`` (nothing is ever overdue); a draft
session's items are never overdue. An item the data already proves cannot be ticked or un-ticked by hand; any
other applicable item can be ticked with a comment (always required: where the evidence is, who checked it).
Un-ticking deletes the tick (the trace goes to the ``trainingmgr.quality`` log).

Functions for other modules (the Qualiopi board reuses the first one):

- ``session_checklists(sessions, today=None) -> {session_id: [ItemStatus, ...]}``: every item of every session
  given, in ITEMS order, computed in a bounded number of queries (about twenty) whatever the number of sessions;
  ``ItemStatus`` has ``item`` (key, label, indicator…), ``due``, ``state``, ``evidence`` (French), ``done_count``
  and ``total`` when counted, ``tick`` (the manual tick, if any), ``url`` (the evidence page, if any; needs an
  application context).
- ``session_checklist(session, today=None)``: the same for one session; ``checklist_summary(session, today=None)``:
  counts per state and the overdue items, for the session page.
- ``overdue_items(today)``: the dashboard's list of overdue items (session, label, due date), over the sessions
  neither cancelled nor draft whose slots fall between today − CHECKLIST_DASHBOARD_PAST_DAYS (widened to cover the
  longest cold-survey delay + 30 days) and today + CHECKLIST_DASHBOARD_AHEAD_DAYS.
- ``tick_item(session, key, comment, actor)``, ``untick_item(session, key, actor)``.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from decimal import Decimal

from flask import current_app, url_for
from sqlalchemy import func, literal, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from ..accounts.models import User
from ..catalogue.models import Course
from ..core.errors import ConflictError, NotFoundError, ValidationError
from ..core.formatting import date_fr
from ..core.timeutil import paris_today
from ..extensions import db
from ..sessions import services as session_services
from ..sessions.models import SessionStatus, Slot, TrainingSession
from ..signing.services import completed_documents
from .models import ChecklistTick

log = logging.getLogger("trainingmgr.quality")

# The enrolments a session's checklist is about (the attendance register's "expected" trainees).
EXPECTED = ("confirmed", "completed", "abandoned", "no_show")
ATTENDED = ("completed", "abandoned")
ENDED = (SessionStatus.COMPLETED.value, SessionStatus.CLOSED.value)
STARTED = (SessionStatus.IN_PROGRESS.value,) + ENDED
MAX_COMMENT = 2000

STATE_LABELS = {
    "done": "Fait",
    "manual": "Fait (coché à la main)",
    "pending": "À faire",
    "overdue": "En retard",
    "na": "Sans objet",
}


@dataclass(frozen=True)
class Item:
    key: str
    label: str
    help: str
    indicator: int | None  # Qualiopi indicator the item evidences, if any
    reference: str  # the rule behind it, for the page
    auto: bool  # whether the data can tick it


ITEMS: tuple[Item, ...] = (
    Item("convention_sent", "Convention de formation envoyée (ou contrat pour un particulier)",
         "Cochée d'après les envois : la convention archivée de chaque entreprise cliente (ou le contrat de chaque "
         "stagiaire à ses frais) a été envoyée par e-mail depuis la page Documents de la session.",
         None, "Code du travail L6353-1 (convention), L6353-3 (contrat)", True),
    Item("convention_signed", "Convention (ou contrat) signée en retour",
         "Cochée quand la convention de chaque entreprise cliente (ou le contrat de chaque stagiaire à ses frais) est "
         "signée électroniquement par tous ses signataires (« Envoyer pour signature », page Documents). Un "
         "exemplaire papier signé se coche à la main : indiquez où il est classé.",
         None, "Code du travail L6353-1 (convention), L6353-3 (contrat)", True),
    Item("convocations", "Convocations envoyées à tous",
         "Coché quand la convocation de chaque stagiaire est partie (date d'envoi enregistrée sur l'inscription).",
         9, "Qualiopi, indicateur 9", True),
    Item("opco_agreement", "Accord de prise en charge reçu (OPCO, France Travail, financeur public…)",
         "Coché quand toutes les prises en charge des stagiaires (OPCO, France Travail, région ou autre financeur "
         "public, fonds des non-salariés qui paie l'organisme) sont « accordée » (fiche de l'inscription, "
         "financement).",
         None, "Conditions de prise en charge des financeurs", True),
    Item("positioning", "Positionnement fait pour tous les stagiaires",
         "Coché quand chaque stagiaire a envoyé son questionnaire de positionnement ou que le conseiller a "
         "enregistré sa décision (admis, admis avec adaptation).",
         8, "Qualiopi, indicateur 8", True),
    Item("hot_survey", "Enquête de satisfaction à chaud envoyée",
         "Cochée quand chaque stagiaire ayant suivi la formation a reçu l'enquête à chaud (ou l'a remplie sur "
         "place) : elle part seule à la fin de la session.",
         30, "Qualiopi, indicateur 30", True),
    Item("attendance", "Émargement complet et contresigné",
         "Coché quand chaque demi-journée est contresignée par le formateur et que chaque stagiaire a signé, "
         "a été corrigé ou relevé absent.",
         10, "Qualiopi, indicateur 10 ; preuve de réalisation (R6332-26)", True),
    Item("certificates", "Certificats de réalisation envoyés",
         "Coché quand le certificat de réalisation de chaque stagiaire ayant suivi la formation lui a été envoyé "
         "par e-mail depuis la page Documents.",
         None, "Certificat de réalisation (modèle du ministère), L6353-1", True),
    Item("invoice", "Facture émise",
         "Cochée quand chaque payeur de la session (entreprise, OPCO en subrogation, acheteur public, stagiaire "
         "à ses frais) a sa facture émise, non annulée par un avoir : rien ne reste à facturer sur la page "
         "Facturation de la session et chaque prise en charge OPCO est accordée.",
         None, "Facturation (client, OPCO en subrogation)", True),
    Item("cold_survey", "Évaluation à froid envoyée",
         "Cochée quand chaque stagiaire ayant suivi la formation a reçu l'évaluation à froid (envoi automatique "
         "au délai du cours).",
         30, "Qualiopi, indicateur 30", True),
)
ITEMS_BY_KEY = {item.key: item for item in ITEMS}


@dataclass
class ItemStatus:
    item: Item
    due: dt.date | None
    due_rule: str  # "15 jours avant le début"
    state: str = "pending"
    evidence: str = ""
    done_count: int | None = None
    total: int | None = None
    tick: ChecklistTick | None = None
    link: tuple[str, dict] | None = None  # (endpoint, values) of the evidence page

    @property
    def key(self) -> str:
        return self.item.key

    @property
    def label(self) -> str:
        return self.item.label

    @property
    def state_label(self) -> str:
        return STATE_LABELS[self.state]

    @property
    def is_done(self) -> bool:
        return self.state in ("done", "manual")

    @property
    def can_tick(self) -> bool:
        return self.state in ("pending", "overdue") and self.tick is None

    @property
    def can_untick(self) -> bool:
        return self.tick is not None and self.state != "done"

    @property
    def url(self) -> str | None:
        return url_for(self.link[0], **self.link[1]) if self.link else None


@dataclass
class Summary:
    items: list[ItemStatus]
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def overdue(self) -> list[ItemStatus]:
        return [status for status in self.items if status.state == "overdue"]

    @property
    def done(self) -> int:
        return self.counts.get("done", 0) + self.counts.get("manual", 0)

    @property
    def applicable(self) -> int:
        return len(self.items) - self.counts.get("na", 0)


@dataclass
class OverdueItem:
    session: TrainingSession
    key: str
    label: str
    due: dt.date


# --------------------------------------------------------------------------- due dates


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n > 1 else ''}"


def _offset_rule(days: int, anchor: str) -> str:
    where = "début" if anchor == "start" else "fin"
    if days == 0:
        return "le premier jour" if anchor == "start" else "le dernier jour"
    if days == -1:
        return f"la veille du {where}" if anchor == "start" else "la veille de la fin"
    if days == 1:
        return "le lendemain du début" if anchor == "start" else "le lendemain de la fin"
    if days < 0:
        return f"{_plural(-days, 'jour')} avant le {where}" if anchor == "start" else \
            f"{_plural(-days, 'jour')} avant la fin"
    return f"{_plural(days, 'jour')} après le {where}" if anchor == "start" else \
        f"{_plural(days, 'jour')} après la fin"


def _offsets(session: TrainingSession) -> dict[str, tuple[str, int]]:
    """Each item's (anchor, days): "start" counts from the first slot's date, "end" from the last one's."""
    config = current_app.config
    convention = -int(config["CHECKLIST_CONVENTION_DAYS_BEFORE"])
    cold = session.course.cold_survey_days or int(config["SURVEY_COLD_DAYS"])
    return {
        "convention_sent": ("start", convention),
        "convention_signed": ("start", convention),
        "opco_agreement": ("start", -1),
        "positioning": ("start", -1),
        "convocations": ("start", -int(config["CONVOCATION_DAYS_BEFORE"])),
        "attendance": ("end", 1),
        "hot_survey": ("end", 0),
        "certificates": ("end", int(config["CHECKLIST_CERTIFICATES_DAYS_AFTER"])),
        "cold_survey": ("end", cold),
        "invoice": ("end", int(config["CHECKLIST_INVOICE_DAYS_AFTER"])),
    }


# --------------------------------------------------------------------------- loading the evidence


@dataclass
class _Evidence:
    enrolments: dict[int, list] = field(default_factory=dict)
    opco_lines: dict[int, list] = field(default_factory=dict)
    positioned: set[int] = field(default_factory=set)  # enrolment ids with a submitted positioning response
    documents: dict[tuple[int, str], dict[int, dt.datetime]] = field(default_factory=dict)
    signed: dict[tuple[int, str], dict[int, dt.datetime]] = field(default_factory=dict)  # signed by everyone
    invitations: dict[tuple[int, str], dict[int, dt.datetime | None]] = field(default_factory=dict)
    records: dict[int, list] = field(default_factory=dict)
    ticks: dict[int, dict[str, ChecklistTick]] = field(default_factory=dict)
    invoices: dict[int, list] = field(default_factory=dict)  # issued invoices not fully credited, of ended sessions
    vat_rate: Decimal = Decimal("0.00")


def _session_options():
    """What the checklist (and the dashboard's list) reads of a session: its slots, course and version, its client
    company (an intra session's invoice)."""
    from ..companies.models import Company

    return (selectinload(TrainingSession.slots), selectinload(TrainingSession.course),
            selectinload(TrainingSession.course_version),
            selectinload(TrainingSession.client_company).selectinload(Company.contacts))


def _load_evidence(sessions: list[TrainingSession]) -> _Evidence:
    """Everything the items read, for all the sessions at once: a fixed number of queries."""
    from ..attendance.services import session_records
    from ..billing.invoices import current_vat_rate, issued_invoices_by_session
    from ..companies.models import Company
    from ..documents.models import GeneratedDocument
    from ..enrolments.models import AGREEMENT_KINDS, Enrolment, FundingLine
    from ..evaluations.models import Questionnaire, Response, SurveyInvitation
    from ..messaging.models import OutboxAttachment, OutboxMessage
    from ..trainees.models import Trainee

    ids = [session.id for session in sessions]
    found = _Evidence()
    expected = (select(Enrolment.id).where(Enrolment.session_id.in_(ids), Enrolment.status.in_(EXPECTED))
                .scalar_subquery())
    # With what the invoice rule reads (billing.invoices.uninvoiced): companies, their contacts, funding lines.
    for enrolment in db.session.scalars(
            select(Enrolment).where(Enrolment.session_id.in_(ids), Enrolment.status.in_(EXPECTED))
            .options(joinedload(Enrolment.trainee).selectinload(Trainee.company).selectinload(Company.contacts),
                     selectinload(Enrolment.company).selectinload(Company.contacts),
                     selectinload(Enrolment.funding_lines).selectinload(FundingLine.payer_company)
                     .selectinload(Company.contacts))
            .order_by(Enrolment.id)):
        found.enrolments.setdefault(enrolment.session_id, []).append(enrolment)
    for session_id, line_status, agreed_on in db.session.execute(
            select(Enrolment.session_id, FundingLine.opco_status, FundingLine.agreed_on)
            .join(Enrolment, Enrolment.id == FundingLine.enrolment_id)
            .where(FundingLine.enrolment_id.in_(expected), FundingLine.kind.in_(AGREEMENT_KINDS),
                   # decision: a fund of the self-employed that refunds the trainee is the trainee's affair
                   or_(FundingLine.kind != "self_employed_fund", FundingLine.subrogation))):
        found.opco_lines.setdefault(session_id, []).append((line_status, agreed_on))
    found.positioned = set(db.session.scalars(
        select(Response.enrolment_id).join(Questionnaire, Questionnaire.id == Response.questionnaire_id)
        .where(Response.enrolment_id.in_(expected), Questionnaire.kind == "positioning",
               Response.status == "submitted")))
    # A document counts as sent when an outbox message that left carries its archived DOCX.
    for session_id, doc_type, company_id, enrolment_id, sent_at in db.session.execute(
            select(GeneratedDocument.session_id, GeneratedDocument.doc_type, GeneratedDocument.company_id,
                   GeneratedDocument.enrolment_id, func.max(OutboxMessage.sent_at))
            .join(OutboxAttachment, OutboxAttachment.filename == GeneratedDocument.number + ".docx")
            .join(OutboxMessage, OutboxMessage.id == OutboxAttachment.message_id)
            .where(GeneratedDocument.session_id.in_(ids),
                   GeneratedDocument.doc_type.in_(("convention", "contract", "certificate")),
                   OutboxMessage.topic == literal("document_") + GeneratedDocument.doc_type,
                   OutboxMessage.status == "sent")
            .group_by(GeneratedDocument.session_id, GeneratedDocument.doc_type, GeneratedDocument.company_id,
                      GeneratedDocument.enrolment_id)):
        target = company_id if doc_type == "convention" else enrolment_id
        if target is not None:
            sent = found.documents.setdefault((session_id, doc_type), {})
            sent[target] = max(sent_at, sent[target]) if target in sent else sent_at
    for session_id, doc_type, company_id, enrolment_id, signed_at in completed_documents(ids):
        target = company_id if doc_type == "convention" else enrolment_id
        if doc_type in ("convention", "contract") and target is not None:
            signed = found.signed.setdefault((session_id, doc_type), {})
            signed[target] = max(signed_at, signed[target]) if target in signed else signed_at
    for session_id, kind, enrolment_id, sent_at, responded_at in db.session.execute(
            select(SurveyInvitation.session_id, SurveyInvitation.kind, SurveyInvitation.enrolment_id,
                   SurveyInvitation.sent_at, SurveyInvitation.responded_at)
            .where(SurveyInvitation.session_id.in_(ids), SurveyInvitation.kind.in_(("hot", "cold")),
                   SurveyInvitation.enrolment_id.is_not(None))):
        if sent_at is not None or responded_at is not None:
            found.invitations.setdefault((session_id, kind), {})[enrolment_id] = sent_at or responded_at
    with_register = [s.id for s in sessions if s.status in STARTED + (SessionStatus.CONFIRMED.value,)]
    for record in session_records(with_register):
        found.records.setdefault(record.session_id, []).append(record)
    for tick in db.session.scalars(select(ChecklistTick).where(ChecklistTick.session_id.in_(ids))
                                   .options(joinedload(ChecklistTick.author))):
        found.ticks.setdefault(tick.session_id, {})[tick.item] = tick
    ended = [s.id for s in sessions if s.status in ENDED]
    if ended:  # invoices are issued once the session has ended
        found.invoices = issued_invoices_by_session(ended)
        found.vat_rate = current_vat_rate()
    return found


# --------------------------------------------------------------------------- evaluating the items


def _company_of(enrolment) -> int | None:
    return enrolment.company_id or enrolment.trainee.company_id


def _last(dates) -> str:
    dates = [d for d in dates if d is not None]
    return date_fr(max(dates)) if dates else ""


def _count(status: ItemStatus, done: int, total: int, text: str) -> None:
    status.done_count, status.total = done, total
    status.evidence = text
    if total and done >= total:
        status.state = "done"


def _conventions(status: ItemStatus, session: TrainingSession, enrolments: list, found: _Evidence,
                 signed: bool = False) -> str | None:
    """Sent (or, with ``signed``, signed by everyone) conventions and contracts. Returns the reason when not
    applicable."""
    if session.format == "intra" and session.client_company_id is not None:
        companies, individuals = {session.client_company_id}, []
    else:
        companies = {_company_of(e) for e in enrolments} - {None}
        individuals = [e for e in enrolments if _company_of(e) is None]
    if not companies and not individuals:
        return "Aucun stagiaire inscrit."
    evidence = found.signed if signed else found.documents
    conventions = evidence.get((session.id, "convention"), {})
    contracts = evidence.get((session.id, "contract"), {})
    sent_conventions = [conventions[c] for c in companies if c in conventions]
    sent_contracts = [contracts[e.id] for e in individuals if e.id in contracts]
    parts = []
    verb, noun = ("signé", "signature") if signed else ("envoyé", "envoi")
    if companies:
        parts.append(f"{len(sent_conventions)}/{len(companies)} convention(s) {verb}e(s)")
    if individuals:
        parts.append(f"{len(sent_contracts)}/{len(individuals)} contrat(s) {verb}(s)")
    last = _last(sent_conventions + sent_contracts)
    _count(status, len(sent_conventions) + len(sent_contracts), len(companies) + len(individuals),
           ", ".join(parts) + (f" (dernière {noun} le {last})" if last and signed else
                               f" (dernier {noun} le {last})" if last else ""))
    status.link = ("documents.session_documents", {"session_id": session.id})
    return None


def _opco(status: ItemStatus, session: TrainingSession, found: _Evidence) -> str | None:
    lines = found.opco_lines.get(session.id, [])
    if not lines:
        return "Aucune prise en charge à attendre (OPCO, France Travail, financeur public…)."
    agreed = [on for line_status, on in lines if line_status == "agreed"]
    refused = sum(1 for line_status, _ in lines if line_status == "refused")
    last = _last(agreed)
    text = f"{len(agreed)}/{len(lines)} accord(s) reçu(s)" + (f", le dernier le {last}" if last else "")
    if refused:
        text += f" ; {refused} refus à régler"
    _count(status, len(agreed), len(lines), text)
    status.link = ("enrolments.board", {})
    return None


def _positioning(status: ItemStatus, enrolments: list, found: _Evidence) -> str | None:
    if not enrolments:
        return "Aucun stagiaire inscrit."
    done = [e for e in enrolments if e.positioning_decision or e.id in found.positioned]
    _count(status, len(done), len(enrolments),
           f"{len(done)}/{len(enrolments)} positionnement(s) (questionnaire envoyé ou décision du conseiller)")
    return None


def _convocations(status: ItemStatus, enrolments: list) -> str | None:
    if not enrolments:
        return "Aucun stagiaire inscrit."
    sent = [e.convocation_sent_at for e in enrolments if e.convocation_sent_at is not None]
    last = _last(sent)
    _count(status, len(sent), len(enrolments),
           f"{len(sent)}/{len(enrolments)} convocation(s) envoyée(s)" + (f", la dernière le {last}" if last else ""))
    return None


def _attendance(status: ItemStatus, session: TrainingSession, enrolments: list, found: _Evidence) -> str | None:
    from ..attendance.services import build_grid

    if not session.slots:
        status.evidence = "Aucune demi-journée planifiée."
        return None
    if not enrolments:
        return "Aucun stagiaire inscrit."
    grid = build_grid(session, enrolments, found.records.get(session.id, []))
    countersigned = sum(1 for slot in grid.slots if slot.id in grid.countersignatures)
    cells = [cell for row in grid.rows for cell in row.cells]
    complete = sum(1 for cell in cells if cell.status in ("signed", "corrected", "absent"))
    _count(status, countersigned + complete, len(grid.slots) + len(cells),
           f"{countersigned}/{len(grid.slots)} demi-journée(s) contresignée(s) par le formateur, "
           f"{complete}/{len(cells)} émargement(s) (signés, corrigés ou absences relevées)")
    status.link = ("attendance.verify", {"session_id": session.id})
    return None


def _after_session(status: ItemStatus, session: TrainingSession, enrolments: list, sent: dict[int, object],
                   noun: str, link: tuple[str, dict] | None, waiting: str) -> str | None:
    """Hot survey, cold survey, certificates: one per trainee who attended, known once the session ended."""
    if session.status not in ENDED:
        if not enrolments:
            return "Aucun stagiaire inscrit."
        status.evidence = waiting
        return None
    attended = [e for e in enrolments if e.status in ATTENDED]
    if not attended:
        return "Aucun stagiaire n'a suivi la formation."
    dates = [sent[e.id] for e in attended if e.id in sent]
    last = _last(dates)
    _count(status, len(dates), len(attended),
           f"{len(dates)}/{len(attended)} {noun}" + (f", le dernier envoi le {last}" if last else ""))
    status.link = link
    return None


def _plural_fr(n: int, noun: str, participle: str) -> str:
    """"1 facture émise", "3 factures émises"."""
    return f"{n} {noun}{'s' if n > 1 else ''} {participle}{'s' if n > 1 else ''}"


def _invoice(status: ItemStatus, session: TrainingSession, enrolments: list, found: _Evidence) -> str | None:
    """Done when every payer of the session has an issued invoice not fully credited (billing.invoices decides who
    must be invoiced). Returns the reason when not applicable."""
    from ..billing.invoices import INVOICED_ENROLMENTS, uninvoiced

    status.link = ("billing.session", {"session_id": session.id})
    if session.status not in ENDED:
        if not enrolments and session.format != "intra":
            return "Aucun stagiaire inscrit."
        status.evidence = "À émettre une fois la session terminée (page Facturation de la session)."
        return None
    issued = found.invoices.get(session.id, [])
    remaining = uninvoiced(session, [e for e in enrolments if e.status in INVOICED_ENROLMENTS], issued,
                           found.vat_rate)
    if not issued and not remaining.invoices and not remaining.unknown:
        return "Rien à facturer : aucune inscription facturable (ou des prix nuls)."
    numbers = [invoice.number for invoice in issued]
    parts = [_plural_fr(len(issued), "facture", "émise")
             + (f" ({', '.join(numbers[:5])}{', …' if len(numbers) > 5 else ''})" if numbers else "")]
    if remaining.invoices:
        parts.append(f"reste à facturer : {', '.join(p.label for p in remaining.invoices)}")
    if remaining.unknown:
        count = len(remaining.unknown)
        parts.append(f"payeur inconnu pour {count} inscription{'s' if count > 1 else ''} (accord OPCO à enregistrer, "
                     "taux horaire ou heures manquants, entreprise à rattacher)")
    status.evidence = " ; ".join(parts)
    status.done_count, status.total = len(issued), len(issued) + len(remaining.invoices)
    if not remaining.invoices and not remaining.unknown:
        status.state = "done"
    return None


def _evaluate(session: TrainingSession, found: _Evidence, today: dt.date) -> list[ItemStatus]:
    offsets = _offsets(session)
    first, last = session.first_date, session.last_date
    enrolments = found.enrolments.get(session.id, [])
    ticks = found.ticks.get(session.id, {})
    results = []
    for item in ITEMS:
        anchor, days = offsets[item.key]
        base = first if anchor == "start" else last
        status = ItemStatus(item, base + dt.timedelta(days=days) if base else None, _offset_rule(days, anchor),
                            tick=ticks.get(item.key))
        results.append(status)
        if session.is_cancelled:
            status.state, status.evidence = "na", "Session annulée."
            continue
        reason = None
        key = item.key
        if key == "convention_sent":
            reason = _conventions(status, session, enrolments, found)
        elif key == "convention_signed":
            reason = _conventions(status, session, enrolments, found, signed=True)
        elif key == "opco_agreement":
            reason = _opco(status, session, found)
        elif key == "positioning":
            reason = _positioning(status, enrolments, found)
        elif key == "convocations":
            reason = _convocations(status, enrolments)
        elif key == "attendance":
            reason = _attendance(status, session, enrolments, found)
        elif key == "hot_survey":
            reason = _after_session(status, session, enrolments, found.invitations.get((session.id, "hot"), {}),
                                    "enquête(s) envoyée(s) (ou remplie(s) sur place)",
                                    ("results.session", {"session_id": session.id}),
                                    "Envoi automatique à la fin de la session.")
        elif key == "certificates":
            reason = _after_session(status, session, enrolments,
                                    found.documents.get((session.id, "certificate"), {}),
                                    "certificat(s) envoyé(s)",
                                    ("documents.session_documents", {"session_id": session.id}),
                                    "À produire et envoyer une fois la session terminée (page Documents).")
        elif key == "invoice":
            reason = _invoice(status, session, enrolments, found)
        elif key == "cold_survey":
            reason = _after_session(status, session, enrolments, found.invitations.get((session.id, "cold"), {}),
                                    "évaluation(s) à froid envoyée(s)",
                                    ("results.session", {"session_id": session.id}),
                                    "Envoi automatique après la session, au délai prévu pour le cours.")
        if status.state == "done":
            continue
        if reason is not None:
            status.state, status.evidence, status.link = "na", reason, None
            status.done_count = status.total = None
            continue
        if status.tick is not None:
            status.state = "manual"
        elif (status.due is not None and today > status.due
              and session.status != SessionStatus.DRAFT.value):
            status.state = "overdue"
    return results


# --------------------------------------------------------------------------- reading


def _compute(sessions: list[TrainingSession], today: dt.date) -> dict[int, list[ItemStatus]]:
    found = _load_evidence(sessions)
    return {session.id: _evaluate(session, found, today) for session in sessions}


def session_checklists(sessions, today: dt.date | None = None) -> dict[int, list[ItemStatus]]:
    """Every item of each session (in ITEMS order), keyed by session id, in a bounded number of queries
    (the sessions are read again with their slots and course, so any session objects will do)."""
    today = today or paris_today()
    ids = sorted({session.id for session in sessions})
    if not ids:
        return {}
    loaded = list(db.session.scalars(select(TrainingSession).where(TrainingSession.id.in_(ids))
                                     .options(*_session_options())))
    return _compute(loaded, today)


def session_checklist(session: TrainingSession, today: dt.date | None = None) -> list[ItemStatus]:
    return session_checklists([session], today).get(session.id, [])


def checklist_summary(session: TrainingSession, today: dt.date | None = None) -> Summary:
    items = session_checklist(session, today)
    counts: dict[str, int] = {}
    for status in items:
        counts[status.state] = counts.get(status.state, 0) + 1
    return Summary(items, counts)


def dashboard_window(today: dt.date) -> tuple[dt.date, dt.date]:
    """The dates between which a session's slots put it on the dashboard's overdue list."""
    config = current_app.config
    longest_cold = db.session.scalar(select(func.max(Course.cold_survey_days))) or 0
    past = max(int(config["CHECKLIST_DASHBOARD_PAST_DAYS"]), int(config["SURVEY_COLD_DAYS"]) + 30, longest_cold + 30)
    return today - dt.timedelta(days=past), today + dt.timedelta(days=int(config["CHECKLIST_DASHBOARD_AHEAD_DAYS"]))


def overdue_items(today: dt.date) -> list[OverdueItem]:
    """The overdue items of the sessions (neither cancelled nor draft) that have a slot within the dashboard
    window, oldest due date first. A fixed number of queries whatever the number of sessions."""
    start, end = dashboard_window(today)
    within = (select(Slot.session_id).group_by(Slot.session_id)
              .having(func.max(Slot.date) >= start, func.min(Slot.date) <= end))
    sessions = list(db.session.scalars(
        select(TrainingSession).where(
            TrainingSession.id.in_(within),
            TrainingSession.status.not_in((SessionStatus.CANCELLED.value, SessionStatus.DRAFT.value)))
        .options(*_session_options())))
    if not sessions:
        return []
    by_id = {session.id: session for session in sessions}
    order = {item.key: n for n, item in enumerate(ITEMS)}
    found = [OverdueItem(by_id[session_id], status.key, status.label, status.due)
             for session_id, items in _compute(sessions, today).items()
             for status in items if status.state == "overdue"]
    found.sort(key=lambda o: (o.due, o.session.id, order[o.key]))
    return found


# --------------------------------------------------------------------------- manual ticks


def _item(key: str) -> Item:
    item = ITEMS_BY_KEY.get(str(key or ""))
    if item is None:
        raise NotFoundError("Point de contrôle inconnu.")
    return item


def _status_of(session: TrainingSession, item: Item) -> ItemStatus:
    return next(s for s in session_checklist(session) if s.key == item.key)


def tick_item(session: TrainingSession, key: str, comment: str, actor: User) -> ChecklistTick:
    """Tick an item by hand, with a comment (required: where the evidence is, who checked it)."""
    session_services.ensure_can_manage(actor, session)
    item = _item(key)
    comment = str(comment or "").strip()
    if len(comment) < 3:
        raise ValidationError("Indiquez un commentaire : où se trouve la pièce, ou ce qui a été vérifié.",
                              field="comment")
    if len(comment) > MAX_COMMENT:
        raise ValidationError("Le commentaire ne doit pas dépasser 2 000 caractères.", field="comment")
    if session.is_cancelled:
        raise ConflictError("La session est annulée : sa check-list ne s'applique plus.")
    status = _status_of(session, item)
    if status.tick is not None:
        author = status.tick.author.name or status.tick.author.email if status.tick.author else "quelqu'un"
        raise ConflictError(f"« {item.label} » est déjà coché (par {author} le {date_fr(status.tick.created_at)}).")
    if status.state == "done":
        raise ConflictError(f"« {item.label} » est déjà coché d'après les données ({status.evidence}) : "
                            "rien à cocher à la main.")
    if status.state == "na":
        raise ConflictError(f"« {item.label} » ne s'applique pas à cette session : {status.evidence}")
    tick = ChecklistTick(session_id=session.id, item=item.key, comment=comment, author_id=actor.id)
    try:
        with db.session.begin_nested():
            db.session.add(tick)
    except IntegrityError:
        raise ConflictError(f"« {item.label} » vient d'être coché par quelqu'un d'autre.") from None
    return tick


def untick_item(session: TrainingSession, key: str, actor: User) -> None:
    """Remove a manual tick. An item the data proves cannot be un-ticked."""
    session_services.ensure_can_manage(actor, session)
    item = _item(key)
    status = _status_of(session, item)
    if status.state == "done":
        raise ConflictError(f"« {item.label} » est coché d'après les données ({status.evidence}) : "
                            "il ne peut pas être décoché.")
    if status.tick is None:
        raise ConflictError(f"« {item.label} » n'est pas coché à la main : rien à décocher.")
    tick = status.tick
    log.info("Checklist: %s un-ticked on session %s by user %s (ticked by %s on %s: %r)", item.key, session.id,
             actor.id, tick.author_id, tick.created_at.isoformat(), tick.comment[:200])
    db.session.delete(tick)
    db.session.flush()
