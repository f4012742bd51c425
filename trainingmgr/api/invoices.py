"""Invoices and credit notes through the API (advisor token): the list, one invoice with its lines and the links to
its files (Word document, Factur-X PDF and XML), and the files themselves."""
from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from ..core.web import attachment, external_url
from ..accounts.permissions import current_principal, staff_required
from ..billing import invoices as service
from ..billing import payments
from ..billing.models import INVOICE_KINDS, INVOICE_STATUSES, LINE_UNITS, PAYER_KINDS
from ..core.errors import NotFoundError
from ..core.validation import MAX_ID
from .docs import STAFF_ONLY, error_responses
from .schemas import Hours, Money

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


class InvoiceLinksSchema(Schema):
    html = fields.String(required=True, metadata={"description": "La page de la facture dans l'application"})
    docx = fields.String(required=True, allow_none=True, metadata={"description": "Document Word ; null : brouillon"})
    pdf = fields.String(required=True, allow_none=True,
                        metadata={"description": "PDF Factur-X ; null : pas encore émise, ou PDF indisponible"})
    xml = fields.String(required=True, allow_none=True, metadata={"description": "XML EN 16931 (CII)"})


class InvoiceSummarySchema(Schema):
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
    name = fields.String(required=True)
    address = fields.String(required=True)
    postal_code = fields.String(required=True)
    city = fields.String(required=True)
    country = fields.String(required=True)
    siret = fields.String(required=True)
    vat_number = fields.String(required=True)
    email = fields.String(required=True)


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


def _file_url(invoice, kind: str) -> str | None:
    if service.stored_file(invoice, kind) is None:
        return None
    return external_url("invoices_api.invoice_file", invoice_id=invoice.id, kind=kind)


def summary_dict(invoice, balance) -> dict:
    return {
        "id": invoice.id, "number": invoice.number, "kind": invoice.kind, "status": invoice.status,
        "issue_date": invoice.issue_date, "due_date": invoice.due_date, "session_id": invoice.session_id,
        "credited_invoice_id": invoice.credited_invoice_id, "payer_kind": invoice.payer_kind,
        "buyer_name": invoice.buyer_name, "buyer_siret": invoice.buyer_siret, "opco_name": invoice.opco_name,
        "opco_file_number": invoice.opco_file_number, "total_excl_vat": invoice.total_excl_vat,
        "total_vat": invoice.total_vat, "total_incl_vat": invoice.total_incl_vat,
        "balance": balance if invoice.status == "issued" and invoice.kind == "invoice" else None,
        "links": {"html": external_url("billing.show", invoice_id=invoice.id),
                  **{kind: _file_url(invoice, kind) for kind in FILE_TYPES}},
    }


def invoice_dict(invoice, balance) -> dict:
    credited = invoice.credited_invoice
    return {
        **summary_dict(invoice, balance),
        "credited_invoice_number": credited.number if credited is not None else None,
        "reason": invoice.reason,
        "buyer": {"name": invoice.buyer_name, "address": invoice.buyer_address,
                  "postal_code": invoice.buyer_postal_code, "city": invoice.buyer_city,
                  "country": invoice.buyer_country, "siret": invoice.buyer_siret,
                  "vat_number": invoice.buyer_vat_number, "email": invoice.buyer_email},
        "beneficiary_company_id": invoice.beneficiary_company_id, "service_code": invoice.service_code,
        "engagement_number": invoice.engagement_number, "buyer_reference": invoice.buyer_reference,
        "service_start": invoice.service_start, "service_end": invoice.service_end,
        "operation_category": invoice.operation_category, "payment_terms": invoice.payment_terms,
        "vat_exemption": invoice.vat_exemption, "notes": invoice.notes, "seller": invoice.seller or {},
        "issued_at": invoice.issued_at, "created_at": invoice.created_at,
        "lines": [{"position": line.position, "description": line.description, "quantity": line.quantity,
                   "unit": line.unit, "unit_price_excl_vat": line.unit_price_excl_vat, "vat_rate": line.vat_rate,
                   "vat_amount": line.vat_amount, "total_excl_vat": line.total_excl_vat, "hours": line.hours,
                   "enrolment_id": line.enrolment_id, "funding_line_id": line.funding_line_id}
                  for line in invoice.lines],
    }


@bp.route("/invoices")
@bp.doc(**STAFF_ONLY)
@staff_required  # before @bp.arguments: refuse the caller before reading the query
@bp.arguments(InvoiceQuerySchema, location="query")
@bp.response(200, InvoiceSummarySchema(many=True))
@error_responses(bp, 401, 403, 422)
def list_invoices(query):
    """Factures et avoirs, les brouillons puis les plus récents ; filtres « status » (draft, issued), « kind »
    (invoice, credit_note), « year » (année d'émission), « session_id ». Montants en chaînes (« 420.00 »)."""
    invoices = service.list_invoices(**query)
    balances = payments.balances([i for i in invoices if i.status == "issued"])
    return [summary_dict(i, balances.get(i.id)) for i in invoices]


@bp.route("/invoices/<int:invoice_id>")
@bp.doc(**STAFF_ONLY)
@staff_required
@bp.response(200, InvoiceSchema)
@error_responses(bp, 401, 403, 404, described={404: "Facture inconnue"})
def get_invoice(invoice_id: int):
    """Une facture ou un avoir : client, vendeur figé à l'émission, lignes, totaux, solde, et les liens vers ses
    fichiers (Word, PDF Factur-X, XML EN 16931) quand ils existent."""
    invoice = service.get_invoice(invoice_id, current_principal())
    balance = payments.balances([invoice]).get(invoice.id) if invoice.status == "issued" else None
    return invoice_dict(invoice, balance)


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
    invoice = service.get_invoice(invoice_id, current_principal())
    data, _ = service.read_file(invoice, kind)
    return attachment(data, service.filename(invoice, kind), FILE_TYPES[kind])
