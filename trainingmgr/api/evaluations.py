"""Survey and evaluation results of a session through the API (advisor token)."""
from __future__ import annotations

from flask import g
from flask_smorest import Blueprint
from marshmallow import Schema, fields, pre_dump

from ..accounts.permissions import current_principal, staff_required
from ..evaluations.kinds import SCALE_NOTES
from ..evaluations.models import ACQUIS_LEVELS, QUESTION_KINDS, QUESTIONNAIRE_KINDS
from ..evaluations.results.services import session_results
from ..sessions.services import get_session
from .docs import STAFF_ONLY, error_responses
from .schemas import ModelSchema

bp = Blueprint("evaluations_api", __name__, description="Résultats des enquêtes et évaluations (conseiller formation)")


def Percent(**kwargs):  # noqa: N802
    return fields.Decimal(as_string=True, places=1, allow_none=True, required=True,
                          metadata={"type": "string", "format": "decimal", "example": "80.0",
                                    "description": "Pourcentage, une décimale ; null sans dénominateur",
                                    **kwargs.pop("metadata", {})}, **kwargs)


def Average(**kwargs):  # noqa: N802
    return fields.Decimal(as_string=True, places=2, allow_none=True, required=True,
                          metadata={"type": "string", "format": "decimal", "example": "4.25",
                                    **kwargs.pop("metadata", {})}, **kwargs)


class NPSSchema(Schema):
    promoters = fields.Integer(required=True, metadata={"description": "Notes 9 et 10"})
    passives = fields.Integer(required=True, metadata={"description": "Notes 7 et 8"})
    detractors = fields.Integer(required=True, metadata={"description": "Notes 0 à 6"})
    total = fields.Integer(required=True)
    score = Percent(metadata={"description": "% de promoteurs − % de détracteurs (−100 à 100)", "example": "25.0"})


class SatisfactionSchema(Schema):
    answers = fields.Integer(required=True, metadata={"description": "Réponses aux questions notées de 1 à 5 de "
                                                                    "l'enquête à chaud"})
    satisfied = fields.Integer(required=True, metadata={"description": "Dont notes de 4 ou 5"})
    rate = Percent(metadata={"description": "Taux de satisfaction : part des notes de 4 ou 5"})
    average = Average(metadata={"description": "Moyenne de ces notes, sur 5"})


class ChoiceCountSchema(Schema):
    text = fields.String(required=True)
    count = fields.Integer(required=True)
    percent = Percent(metadata={"description": "Part des personnes ayant répondu à la question"})


class QuestionResultSchema(ModelSchema):
    kind = fields.String(required=True, metadata={"enum": list(QUESTION_KINDS)})
    text = fields.String(required=True)
    question_ids = fields.List(fields.Integer(), required=True)
    answers = fields.Integer(required=True, metadata={"description": "Nombre de réponses à la question"})
    average = Average(metadata={"description": "Échelle de 1 à 5 : moyenne"})
    distribution = fields.Dict(keys=fields.String(), values=fields.Integer(), allow_none=True, required=True,
                               metadata={"description": "Échelle : nombre de réponses par note, de « 1 » à « 5 »",
                                         "example": {"1": 0, "2": 1, "3": 1, "4": 1, "5": 1}})
    choices = fields.List(fields.Nested(ChoiceCountSchema), required=True,
                          metadata={"description": "Choix unique, multiple, oui / non : effectif par réponse"})
    nps = fields.Nested(NPSSchema, allow_none=True, required=True,
                        metadata={"description": "Question de recommandation notée de 0 à 10"})
    comments = fields.Integer(required=True, metadata={"description": "Texte libre : nombre de commentaires"})

    def get_distribution(self, question) -> dict | None:
        if question.distribution is None:
            return None
        return {str(note): question.distribution[note] for note in SCALE_NOTES}

    def get_comments(self, question) -> int:
        return len(question.comments)


class QuestionnaireResultSchema(ModelSchema):
    questionnaire_id = fields.Integer(required=True)
    kind = fields.String(required=True, metadata={"enum": list(QUESTIONNAIRE_KINDS)})
    kind_label = fields.String(required=True)
    title = fields.String(required=True)
    version = fields.Integer(required=True)
    anonymous = fields.Boolean(required=True)
    invitations = fields.Integer(required=True, metadata={"description": "Personnes sollicitées"})
    responded = fields.Integer(required=True, metadata={"description": "Dont ayant répondu"})
    response_rate = Percent()
    responses = fields.Integer(required=True, metadata={"description": "Réponses envoyées"})
    nps = fields.Nested(NPSSchema, allow_none=True, required=True)
    questions = fields.List(fields.Nested(QuestionResultSchema), required=True)

    def get_questionnaire_id(self, group) -> int:
        return group.questionnaire_ids[0]

    def get_version(self, group) -> int:
        return group.versions[0]


class AcquisResultSchema(ModelSchema):
    objective = fields.String(required=True)
    assessed = fields.Integer(required=True)
    acquired = fields.Integer(required=True)
    partial = fields.Integer(required=True)
    not_acquired = fields.Integer(required=True)
    acquired_rate = Percent()
    partial_rate = Percent()
    not_acquired_rate = Percent()

    def get_acquired_rate(self, result):
        return result.percents["acquired"]

    def get_partial_rate(self, result):
        return result.percents["partial"]

    def get_not_acquired_rate(self, result):
        return result.percents["not_acquired"]


class SessionEvaluationsSchema(ModelSchema):
    """Dumps a session: the results of its surveys (evaluations.results.services.session_results)."""

    session_id = fields.Integer(required=True, attribute="id")
    satisfaction = fields.Nested(SatisfactionSchema, required=True)
    questionnaires = fields.List(fields.Nested(QuestionnaireResultSchema), required=True)
    acquis = fields.List(fields.Nested(AcquisResultSchema), required=True,
                         metadata={"description": "Par objectif : " + ", ".join(ACQUIS_LEVELS.values())})

    @pre_dump
    def _compute_results(self, session, **kwargs):
        g.api_results = session_results(session)
        return session

    def get_satisfaction(self, session):
        return g.api_results.satisfaction

    def get_questionnaires(self, session) -> list:
        return g.api_results.questionnaires

    def get_acquis(self, session) -> list:
        return g.api_results.acquis


@bp.route("/sessions/<int:session_id>/evaluations")
@bp.doc(**STAFF_ONLY)
@staff_required
@bp.response(200, SessionEvaluationsSchema)
@error_responses(bp, 401, 403, 404, described={404: "Session inconnue"})
def session_evaluations(session_id: int):
    """Les résultats des enquêtes d'une session, par questionnaire : taux de réponse, et par question la moyenne
    et la répartition des notes (échelle de 1 à 5), l'effectif de chaque choix, le NPS ; le taux de satisfaction
    à chaud ; les acquis par objectif. Pourcentages et moyennes en chaînes (« 80.0 », « 4.25 »)."""
    return get_session(session_id, current_principal())
