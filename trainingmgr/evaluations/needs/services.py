"""The needs analysis with the client company (Qualiopi indicator 4): sent before the session to each company
concerned, answered through the survey page, shown to the advisor, the trainer and the company space.
See docs/evaluations.md (« Needs analysis »)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ...accounts.models import User
from ...companies.models import Company, CompanyContact
from ...core.errors import ConflictError
from ...core.formatting import date_fr
from ...core.timeutil import utcnow
from ...enrolments.models import BOOKED, Enrolment
from ...extensions import db
from ...messaging.delivery import sent_on
from ...sessions import services as session_services
from ...sessions.models import SessionStatus, TrainingSession
from ...trainees.models import Trainee
from ..models import Question, Questionnaire, Response, SurveyInvitation
from ..questionnaires.services import ResponseView, response_view
from ..surveys import services as surveys

NEEDS = "needs"
# Sessions whose needs can still be analysed: not started, not cancelled.
SENDABLE = (SessionStatus.DRAFT.value, SessionStatus.OPEN.value, SessionStatus.CONFIRMED.value)
# Sessions whose companies still have the questionnaire to answer (a late answer is still evidence).
AWAITING = SENDABLE + (SessionStatus.IN_PROGRESS.value,)


def needs_contact(company: Company) -> CompanyContact | None:
    """Who answers for the company: its HR contact, or else its signatory (with an e-mail address)."""
    return company.contact("hr", "signatory")


def invitation_key(session: TrainingSession, company: Company) -> str:
    return f"{NEEDS}:{session.id}:company:{company.id}"


def needs_companies(session: TrainingSession) -> list[Company]:
    """The employers of the trainees holding a seat, and the intra session's client, by name (with their contacts:
    a fixed number of queries)."""
    companies: dict[int, Company] = {}
    for enrolment in db.session.scalars(
            select(Enrolment).where(Enrolment.session_id == session.id, Enrolment.status.in_(BOOKED))
            .options(selectinload(Enrolment.company).selectinload(Company.contacts),
                     selectinload(Enrolment.trainee).selectinload(Trainee.company).selectinload(Company.contacts))):
        company = enrolment.company or enrolment.trainee.company
        if company is not None:
            companies[company.id] = company
    if session.client_company is not None:
        companies[session.client_company.id] = session.client_company
    return sorted(companies.values(), key=lambda c: (c.name.casefold(), c.id))


def _invitations(session_id: int) -> list[SurveyInvitation]:
    return list(db.session.scalars(select(SurveyInvitation).where(
        SurveyInvitation.session_id == session_id, SurveyInvitation.kind == NEEDS).order_by(SurveyInvitation.id)))


def _started(session: TrainingSession, now: dt.datetime) -> bool:
    return any(slot.starts_at <= now for slot in session.slots)


def can_send(session: TrainingSession, now: dt.datetime | None = None) -> bool:
    """The session has not started: its needs analysis can be sent (to the companies not reached yet)."""
    return session.status in SENDABLE and not _started(session, now or utcnow())


# --------------------------------------------------------------------------- sending


@dataclass
class Sent:
    invitations: list[SurveyInvitation] = field(default_factory=list)
    already: list[str] = field(default_factory=list)  # companies reached before
    without_contact: list[str] = field(default_factory=list)  # companies with neither HR contact nor signatory


def send_needs_analysis(session: TrainingSession, actor: User | None, now: dt.datetime | None = None) -> Sent:
    """E-mail the needs analysis to each company of the session not reached yet (the rules « Enquête sans réponse »
    remind them while the session has not started). 409 when the session has started, or nobody can be reached."""
    session_services.ensure_can_manage_sessions(actor)
    now = now or utcnow()
    if not can_send(session, now):
        raise ConflictError(f"La session est « {session.status_label.lower()} » : l'analyse des besoins se fait "
                            "avant la formation.")
    questionnaire = surveys.survey_questionnaire(NEEDS, session.course_id)
    if questionnaire is None:
        raise ConflictError("Aucun questionnaire « Analyse des besoins » actif : créez-le dans Questionnaires "
                            "(ou chargez les questionnaires par défaut).")
    companies = needs_companies(session)
    if not companies:
        raise ConflictError("Aucune entreprise n'est concernée : ni stagiaire inscrit rattaché à une entreprise, "
                            "ni client de session intra.")
    result = Sent()
    for company in companies:
        key = invitation_key(session, company)
        if db.session.scalar(select(SurveyInvitation.id).where(SurveyInvitation.key == key)) is not None:
            result.already.append(company.name)
            continue
        contact = needs_contact(company)
        if contact is None:
            result.without_contact.append(company.name)
            continue
        result.invitations.append(_send(session, company, contact, questionnaire.id, now))
    if not result.invitations and result.without_contact:
        raise ConflictError("Aucun envoi : " + ", ".join(result.without_contact) + " n'a ni contact RH ni "
                            "signataire avec une adresse e-mail. Ajoutez-le sur la fiche de l'entreprise.")
    return result


def _send(session: TrainingSession, company: Company, contact: CompanyContact, questionnaire_id: int,
          now: dt.datetime) -> SurveyInvitation:
    invitation = SurveyInvitation(key=invitation_key(session, company), kind=NEEDS, questionnaire_id=questionnaire_id,
                                  session_id=session.id, company_id=company.id, recipient_email=contact.email,
                                  recipient_name=f"{contact.name} ({company.name})"[:200], sent_at=now)
    db.session.add(invitation)
    db.session.flush()
    surveys.mail_invitation(invitation, reminder=False)
    return invitation


# --------------------------------------------------------------------------- reading


@dataclass
class NeedsItem:
    """One company's needs analysis for a session: whom it went to, and its answers once sent back."""

    company_name: str
    invitation: SurveyInvitation | None
    contact: CompanyContact | None = None  # who will receive it (not sent yet)
    view: ResponseView | None = None  # the submitted answers

    @property
    def answered(self) -> bool:
        return self.invitation is not None and self.invitation.responded_at is not None

    @property
    def status_label(self) -> str:
        if self.invitation is None:
            return (f"À envoyer à {self.contact.name}" if self.contact is not None
                    else "Pas de contact RH ni de signataire avec une adresse e-mail")
        if self.answered:
            return f"Répondu le {_date(self.invitation.responded_at)}"
        return f"{sent_on(_date(self.invitation.sent_at), self.invitation.recipient_name)}, en attente"


