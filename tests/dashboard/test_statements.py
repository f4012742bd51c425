"""The dashboard's cost: its SQL statements are pinned and do not grow with the data (more sessions to come, more
enrolments, more invoices, ten times the history), with the expensive figures kept by core/memo.py and without;
what core/memo.py keeps is forgotten on a committed write, on a new day and after MEMO_SECONDS."""
from __future__ import annotations

import datetime as dt

import pytest

from trainingmgr.core import memo
from trainingmgr.core.timeutil import paris_today
from trainingmgr.extensions import db

from tests.catalogue.pagetools import page_of
from tests.dashboard.support import add_history, add_upcoming, piece

# The advisor's dashboard, with the demo's organisation: every statement of one GET /. Lower is welcome (lower the
# budget then); higher needs a reason.
WARM_BUDGET = 16  # the overdue checklist items, the overdue invoices and the incomplete courses kept by core/memo.py
COLD_BUDGET = 46  # read afresh: the checklist's evidence (about twenty), the overdue invoices' sum, the courses


def statements(client, count_queries, *, fresh: bool) -> int:
    db.session.expire_all()
    client.get("/")  # warm: the same caches (and values kept) as the counted call
    if fresh:
        memo.forget()
    with count_queries() as counter:
        assert client.get("/").status_code == 200
    return counter.count


def figures_text(client) -> dict:
    found = page_of(client.get("/")).find_all(data_figure=True)
    return {card.attrs["data-figure"]: " ".join(card.text.split()) for card in found}


@pytest.fixture
def demo_advisor(app, client):
    from trainingmgr.demo.services import load_demo

    load_demo(today=paris_today())
    db.session.commit()
    response = client.post("/login", data={"email": "conseil@formaction.example", "password": "conseil-demo-2026"})
    assert response.status_code == 302
    return client


def test_the_dashboard_statements_are_pinned_whatever_the_volume(demo_advisor, count_queries):
    today = paris_today()
    add_history(today, 6, offset=1)
    add_upcoming(today, 4, offset=1)
    warm, cold, before = (statements(demo_advisor, count_queries, fresh=False),
                          statements(demo_advisor, count_queries, fresh=True), figures_text(demo_advisor))
    assert warm <= WARM_BUDGET and cold <= COLD_BUDGET, (warm, cold)
    assert cold > warm  # the values kept spare the checklist's evidence and the overdue sum

    decisions = prerequisite_decisions(demo_advisor)
    add_history(today, 60, offset=2)  # ten times the history
    add_upcoming(today, 24, offset=2)  # six times the sessions to come, their enrolments, overdue invoices
    after = figures_text(demo_advisor)
    assert (statements(demo_advisor, count_queries, fresh=False),
            statements(demo_advisor, count_queries, fresh=True)) == (warm, cold)
    # The volume was counted: every group of figures moved.
    for name in ("seats", "completion", "at-risk", "overdue"):
        assert after[name] != before[name], name
    assert prerequisite_decisions(demo_advisor) == decisions + 24


def prerequisite_decisions(client) -> int:
    alert = page_of(client.get("/")).find(data_field="prerequisite-decisions")
    return int(alert.text.split()[0])


def overdue_count(client) -> str:
    card = page_of(client.get("/")).find(data_figure="overdue")
    return card.find(data_field="count").text.strip()


@pytest.fixture
def one_overdue(app, advisor):
    today = paris_today()
    invoice = piece("invoice", today - dt.timedelta(days=60), "100.00", due=today - dt.timedelta(days=30))
    db.session.commit()
    memo.forget()
    return invoice


def test_a_committed_write_of_this_process_shows_at_once(advisor, one_overdue):
    from tests.dashboard.support import payment

    assert overdue_count(advisor) == "1"
    payment(one_overdue, paris_today(), "120.00")
    db.session.commit()
    assert overdue_count(advisor) == "0"
    piece("invoice", paris_today() - dt.timedelta(days=50), "10.00", due=paris_today() - dt.timedelta(days=5))
    db.session.commit()
    assert overdue_count(advisor) == "1"


def _elsewhere(sql: str) -> None:
    """A write committed by another process: a DBAPI connection of its own, unseen by the engine's listeners."""
    raw = db.engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute(sql)
        raw.commit()
    finally:
        raw.close()


def test_another_process_write_shows_within_memo_seconds(advisor, one_overdue, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(memo.time, "monotonic", lambda: clock[0])
    assert overdue_count(advisor) == "1"
    later = (paris_today() + dt.timedelta(days=10)).isoformat()
    _elsewhere(f"UPDATE invoice SET due_date = '{later}' WHERE id = {int(one_overdue.id)}")
    assert overdue_count(advisor) == "1"  # kept: this process did not write
    clock[0] += memo.DEFAULT_SECONDS - 1
    assert overdue_count(advisor) == "1"
    clock[0] += 2
    assert overdue_count(advisor) == "0"


def test_a_new_day_reads_afresh(advisor, one_overdue, monkeypatch):
    assert overdue_count(advisor) == "1"
    tomorrow = paris_today() + dt.timedelta(days=1)
    _elsewhere(f"UPDATE invoice SET due_date = '{tomorrow.isoformat()}' WHERE id = {int(one_overdue.id)}")
    assert overdue_count(advisor) == "1"
    monkeypatch.setattr("trainingmgr.dashboard.figures.paris_today", lambda: tomorrow)
    assert overdue_count(advisor) == "0"  # due today: not late yet


def test_memo_seconds_zero_reads_afresh_every_time(app, one_overdue):
    calls = []

    def compute():
        calls.append(1)
        return len(calls)

    with app.test_request_context():
        assert [memo.remembered("probe", paris_today(), compute) for _ in range(2)] == [1, 1]
        app.config["MEMO_SECONDS"] = 0
        try:
            assert [memo.remembered("probe", paris_today(), compute) for _ in range(2)] == [2, 3]
        finally:
            app.config["MEMO_SECONDS"] = memo.DEFAULT_SECONDS


def test_uncommitted_writes_read_afresh(app, one_overdue):
    calls = []

    def compute():
        calls.append(1)
        return len(calls)

    assert memo.remembered("probe", paris_today(), compute) == 1
    assert memo.remembered("probe", paris_today(), compute) == 1
    piece("invoice", paris_today(), "5.00")  # flushed, not committed
    assert memo.remembered("probe", paris_today(), compute) == 2  # read afresh, and not kept
    db.session.rollback()
    assert memo.remembered("probe", paris_today(), compute) == 1  # the writes undone: the value kept before


def test_the_page_says_how_fresh_the_remembered_figures_are(app, advisor, one_overdue):
    caption = page_of(advisor.get("/")).find(data_field="memo-caption")
    assert caption is not None and "au plus toutes les 60 s" in caption.text
    app.config["MEMO_SECONDS"] = 0
    try:
        assert page_of(advisor.get("/")).find(data_field="memo-caption") is None  # read afresh: no caveat
    finally:
        app.config["MEMO_SECONDS"] = memo.DEFAULT_SECONDS
