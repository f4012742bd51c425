"""The JSON API under /api/v1, documented by the OpenAPI file generated from the code."""
from __future__ import annotations

from flask import Flask, g, request
from flask_smorest import Api as SmorestApi

from ..accounts.services import user_for_api_token
from ..core.responses import api_error, fail
from ..extensions import csrf
from .attendance import bp as attendance_bp
from .bpf import bp as bpf_bp
from .courses import bp as courses_bp
from .docs import SchemaRulesPlugin, null_only_branch
from .documents import bp as documents_bp
from .enrolments import bp as enrolments_bp
from .evaluations import bp as evaluations_bp
from .invoices import bp as invoices_bp
from .quotes import bp as quotes_bp
from .resources import bp as resources_bp
from .schemas import ErrorSchema
from .sessions import bp as sessions_bp


class Api(SmorestApi):
    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self):
        """Errors are answered by the application's handler, in the project's JSON envelope."""


def authenticate_request():
    """Read ``Authorization: Bearer <token>``; a wrong token is refused, no token means anonymous.

    Returns the 401 answer for a wrong header or token, ``None`` otherwise. The answer is built here
    rather than with ``abort(401, message=...)``: the application's HTTP error handler answers every 401
    with its generic message, and the caller would not learn that the token itself is refused."""
    g.api_user = None
    header = request.headers.get("Authorization", "")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return _unauthorized("En-tête Authorization invalide : utilisez « Bearer <jeton> ».")
    user = user_for_api_token(token.strip())
    if user is None:
        return _unauthorized("Jeton d'accès invalide ou révoqué.")
    g.api_user = user
    return None


def _unauthorized(message: str):
    response = api_error(401, message)
    response.headers["WWW-Authenticate"] = 'Bearer realm="trainingmgr"'
    return response


def init_api(app: Flask) -> Api:
    api = Api(app, spec_kwargs={"extra_plugins": [SchemaRulesPlugin()]})
    api.ma_plugin.converter.add_attribute_function(null_only_branch)
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    for bp in (courses_bp, sessions_bp, resources_bp, enrolments_bp, attendance_bp, evaluations_bp, bpf_bp,
               invoices_bp, documents_bp, quotes_bp):
        api.register_blueprint(bp, url_prefix="/api/v1")
        csrf.exempt(bp)
    app.before_request(_authenticate_api_calls)
    return api


def _authenticate_api_calls():
    if not request.path.startswith("/api/"):
        return None
    refused = authenticate_request()
    if refused is not None:
        return refused
    # Writes read JSON only; anonymous callers are refused (401) by the endpoint before their body matters.
    if g.api_user is not None and request.method in ("POST", "PUT", "PATCH") and request.content_length \
            and not request.is_json:
        fail(415, "Envoyez le corps de la requête en JSON (Content-Type: application/json).")
    return None
