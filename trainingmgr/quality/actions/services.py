"""Improvement actions (Qualiopi 32): the register of the measures taken after a complaint, a low survey score,
an audit finding or the organisation's watch, with their owner, due date, status and the effect observed.

Statuses (``TRANSITIONS``, docs/workflows.md): planned → in progress → done (the effect observed is then required)
or abandoned (its reason is required); done and abandoned are final. An action is overdue while it is neither done
nor abandoned and its due date has passed."""
from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from ...accounts.models import User
from ...accounts.permissions import ensure_staff
from ...core.errors import ConflictError, ErrorCollector, ValidationError
from ...core.formatting import date_fr
from ...core import workflow
from ...core.paging import Page, paginate
from ...core.persistence import get_by_id
from ...core.timeutil import paris_date, paris_today, utcnow
from ...core.validation import id_or_none, parse_date, parse_text
from ...core.spreadsheet import csv_bytes, xlsx_cell
from ...evaluations.models import AlertStatus, SurveyAlert
from ...evaluations.surveys.alerts import close_alert
from ...extensions import db
from ...sessions.models import TrainingSession
from ..models import ACTION_SOURCES, ACTION_STATUSES, OPEN_ACTIONS, ActionStatus, ImprovementAction, QualityRequest

MAX_TITLE = 200
MAX_TEXT = 20000


@dataclass(frozen=True)
class Transition(workflow.Transition):
    # Said when the effect field is empty in the status reached: the effect observed (done), the reason (abandoned).
    effect_missing: str = field(default="", kw_only=True)


_PLANNED, _IN_PROGRESS = ActionStatus.PLANNED.value, ActionStatus.IN_PROGRESS.value
_DONE, _ABANDONED = ActionStatus.DONE.value, ActionStatus.ABANDONED.value
# The steps, named after the status reached. Staying put is always allowed (an action is edited in its status).
TRANSITIONS: dict[str, Transition] = {
    _PLANNED: Transition("Prévoir", (), _PLANNED),  # the first status: no step leads back to it
    _IN_PROGRESS: Transition("Commencer", (_PLANNED,), _IN_PROGRESS),
    _DONE: Transition("Marquer réalisée", OPEN_ACTIONS, _DONE,
                      effect_missing="Indiquez l'effet observé pour marquer l'action réalisée (Qualiopi, indicateur 32)."),
    _ABANDONED: Transition("Abandonner", OPEN_ACTIONS, _ABANDONED,
                           effect_missing="Indiquez pourquoi l'action est abandonnée."),
}
# Sources chosen by hand; "complaint" needs the request it comes from (every complaint is in the register).
MANUAL_SOURCES = ("survey", "audit", "watch", "other")


# --------------------------------------------------------------------------- reading


def get_action(action_id) -> ImprovementAction:
    return get_by_id(ImprovementAction, action_id, "Action d'amélioration introuvable.")


def get_request(request_id) -> QualityRequest:
    return get_by_id(QualityRequest, request_id, "Réclamation introuvable.")


def get_alert(alert_id) -> SurveyAlert:
    return get_by_id(SurveyAlert, alert_id, "Alerte d'enquête introuvable.")


def get_linked_session(session_id) -> TrainingSession:
    return get_by_id(TrainingSession, session_id, "Session introuvable.")


def is_overdue(action: ImprovementAction, today: dt.date | None = None) -> bool:
    today = today or paris_today()
    return action.is_open and action.due_date is not None and action.due_date < today


def overdue_actions(today: dt.date) -> list[ImprovementAction]:
    """Actions neither done nor abandoned whose due date is before ``today``, the oldest due first (one query,
    owner included: the dashboard's query count does not grow with them)."""
    return list(db.session.scalars(
        select(ImprovementAction)
        .where(ImprovementAction.status.in_(OPEN_ACTIONS), ImprovementAction.due_date < today)
        .options(joinedload(ImprovementAction.owner))
        .order_by(ImprovementAction.due_date, ImprovementAction.id)))


def list_actions(status: str | None = None, source: str | None = None, *, overdue: bool = False,
                 request_id: int | None = None, survey_alert_id: int | None = None,
                 session_id: int | None = None, today: dt.date | None = None) -> list[ImprovementAction]:
    """The register, newest first, filtered by status, source, lateness or what the actions come from."""
    return list(db.session.scalars(_register_query(status, source, overdue=overdue, request_id=request_id,
                                                   survey_alert_id=survey_alert_id, session_id=session_id,
                                                   today=today)))


