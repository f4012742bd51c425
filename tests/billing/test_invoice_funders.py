"""Invoicing every kind of funder (billing/invoices.py, facturx.py, payments.py): a self-employed fund (the trainee
pays as a professional and claims the refund, or the fund pays under subrogation), France Travail (AIF) and a region
(Chorus Pro): from the funding lines to the proposed drafts, the issue with its mandatory mentions (a missing
reference refused in French, no number taken), the Word document, the Factur-X buyer and references, the terms,
and who is reminded."""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from lxml import etree
from sqlalchemy import select

from trainingmgr.billing.invoices.credit_notes import credit_invoice
from trainingmgr.billing.invoices.drafts import DRAFT_FIELDS, create_draft, update_draft
from trainingmgr.billing.invoices.files import read_file
from trainingmgr.billing.invoices.issue import (
    PUBLIC_LATE_PENALTIES,
    PUBLIC_RECOVERY_INDEMNITY,
    is_public_buyer,
    issue_invoice,
)
from trainingmgr.billing.invoices.planning import plan_invoices, propose_invoices
from trainingmgr.billing.invoices.shares import invoice_key
from trainingmgr.billing.models import Invoice
from trainingmgr.billing.payments import services as payments
from trainingmgr.core.errors import ValidationError
from trainingmgr.core.timeutil import utcnow
from trainingmgr.enrolments.models import FundingLine
from trainingmgr.extensions import db
from trainingmgr.messaging.models import OutboxMessage

from tests.documents.support import docx_text
from tests.fixtures.billing import complete, enrol_with, fill_buyer, flat, invoices_of
from tests.helpers import login, page

D = Decimal
CII = {"rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
       "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"}
ARCHITECT_SIRET = "44306184100021"
FRANCE_TRAVAIL_SIREN = "130005481"
REGION_SIRET = "20005379100014"
FIF_PL_TEXT = ("Prise en charge FIF PL, dossier n° FIFPL-2031-1 : le stagiaire règle la facture et en demande le "
               "remboursement au fonds")
COMMERCIAL_INDEMNITY = "40 € (articles L441-10 et D441-5 du Code de commerce)"


def fund(enrolment, kind: str, amount: str, **fields) -> FundingLine:
    """A funding line written directly (amounts including VAT), as the enrolment's page saves it."""
    line = FundingLine(enrolment=enrolment, kind=kind, amount=D(amount), **fields)
    db.session.add(line)
    db.session.flush()
    return line


def agreement(amount: str, **fields) -> dict:
    return {"opco_status": "agreed", "agreed_amount": D(amount), "requested_on": dt.date(2031, 1, 2),
            "agreed_on": dt.date(2031, 1, 10), **fields}


def proposed(session, kind: str) -> list:
    return [p for p in plan_invoices(session).invoices if p.payer_kind == kind]


def drafts(session, kind: str) -> list[Invoice]:
    return [i for i in invoices_of(session) if i.payer_kind == kind]


def issue(invoice, advisor) -> Invoice:
    issue_invoice(invoice, advisor)
    db.session.commit()
    return invoice


def refused(invoice, advisor) -> dict[str, list[str]]:
    """Issuing is refused: the messages by field; nothing is numbered."""
    with pytest.raises(ValidationError) as error:
        issue_invoice(invoice, advisor)
    db.session.rollback()
    assert db.session.get(Invoice, invoice.id).number is None
    return error.value.fields


def text_of(invoice) -> str:
    return re.sub(r"\s+", " ", flat(docx_text(read_file(invoice, "docx")[0])))


def xml_of(invoice):
    return etree.fromstring(read_file(invoice, "xml")[0])


def xpath(tree, path: str) -> list[str]:
    return [str(v) for v in tree.xpath(path, namespaces=CII)]


def notes_of(tree) -> dict[str, str]:
    return {n.findtext("ram:SubjectCode", namespaces=CII): n.findtext("ram:Content", namespaces=CII)
            for n in tree.xpath("//rsm:ExchangedDocument/ram:IncludedNote", namespaces=CII)}


# --------------------------------------------------------------------------- a self-employed fund


