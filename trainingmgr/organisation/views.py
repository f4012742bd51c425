from __future__ import annotations

from flask import Blueprint, flash, redirect, url_for

from ..accounts.permissions import admin_required
from ..core.bank import format_iban
from ..core.view_actions import form_page, run_form
from . import services
from .forms import OrganisationForm

bp = Blueprint("organisation", __name__, url_prefix="/admin/organisation")


@bp.app_context_processor
def _organisation() -> dict:
    """Every template's ``organisation`` (pages and e-mails): core/jinja.py does not know the organisation."""
    return {"organisation": services.get_organisation()}


@bp.route("/", methods=["GET", "POST"])
@admin_required
def edit():
    org = services.get_organisation()
    form = OrganisationForm(obj=org)
    if not form.is_submitted():
        form.iban.data = format_iban(org.iban)  # stored compact, read in groups of four
    ok, _ = run_form(form, lambda: services.update_organisation(form.data_for_service(), form.logo.data))
    if ok:
        flash("Paramètres de l'organisme enregistrés.", "success")
        return redirect(url_for("organisation.edit"))
    return form_page("organisation/edit.html", form, org=org)
