"""Login limits per address and per account, with French messages; no e-mail address, reset token or link reaches
a log when a limit trips, nor through the development server's access log or an error's log line."""
from __future__ import annotations

import logging

from tests.helpers import PASSWORDS, page
from trainingmgr.accounts.services import create_password_reset
from trainingmgr.extensions import db

ADVISOR = "conseil@test.example"


def _attempt(client, ip: str, password: str = "wrong-password", email: str = ADVISOR):
    return client.post("/login", data={"email": email, "password": password}, environ_base={"REMOTE_ADDR": ip})


def test_failed_logins_are_limited_per_account_whatever_the_address(make_app, users):
    app = make_app(LOGIN_RATE_LIMIT="100 per minute", LOGIN_ACCOUNT_RATE_LIMIT="3 per minute")
    with app.app_context():
        client = app.test_client()
        assert [_attempt(client, f"198.51.100.{i}").status_code for i in range(3)] == [422] * 3
        refused = _attempt(client, "198.51.100.99", password=PASSWORDS[ADVISOR])  # even the right password
        assert refused.status_code == 429
        assert "Trop de tentatives de connexion pour ce compte" in page(refused)
        # Another account is not held back by this one.
        assert _attempt(client, "198.51.100.99", email="admin@test.example",
                        password=PASSWORDS["admin@test.example"]).status_code == 302


def test_successful_logins_do_not_count_against_the_account(make_app, users):
    app = make_app(LOGIN_RATE_LIMIT="100 per minute", LOGIN_ACCOUNT_RATE_LIMIT="2 per minute")
    with app.app_context():
        for i in range(4):
            client = app.test_client()
            assert _attempt(client, f"203.0.113.{i}", password=PASSWORDS[ADVISOR]).status_code == 302


def test_the_per_address_limit_still_holds(make_app, users):
    app = make_app(LOGIN_RATE_LIMIT="2 per minute", LOGIN_ACCOUNT_RATE_LIMIT="100 per minute")
    with app.app_context():
        client = app.test_client()
        statuses = [_attempt(client, "192.0.2.1", email=f"x{i}@test.example").status_code for i in range(3)]
        assert statuses == [422, 422, 429]
        assert _attempt(client, "192.0.2.2", email="y@test.example").status_code == 422


def test_tripping_the_login_and_reset_limits_logs_no_address_token_or_link(make_app, users, caplog):
    caplog.set_level(logging.DEBUG)
    app = make_app(LOGIN_RATE_LIMIT="1 per minute", LOGIN_ACCOUNT_RATE_LIMIT="1 per minute")
    with app.app_context():
        token = create_password_reset(ADVISOR)
        db.session.commit()
        client = app.test_client()
        assert [_attempt(client, "192.0.2.7").status_code for _ in range(2)][-1] == 429
        assert [client.post("/password/forgot", data={"email": ADVISOR}).status_code for _ in range(2)][-1] == 429
        assert [client.post(f"/password/reset/{token}", data={"password": "x"}).status_code
                for _ in range(2)][-1] == 429
    assert caplog.text.count("exceeded") >= 3
    for secret in (ADVISOR, token, token[:16]):
        assert secret not in caplog.text, secret


def test_the_development_server_log_masks_personal_links(caplog):
    from trainingmgr.ops.request_log import MaskTokens

    logger = logging.getLogger("werkzeug")
    assert any(isinstance(f, MaskTokens) for f in logger.filters)
    token = "IjEyMyI.ZXhhbXBsZXRva2VuMTIzNDU2Nzg5MA.abcdefghijklmnop"
    with caplog.at_level(logging.INFO, logger="werkzeug"):
        logger.info('127.0.0.1 - - [06/Dec/2026 10:00:00] "%s" %s %s', f"GET /emargement/{token} HTTP/1.1", 200, "-")
    assert token not in caplog.text
    assert '"GET /emargement/… HTTP/1.1" 200' in caplog.text


def test_an_unexpected_error_logs_the_route_not_the_token(make_app, caplog):
    app = make_app(PROPAGATE_UNHANDLED=False)

    @app.route("/_boom/<token>")
    def boom(token):
        raise RuntimeError("boom")

    token = "a-personal-token-that-must-stay-secret"
    with app.app_context(), caplog.at_level(logging.ERROR):
        assert app.test_client().get(f"/_boom/{token}").status_code == 500
    assert "Unhandled error on GET /_boom/<token>" in caplog.text
    assert token not in caplog.text
