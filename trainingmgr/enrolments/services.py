"""Enrolment rules: seats never beyond capacity (even under simultaneous requests), the waiting list,
the prerequisite gate, every status change in one place, funding lines, and the e-mails they cause."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ..accounts.models import User
from ..accounts.services import normalise_email
from ..companies.models import Company
from ..companies.services import company_named, find_or_create_company, get_company
from ..core.errors import ConflictError, ErrorCollector, NotFoundError, PermissionDenied, ValidationError
from ..core.formatting import hours_fr, money_fr
from ..core.identifiers import clean_siret
from ..core.persistence import get_by_id, lock_row
from ..core.timeutil import paris_today, utcnow
from ..core.validation import MAX_AMOUNT, french_decimal, parse_date, parse_decimal
from ..core.workflow import apply_transition, legal_step
from ..extensions import db
from ..organisation.services import get_organisation
from ..sessions import services as session_services
from ..sessions.models import Slot, TrainingSession
from ..trainees.models import BPF_STATUSES, BpfStatus, Trainee
from ..trainees.services import find_or_create_trainee, get_trainee, trainee_named
from . import funders, mails
from .funders import FUNDERS, Funder
from .history import record_event
from .models import (
    AGREEMENT_KINDS,
    BILLING_BASES,
    FILED_REQUESTS,
    FINAL_MARKS,
    FUNDING_KINDS,
    FundingKind,
    LIVE,
    OPCO_STATUSES,
    POSITIONING_DECISIONS,
    PUBLIC_FUNDER_CATEGORIES,
    SEAT_HOLDING,
    Enrolment,
    EnrolmentStatus,
    FundingLine,
    OpcoStatus,
)
from .workflow import TRANSITIONS, cannot_cancel, cannot_mark, needs_prerequisite_decision


# --------------------------------------------------------------------------- reading


def enrolment_load_options():
    return (
        selectinload(Enrolment.trainee).selectinload(Trainee.company),
        selectinload(Enrolment.company),
        selectinload(Enrolment.funding_lines),
    )


def get_enrolment(enrolment_id, actor: User | None = None) -> Enrolment:
    enrolment = get_by_id(Enrolment, enrolment_id, "Inscription introuvable.")
    if actor is not None and not session_services.can_view_session(actor, enrolment.session):
        raise PermissionDenied("Vous n'intervenez pas sur cette session.")
    return enrolment


def session_enrolments(session: TrainingSession) -> list[Enrolment]:
    """The session's enrolments: seat holders first, then the waiting list in order, then the rest."""
    order = {EnrolmentStatus.CONFIRMED.value: 0, EnrolmentStatus.PENDING_PREREQUISITE.value: 1,
             EnrolmentStatus.REQUESTED.value: 2, EnrolmentStatus.WAITLISTED.value: 3}
    rows = db.session.scalars(
        select(Enrolment).where(Enrolment.session_id == session.id).options(*enrolment_load_options())
    )
    return sorted(rows, key=lambda e: (order.get(e.status, 4), e.waitlist_position or 0, e.trainee.last_name,
                                       e.trainee.first_name))


def pending_requests() -> list[Enrolment]:
    """Public pre-registrations the advisor has not handled yet, oldest first."""
    return list(db.session.scalars(
        select(Enrolment).where(Enrolment.status == EnrolmentStatus.REQUESTED.value)
        .order_by(Enrolment.created_at, Enrolment.id)
        .options(*enrolment_load_options(), *_session_load_options(selectinload(Enrolment.session)))
    ))


def pending_request_count() -> int:
    """How many pending_requests there are (one query: the dashboard's to-do)."""
    return db.session.scalar(select(func.count(Enrolment.id))
                             .where(Enrolment.status == EnrolmentStatus.REQUESTED.value)) or 0


def awaiting_prerequisite_decision() -> list[Enrolment]:
    """Enrolments holding a seat until the advisor decides on their prerequisites, soonest session first."""
    rows = db.session.scalars(
        select(Enrolment).where(Enrolment.status == EnrolmentStatus.PENDING_PREREQUISITE.value)
        .options(*enrolment_load_options(), *_session_load_options(selectinload(Enrolment.session))))
    far = dt.date.max
    return sorted(rows, key=lambda e: (e.session.first_date or far, e.session_id, e.created_at, e.id))


def awaiting_prerequisite_count() -> int:
    """How many enrolments awaiting_prerequisite_decision lists (one query: the dashboard's to-do)."""
    return db.session.scalar(select(func.count(Enrolment.id))
                             .where(Enrolment.status == EnrolmentStatus.PENDING_PREREQUISITE.value)) or 0


