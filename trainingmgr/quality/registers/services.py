"""The quality registers' rules: the watch log (Qualiopi 23–25) and the improvement actions it leads to, the needs
analyses held outside the questionnaire (4), the disability partner network and each trainee's adaptations (26).

An adaptation moves along ``TRANSITIONS``: requested → decided (or declined) → carried out →
checked at the end of the session; each step records its own text and date, both required, never before the
previous step's date nor after today. The board (quality/board) counts the registers through the ``*_counts``
queries below: a fixed number of aggregate queries whatever their size."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from ...accounts.models import User
from ...accounts.permissions import ensure_staff
from ...accounts.services import normalise_email
from ...companies.models import Company
from ...core import workflow
from ...core.errors import ConflictError, ErrorCollector, ValidationError
from ...core.formatting import date_fr
from ...core.paging import Page, paginate
from ...core.persistence import get_by_id
from ...core.spreadsheet import csv_bytes
from ...core.timeutil import paris_today
from ...core.validation import clean_text, id_or_none, parse_date, parse_text
from ...catalogue.models import CourseVersion
from ...enrolments.models import Enrolment, EnrolmentStatus
from ...extensions import db
from ...sessions.models import ENDED, NOT_CANCELLED, Slot, TrainingSession
from ...trainees.models import Trainee
from ..actions import services as action_services
from ..models import OPEN_ACTIONS, ImprovementAction
from .models import (
    ADAPTATION_STATUSES,
    NEEDS_CHANNELS,
    PARTNER_KINDS,
    WATCH_DOMAINS,
    WATCH_INDICATORS,
    Adaptation,
    AdaptationStatus,
    DisabilityPartner,
    NeedsAnalysis,
    WatchEntry,
)

MAX_TEXT = 20000
MAX_SOURCE = 300
MAX_CONTACT = 200
MAX_NAME = 200
MAX_PERSON = 120
MAX_PHONE = 40
STAFF_ONLY = "Seuls les conseillers et les administrateurs tiennent les registres qualité."
# Adaptations still to follow up: neither checked at the session's end nor declined.
OPEN_ADAPTATIONS = (AdaptationStatus.REQUESTED.value, AdaptationStatus.DECIDED.value,
                    AdaptationStatus.CARRIED_OUT.value)


def _day(value, name: str, errors: ErrorCollector, label: str, today: dt.date,
         not_before: dt.date | None = None, before_label: str = "") -> dt.date | None:
    """A required date, not after today (a register records what happened) nor before ``not_before``."""
    day = parse_date(value, name, errors, label=label)
    if day is None:
        return None
    if day > today:
        errors.add(name, f"{label} ne peut pas être postérieure à aujourd'hui ({date_fr(today)}).")
        return None
    if not_before is not None and day < not_before:
        errors.add(name, f"{label} ne peut pas précéder {before_label} ({date_fr(not_before)}).")
        return None
    return day


def _choice(value, name: str, allowed: dict, errors: ErrorCollector, message: str) -> str:
    text = clean_text(value)
    if text not in allowed:
        errors.add(name, message)
    return text


def _given(value) -> bool:
    return value is not None and str(value).strip() != ""


def _period(query, column, since: dt.date | None, until: dt.date | None):
    if since is not None:
        query = query.where(column >= since)
    if until is not None:
        query = query.where(column <= until)
    return query


def check_period(since: dt.date | None, until: dt.date | None) -> None:
    if since is not None and until is not None and since > until:
        raise ValidationError(f"La date de début ({date_fr(since)}) est postérieure à la date de fin "
                              f"({date_fr(until)}).")


# --------------------------------------------------------------------------- the watch log (23–25)


def get_watch_entry(entry_id) -> WatchEntry:
    return get_by_id(WatchEntry, entry_id, "Entrée du journal de veille introuvable.")


def _watch_query(domain: str | None = None, since: dt.date | None = None, until: dt.date | None = None):
    if domain and domain not in WATCH_DOMAINS:
        raise ValidationError("Domaine de veille inconnu.", field="domain")
    check_period(since, until)
    query = (select(WatchEntry).options(joinedload(WatchEntry.action))
             .order_by(WatchEntry.day.desc(), WatchEntry.id.desc()))
    if domain:
        query = query.where(WatchEntry.domain == domain)
    return _period(query, WatchEntry.day, since, until)


def watch_page(page: int, domain: str | None = None, since: dt.date | None = None,
               until: dt.date | None = None) -> Page:
    """One page of the watch log, the latest first, filtered by domain and by the day of the entry."""
    return paginate(_watch_query(domain, since, until), page)


def list_watch_entries(domain: str | None = None, since: dt.date | None = None,
                       until: dt.date | None = None) -> list[WatchEntry]:
    return list(db.session.scalars(_watch_query(domain, since, until)))


def linkable_actions(current: ImprovementAction | None = None) -> list[ImprovementAction]:
    """The improvement actions a watch entry may point to: the open ones and those from the watch, newest first
    (and the one already linked)."""
    actions = list(db.session.scalars(
        select(ImprovementAction).where(or_(ImprovementAction.status.in_(OPEN_ACTIONS),
                                             ImprovementAction.source == "watch"))
        .order_by(ImprovementAction.id.desc())))
    if current is not None and current not in actions:
        actions.insert(0, current)
    return actions


def save_watch_entry(entry: WatchEntry | None, data: dict, actor: User) -> WatchEntry:
    """Create (``entry`` None) or edit a watch entry: day (not in the future), source, domain, summary, analysis,
    and an existing improvement action it led to."""
    ensure_staff(actor, STAFF_ONLY)
    errors = ErrorCollector()
    day = _day(data.get("day"), "day", errors, "La date", paris_today())
    source = parse_text(data.get("source"), "source", errors, label="La source", limit=MAX_SOURCE, required=True)
    domain = _choice(data.get("domain"), "domain", WATCH_DOMAINS, errors, "Choisissez le domaine de la veille.")
    summary = parse_text(data.get("summary"), "summary", errors, label="Le résumé", limit=MAX_TEXT, required=True)
    analysis = parse_text(data.get("analysis"), "analysis", errors, label="L'analyse", limit=MAX_TEXT)
    action_id = None
    if _given(data.get("action_id")):
        action_id = id_or_none(data.get("action_id"))
        if action_id is None or db.session.get(ImprovementAction, action_id) is None:
            errors.add("action_id", "Action d'amélioration inconnue : choisissez-la dans la liste.")
    errors.raise_if_any()
    if entry is None:
        entry = WatchEntry(created_by_id=actor.id)
        db.session.add(entry)
    entry.day, entry.source, entry.domain, entry.summary, entry.analysis = day, source, domain, summary, analysis
    entry.action_id = action_id
    db.session.flush()
    return entry


def create_action_from_watch(entry: WatchEntry, actor: User) -> ImprovementAction:
    """« Créer l'action d'amélioration »: an action of source "watch" owned by ``actor``, due at the usual delay,
    with the entry's summary and analysis, linked to the entry (409 when it already leads to one)."""
    ensure_staff(actor, STAFF_ONLY)
    if entry.action_id is not None:
        raise ConflictError(f"Cette entrée de veille a déjà conduit à l'action d'amélioration n° {entry.action_id}.")
    title = f"Veille ({entry.domain_label.lower()}) : {entry.summary}"
    if len(title) > action_services.MAX_TITLE:
        title = title[:action_services.MAX_TITLE - 1] + "…"
    analysis = "\n\n".join(p for p in (f"Source : {entry.source} ({date_fr(entry.day)}).", entry.analysis) if p)
    action = action_services.create_action(actor, "watch", title, analysis, "", actor.id,
                                           action_services.default_due_date())
    entry.action_id = action.id
    db.session.flush()
    return action