def test_a_self_employed_trainee_pays_the_fund_share_as_a_professional_and_claims_the_refund(inter):
    session, advisor = inter.session, inter.advisor
    architect = enrol_with(session, 1, [])
    # Only requested: the trainee pays whatever the fund decides, so the invoice does not wait for the agreement.
    fund(architect, "self_employed_fund", "600.00", opco_name="FIF PL", opco_file_number="FIFPL-2031-1",
         opco_status="requested", subrogation=False, opco_contact_email="conseil@fifpl.example")
    complete(session)

    [plan] = proposed(session, "self_employed_fund")
    assert plan.key == ("self_employed_fund", architect.trainee_id, "FIF PL", "FIFPL-2031-1")
    assert (plan.values["payer_trainee_id"], plan.values["buyer_name"], plan.values["buyer_email"]) == (
        architect.trainee_id, architect.trainee.display_name, architect.trainee.email)
    assert (plan.values["opco_name"], plan.values["opco_file_number"]) == ("FIF PL", "FIFPL-2031-1")
    assert plan.total_incl_vat == D("600.00") and f"– p{FIF_PL_TEXT[1:]}" in plan.lines[0].description
    assert not proposed(session, "individual") and not proposed(session, "company")

    propose_invoices(session, advisor)
    db.session.commit()
    [invoice] = invoices_of(session)
    assert (invoice.payer_kind, invoice.payer_trainee_id, invoice.total_incl_vat) == (
        "self_employed_fund", architect.trainee_id, D("600.00"))
    assert invoice_key(invoice) == plan.key
    assert propose_invoices(session, advisor).created == []  # proposing twice changes nothing

    # The fund's file is a mandatory mention: without it, the fund would not refund the trainee.
    fill_buyer(invoice, buyer_siret=ARCHITECT_SIRET, opco_file_number="")
    db.session.commit()
    assert refused(invoice, advisor)["opco_file_number"] == [
        "Numéro de dossier FIF PL manquant : le fonds le demande pour payer ou rembourser la formation."]
    invoice = db.session.get(Invoice, invoice.id)
    invoice.opco_file_number = "FIFPL-2031-1"
    db.session.commit()

    issue(invoice, advisor)
    assert re.fullmatch(r"F\d{4}-\d{4}", invoice.number)
    text = text_of(invoice)
    assert FIF_PL_TEXT in text
    assert f"Indemnité forfaitaire pour frais de recouvrement due en cas de retard de paiement : {COMMERCIAL_INDEMNITY}" \
        in text  # a professional
    assert "subrogation" not in invoice.payment_terms.lower()
    tree = xml_of(invoice)
    assert xpath(tree, "//ram:BuyerTradeParty/ram:Name/text()") == [architect.trainee.display_name]
    assert xpath(tree, "//ram:BuyerTradeParty/ram:GlobalID[@schemeID='0009']/text()") == [ARCHITECT_SIRET]
    assert xpath(tree, "//ram:ContractReferencedDocument/ram:IssuerAssignedID/text()") == ["FIFPL-2031-1"]
    notes = notes_of(tree)
    assert notes["BAR"] == "B2B" and COMMERCIAL_INDEMNITY in notes["PMT"] and FIF_PL_TEXT in notes["AAI"]

    # Reminded at the trainee's address (not the fund's adviser's), on the trainee's customer account.
    invoice.buyer_email = ""
    assert payments.reminder_recipient(invoice) == architect.trainee.email
    assert payments.customer_account(invoice) == f"411P{architect.trainee_id:05d}"


def test_a_fund_refusal_stops_the_trainee_invoice(inter):
    session = inter.session
    architect = enrol_with(session, 1, [])
    fund(architect, "self_employed_fund", "600.00", opco_name="AGEFICE", opco_file_number="AG-9",
         opco_status="refused", refused_on=dt.date(2031, 1, 9))
    complete(session)
    plan = plan_invoices(session)
    assert plan.invoices == []
    assert plan.unknown == [f"{architect.trainee.full_name} : AGEFICE a refusé la prise en charge (dossier n° AG-9) ; "
                            "modifiez le financement de l'inscription."]


