"""Accepting a quote: recorded by the advisor with the signed file, online by the contact from the personal page, or
through the API. A seats quote's named trainees become enrolments at the quoted price under the session's seat lock
(the waiting list when the session filled meanwhile: the advisor and the contact are told), the company's convention
is proposed and its OPCO's funding lines are pre-filled « à demander »; an intra request becomes a draft session.

This module also answers what documents and billing ask of an accepted quote, through their registries: the OPCO
funding pack holds the quote's own file (documents/providers.py), the company's draft invoice of the session carries
the quote's extra costs (billing/invoices/extra_lines.py)."""
from __future__ import annotations

from dataclasses import dataclass, field

from flask import render_template
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..accounts.models import Role, User
from ..billing.invoices.extra_lines import ExtraLine, register_extra_lines
from ..companies.models import OPCOS
from ..core.errors import ConflictError, ErrorCollector, ValidationError
from ..core.formatting import count_fr, date_fr
from ..core.persistence import lock_row
from ..core.timeutil import paris_today, utcnow
from ..core.validation import clean_text
from ..core.workflow import apply_transition, legal_step
from ..documents import providers
from ..documents import services as document_services
from ..documents.models import GeneratedDocument
from ..enrolments import mails as enrolment_mails
from ..enrolments import services as enrolment_services
from ..enrolments.models import Enrolment, EnrolmentStatus, OpcoStatus
from ..extensions import db
from ..files.models import StoredFile
from ..files.services import store_bytes, store_upload
from ..messaging.bodies import html_body
from ..messaging.services import queue_email
from ..organisation.services import get_organisation, staff_recipients
from ..sessions import services as session_services
from ..sessions.models import TrainingSession
from ..trainees.services import find_or_create_trainee
from .document import read_quote_file
from .models import ACCEPTANCE_MODES, LineKind, Quote, QuoteKind, QuoteLine, QuoteStatus, QuoteTrainee
from .services import TRANSITIONS, ensure_can_manage_quotes

ACCEPT = "accept"  # the step's name in quotes.services.TRANSITIONS
ACCEPTED = QuoteStatus.ACCEPTED.value


@dataclass
class AcceptanceResult:
    quote: Quote
    enrolments: list[Enrolment]  # the seats taken (confirmed, or awaiting the prerequisite decision)
    waitlisted: list[Enrolment]  # the named trainees put on the waiting list: the session filled meanwhile
    session: TrainingSession | None  # the seats' session, or the intra session made
    convention: GeneratedDocument | None
    notes: list[str] = field(default_factory=list)  # what was not done, and why (French)


# --------------------------------------------------------------------------- accepting


def accept_quote(quote: Quote, actor: User | None, *, signed_file=None, accepted_by_name: str = "",
                 mode: str = "recorded", evidence: dict | None = None) -> AcceptanceResult:
    """Accept ``quote`` (sent, still valid) once, even under simultaneous calls: seats become enrolments at the
    quoted price (or waiting-list places), an intra request becomes a draft session. ``signed_file`` (a FileStorage
    or (bytes, filename)) is required when the advisor records it. The caller commits."""
    if mode not in ACCEPTANCE_MODES:
        raise ValidationError("Mode d'acceptation inconnu : enregistrée, en ligne ou par l'API.", field="mode")
    if mode != "online":  # online: the contact, through the personal link the view checked
        ensure_can_manage_quotes(actor)
    lock_row(Quote, quote.id)  # two acceptances at once: the second finds the quote accepted
    db.session.flush()
    db.session.refresh(quote)
    legal_step(TRANSITIONS, ACCEPT, quote, refusal=_refusal)
    _check_acceptable(quote)
    signed = _signed_file(signed_file, required=mode == "recorded")
    apply_transition(quote, TRANSITIONS, ACCEPT, actor, refusal=_refusal)
    quote.acceptance_mode = mode
    quote.accepted_by_name = clean_text(accepted_by_name)[:120] or quote.contact_name
    quote.acceptance_evidence = dict(evidence or {})
    quote.signed_file = signed
    quote.decided_at = utcnow()
    if quote.kind == QuoteKind.INTRA.value:
        result = AcceptanceResult(quote, [], [], None, None)
        result.session = _create_intra_session(quote, actor, result.notes)
    else:
        result = _take_seats(quote, actor)
    db.session.flush()
    return result


