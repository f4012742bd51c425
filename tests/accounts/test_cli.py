from sqlalchemy import select

from trainingmgr.accounts.models import ApiToken, User
from trainingmgr.accounts.services import authenticate
from trainingmgr.extensions import db


def test_user_create_reads_password_from_stdin(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["user", "create", "New@Test.Example", "--role", "advisor", "--password-stdin"],
                           input="a-long-password-42\n")
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.email == "new@test.example"))
    assert user.role == "advisor"
    assert user.password_hash != "a-long-password-42"
    assert authenticate("new@test.example", "a-long-password-42") is not None


def test_user_create_prompts_for_the_password(app):
    result = app.test_cli_runner().invoke(args=["user", "create", "p@test.example", "--role", "trainer"],
                                          input="prompted-password-1\nprompted-password-1\n")
    assert result.exit_code == 0, result.output
    assert authenticate("p@test.example", "prompted-password-1").role == "trainer"


def test_user_create_refuses_bad_input(app, users):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["user", "create", "conseil@test.example", "--role", "advisor", "--password-stdin"],
                           input="a-long-password-42\n")
    assert result.exit_code != 0
    assert "existe déjà" in result.output
    result = runner.invoke(args=["user", "create", "short@test.example", "--role", "advisor", "--password-stdin"],
                           input="short\n")
    assert result.exit_code != 0
    assert "au moins 10 caractères" in result.output
    result = runner.invoke(args=["user", "create", "not-an-email", "--role", "advisor", "--password-stdin"],
                           input="a-long-password-42\n")
    assert result.exit_code != 0
    assert "n'est pas valide" in result.output
    result = runner.invoke(args=["user", "create", "x@test.example", "--role", "boss", "--password-stdin"],
                           input="a-long-password-42\n")
    assert result.exit_code != 0
    assert db.session.scalar(select(User).where(User.email.in_(["short@test.example", "x@test.example"]))) is None


def test_token_create_prints_a_token_whose_hash_only_is_stored(app, users, client):
    result = app.test_cli_runner().invoke(args=["token", "create", "conseil@test.example"])
    assert result.exit_code == 0, result.output
    raw = result.output.strip().splitlines()[-1]
    assert raw.startswith("tm_")
    row = db.session.scalar(select(ApiToken))
    assert row.token_hash != raw and raw not in row.token_hash
    assert client.get("/api/v1/trainers", headers={"Authorization": f"Bearer {raw}"}).status_code == 200
    # Revoked tokens stop working.
    result = app.test_cli_runner().invoke(args=["token", "revoke", raw[:10]])
    assert result.exit_code == 0, result.output
    assert client.get("/api/v1/trainers", headers={"Authorization": f"Bearer {raw}"}).status_code == 401


def test_token_create_for_unknown_user(app):
    result = app.test_cli_runner().invoke(args=["token", "create", "ghost@test.example"])
    assert result.exit_code != 0
    assert "Aucun compte" in result.output


def test_user_create_without_a_terminal_asks_for_password_stdin(app):
    """The password prompt on a closed stdin (a script, ssh without -t) used to end in a bare "Aborted!"."""
    result = app.test_cli_runner().invoke(args=["user", "create", "p@test.example", "--role", "trainer"], input="")
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1] == (
        "Erreur : Aucun mot de passe lu : lancez la commande dans un terminal, ou donnez le mot de passe sur "
        "l'entrée standard avec --password-stdin.")
    assert "Aborted" not in result.output
    assert db.session.scalar(select(User).where(User.email == "p@test.example")) is None
