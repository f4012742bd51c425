"""Quotes: who may manage them, reading and listing, the input's rules, creation (numbered at once), edits in
draft, and the status steps (``TRANSITIONS``, docs/workflows.md): draft → sent → accepted | refused | expired,
sent → draft to change it. Acceptance is quotes/acceptance.py's; the document quotes/document.py's; the e-mails
quotes/mails.py's; the contact's link quotes/links.py's."""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from ..accounts.models import User
from ..accounts.permissions import ensure_staff, is_staff
from ..accounts.services import normalise_email
from ..billing.numbering import next_number
from ..catalogue.models import Course
from ..companies.models import Company
from ..companies.services import clean_company_data, find_or_create_company
from ..core.errors import ConflictError, ErrorCollector, ValidationError
from ..core.formatting import count_fr, money_fr, plural_fr
from ..core.numbers import money
from ..core.paging import paginate
from ..core.persistence import get_by_id, lock_row
from ..core.timeutil import PARIS, paris_today, utcnow
from ..core.validation import MAX_AMOUNT, clean_text, id_or_none, parse_date, parse_decimal, parse_int, parse_text
from ..core.workflow import Transition, apply_transition, legal_step
from ..extensions import db
from ..messaging.services import periodic_task
from ..organisation.services import get_organisation
from ..sessions.models import TrainingSession
from . import mails
from .document import document_digest, quote_document_context, render_quote  # noqa: F401 - part of the API
from .links import quote_from_token, quote_token, quote_url, renew_link  # noqa: F401 - part of the API
from .models import (
    CLOSED,
    OPEN,
    QUOTE_KINDS,
    QUOTE_SOURCES,
    QUOTE_STATUSES,
    LineKind,
    Quote,
    QuoteKind,
    QuoteLine,
    QuoteStatus,
    QuoteTrainee,
)

STAFF_ONLY = "Seul un conseiller formation gère les devis."
VALIDITY_DAYS = 30
MAX_VALIDITY_DAYS = 366
MAX_SEATS = 999
MAX_EXTRAS = 20
VAT_RATE = Decimal("20.00")
TEXT_LIMIT = 4000


# --------------------------------------------------------------------------- who may


def can_manage_quotes(actor: User | None) -> bool:
    """The advisor and the admin; a trainer, an anonymous visitor or no actor may not."""
    return is_staff(actor)


def ensure_can_manage_quotes(actor: User | None) -> None:
    ensure_staff(actor, STAFF_ONLY)


# --------------------------------------------------------------------------- reading


def get_quote(quote_id, actor: User | None) -> Quote:
    ensure_can_manage_quotes(actor)
    return get_by_id(Quote, quote_id, "Devis introuvable.")


def list_quotes(*, status: str | None = None, search: str = "", page: int = 1, per_page: int = 50):
    """(rows, total) of one page of quotes, newest first, with ``status`` and a search on the number, the company
    and the contact."""
    query = select(Quote).options(selectinload(Quote.company), selectinload(Quote.course)).order_by(Quote.id.desc())
    if status:
        if status not in QUOTE_STATUSES:
            raise ValidationError("Statut de devis inconnu.", field="status")
        query = query.where(Quote.status == status)
    search = clean_text(search, 100)
    if search:
        pattern = f"%{search.lower()}%"
        query = query.join(Company, Company.id == Quote.company_id).where(or_(
            Quote.number.ilike(pattern), Company.name.ilike(pattern), Quote.contact_name.ilike(pattern),
            Quote.contact_email.ilike(pattern)))
    found = paginate(query, page, per_page, key=Quote.id)
    return found.rows, found.total


# --------------------------------------------------------------------------- the input's rules


def _date(value, errors: ErrorCollector) -> dt.date | None:
    """A date given as a date, "JJ/MM/AAAA" or ISO."""
    if isinstance(value, str):
        match = re.fullmatch(r"\s*(\d{1,2})/(\d{1,2})/(\d{4})\s*", value)
        if match:
            day, month, year = (int(part) for part in match.groups())
            try:
                value = dt.date(year, month, day)
            except ValueError:
                errors.add("valid_until", "Date de validité : date invalide (format attendu JJ/MM/AAAA).")
                return None
    return parse_date(value, "valid_until", errors, label="La date de validité", required=False)


