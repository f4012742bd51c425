"""Issuing an invoice: the mandatory mentions, the number, the seller's identity and terms frozen, the Word
document and the Factur-X files. See docs/billing-invoices.md, "Issue"."""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from flask import current_app
from sqlalchemy import select

from ...accounts.models import User
from ...companies.models import Company
from ...core import workflow
from ...core.errors import ConflictError, ValidationError
from ...core.persistence import lock_row
from ...core.timeutil import paris_today, utcnow
from ...core.workflow import Transition
from ...documents import providers
from ...documents import services as documents
from ...documents.rendering import context as builders
from ...enrolments import contract
from ...enrolments.models import PUBLIC_FUNDER_CATEGORIES, Enrolment
from ...extensions import db
from ...files.services import store_bytes
from ...organisation.services import get_organisation
from ...sessions.models import SESSION_STATUS_LABELS
from ..kinds import PayerKind
from ..models import Invoice, InvoiceKind, InvoiceLine, InvoiceStatus
from ..numbering import next_number
from ..payments.transfer import document_part
from . import facturx as facturx
from .amounts import recompute
from .payers import FUNDER_PAYERS, PUBLIC_PAYERS, public_company
from .queries import ensure_can_bill, session_of

# An invoice or a credit note stores one step: draft → issued. Paid, partly paid and credited are read from its
# payments and credit notes (payments.services.balances), never stored. See docs/workflows.md.
TRANSITIONS: dict[str, Transition] = {"issued": Transition("Émettre", ("draft",), "issued")}


# A public buyer's terms (Code de la commande publique), instead of the Code de commerce's BILLING_* texts.
PUBLIC_LATE_PENALTIES = (
    "En cas de retard de paiement, des intérêts moratoires courent de plein droit et sans autre formalité dès le "
    "lendemain de l'expiration du délai de paiement, au taux d'intérêt appliqué par la Banque centrale européenne à "
    "ses opérations principales de refinancement les plus récentes, en vigueur au premier jour du semestre de "
    "l'année civile au cours duquel les intérêts ont commencé à courir, majoré de 8 points de pourcentage (articles "
    "L2192-13 et R2192-31 du Code de la commande publique).")


PUBLIC_RECOVERY_INDEMNITY = (
    "Indemnité forfaitaire pour frais de recouvrement due en cas de retard de paiement : 40 € (articles L2192-13 et "
    "D2192-35 du Code de la commande publique).")


def payment_days() -> int:
    return int(current_app.config["BILLING_PAYMENT_DAYS"])


def default_payment_terms(payer_kind: str = PayerKind.COMPANY.value, trainee_pays: bool = False) -> str:
    """BILLING_PAYMENT_TERMS, else the organisation's, else "Paiement à N jours…". A trainee who pays (an individual,
    or a self-employed trainee refunded by their fund: ``trainee_pays``) is not told about subrogation (how an OPCO
    pays): the sentences that mention it are left out of their invoice."""
    terms = (current_app.config.get("BILLING_PAYMENT_TERMS") or "").strip() or (
        get_organisation().payment_terms or "").strip()
    if payer_kind == PayerKind.INDIVIDUAL.value or trainee_pays:
        terms = " ".join(sentence for sentence in re.split(r"(?<=[.!?])\s+", terms)
                         if "subrogation" not in sentence.lower())
    return terms or f"Paiement à {payment_days()} jours à compter de la date de facture, par virement bancaire."


def is_public_buyer(invoice: Invoice) -> bool:
    """Invoiced to a public buyer: as such or as a public funder (Chorus Pro), or a company flagged public buyer
    (e.g. an intra session)."""
    if invoice.payer_kind in PUBLIC_PAYERS:
        return True
    company = db.session.get(Company, invoice.payer_company_id) if invoice.payer_company_id else None
    return company is not None and company.is_public_buyer


