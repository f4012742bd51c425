"""The yearly Bilan pédagogique et financier (BPF, cerfa 10443*17), computed from the data, never typed: a
handful of GROUP BY queries whatever the volume. Where each figure comes from: see docs/bpf.md."""
from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import and_, case, func, literal, select, type_coerce, union_all
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from ...accounts.models import User
from ...catalogue.classification import BPF_OBJECTIVES, DEFAULT_OBJECTIVE, NSF_GROUPS, nsf_group
from ...catalogue.models import Course, CourseVersion
from ...core.errors import ErrorCollector, NotFoundError, ValidationError
from ...core.formatting import count_fr, hours_fr, money_fr, plural_fr
from ...core.halfday import hours_between
from ...core.identifiers import format_siret
from ...core.numbers import money
from ...core.spreadsheet import xlsx_cell
from ...core.timeutil import paris_today, utcnow
from ...core.types import Hours, Money
from ...core.validation import parse_decimal
from ...enrolments.funders import FUNDERS
from ...enrolments.models import SEAT_HOLDING, SELF_EMPLOYED_FUNDS, Enrolment, EnrolmentStatus, FundingLine
from ...extensions import db
from ...organisation.services import get_organisation
from ...resources.models import EXTERNAL_STATUSES, Trainer
from ...sessions.models import ANNOUNCED, REMOTE_MODALITIES, Slot, TrainingSession, session_trainer
from ...subcontracting.models import TrainerInvoice
from ...trainees.models import BPF_STATUSES, Trainee
from ..kinds import PayerKind
from ..models import BpfYear, Invoice, InvoiceKind, InvoiceStatus

YEAR_MIN, YEAR_MAX = 2000, 2100
ZERO = Decimal("0.00")
TO_COMPLETE = "à compléter"

# --------------------------------------------------------------------------- reference lists

RNCP_OBJECTIVES = ("rncp_6_8", "rncp_5", "rncp_4", "rncp_3", "rncp_2", "rncp_cqp")
# The lines of F-3 as the form prints them: (code, label, objectives counted on the line).
F3_LINES = (
    ("a", "Formations visant un diplôme, un titre à finalité professionnelle ou un certificat de qualification "
          "professionnelle enregistré au Répertoire national des certifications professionnelles (RNCP)",
     RNCP_OBJECTIVES),
    ("a1", "dont de niveau 6 à 8 (licence, master, diplôme d'ingénieur, doctorat…)", ("rncp_6_8",)),
    ("a2", "dont de niveau 5 (BTS, DUT, écoles de formation sanitaire et sociale…)", ("rncp_5",)),
    ("a3", "dont de niveau 4 (baccalauréat professionnel, BT, BP, BM…)", ("rncp_4",)),
    ("a4", "dont de niveau 3 (BEP, CAP…)", ("rncp_3",)),
    ("a5", "dont de niveau 2", ("rncp_2",)),
    ("a6", "dont certificat de qualification professionnelle (CQP) sans niveau de qualification", ("rncp_cqp",)),
    ("b", "Formations visant une certification (dont CQP) ou une habilitation enregistrée au répertoire "
          "spécifique (RS)", ("rs",)),
    ("c", "Formations visant un CQP non enregistré au RNCP ou au RS", ("cqp",)),
    ("d", "Autres formations professionnelles", ("other",)),
    ("e", "Bilans de compétences", ("skills_assessment",)),
    ("f", "Actions d'accompagnement à la validation des acquis de l'expérience", ("vae",)),
)

F4_TOP = 5

# F-1: the trainee's BPF status (Trainee.bpf_status) → the form's line.
F1_LINES = (
    ("a", "Salariés d'employeurs privés hors apprentis"),
    ("b", "Apprentis"),
    ("c", "Personnes en recherche d'emploi formées par votre organisme de formation"),
    ("d", "Particuliers à leurs propres frais formés par votre organisme de formation"),
    ("e", "Autres stagiaires (travailleurs non salariés, agents publics…)"),
)
STATUS_F1_LINE = {"employee": "a", "job_seeker": "c", "individual": "d", "self_employed": "e", "other": "e"}
OTHER_F1_LINE = "e"
# F-1: the funding says who the trainee is, before the trainee's status: a France Travail line (AIF) → c; a fund of
# the self-employed → e; only lines paid by the trainee → d (``_funding_f1_line``). With the words of the warning
# when the trainee's status says otherwise: (one trainee, several).
FUNDED_F1_WORDS = {
    "c": ("financé par France Travail", "financés par France Travail"),
    "e": ("financé par un fonds des non-salariés", "financés par un fonds des non-salariés"),
    "d": ("finançant seul sa formation", "finançant seuls leur formation"),
}

