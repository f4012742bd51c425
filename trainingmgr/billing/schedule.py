"""The payment schedule (échéancier) of a contrat de formation: what a self-paying trainee pays, in calls
(``PaymentCall``) that become invoices when due, e-mailed with their transfer QR code.

Rules (Code du travail L6353-5 and L6353-6; *decision* where the law is silent):

- Only a contrat de formation has a schedule (a trainee enrolled without a company, ``contract.is_individual``), and
  only once its signature date is recorded: the 10-day withdrawal period runs from it and nothing is due before it
  ends (a call due on the last day of the period or earlier is refused).
- What the trainee pays: their funding lines « Stagiaire (à ses frais) », or, without any funding line (and no
  company on the trainee's record), the price including VAT.
- ``propose``: a first call of 30 % at most (rounded down to the cent) the day after the withdrawal period ends, or
  today when later; the balance in equal calls as the course goes: on its first day, then one a month after it
  while the course lasts, and on its last day (*decision*). A course already over when the period ends: one call.
- ``save`` checks: a date and an amount (above 0, two decimals) per call; every call after the withdrawal period
  and not in the past; the first call 30 % at most of what the trainee pays unless it falls after the course's last
  day; the calls due before the course's first day add up to 30 % at most (*decision*: the balance is paid "as the
  course goes", so not before it starts); all the calls (the sent ones included) add up to exactly what the trainee
  pays. A refusal names the call (422) and saves nothing; otherwise the calls not sent yet are replaced.
- Sending a call (its job on the due date, 08:00 Paris, or « Envoyer maintenant »): an invoice to the trainee for the
  call's amount, « Échéance 2/3 du contrat de formation … », on the enrolment's funding line, issued through
  ``invoices.issue_invoice`` (which enforces the contract's rules again); the call is then *sent* and the trainee
  receives the invoice and its EPC QR code by e-mail. A call the rules refuse stays *planned*; its job tries again
  the next morning and the schedule page shows why (the job's last message). The call of a cancelled enrolment is
  cancelled, and so is an abandoned one's: only the hours attended are due (L6353-7), invoiced from the session's
  invoicing page. Sent now, a call also respects the 30 % before the course's first day (409 otherwise).
- The trainee's postal address (an invoice's mandatory mention) is the one of their last invoice; the first call is
  sent from the schedule page with the address typed there when none is known (*decision*: a trainee record holds
  no address).
- ``invoices.plan_invoices`` leaves out the trainee's share of an enrolment with a schedule: the schedule invoices it.
"""
from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from flask import render_template
from sqlalchemy import select

from ..accounts.models import User
from ..core.errors import ConflictError, DomainError, ErrorCollector, NotFoundError, ValidationError
from ..core.formatting import date_fr, money_fr
from ..core.persistence import lock_row
from ..core.timeutil import paris_datetime, paris_today, utcnow
from ..core.validation import parse_date, parse_decimal
from ..enrolments import contract
from ..enrolments.models import ENROLMENT_STATUS_LABELS, Enrolment, FundingLine
from ..extensions import db
from ..messaging.models import Job
from ..messaging.services import (
    JOB_KIND_LABELS,
    TOPIC_LABELS,
    Postpone,
    cancel_job,
    forget_job,
    job_handler,
    queue_email,
    schedule_job,
)
from ..organisation.services import get_organisation
from . import invoices
from .models import Invoice, InvoiceLine, PaymentCall
from .transfer import qr_attachment, transfer_or_none

CENT = Decimal("0.01")
MAX_CALLS = 36
SEND_TIME = dt.time(8, 0)  # Paris: a call due on a day leaves that morning
JOB_KIND = "payment_call"
TOPIC = "payment_call"
SCHEDULED_STATUSES = ("confirmed", "completed")  # enrolments whose schedule may be set
ENDED = ("cancelled", "abandoned")  # their planned calls are cancelled (an abandonment: hours attended, L6353-7)
ADDRESS_LIMITS = {"buyer_address": 255, "buyer_postal_code": 10, "buyer_city": 120}
JOB_KIND_LABELS[JOB_KIND] = "Échéance d'un contrat de formation"
TOPIC_LABELS[TOPIC] = "Échéance de paiement (contrat de formation)"


@dataclass
class ProposedCall:
    due_on: dt.date
    amount: Decimal


def _ensure_staff(actor: User | None) -> None:
    invoices._ensure_staff(actor)


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
    lines = [line for line in enrolment.funding_lines if line.kind == "individual"]
    if lines:
        return invoices.money(sum((line.amount for line in lines), Decimal(0))), lines[0]
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
    keys = {_job_key(c): c.id for c in calls if c.status == "planned"}
    if not keys:
        return {}
    jobs = db.session.scalars(select(Job).where(Job.key.in_(keys), Job.last_error != ""))
    return {keys[job.key]: (job.last_error, job.due_at) for job in jobs}


def known_address(enrolment: Enrolment) -> dict:
    """The trainee's billing address as their last invoice states it ({} when none is known)."""
    values = invoices._previous_buyer({}, Invoice.payer_trainee_id == enrolment.trainee_id)
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
    """The calls the rules allow for what the trainee still has to be asked (see the module's docstring)."""
    ends = _withdrawal_end(enrolment)
    today = today or paris_today()
    amount, _ = trainee_share(enrolment)
    sent = [c for c in calls_of(enrolment) if c.status == "sent"]
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
    _ensure_staff(actor)
    _withdrawal_end(enrolment)
    lock_row(Enrolment, enrolment.id)  # a call being sent meanwhile: this waits, then finds it sent
    db.session.refresh(enrolment)
    today = today or paris_today()
    existing = calls_of(enrolment)
    sent = [c for c in existing if c.status == "sent"]
    errors = ErrorCollector()
    typed = _parse_calls(rows, len(sent) + 1, errors)
    errors.raise_if_any()
    check_calls(enrolment, typed, sent, today)
    _remove_planned([c for c in existing if c.status == "planned"])
    position = max((c.position for c in existing if c.status != "planned"), default=0)
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
    live = [c for c in calls if c.status != "cancelled"]
    return live.index(call) + 1, len(live)


