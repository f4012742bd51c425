"""Automations about attendance: the half-days (context « slot ») and the absences (context « absence »).

Triggers:
- ``halfday_open``: a half-day's signing window opens; the trainees who have not signed get their personal link
  (default rule « Lien d'émargement à l'ouverture », which replaced the ``attendance_links`` job);
- ``halfday_missing``: a half-day's window has closed with signatures missing, ``offset_days`` after the close
  (default rule « Signatures manquantes » to the advisor, new);
- ``absence_marked``: a trainee was marked absent or late on a half-day (trainer's mark or advisor's correction),
  ``offset_days`` after the first such mark (default rule « Absence ou retard : entreprise », which replaced the
  immediate alert of attendance/alerts.py). One occurrence per trainee and half-day whatever the marks after it:
  its object is the first record that marked them absent or late. The message says what the sheet reads when it
  leaves, and nothing leaves once the trainee has signed after all (they came).

A company is written to about an absence only if it asked for it (``Company.absence_alerts``), as before."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import select

from ...accounts.models import Role, User
from ...attendance import alerts
from ...attendance import mails as attendance_mails
from ...attendance import services as attendance
from ...attendance.models import SETTLED_CELLS, AbsenceAlert, AttendanceRecord, CellStatus
from ...companies.models import Company, CompanyContact
from ...core.formatting import date_fr, time_fr
from ...core.links import external_url
from ...core.timeutil import PARIS
from ...documents.catalogue import Var
from ...enrolments.models import EXPECTED, Enrolment
from ...extensions import db
from ...messaging.services import TOPIC_LABELS
from ...organisation.services import get_organisation
from ...resources.models import Trainer
from ...sessions.models import SIGNING, SessionStatus, Slot, TrainingSession
from .. import registry
from ..registry import Occurrence, Recipient
from .common import ORG_VARIABLES, org_variables

MISSING_TOPIC = "attendance_missing"
TOPIC_LABELS.setdefault(MISSING_TOPIC, "Signatures manquantes (rappel automatique)")
# Sessions whose half-days open for signing (as the attendance_links job read them).
OPENING = (SessionStatus.CONFIRMED.value, SessionStatus.IN_PROGRESS.value)


# --------------------------------------------------------------------------- the variables common to both contexts


COMMON_VARS = (
    *ORG_VARIABLES,
    Var("recipient.name", "Nom du destinataire", "Marie Dupont"),
    Var("recipient.email", "E-mail du destinataire", "rh@dupont.example"),
    Var("session.title", "Intitulé de la formation", "Chorus Pro : déposer et suivre ses factures"),
    Var("session.reference", "Numéro de la session", "12"),
    Var("session.dates", "Dates de la session", "du 25/11/2026 au 26/11/2026"),
    Var("session.place", "Lieu de la session", "Salle Capitole, Toulouse"),
    Var("slot.date", "Date de la demi-journée", "25/11/2026"),
    Var("slot.half_day", "Matin ou après-midi", "matin"),
    Var("slot.start", "Heure de début", "08:30"),
    Var("slot.end", "Heure de fin", "12:30"),
    Var("slot.label", "La demi-journée en toutes lettres", "25/11/2026, matin (08:30–12:30)"),
    Var("slot.closes", "Heure de clôture de l'émargement", "13:30"),
)


def _session(session: TrainingSession) -> dict:
    location = session.location
    place = ""
    if location is not None:
        place = location.name if location.is_remote or not location.city else f"{location.name}, {location.city}"
    return {"title": session.title, "reference": str(session.id), "dates": session.dates_label, "place": place}


def _slot(slot: Slot) -> dict:
    return {"date": date_fr(slot.date), "half_day": slot.half_day_label.lower(), "start": time_fr(slot.start_time),
            "end": time_fr(slot.end_time), "label": attendance.slot_label(slot),
            "closes": time_fr(attendance.window(slot)[1].astimezone(PARIS))}


def _common(slot: Slot, recipient: Recipient) -> dict:
    return {"org": org_variables(), "recipient": {"name": recipient.name, "email": recipient.email},
            "session": _session(slot.session), "slot": _slot(slot)}


def _advisors() -> list[Recipient]:
    """The organisation's quality contact, else every active advisor and admin (organisation.staff_recipients)."""
    org = get_organisation()
    if org.quality_contact_email:
        return [Recipient(org.quality_contact_email, org.quality_contact_name or org.name)]
    users = db.session.scalars(select(User).where(User.role.in_((Role.ADVISOR.value, Role.ADMIN.value)),
                                                  User.active.is_(True)).order_by(User.email))
    return [Recipient(user.email, user.name or user.email, ref=user) for user in users]


