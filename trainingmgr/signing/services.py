"""Electronic signature of archived documents: send for signature, sign, refuse, cancel, expire.

See docs/signing.md for the journey."""
from __future__ import annotations

import datetime as dt
import hashlib
import os
from dataclasses import dataclass

from blinker import Namespace
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from sqlalchemy import select

from ..accounts.models import User
from ..attendance.services import signature_input
from ..core.errors import ConflictError, NotFoundError, ValidationError
from ..core.formatting import date_fr
from ..core.persistence import get_by_id, lock_row
from ..core.timeutil import paris_date, paris_today, utcnow
from ..documents import services as document_services
from ..documents.models import GeneratedDocument
from ..enrolments import contract
from ..extensions import db
from ..files.services import path_for, store_bytes
from ..messaging.services import job_handler
from ..organisation.services import get_organisation
from ..resources.models import TrainerStatus
from ..sessions import services as session_services
from . import access, mails
from .models import CLOSED, ROLES, RequestStatus, Signatory, SignatoryStatus, SignatureRequest, SignatureRevision

# The document types that can be sent for signature; any archived type with a PDF works the same way.
SIGNABLE = ("quote", "convention", "contract", "trainer_contract")
# External signatories sign in this order of boxes; the organisation's signatory signs last.
ROLE_ORDER = {"company": 0, "trainee": 1, "trainer": 2, "organisation": 3}

signals = Namespace()
# Sent with the request when it changes state (sender: the request; ``event``: "signed", "completed", "refused",
# "cancelled", "expired"; ``signatory`` for the first two).
request_changed = signals.signal("signature-request-changed")


@dataclass(frozen=True)
class Candidate:
    """A signatory the advisor may pick: ``key`` names them in the form ("company:12", "organisation")."""

    key: str
    role: str
    name: str
    title: str
    email: str
    default: bool  # ticked in the form

    @property
    def label(self) -> str:
        who = f"{self.name}, {self.title}" if self.title else self.name
        return f"{ROLES[self.role]} : {who} <{self.email or 'e-mail manquant'}>"


# --------------------------------------------------------------------------- who signs


def proposed_signatories(document: GeneratedDocument) -> list[Candidate]:
    """The company's contacts (its signatory first) for a quote or convention, the trainee for a contract, the
    session's trainers (for a trainer's contract, its trainer only, ticked), and the organisation's signatory, in
    the order of their boxes."""
    found: list[Candidate] = []
    company = document.company or (document.enrolment.company if document.enrolment else None)
    if company is not None:
        contacts = sorted(company.contacts, key=lambda c: ({"signatory": 0, "hr": 1}.get(c.role, 2), c.id))
        found += [Candidate(f"company:{c.id}", "company", c.name, c.job_title, c.email, index == 0)
                  for index, c in enumerate(contacts)]
    if document.enrolment is not None and document.doc_type == "contract":
        trainee = document.enrolment.trainee
        found.append(Candidate(f"trainee:{document.enrolment.id}", "trainee", trainee.full_name, "",
                               trainee.email, True))
    if document.doc_type == "trainer_contract" and document.trainer is not None:
        # The contract's party is its trainer (for an organisation, the trainer signs on its behalf), ticked.
        trainer = document.trainer
        found.append(Candidate(f"trainer:{trainer.id}", "trainer", trainer.full_name,
                               trainer.company_name if trainer.status == TrainerStatus.ORGANISATION.value else "", trainer.email, True))
    else:
        found += [Candidate(f"trainer:{t.id}", "trainer", t.full_name, "", t.email, False)
                  for t in document.session.trainers]
    org = get_organisation()
    found.append(Candidate("organisation", "organisation", org.signatory_name or org.name, org.signatory_title,
                           org.email, True))
    return found


