from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for

from ..accounts.permissions import staff_required
from ..core.web import form_page, run_form
from ..extensions import db
from . import services
from .forms import CompanyForm
from .models import Company

bp = Blueprint("companies", __name__, url_prefix="/companies")


@bp.route("/")
@staff_required
def index():
    return render_template("companies/index.html", companies=services.list_companies())


@bp.route("/new", methods=["GET", "POST"])
@bp.route("/<int:company_id>", methods=["GET", "POST"])
@staff_required
def form(company_id: int | None = None):
    company = db.get_or_404(Company, company_id) if company_id else None
    form = CompanyForm(obj=company)
    ok, saved = run_form(form, lambda: services.save_company(company, form.data_for_service()))
    if ok:
        flash(f"Entreprise « {saved.name} » enregistrée.", "success")
        return redirect(url_for("companies.index"))
    return form_page("companies/form.html", form, company=company)