def action_page(page: int, status: str | None = None, source: str | None = None, *, overdue: bool = False,
                today: dt.date | None = None) -> Page:
    """One page of the register, in list_actions' order (a count and the rows with their owner and request)."""
    return paginate(_register_query(status, source, overdue=overdue, today=today), page)


def _register_query(status: str | None = None, source: str | None = None, *, overdue: bool = False,
                    request_id: int | None = None, survey_alert_id: int | None = None,
                    session_id: int | None = None, today: dt.date | None = None):
    if status and status not in ACTION_STATUSES:
        raise ValidationError("Statut d'action inconnu.", field="status")
    if source and source not in ACTION_SOURCES:
        raise ValidationError("Origine d'action inconnue.", field="source")
    query = (select(ImprovementAction)
             .options(joinedload(ImprovementAction.owner), joinedload(ImprovementAction.request))
             .order_by(ImprovementAction.id.desc()))
    if status:
        query = query.where(ImprovementAction.status == status)
    if source:
        query = query.where(ImprovementAction.source == source)
    if overdue:
        query = query.where(ImprovementAction.status.in_(OPEN_ACTIONS),
                            ImprovementAction.due_date < (today or paris_today()))
    for column, value in ((ImprovementAction.request_id, request_id),
                          (ImprovementAction.survey_alert_id, survey_alert_id),
                          (ImprovementAction.session_id, session_id)):
        if value is not None:
            query = query.where(column == value)
    return query


def sessions_of(actions: Iterable[ImprovementAction]) -> dict[int, TrainingSession]:
    """The sessions the actions are linked to, by id, in a fixed number of queries (title and dates loaded)."""
    ids = {a.session_id for a in actions if a.session_id}
    if not ids:
        return {}
    rows = db.session.scalars(select(TrainingSession).where(TrainingSession.id.in_(ids)).options(
        selectinload(TrainingSession.course_version), selectinload(TrainingSession.slots)))
    return {s.id: s for s in rows}


def actions_by_alert(alert_ids: Iterable[int]) -> dict[int, list[ImprovementAction]]:
    """{alert id: [actions created from it]} in one query (the survey alerts page shows them)."""
    ids = {i for i in alert_ids if i}
    if not ids:
        return {}
    found: dict[int, list[ImprovementAction]] = {}
    for action in db.session.scalars(select(ImprovementAction).where(ImprovementAction.survey_alert_id.in_(ids))
                                     .order_by(ImprovementAction.id)):
        found.setdefault(action.survey_alert_id, []).append(action)
    return found


def owner_choices(current: User | None = None) -> list[User]:
    """Who may own an action: the active advisors and admins (and the current owner, even if no longer so)."""
    users = list(db.session.scalars(select(User).where(User.active.is_(True), User.role.in_(("advisor", "admin")))
                                    .order_by(User.name, User.email)))
    if current is not None and current not in users:
        users.append(current)
    return users


def default_due_date(today: dt.date | None = None) -> dt.date:
    return (today or paris_today()) + dt.timedelta(days=current_app.config["QUALITY_ACTION_DUE_DAYS"])


def suggestion(request: QualityRequest | None = None, alert: SurveyAlert | None = None) -> dict:
    """Pre-filled title and analysis of an action created from a request or a survey alert."""
    if request is not None:
        subject = f" : {request.subject}" if request.subject else ""
        return {"title": f"Suite à la réclamation {request.reference}{subject}"[:MAX_TITLE],
                "analysis": request.analysis or ""}
    if alert is not None:
        return {"title": f"Suite à une note basse ({date_fr(alert.created_at)})", "analysis": alert.reason}
    return {}


# --------------------------------------------------------------------------- writing


STAFF_ONLY = "Seuls les conseillers et les administrateurs gèrent les actions d'amélioration."


def _owner(owner_id, errors: ErrorCollector, keep: User | None = None) -> User | None:
    """The active advisor or admin named by ``owner_id`` (``keep``, the present owner, is accepted as is)."""
    if owner_id is None or str(owner_id).strip() == "":
        errors.add("owner_id", "Le responsable de l'action est obligatoire.")
        return None
    number = id_or_none(owner_id)
    user = None if number is None else db.session.get(User, number)
    if user is not None and keep is not None and user.id == keep.id:
        return user
    if user is None:
        errors.add("owner_id", "Responsable inconnu : choisissez-le dans la liste.")
        return None
    if not user.active or not user.is_staff:
        errors.add("owner_id", "Le responsable doit être un conseiller ou un administrateur actif.")
        return None
    return user


