"""One sampled session followed as an auditor does, from the programme to the complaints: each step of the chain
with the files the archive holds for it (the current version of each generated document, the issued invoices, the
signed PDFs, the quotes as sent) and what the database says (convocations' sent dates, positioning decisions, the
attendance register's check, acquis, surveys, complaints). A step without a file is « absent » in the index.

A fixed number of queries per session, whatever the number of trainees or documents."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ...attendance import services as attendance
from ...attendance.chain import ChainCheck, verify_chain
from ...attendance.models import AttendanceRecord, AttendanceReport
from ...attendance.reports.formats import SOURCES
from ...attendance.reports.integrity import is_erased, session_reports
from ...billing.models import Invoice, InvoiceStatus
from ...catalogue.models import CourseObjective
from ...core.errors import ConflictError
from ...core.formatting import count_fr, date_fr, datetime_fr, money_fr
from ...core.spreadsheet import csv_bytes
from ...documents import funders
from ...documents import services as documents
from ...documents.catalogue import DOC_TYPES
from ...documents.models import GeneratedDocument
from ...enrolments.models import Enrolment
from ...evaluations.models import (
    ACQUIS_LEVELS,
    QUESTIONNAIRE_KINDS,
    AcquisAssessment,
    Questionnaire,
    Response,
    SurveyInvitation,
)
from ...extensions import db
from ...files.services import read_checked
from ...quotes.models import Quote, QuoteStatus
from ...sessions.models import Slot, SlotModality, TrainingSession
from ...signing import services as signing
from ...signing.models import RequestStatus, SignatureRequest
from ..consistency import Mismatch
from ..models import ChecklistTick, QualityRequest
from .archive import PackArchive, slug

# The steps of the chain, in the order an auditor follows them: (key, French title, the indicators they document).
STEPS = (
    ("programme", "Programme (version de la formation)", (5, 6)),
    ("quote", "Devis", (4,)),
    ("agreement", "Convention ou contrat signé", (9,)),
    ("convocation", "Convocations et date d'envoi", (9,)),
    ("positioning", "Positionnement et décision", (8,)),
    ("attendance", "Feuilles d'émargement et contrôle du registre", (11,)),
    ("acquis", "Évaluation des acquis", (11,)),
    ("certificate", "Attestations et certificats de réalisation", (11,)),
    ("invoice", "Factures et avoirs", ()),
    ("survey", "Enquêtes et leurs résultats", (30,)),
    ("complaint", "Réclamations", (31,)),
)
STEP_TITLES = {key: title for key, title, _ in STEPS}
# The checklist item an advisor ticks by hand for a convention returned signed on paper (quality/checklist/items.py).
SIGNED_ITEM = "convention_signed"
CERTIFICATE_TYPES = ("attestation", "certificate", *funders.FRANCE_TRAVAIL_TYPES)


@dataclass
class Step:
    key: str
    number: int
    title: str
    files: list[str] = field(default_factory=list)  # paths in the archive
    lines: list[str] = field(default_factory=list)  # what the database says, in French

    @property
    def absent(self) -> bool:
        return not self.files

    @property
    def folder(self) -> str:
        return f"{self.number:02d}-{slug(self.title, 60)}"


@dataclass
class SessionChain:
    position: int  # 1, 2, … in the sample
    session_id: int
    label: str  # « Chorus Pro » du 05/03/2026 (n° 12)
    folder: str  # sessions/01-session-12-chorus-pro
    steps: list[Step]
    mismatches: list[Mismatch]
    register_ok: bool  # the attendance chain check

    def step(self, key: str) -> Step:
        return next(s for s in self.steps if s.key == key)


@dataclass
class _Context:
    """What one session's steps read, loaded once."""

    session: TrainingSession
    archive: PackArchive
    folder: str
    section: str
    documents: dict[str, list[GeneratedDocument]]
    enrolments: list[Enrolment]


def _current_documents(session: TrainingSession) -> dict[str, list[GeneratedDocument]]:
    every = documents.session_documents(session)
    current = documents.current_versions(every)
    found: dict[str, list[GeneratedDocument]] = defaultdict(list)
    for document in sorted((d for d in every if d.id in current), key=lambda d: (d.number, d.id)):
        found[document.doc_type].append(document)
    return found


