"""The trainer's personal link to the trainer space (core/personal_links.py, purpose "trainer-space", at most
TRAINER_LINK_MAX_AGE_DAYS old): ``trainer_from_token`` (403 tampered, 410 expired, renewed, revoked or the trainer
archived), ``space_url``, ``slot_url``, and the advisor's ``send_link``, ``renew_link``, ``revoke_link``.
The space's pages are in portals/trainer/. Callers commit.
"""
from __future__ import annotations


from flask import current_app, render_template

from ..accounts.models import User
from ..accounts.permissions import ensure_staff
from ..core import personal_links
from ..core.errors import ConflictError
from ..core.tokens import LinkExpired
from ..core.links import external_url
from ..messaging.bodies import html_body
from ..messaging.models import OutboxMessage
from ..messaging.services import TOPIC_LABELS, queue_email
from ..organisation.services import get_organisation
from .models import Trainer

PURPOSE = "trainer-space"
MAIL_TOPIC = "trainer_space_link"
TOPIC_LABELS[MAIL_TOPIC] = "Lien de l'espace formateur"


def token(trainer: Trainer) -> str:
    return personal_links.token_for(PURPOSE, trainer)


def trainer_from_token(link_token: str) -> Trainer:
    """The trainer a personal link names: 403 tampered or made for something else, 410 expired, replaced, revoked,
    or the trainer archived."""
    trainer = personal_links.row_from_token(PURPOSE, Trainer, link_token,
                                            current_app.config["TRAINER_LINK_MAX_AGE_DAYS"])
    if not trainer.active:
        raise LinkExpired("Cet espace formateur est fermé : adressez-vous à l'organisme de formation.")
    return trainer


def space_url(trainer: Trainer) -> str:
    return external_url("trainer_space.home", token=token(trainer))


def slot_url(trainer: Trainer, slot) -> str:
    """The link to one of the trainer's half-days (a sessions Slot)."""
    return external_url("trainer_space.slot", token=token(trainer), slot_id=slot.id)


def has_link(trainer: Trainer) -> bool:
    return bool(trainer.link_nonce)


STAFF_ONLY = "Seul le conseiller formation gère les liens des formateurs."


def send_link(trainer: Trainer, actor: User) -> OutboxMessage:
    """E-mail the trainer the link to their space (made now if they have none)."""
    ensure_staff(actor, STAFF_ONLY)
    if not trainer.active:
        raise ConflictError(f"{trainer.full_name} est archivé(e) : réactivez sa fiche avant d'envoyer un lien.")
    if not trainer.email:
        raise ConflictError(f"Indiquez d'abord l'adresse e-mail de {trainer.full_name}.")
    text = render_template(f"mail/{MAIL_TOPIC}.txt", org=get_organisation(), trainer=trainer, link=space_url(trainer),
                           days=current_app.config["TRAINER_LINK_MAX_AGE_DAYS"])
    return queue_email(trainer.email, f"Votre espace formateur – {get_organisation().name}", text, html_body(text),
                       topic=MAIL_TOPIC)


def renew_link(trainer: Trainer, actor: User) -> OutboxMessage:
    """A new link, e-mailed: the earlier ones (and the iCal subscription made with them) answer 410."""
    ensure_staff(actor, STAFF_ONLY)
    personal_links.renew(trainer)
    return send_link(trainer, actor)


def revoke_link(trainer: Trainer, actor: User) -> None:
    """No link works any more (nor the iCal subscription) until a new one is sent."""
    ensure_staff(actor, STAFF_ONLY)
    personal_links.revoke(trainer)