# C: who paid the organisation.
C_LINES = (
    ("1", "Des entreprises pour la formation de leurs salariés"),
    ("2a", "Des organismes gestionnaires des fonds de la formation professionnelle : contrats d'apprentissage"),
    ("2b", "… contrats de professionnalisation"),
    ("2c", "… promotion ou reconversion par alternance (Pro-A)"),
    ("2d", "… projets de transition professionnelle"),
    ("2e", "… compte personnel de formation"),
    ("2f", "… dispositifs spécifiques pour les personnes en recherche d'emploi"),
    ("2g", "… dispositifs spécifiques pour les travailleurs non salariés"),
    ("2h", "… plan de développement des compétences ou autres dispositifs"),
    ("2", "Total des produits provenant des organismes gestionnaires des fonds de la formation professionnelle "
          "(lignes 2a à 2h)"),
    ("3", "Des pouvoirs publics pour la formation de leurs agents (État, collectivités territoriales, "
          "établissements publics à caractère administratif)"),
    ("4", "Des pouvoirs publics pour la formation de publics spécifiques : instances européennes"),
    ("5", "… État"),
    ("6", "… conseils régionaux"),
    ("7", "… France Travail (ex-Pôle emploi)"),
    ("8", "… autres ressources publiques"),
    ("9", "De contrats conclus avec des personnes à titre individuel et à leurs frais"),
    ("10", "De contrats conclus avec d'autres organismes de formation (y compris CFA)"),
    ("11", "Autres produits au titre de la formation professionnelle"),
)
C_OPCO_SUBLINES = ("2a", "2b", "2c", "2d", "2e", "2f", "2g", "2h")
C_TOTAL_PARTS = ("1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11")
PAYER_KIND_LINE = {PayerKind.COMPANY.value: "1", PayerKind.SELF_EMPLOYED_FUND.value: "2g",
                   PayerKind.PUBLIC_BUYER.value: "3", PayerKind.FRANCE_TRAVAIL.value: "7",
                   PayerKind.INDIVIDUAL.value: "9"}
# A public funder of a specific public, by Invoice.funder_category (enrolments.models.PUBLIC_FUNDER_CATEGORIES).
PUBLIC_FUNDER_LINES = {"europe": "4", "state": "5", "region": "6", "other": "8"}
OTHER_PUBLIC_FUNDER_LINE = "8"
OTHER_PRODUCTS_LINE = "11"
# A funding scheme of a funds manager → its sub-line of line 2. Nothing records the scheme yet: every OPCO invoice
# is « plan de développement des compétences ou autres dispositifs » (2h), except the non-salaried workers' funds.
OPCO_SCHEME_LINES = {
    "apprenticeship": "2a", "professionalisation": "2b", "pro_a": "2c", "transition": "2d", "cpf": "2e",
    "job_seekers": "2f", "non_salaried": "2g", "plan": "2h",
}
DEFAULT_OPCO_SCHEME = "plan"
# Funds of non-salaried workers (training funds of the self-employed), as _fund_key writes them: an invoice to an
# OPCO bearing one of these names (recorded before the funds had their own kind) goes to 2g.
NON_SALARIED_FUNDS = frozenset(re.sub(r"[^A-Z0-9]", "", name.upper()) for name in SELF_EMPLOYED_FUNDS)


# What BpfYear holds, with the form's labels (for the messages).
AMOUNT_FIELDS = {
    "total_turnover": "Le chiffre d'affaires global",
    "charges_total": "Le total des charges",
    "charges_trainer_salaries": "Les salaires des formateurs",
    "charges_purchased_training": "Les achats de prestations de formation",
}
TEXT_FIELDS = {"manager_name": "Le nom du dirigeant", "manager_title": "La qualité du dirigeant"}
MAX_TEXT = 120


# --------------------------------------------------------------------------- the figures


@dataclass
class AmountLine:
    code: str
    label: str
    amount: Decimal | None = ZERO
    level: int = 0  # 1: a sub-line (2a–2h, « dont »)
    total: bool = False
    detail: str = ""  # where a computed figure comes from


@dataclass
class TraineeLine:
    code: str
    label: str
    trainees: int = 0
    hours: Decimal = ZERO
    level: int = 0
    total: bool = False

    def add(self, trainees: int, hours: Decimal) -> None:
        self.trainees += trainees
        self.hours += hours


@dataclass
class TrainerLine:
    code: str
    label: str
    trainers: int = 0
    hours: Decimal = ZERO
    total: bool = False


@dataclass
class InfoField:
    label: str
    value: str

    @property
    def missing(self) -> bool:
        return not self.value


