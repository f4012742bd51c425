"""Automations about surveys.

- The first e-mails of the surveys after a session: the context « survey_send » (one survey of a session, written to
  each person it goes to), one trigger per kind « Enquête à envoyer : … n jours après la fin » (survey_send_<kind>),
  and the default rules that replace the old « survey_send » jobs: hot survey, quiz and trainer's report at the end,
  company and funder J+7, cold survey J+60 (the course's own delay wins). The link is the invitation's signed key
  (surveys.key_url), the same in the dry run and in the e-mail; the invitation is recorded as the e-mail leaves.
- The reminders: the « survey » context (one invitation, written to the person it went to, or to the advisor), the
  trigger « Enquête sans réponse après n jours », and the default reminders that replace the old « survey_remind »
  jobs: J+3 and J+7 after the send, to every audience a survey goes to, until the person answers.

The needs analysis is not a rule: its button before the session creates the invitations and mails them
(evaluations/needs/services.py)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial

from sqlalchemy import func, select

from ...catalogue.models import Course
from ...core.formatting import date_fr
from ...core.links import external_url
from ...core.timeutil import utcnow
from ...documents.catalogue import Var
from ...evaluations.models import QUESTIONNAIRE_KINDS, SURVEY_AUDIENCES, Questionnaire, SurveyInvitation
from ...evaluations.surveys import services as surveys
from ...evaluations.surveys.services import survey_url
from ...extensions import db
from ...messaging.services import TOPIC_LABELS
from ...organisation.services import get_organisation, staff_recipients
from ...sessions.models import SessionStatus, Slot, TrainingSession
from .. import registry
from ..registry import Context, DefaultRule, DefaultTemplate, Occurrence, Recipient, Trigger
from .common import ORG_VARIABLES, org_variables

OBJECT = "survey_invitation"
TOPIC = "survey_reminder"
TOPIC_LABELS[TOPIC] = "Enquête : relance"

# The rule audience each kind of survey is answered by (SURVEY_AUDIENCES names them its own way; the needs analysis,
# sent before the session, goes to the company's HR contact or signatory).
_AUDIENCE_NAMES = {"trainee": "trainee", "client": "company_hr", "trainer": "trainer", "funder": "funder"}
KIND_AUDIENCES = {"needs": "company_hr",
                  **{kind: _AUDIENCE_NAMES[audience] for kind, audience in SURVEY_AUDIENCES.items()}}
RESPONDENTS = ("trainee", "company_hr", "trainer", "funder")


def audience_of(kind: str) -> str | None:
    return KIND_AUDIENCES.get(kind)


def kinds_of(audience: str) -> list[str]:
    """The kinds of survey a rule for ``audience`` writes about (the advisor: all of them)."""
    return [kind for kind, found in KIND_AUDIENCES.items() if audience in (found, "advisor")]


# --------------------------------------------------------------------------- the context


# What both survey contexts (a reminder, a first invitation) say of the survey and of the person it goes to.
SURVEY_VARIABLES = (
    Var("survey.name", "Nom de l'enquête", "Satisfaction à chaud"),
    Var("survey.label", "Nom de l'enquête dans une phrase", "satisfaction à chaud"),
    Var("survey.questionnaire", "Titre du questionnaire", "Votre avis sur la formation"),
    Var("survey.anonymous", "Réponses anonymes (vrai ou faux)", "oui"),
)
RECIPIENT_VARIABLES = (
    Var("recipient.name", "Nom du destinataire", "Alice Martin"),
    Var("recipient.email", "E-mail du destinataire", "alice.martin@exemple.fr"),
)

VARIABLES = (
    *ORG_VARIABLES,
    Var("session.title", "Intitulé de la formation", "Chorus Pro : facturer le secteur public"),
    Var("session.reference", "Référence de la session", "S-2026-0003"),
    Var("session.dates", "Dates en toutes lettres", "du 19/11/2026 au 20/11/2026"),
    Var("session.first_date", "Premier jour", "19/11/2026"),
    Var("session.last_date", "Dernier jour", "20/11/2026"),
    Var("survey.kind", "Type d'enquête : hot, cold, acquis, client, funder, trainer_report ou needs", "hot"),
    *SURVEY_VARIABLES,
    Var("survey.sent_on", "Date d'envoi de l'enquête", "20/11/2026"),
    Var("survey.respondent", "Personne interrogée (nom)", "Alice Martin"),
    Var("survey.respondent_email", "Personne interrogée (e-mail)", "alice.martin@exemple.fr"),
    *RECIPIENT_VARIABLES,
    Var("link", "Lien personnel pour répondre (conseiller : la page de la session)", "https://…/s/…"),
    Var("deadline", "Répondre avant le (analyse des besoins : premier jour ; vide sinon)", "19/11/2026"),
)


def _load(object_type: str, object_id: int) -> SurveyInvitation | None:
    return db.session.get(SurveyInvitation, object_id) if object_type == OBJECT else None


def _recipients(invitation: SurveyInvitation, audience: str) -> list[Recipient]:
    if audience == "advisor":
        org = get_organisation()
        return [Recipient(email, org.quality_contact_name if email == org.quality_contact_email else email)
                for email in staff_recipients()]
    if audience != audience_of(invitation.kind) or not invitation.recipient_email:
        return []
    return [_invitee(invitation)]


def _first_start(session: TrainingSession) -> dt.datetime | None:
    return min((slot.starts_at for slot in session.slots), default=None)


def _session(session: TrainingSession) -> dict:
    first = session.first_date
    return {"title": session.title, "reference": f"S-{first.year if first else 0}-{session.id:04d}",
            "dates": session.dates_label, "first_date": date_fr(first), "last_date": date_fr(session.last_date)}


def _build(invitation: SurveyInvitation, recipient: Recipient) -> dict:
    session = db.session.get(TrainingSession, invitation.session_id)
    name = QUESTIONNAIRE_KINDS.get(invitation.kind, invitation.kind)
    respondent = isinstance(recipient.ref, SurveyInvitation)
    return {
        "org": org_variables(), "session": _session(session),
        "survey": {"kind": invitation.kind, "name": name, "label": name.lower(),
                   "questionnaire": invitation.questionnaire.title, "anonymous": invitation.questionnaire.anonymous,
                   "sent_on": date_fr(invitation.sent_at), "respondent": invitation.recipient_name,
                   "respondent_email": invitation.recipient_email},
        "recipient": {"name": recipient.name, "email": recipient.email},
        # The personal link answers as the person: only they get it; the advisor gets the session's page.
        "link": survey_url(invitation) if respondent else external_url("sessions.show", session_id=session.id),
        "deadline": date_fr(session.first_date) if invitation.kind == "needs" else "",
    }


def _invitee(invitation: SurveyInvitation) -> Recipient:
    return Recipient(invitation.recipient_email, invitation.recipient_name, ref=invitation,
                     enrolment_id=invitation.enrolment_id)


def _sample(session_id: int, enrolment_id: int | None) -> tuple[SurveyInvitation, Recipient] | None:
    """An invitation of the session, written to the person asked: the trainee's own when one is given and has one,
    unanswered ones first."""
    query = (select(SurveyInvitation).where(SurveyInvitation.session_id == session_id)
             .order_by(SurveyInvitation.responded_at.is_not(None), SurveyInvitation.id).limit(1))
    found = None
    if enrolment_id is not None:
        found = db.session.scalar(query.where(SurveyInvitation.enrolment_id == enrolment_id))
    found = found or db.session.scalar(query)
    return (found, _invitee(found)) if found is not None else None


registry.register_context(Context(
    code="survey", label="Enquête (une invitation à répondre)", variables=VARIABLES, load=_load,
    recipients=_recipients, build=_build, sample=_sample))


# --------------------------------------------------------------------------- the trigger


def _unanswered(rule, start: dt.datetime, end: dt.datetime) -> Iterator[Occurrence]:
    """The invitations sent ``rule.offset_days`` days before a moment of [start, end] and still unanswered, of the
    kinds the rule's audience answers, in sessions not cancelled. The needs analysis closes when the session starts
    (a reminder after it would come too late); the others are bounded by the engine's LATE_LIMIT."""
    delay = dt.timedelta(days=rule.offset_days)
    invitations = list(db.session.scalars(
        select(SurveyInvitation).join(TrainingSession, TrainingSession.id == SurveyInvitation.session_id)
        .where(SurveyInvitation.sent_at.is_not(None), SurveyInvitation.sent_at >= start - delay,
               SurveyInvitation.sent_at <= end - delay, SurveyInvitation.responded_at.is_(None),
               SurveyInvitation.kind.in_(kinds_of(rule.audience)),
               TrainingSession.status != SessionStatus.CANCELLED.value)
        .order_by(SurveyInvitation.id)))
    for invitation in invitations:
        expires = None
        if invitation.kind == "needs":
            expires = _first_start(db.session.get(TrainingSession, invitation.session_id))
        yield Occurrence(OBJECT, invitation.id, "unanswered", invitation.sent_at + delay,
                         session_id=invitation.session_id, expires_at=expires)


