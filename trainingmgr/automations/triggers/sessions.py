"""Automations about sessions and enrolments: the contexts "session" (a message about a session, to its trainees,
their companies, its trainers, the funders' advisers or the advisor) and "enrolment" (about one trainee's
enrolment), the triggers J−n before the first half-day, J+n after the last one and "enrolment confirmed", the
attachments (.ics, the convocation's documents, the latest generated document of a type), and the default rules:
the convocation at J−7 (trainee and company), the confirmation e-mail, the J−1 practical reminder and the trainer's
mission at J−7.

A session's messages leave only once the session is confirmed (enrolments/mails.convocation_held_by), and a trainee
is written to only once confirmed and admitted (no prerequisite decision pending): a trainee confirmed after J−7, or
a session confirmed late, is in the plan as soon as they are, and the message leaves at once, before the start."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from slugify import slugify
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session, selectinload

from ...accounts.models import Role, User
from ...companies.models import CompanyContact
from ...core.formatting import date_fr, date_long_fr, hours_fr, time_fr
from ...core.timeutil import UTC, paris_date, paris_datetime
from ...documents import services as document_services
from ...documents.catalogue import DOC_TYPES, Var
from ...documents.conversion import pdf
from ...documents.models import GeneratedDocument
from ...documents.portal import CONVOCATION_PACK, ENROLMENT_TYPES, PDF_TYPE, as_attachment, current_document
from ...enrolments import mails as enrolment_mails
from ...enrolments.history import record_event
from ...enrolments.models import AGREEMENT_KINDS, EXPECTED, Enrolment, EnrolmentEvent, EnrolmentStatus, FundingLine
from ...enrolments.workflow import needs_prerequisite_decision
from ...extensions import db
from ...organisation.services import get_organisation, staff_recipients
from ...resources import links as trainer_links
from ...resources.models import Trainer
from ...sessions.ical import session_calendar
from ...sessions.models import SessionStatus, Slot, TrainingSession
from ...sessions.modality import delivery_fields
from ..registry import (
    AttachmentKind,
    Context,
    DefaultRule,
    DefaultTemplate,
    Occurrence,
    Recipient,
    Trigger,
    register_attachment,
    register_context,
    register_default_rule,
    register_default_template,
    register_trigger,
)
from .common import ORG_VARIABLES, org_variables

# The sessions whose messages may leave: confirmed (an open session's convocation waits for its confirmation, as
# enrolments/mails.convocation_held_by says), or already started (the expiry then keeps the J−n ones back).
SENDING = (SessionStatus.CONFIRMED.value, SessionStatus.IN_PROGRESS.value)
# After the last half-day: every session that was held.
ENDED_OR_HELD = (SessionStatus.CONFIRMED.value, SessionStatus.IN_PROGRESS.value, SessionStatus.COMPLETED.value,
                 SessionStatus.CLOSED.value)
ICS_LABEL = "Fichier agenda"


# --------------------------------------------------------------------------- a cache for one transaction

_CACHE = "automations.sessions"  # Session.info key: what one plan reads once for all its messages


def _cached(key: tuple, make):
    """``make()`` once per transaction: a plan renders one message per recipient, and the organisation, a
    session's variables and its trainees are the same for all (the session page plans a whole session)."""
    cache = db.session.info.setdefault(_CACHE, {})
    if key not in cache:
        cache[key] = make()
    return cache[key]


@event.listens_for(Session, "after_transaction_end")
def _forget(session, transaction) -> None:
    session.info.pop(_CACHE, None)


# --------------------------------------------------------------------------- variables

