"""What remains to invoice for a session (the plan) and its proposal as drafts, one per payer.
See docs/billing-invoices.md."""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ...accounts.models import User
from ...core.errors import ConflictError
from ...core.formatting import count_fr, hours_fr
from ...core.numbers import money
from ...core.persistence import lock_row
from ...enrolments.models import ENROLMENT_STATUS_LABELS, EXPECTED, Enrolment, EnrolmentStatus, FundingLine
from ...extensions import db
from ...sessions.models import SESSION_STATUS_LABELS, TrainingSession
from ...trainees.models import Trainee
from ..kinds import PayerKind
from ..models import PAYER_KINDS, Invoice, InvoiceKind, InvoiceLine, InvoiceStatus, PaymentCall, PaymentCallStatus
from .amounts import ZERO, attended_share, current_vat_rate, recompute
from .drafts import MAX_DESCRIPTION, service_dates
from .extra_lines import extra_shares
from .payers import FUNDER_PAYERS, REFERENCE_LABELS, company_values
from .queries import credited_amounts, ensure_can_bill
from .shares import (
    ABANDON_HOURS_UNKNOWN,
    ProposedLine,
    Share,
    abandon_label,
    dedit_lines,
    due_label,
    enrolment_shares,
    invoice_key,
    share_key,
)



@dataclass
class ProposedInvoice:
    key: tuple
    payer_kind: str
    values: dict  # the new draft's columns (payer, buyer, OPCO file, public buyer's codes)
    lines: list[ProposedLine] = field(default_factory=list)

    @property
    def payer_kind_label(self) -> str:
        return PAYER_KINDS.get(self.payer_kind, self.payer_kind)

    @property
    def label(self) -> str:
        name = self.values.get("buyer_name") or self.payer_kind_label
        file = self.values.get("opco_file_number")
        if self.payer_kind == PayerKind.SELF_EMPLOYED_FUND.value and self.values.get("payer_trainee_id"):
            return f"{name} – {self.values.get('opco_name')}{f', dossier n° {file}' if file else ''}"
        if self.payer_kind in FUNDER_PAYERS and file:
            return f"{name} – {REFERENCE_LABELS[self.payer_kind]} {file}"
        if self.payer_kind == PayerKind.PUBLIC_BUYER.value and self.values.get("engagement_number"):
            return f"{name} – engagement n° {self.values['engagement_number']}"
        return name

    @property
    def total_excl_vat(self) -> Decimal:
        return money(sum((line.total_excl_vat for line in self.lines), ZERO))

    @property
    def total_incl_vat(self) -> Decimal:
        return money(sum((line.total_incl_vat for line in self.lines), ZERO))


@dataclass
class Plan:
    """What a session still has to invoice (nothing already on a live invoice), and why some is left out."""

    invoices: list[ProposedInvoice] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # The notes that leave a payer unknown (an OPCO agreement or hourly rate missing, hours not known yet, no company
    # to invoice): until they are settled, the session is not fully invoiced.
    unknown: list[str] = field(default_factory=list)


def _live_invoices(session: TrainingSession) -> list[Invoice]:
    """The session's invoices that count as invoiced: drafts, and issued invoices not fully credited."""
    invoices = list(db.session.scalars(select(Invoice).where(Invoice.session_id == session.id,
                                                             Invoice.kind == InvoiceKind.INVOICE.value)
                                       .options(selectinload(Invoice.lines))))
    credited = credited_amounts(i.id for i in invoices if i.is_issued)
    return [i for i in invoices if i.is_draft or credited.get(i.id, ZERO) < i.total_incl_vat]


def _done_marks(invoices: list[Invoice]) -> set[tuple]:
    marks = set()
    for invoice in invoices:
        for line in invoice.lines:
            if line.enrolment_id is not None:
                marks.add((line.enrolment_id, line.funding_line_id or invoice.payer_kind))
    return marks


def _stale_draft_lines(live: list[Invoice]) -> list[str]:
    """Drafts holding a line of an enrolment that is no longer invoiced (cancelled since the proposal)."""
    lines = [(invoice, line) for invoice in live if invoice.is_draft for line in invoice.lines
             if line.enrolment_id is not None]
    if not lines:
        return []
    statuses = dict(db.session.execute(select(Enrolment.id, Enrolment.status).where(
        Enrolment.id.in_({line.enrolment_id for _, line in lines}))).all())
    return [f"Le brouillon n° {invoice.id} ({invoice.buyer_name}) facture encore une inscription devenue "
            f"« {ENROLMENT_STATUS_LABELS.get(statuses.get(line.enrolment_id), 'supprimée').lower()} » : "
            "retirez sa ligne si elle n'est plus due."
            for invoice, line in lines if statuses.get(line.enrolment_id) not in EXPECTED]