def frozen_seller(payer_kind: str, public_buyer: bool = False) -> dict:
    """The organisation's identity and the terms, as stated on a document issued now (Invoice.seller): for a public
    buyer or funder, the Code de la commande publique's late-payment interest and indemnity; for an individual, no
    indemnity (a self-employed trainee refunded by their fund is a professional: the 40 € indemnity applies)."""
    config = current_app.config
    seller = builders.seller_identity()
    if public_buyer or payer_kind in PUBLIC_PAYERS:
        seller["late_penalties"], seller["recovery_indemnity"] = PUBLIC_LATE_PENALTIES, PUBLIC_RECOVERY_INDEMNITY
    else:
        seller["late_penalties"] = (config.get("BILLING_LATE_PENALTIES") or "").strip()
        seller["recovery_indemnity"] = "" if payer_kind == PayerKind.INDIVIDUAL.value else (
            config.get("BILLING_RECOVERY_INDEMNITY") or "").strip()
    seller["discount"] = (config.get("BILLING_EARLY_PAYMENT_DISCOUNT") or "").strip()
    return seller


def issue_problems(invoice: Invoice, seller: dict) -> dict[str, list[str]]:
    """The mandatory mentions missing from a document about to be issued, by field ("seller" for the
    organisation's, "lines" for the lines)."""
    problems: dict[str, list[str]] = {}

    def add(field_name: str, message: str) -> None:
        problems.setdefault(field_name, []).append(message)

    where = " (Administration → Organisme)"
    if not seller.get("name"):
        add("seller", "Raison sociale de l'organisme manquante" + where + ".")
    if not seller.get("siret"):
        add("seller", "SIRET de l'organisme manquant" + where + ".")
    if not seller.get("nda"):
        add("seller", "Numéro de déclaration d'activité de l'organisme manquant" + where + ".")
    if not (seller.get("address") and seller.get("postal_code") and seller.get("city")):
        add("seller", "Adresse de l'organisme incomplète" + where + ".")
    if not seller.get("vat_exempt") and not seller.get("vat_number"):
        add("seller", "Numéro de TVA intracommunautaire de l'organisme manquant (il n'est pas exonéré de TVA)"
            + where + ".")
    if not seller.get("late_penalties"):
        add("seller", "Texte des pénalités de retard manquant (réglage BILLING_LATE_PENALTIES).")
    if invoice.payer_kind != PayerKind.INDIVIDUAL.value and not seller.get("recovery_indemnity"):
        add("seller", "Mention de l'indemnité forfaitaire de recouvrement de 40 € manquante "
                      "(réglage BILLING_RECOVERY_INDEMNITY).")
    if not (invoice.buyer_name or "").strip():
        add("buyer_name", "Nom du client facturé manquant.")
    if not all((value or "").strip() for value in (invoice.buyer_address, invoice.buyer_postal_code,
                                                    invoice.buyer_city)):
        add("buyer_address", "Adresse du client incomplète (adresse, code postal et ville).")
    if invoice.payer_kind == PayerKind.COMPANY.value and len(invoice.buyer_siret or "") != 14:
        add("buyer_siret", "SIRET du client manquant : son SIREN est une mention obligatoire.")
    if invoice.payer_kind in FUNDER_PAYERS:
        for field_name, message in _funder_problems(invoice):
            add(field_name, message)
    if invoice.payer_kind in PUBLIC_PAYERS:
        for field_name, message in _chorus_problems(invoice):
            add(field_name, message)
    if not invoice.lines:
        add("lines", "La facture n'a aucune ligne.")
    elif invoice.total_incl_vat <= 0:
        add("lines", "Le total de la facture doit être supérieur à 0.")
    return problems


