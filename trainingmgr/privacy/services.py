"""Personal data (RGPD): the purge of what is past retention (retention.py) and the export of everything held
about one trainee.

The purge anonymises or erases, it never deletes a row that something is counted from: enrolments (statuses,
hours, funding), numeric survey answers, attendance records (their hashes and the chain stay), imported meeting
reports (their SHA-256 stays; the file naming the participants goes) and archived documents stay, so that the BPF, the survey results, the indicators and ``flask attendance verify`` give the
same answers before and after. Running it twice changes nothing the second time.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, or_, select, update

from ..attendance.chain import erasure_digests, field_digest
from ..attendance.models import AttendanceRecord, AttendanceReport, PlannedAbsence, SigningCode
from ..catalogue.models import CourseObjective
from ..core.formatting import count_fr, date_fr
from ..core.timeutil import PARIS, UTC, paris_date, paris_datetime, utcnow
from ..documents.models import GeneratedDocument
from ..enrolments.models import Enrolment, EnrolmentEvent
from ..evaluations.questionnaires.services import answer_rows
from ..evaluations.models import (QUESTIONNAIRE_KINDS, AcquisAssessment, Answer, Question, Questionnaire,
                                  Response, SurveyInvitation)
from ..extensions import db
from ..files.services import delete_files
from ..messaging.delivery import delivery
from ..messaging.models import OutboxAttachment, OutboxMessage
from ..quality.models import QualityRequest
from ..sessions.models import Slot, TrainingSession
from ..trainees.models import Trainee, TraineeMerge
from . import retention
from .retention import ANONYMOUS_NAME, ERASED_TEXT

NOT_CONVERTED = ("requested", "cancelled")  # a pre-registration that never became a place in a session
TRAINEE_LABEL_SUFFIX = " (stagiaire)"  # how the enrolment history names the trainee acting themselves


@dataclass
class Item:
    """One thing past retention: its id, a French label for the listing, and what the purge works on."""

    id: int
    label: str
    target: Any = None


@dataclass
class KindReport:
    rule: retention.Rule
    months: int
    cutoff: dt.date
    items: list[Item] = field(default_factory=list)


@dataclass
class PurgeReport:
    today: dt.date
    dry_run: bool
    kinds: list[KindReport]
    # The digests of the stored files whose rows the purge deleted: the caller removes their contents after its
    # commit (files/services.remove_contents; the hourly sweep would otherwise, as for any file no row names).
    freed: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(len(k.items) for k in self.kinds)


def anonymous_email(trainee_id: int) -> str:
    """A unique address that no mail server accepts (.invalid is reserved, RFC 2606)."""
    return f"anonyme-{trainee_id}@invalid"


def _start_of(day: dt.date) -> dt.datetime:
    """Midnight in Paris of ``day``, in UTC, to compare timestamps with a cut-off date."""
    return paris_datetime(day, dt.time(0)).astimezone(UTC)


def _session_ends(session_ids=None) -> dict[int, dt.date]:
    """The date of each session's last slot."""
    query = select(Slot.session_id, func.max(Slot.date)).group_by(Slot.session_id)
    if session_ids is not None:
        query = query.where(Slot.session_id.in_(list(session_ids)))
    return {sid: last for sid, last in db.session.execute(query)}


# --------------------------------------------------------------------------- what is past retention


def _expired_trainees(today: dt.date) -> tuple[list[Item], list[Item]]:
    """(trainees whose last session ended before the cut-off, unconverted requests past theirs)."""
    trainee_cut, prospect_cut = retention.cutoff("trainee", today), retention.cutoff("prospect", today)
    ends = _session_ends()
    enrolments: dict[int, list[tuple[int, str, dt.datetime | None]]] = {}
    for trainee_id, session_id, status, updated_at in db.session.execute(
            select(Enrolment.trainee_id, Enrolment.session_id, Enrolment.status, Enrolment.updated_at)
            .join(Trainee, Trainee.id == Enrolment.trainee_id).where(Trainee.anonymised_at.is_(None))):
        enrolments.setdefault(trainee_id, []).append((session_id, status, updated_at))
    signed = set(db.session.scalars(select(Enrolment.trainee_id).join(
        AttendanceRecord, AttendanceRecord.enrolment_id == Enrolment.id).distinct()))
    trainees, prospects = [], []
    for trainee in db.session.scalars(select(Trainee).where(Trainee.anonymised_at.is_(None))
                                      .order_by(Trainee.id)):
        rows = enrolments.get(trainee.id, [])
        last_session = max((ends[s] for s, _, _ in rows if s in ends), default=None)
        activity = max((d for d in [paris_date(trainee.created_at)] + [paris_date(u) for _, _, u in rows]
                        if d is not None), default=None)
        converted = trainee.id in signed or any(status not in NOT_CONVERTED for _, status, _ in rows)
        name = f"n° {trainee.id} {trainee.full_name} <{trainee.email}>"
        if converted:  # the end of their last session (a session without slots yet: their last activity)
            reference = last_session or activity
            if reference is not None and reference < trainee_cut:
                trainees.append(Item(trainee.id, f"{name} – dernière session le {date_fr(reference)}", trainee))
        else:  # requests only, or no enrolment at all: the latest of the activity and the session aimed at
            reference = max((d for d in (activity, last_session) if d is not None), default=None)
            if reference is not None and reference < prospect_cut:
                prospects.append(Item(trainee.id, f"{name} – dernière activité le {date_fr(reference)}", trainee))
    return trainees, prospects