def to_do_counts() -> tuple[int, int]:
    """(pending_request_count(), awaiting_prerequisite_count()) in one query: the dashboard's to-do."""
    counts = dict(db.session.execute(
        select(Enrolment.status, func.count(Enrolment.id))
        .where(Enrolment.status.in_((EnrolmentStatus.REQUESTED.value, EnrolmentStatus.PENDING_PREREQUISITE.value)))
        .group_by(Enrolment.status)).all())
    return counts.get(EnrolmentStatus.REQUESTED.value, 0), counts.get(EnrolmentStatus.PENDING_PREREQUISITE.value, 0)


def _session_load_options(session_loader):
    """What a list shows of each enrolment's session (title and dates), loaded in one query each."""
    return (session_loader.selectinload(TrainingSession.course_version),
            session_loader.selectinload(TrainingSession.slots))


def _seat_status(enrolment: Enrolment) -> str:
    """The status of an enrolment taking a seat: pending while its prerequisites await a decision."""
    if needs_prerequisite_decision(enrolment):
        return EnrolmentStatus.PENDING_PREREQUISITE.value
    return EnrolmentStatus.CONFIRMED.value


# --------------------------------------------------------------------------- history


_NEW = object()


def _set_status(enrolment: Enrolment, status: str, actor: User | None, message: str = "", kind: str = "status",
                actor_label: str = "", from_status=_NEW) -> None:
    """Move ``enrolment`` to ``status`` (workflow.TRANSITIONS) and record it in its history."""
    previous = enrolment.status if from_status is _NEW else from_status
    apply_transition(enrolment, TRANSITIONS, status, actor)
    if status != EnrolmentStatus.WAITLISTED.value:
        enrolment.waitlist_position = None
    if status == EnrolmentStatus.CONFIRMED.value:
        enrolment.confirmed_at = utcnow()
    record_event(enrolment, kind, actor, message, from_status=previous, to_status=status, actor_label=actor_label)


# --------------------------------------------------------------------------- taking a seat


def _price(session: TrainingSession) -> tuple[Decimal, Decimal]:
    """(price excl. VAT of one seat, VAT rate). An intra session is billed as a group, not per seat."""
    price = session.price_per_trainee if session.price_per_trainee is not None else Decimal("0.00")
    if session.format == "intra" and session.price_per_trainee is None:
        price = Decimal("0.00")
    rate = Decimal("0.00") if get_organisation().vat_exempt else Decimal("20.00")
    return price, rate


def _seat_or_waitlist(enrolment: Enrolment, actor: User | None, actor_label: str = "", **event) -> None:
    """Give ``enrolment`` a seat if one is free (confirmed, or pending the prerequisite decision), else the
    next place on the waiting list. The caller holds the session's seat lock. ``event`` overrides what the
    history records (kind, message, from_status)."""
    session = enrolment.session
    db.session.flush()
    taken = db.session.scalar(select(func.count(Enrolment.id)).where(
        Enrolment.session_id == session.id, Enrolment.status.in_(SEAT_HOLDING), Enrolment.id != enrolment.id))
    if taken < session.capacity:
        status = _seat_status(enrolment)
        _set_status(enrolment, status, actor, actor_label=actor_label, **event)
    else:
        last = db.session.scalar(select(func.max(Enrolment.waitlist_position)).where(
            Enrolment.session_id == session.id, Enrolment.status == EnrolmentStatus.WAITLISTED.value)) or 0
        full = f"Session complète : place n° {last + 1} sur la liste d'attente."
        event["message"] = " ".join(m for m in (event.get("message", ""), full) if m)
        _set_status(enrolment, EnrolmentStatus.WAITLISTED.value, actor, actor_label=actor_label, **event)
        enrolment.waitlist_position = last + 1


def _check_enrollable(session: TrainingSession) -> None:
    if not session.takes_enrolments:
        raise ValidationError(f"La session {session.label} n'accepte pas d'inscription "
                              f"(elle est « {session.status_label.lower()} »).")


def _new_or_reopened(session: TrainingSession, trainee: Trainee) -> Enrolment:
    """The enrolment row of this trainee in this session: a new one, or a cancelled one reopened.
    A live enrolment is a duplicate (409)."""
    existing = db.session.scalar(select(Enrolment).where(Enrolment.session_id == session.id,
                                                         Enrolment.trainee_id == trainee.id))
    if existing is not None and existing.status != EnrolmentStatus.CANCELLED.value:
        raise ConflictError(f"{trainee.full_name} est déjà inscrit(e) à cette session "
                            f"({existing.status_label.lower()}).", field="trainee")
    if existing is None:
        existing = Enrolment(session=session, trainee=trainee)
        db.session.add(existing)
    else:
        existing.cancelled_at = None
        existing.cancel_reason = ""
        existing.cancelled_by_id = None
        # convocation_sent_at stays: the convocation rule writes once per trainee and session
        # (automations/triggers/sessions.py), and the one sent before the cancellation is the evidence.
    return existing


