"""Reading a meeting tool's attendance report: the CSV files of Microsoft Teams, Zoom and Google Meet, and any other
CSV whose columns the advisor names (a mapping).

A file is decoded (UTF-8 with or without BOM, UTF-16 with a BOM or without, as Teams writes it, else Windows-1252),
cut into cells (tab, semicolon or comma, whichever gives a known header), and its header row looked for anywhere in
it: the tools put a summary above their table (Teams' « 1. Summary », Zoom's meeting line). Each table row gives a
``ReportRow`` (one connection: name, e-mail, join and leave times, or a duration only); rows of one person (an
e-mail, else a name) are merged into an ``Attendee``, whose minutes in a slot are the union of their intervals
clipped to the slot. Times are Europe/Paris wall-clock unless they carry an offset. The formats and their columns
are described in the README (« Rapports de connexion ») and docs/distance.md.
"""
from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
import unicodedata
from dataclasses import dataclass, field
from typing import NoReturn

from ...core.errors import ValidationError
from ...core.formatting import number_fr
from ...core.timeutil import PARIS

SOURCES = {"teams": "Microsoft Teams", "zoom": "Zoom", "meet": "Google Meet", "mapping": "colonnes choisies"}
# What the advisor can say a column holds (the mapping of another tool's CSV), in the form's order.
ROLES = {"email": "Adresse e-mail", "name": "Nom du participant", "join": "Heure de connexion",
         "leave": "Heure de déconnexion", "duration": "Durée de connexion"}
MAX_ROWS = 10000
DELIMITERS = {"\t": "tabulation", ";": "point-virgule", ",": "virgule"}
MOMENT_FORMATS = "25/11/2026 09:00, 2026-11-25T09:00:00 ou 11/25/2026 9:00:00 AM"
DURATION_FORMATS = "45 (minutes), 1h 05m 30s, 1 h 5 min, 3h15 ou 01:05:30"


def column_key(header: str) -> str:
    """A header as compared: lower case, no accents, words of letters and digits (« E-mail » → "e mail")."""
    text = unicodedata.normalize("NFKD", header or "")
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


@dataclass(frozen=True)
class Layout:
    """A tool's table: for each role, the headers that hold it (by ``column_key``, English and French exports), and
    the roles its header row must all have to be recognised."""

    source: str
    headers: dict[str, tuple[str, ...]]
    required: tuple[str, ...]


_EMAIL = ("email", "e mail", "adresse e mail", "courriel")
# In the order tried: the most specific first (Zoom's « Name (Original Name) », Meet's first and last names), and
# Teams' « In-Meeting Activities » (one row per connection) before its « Participants » (first join, last leave).
LAYOUTS = (
    Layout("zoom", {"name": ("name original name", "nom nom d origine", "nom nom original"),
                    "email": ("user email", "e mail de l utilisateur", "adresse e mail de l utilisateur"),
                    "join": ("join time", "heure d arrivee", "heure de participation"),
                    "leave": ("leave time", "heure de depart"),
                    "duration": ("duration minutes", "duree minutes", "total duration minutes")},
           ("name", "email")),
    Layout("meet", {"first_name": ("first name", "prenom"), "last_name": ("last name", "nom de famille", "nom"),
                    "email": _EMAIL, "join": ("time joined", "heure d arrivee", "heure de connexion"),
                    "leave": ("time exited", "heure de depart", "heure de sortie"), "duration": ("duration", "duree")},
           ("first_name", "last_name", "email")),
    Layout("teams", {"name": ("name", "nom"), "email": _EMAIL,
                     "join": ("join time", "heure de participation", "heure d arrivee", "heure de connexion"),
                     "leave": ("leave time", "heure de depart", "heure de deconnexion"),
                     "duration": ("duration", "duree")},
           ("name", "join", "leave")),
    Layout("teams", {"name": ("name", "nom"), "email": _EMAIL,
                     "upn": ("participant id upn", "id du participant upn", "id de participant upn"),
                     "join": ("first join", "premiere participation", "premiere connexion"),
                     "leave": ("last leave", "dernier depart", "derniere deconnexion"),
                     "duration": ("in meeting duration", "duree de la reunion", "duree dans la reunion")},
           ("name", "join", "leave")),
)


