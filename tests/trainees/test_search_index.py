"""The trainees search through its trigram index (migration c22a00000003, trainees/search_index.py): the same
answers as the LIKE alone (short words, "%" and "_" as they are, accents, e-mails, company names), the FTS5
table kept in step by its triggers on SQLite, and the plans naming the index on both databases."""
from __future__ import annotations

import pytest
from sqlalchemy import event, insert, text, update

from trainingmgr.companies.models import Company
from trainingmgr.extensions import db
from trainingmgr.trainees import search_index
from trainingmgr.trainees.models import Trainee
from trainingmgr.trainees.services import list_trainees, search_trainees

PEOPLE = [  # last name, first name, e-mail, company
    ("Durand", "Éloïse", "eloise.durand@exemple.fr", "Boulangerie Garonne"),
    ("DURAND", "Eloise", "e.durand@exemple.fr", None),
    ("Martin", "Jean", "jean_martin@exemple.fr", "Cabinet d'architecture"),
    ("Martinez", "Ana", "ana@martinez.example", "Cabinet d'architecture"),
    ("Le Gall", "Ève", "eve.legall@exemple.fr", None),
    ("Taux 100%", "Zoé", "z100@exemple.fr", "SARL 100% Formation"),
    ("Ab", "Xavier", "ab@exemple.fr", None),
    ("A_b", "Yves", "a_b@exemple.fr", "Garonne Services"),
    ('Dit "Le Grand"', "Noël", "noel@exemple.fr", None),
    ("Ÿvon", "Ÿsé", "ysé@exemple.fr", None),
]
SEARCHES = ["a", "du", "É", "é", "ÉLO", "élo", "Éloïse", "ELOISE", "dur", "DURAND", "martin", "MARTINEZ", "le gall",
            "e g", "%", "100%", "0%", "_", "a_b", "_b@", "durand@", "@exemple.fr", ".fr", "ana@", "garonne",
            "boulangerie dur", "cabinet martin", "architecture", "d'arch", '"le', 'grand"', "le*", "a*b", "noël",
            "NOËL", "ÿsé", "ŸSÉ", "or", "near(", "x:y", "^ab", "-ab", "zzz", "durand zzz"]


@pytest.fixture
def people(app):
    companies = {}
    for *_, company in PEOPLE:
        if company and company not in companies:
            companies[company] = db.session.execute(insert(Company).values(name=company, siret=None)
                                                    .returning(Company.id)).scalar_one()
    db.session.execute(insert(Trainee), [
        {"last_name": last, "first_name": first, "email": email, "company_id": companies.get(company)}
        for last, first, email, company in PEOPLE])
    db.session.commit()


def emails(trainees) -> list[str]:
    return [t.email for t in trainees]


def like_alone(monkeypatch, search) -> tuple[list[str], list[str]]:
    with monkeypatch.context() as patch:
        patch.setattr(search_index, "MIN_LENGTH", 10_000)  # every word too short for the index
        return emails(list_trainees(search)), emails(search_trainees(search))


@pytest.mark.parametrize("search", SEARCHES)
def test_the_index_answers_as_the_like_alone(people, monkeypatch, search):
    assert (emails(list_trainees(search)), emails(search_trainees(search))) == like_alone(monkeypatch, search)


def test_the_answers_themselves(people):
    assert emails(list_trainees("100%")) == ["z100@exemple.fr"]  # "%" as it is, not "any text"
    assert emails(list_trainees("a_b")) == ["a_b@exemple.fr"]  # "_" as it is: not Ab
    assert emails(list_trainees("DURAND@")) == ["e.durand@exemple.fr", "eloise.durand@exemple.fr"]
    assert emails(search_trainees("boulangerie dur")) == ["eloise.durand@exemple.fr"]
    assert emails(search_trainees("cabinet martin")) == ["jean_martin@exemple.fr", "ana@martinez.example"]
    assert emails(search_trainees("garonne")) == ["a_b@exemple.fr", "eloise.durand@exemple.fr"]
    assert emails(list_trainees('dit "le')) == ["noel@exemple.fr"]


def test_sqlite_keeps_the_like_s_case_of_accents(people):
    """FTS5 folds É into é, SQLite's LIKE does not: for « ÉLO » (searched as « élo ») the index offers Éloïse,
    the LIKE keeps nobody, as before; PostgreSQL's lower() folds É on both sides and finds Éloïse, as before."""
    if db.engine.dialect.name != "sqlite":
        assert emails(list_trainees("ÉLO")) == ["eloise.durand@exemple.fr"]
        return
    offered = db.session.scalars(search_index._fts_ids("élo")).all()
    assert [db.session.get(Trainee, id_).first_name for id_ in offered] == ["Éloïse"]
    assert list_trainees("ÉLO") == [] and list_trainees("élo") == []
    assert emails(list_trainees("loïse")) == ["eloise.durand@exemple.fr"]


def test_the_fts_table_follows_inserts_updates_and_deletes(people):
    db.session.execute(update(Trainee).where(Trainee.email == "noel@exemple.fr").values(last_name="Bonnefoy"))
    db.session.execute(Trainee.__table__.delete().where(Trainee.email == "ab@exemple.fr"))
    db.session.execute(update(Trainee).where(Trainee.email == "z100@exemple.fr").values(email="zoe@ailleurs.example"))
    db.session.commit()
    assert emails(list_trainees("bonnefoy")) == ["noel@exemple.fr"] and list_trainees("grand") == []
    assert emails(list_trainees("ailleurs")) == ["zoe@ailleurs.example"] and list_trainees("z100") == []
    assert emails(list_trainees("xavier")) == []
    if db.engine.dialect.name == "sqlite":  # the FTS5 index against its content table, row by row
        db.session.execute(text(f"INSERT INTO {search_index.FTS}({search_index.FTS}) VALUES ('integrity-check')"))
        assert db.session.execute(text(f"SELECT count(*) FROM {search_index.FTS}")).scalar() == len(PEOPLE) - 1


def plans(statements: list) -> list[str]:
    """The query plans of the SELECTs run, as text."""
    found = []
    for statement, parameters in statements:
        if not statement.lstrip().upper().startswith("SELECT"):
            continue
        if db.engine.dialect.name == "sqlite":
            rows = db.session.connection().exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
            found.append("\n".join(row[-1] for row in rows))
        else:
            rows = db.session.connection().exec_driver_sql("EXPLAIN " + statement, parameters)
            found.append("\n".join(row[0] for row in rows))
    return found


@pytest.mark.parametrize("run", [lambda: list_trainees("durand"), lambda: search_trainees("durand garonne")])
def test_the_search_reads_the_index(people, run):
    statements = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement, parameters))

    if db.engine.dialect.name == "postgresql":  # ten rows: a table scan would win without this
        db.session.execute(text("SET LOCAL enable_seqscan = off"))
    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        run()
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    plan = plans(statements)[0]
    if db.engine.dialect.name == "sqlite":
        assert "VIRTUAL TABLE INDEX 0:M" in plan and "SCAN trainee" not in plan.replace("SCAN trainee_fts", ""), plan
    else:
        assert "ix_trainee_last_name_trgm" in plan and "Seq Scan on trainee" not in plan, plan
    db.session.rollback()


def test_short_words_read_the_table(people):
    """Under three characters a trigram index has nothing to look for: the LIKE alone, no FTS5 table."""
    compiled = str(search_index.in_names("du").compile(db.engine))
    assert search_index.FTS not in compiled and search_index.FTS in str(
        search_index.in_names_or_company("dur").compile(db.engine)) or db.engine.dialect.name != "sqlite"