def _chosen(document: GeneratedDocument, keys: list[str]) -> list[Candidate]:
    by_key = {c.key: c for c in proposed_signatories(document)}
    unknown = [k for k in keys if k not in by_key]
    if unknown or not keys:
        raise ValidationError("Choisissez les signataires parmi ceux proposés.", field="signatories")
    chosen = sorted({by_key[k].key: by_key[k] for k in keys}.values(), key=lambda c: ROLE_ORDER[c.role])
    for candidate in chosen:
        if not _valid_email(candidate.email):
            raise ValidationError(f"{candidate.name} n'a pas d'adresse e-mail valide : complétez sa fiche avant "
                                  "d'envoyer le document.", field="signatories")
        if not candidate.name.strip():
            raise ValidationError("Un signataire n'a pas de nom : complétez sa fiche (ou celle de l'organisme).",
                                  field="signatories")
    return chosen


def _valid_email(email: str) -> bool:
    try:
        validate_email(email or "", check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


# --------------------------------------------------------------------------- sending


def open_request(document: GeneratedDocument) -> SignatureRequest | None:
    return db.session.scalar(select(SignatureRequest).where(
        SignatureRequest.document_id == document.id, SignatureRequest.status == RequestStatus.PENDING.value))


def cannot_send(document: GeneratedDocument) -> str | None:
    """Why this document cannot be sent for signature now (French), or None."""
    if document.doc_type not in SIGNABLE:
        return "Ce type de document ne se signe pas électroniquement."
    if not document_services.is_current(document):
        return "Une version plus récente de ce document existe : envoyez-la plutôt."
    if document.pdf_file_id is None:
        return ("Ce document n'a pas de PDF (convertisseur indisponible lors de sa génération) : générez-en une "
                "nouvelle version pour l'envoyer à la signature.")
    if open_request(document) is not None:
        return "Ce document est déjà en cours de signature."
    return None


def _check_deadline(deadline: dt.date | None) -> dt.date:
    today = paris_today()
    longest = current_app.config["SIGNATURE_MAX_DEADLINE_DAYS"]
    if deadline is None:
        raise ValidationError("Indiquez la date limite de signature.", field="deadline")
    if deadline <= today:
        raise ValidationError("La date limite de signature doit être postérieure à aujourd'hui.", field="deadline")
    if deadline > today + dt.timedelta(days=longest):
        raise ValidationError(f"La date limite de signature ne peut pas dépasser {longest} jours.", field="deadline")
    return deadline


def send_for_signature(document: GeneratedDocument, keys: list[str], deadline: dt.date | None,
                       actor: User) -> SignatureRequest:
    """Prepare the document's PDF for the chosen signatories and invite the first ones (see the module)."""
    from . import pades  # pyHanko loads at the first signature, not at start-up

    session_services.ensure_can_manage_sessions(actor)
    lock_row(GeneratedDocument, document.id)  # one request per document, even for two clicks at once
    problem = cannot_send(document) or certificate_problem()
    if problem:
        raise ConflictError(problem)
    chosen = _chosen(document, keys)
    deadline = _check_deadline(deadline)
    source = document_services.read_file(document, "pdf")
    signature_request = SignatureRequest(document=document, deadline=deadline, created_by=actor,
                               source_sha256=hashlib.sha256(source).hexdigest(), created_at=utcnow())
    last_external = any(c.role != "organisation" for c in chosen)
    for position, candidate in enumerate(chosen, start=1):
        waits = candidate.role == "organisation" and last_external
        signature_request.signatories.append(Signatory(
            position=position, role=candidate.role, name=candidate.name.strip()[:160], title=candidate.title[:120],
            email=candidate.email.strip(), link_nonce=access.new_nonce(),
            status=SignatoryStatus.WAITING.value if waits else SignatoryStatus.INVITED.value))
    db.session.add(signature_request)
    db.session.flush()
    try:
        prepared = pades.prepare(source, title=f"{document.label} n° {document.number}", reference=document.number,
                                 slots=[pades.Slot(s.field_name, s.slot_label) for s in signature_request.signatories])
    except pades.SigningError as exc:
        raise ConflictError(exc.message) from None
    _add_revision(signature_request, prepared, None)
    for signatory in signature_request.signatories:
        if signatory.status == SignatoryStatus.INVITED.value:
            mails.invite(signatory)
    mails.schedule(signature_request)
    return signature_request


def _add_revision(signature_request: SignatureRequest, pdf: bytes, signatory: Signatory | None) -> SignatureRevision:
    number = len(signature_request.revisions)
    stored = store_bytes(pdf, f"{signature_request.document.number}-signature-{number}.pdf", "document")
    db.session.flush()
    revision = SignatureRevision(request=signature_request, number=number, signatory=signatory, file_id=stored.id,
                                 sha256=stored.sha256, created_at=utcnow())
    db.session.add(revision)
    db.session.flush()
    return revision


def latest_pdf(signature_request: SignatureRequest) -> bytes:
    """The last revision's bytes, checked against the SHA-256 recorded when it was stored."""
    revision = signature_request.revisions[-1]
    data = path_for(revision.file).read_bytes()
    if hashlib.sha256(data).hexdigest() != revision.sha256:
        raise ConflictError("Le fichier en cours de signature ne correspond plus à son empreinte SHA-256 : il a été "
                            "altéré. La demande ne peut pas continuer.")
    return data


def revision_pdf(signature_request: SignatureRequest, number: int) -> bytes:
    revision = next((r for r in signature_request.revisions if r.number == number), None)
    if revision is None:
        raise NotFoundError("Révision introuvable.")
    data = path_for(revision.file).read_bytes()
    if hashlib.sha256(data).hexdigest() != revision.sha256:
        raise ConflictError("Le fichier archivé ne correspond plus à son empreinte SHA-256 : il a été altéré.")
    return data


# --------------------------------------------------------------------------- the document must not have changed


def source_problem(signature_request: SignatureRequest) -> str | None:
    """Why the document sent for signature no longer matches the archive (French), or None."""
    document = signature_request.document
    replacement = document_services.next_version(document)
    if replacement is not None:
        return (f"Le document a été modifié après l'envoi pour signature (nouvelle version {replacement.version} du "
                f"{date_fr(paris_date(replacement.created_at))} : {replacement.reason}).")
    try:
        data = path_for(document.pdf_file).read_bytes()
    except OSError:
        data = b""
    if hashlib.sha256(data).hexdigest() != signature_request.source_sha256:
        return "Le PDF archivé du document ne correspond plus à celui envoyé pour signature (empreinte SHA-256)."
    return None


def check_source(signature_request: SignatureRequest) -> None:
    """Cancel the request (committed, the advisor told) and refuse when the document changed since it was sent."""
    problem = source_problem(signature_request)
    if problem is None:
        return
    close(signature_request, RequestStatus.CANCELLED,
          problem + " La demande de signature est annulée ; le conseiller est prévenu et pourra envoyer la nouvelle "
                    "version.")
    db.session.commit()
    raise ConflictError(problem + " Il ne peut plus être signé : l'organisme de formation en est informé et vous "
                                  "enverra la version à jour.")


# --------------------------------------------------------------------------- signing and refusing


@dataclass(frozen=True)
class SignatureInput:
    code: str
    drawing: str  # the canvas' PNG data URL, or empty
    typed_name: str
    consent: bool
    ip: str
    user_agent: str


def _lock(signatory: Signatory) -> Signatory:
    """Lock the request and read it again: whatever another signatory did meanwhile is seen."""
    lock_row(SignatureRequest, signatory.request_id)
    db.session.refresh(signatory.request)
    db.session.refresh(signatory)
    for revision in signatory.request.revisions:
        db.session.refresh(revision)
    return signatory


def sign(signatory: Signatory, given: SignatureInput, now: dt.datetime | None = None) -> SignatureRevision:
    """Check the code, then add the signatory's PAdES signature as the next revision (see the module)."""
    from . import pades  # pyHanko loads at the first signature, not at start-up

    signatory = _lock(signatory)
    now = now or utcnow()
    signature_request = signatory.request
    _expired_now(signature_request, now)
    access.check_open(signatory, now)
    check_source(signature_request)
    drawing, typed_name = _handwriting(signatory, given)
    access.check_code(signatory, given.code, now, ip=given.ip)
    before = latest_pdf(signature_request)
    evidence = pades.Evidence(
        signer_name=signatory.name, signer_email=signatory.email, role=signatory.slot_label,
        code_checked_at=signatory.code_checked_at, ip=given.ip, user_agent=given.user_agent,
        sha256_before=hashlib.sha256(before).hexdigest(), signed_at=now, drawing_png=drawing,
        typed_name=typed_name)
    config = current_app.config
    try:
        signed = pades.sign(before, signatory.field_name, evidence, _usable_signer(),
                            tsa_url=config["TSA_URL"], tsa_username=config["TSA_USERNAME"],
                            tsa_password=config["TSA_PASSWORD"],
                            reason=f"Signature : {signature_request.document.label}",
                            location=get_organisation().city or "")
    except pades.SigningError as exc:
        raise ConflictError(exc.message) from None
    signatory.status = SignatoryStatus.SIGNED.value
    signatory.signed_at = now
    signatory.method = "drawn" if drawing else "typed"
    signatory.ip, signatory.user_agent = given.ip[:45], given.user_agent[:300]
    revision = _add_revision(signature_request, signed, signatory)
    if signatory.role == "trainee" and signature_request.document.doc_type == "contract":
        _contract_signed(signature_request.document, paris_date(now))
    request_changed.send(signature_request, event="signed", signatory=signatory)
    _advance(signature_request, now)
    return revision


def _handwriting(signatory: Signatory, given: SignatureInput) -> tuple[bytes | None, str]:
    """The drawing (PNG, checked) or the typed full name, and the consent: refused before the code is spent."""
    if not given.consent:
        raise ValidationError("Cochez la case pour confirmer que vous signez ce document.", field="consent")
    from . import pades  # pyHanko loads at the first signature, not at start-up

    _mode, drawing, typed = signature_input(given.drawing, given.typed_name, signatory.name)
    try:
        pades.check_drawing(drawing)
    except pades.SigningError as exc:
        raise ValidationError(exc.message, field="signature") from None
    return drawing, typed


def _contract_signed(document: GeneratedDocument, signed_on: dt.date) -> None:
    """The trainee's electronic signature dates the contract: the withdrawal period runs from it."""
    contract.record_signature(document.enrolment, signed_on, None, actor_label="signature électronique",
                              today=signed_on)


def certificate_problem() -> str | None:
    """Why nothing can be signed on this server (no usable certificate), in French for the advisor, or None."""
    from . import pades  # pyHanko loads at the first signature, not at start-up

    try:
        _signer()
    except pades.SigningError as exc:
        return f"La signature électronique n'est pas configurée sur ce serveur : {exc.message}"
    return None


_SIGNERS: dict[tuple, object] = {}  # one loaded signer per certificate files and day (the RSA key takes 0.2 s)


def _signer():
    """The organisation's signer, loaded once per day and per change of its files; pades.SigningError if none."""
    from . import pades  # pyHanko loads at the first signature, not at start-up

    config = current_app.config
    files = [config["SIGNING_P12_FILE"]] if config["SIGNING_P12_FILE"] else [
        os.path.join(config["SIGNING_DIR"], name) for name in (pades.KEY_FILE, pades.CERT_FILE)]
    key = (config["SIGNING_DIR"], config["SIGNING_P12_FILE"], hashlib.sha256(
        config["SIGNING_P12_PASSPHRASE"].encode()).hexdigest(), paris_today(),
        tuple(os.stat(f).st_mtime_ns if os.path.exists(f) else None for f in files))
    if key not in _SIGNERS:
        signer = pades.load_signer(directory=config["SIGNING_DIR"], p12_file=config["SIGNING_P12_FILE"],
                                   p12_passphrase=config["SIGNING_P12_PASSPHRASE"])
        _SIGNERS.clear()
        _SIGNERS[key] = signer
    return _SIGNERS[key]


def _usable_signer():
    from . import pades  # pyHanko loads at the first signature, not at start-up

    try:
        return _signer()
    except pades.SigningError as exc:
        current_app.logger.error("Certificat de signature inutilisable : %s", exc.message)
        raise ConflictError("La signature électronique est momentanément indisponible (certificat de l'organisme "
                            "à installer) : réessayez plus tard ou contactez l'organisme de formation.") from None


def _advance(signature_request: SignatureRequest, now: dt.datetime) -> None:
    """Invite the organisation's signatory once every other one has signed; complete the request at the end."""
    pending = [s for s in signature_request.signatories if s.status != SignatoryStatus.SIGNED.value]
    if not pending:
        close(signature_request, RequestStatus.COMPLETED, "", now)
        mails.completed(signature_request, latest_pdf(signature_request))
        return
    if all(s.status == SignatoryStatus.WAITING.value for s in pending):
        for signatory in pending:
            signatory.status = SignatoryStatus.INVITED.value
            mails.invite(signatory)


def refuse(signatory: Signatory, reason: str, *, ip: str = "", user_agent: str = "",
           now: dt.datetime | None = None) -> None:
    """The signatory refuses to sign, with a reason: the request ends, the advisor is told."""
    signatory = _lock(signatory)
    now = now or utcnow()
    _expired_now(signatory.request, now)
    access.check_open(signatory, now)
    reason = " ".join((reason or "").split())
    if len(reason) < 3:
        raise ValidationError("Indiquez la raison de votre refus : l'organisme de formation la lira.",
                              field="reason")
    if len(reason) > 2000:
        raise ValidationError("La raison du refus ne peut pas dépasser 2 000 caractères.", field="reason")
    signatory.status = SignatoryStatus.REFUSED.value
    signatory.refused_at = now
    signatory.refusal_reason = reason
    signatory.ip, signatory.user_agent = ip[:45], user_agent[:300]
    close(signatory.request, RequestStatus.REFUSED, f"Refusé par {signatory.name} : {reason}", now,
          signatory=signatory)


# --------------------------------------------------------------------------- closing


def close(signature_request: SignatureRequest, status: RequestStatus, reason: str, now: dt.datetime | None = None,
          signatory: Signatory | None = None) -> None:
    """End the request (completed, refused, cancelled or expired): its jobs are cancelled, the advisor told."""
    signature_request.status = status.value
    signature_request.closed_at = now or utcnow()
    signature_request.close_reason = reason
    mails.unschedule(signature_request)
    if status != RequestStatus.COMPLETED:
        mails.advisor_told(signature_request, signatory)
    request_changed.send(signature_request, event=status.value, signatory=signatory)


@document_services.document_issued.connect
def _replaced(document: GeneratedDocument, previous: GeneratedDocument | None = None, **_) -> None:
    """A new version of a document cancels the signature of the version it replaces (the advisor is told)."""
    signature_request = open_request(previous) if previous is not None else None
    if signature_request is not None:
        close(signature_request, RequestStatus.CANCELLED,
              f"Document modifié après l'envoi pour signature (nouvelle version {document.version} : "
              f"{document.reason}). La demande de signature est annulée : envoyez la nouvelle version.")


def cancel(signature_request: SignatureRequest, actor: User, reason: str = "") -> None:
    session_services.ensure_can_manage_sessions(actor)
    lock_row(SignatureRequest, signature_request.id)
    db.session.refresh(signature_request)
    if signature_request.status in CLOSED:
        raise ConflictError(f"Cette demande est déjà close ({signature_request.status_label.lower()}).")
    close(signature_request, RequestStatus.CANCELLED,
          f"Annulée par {actor.name or actor.email}" + (f" : {reason.strip()}" if reason.strip() else "."))


def expire_if_due(signature_request: SignatureRequest, now: dt.datetime | None = None) -> bool:
    """Expire a pending request whose deadline has passed; whether it did (the caller commits)."""
    now = now or utcnow()
    if signature_request.status != RequestStatus.PENDING.value or paris_date(now) <= signature_request.deadline:
        return False
    missing = ", ".join(s.name for s in signature_request.signatories if s.status != SignatoryStatus.SIGNED.value)
    close(signature_request, RequestStatus.EXPIRED,
          f"Délai dépassé le {date_fr(signature_request.deadline)} sans la signature de {missing}.", now)
    return True


@job_handler("signature_expiry")
def expire(payload: dict) -> None:
    signature_request = db.session.get(SignatureRequest, payload.get("request"))
    if signature_request is not None:  # the job is due at the end of the deadline's day: judged at that moment
        expire_if_due(signature_request, max(utcnow(), mails.end_of(signature_request.deadline)))


def _expired_now(signature_request: SignatureRequest, now: dt.datetime) -> None:
    """Expire the request if due, committed at once: the refusal that follows must not undo it."""
    if expire_if_due(signature_request, now):
        db.session.commit()


def resend_link(signatory: Signatory, actor: User) -> None:
    """A new personal link for an invited signatory (lost e-mail, locked after wrong codes): the old one dies."""
    session_services.ensure_can_manage_sessions(actor)
    lock_row(SignatureRequest, signatory.request_id)
    db.session.refresh(signatory)
    if signatory.request.status != RequestStatus.PENDING.value:
        raise ConflictError("Cette demande de signature est close.")
    if signatory.status != SignatoryStatus.INVITED.value:
        raise ConflictError(f"{signatory.name} ne peut pas recevoir de lien ({signatory.status_label.lower()}).")
    access.reset(signatory)
    mails.invite(signatory)


# --------------------------------------------------------------------------- reading


def get_request(request_id, actor: User) -> SignatureRequest:
    signature_request = get_by_id(SignatureRequest, request_id, "Demande de signature introuvable.")
    session_services.ensure_can_manage_sessions(actor)
    return signature_request


def get_signatory(signature_request: SignatureRequest, signatory_id) -> Signatory:
    signatory = next((s for s in signature_request.signatories if str(s.id) == str(signatory_id)), None)
    if signatory is None:
        raise NotFoundError("Signataire introuvable.")
    return signatory


def requests_of_session(session_id: int) -> dict[int, list[SignatureRequest]]:
    """Every signature request of the session's documents, newest first, by document id."""
    found: dict[int, list[SignatureRequest]] = {}
    for signature_request in db.session.scalars(
            select(SignatureRequest).join(GeneratedDocument, GeneratedDocument.id == SignatureRequest.document_id)
            .where(GeneratedDocument.session_id == session_id).order_by(SignatureRequest.id.desc())):
        found.setdefault(signature_request.document_id, []).append(signature_request)
    return found


def completed_documents(session_ids: list[int]) -> list[tuple[int, str, int | None, int | None, dt.datetime]]:
    """(session id, document type, company id, enrolment id, completed at) of every document signed by all its
    signatories, for the checklist."""
    return list(db.session.execute(
        select(GeneratedDocument.session_id, GeneratedDocument.doc_type, GeneratedDocument.company_id,
               GeneratedDocument.enrolment_id, SignatureRequest.closed_at)
        .join(SignatureRequest, SignatureRequest.document_id == GeneratedDocument.id)
        .where(GeneratedDocument.session_id.in_(session_ids),
               SignatureRequest.status == RequestStatus.COMPLETED.value)))
