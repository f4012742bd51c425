"""Advisor and trainer screens: dashboard, sessions, slots, calendar."""
from __future__ import annotations

import calendar
import datetime as dt

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..accounts.permissions import any_role_required, is_staff, staff_required
from ..attendance.chain import verify_chain
from ..attendance.services import session_grid
from ..automations.services import session_panel
from ..catalogue.models import CourseStatus
from ..catalogue.services import list_courses
from ..companies.services import list_companies
from ..core.errors import DomainError
from ..core.forms import choices
from ..core.paging import page_arg
from ..core.responses import fail
from ..core.timeutil import paris_today
from ..core.view_actions import form_page, run_action, run_form
from ..dashboard import upcoming as dashboard_upcoming
from ..dashboard.figures import all_figures
from ..dashboard.gaps import course_gaps
from ..enrolments import convocations
from ..enrolments.services import funding_difference, session_enrolments, to_do_counts
from ..evaluations.acquis import services as acquis
from ..evaluations.needs import services as needs
from ..evaluations.surveys.alerts import open_alerts_count
from ..quality.checklist.services import checklist_summary
from ..quality.consistency import session_mismatches
from ..quality.dashboard import quality_todo
from ..resources.services import list_locations, list_trainers
from . import services
from .forms import (
    ConfirmForm,
    DuplicateForm,
    SessionCreateForm,
    SessionNotesForm,
    SessionSettingsForm,
    SlotForm,
    StatusForm,
)
from .models import ACTIVE_FILTER, NOT_CANCELLED, SESSION_STATUS_LABELS, STATUS_ACTIONS, SessionStatus

bp = Blueprint("sessions", __name__)


def _flash_warnings(warnings: list[str]) -> None:
    for warning in warnings:
        flash(warning, "warning")


@bp.route("/")
@any_role_required
def dashboard():
    if not is_staff(current_user):  # a trainer: the sessions they teach, without the advisor's to-do
        sessions = services.dashboard_sessions(current_user)
        context = {"sessions": sessions, "taken": services.seats_taken([s.id for s in sessions]), "course_gaps": [],
                   "requests": 0, "staff": False}
        return render_template("sessions/dashboard.html", **context)
    everything = request.args.get("toutes", "")
    if everything not in ("", "1"):
        fail(400, "Paramètre « toutes » invalide : 1 affiche toutes les sessions à venir.")
    today = paris_today()
    # Every session to come checked, the first ones shown.
    table = dashboard_upcoming.upcoming(today, everything=everything == "1")
    figures = all_figures()
    context = {"sessions": table.sessions, "taken": table.taken, "warnings": table.warnings, "upcoming": table,
               "upcoming_rows": dashboard_upcoming.SHOWN_ROWS, "survey_alerts": open_alerts_count(),
               "figures": figures, "overdue_invoices": figures["overdue"].count, "course_gaps": course_gaps(today),
               "staff": True}
    context["requests"], context["prerequisite_decisions"] = to_do_counts()
    context.update(quality_todo())
    return render_template("sessions/dashboard.html", **context)


def _parse_date_arg(name: str) -> dt.date | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        fail(400, f"Date invalide : « {raw} » (format attendu AAAA-MM-JJ).")


@bp.route("/sessions/")
@any_role_required
def index():
    status = request.args.get("status") or None
    if status is not None and status not in SESSION_STATUS_LABELS and status != ACTIVE_FILTER:
        fail(400, "Statut de session inconnu.")
    statuses = NOT_CANCELLED if status == ACTIVE_FILTER else [status] if status else None
    dates_of = request.args.get("on", "")
    if dates_of not in services.PERIOD_EDGES:
        fail(400, "Période inconnue : un créneau, le premier ou le dernier créneau.")
    at_risk = request.args.get("at_risk", "") not in ("", "0")
    course_id = request.args.get("course", type=int)
    listing = services.session_page(
        current_user, page_arg() if request.args.get("page", "").strip() else None, course_id=course_id,
        statuses=statuses, date_from=_parse_date_arg("from"), date_to=_parse_date_arg("to"), dates_of=dates_of,
        at_risk_on=paris_today() if at_risk else None)
    pager_args = {key: request.args[key] for key in ("course", "status", "from", "to", "on", "at_risk")
                  if request.args.get(key, "").strip()}
    return render_template("sessions/index.html", sessions=listing.page.rows, taken=listing.taken,
                           listing=listing.page, pager_args=pager_args, courses=list_courses(),
                           status_labels=SESSION_STATUS_LABELS, filters=request.args, edges=services.PERIOD_EDGES,
                           summary=listing.summary, at_risk_days=services.AT_RISK_DAYS, staff=is_staff(current_user))