def enrol(session: TrainingSession, trainee: Trainee, *, company: Company | None = None, actor: User | None = None,
          source: str = "advisor", notify: bool = True) -> Enrolment:
    """Enrol ``trainee``: a seat if one is free, else the waiting list. Safe under simultaneous calls."""
    session_services.lock_session_seats(session.id)
    db.session.refresh(session)
    _check_enrollable(session)
    enrolment = _new_or_reopened(session, trainee)
    fresh = enrolment.id is None
    enrolment.company = company if company is not None else trainee.company
    enrolment.source = source
    enrolment.price_excl_vat, enrolment.vat_rate = _price(session)
    _seat_or_waitlist(enrolment, actor, actor_label="" if actor else _SOURCES.get(source, ""),
                      kind="created" if fresh else "reopened",
                      message=f"Inscription ({_SOURCES.get(source, source)}).",
                      from_status=None if fresh else EnrolmentStatus.CANCELLED.value)
    db.session.flush()
    if notify:
        mails.enrolment_status(enrolment)
    return enrolment


_SOURCES = {"advisor": "conseiller", "public": "demande en ligne", "api": "API", "quote": "devis"}


def _found(getter, value, field: str, message: str, errors: ErrorCollector):
    """``getter(value)``, or None with ``message`` on ``field`` when nothing has that id."""
    try:
        return getter(value)
    except NotFoundError:
        errors.add(field, message)
        return None


def enrol_from_data(session: TrainingSession, data: dict, actor: User | None = None, source: str = "advisor"
                    ) -> Enrolment:
    """Enrol from ids or inline data: ``trainee_id``, ``trainee_search`` (trainee_named) or ``trainee`` {…},
    ``company_id``, ``company`` {…} or ``company_search`` (company_named).
    An unknown id is a field error (422) like any other bad input."""
    # The seat lock first: simultaneous requests naming the same new e-mail or SIRET then find the person or
    # the company created by the first one instead of inserting it twice.
    session_services.lock_session_seats(session.id)
    errors = ErrorCollector()
    trainee = company = None
    if data.get("company_id") not in (None, ""):
        company = _found(get_company, data["company_id"], "company_id", "Entreprise introuvable.", errors)
    elif data.get("company"):
        company = errors.run(find_or_create_company, data["company"], "company.")
    elif str(data.get("company_search") or "").strip():  # the form's field: a choice, a SIRET, or matches
        company = errors.run(company_named, data["company_search"])
        if company is not None and data.get("trainee"):  # a new trainee's employer, as the form names it
            data = {**data, "trainee": {**data["trainee"], "company_id": company.id}}
    if data.get("trainee_id") not in (None, ""):
        trainee = _found(get_trainee, data["trainee_id"], "trainee_id", "Stagiaire introuvable.", errors)
    elif str(data.get("trainee_search") or "").strip():  # the form's search: an e-mail, or matches to choose from
        trainee = errors.run(trainee_named, data["trainee_search"])
    elif data.get("trainee"):
        trainee_data = dict(data["trainee"])
        if company is not None and not trainee_data.get("company_id"):
            trainee_data["company_id"] = None
        trainee = errors.run(find_or_create_trainee, trainee_data, "trainee.")
        if trainee is not None and company is not None and trainee.company is None:
            trainee.company = company
    else:
        errors.add("trainee", "Indiquez le stagiaire (trainee_id ou trainee).")
    errors.raise_if_any()
    db.session.flush()
    return enrol(session, trainee, company=company, actor=actor, source=source)


# --------------------------------------------------------------------------- public requests


def request_enrolment(session: TrainingSession, data: dict) -> tuple[Enrolment, bool]:
    """A pre-registration from the public catalogue: the trainee (same e-mail, same person) and a
    "requested" enrolment that holds no seat until the advisor accepts it. Returns (enrolment, created)."""
    if not session.takes_enrolments or session.format != "inter":
        raise ValidationError("Cette session n'accepte pas de demande d'inscription en ligne.")
    session_services.lock_session_seats(session.id)  # the same person sending twice at once: one trainee
    errors = ErrorCollector()
    if not data.get("consent"):
        errors.add("consent", "Votre accord est nécessaire pour que nous traitions votre demande.")
    siret = errors.run(clean_siret, data.get("company_siret"), "company_siret", False) or ""
    company_name = str(data.get("company_name") or "").strip()[:200]
    trainee = errors.run(find_or_create_trainee, {**data, "company_id": None, "consent": data.get("consent")})
    errors.raise_if_any()
    db.session.flush()
    existing = db.session.scalar(select(Enrolment).where(Enrolment.session_id == session.id,
                                                         Enrolment.trainee_id == trainee.id))
    if existing is not None and existing.status != EnrolmentStatus.CANCELLED.value:
        return existing, False
    enrolment = _new_or_reopened(session, trainee)
    enrolment.status = EnrolmentStatus.REQUESTED.value
    enrolment.source = "public"
    enrolment.requested_company_name = company_name
    enrolment.requested_company_siret = siret
    enrolment.request_message = str(data.get("message") or "").strip()[:5000]
    enrolment.price_excl_vat, enrolment.vat_rate = _price(session)
    record_event(enrolment, "created", None, "Demande d'inscription en ligne.",
                 to_status=EnrolmentStatus.REQUESTED.value, actor_label="demande en ligne")
    db.session.flush()
    mails.request_received(enrolment)
    return enrolment, True


