"""Absence alerts: a company that asked for them (``Company.absence_alerts``) has its HR contact (or else its
signatory) e-mailed when one of its employees is marked absent or late on a half-day, by the trainer's mark or
the advisor's correction. One e-mail per employee and half-day at most: the ``absence_alert`` row, unique per
slot and enrolment, is written with the e-mail, so a second mark (or a late arrival after an absence) sends
nothing more. Called by services.py right after the record is appended, under the session's lock."""
from __future__ import annotations

from flask import render_template
from sqlalchemy import select

from ..companies.models import Company
from ..messaging.bodies import html_body
from ..enrolments.models import Enrolment
from ..extensions import db
from ..messaging.services import TOPIC_LABELS, queue_email
from ..organisation.services import get_organisation
from ..sessions.models import Slot
from .models import AbsenceAlert, AttendanceRecord, PlannedAbsence

TOPIC = "absence_alert"
TOPIC_LABELS[TOPIC] = "Absence ou retard (entreprise)"


def alert_kind(record: AttendanceRecord) -> str | None:
    """"absent", "late" or None (present on time, or an early departure only)."""
    if record.presence == "absent":
        return "absent"
    if record.arrived_at is not None:
        return "late"
    return None


def employer(enrolment: Enrolment) -> Company | None:
    return enrolment.company or enrolment.trainee.company


def after_mark(slot: Slot, enrolment: Enrolment, record: AttendanceRecord) -> AbsenceAlert | None:
    """E-mail the employer's HR contact about this absence or late arrival, if the company chose it and nobody was
    told about this employee and half-day yet. Returns the alert written, else None."""
    kind = alert_kind(record)
    company = employer(enrolment)
    if kind is None or company is None or not company.absence_alerts:
        return None
    contact = company.contact("hr", "signatory")
    if contact is None:
        return None
    if db.session.scalar(select(AbsenceAlert.id).where(AbsenceAlert.slot_id == slot.id,
                                                       AbsenceAlert.enrolment_id == enrolment.id)) is not None:
        return None
    planned = db.session.scalar(select(PlannedAbsence).where(PlannedAbsence.slot_id == slot.id,
                                                             PlannedAbsence.enrolment_id == enrolment.id))
    trainee = enrolment.trainee
    text = render_template("mail/absence_alert.txt", org=get_organisation(), contact=contact, company=company,
                           trainee=trainee, slot=slot, session=slot.session, kind=kind, record=record,
                           planned=planned)
    what = "Absence" if kind == "absent" else "Retard"
    message = queue_email(contact.email, f"{what} de {trainee.full_name} – {slot.session.title}", text, html_body(text),
                          topic=TOPIC, enrolment=enrolment)
    db.session.flush()
    alert = AbsenceAlert(slot_id=slot.id, enrolment_id=enrolment.id, company_id=company.id, kind=kind,
                         recipient=contact.email, message_id=message.id)
    db.session.add(alert)
    db.session.flush()
    return alert
