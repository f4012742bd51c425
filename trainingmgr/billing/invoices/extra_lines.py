"""Lines a higher package adds to a session's invoice proposal, registered here so that billing never imports that
package: the extra costs of an accepted quote (travel, room hire…) go on the company's draft invoice of the session.
Each is proposed once: a live invoice of the company already holding a line of the same description keeps it."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from ...companies.models import Company
from ...core.numbers import money
from ...sessions.models import TrainingSession
from ..kinds import PayerKind
from ..models import Invoice
from .drafts import MAX_DESCRIPTION
from .payers import company_values
from .shares import ProposedLine, Share, share_key


@dataclass(frozen=True)
class ExtraLine:
    company: Company  # who pays it: the company's invoice of the session
    description: str  # unique per company and session (it names its source, e.g. the quote's number)
    quantity: Decimal
    unit_price: Decimal  # excluding VAT


_providers: dict[str, Callable[[TrainingSession], list[ExtraLine]]] = {}


def register_extra_lines(name: str, provider: Callable[[TrainingSession], list[ExtraLine]]) -> None:
    """Let ``provider(session)`` add lines to the session's invoice proposal (registering ``name`` again replaces
    it)."""
    _providers[name] = provider


def extra_shares(session: TrainingSession, live: list[Invoice], rate: Decimal) -> list[Share]:
    """The registered lines of ``session`` that no live invoice of their company holds yet, at ``rate``."""
    held = {(invoice.payer_company_id, line.description)
            for invoice in live if invoice.payer_kind == PayerKind.COMPANY.value
            for line in invoice.lines if line.enrolment_id is None}
    shares = []
    for provider in _providers.values():
        for extra in provider(session):
            description = extra.description[:MAX_DESCRIPTION]
            if (extra.company.id, description) in held:
                continue
            values = company_values(extra.company)
            shares.append(Share(share_key(PayerKind.COMPANY.value, values), PayerKind.COMPANY.value, values,
                                ProposedLine(description, extra.quantity, "C62", money(extra.unit_price), rate)))
    return shares