@dataclass
class Check:
    label: str
    ok: bool
    detail: str = ""


@dataclass
class Bpf:
    year: int
    period_start: dt.date
    period_end: dt.date
    identification: list[InfoField]
    # B « formation à distance »: oui when a half-day of the year's sessions is virtual or asynchronous
    # (remote_half_days), or when the advisor declared it (distance_declared, BpfYear.distance_training: distance
    # training the half-days do not show); never "à compléter".
    distance_training: bool
    remote_half_days: int
    distance_declared: bool
    products: list[AmountLine]
    turnover: Decimal | None
    turnover_share: Decimal | None
    charges: list[AmountLine]
    trainers: list[TrainerLine]
    by_type: list[TraineeLine]  # F-1
    subcontracted: TraineeLine  # F-2
    by_objective: list[TraineeLine]  # F-3
    by_specialty: list[TraineeLine]  # F-4
    entrusted: TraineeLine  # G
    manager_name: str
    manager_title: str
    manager_from_organisation: bool
    settings: BpfYear | None
    checks: list[Check] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def distance_basis(self) -> str:
        """How the distance answer was reached, for the page and the export."""
        if self.remote_half_days:
            return f"calculé d'après les demi-journées ({self.remote_half_days} à distance)"
        if self.distance_declared:
            return "déclaré par l'organisme (aucune demi-journée à distance dans les sessions de l'année)"
        return "calculé d'après les demi-journées (aucune à distance)"

    @property
    def products_total(self) -> Decimal:
        return self.products[-1].amount

    @property
    def checks_ok(self) -> bool:
        return all(check.ok for check in self.checks)

    def product(self, code: str) -> Decimal:
        return next(line.amount for line in self.products if line.code == code)


def check_year(year) -> int:
    """The year of a URL or an API call: 2000–2100, or 404 with a French message."""
    try:
        number = int(year)
    except (TypeError, ValueError):
        number = 0
    if not YEAR_MIN <= number <= YEAR_MAX:
        raise NotFoundError(f"Année inconnue : le BPF couvre une année de {YEAR_MIN} à {YEAR_MAX}.")
    return number


def default_year(today: dt.date | None = None) -> int:
    """The last closed financial year: the BPF of year N is filed in the spring of N + 1."""
    return (today or paris_today()).year - 1


def year_session_ids(start: dt.date, end: dt.date):
    """The sessions of the year: their last half-day falls in [start, end]; draft and cancelled ones left out.
    Only the sessions with a half-day in the year are grouped (the others cannot qualify), not every slot
    of the history."""
    other = aliased(Slot)  # an alias: the same table as the outer query's, not correlated with it
    in_year = select(other.session_id).where(other.date >= start, other.date <= end)
    return (select(Slot.session_id)
            .join(TrainingSession, TrainingSession.id == Slot.session_id)
            .where(TrainingSession.status.in_(ANNOUNCED), Slot.session_id.in_(in_year))
            .group_by(Slot.session_id)
            .having(and_(func.max(Slot.date) >= start, func.max(Slot.date) <= end)))


def _product_rows(start: dt.date, end: dt.date):
    """(payer kind, kind, fund name, public funder's category, sum excl. VAT) of the invoices and credit notes
    issued in the year."""
    return db.session.execute(
        select(Invoice.payer_kind, Invoice.kind, Invoice.opco_name, Invoice.funder_category,
               type_coerce(func.sum(Invoice.total_excl_vat), Money()))
        .where(Invoice.status == InvoiceStatus.ISSUED.value, Invoice.issue_date >= start, Invoice.issue_date <= end)
        .group_by(Invoice.payer_kind, Invoice.kind, Invoice.opco_name, Invoice.funder_category)).all()


def _fund_key(name: str | None) -> str:
    return re.sub(r"[^A-Z0-9]", "", (name or "").upper())


def product_line(payer_kind: str, fund_name: str | None = None, funder_category: str | None = None) -> str:
    """The line of section C for an invoice's payer (a public funder's by its category)."""
    if payer_kind == PayerKind.OPCO.value:
        scheme = "non_salaried" if _fund_key(fund_name) in NON_SALARIED_FUNDS else DEFAULT_OPCO_SCHEME
        return OPCO_SCHEME_LINES[scheme]
    if payer_kind == PayerKind.PUBLIC_FUNDER.value:
        return PUBLIC_FUNDER_LINES.get(funder_category or "", OTHER_PUBLIC_FUNDER_LINE)
    return PAYER_KIND_LINE.get(payer_kind, OTHER_PRODUCTS_LINE)