SESSION_VARS = (
    Var("session.title", "Intitulé de la formation", "Chorus Pro"),
    Var("session.reference", "Référence de la session", "S-2026-0003"),
    Var("session.dates", "Dates de la session", "du 25/11/2026 au 26/11/2026"),
    Var("session.first_date", "Premier jour", "25/11/2026"),
    Var("session.first_time", "Heure de début du premier jour", "09:00"),
    Var("session.last_date", "Dernier jour", "26/11/2026"),
    Var("session.schedule", "Formation, jours, horaires et lieu (plusieurs lignes, comme la convocation)",
        "Formation : Chorus Pro\n- Mercredi 25 novembre 2026 : 09:00–12:30 et 13:30–17:00\nLieu : Salle Garonne"),
    Var("session.place", "Lieu (nom de la salle, ou « à distance »)", "Salle Garonne"),
    Var("session.address", "Adresse du lieu", "12 rue des Lois, 31000 Toulouse"),
    Var("session.access_notes", "Accès (transports, parking, code d'entrée)", "Métro Capitole, code 1234"),
    Var("session.accessibility", "Accessibilité de la salle", "salle accessible aux personnes à mobilité réduite"),
    Var("session.meeting_url", "Lien de connexion (session à distance, le même pour toutes ses classes virtuelles)",
        "https://visio.example/abc"),
    Var("session.is_remote", "Session à distance : toutes ses demi-journées (vrai ou faux)", "False"),
    Var("session.has_virtual", "Au moins une classe virtuelle (vrai ou faux)", "False"),
    Var("session.hours", "Durée prévue", "14 h"),
    Var("session.trainers", "Formateurs (noms séparés par des virgules)", "Paul Martin"),
    Var("session.slots[].date", "Demi-journée : date", "25/11/2026"),
    Var("session.slots[].half_day", "Demi-journée : matin ou après-midi", "Matin"),
    Var("session.slots[].start", "Demi-journée : heure de début", "09:00"),
    Var("session.slots[].end", "Demi-journée : heure de fin", "12:30"),
    Var("session.slots[].times", "Demi-journée : horaires", "09:00–12:30"),
    Var("session.slots[].modality", "Demi-journée : modalité (room, virtual ou async)", "virtual"),
    Var("session.slots[].modality_label", "Demi-journée : en salle, classe virtuelle ou activité asynchrone",
        "Classe virtuelle"),
    Var("session.slots[].meeting_url", "Demi-journée : lien de connexion d'une classe virtuelle (vide sinon)",
        "https://visio.example/abc"),
    Var("session.slots[].activity", "Demi-journée : activité asynchrone à réaliser (vide sinon)",
        "Lire le guide de dépôt et répondre au quiz"),
    Var("course.title", "Intitulé de la formation", "Chorus Pro"),
    Var("course.what_to_bring", "À apporter", "Un ordinateur portable"),
)
PEOPLE_VARS = (
    Var("recipient.name", "Nom du destinataire", "Léa Martin"),
    Var("recipient.email", "E-mail du destinataire", "lea.martin@exemple.fr"),
    Var("trainee.first_name", "Prénom du stagiaire (destinataire stagiaire)", "Léa"),
    Var("trainee.last_name", "Nom du stagiaire", "Martin"),
    Var("trainee.full_name", "Prénom et nom du stagiaire", "Léa Martin"),
    Var("trainee.display_name", "Civilité, prénom et nom du stagiaire", "Mme Léa Martin"),
    Var("company.name", "Entreprise (du stagiaire, ou du contact destinataire)", "Garonne Structures"),
    Var("link", "Lien personnel : page du stagiaire, espace du formateur", "https://formaction.example/t/…"),
)
SESSION_CONTEXT_VARS = ORG_VARIABLES + SESSION_VARS + PEOPLE_VARS + (
    Var("trainer.full_name", "Prénom et nom du formateur (destinataire formateur)", "Paul Martin"),
    Var("trainees[].full_name", "Stagiaires confirmés (tous pour le formateur, les siens pour l'entreprise) : nom",
        "Léa Martin"),
    Var("trainees[].display_name", "Stagiaires confirmés : civilité, prénom et nom", "Mme Léa Martin"),
    Var("trainees[].company", "Stagiaires confirmés : entreprise", "Garonne Structures"),
)
ENROLMENT_CONTEXT_VARS = ORG_VARIABLES + SESSION_VARS + PEOPLE_VARS


def _schedule(session: TrainingSession) -> str:
    """The convocation's block: the course, each day with its times (and how each half-day at a distance is held),
    the place (mail/_session.txt)."""
    lines = [f"Formation : {session.title}"]
    for day, slots in session.days:
        times = " et ".join(f"{time_fr(slot.start_time)}–{time_fr(slot.end_time)}{_at_a_distance(slot)}"
                            for slot in slots)
        lines.append(f"- {date_long_fr(day).capitalize()} : {times}")
    location = session.location
    if location is not None:
        lines.append(f"Lieu : à distance ({location.meeting_url})" if location.is_remote
                     else f"Lieu : {location.name}, {location.full_address}")
    return "\n".join(lines)


def _at_a_distance(slot: Slot) -> str:
    """« (classe virtuelle : https://…) » after a virtual half-day's times, « (activité asynchrone) » after an
    asynchronous one's, nothing after one in the room."""
    if not slot.is_remote:
        return ""
    link = slot.meeting_link
    return f" ({slot.modality_label.lower()}{' : ' + link if link else ''})"


def _slot_vars(slot: Slot) -> dict:
    return {"date": date_fr(slot.date), "half_day": slot.half_day_label, "start": time_fr(slot.start_time),
            "end": time_fr(slot.end_time), "times": f"{time_fr(slot.start_time)}–{time_fr(slot.end_time)}",
            **delivery_fields(slot)}


def _common_link(location, slots: list[Slot]) -> str:
    """The session's one meeting link: its remote place's, else the link all its virtual classrooms share."""
    if location is not None and location.is_remote:
        return location.meeting_url
    links = {slot.meeting_link for slot in slots if slot.modality == "virtual"}
    return links.pop() if len(links) == 1 else ""


def _session_vars(session: TrainingSession) -> tuple[dict, dict]:
    """(session, course) variables."""
    slots = sorted(session.slots, key=lambda s: (s.date, s.start_time))
    location = session.location
    # At a distance: every half-day remote (a session without half-days yet: its place).
    remote = all(s.is_remote for s in slots) if slots else bool(location is not None and location.is_remote)
    on_site = location is not None and not location.is_remote and not remote
    accessibility = ""
    if on_site:
        accessibility = ("salle accessible aux personnes à mobilité réduite" if location.wheelchair_access else
                         "salle non accessible en fauteuil roulant : prévenez-nous pour que nous organisions "
                         "votre accueil")
    version = session.course_version
    first = session.first_date
    return ({
        "title": session.title,
        "reference": f"S-{first.year if first else 0}-{session.id:04d}",
        "dates": session.dates_label,
        "first_date": date_fr(first), "first_time": time_fr(slots[0].start_time) if slots else "",
        "last_date": date_fr(session.last_date),
        "schedule": _schedule(session),
        "place": "à distance" if remote else (location.name if location is not None else ""),
        "address": location.full_address if on_site else "",
        "access_notes": location.access_notes if on_site else "",
        "accessibility": accessibility,
        "meeting_url": _common_link(location, slots) if remote or any(s.is_remote for s in slots) else "",
        "is_remote": remote,
        "has_virtual": any(s.modality == "virtual" for s in slots),
        "hours": hours_fr(session.planned_hours),
        "trainers": ", ".join(t.full_name for t in session.trainers),
        "slots": [_slot_vars(s) for s in slots],
    }, {"title": session.title, "what_to_bring": version.what_to_bring or ""})


