"""The quote's Word document: its context (the default template documents/devis.docx, catalogue « quote »), and the
DOCX (+ PDF when the converter is there) rendered with the active template and stored."""
from __future__ import annotations

from ..core.errors import NotFoundError
from ..core.formatting import count_fr, date_fr, money_fr, number_fr
from ..core.timeutil import paris_date, paris_today
from ..documents.rendering import context as builders
from ..documents.rendering.engine import render
from ..documents.services import active_template, store_document_files
from ..files.models import StoredFile
from ..files.services import read_checked
from .models import QUOTE_KINDS, Quote, QuoteKind

DOCUMENT_TYPE = "quote"


def _details(quote: Quote, course: dict) -> list[dict]:
    """What the quote is for: the session and the seats, or the intra session wished."""
    if quote.kind == QuoteKind.SEATS.value and quote.session is not None:
        return builders.quote_session_details(quote.session) + [
            {"label": "Places", "value": count_fr(quote.seats or 0, "place")}]
    return [{"label": "Période souhaitée", "value": quote.wished_period or "à convenir"},
            {"label": "Lieu souhaité", "value": quote.wished_place or "à convenir"},
            {"label": "Effectif", "value": count_fr(quote.headcount or 0, "personne")},
            {"label": "Durée", "value": course["duration"]}]


def _lines(quote: Quote) -> list[dict]:
    return [{"label": line.label, "quantity": number_fr(line.quantity), "unit": money_fr(line.unit_price),
             "total": money_fr(line.total)} for line in quote.lines]


def _price(quote: Quote, totals: dict, mention: str) -> dict:
    """The ``price`` keys of the session documents, for a template written for them."""
    unit = next((line.unit_price for line in quote.lines if not line.is_extra), None)
    return {"unit_excl_vat": money_fr(unit) if unit is not None else "", "total_excl_vat": totals["excl_vat"],
            "vat": totals["vat"], "total_incl_vat": totals["incl_vat"], "vat_mention": mention}


def quote_date(quote: Quote):
    """The date the quote bears: the day it was (last) sent, today while it is a draft."""
    return paris_date(quote.sent_at) if quote.sent_at is not None and not quote.is_draft else paris_today()


def quote_document_context(quote: Quote) -> dict:
    """The template's context: the organisation, the course (and the session for seats), the client and its
    contact, the lines, the totals with the VAT or the exemption mention, the conditions, the trainees named."""
    session = quote.session if quote.kind == QuoteKind.SEATS.value else None
    if session is not None:
        course = builders.course_context(session)
    else:
        course = builders.course_version_context(quote.course.current_version)
    contact = {"name": quote.contact_name, "email": quote.contact_email, "phone": quote.contact_phone}
    block = builders.quote_block(
        number=quote.number, date=quote_date(quote), valid_until=quote.valid_until,
        kind=QUOTE_KINDS.get(quote.kind, quote.kind), contact=contact, details=_details(quote, course),
        lines=_lines(quote), total_excl_vat=quote.total_excl_vat, vat_rate=quote.vat_rate, conditions=quote.conditions)
    context = {
        "today": date_fr(paris_today()), "document": {"number": quote.number}, "org": builders.org_context(),
        "course": course, "client": builders.client_context(quote.company), "quote": block,
        "price": _price(quote, block["totals"], block["vat_mention"]), "funding": [],
        "trainees": [{"full_name": t.full_name, "job_title": "", "company": quote.company.name}
                     for t in quote.trainees],
    }
    if session is not None:
        context["session"] = builders.session_context(session, trainees_count=quote.seats or 0)
    return context


def render_quote(quote: Quote) -> tuple[StoredFile, StoredFile | None]:
    """Render the active « quote » template for ``quote`` and store its DOCX, and its PDF when a converter is there
    (as documents.services does: a failed conversion is logged and the DOCX alone is kept)."""
    template = active_template(DOCUMENT_TYPE)[0]
    docx = render(template, quote_document_context(quote)).docx
    return store_document_files(docx, f"{quote.number.lower()}-v{quote.version}")


def document_digest(docx_file: StoredFile, pdf_file: StoredFile | None) -> str:
    """The SHA-256 of what the contact reads and accepts: the PDF when there is one, else the DOCX."""
    return (pdf_file or docx_file).sha256


QUOTE_FILES = {"pdf": "pdf_file", "docx": "docx_file", "signed": "signed_file"}


def read_quote_file(quote: Quote, kind: str) -> tuple[bytes, StoredFile]:
    """The quote's document (``pdf``, ``docx``) or the signed copy received (``signed``), checked against its SHA-256:
    404 when the quote has none of that kind, 409 when the archived file was altered."""
    stored = getattr(quote, QUOTE_FILES[kind]) if kind in QUOTE_FILES else None
    if stored is None:
        raise NotFoundError("Ce fichier n'existe pas pour ce devis (le document est produit à l'envoi, la copie "
                            "signée à l'acceptance enregistrée).")
    return read_checked(stored), stored
