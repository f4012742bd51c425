"""The answers a view sends besides a page: the French error page, the API's JSON error envelope, a refusal
(``fail``) and a file to download."""
from __future__ import annotations

import re

from flask import Response, jsonify, render_template, request
from werkzeug.exceptions import default_exceptions

API_PREFIX = "/api/"

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


def is_api_request() -> bool:
    return request.path.startswith(API_PREFIX)


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
    error = default_exceptions[status](description=message)
    error.user_message = message
    raise error