def _products(rows, warnings: list[str]) -> list[AmountLine]:
    amounts = {code: ZERO for code, _ in C_LINES}
    for payer_kind, kind, fund_name, funder_category, total in rows:
        sign = -1 if kind == InvoiceKind.CREDIT_NOTE.value else 1
        amounts[product_line(payer_kind, fund_name, funder_category)] += sign * money(total)
    amounts["2"] = sum((amounts[code] for code in C_OPCO_SUBLINES), ZERO)
    lines = [AmountLine(code, label, amounts[code], level=1 if code in C_OPCO_SUBLINES else 0, total=code == "2")
             for code, label in C_LINES]
    lines.append(AmountLine("total", "Total des produits réalisés au titre de la formation professionnelle "
                                     "(lignes 1 à 11)", sum((amounts[c] for c in C_TOTAL_PARTS), ZERO), total=True))
    for line in lines:
        if line.amount < 0:
            warnings.append(f"Ligne C-{line.code} négative : les avoirs émis dans l'année dépassent les factures "
                            "de l'année pour ce financeur.")
    return lines


def _funding_f1_line():
    """The F-1 line an enrolment's funding lines decide (``FUNDED_F1_WORDS``), or "" when the trainee's status
    does: a CASE over which kinds the enrolment has, for a query joining its lines and grouped by enrolment."""
    def has_line(condition):
        return func.max(case((condition, 1), else_=0)) == 1

    def funded_line(kind: str) -> str:  # the funder's trainees (enrolments.funders) → their status's line
        return STATUS_F1_LINE[FUNDERS[kind].bpf_status]

    france_travail, fund, individual = (PayerKind.FRANCE_TRAVAIL.value, PayerKind.SELF_EMPLOYED_FUND.value,
                                        PayerKind.INDIVIDUAL.value)
    return case(
        (has_line(FundingLine.kind == france_travail), literal(funded_line(france_travail))),
        (has_line(FundingLine.kind == fund), literal(funded_line(fund))),
        (and_(has_line(FundingLine.kind == individual), ~has_line(FundingLine.kind != individual)), literal("d")),
        else_=literal(""))


def _trainee_rows(session_ids):
    """Per course, trainee status and F-1 line decided by the funding (""): enrolments, hours attended, and
    enrolments without hours recorded. A derived table gives each counted enrolment once (its funding lines
    joined and grouped), so that the outer query groups by plain columns."""
    no_show = Enrolment.status == EnrolmentStatus.NO_SHOW.value
    hours = case((no_show, literal(ZERO)), else_=func.coalesce(Enrolment.hours_attended, ZERO))
    no_hours = case((and_(Enrolment.hours_attended.is_(None), Enrolment.status != EnrolmentStatus.NO_SHOW.value), 1),
                    else_=0)
    counted = (select(Enrolment.session_id, Enrolment.trainee_id, hours.label("hours"), no_hours.label("no_hours"),
                      _funding_f1_line().label("funded"))
               .outerjoin(FundingLine, FundingLine.enrolment_id == Enrolment.id)
               .where(Enrolment.session_id.in_(session_ids), Enrolment.status.in_(SEAT_HOLDING))
               .group_by(Enrolment.id)  # the other columns of the enrolment depend on its key
               .subquery())
    return db.session.execute(
        select(Course.id, Course.bpf_objective, Course.nsf_code, CourseVersion.title, Trainee.bpf_status,
               counted.c.funded, func.count(), type_coerce(func.sum(counted.c.hours), Hours()),
               func.sum(counted.c.no_hours))
        .select_from(counted)
        .join(TrainingSession, TrainingSession.id == counted.c.session_id)
        .join(Course, Course.id == TrainingSession.course_id)
        .outerjoin(CourseVersion, CourseVersion.id == Course.current_version_id)
        .join(Trainee, Trainee.id == counted.c.trainee_id)
        .group_by(Course.id, Course.bpf_objective, Course.nsf_code, CourseVersion.title, Trainee.bpf_status,
                  counted.c.funded)
        .order_by(Course.id)).all()


def _totalled(lines: list[TraineeLine], label: str, parts: list[TraineeLine] | None = None) -> list[TraineeLine]:
    total = TraineeLine("total", label, total=True)
    for line in (parts if parts is not None else lines):
        total.add(line.trainees, line.hours)
    return [*lines, total]


