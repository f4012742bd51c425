"""Fixtures of the outbox tests: a real SMTP server in the test process (aiosmtpd), and an application
configured to send to it (``make_app`` with overrides: a second app on the same test database)."""
from __future__ import annotations

import socket
import threading
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller

from trainingmgr.extensions import db
from trainingmgr.messaging.services import queue_email

from tests.helpers import login

SENDER = "Formaction Sud-Ouest <formation@formaction.example>"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RecordingHandler:
    """Keeps every accepted envelope. ``rcpt_reply`` / ``data_reply`` make it refuse instead, e.g.
    "451 4.3.0 Try again later" (temporary) or "550 5.1.1 No such user" (permanent)."""

    def __init__(self):
        self.envelopes = []
        self.rcpt_reply: str | None = None
        self.refused_recipients: set[str] = set()
        self.data_reply: str | None = None
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 - aiosmtpd's API
        if address in self.refused_recipients:
            return self.rcpt_reply or "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        if self.data_reply:
            return self.data_reply
        with self.lock:
            self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


class SMTPServer:
    """A real SMTP server on 127.0.0.1, on a port of its own that stays the same across stop()/start()."""

    def __init__(self):
        self.handler = RecordingHandler()
        self.port = free_port()
        self.controller: Controller | None = None
        self.smtputf8 = True  # international addresses (aiosmtpd's Controller offers them by default)

    def start(self) -> None:
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port,
                                     enable_SMTPUTF8=self.smtputf8)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def envelopes(self):
        with self.handler.lock:
            return list(self.handler.envelopes)

    @property
    def messages(self):
        """The received messages, parsed (``email.message.EmailMessage``)."""
        return [message_from_bytes(e.original_content.replace(b"\r\n", b"\n"), policy=policy.default)
                for e in self.envelopes]


@pytest.fixture
def smtp_server():
    server = SMTPServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def smtp_app(make_app, smtp_server):
    """An application that sends through ``smtp_server``. Use it in ``with smtp_app.app_context():`` blocks,
    after committing what the test prepared through the shared ``app``."""
    return make_app(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.port,
                    MAIL_DEFAULT_SENDER=SENDER, MAIL_TIMEOUT=5)


@pytest.fixture
def run_in(smtp_app):
    """Run ``fn`` inside the SMTP application (its own database session), then look afresh from the test."""

    def runner(fn, *args, **kwargs):
        with smtp_app.app_context():
            try:
                return fn(*args, **kwargs)
            finally:
                db.session.remove()

    def wrapped(fn, *args, **kwargs):
        result = runner(fn, *args, **kwargs)
        db.session.expire_all()
        return result

    return wrapped


@pytest.fixture
def invoke(smtp_app):
    """Run a command of the SMTP application. Its context is pushed here: the commands use the current
    application when there is one, and the test's ``app`` fixture keeps the shared one current."""

    def runner(*args: str):
        with smtp_app.app_context():
            try:
                return smtp_app.test_cli_runner().invoke(args=list(args))
            finally:
                db.session.remove()

    return runner


@pytest.fixture
def queue(app):
    """Queue a committed e-mail in the outbox."""

    def factory(recipient="stagiaire@test.example", subject="Bonjour", text="Le texte.", html="", **kwargs):
        message = queue_email(recipient, subject, text, html, **kwargs)
        db.session.commit()
        return message

    return factory


@pytest.fixture
def staff_client(app, users):
    def factory(email="conseil@test.example"):
        client = app.test_client()
        login(client, email)
        return client

    return factory
