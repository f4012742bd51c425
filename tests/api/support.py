"""Helpers shared by the API tests (their fixtures are in tests/fixtures/api.py)."""
from __future__ import annotations

from sqlalchemy import func, select

from trainingmgr.extensions import db

API = "/api/v1"
CHORUS = "chorus-pro"
DUME = "marches-publics-dume-et-chorus-pro"
INVALID = "Certaines données sont invalides."  # answer to input the schema refuses
FIELDS_INVALID = "Certains champs sont invalides."  # answer to input a service rule refuses
NUL = "La requête contient un caractère nul, qui n'est pas accepté."  # 400 for a NUL anywhere in a request


def bearer(raw: str) -> dict:
    return {"Authorization": f"Bearer {raw}"}


def assert_error(response, status: int, code: str, message: str | None = None,
                 fields: dict | None = None) -> dict:
    """The JSON error envelope ``{"error": {"code", "message", "fields"}}``; returns its body."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert list(body) == ["error"]
    error = body["error"]
    assert set(error) == {"code", "message", "fields"}
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    if message is not None:
        assert error["message"] == message
    if fields is not None:
        assert error["fields"] == fields
    return error


def committed_count(model, *where) -> int:
    """Rows of ``model`` as another connection sees them: only what was committed counts."""
    with db.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def committed_value(column, *where):
    with db.engine.connect() as conn:
        return conn.execute(select(column).where(*where)).scalar_one()


def set_status(session, status: str) -> None:
    """Put a session in ``status`` directly, for tests about what each status shows."""
    session.status = status
    if status == "cancelled":
        session.cancel_reason = "Annulée pour le test"
    db.session.commit()