def _slots_around(start: dt.datetime, end: dt.datetime, statuses) -> list[Slot]:
    """Slots of sessions in ``statuses`` whose Paris date is within a day of [start, end] (callers filter)."""
    first, last = start.astimezone(PARIS).date() - dt.timedelta(days=1), end.astimezone(PARIS).date() + \
        dt.timedelta(days=1)
    return list(db.session.scalars(
        select(Slot).join(Slot.session).where(Slot.date.between(first, last), TrainingSession.status.in_(statuses))
        .order_by(Slot.date, Slot.start_time, Slot.id)))


# --------------------------------------------------------------------------- context « slot »


def unsigned(slot: Slot) -> list[Enrolment]:
    """The trainees expected on ``slot`` who have neither signed it nor been marked absent (upcoming, pending or
    missing: what the sheet will read as missing once it closes, if nothing changes)."""
    grid = attendance.session_grid(slot.session)
    return [enrolment for enrolment, cell in grid.column(slot.id)
            if cell.status not in SETTLED_CELLS and enrolment.status in EXPECTED]


@dataclass
class HalfDay:
    """The object of the « slot » context: the slot and its trainees without a signature, read once."""

    slot: Slot
    unsigned: list[Enrolment]


def _slot_recipients(half_day: HalfDay, audience: str) -> list[Recipient]:
    slot = half_day.slot
    if audience == "trainee":
        return [Recipient(e.trainee.email, e.trainee.display_name, ref=e, enrolment_id=e.id)
                for e in half_day.unsigned if e.trainee.email]
    if audience == "trainer":
        return [Recipient(t.email, t.full_name, ref=t) for t in slot.session.trainers if t.email]
    if audience == "advisor":
        return _advisors()
    return []


def _slot_build(half_day: HalfDay, recipient: Recipient) -> dict:
    slot = half_day.slot
    context = _common(slot, recipient)
    ref = recipient.ref
    context["missing"] = [{"full_name": e.trainee.full_name} for e in half_day.unsigned]
    context["trainee"] = {"full_name": ref.trainee.full_name if isinstance(ref, Enrolment) else ""}
    if isinstance(ref, Enrolment):
        context["link"] = attendance_mails.signing_url(ref, slot)
    elif isinstance(ref, Trainer):
        context["link"] = attendance_mails.countersign_url(ref, slot)
    else:
        context["link"] = external_url("attendance.slot", slot_id=slot.id)
    return context


def _slot_sample(session_id: int, enrolment_id: int | None) -> tuple[HalfDay, Recipient] | None:
    session = db.session.get(TrainingSession, session_id)
    if session is None or not session.slots:
        return None
    slot = min(session.slots, key=lambda s: (s.date, s.start_time))
    enrolment = db.session.get(Enrolment, enrolment_id) if enrolment_id else None
    if enrolment is None or enrolment.session_id != session_id:
        enrolment = next(iter(attendance.expected_enrolments(session)), None)
    half_day = HalfDay(slot, unsigned(slot))
    if enrolment is None:
        return half_day, Recipient(get_organisation().email or "conseiller@exemple.fr", "Conseiller formation")
    return half_day, Recipient(enrolment.trainee.email, enrolment.trainee.display_name, ref=enrolment,
                           enrolment_id=enrolment.id)


def _load_slot(object_type: str, object_id: int) -> HalfDay | None:
    slot = db.session.get(Slot, object_id) if object_type == "slot" else None
    return HalfDay(slot, unsigned(slot)) if slot is not None else None


registry.register_context(registry.Context(
    code="slot", label="Demi-journée (émargement)",
    variables=COMMON_VARS + (
        Var("trainee.full_name", "Nom du stagiaire destinataire", "Julie Martin"),
        Var("missing[].full_name", "Stagiaires dont la signature manque", "Paul Bernard"),
        Var("link", "Lien personnel : signer (stagiaire), signer la feuille (formateur), la feuille (conseiller)",
            "https://formation.example/emargement/…"),
    ),
    load=_load_slot, recipients=_slot_recipients, build=_slot_build, sample=_slot_sample))