def _by_type(rows, warnings: list[str]) -> list[TraineeLine]:
    """F-1: the line the funding decides, else the trainee's status's; a warning per (funding's line, status)
    where they differ."""
    lines = {code: TraineeLine(code, label) for code, label in F1_LINES}
    contradicted: dict[tuple[str, str], int] = {}
    for *_, status, funded, trainees, hours, _missing in rows:
        by_status = STATUS_F1_LINE.get(status, OTHER_F1_LINE)
        lines[funded or by_status].add(trainees, money(hours))
        if funded and funded != by_status:
            contradicted[funded, status] = contradicted.get((funded, status), 0) + trainees
    for (funded, status), count in sorted(contradicted.items()):
        one, several = FUNDED_F1_WORDS[funded]
        words = (f"1 stagiaire {one} a" if count == 1 else f"{count} stagiaires {several} ont")
        whose = "des stagiaires" if count > 1 else "du stagiaire"
        warnings.append(f"{words} le statut « {BPF_STATUSES.get(status, status).lower()} » : "
                        f"compté{'s' if count > 1 else ''} en F-1 {funded}. Vérifiez le statut BPF sur la fiche "
                        f"{whose}.")
    return _totalled(list(lines.values()), "Total des stagiaires (F-1)")


def _by_objective(rows, warnings: list[str]) -> list[TraineeLine]:
    per_objective: dict[str, TraineeLine] = {key: TraineeLine(key, "") for key in BPF_OBJECTIVES}
    unknown = set()
    for _course_id, objective, _nsf, title, _status, _funded, trainees, hours, _missing in rows:
        if objective not in BPF_OBJECTIVES:
            unknown.add(title or "?")
            objective = DEFAULT_OBJECTIVE
        per_objective[objective].add(trainees, money(hours))
    if unknown:
        warnings.append("Objectif BPF inconnu, compté en « autres formations professionnelles » : "
                        + ", ".join(sorted(unknown)) + ".")
    lines = []
    for code, label, objectives in F3_LINES:
        line = TraineeLine(code, label, level=1 if code.startswith("a") and code != "a" else 0)
        for objective in objectives:
            line.add(per_objective[objective].trainees, per_objective[objective].hours)
        lines.append(line)
    # The total adds the main lines a–f (the « dont » sub-lines are part of a).
    return _totalled(lines, "Total des stagiaires (F-3)", parts=[line for line in lines if line.level == 0])


def specialties(groups: dict[str | None, tuple[int, Decimal]]) -> list[TraineeLine]:
    """F-4 from {NSF group (None: no code): (trainees, hours)}: the five groups with the most hours (then the most
    trainees, then the lowest code), then « autres spécialités » (unclassified courses included), then the total."""
    ranked = sorted(((code, value) for code, value in groups.items() if code is not None),
                    key=lambda item: (-item[1][1], -item[1][0], item[0]))
    lines = [TraineeLine(code, f"{code} — {NSF_GROUPS[code]}", trainees, hours)
             for code, (trainees, hours) in ranked[:F4_TOP]]
    others = TraineeLine("autres", "Autres spécialités")
    for _code, (trainees, hours) in ranked[F4_TOP:]:
        others.add(trainees, hours)
    if None in groups:
        others.add(*groups[None])
    return _totalled([*lines, others], "Total des stagiaires (F-4)")


def _by_specialty(rows, warnings: list[str]) -> list[TraineeLine]:
    groups: dict[str | None, tuple[int, Decimal]] = {}
    unclassified = set()
    for _course_id, _objective, nsf, title, _status, _funded, trainees, hours, _missing in rows:
        group = nsf_group(nsf)
        if group is None:
            unclassified.add(title or "?")
        count, total = groups.get(group, (0, ZERO))
        groups[group] = (count + trainees, total + money(hours))
    if unclassified:
        n = len(unclassified)
        warnings.append(f"{plural_fr(n, 'Formation')} sans code NSF, {plural_fr(n, 'comptée')} dans « autres "
                        "spécialités » : " + ", ".join(sorted(unclassified))
                        + f". Indiquez {plural_fr(n, 'son', 'leur')} code sur la fiche de la formation.")
    return specialties(groups)


def _trainer_rows(session_ids):
    """(trainer, status, start, end, slots) for the slots of the year's sessions: a slot counts for its trainer,
    or for each trainer of its session when it has none."""
    by_slot = (select(Trainer.id, Trainer.status, Slot.start_time, Slot.end_time, func.count(Slot.id))
               .join(Trainer, Trainer.id == Slot.trainer_id)
               .where(Slot.session_id.in_(session_ids))
               .group_by(Trainer.id, Trainer.status, Slot.start_time, Slot.end_time))
    by_session = (select(Trainer.id, Trainer.status, Slot.start_time, Slot.end_time, func.count(Slot.id))
                  .join(session_trainer, session_trainer.c.session_id == Slot.session_id)
                  .join(Trainer, Trainer.id == session_trainer.c.trainer_id)
                  .where(Slot.session_id.in_(session_ids), Slot.trainer_id.is_(None))
                  .group_by(Trainer.id, Trainer.status, Slot.start_time, Slot.end_time))
    return db.session.execute(union_all(by_slot, by_session)).all()