WATCH_HEADERS = ["N°", "Date", "Domaine", "Indicateur Qualiopi", "Source", "Résumé", "Analyse",
                 "Action d'amélioration"]


def watch_csv(entries: Iterable[WatchEntry]) -> bytes:
    """The watch log for French Excel (UTF-8 with BOM, « ; », dates 25/11/2026), oldest first."""
    rows = [[e.id, e.day, e.domain_label, WATCH_INDICATORS.get(e.domain, ""), e.source, e.summary, e.analysis,
             f"n° {e.action.id} : {e.action.title}" if e.action else ""]
            for e in sorted(entries, key=lambda e: (e.day, e.id))]
    return csv_bytes(WATCH_HEADERS, rows)


def watch_filename(today: dt.date | None = None) -> str:
    return f"journal-veille-{(today or paris_today()).isoformat()}.csv"


# --------------------------------------------------------------------------- needs analyses (4)


def get_needs_analysis(analysis_id) -> NeedsAnalysis:
    return get_by_id(NeedsAnalysis, analysis_id, "Analyse des besoins introuvable.")


def needs_page(page: int, since: dt.date | None = None, until: dt.date | None = None) -> Page:
    """One page of the needs-analysis register, the latest first (company and session loaded)."""
    check_period(since, until)
    query = (select(NeedsAnalysis)
             .options(joinedload(NeedsAnalysis.company),
                      joinedload(NeedsAnalysis.session).selectinload(TrainingSession.slots),
                      joinedload(NeedsAnalysis.session).joinedload(TrainingSession.course_version))
             .order_by(NeedsAnalysis.day.desc(), NeedsAnalysis.id.desc()))
    return paginate(_period(query, NeedsAnalysis.day, since, until), page)


