"""Links: absolute ones for e-mails, documents and the API (on PUBLIC_URL), and the safe ``next`` after login."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app


def safe_next_url(target: str | None) -> str | None:
    """Only same-site relative paths are followed after login."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


def external_url(endpoint: str, **values) -> str:
    """An absolute link for an e-mail, a document or an API answer: always built on PUBLIC_URL, never on the Host
    of the request (a forged Host would otherwise send a password-reset link to another site), and the same from
    the worker, which has no request."""
    public = urlsplit(current_app.config["PUBLIC_URL"])
    adapter = current_app.url_map.bind(public.netloc, script_name=public.path or "/", url_scheme=public.scheme)
    current_app.inject_url_defaults(endpoint, values)
    return adapter.build(endpoint, values, force_external=True)
