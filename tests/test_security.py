"""Web security: CSRF on every HTML POST, the cookies' flags, the security headers, no inline script."""
from __future__ import annotations

import os
import re

import pytest

from trainingmgr.config import from_environment, secure_cookies
from trainingmgr.core.error_handlers import CSRF_MESSAGE

from tests.helpers import exported, login, page

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _sample_url(rule) -> str:
    values = {}
    for arg in rule.arguments:
        converter = rule._converters[arg]
        name = type(converter).__name__
        if name == "AnyConverter":
            values[arg] = sorted(converter.items)[0] if hasattr(converter, "items") else "csv"
        elif "Integer" in name or name == "IdConverter":
            values[arg] = 1
        else:
            values[arg] = "x"
    return rule.build(values, append_unknown=False)[1]


def _html_post_rules(app):
    return [rule for rule in app.url_map.iter_rules()
            if "POST" in rule.methods and not rule.rule.startswith("/api/")]


# --------------------------------------------------------------------------- CSRF


def test_every_html_post_without_csrf_token_is_refused(app, client, users):
    """Anonymous and logged in (the advisor, the admin): every POST route of the pages answers 400 with the
    French message before its view runs."""
    rules = _html_post_rules(app)
    assert len(rules) > 50  # the walk really covers the application
    admin = app.test_client()
    login(admin, "admin@test.example")
    accepted = []
    for who, visitor in (("anonyme", client), ("admin", admin)):
        for rule in rules:
            url = _sample_url(rule)
            response = visitor.post(url, data={"name": "x", "email": "a@b.fr"}, csrf=False)
            if response.status_code != 400 or CSRF_MESSAGE not in page(response):
                accepted.append(f"{who} POST {url}: {response.status_code}")
    assert not accepted, "POST accepté sans jeton CSRF : " + ", ".join(accepted)


def test_a_wrong_csrf_token_is_refused_and_nothing_is_saved(app, client, users):
    from trainingmgr.companies.models import Company
    from trainingmgr.extensions import db

    login(client, "conseil@test.example")
    response = client.post("/companies/new", data={"name": "Société fantôme", "csrf_token": "faux"}, csrf=False)
    assert response.status_code == 400
    assert CSRF_MESSAGE in page(response)
    assert db.session.query(Company).filter_by(name="Société fantôme").count() == 0


def test_html_login_with_the_token_still_works(client, users):
    login(client, "conseil@test.example")
    assert client.get("/").status_code == 200


def test_the_api_is_exempt_from_csrf_and_authenticated_by_its_token(app, client, world):
    from trainingmgr.accounts.services import create_api_token
    from trainingmgr.extensions import db

    raw = create_api_token("conseil@test.example", name="csrf")[1]
    db.session.commit()
    response = client.post("/api/v1/sessions", json={}, headers={"Authorization": f"Bearer {raw}"})
    assert response.status_code == 422  # validated by its schema, not refused for the missing CSRF token
    # and a browser's session cookie never authenticates the API (hence no CSRF risk there)
    login(client, "conseil@test.example")
    assert client.post("/api/v1/sessions", json={}).status_code == 401


# --------------------------------------------------------------------------- cookies


def _set_cookies(response) -> dict[str, str]:
    return {header.split("=", 1)[0]: header for header in response.headers.getlist("Set-Cookie")}


def test_session_and_remember_cookies_are_httponly_and_samesite_lax(client, users):
    response = client.post("/login", data={"email": "conseil@test.example", "password": "advisor-password-1",
                                           "remember": "y"})
    assert response.status_code == 302
    cookies = _set_cookies(response)
    for name in ("session", "remember_token"):
        assert name in cookies, cookies
        assert "HttpOnly" in cookies[name]
        assert "SameSite=Lax" in cookies[name]
        assert "Secure" not in cookies[name]  # development and tests: served over http


def test_cookies_are_secure_when_configured(make_app, users):
    app = make_app(SESSION_COOKIE_SECURE=True, REMEMBER_COOKIE_SECURE=True, PREFERRED_URL_SCHEME="https")
    with app.app_context():
        client = app.test_client()
        page_ = client.get("/login", base_url="https://localhost").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page_).group(1)
        # over HTTPS Flask-WTF also checks the Referer: Referrer-Policy same-origin keeps sending it
        response = client.post("/login", base_url="https://localhost", csrf=False,
                               headers={"Referer": "https://localhost/login"},
                               data={"email": "conseil@test.example", "password": "advisor-password-1",
                                     "remember": "y", "csrf_token": token})
        assert response.status_code == 302, response.get_data(as_text=True)
        cookies = _set_cookies(response)
        for name in ("session", "remember_token"):
            assert "Secure" in cookies[name] and "HttpOnly" in cookies[name] and "SameSite=Lax" in cookies[name]
        assert response.headers["Strict-Transport-Security"].startswith("max-age=")


@pytest.mark.parametrize("env, secure", [
    ({}, False),  # make run: http://127.0.0.1:5000
    ({"PUBLIC_URL": "http://127.0.0.1:5000"}, False),
    ({"PUBLIC_URL": "https://formation.example.fr"}, True),
    ({"PUBLIC_URL": "HTTPS://formation.example.fr"}, True),
    ({"PUBLIC_URL": "https://formation.example.fr", "SESSION_COOKIE_SECURE": "false"}, False),
    ({"PUBLIC_URL": "https://formation.example.fr", "SESSION_COOKIE_SECURE": "0"}, False),
    ({"PUBLIC_URL": "http://intranet:8000", "SESSION_COOKIE_SECURE": "true"}, True),
    ({"SESSION_COOKIE_SECURE": "1"}, True),
])
def test_secure_cookies_follow_public_url_unless_told(env, secure):
    assert secure_cookies(env) is secure