def accept_online(quote: Quote, name: str, *, ip: str, user_agent: str) -> AcceptanceResult:
    """The contact accepts from the personal page, typing their name: the evidence keeps the IP address, the
    browser, the time and the SHA-256 of the document accepted (the PDF sent, else its DOCX)."""
    name = " ".join(str(name or "").split())
    if len(name) < 2 or len(name) > 120:
        raise ValidationError("Indiquez vos prénom et nom pour accepter le devis.", field="name")
    stored = quote.pdf_file or quote.docx_file
    evidence = {"ip": str(ip or "")[:64], "user_agent": str(user_agent or "")[:300], "name": name,
                "document": stored.original_name if stored is not None else "",
                "document_sha256": stored.sha256 if stored is not None else quote.document_sha256,
                "accepted_at": utcnow().isoformat()}
    return accept_quote(quote, None, accepted_by_name=name, mode="online", evidence=evidence)


def _refusal(quote: Quote, step) -> str:
    if quote.is_draft:
        return "Ce devis est encore un brouillon : envoyez-le au client avant d'enregistrer son acceptation."
    return f"Ce devis est « {quote.status_label.lower()} » : il ne peut plus être accepté."


def _check_acceptable(quote: Quote) -> None:
    """Within its validity (409 after it), and a seats quote names exactly its seats (422)."""
    if quote.valid_until < paris_today():
        raise ConflictError(f"Ce devis n'est plus valable depuis le {date_fr(quote.valid_until)} : il ne peut plus "
                            "être accepté. Établissez-en un nouveau.")
    if quote.kind == QuoteKind.SEATS.value and len(quote.trainees) != (quote.seats or 0):
        raise ValidationError(f"Nommez les {quote.seats} stagiaires du devis avant de l'accepter "
                              f"({count_fr(len(quote.trainees), 'nommé')}).", field="trainees")


def _signed_file(signed_file, *, required: bool) -> StoredFile | None:
    """The signed quote stored (PDF or DOCX, the files' safety checks), or None; 422 when required and missing."""
    if isinstance(signed_file, tuple):
        data, filename = signed_file
        if data:
            return store_bytes(data, filename, "document", field="signed_file")
    elif signed_file is not None and getattr(signed_file, "filename", ""):
        return store_upload(signed_file, "document", field="signed_file")
    if required:
        raise ValidationError("Joignez le devis signé.", field="signed_file")
    return None


# --------------------------------------------------------------------------- seats


def _take_seats(quote: Quote, actor: User | None) -> AcceptanceResult:
    """Under the session's seat lock, each named trainee enrolled at the quoted price, in the quote's order (a
    seat while one is free, else the waiting list); then the OPCO funding lines and the convention."""
    session = quote.session
    session_services.lock_session_seats(session.id)
    db.session.refresh(session)
    if not session.takes_enrolments:
        raise ConflictError(f"La session {session.label} ne prend plus d'inscriptions (elle est « "
                            f"{session.status_label.lower()} ») : ce devis ne peut plus être accepté ; proposez une "
                            "autre session au client.")
    seated, waitlisted = [], []
    for named, trainee in zip(quote.trainees, _trainees(quote)):
        enrolment = enrolment_services.enrol(session, trainee, company=quote.company, actor=actor, source="quote",
                                             notify=False)
        _set_quoted_price(quote, enrolment)
        named.enrolment_id = enrolment.id
        (waitlisted if enrolment.status == EnrolmentStatus.WAITLISTED.value else seated).append(enrolment)
        enrolment_mails.enrolment_status(enrolment)  # at the quoted price
    result = AcceptanceResult(quote, seated, waitlisted, session, None)
    if waitlisted:
        _tell_waitlisted(quote, seated, waitlisted)
    if seated:  # the funding first: the convention states it
        _prefill_funding(quote, seated, actor, result.notes)
        result.convention = _propose_convention(quote, seated, actor, result.notes)
    return result


