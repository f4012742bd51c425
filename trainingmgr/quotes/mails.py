"""The e-mails about quotes, rendered from templates/mail/ and queued in the outbox: the quote sent to the contact
(the personal link, the document attached), a public request told to the advisors.

Decision: an expired quote e-mails nobody (the advisor sees it in the pipeline, the contact's link then shows it
expired), and a public request is not acknowledged by e-mail (the request page confirms it; the quote itself is the
answer), so that the form cannot be used to send mail to any address."""
from __future__ import annotations

from flask import render_template

from ..core.links import external_url
from ..messaging.bodies import html_body
from ..messaging.services import queue_email, topic_prefix
from ..organisation.services import get_organisation, staff_recipients
from .document import read_quote_file
from .links import max_age_days, quote_url
from .models import Quote

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
# The outbox names the topics "quote_<key>".
TOPICS = {"sent": "Devis envoyé au client", "request": "Demande de devis reçue",
          "waitlisted": "Devis accepté : stagiaires en liste d'attente"}


def _attachment(quote: Quote) -> tuple[str, str, bytes]:
    """The document sent: the PDF when there is one, else the DOCX (the client gets one copy, not an editable one
    beside it)."""
    if quote.pdf_file is not None:
        return f"{quote.number}.pdf", "application/pdf", read_quote_file(quote, "pdf")[0]
    return f"{quote.number}.docx", DOCX_TYPE, read_quote_file(quote, "docx")[0]


def quote_sent(quote: Quote) -> None:
    """The quote to its contact: the personal link to read, accept or refuse it, and the document attached."""
    org = get_organisation()
    text = render_template("mail/quote_sent.txt", quote=quote, org=org, link=quote_url(quote),
                           days=max_age_days())
    queue_email(quote.contact_email, f"Devis {quote.number} – {quote.course.current_version.title} – {org.name}",
                text, html_body(text), topic="quote_sent", attachments=[_attachment(quote)])


def advisor_recipients() -> list[str]:
    """Who is told of a request: the organisation's quality contact, else every active advisor and admin."""
    return staff_recipients()


def request_received(quote: Quote) -> None:
    """Tell the advisors a company contact asked for a quote online."""
    admin_url = external_url("quotes.show", quote_id=quote.id)
    text = render_template("mail/quote_request_advisor.txt", quote=quote, admin_url=admin_url)
    for email in advisor_recipients():
        queue_email(email, f"Nouvelle demande de devis – {quote.course.current_version.title}", text,
                    html_body(text), topic="quote_request")


topic_prefix("quote_", TOPICS.get)
