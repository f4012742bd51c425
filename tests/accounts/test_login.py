import re
from datetime import timedelta

from sqlalchemy import select

from tests.helpers import PASSWORDS, login, page
from trainingmgr.accounts.models import PasswordResetToken, User
from trainingmgr.accounts.services import create_password_reset
from trainingmgr.core.timeutil import utcnow
from trainingmgr.extensions import db
from trainingmgr.messaging.models import OutboxMessage


def test_login_success_and_logout(client, users):
    response = client.post("/login", data={"email": "conseil@test.example", "password": PASSWORDS["conseil@test.example"]})
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    assert db.session.get(User, users["advisor"].id).last_login_at is not None
    response = client.post("/logout")
    assert response.status_code == 302
    assert client.get("/").status_code == 302  # back to the login page


def test_login_is_case_insensitive_on_email(client, users):
    response = client.post("/login", data={"email": "CONSEIL@Test.Example", "password": PASSWORDS["conseil@test.example"]})
    assert response.status_code == 302


def test_wrong_password_is_refused_in_french(client, users):
    response = client.post("/login", data={"email": "conseil@test.example", "password": "wrong-password"})
    assert response.status_code == 422
    assert "Adresse e-mail ou mot de passe incorrect." in page(response)
    assert client.get("/").status_code == 302


def test_unknown_email_gets_the_same_answer(client, users):
    response = client.post("/login", data={"email": "nobody@test.example", "password": "whatever-123"})
    assert response.status_code == 422
    assert "Adresse e-mail ou mot de passe incorrect." in page(response)


def test_empty_login_form(client, users):
    response = client.post("/login", data={"email": "", "password": ""})
    assert response.status_code == 422
    assert "Ce champ est requis" in page(response)


def test_inactive_account_cannot_log_in(client, users):
    users["advisor"].active = False
    db.session.commit()
    response = client.post("/login", data={"email": "conseil@test.example", "password": PASSWORDS["conseil@test.example"]})
    assert response.status_code == 422


def test_deactivated_account_loses_its_session(client, users):
    login(client, "conseil@test.example")
    users["advisor"].active = False
    db.session.commit()
    assert client.get("/").status_code == 302


def test_login_redirects_only_to_local_paths(client, users):
    creds = {"email": "conseil@test.example", "password": PASSWORDS["conseil@test.example"]}
    response = client.post("/login?next=/courses/", data=creds)
    assert response.headers["Location"].endswith("/courses/")
    client.post("/logout")
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        response = client.post(f"/login?next={target}", data=creds)
        assert "evil" not in response.headers["Location"]
        client.post("/logout")


def test_post_without_csrf_token_is_refused(client, users):
    response = client.post("/login", csrf=False,
                           data={"email": "conseil@test.example", "password": PASSWORDS["conseil@test.example"]})
    assert response.status_code == 400
    assert "jeton de sécurité" in page(response)
    login(client, "conseil@test.example")
    response = client.post("/logout", csrf=False)
    assert response.status_code == 400
    assert client.get("/").status_code == 200  # still logged in


def test_login_is_rate_limited(make_app):
    app = make_app(LOGIN_RATE_LIMIT="3 per minute")
    client = app.test_client()
    with app.app_context():
        for _ in range(3):
            response = client.post("/login", data={"email": "x@test.example", "password": "wrong-password"})
            assert response.status_code == 422
        response = client.post("/login", data={"email": "x@test.example", "password": "wrong-password"})
        assert response.status_code == 429
        assert "Trop de tentatives" in page(response)
        assert client.get("/login").status_code == 200  # only the attempts are limited


def test_session_cookie_flags(client, users):
    response = client.post("/login", data={"email": "conseil@test.example", "password": PASSWORDS["conseil@test.example"]})
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("session="))
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def _reset_link() -> str:
    """The link of the reset e-mail waiting in the outbox."""
    message = db.session.scalar(select(OutboxMessage).where(OutboxMessage.topic == "password_reset"))
    assert message.recipient == "conseil@test.example"
    assert message.subject == "Réinitialisation de votre mot de passe"
    return re.search(r"(/password/reset/\S+)", message.body_text).group(1)


def test_password_reset_flow_is_single_use(client, users):
    response = client.post("/password/forgot", data={"email": "conseil@test.example"})
    assert response.status_code == 302
    link = _reset_link()
    assert client.get(link).status_code == 200
    response = client.post(link, data={"password": "a-brand-new-password", "confirm": "a-brand-new-password"})
    assert response.status_code == 302
    # The link is spent.
    again = client.get(link)
    assert again.status_code == 410
    assert "invalide, expiré ou déjà utilisé" in page(again)
    assert client.post(link, data={"password": "another-password-9", "confirm": "another-password-9"}).status_code == 410
    # The new password works, the old one no longer does.
    assert client.post("/login", data={"email": "conseil@test.example", "password": PASSWORDS["conseil@test.example"]}).status_code == 422
    assert client.post("/login", data={"email": "conseil@test.example", "password": "a-brand-new-password"}).status_code == 302


def test_password_reset_link_expires(client, users):
    client.post("/password/forgot", data={"email": "conseil@test.example"})
    link = _reset_link()
    row = db.session.scalar(select(PasswordResetToken))
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert client.get(link).status_code == 410


def test_password_reset_for_unknown_email_says_the_same_and_creates_nothing(client, users):
    response = client.post("/password/forgot", data={"email": "nobody@test.example"}, follow_redirects=True)
    assert "Si un compte existe pour cette adresse" in page(response)
    assert db.session.scalar(select(PasswordResetToken)) is None
    assert db.session.scalar(select(OutboxMessage)) is None


def test_password_reset_refuses_short_or_mismatched_passwords(client, users):
    token = create_password_reset("conseil@test.example")
    db.session.commit()
    link = f"/password/reset/{token}"
    response = client.post(link, data={"password": "short", "confirm": "short"})
    assert response.status_code == 422
    response = client.post(link, data={"password": "long-enough-password", "confirm": "different-password"})
    assert response.status_code == 422
    assert "Les deux mots de passe diffèrent." in page(response)
    assert db.session.scalar(select(PasswordResetToken)).used_at is None


def test_tampered_reset_token_is_refused(client, users):
    token = create_password_reset("conseil@test.example")
    db.session.commit()
    assert client.get(f"/password/reset/{token[:-2]}xx").status_code == 410
