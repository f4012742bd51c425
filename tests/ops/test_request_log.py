"""One structured log line per request (method, route, status, duration), never a personal link's token;
ProxyFix only when PROXY_FIX says how many proxies to trust."""
from __future__ import annotations

import logging
import re

import pytest
from werkzeug.middleware.proxy_fix import ProxyFix

SECRET = "eyJzZWNyZXQiOiJ0b2tlbi1kZS10ZXN0In0.c2lnbmF0dXJlLWRlLXRlc3Q"
LINE = re.compile(r"^method=(\S+) route=(\S+) status=(\d{3}) duration_ms=(\d+\.\d) endpoint=(\S+)$")


@pytest.fixture
def request_log(client, caplog):
    client.csrf_token()  # the test client reads it from /login: not a request of the test
    caplog.set_level(logging.INFO, logger="trainingmgr.request")
    caplog.clear()

    def lines() -> list[str]:
        return [r.getMessage() for r in caplog.records if r.name == "trainingmgr.request"]

    return lines


def test_one_line_per_request_with_method_route_status_and_duration(client, request_log):
    client.get("/login")
    client.post("/login", data={"email": "personne@test.example", "password": "mauvais"})
    lines = request_log()
    assert len(lines) == 2, lines
    get, post = (LINE.match(line) for line in lines)
    assert get and post, lines
    assert get.groups()[:3] == ("GET", "/login", "200")
    assert post.group(1) == "POST" and post.group(2) == "/login"
    assert post.group(3) in ("200", "422")
    assert float(get.group(4)) >= 0
    assert get.group(5) == "accounts.login"


@pytest.mark.parametrize("path, rule", [
    (f"/t/{SECRET}", "/t/<token>"),
    (f"/t/{SECRET}/positionnement", "/t/<token>/positionnement"),
    (f"/emargement/{SECRET}", "/emargement/<token>"),
    (f"/s/{SECRET}", "/s/<token>"),
    (f"/password/reset/{SECRET}", "/password/reset/<token>"),
])
def test_token_links_are_logged_as_their_route_never_with_the_token(client, request_log, path, rule):
    client.get(path + "?token=" + SECRET)
    lines = request_log()
    assert len(lines) == 1
    assert f" route={rule} " in lines[0]
    assert SECRET not in lines[0] and "?" not in lines[0]


def test_an_unmatched_path_is_logged_without_its_long_segments(client, request_log):
    response = client.get(f"/nulle-part/{SECRET}/fin?cle={SECRET}")
    assert response.status_code == 404
    (line,) = request_log()
    assert LINE.match(line)
    assert " route=/nulle-part/…/fin status=404 " in line
    assert SECRET not in line


def test_errors_are_logged_with_their_status(client, request_log):
    client.post("/login", data={"email": "x"}, csrf=False)  # refused: no CSRF token
    (line,) = request_log()
    match = LINE.match(line)
    assert match and match.group(3) == "400"


def test_proxy_headers_are_ignored_unless_proxy_fix_is_set(make_app):
    plain = make_app(PROXY_FIX=0)
    assert not isinstance(plain.wsgi_app, ProxyFix)
    behind = make_app(PROXY_FIX=1)
    assert isinstance(behind.wsgi_app, ProxyFix)

    for app in (plain, behind):
        @app.route("/_ops_test_remote")
        def remote():
            from flask import request

            return f"{request.remote_addr} {request.scheme} {request.host}"

    headers = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https",
               "X-Forwarded-Host": "formation.example.fr"}
    assert plain.test_client().get("/_ops_test_remote", headers=headers).get_data(as_text=True) \
        == "127.0.0.1 http localhost"
    # X-Forwarded-Host is never trusted (issue 15: a forged one poisoned the reset links); links use PUBLIC_URL.
    assert behind.test_client().get("/_ops_test_remote", headers=headers).get_data(as_text=True) \
        == "203.0.113.7 https localhost"
