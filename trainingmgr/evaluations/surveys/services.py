"""Surveys after a session: who gets which questionnaire, the personal link, answers. The first e-mails (at the end
of the session, J+n for the companies and funders, J+60 for the cold survey) and the reminders of an unanswered
survey are automation rules (automations/triggers/surveys.py); this module gives them the recipients, the links and
the invitation recorded as each e-mail leaves.
See docs/evaluations.md (« Surveys after a session ») for the calendar of the sends and reminders."""
from __future__ import annotations

import datetime as dt

from flask import current_app, render_template
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select

from ...core.errors import ConflictError, NotFoundError
from ...core.links import external_url
from ...core.persistence import insert_or_find, lock_row
from ...core.timeutil import utcnow
from ...core.tokens import LinkExpired, read_token
from ...enrolments.models import AGREEMENT_KINDS, ATTENDED, FINAL_MARKS, Enrolment, FundingLine
from ...extensions import db
from ...messaging.bodies import html_body
from ...messaging.services import JOB_KIND_LABELS, job_handler, queue_email, topic_prefix
from ...organisation.services import get_organisation
from ...sessions.models import TrainingSession
from ..models import QUESTIONNAIRE_KINDS, SURVEY_AUDIENCES, Questionnaire, Response, ResponseStatus, SurveyInvitation
from ..questionnaires.services import save_answers
from .alerts import check_response

JOB_KIND_LABELS["survey_send"] = "Envoi d'une enquête (ancienne tâche, remplacée par une automatisation)"
JOB_KIND_LABELS["survey_remind"] = "Relance d'une enquête (ancienne tâche, remplacée par une automatisation)"
TOKEN_PURPOSE = "survey"  # the links made before issue 25: {"i": invitation id}, timed (still read)
KEY_SALT = "trainingmgr.survey-key"  # the links since: the invitation's key, signed, the same every time


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


def survey_recipients(session: TrainingSession, kind: str) -> list[dict]:
    """Who answers the survey ``kind`` of the session: dicts with their ``key`` (« enrolment:12 », « company:3 »,
    « trainer:4 », « opco:<e-mail> »), ``email``, ``name`` and the id of what they stand for."""
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


def invitation_key(session_id: int, kind: str, recipient_key: str) -> str:
    """The invitation's unique key (SurveyInvitation.key): « hot:12:enrolment:34 »."""
    return f"{kind}:{session_id}:{recipient_key}"


def _key_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=KEY_SALT)


def key_url(key: str) -> str:
    """The personal link of the invitation keyed ``key``, whether it exists yet or not: the key signed, the same at
    each call, so that the dry run shows the very link the e-mail will carry (the invitation is recorded as the
    e-mail leaves, record_sent)."""
    return external_url("surveys.answer", token=_key_serializer().dumps(key))


def survey_url(invitation: SurveyInvitation) -> str:
    return key_url(invitation.key)


def unsent_recipients(session: TrainingSession, kind: str) -> list[dict]:
    """The survey's recipients not sent it yet (nor who answered on the spot, the hot survey after the last
    signature)."""
    keys = {invitation_key(session.id, kind, r["key"]): r for r in survey_recipients(session, kind)}
    done = set(db.session.scalars(select(SurveyInvitation.key).where(
        SurveyInvitation.session_id == session.id, SurveyInvitation.kind == kind,
        (SurveyInvitation.sent_at.is_not(None)) | (SurveyInvitation.responded_at.is_not(None)))))
    return [recipient for key, recipient in keys.items() if key not in done]


def record_sent(session: TrainingSession, kind: str, recipient: dict, questionnaire: Questionnaire
                ) -> SurveyInvitation:
    """The invitation of ``recipient`` (one of survey_recipients), created if missing, marked sent now: called as
    the rule's e-mail leaves, in its transaction."""
    key = invitation_key(session.id, kind, recipient["key"])
    invitation = db.session.scalar(select(SurveyInvitation).where(SurveyInvitation.key == key))
    if invitation is None:
        invitation = insert_or_find(
            SurveyInvitation(key=key, kind=kind, questionnaire_id=questionnaire.id, session_id=session.id,
                             enrolment_id=recipient.get("enrolment_id"), company_id=recipient.get("company_id"),
                             trainer_id=recipient.get("trainer_id"), recipient_email=recipient["email"],
                             recipient_name=recipient["name"][:200], created_at=utcnow()),
            lambda: db.session.scalar(select(SurveyInvitation).where(SurveyInvitation.key == key)))
    invitation.sent_at = utcnow()
    db.session.flush()
    return invitation


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
def _old_send_job(payload: dict) -> None:
    """Nothing: a send job scheduled before the first e-mails became automation rules ends quietly (the rule
    « Enquête à envoyer » of its kind sends it, to whoever has not been sent it yet)."""


def send_survey(payload: dict) -> int:
    """Send now the survey ``payload["kind"]`` of session ``payload["session_id"]`` through its active rules, as
    their « Envoyer maintenant » does (engine.fire_now: each person once, never again at its date); the number of
    e-mails queued. For the demo and the tests; the worker sends at the date."""
    from ...automations import engine
    from ...automations.models import AutomationRule
    from ...automations.triggers.surveys import send_trigger

    engine.ensure_defaults()
    rules = list(db.session.scalars(select(AutomationRule).where(
        AutomationRule.trigger == send_trigger(payload["kind"]), AutomationRule.active.is_(True))
        .order_by(AutomationRule.id)))
    return engine.fire_now(utcnow(), session_id=payload["session_id"], rules=rules)


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
                                  recipient_name=enrolment.trainee.full_name[:200], created_at=utcnow())
    db.session.add(invitation)
    db.session.flush()
    return invitation


@job_handler("survey_remind")
def remind_survey(payload: dict) -> None:
    """Nothing: a reminder job scheduled before the reminders became automation rules ends quietly (the rule
    « Relance J+n des enquêtes sans réponse » sends the reminder instead)."""


# --------------------------------------------------------------------------- answering


def invitation_from_token(token: str) -> SurveyInvitation:
    """The invitation of a link: a signed key (key_url), valid SURVEY_LINK_MAX_AGE_DAYS after the last e-mail that
    carried it; or a link made before, {"i": id} with its own timestamp."""
    max_age = dt.timedelta(days=current_app.config["SURVEY_LINK_MAX_AGE_DAYS"])
    try:
        key = _key_serializer().loads(token)
    except BadSignature:
        payload = read_token(TOKEN_PURPOSE, token, int(max_age.total_seconds()))
        invitation = db.session.get(SurveyInvitation, payload.get("i") if isinstance(payload.get("i"), int) else 0)
    else:
        invitation = db.session.scalar(select(SurveyInvitation).where(SurveyInvitation.key == key)) \
            if isinstance(key, str) else None
        if invitation is not None and _last_carried(invitation) + max_age < utcnow():
            raise LinkExpired()
    if invitation is None:
        raise NotFoundError("Cette enquête n'existe plus.")
    return invitation


def _last_carried(invitation: SurveyInvitation) -> dt.datetime:
    """When the link last left: the last reminder, else the send, else the invitation's creation (on the spot)."""
    return max(moment for moment in (invitation.created_at, invitation.sent_at, invitation.last_reminder_at)
               if moment is not None)


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