def _clean_valid_until(value, errors: ErrorCollector) -> dt.date:
    today = paris_today()
    valid_until = _date(value, errors) if value not in (None, "") else today + dt.timedelta(days=VALIDITY_DAYS)
    if valid_until is None:
        return today
    if valid_until < today:
        errors.add("valid_until", "La date de validité est passée : choisissez aujourd'hui ou une date à venir.")
    elif valid_until > today + dt.timedelta(days=MAX_VALIDITY_DAYS):
        errors.add("valid_until", "Un devis est valable un an au plus : choisissez une date plus proche.")
    return valid_until


def _clean_course(value, errors: ErrorCollector) -> Course | None:
    course = db.session.get(Course, id_or_none(value)) if id_or_none(value) else None
    if course is None or course.current_version is None:
        errors.add("course_id", "Choisissez la formation du devis.")
        return None
    return course


def _clean_session(value, course: Course | None, errors: ErrorCollector) -> TrainingSession | None:
    session_id = id_or_none(value)
    session = db.session.get(TrainingSession, session_id) if session_id else None
    if session is None:
        errors.add("session_id", "Choisissez la session où prendre les places.")
        return None
    if course is not None and session.course_id != course.id:
        errors.add("session_id", "Cette session n'est pas une session de la formation choisie.")
    elif session.format != "inter":
        errors.add("session_id", "Cette session est une session intra-entreprise : choisissez une session "
                                 "inter-entreprises, ou faites un devis intra.")
    elif not session.takes_enrolments:
        errors.add("session_id", f"La session {session.dates_label} ne prend pas d'inscriptions (statut : "
                                 f"{session.status_label.lower()}) : choisissez-en une autre.")
    return session


def _clean_trainees(value, seats: int | None, errors: ErrorCollector) -> list[dict]:
    if value in (None, ""):
        return []
    if not isinstance(value, (list, tuple)):
        errors.add("trainees", "Liste de stagiaires invalide.")
        return []
    trainees = []
    for index, item in enumerate(value):
        item = item if isinstance(item, dict) else {}
        prefix = f"trainees-{index}-"
        person = {"first_name": parse_text(item.get("first_name"), prefix + "first_name", errors, label="Le prénom",
                                           limit=80, required=True),
                  "last_name": parse_text(item.get("last_name"), prefix + "last_name", errors, label="Le nom",
                                          limit=80, required=True),
                  "email": ""}
        if clean_text(item.get("email")):
            person["email"] = errors.run(normalise_email, item.get("email"), prefix + "email") or ""
        trainees.append(person)
    if seats is not None and len(trainees) > seats:
        errors.add("trainees", f"Le devis porte sur {seats} place{'s' if seats > 1 else ''} : nommez au plus "
                               f"{seats} stagiaire{'s' if seats > 1 else ''}.")
    return trainees


def _clean_extras(value, errors: ErrorCollector) -> list[dict]:
    if value in (None, ""):
        return []
    if not isinstance(value, (list, tuple)) or len(value) > MAX_EXTRAS:
        errors.add("extras", f"Frais annexes : {MAX_EXTRAS} lignes au plus.")
        return []
    extras = []
    for index, item in enumerate(value):
        item = item if isinstance(item, dict) else {}
        prefix = f"extras-{index}-"
        extras.append({
            "label": parse_text(item.get("label"), prefix + "label", errors, label="La désignation des frais",
                                limit=200, required=True),
            "quantity": parse_decimal(item.get("quantity", "1"), prefix + "quantity", errors, label="La quantité",
                                      required=True, positive=True),
            "unit_price": parse_decimal(item.get("unit_price"), prefix + "unit_price", errors,
                                        label="Le prix unitaire HT", required=True),
        })
    return extras


