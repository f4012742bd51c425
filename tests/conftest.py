"""Test fixtures. Every test that uses ``app`` runs on SQLite and, when TEST_DATABASE_URL is set, on
PostgreSQL too, in a database of its own created for the run and dropped after it. The schema comes
from the Alembic history, so the migrations are exercised as well."""
from __future__ import annotations

import os
import re
from decimal import Decimal

import pytest
from flask import g, has_app_context
from flask.testing import FlaskClient
from sqlalchemy import event

from trainingmgr import create_app
from trainingmgr.attendance import guard
from trainingmgr.extensions import db, limiter

from tests.helpers import MONDAY, login, seal_key_dir, signing_dir, throwaway_postgresql

BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])

@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request, tmp_path_factory):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
        return
    with throwaway_postgresql("trainingmgr_test") as url:
        yield url


def base_config(database_url: str, tmp_path) -> dict:
    return {
        "SEAL_KEY_DIR": seal_key_dir(),
        "SIGNING_DIR": signing_dir(),
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "FILES_DIR": str(tmp_path / "files"),
        "LOGIN_RATE_LIMIT": "1000 per minute",
        "LOGIN_ACCOUNT_RATE_LIMIT": "1000 per minute",
        "SERVER_NAME": "localhost",
        "PUBLIC_URL": "http://localhost",
        # werkzeug's default (scrypt) in production; a cheap hash keeps hundreds of logins fast here.
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        # Documents in DOCX only unless a test asks for PDF (LibreOffice conversions take a while).
        "PDF_CONVERTER": "none",
        "PDF_SERVER": "",  # each test process converts with its own LibreOffice unless a test sets PDF_SERVER
    }


@pytest.fixture(scope="session")
def _schema(database_url, tmp_path_factory):
    """Build the schema once per database from the migrations."""
    from flask_migrate import upgrade

    app = create_app(base_config(database_url, tmp_path_factory.mktemp("schema")))
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return database_url


def _empty_tables() -> None:
    tables = [t for t in reversed(db.metadata.sorted_tables)]
    with db.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            # DELETE is much faster than TRUNCATE on tables this small; foreign keys are not checked
            # meanwhile (course and course_version point at each other), and the ids restart at 1.
            conn.exec_driver_sql("SET session_replication_role = replica")
            for table in tables:
                conn.execute(table.delete())
            conn.exec_driver_sql("SET session_replication_role = DEFAULT")
            for sequence in conn.exec_driver_sql(
                    "SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema()").scalars():
                conn.exec_driver_sql(f'ALTER SEQUENCE "{sequence}" RESTART')
        else:
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            for guarded in guard.APPEND_ONLY_TABLES:
                for statement in guard.statements("sqlite", install=False, table=guarded):
                    conn.exec_driver_sql(statement)
            for table in tables:
                conn.execute(table.delete())
            for guarded in guard.APPEND_ONLY_TABLES:
                for statement in guard.statements("sqlite", install=True, table=guarded):
                    conn.exec_driver_sql(statement)
            conn.commit()
            conn.exec_driver_sql("PRAGMA foreign_keys=ON")
        conn.commit()


class Client(FlaskClient):
    """A test client that sends the CSRF token with every form POST, as a browser would.

    Pass ``csrf=False`` to send a POST without it."""

    _token: str | None = None

    def csrf_token(self) -> str:
        if self._token is None:
            page = self.get("/login").get_data(as_text=True)
            match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or re.search(
                r'name="csrf_token" value="([^"]+)"', page)
            assert match, "no CSRF token on /login"
            self._token = match.group(1)
        return self._token

    def open(self, *args, **kwargs):
        # The ``app`` fixture keeps an application context for the whole test and Flask reuses it for
        # each request: clear ``g`` so that every request starts afresh, as in production (otherwise
        # Flask-Login's cached user and Flask-WTF's token would leak from one client to another).
        if has_app_context():
            for name in list(vars(g)):
                delattr(g, name)
        return super().open(*args, **kwargs)

    def post(self, *args, csrf: bool = True, **kwargs):
        if csrf and "json" not in kwargs:
            data = dict(kwargs.get("data") or {})
            data.setdefault("csrf_token", self.csrf_token())
            kwargs["data"] = data
        return super().post(*args, **kwargs)


@pytest.fixture(scope="session")
def _shared_app(_schema, tmp_path_factory):
    """One application per database for the whole run: building one (the OpenAPI document above all)
    costs more than most tests."""
    app = create_app(base_config(_schema, tmp_path_factory.mktemp("files")))
    app.test_client_class = Client
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def make_app(_schema, _shared_app, tmp_path):
    """An application with extra configuration (``make_app()`` without any is the shared one); the
    tables are emptied after the test."""
    created = []

    def factory(**overrides):
        if not overrides:
            return _shared_app
        app = create_app({**base_config(_schema, tmp_path), **overrides})
        app.test_client_class = Client
        created.append(app)
        return app

    yield factory
    with _shared_app.app_context():
        db.session.remove()
        _empty_tables()
        limiter.reset()
    for app in created:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def app(make_app):
    app = make_app()
    with app.app_context():
        yield app
        db.session.remove()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def backend(app) -> str:
    return db.engine.dialect.name