def _find_open(rule, start: dt.datetime, end: dt.datetime) -> Iterator[Occurrence]:
    """Each half-day of a confirmed or running session, when its signing window opens; not once the trainer has
    signed the sheet; expires when the window closes (the link no longer signs)."""
    for slot in _slots_around(start, end, OPENING):
        opens, closes = attendance.window(slot)
        if start <= opens <= end and attendance.countersignature(slot) is None:
            yield Occurrence("slot", slot.id, "open", opens, session_id=slot.session_id, expires_at=closes)


def _find_missing(rule, start: dt.datetime, end: dt.datetime) -> Iterator[Occurrence]:
    """Each half-day whose window closed ``offset_days`` ago with at least one expected trainee neither signed nor
    marked absent."""
    offset = dt.timedelta(days=rule.offset_days or 0)
    for slot in _slots_around(start - offset, end - offset, SIGNING):
        due = attendance.window(slot)[1] + offset
        if start <= due <= end and unsigned(slot):
            yield Occurrence("slot", slot.id, "missing", due, session_id=slot.session_id)


registry.register_trigger(registry.Trigger(
    code="halfday_open", label="Ouverture de l'émargement d'une demi-journée", context="slot", offset="none",
    audiences=("trainee", "trainer", "advisor"), find=_find_open,
    help="À l'ouverture de la feuille (15 minutes avant le début) ; aux stagiaires qui n'ont pas encore signé."))
registry.register_trigger(registry.Trigger(
    code="halfday_missing", label="Demi-journée close avec des signatures manquantes", context="slot",
    offset="after", audiences=("trainee", "trainer", "advisor"), find=_find_missing,
    help="À la clôture de l'émargement (une heure après la fin), plus le décalage ; seulement s'il manque des "
         "signatures (ni signé ni noté absent)."))


# --------------------------------------------------------------------------- context « absence »


@dataclass
class Absence:
    """A trainee marked absent or late on a half-day: ``record`` is the first mark (the occurrence's object), ``kind``
    what the sheet reads now ("absent", "late", or None once they signed or were corrected present on time)."""

    record: AttendanceRecord
    slot: Slot
    enrolment: Enrolment
    kind: str | None
    arrived_at: dt.time | None
    announced_on: dt.datetime | None

    @property
    def company(self) -> Company | None:
        return alerts.employer(self.enrolment)


def _load_absence(object_type: str, object_id: int) -> Absence | None:
    record = db.session.get(AttendanceRecord, object_id) if object_type == "attendance_record" else None
    if record is None or record.enrolment is None:
        return None
    cell = attendance.session_grid(record.slot.session).cell(record.enrolment_id, record.slot_id)
    kind = "absent" if cell.status == CellStatus.ABSENT.value and cell.presence == "absent" else \
        "late" if cell.arrived_at is not None and cell.status != CellStatus.ABSENT.value else None
    return Absence(record, record.slot, record.enrolment, kind, cell.arrived_at,
                   cell.planned.declared_at if cell.planned is not None else None)


def _absence_recipients(absence: Absence, audience: str) -> list[Recipient]:
    if absence.kind is None:
        return []
    enrolment_id = absence.enrolment.id
    if audience in ("company_hr", "company_signatory"):
        company = absence.company
        if company is None or not company.absence_alerts:
            return []
        contact = company.contact("hr", "signatory") if audience == "company_hr" else company.contact("signatory")
        return [Recipient(contact.email, contact.name, ref=contact, enrolment_id=enrolment_id)] if contact else []
    if audience == "trainee":
        trainee = absence.enrolment.trainee
        return [Recipient(trainee.email, trainee.display_name, ref=absence.enrolment, enrolment_id=enrolment_id)] \
            if trainee.email else []
    if audience == "advisor":
        return [Recipient(r.email, r.name, ref=r.ref, enrolment_id=enrolment_id) for r in _advisors()]
    return []