def _clean_company(data: dict, quote: Quote | None, errors: ErrorCollector) -> dict:
    """{"company_id": id} of an existing company, or {"company": data} to find or create (at saving)."""
    if data.get("company_id") not in (None, ""):
        company = db.session.get(Company, id_or_none(data.get("company_id"))) if id_or_none(data["company_id"]) \
            else None
        if company is None:
            errors.add("company_id", "Entreprise introuvable : choisissez-la dans la liste.")
            return {}
        return {"company_id": company.id}
    if isinstance(data.get("company"), dict):
        clean_company_data(data["company"], errors, "company_")
        return {"company": data["company"]}
    if quote is not None:
        return {"company_id": quote.company_id}
    errors.add("company_id", "Indiquez l'entreprise cliente.")
    return {}


def _clean_contact(data: dict, errors: ErrorCollector) -> dict:
    contact = {"contact_name": parse_text(data.get("contact_name"), "contact_name", errors,
                                          label="Le nom du contact", limit=120, required=True),
               "contact_phone": parse_text(data.get("contact_phone"), "contact_phone", errors,
                                           label="Le téléphone", limit=40)}
    if not clean_text(data.get("contact_email")):
        errors.add("contact_email", "L'e-mail du contact est obligatoire : le devis lui est envoyé.")
        contact["contact_email"] = ""
    else:
        contact["contact_email"] = errors.run(normalise_email, data.get("contact_email"), "contact_email") or ""
    return contact


def _clean_seats(data: dict, course: Course | None, errors: ErrorCollector) -> dict:
    session = _clean_session(data.get("session_id"), course, errors)
    seats = parse_int(data.get("seats"), "seats", errors, label="Le nombre de places", minimum=1, maximum=MAX_SEATS)
    if session is not None and seats is not None and seats > session.capacity:
        errors.add("seats", f"La session compte {count_fr(session.capacity, 'place')} : demandez-en "
                           f"{session.capacity} au plus.")
    price = parse_decimal(data.get("seat_price"), "seat_price", errors, label="Le prix d'une place HT")
    if price is None and session is not None and "seat_price" not in errors.fields:
        price = session.price_per_trainee
        if price is None:
            errors.add("seat_price", "La session n'a pas de tarif : indiquez le prix d'une place HT.")
    return {"session": session, "seats": seats, "seat_price": price, "headcount": None, "wished_period": "",
            "wished_place": "", "intra_price": None,
            "trainees": _clean_trainees(data.get("trainees"), seats, errors)}


def offers_intra(course: Course) -> bool:
    """Whether the course is sold as an intra-company session too (its catalogue format is not « inter » only)."""
    return course.current_version is None or course.current_version.audience_format != "inter"


def can_be_requested(course: Course, sessions: list[TrainingSession]) -> bool:
    """Whether a company contact can ask for a quote of ``course`` (its upcoming public ``sessions`` given): seats in
    a session open to enrolments, or an intra session when the course is sold as one."""
    return any(session.takes_enrolments for session in sessions) or offers_intra(course)


def _clean_intra(data: dict, course: Course | None, errors: ErrorCollector) -> dict:
    if course is not None and not offers_intra(course):
        errors.add("kind", "Cette formation n'est proposée qu'en inter-entreprises : proposez des places dans une "
                           "de ses sessions.")
    return {"session": None, "seats": None, "seat_price": None, "trainees": [],
            "headcount": parse_int(data.get("headcount"), "headcount", errors, label="L'effectif", minimum=1,
                                   maximum=MAX_SEATS),
            "wished_period": parse_text(data.get("wished_period"), "wished_period", errors,
                                        label="La période souhaitée", limit=120, required=True),
            "wished_place": parse_text(data.get("wished_place"), "wished_place", errors, label="Le lieu souhaité",
                                       limit=200, required=True),
            # A request from the public page has no price yet: the advisor sets it before sending.
            "intra_price": parse_decimal(data.get("intra_price"), "intra_price", errors,
                                         label="Le prix forfaitaire HT") or Decimal("0.00")}