def _reminded(invitation: SurveyInvitation, recipient: Recipient, message) -> None:
    """A reminder to the person counts on the invitation (a message to the advisor does not)."""
    if isinstance(recipient.ref, SurveyInvitation):
        invitation.reminders += 1
        invitation.last_reminder_at = utcnow()


registry.register_trigger(Trigger(
    code="survey_unanswered", label="Enquête sans réponse après n jours", context="survey", offset="after",
    audiences=RESPONDENTS + ("advisor",), find=_unanswered, after_fired=_reminded,
    help="Chaque invitation envoyée (satisfaction à chaud et à froid, acquis, entreprise, financeur, bilan du "
         "formateur, analyse des besoins) et toujours sans réponse, n jours après son envoi ; l'analyse des "
         "besoins n'est plus relancée une fois la session commencée. Chaque public ne reçoit que les enquêtes "
         "qui lui sont adressées ; le conseiller les reçoit toutes."))


# --------------------------------------------------------------------------- the defaults


REMINDER_SUBJECT = "Rappel : {{ survey.name }} – {{ session.title }}"
REMINDER_BODY = """Bonjour {{ recipient.name }},

{% if survey.kind == "needs" %}Nous n'avons pas encore reçu votre analyse des besoins pour la formation « {{ session.title }} » {{ session.dates }} : il est encore temps, cela prend quelques minutes.{% else %}Vous n'avez pas encore répondu à notre enquête : il est encore temps, cela prend quelques minutes.{% endif %}

Répondez {% if survey.kind == "needs" %}au questionnaire{% else %}à l'enquête{% endif %} « {{ survey.label }} » en ouvrant ce lien (personnel, sans mot de passe ; vous pouvez enregistrer et reprendre plus tard) :
{{ link }}
{% if survey.kind == "needs" %}
Vos réponses sont transmises à votre conseiller formation et au formateur.
{% elif survey.anonymous %}
Vos réponses sont anonymes : elles ne sont pas rattachées à votre nom.
{% endif %}
{{ org.signature }}"""

