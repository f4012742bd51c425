from sqlalchemy import select

from tests.helpers import login, page
from trainingmgr.accounts.models import User
from trainingmgr.extensions import db


def test_only_admins_manage_accounts(client, users):
    login(client, "conseil@test.example")
    assert client.get("/admin/users").status_code == 403
    assert client.post("/admin/users/new", data={"email": "x@test.example", "role": "admin",
                                                 "password": "long-password-1"}).status_code == 403
    assert db.session.scalar(select(User).where(User.email == "x@test.example")) is None


def test_admin_creates_and_edits_an_account(client, users):
    login(client, "admin@test.example")
    response = client.post("/admin/users/new", data={"email": "new@test.example", "name": "Nouveau",
                                                     "role": "trainer", "password": "long-password-1"})
    assert response.status_code == 302
    user = db.session.scalar(select(User).where(User.email == "new@test.example"))
    assert user.role == "trainer"
    response = client.post(f"/admin/users/{user.id}", data={"name": "Renommé", "role": "advisor", "active": "y"})
    assert response.status_code == 302
    db.session.refresh(user)
    assert (user.name, user.role, user.active) == ("Renommé", "advisor", True)


def test_account_form_bad_input(client, users):
    login(client, "admin@test.example")
    response = client.post("/admin/users/new", data={"email": "conseil@test.example", "role": "advisor",
                                                     "password": "long-password-1"})
    assert response.status_code == 409  # a conflict, not a validation error
    assert "Un compte existe déjà" in page(response)
    response = client.post("/admin/users/new", data={"email": "bad", "role": "advisor", "password": "long-password-1"})
    assert response.status_code == 422
    assert "n'est pas valide" in page(response)
    response = client.post("/admin/users/new", data={"email": "ok@test.example", "role": "king",
                                                     "password": "long-password-1"})
    assert response.status_code == 422
    assert db.session.scalar(select(User).where(User.email.in_(["bad", "ok@test.example"]))) is None


def test_admin_cannot_lock_themselves_out(client, users):
    login(client, "admin@test.example")
    admin = users["admin"]
    response = client.post(f"/admin/users/{admin.id}", data={"name": "A", "role": "advisor", "active": "y"})
    assert response.status_code == 422
    db.session.refresh(admin)
    assert admin.role == "admin"


def test_unknown_account_is_a_french_404(client, users):
    login(client, "admin@test.example")
    response = client.get("/admin/users/9999")
    assert response.status_code == 404
    assert "Page introuvable" in page(response)
