"""Surveys after a session: who gets which questionnaire when, the tokenised link, answers. The reminders of an
unanswered survey are automation rules (automations/triggers/surveys.py).
See docs/evaluations.md (« Surveys after a session ») for the calendar of the sends and reminders."""
from __future__ import annotations

import datetime as dt

from flask import current_app, render_template
from sqlalchemy import select

from ...core.errors import ConflictError, NotFoundError
from ...core.persistence import lock_row
from ...core.timeutil import utcnow
from ...core.tokens import make_token, read_token
from ...core.links import external_url
from ...messaging.bodies import html_body
from ...enrolments.models import AGREEMENT_KINDS, ATTENDED, FINAL_MARKS, Enrolment, FundingLine
from ...extensions import db
from ...messaging.services import JOB_KIND_LABELS, job_handler, queue_email, schedule_job, topic_prefix
from ...organisation.services import get_organisation
from ...sessions import services as session_services
from ...sessions.models import TrainingSession
from ..models import QUESTIONNAIRE_KINDS, SURVEY_AUDIENCES, Questionnaire, Response, ResponseStatus, SurveyInvitation
from ..questionnaires.services import save_answers
from .alerts import check_response

JOB_KIND_LABELS["survey_send"] = "Envoi d'une enquête"
JOB_KIND_LABELS["survey_remind"] = "Relance d'une enquête (ancienne tâche, remplacée par une automatisation)"
TOKEN_PURPOSE = "survey"


def survey_questionnaire(kind: str, course_id: int | None) -> Questionnaire | None:
    """The active questionnaire of ``kind`` for the course, or the organisation's default one."""
    for course in (course_id, None):
        found = db.session.scalar(select(Questionnaire).where(
            Questionnaire.kind == kind, Questionnaire.active.is_(True),
            Questionnaire.course_id.is_(None) if course is None else Questionnaire.course_id == course)
            .order_by(Questionnaire.version.desc()).limit(1))
        if found is not None:
            return found
    return None


def _last_end(session: TrainingSession) -> dt.datetime:
    last = max(session.slots, key=lambda s: (s.date, s.end_time))
    return last.ends_at.astimezone(dt.timezone.utc)


def schedule_surveys(session: TrainingSession) -> list[str]:
    """Schedule the session's surveys (idempotent: one job per session and kind). Returns the kinds."""
    if not session.slots:
        return []
    end = _last_end(session)
    config = current_app.config
    cold_days = session.course.cold_survey_days or config["SURVEY_COLD_DAYS"]
    client = end + dt.timedelta(days=config["SURVEY_CLIENT_DAYS"])
    due = {"hot": end, "trainer_report": end, "client": client, "funder": client,
           "cold": end + dt.timedelta(days=cold_days)}
    if survey_questionnaire("acquis", session.course_id) is not None:
        due["acquis"] = end  # the course's optional quiz on what was learnt, with the hot survey
    for kind, when in due.items():
        schedule_job("survey_send", f"survey:{kind}:{session.id}", when, {"session_id": session.id, "kind": kind})
    return list(due)


def on_session_completed(session: TrainingSession, actor=None) -> None:
    schedule_surveys(session)


session_services.session_completed.connect(on_session_completed)


def _recipients(session: TrainingSession, kind: str) -> list[dict]:
    audience = SURVEY_AUDIENCES[kind]
    if audience == "trainee":
        enrolments = db.session.scalars(select(Enrolment).where(Enrolment.session_id == session.id,
                                                                Enrolment.status.in_(ATTENDED)))
        return [{"key": f"enrolment:{e.id}", "enrolment_id": e.id, "email": e.trainee.email,
                 "name": e.trainee.full_name} for e in enrolments if e.trainee.email]
    if audience == "funder":  # one per funder's adviser (OPCO, fund, France Travail…) on the session's funding lines
        advisers = {}
        for line in db.session.scalars(select(FundingLine).join(Enrolment).where(
                Enrolment.session_id == session.id, Enrolment.status.in_(FINAL_MARKS),
                FundingLine.kind.in_(AGREEMENT_KINDS), FundingLine.opco_contact_email != "")):
            advisers.setdefault(line.opco_contact_email, line.opco_name)
        return [{"key": f"opco:{email}", "email": email, "name": f"{name} ({email})"}
                for email, name in sorted(advisers.items())]
    if audience == "trainer":
        return [{"key": f"trainer:{t.id}", "trainer_id": t.id, "email": t.email, "name": t.full_name}
                for t in session.trainers if t.email]
    companies = {}
    for enrolment in db.session.scalars(select(Enrolment).where(Enrolment.session_id == session.id,
                                                                Enrolment.status.in_(FINAL_MARKS))):
        company = enrolment.company or enrolment.trainee.company
        if company is not None:
            companies[company.id] = company
    if session.client_company is not None:
        companies[session.client_company.id] = session.client_company
    found = []
    for company in companies.values():
        contacts = sorted((c for c in company.contacts if c.email),
                          key=lambda c: {"hr": 0, "signatory": 1}.get(c.role, 2))
        if contacts:
            found.append({"key": f"company:{company.id}", "company_id": company.id, "email": contacts[0].email,
                          "name": f"{contacts[0].name} ({company.name})"})
    return found


def survey_url(invitation: SurveyInvitation) -> str:
    return external_url("surveys.answer", token=make_token(TOKEN_PURPOSE, {"i": invitation.id}))


# The e-mail of each kind of questionnaire sent (the surveys after the session share one).
MAIL_TEMPLATES = {"needs": "mail/needs_analysis.txt"}


