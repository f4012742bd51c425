"""Absence alerts: a company that asked for them (``Company.absence_alerts``) has its HR contact (or else its
signatory) e-mailed when one of its employees is marked absent or late on a half-day, by the trainer's mark or
the advisor's correction. The e-mail is the default automation rule « Absence ou retard : prévenir l'entreprise »
(automations/triggers/attendance.py, trigger ``absence_marked``), which the organisation may reword, delay or switch
off; it leaves once per employee and half-day (the automations' ledger), and writes the ``absence_alert`` row, unique
per slot and enrolment, with the e-mail. This module keeps what the rule reads: the kind of a mark and the employer."""
from __future__ import annotations

from ..companies.models import Company
from ..enrolments.models import Enrolment
from ..messaging.services import TOPIC_LABELS
from .models import AttendanceRecord

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