def session_choices(current: TrainingSession | None = None, today: dt.date | None = None) -> list[TrainingSession]:
    """Sessions a needs analysis may concern: those not cancelled with a half-day from a year ago on, by first
    day (and the one already chosen)."""
    since = (today or paris_today()) - dt.timedelta(days=366)
    recent = select(Slot.session_id).where(Slot.date >= since)
    sessions = list(db.session.scalars(
        select(TrainingSession).where(TrainingSession.status.in_(NOT_CANCELLED), TrainingSession.id.in_(recent))
        .options(selectinload(TrainingSession.slots), joinedload(TrainingSession.course_version))))
    sessions.sort(key=lambda s: (s.first_date or dt.date.max, s.id))
    if current is not None and current not in sessions:
        sessions.insert(0, current)
    return sessions


def company_choices() -> list[Company]:
    return list(db.session.scalars(select(Company).order_by(Company.name, Company.id)))


def save_needs_analysis(analysis: NeedsAnalysis | None, data: dict, actor: User) -> NeedsAnalysis:
    """Create or edit a needs analysis: day, channel, company and session (both optional), who expressed the need,
    the needs found (required) and what was decided."""
    ensure_staff(actor, STAFF_ONLY)
    errors = ErrorCollector()
    day = _day(data.get("day"), "day", errors, "La date", paris_today())
    channel = _choice(data.get("channel"), "channel", NEEDS_CHANNELS, errors,
                      "Choisissez comment le besoin a été recueilli.")
    company_id = _optional_row(data.get("company_id"), "company_id", Company, errors,
                               "Entreprise inconnue : choisissez-la dans la liste.")
    session_id = _optional_row(data.get("session_id"), "session_id", TrainingSession, errors,
                               "Session inconnue : choisissez-la dans la liste.")
    contact = parse_text(data.get("contact"), "contact", errors, label="L'interlocuteur", limit=MAX_CONTACT)
    needs = parse_text(data.get("needs"), "needs", errors, label="Les besoins identifiés", limit=MAX_TEXT,
                       required=True)
    outcome = parse_text(data.get("outcome"), "outcome", errors, label="La suite donnée", limit=MAX_TEXT)
    errors.raise_if_any()
    if analysis is None:
        analysis = NeedsAnalysis(created_by_id=actor.id)
        db.session.add(analysis)
    analysis.day, analysis.channel, analysis.company_id, analysis.session_id = day, channel, company_id, session_id
    analysis.contact, analysis.needs, analysis.outcome = contact, needs, outcome
    db.session.flush()
    return analysis


def _optional_row(value, name: str, model, errors: ErrorCollector, message: str) -> int | None:
    if not _given(value):
        return None
    number = id_or_none(value)
    if number is None or db.session.get(model, number) is None:
        errors.add(name, message)
        return None
    return number