def accept_request(enrolment: Enrolment, actor: User, company_data: dict | None = None) -> Enrolment:
    """The advisor's one click on a public request: match or create the company, then take a seat (or the
    waiting list) like any enrolment. The company fields' errors name ``company_name`` and ``company_siret``."""
    session_services.lock_session_seats(enrolment.session_id)
    db.session.flush()
    db.session.refresh(enrolment)  # as it is now that we hold the lock: a second click finds it handled
    if enrolment.status != EnrolmentStatus.REQUESTED.value:
        raise ConflictError("Cette demande a déjà été traitée.")
    db.session.refresh(enrolment.session)
    _check_enrollable(enrolment.session)
    company_data = company_data or {}
    name = company_data.get("name", enrolment.requested_company_name)
    siret = company_data.get("siret", enrolment.requested_company_siret)
    if name or siret:
        enrolment.company = find_or_create_company({"name": name, "siret": siret}, prefix="company_")
        if enrolment.trainee.company is None:
            enrolment.trainee.company = enrolment.company
    elif enrolment.trainee.bpf_status == BpfStatus.EMPLOYEE.value:
        enrolment.trainee.bpf_status = BpfStatus.INDIVIDUAL.value
    _seat_or_waitlist(enrolment, actor)
    db.session.flush()
    mails.enrolment_status(enrolment)
    return enrolment


# --------------------------------------------------------------------------- decisions and status changes


def record_decision(enrolment: Enrolment, decision: str, comment: str, actor: User) -> Enrolment:
    """The advisor's prerequisite / positioning decision, with a comment (Qualiopi indicator 8).
    Admitted: a pending enrolment is confirmed. Redirected: the enrolment is cancelled and its seat freed."""
    if decision not in POSITIONING_DECISIONS:
        raise ValidationError("Décision inconnue : admis, admis avec adaptation ou réorienté.", field="decision")
    comment = str(comment or "").strip()
    if decision != "admitted" and len(comment) < 3:
        raise ValidationError("Expliquez l'adaptation prévue ou la réorientation proposée.", field="comment")
    session_services.lock_session_seats(enrolment.session_id)
    db.session.flush()
    db.session.refresh(enrolment)  # as it is now that we hold the lock
    if enrolment.status not in LIVE:
        raise ConflictError(f"L'inscription est « {enrolment.status_label.lower()} » : la décision n'a plus lieu "
                            "d'être.")
    enrolment.positioning_decision = decision
    enrolment.positioning_comment = comment[:5000]
    enrolment.positioning_decided_at = utcnow()
    enrolment.positioning_decided_by_id = actor.id
    record_event(enrolment, "decision", actor, f"{POSITIONING_DECISIONS[decision]}. {comment}".strip())
    if decision == "redirected":
        cancel(enrolment, actor, f"Réorientation : {comment}", _locked=True)
    elif enrolment.status == EnrolmentStatus.PENDING_PREREQUISITE.value:
        _set_status(enrolment, EnrolmentStatus.CONFIRMED.value, actor, "Prérequis validés.")
        mails.enrolment_status(enrolment)
    return enrolment


def cancel(enrolment: Enrolment, actor: User | None, reason: str, *, notify: bool = True,
           _locked: bool = False) -> Enrolment:
    """Cancel (who, when, why). A freed seat goes to the first person on the waiting list."""
    reason = str(reason or "").strip()
    if len(reason) < 3:
        raise ValidationError("Indiquez le motif de l'annulation.", field="reason")
    if not _locked:
        session_services.lock_session_seats(enrolment.session_id)
        # Read it again under the lock: of two simultaneous cancellations, the second finds it cancelled.
        db.session.flush()
        db.session.refresh(enrolment)
    legal_step(TRANSITIONS, EnrolmentStatus.CANCELLED.value, enrolment, refusal=cannot_cancel)
    freed = enrolment.holds_seat
    was_waitlisted = enrolment.status == EnrolmentStatus.WAITLISTED.value
    _set_status(enrolment, EnrolmentStatus.CANCELLED.value, actor, reason)
    enrolment.cancelled_at = utcnow()
    enrolment.cancelled_by_id = actor.id if actor is not None else None
    enrolment.cancel_reason = reason[:5000]
    db.session.flush()
    if notify:
        mails.enrolment_cancelled(enrolment)
    if was_waitlisted:
        _renumber_waitlist(enrolment.session)
    if freed:
        promote_waitlist(enrolment.session, actor)
    return enrolment