# --------------------------------------------------------------------------- data helpers


@pytest.fixture
def users(app):
    from trainingmgr.accounts.services import create_user

    made = {
        "admin": create_user("admin@test.example", "admin-password-1", "admin", "Ada Admin"),
        "advisor": create_user("conseil@test.example", "advisor-password-1", "advisor", "Camille Conseil"),
        "trainer": create_user("formateur@test.example", "trainer-password-1", "trainer", "Pierre Formateur"),
        "trainer2": create_user("formateur2@test.example", "trainer2-password-1", "trainer", "Paula Formatrice"),
    }
    db.session.commit()
    return made


@pytest.fixture
def advisor_client(client, users):
    login(client, "conseil@test.example")
    return client


@pytest.fixture
def world(app, users):
    """The two seed courses published, a Toulouse room for 10, a remote room, two trainers linked to the
    two trainer accounts, a client company."""
    from trainingmgr.catalogue.services import create_course, set_course_status
    from trainingmgr.companies.services import save_company
    from trainingmgr.demo.seeds import CHORUS_PRO, DUME_CHORUS_PRO
    from trainingmgr.organisation.services import update_organisation
    from trainingmgr.demo.services import ORGANISATION
    from trainingmgr.resources.services import save_location, save_trainer

    update_organisation(ORGANISATION)
    chorus = create_course(CHORUS_PRO, users["advisor"], slug=CHORUS_PRO["slug"])
    dume = create_course(DUME_CHORUS_PRO, users["advisor"], slug=DUME_CHORUS_PRO["slug"])
    set_course_status(chorus, "published")
    set_course_status(dume, "published")
    # A convention needs the room's equipment and its trainers' titles (documents/context.py missing_mentions).
    room = save_location(None, {"name": "Salle Capitole", "city": "Toulouse", "address": "1 rue A",
                                "postal_code": "31000", "capacity": 10, "equipment": "Vidéoprojecteur, Wi-Fi"})
    small_room = save_location(None, {"name": "Petite salle", "city": "Toulouse", "capacity": 4,
                                      "equipment": "Écran, Wi-Fi"})
    remote = save_location(None, {"name": "Classe virtuelle", "is_remote": True,
                                  "meeting_url": "https://visio.example.com/salle",
                                  "equipment": "Classe virtuelle avec partage d'écran"})
    db.session.flush()
    pierre = save_trainer(None, {"first_name": "Pierre", "last_name": "Formateur", "email": "formateur@test.example",
                                 "user_id": users["trainer"].id,
                                 "competences": "Juriste en commande publique, 12 ans d'expérience"})
    # Paula's record is left incomplete (the Qualiopi board lists her: no CV, no competences).
    paula = save_trainer(None, {"first_name": "Paula", "last_name": "Formatrice", "email": "formateur2@test.example",
                                "user_id": users["trainer2"].id})
    company = save_company(None, {"name": "Cabinet d'architecture Dupont", "siret": "44306184100021"})
    db.session.commit()

    class World:
        pass

    w = World()
    w.chorus, w.dume, w.room, w.small_room, w.remote = chorus, dume, room, small_room, remote
    w.pierre, w.paula, w.company, w.users = pierre, paula, company, users
    return w


@pytest.fixture
def make_session(world):
    """Create a session of a world course through the service (slots from the course pattern)."""
    from trainingmgr.sessions.services import create_session

    def factory(course=None, start=MONDAY, trainer=None, location=None, **extra):
        course = course or world.chorus
        data = {"course_id": course.id, "start_date": start, "location_id": (location or world.room).id,
                "trainer_ids": [(trainer or world.pierre).id], "format": "inter"}
        if course.current_version.price_per_trainee is None and "price_per_trainee" not in extra:
            data["price_per_trainee"] = Decimal("600.00")
        data.update(extra)
        session, _ = create_session(data, world.users["advisor"])
        db.session.commit()
        return session

    return factory


class QueryCounter:
    def __init__(self, engine):
        self.engine = engine
        self.count = 0

    def _count(self, *args, **kwargs):
        self.count += 1

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._count)


@pytest.fixture
def count_queries(app):
    def counter():
        return QueryCounter(db.engine)

    return counter


@pytest.fixture(scope="session")
def tsa_pki():
    """One root CA and TSA certificate for the run (RSA keys take a moment to generate)."""
    from tests.tsa_server import LocalPKI

    return LocalPKI()


@pytest.fixture
def local_tsa(tsa_pki):
    """An RFC 3161 timestamp authority answering on 127.0.0.1 (tests/tsa_server.py), well-behaved until a test
    flips one of its switches."""
    from tests.tsa_server import LocalTSA

    with LocalTSA(tsa_pki) as tsa:
        yield tsa