def _check_amounts(clean: dict, errors: ErrorCollector) -> None:
    """Each line's total and the quote's total stay within what an amount may be (MAX_AMOUNT), as prices do."""
    limit = f"{money_fr(MAX_AMOUNT)} HT"
    totals = [("extras", extra["quantity"] * extra["unit_price"]) for extra in clean["extras"]
              if extra["quantity"] is not None and extra["unit_price"] is not None]
    if clean.get("seats") and clean.get("seat_price") is not None:
        totals.append(("seats", clean["seats"] * clean["seat_price"]))
    if clean.get("intra_price") is not None:
        totals.append(("intra_price", clean["intra_price"]))
    for field, total in totals:
        if total > MAX_AMOUNT:
            errors.add(field, f"Le montant de cette ligne dépasse {limit} : vérifiez la quantité et le prix.")
            return
    if sum((total for _, total in totals), Decimal(0)) > MAX_AMOUNT:
        errors.add("extras", f"Le total du devis dépasse {limit} : vérifiez les quantités et les prix.")


def clean_quote_data(data: dict, quote: Quote | None = None) -> dict:
    """The quote's input checked (ValidationError with every field's French message), as the values to save."""
    errors = ErrorCollector()
    kind = clean_text(data.get("kind")) or (quote.kind if quote is not None else "")
    if kind not in QUOTE_KINDS:
        errors.add("kind", "Choisissez des places dans une session ou une session intra-entreprise.")
    course = _clean_course(data.get("course_id", quote.course_id if quote is not None else None), errors)
    clean = {"kind": kind, "course": course, **_clean_company(data, quote, errors), **_clean_contact(data, errors)}
    clean.update(_clean_seats(data, course, errors) if kind == QuoteKind.SEATS.value
                 else _clean_intra(data, course, errors))
    clean["extras"] = _clean_extras(data.get("extras"), errors)
    valid_until = data.get("valid_until")
    if valid_until in (None, "") and quote is not None:
        valid_until = quote.valid_until  # an edit keeps the date unless it is changed
    clean["valid_until"] = _clean_valid_until(valid_until, errors)
    _check_amounts(clean, errors)
    for key in ("request_message", "conditions", "notes"):
        clean[key] = parse_text(data.get(key), key, errors, label="Ce champ", limit=TEXT_LIMIT)
    errors.raise_if_any()
    return clean


# --------------------------------------------------------------------------- creating and editing


def _set_lines(quote: Quote, clean: dict) -> None:
    """The quote's lines from scratch (seats × price or the intra flat price, then the extras), and its total."""
    course_title = clean["course"].current_version.title
    lines = []
    if quote.kind == QuoteKind.SEATS.value:
        session = clean["session"]
        lines.append((LineKind.SEATS.value, f"{course_title} – session {session.dates_label}, {plural_fr(clean['seats'], 'place')}",
                      Decimal(clean["seats"]), clean["seat_price"]))
    else:
        lines.append((LineKind.INTRA.value, f"{course_title} – session intra-entreprise, forfait",
                      Decimal(1), clean["intra_price"]))
    lines += [(LineKind.EXTRA.value, extra["label"], extra["quantity"], extra["unit_price"])
              for extra in clean["extras"]]
    quote.lines.clear()
    db.session.flush()  # the old lines go before the new ones take their positions
    for position, (kind, label, quantity, unit_price) in enumerate(lines, 1):
        quote.lines.append(QuoteLine(position=position, kind=kind, label=label[:200], quantity=quantity,
                                     unit_price=unit_price, total=money(quantity * unit_price)))
    quote.total_excl_vat = money(sum((line.total for line in quote.lines), Decimal(0)))


def _apply(quote: Quote, clean: dict) -> None:
    company = clean.get("company_id")
    quote.company = db.session.get(Company, company) if company else find_or_create_company(clean["company"],
                                                                                          "company_")
    quote.kind, quote.course = clean["kind"], clean["course"]
    quote.session = clean["session"]
    for key in ("contact_name", "contact_email", "contact_phone", "seats", "headcount", "wished_period",
                "wished_place", "request_message", "valid_until", "conditions", "notes"):
        setattr(quote, key, clean[key])
    quote.vat_rate = Decimal("0.00") if get_organisation().vat_exempt else VAT_RATE
    quote.trainees.clear()
    db.session.flush()
    for position, person in enumerate(clean["trainees"], 1):
        quote.trainees.append(QuoteTrainee(position=position, **person))
    _set_lines(quote, clean)


