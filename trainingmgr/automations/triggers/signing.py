"""Automations about electronic signatures: the context "signature" (a signatory of a pending request, whoever
writes to them or about them) and the trigger « Document en attente de signature depuis n jours ».

The default rules are the reminders the application always sent (SIGNATURE_REMINDER_DAYS after sending: J+3 and
J+7), to every signatory still invited, with the wording of templates/mail/signature_invitation.txt; each one
counts in the signatory's ``reminders_sent``. The invitation, the one-time codes and the expiry stay in
signing/mails.py: they are not rules."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from ...accounts.models import User
from ...config import DEFAULTS
from ...core.formatting import date_fr
from ...core.links import external_url
from ...documents.catalogue import Var
from ...documents.models import GeneratedDocument
from ...extensions import db
from ...organisation.services import staff_recipients
from ...signing.mails import end_of, signing_url
from ...signing.models import RequestStatus, Signatory, SignatoryStatus, SignatureRequest
from ..registry import (
    Context,
    DefaultRule,
    DefaultTemplate,
    Occurrence,
    Recipient,
    Trigger,
    register_context,
    register_default_rule,
    register_default_template,
    register_trigger,
)
from .common import ORG_VARIABLES, org_variables

CONTEXT = "signature"
TRIGGER = "signature_pending"
OBJECT_TYPE = "signatory"
# decision: a signatory's audience follows its role (Signatory.role, signing/models.ROLES); "signatory" reaches
# every signatory whatever their role, the organisation's own included (only that audience does), as the
# reminders always did.
ROLE_AUDIENCES = {"company": "company_signatory", "trainee": "trainee", "trainer": "trainer"}
AUDIENCES = ("signatory", "company_signatory", "trainee", "trainer", "advisor")
TOPIC = "signature_invitation"  # the topic of the invitation: a reminder is filed with it, as before

VARIABLES = (
    *ORG_VARIABLES,
    Var("recipient.name", "Nom du destinataire", "Anne Dupont"),
    Var("recipient.email", "E-mail du destinataire", "anne@dupont.example"),
    Var("document.label", "Type du document", "Convention de formation"),
    Var("document.number", "Numéro du document", "CONV-2026-0042"),
    Var("signatory.name", "Nom du signataire", "Anne Dupont"),
    Var("signatory.role", "Qualité du signataire", "Pour l'entreprise cliente"),
    Var("sent_on", "Date d'envoi pour signature", "10/11/2026"),
    Var("deadline", "Date limite de signature", "25/11/2026"),
    Var("link", "Lien : la page de signature personnelle du signataire (pour le conseiller : la demande de "
                "signature dans l'application)", "https://formation.example/signature/…"),
    Var("session.title", "Intitulé de la formation", "Dessiner un DUME"),
    Var("session.reference", "Référence de la session", "S-2026-014"),
    Var("session.dates", "Dates de la session", "du 23/11/2026 au 24/11/2026"),
)


# --------------------------------------------------------------------------- context


def _load(object_type: str, object_id: int) -> Signatory | None:
    return db.session.get(Signatory, object_id) if object_type == OBJECT_TYPE else None


def _advisors(signature_request: SignatureRequest) -> list[Recipient]:
    """Who sent the request, else the organisation's staff (its quality contact, or every advisor and admin)."""
    creator = signature_request.created_by
    if creator is not None and creator.active and creator.email:
        return [Recipient(creator.email, creator.name or creator.email, creator)]
    users = {u.email: u for u in db.session.scalars(select(User).where(User.email.in_(staff_recipients())))}
    return [Recipient(email, getattr(users.get(email), "name", "") or email, users.get(email))
            for email in staff_recipients()]


def _recipients(signatory: Signatory, audience: str) -> list[Recipient]:
    if audience == "advisor":
        return _advisors(signatory.request)
    if audience == "signatory" or ROLE_AUDIENCES.get(signatory.role) == audience:
        document = signatory.request.document
        enrolment_id = document.enrolment_id if signatory.role == "trainee" else None
        return [Recipient(signatory.email, signatory.name, signatory, enrolment_id)]
    return []


def _session(document: GeneratedDocument) -> dict:
    session = document.session
    if session is None:
        return {}
    return {"title": session.title, "reference": getattr(session, "reference", "") or "",
            "dates": session.dates_label}


