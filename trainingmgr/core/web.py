"""Error answers: French HTML pages for people, the JSON error envelope for the API."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask import Flask, Response, jsonify, make_response, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError, SecurityError
from werkzeug.routing import IntegerConverter

from .errors import DomainError
from ..ops.request_log import loggable_path
from .validation import MAX_ID

STATUS_MESSAGES = {
    400: ("Requête invalide", "La requête n'a pas pu être comprise."),
    401: ("Authentification requise", "Connectez-vous ou fournissez un jeton d'accès valide."),
    403: ("Accès refusé", "Vous n'avez pas accès à cette ressource."),
    404: ("Page introuvable", "La ressource demandée n'existe pas."),
    405: ("Méthode non autorisée", "Cette action n'est pas possible à cette adresse."),
    409: ("Conflit", "L'opération entre en conflit avec des données existantes."),
    410: ("Lien expiré", "Ce lien n'est plus valable."),
    413: ("Fichier trop volumineux", "Le fichier envoyé dépasse la taille autorisée (8 Mo)."),
    415: ("Format non pris en charge", "Envoyez les données au format JSON."),
    422: ("Données invalides", "Certaines données sont invalides."),
    429: ("Trop de tentatives", "Trop de requêtes en peu de temps : patientez une minute puis réessayez."),
    500: ("Erreur interne", "Une erreur inattendue s'est produite ; elle a été enregistrée."),
}
ERROR_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
    409: "conflict", 410: "gone", 413: "payload_too_large", 415: "unsupported_media_type",
    422: "validation_error", 429: "too_many_requests", 500: "internal_error",
}
CSRF_MESSAGE = ("Le formulaire a expiré ou son jeton de sécurité est absent : rechargez la page et "
                "recommencez.")

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
    (re.compile(r"^Shorter than minimum length (\d+)\.$"), r"Doit comporter au moins \1 caractère(s)."),
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


def is_api_request() -> bool:
    return request.path.startswith("/api/")


def api_error(status: int, message: str | None = None, fields: dict | None = None, code: str | None = None):
    body = {"error": {"code": code or ERROR_CODES.get(status, "error"),
                      "message": message or STATUS_MESSAGES.get(status, ("", "Erreur"))[1],
                      "fields": fields or {}}}
    response = jsonify(body)
    response.status_code = status
    return response


def html_error(status: int, message: str | None = None):
    title, default = STATUS_MESSAGES.get(status, ("Erreur", "Une erreur s'est produite."))
    return render_template("errors/error.html", status=status, title=title, message=message or default), status


def safe_next_url(target: str | None) -> str | None:
    """Only same-site relative paths are followed after login."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


UNTRUSTED_HOST_MESSAGE = "Requête invalide : cette adresse ne correspond pas au site (PUBLIC_URL).\n"
NUL_MESSAGE = "La requête contient un caractère nul, qui n'est pas accepté."


class IdConverter(IntegerConverter):
    """``<int:...>`` in URLs holds database ids: a number beyond MAX_ID becomes 0, which names no row, so
    the page answers 404 instead of sending an out-of-range integer to the database."""

    def to_python(self, value: str) -> int:
        number = super().to_python(value)
        return number if number <= MAX_ID else 0


def attachment(data: bytes | str, filename: str, mimetype: str, *, private: bool = True) -> Response:
    """A file to download, named safely; personal or financial files are never kept by a cache."""
    response = Response(data, mimetype=mimetype)
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", filename)
    response.headers["Content-Disposition"] = f'attachment; filename="{safe}"'
    if private:
        response.headers["Cache-Control"] = "private, no-store"
    return response


def fail(status: int, message: str):
    """Stop the request with ``status`` and a French ``message`` for the user (HTML page or API envelope)."""
    from werkzeug.exceptions import default_exceptions

    error = default_exceptions[status](description=message)
    error.user_message = message
    raise error


def _holds_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(_holds_nul(v) for v in value)
    return False


