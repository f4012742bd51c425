"""Automations about surveys: the « survey » context (one invitation, written to the person it went to, or to the
advisor), the trigger « Enquête sans réponse après n jours », and the default reminders that replace the old
« survey_remind » jobs: J+3 and J+7 after the send, to every audience a survey goes to, until the person answers.

The first e-mail of a survey is not a rule: the « survey_send » job at the end of the session (and the needs analysis
button before it) creates the invitations and mails them (evaluations/surveys/services.py)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from sqlalchemy import select

from ...core.formatting import date_fr
from ...core.links import external_url
from ...core.timeutil import utcnow
from ...documents.catalogue import Var
from ...evaluations.models import QUESTIONNAIRE_KINDS, SURVEY_AUDIENCES, SurveyInvitation
from ...evaluations.surveys.services import survey_url
from ...extensions import db
from ...messaging.services import TOPIC_LABELS
from ...organisation.services import get_organisation, staff_recipients
from ...sessions.models import SessionStatus, TrainingSession
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


VARIABLES = (
    *ORG_VARIABLES,
    Var("session.title", "Intitulé de la formation", "Chorus Pro : facturer le secteur public"),
    Var("session.reference", "Référence de la session", "S-2026-0003"),
    Var("session.dates", "Dates en toutes lettres", "du 19/11/2026 au 20/11/2026"),
    Var("session.first_date", "Premier jour", "19/11/2026"),
    Var("session.last_date", "Dernier jour", "20/11/2026"),
    Var("survey.kind", "Type d'enquête : hot, cold, acquis, client, funder, trainer_report ou needs", "hot"),
    Var("survey.name", "Nom de l'enquête", "Satisfaction à chaud"),
    Var("survey.label", "Nom de l'enquête dans une phrase", "satisfaction à chaud"),
    Var("survey.questionnaire", "Titre du questionnaire", "Votre avis sur la formation"),
    Var("survey.anonymous", "Réponses anonymes (vrai ou faux)", "oui"),
    Var("survey.sent_on", "Date d'envoi de l'enquête", "20/11/2026"),
    Var("survey.respondent", "Personne interrogée (nom)", "Alice Martin"),
    Var("survey.respondent_email", "Personne interrogée (e-mail)", "alice.martin@exemple.fr"),
    Var("recipient.name", "Nom du destinataire", "Alice Martin"),
    Var("recipient.email", "E-mail du destinataire", "alice.martin@exemple.fr"),
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
