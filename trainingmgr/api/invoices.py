"""Invoices and credit notes through the API (advisor token): the list, one invoice with its lines and the links to
its files (Word document, Factur-X PDF and XML), and the files themselves."""
from __future__ import annotations

from flask import g
from flask_smorest import Blueprint
from marshmallow import Schema, fields, pre_dump, validate

from ..accounts.permissions import current_principal, staff_required
from ..billing.invoices import queries as invoice_queries
from ..billing.invoices.files import filename, read_file, stored_file
from ..billing.models import INVOICE_KINDS, INVOICE_STATUSES, LINE_UNITS, PAYER_KINDS, InvoiceKind
from ..billing.payments import services as payments
from ..core.errors import NotFoundError
from ..core.links import external_url
from ..core.responses import attachment
from ..core.validation import MAX_ID
from .docs import STAFF_ONLY, error_responses
from .schemas import Hours, ModelSchema, Money

bp = Blueprint("invoices_api", __name__, description="Factures et avoirs (conseiller formation)")

FILE_TYPES = {"docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
              "pdf": "application/pdf", "xml": "application/xml"}


def Rate(**kwargs):  # noqa: N802
    return fields.Decimal(as_string=True, places=2, metadata={"type": "string", "format": "decimal",
                                                               "example": "0.00"}, **kwargs)


class InvoiceQuerySchema(Schema):
    status = fields.String(validate=validate.OneOf(list(INVOICE_STATUSES)))
    kind = fields.String(validate=validate.OneOf(list(INVOICE_KINDS)))
    year = fields.Integer(validate=validate.Range(min=2000, max=2100), metadata={"description": "Année d'émission"})
    session_id = fields.Integer(validate=validate.Range(min=1, max=MAX_ID))


class InvoiceLinksSchema(ModelSchema):
    """Dumps the invoice itself: the address of its page and of each of its files."""

    html = fields.String(required=True, metadata={"description": "La page de la facture dans l'application"})
    docx = fields.String(required=True, allow_none=True, metadata={"description": "Document Word ; null : brouillon"})
    pdf = fields.String(required=True, allow_none=True,
                        metadata={"description": "PDF Factur-X ; null : pas encore émise, ou PDF indisponible"})
    xml = fields.String(required=True, allow_none=True, metadata={"description": "XML EN 16931 (CII)"})

    def get_html(self, invoice) -> str:
        return external_url("billing.show", invoice_id=invoice.id)

    def get_docx(self, invoice) -> str | None:
        return _file_url(invoice, "docx")

    def get_pdf(self, invoice) -> str | None:
        return _file_url(invoice, "pdf")

    def get_xml(self, invoice) -> str | None:
        return _file_url(invoice, "xml")


class InvoiceSummarySchema(ModelSchema):
    id = fields.Integer(required=True)
    number = fields.String(required=True, allow_none=True, metadata={"example": "F2026-0001",
                                                                     "description": "null : brouillon"})
    kind = fields.String(required=True, metadata={"enum": list(INVOICE_KINDS)})
    status = fields.String(required=True, metadata={"enum": list(INVOICE_STATUSES)})
    issue_date = fields.Date(required=True, allow_none=True)
    due_date = fields.Date(required=True, allow_none=True)
    session_id = fields.Integer(required=True, allow_none=True)
    credited_invoice_id = fields.Integer(required=True, allow_none=True,
                                         metadata={"description": "Avoir : la facture qu'il annule"})
    payer_kind = fields.String(required=True, metadata={"enum": list(PAYER_KINDS)})
    buyer_name = fields.String(required=True)
    buyer_siret = fields.String(required=True, metadata={"description": "SIRET (ou SIREN) du client"})
    opco_name = fields.String(required=True)
    opco_file_number = fields.String(required=True)
    total_excl_vat = Money(required=True)
    total_vat = Money(required=True)
    total_incl_vat = Money(required=True)
    balance = fields.Decimal(as_string=True, places=2, required=True, allow_none=True, metadata={
        "type": "string", "format": "decimal", "example": "420.00",
        "description": "Reste dû (facture émise) ; null pour un brouillon ou un avoir"})
    links = fields.Nested(InvoiceLinksSchema, required=True)

    @pre_dump(pass_collection=True)
    def _load_balances(self, invoices, many: bool, **kwargs):
        """The balances of all the issued invoices of this dump, in one query."""
        g.api_balances = payments.balances([i for i in (invoices if many else [invoices]) if i.is_issued])
        return invoices

    def get_balance(self, invoice):
        return g.api_balances.get(invoice.id) if invoice.is_issued and invoice.kind == InvoiceKind.INVOICE.value else None

    def get_links(self, invoice):
        return invoice


