"""The yearly BPF (cerfa 10443) through the API (advisor token): the same figures as the BPF page."""
from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields

from ..accounts.permissions import staff_required
from ..billing.bpf.services import compute_bpf
from .docs import STAFF_ONLY, error_responses
from .schemas import Hours, ModelSchema, Money

bp = Blueprint("bpf_api", __name__, description="Bilan pédagogique et financier (conseiller formation)")


class InfoFieldSchema(Schema):
    label = fields.String(required=True)
    value = fields.String(required=True, metadata={"description": "Vide : à compléter"})


class AmountLineSchema(Schema):
    code = fields.String(required=True, metadata={"example": "2h"})
    label = fields.String(required=True)
    amount = Money(required=True, allow_none=True)  # euros excl. VAT; null: not filled in (section D)


class TrainerLineSchema(Schema):
    code = fields.String(required=True, metadata={"enum": ["internal", "external", "total"]})
    label = fields.String(required=True)
    trainers = fields.Integer(required=True)
    hours = Hours(required=True)


class TraineeLineSchema(Schema):
    code = fields.String(required=True, metadata={"example": "a"})
    label = fields.String(required=True)
    trainees = fields.Integer(required=True)
    hours = Hours(required=True)  # hours-trainee actually attended


class CheckSchema(Schema):
    label = fields.String(required=True)
    ok = fields.Boolean(required=True)
    detail = fields.String(required=True)


class ManagerSchema(Schema):
    """Dumps the ``Bpf`` itself: its manager_* attributes."""

    name = fields.String(required=True, attribute="manager_name")
    title = fields.String(required=True, attribute="manager_title")
    from_organisation = fields.Boolean(required=True, attribute="manager_from_organisation",
                                       metadata={"description": "Repris du signataire de l'organisme"})


class BpfSchema(ModelSchema):
    """Dumps billing.bpf.services.Bpf."""

    year = fields.Integer(required=True)
    period_start = fields.Date(required=True)
    period_end = fields.Date(required=True)
    identification = fields.List(fields.Nested(InfoFieldSchema), required=True, metadata={"description": "Cadre A"})
    distance_training = fields.Boolean(required=True, metadata={
        "description": "Cadre B : vrai quand une demi-journée des sessions de l'année est en classe virtuelle ou "
                       "en activité asynchrone, ou quand l'organisme l'a déclaré (distance_declared)"})
    remote_half_days = fields.Integer(required=True, metadata={
        "description": "Demi-journées à distance (classe virtuelle, activité asynchrone) des sessions de l'année"})
    distance_declared = fields.Boolean(required=True, metadata={
        "description": "Formation à distance déclarée par l'organisme en plus des demi-journées"})
    distance_basis = fields.String(required=True, metadata={
        "example": "calculé d'après les demi-journées (3 à distance)"})
    products = fields.List(fields.Nested(AmountLineSchema), required=True,
                           metadata={"description": "Cadre C : lignes 1, 2a à 2h, 2, 3 à 11, puis le total"})
    products_total = Money(required=True)
    total_turnover = Money(required=True, allow_none=True, attribute="turnover")
    turnover_share = fields.Decimal(as_string=True, places=1, required=True, allow_none=True,
                                    metadata={"type": "string", "format": "decimal", "example": "50.0",
                                              "description": "Part des produits de la formation dans le chiffre "
                                                             "d'affaires, en %"})
    charges = fields.List(fields.Nested(AmountLineSchema), required=True, metadata={"description": "Cadre D"})
    trainers = fields.List(fields.Nested(TrainerLineSchema), required=True, metadata={"description": "Cadre E"})
    trainees_by_type = fields.List(fields.Nested(TraineeLineSchema), required=True, attribute="by_type",
                                   metadata={"description": "Cadre F-1, puis le total"})
    subcontracted = fields.Nested(TraineeLineSchema, required=True, metadata={"description": "Cadre F-2"})
    trainees_by_objective = fields.List(fields.Nested(TraineeLineSchema), required=True, attribute="by_objective",
                                        metadata={"description": "Cadre F-3 (a1 à a6 : « dont » de la ligne a), "
                                                                 "puis le total"})
    trainees_by_specialty = fields.List(fields.Nested(TraineeLineSchema), required=True, attribute="by_specialty",
                                        metadata={"description": "Cadre F-4 : les cinq groupes NSF aux heures les "
                                                                 "plus nombreuses, « autres », puis le total"})
    entrusted = fields.Nested(TraineeLineSchema, required=True, metadata={"description": "Cadre G"})
    manager = fields.Nested(ManagerSchema, required=True, metadata={"description": "Cadre H"})
    checks = fields.List(fields.Nested(CheckSchema), required=True)
    checks_ok = fields.Boolean(required=True)
    warnings = fields.List(fields.String(), required=True)

    def get_manager(self, bpf):
        return bpf


@bp.route("/bpf/<int:year>")
@bp.doc(**STAFF_ONLY, parameters=[{"in": "path", "name": "year", "required": True,
                                   "schema": {"type": "integer", "minimum": 2000, "maximum": 2100}}])
@staff_required
@bp.response(200, BpfSchema)
@error_responses(bp, 401, 403, 404, described={404: "Année hors de 2000 à 2100"})
def bpf(year: int):
    """Le bilan pédagogique et financier d'une année civile (cerfa 10443), calculé à partir des données : produits
    par origine (C, factures émises moins avoirs), charges (D), formateurs (E), stagiaires et heures-stagiaires
    par type (F-1), objectif (F-3) et spécialité NSF (F-4), dirigeant (H), et les contrôles du formulaire.
    Montants et heures en chaînes (« 1234.50 »)."""
    return compute_bpf(year)
