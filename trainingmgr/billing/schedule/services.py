"""The payment schedule (échéancier) of a contrat de formation (L6353-5, L6353-6): calls (``PaymentCall``) that
become invoices when due (their job, the morning of their date), then e-mailed with their transfer QR code by the
automation rule « Échéance d'un contrat de formation » (automations/triggers/billing.py). The rules: see
docs/payments.md."""
from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from sqlalchemy import select

from ...accounts.models import User
from ...core.errors import ConflictError, DomainError, ErrorCollector, NotFoundError, ValidationError
from ...core.formatting import date_fr, money_fr
from ...core.numbers import money
from ...core.persistence import lock_row
from ...core.timeutil import paris_datetime, paris_today, utcnow
from ...core.validation import parse_date, parse_decimal
from ...enrolments import contract
from ...enrolments.models import ENROLMENT_STATUS_LABELS, Enrolment, EnrolmentStatus, FundingLine
from ...extensions import db
from ...messaging.models import Job
from ...messaging.services import (
    JOB_KIND_LABELS,
    TOPIC_LABELS,
    Postpone,
    cancel_job,
    forget_job,
    job_handler,
    schedule_job,
)
from ..invoices.amounts import current_vat_rate, excl_vat, incl_vat, recompute
from ..invoices.drafts import MAX_DESCRIPTION
from ..invoices.issue import issue_invoice
from ..invoices.payers import previous_buyer, trainee_values
from ..invoices.queries import ensure_can_bill
from ..kinds import PayerKind
from ..models import Invoice, InvoiceKind, InvoiceLine, InvoiceStatus, PaymentCall

CENT = Decimal("0.01")
MAX_CALLS = 36
SEND_TIME = dt.time(8, 0)  # Paris: a call due on a day leaves that morning
JOB_KIND = "payment_call"  # the call's job: its invoice issued on its date
TOPIC = "payment_call"  # the outbox topic of the call's e-mail (the default rule's)
# Enrolments whose schedule may be set (and, with no-shows, whose calls may still be sent).
SCHEDULED_STATUSES = (EnrolmentStatus.CONFIRMED.value, EnrolmentStatus.COMPLETED.value)
# Enrolments whose planned calls are cancelled (an abandonment: hours attended, L6353-7).
CALLS_STOPPED = (EnrolmentStatus.CANCELLED.value, EnrolmentStatus.ABANDONED.value)
ADDRESS_LIMITS = {"buyer_address": 255, "buyer_postal_code": 10, "buyer_city": 120}
JOB_KIND_LABELS[JOB_KIND] = "Échéance d'un contrat de formation (facture)"
TOPIC_LABELS[TOPIC] = "Échéance de paiement (contrat de formation)"


@dataclass
class ProposedCall:
    due_on: dt.date
    amount: Decimal


def _floor(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_DOWN)


def first_call_cap(amount: Decimal) -> Decimal:
    """30 % of what the trainee pays, rounded down to the cent (L6353-6)."""
    return _floor(amount * contract.MAX_FIRST_CALL_PERCENT / 100)


# --------------------------------------------------------------------------- reading


def calls_of(enrolment: Enrolment) -> list[PaymentCall]:
    return list(db.session.scalars(select(PaymentCall).where(PaymentCall.enrolment_id == enrolment.id)
                                   .order_by(PaymentCall.due_on, PaymentCall.position)))


def get_call(enrolment: Enrolment, call_id) -> PaymentCall:
    call = db.session.get(PaymentCall, call_id) if isinstance(call_id, int) else None
    if call is None or call.enrolment_id != enrolment.id:
        raise NotFoundError("Échéance introuvable.")
    return call


def trainee_share(enrolment: Enrolment) -> tuple[Decimal, FundingLine | None]:
    """What the trainee pays (including VAT) and the funding line it is invoiced on (None: no funding line)."""
    lines = [line for line in enrolment.funding_lines if line.kind == PayerKind.INDIVIDUAL.value]
    if lines:
        return money(sum((line.amount for line in lines), Decimal(0))), lines[0]
    if enrolment.funding_lines or enrolment.trainee.company_id is not None:
        raise ConflictError(f"Rien n'est à la charge de {enrolment.trainee.full_name} dans les financements : ajoutez "
                            "une ligne « Stagiaire (à ses frais) » avec ce qu'il ou elle paie.")
    return enrolment.price_incl_vat, None