def _remote_half_days(session_ids) -> int:
    """The half-days of the year's sessions delivered at a distance (virtual or asynchronous: the rule of
    sessions/modality.is_remote_action, counted by the database)."""
    return int(db.session.scalar(select(func.count(Slot.id)).where(
        Slot.session_id.in_(session_ids), Slot.modality.in_(REMOTE_MODALITIES))) or 0)


def _trainers(rows) -> list[TrainerLine]:
    people: dict[bool, set[int]] = {False: set(), True: set()}
    hours: dict[bool, Decimal] = {False: ZERO, True: ZERO}
    for trainer_id, status, start, end, slots in rows:
        external = status in EXTERNAL_STATUSES
        people[external].add(trainer_id)
        hours[external] += hours_between(start, end) * slots
    internal = TrainerLine("internal", "Personnes de votre organisme dispensant des heures de formation",
                           len(people[False]), hours[False])
    external = TrainerLine("external", "Personnes extérieures à votre organisme dispensant des heures de formation "
                                       "dans le cadre de contrats de sous-traitance", len(people[True]), hours[True])
    return [internal, external, TrainerLine("total", "Total", internal.trainers + external.trainers,
                                            internal.hours + external.hours, total=True)]


def _identification(org) -> list[InfoField]:
    return [
        InfoField("Dénomination", org.name or ""),
        InfoField("Numéro de déclaration d'activité", org.nda or ""),
        InfoField("SIRET", format_siret(org.siret) if org.siret else ""),
        InfoField("Code NAF", ""),  # the organisation record holds no NAF code
        InfoField("Adresse", org.full_address or ""),
        InfoField("Téléphone", org.phone or ""),
        InfoField("Courriel", org.email or ""),
    ]


def _purchases(start: dt.date, end: dt.date) -> tuple:
    """(sum excluding VAT, number) of the subcontractors' invoices dated in the year."""
    return db.session.execute(select(func.sum(TrainerInvoice.amount_excl_vat), func.count(TrainerInvoice.id))
                              .where(TrainerInvoice.issued_on >= start, TrainerInvoice.issued_on <= end)).one()


def _charges(settings: BpfYear | None, purchases: tuple, warnings: list[str]) -> list[AmountLine]:
    """D as typed, but the purchases of training from the subcontractors' invoices of the year when it has any
    (``purchases``: their sum excluding VAT and their number)."""
    get = (lambda name: getattr(settings, name)) if settings else (lambda name: None)
    bought = get("charges_purchased_training")
    detail = ""
    total, count = purchases
    if count:
        recorded = money(total)
        detail = (f"d'après {count_fr(count, 'facture')} de sous-traitance "
                  f"{plural_fr(count, 'enregistrée')}")
        if bought is not None and bought != recorded:
            warnings.append(f"Cadre D : les achats de prestations saisis ({_money_text(bought)}) diffèrent des "
                            f"factures de sous-traitance enregistrées pour l'année ({_money_text(recorded)}) : "
                            "le BPF retient les factures.")
        bought = recorded
    return [
        AmountLine("total", "Total des charges de l'organisme liées à l'activité de formation", get("charges_total"),
                   total=True),
        AmountLine("salaries", "dont salaires des formateurs", get("charges_trainer_salaries"), level=1),
        AmountLine("purchases", "dont achats de prestations de formation et honoraires de formation", bought,
                   level=1, detail=detail),
    ]


def _checks(bpf: Bpf) -> list[Check]:
    f1, f3, f4 = bpf.by_type[-1], bpf.by_objective[-1], bpf.by_specialty[-1]
    line2 = bpf.product("2")
    sublines = sum((bpf.product(code) for code in C_OPCO_SUBLINES), ZERO)
    parts = sum((bpf.product(code) for code in C_TOTAL_PARTS), ZERO)
    checks = [
        Check("Les totaux des cadres F-1, F-3 et F-4 concordent (stagiaires)",
              f1.trainees == f3.trainees == f4.trainees,
              f"F-1 : {f1.trainees} ; F-3 : {f3.trainees} ; F-4 : {f4.trainees}"),
        Check("Les totaux des cadres F-1, F-3 et F-4 concordent (heures)", f1.hours == f3.hours == f4.hours,
              f"F-1 : {_hours_text(f1.hours)} ; F-3 : {_hours_text(f3.hours)} ; F-4 : {_hours_text(f4.hours)}"),
        Check("Ligne C-2 = lignes 2a à 2h", line2 == sublines, f"{_money_text(line2)} / {_money_text(sublines)}"),
        Check("Total C = lignes 1 à 11", bpf.products_total == parts,
              f"{_money_text(bpf.products_total)} / {_money_text(parts)}"),
    ]
    total, salaries, purchases = (line.amount for line in bpf.charges)
    if total is not None:
        of_which = (salaries or ZERO) + (purchases or ZERO)
        checks.append(Check("Cadre D : les « dont » ne dépassent pas le total des charges", of_which <= total,
                            f"{_money_text(of_which)} / {_money_text(total)}"))
    return checks


