"""Attendance of a session through the API (advisor token)."""
from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from ..accounts.permissions import current_principal, staff_required
from ..attendance.chain import verify_chain
from ..attendance.services import CELL_LABELS, session_grid
from ..sessions.services import get_session
from .docs import STAFF_ONLY, error_responses

bp = Blueprint("attendance_api", __name__, description="Émargement (conseiller formation)")

_HOURS = {"type": "string", "pattern": r"^\d+\.\d{2}$", "example": "3.50"}


def Hours(**kwargs):  # noqa: N802
    return fields.Decimal(as_string=True, places=2, metadata={**_HOURS, **kwargs.pop("metadata", {})}, **kwargs)


class AttendanceChainSchema(Schema):
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


class AttendanceSlotSchema(Schema):
    id = fields.Integer(required=True)
    date = fields.Date(required=True)
    start_time = fields.Time(required=True, format="%H:%M")
    end_time = fields.Time(required=True, format="%H:%M")
    hours = Hours(required=True)
    locked = fields.Boolean(required=True, metadata={"description": "Feuille signée par le formateur"})
    countersigned_at = fields.DateTime(allow_none=True, required=True)


class AttendanceCellSchema(Schema):
    slot_id = fields.Integer(required=True)
    status = fields.String(required=True, validate=validate.OneOf(list(CELL_LABELS)),
                           metadata={"description": "signed, corrected, absent, missing, pending (émargement "
                                                    "ouvert) ou upcoming"})
    status_label = fields.String(required=True)
    signed_at = fields.DateTime(allow_none=True, required=True)
    method = fields.String(allow_none=True, required=True,
                           metadata={"enum": ["link", "qr", "kiosk", None], "description": "Moyen de signature"})
    mode = fields.String(allow_none=True, required=True, metadata={"enum": ["drawn", "typed", None]})
    arrived_at = fields.Time(allow_none=True, required=True, format="%H:%M")
    left_at = fields.Time(allow_none=True, required=True, format="%H:%M")
    justification = fields.String(required=True)
    hours = Hours(required=True)


class TraineeAttendanceSchema(Schema):
    enrolment_id = fields.Integer(required=True)
    trainee_id = fields.Integer(required=True)
    name = fields.String(required=True)
    enrolment_status = fields.String(required=True)
    hours = Hours(required=True, metadata={"description": "Heures de présence d'après la feuille"})
    slots = fields.List(fields.Nested(AttendanceCellSchema), required=True)


class AttendanceSchema(Schema):
    session_id = fields.Integer(required=True)
    chain = fields.Nested(AttendanceChainSchema, required=True)
    slots = fields.List(fields.Nested(AttendanceSlotSchema), required=True)
    trainees = fields.List(fields.Nested(TraineeAttendanceSchema), required=True)


@bp.route("/sessions/<int:session_id>/attendance")
@bp.doc(**STAFF_ONLY)
@staff_required
@bp.response(200, AttendanceSchema)
@error_responses(bp, 401, 403, 404, described={404: "Session inconnue"})
def attendance(session_id: int):
    """La feuille d'émargement d'une session : par stagiaire et par demi-journée, l'état, l'heure et le moyen de
    signature, les heures de présence ; et l'intégrité de la chaîne d'empreintes."""
    session = get_session(session_id, current_principal())
    grid = session_grid(session)
    check = verify_chain(session.id)
    return {
        "session_id": session.id,
        "chain": {"status": check.status, "label": check.label, "length": check.length,
                  "broken_seq": check.broken_seq, "problem": check.problem, "sealed_length": check.sealed_length,
                  "seals": len(check.seals),
                  "timestamped": sum(1 for view in check.seals if view.seal.tsa_token is not None)},
        "slots": [{"id": slot.id, "date": slot.date, "start_time": slot.start_time, "end_time": slot.end_time,
                   "hours": slot.hours, "locked": slot.id in grid.countersignatures,
                   "countersigned_at": grid.countersignatures[slot.id].created_at
                   if slot.id in grid.countersignatures else None} for slot in grid.slots],
        "trainees": [{
            "enrolment_id": row.enrolment.id, "trainee_id": row.enrolment.trainee_id,
            "name": row.enrolment.trainee.full_name, "enrolment_status": row.enrolment.status,
            "hours": row.hours,
            "slots": [{"slot_id": cell.slot.id, "status": cell.status, "status_label": cell.label,
                       "signed_at": cell.signed_at,
                       "method": cell.signature.method if cell.signature else None,
                       "mode": cell.signature.mode if cell.signature else None,
                       "arrived_at": cell.arrived_at, "left_at": cell.left_at,
                       "justification": cell.justification, "hours": cell.hours} for cell in row.cells],
        } for row in grid.rows],
    }
