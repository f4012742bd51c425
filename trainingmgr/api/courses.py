from __future__ import annotations

from flask_smorest import Blueprint

from ..catalogue import services
from .docs import error_responses, text_path_parameter
from .schemas import CourseSchema, CourseSummarySchema

bp = Blueprint("courses_api", __name__, description="Catalogue public des formations")


@bp.route("/courses")
@bp.response(200, CourseSummarySchema(many=True))
def list_courses():
    """Formations publiées."""
    return services.list_published_courses()


@bp.route("/courses/<slug>")
@bp.doc(parameters=[text_path_parameter("slug")])
@bp.response(200, CourseSchema)
@error_responses(bp, 404, described={404: "Formation inconnue ou non publiée"})
def get_course(slug: str):
    """Fiche complète d'une formation publiée (version en vigueur)."""
    return services.get_published_course(slug)