def _money_text(value: Decimal) -> str:
    return money_fr(value)


def _hours_text(value: Decimal) -> str:
    return hours_fr(value)


def compute_bpf(year) -> Bpf:
    """The BPF of a calendar year, from a fixed handful of queries."""
    year = check_year(year)
    start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
    warnings: list[str] = []
    settings = db.session.scalar(select(BpfYear).where(BpfYear.year == year))
    org = get_organisation()
    products = _products(_product_rows(start, end), warnings)
    session_ids = year_session_ids(start, end)
    rows = _trainee_rows(session_ids)
    missing_hours = sum(int(row[8] or 0) for row in rows)
    if missing_hours:
        warnings.append(f"{count_fr(missing_hours, 'inscription')} sans heures de présence enregistrées "
                        f"(session non terminée ?) : {plural_fr(missing_hours, 'comptée')} pour 0 h.")
    turnover = settings.total_turnover if settings else None
    total = products[-1].amount
    share = ((total * 100 / turnover).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
             if turnover and turnover > 0 else None)
    manager_name = (settings.manager_name if settings else "") or ""
    manager_title = (settings.manager_title if settings else "") or ""
    from_org = not manager_name and bool(org.signatory_name)
    if from_org:
        manager_name, manager_title = org.signatory_name, manager_title or org.signatory_title or ""
    remote = _remote_half_days(session_ids)
    declared = bool(settings.distance_training) if settings else False
    bpf = Bpf(
        year=year, period_start=start, period_end=end, identification=_identification(org),
        distance_training=bool(remote) or declared, remote_half_days=remote, distance_declared=declared,
        products=products, turnover=turnover, turnover_share=share,
        charges=_charges(settings, _purchases(start, end), warnings),
        trainers=_trainers(_trainer_rows(session_ids)),
        by_type=_by_type(rows, warnings),
        subcontracted=TraineeLine("F-2", "Stagiaires dont l'action a été confiée par votre organisme à un autre "
                                         "organisme de formation"),
        by_objective=_by_objective(rows, warnings), by_specialty=_by_specialty(rows, warnings),
        entrusted=TraineeLine("G", "Stagiaires dont la formation a été confiée à votre organisme par un autre "
                                   "organisme de formation"),
        manager_name=manager_name, manager_title=manager_title, manager_from_organisation=from_org,
        settings=settings, warnings=warnings)
    bpf.checks = _checks(bpf)
    return bpf


# --------------------------------------------------------------------------- the figures typed once a year


def get_bpf_year(year) -> BpfYear | None:
    return db.session.scalar(select(BpfYear).where(BpfYear.year == check_year(year)))


def save_bpf_year(year, data: dict, actor: User | None) -> BpfYear:
    """Record what the data cannot give (sections C turnover, D, H; B distance training only as a declaration on top
    of the half-days, which decide it otherwise): amounts ≥ 0 with two
    decimals at most, the « dont » lines within the total of the charges, names of 120 characters at most."""
    year = check_year(year)
    errors = ErrorCollector()
    amounts = _clean_amounts(data, errors)
    texts = _clean_texts(data, errors)
    errors.raise_if_any()
    row = _year_row(year)
    for name, value in {**amounts, **texts}.items():
        setattr(row, name, value)
    row.distance_training = bool(data.get("distance_training"))
    row.updated_by_id = actor.id if actor is not None else None
    row.updated_at = utcnow()
    return row


def _clean_amounts(data: dict, errors: ErrorCollector) -> dict:
    """The amounts typed, the « dont » lines within the total of the charges."""
    amounts = {name: parse_decimal(data.get(name), name, errors, label=label)
               for name, label in AMOUNT_FIELDS.items()}
    total = amounts["charges_total"]
    of_which = [name for name in ("charges_trainer_salaries", "charges_purchased_training")
                if amounts[name] is not None]
    if total is None and of_which and "charges_total" not in errors.fields:
        errors.add("charges_total", "Indiquez le total des charges, dont font partie les montants détaillés.")
    elif total is not None:
        for name in of_which:
            if amounts[name] > total:
                errors.add(name, f"{AMOUNT_FIELDS[name]} ne peuvent pas dépasser le total des charges "
                                 f"({_money_text(total)}).")
        if len(of_which) == 2 and sum(amounts[n] for n in of_which) > total and not errors.fields:
            errors.add("charges_total", "Les salaires des formateurs et les achats de prestations dépassent "
                                        "ensemble le total des charges.")
    return amounts


