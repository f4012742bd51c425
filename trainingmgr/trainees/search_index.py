"""The trainees search through a trigram index (migration c22a00000003), so that it stays flat in history.

PostgreSQL: GIN pg_trgm indexes on lower(last_name), lower(first_name), lower(email). SQLite: the FTS5 table
``trainee_fts`` (tokenize='trigram'), kept in step with trainee by triggers. The index only narrows the
candidates; core/search.holds() still decides, so answers are exactly those of the LIKE alone (FTS5 folds É
into é, LIKE does not). A word under three characters has no trigram: the LIKE alone reads the table.
"""
from __future__ import annotations

from sqlalchemy import Select, column, literal_column, or_, select, table, union

from ..companies.models import Company
from ..core.search import holds
from ..extensions import db
from .models import Trainee

FTS = "trainee_fts"
COLUMNS = ("last_name", "first_name", "email")
TRIGRAM_INDEXES = frozenset(f"ix_trainee_{name}_trgm" for name in COLUMNS)
MIN_LENGTH = 3  # a trigram index cannot serve fewer characters

_fts = table(FTS, column("rowid"))


def outside_models(name: str, type_: str) -> bool:
    """Whether alembic's comparison must leave this object alone: the FTS5 table and its shadow tables
    (trainee_fts_data, _idx, _docsize, _config), the expression indexes (migrations/env.py)."""
    if type_ == "table":
        return name == FTS or name.startswith(FTS + "_")
    return type_ == "index" and name in TRIGRAM_INDEXES


def in_names(word: str):
    """SQL condition: the trainee's name or e-mail holds ``word`` (``holds`` on each column, ``word`` in lower
    case), narrowed first by the trigram index when ``word`` has three characters or more."""
    condition = or_(*(holds(getattr(Trainee, name), word) for name in COLUMNS))
    if len(word) < MIN_LENGTH or db.engine.dialect.name != "sqlite":
        return condition  # PostgreSQL's planner reads the pg_trgm indexes for the LIKE itself
    return Trainee.id.in_(_fts_ids(word)) & condition


def in_names_or_company(word: str):
    """SQL condition (the trainee outer-joined to its company): ``word`` in the name, the e-mail or the
    company's name; with three characters or more, candidates come from the index and the matching companies'
    trainees (ix_trainee_company_id), as an OR across the join would read every trainee."""
    condition = or_(*(holds(getattr(Trainee, name), word) for name in COLUMNS), holds(Company.name, word))
    if len(word) < MIN_LENGTH:
        return condition
    by_names: Select = (_fts_ids(word) if db.engine.dialect.name == "sqlite" else select(Trainee.id).where(
        or_(*(holds(getattr(Trainee, name), word) for name in COLUMNS))))
    by_company = select(Trainee.id).where(Trainee.company_id.in_(select(Company.id).where(holds(Company.name, word))))
    return Trainee.id.in_(union(by_names, by_company)) & condition


def _fts_ids(word: str) -> Select:
    """Ids of the trainees whose indexed text holds ``word`` case folded (a superset of the LIKE's answers)."""
    phrase = '"' + word.replace('"', '""') + '"'  # one literal substring: % _ * : ^ are mere characters
    return select(_fts.c.rowid).where(literal_column(FTS).op("MATCH")(phrase))