def test_a_fund_under_subrogation_waits_for_its_agreement_then_is_invoiced_with_its_siren(inter):
    session, advisor = inter.session, inter.advisor
    trainee = enrol_with(session, 1, [])
    line = fund(trainee, "self_employed_fund", "600.00", opco_name="AGEFICE", opco_file_number="AG-2031-5",
                opco_status="requested", subrogation=True, opco_contact_email="conseil@agefice.example")
    complete(session)
    plan = plan_invoices(session)
    assert plan.invoices == [] and "AGEFICE (dossier n° AG-2031-5) n'est pas enregistré" in plan.unknown[0]

    for key, value in agreement("500.00").items():
        setattr(line, key, value)
    db.session.commit()
    [to_fund] = proposed(session, "self_employed_fund")
    assert to_fund.key == ("self_employed_fund", None, "AGEFICE", "AG-2031-5")
    assert (to_fund.values.get("payer_trainee_id"), to_fund.values["buyer_name"], to_fund.total_incl_vat) == (
        None, "AGEFICE", D("500.00"))  # capped at the agreement
    [rest] = proposed(session, "individual")
    assert rest.total_incl_vat == D("100.00") and "reste à charge après AGEFICE" in rest.lines[0].description

    propose_invoices(session, advisor)
    db.session.commit()
    [invoice] = drafts(session, "self_employed_fund")
    fill_buyer(invoice, buyer_siret="")
    db.session.commit()
    assert refused(invoice, advisor)["buyer_siret"][0].startswith("SIREN du financeur facturé (AGEFICE) manquant")
    invoice = db.session.get(Invoice, invoice.id)
    invoice.buyer_siret = "851296632"
    db.session.commit()
    text = text_of(issue(invoice, advisor))
    assert ("Prise en charge AGEFICE, dossier n° AG-2031-5 : subrogation de paiement, le fonds règle directement "
            "l'organisme de formation") in text
    # Without an e-mail on the invoice, the fund's adviser for the file is reminded.
    invoice.buyer_email = ""
    assert payments.reminder_recipient(invoice) == "conseil@agefice.example"
    assert payments.customer_account(invoice) == "411AGEFICE"


# --------------------------------------------------------------------------- France Travail


def test_france_travail_is_invoiced_once_agreed_capped_at_its_agreement_with_the_aif_reference(inter):
    session, advisor = inter.session, inter.advisor
    seeker, other = enrol_with(session, 1, []), enrol_with(session, 2, [])
    line = fund(seeker, "france_travail", "600.00", opco_name="France Travail", opco_file_number="AIF-2031-000123",
                opco_status="requested", opco_contact_email="conseiller@francetravail.example")
    later = fund(other, "france_travail", "600.00", opco_name="France Travail", opco_file_number="AIF-2031-000124",
                 opco_status="requested")
    complete(session)
    plan = plan_invoices(session)
    assert plan.invoices == []
    assert plan.unknown[0] == (f"{seeker.trainee.full_name} : l'accord de France Travail (accord AIF n° "
                               "AIF-2031-000123) n'est pas enregistré ; rien n'est proposé pour cette inscription "
                               "tant que la prise en charge n'est pas connue.")

    for key, value in agreement("550.00").items():
        setattr(line, key, value)
    db.session.commit()
    [aif] = proposed(session, "france_travail")
    assert aif.key == ("france_travail", "AIF-2031-000123")
    assert (aif.values["buyer_name"], aif.values["opco_file_number"], aif.total_incl_vat) == (
        "France Travail", "AIF-2031-000123", D("550.00"))
    assert "France Travail, accord AIF n° AIF-2031-000123" in aif.lines[0].description
    assert [p.total_incl_vat for p in proposed(session, "individual")] == [D("50.00")]

    propose_invoices(session, advisor)
    db.session.commit()
    [invoice] = drafts(session, "france_travail")
    fill_buyer(invoice, address="Direction régionale Occitanie", buyer_siret="", opco_file_number="")
    db.session.commit()
    problems = refused(invoice, advisor)
    assert problems["opco_file_number"] == [
        "Référence de l'accord France Travail (devis AIF) manquante : c'est une mention obligatoire de sa facture."]
    assert problems["buyer_siret"][0].startswith("SIREN du financeur facturé (France Travail) manquant")

    # Typed on the draft's page, like the advisor would.
    invoice = db.session.get(Invoice, invoice.id)
    update_draft(invoice, {**{key: getattr(invoice, key) for key in DRAFT_FIELDS},
                                   "opco_file_number": "AIF-2031-000123", "buyer_siret": FRANCE_TRAVAIL_SIREN},
                         advisor)
    db.session.commit()
    issue(invoice, advisor)
    text = text_of(invoice)
    assert ("Aide individuelle à la formation (AIF) – France Travail, référence de l'accord (devis AIF) : "
            "AIF-2031-000123") in text
    assert "SIREN 130 005 481" in text
    tree = xml_of(invoice)
    assert xpath(tree, "//ram:BuyerTradeParty/ram:Name/text()") == ["France Travail"]
    assert xpath(tree, "//ram:BuyerTradeParty/ram:SpecifiedLegalOrganization/ram:ID/text()") == [FRANCE_TRAVAIL_SIREN]
    assert xpath(tree, "//ram:ContractReferencedDocument/ram:IssuerAssignedID/text()") == ["AIF-2031-000123"]
    invoice.buyer_email = ""
    assert payments.reminder_recipient(invoice) == "conseiller@francetravail.example"
    assert payments.customer_account(invoice) == "411FRANCETRAVAIL"

    # The next agreement's invoice takes up France Travail's address and SIREN: nothing to type again.
    for key, value in agreement("600.00").items():
        setattr(later, key, value)
    db.session.commit()
    [created] = propose_invoices(session, advisor).created
    assert (created.payer_kind, created.opco_file_number, created.buyer_siret, created.buyer_address) == (
        "france_travail", "AIF-2031-000124", FRANCE_TRAVAIL_SIREN, "Direction régionale Occitanie")


