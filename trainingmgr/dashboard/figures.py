"""The advisor's figures on the dashboard, each a link to the list that shows the same rows.

Three groups, each one SQL statement whatever the history holds; each figure is a small frozen dataclass (values,
French label, the list it links to). See docs/dashboard.md for the definitions."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache

from sqlalchemy import Integer, String, and_, case, cast, func, select, true

from ..billing.payments import services as billing_payments
from ..core.numbers import money
from ..billing.models import Invoice, InvoiceKind, InvoiceStatus, Payment
from ..core.memo import remembered
from ..core.numbers import percent as percent_of
from ..core.timeutil import paris_today
from ..enrolments import services as enrolment_services
from ..enrolments.models import SEAT_HOLDING, Enrolment, EnrolmentStatus, FundingLine
from ..evaluations.models import Answer, Question, Questionnaire, Response
from ..evaluations.results.figures import mean
from ..extensions import db
from ..sessions import services as session_services
from ..sessions.models import ACTIVE_FILTER, NOT_CANCELLED, TrainingSession

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
    return select(TrainingSession.id).where(TrainingSession.status.in_(NOT_CANCELLED),
                                            session_services.period_condition(edge, start, end))


def _list_args(edge: str, start: dt.date, end: dt.date) -> dict:
    return {"on": edge, "from": start.isoformat(), "to": end.isoformat(), "status": ACTIVE_FILTER}


def _joined(*queries):
    """Several single-row aggregate SELECTs as one statement, a cross join of their one-row results: each keeps its
    own plan (its date range and indexes), the page makes one round trip per group of figures."""
    parts = [query.subquery(f"figures_{n}") for n, query in enumerate(queries)]
    statement = select(*(column.label(f"v{n}_{i}") for n, part in enumerate(parts) for i, column in enumerate(part.c)))
    statement = statement.select_from(parts[0])
    for part in parts[1:]:
        statement = statement.join(part, true())
    return statement


@lru_cache(maxsize=4)
def _statements(today: dt.date) -> dict:
    """The three statements of ``today``, built once a day per process: building them cost more than running them
    (about 6 ms a page). A statement is immutable: the threads share it, as SQLAlchemy's own caches do."""
    end = today + dt.timedelta(days=SEATS_DAYS)
    ids = _sessions("start", today, end)
    start, last = twelve_months(today)
    years = (today.year, today.year - 1)
    return {
        "ahead": _joined(
            select(func.count(TrainingSession.id), func.coalesce(func.sum(TrainingSession.capacity), 0))
            .where(TrainingSession.id.in_(ids)),
            select(func.count(Enrolment.id)).where(Enrolment.session_id.in_(ids), Enrolment.status.in_(SEAT_HOLDING)),
            select(func.count(TrainingSession.id)).where(session_services.at_risk_condition(today))),
        "money": _joined(*_revenue_queries(years), _funding_query(today)),
        "last_year": _joined(_satisfaction_query(start, last), _completion_query(start, last)),
    }


def _one_row(today: dt.date, name: str) -> tuple:
    return tuple(db.session.execute(_statements(today)[name]).one())


def _ahead(today: dt.date) -> tuple[SeatsFilled, Counted]:
    """The sessions to come, one statement: the seats filled within SEATS_DAYS (the sessions and their capacity,
    the seats held in them) and the sessions at risk."""
    end = today + dt.timedelta(days=SEATS_DAYS)
    sessions, capacity, taken, risky = _one_row(today, "ahead")
    seats = SeatsFilled(label=f"Places occupées à {SEATS_DAYS} jours", endpoint="sessions.index",
                        args=_list_args("start", today, end), sessions=sessions, taken=taken or 0,
                        capacity=int(capacity), start=today, end=end)
    risk = Counted(label=f"Sessions à risque (J−{session_services.AT_RISK_DAYS})", endpoint="sessions.index",
                   args={"at_risk": 1}, count=risky or 0, days=session_services.AT_RISK_DAYS)
    return seats, risk


def _revenue_queries(years: tuple[int, ...]) -> tuple:
    """This year's and last year's invoiced (net of credit notes, excluding VAT) and paid (including VAT) sums,
    each bounded by its dates' index (the issue dates, the payment dates)."""

    def within(column, year: int):
        return and_(column >= dt.date(year, 1, 1), column <= dt.date(year, 12, 31))

    # The status is tested in the sums, not in WHERE: the planners then read the issue dates' index (two years
    # of invoices) rather than the index of the statuses (every invoice ever issued).
    issued = Invoice.status == InvoiceStatus.ISSUED.value
    invoiced = select(*(
        func.coalesce(func.sum(case(
            (and_(issued, within(Invoice.issue_date, year), Invoice.kind == InvoiceKind.INVOICE.value), Invoice.total_excl_vat),
            (and_(issued, within(Invoice.issue_date, year), Invoice.kind == InvoiceKind.CREDIT_NOTE.value), -Invoice.total_excl_vat),
            else_=0)), 0).label(f"invoiced_{year}") for year in years)).where(
        Invoice.issue_date >= dt.date(years[-1], 1, 1), Invoice.issue_date <= dt.date(years[0], 12, 31))
    paid = select(*(
        func.coalesce(func.sum(case((within(Payment.paid_on, year), Payment.amount), else_=0)), 0).label(f"paid_{year}")
        for year in years)).where(Payment.cancelled_at.is_(None), Payment.paid_on >= dt.date(years[-1], 1, 1),
                                  Payment.paid_on <= dt.date(years[0], 12, 31))
    return invoiced, paid


