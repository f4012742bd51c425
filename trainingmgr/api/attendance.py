"""Attendance of a session through the API (advisor token)."""
from __future__ import annotations

from flask import g
from flask_smorest import Blueprint
from marshmallow import fields, pre_dump, validate

from ..accounts.permissions import current_principal, staff_required
from ..attendance.chain import verify_chain
from ..attendance.services import CELL_LABELS, session_grid
from ..sessions.services import get_session
from .docs import STAFF_ONLY, error_responses
from .schemas import ModelSchema

bp = Blueprint("attendance_api", __name__, description="Émargement (conseiller formation)")

_HOURS = {"type": "string", "pattern": r"^\d+\.\d{2}$", "example": "3.50"}


def Hours(**kwargs):  # noqa: N802
    return fields.Decimal(as_string=True, places=2, metadata={**_HOURS, **kwargs.pop("metadata", {})}, **kwargs)


class AttendanceChainSchema(ModelSchema):
    """Dumps attendance.chain.verify_chain's answer."""

    status = fields.String(required=True, validate=validate.OneOf(["intact", "altered"]), metadata={
        "description": "« intact » : chaîne d'empreintes recalculée sans rupture, scellements (signature Ed25519 de "
                       "l'organisme, horodatage RFC 3161) vérifiés et présents là où ils sont dus"})
    label = fields.String(required=True, metadata={"example": "intègre"})
    length = fields.Integer(required=True, metadata={"description": "Nombre d'enregistrements"})
    broken_seq = fields.Integer(allow_none=True, required=True,
                                metadata={"description": "Numéro du premier enregistrement rompu"})
    problem = fields.String(required=True)
    sealed_length = fields.Integer(required=True, metadata={
        "description": "Les enregistrements n° 1 à sealed_length sont couverts par un scellement vérifié"})
    seals = fields.Integer(required=True, metadata={"description": "Nombre de scellements"})
    timestamped = fields.Integer(required=True, metadata={"description": "Scellements horodatés (RFC 3161)"})

    def get_seals(self, check) -> int:
        return len(check.seals)

    def get_timestamped(self, check) -> int:
        return sum(1 for view in check.seals if view.seal.tsa_token is not None)


class AttendanceSlotSchema(ModelSchema):
    """A slot, countersigned or not (in the grid of AttendanceSchema's dump)."""

    id = fields.Integer(required=True)
    date = fields.Date(required=True)
    start_time = fields.Time(required=True, format="%H:%M")
    end_time = fields.Time(required=True, format="%H:%M")
    hours = Hours(required=True)
    locked = fields.Boolean(required=True, metadata={"description": "Feuille signée par le formateur"})
    countersigned_at = fields.DateTime(allow_none=True, required=True)

    def get_locked(self, slot) -> bool:
        return slot.id in g.api_attendance_grid.countersignatures

    def get_countersigned_at(self, slot):
        countersignature = g.api_attendance_grid.countersignatures.get(slot.id)
        return countersignature.created_at if countersignature is not None else None


class AttendanceCellSchema(ModelSchema):
    """A cell of the grid (attendance.services.session_grid): a trainee in a slot."""

    slot_id = fields.Integer(required=True, attribute="slot.id")
    status = fields.String(required=True, validate=validate.OneOf(list(CELL_LABELS)),
                           metadata={"description": "signed, corrected, absent, missing, pending (émargement "
                                                    "ouvert) ou upcoming"})
    status_label = fields.String(required=True, attribute="label")
    signed_at = fields.DateTime(allow_none=True, required=True)
    method = fields.String(allow_none=True, required=True,
                           metadata={"enum": ["link", "qr", "kiosk", None], "description": "Moyen de signature"})
    mode = fields.String(allow_none=True, required=True, metadata={"enum": ["drawn", "typed", None]})
    arrived_at = fields.Time(allow_none=True, required=True, format="%H:%M")
    left_at = fields.Time(allow_none=True, required=True, format="%H:%M")
    justification = fields.String(required=True)
    hours = Hours(required=True)

    def get_method(self, cell) -> str | None:
        return cell.signature.method if cell.signature else None

    def get_mode(self, cell) -> str | None:
        return cell.signature.mode if cell.signature else None


class TraineeAttendanceSchema(ModelSchema):
    """A row of the grid: an enrolment and its cells."""

    enrolment_id = fields.Integer(required=True, attribute="enrolment.id")
    trainee_id = fields.Integer(required=True, attribute="enrolment.trainee_id")
    name = fields.String(required=True, attribute="enrolment.trainee.full_name")
    enrolment_status = fields.String(required=True, attribute="enrolment.status")
    hours = Hours(required=True, metadata={"description": "Heures de présence d'après la feuille"})
    slots = fields.List(fields.Nested(AttendanceCellSchema), required=True, attribute="cells")


class AttendanceSchema(ModelSchema):
    """Dumps a session: its attendance grid and the check of its evidence chain."""

    session_id = fields.Integer(required=True, attribute="id")
    chain = fields.Nested(AttendanceChainSchema, required=True)
    slots = fields.List(fields.Nested(AttendanceSlotSchema), required=True)
    trainees = fields.List(fields.Nested(TraineeAttendanceSchema), required=True)

    @pre_dump
    def _build_grid(self, session, **kwargs):
        g.api_attendance_grid = session_grid(session)
        return session

    def get_chain(self, session):
        return verify_chain(session.id)

    def get_slots(self, session) -> list:
        return g.api_attendance_grid.slots

    def get_trainees(self, session) -> list:
        return g.api_attendance_grid.rows


@bp.route("/sessions/<int:session_id>/attendance")
@bp.doc(**STAFF_ONLY)
@staff_required
@bp.response(200, AttendanceSchema)
@error_responses(bp, 401, 403, 404, described={404: "Session inconnue"})
def attendance(session_id: int):
    """La feuille d'émargement d'une session : par stagiaire et par demi-journée, l'état, l'heure et le moyen de
    signature, les heures de présence ; et l'intégrité de la chaîne d'empreintes."""
    return get_session(session_id, current_principal())