def _settings_choices(form, session=None) -> None:
    locations = list_locations()
    trainers = list_trainers()
    if session is not None:
        if session.location is not None and session.location not in locations:
            locations.append(session.location)
        trainers += [t for t in session.trainers if t not in trainers]
    form.set_choices(locations, trainers, list_companies())


@bp.route("/sessions/new", methods=["GET", "POST"])
@staff_required
def new():
    form = SessionCreateForm()
    courses = [c for c in list_courses() if c.status != CourseStatus.ARCHIVED.value]
    form.course_id.choices = choices(((c.id, c.title) for c in courses), blank="— choisir —")
    _settings_choices(form)
    if not form.is_submitted() and request.args.get("course_id"):
        form.course_id.data = request.args["course_id"]
    ok, result = run_form(form, lambda: services.create_session(form.data_for_service(), current_user))
    if ok:
        session, warnings = result
        flash(f"Session {session.label} créée en brouillon.", "success")
        _flash_warnings(warnings)
        return redirect(url_for("sessions.show", session_id=session.id))
    return form_page("sessions/new.html", form)


@bp.route("/sessions/<int:session_id>")
@any_role_required
def show(session_id: int):
    session = services.get_session(session_id, current_user)
    taken = services.seats_taken([session.id])[session.id]
    slot_form = SlotForm()
    slot_form.set_choices(list_locations(), list_trainers(), services.slot_quizzes(session))
    if session.location_id:
        slot_form.location_id.data = str(session.location_id)
    if session.trainers:
        slot_form.trainer_id.data = str(session.trainers[0].id)
    slot_form.modality.data = services.default_modality(session, session.location)
    enrolments = session_enrolments(session)
    attendance = None
    if session.is_held:
        attendance = {"grid": session_grid(session), "chain": verify_chain(session.id)}
    staff = is_staff(current_user)
    transitions = services.allowed_transitions(session)
    cancelled = SessionStatus.CANCELLED.value  # the step with a reason, in its own form
    return render_template(
        "sessions/show.html", session=session, taken=taken, warnings=services.session_warnings(session, taken),
        attendance=attendance, checklist=checklist_summary(session) if staff else None,
        mismatches=session_mismatches(session) if staff else None,
        needs=needs.session_needs(session, with_answers=False), can_send_needs=staff and needs.can_send(session),
        enrolments=enrolments, differences={e.id: funding_difference(e) for e in enrolments},
        convocations=convocations.convocation_states(enrolments) if staff else None,
        transitions=transitions, forward_steps=[step for step in transitions if step != cancelled],
        cancel_step=cancelled if cancelled in transitions else None, status_actions=STATUS_ACTIONS, status_form=StatusForm(), slot_form=slot_form,
        editable=session.status in services.EDITABLE_STATUSES, staff=staff,
        # the version in force differs from the session's and the session is not confirmed yet (planning.py)
        can_rebase=session.is_before_confirmation
        and session.course.current_version_id != session.course_version_id,
        can_assess=acquis.is_open(session) and acquis.can_record(current_user, session),
        automations=session_panel(session.id) if staff else None,
    )


def _settings_data(session) -> dict:
    return {
        "format": session.format, "delivery_mode": session.delivery_mode,
        "location_id": str(session.location_id or ""), "trainer_ids": [str(t.id) for t in session.trainers],
        "capacity": session.capacity, "min_trainees": session.min_trainees,
        "price_per_trainee": session.price_per_trainee, "intra_price": session.intra_price,
        "client_company_id": str(session.client_company_id or ""), "notes": session.notes,
    }