def _trainee_vars(enrolment: Enrolment | None) -> dict:
    if enrolment is None:
        return {"first_name": "", "last_name": "", "full_name": "", "display_name": ""}
    trainee = enrolment.trainee
    return {"first_name": trainee.first_name, "last_name": trainee.last_name, "full_name": trainee.full_name,
            "display_name": trainee.display_name}


def _trainees_list(enrolments: list[Enrolment]) -> list[dict]:
    return [{"full_name": e.trainee.full_name, "display_name": e.trainee.display_name,
             "company": e.company.name if e.company else ""} for e in enrolments]


# --------------------------------------------------------------------------- recipients


def session_trainees(session: TrainingSession) -> list[Enrolment]:
    """The trainees a message about the session goes to: confirmed (or, after it, assessed), admitted (no
    prerequisite decision pending), by name."""
    return list(_cached(("trainees", session.id), lambda: _session_trainees(session)))


def _session_trainees(session: TrainingSession) -> list[Enrolment]:
    enrolments = db.session.scalars(select(Enrolment).where(
        Enrolment.session_id == session.id, Enrolment.status.in_(EXPECTED))
        .options(selectinload(Enrolment.trainee), selectinload(Enrolment.company)).order_by(Enrolment.id))
    found = [e for e in enrolments if e.status != EnrolmentStatus.NO_SHOW.value
             and not needs_prerequisite_decision(e)]
    return sorted(found, key=lambda e: (e.trainee.last_name.lower(), e.trainee.first_name.lower(), e.id))


def _trainee_recipient(enrolment: Enrolment) -> list[Recipient]:
    email = enrolment.trainee.email
    return [Recipient(email, enrolment.trainee.full_name, enrolment, enrolment.id)] if email else []


def _company_recipients(enrolments: list[Enrolment], roles: tuple[str, ...]) -> list[Recipient]:
    """One contact per company of ``enrolments`` (the first holding the first of ``roles``), filed under the
    company's first trainee's enrolment."""
    found: dict[str, Recipient] = {}
    for enrolment in enrolments:
        company = enrolment.company
        contact = company.contact(*roles) if company is not None else None
        if contact is not None and contact.email not in found:
            found[contact.email] = Recipient(contact.email, contact.name, contact, enrolment.id)
    return list(found.values())


def _funder_recipients(enrolments: list[Enrolment]) -> list[Recipient]:
    """One per funder's adviser (OPCO, fund…) named on the enrolments' agreement funding lines."""
    if not enrolments:
        return []
    found: dict[str, Recipient] = {}
    for line in db.session.scalars(select(FundingLine).where(
            FundingLine.enrolment_id.in_([e.id for e in enrolments]), FundingLine.kind.in_(AGREEMENT_KINDS),
            FundingLine.opco_contact_email != "").order_by(FundingLine.id)):
        found.setdefault(line.opco_contact_email, Recipient(line.opco_contact_email, line.opco_name, line))
    return sorted(found.values(), key=lambda r: r.email)


def _advisor_recipients() -> list[Recipient]:
    return list(_cached(("advisors",), _advisors))


def _advisors() -> list[Recipient]:
    users = {u.email: u for u in db.session.scalars(select(User).where(User.email.in_(staff_recipients())))}
    org = get_organisation()
    return [Recipient(email, (users[email].name or email) if email in users else (org.quality_contact_name or email),
                      users.get(email)) for email in staff_recipients()]


HR_ROLES = ("hr", "signatory", "other", "accounting")  # the company's training contact: HR, else the signatory…


def session_recipients(session: TrainingSession, audience: str) -> list[Recipient]:
    if audience == "trainer":
        return [Recipient(t.email, t.full_name, t) for t in session.trainers if t.email]
    if audience == "advisor":
        return _advisor_recipients()
    trainees = session_trainees(session)
    if audience == "trainee":
        return [r for e in trainees for r in _trainee_recipient(e)]
    if audience == "company_hr":
        return _company_recipients(trainees, HR_ROLES)
    if audience == "company_signatory":
        return _company_recipients(trainees, ("signatory",))
    if audience == "funder":
        return _funder_recipients(trainees)
    return []


def enrolment_recipients(enrolment: Enrolment, audience: str) -> list[Recipient]:
    if audience == "trainee":
        return _trainee_recipient(enrolment)
    if audience == "company_hr":
        return _company_recipients([enrolment], HR_ROLES)
    if audience == "company_signatory":
        return _company_recipients([enrolment], ("signatory",))
    if audience == "funder":
        return _funder_recipients([enrolment])
    if audience == "advisor":
        return _advisor_recipients()
    return []