def _withdrawal_end(enrolment: Enrolment) -> dt.date:
    """The contract's withdrawal period's last day; a ConflictError when the enrolment has no schedule to set."""
    if not contract.is_individual(enrolment):
        raise ConflictError("Le stagiaire est inscrit par une entreprise : une convention s'applique, pas un contrat "
                            "de formation ni son échéancier.")
    if enrolment.status not in SCHEDULED_STATUSES:
        label = ENROLMENT_STATUS_LABELS.get(enrolment.status, enrolment.status).lower()
        raise ConflictError(f"L'inscription est « {label} » : pas d'échéancier de paiement.")
    ends = contract.withdrawal_ends(enrolment)
    if ends is None:
        raise ConflictError("Enregistrez d'abord la date de signature du contrat de formation : rien ne peut être "
                            "demandé au stagiaire avant la fin du délai de rétractation qui court à partir d'elle "
                            "(articles L6353-5 et L6353-6 du Code du travail).")
    return ends


def _job_key(call: PaymentCall) -> str:
    return f"{JOB_KIND}:{call.id}"


def refusals(calls: list[PaymentCall]) -> dict[int, tuple[str, dt.datetime]]:
    """Why each planned call could not be sent yet, and when its job tries again, by call id."""
    keys = {_job_key(c): c.id for c in calls if c.is_planned}
    if not keys:
        return {}
    jobs = db.session.scalars(select(Job).where(Job.key.in_(keys), Job.last_error != ""))
    return {keys[job.key]: (job.last_error, job.due_at) for job in jobs}


def known_address(enrolment: Enrolment) -> dict:
    """The trainee's billing address as their last invoice states it ({} when none is known)."""
    values = previous_buyer({}, Invoice.payer_trainee_id == enrolment.trainee_id)
    return {key: values[key] for key in ADDRESS_LIMITS if values.get(key)}


# --------------------------------------------------------------------------- proposal


def _add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1]))


def course_call_dates(first_day: dt.date, last_day: dt.date) -> list[dt.date]:
    """The first day, then one a month after it while the course lasts, and the last day."""
    dates, months = [first_day], 1
    while (day := _add_months(first_day, months)) < last_day:
        dates.append(day)
        months += 1
    return sorted(set(dates + [last_day]))


def _split(amount: Decimal, dates: list[dt.date]) -> list[ProposedCall]:
    """``amount`` in equal calls on ``dates``, the last one taking the cents left."""
    each = _floor(amount / len(dates))
    calls = [ProposedCall(day, each) for day in dates[:-1]]
    calls.append(ProposedCall(dates[-1], amount - each * (len(dates) - 1)))
    return [c for c in calls if c.amount > 0]


def propose(enrolment: Enrolment, today: dt.date | None = None) -> list[ProposedCall]:
    """The calls the rules allow for what the trainee still has to be asked (see docs/payments.md)."""
    ends = _withdrawal_end(enrolment)
    today = today or paris_today()
    amount, _ = trainee_share(enrolment)
    sent = [c for c in calls_of(enrolment) if c.is_sent]
    left = amount - sum((c.amount for c in sent), Decimal(0))
    if left <= 0:
        return []
    start = max(ends + dt.timedelta(days=1), today)
    session = enrolment.session
    first_day, last_day = session.first_date or start, session.last_date or start
    if start > last_day:
        return [ProposedCall(start, left)]
    first = min(left, first_call_cap(amount)) if not sent else Decimal(0)
    dates = [d for d in course_call_dates(first_day, last_day) if d > start] or [start + dt.timedelta(days=1)]
    calls = [ProposedCall(start, first)] if first > 0 else []
    return calls + _split(left - first, dates)


# --------------------------------------------------------------------------- saving