def _renumber_waitlist(session: TrainingSession) -> None:
    waiting = db.session.scalars(select(Enrolment).where(
        Enrolment.session_id == session.id, Enrolment.status == EnrolmentStatus.WAITLISTED.value
    ).order_by(Enrolment.waitlist_position, Enrolment.id))
    for position, enrolment in enumerate(waiting, 1):
        enrolment.waitlist_position = position


def promote_waitlist(session: TrainingSession, actor: User | None = None) -> list[Enrolment]:
    """Give free seats to the waiting list, first come first served; each promoted person is told.
    The caller holds the session's seat lock."""
    promoted = []
    db.session.flush()
    while True:
        taken = session_services.seats_taken([session.id])[session.id]
        if taken >= session.capacity:
            break
        first = db.session.scalar(select(Enrolment).where(
            Enrolment.session_id == session.id, Enrolment.status == EnrolmentStatus.WAITLISTED.value
        ).order_by(Enrolment.waitlist_position, Enrolment.id).limit(1))
        if first is None:
            break
        status = _seat_status(first)
        _set_status(first, status, actor, "Une place s'est libérée : sortie de la liste d'attente.",
                    kind="promoted")
        db.session.flush()
        mails.promoted(first)
        record_event(first, "notified", None, "Prévenu(e) par e-mail de sa sortie de la liste d'attente.")
        promoted.append(first)
    _renumber_waitlist(session)
    return promoted


def mark_outcome(enrolment: Enrolment, status: str, actor: User) -> Enrolment:
    """After the session has started: absent (no-show), completed or abandoned."""
    if status not in FINAL_MARKS:
        raise ValidationError("Statut inconnu pour le bilan de l'inscription.", field="status")
    if not enrolment.session.has_started:
        raise ConflictError("Le bilan des inscriptions se fait une fois la session commencée.")
    legal_step(TRANSITIONS, status, enrolment, refusal=cannot_mark)
    _set_status(enrolment, status, actor)
    return enrolment


def record_attendance_outcome(enrolment: Enrolment, status: str, hours: Decimal) -> bool:
    """The session has ended: the attendance record sets the hours attended and the outcome (completed,
    abandoned or no-show). Only a confirmed or already assessed enrolment changes. Returns whether the
    status changed."""
    if status not in FINAL_MARKS:
        raise ValidationError("Statut inconnu pour le bilan de l'inscription.", field="status")
    if not enrolment.is_expected:
        return False
    enrolment.hours_attended = hours
    if enrolment.status == status:
        return False
    _set_status(enrolment, status, None, f"D'après l'émargement : {hours_fr(hours)} de présence.",
                actor_label="Émargement")
    return True


def on_session_cancelled(session: TrainingSession, actor: User | None = None, reason: str = "") -> None:
    """A cancelled session cancels its live enrolments and tells each person why."""
    for enrolment in db.session.scalars(select(Enrolment).where(Enrolment.session_id == session.id,
                                                                Enrolment.status.in_(LIVE))
                                        .order_by(Enrolment.id)):  # the e-mails in enrolment order, on any database
        _set_status(enrolment, EnrolmentStatus.CANCELLED.value, actor, f"Session annulée : {reason}")
        enrolment.cancelled_at = utcnow()
        enrolment.cancelled_by_id = actor.id if actor is not None else None
        enrolment.cancel_reason = f"Session annulée : {reason}"
        mails.session_cancelled(enrolment, reason)


def on_seats_changed(session: TrainingSession, actor: User | None = None) -> None:
    if session.takes_enrolments:
        promote_waitlist(session, actor)


session_services.session_cancelled.connect(on_session_cancelled)
session_services.seats_changed.connect(on_seats_changed)


# --------------------------------------------------------------------------- funding


def _hourly_rate(value, errors: ErrorCollector) -> Decimal | None:
    """An OPCO's hourly rate excluding VAT: required, > 0, two decimals at most."""
    field = "hourly_rate"
    if value is None or (isinstance(value, str) and not value.strip()):
        errors.add(field, "Indiquez le taux horaire HT que l'OPCO paie par heure suivie.")
        return None
    number = None
    if not isinstance(value, bool):
        try:
            number = (value if isinstance(value, Decimal) else Decimal(str(value)) if isinstance(value, (int, float))
                      else french_decimal(str(value)))
        except (InvalidOperation, ValueError):
            number = None
    if number is None or not number.is_finite():
        errors.add(field, "Le taux horaire doit être un nombre, par exemple 45 ou 37,50.")
    elif number <= 0:
        errors.add(field, "Le taux horaire doit être supérieur à 0 €.")
    elif number != number.quantize(Decimal("0.01")):
        errors.add(field, "Le taux horaire : deux décimales au plus.")
    elif number > MAX_AMOUNT:
        errors.add(field, "Le taux horaire doit être inférieur à 10 millions d'euros.")
    else:
        return number.quantize(Decimal("0.01"))
    return None


