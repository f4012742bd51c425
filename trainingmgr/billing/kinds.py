"""Who pays, seen from billing: an invoice's payer is of the kind of the funding lines it bills, so the payer kinds
(``Invoice.payer_kind``, labels in ``billing.models.PAYER_KINDS``) are the funding-line kinds, defined once beside
the funding line (``enrolments.models.FundingKind``)."""
from __future__ import annotations

from ..enrolments.models import FundingKind as PayerKind

__all__ = ["PayerKind"]
