from __future__ import annotations

from flask_smorest import Blueprint

from ..accounts.permissions import current_principal, staff_required
from ..catalogue.models import Course
from ..core.errors import ValidationError
from ..core.paging import Page
from ..core.timeutil import paris_today
from ..extensions import db
from ..sessions import services
from .docs import OPTIONAL_AUTH, STAFF_ONLY, error_responses
from .paging import PAGE_HEADERS, page_headers
from .schemas import (
    CreatedSlot,
    SessionCreateSchema,
    SessionDetailSchema,
    SessionPatchSchema,
    SessionQuerySchema,
    SessionSchema,
    SessionStaffSchema,
    SlotCreatedSchema,
    SlotCreateSchema,
)

bp = Blueprint("sessions_api", __name__, description="Sessions et créneaux")



def _is_staff() -> bool:
    user = current_principal()
    return user is not None and user.is_staff


def _staff_answer(session):
    return services.get_session(session.id)


@bp.route("/sessions")
@bp.doc(**OPTIONAL_AUTH)
@bp.arguments(SessionQuerySchema, location="query")
@bp.response(200, SessionSchema(many=True), headers=PAGE_HEADERS)
@error_responses(bp, 401, 422, described={
    401: "Jeton invalide", 422: "Filtre invalide, « from » après « to », ou page ou taille de page invalide"})
def list_sessions(query):
    """Sessions à venir et en cours des formations publiées (inter-entreprises) ; toutes les sessions avec un
    jeton conseiller. Sans « from », le public ne voit que les sessions ayant encore un créneau à venir.
    Une page à la fois (« page », « per_page »), dans l'ordre de leur premier créneau : l'en-tête X-Total-Count
    donne le nombre de sessions de toute la sélection, l'en-tête Link les pages voisines."""
    if query.get("from_") and query.get("to") and query["from_"] > query["to"]:
        raise ValidationError("La date « from » doit précéder la date « to ».", field="from")
    page, per_page = query["page"], query["per_page"]
    course_id = None
    if query.get("course"):
        course_id = db.session.scalar(db.select(Course.id).where(Course.slug == query["course"]))
        if course_id is None:
            return [], page_headers(Page([], 0, page, per_page))
    filters = {"course_id": course_id, "statuses": [query["status"]] if query.get("status") else None,
               "date_from": query.get("from_"), "date_to": query.get("to")}
    actor = current_principal() if _is_staff() else None
    if actor is None:
        filters["date_from"] = filters["date_from"] or paris_today()
    listing = services.api_session_page(actor, page, per_page, **filters)
    return listing.rows, page_headers(listing)


@bp.route("/sessions/<int:session_id>")
@bp.doc(**OPTIONAL_AUTH)
@bp.response(200, SessionDetailSchema)
@error_responses(bp, 401, 404, described={401: "Jeton invalide", 404: "Session inconnue"})
def get_session(session_id: int):
    """Une session avec ses créneaux et ses places restantes."""
    return services.get_session(session_id) if _is_staff() else services.get_public_session(session_id)


@bp.route("/sessions", methods=["POST"])
@bp.doc(**STAFF_ONLY)
@staff_required  # before @bp.arguments: refuse the caller before reading the body
@bp.arguments(SessionCreateSchema)
@bp.response(201, SessionStaffSchema)
@error_responses(bp, 401, 403, 409, 415, 422, described={
    409: "Formateur ou salle déjà pris",
    422: "Données invalides, ou qui ne conviennent pas aux données enregistrées : formation, lieu, formateur ou "
         "entreprise inconnus ou archivés, format que la formation ne propose pas, capacité au-delà du maximum de "
         "la formation ou des places de la salle, minimum au-delà de la capacité"})
def create_session(data):
    """Créer une session (brouillon) ; avec start_date, les créneaux suivent la journée type de la formation."""
    session, _ = services.create_session(data, current_principal())
    db.session.commit()
    return _staff_answer(session)


@bp.route("/sessions/<int:session_id>", methods=["PATCH"])
@bp.doc(**STAFF_ONLY)
@staff_required  # before @bp.arguments: refuse the caller before reading the body
@bp.arguments(SessionPatchSchema, required=False)  # no body (or {}): nothing changes, the session is answered
@bp.response(200, SessionStaffSchema)
@error_responses(bp, 401, 403, 404, 409, 415, 422, described={
    404: "Session inconnue", 409: "Conflit de planning ou changement de statut impossible",
    422: "Données invalides, ou qui ne conviennent pas aux données enregistrées (comme à la création ; capacité "
         "sous le nombre d'inscrits), session qui ne peut plus changer, ou étape dont une condition manque "
         "(créneaux, formateurs, lieux, prix, dates)"})
def patch_session(data, session_id: int):
    """Modifier une session ; « status » la fait changer d'étape (« cancel_reason » pour une annulation)."""
    actor = current_principal()
    session = services.get_session(session_id, actor)
    status = data.pop("status", None)
    reason = data.pop("cancel_reason", "")
    if data:
        services.update_session(session, data, actor)
    if status is not None:
        services.change_status(session, status, actor, reason=reason)
    db.session.commit()
    return _staff_answer(session)


@bp.route("/sessions/<int:session_id>/slots", methods=["POST"])
@bp.doc(**STAFF_ONLY)
@staff_required  # before @bp.arguments: refuse the caller before reading the body
@bp.arguments(SlotCreateSchema)
@bp.response(201, SlotCreatedSchema)
@error_responses(bp, 401, 403, 404, 409, 415, 422, described={
    404: "Session inconnue", 409: "Formateur ou salle déjà pris",
    422: "Créneau invalide : fin avant le début, matin au-delà de 14:00, autre créneau de la session à ce moment "
         "ou dans cette demi-journée, lieu ou formateur inconnu, archivé ou qui ne convient pas à la session, "
         "modalité qui ne convient pas à la session ou au lieu, classe virtuelle sans lien de réunion, activité "
         "asynchrone sans description, quiz hors d'une activité asynchrone ou qui ne convient pas, "
         "session qui ne peut plus changer ou dont la durée confirmée changerait"})
def add_slot(data, session_id: int):
    """Ajouter une demi-journée à une session."""
    actor = current_principal()
    session = services.get_session(session_id, actor)
    slot, warnings = services.add_slot(session, data, actor)
    db.session.commit()
    return CreatedSlot(slot, warnings)


@bp.route("/slots/<int:slot_id>", methods=["DELETE"])
@bp.doc(**STAFF_ONLY)
@staff_required
@bp.response(204)
@error_responses(bp, 401, 403, 404, 422,
        described={404: "Créneau inconnu", 422: "Créneau d'une session qui ne peut plus changer ou dont la durée "
                                                 "confirmée changerait"})
def delete_slot(slot_id: int):
    """Supprimer un créneau."""
    actor = current_principal()
    services.delete_slot(services.get_slot(slot_id, actor), actor)
    db.session.commit()

