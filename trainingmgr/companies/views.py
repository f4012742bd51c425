from __future__ import annotations

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from ..accounts.permissions import staff_required
from ..core.paging import page_arg
from ..core.responses import fail
from ..core.view_actions import form_page, run_action, run_form
from ..extensions import db
from ..messaging.delivery import sent_to
from . import links, services
from .forms import CompanyForm, ContactForm
from .models import CompanyContact

bp = Blueprint("companies", __name__, url_prefix="/companies")


@bp.route("/")
@staff_required
def index():
    search = request.args.get("q", "").strip()[:100]
    return render_template("companies/index.html", listing=services.company_page(search, page_arg()), search=search)


@bp.route("/search.json")
@staff_required
def search_json():
    """The enrolment form's suggestions: at most SEARCH_LIMIT companies matching ``q`` (name, SIRET, city)."""
    found = services.search_companies(request.args.get("q", "")[:200])
    return jsonify({"companies": [{"id": c.id, "label": services.company_label(c), "name": c.name,
                                   "siret": c.siret, "city": c.city} for c in found]})


@bp.route("/new", methods=["GET", "POST"])
@bp.route("/<int:company_id>", methods=["GET", "POST"])
@staff_required
def form(company_id: int | None = None):
    company = services.get_company(company_id) if company_id is not None else None
    form = CompanyForm(obj=company) if request.method == "GET" else CompanyForm()
    ok, saved = run_form(form, lambda: services.save_company(company, form.data_for_service()))
    if ok:
        flash(f"Entreprise « {saved.name} » enregistrée.", "success")
        return redirect(url_for("companies.form", company_id=saved.id))
    return form_page("companies/form.html", form, company=company, contact_form=ContactForm(formdata=None),
                     activity=services.company_activity(company) if company is not None else None)


@bp.route("/<int:company_id>/contacts", methods=["POST"])
@staff_required
def add_contact(company_id: int):
    company = services.get_company(company_id)
    contact_form = ContactForm()
    ok, _ = run_form(contact_form, lambda: services.save_contact(company, None, contact_form.data_for_service()))
    if ok:
        flash("Contact ajouté.", "success")
        return redirect(url_for("companies.form", company_id=company.id))
    status = getattr(contact_form, "error_status", 422) if contact_form.errors else 200
    # formdata=None: the company form shows the company, not the contact's posted fields (both have a "name").
    return render_template("companies/form.html", form=CompanyForm(formdata=None, obj=company), company=company,
                           contact_form=contact_form, activity=services.company_activity(company)), status


@bp.route("/<int:company_id>/contacts/<int:contact_id>/delete", methods=["POST"])
@staff_required
def delete_contact(company_id: int, contact_id: int):
    contact = db.session.get(CompanyContact, contact_id)
    if contact is None or contact.company_id != company_id:
        fail(404, "Contact introuvable.")
    return run_action(lambda: services.delete_contact(contact), "Contact supprimé.",
                      url_for("companies.form", company_id=company_id), refused="raise")


# The contact's personal link to the company space (companies/links.py): (service, message once done).
SPACE_ACTIONS = {
    "send": (links.send_link, "Lien de l'espace entreprise {sent_to}."),
    "renew": (links.renew_link, "Nouveau lien {sent_to} ; les liens envoyés avant ne fonctionnent plus."),
    "revoke": (links.revoke_link, "Lien révoqué : les liens envoyés à {name} ne fonctionnent plus."),
}


@bp.route("/<int:company_id>/contacts/<int:contact_id>/space/<any(send, renew, revoke):action>", methods=["POST"])
@staff_required
def contact_space(company_id: int, contact_id: int, action: str):
    contact = links.get_contact(company_id, contact_id, current_user)
    run, message = SPACE_ACTIONS[action]
    return run_action(lambda: run(contact, current_user),
                      lambda: message.format(name=contact.name, sent_to=sent_to(contact.email)),
                      url_for("companies.form", company_id=company_id), refused="raise")