def create_quote(data: dict, actor: User | None, *, source: str = "advisor") -> Quote:
    """A draft quote, numbered at once (DEV-2026-0001, billing/numbering.py: gapless, a quote is never deleted)."""
    ensure_can_manage_quotes(actor)
    return _create(data, actor, source)


def _create(data: dict, actor: User | None, source: str) -> Quote:
    if source not in QUOTE_SOURCES:
        raise ValidationError("Origine du devis inconnue.", field="source")
    clean = clean_quote_data(data)
    year = paris_today().year
    number, sequence = next_number("quote", year)
    quote = Quote(number=number, year=year, sequence=sequence, status=QuoteStatus.DRAFT.value, source=source,
                  created_by_id=actor.id if actor is not None else None, version=0)
    _apply(quote, clean)  # before joining the session: a query of _apply would flush it half filled
    db.session.add(quote)
    db.session.flush()
    return quote


def request_quote(course: Course, data: dict) -> Quote:
    """A company contact's request from the public course page: a draft (source "public", no price set by the
    contact: seats at the session's price, an intra price left to the advisor, no internal note), the advisors told."""
    if course is None or not course.is_published:
        raise ValidationError("Cette formation n'est pas proposée au catalogue.", field="course_id")
    allowed = ("kind", "session_id", "company", "contact_name", "contact_email", "contact_phone", "seats",
               "trainees", "headcount", "wished_period", "wished_place", "request_message")
    quote = _create({**{key: data.get(key) for key in allowed}, "course_id": course.id}, None, "public")
    mails.request_received(quote)
    return quote


def _ensure_draft(quote: Quote) -> None:
    if not quote.is_draft:
        raise ConflictError(f"Le devis {quote.number} est au statut « {quote.status_label.lower()} » : seul un "
                            "brouillon se modifie (« Modifier » remet un devis envoyé en brouillon).")


def update_quote(quote: Quote, data: dict, actor: User | None) -> Quote:
    """Change a draft: every line is computed again."""
    ensure_can_manage_quotes(actor)
    lock_row(Quote, quote.id)
    db.session.refresh(quote)
    _ensure_draft(quote)
    _apply(quote, clean_quote_data(data, quote))
    db.session.flush()
    return quote


# --------------------------------------------------------------------------- status steps


def _ready_to_send(quote: Quote, **_) -> list[str]:
    problems = []
    if not quote.contact_email:
        problems.append("Ajoutez l'e-mail du contact : le devis lui est envoyé.")
    if quote.total_excl_vat <= 0:
        problems.append("Le devis est à 0 € : indiquez le prix avant de l'envoyer.")
    if quote.valid_until < paris_today():
        problems.append("La date de validité est passée : choisissez-en une à venir avant d'envoyer le devis.")
    if quote.kind == QuoteKind.SEATS.value and (quote.session is None or not quote.session.takes_enrolments):
        problems.append("La session du devis ne prend plus d'inscriptions : choisissez-en une autre.")
    unreachable = [person.full_name for person in quote.trainees if not person.email]
    if unreachable:  # each becomes an enrolment at acceptance, and an enrolled trainee needs an e-mail
        problems.append("Indiquez l'e-mail de " + ", ".join(unreachable) + " : chaque stagiaire nommé est inscrit à "
                        "l'acceptation et reçoit sa convocation.")
    return problems


TRANSITIONS: dict[str, Transition] = {
    "send": Transition("Envoyer", (QuoteStatus.DRAFT.value,), QuoteStatus.SENT.value, checks=(_ready_to_send,)),
    "reopen": Transition("Modifier", (QuoteStatus.SENT.value,), QuoteStatus.DRAFT.value),
    "accept": Transition("Accepter", (QuoteStatus.SENT.value,), QuoteStatus.ACCEPTED.value),
    "refuse": Transition("Refuser", OPEN, QuoteStatus.REFUSED.value),
    "expire": Transition("Expirer", OPEN, QuoteStatus.EXPIRED.value),
}
# What a refused step would have done to the quote, for the 409's message.
_DONE = {"send": "envoyé", "reopen": "remis en brouillon", "accept": "accepté", "refuse": "refusé",
         "expire": "expiré"}