def _expired_attendance(today: dt.date) -> list[Item]:
    cut = retention.cutoff("attendance", today)
    pending = dict(db.session.execute(
        select(AttendanceRecord.session_id, func.count()).where(AttendanceRecord.erased_at.is_(None))
        .group_by(AttendanceRecord.session_id)).all())
    # A report still holding its file after its records were erased (a purge of before the reports were erased too).
    for (session_id,) in db.session.execute(select(AttendanceReport.session_id).where(
            AttendanceReport.erased_at.is_(None)).distinct()):
        pending.setdefault(session_id, 0)
    ends = _session_ends(pending) if pending else {}
    expired = sorted(sid for sid, end in ends.items() if end < cut)
    sessions = {s.id: s for s in db.session.scalars(select(TrainingSession).where(
        TrainingSession.id.in_(expired)))} if expired else {}
    return [Item(sid, f"session n° {sid} {sessions[sid].title} – terminée le {date_fr(ends[sid])} : "
                      f"{count_fr(pending[sid], 'enregistrement')}", sid) for sid in expired]


def _expired_survey_text(today: dt.date) -> list[Item]:
    cut = _start_of(retention.cutoff("survey_text", today))
    answered_at = func.coalesce(Response.submitted_at, Response.updated_at)
    rows = db.session.execute(
        select(Answer.id, Answer.value, Response.id, Questionnaire.kind, answered_at)
        .join(Response, Response.id == Answer.response_id).join(Question, Question.id == Answer.question_id)
        .join(Questionnaire, Questionnaire.id == Response.questionnaire_id)
        .where(Question.kind == "text", answered_at < cut).order_by(Response.id, Answer.id)).all()
    by_response: dict[int, Item] = {}
    for answer_id, value, response_id, kind, at in rows:
        if not isinstance(value, str) or not value.strip() or value == ERASED_TEXT:
            continue
        item = by_response.get(response_id)
        if item is None:
            label = f"réponse n° {response_id} ({QUESTIONNAIRE_KINDS.get(kind, kind).lower()}, {date_fr(at)})"
            item = by_response[response_id] = Item(response_id, label, [])
        item.target.append(answer_id)
    for item in by_response.values():
        item.label += f" : {count_fr(len(item.target), 'texte')}"
    return list(by_response.values())


def _expired_quality_requests(today: dt.date) -> list[Item]:
    cut = _start_of(retention.cutoff("quality_request", today))
    requests = db.session.scalars(select(QualityRequest).where(
        QualityRequest.anonymised_at.is_(None), QualityRequest.closed_at.is_not(None), QualityRequest.closed_at < cut)
        .order_by(QualityRequest.id))
    return [Item(r.id, f"{r.reference} ({r.kind_label.lower()}) – clôturée le {date_fr(r.closed_at)}", r)
            for r in requests]


def _holds_personal_data():
    return or_(OutboxMessage.recipient != "", OutboxMessage.body_text != "", OutboxMessage.body_html != "",
               select(OutboxAttachment.id).where(OutboxAttachment.message_id == OutboxMessage.id).exists())


def _expired_outbox(today: dt.date) -> list[Item]:
    cut = _start_of(retention.cutoff("outbox", today))
    sent = func.coalesce(OutboxMessage.sent_at, OutboxMessage.created_at)
    messages = db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.status.in_(("sent", "failed")), sent < cut, _holds_personal_data()).order_by(OutboxMessage.id))
    return [Item(m.id, f"n° {m.id} {m.topic or m.subject} – {delivery(m).label.lower()} le "
                       f"{date_fr(m.sent_at or m.created_at)}", m) for m in messages]


