"""Every link in an e-mail, a document or an API answer starts with the configured public address, never with the
Host of the request: a forged Host (or X-Forwarded-Host behind a proxy) cannot send a reset link elsewhere."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from trainingmgr.config import ConfigurationError, finalise, from_environment
from trainingmgr.extensions import db
from trainingmgr.messaging.models import OutboxMessage

ADVISOR = "conseil@test.example"
SECRET = "s" * 40


def _forgot(client, headers):
    """The attacker's request: the form fetched and posted with the forged headers (its CSRF token with it)."""
    form = client.get("/password/forgot", headers=headers).get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form).group(1)
    return client.post("/password/forgot", data={"email": ADVISOR, "csrf_token": token}, headers=headers,
                       csrf=False)


def _reset_mail() -> str:
    message = db.session.scalar(select(OutboxMessage).where(OutboxMessage.topic == "password_reset"))
    return message.body_text


@pytest.mark.parametrize("headers", [
    {"Host": "evil.example"},
    {"X-Forwarded-Host": "evil.example"},
])
def test_a_forged_host_does_not_reach_the_reset_link(make_app, users, headers):
    # PROXY_FIX: the README's setting behind nginx, where X-Forwarded-Host would otherwise be believed.
    app = make_app(PROXY_FIX=1)
    with app.app_context():
        client = app.test_client()
        response = _forgot(client, headers)
        assert response.status_code == 302
        body = _reset_mail()
        assert "evil" not in body
        assert re.search(r"http://localhost/password/reset/\S+", body)


def test_links_follow_the_public_address_with_its_path(make_app, users):
    app = make_app(PUBLIC_URL="https://formation.example.fr/gestion/")
    with app.app_context():
        assert _forgot(app.test_client(), {"Host": "evil.example"}).status_code == 302
        assert re.search(r"https://formation\.example\.fr/gestion/password/reset/\S+", _reset_mail())


def test_production_trusts_only_the_public_host(make_app, users):
    app = make_app(APP_ENV="production", SECRET_KEY=SECRET, PUBLIC_URL="https://formation.example.fr")
    assert app.config["TRUSTED_HOSTS"] == ["formation.example.fr"]
    with app.app_context():
        client = app.test_client()
        refused = client.get("/login", headers={"Host": "evil.example"})
        assert refused.status_code == 400
        assert "Requête invalide" in refused.get_data(as_text=True)
        assert client.get("/login", headers={"Host": "formation.example.fr"}).status_code == 200


def _config(monkeypatch, tmp_path, **env) -> dict:
    for name in ("PUBLIC_URL", "SECRET_KEY", "APP_ENV", "RUN_HOST", "RUN_PORT", "DATABASE_URL", "TRUSTED_HOSTS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    config = from_environment(str(tmp_path))
    finalise(config)
    return config


def test_without_a_public_address_links_name_the_served_port(monkeypatch, tmp_path):
    # make run exports RUN_HOST and RUN_PORT: PORT=5101 make run gives links to 5101.
    assert _config(monkeypatch, tmp_path)["PUBLIC_URL"] == "http://127.0.0.1:5000"
    assert _config(monkeypatch, tmp_path, RUN_PORT="5101")["PUBLIC_URL"] == "http://127.0.0.1:5101"


def test_production_refuses_to_start_without_a_public_address(monkeypatch, tmp_path):
    with pytest.raises(ConfigurationError, match="PUBLIC_URL est obligatoire en production"):
        _config(monkeypatch, tmp_path, APP_ENV="production", SECRET_KEY=SECRET)
    config = _config(monkeypatch, tmp_path, APP_ENV="production", SECRET_KEY=SECRET,
                     PUBLIC_URL="https://formation.example.fr/", TRUSTED_HOSTS="intranet, formation.local")
    assert config["PUBLIC_URL"] == "https://formation.example.fr"
    assert config["TRUSTED_HOSTS"] == ["formation.example.fr", "intranet", "formation.local"]


@pytest.mark.parametrize("url", ["formation.example.fr", "ftp://formation.example.fr", "https://", "https://x/?a=1"])
def test_a_malformed_public_address_is_refused_in_french(monkeypatch, tmp_path, url):
    with pytest.raises(ConfigurationError, match="PUBLIC_URL invalide"):
        _config(monkeypatch, tmp_path, PUBLIC_URL=url)


def test_no_link_is_built_from_the_request():
    """The one way to build an absolute link is core.links.external_url (on PUBLIC_URL)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    built_on_request = re.compile(r"(?<![A-Za-z])_external=True|request\.host_url|request\.url_root|request\.host\b")
    offenders = [str(path.relative_to(root)) for folder in ("trainingmgr", "templates")
                 for path in (root / folder).rglob("*") if path.suffix in (".py", ".html", ".txt")
                 and built_on_request.search(path.read_text(encoding="utf-8"))]
    assert offenders == []
