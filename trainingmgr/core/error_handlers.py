"""Error answers: French HTML pages for people, the JSON error envelope for the API, for every refusal, HTTP
error and crash."""
from __future__ import annotations

import re

from flask import Flask, Response, make_response, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError, SecurityError

from ..extensions import db
from .errors import DomainError
from .formatting import count_fr
from .request_paths import loggable_path
from .responses import STATUS_MESSAGES, api_error, html_error, is_api_request

CSRF_MESSAGE = ("Le formulaire a expiré ou son jeton de sécurité est absent : rechargez la page et "
                "recommencez.")
UNTRUSTED_HOST_MESSAGE = "Requête invalide : cette adresse ne correspond pas au site (PUBLIC_URL).\n"

# marshmallow / webargs messages, translated for the API's users.
_MESSAGE_TRANSLATIONS = [
    (re.compile(r"^Missing data for required field\.$"), "Champ obligatoire."),
    (re.compile(r"^Field may not be null\.$"), "Ce champ ne peut pas être vide."),
    (re.compile(r"^Unknown field\.$"), "Champ inconnu."),
    (re.compile(r"^Not a valid integer\.$"), "Nombre entier attendu."),
    (re.compile(r"^Not a valid number\.$"), "Nombre attendu."),
    (re.compile(r"^Not a valid string\.$"), "Texte attendu."),
    (re.compile(r"^Not a valid boolean\.$"), "Booléen attendu (true ou false)."),
    (re.compile(r"^Not a valid date\.$"), "Date invalide (format AAAA-MM-JJ)."),
    (re.compile(r"^Not a valid datetime\.$"), "Date et heure invalides (ISO 8601)."),
    (re.compile(r"^Not a valid time\.$"), "Heure invalide (format HH:MM)."),
    (re.compile(r"^Not a valid list\.$"), "Liste attendue."),
    (re.compile(r"^Invalid input type\.$"), "Type de données invalide."),
    (re.compile(r"^Invalid value\.$"), "Valeur invalide."),
    (re.compile(r"^Special numeric values \(nan or infinity\) are not permitted\.$"), "Nombre attendu."),
    (re.compile(r"^Must be one of: (.*)\.$"), r"Valeur attendue parmi : \1."),
    (re.compile(r"^Must be greater than or equal to (\S+)\.$"), r"Doit être supérieur ou égal à \1."),
    (re.compile(r"^Must be less than or equal to (\S+)\.$"), r"Doit être inférieur ou égal à \1."),
    (re.compile(r"^Must be greater than or equal to (\S+) and less than or equal to (\S+)\.$"),
     r"Doit être compris entre \1 et \2."),
    (re.compile(r"^Shorter than minimum length (\d+)\.$"),
     lambda m: f"Doit comporter au moins {count_fr(int(m[1]), 'caractère')}."),
    (re.compile(r"^Longer than maximum length (\d+)\.$"), r"Ne doit pas dépasser \1 caractères."),
    (re.compile(r"^Length must be between (\d+) and (\d+)\.$"), r"Doit comporter entre \1 et \2 caractères."),
    (re.compile(r"^Invalid JSON body\.?$"), "Corps JSON invalide."),
    (re.compile(r"^Invalid input type\.?$"), "Type de données invalide."),
]


def translate_message(message: str) -> str:
    for pattern, replacement in _MESSAGE_TRANSLATIONS:
        if pattern.match(message):
            return pattern.sub(replacement, message)
    return message


def _flatten(messages, prefix: str = "") -> dict[str, list[str]]:
    """webargs' nested {"json": {"field": ["msg"]}} into {"field": ["msg"]}."""
    out: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if not prefix and key in ("json", "query", "form", "path", "headers", "files"):
                name = ""
            for field, msgs in _flatten(value, name).items():
                out.setdefault(field, []).extend(msgs)
    elif isinstance(messages, list):
        if all(isinstance(m, str) for m in messages):
            out.setdefault(prefix or "_schema", []).extend(translate_message(m) for m in messages)
        else:
            for value in messages:
                for field, msgs in _flatten(value, prefix).items():
                    out.setdefault(field, []).extend(msgs)
    elif isinstance(messages, str):
        out.setdefault(prefix or "_schema", []).append(translate_message(messages))
    return out


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain_error(error: DomainError):
        db.session.rollback()
        if is_api_request():
            return api_error(error.status_code, error.message, error.fields, error.code)
        return html_error(error.status_code, error.message)

    @app.errorhandler(CSRFError)
    def _csrf_error(error: CSRFError):
        if is_api_request():
            return api_error(400, CSRF_MESSAGE)
        return html_error(400, CSRF_MESSAGE)

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):
        status = error.code or 500
        if isinstance(error, SecurityError):  # a Host outside TRUSTED_HOSTS: no link can be built, so no page
            return Response(UNTRUSTED_HOST_MESSAGE, status=400, mimetype="text/plain")
        # A message given to fail() replaces the generic one; werkzeug's (English) descriptions never show.
        custom = getattr(error, "user_message", None) or _limit_message(error)
        if is_api_request():
            data = getattr(error, "data", None) or {}
            fields = _flatten(data.get("messages", {})) if data else {}
            message = data.get("message") or custom or STATUS_MESSAGES.get(status, ("", None))[1]
            if status == 422 and not (data.get("message") or custom):
                message = "Certaines données sont invalides."
            response = api_error(status, message, fields)
            for key, value in (data.get("headers") or {}).items():
                response.headers[key] = value
            if status == 401:
                response.headers["WWW-Authenticate"] = 'Bearer realm="trainingmgr"'
            return _with_error_headers(response, error)
        return _with_error_headers(make_response(html_error(status, custom)), error)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        if isinstance(error, HTTPException):  # pragma: no cover - handled above
            return _http_error(error)
        app.logger.exception("Unhandled error on %s %s", request.method, loggable_path())
        db.session.rollback()
        if app.testing and app.config.get("PROPAGATE_UNHANDLED", True):
            raise error
        if is_api_request():
            return api_error(500)
        return html_error(InternalServerError.code)


def _limit_message(error: HTTPException) -> str | None:
    """The French message a rate limit names (``error_message=`` of ``limiter.limit``), if any."""
    message = getattr(getattr(error, "limit", None), "error_message", None)
    return message if isinstance(message, str) else None


def _with_error_headers(response, error: HTTPException):
    """Keep the headers werkzeug's exception carries (``Allow`` on a 405, as RFC 9110 asks; ``Retry-After`` on a
    429) on the French page or JSON answer that replaces its own."""
    for name, value in error.get_headers():
        if name.lower() == "allow":  # in a stable order: werkzeug's follows its routing
            value = ", ".join(sorted(method.strip() for method in value.split(",")))
        if name.lower() != "content-type" and name not in response.headers:
            response.headers[name] = value
    return response