def find_expired(today: dt.date) -> list[KindReport]:
    """Per kind of the policy, what is past retention on ``today`` (nothing is changed)."""
    trainees, prospects = _expired_trainees(today)
    found = {"trainee": trainees, "prospect": prospects, "attendance": _expired_attendance(today),
             "survey_text": _expired_survey_text(today), "quality_request": _expired_quality_requests(today),
             "outbox": _expired_outbox(today)}
    return [KindReport(rule, months, retention.months_before(today, months), found[rule.kind])
            for rule, months in retention.policy()]


# --------------------------------------------------------------------------- anonymising and erasing


def _scrub_messages(messages) -> None:
    for message in list(messages):
        message.recipient, message.body_text, message.body_html = "", "", ""
        message.attachments.clear()


def _erase_answers(answer_ids: list[int]) -> None:
    if answer_ids:
        db.session.execute(update(Answer).where(Answer.id.in_(answer_ids)).values(value=ERASED_TEXT)
                           .execution_options(synchronize_session=False))


def anonymise_trainee(trainee: Trainee, now: dt.datetime | None = None) -> None:
    """Replace the person's identity and what they wrote or received by blanks; keep what is counted."""
    now = now or utcnow()
    old_email = trainee.email
    enrolments = list(db.session.scalars(select(Enrolment).where(Enrolment.trainee_id == trainee.id)))
    ids = [e.id for e in enrolments]
    trainee.civility, trainee.first_name, trainee.last_name = "", ANONYMOUS_NAME, ""
    trainee.email, trainee.phone, trainee.job_title = anonymous_email(trainee.id), "", ""
    trainee.accessibility_needs, trainee.consent_at, trainee.anonymised_at = "", None, now
    for enrolment in enrolments:
        enrolment.request_message = enrolment.positioning_comment = enrolment.cancel_reason = ""
        enrolment.requested_company_name = enrolment.requested_company_siret = ""
    for merge in db.session.scalars(select(TraineeMerge).where(TraineeMerge.kept_id == trainee.id)):
        merge.removed_data = {"anonymised": True}
    if ids:
        db.session.execute(update(EnrolmentEvent).where(EnrolmentEvent.enrolment_id.in_(ids)).values(message="")
                           .execution_options(synchronize_session=False))
        db.session.execute(update(EnrolmentEvent).where(
            EnrolmentEvent.enrolment_id.in_(ids), EnrolmentEvent.actor_id.is_(None),
            EnrolmentEvent.actor_label.like(f"%{TRAINEE_LABEL_SUFFIX}")).values(actor_label="stagiaire (anonymisé)")
            .execution_options(synchronize_session=False))
        db.session.execute(update(SurveyInvitation).where(SurveyInvitation.enrolment_id.in_(ids))
                           .values(recipient_email="", recipient_name=ANONYMOUS_NAME)
                           .execution_options(synchronize_session=False))
        _erase_answers(list(db.session.scalars(
            select(Answer.id).join(Response, Response.id == Answer.response_id)
            .join(Question, Question.id == Answer.question_id)
            .where(Response.enrolment_id.in_(ids), Question.kind == "text"))))
        for assessment in db.session.scalars(select(AcquisAssessment).where(AcquisAssessment.enrolment_id.in_(ids))):
            assessment.comment = ""
            assessment.history = [{**entry, "comment": ""} if isinstance(entry, dict) else entry
                                  for entry in assessment.history or []]
        db.session.execute(delete(SigningCode).where(SigningCode.enrolment_id.in_(ids))
                           .execution_options(synchronize_session=False))
        db.session.execute(update(PlannedAbsence).where(PlannedAbsence.enrolment_id.in_(ids)).values(reason="", ip="")
                           .execution_options(synchronize_session=False))
    _scrub_messages(db.session.scalars(select(OutboxMessage).where(
        or_(OutboxMessage.enrolment_id.in_(ids), func.lower(OutboxMessage.recipient) == old_email.lower()),
        _holds_personal_data())))