# --------------------------------------------------------------------------- building a message's variables


def _common(session: TrainingSession, recipient: Recipient) -> dict:
    session_vars, course_vars = _cached(("session_vars", session.id), lambda: _session_vars(session))
    return {"org": dict(_cached(("org",), org_variables)), "session": dict(session_vars), "course": dict(course_vars),
            "recipient": {"name": recipient.name, "email": recipient.email},
            "trainee": _trainee_vars(None), "company": {"name": ""}, "link": ""}


def build_session(session: TrainingSession, recipient: Recipient) -> dict:
    context = _common(session, recipient)
    ref = recipient.ref
    trainees = session_trainees(session)
    context["trainer"] = {"full_name": ref.full_name if isinstance(ref, Trainer) else ""}
    context["trainees"] = _trainees_list(trainees)
    if isinstance(ref, Enrolment):
        context.update(trainee=_trainee_vars(ref), link=enrolment_mails.personal_url(ref),
                       company={"name": ref.company.name if ref.company else ""})
    elif isinstance(ref, CompanyContact):
        context["company"] = {"name": ref.company.name}
        context["trainees"] = _trainees_list([e for e in trainees if e.company_id == ref.company_id])
    elif isinstance(ref, Trainer) and ref.active:
        context["link"] = trainer_links.space_url(ref)
    return context


def build_enrolment(enrolment: Enrolment, recipient: Recipient) -> dict:
    context = _common(enrolment.session, recipient)
    context.update(trainee=_trainee_vars(enrolment), company={"name": enrolment.company.name if enrolment.company
                                                              else ""})
    if recipient.email == enrolment.trainee.email:
        context["link"] = enrolment_mails.personal_url(enrolment)
    return context


def _sample_enrolment(session_id: int, enrolment_id: int | None) -> Enrolment | None:
    if enrolment_id is not None:
        enrolment = db.session.get(Enrolment, enrolment_id)
        return enrolment if enrolment is not None and enrolment.session_id == session_id else None
    return db.session.scalar(select(Enrolment).where(Enrolment.session_id == session_id)
                             .order_by(Enrolment.id).limit(1))


def sample_session(session_id: int, enrolment_id: int | None):
    session = db.session.get(TrainingSession, session_id)
    if session is None:
        return None
    enrolment = _sample_enrolment(session_id, enrolment_id)
    if enrolment is not None and enrolment.trainee.email:
        return session, _trainee_recipient(enrolment)[0]
    trainer = next((t for t in session.trainers if t.email), None)
    if trainer is not None:
        return session, Recipient(trainer.email, trainer.full_name, trainer)
    return None


def sample_enrolment(session_id: int, enrolment_id: int | None):
    enrolment = _sample_enrolment(session_id, enrolment_id)
    if enrolment is None or not enrolment.trainee.email:
        return None
    return enrolment, _trainee_recipient(enrolment)[0]


def _load(model):
    return lambda object_type, object_id: db.session.get(model, object_id)


def _load_enrolment(object_type: str, object_id: int) -> Enrolment | None:
    """An enrolment the trigger found (kept with its trainee and company by find_enrolment_confirmed), else read."""
    found = db.session.info.get(_CACHE, {}).get(("enrolments",), {})
    return found.get(object_id) or db.session.get(Enrolment, object_id)


register_context(Context("session", "Session (stagiaires, entreprises, formateurs, financeurs, conseiller)",
                         SESSION_CONTEXT_VARS, _load(TrainingSession), session_recipients, build_session,
                         sample_session))
register_context(Context("enrolment", "Inscription d'un stagiaire", ENROLMENT_CONTEXT_VARS, _load_enrolment,
                         enrolment_recipients, build_enrolment, sample_enrolment))


# --------------------------------------------------------------------------- triggers


def _send_time(rule) -> dt.time:
    hours, _, minutes = (rule.send_time or "09:00").partition(":")
    return dt.time(int(hours), int(minutes or 0))


def _sessions_by_day(last: bool, statuses: tuple[str, ...], day_from: dt.date, day_to: dt.date):
    """(session, its first or last half-day) for the sessions in ``statuses`` whose first (last) day is between
    the two dates."""
    bound = (func.max if last else func.min)(Slot.date).label("day")
    days = select(Slot.session_id, bound).group_by(Slot.session_id).subquery()
    sessions = db.session.scalars(select(TrainingSession).join(days, days.c.session_id == TrainingSession.id).where(
        TrainingSession.status.in_(statuses), days.c.day >= day_from, days.c.day <= day_to)
        .order_by(TrainingSession.id))
    for session in sessions:
        slots = sorted(session.slots, key=lambda s: (s.date, s.start_time))
        if slots:
            yield session, slots[-1] if last else slots[0]


def find_before_start(rule, start: dt.datetime, end: dt.datetime):
    """J−n at the rule's send time before the first half-day, until that half-day starts; confirmed sessions."""
    offset, at = dt.timedelta(days=rule.offset_days), _send_time(rule)
    day_from = paris_date(start) + offset - dt.timedelta(days=1)
    day_to = paris_date(end) + offset + dt.timedelta(days=1)
    for session, first in _sessions_by_day(False, SENDING, day_from, day_to):
        due = paris_datetime(first.date - offset, at).astimezone(UTC)
        if start <= due <= end:
            yield Occurrence("session", session.id, "start", due, session.id,
                             expires_at=first.starts_at.astimezone(UTC))