def _check_before_course(call: PaymentCall, enrolment: Enrolment, calls: list[PaymentCall], today: dt.date) -> None:
    """Sent before the course's first day, what was asked so far and this call stay within 30 %."""
    first_day = enrolment.session.first_date
    if first_day is None or today >= first_day:
        return
    cap = first_call_cap(trainee_share(enrolment)[0])
    asked = sum((c.amount for c in calls if c.status == "sent"), Decimal(0))
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
    base = invoices._excl(amount, rate)
    return next((p for p in (base, base - CENT, base + CENT) if invoices._incl(p, rate) == amount), base)


def _draft(call: PaymentCall, enrolment: Enrolment, line: FundingLine | None, rank: str, address: dict,
           actor: User | None) -> Invoice:
    """The call's invoice to the trainee, as a draft about to be issued."""
    session, trainee = enrolment.session, enrolment.trainee
    invoice = Invoice(kind="invoice", status="draft", session_id=session.id, payer_kind="individual",
                      service_start=session.first_date, service_end=session.last_date,
                      created_by_id=actor.id if actor else None,
                      **{**invoices._trainee_values(trainee), **address})
    rate = invoices.current_vat_rate()
    description = (f"Échéance {rank} du contrat de formation – formation « {session.title} » {session.dates_label} – "
                   f"{trainee.full_name}")
    invoice.lines.append(InvoiceLine(
        description=description[:invoices.MAX_DESCRIPTION], quantity=Decimal(1), unit="C62",
        unit_price_excl_vat=_excl_exact(call.amount, rate), vat_rate=rate, enrolment_id=enrolment.id,
        funding_line_id=line.id if line is not None else None, total_excl_vat=Decimal("0.00")))
    invoices.recompute(invoice)
    db.session.add(invoice)
    db.session.flush()
    return invoice


def send_call(call: PaymentCall, actor: User | None, today: dt.date | None = None,
              address: dict | None = None) -> Invoice:
    """Invoice the call to the trainee now (issued through ``invoices.issue_invoice`` and its contract rules), mark
    it sent and e-mail the invoice with its transfer QR code. ``address``: the trainee's postal address, when their
    last invoice gives none."""
    _ensure_staff(actor)
    enrolment = db.session.get(Enrolment, call.enrolment_id)
    lock_row(Enrolment, enrolment.id)  # the job and a click at once: the second finds the call sent
    db.session.refresh(call)
    if call.status != "planned":
        number = f" (facture n° {call.invoice.number})" if call.invoice is not None else ""
        raise ConflictError(f"Cette échéance est déjà « {call.status_label.lower()} »{number}.")
    if enrolment.status not in SCHEDULED_STATUSES + ("no_show",):
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
    invoices.issue_invoice(invoice, actor, today=today)
    call.status, call.sent_at, call.invoice_id = "sent", utcnow(), invoice.id
    if actor is not None:
        cancel_job(_job_key(call))
    _mail(call, enrolment, invoice, position, count, calls)
    return invoice


def _invoice_file(invoice: Invoice) -> tuple[str, str, bytes]:
    """The invoice's Factur-X PDF, else its Word document (checked against their SHA-256)."""
    kind = "pdf" if invoice.pdf_file is not None else "docx"
    data, stored = invoices.read_file(invoice, kind)
    return invoices.filename(invoice, kind), stored.content_type, data


def _mail(call: PaymentCall, enrolment: Enrolment, invoice: Invoice, position: int, count: int,
          calls: list[PaymentCall]) -> None:
    """The payment request: the invoice and its EPC QR code, with the whole schedule."""
    from ..enrolments.mails import _html

    session, trainee = enrolment.session, enrolment.trainee
    transfer, _ = transfer_or_none(invoice)
    text = render_template("mail/payment_call.txt", trainee=trainee, session=session, invoice=invoice,
                           position=position, count=count, transfer=transfer, org=get_organisation(),
                           calls=[c for c in calls if c.status != "cancelled"])
    attachments = [_invoice_file(invoice)]
    qr = qr_attachment(invoice)
    if qr is not None:
        attachments.append(qr)
    queue_email(invoice.buyer_email or trainee.email,
                f"Échéance {position}/{count} de votre formation « {session.title} » : facture {invoice.number} "
                f"de {money_fr(invoice.total_incl_vat)}", text, _html(text), topic=TOPIC, enrolment=enrolment,
                attachments=attachments)


def _reason(exc: DomainError) -> str:
    messages = [m for ms in exc.fields.values() for m in ms]
    return " ".join(messages) if messages and exc.message == "Certains champs sont invalides." else exc.message


@job_handler(JOB_KIND)
def send_due_call(payload: dict) -> None:
    """A call's job on its due date: send it. Refused by the rules, it stays planned and its job waits for the next
    morning with the reason (shown on the schedule page); the call of a cancelled or abandoned enrolment is
    cancelled."""
    call = db.session.get(PaymentCall, payload.get("call"))
    if call is None or call.status != "planned":
        return
    if db.session.get(Enrolment, call.enrolment_id).status in ENDED:
        call.status = "cancelled"
        return
    try:
        with db.session.begin_nested():
            send_call(call, None)
    except DomainError as exc:
        tomorrow = paris_datetime(paris_today() + dt.timedelta(days=1), SEND_TIME).astimezone(dt.UTC)
        raise Postpone(tomorrow, _reason(exc)) from None