registry.register_default_template(DefaultTemplate(
    code="survey_reminder", name="Relance d'une enquête sans réponse", context="survey",
    subject=REMINDER_SUBJECT, body=REMINDER_BODY))

# Today's reminders: J+3 and J+7 after the send, to whoever the survey went to (one rule per audience, so that
# the organisation can stop, say, the trainers' reminders alone).
REMINDER_DAYS = (3, 7)
_WHO = {"trainee": "stagiaires", "company_hr": "entreprises", "trainer": "formateurs", "funder": "financeurs"}


def _register_reminders() -> None:
    for days in REMINDER_DAYS:
        for audience in RESPONDENTS:
            registry.register_default_rule(DefaultRule(
                code=f"survey_reminder_{audience}_j{days}",
                name=f"Relance J+{days} des enquêtes sans réponse : {_WHO[audience]}", trigger="survey_unanswered",
                audience=audience, template="survey_reminder", offset_days=days, topic=TOPIC))


_register_reminders()


# --------------------------------------------------------------------------- the first e-mails: context


SEND_OBJECT = "survey_send"  # the occurrence's object_type is "survey_send:<kind>", its object_id the session's
# The kinds sent after a session, in the order of their default rules; the sessions they are sent for.
SEND_KINDS = ("hot", "acquis", "trainer_report", "client", "funder", "cold")
HELD = (SessionStatus.COMPLETED.value, SessionStatus.CLOSED.value)
SEND_LATE = dt.timedelta(days=30)  # a survey due while the session was not marked « terminée » yet leaves within it


@dataclass(frozen=True)
class SurveySend:
    """One survey of a session to send (the object of a survey_send_<kind> occurrence)."""

    session: TrainingSession
    kind: str
    questionnaire: Questionnaire