def _due_date(value, errors: ErrorCollector, today: dt.date, unchanged: dt.date | None = None) -> dt.date | None:
    due = parse_date(value, "due_date", errors, label="L'échéance")
    if due is not None and due < today and due != unchanged:
        errors.add("due_date", f"L'échéance ne peut pas être passée (nous sommes le {date_fr(today)}).")
        return None
    return due


@dataclass
class Origin:
    """What a new action comes from: a request (complaint), a survey alert, and the session concerned."""

    request: QualityRequest | None = None
    alert: SurveyAlert | None = None
    session: TrainingSession | None = None


def _given(value) -> bool:
    return value is not None and str(value).strip() != ""


def load_origin(request_id=None, survey_alert_id=None, session_id=None) -> Origin:
    """Load what an action comes from (NotFoundError for an unknown id). The session is the alert's, or the
    request's when it names one, else ``session_id``. A dismissed alert cannot lead to an action (409)."""
    if _given(request_id) and _given(survey_alert_id):
        raise ValidationError("Une action part d'une réclamation ou d'une alerte d'enquête, pas des deux.")
    origin = Origin()
    if _given(request_id):
        origin.request = get_request(request_id)
        if origin.request.session_id:
            session_id = origin.request.session_id
    elif _given(survey_alert_id):
        origin.alert = get_alert(survey_alert_id)
        if origin.alert.status == AlertStatus.DISMISSED.value:
            raise ConflictError("Cette alerte a été classée sans suite : aucune action ne peut en partir.")
        session_id = origin.alert.session_id
    if _given(session_id):
        origin.session = get_linked_session(session_id)
    return origin


def create_action(actor: User, source: str | None, title: str, analysis: str, description: str, owner_id,
                  due_date, request_id=None, survey_alert_id=None, session_id=None) -> ImprovementAction:
    """Register an action. From a request its source is "complaint" (and its session the request's, if any);
    from a survey alert it is "survey", its session the alert's, and the alert, if still open, is marked handled
    with a note naming the action."""
    ensure_staff(actor, STAFF_ONLY)
    today = paris_today()
    origin = load_origin(request_id, survey_alert_id, session_id)
    request, alert, session = origin.request, origin.alert, origin.session
    if request is not None:
        source = "complaint"
    elif alert is not None:
        source = "survey"

    errors = ErrorCollector()
    if request is None and alert is None:
        if source == "complaint":
            errors.add("source", "Une action issue d'une réclamation se crée depuis la réclamation enregistrée.")
        elif source not in MANUAL_SOURCES:
            errors.add("source", "Choisissez l'origine de l'action.")
    clean_title = parse_text(title, "title", errors, label="L'intitulé", limit=MAX_TITLE, required=True)
    clean_analysis = parse_text(analysis, "analysis", errors, label="L'analyse", limit=MAX_TEXT)
    clean_description = parse_text(description, "description", errors, label="La mesure", limit=MAX_TEXT)
    owner = _owner(owner_id, errors)
    due = _due_date(due_date, errors, today)
    errors.raise_if_any()

    action = ImprovementAction(source=source, request_id=request.id if request else None,
                               survey_alert_id=alert.id if alert else None,
                               session_id=session.id if session else None, title=clean_title,
                               analysis=clean_analysis, description=clean_description, owner_id=owner.id,
                               due_date=due, status=ActionStatus.PLANNED.value, created_by_id=actor.id, created_at=utcnow())
    db.session.add(action)
    db.session.flush()
    if alert is not None and alert.is_open:
        close_alert(alert.id, AlertStatus.HANDLED.value, f"Action d'amélioration n° {action.id} : {clean_title}", actor)
    return action


def _refusal(action: ImprovementAction, step: Transition) -> str:
    return (f"Une action « {action.status_label.lower()} » ne peut pas passer à "
            f"« {ACTION_STATUSES[step.target].lower()} ».")


def _step(action: ImprovementAction, status: str) -> Transition:
    """The step to ``status``, or the action's own status when it stays put; ValidationError (422) for an unknown
    status, ConflictError (409) when the action may not move there."""
    if status == action.status and status in TRANSITIONS:
        return TRANSITIONS[status]
    return workflow.legal_step(TRANSITIONS, status, action, refusal=_refusal, unknown="Statut inconnu.",
                               field_name="status")