def _parse_calls(rows: list[dict], first_position: int, errors: ErrorCollector) -> list[tuple[str, ProposedCall]]:
    """The typed calls (a row left blank is ignored), each with the prefix of its fields ("calls-0")."""
    parsed = []
    for index, row in enumerate(rows):
        if all(row.get(key) is None or not str(row.get(key)).strip() for key in ("due_on", "amount")):
            continue
        name = f"Échéance {first_position + len(parsed)}"
        due_on = parse_date(row.get("due_on"), f"calls-{index}-due_on", errors, label=f"La date de l'{name.lower()}")
        amount = parse_decimal(row.get("amount"), f"calls-{index}-amount", errors,
                               label=f"Le montant de l'{name.lower()}", required=True, positive=True)
        parsed.append((f"calls-{index}", ProposedCall(due_on, amount)))
    if len(parsed) > MAX_CALLS:
        errors.add("schedule", f"Un échéancier compte {MAX_CALLS} échéances au plus.")
    return parsed


def check_calls(enrolment: Enrolment, typed: list[tuple[str, ProposedCall]], sent: list[PaymentCall],
                today: dt.date) -> None:
    """The contract's rules on the whole schedule (the calls sent, then the typed ones): a ValidationError naming
    each call at fault."""
    ends = _withdrawal_end(enrolment)
    amount, _ = trainee_share(enrolment)
    cap = first_call_cap(amount)
    session = enrolment.session
    first_day, last_day = session.first_date, session.last_date
    errors = ErrorCollector()
    names = {prefix: f"Échéance {n}" for n, (prefix, _) in enumerate(typed, len(sent) + 1)}
    for prefix, call in typed:
        if call.due_on <= ends:
            errors.add(f"{prefix}-due_on", f"{names[prefix]} : le {date_fr(call.due_on)} tombe dans le délai de "
                                           f"rétractation (jusqu'au {date_fr(ends)} inclus) ; rien ne peut être "
                                           "demandé avant sa fin (article L6353-6 du Code du travail).")
        elif call.due_on < today:
            errors.add(f"{prefix}-due_on", f"{names[prefix]} : le {date_fr(call.due_on)} est passé ; datez-la "
                                           "d'aujourd'hui au plus tôt.")
    everything = sorted([(c.due_on, c.amount, None) for c in sent] + [(c.due_on, c.amount, p) for p, c in typed],
                        key=lambda item: (item[0], item[2] is not None))
    if not everything:
        errors.add("schedule", "Indiquez au moins une échéance.")
    else:
        due_on, first, prefix = everything[0]
        if prefix is not None and first > cap and (last_day is None or due_on <= last_day):
            errors.add(f"{prefix}-amount", f"{names[prefix]} : {money_fr(first)} dépasse 30 % de ce que "
                                           f"paie le stagiaire ({money_fr(amount)}) : le premier paiement est limité à "
                                           f"{money_fr(cap)} (article L6353-6 du Code du travail).")
    early = [(d, a, p) for d, a, p in everything if first_day is not None and d < first_day]
    first_refused = any(key.endswith("-amount") for key in errors.fields)
    if sum((a for _, a, _ in early), Decimal(0)) > cap and any(p for _, _, p in early) and not first_refused:
        errors.add(next(p for _, _, p in reversed(early) if p) + "-amount",
                   f"Les échéances dues avant le début de la formation (le {date_fr(first_day)}) totalisent "
                   f"{money_fr(sum((a for _, a, _ in early), Decimal(0)))} : 30 % au plus, soit {money_fr(cap)} ; "
                   "le solde se paie au fur et à mesure de la formation (article L6353-6 du Code du travail).")
    total = sum((a for _, a, _ in everything), Decimal(0))
    if everything and total != amount:
        gap = f"il manque {money_fr(amount - total)}" if total < amount else f"{money_fr(total - amount)} de trop"
        errors.add("schedule", f"Les échéances totalisent {money_fr(total)} alors que le stagiaire doit "
                            f"{money_fr(amount)} ({gap}).")
    errors.raise_if_any()