def send_trigger(kind: str) -> str:
    return f"survey_send_{kind}"


SEND_VARIABLES = (
    *ORG_VARIABLES,
    *(var for var in VARIABLES if var.name.startswith("session.")),
    Var("survey.kind", "Type d'enquête : hot, cold, acquis, client, funder ou trainer_report", "hot"),
    *SURVEY_VARIABLES,
    *RECIPIENT_VARIABLES,
    Var("link", "Lien personnel pour répondre (sans mot de passe)", "https://…/s/…"),
)


def _load_send(object_type: str, object_id: int) -> SurveySend | None:
    prefix, _, kind = object_type.partition(":")
    if prefix != SEND_OBJECT or kind not in SEND_KINDS:
        return None
    session = db.session.get(TrainingSession, object_id)
    questionnaire = surveys.survey_questionnaire(kind, session.course_id) if session is not None else None
    return SurveySend(session, kind, questionnaire) if questionnaire is not None else None


def _send_recipients(send: SurveySend, audience: str) -> list[Recipient]:
    """The people the survey goes to and has not been sent to yet (the old jobs' sends, an answer on the spot)."""
    if audience != audience_of(send.kind):
        return []
    return [Recipient(person["email"], person["name"], ref=person, enrolment_id=person.get("enrolment_id"))
            for person in surveys.unsent_recipients(send.session, send.kind)]


def _build_send(send: SurveySend, recipient: Recipient) -> dict:
    name = QUESTIONNAIRE_KINDS[send.kind]
    key = surveys.invitation_key(send.session.id, send.kind, recipient.ref["key"]) if recipient.ref else ""
    return {
        "org": org_variables(), "session": _session(send.session),
        "survey": {"kind": send.kind, "name": name, "label": name.lower(), "questionnaire": send.questionnaire.title,
                   "anonymous": send.questionnaire.anonymous},
        "recipient": {"name": recipient.name, "email": recipient.email},
        "link": surveys.key_url(key) if key else "",
    }


def _sample_send(session_id: int, enrolment_id: int | None) -> tuple[SurveySend, Recipient] | None:
    """The session's first survey with someone to write to: the trainee's own hot survey when one is given."""
    for kind in SEND_KINDS:
        send = _load_send(f"{SEND_OBJECT}:{kind}", session_id)
        people = surveys.survey_recipients(send.session, kind) if send is not None else []
        if people:
            mine = [p for p in people if enrolment_id is not None and p.get("enrolment_id") == enrolment_id]
            person = (mine or people)[0]
            return send, Recipient(person["email"], person["name"], ref=person,
                                   enrolment_id=person.get("enrolment_id"))
    return None


registry.register_context(Context(
    code="survey_send", label="Enquête à envoyer (première invitation après la session)", variables=SEND_VARIABLES,
    load=_load_send, recipients=_send_recipients, build=_build_send, sample=_sample_send))


# --------------------------------------------------------------------------- the first e-mails: triggers


def _last_ends(start_day: dt.date, end_day: dt.date) -> list[tuple[TrainingSession, dt.datetime]]:
    """(session, end of its last half-day, UTC) of the sessions marked « terminée » or « clôturée » whose last day
    falls between both days (included)."""
    last = select(Slot.session_id, func.max(Slot.date).label("day")).group_by(Slot.session_id).subquery()
    query = (select(TrainingSession).join(last, last.c.session_id == TrainingSession.id)
             .where(TrainingSession.status.in_(HELD), last.c.day >= start_day, last.c.day <= end_day)
             .order_by(TrainingSession.id))
    found = []
    for session in db.session.scalars(query):
        slot = max(session.slots, key=lambda s: (s.date, s.end_time))
        found.append((session, slot.ends_at.astimezone(dt.UTC)))
    return found


def _send_days(rule, session: TrainingSession, kind: str) -> int:
    """The rule's delay; for the cold survey, the course's own delay when it has one (course page)."""
    if kind == "cold" and session.course.cold_survey_days:
        return session.course.cold_survey_days
    return rule.offset_days or 0


