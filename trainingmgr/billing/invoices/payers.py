"""Who an invoice is addressed to: the buyer's values for a company, an OPCO, a funder, a professional or a
trainee, taken up from the last invoice to the same payer. See docs/billing-invoices.md."""
from __future__ import annotations

from sqlalchemy import select

from ...companies.models import Company
from ...enrolments.models import AGREEMENT_KINDS, FundingLine
from ...extensions import db
from ...trainees.models import Trainee
from ..kinds import PayerKind
from ..models import Invoice

# The payers that are a funder with its file (prise en charge): its name in ``Invoice.opco_name``, its file number,
# agreement or convention reference in ``opco_file_number``.
FUNDER_PAYERS = AGREEMENT_KINDS  # the funding kinds with a funder's decision (enrolments.models)


# The payers told the Code de la commande publique's terms, whose invoices go through Chorus Pro.
PUBLIC_PAYERS = (PayerKind.PUBLIC_BUYER.value, PayerKind.PUBLIC_FUNDER.value)
# The payers whose invoice goes to a company on file (a public buyer or funder is one too).
COMPANY_PAYERS = (PayerKind.COMPANY.value, *PUBLIC_PAYERS)
# The payers whose invoice may go to the trainee: personally, or as a professional refunded by their fund.
TRAINEE_PAYERS = (PayerKind.INDIVIDUAL.value, PayerKind.SELF_EMPLOYED_FUND.value)


FRANCE_TRAVAIL = "France Travail"


# How each funder's reference is named on the invoice lines.
REFERENCE_LABELS = {PayerKind.OPCO.value: "dossier n°", PayerKind.SELF_EMPLOYED_FUND.value: "dossier n°",
                    PayerKind.FRANCE_TRAVAIL.value: "accord AIF n°",
                    PayerKind.PUBLIC_FUNDER.value: "convention / commande n°"}


def company_values(company: Company) -> dict:
    contact = company.contact("accounting", "signatory", "hr", "other")
    return {"payer_company_id": company.id, "buyer_name": company.name[:200], "buyer_address": company.address or "",
            "buyer_postal_code": company.postal_code or "", "buyer_city": company.city or "",
            "buyer_siret": company.siret or "", "buyer_email": contact.email if contact else ""}


def previous_buyer(values: dict, *conditions) -> dict:
    """``values`` completed with the buyer's address and identifiers as the last invoice matching ``conditions``
    stated them (an OPCO's, a fund's, France Travail's or a professional's address is typed once by the advisor,
    on the first draft)."""
    previous = db.session.scalar(select(Invoice).where(*conditions, Invoice.buyer_address != "")
                                 .order_by(Invoice.id.desc()).limit(1))
    if previous is not None:
        values.update(buyer_name=previous.buyer_name, buyer_address=previous.buyer_address,
                      buyer_postal_code=previous.buyer_postal_code, buyer_city=previous.buyer_city,
                      buyer_siret=previous.buyer_siret, buyer_vat_number=previous.buyer_vat_number)
        values["buyer_email"] = values.get("buyer_email") or previous.buyer_email
    return values


def opco_values(line: FundingLine, beneficiary: Company | None, lookup: bool = True) -> dict:
    """A funder paid directly by the organisation (an OPCO or a self-employed fund under subrogation, France
    Travail): its name, file and adviser; its address from its last invoice. Without ``lookup``, no query (who pays
    is known; the address is not needed: the quality checklist)."""
    name = FRANCE_TRAVAIL if line.kind == PayerKind.FRANCE_TRAVAIL.value else line.opco_name
    values = {"opco_name": name, "opco_file_number": line.opco_file_number, "buyer_name": name,
              "buyer_email": line.opco_contact_email or "", "beneficiary_company_id": beneficiary.id if beneficiary
              else None}
    if not lookup:
        return values
    return previous_buyer(values, Invoice.payer_kind == line.kind, Invoice.opco_name == name,
                           Invoice.payer_trainee_id.is_(None))


def professional_values(line: FundingLine, trainee: Trainee, lookup: bool = True) -> dict:
    """A self-employed trainee who pays and claims the refund from their fund: invoiced as a professional, the
    fund and its file stated; the practice's address and SIRET from the last such invoice to them."""
    values = {**trainee_values(trainee), "opco_name": line.opco_name, "opco_file_number": line.opco_file_number}
    if not lookup:
        return values
    return previous_buyer(values, Invoice.payer_kind == PayerKind.SELF_EMPLOYED_FUND.value,
                          Invoice.payer_trainee_id == trainee.id)


def public_company(siret: str) -> Company | None:
    """The companies directory's record of a public funder or buyer by its SIRET (its address, Chorus Pro service
    code and engagement requirement), if it is there."""
    if len(siret or "") != 14:
        return None
    return db.session.scalar(select(Company).where(Company.siret == siret)
                             .order_by(Company.is_public_buyer.desc(), Company.id).limit(1))


def _public_funder_values(line: FundingLine, lookup: bool = True) -> dict:
    """A region or another public funder: invoiced through Chorus Pro (SIRET, service code, engagement number) with
    its convention or order reference; its address from the companies directory (same SIRET), else from its last
    invoice."""
    values = {"opco_name": line.opco_name, "opco_file_number": line.opco_file_number, "buyer_name": line.opco_name,
              "buyer_siret": line.buyer_siret, "service_code": line.service_code,
              "engagement_number": line.engagement_number, "funder_category": line.funder_category,
              "buyer_email": line.opco_contact_email or ""}
    if not lookup:
        return values
    company = public_company(line.buyer_siret)
    if company is None:
        return previous_buyer(values, Invoice.payer_kind == PayerKind.PUBLIC_FUNDER.value,
                              Invoice.buyer_siret == line.buyer_siret)
    known = company_values(company)
    values.update(payer_company_id=company.id, buyer_address=known["buyer_address"],
                  buyer_postal_code=known["buyer_postal_code"], buyer_city=known["buyer_city"],
                  service_code=line.service_code or company.chorus_service_code or "",
                  buyer_email=values["buyer_email"] or known["buyer_email"])
    return values


def trainee_values(trainee: Trainee) -> dict:
    return {"payer_trainee_id": trainee.id, "buyer_name": trainee.display_name[:200], "buyer_email": trainee.email}


def paid_by_funder(line: FundingLine) -> bool:
    """The funder pays the organisation itself: an OPCO or a self-employed fund under subrogation, France Travail,
    a public funder. (A fund without subrogation: the trainee pays and claims the refund.)"""
    return line.kind in (PayerKind.FRANCE_TRAVAIL.value, PayerKind.PUBLIC_FUNDER.value) or (
        line.kind in (PayerKind.OPCO.value, PayerKind.SELF_EMPLOYED_FUND.value) and line.subrogation)


def funder_name(line: FundingLine) -> str:
    return FRANCE_TRAVAIL if line.kind == PayerKind.FRANCE_TRAVAIL.value else line.opco_name


def funder_values(line: FundingLine, company: Company | None, lookup: bool) -> dict:
    if line.kind == PayerKind.PUBLIC_FUNDER.value:
        return _public_funder_values(line, lookup)
    return opco_values(line, company, lookup)
