"""Staff pages of the yearly BPF (cerfa 10443): the figures of a year mirroring the form's sections, their XLSX
export, and the figures typed once a year (charges, turnover, manager)."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ...accounts.permissions import staff_required
from ...catalogue import classification
from ...core.view_actions import form_page, run_form
from ...messaging import exports
from .. import exports as billing_exports  # noqa: F401 - registers the exporters
from . import services as service
from .forms import BpfYearForm

bp = Blueprint("bpf", __name__, url_prefix="/bpf")

@bp.app_template_global("bpf_objective_label")
def _objective_label(value: str | None) -> str:
    """For the course pages: the F-3 label of a course's objective."""
    return classification.objective_label(value)


@bp.app_template_global("bpf_nsf_label")
def _nsf_label(code: str | None) -> str:
    return classification.nsf_label(code)


@bp.app_template_global("bpf_nsf_groups")
def _nsf_groups() -> dict[str, str]:
    return classification.NSF_GROUPS


@bp.route("/")
@staff_required
def index():
    """The last closed year: the BPF of year N is filed in the spring of N + 1."""
    return redirect(url_for("bpf.year", year=service.default_year()))


@bp.route("/<int:year>")
@staff_required
def year(year: int):
    bpf = service.compute_bpf(year)
    return render_template("billing/bpf.html", bpf=bpf, current_year=service.default_year() + 1,
                           year_min=service.YEAR_MIN, year_max=service.YEAR_MAX)


@bp.route("/<int:year>.xlsx", methods=["POST"])
@staff_required
def export(year: int):
    """The year's XLSX, made by a task (billing/exports.py)."""
    return exports.export_response("bpf", {"year": str(year)}, current_user, url_for("bpf.year", year=year))


@bp.route("/<int:year>/edit", methods=["GET", "POST"])
@staff_required
def edit(year: int):
    settings = service.get_bpf_year(year)  # 404 for a year out of range
    form = BpfYearForm(obj=settings) if request.method == "GET" else BpfYearForm()
    ok, _ = run_form(form, lambda: service.save_bpf_year(year, form.data_for_service(), current_user))
    if ok:
        flash(f"Données du BPF {year} enregistrées.", "success")
        return redirect(url_for("bpf.year", year=year))
    return form_page("billing/bpf_edit.html", form, year=year)