def _to_send(kind: str, rule, start: dt.datetime, end: dt.datetime) -> Iterator[Occurrence]:
    """The sessions marked « terminée » (or since « clôturée ») whose last half-day ended ``n`` days before a moment
    of [start, end], n the rule's delay (the cold survey: the course's own when set), that have a questionnaire of
    this kind. A session marked « terminée » late still sends it at the next pass, within SEND_LATE."""
    longest = rule.offset_days or 0
    if kind == "cold":
        longest = max(longest, db.session.scalar(select(func.max(Course.cold_survey_days))) or 0)
    first_day = (start - dt.timedelta(days=longest + 1)).date()
    for session, ended in _last_ends(first_day, (end + dt.timedelta(days=1)).date()):
        due = ended + dt.timedelta(days=_send_days(rule, session, kind))
        if start <= due <= end and surveys.survey_questionnaire(kind, session.course_id) is not None:
            yield Occurrence(f"{SEND_OBJECT}:{kind}", session.id, "send", due, session_id=session.id,
                             expires_at=due + SEND_LATE)


def _sent(send: SurveySend, recipient: Recipient, message) -> None:
    """The invitation recorded as sent (the reminders count from it; its link opens it)."""
    surveys.record_sent(send.session, send.kind, recipient.ref, send.questionnaire)


_SEND_HELP = {
    "hot": "À la fin de la dernière demi-journée (0 jour), une fois la session marquée « terminée » : chaque stagiaire "
           "présent qui n'y a pas déjà répondu sur place.",
    "acquis": "Le quiz d'évaluation des acquis de la formation, s'il en a un : à chaque stagiaire présent.",
    "trainer_report": "Le bilan du formateur : à chaque formateur de la session.",
    "client": "La satisfaction de chaque entreprise cliente : à son contact RH (sinon son signataire).",
    "funder": "Le retour de chaque conseiller de financeur (OPCO, France Travail…) des financements de la session.",
    "cold": "L'évaluation à froid, à chaque stagiaire présent ; le délai propre à la formation (page de la "
            "formation) remplace celui de la règle.",
}

for _kind in SEND_KINDS:
    registry.register_trigger(Trigger(
        code=send_trigger(_kind), label=f"Enquête à envoyer : {QUESTIONNAIRE_KINDS[_kind].lower()}",
        context="survey_send", offset="after", audiences=(audience_of(_kind),), find=partial(_to_send, _kind),
        after_fired=_sent,
        help=f"{_SEND_HELP[_kind]} n jours après la fin de la dernière demi-journée de la session, une fois celle-ci "
             "marquée « terminée » ; chaque personne une seule fois (même envoyée par l'ancienne tâche)."))


# --------------------------------------------------------------------------- the first e-mails: defaults

# Today's wording (templates/mail/survey.txt, first send).
SEND_SUBJECT = "{{ survey.name }} – {{ session.title }}"
SEND_BODY = """Bonjour {{ recipient.name }},

Merci d'avoir participé à la formation « {{ session.title }} » {{ session.dates }}. Votre avis compte : il nous sert à améliorer nos formations.

Répondez à l'enquête « {{ survey.label }} » en ouvrant ce lien (personnel, sans mot de passe ; vous pouvez enregistrer et reprendre plus tard) :
{{ link }}
{% if survey.anonymous %}
Vos réponses sont anonymes : elles ne sont pas rattachées à votre nom.
{% endif %}
{{ org.signature }}"""

registry.register_default_template(DefaultTemplate(
    code="survey_invitation", name="Invitation à répondre à une enquête", context="survey_send",
    subject=SEND_SUBJECT, body=SEND_BODY))

# The delays of the old jobs (J+7 for companies and funders, J+60 for the cold evaluation); the outbox topic
# stays "survey_<kind>" (the quality checklist and the outbox read it).
SEND_DAYS = {"hot": 0, "acquis": 0, "trainer_report": 0, "client": 7, "funder": 7, "cold": 60}
_SEND_WHO = {"hot": "stagiaires", "acquis": "stagiaires", "trainer_report": "formateurs", "client": "entreprises",
             "funder": "financeurs", "cold": "stagiaires"}

for _kind in SEND_KINDS:
    registry.register_default_rule(DefaultRule(
        code=f"survey_send_{_kind}",
        name=f"Enquête « {QUESTIONNAIRE_KINDS[_kind].lower()} » : envoi J+{SEND_DAYS[_kind]} aux {_SEND_WHO[_kind]}",
        trigger=send_trigger(_kind), audience=audience_of(_kind), template="survey_invitation",
        offset_days=SEND_DAYS[_kind], topic=f"survey_{_kind}"))
