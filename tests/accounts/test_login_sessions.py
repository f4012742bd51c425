"""Login sessions are checked on every request: a copy of a browser's cookies (session or remember-me) stops working
once that login ends, by logout, a password change or reset, a deactivation or "log out everywhere"."""
from __future__ import annotations

import re

from sqlalchemy import select

from tests.helpers import PASSWORDS, login, page
from trainingmgr.accounts.models import LoginSession, User
from trainingmgr.accounts.services import create_password_reset
from trainingmgr.extensions import db

ADVISOR = "conseil@test.example"


def _copy(app, source, names=("session", "remember_token")):
    """A second browser holding a copy of ``source``'s cookies, as a thief would."""
    thief = app.test_client()
    for name in names:
        cookie = source.get_cookie(name)
        if cookie is not None:
            thief.set_cookie(name, cookie.value, domain=cookie.domain, path=cookie.path)
    return thief


def _logged_in(client) -> bool:
    return client.get("/").status_code == 200


def _remember_login(client) -> None:
    response = client.post("/login", data={"email": ADVISOR, "password": PASSWORDS[ADVISOR], "remember": "y"})
    assert response.status_code == 302


def test_a_cookie_saved_before_logout_is_refused_after_it(app, client, users):
    login(client, ADVISOR)
    thief = _copy(app, client, names=("session",))
    assert _logged_in(thief)
    assert client.post("/logout").status_code == 302
    assert not _logged_in(client)
    assert not _logged_in(thief)
    assert thief.get("/").headers["Location"].startswith("/login")


def test_the_remember_me_token_differs_at_each_login_and_dies_at_logout(app, client, users):
    _remember_login(client)
    first = client.get_cookie("remember_token").value
    only_remember = _copy(app, client, names=("remember_token",))
    assert _logged_in(only_remember)  # the remember-me cookie alone opens a session
    client.post("/logout")
    assert not _logged_in(_copy(app, only_remember, names=("remember_token",)))
    _remember_login(client)
    assert client.get_cookie("remember_token").value != first


def test_logout_on_one_browser_leaves_the_others(app, users):
    laptop, phone = app.test_client(), app.test_client()
    login(laptop, ADVISOR)
    login(phone, ADVISOR)
    laptop.post("/logout")
    assert not _logged_in(laptop)
    assert _logged_in(phone)


def test_a_password_reset_ends_every_session_and_remember_me(app, client, users):
    _remember_login(client)
    saved = _copy(app, client)
    token = create_password_reset(ADVISOR)
    db.session.commit()
    visitor = app.test_client()
    response = visitor.post(f"/password/reset/{token}", data={"password": "a-brand-new-password",
                                                             "confirm": "a-brand-new-password"})
    assert response.status_code == 302
    assert not _logged_in(saved)
    assert not _logged_in(_copy(app, saved, names=("remember_token",)))
    assert not _logged_in(client)


def test_changing_ones_password_ends_the_other_sessions_but_not_this_one(app, users):
    desk, phone = app.test_client(), app.test_client()
    login(desk, ADVISOR)
    login(phone, ADVISOR)
    response = desk.post("/account", data={"current": PASSWORDS[ADVISOR], "password": "another-password-42",
                                           "confirm": "another-password-42"})
    assert response.status_code == 302
    assert "Mot de passe changé" in page(desk.get(response.headers["Location"]))
    assert _logged_in(desk)
    assert not _logged_in(phone)
    assert desk.post("/logout").status_code == 302
    assert desk.post("/login", data={"email": ADVISOR, "password": "another-password-42"}).status_code == 302


def test_a_wrong_current_password_changes_nothing(app, client, users):
    login(client, ADVISOR)
    before = db.session.get(User, users["advisor"].id).password_hash
    response = client.post("/account", data={"current": "not-my-password", "password": "another-password-42",
                                             "confirm": "another-password-42"})
    assert response.status_code == 422
    assert "Mot de passe actuel incorrect." in page(response)
    db.session.expire_all()
    assert db.session.get(User, users["advisor"].id).password_hash == before
    assert _logged_in(client)
    response = client.post("/account", data={"current": PASSWORDS[ADVISOR], "password": "court",
                                             "confirm": "court"})
    assert response.status_code == 422
    assert "entre 10 et 200 caractères" in page(response)


def test_deactivation_ends_every_session(app, client, users):
    admin = app.test_client()
    login(admin, "admin@test.example")
    _remember_login(client)
    saved = _copy(app, client)
    response = admin.post(f"/admin/users/{users['advisor'].id}", data={"name": "Camille Conseil", "role": "advisor"})
    assert response.status_code == 302
    assert not _logged_in(saved)
    live = db.session.scalars(select(LoginSession).where(LoginSession.user_id == users["advisor"].id,
                                                         LoginSession.ended_at.is_(None))).all()
    assert live == []
    # Reactivated, the account must log in again: the old cookies stay dead.
    admin.post(f"/admin/users/{users['advisor'].id}", data={"name": "Camille Conseil", "role": "advisor",
                                                           "active": "y"})
    assert not _logged_in(saved)


def test_log_out_everywhere(app, users):
    desk, phone = app.test_client(), app.test_client()
    login(desk, ADVISOR)
    _remember_login(phone)
    saved = _copy(app, phone)
    account = page(desk.get("/account"))
    assert "Cette session" in account
    assert len(re.findall(r"<tr>\s*<td>", account)) == 2  # two live sessions listed
    response = desk.post("/account/logout-everywhere")
    assert response.status_code == 302
    assert "déconnecté partout (2 sessions fermées)" in page(desk.get(response.headers["Location"]))
    for browser in (desk, phone, saved):
        assert not _logged_in(browser)


def test_the_account_page_needs_a_login_and_a_csrf_token(app, client, users):
    assert client.get("/account").status_code == 302
    login(client, ADVISOR)
    assert client.post("/account/logout-everywhere", csrf=False).status_code == 400
    assert _logged_in(client)


def test_a_forged_session_id_opens_nothing(app, client, users):
    login(client, ADVISOR)
    with client.session_transaction() as session:
        session["_user_id"] = str(users["admin"].id)  # the old form: a bare user id
    assert not _logged_in(client)
    with client.session_transaction() as session:
        session["_user_id"] = f"{users['admin'].id}:not-a-token"
    assert not _logged_in(client)


def test_a_login_session_expires_with_the_remember_me_cookie_and_old_rows_go(app, client, users):
    import datetime as dt

    from trainingmgr.core.timeutil import utcnow

    _remember_login(client)
    row = db.session.scalar(select(LoginSession).where(LoginSession.user_id == users["advisor"].id))
    row.created_at = utcnow() - app.config["REMEMBER_COOKIE_DURATION"] - dt.timedelta(seconds=1)
    db.session.commit()
    assert not _logged_in(client)
    assert not _logged_in(_copy(app, client, names=("remember_token",)))
    # Ended long ago: deleted at the next login (browser and address are personal data).
    row.ended_at = utcnow() - dt.timedelta(days=31)
    old_hash = row.token_hash
    db.session.commit()
    login(app.test_client(), ADVISOR)
    db.session.expire_all()
    rows = db.session.scalars(select(LoginSession).where(LoginSession.user_id == users["advisor"].id)).all()
    assert [(r.token_hash != old_hash, r.ended_at) for r in rows] == [(True, None)]
