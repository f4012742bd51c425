"""Advisor screens for the catalogue."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..accounts.permissions import staff_required
from ..core.forms import Form
from ..core.responses import fail
from ..core.view_actions import form_page, run_action, run_form
from ..extensions import db
from ..organisation.services import get_organisation
from . import providers, services
from .forms import StatusForm, course_form
from .models import COURSE_STATUS_LABELS, CourseStatus

bp = Blueprint("courses", __name__, url_prefix="/courses")
COURSE_SESSIONS = 10  # the sessions shown on a course's page, from the page of the first one to come


@bp.route("/")
@staff_required
def index():
    org = get_organisation()
    courses = services.list_courses()
    gaps = {c.id: services.indicator1_gaps(c.current_version, org) for c in courses if c.current_version}
    return render_template("catalogue/index.html", courses=courses, gaps=gaps)


@bp.route("/new", methods=["GET", "POST"])
@staff_required
def new():
    form = course_form(None)
    ok, course = run_form(
        form, lambda: services.create_course(form.data_for_service(), current_user, slug=form.slug.data)
    )
    if ok:
        flash(f"Formation « {course.title} » créée en brouillon.", "success")
        return redirect(url_for("courses.show", course_id=course.id))
    return form_page("catalogue/form.html", form, course=None)


@bp.route("/<int:course_id>")
@staff_required
def show(course_id: int):
    course = services.get_course(course_id)
    return _render_version(course, course.current_version)


@bp.route("/<int:course_id>/versions/<int:number>")
@staff_required
def version(course_id: int, number: int):
    course = services.get_course(course_id)
    return _render_version(course, services.get_version(course, number))


def _render_version(course, version):
    org = get_organisation()
    # The course's sessions from the first one to come, ten of them; the sessions list holds them all.
    sessions = providers.course_sessions(current_user, course.id, COURSE_SESSIONS)
    return render_template(
        "catalogue/show.html", course=course, version=version, org=org, sessions=sessions.rows,
        sessions_total=sessions.total,
        gaps=services.indicator1_gaps(version, org), status_form=StatusForm(),
        status_labels=COURSE_STATUS_LABELS, transitions=services.allowed_course_steps(course),
        steps=services.COURSE_TRANSITIONS,
        sheet=services.course_sheet(version, org),
    )


@bp.route("/<int:course_id>/edit", methods=["GET", "POST"])
@staff_required
def edit(course_id: int):
    course = services.get_course(course_id)
    if course.status == CourseStatus.ARCHIVED.value and request.method == "GET":
        flash("Une formation archivée ne peut plus être modifiée : remettez-la d'abord en brouillon.", "warning")
        return redirect(url_for("courses.show", course_id=course.id))
    form = course_form(course.current_version, slug=course.slug)
    was_frozen = course.current_version is not None and course.current_version.is_frozen
    ok, version = run_form(
        form, lambda: services.update_course(course, form.data_for_service(), current_user, slug=form.slug.data)
    )
    if ok:
        if was_frozen:
            flash(f"Nouvelle version {version.number} enregistrée ; les sessions déjà planifiées gardent la leur.",
                  "success")
        else:
            flash("Formation enregistrée.", "success")
        return redirect(url_for("courses.show", course_id=course.id))
    return form_page("catalogue/form.html", form, course=course)


@bp.route("/<int:course_id>/cold-survey", methods=["POST"])
@staff_required
def cold_survey(course_id: int):
    course = services.get_course(course_id)
    if not Form().validate_on_submit():  # the CSRF token only
        fail(400, "Le formulaire a expiré : rechargez la page et recommencez.")
    services.set_cold_survey_days(course, request.form.get("cold_survey_days"))
    db.session.commit()
    flash("Délai de l'évaluation à froid enregistré.", "success")
    return redirect(url_for("courses.show", course_id=course.id))


@bp.route("/<int:course_id>/status", methods=["POST"])
@staff_required
def change_status(course_id: int):
    course = services.get_course(course_id)
    form = StatusForm()
    if not form.validate_on_submit():
        fail(400, "Statut de formation inconnu.")
    return run_action(lambda: services.set_course_status(course, form.status.data),
                      lambda: f"Formation « {course.title} » : {course.status_label.lower()}.",
                      url_for("courses.show", course_id=course.id))