def save(enrolment: Enrolment, rows: list[dict], actor: User | None, today: dt.date | None = None
         ) -> list[PaymentCall]:
    """Replace the calls not sent yet by ``rows`` ({due_on, amount} each), once the whole schedule follows the
    contract's rules; each new call's job is scheduled for its due date."""
    ensure_can_bill(actor)
    _withdrawal_end(enrolment)
    lock_row(Enrolment, enrolment.id)  # a call being sent meanwhile: this waits, then finds it sent
    db.session.refresh(enrolment)
    today = today or paris_today()
    existing = calls_of(enrolment)
    sent = [c for c in existing if c.is_sent]
    errors = ErrorCollector()
    typed = _parse_calls(rows, len(sent) + 1, errors)
    errors.raise_if_any()
    check_calls(enrolment, typed, sent, today)
    _remove_planned([c for c in existing if c.is_planned])
    position = max((c.position for c in existing if not c.is_planned), default=0)
    made = []
    for _, call in sorted(typed, key=lambda item: item[1].due_on):
        position += 1
        made.append(PaymentCall(enrolment_id=enrolment.id, position=position, due_on=call.due_on,
                                amount=call.amount, status="planned", created_by_id=actor.id if actor else None))
    db.session.add_all(made)
    db.session.flush()
    for call in made:
        schedule_job(JOB_KIND, _job_key(call), paris_datetime(call.due_on, SEND_TIME).astimezone(dt.UTC),
                     {"call": call.id})
    return made


def _remove_planned(calls: list[PaymentCall]) -> None:
    for call in calls:
        forget_job(_job_key(call))
        db.session.delete(call)
    db.session.flush()  # their positions are free for the new calls


# --------------------------------------------------------------------------- sending


def _numbering(call: PaymentCall, calls: list[PaymentCall]) -> tuple[int, int]:
    """The call's rank and the number of calls (cancelled ones aside): « Échéance 2/3 »."""
    live = [c for c in calls if not c.is_cancelled]
    return live.index(call) + 1, len(live)


def _check_before_course(call: PaymentCall, enrolment: Enrolment, calls: list[PaymentCall], today: dt.date) -> None:
    """Sent before the course's first day, what was asked so far and this call stay within 30 %."""
    first_day = enrolment.session.first_date
    if first_day is None or today >= first_day:
        return
    cap = first_call_cap(trainee_share(enrolment)[0])
    asked = sum((c.amount for c in calls if c.is_sent), Decimal(0))
    if asked + call.amount > cap:
        raise ConflictError(f"Avant le début de la formation (le {date_fr(first_day)}), 30 % au plus de ce que paie "
                            f"le stagiaire peuvent être demandés, soit {money_fr(cap)} : {money_fr(asked)} l'ont déjà "
                            f"été, cette échéance de {money_fr(call.amount)} les dépasserait (article L6353-6 du Code "
                            "du travail).")


def clean_address(data: dict | None) -> dict:
    """A typed postal address (street, postal code, city), {} when none was typed."""
    data = data or {}
    values = {key: str(data.get(key) or "").strip() for key in ADDRESS_LIMITS}
    if not any(values.values()):
        return {}
    errors = ErrorCollector()
    for key, limit in ADDRESS_LIMITS.items():
        if not values[key]:
            errors.add(key, "Complétez l'adresse : rue, code postal et ville.")
        elif len(values[key]) > limit:
            errors.add(key, f"Ce champ ne doit pas dépasser {limit} caractères.")
    errors.raise_if_any()
    return values


def _excl_exact(amount: Decimal, rate: Decimal) -> Decimal:
    """The price excluding VAT whose total including VAT is ``amount`` to the cent, when one exists."""
    base = excl_vat(amount, rate)
    return next((p for p in (base, base - CENT, base + CENT) if incl_vat(p, rate) == amount), base)


