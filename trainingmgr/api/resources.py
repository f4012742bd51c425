from __future__ import annotations

from flask_smorest import Blueprint

from ..accounts.permissions import staff_required
from ..resources.services import list_locations, list_trainers
from .docs import STAFF_ONLY, error_responses
from .schemas import LocationSchema, TrainerSchema

bp = Blueprint("resources_api", __name__, description="Formateurs et lieux (conseiller formation)")


@bp.route("/trainers")
@bp.doc(**STAFF_ONLY)
@bp.response(200, TrainerSchema(many=True))
@error_responses(bp, 401, 403)
@staff_required
def trainers():
    """Formateurs en activité."""
    return list_trainers()


@bp.route("/locations")
@bp.doc(**STAFF_ONLY)
@bp.response(200, LocationSchema(many=True))
@error_responses(bp, 401, 403)
@staff_required
def locations():
    """Lieux en service."""
    return list_locations()
