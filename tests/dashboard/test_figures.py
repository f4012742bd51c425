"""The dashboard's figures (dashboard/figures.py): each rule at its boundaries, on a fixed "today"."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from trainingmgr.dashboard import figures
from trainingmgr.enrolments.models import FundingLine
from trainingmgr.extensions import db

from tests.dashboard.support import answer, payment, piece, seats, survey
from tests.helpers import MONDAY

TODAY = MONDAY  # 3 March 2031
DAY = dt.timedelta(days=1)


def moved(session, *, start: dt.date | None = None, end: dt.date | None = None):
    """Shift ``session``'s half-days so that its first (or last) one falls on the given day."""
    delta = (start - session.first_date) if start is not None else (end - session.last_date)
    for slot in session.slots:
        slot.date += delta
    db.session.flush()
    return session


@pytest.fixture
def session_on(world, make_session):
    """``session_on(start=…)`` or ``session_on(end=…)``: a session of its own week, then moved there."""
    made = []

    def factory(*, start=None, end=None, status="open", **extra):
        session = make_session(start=MONDAY + dt.timedelta(weeks=60 + len(made)), **extra)
        made.append(session)
        session.status = status
        return moved(session, start=start, end=end)

    return factory


# --------------------------------------------------------------------------- seats filled over 90 days


def test_seats_filled_counts_the_sessions_starting_within_90_days(session_on):
    first = session_on(start=TODAY, capacity=4)
    last = session_on(start=TODAY + 90 * DAY, capacity=6)
    seats(first, "confirmed", "pending_prerequisite", "waitlisted", "requested", "cancelled")
    seats(last, "confirmed")
    seats(session_on(start=TODAY + 91 * DAY, capacity=5), "confirmed")  # too far
    seats(session_on(start=TODAY - DAY, capacity=5), "confirmed")  # already started
    seats(session_on(start=TODAY + 10 * DAY, capacity=5, status="cancelled"), "confirmed")
    found = figures.seats_filled(TODAY)
    assert (found.sessions, found.taken, found.capacity) == (2, 3, 10)
    assert found.percent == Decimal("30.0")
    assert found.args == {"on": "start", "from": TODAY.isoformat(), "to": (TODAY + 90 * DAY).isoformat(),
                          "status": "active"}


def test_seats_filled_without_sessions_has_no_rate(world):
    found = figures.seats_filled(TODAY)
    assert (found.sessions, found.capacity, found.percent) == (0, 0, None)


# --------------------------------------------------------------------------- sessions at risk (J−15)


def test_at_risk_is_below_the_minimum_within_15_days(session_on):
    seats(session_on(start=TODAY + 15 * DAY, min_trainees=3), "confirmed", "pending_prerequisite", "waitlisted")
    session_on(start=TODAY, min_trainees=1, status="draft")  # a draft counts: it is not cancelled
    seats(session_on(start=TODAY + 16 * DAY, min_trainees=3), "confirmed")  # J−16: not yet
    seats(session_on(start=TODAY + 2 * DAY, min_trainees=2), "confirmed", "confirmed")  # at its minimum
    session_on(start=TODAY + 3 * DAY, min_trainees=2, status="cancelled")
    session_on(start=TODAY - DAY, min_trainees=2, status="in_progress")  # started yesterday
    assert figures.at_risk(TODAY).count == 2
    assert figures.at_risk(TODAY).args == {"at_risk": 1}


# --------------------------------------------------------------------------- revenue, this year and last


def test_revenue_follows_the_issue_year_and_deducts_credit_notes(world):
    new_year = dt.date(TODAY.year, 1, 1)
    first = piece("invoice", new_year, "1000.00")
    piece("invoice", new_year - DAY, "700.00")  # 31 December: last year
    piece("credit_note", new_year + DAY, "250.00", credited=first)
    piece("credit_note", new_year - DAY, "100.00")
    piece("invoice", dt.date(TODAY.year - 2, 12, 31), "9999.00")  # two years ago
    piece("invoice", TODAY, "5000.00", status="draft")  # not issued
    payment(first, new_year, "1200.00")
    payment(first, new_year - DAY, "300.00")
    payment(first, new_year, "50.00", cancelled=True)
    this, last = figures.revenue(TODAY)
    assert (this.year, this.invoiced, this.paid) == (TODAY.year, Decimal("750.00"), Decimal("1200.00"))
    assert (last.year, last.invoiced, last.paid) == (TODAY.year - 1, Decimal("600.00"), Decimal("300.00"))
    assert this.args == {"year": TODAY.year, "status": "issued"}
    assert this.paid_args == {"du": f"{TODAY.year}-01-01", "au": f"{TODAY.year}-12-31"}


# --------------------------------------------------------------------------- satisfaction and completion (12 months)