def _absence_build(absence: Absence, recipient: Recipient) -> dict:
    context = _common(absence.slot, recipient)
    company = absence.company
    context.update(
        trainee={"full_name": absence.enrolment.trainee.full_name},
        company={"name": company.name if company is not None else ""},
        absence={"kind": absence.kind or "", "kind_label": "Retard" if absence.kind == "late" else "Absence",
                 "arrived_at": time_fr(absence.arrived_at), "announced_on": date_fr(absence.announced_on)},
        link=external_url("attendance.slot", slot_id=absence.slot.id))
    return context


def _absence_sample(session_id: int, enrolment_id: int | None) -> tuple[Absence, Recipient] | None:
    query = (select(AttendanceRecord).where(AttendanceRecord.session_id == session_id, *_alerting())
             .order_by(AttendanceRecord.id))
    if enrolment_id:
        query = query.where(AttendanceRecord.enrolment_id == enrolment_id)
    record = db.session.scalars(query.limit(1)).first()
    if record is None:
        return None
    absence = _load_absence("attendance_record", record.id)
    absence.kind = absence.kind or ("absent" if record.presence == "absent" else "late")
    recipients = (_absence_recipients(absence, "company_hr") or _absence_recipients(absence, "trainee")
                  or [Recipient("rh@exemple.fr", "Contact RH")])
    return absence, recipients[0]


def _alerting():
    """The records that alert: an absence or a late arrival, marked by the trainer or corrected by the advisor."""
    return (AttendanceRecord.kind.in_(("presence", "correction")), AttendanceRecord.enrolment_id.is_not(None),
            (AttendanceRecord.presence == "absent") | AttendanceRecord.arrived_at.is_not(None))


def _after_absence_fired(absence: Absence, recipient: Recipient, message) -> None:
    """The company told: the evidence row of attendance/alerts.py (one per employee and half-day)."""
    if not isinstance(recipient.ref, CompanyContact) or db.session.scalar(select(AbsenceAlert.id).where(
            AbsenceAlert.slot_id == absence.slot.id, AbsenceAlert.enrolment_id == absence.enrolment.id)):
        return
    db.session.add(AbsenceAlert(slot_id=absence.slot.id, enrolment_id=absence.enrolment.id,
                                company_id=recipient.ref.company_id, kind=absence.kind or "absent",
                                recipient=recipient.email, message_id=getattr(message, "id", None)))
    db.session.flush()


registry.register_context(registry.Context(
    code="absence", label="Absence ou retard d'un stagiaire",
    variables=COMMON_VARS + (
        Var("trainee.full_name", "Nom du stagiaire absent ou en retard", "Julie Martin"),
        Var("company.name", "Employeur du stagiaire", "Dupont SARL"),
        Var("absence.kind", "« absent » ou « late » (retard)", "absent"),
        Var("absence.kind_label", "« Absence » ou « Retard »", "Absence"),
        Var("absence.arrived_at", "Heure d'arrivée (retard), sinon vide", ""),
        Var("absence.announced_on", "Date à laquelle le stagiaire avait signalé son absence, sinon vide", ""),
        Var("link", "La feuille d'émargement de la demi-journée (accès du personnel)",
            "https://formation.example/attendance/slots/3"),
    ),
    load=_load_absence, recipients=_absence_recipients, build=_absence_build, sample=_absence_sample))


def _find_absences(rule, start: dt.datetime, end: dt.datetime) -> Iterator[Occurrence]:
    """For each trainee and half-day, its first absence or late mark, ``offset_days`` after it was recorded."""
    offset = dt.timedelta(days=rule.offset_days or 0)
    pairs = set(db.session.execute(
        select(AttendanceRecord.slot_id, AttendanceRecord.enrolment_id)
        .where(*_alerting(), AttendanceRecord.created_at.between(start - offset, end - offset))).all())
    if not pairs:
        return
    firsts: dict[tuple[int, int], AttendanceRecord] = {}
    for record in db.session.scalars(
            select(AttendanceRecord).join(TrainingSession, TrainingSession.id == AttendanceRecord.session_id)
            .where(*_alerting(), AttendanceRecord.slot_id.in_({s for s, _ in pairs}),
                   TrainingSession.status.in_(SIGNING + (SessionStatus.CLOSED.value,)))
            .order_by(AttendanceRecord.id)):
        firsts.setdefault((record.slot_id, record.enrolment_id), record)
    for key in sorted(pairs & firsts.keys()):
        record = firsts[key]
        due = record.created_at + offset
        if start <= due <= end:
            yield Occurrence("attendance_record", record.id, "absent", due, session_id=record.session_id)