def find_after_end(rule, start: dt.datetime, end: dt.datetime):
    """J+n at the rule's send time after the last half-day, for the sessions held."""
    offset, at = dt.timedelta(days=rule.offset_days), _send_time(rule)
    day_from = paris_date(start) - offset - dt.timedelta(days=1)
    day_to = paris_date(end) - offset + dt.timedelta(days=1)
    for session, last in _sessions_by_day(True, ENDED_OR_HELD, day_from, day_to):
        due = paris_datetime(last.date + offset, at).astimezone(UTC)
        if start <= due <= end:
            yield Occurrence("session", session.id, "end", due, session.id)


def find_enrolment_confirmed(rule, start: dt.datetime, end: dt.datetime):
    """Each enrolment still confirmed, at its (last) confirmation plus the offset. *Decision*: a trainee confirmed
    by leaving the waiting list is not written to: the « place libérée » e-mail already told them."""
    offset = dt.timedelta(days=rule.offset_days)
    last = (select(EnrolmentEvent.enrolment_id, func.max(EnrolmentEvent.id).label("event_id"))
            .where(EnrolmentEvent.to_status == EnrolmentStatus.CONFIRMED.value)
            .group_by(EnrolmentEvent.enrolment_id).subquery())
    rows = db.session.execute(select(Enrolment, EnrolmentEvent).join(last, last.c.enrolment_id == Enrolment.id)
                              .join(EnrolmentEvent, EnrolmentEvent.id == last.c.event_id)
                              .join(TrainingSession, TrainingSession.id == Enrolment.session_id)
                              .options(selectinload(Enrolment.trainee), selectinload(Enrolment.company))
                              .where(Enrolment.status == EnrolmentStatus.CONFIRMED.value,
                                     TrainingSession.status != SessionStatus.CANCELLED.value,
                                     EnrolmentEvent.at >= start - offset, EnrolmentEvent.at <= end - offset)
                              .order_by(Enrolment.id))
    kept = _cached(("enrolments",), dict)  # context.load finds them there, trainee and company loaded
    for enrolment, confirmation in rows:
        if confirmation.kind != "promoted":
            kept[enrolment.id] = enrolment
            yield Occurrence("enrolment", enrolment.id, "confirmed", confirmation.at + offset, enrolment.session_id)


def convocation_queued(obj, recipient: Recipient, message) -> None:
    """A convocation put in the outbox is in its trainee's history (the date it leaves is recorded when it does:
    enrolments/mails._convocation_sent)."""
    if getattr(message, "topic", "") != "convocation" or recipient.enrolment_id is None:
        return
    enrolment = db.session.get(Enrolment, recipient.enrolment_id)
    if enrolment is None:
        return
    whom = recipient.email
    if isinstance(recipient.ref, CompanyContact):
        whom += f" ({recipient.ref.company.name})"
    record_event(enrolment, "convocation", None, f"Convocation mise en envoi pour {whom}.")


SESSION_AUDIENCES = ("trainee", "company_hr", "company_signatory", "trainer", "funder", "advisor")
register_trigger(Trigger(
    "before_start", "Avant le premier jour de la session", "session", "before", SESSION_AUDIENCES,
    find_before_start, dated=True, after_fired=convocation_queued,
    help="J−n avant la première demi-journée, à l'heure d'envoi, une fois la session confirmée ; un stagiaire "
         "confirmé plus tard reçoit le message dès sa confirmation, jusqu'au début de la session."))
register_trigger(Trigger(
    "after_end", "Après le dernier jour de la session", "session", "after", SESSION_AUDIENCES, find_after_end,
    dated=True, help="J+n après la dernière demi-journée, à l'heure d'envoi."))
register_trigger(Trigger(
    "enrolment_confirmed", "Inscription confirmée", "enrolment", "after",
    ("trainee", "company_hr", "company_signatory", "funder", "advisor"), find_enrolment_confirmed,
    help="À la confirmation de l'inscription (ou n jours après), tant qu'elle reste confirmée ; pas pour un "
         "stagiaire sorti de la liste d'attente, déjà prévenu."))


# --------------------------------------------------------------------------- attachments


def _ics_name(session: TrainingSession) -> str:
    return f"session-{session.id}.ics"


def _session_of(obj) -> TrainingSession:
    return obj.session if isinstance(obj, Enrolment) else obj


def _ics_describe(obj, recipient: Recipient) -> list[tuple[str, str]]:
    return [(ICS_LABEL, _ics_name(_session_of(obj)))]


def _ics_build(obj, recipient: Recipient) -> list[tuple[str, str, bytes]]:
    session = _session_of(obj)
    return [(_ics_name(session), "text/calendar", session_calendar(session, get_organisation()))]


register_attachment(AttachmentKind("ics", "Fichier agenda de la session (.ics)", ("session", "enrolment"),
                                   _ics_describe, _ics_build))


