"""Demo billing: the past DUME session invoiced (one invoice per client firm and one to the self-paying
trainee), one invoice paid. Loaded once (skipped when an invoice exists)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from ..accounts.models import User
from ..billing.invoices.drafts import DRAFT_FIELDS, update_draft
from ..billing.invoices.issue import issue_invoice
from ..billing.invoices.planning import propose_invoices
from ..billing.kinds import PayerKind
from ..billing.models import Invoice
from ..billing.payments.services import record_payment
from ..core.errors import ValidationError
from ..core.timeutil import paris_today
from ..extensions import db
from ..sessions.models import TrainingSession

# The BPF classification of the seed courses (F-3 objective, F-4 NSF specialty).
CLASSIFICATION = {
    "chorus-pro": {"bpf_objective": "other", "nsf_code": "314"},  # comptabilité, gestion (e-invoicing)
    "marches-publics-dume-et-chorus-pro": {"bpf_objective": "other", "nsf_code": "128"},  # droit
}


def load_billing(advisor: User, past_session: TrainingSession | None, today: dt.date | None = None) -> list[str]:
    if past_session is None or db.session.scalar(select(Invoice.id).limit(1)) is not None:
        return []
    today = today or paris_today()
    try:
        with db.session.begin_nested():
            return _invoice(advisor, past_session, today)
    except ValidationError as exc:  # e.g. an organisation set up before the demo, without its SIRET or NDA
        return [f"Factures de démonstration non émises : {exc.message}"]


def _invoice(advisor: User, past_session: TrainingSession, today: dt.date) -> list[str]:
    proposal = propose_invoices(past_session, advisor)
    for invoice in proposal.created:
        if invoice.payer_kind == PayerKind.INDIVIDUAL.value and not invoice.buyer_address:
            # Trainees have no postal address on file: the advisor types it on the draft.
            update_draft(invoice, {**{key: getattr(invoice, key) for key in DRAFT_FIELDS},
                                   "buyer_address": "5 allée des Demoiselles", "buyer_postal_code": "31400",
                                   "buyer_city": "Toulouse"}, advisor)
    issued = [issue_invoice(invoice, advisor, today=today) for invoice in proposal.created]
    paid = next((i for i in issued if i.payer_kind == PayerKind.INDIVIDUAL.value), None)
    if paid is not None:
        record_payment(paid, {"paid_on": today, "amount": str(paid.total_incl_vat), "method": "transfer",
                              "reference": "Virement du stagiaire"}, advisor, today=today)
    numbers = ", ".join(i.number for i in issued)
    return [f"Session {past_session.label} facturée : {numbers}" + (f" ({paid.number} réglée)." if paid else ".")]