def plan_invoices(session: TrainingSession) -> Plan:
    """What remains to invoice for ``session``, grouped by payer (nothing is written)."""
    live = _live_invoices(session)
    enrolments = list(db.session.scalars(
        select(Enrolment).where(Enrolment.session_id == session.id, Enrolment.status.in_(EXPECTED))
        .order_by(Enrolment.id)
        .options(selectinload(Enrolment.trainee).selectinload(Trainee.company), selectinload(Enrolment.company),
                 selectinload(Enrolment.funding_lines).selectinload(FundingLine.payer_company))))
    rate = current_vat_rate()
    plan = _plan(session, enrolments, live, rate, scheduled=_scheduled(enrolments),
                 extra=extra_shares(session, live, rate))
    plan.notes[:0] = _stale_draft_lines(live)
    return plan


def _scheduled(enrolments: list[Enrolment]) -> frozenset[int]:
    """The enrolments whose trainee pays by a payment schedule (billing/schedule/services.py): it invoices their share (an
    abandonment ends it: the hours attended are proposed here)."""
    ids = [e.id for e in enrolments if e.status != EnrolmentStatus.ABANDONED.value]
    return frozenset(db.session.scalars(select(PaymentCall.enrolment_id).where(
        PaymentCall.enrolment_id.in_(ids), PaymentCall.status != PaymentCallStatus.CANCELLED.value))
    ) if ids else frozenset()


def uninvoiced(session: TrainingSession, enrolments: list[Enrolment], issued: list[Invoice], rate: Decimal) -> Plan:
    """What ``session`` still has to invoice when only its issued invoices count (drafts do not): the rule of
    ``plan_invoices`` on data already loaded, without any query, so that many sessions are checked at once (the
    quality checklist's "invoice issued" item). Nothing is left when ``plan.invoices`` and ``plan.unknown`` are
    both empty.

    ``enrolments``: the session's EXPECTED enrolments (invoiced: a seat was held and the training took place, or
    was due to) with their trainee (and its company), company and funding lines (and their payer company) loaded, the companies with their contacts; ``issued``: its issued
    invoices not fully credited, lines loaded (``issued_invoices_by_session``); the session with its slots, course
    version and client company (and its contacts)."""
    return _plan(session, enrolments, issued, rate, lookup=False)


def issued_invoices_by_session(session_ids) -> dict[int, list[Invoice]]:
    """The issued invoices (not credit notes) of each session that are not fully credited, their lines loaded:
    two queries whatever the number of sessions."""
    ids = sorted(set(session_ids))
    if not ids:
        return {}
    invoices = list(db.session.scalars(
        select(Invoice).where(Invoice.session_id.in_(ids), Invoice.kind == InvoiceKind.INVOICE.value, Invoice.is_issued)
        .order_by(Invoice.issue_date, Invoice.sequence, Invoice.id).options(selectinload(Invoice.lines))))
    credited = credited_amounts(i.id for i in invoices)
    found: dict[int, list[Invoice]] = {}
    for invoice in invoices:
        if credited.get(invoice.id, ZERO) < invoice.total_incl_vat:
            found.setdefault(invoice.session_id, []).append(invoice)
    return found


def _plan(session: TrainingSession, enrolments: list[Enrolment], live: list[Invoice], rate: Decimal,
          lookup: bool = True, scheduled: frozenset[int] = frozenset(), extra: list[Share] = ()) -> Plan:
    """Who pays what for ``session``'s ``enrolments``, minus what ``live`` invoices already hold. Without
    ``lookup``, no query: an OPCO's address is not looked up on its last invoice. The trainee's share of the
    ``scheduled`` enrolments is left to their payment schedule; ``extra`` shares (extra_lines.py) are added."""
    plan = Plan()
    if session.format == "intra":
        shares = _intra_shares(session, enrolments, live, rate, plan)
    else:
        shares = _inter_shares(session, enrolments, live, rate, plan, lookup, scheduled)
    plan.invoices = _grouped([*shares, *extra])
    return plan


def _grouped(shares: list[Share]) -> list[ProposedInvoice]:
    """One proposed invoice per payer, its lines in the order of the shares."""
    grouped: dict[tuple, ProposedInvoice] = {}
    for share in shares:
        proposed = grouped.get(share.key)
        if proposed is None:
            proposed = grouped[share.key] = ProposedInvoice(share.key, share.payer_kind, share.values)
        proposed.lines.append(share.line)
    return list(grouped.values())