def reject_nul_characters():
    """No text field may hold a NUL character (PostgreSQL refuses them): answer 400 before any work."""
    if _holds_nul(request.path) or _holds_nul(list(request.args.items(multi=True))):
        fail(400, NUL_MESSAGE)
    if request.method in ("POST", "PUT", "PATCH"):
        if request.is_json:
            if _holds_nul(request.get_json(silent=True)):
                fail(400, NUL_MESSAGE)
        elif _holds_nul(list(request.form.items(multi=True))):
            fail(400, NUL_MESSAGE)


# Every page's scripts are files of /static (no inline <script>, no on…= attribute): templates/attendance/*.html read
# their settings from data- attributes. Inline styles stay allowed: style="white-space: pre-wrap"… attributes, and
# the <style> that pygal writes inside every chart (the survey results' SVG, inline in the page; without it the
# charts render as black boxes). Bootstrap's icons are data: SVG images in its CSS. Nothing may frame the pages
# (clickjacking of the signing and countersigning forms).
CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",  # frame-ancestors for older browsers
    "Referrer-Policy": "same-origin",  # personal links (/t/<token>, /emargement/<token>) never leak to other sites
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}


# Answers a cache may keep: the static files, the organisation's logo and the public catalogue (course sheets,
# calendar files): nothing personal.
CACHEABLE_ENDPOINTS = {"static", "bootstrap.static", "files.logo", "favicon"}
CACHEABLE_BLUEPRINTS = {"public"}


def add_security_headers(response: Response) -> Response:
    """The security headers on every answer (pages, files, errors, the API); a view may set its own first.
    Everything but CACHEABLE_ENDPOINTS is ``private, no-store``: staff files (CVs, conventions), signatures and
    every page showing personal data are kept by no cache, the browser's included."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    cacheable = request.endpoint in CACHEABLE_ENDPOINTS or request.blueprint in CACHEABLE_BLUEPRINTS
    if not cacheable and "no-store" not in response.headers.get("Cache-Control", ""):
        response.headers["Cache-Control"] = "private, no-store"
        response.headers.pop("Expires", None)
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response


def register_security_headers(app: Flask) -> None:
    app.after_request(add_security_headers)


def register_favicon(app: Flask) -> None:
    """/favicon.ico, which browsers ask for on their own (the pages link static/favicon.svg first): the same
    mortarboard as a 16/32/48 px icon, public and cacheable."""
    from flask import send_from_directory

    def favicon():
        return send_from_directory(app.static_folder, "favicon.ico", mimetype="image/vnd.microsoft.icon",
                                   max_age=7 * 24 * 3600)

    app.add_url_rule("/favicon.ico", "favicon", favicon)


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain_error(error: DomainError):
        from ..extensions import db

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
        from ..extensions import db

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


def run_form(form, action):
    """Validate ``form`` and run the service call ``action``; commit only if both accept the input.

    The service runs even when a field failed to parse, so that the user sees every problem at once
    (its messages are added to the fields WTForms did not already flag); its work is then rolled back.
    Returns ``(True, result)`` once committed, or ``(False, None)`` with the errors on the form.
    """
    from ..extensions import db

    if not form.is_submitted():
        return False, None
    parsed = form.validate()
    try:
        result = action()
    except DomainError as exc:
        db.session.rollback()
        form.apply_errors(exc, keep_existing=not parsed)
        return False, None
    if not parsed:
        db.session.rollback()
        return False, None
    db.session.commit()
    return True, result


def form_page(template: str, form, **context):
    """Render a page holding ``form``: 200, or the refusal's status (422, or 409 for a conflict)."""
    status = getattr(form, "error_status", 422) if form.errors else 200
    return render_template(template, form=form, **context), status


def external_url(endpoint: str, **values) -> str:
    """An absolute link for an e-mail, a document or an API answer: always built on PUBLIC_URL, never on the Host
    of the request (a forged Host would otherwise send a password-reset link to another site), and the same from
    the worker, which has no request."""
    from flask import current_app

    public = urlsplit(current_app.config["PUBLIC_URL"])
    adapter = current_app.url_map.bind(public.netloc, script_name=public.path or "/", url_scheme=public.scheme)
    current_app.inject_url_defaults(endpoint, values)
    return adapter.build(endpoint, values, force_external=True)