def erase_attendance(session_id: int, now: dt.datetime | None = None, freed: list[str] | None = None) -> int:
    """Empty the personal fields of a session's attendance records, keeping their digests (the chain still
    verifies); drop its one-time signing codes; erase its imported meeting reports (``erase_reports``, the digests of
    the files deleted added to ``freed``). Returns the number of records erased."""
    now = now or utcnow()
    digests = erase_reports(session_id, now)
    if freed is not None:
        freed.extend(digests)
    records = list(db.session.scalars(select(AttendanceRecord).where(
        AttendanceRecord.session_id == session_id, AttendanceRecord.erased_at.is_(None))
        .order_by(AttendanceRecord.seq)))
    for record in records:
        record.erased = erasure_digests(record)
        record.erased_at = now
        record.signer_name = record.typed_name = record.ip = record.user_agent = ""
        record.image = None
    db.session.execute(delete(SigningCode).where(SigningCode.slot_id.in_(
        select(Slot.id).where(Slot.session_id == session_id))).execution_options(synchronize_session=False))
    db.session.execute(update(PlannedAbsence).where(PlannedAbsence.session_id == session_id).values(reason="", ip="")
                       .execution_options(synchronize_session=False))
    return len(records)


def erase_reports(session_id: int, now: dt.datetime | None = None) -> list[str]:
    """Erase the session's imported meeting reports: the stored file (it names every participant, guests included)
    and the rows that matched no trainee. The report's SHA-256 stays on its row and in the chain's « report » record,
    so ``flask attendance verify`` says the report was erased at the end of retention (attendance/reports/
    integrity.py) instead of missing. Returns the digests of the stored-file rows deleted (flushed)."""
    now = now or utcnow()
    reports = list(db.session.scalars(select(AttendanceReport).where(
        AttendanceReport.session_id == session_id, AttendanceReport.erased_at.is_(None))))
    file_ids = {report.file_id for report in reports if report.file_id is not None}
    for report in reports:
        report.file_id = None
        report.unmatched = []
        report.erased_at = now
    db.session.flush()
    digests, _ = delete_files(file_ids)  # a file another row still names stays (the same bytes imported twice)
    return digests


def anonymise_quality_request(quality_request: QualityRequest, now: dt.datetime | None = None) -> None:
    quality_request.requester_name = ANONYMOUS_NAME
    quality_request.requester_email = quality_request.requester_phone = ""
    quality_request.organisation_name = quality_request.description = ""
    quality_request.anonymised_at = now or utcnow()


def purge(now: dt.datetime | None = None, dry_run: bool = False) -> PurgeReport:
    """List (``dry_run``) or anonymise and erase what is past retention on ``now``'s day in Paris. The caller
    commits."""
    now = now or utcnow()
    today = now.astimezone(PARIS).date()
    kinds = find_expired(today)
    freed: list[str] = []
    if not dry_run:
        for report in kinds:
            for item in report.items:
                if report.rule.kind in ("trainee", "prospect"):
                    anonymise_trainee(item.target, now)
                elif report.rule.kind == "attendance":
                    erase_attendance(item.target, now, freed)
                elif report.rule.kind == "survey_text":
                    _erase_answers(item.target)
                elif report.rule.kind == "quality_request":
                    anonymise_quality_request(item.target, now)
                elif report.rule.kind == "outbox":
                    _scrub_messages([item.target])
        db.session.flush()
        db.session.expire_all()
    return PurgeReport(today, dry_run, kinds, freed)


# --------------------------------------------------------------------------- export (right of access)


def export_trainee(trainee: Trainee) -> dict:
    """Everything held about one trainee, as plain data (datetimes, dates and Decimals until ``to_json``)."""
    enrolments = list(db.session.scalars(select(Enrolment).where(Enrolment.trainee_id == trainee.id)
                                         .order_by(Enrolment.created_at, Enrolment.id)))
    ids = [e.id for e in enrolments]
    data: dict[str, Any] = {
        "exported_at": utcnow(),
        "trainee": _trainee_data(trainee),
        "company": _company_data(trainee.company),
        "enrolments": [_enrolment_data(e) for e in enrolments],
    }
    for key, rows in _EXPORT_STEPS:
        data[key] = rows(trainee, ids)
    return data


def _trainee_data(trainee: Trainee) -> dict:
    return {
        "id": trainee.id, "civility": trainee.civility, "first_name": trainee.first_name,
        "last_name": trainee.last_name, "email": trainee.email, "phone": trainee.phone,
        "job_title": trainee.job_title, "bpf_status": trainee.bpf_status_label,
        "accessibility_needs": trainee.accessibility_needs, "consent_at": trainee.consent_at,
        "created_at": trainee.created_at, "anonymised_at": trainee.anonymised_at,
    }


