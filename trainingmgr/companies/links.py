"""The company contact's personal link to the company space (core/personal_links.py, purpose "company-space",
COMPANY_LINK_MAX_AGE_DAYS): the advisor sends it, renews it (the earlier links stop working) or revokes it.
The space's pages are in portals/company/.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask import current_app, render_template
from sqlalchemy import func, select

from ..accounts.models import User
from ..accounts.permissions import ensure_staff
from ..core import personal_links
from ..core.errors import ConflictError, NotFoundError
from ..core.persistence import get_by_id
from ..core.validation import id_or_none
from ..core.links import external_url
from ..extensions import db
from ..messaging.bodies import html_body
from ..messaging.models import OutboxMessage
from ..messaging.services import queue_email
from ..organisation.services import get_organisation
from .models import CompanyContact

LINK_PURPOSE = "company-space"
MAIL_TOPIC = "company_space"



STAFF_ONLY = "Seul un conseiller formation gère les liens de l'espace entreprise."


def get_contact(company_id, contact_id, actor: User | None) -> CompanyContact:
    """A contact of the company, for the advisor; 404 when the contact is another company's."""
    ensure_staff(actor, STAFF_ONLY)
    contact = get_by_id(CompanyContact, contact_id, "Contact introuvable.")
    if contact.company_id != id_or_none(company_id):
        raise NotFoundError("Contact introuvable.")
    return contact


def link_token(contact: CompanyContact) -> str:
    """The token of the contact's current link (a first one is made when there is none: flush and commit after)."""
    return personal_links.token_for(LINK_PURPOSE, contact)


def space_url(contact: CompanyContact) -> str:
    return external_url("company_space.home", token=link_token(contact))


def contact_from_token(token: str) -> CompanyContact:
    """The contact a link opens: 403 tampered or made for something else, 410 expired, replaced or revoked."""
    return personal_links.row_from_token(LINK_PURPOSE, CompanyContact, token,
                                         current_app.config["COMPANY_LINK_MAX_AGE_DAYS"])


def _check_email(contact: CompanyContact) -> None:
    if not contact.email:
        raise ConflictError(f"{contact.name} n'a pas d'adresse e-mail : ajoutez-la avant d'envoyer le lien.")


def _mail(contact: CompanyContact, renewed: bool) -> OutboxMessage:
    org = get_organisation()
    text = render_template("mail/company_space.txt", contact=contact, company=contact.company, org=org,
                           link=space_url(contact), renewed=renewed,
                           days=current_app.config["COMPANY_LINK_MAX_AGE_DAYS"])
    subject = f"{'Nouveau lien : ' if renewed else ''}votre espace entreprise – {org.name}"
    return queue_email(contact.email, subject[:1].upper() + subject[1:], text, html_body(text), topic=MAIL_TOPIC)


def send_link(contact: CompanyContact, actor: User | None) -> OutboxMessage:
    """E-mail the contact their link (the current one: the earlier e-mails keep working)."""
    ensure_staff(actor, STAFF_ONLY)
    _check_email(contact)
    return _mail(contact, renewed=False)


def renew_link(contact: CompanyContact, actor: User | None) -> OutboxMessage:
    """A new link, e-mailed to the contact: every earlier link answers 410 from now on."""
    ensure_staff(actor, STAFF_ONLY)
    _check_email(contact)
    personal_links.renew(contact)
    return _mail(contact, renewed=True)


def revoke_link(contact: CompanyContact, actor: User | None) -> None:
    ensure_staff(actor, STAFF_ONLY)
    if not contact.link_nonce:
        raise ConflictError(f"{contact.name} n'a pas de lien actif vers l'espace entreprise.")
    personal_links.revoke(contact)


@dataclass(frozen=True)
class LinkState:
    active: bool
    last_sent_at: dt.datetime | None


def link_state(contact: CompanyContact) -> LinkState:
    """Whether the contact holds a working link, and when the last one was e-mailed to their address."""
    last = None
    if contact.email:
        last = db.session.scalar(select(func.max(OutboxMessage.created_at)).where(
            OutboxMessage.topic == MAIL_TOPIC, OutboxMessage.recipient == contact.email))
    return LinkState(bool(contact.link_nonce), last if contact.link_nonce else None)
