"""The advisor's figures on the dashboard, each a link to the list that shows the same rows.

Every function runs one or two aggregate queries (COUNT, SUM, GROUP BY), whatever the history holds, and returns a
small frozen dataclass: its values, a French label and the list it links to (``endpoint`` and ``args`` for
``url_for``). The conditions are the ones the lists themselves use (sessions/services.py, billing, enrolments,
evaluations/results.py), so that a figure and its list count alike.

Definitions (decisions where the need was silent; the page says them in a caption):
    - seats filled: the seats held (SEAT_HOLDING enrolments) / the capacity of the sessions not cancelled whose
      first half-day is within [today, today + 90 days];
    - revenue invoiced: the issued invoices minus the issued credit notes, excluding VAT, of the calendar year of
      their issue date, this year and last; paid: the payments received (not cancelled) dated in that year,
      including VAT, whatever the invoice's year;
    - the last 12 months: the sessions not cancelled whose last half-day is within [today − 1 year,
      yesterday]; satisfaction: the mean of every answer (1 to 5) to the scale questions of the submitted hot
      and of the submitted cold surveys of those sessions (the results page's « satisfaction moyenne »);
      completion: the enrolments that completed / those that held a seat in those sessions;
    - sessions at risk: not cancelled, first half-day within AT_RISK_DAYS (J−15 to J−0), seats held below
      their minimum (sessions/services.py: at_risk_condition);
    - funding awaited: the funders' files of the funding board (sessions to come, live enrolments) requested
      and not decided yet: how many, and their requested amount (the line's amount when none was stated);
    - overdue invoices: issued, past their due date, with something left to pay (billing/payments.py): how
      many, and what remains due including VAT.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import Integer, String, and_, case, cast, func, select

from ..billing import payments as billing_payments
from ..billing.invoices import money
from ..billing.models import Invoice, Payment
from ..core.numbers import percent as percent_of
from ..core.timeutil import paris_today
from ..enrolments import services as enrolment_services
from ..enrolments.models import SEAT_HOLDING, Enrolment, EnrolmentStatus, FundingLine
from ..evaluations.models import Answer, Question, Questionnaire, Response
from ..evaluations.results import mean
from ..extensions import db
from ..sessions import services as session_services
from ..sessions.models import TrainingSession

SEATS_DAYS = 90
SCALE_NOTES = ("1", "2", "3", "4", "5")  # a scale answer as JSON text; anything else is not a note


@dataclass(frozen=True)
class Figure:
    """What every card has: a label and the list behind it."""

    label: str
    endpoint: str
    args: dict = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class SeatsFilled(Figure):
    sessions: int = 0
    taken: int = 0
    capacity: int = 0
    start: dt.date | None = None
    end: dt.date | None = None

    @property
    def percent(self) -> Decimal | None:
        return percent_of(self.taken, self.capacity)


@dataclass(frozen=True)
class YearRevenue(Figure):
    year: int = 0
    invoiced: Decimal = Decimal("0.00")  # excluding VAT, net of credit notes
    paid: Decimal = Decimal("0.00")  # payments received, including VAT
    paid_endpoint: str = "billing_payments.journal"
    paid_args: dict = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Satisfaction(Figure):
    hot: Decimal | None = None
    hot_answers: int = 0
    cold: Decimal | None = None
    cold_answers: int = 0
    start: dt.date | None = None
    end: dt.date | None = None


@dataclass(frozen=True)
class Completion(Figure):
    completed: int = 0
    held: int = 0
    start: dt.date | None = None
    end: dt.date | None = None

    @property
    def percent(self) -> Decimal | None:
        return percent_of(self.completed, self.held)


@dataclass(frozen=True)
class Counted(Figure):
    """A count, with an amount when there is one (funding awaited, overdue invoices)."""

    count: int = 0
    amount: Decimal | None = None
    days: int | None = None  # the horizon, for the sessions at risk


def twelve_months(today: dt.date) -> tuple[dt.date, dt.date]:
    """[the same day a year ago, yesterday]: twelve whole months before today."""
    try:
        start = today.replace(year=today.year - 1)
    except ValueError:  # 29 February
        start = today.replace(year=today.year - 1, day=28)
    return start, today - dt.timedelta(days=1)


def _sessions(edge: str, start: dt.date, end: dt.date):
    """SELECT of the ids of the sessions not cancelled whose first or last half-day is in [start, end]."""
    return select(TrainingSession.id).where(TrainingSession.status.in_(session_services.NOT_CANCELLED),
                                            session_services.period_condition(edge, start, end))


def _list_args(edge: str, start: dt.date, end: dt.date) -> dict:
    return {"on": edge, "from": start.isoformat(), "to": end.isoformat(), "status": "active"}


def seats_filled(today: dt.date) -> SeatsFilled:
    """Two queries: the sessions and their capacity, the seats held in them."""
    end = today + dt.timedelta(days=SEATS_DAYS)
    ids = _sessions("start", today, end)
    sessions, capacity = db.session.execute(
        select(func.count(TrainingSession.id), func.coalesce(func.sum(TrainingSession.capacity), 0))
        .where(TrainingSession.id.in_(ids))).one()
    taken = db.session.scalar(select(func.count(Enrolment.id)).where(
        Enrolment.session_id.in_(ids), Enrolment.status.in_(SEAT_HOLDING))) or 0
    return SeatsFilled(label=f"Places occupées à {SEATS_DAYS} jours", endpoint="sessions.index",
                       args=_list_args("start", today, end), sessions=sessions, taken=taken,
                       capacity=int(capacity), start=today, end=end)


def revenue(today: dt.date) -> list[YearRevenue]:
    """This year and last (two queries: the invoices and credit notes, the payments). Payments have no index on
    their date: their sum reads the payment table (a few milliseconds for ten years)."""
    years = (today.year, today.year - 1)

    def within(column, year: int):
        return and_(column >= dt.date(year, 1, 1), column <= dt.date(year, 12, 31))

    # The status is tested in the sums, not in WHERE: the planners then read the issue dates' index (two years
    # of invoices) rather than the index of the statuses (every invoice ever issued).
    issued = Invoice.status == "issued"
    invoiced = db.session.execute(select(*(
        func.coalesce(func.sum(case(
            (and_(issued, within(Invoice.issue_date, year), Invoice.kind == "invoice"), Invoice.total_excl_vat),
            (and_(issued, within(Invoice.issue_date, year), Invoice.kind == "credit_note"), -Invoice.total_excl_vat),
            else_=0)), 0) for year in years))
        .where(Invoice.issue_date >= dt.date(years[-1], 1, 1), Invoice.issue_date <= dt.date(years[0], 12, 31))).one()
    paid = db.session.execute(select(*(
        func.coalesce(func.sum(case((within(Payment.paid_on, year), Payment.amount), else_=0)), 0)
        for year in years))
        .where(Payment.cancelled_at.is_(None), Payment.paid_on >= dt.date(years[-1], 1, 1),
               Payment.paid_on <= dt.date(years[0], 12, 31))).one()
    return [YearRevenue(label=f"Chiffre d'affaires {year}", endpoint="billing.index",
                        args={"year": year, "status": "issued"}, year=year, invoiced=money(invoiced[n]),
                        paid=money(paid[n]), paid_args={"du": f"{year}-01-01", "au": f"{year}-12-31"})
            for n, year in enumerate(years)]


def satisfaction(today: dt.date) -> Satisfaction:
    """Two queries: the hot and cold questionnaires; the count and sum of the notes by questionnaire (driven by the
    sessions of the period, whatever the responses of other years)."""
    start, end = twelve_months(today)
    kinds = dict(db.session.execute(select(Questionnaire.id, Questionnaire.kind)
                                    .where(Questionnaire.kind.in_(("hot", "cold")))).all())
    note = cast(Answer.value, String)
    rows = db.session.execute(
        select(Response.questionnaire_id, func.count(Answer.id), func.sum(cast(note, Integer)))
        .select_from(Answer)
        .join(Response, Response.id == Answer.response_id)
        .join(Question, Question.id == Answer.question_id)
        .where(Response.session_id.in_(_sessions("end", start, end)), Response.status == "submitted",
               Question.kind == "scale", note.in_(SCALE_NOTES))
        .group_by(Response.questionnaire_id)).all() if kinds else []
    found: dict[str, tuple[int, int]] = {}
    for questionnaire_id, count, total in rows:
        if questionnaire_id not in kinds:  # another survey (the funders', the companies'…)
            continue
        known = found.get(kinds[questionnaire_id], (0, 0))
        found[kinds[questionnaire_id]] = (known[0] + count, known[1] + int(total or 0))
    hot, cold = found.get("hot", (0, 0)), found.get("cold", (0, 0))
    return Satisfaction(label="Satisfaction sur 12 mois", endpoint="results.index",
                        args={"du": start.isoformat(), "au": end.isoformat()},
                        hot=mean(hot[1], hot[0]), hot_answers=hot[0], cold=mean(cold[1], cold[0]),
                        cold_answers=cold[0], start=start, end=end)


def completion(today: dt.date) -> Completion:
    """One query: the seats held in the sessions ended in the last 12 months, and how many completed."""
    start, end = twelve_months(today)
    held, completed = db.session.execute(
        select(func.count(Enrolment.id),
               func.coalesce(func.sum(case((Enrolment.status == EnrolmentStatus.COMPLETED.value, 1), else_=0)), 0))
        .where(Enrolment.session_id.in_(_sessions("end", start, end)), Enrolment.status.in_(SEAT_HOLDING))).one()
    return Completion(label="Taux d'achèvement sur 12 mois", endpoint="sessions.index",
                      args=_list_args("end", start, end), completed=int(completed), held=held, start=start, end=end)


def at_risk(today: dt.date) -> Counted:
    """One query."""
    count = db.session.scalar(select(func.count(TrainingSession.id))
                              .where(session_services.at_risk_condition(today))) or 0
    return Counted(label=f"Sessions à risque (J−{session_services.AT_RISK_DAYS})", endpoint="sessions.index",
                   args={"at_risk": 1}, count=count, days=session_services.AT_RISK_DAYS)


def funding_awaited(today: dt.date) -> Counted:
    """One query: the funding board's requested files, and their amount."""
    count, amount = db.session.execute(
        select(func.count(FundingLine.id),
               func.coalesce(func.sum(func.coalesce(FundingLine.requested_amount, FundingLine.amount)), 0))
        .join(Enrolment, Enrolment.id == FundingLine.enrolment_id)
        .where(*enrolment_services.funding_board_conditions(today, status="requested"))).one()
    return Counted(label="Prises en charge attendues", endpoint="enrolments.board", args={"status": "requested"},
                   count=count, amount=money(amount))


def overdue_invoices(today: dt.date) -> Counted:
    """One query (billing/payments.py: overdue_summary)."""
    count, amount = billing_payments.overdue_summary(today)
    return Counted(label="Factures échues impayées", endpoint="billing_payments.overdue", count=count,
                   amount=amount)


def all_figures(today: dt.date | None = None) -> dict:
    """Every figure of the dashboard, by name (ten queries), on ``today`` (Paris's date by default)."""
    today = today or paris_today()
    return {"seats": seats_filled(today), "revenue": revenue(today), "satisfaction": satisfaction(today),
            "completion": completion(today), "at_risk": at_risk(today), "funding": funding_awaited(today),
            "overdue": overdue_invoices(today)}