def _enrolments_of(obj, recipient: Recipient) -> list[Enrolment]:
    """The enrolments a message's documents are about: the recipient trainee's, the contact's company's trainees,
    the enrolment of an enrolment's message."""
    if isinstance(obj, Enrolment):
        return [obj]
    if isinstance(recipient.ref, Enrolment):
        return [recipient.ref]
    if isinstance(recipient.ref, CompanyContact):
        return [e for e in session_trainees(obj) if e.company_id == recipient.ref.company_id]
    return []


# --- the documents made as the message leaves (the convocation's)

# Their file names: fixed before they are made (a document's number is not known until it is), so that the dry
# run names the very files that leave. The trainee's documents add the trainee's name, the session's the course's.
PACK_FILE_STEMS = {"convocation": "convocation", "programme": "programme", "internal_rules": "reglement-interieur"}


@dataclass(frozen=True)
class PackFile:
    """One document of the convocation's kind a message carries: made (or reused) only when the message leaves."""

    doc_type: str
    label: str
    filename: str
    enrolment: Enrolment | None  # a trainee's own document (the convocation), else None: the session's
    author: User  # on whose behalf it is made


def _slug(text: str) -> str:
    return slugify(text or "", max_length=60, word_boundary=True) or "document"


def _session_author(session: TrainingSession) -> User | None:
    """On whose behalf a session's documents are made for a message about no trainee (the trainer's): as for its
    first trainee's convocation, else the first active advisor or admin."""
    trainees = session_trainees(session)
    if trainees:
        return enrolment_mails.documents_author(trainees[0])
    return db.session.scalar(select(User).where(User.role.in_((Role.ADVISOR.value, Role.ADMIN.value)),
                                                User.active.is_(True)).order_by(User.id).limit(1))


def pack_files(obj, recipient: Recipient, doc_types: tuple[str, ...] = CONVOCATION_PACK) -> list[PackFile]:
    """The documents of ``doc_types`` (the convocation's by default) a message carries, decided without making
    anything: the dry run describes this list and the sending makes it, so that both name the same files.

    For each trainee the message is about (enrolments_of), made on behalf of documents_author (none when there is
    nobody to make them on behalf of, as the convocation job did): the trainee's own documents, and the session's
    once per message. A message about no trainee (to a trainer) carries the session's documents only, made on
    behalf of _session_author. A file is a PDF when a converter is there (documents/portal.current_document then
    makes the PDF copy), else a DOCX."""
    session = _session_of(obj)
    extension = "pdf" if pdf.available() else "docx"
    enrolments = _enrolments_of(obj, recipient)
    authors = ([(e, enrolment_mails.documents_author(e)) for e in enrolments] if enrolments
               else [(None, _session_author(session))])
    files: list[PackFile] = []
    for enrolment, author in authors:
        if author is None:
            continue
        for doc_type in doc_types:
            own = doc_type in ENROLMENT_TYPES
            if (own and enrolment is None) or (not own and any(f.doc_type == doc_type for f in files)):
                continue
            stem = PACK_FILE_STEMS.get(doc_type) or _slug(DOC_TYPES[doc_type].label)
            if own:
                stem += f"-{_slug(enrolment.trainee.full_name)}"
            elif doc_type != "internal_rules":  # the organisation's rules are the same for every course
                stem += f"-{_slug(session.title)}"
            filename = _unique(f"{stem}.{extension}", [f.filename for f in files])
            files.append(PackFile(doc_type, DOC_TYPES[doc_type].label, filename, enrolment if own else None, author))
    return files


def _unique(filename: str, taken: list[str]) -> str:
    """``filename``, or « name-2.pdf »… when a file of the message already has it (two trainees of the same name)."""
    stem, _, extension = filename.rpartition(".")
    number = 1
    while filename in taken:
        number += 1
        filename = f"{stem}-{number}.{extension}"
    return filename


def _pack_file_content(file: PackFile, session: TrainingSession) -> tuple[str, str, bytes]:
    """(file name, type, content) of one PackFile, made now: its current version, a new one when out of date."""
    document = current_document(file.doc_type, session, file.author, enrolment=file.enrolment)
    if file.filename.endswith(".pdf") and document.pdf_file_id:
        return file.filename, PDF_TYPE, document_services.read_file(document, "pdf")
    filename = file.filename
    if filename.endswith(".pdf"):  # the conversion failed (logged by documents): the DOCX, named as such
        filename = filename.removesuffix(".pdf") + ".docx"
    return filename, document_services.DOCX_TYPE, document_services.read_file(document, "docx")


def _made_kind(code: str, label: str, doc_types: tuple[str, ...]) -> AttachmentKind:
    """An attachment kind of documents made as the message leaves (pack_files): describe lists them, build makes
    them, from the same list."""
    return AttachmentKind(
        code, label, ("session", "enrolment"),
        lambda obj, recipient: [(f.label, f.filename) for f in pack_files(obj, recipient, doc_types)],
        lambda obj, recipient: [_pack_file_content(f, _session_of(obj)) for f in pack_files(obj, recipient,
                                                                                            doc_types)])


# --- the latest generated document of a type (nothing is made)


