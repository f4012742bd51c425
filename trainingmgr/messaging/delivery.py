"""Whether e-mails really leave, said the same way on every page.

With ``MAIL_BACKEND=console`` (development, where no mail server is configured) the worker writes each message
to its log and nobody receives anything. A page, a badge or a flash message that says « envoyé » would then
claim what did not happen: they all ask here instead. An outbox message knows how it left (``transport``); a
date recorded elsewhere (a link's « envoyé le », an invitation's) is told with the backend configured now.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from .models import MessageStatus

CONSOLE = "console"
SMTP = "smtp"

# The words for "sent" and for "written to the console", by grammatical form: m, f, m plural, f plural.
_SENT = {"m": "envoyé", "f": "envoyée", "mp": "envoyés", "fp": "envoyées"}
_WRITTEN = {"m": "écrit", "f": "écrite", "mp": "écrits", "fp": "écrites"}
CONSOLE_NOTE = "aucun e-mail n'est parti"


@dataclass(frozen=True)
class Delivery:
    """What became of an outbox message, as its badge shows it."""

    code: str  # pending | sent | console | failed
    label: str
    colour: str  # Bootstrap colour of the badge

    @property
    def left(self) -> bool:
        """Handed to a mail server (a console message did not leave)."""
        return self.code == "sent"


DELIVERIES = {
    "pending": Delivery("pending", "En attente", "warning"),
    "sent": Delivery("sent", "Envoyé", "success"),
    "console": Delivery("console", "Écrit dans la console (non envoyé)", "secondary"),
    "failed": Delivery("failed", "Échec définitif", "danger"),
}


def backend() -> str:
    """The configured mail backend: "smtp" or "console"."""
    return (current_app.config.get("MAIL_BACKEND") or CONSOLE).strip().lower()


def mail_is_off() -> bool:
    """True when messages are only written to the worker's console (MAIL_BACKEND=console)."""
    return backend() == CONSOLE


def delivery(message) -> Delivery:
    """The fate of an outbox message: a "sent" one that went to the console is not called sent."""
    if message.status == MessageStatus.SENT.value and message.transport == CONSOLE:
        return DELIVERIES["console"]
    return DELIVERIES.get(message.status, Delivery(message.status, message.status, "secondary"))


def went_to_console(transport: str | None = None) -> bool:
    """Whether a message that left by ``transport`` reached nobody ("console"; "" is a message older than the
    transport's record, taken as sent); with None, whether one leaving now will."""
    return mail_is_off() if transport is None else transport == CONSOLE


def sent_word(form: str = "m", transport: str | None = None) -> str:
    """« envoyé » (form m, f, mp or fp), or « écrit dans la console » when no e-mail leaves."""
    if went_to_console(transport):
        return f"{_WRITTEN[form]} dans la console"
    return _SENT[form]


def sent_to(recipient: str, form: str = "m", transport: str | None = None) -> str:
    """« envoyé à x@example.fr », or « écrit dans la console pour x@example.fr (aucun e-mail n'est parti) »."""
    if went_to_console(transport):
        return f"{_WRITTEN[form]} dans la console pour {recipient} ({CONSOLE_NOTE})"
    return f"{_SENT[form]} à {recipient}"


def sent_on(when: str, recipient: str, form: str = "f") -> str:
    """« Envoyée le 25/11/2026 à Léa Maire », or « Écrite dans la console le 25/11/2026 pour Léa Maire (aucun
    e-mail n'est parti) » (a date recorded when the message was queued, told with the backend of now)."""
    if mail_is_off():
        return f"{_WRITTEN[form].capitalize()} dans la console le {when} pour {recipient} ({CONSOLE_NOTE})"
    return f"{_SENT[form].capitalize()} le {when} à {recipient}"


def queued_note() -> str:
    """When a message just queued leaves, for a flash message."""
    if mail_is_off():
        return ("Les e-mails ne partent pas (MAIL_BACKEND=console) : le worker les écrit dans sa console dans les "
                "30 secondes, personne ne les reçoit.")
    return "Le worker les envoie dans les 30 secondes."


def status_labels() -> dict[str, str]:
    """The outbox's statuses for its filter: while mail is off, "sent" mostly means written to the console."""
    from .models import MESSAGE_STATUSES

    labels = dict(MESSAGE_STATUSES)
    if mail_is_off():
        labels["sent"] = "Écrit dans la console ou envoyé"
    return labels


def can_send_for_real(message) -> bool:
    """A message only written to the console can still leave once a mail server is configured."""
    return message.status == MessageStatus.SENT.value and message.transport == CONSOLE and not mail_is_off()
