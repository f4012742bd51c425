"""Importing the meeting tool's attendance report of a virtual half-day (advisor).

/attendance/slots/<id>/reports/new   upload the file; a tool not recognised asks which column holds what (same URL)
/attendance/reports/<id>             what the import found: minutes per trainee, who is missing, rows matching no one
"""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user

from ...accounts.permissions import staff_required
from ...core.errors import DomainError
from ...core.formatting import count_fr
from ...extensions import db
from .. import services as attendance
from . import formats, services
from .forms import ReportForm

bp = Blueprint("attendance_reports", __name__, url_prefix="/attendance")


def _page(slot, form: ReportForm, status: int = 200):
    return render_template("attendance/reports/new.html", slot=slot, session=slot.session, form=form,
                           problem=services.importable_problem(slot), reports=services.slot_reports(slot),
                           sources=formats.SOURCES), status


@bp.route("/slots/<int:slot_id>/reports/new", methods=["GET", "POST"])
@staff_required
def new(slot_id: int):
    slot = attendance.get_slot(slot_id, current_user)
    form = ReportForm()
    if not form.is_submitted():
        return _page(slot, form)
    if not form.validate():
        return _page(slot, form, 400 if "csrf_token" in form.errors else 422)
    data = None
    try:
        data, filename = form.upload()
        if form.is_mapping_step:
            form.offer_columns(formats.columns_of(data))
        report = services.import_report(slot, data, filename, current_user, mapping=form.mapping())
    except formats.NeedsMapping as exc:
        db.session.rollback()
        form.offer_columns(exc.columns, data, filename)
        return _page(slot, form)
    except DomainError as exc:
        db.session.rollback()
        form.apply_errors(exc)
        return _page(slot, form, exc.status_code)
    db.session.commit()
    flash(f"Rapport importé ({formats.SOURCES[report.source]}, {count_fr(report.rows_count, 'ligne')}).", "success")
    return redirect(url_for("attendance_reports.show", report_id=report.id))


@bp.route("/reports/<int:report_id>")
@staff_required
def show(report_id: int):
    report = services.get_report(report_id, current_user)
    return render_template("attendance/reports/show.html", report=report, slot=report.slot,
                           session=report.slot.session, lines=services.report_result(report),
                           title=services.report_title(report), source=formats.SOURCES.get(report.source, report.source),
                           roles=formats.ROLES)