# --------------------------------------------------------------------------- disability partners (26)


def get_partner(partner_id) -> DisabilityPartner:
    return get_by_id(DisabilityPartner, partner_id, "Partenaire introuvable.")


def list_partners(active_only: bool = False) -> list[DisabilityPartner]:
    query = select(DisabilityPartner).order_by(DisabilityPartner.active.desc(), DisabilityPartner.name,
                                               DisabilityPartner.id)
    if active_only:
        query = query.where(DisabilityPartner.active.is_(True))
    return list(db.session.scalars(query))


def save_partner(partner: DisabilityPartner | None, data: dict, actor: User) -> DisabilityPartner:
    """Create or edit a partner of the disability network: name and kind required, contact, e-mail, phone, notes."""
    ensure_staff(actor, STAFF_ONLY)
    errors = ErrorCollector()
    name = parse_text(data.get("name"), "name", errors, label="Le nom", limit=MAX_NAME, required=True)
    kind = _choice(data.get("kind"), "kind", PARTNER_KINDS, errors, "Choisissez le type de partenaire.")
    contact_name = parse_text(data.get("contact_name"), "contact_name", errors, label="Le contact", limit=MAX_PERSON)
    email = clean_text(data.get("email"))
    if email:
        email = errors.run(normalise_email, email, "email") or email
    phone = parse_text(data.get("phone"), "phone", errors, label="Le téléphone", limit=MAX_PHONE)
    notes = parse_text(data.get("notes"), "notes", errors, label="Les notes", limit=MAX_TEXT)
    errors.raise_if_any()
    if partner is None:
        partner = DisabilityPartner(active=True)
        db.session.add(partner)
    partner.name, partner.kind, partner.contact_name = name, kind, contact_name
    partner.email, partner.phone, partner.notes = email, phone, notes
    db.session.flush()
    return partner


def set_partner_active(partner: DisabilityPartner, active, actor: User) -> DisabilityPartner:
    """Deactivate a partner (kept on the adaptations that name it) or activate it again (409 when already so)."""
    ensure_staff(actor, STAFF_ONLY)
    wanted = {"1": True, "0": False}.get(clean_text(active))
    if wanted is None:
        raise ValidationError("Choisissez d'activer ou de désactiver le partenaire.", field="active")
    if partner.active == wanted:
        raise ConflictError(f"Le partenaire « {partner.name} » est déjà {'actif' if wanted else 'désactivé'}.")
    partner.active = wanted
    db.session.flush()
    return partner


# --------------------------------------------------------------------------- adaptations (26)


@dataclass(frozen=True)
class Step(workflow.Transition):
    """A step of an adaptation: the text and the date it records (both required)."""

    text_field: str = field(default="", kw_only=True)
    date_field: str = field(default="", kw_only=True)
    text_label: str = field(default="", kw_only=True)
    date_label: str = field(default="", kw_only=True)
    partner: bool = field(default=False, kw_only=True)  # the partner the trainee is directed to may be named


_REQUESTED, _DECIDED = AdaptationStatus.REQUESTED.value, AdaptationStatus.DECIDED.value
_CARRIED_OUT, _CHECKED = AdaptationStatus.CARRIED_OUT.value, AdaptationStatus.CHECKED.value
_DECLINED = AdaptationStatus.DECLINED.value
TRANSITIONS: dict[str, Step] = {
    "decide": Step("Décider de l'adaptation", (_REQUESTED,), _DECIDED, text_field="decision", date_field="decided_on",
                   text_label="La décision", date_label="La date de la décision", partner=True),
    "decline": Step("Ne pas retenir", (_REQUESTED,), _DECLINED, text_field="decision", date_field="decided_on",
                    text_label="Le motif et l'orientation proposée", date_label="La date de la décision",
                    partner=True),
    "carry_out": Step("Mettre en œuvre", (_DECIDED,), _CARRIED_OUT, text_field="carried_out",
                      date_field="carried_out_on", text_label="Ce qui a été mis en œuvre",
                      date_label="La date de mise en œuvre"),
    "check": Step("Vérifier en fin de session", (_CARRIED_OUT,), _CHECKED, text_field="end_check",
                  date_field="checked_on", text_label="Le bilan avec le stagiaire",
                  date_label="La date de la vérification"),
}
# The date each status was reached: a step's date may not precede it.
_REACHED_ON = {_REQUESTED: "requested_on", _DECIDED: "decided_on", _CARRIED_OUT: "carried_out_on"}