def _refusal(quote: Quote, step: Transition) -> str:
    name = next((key for key, value in TRANSITIONS.items() if value is step), "")
    return (f"Le devis {quote.number} est au statut « {quote.status_label.lower()} » : il ne peut pas être "
            f"{_DONE.get(name, step.label.lower())}.")


def _record(quote: Quote, previous: str, step: Transition) -> None:
    if step.target == QuoteStatus.SENT.value:
        quote.sent_at = utcnow()
    if step.target in CLOSED:
        quote.decided_at = utcnow()


def check_step(quote: Quote, step: str) -> None:
    """ConflictError (409) when ``quote`` may not take ``step`` now: a page asks before reading a form for it."""
    legal_step(TRANSITIONS, step, quote, refusal=_refusal, field_name="status")


def take_step(quote: Quote, step: str, actor: User | None = None, *, context: dict | None = None) -> Quote:
    """Move ``quote`` along ``step`` of TRANSITIONS under its row lock: 422 for an unknown step, 409 for one the
    status forbids (an accepted, refused or expired quote is frozen), the step's checks (422) run first."""
    lock_row(Quote, quote.id)
    db.session.refresh(quote)
    apply_transition(quote, TRANSITIONS, step, actor, refusal=_refusal, context=context, record=_record,
                     field_name="status")
    db.session.flush()
    return quote


def send_quote(quote: Quote, actor: User | None) -> Quote:
    """Render a new version of the document, renew the contact's link (the earlier ones die), e-mail the contact."""
    ensure_can_manage_quotes(actor)
    take_step(quote, "send", actor)
    quote.version += 1
    docx_file, pdf_file = render_quote(quote)
    quote.docx_file, quote.pdf_file = docx_file, pdf_file
    quote.document_sha256 = document_digest(docx_file, pdf_file)
    renew_link(quote)
    db.session.flush()
    mails.quote_sent(quote)
    return quote


def reopen_quote(quote: Quote, actor: User | None) -> Quote:
    """Put a sent quote back to draft to change it; its link dies until it is sent again."""
    ensure_can_manage_quotes(actor)
    take_step(quote, "reopen", actor)
    quote.link_nonce = ""
    return quote


def refuse_quote(quote: Quote, reason: str, actor: User | None, *, online: bool = False) -> Quote:
    """The client declines (``online``: from the contact's page, no actor) or the advisor records it, with the
    reason; a draft not pursued is closed the same way (« Sans suite »)."""
    if not online:
        ensure_can_manage_quotes(actor)
    reason = clean_text(reason)
    if not reason:
        raise ValidationError("Indiquez la raison du refus.", field="reason")
    if len(reason) > TEXT_LIMIT:
        raise ValidationError(f"La raison ne doit pas dépasser {TEXT_LIMIT} caractères.", field="reason")
    if online:
        lock_row(Quote, quote.id)
        db.session.refresh(quote)
        if not quote.is_sent:  # the contact answers the quote sent, never a draft
            raise ConflictError(_refusal(quote, TRANSITIONS["refuse"]))
    take_step(quote, "refuse", actor)
    quote.refusal_reason = reason
    return quote


def due_quotes(today: dt.date) -> list[int]:
    return list(db.session.scalars(select(Quote.id).where(Quote.is_open, Quote.valid_until < today)
                                   .order_by(Quote.id)))


def expire_due_quotes(today: dt.date | None = None) -> int:
    """Expire the open quotes whose validity date has passed (valid until the evening of that day), each once:
    one already decided by another pass or the contact meanwhile is left alone. Nobody is e-mailed (quotes/mails.py).
    How many expired."""
    today = today or paris_today()
    expired = 0
    for quote_id in due_quotes(today):
        quote = db.session.get(Quote, quote_id)
        lock_row(Quote, quote_id)
        db.session.refresh(quote)
        if quote.is_open and quote.valid_until < today:
            take_step(quote, "expire")
            expired += 1
    return expired


@periodic_task
def expire_quotes(now: dt.datetime) -> int:
    """Each pass of the worker: the quotes past their validity date (Paris) expire."""
    return expire_due_quotes(now.astimezone(PARIS).date())
