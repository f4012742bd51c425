"""The security and cache headers of every answer, and the favicon that browsers ask for on their own."""
from __future__ import annotations

from flask import Flask, Response, request, send_from_directory

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
    def favicon():
        return send_from_directory(app.static_folder, "favicon.ico", mimetype="image/vnd.microsoft.icon",
                                   max_age=7 * 24 * 3600)

    app.add_url_rule("/favicon.ico", "favicon", favicon)
