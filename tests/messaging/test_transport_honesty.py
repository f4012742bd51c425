"""Nothing says « envoyé » for an e-mail that only went to the console: the outbox records how each message left
(smtp or console), its pages show console ones as « Écrit dans la console (non envoyé) » under a banner while
MAIL_BACKEND=console, and production refuses to start without a mail server unless MAIL_BACKEND=console is
written out, in which case it says loudly that no e-mail leaves."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from trainingmgr import create_app
from trainingmgr.config import from_environment, mail_problems
from trainingmgr.extensions import db
from trainingmgr.messaging import delivery
from trainingmgr.messaging.models import OutboxMessage
from trainingmgr.messaging.services import send_due_messages
from trainingmgr.ops.readiness import check_or_exit

from tests.helpers import page, seal_key_dir

ROOT = Path(__file__).resolve().parents[2]
SECRET = "k" * 40
BANNER = "Les e-mails ne partent pas."


def fresh(message_id: int) -> OutboxMessage:
    db.session.expire_all()
    return db.session.get(OutboxMessage, message_id)


# --------------------------------------------------------------------------- the transport recorded


def test_the_console_backend_records_console_and_the_pages_never_say_sent(app, queue, staff_client):
    message = queue("alice@test.example", "Convocation", topic="convocation")
    assert send_due_messages() == (1, 0)
    message = fresh(message.id)
    assert (message.status, message.transport) == ("sent", "console")
    advisor = staff_client()
    listing = page(advisor.get("/admin/outbox/"))
    assert "Écrit dans la console (non envoyé)" in listing and 'data-delivery="console"' in listing
    assert 'data-delivery="sent"' not in listing and ">Envoyé<" not in listing
    assert BANNER in listing and "MAIL_SERVER" in listing
    detail = page(advisor.get(f"/admin/outbox/{message.id}"))
    assert "Écrit dans la console le" in detail and "le destinataire ne l'a pas reçu" in detail
    assert "Envoyé le" not in detail and BANNER in detail
    assert BANNER in page(advisor.get("/admin/outbox/jobs"))


def test_smtp_records_smtp_and_shows_sent_without_banner(app, queue, run_in, smtp_app, smtp_server, users):
    message = queue("bob@test.example", "Bonjour")
    assert run_in(send_due_messages) == (1, 0)
    assert fresh(message.id).transport == "smtp" and len(smtp_server.envelopes) == 1
    client = smtp_app.test_client()
    with smtp_app.app_context():
        from tests.helpers import login

        login(client, "conseil@test.example")
        listing = page(client.get("/admin/outbox/"))
        detail = page(client.get(f"/admin/outbox/{message.id}"))
        db.session.remove()
    assert 'data-delivery="sent"' in listing and BANNER not in listing
    assert "Envoyé le" in detail and "console" not in detail.split("<main")[-1].split("Texte")[0]


def test_a_message_older_than_the_transport_record_stays_sent(app, queue, staff_client):
    message = queue("old@test.example", "Ancien")
    message.status, message.transport = "sent", ""
    message.sent_at = message.created_at
    db.session.commit()
    assert delivery.delivery(message).code == "sent"
    assert 'data-delivery="sent"' in page(staff_client().get("/admin/outbox/"))


# --------------------------------------------------------------------------- sending a console message for real


def test_a_console_message_cannot_be_resent_while_mail_is_off(app, queue, staff_client):
    message = queue("alice@test.example", "Bonjour")
    send_due_messages()
    advisor = staff_client()
    assert "Envoyer pour de bon" not in page(advisor.get(f"/admin/outbox/{message.id}"))
    response = advisor.post(f"/admin/outbox/{message.id}/retry")
    assert response.status_code == 409
    assert "Ce message a déjà été écrit dans la console le" in page(response)


def test_once_a_mail_server_is_set_a_console_message_can_leave_for_real(app, queue, run_in, smtp_app, smtp_server,
                                                                       users):
    message = queue("alice@test.example", "Convocation", topic="convocation")
    send_due_messages()  # console
    client = smtp_app.test_client()
    with smtp_app.app_context():
        from tests.helpers import login

        login(client, "conseil@test.example")
        assert "Envoyer pour de bon" in page(client.get(f"/admin/outbox/{message.id}"))
        assert client.post(f"/admin/outbox/{message.id}/retry").status_code == 302
        db.session.remove()
    requeued = fresh(message.id)
    assert (requeued.status, requeued.transport, requeued.sent_at) == ("pending", "", None)
    assert run_in(send_due_messages) == (1, 0)
    assert fresh(message.id).transport == "smtp" and len(smtp_server.envelopes) == 1


# --------------------------------------------------------------------------- the words, in one place


def test_the_sent_words_follow_the_transport(app, monkeypatch):
    assert delivery.sent_word("f") == "écrite dans la console"  # the tests run on the console backend
    assert delivery.sent_to("a@b.fr", "m") == "écrit dans la console pour a@b.fr (aucun e-mail n'est parti)"
    assert delivery.sent_word("fp", "smtp") == "envoyées"
    monkeypatch.setitem(app.config, "MAIL_BACKEND", "smtp")
    assert delivery.sent_word("m") == "envoyé" and delivery.sent_to("a@b.fr", "f") == "envoyée à a@b.fr"
    assert delivery.sent_word("m", "console") == "écrit dans la console"
    assert not delivery.mail_is_off() and delivery.status_labels()["sent"] == "Envoyé"


def test_the_worker_says_at_start_and_in_its_summary_that_nothing_leaves(app, queue):
    queue("alice@test.example", "Bonjour")
    result = app.test_cli_runner().invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "ATTENTION : aucun e-mail ne part (MAIL_BACKEND=console)" in result.output
    assert "1 e-mail écrit dans la console (non envoyé : MAIL_BACKEND=console)" in result.output
    assert "e-mail envoyé" not in result.output


def test_the_convocation_history_says_console(app, queue):
    from trainingmgr.enrolments.mails import sent_to

    assert sent_to("p@x.fr", "f", "console") == "écrite dans la console pour p@x.fr (aucun e-mail n'est parti)"
    assert sent_to("p@x.fr", "f", "smtp") == "envoyée à p@x.fr"


# --------------------------------------------------------------------------- production needs a mail server


@pytest.mark.parametrize("config, refused, warned", [
    ({"APP_ENV": "production", "MAIL_BACKEND": "console", "MAIL_BACKEND_EXPLICIT": False}, True, False),
    ({"APP_ENV": "production", "MAIL_BACKEND": "console", "MAIL_BACKEND_EXPLICIT": True}, False, True),
    ({"APP_ENV": "production", "MAIL_BACKEND": "smtp", "MAIL_BACKEND_EXPLICIT": False}, False, False),
    ({"APP_ENV": "development", "MAIL_BACKEND": "console", "MAIL_BACKEND_EXPLICIT": False}, False, False),
    ({"APP_ENV": "production", "MAIL_BACKEND": "pigeon", "MAIL_BACKEND_EXPLICIT": True}, True, False),
])
def test_mail_problems(config, refused, warned):
    problems, warnings = mail_problems(config)
    assert bool(problems) is refused and bool(warnings) is warned
    if refused and config["MAIL_BACKEND"] == "console":
        assert "Aucun serveur d'e-mail : définissez MAIL_SERVER" in problems[0]
        assert "MAIL_BACKEND=console pour démarrer sans envoyer aucun e-mail" in problems[0]
    if warned:
        assert warnings[0].startswith("ATTENTION : AUCUN E-MAIL NE PART (MAIL_BACKEND=console).")


def test_the_environment_tells_an_explicit_console_from_a_missing_server(monkeypatch, tmp_path):
    monkeypatch.delenv("MAIL_SERVER", raising=False)
    monkeypatch.delenv("MAIL_BACKEND", raising=False)
    config = from_environment(str(tmp_path))
    assert (config["MAIL_BACKEND"], config["MAIL_BACKEND_EXPLICIT"]) == ("console", False)
    monkeypatch.setenv("MAIL_BACKEND", "console")
    assert from_environment(str(tmp_path))["MAIL_BACKEND_EXPLICIT"] is True
    monkeypatch.delenv("MAIL_BACKEND")
    monkeypatch.setenv("MAIL_SERVER", "smtp.example.fr")
    assert from_environment(str(tmp_path))["MAIL_BACKEND"] == "smtp"


def _production(app, **overrides):
    return create_app({**app.config, "APP_ENV": "production", "SECRET_KEY": SECRET,
                       "PUBLIC_URL": "https://formation.example.fr", "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0",
                       **overrides})


def test_production_without_a_mail_server_refuses_to_start(app, capsys):
    with pytest.raises(SystemExit) as stopped:
        check_or_exit(_production(app, MAIL_BACKEND="console", MAIL_BACKEND_EXPLICIT=False))
    assert stopped.value.code == 1
    assert "trainingmgr : Aucun serveur d'e-mail" in capsys.readouterr().err


def test_production_with_an_explicit_console_starts_and_shouts(app, capsys):
    check_or_exit(_production(app, MAIL_BACKEND="console", MAIL_BACKEND_EXPLICIT=True))
    assert "ATTENTION : AUCUN E-MAIL NE PART" in capsys.readouterr().err
    check_or_exit(_production(app, MAIL_BACKEND="smtp", MAIL_SERVER="smtp.example.fr"))
    assert capsys.readouterr().err == ""


def test_gunicorn_refuses_to_start_without_a_mail_server(tmp_path):
    """`make serve` runs gunicorn, whose master checks before any worker starts (gunicorn.conf.py)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAIL_") and k not in (
        "SECRET_KEY", "PUBLIC_URL", "DATABASE_URL", "APP_ENV", "FILES_DIR", "RATELIMIT_STORAGE_URI")}
    env.update({"SECRET_KEY": SECRET, "PUBLIC_URL": "https://formation.example.fr", "SEAL_KEY_DIR": seal_key_dir(),
                "DATABASE_URL": f"sqlite:///{tmp_path}/x.db", "FILES_DIR": str(tmp_path / "files")})
    result = subprocess.run([str(Path(sys.executable).parent / "gunicorn"), "--bind", "127.0.0.1:0", "--workers", "1",
                             "app:app"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "Aucun serveur d'e-mail : définissez MAIL_SERVER" in result.stderr, result.stderr
    assert "Booting worker" not in result.stderr and "Traceback" not in result.stderr