def _billing_basis(data: dict, kind: str, errors: ErrorCollector) -> tuple[str, Decimal | None]:
    """(billing_basis, hourly_rate): per hour attended only for an OPCO line, with its rate; a flat line has no
    rate (one typed is cleared)."""
    basis = str(data.get("billing_basis") or "flat")
    if basis not in BILLING_BASES:
        errors.add("billing_basis", "Mode de facturation inconnu : forfait ou heures suivies × taux horaire.")
        return "flat", None
    if basis == "flat":
        return "flat", None
    if kind != FundingKind.OPCO.value:
        if kind in FUNDING_KINDS:
            errors.add("billing_basis", "La facturation aux heures suivies ne concerne que les financements OPCO.")
        return "flat", None
    return basis, _hourly_rate(data.get("hourly_rate"), errors)


def clean_funding_data(data: dict, enrolment: Enrolment, line: FundingLine | None = None) -> dict:
    """The columns of a funding line from raw input, or a ValidationError with every French message: the kind's
    funder and reference (funders.FUNDERS), its Chorus Pro fields, and amounts within the enrolment's price (the
    enrolment's other lines counted, ``line`` being the one edited)."""
    errors = ErrorCollector()
    kind = str(data.get("kind") or "")
    if kind not in FUNDING_KINDS:
        errors.add("kind", "Financeur inconnu : entreprise, OPCO, fonds des non-salariés, France Travail, financeur "
                           "public, acheteur public ou stagiaire.")
    out = _funding_values(data, kind, errors)
    if kind in FUNDERS:
        _clean_agreement(out, data, FUNDERS[kind], enrolment, errors)
    else:
        out.update({"opco_name": "", "opco_file_number": "", "opco_member_number": "", "opco_status": "",
                    "opco_contact_email": "", "subrogation": False, "requested_amount": None, "agreed_amount": None,
                    "requested_on": None, "agreed_on": None, "refused_on": None, "agreed_hours": None})
    _clean_chorus(out, data, kind, enrolment, errors)
    _check_price(out, enrolment, line, errors)
    out["payer_company"] = None if kind == FundingKind.INDIVIDUAL.value else enrolment.company
    errors.raise_if_any()
    return out


def _funding_values(data: dict, kind: str, errors: ErrorCollector) -> dict:
    """Amounts, dates and texts as typed, parsed and within the columns' lengths."""
    # decision: a line of the new funders' kinds is more than 0 € (unless refused); the existing kinds keep their
    # 0 € lines (a refused OPCO file, an employer's 0 € share).
    positive = kind in FUNDERS and kind != FundingKind.OPCO.value and str(data.get("opco_status") or "") != OpcoStatus.REFUSED.value
    out: dict = {"kind": kind}
    out["amount"] = parse_decimal(data.get("amount"), "amount", errors, label="Le montant", required=True,
                                  positive=positive)
    out["requested_amount"] = parse_decimal(data.get("requested_amount"), "requested_amount", errors,
                                            label="Le montant demandé")
    out["agreed_amount"] = parse_decimal(data.get("agreed_amount"), "agreed_amount", errors,
                                         label="Le montant accordé")
    for key in ("requested_on", "agreed_on", "refused_on"):
        out[key] = parse_date(data.get(key), key, errors, label="La date", required=False)
    # The columns' lengths: a longer text is refused with a message (PostgreSQL would refuse it with an error).
    limits = {"opco_name": 60, "opco_file_number": 60, "opco_member_number": 60, "opco_status": 20,
              "service_code": 100, "engagement_number": 100, "notes": 5000}
    for key, limit in limits.items():
        value = str(data.get(key) or "").strip()
        if len(value) > limit:
            errors.add(key, f"Ce champ ne doit pas dépasser {limit} caractères.")
        out[key] = value[:limit]
    out["subrogation"] = bool(data.get("subrogation"))
    out["billing_basis"], out["hourly_rate"] = _billing_basis(data, kind, errors)
    return out


def _clean_agreement(out: dict, data: dict, funder: Funder, enrolment: Enrolment, errors: ErrorCollector) -> None:
    """A funder's decision: its name, the status of the request with its amount and dates, its reference, the
    adviser's e-mail and the hours it pays for."""
    if funder.fixed_name:
        out["opco_name"] = funder.fixed_name
    elif "opco_name" not in errors.fields and (
            not out["opco_name"] or (funder.names is not None and out["opco_name"] not in funder.names)):
        errors.add("opco_name", funder.name_message)
    out["opco_status"] = out["opco_status"] or OpcoStatus.TO_REQUEST.value
    if out["opco_status"] not in OPCO_STATUSES and "opco_status" not in errors.fields:
        errors.add("opco_status", "État inconnu.")
    if out["opco_status"] == OpcoStatus.AGREED.value:
        if out["agreed_amount"] is None and "agreed_amount" not in errors.fields:
            errors.add("agreed_amount", f"Indiquez le montant accordé par {funder.noun}.")
        if out["agreed_on"] is None and "agreed_on" not in errors.fields:
            errors.add("agreed_on", "Indiquez la date de l'accord.")
    filed = funder.reference_always or out["opco_status"] in FILED_REQUESTS
    if filed and not out["opco_file_number"]:
        errors.add("opco_file_number", funder.reference_missing)
    if out["opco_status"] == OpcoStatus.REFUSED.value and out["refused_on"] is None and "refused_on" not in errors.fields:
        errors.add("refused_on", "Indiquez la date du refus.")
    out["opco_contact_email"] = ""
    if str(data.get("opco_contact_email") or "").strip():
        out["opco_contact_email"] = errors.run(normalise_email, str(data.get("opco_contact_email")),
                                               field="opco_contact_email") or ""
    out["agreed_hours"] = _agreed_hours(data.get("agreed_hours"), enrolment.session, errors)
    if funder.kind not in ("opco", "france_travail"):  # the OPCO's member number; France Travail's identifier
        out["opco_member_number"] = ""
    if not funder.subrogation:
        out["subrogation"] = False