def _latest(doc_type: str, session: TrainingSession, *, enrolment_id=None, company_id=None) -> GeneratedDocument | None:
    query = select(GeneratedDocument).where(GeneratedDocument.session_id == session.id,
                                            GeneratedDocument.doc_type == doc_type)
    if DOC_TYPES[doc_type].scope == "enrolment":
        query = query.where(GeneratedDocument.enrolment_id == enrolment_id)
    elif DOC_TYPES[doc_type].scope == "client":
        query = query.where(GeneratedDocument.company_id == company_id)
    else:
        query = query.where(GeneratedDocument.enrolment_id.is_(None), GeneratedDocument.company_id.is_(None))
    return db.session.scalar(query.order_by(GeneratedDocument.version.desc(), GeneratedDocument.id.desc()).limit(1))


def _latest_documents(doc_type: str, obj, recipient: Recipient) -> list[GeneratedDocument]:
    session, scope = _session_of(obj), DOC_TYPES[doc_type].scope
    if scope == "session":
        found = [_latest(doc_type, session)]
    elif scope == "enrolment":
        found = [_latest(doc_type, session, enrolment_id=e.id) for e in _enrolments_of(obj, recipient)]
    else:
        companies = {e.company_id for e in _enrolments_of(obj, recipient) if e.company_id is not None}
        found = [_latest(doc_type, session, company_id=company_id) for company_id in sorted(companies)]
    return [document for document in found if document is not None]


def _filename(document: GeneratedDocument) -> str:
    return f"{document.number}.{'pdf' if document.pdf_file_id else 'docx'}"  # as_attachment's name


def _document_kind(doc_type: str) -> AttachmentKind:
    label = DOC_TYPES[doc_type].label
    return AttachmentKind(
        doc_type, f"{label} (dernière version générée)", ("session", "enrolment"),
        lambda obj, recipient: [(label, _filename(d)) for d in _latest_documents(doc_type, obj, recipient)],
        lambda obj, recipient: [as_attachment(d) for d in _latest_documents(doc_type, obj, recipient)])


# *Decision*: the convocation's documents (convocation, programme, règlement intérieur) are attached as they will
# be when the message leaves: their current version, made at that moment when missing or out of date (pack_files,
# the convocation's rule), under a name fixed beforehand. A document the convocation makes in the same pass of the
# worker (the programme of the trainer's J−7 mission) is therefore in the dry run too, whichever leaves first, and
# the trainer's programme is made even when no convocation leaves. The other documents are their latest generated
# version at sending, nothing made: what the dry run names unless somebody generates a new version meanwhile.
MADE_KINDS = {doc_type: f"{DOC_TYPES[doc_type].label} (version à jour, générée à l'envoi si besoin)"
              for doc_type in CONVOCATION_PACK}
DOCUMENT_KINDS = ("convention", "contract", "attestation", "certificate")
for _doc_type, _label in MADE_KINDS.items():
    register_attachment(_made_kind(_doc_type, _label, (_doc_type,)))
for _doc_type in DOCUMENT_KINDS:
    register_attachment(_document_kind(_doc_type))
register_attachment(_made_kind("convocation_pack", "Convocation, programme et règlement intérieur (générés à l'envoi)",
                               CONVOCATION_PACK))


# --------------------------------------------------------------------------- default templates and rules

# The bodies list what the message carries (the ``attachments`` variable, filled from the rule's attachment kinds
# as the dry run describes them), and the règlement intérieur is « joint à ce message » when it is among them.
_ENCLOSED = """{% if attachments %}Pièces jointes :
{% for file in attachments %}- {{ file.label }} : {{ file.filename }}
{% endfor %}{% endif %}"""
_RULES_SENTENCE = ("à respecter le règlement intérieur de l'organisme de formation, {% if \"" +
                   DOC_TYPES["internal_rules"].label + "\" in attachments|map(attribute=\"label\") %}joint à ce "
                   "message{% else %}disponible sur simple demande{% endif %}.")
_CONTACTS = """Besoin d'une adaptation (handicap, accessibilité) ? Contactez {{ org.disability_contact }}.
Suivi qualité, satisfaction et médiation : {{ org.quality_contact }}.
"""
_PLACE = """{% if session.access_notes %}Accès : {{ session.access_notes }}
{% endif %}{% if session.accessibility %}Accessibilité : {{ session.accessibility }}.
{% endif %}{% if session.trainers %}Formateur : {{ session.trainers }}
{% endif %}{% if course.what_to_bring %}
À apporter : {{ course.what_to_bring }}
{% endif %}
"""

register_default_template(DefaultTemplate(
    "convocation", "Convocation (stagiaire)", "session",
    "Convocation – {{ session.title }} {{ session.dates }}",
    "Bonjour {{ trainee.display_name }},\n\nVous êtes convoqué(e) à la formation « {{ session.title }} ».\n\n"
    "{{ session.schedule }}\n" + _PLACE + _ENCLOSED + _CONTACTS + "En participant, vous vous engagez " +
    _RULES_SENTENCE + "\n\nVotre page personnelle (convocation, questionnaire, documents) :\n{{ link }}\n\n"
    "{{ org.signature }}\n"))
register_default_template(DefaultTemplate(
    "convocation_company", "Convocation (entreprise)", "session",
    "Convocation – {{ session.title }} {{ session.dates }}",
    "Bonjour {{ recipient.name }},\n\nVous trouverez ci-dessous la convocation de "
    "{% for t in trainees %}{{ t.display_name }}{% if not loop.last %}, {% endif %}{% endfor %} à la formation "
    "« {{ session.title }} ».\n\n{{ session.schedule }}\n" + _PLACE + _ENCLOSED + _CONTACTS +
    "En participant, {% if trainees|length > 1 %}les stagiaires s'engagent{% else %}le stagiaire s'engage"
    "{% endif %} " + _RULES_SENTENCE + "\n\n{{ org.signature }}\n"))
