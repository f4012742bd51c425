"""The client-company space's pages (no account), made for a phone, reached by a contact's personal link only.

/entreprise/<token>                                   what is awaited, the sessions to come and past, the invoices
/entreprise/<token>/factures                          the invoices and credit notes, what remains to pay, their files
/entreprise/<token>/sessions/<id>                     a session: the employees' half-days as recorded, its documents
/entreprise/<token>/inscriptions/<id>                 one employee in a session: half-days, hours, documents
/entreprise/<token>/documents/<id>.<docx|pdf>         a document in force (checked against its SHA-256)
/entreprise/<token>/documents/<id>/signe.pdf          the document signed by every signatory
/entreprise/<token>/factures/<id>.<pdf|xml|docx>      an invoice's Factur-X PDF, its XML, its Word copy

The link names one contact: whatever the pages show is that contact's company's (portals/company/space.py). A tampered link
answers 403, an expired, replaced or revoked one 410; another company's session, enrolment, document or invoice 403.
"""
from __future__ import annotations

from flask import Blueprint, render_template

from ...core.responses import attachment
from ...organisation.services import get_organisation
from ...companies import links
from . import activity  # noqa: F401 - registers the company page's activity
from . import space

bp = Blueprint("company_space", __name__, url_prefix="/entreprise/<token>")


def _page(template: str, contact, token: str, **context):
    return render_template(f"company_space/{template}", contact=contact, company=contact.company, token=token,
                           org=get_organisation(), **context)


@bp.route("")
def home(token: str):
    contact = links.contact_from_token(token)
    return _page("home.html", contact, token, home=space.home(contact))


@bp.route("/factures")
def invoices(token: str):
    contact = links.contact_from_token(token)
    items = space.company_invoices(contact.company)
    return _page("invoices.html", contact, token, items=items, remaining=space.remaining_total(items))


@bp.route("/sessions/<int:session_id>")
def session(token: str, session_id: int):
    contact = links.contact_from_token(token)
    return _page("session.html", contact, token, page=space.session_page(contact.company, session_id))


@bp.route("/inscriptions/<int:enrolment_id>")
def enrolment(token: str, enrolment_id: int):
    contact = links.contact_from_token(token)
    return _page("employee.html", contact, token, employee=space.employee_page(contact.company, enrolment_id))


@bp.route("/documents/<int:document_id>.<any(docx, pdf):kind>")
def document(token: str, document_id: int, kind: str):
    contact = links.contact_from_token(token)
    return attachment(*space.document_file(contact.company, document_id, kind))


@bp.route("/documents/<int:document_id>/signe.pdf")
def signed_document(token: str, document_id: int):
    contact = links.contact_from_token(token)
    return attachment(*space.signed_file(contact.company, document_id))


@bp.route("/factures/<int:invoice_id>.<any(pdf, xml, docx):kind>")
def invoice_file(token: str, invoice_id: int, kind: str):
    contact = links.contact_from_token(token)
    return attachment(*space.invoice_file(contact.company, invoice_id, kind))


# --------------------------------------------------------------------------- the advisor's company page
# templates/companies/_space_link.html asks this global for each contact's link.


@bp.app_template_global()
def company_space_link(contact) -> links.LinkState:
    return links.link_state(contact)