def _clean_texts(data: dict, errors: ErrorCollector) -> dict:
    texts = {}
    for name, label in TEXT_FIELDS.items():
        value = " ".join(str(data.get(name) or "").split())
        if len(value) > MAX_TEXT:
            errors.add(name, f"{label} ne doit pas dépasser {MAX_TEXT} caractères.")
        texts[name] = value[:MAX_TEXT]
    return texts


def _year_row(year: int) -> BpfYear:
    """The year's row, created when missing (by someone else at the same moment: theirs)."""
    row = db.session.scalar(select(BpfYear).where(BpfYear.year == year))
    if row is None:
        try:
            with db.session.begin_nested():
                row = BpfYear(year=year)
                db.session.add(row)
                db.session.flush()
        except IntegrityError:  # saved at the same moment by someone else: update their row
            row = db.session.scalar(select(BpfYear).where(BpfYear.year == year))
            if row is None:  # pragma: no cover - the other row was rolled back meanwhile
                raise ValidationError("Enregistrement simultané : recommencez.") from None
    return row


# --------------------------------------------------------------------------- exports


def export_rows(bpf: Bpf) -> list[tuple]:
    """The BPF as rows: (section, line, label, amount € excl. VAT, number, hours); empty cells are None."""
    rows: list[tuple] = [("A", "", f"{info.label} : {info.value or TO_COMPLETE}", None, None, None)
                         for info in bpf.identification]
    rows.append(("B", "", f"Exercice comptable du {bpf.period_start:%d/%m/%Y} au {bpf.period_end:%d/%m/%Y}",
                 None, None, None))
    distance = "oui" if bpf.distance_training else "non"
    rows.append(("B", "", f"Formation à distance : {distance} ({bpf.distance_basis})", None, None, None))
    for line in bpf.products:
        rows.append(("C", line.code, line.label, line.amount, None, None))
    rows.append(("C", "", "Chiffre d'affaires global de l'organisme", bpf.turnover, None, None))
    rows.append(("C", "", "Part des produits de la formation dans le chiffre d'affaires (%)", bpf.turnover_share,
                 None, None))
    for line in bpf.charges:
        rows.append(("D", line.code, line.label, line.amount, None, None))
    for line in bpf.trainers:
        rows.append(("E", line.code, line.label, None, line.trainers, line.hours))
    for section, lines in (("F-1", bpf.by_type), ("F-2", [bpf.subcontracted]), ("F-3", bpf.by_objective),
                           ("F-4", bpf.by_specialty), ("G", [bpf.entrusted])):
        for line in lines:
            rows.append((section, line.code, line.label, None, line.trainees, line.hours))
    rows.append(("H", "", f"Dirigeant : {bpf.manager_name or TO_COMPLETE}"
                          + (f", {bpf.manager_title}" if bpf.manager_title else ""), None, None, None))
    return rows


EXPORT_HEADERS = ("Cadre", "Ligne", "Libellé", "Montant (€ HT)", "Nombre", "Heures")


def to_xlsx(bpf: Bpf, counted: Callable[[list], Iterable] = iter) -> bytes:
    """One sheet « BPF <year> » with the sections in order; amounts, numbers and hours as numbers."""
    from openpyxl import Workbook  # loaded only when an XLSX is built (75 ms), not at each start
    from openpyxl.styles import Alignment, Font

    book = Workbook()
    ws = book.active
    ws.title = f"BPF {bpf.year}"
    ws.append([f"Bilan pédagogique et financier {bpf.year} (cerfa 10443)"])
    ws["A1"].font = Font(bold=True, size=13)
    ws.append(list(EXPORT_HEADERS))
    for cell in ws[2]:
        cell.font = Font(bold=True)
    for row in counted(export_rows(bpf)):
        ws.append([xlsx_cell(v) for v in row])
        cells = ws[ws.max_row]
        cells[3].number_format = "#,##0.00"
        cells[5].number_format = "#,##0.00"
        cells[2].alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = "A3"
    for letter, width in zip("ABCDEF", (8, 9, 90, 16, 10, 12)):
        ws.column_dimensions[letter].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def export_filename(year: int) -> str:
    return f"bpf-{year}.xlsx"