def test_the_twelve_months_end_yesterday():
    assert figures.twelve_months(dt.date(2031, 3, 3)) == (dt.date(2030, 3, 3), dt.date(2031, 3, 2))
    assert figures.twelve_months(dt.date(2032, 2, 29)) == (dt.date(2031, 2, 28), dt.date(2032, 2, 28))


def test_satisfaction_averages_the_notes_of_hot_and_cold_surveys(session_on):
    hot, _ = survey("hot")
    cold, _ = survey("cold")
    start, end = figures.twelve_months(TODAY)
    oldest = session_on(end=start, status="completed")
    latest = session_on(end=end, status="completed")
    one, two = seats(oldest, "completed", "completed")
    answer(hot, one, [5, 4, True])
    answer(hot, two, [3, True, False])  # a note that is not one: left out
    answer(cold, one, [4, 4, None])
    (three,) = seats(latest, "completed")
    answer(hot, three, [4, 9, None])  # 9 is no note of 1 to 5
    answer(cold, three, [2, 1, None], submitted=False)  # a draft
    for excluded in (session_on(end=start - DAY, status="completed"), session_on(end=TODAY, status="in_progress"),
                     session_on(end=end, status="cancelled")):
        (other,) = seats(excluded, "completed")
        answer(hot, other, [1, 1, None])
        answer(cold, other, [1, 1, None])
    found = figures.satisfaction(TODAY)
    assert (found.hot, found.hot_answers) == (Decimal("4.00"), 4)  # (5 + 4 + 3 + 4) / 4
    assert (found.cold, found.cold_answers) == (Decimal("4.00"), 2)
    assert found.args == {"du": start.isoformat(), "au": end.isoformat()}


def test_satisfaction_without_answers_is_unknown(world):
    found = figures.satisfaction(TODAY)
    assert (found.hot, found.cold) == (None, None)


def test_completion_is_completed_over_seats_held_in_sessions_ended_in_12_months(session_on):
    start, end = figures.twelve_months(TODAY)
    seats(session_on(end=start, status="closed"), "completed", "completed", "abandoned", "cancelled", "waitlisted")
    seats(session_on(end=end, status="completed"), "completed", "no_show", "confirmed")
    seats(session_on(end=start - DAY, status="closed"), "abandoned")  # ended 12 months and a day ago
    seats(session_on(end=end, status="cancelled"), "cancelled", "cancelled")
    seats(session_on(end=TODAY, status="in_progress"), "confirmed")  # not ended yet
    found = figures.completion(TODAY)
    assert (found.completed, found.held, found.percent) == (3, 6, Decimal("50.0"))
    assert found.args == {"on": "end", "from": start.isoformat(), "to": end.isoformat(), "status": "active"}


# --------------------------------------------------------------------------- funding awaited, overdue invoices


def test_funding_awaited_counts_the_requested_files_of_sessions_to_come(session_on):
    coming = session_on(start=TODAY + 20 * DAY)
    one, two, three, gone = seats(coming, "confirmed", "confirmed", "pending_prerequisite", "cancelled")
    (past,) = seats(session_on(end=TODAY - 10 * DAY, status="completed"), "completed")

    def line(enrolment, status, amount="800.00", requested=None, kind="opco"):
        db.session.add(FundingLine(enrolment_id=enrolment.id, kind=kind, amount=Decimal(amount), opco_status=status,
                                   requested_amount=Decimal(requested) if requested else None))

    line(one, "requested", requested="650.00")
    line(two, "requested")  # no requested amount: the line's
    line(three, "requested", kind="france_travail", amount="300.00")
    line(three, "to_request")
    line(two, "agreed")
    line(one, "refused")
    line(gone, "requested")
    line(past, "requested")
    line(one, "requested", kind="company")  # not a funder's decision
    db.session.flush()
    found = figures.funding_awaited(TODAY)
    assert (found.count, found.amount) == (3, Decimal("1750.00"))
    assert found.args == {"status": "requested"}


def test_overdue_invoices_count_what_remains_due_after_the_due_date(world):
    late = piece("invoice", TODAY - 40 * DAY, "1000.00", due=TODAY - DAY)  # 1 200 TTC
    payment(late, TODAY - 5 * DAY, "200.00")
    piece("invoice", TODAY - 40 * DAY, "500.00", due=TODAY)  # due today: not late yet
    paid = piece("invoice", TODAY - 40 * DAY, "100.00", due=TODAY - 10 * DAY)
    payment(paid, TODAY - 9 * DAY, "120.00")
    credited = piece("invoice", TODAY - 40 * DAY, "100.00", due=TODAY - 10 * DAY)
    piece("credit_note", TODAY - 30 * DAY, "100.00", credited=credited)
    found = figures.overdue_invoices(TODAY)
    assert (found.count, found.amount) == (1, Decimal("1000.00"))