def test_environment_sets_both_cookies_secure(monkeypatch, tmp_path):
    monkeypatch.delenv("SESSION_COOKIE_SECURE", raising=False)
    monkeypatch.setenv("PUBLIC_URL", "https://formation.example.fr")
    monkeypatch.setenv("SECRET_KEY", "x")
    config = from_environment(str(tmp_path))
    assert config["SESSION_COOKIE_SECURE"] is True and config["REMEMBER_COOKIE_SECURE"] is True
    monkeypatch.setenv("PUBLIC_URL", "http://127.0.0.1:5000")
    config = from_environment(str(tmp_path))
    assert config["SESSION_COOKIE_SECURE"] is False and config["REMEMBER_COOKIE_SECURE"] is False


# --------------------------------------------------------------------------- headers


def _assert_security_headers(response, where: str) -> None:
    csp = response.headers.get("Content-Security-Policy", "")
    directives = {d.split()[0]: d.split()[1:] for d in csp.split(";") if d.strip()}
    assert directives.get("script-src") == ["'self'"], (where, csp)
    assert directives.get("default-src") == ["'self'"], (where, csp)
    assert directives.get("frame-ancestors") == ["'none'"], (where, csp)
    assert directives.get("object-src") == ["'none'"], (where, csp)
    assert "'unsafe-inline'" not in directives.get("script-src", []), (where, csp)
    assert "'unsafe-eval'" not in csp, where
    assert response.headers.get("X-Content-Type-Options") == "nosniff", where
    assert response.headers.get("Referrer-Policy") == "same-origin", where
    assert response.headers.get("X-Frame-Options") == "DENY", where
    assert "Strict-Transport-Security" not in response.headers, where  # over http


def test_security_headers_on_every_kind_of_answer(app, client, world):
    login(client, "conseil@test.example")
    answers = {
        "page": client.get("/"),
        "public page": client.get("/catalogue/"),
        "form refused": client.post("/companies/new", data={"name": ""}),
        "not found": client.get("/sessions/999999"),
        "csrf refusal": client.post("/companies/new", data={}, csrf=False),
        "static file": client.get("/static/js/signature-pad.js"),
        "bootstrap file": client.get("/bootstrap/static/css/bootstrap.min.css"),
        "download": exported(client, "/billing/journal.csv"),
        "api": client.get("/api/v1/courses"),
        "api error": client.get("/api/v1/trainers"),
        "redirect": app.test_client().get("/"),
    }
    assert answers["form refused"].status_code == 422
    assert answers["not found"].status_code == 404
    assert answers["csrf refusal"].status_code == 400
    assert answers["api error"].status_code == 401
    assert answers["redirect"].status_code == 302
    for where, response in answers.items():
        assert response.status_code < 500, where
        _assert_security_headers(response, where)


def test_static_scripts_are_served_as_javascript(client):
    for name in ("js/signature-pad.js", "js/qr-refresh.js"):
        response = client.get(f"/static/{name}")
        assert response.status_code == 200
        assert response.mimetype in ("text/javascript", "application/javascript")


# --------------------------------------------------------------------------- no inline script anywhere

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
EVENT_ATTRIBUTE = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.IGNORECASE)
JS_URL = re.compile(r"""(href|src|action)\s*=\s*["']?\s*javascript:""", re.IGNORECASE)


def test_templates_hold_no_inline_script():
    """The CSP forbids them: a <script> without src, an onclick=… or a javascript: link would silently not run."""
    found = []
    for folder, _dirs, files in os.walk(os.path.join(ROOT, "templates")):
        if os.sep + "mail" in folder:
            continue  # e-mails are not pages of the site
        for name in files:
            path = os.path.join(folder, name)
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
            for pattern in (INLINE_SCRIPT, EVENT_ATTRIBUTE, JS_URL):
                for match in pattern.finditer(text):
                    found.append(f"{os.path.relpath(path, ROOT)}: {match.group(0)[:60]}")
    assert not found, "\n".join(found)


def test_rendered_pages_hold_no_inline_script(app, client, world):
    """What Bootstrap-Flask's macros add as well (load_css, load_js, forms)."""
    anonymous = app.test_client()
    login(client, "conseil@test.example")
    for response in (anonymous.get("/login"), anonymous.get("/catalogue/"), anonymous.get("/reclamation"),
                     client.get("/"), client.get("/sessions/new"), client.get("/companies/new")):
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        assert "<script" in html  # bootstrap's bundle, as a file
        assert not INLINE_SCRIPT.search(html), INLINE_SCRIPT.search(html).group(0)
        assert not EVENT_ATTRIBUTE.search(html)


def test_signing_pages_load_their_scripts_from_static(app):
    for template, script in (("attendance/_pad.html", "js/signature-pad.js"),
                             ("attendance/qr.html", "js/qr-refresh.js")):
        with open(os.path.join(ROOT, "templates", template), encoding="utf-8") as handle:
            text = handle.read()
        assert f"filename='{script}'" in text
        assert os.path.exists(os.path.join(ROOT, "static", script))