def _intra_shares(session: TrainingSession, enrolments: list[Enrolment], live: list[Invoice], rate: Decimal,
                  plan: Plan) -> list[Share]:
    """An intra session: the client company pays the group price, or each trainee's seat without one."""
    client = session.client_company
    if client is None:
        plan.notes.append("Session intra sans entreprise cliente : indiquez-la sur la session.")
        plan.unknown.append(plan.notes[-1])
        return []
    values = company_values(client)
    if session.intra_price is None:
        done = _done_marks(live)
        company = PayerKind.COMPANY.value
        return [Share(share_key(company, values), company, values, item)
                for enrolment in enrolments if (enrolment.id, company) not in done and enrolment.price_excl_vat
                for item in _intra_seat_lines(session, enrolment, rate, plan)]
    if any(i.payer_kind == PayerKind.COMPANY.value and i.payer_company_id == client.id for i in live):
        return []
    names = ", ".join(e.trainee.full_name for e in enrolments)
    description = (f"Formation intra-entreprise « {session.title} » {session.dates_label} "
                   f"({hours_fr(session.planned_hours)})")
    if names:
        description += f" – {count_fr(len(enrolments), 'stagiaire')} : {names}"
    return [Share(share_key(PayerKind.COMPANY.value, values), PayerKind.COMPANY.value, values,
                  ProposedLine(description, Decimal("1"), "C62", money(session.intra_price), rate))]


def _inter_shares(session: TrainingSession, enrolments: list[Enrolment], live: list[Invoice], rate: Decimal,
                  plan: Plan, lookup: bool, scheduled: frozenset[int]) -> list[Share]:
    """An inter session: each enrolment's shares not yet on a live invoice nor left to a payment schedule."""
    done = _done_marks(live)
    found: list[Share] = []
    for enrolment in enrolments:
        shares, notes, known = enrolment_shares(enrolment, session, rate, lookup)
        plan.notes.extend(notes)
        if not known:
            plan.unknown.extend(notes)
        for share in shares:
            if share.payer_kind == PayerKind.INDIVIDUAL.value and enrolment.id in scheduled:
                note = (f"{enrolment.trainee.full_name} : sa part est facturée par l'échéancier de son contrat de "
                        "formation, échéance par échéance.")
                if note not in plan.notes:
                    plan.notes.append(note)
            elif (enrolment.id, share.line.funding_line_id or share.payer_kind) not in done:
                found.append(share)
    return found


def _intra_seat_lines(session: TrainingSession, enrolment: Enrolment, rate: Decimal, plan: Plan) -> list[ProposedLine]:
    """An intra session without a group price: the trainee's seat, pro rata of the hours attended after an
    abandonment (with the dédit, if any), as in an inter session."""
    description = f"Formation « {session.title} » {session.dates_label} – {enrolment.trainee.full_name}"
    price, hours, planned = money(enrolment.price_excl_vat), enrolment.hours_attended, session.planned_hours
    if enrolment.status != EnrolmentStatus.ABANDONED.value:
        return [ProposedLine(description, Decimal("1"), "C62", price, rate, enrolment.id)]
    if hours is None:
        plan.notes.append(ABANDON_HOURS_UNKNOWN.format(name=enrolment.trainee.full_name))
        plan.unknown.append(plan.notes[-1])
        return []
    due = attended_share(price, hours, planned)
    description += abandon_label(hours, planned) + due_label(price, hours, planned, due)
    lines = [ProposedLine(description, Decimal("1"), "C62", due, rate, enrolment.id)] if due > 0 else []
    return lines + dedit_lines(enrolment, price - due, rate)


@dataclass
class Proposal:
    created: list[Invoice]
    completed: list[Invoice]
    notes: list[str]


def propose_invoices(session: TrainingSession, actor: User | None) -> Proposal:
    """Write the plan: one draft per payer, or new lines on the session's draft of that payer. Idempotent."""
    ensure_can_bill(actor)
    if not session.is_held:
        raise ConflictError("Les factures se préparent une fois la session confirmée (elle est "
                            f"« {SESSION_STATUS_LABELS[session.status].lower()} »).")
    lock_row(TrainingSession, session.id)  # two clicks at once: the second finds the first one's drafts
    plan = plan_invoices(session)
    drafts = {invoice_key(i): i for i in db.session.scalars(
        select(Invoice).where(Invoice.session_id == session.id, Invoice.kind == InvoiceKind.INVOICE.value,
                              Invoice.status == InvoiceStatus.DRAFT.value).order_by(Invoice.id))}
    created, completed = [], []
    for proposed in plan.invoices:
        invoice = drafts.get(proposed.key)
        if invoice is None:
            invoice = Invoice(kind=InvoiceKind.INVOICE.value, status=InvoiceStatus.DRAFT.value, session_id=session.id,
                              payer_kind=proposed.payer_kind, created_by_id=actor.id if actor else None,
                              **service_dates(session))
            for key, value in proposed.values.items():
                setattr(invoice, key, value)
            db.session.add(invoice)
            created.append(invoice)
        else:
            completed.append(invoice)
        for item in proposed.lines:
            invoice.lines.append(InvoiceLine(
                description=item.description[:MAX_DESCRIPTION], quantity=item.quantity, unit=item.unit,
                unit_price_excl_vat=item.unit_price, vat_rate=item.vat_rate, enrolment_id=item.enrolment_id,
                funding_line_id=item.funding_line_id, hours=item.hours, total_excl_vat=ZERO))
        recompute(invoice)
    db.session.flush()
    return Proposal(created, completed, plan.notes)