def _trainees(quote: Quote) -> list:
    """The named people as trainees of the quote's company (the same e-mail is the same person); 422 naming the
    line of each one that cannot be (an enrolled trainee needs an e-mail: convocation, personal page)."""
    errors = ErrorCollector()
    found = []
    for index, named in enumerate(quote.trainees):
        prefix = f"trainees-{index}-"
        if not named.email:
            errors.add(prefix + "email", f"Indiquez l'e-mail de {named.full_name} : chaque stagiaire inscrit reçoit "
                                         "sa convocation et son lien personnel.")
            continue
        found.append(errors.run(find_or_create_trainee, {
            "first_name": named.first_name, "last_name": named.last_name, "email": named.email,
            "company_id": quote.company_id}, prefix))
    errors.raise_if_any()
    db.session.flush()
    return found


def seat_line(quote: Quote) -> QuoteLine | None:
    return next((line for line in quote.lines if line.kind == LineKind.SEATS.value), None)


def _set_quoted_price(quote: Quote, enrolment: Enrolment) -> None:
    """The enrolment costs what the quote said (the seats line's unit price, the quote's VAT rate)."""
    line = seat_line(quote)
    if line is not None:
        enrolment.price_excl_vat = line.unit_price
    enrolment.vat_rate = quote.vat_rate


def _staff_author(quote: Quote, actor: User | None) -> User | None:
    """On whose behalf documents are made: the actor, else (online) the quote's author while active staff, else the
    first active advisor or admin."""
    for user in (actor, quote.created_by):
        if user is not None and user.active and user.is_staff:
            return user
    return db.session.scalar(select(User).where(User.role.in_((Role.ADVISOR.value, Role.ADMIN.value)),
                                                User.active.is_(True)).order_by(User.id).limit(1))


def _propose_convention(quote: Quote, seated: list[Enrolment], actor: User | None,
                        notes: list[str]) -> GeneratedDocument | None:
    """The company's convention for the session (documents: one per company and session, naming its admitted
    trainees), made in a savepoint: a convention the documents refuse (a mention missing) leaves the acceptance
    done and says why."""
    author = _staff_author(quote, actor)
    if not any(e.status == EnrolmentStatus.CONFIRMED.value for e in seated):
        notes.append("La convention sera établie une fois les prérequis des stagiaires validés.")
        return None
    if author is None:
        notes.append("Aucun conseiller actif : la convention n'a pas été établie.")
        return None
    try:
        with db.session.begin_nested():
            return document_services.generate("convention", quote.session, author, company=quote.company,
                                               reason=f"Devis n° {quote.number} accepté")
    except (ValidationError, ConflictError) as exc:
        notes.append(f"Convention non établie : {exc.message}")
        return None


def _prefill_funding(quote: Quote, seated: list[Enrolment], actor: User | None, notes: list[str]) -> None:
    """When the company has an OPCO: one OPCO line « à demander » per seat, for the enrolment's price including VAT
    (funding amounts are), through the enrolments' funding rules."""
    opco = quote.company.opco
    if not opco:
        return
    if opco not in OPCOS:
        notes.append(f"OPCO de l'entreprise inconnu (« {opco} ») : financements à saisir.")
        return
    for enrolment in seated:
        if enrolment.funding_lines:  # a cancelled enrolment reopened keeps its funding
            continue
        enrolment_services.save_funding_line(enrolment, None, {
            "kind": "opco", "opco_name": opco, "opco_status": OpcoStatus.TO_REQUEST.value,
            "amount": enrolment.price_incl_vat}, actor)


def _advisor_recipients(quote: Quote) -> list[str]:
    """The quote's author while active, else the organisation's contact, else every active advisor and admin."""
    if quote.created_by is not None and quote.created_by.active and quote.created_by.email:
        return [quote.created_by.email]
    return staff_recipients()


def _tell_waitlisted(quote: Quote, seated: list[Enrolment], waitlisted: list[Enrolment]) -> None:
    """The session filled meanwhile: the advisor and the contact are told who is on the waiting list."""
    org = get_organisation()
    recipients = [(email, False) for email in _advisor_recipients(quote)]
    if quote.contact_email:
        recipients.append((quote.contact_email, True))
    for email, for_contact in recipients:
        text = render_template("mail/quote_waitlisted.txt", quote=quote, session=quote.session, org=org,
                               seated=seated, waitlisted=waitlisted, for_contact=for_contact)
        queue_email(email, f"Devis {quote.number} accepté : liste d'attente – {quote.session.title}", text,
                    html_body(text), topic="quote_waitlisted")


