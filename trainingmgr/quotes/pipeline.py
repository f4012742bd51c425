"""The sales pipeline of the quotes: the count and amount of each stage, what expires this week, the conversion
rate by month of sending and by course; and its CSV/XLSX export (an export task, messaging/exports.py).

Every figure is an SQL aggregate: the page costs the same few statements whatever the history holds.

Decision: the conversion rate is accepted / decided (accepted + refused + expired) among the quotes *sent* in the
month (or, per course, in the last twelve months); the quotes still awaiting an answer are shown beside it but left
out of the rate, so that the current month's rate is not dragged down by answers not yet due.
"""
from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import selectinload

from ..catalogue.models import Course, CourseVersion
from ..companies.models import Company
from ..core.errors import ValidationError
from ..core.formatting import month_fr
from ..core.spreadsheet import csv_bytes, xlsx_cell
from ..core.timeutil import PARIS, paris_date, paris_today
from ..extensions import db
from ..messaging import exports
from .models import QUOTE_KINDS, QUOTE_SOURCES, QUOTE_STATUSES, Quote, QuoteStatus

EXPIRING_DAYS = 7  # « expire cette semaine »: sent quotes whose validity ends within this many days
MONTHS = 12  # the conversion table's months, the current one included
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Stage:
    status: str
    label: str
    count: int
    amount: Decimal  # excluding VAT


@dataclass(frozen=True)
class Conversion:
    """Quotes sent in a month (or for a course): how many were accepted, refused or expired, how many await."""

    label: str
    sent: int
    accepted: int
    refused: int
    expired: int
    course_id: int | None = None

    @property
    def decided(self) -> int:
        return self.accepted + self.refused + self.expired

    @property
    def waiting(self) -> int:
        return self.sent - self.decided

    @property
    def rate(self) -> Decimal | None:
        """Accepted / decided, in percent with one decimal; None while nothing is decided."""
        if not self.decided:
            return None
        return (Decimal(self.accepted) * 100 / self.decided).quantize(Decimal("0.1"))


@dataclass(frozen=True)
class Pipeline:
    today: dt.date
    stages: list[Stage]
    expiring_this_week: list[Quote]
    conversion_by_month: list[Conversion]
    conversion_by_course: list[Conversion]

    @property
    def open_count(self) -> int:
        return sum(s.count for s in self.stages if s.status in (QuoteStatus.DRAFT.value, QuoteStatus.SENT.value))

    @property
    def open_amount(self) -> Decimal:
        return sum((s.amount for s in self.stages if s.status in (QuoteStatus.DRAFT.value, QuoteStatus.SENT.value)),
                   ZERO)


def pipeline(today: dt.date | None = None) -> Pipeline:
    """The pipeline page's figures on ``today`` (Paris)."""
    today = today or paris_today()
    months = _months(today)
    return Pipeline(today, stages(), expiring(today), conversion_by_month(months), conversion_by_course(months))


def stages() -> list[Stage]:
    """Each status with its count and amount excluding VAT, in the workflow's order (one statement)."""
    found = {status: (count, amount) for status, count, amount in db.session.execute(
        select(Quote.status, func.count(Quote.id), func.coalesce(func.sum(Quote.total_excl_vat), 0))
        .group_by(Quote.status))}
    return [Stage(status, label, found.get(status, (0, 0))[0], Decimal(found.get(status, (0, 0))[1]).quantize(ZERO))
            for status, label in QUOTE_STATUSES.items()]


def expiring(today: dt.date, days: int = EXPIRING_DAYS) -> list[Quote]:
    """The sent quotes whose validity ends from ``today`` to ``today + days``, soonest first."""
    return list(db.session.scalars(
        select(Quote).where(Quote.status == QuoteStatus.SENT.value, Quote.valid_until >= today,
                            Quote.valid_until <= today + dt.timedelta(days=days))
        .options(selectinload(Quote.company), selectinload(Quote.course).selectinload(Course.current_version))
        .order_by(Quote.valid_until, Quote.id)))