def mail_invitation(invitation: SurveyInvitation, reminder: bool) -> None:
    """Queue the e-mail carrying an invitation's link (or its reminder)."""
    session = db.session.get(TrainingSession, invitation.session_id)
    label = QUESTIONNAIRE_KINDS[invitation.kind]
    template = MAIL_TEMPLATES.get(invitation.kind, "mail/survey.txt")
    text = render_template(template, invitation=invitation, session=session, org=get_organisation(),
                           link=survey_url(invitation), reminder=reminder, label=label.lower(),
                           anonymous=invitation.questionnaire.anonymous)
    subject = f"{'Rappel : ' if reminder else ''}{label} – {session.title}"
    queue_email(invitation.recipient_email, subject, text, html_body(text), topic=f"survey_{invitation.kind}",
                enrolment=invitation.enrolment_id)


@job_handler("survey_send")
def send_survey(payload: dict) -> None:
    """Create the invitations of one survey of a session and e-mail them (the rules « Enquête sans réponse »
    remind those who do not answer)."""
    session = db.session.get(TrainingSession, payload["session_id"])
    kind = payload["kind"]
    if session is None or session.is_cancelled:
        return
    questionnaire = survey_questionnaire(kind, session.course_id)
    if questionnaire is None:
        current_app.logger.warning("No %s questionnaire: survey of session %s not sent", kind, session.id)
        return
    now = utcnow()
    for recipient in _recipients(session, kind):
        key = f"{kind}:{session.id}:{recipient['key']}"
        invitation = db.session.scalar(select(SurveyInvitation).where(SurveyInvitation.key == key))
        if invitation is not None and (invitation.sent_at is not None or invitation.responded_at is not None):
            continue  # sent already, or answered on the spot after the last signature
        if invitation is None:
            invitation = SurveyInvitation(key=key, kind=kind, questionnaire_id=questionnaire.id,
                                          session_id=session.id, enrolment_id=recipient.get("enrolment_id"),
                                          company_id=recipient.get("company_id"), trainer_id=recipient.get("trainer_id"),
                                          recipient_email=recipient["email"], recipient_name=recipient["name"][:200])
            db.session.add(invitation)
        invitation.sent_at = now
        db.session.flush()
        mail_invitation(invitation, reminder=False)


def hot_invitation_on_site(session: TrainingSession, enrolment: Enrolment, *, create: bool = True
                           ) -> SurveyInvitation | None:
    """The trainee's hot survey, offered right after their signature of the session's last half-day (kiosk,
    QR code or link); the e-mail at the end of the session then goes only to those who did not answer.
    Created if missing (and the course has a hot questionnaire) unless ``create`` is False."""
    key = f"hot:{session.id}:enrolment:{enrolment.id}"
    invitation = db.session.scalar(select(SurveyInvitation).where(SurveyInvitation.key == key))
    if invitation is not None or not create:
        return invitation
    questionnaire = survey_questionnaire("hot", session.course_id)
    if questionnaire is None:
        return None
    invitation = SurveyInvitation(key=key, kind="hot", questionnaire_id=questionnaire.id, session_id=session.id,
                                  enrolment_id=enrolment.id, recipient_email=enrolment.trainee.email,
                                  recipient_name=enrolment.trainee.full_name[:200])
    db.session.add(invitation)
    db.session.flush()
    return invitation


@job_handler("survey_remind")
def remind_survey(payload: dict) -> None:
    """Nothing: a reminder job scheduled before the reminders became automation rules ends quietly (the rule
    « Relance J+n des enquêtes sans réponse » sends the reminder instead)."""


# --------------------------------------------------------------------------- answering


def invitation_from_token(token: str) -> SurveyInvitation:
    payload = read_token(TOKEN_PURPOSE, token, current_app.config["SURVEY_LINK_MAX_AGE_DAYS"] * 86400)
    invitation = db.session.get(SurveyInvitation, payload.get("i") if isinstance(payload.get("i"), int) else 0)
    if invitation is None:
        raise NotFoundError("Cette enquête n'existe plus.")
    return invitation


def session_of(invitation: SurveyInvitation) -> TrainingSession | None:
    """The session the survey is about."""
    return db.session.get(TrainingSession, invitation.session_id)


def response_of(invitation: SurveyInvitation) -> Response | None:
    return db.session.get(Response, invitation.response_id) if invitation.response_id else None


def answer(invitation: SurveyInvitation, data: dict, *, submit: bool) -> Response:
    """Save (draft) or send the answers of an invitation: once sent, never again (409). An anonymous
    questionnaire's response loses its link to the person when sent."""
    lock_row(SurveyInvitation, invitation.id)  # one writer at a time per invitation (two tabs, a double click)
    db.session.refresh(invitation)
    if invitation.responded_at is not None:
        raise ConflictError("Vous avez déjà répondu à cette enquête : merci !")
    response = response_of(invitation)
    if response is None:
        anonymous = invitation.questionnaire.anonymous
        response = Response(questionnaire_id=invitation.questionnaire_id, session_id=invitation.session_id,
                            enrolment_id=None if anonymous else invitation.enrolment_id, status=ResponseStatus.DRAFT.value)
        db.session.add(response)
        db.session.flush()
        invitation.response_id = response.id
    save_answers(response, data, submit=submit)
    if submit:
        invitation.responded_at = utcnow()
        check_response(response)
        if invitation.questionnaire.anonymous:
            invitation.response_id = None
    return response


def _mail_topic(kind: str) -> str | None:
    """How the outbox names a survey's e-mail (topic "survey_<kind>")."""
    found = QUESTIONNAIRE_KINDS.get(kind)
    return f"Enquête : {found}" if found else None


topic_prefix("survey_", _mail_topic)
