from __future__ import annotations

from flask_smorest import Blueprint

from ..accounts.permissions import staff_required
from ..resources.services import list_locations, list_trainers
from .schemas import LocationSchema, TrainerSchema

bp = Blueprint("resources_api", __name__, description="Formateurs et lieux (conseiller formation)")

STAFF_ONLY = {"security": [{"bearerAuth": []}]}


@bp.route("/trainers")
@bp.doc(**STAFF_ONLY)
@bp.response(200, TrainerSchema(many=True))
@bp.alt_response(401, schema="Error", description="Jeton absent ou invalide")
@bp.alt_response(403, schema="Error", description="Réservé au conseiller formation")
@staff_required
def trainers():
    """Formateurs en activité."""
    return list_trainers()


@bp.route("/locations")
@bp.doc(**STAFF_ONLY)
@bp.response(200, LocationSchema(many=True))
@bp.alt_response(401, schema="Error", description="Jeton absent ou invalide")
@bp.alt_response(403, schema="Error", description="Réservé au conseiller formation")
@staff_required
def locations():
    """Lieux en service."""
    return list_locations()