@bp.route("/sessions/<int:session_id>/edit", methods=["GET", "POST"])
@staff_required
def edit(session_id: int):
    session = services.get_session(session_id, current_user)
    if session.status in services.EDITABLE_STATUSES:
        form = SessionSettingsForm() if request.method == "POST" else SessionSettingsForm(data=_settings_data(session))
        _settings_choices(form, session)
    else:  # once under way, only the notes still change
        form = SessionNotesForm() if request.method == "POST" else SessionNotesForm(data={"notes": session.notes})
    ok, warnings = run_form(form, lambda: services.update_session(session, form.data_for_service(), current_user))
    if ok:
        flash("Session enregistrée.", "success")
        _flash_warnings(warnings)
        return redirect(url_for("sessions.show", session_id=session.id))
    return form_page("sessions/edit.html", form, session=session)


def _slot_choices(form, session, slot=None) -> None:
    locations = list_locations()
    trainers = list_trainers()
    for current in (session.location, slot.location if slot else None):
        if current is not None and current not in locations:
            locations.append(current)
    for current in list(session.trainers) + ([slot.trainer] if slot and slot.trainer else []):
        if current not in trainers:
            trainers.append(current)
    form.set_choices(locations, trainers, services.slot_quizzes(session, slot.quiz if slot else None))


@bp.route("/sessions/<int:session_id>/slots/new", methods=["GET", "POST"])
@staff_required
def slot_new(session_id: int):
    session = services.get_session(session_id, current_user)
    form = SlotForm()
    _slot_choices(form, session)
    if not form.is_submitted():
        form.location_id.data = str(session.location_id or "")
        form.trainer_id.data = str(session.trainers[0].id) if session.trainers else ""
        form.modality.data = services.default_modality(session, session.location)
    ok, result = run_form(form, lambda: services.add_slot(session, form.data_for_service(), current_user))
    if ok:
        flash("Créneau ajouté.", "success")
        _flash_warnings(result[1])
        return redirect(url_for("sessions.show", session_id=session.id))
    return form_page("sessions/slot_form.html", form, session=session, slot=None)


@bp.route("/sessions/<int:session_id>/slots/<int:slot_id>", methods=["GET", "POST"])
@staff_required
def slot_edit(session_id: int, slot_id: int):
    slot = services.get_slot(slot_id, current_user)
    if slot.session_id != session_id:
        abort(404)
    session = slot.session
    if request.method == "POST":
        form = SlotForm()
    else:
        form = SlotForm(data={"date": slot.date, "start_time": slot.start_time, "end_time": slot.end_time,
                              "location_id": str(slot.location_id or ""), "trainer_id": str(slot.trainer_id or ""),
                              "modality": slot.modality, "meeting_url": slot.meeting_url, "activity": slot.activity,
                              "quiz_id": str(slot.quiz_id or "")})
    _slot_choices(form, session, slot)
    ok, warnings = run_form(form, lambda: services.update_slot(slot, form.data_for_service(), current_user))
    if ok:
        flash("Créneau modifié.", "success")
        _flash_warnings(warnings)
        return redirect(url_for("sessions.show", session_id=session.id))
    return form_page("sessions/slot_form.html", form, session=session, slot=slot)


def _post_action(session_id: int, form, action, success: str):
    """Run a one-button action on a session: back to its page on success, or the page again with the
    French reason and a 4xx status when refused."""
    if not form.validate_on_submit():
        for messages in form.errors.values():
            for message in messages:
                flash(message, "danger")
        return show(session_id), 400

    def refused(exc: DomainError):
        messages = [exc.message] + [m for msgs in exc.fields.values() for m in msgs]
        for message in dict.fromkeys(messages):
            flash(message, "danger")
        return show(session_id), exc.status_code

    # a callable success says what the action set going
    return run_action(action, success, url_for("sessions.show", session_id=session_id), refused=refused)