def _add_documents(ctx: _Context, step: Step, docs: list[GeneratedDocument]) -> None:
    """Each document's DOCX and PDF (when it has one), read and checked against the SHA-256 of its generation."""
    for document in docs:
        base = f"{ctx.folder}/{step.folder}/{slug(document.number, 50)}"
        step.files.append(ctx.archive.add(base + ".docx", documents.read_file(document, "docx"), ctx.section))
        if document.pdf_file_id:
            step.files.append(ctx.archive.add(base + ".pdf", documents.read_file(document, "pdf"), ctx.section))


def _add_file(ctx: _Context, step: Step, name: str, data: bytes) -> None:
    step.files.append(ctx.archive.add(f"{ctx.folder}/{step.folder}/{name}", data, ctx.section))


def _programme(ctx: _Context, step: Step) -> None:
    version = ctx.session.course_version
    step.lines.append(f"Version n° {version.number} de la formation « {version.title} », suivie par la session.")
    _add_documents(ctx, step, ctx.documents.get("programme", []))


def _quotes(ctx: _Context, step: Step) -> None:
    quotes = db.session.scalars(select(Quote).where(Quote.session_id == ctx.session.id,
                                                    Quote.status != QuoteStatus.DRAFT.value).order_by(Quote.number))
    for quote in quotes:
        step.lines.append(f"Devis n° {quote.number} : {quote.status_label.lower()}"
                          + (f", envoyé le {datetime_fr(quote.sent_at)}" if quote.sent_at else "") + ".")
        for stored, suffix in ((quote.pdf_file or quote.docx_file, ""), (quote.signed_file, "-signe")):
            if stored is not None:
                ext = stored.original_name.rsplit(".", 1)[-1].lower() if "." in stored.original_name else "pdf"
                _add_file(ctx, step, f"{slug(quote.number)}{suffix}.{ext}", read_checked(stored))


def _agreements(ctx: _Context, step: Step) -> None:
    docs = ctx.documents.get("convention", []) + ctx.documents.get("contract", [])
    _add_documents(ctx, step, docs)
    completed = {r.document_id: r for r in db.session.scalars(
        select(SignatureRequest).where(SignatureRequest.document_id.in_([d.id for d in docs]),
                                       SignatureRequest.status == RequestStatus.COMPLETED.value)
        .options(selectinload(SignatureRequest.revisions)))}
    for document in docs:
        request = completed.get(document.id)
        if request is not None and request.revisions:
            _add_file(ctx, step, f"{slug(document.number, 50)}-signe.pdf", signing.latest_pdf(request))
            signed = DOC_TYPES[document.doc_type].agree("signé")
            step.lines.append(f"{document.label} n° {document.number} : {signed} électroniquement par toutes les "
                              f"parties le {datetime_fr(request.closed_at)}.")
        else:
            step.lines.append(f"{document.label} n° {document.number} : aucune signature électronique enregistrée.")
    tick = db.session.scalar(select(ChecklistTick).where(ChecklistTick.session_id == ctx.session.id,
                                                         ChecklistTick.item == SIGNED_ITEM))
    if tick is not None:
        step.lines.append(f"Retour signé coché à la main dans la check-list le {datetime_fr(tick.created_at)}"
                          + (f" : {tick.comment}" if tick.comment else "") + ".")


def _convocations(ctx: _Context, step: Step) -> None:
    _add_documents(ctx, step, ctx.documents.get("convocation", []))
    for enrolment in ctx.enrolments:
        sent = enrolment.convocation_sent_at
        step.lines.append(f"{enrolment.trainee.full_name} : "
                          + (f"convocation envoyée le {datetime_fr(sent)}." if sent else "convocation non envoyée."))