def _agreed_hours(value, session: TrainingSession, errors: ErrorCollector) -> Decimal | None:
    """The hours a funder pays for: optional, > 0, two decimals, not above the session's planned hours (the
    course's duration while no half-day is planned)."""
    hours = parse_decimal(value, "agreed_hours", errors, label="Le nombre d'heures prises en charge", positive=True)
    planned = session.planned_hours or session.course_version.duration_hours
    if hours is not None and planned and hours > planned:
        errors.add("agreed_hours", f"Les heures prises en charge ({hours_fr(hours)}) dépassent la durée de la "
                                   f"session ({hours_fr(planned)}).")
        return None
    return hours


def _clean_chorus(out: dict, data: dict, kind: str, enrolment: Enrolment, errors: ErrorCollector) -> None:
    """SIRET, service code and engagement number of a public buyer (the employer's by default) or of a public
    funder (Chorus Pro); the category of a public funder (its BPF line). Other kinds have none."""
    category = str(data.get("funder_category") or "").strip()
    out["funder_category"] = category if kind == FundingKind.PUBLIC_FUNDER.value and category in PUBLIC_FUNDER_CATEGORIES else ""
    if kind == FundingKind.PUBLIC_FUNDER.value and not out["funder_category"]:
        errors.add("funder_category", "Choisissez la catégorie du financeur public : conseil régional, État, "
                                      "instances européennes ou autre financeur public.")
    if kind == FundingKind.PUBLIC_FUNDER.value:
        out["buyer_siret"] = errors.run(clean_siret, data.get("buyer_siret"), "buyer_siret", True) or ""
        return
    if kind != FundingKind.PUBLIC_BUYER.value:
        out["buyer_siret"] = out["service_code"] = out["engagement_number"] = ""
        return
    company = enrolment.company
    out["buyer_siret"] = errors.run(clean_siret, data.get("buyer_siret") or (company.siret if company else ""),
                                    "buyer_siret", True) or ""
    if company is not None and company.is_public_buyer:
        out["service_code"] = out["service_code"] or company.chorus_service_code
        if company.engagement_required and not out["engagement_number"]:
            errors.add("engagement_number", f"{company.name} exige un numéro d'engagement sur ses factures.")


def _check_price(out: dict, enrolment: Enrolment, line: FundingLine | None, errors: ErrorCollector) -> None:
    """Neither the lines together (``line`` counted once, with its new amount) nor a requested or agreed amount go
    above the enrolment's price including VAT."""
    price = enrolment.price_incl_vat
    for key, label in (("requested_amount", "Le montant demandé"), ("agreed_amount", "Le montant accordé")):
        if out[key] is not None and out[key] > price:
            errors.add(key, f"{label} ({money_fr(out[key])}) dépasse le prix de l'inscription "
                            f"({money_fr(price)} TTC).")
    if out["amount"] is None:
        return
    query = select(FundingLine.amount).where(FundingLine.enrolment_id == enrolment.id)
    if line is not None and line.id is not None:
        query = query.where(FundingLine.id != line.id)
    others = sum(db.session.scalars(query), Decimal("0.00"))
    if others + out["amount"] > price:
        left = max(price - others, Decimal("0.00"))
        errors.add("amount", f"Les financements dépasseraient le prix de l'inscription ({money_fr(price)} TTC) : "
                             f"il reste {money_fr(left)} à financer.")