def test_france_travail_pays_nothing_for_a_no_show(inter):
    session = inter.session
    seeker = enrol_with(session, 1, [])
    fund(seeker, "france_travail", "600.00", opco_name="France Travail", opco_file_number="AIF-1",
         **agreement("600.00"))
    complete(session, statuses={seeker.id: "no_show"}, hours={seeker.id: D("0")})
    assert proposed(session, "france_travail") == []


# --------------------------------------------------------------------------- a region (Chorus Pro)


@pytest.fixture
def region(inter):
    from trainingmgr.companies.services import save_company

    company = save_company(None, {"name": "Région Occitanie", "siret": REGION_SIRET, "is_public_buyer": True,
                                  "chorus_service_code": "FORMATION", "engagement_required": True,
                                  "address": "22 boulevard du Maréchal Juin", "postal_code": "31406",
                                  "city": "Toulouse"})
    db.session.flush()
    return company


def test_a_public_funder_is_invoiced_through_chorus_pro_with_the_public_terms(inter, region):
    session, advisor = inter.session, inter.advisor
    trainee = enrol_with(session, 1, [])
    fund(trainee, "public_funder", "600.00", opco_name="Région Occitanie", opco_file_number="CONV-2031-77",
         funder_category="region", buyer_siret=REGION_SIRET, opco_contact_email="formation@laregion.example",
         **agreement("600.00"))
    complete(session)

    [plan] = proposed(session, "public_funder")
    assert plan.key == ("public_funder", "Région Occitanie", "CONV-2031-77")
    values = plan.values
    assert (values["buyer_siret"], values["service_code"], values["funder_category"], values["payer_company_id"],
            values["buyer_city"]) == (REGION_SIRET, "FORMATION", "region", region.id, "Toulouse")

    propose_invoices(session, advisor)
    db.session.commit()
    [invoice] = invoices_of(session)
    assert (invoice.payer_kind, invoice.funder_category, invoice.total_incl_vat) == ("public_funder", "region",
                                                                                     D("600.00"))
    assert is_public_buyer(invoice)
    assert refused(invoice, advisor)["engagement_number"] == [
        "Région Occitanie exige un numéro d'engagement sur ses factures : Chorus Pro rejetterait la facture sans lui."]
    invoice = db.session.get(Invoice, invoice.id)
    invoice.engagement_number = "EJ-77"
    db.session.commit()

    issue(invoice, advisor)
    assert invoice.seller["late_penalties"] == PUBLIC_LATE_PENALTIES
    assert invoice.seller["recovery_indemnity"] == PUBLIC_RECOVERY_INDEMNITY
    text = text_of(invoice)
    assert "Financement public (Conseil régional) – Région Occitanie, convention / commande n° CONV-2031-77" in text
    assert "Code service : FORMATION – N° d'engagement : EJ-77" in text and "SIRET 200 053 791 00014" in text
    assert "L2192-13 et R2192-31 du Code de la commande publique" in text and "Code de commerce" not in text
    tree = xml_of(invoice)
    assert xpath(tree, "//ram:BuyerReference/text()") == ["FORMATION"]  # BT-10, Chorus Pro's service code
    assert xpath(tree, "//ram:BuyerOrderReferencedDocument/ram:IssuerAssignedID/text()") == ["EJ-77"]  # BT-13
    assert xpath(tree, "//ram:ContractReferencedDocument/ram:IssuerAssignedID/text()") == ["CONV-2031-77"]  # BT-12
    assert xpath(tree, "//ram:BuyerTradeParty/ram:GlobalID[@schemeID='0009']/text()") == [REGION_SIRET]

    # A credit note keeps the funder's category (the BPF line of the amount it takes back).
    note = credit_invoice(invoice, advisor, "100", "Une demi-journée non réalisée")
    db.session.commit()
    assert (note.payer_kind, note.funder_category, note.engagement_number) == ("public_funder", "region", "EJ-77")

    # Its reminder states the Code de la commande publique's interest.
    payments.send_reminder(invoice, advisor, now=utcnow() + dt.timedelta(days=60))
    db.session.commit()
    [mail] = db.session.scalars(select(OutboxMessage).where(OutboxMessage.topic == "invoice_reminder")).all()
    assert mail.recipient == "formation@laregion.example"
    assert "Code de la commande publique" in mail.body_text and "L441-10" not in mail.body_text