class InvoiceLineSchema(Schema):
    position = fields.Integer(required=True)
    description = fields.String(required=True)
    quantity = Hours(required=True)
    unit = fields.String(required=True, metadata={"enum": list(LINE_UNITS),
                                                  "description": "Code UN/ECE : C62 stagiaire, HUR heure"})
    unit_price_excl_vat = Money(required=True)
    vat_rate = Rate(required=True)
    vat_amount = Money(required=True)
    total_excl_vat = Money(required=True)
    hours = Hours(required=True, allow_none=True)  # hours attended (OPCO lines)
    enrolment_id = fields.Integer(required=True, allow_none=True)
    funding_line_id = fields.Integer(required=True, allow_none=True)


class BuyerSchema(Schema):
    """Dumps the invoice itself: its buyer_* attributes."""

    name = fields.String(required=True, attribute="buyer_name")
    address = fields.String(required=True, attribute="buyer_address")
    postal_code = fields.String(required=True, attribute="buyer_postal_code")
    city = fields.String(required=True, attribute="buyer_city")
    country = fields.String(required=True, attribute="buyer_country")
    siret = fields.String(required=True, attribute="buyer_siret")
    vat_number = fields.String(required=True, attribute="buyer_vat_number")
    email = fields.String(required=True, attribute="buyer_email")


class InvoiceSchema(InvoiceSummarySchema):
    credited_invoice_number = fields.String(required=True, allow_none=True)
    reason = fields.String(required=True, metadata={"description": "Avoir : motif"})
    buyer = fields.Nested(BuyerSchema, required=True)
    beneficiary_company_id = fields.Integer(required=True, allow_none=True,
                                            metadata={"description": "OPCO : l'entreprise de la formation"})
    service_code = fields.String(required=True)
    engagement_number = fields.String(required=True)
    buyer_reference = fields.String(required=True)
    service_start = fields.Date(required=True, allow_none=True)
    service_end = fields.Date(required=True, allow_none=True)
    operation_category = fields.String(required=True, metadata={"example": "services"})
    payment_terms = fields.String(required=True)
    vat_exemption = fields.String(required=True)
    notes = fields.String(required=True)
    seller = fields.Dict(required=True, metadata={"description": "Identité de l'organisme figée à l'émission"})
    issued_at = fields.DateTime(required=True, allow_none=True)
    created_at = fields.DateTime(required=True)
    lines = fields.List(fields.Nested(InvoiceLineSchema), required=True)

    def get_credited_invoice_number(self, invoice) -> str | None:
        return invoice.credited_invoice.number if invoice.credited_invoice is not None else None

    def get_buyer(self, invoice):
        return invoice

    def get_seller(self, invoice) -> dict:
        return invoice.seller or {}


def _file_url(invoice, kind: str) -> str | None:
    if stored_file(invoice, kind) is None:
        return None
    return external_url("invoices_api.invoice_file", invoice_id=invoice.id, kind=kind)


@bp.route("/invoices")
@bp.doc(**STAFF_ONLY)
@staff_required  # before @bp.arguments: refuse the caller before reading the query
@bp.arguments(InvoiceQuerySchema, location="query")
@bp.response(200, InvoiceSummarySchema(many=True))
@error_responses(bp, 401, 403, 422)
def list_invoices(query):
    """Factures et avoirs, les brouillons puis les plus récents ; filtres « status » (draft, issued), « kind »
    (invoice, credit_note), « year » (année d'émission), « session_id ». Montants en chaînes (« 420.00 »)."""
    return invoice_queries.list_invoices(**query)


@bp.route("/invoices/<int:invoice_id>")
@bp.doc(**STAFF_ONLY)
@staff_required
@bp.response(200, InvoiceSchema)
@error_responses(bp, 401, 403, 404, described={404: "Facture inconnue"})
def get_invoice(invoice_id: int):
    """Une facture ou un avoir : client, vendeur figé à l'émission, lignes, totaux, solde, et les liens vers ses
    fichiers (Word, PDF Factur-X, XML EN 16931) quand ils existent."""
    return invoice_queries.get_invoice(invoice_id, current_principal())


@bp.route("/invoices/<int:invoice_id>/files/<kind>")
@bp.doc(**STAFF_ONLY, responses={"200": {"description": "Le fichier (docx, pdf ou xml)", "content": {
    content_type: {"schema": {"type": "string", "format": "binary"}} for content_type in FILE_TYPES.values()}}},
    parameters=[{"in": "path", "name": "kind", "required": True,
                 "schema": {"type": "string", "enum": list(FILE_TYPES)}}])
@staff_required
@error_responses(bp, 401, 403, 404, described={404: "Facture inconnue, ou fichier absent (brouillon, PDF non produit)"})
def invoice_file(invoice_id: int, kind: str):
    """Le fichier d'une facture émise, vérifié par son empreinte SHA-256 : « docx », « pdf » (Factur-X) ou
    « xml »."""
    if kind not in FILE_TYPES:
        raise NotFoundError("Format inconnu : docx, pdf ou xml.")
    invoice = invoice_queries.get_invoice(invoice_id, current_principal())
    data, _ = read_file(invoice, kind)
    return attachment(data, filename(invoice, kind), FILE_TYPES[kind])