@bp.route("/sessions/<int:session_id>/slots/<int:slot_id>/delete", methods=["POST"])
@staff_required
def slot_delete(session_id: int, slot_id: int):
    slot = services.get_slot(slot_id, current_user)
    if slot.session_id != session_id:
        abort(404)
    return _post_action(session_id, ConfirmForm(), lambda: services.delete_slot(slot, current_user),
                        "Créneau supprimé.")


@bp.route("/sessions/<int:session_id>/status", methods=["POST"])
@staff_required
def change_status(session_id: int):
    session = services.get_session(session_id, current_user)
    form = StatusForm()
    done = f"Statut de la session : {SESSION_STATUS_LABELS.get(form.status.data, '').lower()}."
    return _post_action(
        session_id, form,
        lambda: services.change_status(session, form.status.data, current_user, reason=form.cancel_reason.data),
        (lambda: f"{done} {convocations.confirmation_notice(session)}")
        if form.status.data == SessionStatus.CONFIRMED.value else done,
    )


@bp.route("/sessions/<int:session_id>/convocations/send", methods=["POST"])
@staff_required
def send_convocations(session_id: int):
    """Send now the session's planned convocations, as a task (its page follows it); refused with the reason when
    there is none."""
    session = services.get_session(session_id, current_user)
    if not ConfirmForm().validate_on_submit():
        fail(400, "Formulaire expiré : rechargez la page et recommencez.")
    back = url_for("sessions.show", session_id=session.id, _anchor="convocations")

    def refused(exc: DomainError):  # nothing to send (409): the page again, with the reason
        flash(exc.message, "danger")
        return show(session_id), exc.status_code

    return run_action(lambda: convocations.start_sending(session, current_user, back_url=back), None,
                      lambda task: url_for("tasks.show", task_id=task.id), status=303, refused=refused)


@bp.route("/sessions/<int:session_id>/rebase", methods=["POST"])
@staff_required
def rebase(session_id: int):
    session = services.get_session(session_id, current_user)
    return _post_action(session_id, ConfirmForm(),
                        lambda: services.rebase_to_current_version(session, current_user),
                        "La session suit désormais la version en vigueur du programme.")


@bp.route("/sessions/<int:session_id>/duplicate", methods=["GET", "POST"])
@staff_required
def duplicate(session_id: int):
    session = services.get_session(session_id, current_user)
    form = DuplicateForm()
    ok, result = run_form(form, lambda: services.duplicate_session(session, form.start_date.data, current_user))
    if ok:
        copy, warnings = result
        flash(f"Session dupliquée : {copy.label}.", "success")
        _flash_warnings(warnings)
        return redirect(url_for("sessions.show", session_id=copy.id))
    return form_page("sessions/duplicate.html", form, session=session)


@bp.route("/calendar")
@any_role_required
def month_calendar():
    raw = request.args.get("month", "")
    today = paris_today()
    try:
        year, month = (int(x) for x in raw.split("-")) if raw else (today.year, today.month)
        # Check the year before building the date: a huge year overflows instead of raising ValueError.
        if not 2000 <= year <= 2100:
            raise ValueError
        first = dt.date(year, month, 1)
    except ValueError:
        fail(400, "Mois invalide : format attendu AAAA-MM, entre 2000 et 2100.")
    weeks = calendar.Calendar(firstweekday=0).monthdatescalendar(year, month)
    slots = services.slots_between(current_user, weeks[0][0], weeks[-1][-1])
    by_day: dict[dt.date, list] = {}
    for slot in slots:
        by_day.setdefault(slot.date, []).append(slot)
    previous = (first - dt.timedelta(days=1)).replace(day=1)
    following = (first + dt.timedelta(days=32)).replace(day=1)
    return render_template("sessions/calendar.html", weeks=weeks, by_day=by_day, first=first, today=today,
                           previous=previous, following=following,
                           holiday_names={d: services.holiday_name(d) for w in weeks for d in w})