def _funder_problems(invoice: Invoice) -> list[tuple[str, str]]:
    """A funder's mentions: its SIREN when it is the buyer (an OPCO, a fund under subrogation, France Travail; a
    public funder's SIRET is Chorus Pro's business), the fund and its file on a self-employed fund's invoice, the AIF
    agreement reference on France Travail's, the convention or order reference and the category of a public
    funder's."""
    problems = []
    name = invoice.opco_name or invoice.buyer_name
    to_funder = invoice.payer_kind != PayerKind.PUBLIC_FUNDER.value and invoice.payer_trainee_id is None
    if to_funder and len(invoice.buyer_siret or "") not in (9, 14):
        label = "de l'OPCO facturé" if invoice.payer_kind == PayerKind.OPCO.value else "du financeur facturé"
        problems.append(("buyer_siret", f"SIREN {label}{f' ({name})' if name else ''} manquant : c'est une mention "
                                        "obligatoire ; saisissez-le (ou son SIRET) sur le brouillon, il sera repris "
                                        "sur ses factures suivantes."))
    file = (invoice.opco_file_number or "").strip()
    if invoice.payer_kind == PayerKind.SELF_EMPLOYED_FUND.value:
        if not (invoice.opco_name or "").strip():
            problems.append(("opco_name", "Fonds des non-salariés manquant : la facture nomme le fonds qui prend en "
                                          "charge la formation."))
        if not file:
            problems.append(("opco_file_number", f"Numéro de dossier {name or 'du fonds'} manquant : le fonds le "
                                                 "demande pour payer ou rembourser la formation."))
    elif invoice.payer_kind == PayerKind.FRANCE_TRAVAIL.value and not file:
        problems.append(("opco_file_number", "Référence de l'accord France Travail (devis AIF) manquante : c'est une "
                                             "mention obligatoire de sa facture."))
    elif invoice.payer_kind == PayerKind.PUBLIC_FUNDER.value:
        if not file:
            problems.append(("opco_file_number", f"Référence de la convention ou du bon de commande de "
                                                 f"{name or 'du financeur public'} manquante."))
        if invoice.funder_category not in PUBLIC_FUNDER_CATEGORIES:
            problems.append(("funder_category", "Catégorie du financeur public manquante (région, État, instances "
                                                "européennes ou autre) : elle classe ses produits au BPF."))
    return problems


def _chorus_problems(invoice: Invoice) -> list[tuple[str, str]]:
    """A public buyer's or funder's routing on Chorus Pro: its SIRET, and the service code and engagement number
    its record in the companies directory asks for."""
    company = db.session.get(Company, invoice.payer_company_id) if invoice.payer_company_id else None
    if company is None and invoice.payer_kind == PayerKind.PUBLIC_FUNDER.value:
        company = public_company(invoice.buyer_siret)
    problems = []
    if len(invoice.buyer_siret or "") != 14:
        label = "de l'acheteur public" if invoice.payer_kind == PayerKind.PUBLIC_BUYER.value else "du financeur public"
        problems.append(("buyer_siret", f"SIRET {label} manquant : Chorus Pro achemine la facture par son SIRET."))
    if company is None:
        return problems
    name = company.name
    if company.chorus_service_code and not invoice.service_code:
        problems.append(("service_code", f"{name} demande le code service « {company.chorus_service_code} » sur ses "
                                         "factures."))
    if company.engagement_required and not invoice.engagement_number:
        problems.append(("engagement_number", f"{name} exige un numéro d'engagement sur ses factures : Chorus Pro "
                                              "rejetterait la facture sans lui."))
    return problems


def refuse(problems: dict[str, list[str]]) -> None:
    if problems:
        listed = " ".join(message for messages in problems.values() for message in messages)
        raise ValidationError(f"Mentions obligatoires manquantes : {listed}", fields=problems)


def funder_mention(invoice: Invoice) -> str:
    """The funder as the invoice states it (its document and its Factur-X notes): "" for another payer."""
    return builders.funder_mention(invoice)


def document_context(invoice: Invoice) -> dict:
    """The Word document's context: the frozen seller of an issued document, today's for a draft."""
    seller = invoice.seller or frozen_seller(invoice.payer_kind, is_public_buyer(invoice))
    return builders.invoice(invoice, seller, invoice.number or "BROUILLON", transfer=document_part(invoice))


def render_docx(invoice: Invoice) -> bytes:
    """The document from the active "invoice" template (an uploaded one, or documents/facture.docx)."""
    template = documents.active_template("invoice")[0]
    return documents.render(template, document_context(invoice)).docx


def preview_context() -> dict | None:
    """For the template preview: the context of the latest invoice, or None when there is none."""
    invoice = db.session.scalar(select(Invoice).where(Invoice.session_id.is_not(None))
                                .order_by(Invoice.id.desc()).limit(1))
    return document_context(invoice) if invoice is not None else None


providers.register_preview("invoice", preview_context)


