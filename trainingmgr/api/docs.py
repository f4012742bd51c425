"""What the OpenAPI document says about who may call an endpoint and how it may fail."""
from __future__ import annotations

STAFF_ONLY = {"security": [{"bearerAuth": []}]}
OPTIONAL_AUTH = {"security": [{}, {"bearerAuth": []}]}

ERROR_DESCRIPTIONS = {
    401: "Jeton absent ou invalide",
    403: "Réservé au conseiller formation",
    404: "Ressource inconnue",
    409: "Conflit avec des données existantes",
    415: "Corps de requête autre que JSON",
    422: "Données invalides ou règle non respectée",
}


def error_responses(bp, *codes: int, described: dict[int, str] | None = None):
    """Document the error answers ``codes`` of an endpoint (all in the error envelope)."""
    described = described or {}

    def decorator(view):
        for code in codes:
            view = bp.alt_response(code, schema="Error", description=described.get(code, ERROR_DESCRIPTIONS[code]))(view)
        return view

    return decorator