def _positioning(ctx: _Context, step: Step) -> None:
    ids = [e.id for e in ctx.enrolments]
    responses = {r.enrolment_id: r for r in db.session.scalars(
        select(Response).join(Questionnaire, Questionnaire.id == Response.questionnaire_id)
        .where(Response.enrolment_id.in_(ids), Questionnaire.kind == "positioning"))}
    rows = []
    for enrolment in ctx.enrolments:
        response = responses.get(enrolment.id)
        submitted = response.submitted_at if response is not None else None
        decision = enrolment.positioning_decision_label or "non décidé"
        rows.append((enrolment.trainee.full_name, submitted, response.score if response is not None else None,
                     response.max_score if response is not None else None, decision,
                     enrolment.positioning_decided_at, enrolment.positioning_comment))
        step.lines.append(f"{enrolment.trainee.full_name} : questionnaire "
                          + (f"rendu le {datetime_fr(submitted)}" if submitted else "non rendu")
                          + f" ; décision : {decision.lower()}"
                          + (f" le {datetime_fr(enrolment.positioning_decided_at)}" if enrolment.positioning_decided_at
                             else "") + ".")
    if rows:
        _add_file(ctx, step, "positionnement.csv", csv_bytes(
            ("Stagiaire", "Questionnaire rendu le", "Score", "Sur", "Décision", "Décidée le", "Commentaire"), rows))


def _attendance(ctx: _Context, step: Step) -> bool:
    _add_documents(ctx, step, ctx.documents.get("attendance_sheet", []))
    check = verify_chain(ctx.session.id)
    counted = count_fr(check.length, "enregistrement")
    if check.ok:
        text = f"Registre d'émargement : intègre ({counted})" + (f" ; {check.seal_summary}" if check.seal_summary
                                                                 else "")
    else:
        where = f", à l'enregistrement n° {check.broken_seq}" if check.broken_seq else ""
        text = f"Registre d'émargement ALTÉRÉ ({counted}){where} : {check.problem}"
    step.lines.append(text + ".")
    step.lines.extend(f"Attention : {warning}." for warning in check.warnings)
    _remote_evidence(ctx, step, check)
    return check.ok


# --------------------------------------------------------------------------- distance half-days (issue 27)

# The records a distance half-day's lines read: both signatures of a virtual one, the connections a report gave, the
# time declared on an asynchronous one.
REMOTE_KINDS = ("signature", "check", "connection", "declaration")


def _remote_evidence(ctx: _Context, step: Step, check: ChainCheck) -> None:
    """A line per distance half-day, in date order, each virtual one followed by its imported reports (their files
    added to the step): at most two queries, none for a session held in the room."""
    slots = sorted(ctx.session.slots, key=lambda s: (s.date, s.start_time))
    remote = [slot for slot in slots if slot.is_remote]
    if not remote:
        return
    # verify_chain read the reports, unless the chain broke before them.
    reports = [c.report for c in check.reports] if check.reports or check.ok else session_reports(ctx.session.id)
    records = list(db.session.execute(
        select(AttendanceRecord.kind, AttendanceRecord.slot_id, AttendanceRecord.enrolment_id,
               AttendanceRecord.unique_key, AttendanceRecord.minutes)
        .where(AttendanceRecord.session_id == ctx.session.id, AttendanceRecord.kind.in_(REMOTE_KINDS))))
    expected = {e.id for e in ctx.enrolments}
    for slot in remote:
        own = [r for r in records if r.slot_id == slot.id and r.enrolment_id in expected]
        if slot.modality == SlotModality.ASYNC.value:
            step.lines.append(_async_line(slot, own))
            continue
        mine = [report for report in reports if report.slot_id == slot.id]
        step.lines.append(_virtual_line(slot, own, len(expected), len(mine)))
        step.lines.extend(_report_line(ctx, step, report, records) for report in mine)
    shown = {slot.id for slot in remote}
    step.lines.extend(_report_line(ctx, step, report, records) for report in reports if report.slot_id not in shown)


def _half_day(slot: Slot, capital: bool = False) -> str:
    """« classe virtuelle du 03/03/2031 matin » (« Classe virtuelle … » with ``capital``)"""
    label = slot.modality_label if capital else slot.modality_label.lower()
    return f"{label} du {date_fr(slot.date)} {slot.half_day_label.lower()}"


