"""Advisor screens for trainees: list, record, duplicates merged."""
from __future__ import annotations

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..accounts.permissions import staff_required
from ..companies.services import list_companies
from ..core.errors import NotFoundError, ValidationError
from ..core.forms import choices
from ..core.paging import page_arg
from ..core.view_actions import form_page, run_form
from ..enrolments.models import Enrolment
from ..extensions import db
from ..sessions.models import TrainingSession
from . import services
from .forms import MergeForm, TraineeForm
from .models import Trainee

bp = Blueprint("trainees", __name__, url_prefix="/trainees")


@bp.route("/")
@staff_required
def index():
    search = request.args.get("q", "").strip()[:100]
    return render_template("trainees/index.html", listing=services.trainee_page(search, page_arg()), search=search)


@bp.route("/search.json")
@staff_required
def search_json():
    """The enrolment form's suggestions: at most SEARCH_LIMIT trainees matching ``q`` (name, e-mail, company)."""
    found = services.search_trainees(request.args.get("q", "")[:200])
    return jsonify({"trainees": [{"id": t.id, "label": services.trainee_label(t), "email": t.email,
                                  "company": t.company.name if t.company else None} for t in found]})


@bp.route("/new", methods=["GET", "POST"])
@bp.route("/<int:trainee_id>", methods=["GET", "POST"])
@staff_required
def form(trainee_id: int | None = None):
    trainee = services.get_trainee(trainee_id) if trainee_id is not None else None
    if request.method == "GET":
        form = _record_form(trainee)
    else:
        form = TraineeForm()
        form.set_choices(list_companies())
    ok, saved = run_form(form, lambda: services.save_trainee(trainee, form.data_for_service()))
    if ok:
        flash(f"Fiche de {saved.full_name} enregistrée.", "success")
        return redirect(url_for("trainees.form", trainee_id=saved.id))
    return form_page("trainees/form.html", form, **_page_context(trainee))


def _record_form(trainee) -> TraineeForm:
    """The form showing the record as it is saved."""
    form = TraineeForm(formdata=None, obj=trainee)
    form.set_choices(list_companies())
    form.company_id.data = str(trainee.company_id) if trainee is not None and trainee.company_id else ""
    form.consent.data = trainee is not None and trainee.consent_at is not None
    return form


def _page_context(trainee, merge_form: MergeForm | None = None) -> dict:
    context = {"trainee": trainee, "enrolments": [], "merge_form": None}
    if trainee is not None:
        context["enrolments"] = list(db.session.scalars(
            select(Enrolment).where(Enrolment.trainee_id == trainee.id).order_by(Enrolment.created_at.desc())
            .options(selectinload(Enrolment.session).options(selectinload(TrainingSession.slots),
                                                             selectinload(TrainingSession.course_version)))))
        context["merge_form"] = _merge_form(trainee, merge_form)
    return context


def _merge_form(trainee, form: MergeForm | None = None) -> MergeForm:
    form = form or MergeForm()
    others = [t for t in services.list_trainees(limit=2000) if t.id != trainee.id]
    form.other_id.choices = choices(((t.id, f"{t.last_name} {t.first_name} <{t.email}>") for t in others),
                                    blank="— choisir —")
    return form


@bp.route("/<int:trainee_id>/merge", methods=["POST"])
@staff_required
def merge(trainee_id: int):
    kept = services.get_trainee(trainee_id)
    form = _merge_form(kept, MergeForm())
    ok, _ = run_form(form, lambda: services.merge_trainees(kept, _other(form.other_id.data), current_user))
    if ok:
        flash("Fiches fusionnées : inscriptions et historique sont désormais sur cette fiche.", "success")
        return redirect(url_for("trainees.form", trainee_id=kept.id))
    # Refused: the trainee's page again, the reason beside the merge form, with the refusal's status.
    db.session.expire_all()
    kept = services.get_trainee(trainee_id)
    status = getattr(form, "error_status", 422)
    return render_template("trainees/form.html", form=_record_form(kept), **_page_context(kept, form)), status


def _other(raw) -> Trainee:
    """The record to merge, chosen in the form: an unknown id is shown beside the field."""
    try:
        return services.get_trainee(raw)
    except NotFoundError:
        raise ValidationError("Stagiaire introuvable.", field="other_id") from None