def get_adaptation(adaptation_id) -> Adaptation:
    return get_by_id(Adaptation, adaptation_id, "Adaptation introuvable.")


def get_enrolment(enrolment_id) -> Enrolment:
    return get_by_id(Enrolment, enrolment_id, "Inscription introuvable.")


def allowed_steps(adaptation: Adaptation) -> list[str]:
    return workflow.allowed_steps(TRANSITIONS, adaptation)


def enrolment_adaptations(enrolment_id: int) -> list[Adaptation]:
    return list(db.session.scalars(select(Adaptation).where(Adaptation.enrolment_id == enrolment_id)
                                   .options(joinedload(Adaptation.partner)).order_by(Adaptation.id)))


def adaptation_page(page: int, status: str | None = None) -> Page:
    """One page of every adaptation, the latest request first, with its trainee and session loaded."""
    if status and status not in ADAPTATION_STATUSES:
        raise ValidationError("Statut d'adaptation inconnu.", field="status")
    query = (select(Adaptation)
             .options(joinedload(Adaptation.partner),
                      joinedload(Adaptation.enrolment).joinedload(Enrolment.trainee),
                      joinedload(Adaptation.enrolment).joinedload(Enrolment.session)
                      .joinedload(TrainingSession.course_version),
                      joinedload(Adaptation.enrolment).joinedload(Enrolment.session)
                      .selectinload(TrainingSession.slots))
             .order_by(Adaptation.requested_on.desc(), Adaptation.id.desc()))
    if status:
        query = query.where(Adaptation.status == status)
    return paginate(query, page)


def _partner_id(value, errors: ErrorCollector, keep: int | None = None) -> int | None:
    """An active partner (or the one already named), or None."""
    if not _given(value):
        return None
    number = id_or_none(value)
    partner = None if number is None else db.session.get(DisabilityPartner, number)
    if partner is None or not (partner.active or partner.id == keep):
        errors.add("partner_id", "Partenaire inconnu ou désactivé : choisissez-le dans la liste.")
        return None
    return partner.id


def request_adaptation(enrolment: Enrolment, data: dict, actor: User) -> Adaptation:
    """Record a trainee's need for an adaptation (« Déclarer un besoin d'adaptation »): what is asked, when, and
    the partner involved if any. A cancelled enrolment takes none (409)."""
    ensure_staff(actor, STAFF_ONLY)
    if enrolment.status == EnrolmentStatus.CANCELLED.value:
        raise ConflictError("Cette inscription est annulée : aucun besoin d'adaptation ne peut y être déclaré.")
    errors = ErrorCollector()
    text = parse_text(data.get("request"), "request", errors, label="Le besoin exprimé", limit=MAX_TEXT,
                      required=True)
    day = _day(data.get("requested_on"), "requested_on", errors, "La date de la demande", paris_today())
    partner_id = _partner_id(data.get("partner_id"), errors)
    errors.raise_if_any()
    adaptation = Adaptation(enrolment_id=enrolment.id, status=_REQUESTED, request=text, requested_on=day,
                            partner_id=partner_id, created_by_id=actor.id)
    db.session.add(adaptation)
    db.session.flush()
    return adaptation


def _refusal(adaptation: Adaptation, step: Step) -> str:
    return (f"Une adaptation « {adaptation.status_label.lower()} » ne peut pas passer à "
            f"« {ADAPTATION_STATUSES[step.target].lower()} ».")