def test_a_public_funder_needs_its_siret_reference_and_category(inter):
    session, advisor = inter.session, inter.advisor
    trainee = enrol_with(session, 1, [])
    fund(trainee, "public_funder", "600.00", opco_name="Conseil départemental", opco_file_number="",
         funder_category="", buyer_siret="", **agreement("600.00"))
    complete(session)
    propose_invoices(session, advisor)
    [invoice] = invoices_of(session)
    fill_buyer(invoice)
    db.session.commit()
    problems = refused(invoice, advisor)
    assert problems["buyer_siret"] == ["SIRET du financeur public manquant : Chorus Pro achemine la facture par son "
                                       "SIRET."]
    assert problems["opco_file_number"] == ["Référence de la convention ou du bon de commande de Conseil "
                                            "départemental manquante."]
    assert problems["funder_category"][0].startswith("Catégorie du financeur public manquante")


# --------------------------------------------------------------------------- drafts by hand and the invoice page


def test_drafts_by_hand_for_the_new_funders(inter, region):
    session, advisor = inter.session, inter.advisor
    trainee = enrol_with(session, 1, [])
    db.session.commit()

    def refused_draft(data) -> dict:
        with pytest.raises(ValidationError) as error:
            create_draft(session, data, advisor)
        return error.value.fields

    assert refused_draft({"payer_kind": "self_employed_fund", "opco_name": "OPCO EP"})["opco_name"] == [
        "Choisissez le fonds des non-salariés : FIF PL, AGEFICE, FAFCEA, FAF PM, VIVEA."]
    assert "funder_category" in refused_draft({"payer_kind": "public_funder", "payer_company_id": str(region.id)})

    to_fund = create_draft(session, {"payer_kind": "self_employed_fund", "opco_name": "FIF PL"}, advisor)
    assert (to_fund.buyer_name, to_fund.payer_trainee_id) == ("FIF PL", None)
    to_trainee = create_draft(session, {"payer_kind": "self_employed_fund", "opco_name": "FIF PL",
                                                "payer_trainee_id": str(trainee.trainee_id)}, advisor)
    assert (to_trainee.buyer_name, to_trainee.payer_trainee_id, to_trainee.opco_name) == (
        trainee.trainee.display_name, trainee.trainee_id, "FIF PL")
    aif = create_draft(session, {"payer_kind": "france_travail"}, advisor)
    assert (aif.buyer_name, aif.opco_name) == ("France Travail", "France Travail")
    public = create_draft(session, {"payer_kind": "public_funder", "payer_company_id": str(region.id),
                                            "funder_category": "region"}, advisor)
    assert (public.buyer_name, public.buyer_siret, public.service_code, public.funder_category) == (
        "Région Occitanie", REGION_SIRET, "FORMATION", "region")


def test_the_invoice_page_shows_the_funder(inter, client):
    session, advisor = inter.session, inter.advisor
    seeker = enrol_with(session, 1, [])
    fund(seeker, "france_travail", "600.00", opco_name="France Travail", opco_file_number="AIF-7",
         **agreement("600.00"))
    complete(session)
    propose_invoices(session, advisor)
    db.session.commit()
    [invoice] = drafts(session, "france_travail")
    login(client, "conseil@test.example")
    body = page(client.get(f"/billing/{invoice.id}"))
    assert "Aide individuelle à la formation (AIF) – France Travail, référence de l'accord (devis AIF) : AIF-7" in body
    edit = page(client.get(f"/billing/{invoice.id}/edit"))
    assert "Référence de l'accord France Travail (devis AIF)" in edit and "Code service" not in edit