def update_action(action: ImprovementAction, actor: User, data: dict) -> ImprovementAction:
    """Edit an action and move its status (see TRANSITIONS). "done" needs the effect observed and dates the
    action; "abandoned" needs its reason (in the same field). A past due date may be kept, not newly set."""
    ensure_staff(actor, STAFF_ONLY)
    step = _step(action, str(data.get("status") or action.status).strip())
    errors = ErrorCollector()
    title = parse_text(data.get("title"), "title", errors, label="L'intitulé", limit=MAX_TITLE, required=True)
    analysis = parse_text(data.get("analysis"), "analysis", errors, label="L'analyse", limit=MAX_TEXT)
    description = parse_text(data.get("description"), "description", errors, label="La mesure", limit=MAX_TEXT)
    effect = parse_text(data.get("effect"), "effect", errors, label="L'effet observé", limit=MAX_TEXT)
    owner = _owner(data.get("owner_id"), errors, keep=action.owner)
    due = _due_date(data.get("due_date"), errors, paris_today(), unchanged=action.due_date)
    if step.effect_missing and not effect and "effect" not in errors.fields:
        errors.add("effect", step.effect_missing)
    errors.raise_if_any()
    if step.target == ActionStatus.DONE.value and action.status != ActionStatus.DONE.value:
        action.done_at = utcnow()
    action.title, action.analysis, action.description, action.effect = title, analysis, description, effect
    action.owner_id, action.due_date, action.status = owner.id, due, step.target
    return action


# --------------------------------------------------------------------------- export

EXPORT_HEADERS = ["N°", "Créée le", "Origine", "Réclamation liée", "Session", "Intitulé", "Analyse (cause)",
                  "Mesure décidée", "Responsable", "Échéance", "Statut", "Réalisée le", "Effet observé"]
DATE_COLUMNS = (1, 9, 11)


@dataclass
class Register:
    actions: list[ImprovementAction]
    sessions: dict[int, TrainingSession]


def session_label(session: TrainingSession | None) -> str:
    if session is None:
        return ""
    return f"{session.title} ({session.dates_label})"


def export_rows(register: Register) -> list[list]:
    """One row per action, oldest first, with dates as ``datetime.date`` (formatted by each export)."""
    rows = []
    for a in sorted(register.actions, key=lambda a: a.id):
        rows.append([
            a.id, paris_date(a.created_at), a.source_label, a.request.reference if a.request else "",
            session_label(register.sessions.get(a.session_id)), a.title, a.analysis, a.description,
            (a.owner.name or a.owner.email) if a.owner else "", a.due_date, a.status_label,
            paris_date(a.done_at), a.effect,
        ])
    return rows


def to_csv(register: Register, counted: Callable[[list], Iterable] = iter) -> bytes:
    """For French Excel: UTF-8 with BOM, ";" between cells, dates dd/mm/yyyy (``counted`` wraps the rows as they
    are written: an export task's progress)."""
    return csv_bytes(EXPORT_HEADERS, counted(export_rows(register)))


def to_xlsx(register: Register, counted: Callable[[list], Iterable] = iter) -> bytes:
    """One sheet « Actions d'amélioration », dates as real dates shown dd/mm/yyyy."""
    from openpyxl import Workbook  # loaded only when an XLSX is built (75 ms), not at each start
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    ws = book.active
    ws.title = "Actions d'amélioration"
    ws.append(EXPORT_HEADERS)
    for c in ws[1]:
        c.font = Font(bold=True)
    for row in counted(export_rows(register)):
        ws.append([xlsx_cell(v) for v in row])
    for row in ws.iter_rows(min_row=2):
        for index in DATE_COLUMNS:
            row[index].number_format = "DD/MM/YYYY"
        for cell in row:
            cell.alignment = Alignment(vertical="top", wrap_text=isinstance(cell.value, str))
    ws.freeze_panes = "A2"
    for index, width in enumerate([6, 11, 22, 16, 36, 40, 50, 50, 22, 11, 12, 11, 50], start=1):
        ws.column_dimensions[get_column_letter(index)].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def export_filename(fmt: str, today: dt.date | None = None) -> str:
    return f"actions-amelioration-{(today or paris_today()).isoformat()}.{fmt}"
