"""The paperwork of a well-kept organisation around the demo's sessions, done through the services and dated when
it was done, so that each session's checklist is complete: conventions e-mailed before J−15 and returned signed
on paper (a manual tick saying where the copies are filed), convocations at J−7, the positioning decisions,
certificates e-mailed the day after the session, a survey alert handled.

The outbox messages these services queue are delivered as the worker would have delivered them at their date:
marked sent then, "to the console" (a demo address receives nothing), and announced with ``message_sent`` so that
the listeners record their evidence (the convocation's date on the enrolment). The archived documents keep the
date of the load (the archive is append-only).

One item is late on purpose (``load_late_convention``): the convention of the upcoming Chorus Pro session, e-mailed
to Atelier d'architecture Garonne three weeks before it, is not back signed at J−15. It is the dashboard's one
overdue checklist item."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from ..accounts.models import User
from ..core.errors import ValidationError
from ..core.formatting import date_fr
from ..core.timeutil import PARIS
from ..automations import engine as automations
from ..documents import services as document_services
from ..documents.models import GeneratedDocument
from ..enrolments.models import Enrolment
from ..enrolments.services import record_decision
from ..extensions import db
from ..messaging.models import MessageStatus, OutboxMessage
from ..messaging.services import message_sent
from ..quality.checklist.services import tick_item
from ..sessions.models import TrainingSession

CONVENTIONS_SENT_DAYS_BEFORE = 25  # well before J−15
CONVENTIONS_RETURNED_DAYS_BEFORE = 18
LATE_CONVENTION_SENT_DAYS_BEFORE = 21  # the deliberate late item: sent on time, not back at J−15
CONVOCATION_DAYS_BEFORE = 7


def at_paris(day: dt.date, hhmm: str) -> dt.datetime:
    """``hhmm`` on ``day`` in Paris, in UTC."""
    hour, minute = map(int, hhmm.split(":"))
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=PARIS).astimezone(dt.timezone.utc)


def _last_message_id() -> int:
    db.session.flush()
    return db.session.scalar(select(func.max(OutboxMessage.id))) or 0


def _deliver(since: int, at: dt.datetime) -> int:
    """The messages queued after message ``since``, delivered at ``at``; returns how many."""
    messages = list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.id > since,
                                                                   OutboxMessage.status == MessageStatus.PENDING.value)
                                       .order_by(OutboxMessage.id)))
    for message in messages:
        message.created_at = message.next_attempt_at = at - dt.timedelta(minutes=1)
        message.status, message.sent_at, message.transport, message.attempts = "sent", at, "console", 1
    db.session.flush()
    for message in messages:
        message_sent.send(message)
    return len(messages)


def _expected(session: TrainingSession, statuses: tuple[str, ...]) -> list[Enrolment]:
    return list(db.session.scalars(select(Enrolment).where(Enrolment.session_id == session.id,
                                                           Enrolment.status.in_(statuses)).order_by(Enrolment.id)))


def _dated(at: dt.datetime, *rows) -> None:
    for row in rows:
        row.created_at = at


def _unless_refused(make):
    """Documents made by ``make()``, or nothing when the organisation cannot issue them (an organisation set up
    before the demo without its NDA, say): the checklist then shows the item as it is."""
    def wrapper(*args, **kwargs):
        try:
            with db.session.begin_nested():
                return make(*args, **kwargs)
        except ValidationError:
            return []
    wrapper.__doc__ = make.__doc__
    return wrapper


@_unless_refused
def send_conventions(session: TrainingSession, actor: User, at: dt.datetime) -> list[GeneratedDocument]:
    """A convention for each client company of the confirmed trainees, archived and e-mailed at ``at``."""
    companies = {}
    for enrolment in _expected(session, ("confirmed",)):
        company = enrolment.company or enrolment.trainee.company
        if company is not None:
            companies[company.id] = company
    since = _last_message_id()
    documents = [document_services.generate("convention", session, actor, company=company)
                 for _, company in sorted(companies.items())]
    for document in documents:
        document_services.send_document(document, actor)
    _deliver(since, at)
    return documents


def tick(session: TrainingSession, key: str, comment: str, actor: User, at: dt.datetime) -> None:
    """A manual tick of the checklist (a paper copy filed, say), dated when it was made."""
    _dated(at, tick_item(session, key, comment, actor))
    db.session.flush()


@_unless_refused
def send_convocations(session: TrainingSession) -> None:
    """Each confirmed trainee's convocation, by the worker's own pass of the automations at J−7 09:00 (the default
    convocation rules, with their documents; the trainer's mission leaves with them), delivered then."""
    since = _last_message_id()
    at = at_paris(session.first_date - dt.timedelta(days=CONVOCATION_DAYS_BEFORE), "09:00")
    automations.fire_due(at)
    _deliver(since, at)
    return []


def admit_all(session: TrainingSession, actor: User, at: dt.datetime) -> None:
    """The advisor's positioning decision for every confirmed trainee (Qualiopi indicator 8)."""
    for enrolment in _expected(session, ("confirmed",)):
        if not enrolment.positioning_decision:
            record_decision(enrolment, "admitted", "", actor)
            enrolment.positioning_decided_at = at


@_unless_refused
def send_certificates(session: TrainingSession, actor: User) -> None:
    """Each attending trainee's certificat de réalisation, e-mailed the day after the session."""
    since = _last_message_id()
    documents = [document_services.generate("certificate", session, actor, enrolment=enrolment, reuse=True)
                 for enrolment in _expected(session, ("completed", "abandoned"))]
    for document in documents:
        document_services.send_document(document, actor)
    _deliver(since, at_paris(session.last_date + dt.timedelta(days=1), "10:15"))
    return documents


def paper_conventions(session: TrainingSession, actor: User, companies: list[str], contract: str = "") -> None:
    """Conventions (and a self-paying trainee's contract) handed over and returned signed on paper: both items
    ticked by hand with where the copies are filed."""
    sent = at_paris(session.first_date - dt.timedelta(days=CONVENTIONS_SENT_DAYS_BEFORE), "11:00")
    back = at_paris(session.first_date - dt.timedelta(days=CONVENTIONS_RETURNED_DAYS_BEFORE), "16:40")
    names = " et ".join(companies) + (f", contrat de formation de {contract}" if contract else "")
    tick(session, "convention_sent", f"Conventions remises sur papier ({names}) : copies au dossier de la "
                                     "session.", actor, sent)
    tick(session, "convention_signed", f"Exemplaires signés retournés par courrier ({names}) : classés au "
                                       "dossier de la session.", actor, back)


def load_late_convention(session: TrainingSession | None, actor: User) -> list[str]:
    """The deliberate late item: the upcoming session's convention e-mailed three weeks before it and not back
    signed at J−15. Once per session (skipped when the session has a convention)."""
    if session is None or session.first_date is None or db.session.scalar(
            select(GeneratedDocument.id).where(GeneratedDocument.session_id == session.id,
                                               GeneratedDocument.doc_type == "convention").limit(1)) is not None:
        return []
    day = session.first_date - dt.timedelta(days=LATE_CONVENTION_SENT_DAYS_BEFORE)
    documents = send_conventions(session, actor, at_paris(day, "10:30"))
    if not documents:
        return []
    names = ", ".join(d.company.name for d in documents)
    return [f"Convention de la session {session.label} envoyée le {date_fr(day)} à {names}, pas encore revenue "
            "signée : le point en retard de la démonstration."]