def _company_data(company) -> dict | None:
    if company is None:
        return None
    return {"id": company.id, "name": company.name, "siret": company.siret or "", "city": company.city}


def _enrolment_data(e: Enrolment) -> dict:
    return {
        "id": e.id, "session": {"id": e.session_id, "title": e.session.title, "dates": e.session.dates_label},
        "status": e.status_label, "source": e.source,
        "company": e.company.name if e.company is not None else None,
        "requested_company_name": e.requested_company_name, "request_message": e.request_message,
        "price_excl_vat": e.price_excl_vat, "vat_rate": e.vat_rate,
        "positioning_decision": e.positioning_decision_label, "positioning_comment": e.positioning_comment,
        "prerequisite_confirmed_at": e.prerequisite_confirmed_at, "convocation_sent_at": e.convocation_sent_at,
        "hours_attended": e.hours_attended, "confirmed_at": e.confirmed_at, "cancelled_at": e.cancelled_at,
        "cancel_reason": e.cancel_reason, "created_at": e.created_at,
        "funding": [{"kind": f.kind_label, "amount": f.amount, "funder": f.opco_name,
                     "funder_reference": f.opco_file_number, "funder_decision": f.opco_status_label,
                     "agreed_hours": f.agreed_hours, "subrogation": f.subrogation} for f in e.funding_lines],
        "history": [{"at": ev.at, "kind": ev.kind, "from_status": ev.from_status, "to_status": ev.to_status,
                     "by": ev.actor_label, "message": ev.message} for ev in e.events],
    }


def _responses(trainee: Trainee, ids: list[int]) -> list[dict]:
    """Answers given under the trainee's name only: an anonymous questionnaire's answers name nobody."""
    if not ids:
        return []
    rows = []
    for response in db.session.scalars(
            select(Response).join(Questionnaire, Questionnaire.id == Response.questionnaire_id)
            .where(Response.enrolment_id.in_(ids), Questionnaire.anonymous.is_(False))
            .order_by(Response.started_at, Response.id)):
        rows.append({
            "id": response.id, "enrolment_id": response.enrolment_id,
            "questionnaire": response.questionnaire.title, "kind": response.questionnaire.kind_label,
            "status": "envoyée" if response.submitted else "brouillon", "submitted_at": response.submitted_at,
            "score": response.score, "max_score": response.max_score,
            "answers": [{"question": row.question.text, "answer": row.text if row.answered else None}
                        for row in answer_rows(response.questionnaire, response)],
        })
    return rows


def _survey_invitations(trainee: Trainee, ids: list[int]) -> list[dict]:
    """The hot and cold survey invitations of the trainee's enrolments."""
    if not ids:
        return []
    rows = []
    for invitation in db.session.scalars(select(SurveyInvitation).where(SurveyInvitation.enrolment_id.in_(ids))
                                         .order_by(SurveyInvitation.id)):
        rows.append({
            "kind": invitation.questionnaire.kind_label, "session_id": invitation.session_id,
            "recipient_email": invitation.recipient_email, "sent_at": invitation.sent_at,
            "reminders": invitation.reminders, "responded_at": invitation.responded_at})
    return rows


def _acquis(trainee: Trainee, ids: list[int]) -> list[dict]:
    """The assessments of the course objectives."""
    if not ids:
        return []
    rows = []
    for assessment, objective in db.session.execute(
            select(AcquisAssessment, CourseObjective.text)
            .join(CourseObjective, CourseObjective.id == AcquisAssessment.objective_id)
            .where(AcquisAssessment.enrolment_id.in_(ids)).order_by(AcquisAssessment.id)):
        rows.append({"enrolment_id": assessment.enrolment_id, "objective": objective,
                     "level": assessment.level_label, "comment": assessment.comment,
                     "recorded_at": assessment.recorded_at})
    return rows


