"""What the OpenAPI document says about who may call an endpoint, how it may fail, and the rules of its input."""
from __future__ import annotations

import copy

from apispec import BasePlugin
from apispec.ext.marshmallow.common import resolve_schema_cls

from .schemas import NO_NUL

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
            description = described.get(code, ERROR_DESCRIPTIONS[code])
            view = bp.alt_response(code, schema="Error", description=description)(view)
        return view

    return decorator


class SchemaRulesPlugin(BasePlugin):
    """Rules between the fields of a body, which no field states alone (one of two fields, a field that another
    one makes required): a marshmallow schema lists them in its ``openapi_rules`` attribute (checked by its
    ``validates_schema`` method), and the document adds them to that schema."""

    def schema_helper(self, name, definition, schema=None, **kwargs):
        if schema is None:
            return None
        return copy.deepcopy(getattr(resolve_schema_cls(schema), "openapi_rules", None))


def null_only_branch(converter, field, ret, **kwargs) -> dict:
    """apispec documents a nested object that may be null as ``anyOf: [{"$ref": ...}, {"type": "object",
    "nullable": true}]``, whose second branch admits any object: it is made to admit null only."""
    for branch in ret.get("anyOf", ()):
        if branch == {"type": "object", "nullable": True}:
            branch["enum"] = [None]
    return {}


def text_path_parameter(name: str) -> dict:
    """A path parameter that is text (a slug): no NUL character there either."""
    return {"in": "path", "name": name, "required": True,
            "schema": {"type": "string", "minLength": 1, "pattern": NO_NUL}}
