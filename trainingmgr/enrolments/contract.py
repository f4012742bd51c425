"""The individual's contrat de formation (Code du travail L6353-3 to L6353-7), as rules and not only as printed text.

- The contract is signed before the definitive enrolment and before any payment (L6353-3): a first contract is not
  issued once the session has started (documents.services.applicable).
- The trainee may withdraw within 10 days of signing it, by registered letter (L6353-5): the advisor records the
  signature date, and nothing is invoiced to the trainee until that period has run (``check_individual_invoice``).
- After that, a first payment of at most 30 % of the price; the balance as the course goes (L6353-6): an invoice
  to the trainee before the course is completed is a payment request, capped at 30 % for the first one.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select

from ..accounts.models import User
from ..core.errors import ConflictError, ValidationError
from ..core.formatting import date_fr, money_fr
from ..core.timeutil import paris_today
from ..documents.models import GeneratedDocument
from ..extensions import db
from .history import record_event
from .models import Enrolment

WITHDRAWAL_DAYS = 10
MAX_FIRST_CALL_PERCENT = Decimal("30")


def is_individual(enrolment: Enrolment) -> bool:
    """A trainee paying for themselves: no company behind the enrolment (a contract, not a convention)."""
    return enrolment.company_id is None


def issued_contract(enrolment: Enrolment):
    """The contract's first issued version, or None."""
    return db.session.scalar(select(GeneratedDocument).where(
        GeneratedDocument.enrolment_id == enrolment.id, GeneratedDocument.doc_type == "contract")
        .order_by(GeneratedDocument.version).limit(1))


def withdrawal_ends(enrolment: Enrolment) -> dt.date | None:
    """The last day of the withdrawal period (the signature day plus 10 days), or None before the signature."""
    if enrolment.contract_signed_on is None:
        return None
    return enrolment.contract_signed_on + dt.timedelta(days=WITHDRAWAL_DAYS)


def record_signature(enrolment: Enrolment, signed_on: dt.date | None, actor: User | None,
                     today: dt.date | None = None, actor_label: str = "") -> Enrolment:
    """Record the day the trainee signed the contract (the withdrawal period runs from it); by the advisor, or by
    the electronic signature (``actor`` None, ``actor_label`` says so)."""
    today = today or paris_today()
    if not is_individual(enrolment):
        raise ConflictError("Le stagiaire est inscrit par une entreprise : c'est une convention qui s'applique, "
                            "pas un contrat de formation.")
    contract = issued_contract(enrolment)
    if contract is None:
        raise ConflictError("Émettez d'abord le contrat de formation (documents de la session).")
    if signed_on is None:
        raise ValidationError("Indiquez la date de signature du contrat.", field="signed_on")
    if signed_on > today:
        raise ValidationError("La date de signature ne peut pas être dans le futur.", field="signed_on")
    issued_on = contract.created_at.astimezone(dt.timezone.utc).date()
    if signed_on < issued_on - dt.timedelta(days=1):
        raise ValidationError(f"Le contrat a été émis le {date_fr(issued_on)} : il n'a pas pu être signé avant.",
                              field="signed_on")
    enrolment.contract_signed_on = signed_on
    record_event(enrolment, "contract", actor, f"Contrat de formation signé le {date_fr(signed_on)} : rétractation "
                                               f"possible jusqu'au {date_fr(withdrawal_ends(enrolment))} inclus.",
                 actor_label=actor_label)
    return enrolment


def check_individual_invoice(enrolments: list[Enrolment], amount_incl_vat: Decimal, *, course_done: bool,
                             earlier_calls: Decimal, today: dt.date | None = None) -> None:
    """Refuse an invoice to a self-paying trainee that L6353-5 and L6353-6 forbid: before the contract's signature is
    recorded, within the withdrawal period, or, while the course is not done, a first call above 30 % of the price
    (``earlier_calls``: what was already invoiced to the trainee for these enrolments)."""
    today = today or paris_today()
    for enrolment in enrolments:
        ends = withdrawal_ends(enrolment)
        if ends is None:
            raise ConflictError(f"Enregistrez d'abord la date de signature du contrat de formation de "
                                f"{enrolment.trainee.full_name} : rien ne peut lui être facturé avant (article "
                                "L6353-6 du Code du travail).")
        if today <= ends:
            raise ConflictError(f"Délai de rétractation en cours jusqu'au {date_fr(ends)} inclus (contrat signé le "
                                f"{date_fr(enrolment.contract_signed_on)}) : aucune somme ne peut être demandée "
                                f"à {enrolment.trainee.full_name} avant (article L6353-6 du Code du travail).")
    if course_done or earlier_calls > 0:
        return
    price = sum((e.price_incl_vat for e in enrolments), Decimal("0.00"))
    cap = (price * MAX_FIRST_CALL_PERCENT / 100).quantize(Decimal("0.01"))
    if amount_incl_vat > cap:
        raise ConflictError(f"Premier paiement limité à {MAX_FIRST_CALL_PERCENT:.0f} % du prix, soit "
                            f"{money_fr(cap)} : la facture en demande {money_fr(amount_incl_vat)} (article L6353-6 "
                            "du Code du travail ; le solde est facturé au fur et à mesure de la formation).")