def _attendance(trainee: Trainee, ids: list[int]) -> list[dict]:
    """The attendance records, without the drawn signature itself: its SHA-256 stands for it."""
    if not ids:
        return []
    rows = []
    for record in db.session.scalars(select(AttendanceRecord).where(AttendanceRecord.enrolment_id.in_(ids))
                                     .order_by(AttendanceRecord.session_id, AttendanceRecord.seq)):
        rows.append({
            "session_id": record.session_id, "seq": record.seq, "kind": record.kind_label,
            "slot": f"{date_fr(record.slot.date)} {record.slot.half_day_label.lower()}",
            "method": record.method_label, "mode": record.mode_label, "signer_name": record.signer_name,
            "typed_name": record.typed_name, "image_sha256": field_digest(record, "image"),
            "presence": record.presence, "arrived_at": record.arrived_at, "left_at": record.left_at,
            "reason": record.reason, "created_at": record.created_at, "ip": record.ip,
            "user_agent": record.user_agent, "hash": record.hash, "erased_at": record.erased_at})
    return rows


def _planned_absences(trainee: Trainee, ids: list[int]) -> list[dict]:
    """The absences declared in advance."""
    if not ids:
        return []
    rows = []
    for absence in db.session.scalars(select(PlannedAbsence).where(PlannedAbsence.enrolment_id.in_(ids))
                                      .order_by(PlannedAbsence.id)):
        rows.append({
            "session_id": absence.session_id,
            "slot": f"{date_fr(absence.slot.date)} {absence.slot.half_day_label.lower()}",
            "reason": absence.reason, "declared_at": absence.declared_at, "ip": absence.ip})
    return rows


def _documents(trainee: Trainee, ids: list[int]) -> list[dict]:
    """The documents generated for the trainee's enrolments."""
    if not ids:
        return []
    rows = []
    for document in db.session.scalars(select(GeneratedDocument).where(GeneratedDocument.enrolment_id.in_(ids))
                                       .order_by(GeneratedDocument.created_at, GeneratedDocument.id)):
        rows.append({"type": document.label, "number": document.number,
                     "version": document.version, "session_id": document.session_id,
                     "created_at": document.created_at, "docx_sha256": document.docx_sha256})
    return rows


def _messages(trainee: Trainee, ids: list[int]) -> list[dict]:
    """The e-mails about the trainee's enrolments or sent to their address."""
    rows = []
    for message in db.session.scalars(select(OutboxMessage).where(
            or_(OutboxMessage.enrolment_id.in_(ids), func.lower(OutboxMessage.recipient) == trainee.email.lower()))
            .order_by(OutboxMessage.created_at, OutboxMessage.id)):
        rows.append({
            "id": message.id, "created_at": message.created_at, "sent_at": message.sent_at,
            "status": delivery(message).label, "topic": message.topic, "recipient": message.recipient,
            "subject": message.subject, "body": message.body_text,
            "attachments": [a.filename for a in message.attachments]})
    return rows


def _quality_requests(trainee: Trainee, ids: list[int]) -> list[dict]:
    """The complaints filed by the trainee or from their address."""
    rows = []
    by_email = func.lower(QualityRequest.requester_email) == trainee.email.lower()
    for filed in db.session.scalars(select(QualityRequest).where(or_(QualityRequest.trainee_id == trainee.id,
                                                                     by_email)).order_by(QualityRequest.id)):
        rows.append({
            "reference": filed.reference, "kind": filed.kind_label, "status": filed.status_label,
            "received_at": filed.received_at, "requester_name": filed.requester_name,
            "requester_email": filed.requester_email, "requester_phone": filed.requester_phone,
            "organisation_name": filed.organisation_name, "subject": filed.subject,
            "description": filed.description, "answer": filed.answer, "answered_at": filed.answered_at,
            "closed_at": filed.closed_at})
    return rows


def _merges(trainee: Trainee, ids: list[int]) -> list[dict]:
    """The duplicates merged into this trainee, with what they held."""
    rows = []
    for merge in db.session.scalars(select(TraineeMerge).where(TraineeMerge.kept_id == trainee.id)
                                    .order_by(TraineeMerge.id)):
        rows.append({"removed_id": merge.removed_id, "merged_at": merge.merged_at,
                               "removed_data": merge.removed_data})
    return rows


# One step per kind of data, in the export's order: (key, rows(trainee, enrolment ids)).
_EXPORT_STEPS = (
    ("responses", _responses), ("survey_invitations", _survey_invitations), ("acquis", _acquis),
    ("attendance", _attendance), ("planned_absences", _planned_absences), ("documents", _documents),
    ("messages", _messages), ("quality_requests", _quality_requests), ("merges", _merges),
)


def _jsonable(value):
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    if isinstance(value, dt.datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def export_json(trainee: Trainee) -> str:
    return json.dumps(_jsonable(export_trainee(trainee)), ensure_ascii=False, indent=2)