def _date(value) -> str:
    return date_fr(value) if value is not None else "—"


def _responses(invitations: list[SurveyInvitation]) -> dict[int, Response]:
    ids = [i.response_id for i in invitations if i.response_id is not None]
    if not ids:
        return {}
    return {r.id: r for r in db.session.scalars(select(Response).where(Response.id.in_(ids)).options(
        selectinload(Response.answers),
        selectinload(Response.questionnaire).selectinload(Questionnaire.questions).selectinload(Question.choices)))}


def _items(session: TrainingSession, with_answers: bool) -> list[NeedsItem]:
    invitations = _invitations(session.id)
    ids = {i.company_id for i in invitations if i.company_id is not None}
    names = {c.id: c.name for c in db.session.scalars(select(Company).where(Company.id.in_(ids)))} if ids else {}
    responses = _responses(invitations) if with_answers else {}
    items = []
    for invitation in invitations:
        response = responses.get(invitation.response_id)
        view = response_view(response) if response is not None and response.submitted else None
        items.append(NeedsItem(company_name=names.get(invitation.company_id) or invitation.recipient_name,
                               invitation=invitation, view=view))
    return items


def needs_answers(session: TrainingSession) -> list[NeedsItem]:
    """The needs analyses sent for ``session`` (answered or not), with the answers of those sent back: what the
    trainer reads before the session. Checks nobody's access: the caller does."""
    return _items(session, with_answers=True)


def session_needs(session: TrainingSession, with_answers: bool = True) -> list[NeedsItem]:
    """The advisor's view: the needs analyses sent (their answers unless ``with_answers`` is False), then, while it
    can still be sent, the companies of the session not reached yet. A fixed number of queries."""
    items = _items(session, with_answers)
    if not can_send(session):
        return items
    reached = {item.invitation.company_id for item in items}
    for company in needs_companies(session):
        if company.id not in reached:
            items.append(NeedsItem(company_name=company.name, invitation=None, contact=needs_contact(company)))
    return items


@dataclass
class Awaited:
    session: TrainingSession
    invitation: SurveyInvitation
    url: str


def awaited_needs_analyses(company: Company) -> list[Awaited]:
    """What ``company`` must still answer: its needs analyses not sent back, for sessions not ended nor
    cancelled, first session first, each with the URL of its answering page."""
    rows = db.session.execute(
        select(SurveyInvitation, TrainingSession).join(TrainingSession, TrainingSession.id == SurveyInvitation.session_id)
        .where(SurveyInvitation.kind == NEEDS, SurveyInvitation.company_id == company.id,
               SurveyInvitation.responded_at.is_(None), TrainingSession.status.in_(AWAITING))
        .order_by(SurveyInvitation.id)).all()
    found = [Awaited(session, invitation, surveys.survey_url(invitation)) for invitation, session in rows]
    found.sort(key=lambda a: (a.session.first_date or dt.date.max, a.invitation.id))
    return found