def _build(signatory: Signatory, recipient: Recipient) -> dict:
    signature_request = signatory.request
    document = signature_request.document
    own = recipient.ref is signatory  # only the signatory gets their personal link: it signs in their name
    return {
        "org": org_variables(),
        "recipient": {"name": recipient.name, "email": recipient.email},
        "document": {"label": document.label, "number": document.number},
        "signatory": {"name": signatory.name, "role": signatory.role_label},
        "sent_on": date_fr(signature_request.created_at),
        "deadline": date_fr(signature_request.deadline),
        "link": signing_url(signatory) if own else external_url("signatures.show",
                                                                request_id=signature_request.id),
        "session": _session(document),
    }


def _sample(session_id: int, enrolment_id: int | None) -> tuple[Signatory, Recipient] | None:
    """A signatory of the session's documents: of the trainee's own document first, a pending request's first."""
    query = (select(Signatory).join(SignatureRequest, SignatureRequest.id == Signatory.request_id)
             .join(GeneratedDocument, GeneratedDocument.id == SignatureRequest.document_id)
             .where(GeneratedDocument.session_id == session_id))
    order = (SignatureRequest.status != RequestStatus.PENDING.value, SignatureRequest.id.desc(), Signatory.position)
    signatory = None
    if enrolment_id is not None:
        signatory = db.session.scalars(query.where(GeneratedDocument.enrolment_id == enrolment_id)
                                       .order_by(*order).limit(1)).first()
    signatory = signatory or db.session.scalars(query.order_by(*order).limit(1)).first()
    if signatory is None:
        return None
    return signatory, _recipients(signatory, "signatory")[0]


register_context(Context(
    code=CONTEXT, label="Signature électronique d'un document", variables=VARIABLES, load=_load,
    recipients=_recipients, build=_build, sample=_sample))


# --------------------------------------------------------------------------- trigger


def _find(rule, start: dt.datetime, end: dt.datetime):
    """The signatories still invited (not signed, refused or locked out) of the requests still pending, due
    ``offset_days`` after the request was sent, until the end of its deadline day."""
    offset = dt.timedelta(days=rule.offset_days)
    found = db.session.execute(
        select(Signatory, SignatureRequest, GeneratedDocument.session_id)
        .join(SignatureRequest, SignatureRequest.id == Signatory.request_id)
        .join(GeneratedDocument, GeneratedDocument.id == SignatureRequest.document_id)
        .where(SignatureRequest.status == RequestStatus.PENDING.value,
               SignatureRequest.created_at >= start - offset, SignatureRequest.created_at <= end - offset,
               Signatory.status == SignatoryStatus.INVITED.value, Signatory.locked_at.is_(None))
        .order_by(SignatureRequest.created_at, Signatory.id))
    for signatory, signature_request, session_id in found:
        yield Occurrence(OBJECT_TYPE, signatory.id, "pending", signature_request.created_at + offset,
                         session_id=session_id, expires_at=end_of(signature_request.deadline))


def _after_fired(signatory: Signatory, recipient: Recipient, message) -> None:
    """A reminder that reached the signatory counts (the request's page shows how many)."""
    if recipient.ref is signatory:
        signatory.reminders_sent += 1


register_trigger(Trigger(
    code=TRIGGER, label="Document en attente de signature depuis n jours", context=CONTEXT, offset="after",
    audiences=AUDIENCES, find=_find, after_fired=_after_fired,
    help="Chaque signataire encore invité (ni signé, ni refusé, ni bloqué) d'une demande de signature en cours, "
         "n jours après l'envoi du document, jusqu'à la fin du jour de la date limite."))


# --------------------------------------------------------------------------- defaults

REMINDER_TEMPLATE = register_default_template(DefaultTemplate(
    code="signature_reminder", name="Rappel : document à signer", context=CONTEXT,
    subject="Rappel : document à signer – {{ document.label }} n° {{ document.number }}",
    body="""Bonjour {{ signatory.name }},

Pour rappel, le document « {{ document.label }} » (n° {{ document.number }}) relatif à la formation « {{ session.title }} » {{ session.dates }} attend votre signature.

Lisez-le et signez-le (ou refusez-le) sur votre page personnelle, avant le {{ deadline }} :
{{ link }}

Un code à 6 chiffres vous sera envoyé à cette adresse pour confirmer votre identité. Ce lien vous est personnel : ne le transférez pas.

{{ org.signature }}
"""))


# One rule per day of SIGNATURE_REMINDER_DAYS (config.py): the reminders the application always sent.
for _days in DEFAULTS["SIGNATURE_REMINDER_DAYS"]:
    register_default_rule(DefaultRule(
        code=f"signature_reminder_{_days}", name=f"Rappel de signature à J+{_days}", trigger=TRIGGER,
        audience="signatory", template=REMINDER_TEMPLATE.code, offset_days=_days, topic=TOPIC))