@dataclass
class ReportRow:
    """One row of the table: one connection of one person (or their whole time, when the file has only that)."""

    line: int
    name: str
    email: str
    joined: dt.datetime | None = None
    left: dt.datetime | None = None
    seconds: int | None = None  # the duration column, read when the row has no join and leave times


@dataclass
class Attendee:
    """The rows of one person, merged: rejoins are several intervals."""

    email: str  # trimmed, lower case ("" when the tool gave none)
    name: str
    rows: list[ReportRow] = field(default_factory=list)

    @property
    def intervals(self) -> list[tuple[dt.datetime, dt.datetime]]:
        return sorted((r.joined, r.left) for r in self.rows if r.joined is not None and r.left is not None)

    @property
    def first_join(self) -> dt.datetime | None:
        return min((r.joined for r in self.rows if r.joined is not None), default=None)

    @property
    def last_leave(self) -> dt.datetime | None:
        return max((r.left for r in self.rows if r.left is not None), default=None)

    def minutes(self, start: dt.datetime, end: dt.datetime) -> int:
        """Whole minutes connected between ``start`` and ``end``: the union of the intervals clipped to them; a row
        with only a duration (no times) counts as that duration, capped at the span."""
        span = max(0, int((end - start).total_seconds()))
        if not self.intervals:
            return min(sum(r.seconds or 0 for r in self.rows), span) // 60
        total, reach = 0, start
        for joined, left in self.intervals:
            joined, left = max(joined, reach), min(left, end)
            if left > joined:
                total += int((left - joined).total_seconds())
                reach = left
        return total // 60


@dataclass
class ParsedReport:
    source: str
    mapping: dict[str, str]  # column header, as in the file -> role
    rows: list[ReportRow]
    encoding: str
    delimiter: str

    @property
    def source_label(self) -> str:
        return SOURCES[self.source]

    def attendees(self) -> list[Attendee]:
        """The rows merged by person: by e-mail (case and spaces ignored), else by name; in the file's order."""
        found: dict[str, Attendee] = {}
        for row in self.rows:
            key = row.email or "name:" + column_key(row.name)
            attendee = found.setdefault(key, Attendee(row.email, row.name))
            attendee.rows.append(row)
            attendee.name = attendee.name or row.name
        return list(found.values())


class NeedsMapping(ValidationError):
    """No known tool's header in the file: the advisor says which column holds what (``columns``: the headers)."""

    def __init__(self, columns: list[str]):
        super().__init__("Format de rapport non reconnu (ni Teams, ni Zoom, ni Google Meet) : indiquez quelle "
                         "colonne contient l'adresse e-mail, les heures de connexion et de déconnexion ou la durée.",
                         field="file")
        self.columns = columns


def _refuse(message: str) -> NoReturn:
    raise ValidationError(message, field="file")


# --------------------------------------------------------------------------- bytes to cells