def _virtual_line(slot: Slot, records, trainees: int, reports: int) -> str:
    """« Classe virtuelle du 03/03/2031 matin : les deux signatures (début et seconde partie) pour 2 stagiaires sur
    3 ; 1 rapport de connexion importé. »"""
    signed = {r.enrolment_id for r in records if r.kind == "signature"}
    both = signed & {r.enrolment_id for r in records if r.kind == "check"}
    imported = count_fr(reports, "rapport de connexion importé", "rapports de connexion importés",
                        zero="aucun rapport de connexion importé")
    return (f"{_half_day(slot, capital=True)} : les deux signatures (début et seconde partie) "
            f"pour {count_fr(len(both), 'stagiaire')} sur {trainees} ; {imported}.")


def _async_line(slot: Slot, records) -> str:
    """« Activité asynchrone du 03/03/2031 après-midi : 3 déclarations de temps, temps déclaré au total : 10 h 30. »"""
    declared = [r.minutes or 0 for r in records if r.kind == "declaration"]
    text = count_fr(len(declared), "déclaration de temps", "déclarations de temps",
                    zero="aucune déclaration de temps")
    if declared:
        text += f", temps déclaré au total : {attendance.duration_fr(sum(declared))}"
    return f"{_half_day(slot, capital=True)} : {text}."


def _report_line(ctx: _Context, step: Step, report: AttendanceReport, records) -> str:
    """The report's line, its stored file added to the step when it is there and still matches its SHA-256."""
    tool = "autre outil, colonnes choisies à l'import" if report.source == "mapping" else SOURCES.get(
        report.source, report.source)
    matched = len({r.enrolment_id for r in records if r.kind == "connection"
                   and (r.unique_key or "").startswith(f"conn:{report.id}:")})
    head = (f"Rapport de connexion n° {report.id} ({tool}), {_half_day(report.slot)} : "
            f"{count_fr(matched, 'stagiaire reconnu', 'stagiaires reconnus')}")
    digest = f"SHA-256 {report.sha256[:12]}…"
    if is_erased(report):
        return (f"{head} ; fichier effacé le {date_fr(report.erased_at)} à l'échéance de conservation, son empreinte "
                f"{digest} reste dans le registre.")
    head += f", {count_fr(len(report.unmatched or []), 'participant non reconnu', 'participants non reconnus')}"
    missing = f"{head} ; fichier altéré : introuvable parmi les fichiers archivés ({digest}), non joint au dossier."
    if report.file is None:
        return missing
    try:
        data = read_checked(report.file, report.sha256)
    except ConflictError:
        return (f"{head} ; fichier altéré : il ne correspond plus à son empreinte {digest} enregistrée à l'import, "
                "il n'est pas joint au dossier.")
    except OSError:
        return missing
    name = report.file.original_name
    ext = slug(name.rsplit(".", 1)[-1], 10) if "." in name else "csv"
    path = ctx.archive.add(f"{ctx.folder}/{step.folder}/rapport-connexion-{report.id}-{slug(report.source, 20)}.{ext}",
                           data, ctx.section)
    step.files.append(path)
    return f"{head} ; {digest} ; fichier {path.rsplit('/', 1)[-1]}."


def _acquis(ctx: _Context, step: Step) -> None:
    names = {e.id: e.trainee.full_name for e in ctx.enrolments}
    rows = list(db.session.execute(
        select(AcquisAssessment, CourseObjective.position, CourseObjective.text)
        .join(CourseObjective, CourseObjective.id == AcquisAssessment.objective_id)
        .where(AcquisAssessment.enrolment_id.in_(list(names)))
        .order_by(AcquisAssessment.enrolment_id, CourseObjective.position)))
    if rows:
        _add_file(ctx, step, "acquis.csv", csv_bytes(
            ("Stagiaire", "Objectif", "Niveau", "Commentaire", "Évalué le"),
            [(names[a.enrolment_id], text, ACQUIS_LEVELS.get(a.level, a.level), a.comment, a.recorded_at)
             for a, _, text in rows]))
    step.lines.append(f"{count_fr(len(rows), 'évaluation')} d'objectif pour "
                      f"{count_fr(len({a.enrolment_id for a, _, _ in rows}), 'stagiaire')}.")


def _certificates(ctx: _Context, step: Step) -> None:
    _add_documents(ctx, step, [d for kind in CERTIFICATE_TYPES for d in ctx.documents.get(kind, [])])