registry.register_trigger(registry.Trigger(
    code="absence_marked", label="Absence constatée", context="absence", offset="after",
    audiences=("company_hr", "company_signatory", "trainee", "advisor"), find=_find_absences,
    after_fired=_after_absence_fired,
    help="Une absence ou un retard relevé par le formateur ou corrigé par le conseiller ; un seul message par "
         "stagiaire et demi-journée. Aux entreprises seulement si elles ont demandé à être prévenues."))


# --------------------------------------------------------------------------- default templates and rules

ABSENCE_BODY = """Bonjour {{ recipient.name }},

{% if absence.kind == "absent" %}{{ trainee.full_name }} est noté(e) absent(e){% else %}{{ trainee.full_name }} est \
arrivé(e) en retard, à {{ absence.arrived_at }},{% endif %} à la demi-journée du {{ slot.date }}, {{ slot.half_day }} \
({{ slot.start }}–{{ slot.end }}), de la formation « {{ session.title }} ».
{% if absence.announced_on %}
Cette absence avait été signalée à l'avance par le stagiaire, le {{ absence.announced_on }}.
{% endif %}
La feuille d'émargement fait foi : elle est tenue à jour par le formateur et votre conseiller formation (arrivée \
plus tardive, justificatif…). Vous recevez un seul message par demi-journée et par collaborateur.

Vous recevez ce message parce que {{ company.name }} a demandé à être prévenue des absences et retards de ses \
collaborateurs en formation. Pour ne plus les recevoir, adressez-vous à votre conseiller formation.

{{ org.signature }}
"""

OPEN_BODY = """Bonjour {{ recipient.name }},

La feuille d'émargement du créneau du {{ slot.label }} est ouverte. Signez-la depuis votre téléphone en ouvrant ce \
lien personnel (ne le transférez pas : il signe en votre nom) :
{{ link }}

Formation : {{ session.title }}
L'émargement est possible jusqu'à {{ slot.closes }}.

Votre signature atteste votre présence auprès de votre employeur et du financeur de la formation.

{{ org.signature }}
"""

MISSING_BODY = """Bonjour,

La feuille d'émargement du créneau du {{ slot.label }} (formation « {{ session.title }} », session n° \
{{ session.reference }}) est close sans la signature de :
{% for trainee in missing %}- {{ trainee.full_name }}
{% endfor %}
Si ces stagiaires étaient présents, enregistrez une correction ; sinon, notez leur absence et demandez un \
justificatif :
{{ link }}

{{ org.signature }}
"""

registry.register_default_template(registry.DefaultTemplate(
    code="absence_alert", name="Absence ou retard : entreprise", context="absence",
    subject="{{ absence.kind_label }} de {{ trainee.full_name }} – {{ session.title }}", body=ABSENCE_BODY))
registry.register_default_template(registry.DefaultTemplate(
    code="attendance_link", name="Lien d'émargement à l'ouverture", context="slot",
    subject="Feuille d'émargement ouverte – {{ session.title }}", body=OPEN_BODY))
registry.register_default_template(registry.DefaultTemplate(
    code="attendance_missing", name="Signatures manquantes : conseiller", context="slot",
    subject="Signatures manquantes – {{ session.title }}, {{ slot.date }} {{ slot.half_day }}", body=MISSING_BODY))

registry.register_default_rule(registry.DefaultRule(
    code="absence_alert", name="Absence ou retard : prévenir l'entreprise", trigger="absence_marked",
    audience="company_hr", template="absence_alert", topic=alerts.TOPIC))
registry.register_default_rule(registry.DefaultRule(
    code="attendance_link", name="Lien d'émargement à l'ouverture de la demi-journée", trigger="halfday_open",
    audience="trainee", template="attendance_link", topic="attendance_link"))
registry.register_default_rule(registry.DefaultRule(
    code="attendance_missing", name="Signatures manquantes : prévenir le conseiller", trigger="halfday_missing",
    audience="advisor", template="attendance_missing", topic=MISSING_TOPIC))
