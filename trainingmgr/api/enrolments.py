"""Enrolments, trainees and companies through the API (advisor token)."""
from __future__ import annotations

from flask_smorest import Blueprint

from ..accounts.permissions import current_principal, staff_required
from ..companies.services import list_companies
from ..enrolments import services
from ..extensions import db
from ..sessions.services import get_session
from ..trainees.services import list_trainees
from .docs import STAFF_ONLY, error_responses
from .schemas import (
    CompanySchema,
    EnrolmentCancelSchema,
    EnrolmentCreateSchema,
    EnrolmentSchema,
    TraineeQuerySchema,
    TraineeSchema,
)

bp = Blueprint("enrolments_api", __name__, description="Inscriptions, stagiaires et entreprises (conseiller formation)")


@bp.route("/sessions/<int:session_id>/enrolments")
@bp.doc(**STAFF_ONLY)
@staff_required
@bp.response(200, EnrolmentSchema(many=True))
@error_responses(bp, 401, 403, 404, described={404: "Session inconnue"})
def list_enrolments(session_id: int):
    """Les inscriptions d'une session : places occupées, puis liste d'attente dans l'ordre, puis les autres."""
    session = get_session(session_id, current_principal())
    return services.session_enrolments(session)


@bp.route("/sessions/<int:session_id>/enrolments", methods=["POST"])
@bp.doc(**STAFF_ONLY)
@staff_required  # before @bp.arguments: refuse the caller before reading the body
@bp.arguments(EnrolmentCreateSchema)
@bp.response(201, EnrolmentSchema)
@error_responses(bp, 401, 403, 404, 409, 415, 422,
        described={404: "Session inconnue", 409: "Stagiaire déjà inscrit(e) à la session",
                   422: "Données invalides, stagiaire ou entreprise inconnus, SIRET dont la clé de contrôle est "
                        "fausse, ou session qui n'accepte pas d'inscription"})
def create_enrolment(data, session_id: int):
    """Inscrire un stagiaire (existant par « trainee_id », ou décrit dans « trainee ») avec son entreprise
    (« company_id » ou « company »). Une place libre confirme l'inscription (ou la met en attente de
    validation des prérequis) ; une session complète la place sur la liste d'attente."""
    actor = current_principal()
    session = get_session(session_id, actor)
    enrolment = services.enrol_from_data(session, data, actor, source="api")
    db.session.commit()
    return enrolment


@bp.route("/enrolments/<int:enrolment_id>/cancel", methods=["POST"])
@bp.doc(**STAFF_ONLY)
@staff_required  # before @bp.arguments: refuse the caller before reading the body
@bp.arguments(EnrolmentCancelSchema)
@bp.response(200, EnrolmentSchema)
@error_responses(bp, 401, 403, 404, 409, 415, 422,
        described={404: "Inscription inconnue", 409: "Inscription déjà annulée ou terminée",
                   422: "Motif absent ou trop court"})
def cancel_enrolment(data, enrolment_id: int):
    """Annuler une inscription avec son motif ; la place libérée revient au premier de la liste d'attente."""
    actor = current_principal()
    enrolment = services.get_enrolment(enrolment_id, actor)
    services.cancel(enrolment, actor, data["reason"])
    db.session.commit()
    return enrolment


@bp.route("/companies")
@bp.doc(**STAFF_ONLY)
@staff_required
@bp.response(200, CompanySchema(many=True))
@error_responses(bp, 401, 403)
def companies():
    """Entreprises clientes, par raison sociale."""
    return list_companies()


@bp.route("/trainees")
@bp.doc(**STAFF_ONLY)
@staff_required  # before @bp.arguments: refuse the caller before reading the query
@bp.arguments(TraineeQuerySchema, location="query")
@bp.response(200, TraineeSchema(many=True))
@error_responses(bp, 401, 403, 422)
def trainees(query):
    """Stagiaires par nom (500 au plus) ; « search » filtre sur le nom, le prénom ou l'adresse e-mail."""
    return list_trainees(query.get("search", ""))