register_default_template(DefaultTemplate(
    "enrolment_confirmed", "Inscription confirmée", "enrolment",
    "Inscription confirmée – {{ session.title }}",
    "Bonjour {{ trainee.display_name }},\n\nVotre inscription à la formation « {{ session.title }} » est "
    "confirmée.\n\n{{ session.schedule }}\n\nVotre page personnelle (questionnaire de positionnement, convocation, "
    "documents) :\n{{ link }}\n\nPour toute question, un besoin d'adaptation ou une demande de médiation, votre "
    "conseiller formation est à votre disposition.\n\n{{ org.signature }}\n"))
# Each half-day; one at a distance says how it is held: the link of a virtual classroom, the activity to do.
_SLOTS = ("{% for slot in session.slots %}- {{ slot.date }} ({{ slot.half_day|lower }}) : {{ slot.start }}–"
          "{{ slot.end }}{% if slot.modality == 'virtual' %}, classe virtuelle{% if slot.meeting_url %} – lien de "
          "connexion : {{ slot.meeting_url }}{% endif %}{% elif slot.modality == 'async' %}, activité asynchrone"
          "{% if slot.activity %} : {{ slot.activity }}{% endif %}{% endif %}\n{% endfor %}")
register_default_template(DefaultTemplate(
    "reminder_j1", "Rappel pratique la veille (stagiaire)", "session",
    "Rappel – {{ session.title }} le {{ session.first_date }} à {{ session.first_time }}",
    "Bonjour {{ trainee.display_name }},\n\nVotre formation « {{ session.title }} » commence le "
    "{{ session.first_date }} à {{ session.first_time }}.\n\n" + _SLOTS +
    "\n{% if session.is_remote %}La formation a lieu à distance.{% if session.meeting_url %} Lien de connexion : "
    "{{ session.meeting_url }}{% endif %}\n"
    "{% else %}Lieu : {{ session.place }}{% if session.address %}, {{ session.address }}{% endif %}\n"
    "{% if session.access_notes %}Accès : {{ session.access_notes }}\n{% endif %}{% endif %}"
    "{% if session.has_virtual %}Pour les classes virtuelles, pensez à vérifier votre connexion, votre micro et "
    "votre caméra avant le début.\n{% endif %}"
    "{% if course.what_to_bring %}À apporter : {{ course.what_to_bring }}\n{% endif %}"
    "\nVotre page personnelle (convocation, documents) :\n{{ link }}\n\n"
    "Un empêchement ? Prévenez-nous au plus vite : {{ org.email }}{% if org.phone %}, {{ org.phone }}{% endif %}."
    "\n\n{{ org.signature }}\n"))
register_default_template(DefaultTemplate(
    "trainer_mission_j7", "Mission du formateur", "session",
    "Mission de formation – {{ session.title }} {{ session.dates }}",
    "Bonjour {{ trainer.full_name }},\n\nNous vous confirmons votre intervention pour la formation "
    "« {{ session.title }} » (session {{ session.reference }}), {{ session.dates }}, {{ session.hours }} au "
    "total.\n\n" + _SLOTS +
    "\n{% if session.is_remote %}À distance{% if session.meeting_url %} : {{ session.meeting_url }}{% endif %}\n"
    "{% else %}Lieu : {{ session.place }}"
    "{% if session.address %}, {{ session.address }}{% endif %}\n"
    "{% if session.access_notes %}Accès : {{ session.access_notes }}\n{% endif %}{% endif %}"
    "\nStagiaires confirmés à ce jour : {{ trainees|length }}\n"
    "{% for t in trainees %}- {{ t.full_name }}{% if t.company %} ({{ t.company }}){% endif %}\n{% endfor %}"
    "{% if attachments %}\n{% endif %}" + _ENCLOSED +
    "{% if link %}\nVotre espace formateur (planning, feuilles d'émargement) :\n{{ link }}\n{% endif %}"
    "\n{{ org.signature }}\n"))

register_default_rule(DefaultRule("convocation", "Convocation des stagiaires (J−7)", "before_start", "trainee",
                                  "convocation", offset_days=7, attachments=("convocation_pack", "ics"),
                                  topic="convocation"))
register_default_rule(DefaultRule("convocation_company", "Convocation : copie à l'entreprise (J−7)", "before_start",
                                  "company_hr", "convocation_company", offset_days=7,
                                  attachments=("convocation_pack", "ics"), topic="convocation"))
register_default_rule(DefaultRule("enrolment_confirmed", "Confirmation de l'inscription", "enrolment_confirmed",
                                  "trainee", "enrolment_confirmed", topic="enrolment_status"))
register_default_rule(DefaultRule("reminder_j1", "Rappel pratique la veille (J−1)", "before_start", "trainee",
                                  "reminder_j1", offset_days=1, send_time="09:00", topic="reminder_j1"))
register_default_rule(DefaultRule("trainer_mission_j7", "Mission du formateur (J−7)", "before_start", "trainer",
                                  "trainer_mission_j7", offset_days=7, attachments=("programme", "ics"),
                                  topic="trainer_mission"))