def _months(today: dt.date, count: int = MONTHS) -> list[tuple[dt.date, dt.datetime, dt.datetime]]:
    """The last ``count`` months, oldest first: (first day, start, end), the bounds as UTC instants of Paris months."""
    firsts = [dt.date(today.year, today.month, 1)]
    for _ in range(count):  # one more: the month after the current one ends it
        day = firsts[0] - dt.timedelta(days=1)
        firsts.insert(0, dt.date(day.year, day.month, 1))
    firsts = firsts[1:] + [dt.date(today.year + today.month // 12, today.month % 12 + 1, 1)]
    moments = [dt.datetime.combine(day, dt.time(), PARIS).astimezone(dt.UTC) for day in firsts]
    return [(firsts[i], moments[i], moments[i + 1]) for i in range(count)]


def _decided_counts(condition) -> list:
    """sent, accepted, refused, expired among the quotes matching ``condition`` (SQL sums)."""
    def count(where):
        return func.coalesce(func.sum(case((and_(condition, where), 1), else_=0)), 0)

    return [count(Quote.sent_at.is_not(None)), count(Quote.status == QuoteStatus.ACCEPTED.value),
            count(Quote.status == QuoteStatus.REFUSED.value), count(Quote.status == QuoteStatus.EXPIRED.value)]


def conversion_by_month(months) -> list[Conversion]:
    """For each month, the quotes sent in it and what became of them (one statement for every month)."""
    columns = []
    for _, start, end in months:
        columns += _decided_counts(and_(Quote.sent_at >= start, Quote.sent_at < end))
    row = db.session.execute(select(*columns).select_from(Quote).where(Quote.sent_at.is_not(None))).one()
    return [Conversion(month_fr(first), *(int(v) for v in row[i * 4:i * 4 + 4]))
            for i, (first, _, _) in enumerate(months)]


def conversion_by_course(months) -> list[Conversion]:
    """For each course with quotes sent over the months of the table, what became of them (one statement)."""
    start, end = months[0][1], months[-1][2]
    title = func.coalesce(CourseVersion.title, Course.slug)
    sent = and_(Quote.sent_at >= start, Quote.sent_at < end)
    rows = db.session.execute(
        select(Quote.course_id, title, *_decided_counts(sent))
        .join(Course, Course.id == Quote.course_id)
        .outerjoin(CourseVersion, CourseVersion.id == Course.current_version_id)
        .where(sent).group_by(Quote.course_id, title).order_by(title))
    return [Conversion(label, *(int(v) for v in counts), course_id=course_id)
            for course_id, label, *counts in rows]


# --------------------------------------------------------------------------- the export

EXPORT_HEADERS = ["Numéro", "Statut", "Nature", "Origine", "Formation", "Entreprise", "SIRET", "Contact", "E-mail",
                  "Téléphone", "Places / personnes", "Créé le", "Envoyé le", "Valable jusqu'au", "Décidé le",
                  "Montant HT", "TVA %", "Montant TTC", "Motif du refus"]
DATE_COLUMNS = (11, 12, 13, 14)
MONEY_COLUMNS = (15, 17)


def pipeline_rows() -> list[list]:
    """One row per quote, by number, read as plain columns (no ORM object): the export's rows."""
    title = func.coalesce(CourseVersion.title, Course.slug)
    rows = db.session.execute(
        select(Quote.number, Quote.status, Quote.kind, Quote.source, title, Company.name, Company.siret,
               Quote.contact_name, Quote.contact_email, Quote.contact_phone, Quote.seats, Quote.headcount,
               Quote.created_at, Quote.sent_at, Quote.valid_until, Quote.decided_at, Quote.total_excl_vat,
               Quote.vat_rate, Quote.refusal_reason)
        .join(Course, Course.id == Quote.course_id)
        .outerjoin(CourseVersion, CourseVersion.id == Course.current_version_id)
        .join(Company, Company.id == Quote.company_id)
        .order_by(Quote.year, Quote.sequence))
    found = []
    for (number, status, kind, source, course, company, siret, name, email, phone, seats, headcount, created, sent,
         valid_until, decided, total, vat_rate, reason) in rows:
        total = Decimal(total or 0).quantize(ZERO)
        vat_rate = Decimal(vat_rate or 0)
        incl = total + (total * vat_rate / 100).quantize(ZERO)
        found.append([number, QUOTE_STATUSES.get(status, status), QUOTE_KINDS.get(kind, kind),
                      QUOTE_SOURCES.get(source, source), course, company, siret or "", name, email, phone,
                      seats if seats is not None else headcount, paris_date(created), paris_date(sent), valid_until,
                      paris_date(decided), total, vat_rate.normalize() if vat_rate else Decimal(0), incl, reason])
    return found


def to_csv(rows: Iterable[list]) -> bytes:
    return csv_bytes(EXPORT_HEADERS, rows)


def to_xlsx(rows: Iterable[list]) -> bytes:
    """One sheet « Devis », dates as real dates shown dd/mm/yyyy, amounts as numbers with two decimals."""
    from openpyxl import Workbook  # loaded only when an XLSX is built (75 ms), not at each start
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    ws = book.active
    ws.title = "Devis"
    ws.append(EXPORT_HEADERS)
    for c in ws[1]:
        c.font = Font(bold=True)
    for row in rows:
        ws.append([xlsx_cell(v) for v in row])
    for row in ws.iter_rows(min_row=2):
        for index in DATE_COLUMNS:
            row[index].number_format = "DD/MM/YYYY"
        for index in MONEY_COLUMNS:
            row[index].number_format = "#,##0.00"
        for cell in row:
            cell.alignment = Alignment(vertical="top")
    ws.freeze_panes = "A2"
    for index, width in enumerate([15, 10, 30, 16, 36, 30, 16, 24, 28, 16, 10, 11, 11, 11, 11, 12, 7, 12, 40],
                                  start=1):
        ws.column_dimensions[get_column_letter(index)].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


FORMATS: dict[str, tuple[str, Callable[[Iterable[list]], bytes]]] = {
    "csv": (exports.CSV, to_csv), "xlsx": (exports.XLSX, to_xlsx)}


def parse_export(args: Mapping[str, str], actor) -> dict:
    """fmt (csv, xlsx): every quote."""
    fmt = str(args.get("fmt") or "").strip()
    if fmt not in FORMATS:
        raise ValidationError("Format d'export inconnu : choisissez csv ou xlsx.", field="fmt")
    return {"fmt": fmt}


@exports.exporter("quotes_pipeline", lambda p: f"Export des devis ({p['fmt'].upper()})", parse_export)
def build_export(params: dict, actor, rows) -> exports.Built:
    content_type, write = FORMATS[params["fmt"]]
    return exports.Built(write(rows(pipeline_rows())), f"devis-{paris_today().isoformat()}.{params['fmt']}",
                         content_type)