def _funding_query(today: dt.date):
    """The funding board's requested files, and their amount."""
    return (select(func.count(FundingLine.id),
                   func.coalesce(func.sum(func.coalesce(FundingLine.requested_amount, FundingLine.amount)), 0))
            .join(Enrolment, Enrolment.id == FundingLine.enrolment_id)
            .where(*enrolment_services.funding_board_conditions(today, status="requested")))


def _money(today: dt.date) -> tuple[list[YearRevenue], Counted]:
    """Revenue this year and last, and the funding awaited: one statement."""
    years = (today.year, today.year - 1)
    row = _one_row(today, "money")
    count, amount = row[2 * len(years):]
    revenue = [YearRevenue(label=f"Chiffre d'affaires {year}", endpoint="billing.index",
                           args={"year": year, "status": "issued"}, year=year, invoiced=money(row[n]),
                           paid=money(row[len(years) + n]), paid_args={"du": f"{year}-01-01", "au": f"{year}-12-31"})
               for n, year in enumerate(years)]
    funding = Counted(label="Prises en charge attendues", endpoint="enrolments.board", args={"status": "requested"},
                      count=count or 0, amount=money(amount))
    return revenue, funding


def _satisfaction_query(start: dt.date, end: dt.date):
    """The count and the sum of the notes of the hot and of the cold surveys (driven by the sessions of the period,
    whatever the responses of other years); other questionnaires (the funders', the companies'…) left out."""
    note = cast(Answer.value, String)
    value = cast(note, Integer)
    columns = []
    for kind in ("hot", "cold"):
        # An IN list of the few questionnaires of the kind, not a join: the planners then start from the
        # sessions of the period (a join let SQLite read every response to the hot survey ever given).
        of_kind = Response.questionnaire_id.in_(select(Questionnaire.id).where(Questionnaire.kind == kind))
        columns += [func.count(case((of_kind, Answer.id))).label(f"{kind}_answers"),
                    func.coalesce(func.sum(case((of_kind, value))), 0).label(f"{kind}_total")]
    return (select(*columns).select_from(Answer)
            .join(Response, Response.id == Answer.response_id)
            .join(Question, Question.id == Answer.question_id)
            .where(Response.session_id.in_(_sessions("end", start, end)), Response.submitted,
                   Question.kind == "scale", note.in_(SCALE_NOTES)))


def _completion_query(start: dt.date, end: dt.date):
    """The seats held in the sessions ended in the period, and how many completed."""
    return select(func.count(Enrolment.id),
                  func.coalesce(func.sum(case((Enrolment.status == EnrolmentStatus.COMPLETED.value, 1), else_=0)), 0)
                  ).where(Enrolment.session_id.in_(_sessions("end", start, end)), Enrolment.status.in_(SEAT_HOLDING))


def _last_year(today: dt.date) -> tuple[Satisfaction, Completion]:
    """The last 12 months, one statement: satisfaction and completion."""
    start, end = twelve_months(today)
    hot_answers, hot_total, cold_answers, cold_total, held, completed = _one_row(today, "last_year")
    satisfaction = Satisfaction(label="Satisfaction sur 12 mois", endpoint="results.index",
                                args={"du": start.isoformat(), "au": end.isoformat()},
                                hot=mean(int(hot_total or 0), hot_answers or 0), hot_answers=hot_answers or 0,
                                cold=mean(int(cold_total or 0), cold_answers or 0), cold_answers=cold_answers or 0,
                                start=start, end=end)
    completion = Completion(label="Taux d'achèvement sur 12 mois", endpoint="sessions.index",
                            args=_list_args("end", start, end), completed=int(completed or 0), held=held or 0,
                            start=start, end=end)
    return satisfaction, completion


def seats_filled(today: dt.date) -> SeatsFilled:
    return _ahead(today)[0]


def at_risk(today: dt.date) -> Counted:
    return _ahead(today)[1]


def revenue(today: dt.date) -> list[YearRevenue]:
    return _money(today)[0]


def funding_awaited(today: dt.date) -> Counted:
    return _money(today)[1]


def satisfaction(today: dt.date) -> Satisfaction:
    return _last_year(today)[0]


def completion(today: dt.date) -> Completion:
    return _last_year(today)[1]


def overdue_invoices(today: dt.date) -> Counted:
    """One query (billing/payments.py: overdue_summary), kept a minute per process (core/memo.py): an unpaid
    invoice of any age counts, so the query sums every invoice ever issued and its payments."""
    count, amount = remembered("overdue_invoices", today, lambda: billing_payments.overdue_summary(today))
    return Counted(label="Factures échues impayées", endpoint="billing_payments.overdue", count=count,
                   amount=amount)


def all_figures(today: dt.date | None = None) -> dict:
    """Every figure of the dashboard, by name, on ``today`` (Paris's date by default): three statements (the
    sessions to come, the last 12 months, the money), and the overdue invoices' when core/memo.py has forgotten
    them."""
    today = today or paris_today()
    seats, risk = _ahead(today)
    revenue_, funding = _money(today)
    satisfaction_, completion_ = _last_year(today)
    return {"seats": seats, "revenue": revenue_, "satisfaction": satisfaction_, "completion": completion_,
            "at_risk": risk, "funding": funding, "overdue": overdue_invoices(today)}