def advance_adaptation(adaptation: Adaptation, step_name, data: dict, actor: User) -> Step:
    """Take the step ``step_name`` (see TRANSITIONS): 422 for an unknown step, 409 for one the adaptation may not
    take now; its text and date are required, the date neither in the future nor before the previous step's."""
    ensure_staff(actor, STAFF_ONLY)
    step = workflow.legal_step(TRANSITIONS, clean_text(step_name), adaptation, refusal=_refusal, field_name="step")
    errors = ErrorCollector()
    text = parse_text(data.get("text"), "text", errors, label=step.text_label, limit=MAX_TEXT, required=True)
    previous = getattr(adaptation, _REACHED_ON[adaptation.status])
    day = _day(data.get("day"), "day", errors, step.date_label, paris_today(), not_before=previous,
               before_label="l'étape précédente")
    partner_id = _partner_id(data.get("partner_id"), errors, keep=adaptation.partner_id) if step.partner else None
    errors.raise_if_any()
    setattr(adaptation, step.text_field, text)
    setattr(adaptation, step.date_field, day)
    if step.partner and partner_id is not None:
        adaptation.partner_id = partner_id
    adaptation.status = step.target
    db.session.flush()
    return step


# --------------------------------------------------------------------------- what the board counts


def watch_counts(since: dt.date, until: dt.date) -> dict[str, tuple[int, int, int]]:
    """{domain: (entries ever, entries in the period, of which leading to an action)} in one query."""
    in_period = and_(WatchEntry.day >= since, WatchEntry.day <= until)
    return {r[0]: (int(r[1]), int(r[2] or 0), int(r[3] or 0)) for r in db.session.execute(
        select(WatchEntry.domain, func.count(),
               func.sum(case((in_period, 1), else_=0)),
               func.sum(case((and_(in_period, WatchEntry.action_id.is_not(None)), 1), else_=0)))
        .group_by(WatchEntry.domain))}


def needs_counts(since: dt.date, until: dt.date) -> tuple[int, int]:
    """(needs analyses ever in the register, in the period)."""
    row = db.session.execute(select(func.count(), func.sum(case((and_(NeedsAnalysis.day >= since,
                                                                      NeedsAnalysis.day <= until), 1), else_=0)))
                             ).one()
    return int(row[0]), int(row[1] or 0)


def partner_counts() -> tuple[int, int]:
    """(partners of the network, of which active)."""
    row = db.session.execute(select(func.count(), func.sum(case((DisabilityPartner.active.is_(True), 1),
                                                                else_=0)))).one()
    return int(row[0]), int(row[1] or 0)


def adaptation_counts(since: dt.date, until: dt.date) -> dict[str, int]:
    """{status: adaptations requested in the period}."""
    return {r[0]: int(r[1]) for r in db.session.execute(
        select(Adaptation.status, func.count())
        .where(Adaptation.requested_on >= since, Adaptation.requested_on <= until)
        .group_by(Adaptation.status))}


@dataclass(frozen=True)
class UncheckedAdaptation:
    id: int
    status: str
    trainee: str
    session_id: int
    session_title: str

    @property
    def text(self) -> str:
        return (f"{self.trainee}, « {self.session_title} » (n° {self.session_id}) : adaptation "
                f"{ADAPTATION_STATUSES.get(self.status, self.status).lower()}, non vérifiée en fin de session")


def unchecked_after_session() -> list[UncheckedAdaptation]:
    """Adaptations neither checked nor declined whose session has ended (completed or closed), whenever: one
    query."""
    return [UncheckedAdaptation(r[0], r[1], f"{r[2]} {r[3]}".strip(), r[4], r[5]) for r in db.session.execute(
        select(Adaptation.id, Adaptation.status, Trainee.first_name, Trainee.last_name, TrainingSession.id,
               CourseVersion.title)
        .join(Enrolment, Enrolment.id == Adaptation.enrolment_id)
        .join(Trainee, Trainee.id == Enrolment.trainee_id)
        .join(TrainingSession, TrainingSession.id == Enrolment.session_id)
        .join(CourseVersion, CourseVersion.id == TrainingSession.course_version_id)
        .where(Adaptation.status.in_(OPEN_ADAPTATIONS), TrainingSession.status.in_(ENDED),
               Enrolment.status != EnrolmentStatus.CANCELLED.value)
        .order_by(Adaptation.requested_on, Adaptation.id))]