def _already_issued(invoice: Invoice, step: Transition) -> str:
    return f"Cette facture est déjà émise (n° {invoice.number})."


def take_number_and_produce(invoice: Invoice, actor: User | None, today: dt.date) -> None:
    """Number, dates, frozen identity, then the files; the caller has checked the mentions. Whatever fails
    here fails the transaction, so the number taken is given back."""
    number, sequence = next_number(invoice.kind, today.year)
    invoice.number, invoice.year, invoice.sequence = number, today.year, sequence
    workflow.apply_transition(invoice, TRANSITIONS, "issued", actor, refusal=_already_issued)
    invoice.issue_date = today
    invoice.issued_at = utcnow()
    invoice.issued_by_id = actor.id if actor else None
    invoice.operation_category = "services"
    docx = render_docx(invoice)
    invoice.docx_file = store_bytes(docx, f"{number}.docx", "invoice")
    db.session.flush()
    facturx.produce_files(invoice, docx)
    db.session.flush()


def _contract_enrolments(invoice: Invoice) -> list[Enrolment]:
    """The self-paying trainees' enrolments this invoice to an individual bills: each one's contrat de formation
    rules the invoice (enrolments/contract.py: its signature recorded, the withdrawal period run, a first call at
    30 % at most)."""
    if invoice.payer_kind != PayerKind.INDIVIDUAL.value:
        return []
    ids = sorted({line.enrolment_id for line in invoice.lines if line.enrolment_id})
    enrolments = [db.session.get(Enrolment, i) for i in ids]
    return [e for e in enrolments if e is not None and contract.is_individual(e)]


def _earlier_calls(invoice: Invoice, enrolments: list[Enrolment]) -> Decimal:
    """What was already invoiced to the trainee for these enrolments (issued invoices, before credit notes)."""
    billed = select(InvoiceLine.invoice_id).where(InvoiceLine.enrolment_id.in_([e.id for e in enrolments]))
    earlier = db.session.scalars(select(Invoice).where(
        Invoice.id != invoice.id, Invoice.kind == InvoiceKind.INVOICE.value, Invoice.status != InvoiceStatus.DRAFT.value,
        Invoice.id.in_(billed))).all()
    return sum((i.total_incl_vat for i in earlier), Decimal("0.00"))


def issue_invoice(invoice: Invoice, actor: User | None, today: dt.date | None = None) -> Invoice:
    """Give a draft its number and its documents; from then on it never changes (see docs/billing-invoices.md, "Issue")."""
    ensure_can_bill(actor)
    lock_row(Invoice, invoice.id)  # two clicks at once: the second finds it issued
    db.session.refresh(invoice)
    if invoice.kind != InvoiceKind.INVOICE.value:
        raise ConflictError("Un avoir est émis dès sa création.")
    workflow.legal_step(TRANSITIONS, "issued", invoice, refusal=_already_issued)
    session = session_of(invoice)
    contracts = _contract_enrolments(invoice)
    # A self-paying trainee's contract lets payment requests be made as the course goes (L6353-6).
    in_course = bool(contracts) and session is not None and session.is_held and not session.has_ended
    if session is None or (not session.has_ended and not in_course):
        label = SESSION_STATUS_LABELS[session.status].lower() if session is not None else "inconnue"
        raise ConflictError("Une facture s'émet une fois la formation réalisée (service fait) : la session est "
                            f"« {label} ». Terminez-la d'abord.")
    recompute(invoice)
    today = today or paris_today()
    if contracts:  # the contract's rules first: no point completing a document that cannot leave yet
        contract.check_individual_invoice(contracts, invoice.total_incl_vat, today=today,
                                          course_done=session.has_ended,
                                          earlier_calls=_earlier_calls(invoice, contracts))
    seller = frozen_seller(invoice.payer_kind, is_public_buyer(invoice))
    refuse(issue_problems(invoice, seller))
    invoice.seller = seller
    invoice.due_date = today + dt.timedelta(days=payment_days())
    invoice.payment_terms = default_payment_terms(invoice.payer_kind,
                                                  trainee_pays=invoice.payer_trainee_id is not None)
    take_number_and_produce(invoice, actor, today)
    return invoice