def _invoices(ctx: _Context, step: Step) -> None:
    invoices = db.session.scalars(select(Invoice).where(Invoice.session_id == ctx.session.id,
                                                        Invoice.status != InvoiceStatus.DRAFT.value)
                                  .order_by(Invoice.issue_date, Invoice.number))
    for invoice in invoices:
        step.lines.append(f"{invoice.kind_label} n° {invoice.number} du {date_fr(invoice.issue_date)} à "
                          f"{invoice.buyer_name} : {money_fr(invoice.total_incl_vat)} TTC.")
        stored = invoice.pdf_file or invoice.docx_file
        if stored is not None:
            ext = "pdf" if invoice.pdf_file is not None else "docx"
            _add_file(ctx, step, f"{slug(invoice.number)}.{ext}", read_checked(stored))


def _surveys(ctx: _Context, step: Step) -> None:
    invitations = list(db.session.scalars(
        select(SurveyInvitation).where(SurveyInvitation.session_id == ctx.session.id)
        .options(selectinload(SurveyInvitation.response)).order_by(SurveyInvitation.kind, SurveyInvitation.id)))
    tally: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for invitation in invitations:
        tally[invitation.kind][1] += 1
        tally[invitation.kind][0] += invitation.responded_at is not None
    for kind, (answered, sent) in tally.items():
        step.lines.append(f"{QUESTIONNAIRE_KINDS.get(kind, kind)} : {answered} réponse"
                          f"{'s' if answered > 1 else ''} sur {sent}.")
    if invitations:
        _add_file(ctx, step, "enquetes.csv", csv_bytes(
            ("Enquête", "Destinataire", "Envoyée le", "Répondue le", "Score", "Sur"),
            [(QUESTIONNAIRE_KINDS.get(i.kind, i.kind), i.recipient_name, i.sent_at, i.responded_at,
              i.response.score if i.response else None, i.response.max_score if i.response else None)
             for i in invitations]))


def _complaints(ctx: _Context, step: Step) -> None:
    requests = list(db.session.scalars(select(QualityRequest).where(QualityRequest.session_id == ctx.session.id)
                                       .order_by(QualityRequest.received_at, QualityRequest.id)))
    for request in requests:
        step.lines.append(f"{request.kind_label} {request.reference} reçue le {datetime_fr(request.received_at)} : "
                          f"{request.status_label.lower()}.")
    if requests:
        _add_file(ctx, step, "reclamations.csv", csv_bytes(
            ("Référence", "Nature", "Reçue le", "Objet", "Analyse", "Réponse", "Répondue le", "État"),
            [(r.reference, r.kind_label, r.received_at, r.subject, r.analysis, r.answer, r.answered_at,
              r.status_label) for r in requests]))
    else:
        step.lines.append("Aucune réclamation ni difficulté enregistrée pour cette session.")


GATHER = {"programme": _programme, "quote": _quotes, "agreement": _agreements, "convocation": _convocations,
          "positioning": _positioning, "acquis": _acquis, "certificate": _certificates,
          "invoice": _invoices, "survey": _surveys, "complaint": _complaints}


def session_chain(session: TrainingSession, position: int, archive: PackArchive,
                  mismatches: list[Mismatch]) -> SessionChain:
    """The chain of ``session`` (the ``position``-th of the sample), its files added to ``archive``."""
    folder = f"sessions/{position:02d}-session-{session.id}-{slug(session.title, 40)}"
    enrolments = attendance.expected_enrolments_of([session.id]).get(session.id, [])
    ctx = _Context(session, archive, folder, f"Session n° {session.id}", _current_documents(session),
                   sorted(enrolments, key=lambda e: (e.trainee.last_name, e.trainee.first_name, e.id)))
    steps, register_ok = [], True
    for number, (key, title, _) in enumerate(STEPS, start=1):
        step = Step(key, number, title)
        if key == "attendance":
            register_ok = _attendance(ctx, step)
        else:
            GATHER[key](ctx, step)
        steps.append(step)
    return SessionChain(position, session.id, session.label, folder, steps, mismatches, register_ok)


def step_indicators() -> dict[int, list[str]]:
    """{indicator: the step keys whose files document it}."""
    found: dict[int, list[str]] = defaultdict(list)
    for key, _, indicators in STEPS:
        for number in indicators:
            found[number].append(key)
    return found