def _draft(call: PaymentCall, enrolment: Enrolment, line: FundingLine | None, rank: str, address: dict,
           actor: User | None) -> Invoice:
    """The call's invoice to the trainee, as a draft about to be issued."""
    session, trainee = enrolment.session, enrolment.trainee
    invoice = Invoice(kind=InvoiceKind.INVOICE.value, status=InvoiceStatus.DRAFT.value, session_id=session.id,
                      payer_kind=PayerKind.INDIVIDUAL.value,
                      service_start=session.first_date, service_end=session.last_date,
                      created_by_id=actor.id if actor else None,
                      **{**trainee_values(trainee), **address})
    rate = current_vat_rate()
    description = (f"Échéance {rank} du contrat de formation – formation « {session.title} » {session.dates_label} – "
                   f"{trainee.full_name}")
    invoice.lines.append(InvoiceLine(
        description=description[:MAX_DESCRIPTION], quantity=Decimal(1), unit="C62",
        unit_price_excl_vat=_excl_exact(call.amount, rate), vat_rate=rate, enrolment_id=enrolment.id,
        funding_line_id=line.id if line is not None else None, total_excl_vat=Decimal("0.00")))
    recompute(invoice)
    db.session.add(invoice)
    db.session.flush()
    return invoice


def send_call(call: PaymentCall, actor: User | None, today: dt.date | None = None,
              address: dict | None = None) -> Invoice:
    """Invoice the call to the trainee now (issued through ``issue_invoice`` and its contract rules) and mark it
    sent; the automation rule « Échéance d'un contrat de formation » e-mails the invoice with its transfer QR code at
    the worker's next pass. ``address``: the trainee's postal address, when their last invoice gives none."""
    ensure_can_bill(actor)
    enrolment = db.session.get(Enrolment, call.enrolment_id)
    lock_row(Enrolment, enrolment.id)  # the job and a click at once: the second finds the call sent
    db.session.refresh(call)
    if not call.is_planned:
        number = f" (facture n° {call.invoice.number})" if call.invoice is not None else ""
        raise ConflictError(f"Cette échéance est déjà « {call.status_label.lower()} »{number}.")
    if enrolment.status not in (*SCHEDULED_STATUSES, EnrolmentStatus.NO_SHOW.value):
        label = ENROLMENT_STATUS_LABELS.get(enrolment.status, enrolment.status).lower()
        raise ConflictError(f"L'inscription est « {label} » : l'échéance n'est pas envoyée.")
    today = today or paris_today()
    calls = calls_of(enrolment)
    _check_before_course(call, enrolment, calls, today)
    address = clean_address(address) or known_address(enrolment)
    if not address:
        raise ValidationError(f"Adresse postale de {enrolment.trainee.full_name} inconnue (mention obligatoire de la "
                              "facture) : saisissez-la pour envoyer l'échéance depuis l'échéancier.",
                              field="buyer_address")
    _, line = trainee_share(enrolment)
    position, count = _numbering(call, calls)
    invoice = _draft(call, enrolment, line, f"{position}/{count}", address, actor)
    issue_invoice(invoice, actor, today=today)
    call.status, call.sent_at, call.invoice_id = "sent", utcnow(), invoice.id
    if actor is not None:
        cancel_job(_job_key(call))
    db.session.flush()
    return invoice


def _reason(exc: DomainError) -> str:
    messages = [m for ms in exc.fields.values() for m in ms]
    return " ".join(messages) if messages and exc.message == "Certains champs sont invalides." else exc.message


@job_handler(JOB_KIND)
def send_due_call(payload: dict) -> None:
    """A call's job on its due date: invoice it (the rule « Échéance d'un contrat de formation » e-mails the invoice).
    Refused by the rules, it stays planned and its job waits for the next morning with the reason (shown on the
    schedule page); the call of a cancelled or abandoned enrolment is cancelled."""
    call = db.session.get(PaymentCall, payload.get("call"))
    if call is None or not call.is_planned:
        return
    if db.session.get(Enrolment, call.enrolment_id).status in CALLS_STOPPED:
        call.status = "cancelled"
        return
    try:
        with db.session.begin_nested():
            send_call(call, None)
    except DomainError as exc:
        tomorrow = paris_datetime(paris_today() + dt.timedelta(days=1), SEND_TIME).astimezone(dt.UTC)
        raise Postpone(tomorrow, _reason(exc)) from None