def save_funding_line(enrolment: Enrolment, line: FundingLine | None, data: dict, actor: User | None = None
                      ) -> FundingLine:
    """Add or change a funding line; the history names the funder, and its decision when it changes."""
    lock_row(Enrolment, enrolment.id)  # two lines saved at once never add up beyond the price
    clean = clean_funding_data(data, enrolment, line)
    created = line is None
    if created:
        line = FundingLine(enrolment=enrolment)
    before = None if created else (line.billing_basis, line.hourly_rate, line.opco_status)
    for key, value in clean.items():
        setattr(line, key, value)
    if created:
        db.session.add(line)
        decision = f" ; {funders.status_text(line)}" if line.kind in FUNDERS else ""
        record_event(enrolment, "funding", actor, f"Financement ajouté : {funders.describe(line)}{decision}.")
    elif line.kind in FUNDERS and line.opco_status != before[2]:
        agreed = f" ({money_fr(line.agreed_amount)})" if line.opco_status == OpcoStatus.AGREED.value else ""
        record_event(enrolment, "funding", actor, f"{funders.describe(line)} : {funders.status_text(line)}{agreed}.")
    if clean["kind"] == "opco" and (clean["billing_basis"], clean["hourly_rate"]) != (
            (before or ("flat", None))[:2]):
        record_event(enrolment, "funding", actor, f"Facturation de {clean['opco_name']} : {line.billing_basis_text}.")
    return line


def delete_funding_line(line: FundingLine, actor: User | None = None) -> None:
    record_event(line.enrolment, "funding", actor, f"Financement retiré : {funders.describe(line)}.")
    db.session.delete(line)


def funding_difference(enrolment: Enrolment) -> Decimal:
    """Price including VAT minus what the funding lines cover (0 when they add up)."""
    covered = sum((line.amount for line in enrolment.funding_lines), Decimal("0.00"))
    return enrolment.price_incl_vat - covered


def funding_warnings(enrolment: Enrolment) -> list[str]:
    """Where the trainee's BPF status contradicts a funder's (France Travail funds job seekers, the funds of the
    self-employed fund the self-employed): the BPF counts such a trainee on the funder's line of F-1, not the
    status's, and says so."""
    trainee = enrolment.trainee
    warnings = []
    for line in enrolment.funding_lines:
        funder = FUNDERS.get(line.kind)
        if funder is None or not funder.bpf_status or trainee.bpf_status == funder.bpf_status:
            continue
        expected = BPF_STATUSES[funder.bpf_status].lower()
        text = (f"Financement {funders.describe(line)} alors que le statut du stagiaire (BPF) est "
                f"« {trainee.bpf_status_label} » : ce financeur finance un « {expected} ». Corrigez le statut sur la "
                "fiche du stagiaire, ou le financement.")
        if text not in warnings:
            warnings.append(text)
    return warnings


def funding_board_conditions(today: dt.date, kind: str | None = None, status: str | None = None) -> tuple:
    """SQL conditions on FundingLine joined to its Enrolment: the funders' files (every AGREEMENT_KIND, or ``kind``)
    of live enrolments in sessions still to come (a slot from ``today`` on) without an agreement yet; with
    ``status`` (OPCO_STATUSES) only the files in that state ("requested": awaiting the funder's decision)."""
    upcoming = select(Slot.session_id).where(Slot.date >= today)
    return (FundingLine.kind.in_([kind] if kind else AGREEMENT_KINDS), FundingLine.opco_status != OpcoStatus.AGREED.value,
            *((FundingLine.opco_status == status,) if status else ()),
            Enrolment.status.in_(LIVE), Enrolment.session_id.in_(upcoming))


def funding_board(today: dt.date | None = None, kind: str | None = None, status: str | None = None
                  ) -> list[FundingLine]:
    """The files of funding_board_conditions, oldest request first."""
    today = today or paris_today()
    lines = db.session.scalars(
        select(FundingLine).join(Enrolment).where(*funding_board_conditions(today, kind, status)).options(selectinload(FundingLine.enrolment).selectinload(Enrolment.trainee),
                  *_session_load_options(selectinload(FundingLine.enrolment).selectinload(Enrolment.session)))
    )
    far = dt.date.max
    return sorted(lines, key=lambda line: (line.requested_on or far, line.created_at, line.id))


# --------------------------------------------------------------------------- positioning questionnaire


def _same_need(text: str) -> str:
    return " ".join(text.split()).casefold()


def record_positioning_answers(enrolment: Enrolment, *, message: str, prerequisite_confirmed: bool = False,
                               accessibility: list[str] | tuple[str, ...] = ()) -> None:
    """What the trainee's submitted positioning questionnaire changes (called by evaluations.services):
    a confirmed prerequisite is dated, adaptation needs are added once to the trainee's record (so that the
    advisor and the session's trainer see them), the history gets a "positioning" event. The admission
    decision stays the advisor's (record_decision)."""
    if prerequisite_confirmed and enrolment.prerequisite_confirmed_at is None:
        enrolment.prerequisite_confirmed_at = utcnow()
    trainee = enrolment.trainee
    needs = (trainee.accessibility_needs or "").strip()
    for text in accessibility:
        text = str(text or "").strip()
        known = _same_need(needs)
        if text and _same_need(text) not in known:
            needs = f"{needs}\n{text}" if needs else text
    trainee.accessibility_needs = needs
    record_event(enrolment, "positioning", None, message, actor_label=f"{trainee.full_name} (stagiaire)")