# --------------------------------------------------------------------------- intra


def _create_intra_session(quote: Quote, actor: User | None, notes: list[str]) -> TrainingSession:
    """A draft intra session of the quote's course for the company alone, at the quoted flat price, for the
    headcount (within the course's maximum); the wished period and place in its notes (no room chosen yet)."""
    version = quote.course.current_version
    line = next((line for line in quote.lines if line.kind == LineKind.INTRA.value), None)
    headcount = quote.headcount or 1
    wishes = [f"Session créée par l'acceptation du devis n° {quote.number}."]
    if version is not None and headcount > version.max_trainees:
        wishes.append(f"Effectif demandé : {headcount} personnes.")
        notes.append(f"L'effectif demandé ({headcount}) dépasse le maximum de la formation "
                     f"({version.max_trainees}) : la session est créée pour {version.max_trainees} ; "
                     "prévoyez un second groupe.")
        headcount = version.max_trainees
    if quote.wished_period:
        wishes.append(f"Période souhaitée : {quote.wished_period}.")
    if quote.wished_place:
        wishes.append(f"Lieu souhaité : {quote.wished_place}.")
    data = {"course_id": quote.course_id, "format": "intra", "client_company_id": quote.company_id,
            "capacity": headcount, "notes": " ".join(wishes),
            "intra_price": line.total if line is not None else None}
    if version is not None and version.min_trainees and version.min_trainees > headcount:
        data["min_trainees"] = headcount
    session, _ = session_services.create_session(data, actor)
    quote.session_id = session.id
    quote.session = session
    return session


# --------------------------------------------------------------------------- what documents and billing ask


def accepted_quote_for(enrolment: Enrolment) -> Quote | None:
    """The accepted quote of the enrolment's session and company: the one that named it, else the latest."""
    named = db.session.scalar(select(Quote).join(QuoteTrainee).where(
        QuoteTrainee.enrolment_id == enrolment.id, Quote.status == ACCEPTED).limit(1))
    if named is not None:
        return named
    company_id = enrolment.company_id or enrolment.trainee.company_id
    if company_id is None:
        return None
    return db.session.scalar(select(Quote).where(
        Quote.status == ACCEPTED, Quote.session_id == enrolment.session_id, Quote.company_id == company_id)
        .order_by(Quote.decided_at.desc(), Quote.id.desc()).limit(1))


def quote_pack_files(enrolment: Enrolment) -> list[tuple[str, bytes]] | None:
    """The OPCO pack's quote: the accepted quote's own PDF and DOCX, and the signed copy when recorded (None
    without an accepted quote with a file: the pack generates the session's quote)."""
    quote = accepted_quote_for(enrolment)
    if quote is None:
        return None
    files = [(f"{quote.number}.{kind}", read_quote_file(quote, kind)[0])
             for kind, stored in (("docx", quote.docx_file), ("pdf", quote.pdf_file)) if stored is not None]
    if quote.signed_file is not None:
        extension = quote.signed_file.original_name.rsplit(".", 1)[-1].lower()
        files.append((f"{quote.number}-signe.{extension}", read_quote_file(quote, "signed")[0]))
    return files or None


def quote_extra_lines(session: TrainingSession) -> list[ExtraLine]:
    """The extra costs of the session's accepted quotes, each on its company's invoice."""
    quotes = db.session.scalars(select(Quote).where(Quote.session_id == session.id, Quote.status == ACCEPTED)
                                .order_by(Quote.id).options(selectinload(Quote.lines), selectinload(Quote.company)))
    return [ExtraLine(quote.company, f"{line.label} (devis n° {quote.number})", line.quantity, line.unit_price)
            for quote in quotes for line in quote.lines if line.kind == LineKind.EXTRA.value]


providers.register_pack_files("quote", quote_pack_files)
register_extra_lines("quotes", quote_extra_lines)
