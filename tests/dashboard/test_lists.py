"""The list filters the dashboard's figures link to: sessions by first or last half-day, at risk, not cancelled;
invoices' totals; the funding board by state; survey results over a period; and the bench's threshold."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from trainingmgr.core.timeutil import paris_today
from trainingmgr.extensions import db

from tests.catalogue.pagetools import page_of
from tests.dashboard.support import piece, seats
from tests.helpers import exported

DAY = dt.timedelta(days=1)


def listed(client, url: str) -> set[int]:
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return {int(row.attrs["data-session"]) for row in page_of(response).find_all("tr", data_session=True)}


def test_sessions_by_first_or_last_half_day(advisor, world, make_session):
    today = paris_today()
    running = make_session(course=world.dume, start=today - DAY)  # started yesterday, goes on today
    running.slots[0].date, running.slots[-1].date = today - DAY, today + DAY
    starting = make_session(course=world.dume, start=today + 3 * DAY)
    cancelled = make_session(course=world.dume, start=today + 4 * DAY)
    cancelled.status = "cancelled"
    db.session.commit()
    period = f"from={today.isoformat()}&to={(today + 10 * DAY).isoformat()}"
    assert listed(advisor, f"/sessions/?{period}") == {running.id, starting.id, cancelled.id}
    assert listed(advisor, f"/sessions/?{period}&on=start") == {starting.id, cancelled.id}
    assert listed(advisor, f"/sessions/?{period}&on=start&status=active") == {starting.id}
    assert listed(advisor, f"/sessions/?{period}&on=end&status=active") == {running.id, starting.id}
    assert listed(advisor, f"/sessions/?on=end&to={(today - DAY).isoformat()}") == set()


def test_sessions_at_risk_and_the_seat_summary(advisor, world, open_session):
    today = paris_today()
    risky = open_session(course=world.dume, start=today + 15 * DAY, min_trainees=3, capacity=5)
    seats(risky, "confirmed", "pending_prerequisite", "waitlisted")
    later = open_session(course=world.dume, start=today + 16 * DAY, min_trainees=3, capacity=5)
    db.session.commit()
    assert listed(advisor, "/sessions/?at_risk=1") == {risky.id}
    assert listed(advisor, "/sessions/?at_risk=0") >= {risky.id, later.id}
    summary = page_of(advisor.get("/sessions/?at_risk=1")).find(data_field="seat-summary")
    assert summary.text.startswith("1 session : 2 places occupées sur 5 (40 %)")


def test_the_invoice_list_adds_up_what_it_shows(advisor, world):
    first = piece("invoice", dt.date(2030, 5, 2), "1000.00")
    piece("credit_note", dt.date(2030, 6, 1), "300.00", credited=first)
    piece("invoice", dt.date(2029, 12, 31), "50.00")
    piece("invoice", dt.date(2030, 5, 2), "70.00", status="draft")
    db.session.commit()
    totals = page_of(advisor.get("/billing/?year=2030&status=issued")).find(data_field="issued-totals")
    assert Decimal(totals.attrs["data-net"]) == Decimal("700.00")
    assert "soit 700,00" in totals.text
    totals = page_of(advisor.get("/billing/?kind=credit_note")).find(data_field="issued-totals")
    assert Decimal(totals.attrs["data-net"]) == Decimal("-300.00")
    totals = page_of(advisor.get("/billing/?status=draft")).find(data_field="issued-totals")
    assert Decimal(totals.attrs["data-net"]) == Decimal("0.00")


def test_survey_results_over_a_period_and_their_export(advisor, world):
    response = advisor.get("/evaluations/?du=2030-03-03&au=2031-03-02")
    assert response.status_code == 200
    assert page_of(response).find(data_field="period").text == \
        "Sessions dont le dernier créneau est entre le 03/03/2030 et le 02/03/2031"
    export = exported(advisor, "/evaluations/export.csv?du=2030-03-03&au=2031-03-02")
    assert export.status_code == 200 and export.mimetype == "text/csv"


def test_the_funding_board_by_state_refuses_the_agreed_ones(advisor):
    assert advisor.get("/funding?status=requested").status_code == 200
    assert advisor.get("/funding?status=agreed").status_code == 400


def test_the_bench_fails_a_dashboard_beyond_its_ratio():
    from bench.pages import DASHBOARD_MAX_RATIO, check

    def result(dataset, ratio):
        return {"dataset": dataset, "pages": {"dashboard /": {"ratio": ratio}}}

    assert check([result("demo", DASHBOARD_MAX_RATIO * 2), result("history", DASHBOARD_MAX_RATIO)]) == []
    assert len(check([result("history", DASHBOARD_MAX_RATIO + 0.1)])) == 1