def decode(data: bytes) -> tuple[str, str]:
    """The text of the file and its encoding: a BOM says it (UTF-8, UTF-16); UTF-16 without one shows by its zero
    bytes; else UTF-8, else Windows-1252."""
    unreadable = ("Le fichier n'est pas un texte lisible (UTF-8, UTF-16 ou Windows-1252) : exportez le rapport au "
                  "format CSV et recommencez.")
    try:
        if data.startswith(codecs.BOM_UTF8):
            return data[len(codecs.BOM_UTF8):].decode("utf-8"), "utf-8-sig"
        if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return data.decode("utf-16"), "utf-16"
        if len(data) >= 4 and data[1] == 0 and data[3] == 0 and data[0] != 0:
            return data.decode("utf-16-le"), "utf-16-le"
        if len(data) >= 4 and data[0] == 0 and data[2] == 0 and data[1] != 0:
            return data.decode("utf-16-be"), "utf-16-be"
    except UnicodeDecodeError:
        _refuse(unreadable)
    for encoding in ("utf-8", "cp1252"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" in text:
            break
        return text, encoding
    _refuse(unreadable)


def tabulate(text: str, delimiter: str) -> list[tuple[int, list[str]]]:
    """(line number, cells) of each row, the cells trimmed."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows = []
    try:
        for cells in reader:
            rows.append((reader.line_num, [cell.strip().strip("\ufeff") for cell in cells]))
            if len(rows) > MAX_ROWS:
                _refuse(f"Le fichier compte plus de {number_fr(MAX_ROWS)} lignes : ce n'est pas un rapport de "
                        "connexion.")
    except csv.Error:
        _refuse(f"Ligne {reader.line_num + 1} : le fichier n'est pas un CSV lisible (guillemet non refermé, cellule "
                "trop longue…).")
    return rows


def _delimiters(text: str) -> list[str]:
    """The delimiters to try, the most frequent first."""
    return sorted(DELIMITERS, key=lambda d: -text.count(d))


def _blank(cells: list[str]) -> bool:
    return not any(cells)


def columns_of(data: bytes) -> list[str]:
    """The headers of a file of unknown format: its first row of two cells or more, cut by the delimiter that gives
    the most cells (what the mapping form offers)."""
    text, _ = decode(data)
    best: list[str] = []
    for delimiter in _delimiters(text):
        first = next((cells for _, cells in tabulate(text, delimiter) if len([c for c in cells if c]) >= 2), [])
        if len(first) > len(best):
            best = first
    seen: list[str] = []
    for cell in best:
        if cell and cell not in seen:
            seen.append(cell)
    return seen


# --------------------------------------------------------------------------- finding the table


@dataclass
class _Table:
    source: str
    header_line: int
    columns: dict[str, int]  # role -> index
    headers: list[str]
    body: list[tuple[int, list[str]]]


def _match(layout: Layout, cells: list[str]) -> dict[str, int] | None:
    keys = [column_key(c) for c in cells]
    columns = {}
    for role, names in layout.headers.items():
        index = next((i for i, key in enumerate(keys) if key in names and i not in columns.values()), None)
        if index is not None:
            columns[role] = index
    return columns if all(role in columns for role in layout.required) else None


def _body(rows: list[tuple[int, list[str]]], start: int) -> list[tuple[int, list[str]]]:
    """The rows under a header, to the first blank row or section title (« 3. In-Meeting Activities »)."""
    body = []
    for line, cells in rows[start:]:
        if _blank(cells) or (len([c for c in cells if c]) == 1 and re.match(r"^\d+\.\s", cells[0])):
            break
        body.append((line, cells))
    return body


def _find_table(text: str) -> tuple[_Table, str] | None:
    for delimiter in _delimiters(text):
        rows = tabulate(text, delimiter)
        for layout in LAYOUTS:
            for position, (line, cells) in enumerate(rows):
                columns = _match(layout, cells)
                if columns is not None:
                    return _Table(layout.source, line, columns, cells, _body(rows, position + 1)), delimiter
    return None


def _mapped_table(text: str, mapping: dict[str, str]) -> tuple[_Table, str]:
    """The table whose header row holds every column of ``mapping`` (column -> role)."""
    check_mapping(mapping)
    wanted = {column_key(column): role for column, role in mapping.items()}
    for delimiter in _delimiters(text):
        rows = tabulate(text, delimiter)
        for position, (line, cells) in enumerate(rows):
            keys = [column_key(c) for c in cells]
            if all(key in keys for key in wanted):
                columns = {role: keys.index(key) for key, role in wanted.items()}
                return _Table("mapping", line, columns, cells, _body(rows, position + 1)), delimiter
    missing = ", ".join(f"« {c} »" for c in mapping)
    raise ValidationError(f"Les colonnes choisies ({missing}) ne sont pas sur une même ligne d'en-tête du fichier.",
                          field="file")


def check_mapping(mapping: dict[str, str]) -> None:
    """A mapping names each role once at most, the e-mail, and the connection and disconnection times or the
    duration."""
    roles = list(mapping.values())
    unknown = [role for role in roles if role not in ROLES]
    if unknown:
        raise ValidationError(f"Rôle de colonne inconnu : {', '.join(unknown)} (rôles possibles : "
                              f"{', '.join(ROLES)}).", field="mapping")
    twice = sorted({ROLES[role] for role in roles if roles.count(role) > 1})
    if twice:
        raise ValidationError(f"Une seule colonne par information : {', '.join(twice)}.", field="mapping")
    if "email" not in roles:
        raise ValidationError("Choisissez la colonne de l'adresse e-mail : c'est elle qui désigne le stagiaire.",
                              field="email")
    if ("join" in roles) != ("leave" in roles):
        raise ValidationError("Choisissez à la fois la colonne de connexion et celle de déconnexion (ou seulement la "
                              "durée).", field="join" if "join" not in roles else "leave")
    if "join" not in roles and "duration" not in roles:
        raise ValidationError("Choisissez les colonnes de connexion et de déconnexion, ou celle de la durée.",
                              field="join")


# --------------------------------------------------------------------------- values

_SLASHED = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4}|\d{2}),?\s+(\d{1,2})[:h](\d{2})(?::(\d{2}))?"
                      r"\s*([ap])?\.?(?:m\.?)?", re.IGNORECASE)
_TIME = re.compile(r"(\d{1,2})[:h](\d{2})(?::(\d{2}))?\s*([ap])?\.?(?:m\.?)?", re.IGNORECASE)
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:Z|[+-]\d{2}:?\d{2})?", re.IGNORECASE)


def _hour(hour: int, meridiem: str | None) -> int | None:
    if not meridiem:
        return hour if hour < 24 else None
    if not 1 <= hour <= 12:
        return None
    return (hour % 12) + (12 if meridiem.lower() == "p" else 0)


def parse_moment(value: str, day: dt.date) -> dt.datetime | None:
    """A join or leave time as an aware datetime, or None when unreadable. Accepted: ISO 8601 (with or without an
    offset), dd/mm/yyyy HH:MM[:SS], m/d/yyyy h:mm[:ss] AM/PM (two-digit years too), a time alone (of ``day``). A date
    read either way (03/04) is taken as the one that falls on ``day``, else day first unless AM/PM is given."""
    text = " ".join(value.replace("\u202f", " ").replace("\xa0", " ").split())
    if _ISO.fullmatch(text):
        try:
            moment = dt.datetime.fromisoformat(text.replace(" ", "T", 1).replace(" ", ""))
        except ValueError:
            return None
        return moment.replace(tzinfo=PARIS) if moment.tzinfo is None else moment.astimezone(PARIS)
    match = _SLASHED.fullmatch(text)
    if match:
        first, second, year, hour, minute, second_s, meridiem = match.groups()
        year = int(year) + (2000 if len(year) == 2 else 0)
        orders = [(int(second), int(first)), (int(first), int(second))]  # (month, day): day first, then US
        if meridiem:
            orders.reverse()
        dates = []
        for month, day_of_month in orders:
            try:
                dates.append(dt.date(year, month, day_of_month))
            except ValueError:
                continue
        if not dates:
            return None
        date = day if day in dates else dates[0]
        return _at(date, int(hour), int(minute), int(second_s or 0), meridiem)
    match = _TIME.fullmatch(text)
    if match:
        hour, minute, second_s, meridiem = match.groups()
        return _at(day, int(hour), int(minute), int(second_s or 0), meridiem)
    return None


def _at(date: dt.date, hour: int, minute: int, second: int, meridiem: str | None) -> dt.datetime | None:
    hour = _hour(hour, meridiem)
    if hour is None or minute > 59 or second > 59:
        return None
    return dt.datetime(date.year, date.month, date.day, hour, minute, second, tzinfo=PARIS)


_UNITS = {"h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600, "heure": 3600, "heures": 3600,
          "m": 60, "mn": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
          "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1, "seconde": 1, "secondes": 1}


def parse_duration(value: str) -> int | None:
    """Seconds from a duration: a number of minutes (Zoom's « Duration (Minutes) »), « 1h 27m 51s », « 1 hr 5 min »,
    « 45 min », « 3h15 », or « 01:05:30 » / « 1:05 » (hours and minutes). None when unreadable."""
    text = value.strip().casefold().replace(",", ".")
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return round(float(text) * 60)
    match = re.fullmatch(r"(\d{1,3}):(\d{2})(?::(\d{2}))?", text)
    if match:
        hours, minutes, seconds = match.groups()
        return int(hours) * 3600 + int(minutes) * 60 + int(seconds or 0)
    compact = re.sub(r"\s+", "", text)
    match = re.fullmatch(r"(\d+)h(\d{1,2})", compact)  # « 3h15 »
    if match:
        return int(match.group(1)) * 3600 + int(match.group(2)) * 60
    if not re.fullmatch(r"(?:\d+[a-z]+)+", compact):
        return None
    parts = re.findall(r"(\d+)([a-z]+)", compact)
    if any(unit not in _UNITS for _, unit in parts):
        return None
    return sum(int(number) * _UNITS[unit] for number, unit in parts)


def normalise_email(value: str) -> str:
    return (value or "").strip().casefold()


# --------------------------------------------------------------------------- the report


def read_report(data: bytes, day: dt.date, mapping: dict[str, str] | None = None) -> ParsedReport:
    """The rows of a report for a half-day of ``day``: its tool recognised by its header, or read through
    ``mapping`` (column -> role); NeedsMapping when neither. A row whose time or duration cannot be read is a
    ValidationError naming its line and column."""
    text, encoding = decode(data)
    if mapping is not None:
        table, delimiter = _mapped_table(text, mapping)
    else:
        found = _find_table(text)
        if found is None:
            raise NeedsMapping(columns_of(data))
        table, delimiter = found
    rows = [row for line, cells in table.body if (row := _row(table, line, cells, day)) is not None]
    if not rows:
        _refuse(f"Aucune ligne de participant sous l'en-tête (ligne {table.header_line}) : le rapport est vide.")
    used = {table.headers[index]: role for role, index in table.columns.items()}
    return ParsedReport(table.source, used, rows, encoding, delimiter)


def _row(table: _Table, line: int, cells: list[str], day: dt.date) -> ReportRow | None:
    def cell(role: str) -> str:
        index = table.columns.get(role)
        return cells[index].strip() if index is not None and index < len(cells) else ""

    name = cell("name") or " ".join(part for part in (cell("first_name"), cell("last_name")) if part)
    email = normalise_email(cell("email"))
    if not email and "@" in cell("upn"):
        email = normalise_email(cell("upn"))
    if not name and not email:
        return None
    row = ReportRow(line, name, email)
    joined, left, duration = cell("join"), cell("leave"), cell("duration")
    if joined or left:
        row.joined = _moment(table, line, "join", joined, day)
        row.left = _moment(table, line, "leave", left, day)
        if row.left < row.joined:
            _refuse(f"Ligne {line} : la déconnexion ({left}) précède la connexion ({joined}).")
    elif duration:
        row.seconds = parse_duration(duration)
        if row.seconds is None:
            _refuse(f"Ligne {line}, colonne « {_header(table, 'duration')} » : durée illisible (« {duration[:40]} ») ; "
                    f"formats reconnus : {DURATION_FORMATS}.")
    else:
        _refuse(f"Ligne {line} : ni heures de connexion et de déconnexion, ni durée pour {name or email}.")
    return row


def _header(table: _Table, role: str) -> str:
    index = table.columns.get(role)
    return table.headers[index] if index is not None else ROLES.get(role, role)


def _moment(table: _Table, line: int, role: str, value: str, day: dt.date) -> dt.datetime:
    if not value:
        _refuse(f"Ligne {line}, colonne « {_header(table, role)} » : heure manquante.")
    moment = parse_moment(value, day)
    if moment is None:
        _refuse(f"Ligne {line}, colonne « {_header(table, role)} » : date et heure illisibles (« {value[:40]} ») ; "
                f"formats reconnus : {MOMENT_FORMATS}.")
    return moment
