"""Invoices and credit notes: proposals from a session's funding lines, drafts, issue with gapless numbering and
the mandatory mentions, credit notes, the Word document.

Rules (the decisions where the law or the client is silent are marked *decision*):

- **Who pays what** (``plan_invoices``). Invoiced enrolments: confirmed, completed, abandoned, no-show (not
  cancelled, waiting, requested or still pending the prerequisite decision). Per enrolment, from its price
  (``Enrolment.price_excl_vat``; VAT at the organisation's current status: exempt 0 %, else 20 %):

  * an OPCO line **with subrogation** is invoiced to that OPCO, one invoice per OPCO file number (several trainees
    of one file share it), once the agreement is recorded (*decision*: no agreement yet, nothing is proposed for
    that enrolment, since the split is not known). Flat basis: the line's amount, never above the agreed amount;
    *decision*: an abandoned trainee's share is prorated to the hours attended, a no-show's is 0 (the OPCO pays
    only hours attended). Basis "hours attended": hours attended × ``hourly_rate`` (a price excluding VAT,
    *decision*), capped at the agreed amount (then one line of quantity 1 stating the hours). The OPCO's SIREN
    (or SIRET) is typed on its first draft and taken up by its next invoices (the last invoice to that OPCO);
  * the other funders that pay the organisation directly follow the OPCO's rule (once agreed, capped at the
    agreed amount, no-show 0, abandonment pro rata, or per hour attended), one invoice per funder and reference:
    a **self-employed fund** (FIF PL, AGEFICE…) **under subrogation** (payer kind ``self_employed_fund``, to the
    fund); **France Travail** (``france_travail``, buyer « France Travail », its AIF agreement reference in
    ``opco_file_number``); a **public funder** (``public_funder``: a region, the State, European bodies, another;
    its convention or order reference, the line's SIRET, service code and engagement number for Chorus Pro, and
    ``Invoice.funder_category`` for the BPF; its address from the companies directory when a record has its
    SIRET). *Decision*: a public funder's share, like France Travail's, waits for its agreement too. France
    Travail's and a fund's address and SIREN are typed on the first draft and taken up by the next ones;
  * a **self-employed fund without subrogation** (the usual case): the trainee pays and claims the refund, so that
    share is invoiced to the trainee as a professional (payer kind ``self_employed_fund``, ``payer_trainee_id``
    set, the fund and its file stated: « Prise en charge FIF PL, dossier n° … : le stagiaire règle la facture et en
    demande le remboursement au fonds »), one invoice per trainee and file, as soon as the line exists (no
    agreement needed; a refusal recorded stops it); the practice's address and SIRET are typed on the first draft
    and taken up by the trainee's next one;
  * a public buyer line is invoiced to that buyer, one invoice per buyer, SIRET and engagement number;
  * the rest (price − the funders above − public buyers) goes to the company (company lines, or OPCO lines
    without subrogation: the company pays and is refunded by its OPCO); an individual line to the trainee (fixed
    amount when a company pays too, otherwise the rest); without any line, to the enrolment's company, else to
    the trainee. *Decision*: a no-show stays invoiced in full to the company / the trainee (CGV). Funding lines
    above the price leave a note (the enrolments refuse them, older data may hold them);
  * **abandonment** (the convention's clause, and L6353-7 for an individual's contract): only the hours attended
    are due, every payer's share pro rata (``attended_share``: amount × hours attended / hours planned; an OPCO
    billed per hour attended pays its hours); the company's invoice, never the OPCO's nor an individual's, gets a
    separate *dédit* line when the organisation charges one (``BILLING_ABANDONMENT_DEDIT_PERCENT`` % of the price
    of the hours not attended, 0 by default; *decision*: at the organisation's VAT rate, like any line typed by the
    advisor), stated as neither chargeable to the OPCO nor to the training contribution. Hours not recorded yet:
    nothing is proposed for that enrolment. The advisor may change a draft's lines;
  * an intra session: one invoice to the client company for ``intra_price`` (funding lines are ignored), or,
    without a group price, one line per trainee at its seat price.

  Amounts of funding lines include VAT (``FundingLine``); lines are excluding VAT, rounded half-up to the cent.
  What already sits on a draft or an issued invoice not fully credited (matched by enrolment and funding line)
  is not proposed again: proposing twice changes nothing. New lines join the session's draft of the same payer.
- **Drafts** change freely (buyer, lines, notes) and may be deleted; amounts and quantities are ≥ 0 with two
  decimals at most (quantities > 0).
- **Issue** (``issue_invoice``): once the session is *terminée* or *clôturée* (service fait; *decision*: "en
  cours" is not enough). The mandatory mentions are checked (422, every missing one listed), the number is taken
  (numbering.py, F<year>-0001, year of the Paris issue date), the seller's identity and the terms are frozen,
  the Word document is rendered from the active "invoice" template and stored, Factur-X files are produced
  (facturx.produce_files). Any failure rolls the whole transaction back, so the number is not consumed.
  An issued invoice never changes and is never deleted (409): a credit note cancels it.
- **Credit notes** (``credit_invoice``): full or partial (an amount including VAT), never beyond what remains
  uncredited; issued at once (A<year>-0001) with their own document, referring to the credited invoice.

``Invoice.seller`` (frozen at issue) holds the organisation's identity as ``documents.context.seller_identity``
returns it (name, legal_form, address, postal_code, city, country, full_address, siret, siren, nda, nda_region,
nda_mention, vat_status, vat_exempt, vat_number, qualiopi, email, phone, website) plus the terms stated on the
document: ``late_penalties``, ``recovery_indemnity`` (empty for an individual: the 40 € indemnity applies
between professionals only, article L441-10 of the Code de commerce) and ``discount`` (early payment). A public
buyer (payer kind "public_buyer", or a company flagged public buyer) is told the Code de la commande publique's
terms instead: late-payment interest at the ECB rate + 8 points (L2192-13, R2192-31) and the 40 € indemnity
(D2192-35). An individual's payment terms leave out any sentence about subrogation (an OPCO's business only).
The buyer's SIREN is a mandatory mention for every legal entity: a company, a public buyer or a public funder
(SIRET, for Chorus Pro, with the service code and engagement number its record asks for), an OPCO, a fund invoiced
under subrogation and France Travail (*decision*: not for a self-employed trainee, whose SIRET is printed when
typed). A public funder is told the public buyer's terms. A self-employed trainee refunded by their fund is a
professional: the 40 € indemnity applies, and their terms leave out subrogation as an individual's do. The
funder's reference is a mandatory mention: France Travail's AIF agreement reference (« Référence de l'accord
France Travail (devis AIF) manquante »), a fund's file number, a public funder's convention or order reference
and category; the document states it (``documents.context.funder_mention``), and the Factur-X XML carries it as
the contract reference (BT-12).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ..accounts.models import User
from ..accounts.services import normalise_email
from ..companies.models import OPCOS, Company
from ..core.errors import ConflictError, ErrorCollector, NotFoundError, PermissionDenied, ValidationError
from ..core.formatting import date_fr, hours_fr, money_fr, number_fr
from ..core.identifiers import clean_siret, clean_vat_number
from ..core.paging import PER_PAGE, Page
from ..core.persistence import get_by_id, lock_row
from ..core.timeutil import paris_today, utcnow
from ..core.validation import id_or_none, parse_date, parse_decimal
from ..documents import context as builders
from ..enrolments import contract
from ..enrolments.models import (AGREEMENT_KINDS, ENROLMENT_STATUS_LABELS, PUBLIC_FUNDER_CATEGORIES,
                                 SELF_EMPLOYED_FUNDS, Enrolment, FundingLine)
from ..extensions import db
from ..files.models import StoredFile
from ..files.services import path_for, store_bytes
from ..organisation.models import VAT_EXEMPTION_MENTION
from ..organisation.services import get_organisation
from ..sessions.models import SESSION_STATUS_LABELS, TrainingSession
from ..trainees.models import Trainee
from . import facturx
from .models import INVOICE_KINDS, INVOICE_STATUSES, LINE_UNITS, PAYER_KINDS, Invoice, InvoiceLine, PaymentCall
from .numbering import next_number
from .transfer import document_part

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
STANDARD_VAT_RATE = Decimal("20.00")
# Enrolments that are invoiced (a seat was held and the training took place, or was due to).
INVOICED_ENROLMENTS = ("confirmed", "completed", "abandoned", "no_show")
PROPOSABLE_SESSIONS = ("confirmed", "in_progress", "completed", "closed")
ISSUABLE_SESSIONS = ("completed", "closed")
OPERATION_CATEGORIES = {"services": "Prestation de services"}
MAX_QUANTITY = Decimal("99999")
TEXT_LIMITS = {"buyer_name": 200, "buyer_address": 255, "buyer_postal_code": 10, "buyer_city": 120,
               "buyer_email": 254, "buyer_vat_number": 20, "service_code": 100, "engagement_number": 100,
               "buyer_reference": 100, "opco_file_number": 60, "notes": 5000}
DRAFT_FIELDS = tuple(TEXT_LIMITS) + ("buyer_country", "buyer_siret", "service_start", "service_end")
MAX_DESCRIPTION = 2000
NOT_EDITABLE = "Une facture émise ne se modifie plus : établissez un avoir pour l'annuler en tout ou partie."
ABANDON_HOURS_UNKNOWN = ("{name} a abandonné la formation : ses heures suivies ne sont pas encore enregistrées ; "
                         "rien n'est proposé pour cette inscription, facturée au prorata de ces heures.")
# A public buyer's terms (Code de la commande publique), instead of the Code de commerce's BILLING_* texts.
PUBLIC_LATE_PENALTIES = (
    "En cas de retard de paiement, des intérêts moratoires courent de plein droit et sans autre formalité dès le "
    "lendemain de l'expiration du délai de paiement, au taux d'intérêt appliqué par la Banque centrale européenne à "
    "ses opérations principales de refinancement les plus récentes, en vigueur au premier jour du semestre de "
    "l'année civile au cours duquel les intérêts ont commencé à courir, majoré de 8 points de pourcentage (articles "
    "L2192-13 et R2192-31 du Code de la commande publique).")
PUBLIC_RECOVERY_INDEMNITY = (
    "Indemnité forfaitaire pour frais de recouvrement due en cas de retard de paiement : 40 € (articles L2192-13 et "
    "D2192-35 du Code de la commande publique).")
# The payers that are a funder with its file (prise en charge): its name in ``Invoice.opco_name``, its file number,
# agreement or convention reference in ``opco_file_number``.
FUNDER_PAYERS = AGREEMENT_KINDS  # the funding kinds with a funder's decision (enrolments.models)
# The payers told the Code de la commande publique's terms, whose invoices go through Chorus Pro.
PUBLIC_PAYERS = ("public_buyer", "public_funder")
FRANCE_TRAVAIL = "France Travail"
# How each funder's reference is named on the invoice lines.
REFERENCE_LABELS = {"opco": "dossier n°", "self_employed_fund": "dossier n°", "france_travail": "accord AIF n°",
                    "public_funder": "convention / commande n°"}


def money(value) -> Decimal:
    """Rounded half-up to the cent."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def attended_share(amount: Decimal, hours: Decimal | None, planned: Decimal) -> Decimal:
    """The part of ``amount`` due for the hours attended, rounded to the cent: amount × hours / planned (an
    abandonment, pro rata temporis); the whole amount when no hours are planned."""
    return money(amount * (hours or 0) / planned) if planned else money(amount)


def abandonment_dedit_percent() -> Decimal:
    """The dédit charged on an abandonment, in % of the price of the hours not attended (0: none)."""
    return Decimal(str(current_app.config["BILLING_ABANDONMENT_DEDIT_PERCENT"] or 0))


def _ensure_staff(actor: User | None) -> None:
    if actor is not None and not actor.is_staff:
        raise PermissionDenied("Seul le conseiller formation gère la facturation.")


def current_vat_rate() -> Decimal:
    """The organisation's rate: 0 when exempt (article 261-4-4°-a of the CGI), else 20 %."""
    return ZERO if get_organisation().vat_exempt else STANDARD_VAT_RATE


def _excl(amount_incl: Decimal, rate: Decimal) -> Decimal:
    return money(amount_incl * 100 / (100 + rate)) if rate else money(amount_incl)


def _incl(amount_excl: Decimal, rate: Decimal) -> Decimal:
    return money(amount_excl + money(amount_excl * rate / 100))


# --------------------------------------------------------------------------- reading


def sessions_of(invoices) -> dict[int, TrainingSession]:
    """The invoices' sessions by id (title and dates loaded), in one query."""
    ids = {i.session_id for i in invoices if i.session_id is not None}
    if not ids:
        return {}
    return {s.id: s for s in db.session.scalars(
        select(TrainingSession).where(TrainingSession.id.in_(ids))
        .options(selectinload(TrainingSession.course_version), selectinload(TrainingSession.slots)))}


def session_of(invoice: Invoice) -> TrainingSession | None:
    return db.session.get(TrainingSession, invoice.session_id) if invoice.session_id is not None else None


def get_invoice(invoice_id, actor: User | None = None) -> Invoice:
    _ensure_staff(actor)
    return get_by_id(Invoice, invoice_id, "Facture introuvable.")


# The latest first; drafts, which have no date yet, first of all.
LIST_ORDER = (Invoice.issue_date.desc().nulls_first(), Invoice.sequence.desc(), Invoice.id.desc())


def _filtered(query, *, status: str | None, kind: str | None, year: int | None, session_id: int | None):
    """The invoices list's filters, for its rows and for its totals alike."""
    for column, value in ((Invoice.status, status), (Invoice.kind, kind), (Invoice.year, year),
                          (Invoice.session_id, session_id)):
        if value:
            query = query.where(column == value)
    return query


def list_invoices(*, status: str | None = None, kind: str | None = None, year: int | None = None,
                  session_id: int | None = None, limit: int = 1000) -> list[Invoice]:
    """Invoices and credit notes, the latest first (drafts, which have no date yet, first of all)."""
    query = _filtered(select(Invoice).options(selectinload(Invoice.lines)), status=status, kind=kind, year=year,
                      session_id=session_id)
    return list(db.session.scalars(query.order_by(*LIST_ORDER).limit(limit)))


def invoice_page(page: int = 1, *, status: str | None = None, kind: str | None = None, year: int | None = None
                 ) -> Page:
    """One page of the invoices list, in list_invoices' order (a count and the rows, whatever the history)."""
    return invoice_list(page, status=status, kind=kind, year=year)[0]


def invoice_list(page: int = 1, *, status: str | None = None, kind: str | None = None, year: int | None = None
                 ) -> tuple[Page, IssuedTotals]:
    """The invoices list: one page in list_invoices' order and the issued totals of the whole selection
    (issued_totals' figures), in three statements.

    - the selection's count and its issued totals in one pass (aggregates with FILTER): the only part that
      still reads the whole selection, from the narrow ix_invoice_status_kind_total on SQLite (and on
      PostgreSQL once VACUUM has set the visibility map; the table's rows before);
    - the page's ids in the list's order, which an index gives (ix_invoice_status_order with a status,
      ix_invoice_issue_date without): no sort of every invoice;
    - their rows, by primary key alone, put back in that order (with the filters and the order kept on this
      query too, SQLite walked the status's whole index to find the fifty ids)."""
    issued = Invoice.status == "issued"
    total, invoiced, credited = db.session.execute(_filtered(
        select(func.count(),
               func.sum(Invoice.total_excl_vat).filter(issued, Invoice.kind == "invoice"),
               func.sum(Invoice.total_excl_vat).filter(issued, Invoice.kind == "credit_note")).select_from(Invoice),
        status=status, kind=kind, year=year, session_id=None)).one()
    keys = list(db.session.scalars(
        _filtered(select(Invoice.id), status=status, kind=kind, year=year, session_id=None)
        .order_by(*LIST_ORDER).limit(PER_PAGE).offset((page - 1) * PER_PAGE)))
    found = {invoice.id: invoice for invoice in db.session.scalars(select(Invoice).where(Invoice.id.in_(keys)))
             } if keys else {}
    return (Page([found[key] for key in keys if key in found], total or 0, page, PER_PAGE),
            IssuedTotals(money(invoiced or 0), money(credited or 0)))


@dataclass(frozen=True)
class IssuedTotals:
    """Totals excluding VAT of the issued invoices and of the issued credit notes of a selection."""

    invoices: Decimal
    credit_notes: Decimal

    @property
    def net(self) -> Decimal:
        return self.invoices - self.credit_notes


def issued_totals(*, status: str | None = None, kind: str | None = None, year: int | None = None,
                  session_id: int | None = None) -> IssuedTotals:
    """What list_invoices(same filters) adds up to, excluding VAT, issued pieces only (one query, no limit)."""
    # One sum per kind, read from ix_invoice_status_kind_total alone (no row of the table, no CASE per row).
    query = select(Invoice.kind, func.sum(Invoice.total_excl_vat)).where(Invoice.status == "issued")
    query = _filtered(query, status=None if status == "issued" else status, kind=kind, year=year,
                      session_id=session_id).group_by(Invoice.kind)
    sums = {row_kind: total for row_kind, total in db.session.execute(query)}
    return IssuedTotals(money(sums.get("invoice") or 0), money(sums.get("credit_note") or 0))


def invoice_years() -> list[int]:
    """The years that have an invoice or a credit note, the latest first. One statement that skips from a year
    to the next one down the year's index (a recursive max below the last one found): a few index probes per
    year, not a pass over every invoice."""
    found = select(func.max(Invoice.year).label("year")).cte("found", recursive=True)
    below = select(func.max(Invoice.year)).where(Invoice.year < found.c.year).scalar_subquery()
    found = found.union_all(select(below).where(found.c.year.is_not(None)))
    return list(db.session.scalars(select(found.c.year).where(found.c.year.is_not(None))
                                   .order_by(found.c.year.desc())))


def session_invoices(session: TrainingSession) -> list[Invoice]:
    return list_invoices(session_id=session.id)


def credited_amounts(invoice_ids) -> dict[int, Decimal]:
    """Total including VAT of the issued credit notes against each invoice, by id (0 when none)."""
    ids = [i for i in invoice_ids if i is not None]
    totals = dict.fromkeys(ids, ZERO)
    if ids:
        rows = db.session.execute(
            select(Invoice.credited_invoice_id, func.sum(Invoice.total_incl_vat))
            .where(Invoice.credited_invoice_id.in_(ids), Invoice.kind == "credit_note", Invoice.status == "issued")
            .group_by(Invoice.credited_invoice_id))
        for invoice_id, total in rows:
            totals[invoice_id] = money(total or 0)
    return totals


def credit_notes_of(invoice: Invoice) -> list[Invoice]:
    return list(db.session.scalars(select(Invoice).where(Invoice.credited_invoice_id == invoice.id)
                                   .order_by(Invoice.id)))


def remaining_to_credit(invoice: Invoice) -> Decimal:
    return money(invoice.total_incl_vat - credited_amounts([invoice.id])[invoice.id])


# --------------------------------------------------------------------------- totals


def recompute(invoice: Invoice) -> None:
    """Line totals (quantity × unit price) and the invoice's totals; VAT per rate on the sum of its lines."""
    bases: dict[Decimal, Decimal] = {}
    for position, line in enumerate(invoice.lines, 1):
        line.position = position
        line.total_excl_vat = money(line.quantity * line.unit_price_excl_vat)
        line.vat_amount = money(line.total_excl_vat * line.vat_rate / 100)
        bases[line.vat_rate] = bases.get(line.vat_rate, ZERO) + line.total_excl_vat
    invoice.total_excl_vat = money(sum(bases.values(), ZERO))
    invoice.total_vat = money(sum((money(base * rate / 100) for rate, base in bases.items()), ZERO))
    invoice.total_incl_vat = money(invoice.total_excl_vat + invoice.total_vat)
    invoice.vat_exemption = VAT_EXEMPTION_MENTION if not any(bases) else ""


# --------------------------------------------------------------------------- who pays what


@dataclass
class ProposedLine:
    description: str
    quantity: Decimal
    unit: str
    unit_price: Decimal  # excluding VAT
    vat_rate: Decimal
    enrolment_id: int | None = None
    funding_line_id: int | None = None
    hours: Decimal | None = None

    @property
    def total_excl_vat(self) -> Decimal:
        return money(self.quantity * self.unit_price)

    @property
    def total_incl_vat(self) -> Decimal:
        return _incl(self.total_excl_vat, self.vat_rate)

    @property
    def unit_label(self) -> str:
        return LINE_UNITS.get(self.unit, self.unit)


@dataclass
class ProposedInvoice:
    key: tuple
    payer_kind: str
    values: dict  # the new draft's columns (payer, buyer, OPCO file, public buyer's codes)
    lines: list[ProposedLine] = field(default_factory=list)

    @property
    def payer_kind_label(self) -> str:
        return PAYER_KINDS.get(self.payer_kind, self.payer_kind)

    @property
    def label(self) -> str:
        name = self.values.get("buyer_name") or self.payer_kind_label
        file = self.values.get("opco_file_number")
        if self.payer_kind == "self_employed_fund" and self.values.get("payer_trainee_id"):
            return f"{name} – {self.values.get('opco_name')}{f', dossier n° {file}' if file else ''}"
        if self.payer_kind in FUNDER_PAYERS and file:
            return f"{name} – {REFERENCE_LABELS[self.payer_kind]} {file}"
        if self.payer_kind == "public_buyer" and self.values.get("engagement_number"):
            return f"{name} – engagement n° {self.values['engagement_number']}"
        return name

    @property
    def total_excl_vat(self) -> Decimal:
        return money(sum((line.total_excl_vat for line in self.lines), ZERO))

    @property
    def total_incl_vat(self) -> Decimal:
        return money(sum((line.total_incl_vat for line in self.lines), ZERO))


@dataclass
class Plan:
    """What a session still has to invoice (nothing already on a live invoice), and why some is left out."""

    invoices: list[ProposedInvoice] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # The notes that leave a payer unknown (an OPCO agreement or hourly rate missing, hours not known yet, no company
    # to invoice): until they are settled, the session is not fully invoiced.
    unknown: list[str] = field(default_factory=list)


@dataclass
class _Share:
    key: tuple
    payer_kind: str
    values: dict
    line: ProposedLine


def _company_values(company: Company) -> dict:
    contact = company.contact("accounting", "signatory", "hr", "other")
    return {"payer_company_id": company.id, "buyer_name": company.name[:200], "buyer_address": company.address or "",
            "buyer_postal_code": company.postal_code or "", "buyer_city": company.city or "",
            "buyer_siret": company.siret or "", "buyer_email": contact.email if contact else ""}


def _previous_buyer(values: dict, *conditions) -> dict:
    """``values`` completed with the buyer's address and identifiers as the last invoice matching ``conditions``
    stated them (an OPCO's, a fund's, France Travail's or a professional's address is typed once by the advisor,
    on the first draft)."""
    previous = db.session.scalar(select(Invoice).where(*conditions, Invoice.buyer_address != "")
                                 .order_by(Invoice.id.desc()).limit(1))
    if previous is not None:
        values.update(buyer_name=previous.buyer_name, buyer_address=previous.buyer_address,
                      buyer_postal_code=previous.buyer_postal_code, buyer_city=previous.buyer_city,
                      buyer_siret=previous.buyer_siret, buyer_vat_number=previous.buyer_vat_number)
        values["buyer_email"] = values.get("buyer_email") or previous.buyer_email
    return values


def _opco_values(line: FundingLine, beneficiary: Company | None, lookup: bool = True) -> dict:
    """A funder paid directly by the organisation (an OPCO or a self-employed fund under subrogation, France
    Travail): its name, file and adviser; its address from its last invoice. Without ``lookup``, no query (who pays
    is known; the address is not needed: the quality checklist)."""
    name = FRANCE_TRAVAIL if line.kind == "france_travail" else line.opco_name
    values = {"opco_name": name, "opco_file_number": line.opco_file_number, "buyer_name": name,
              "buyer_email": line.opco_contact_email or "", "beneficiary_company_id": beneficiary.id if beneficiary
              else None}
    if not lookup:
        return values
    return _previous_buyer(values, Invoice.payer_kind == line.kind, Invoice.opco_name == name,
                           Invoice.payer_trainee_id.is_(None))


def _professional_values(line: FundingLine, trainee: Trainee, lookup: bool = True) -> dict:
    """A self-employed trainee who pays and claims the refund from their fund: invoiced as a professional, the
    fund and its file stated; the practice's address and SIRET from the last such invoice to them."""
    values = {**_trainee_values(trainee), "opco_name": line.opco_name, "opco_file_number": line.opco_file_number}
    if not lookup:
        return values
    return _previous_buyer(values, Invoice.payer_kind == "self_employed_fund", Invoice.payer_trainee_id == trainee.id)


def _public_company(siret: str) -> Company | None:
    """The companies directory's record of a public funder or buyer by its SIRET (its address, Chorus Pro service
    code and engagement requirement), if it is there."""
    if len(siret or "") != 14:
        return None
    return db.session.scalar(select(Company).where(Company.siret == siret)
                             .order_by(Company.is_public_buyer.desc(), Company.id).limit(1))


def _public_funder_values(line: FundingLine, lookup: bool = True) -> dict:
    """A region or another public funder: invoiced through Chorus Pro (SIRET, service code, engagement number) with
    its convention or order reference; its address from the companies directory (same SIRET), else from its last
    invoice."""
    values = {"opco_name": line.opco_name, "opco_file_number": line.opco_file_number, "buyer_name": line.opco_name,
              "buyer_siret": line.buyer_siret, "service_code": line.service_code,
              "engagement_number": line.engagement_number, "funder_category": line.funder_category,
              "buyer_email": line.opco_contact_email or ""}
    if not lookup:
        return values
    company = _public_company(line.buyer_siret)
    if company is None:
        return _previous_buyer(values, Invoice.payer_kind == "public_funder", Invoice.buyer_siret == line.buyer_siret)
    known = _company_values(company)
    values.update(payer_company_id=company.id, buyer_address=known["buyer_address"],
                  buyer_postal_code=known["buyer_postal_code"], buyer_city=known["buyer_city"],
                  service_code=line.service_code or company.chorus_service_code or "",
                  buyer_email=values["buyer_email"] or known["buyer_email"])
    return values


def _trainee_values(trainee: Trainee) -> dict:
    return {"payer_trainee_id": trainee.id, "buyer_name": trainee.display_name[:200], "buyer_email": trainee.email}


def _share_key(kind: str, values: dict) -> tuple:
    """One invoice per company; per OPCO file; per public buyer, SIRET and engagement; per self-employed fund and
    file (to the trainee who pays: per trainee and file); per France Travail agreement; per public funder and
    reference; per trainee paying personally."""
    if kind == "company":
        return ("company", values.get("payer_company_id"))
    if kind == "opco":
        return ("opco", values.get("opco_name", ""), values.get("opco_file_number", ""))
    if kind == "public_buyer":
        return ("public_buyer", values.get("payer_company_id"), values.get("buyer_siret", ""),
                values.get("engagement_number", ""))
    if kind == "self_employed_fund":
        return ("self_employed_fund", values.get("payer_trainee_id"), values.get("opco_name", ""),
                values.get("opco_file_number", ""))
    if kind == "france_travail":
        return ("france_travail", values.get("opco_file_number", ""))
    if kind == "public_funder":
        return ("public_funder", values.get("opco_name", ""), values.get("opco_file_number", ""))
    return ("individual", values.get("payer_trainee_id"))


def invoice_key(invoice: Invoice) -> tuple:
    """The payer an invoice is for, as the proposal groups lines (a draft of that payer receives new lines)."""
    return _share_key(invoice.payer_kind, {
        "payer_company_id": invoice.payer_company_id, "opco_name": invoice.opco_name,
        "opco_file_number": invoice.opco_file_number, "buyer_siret": invoice.buyer_siret,
        "engagement_number": invoice.engagement_number, "payer_trainee_id": invoice.payer_trainee_id})


def paid_by_funder(line: FundingLine) -> bool:
    """The funder pays the organisation itself: an OPCO or a self-employed fund under subrogation, France Travail,
    a public funder. (A fund without subrogation: the trainee pays and claims the refund.)"""
    return line.kind in ("france_travail", "public_funder") or (
        line.kind in ("opco", "self_employed_fund") and line.subrogation)


def _funder_name(line: FundingLine) -> str:
    return FRANCE_TRAVAIL if line.kind == "france_travail" else line.opco_name


def _funder_item(line: FundingLine, enrolment: Enrolment, base: str, hours: Decimal | None, planned: Decimal,
                 rate: Decimal, due) -> tuple[ProposedLine | None, str | None]:
    """What a funder paying directly is invoiced for one enrolment, or the note saying why it is not known yet.
    Only once its agreement is recorded, never above the agreed amount; a no-show 0, an abandonment pro rata of
    the hours attended (a funder pays the hours attended); or, billed per hour attended, hours × the hourly rate."""
    trainee = enrolment.trainee
    name, file = _funder_name(line), line.opco_file_number or "sans numéro"
    if line.opco_status != "agreed" or line.agreed_amount is None:
        return None, (f"{trainee.full_name} : l'accord de {name} ({REFERENCE_LABELS[line.kind]} {file}) n'est pas "
                      "enregistré ; rien n'est proposé pour cette inscription tant que la prise en charge n'est pas "
                      "connue.")
    cap = money(line.agreed_amount)
    attended = ("" if enrolment.status == "abandoned"  # already said by ``base``
                else f" – {hours_fr(hours)} suivies sur {hours_fr(planned)}" if hours is not None
                else f" – {hours_fr(planned)} prévues")
    reference = (f"dossier n° {file}" if line.kind == "opco"
                 else f"{name}, {REFERENCE_LABELS[line.kind]} {file}")
    description = f"{base}{attended} – {reference}"
    if line.billing_basis == "hours_attended":
        if line.hourly_rate is None:
            return None, (f"{trainee.full_name} : {name} paie à l'heure suivie mais le taux horaire du dossier {file} "
                          "n'est pas renseigné.")
        if hours is None:
            return None, (f"{trainee.full_name} : {name} paie à l'heure suivie ; les heures ne sont connues qu'une "
                          "fois la session terminée.")
        item = ProposedLine(description, money(hours), "HUR", money(line.hourly_rate), rate, enrolment.id, line.id,
                            hours)
        if item.total_incl_vat > cap:
            item = ProposedLine(f"{description} ({hours_fr(hours)} × {money_fr(line.hourly_rate)} HT, plafonné à "
                                f"l'accord de {money_fr(cap)})", Decimal("1"), "C62", _excl(cap, rate), rate,
                                enrolment.id, line.id, hours)
        return item, None
    amount = ZERO if enrolment.status == "no_show" else due(min(money(line.amount), cap))
    return ProposedLine(description, Decimal("1"), "C62", _excl(amount, rate), rate, enrolment.id, line.id,
                        hours), None


def _funder_values(line: FundingLine, company: Company | None, lookup: bool) -> dict:
    if line.kind == "public_funder":
        return _public_funder_values(line, lookup)
    return _opco_values(line, company, lookup)


def _professional_item(line: FundingLine, enrolment: Enrolment, base: str, rate: Decimal, due
                       ) -> tuple[ProposedLine | None, str | None]:
    """A self-employed fund without subrogation: the trainee pays the fund's share (no agreement needed) and claims
    the refund; the line says so, with the fund and its file. Refused by the fund: nothing, until the funding is
    changed."""
    fund, file = line.opco_name, line.opco_file_number
    if line.opco_status == "refused":
        return None, (f"{enrolment.trainee.full_name} : {fund} a refusé la prise en charge"
                      f"{f' (dossier n° {file})' if file else ''} ; modifiez le financement de l'inscription.")
    description = (f"{base} – prise en charge {fund}{f', dossier n° {file}' if file else ''} : le stagiaire règle la "
                   "facture et en demande le remboursement au fonds")
    return ProposedLine(description, Decimal("1"), "C62", _excl(due(money(line.amount)), rate), rate, enrolment.id,
                        line.id, enrolment.hours_attended), None


def _shares(enrolment: Enrolment, session: TrainingSession, rate: Decimal, lookup: bool = True
            ) -> tuple[list[_Share], list[str], bool]:
    """Who pays what for one enrolment of an inter session (see the module's docstring): (shares, notes, whether
    every payer is known)."""
    trainee = enrolment.trainee
    company = enrolment.company or trainee.company
    planned = session.planned_hours
    hours = enrolment.hours_attended
    abandoned = enrolment.status == "abandoned"
    if abandoned and hours is None:
        return [], [ABANDON_HOURS_UNKNOWN.format(name=trainee.full_name)], False
    base = f"Formation « {session.title} » {session.dates_label} – {trainee.full_name}"
    if abandoned:
        base += _abandon_label(hours, planned)
    elif enrolment.status == "no_show":
        base += " (absent(e))"
    price_excl = money(enrolment.price_excl_vat or 0)

    def due(amount: Decimal) -> Decimal:
        """An abandonment: only the hours attended are due, by every payer (the convention's clause, L6353-7)."""
        return attended_share(amount, hours, planned) if abandoned else amount

    due_excl = due(price_excl)
    lines = list(enrolment.funding_lines)
    shares: list[_Share] = []
    paid_by_others = ZERO
    others: list[str] = []

    for line in (line for line in lines if paid_by_funder(line)):
        item, note = _funder_item(line, enrolment, base, hours, planned, rate, due)
        if item is None:
            return [], [note], False
        if item.total_excl_vat > 0:
            values = _funder_values(line, company, lookup)
            shares.append(_Share(_share_key(line.kind, values), line.kind, values, item))
            paid_by_others += item.total_excl_vat
            others.append(_funder_name(line))

    for line in (line for line in lines if line.kind == "public_buyer"):
        buyer = line.payer_company or company
        values = _company_values(buyer) if buyer is not None else {"buyer_name": "Acheteur public"}
        values.update(buyer_siret=line.buyer_siret or values.get("buyer_siret", ""),
                      service_code=line.service_code or (buyer.chorus_service_code if buyer else ""),
                      engagement_number=line.engagement_number)
        item = ProposedLine(base, Decimal("1"), "C62", _excl(due(money(line.amount)), rate), rate, enrolment.id,
                            line.id, hours)
        if item.total_excl_vat > 0:
            shares.append(_Share(_share_key("public_buyer", values), "public_buyer", values, item))
            paid_by_others += item.total_excl_vat
            others.append(values["buyer_name"])

    for line in (line for line in lines if line.kind == "self_employed_fund" and not line.subrogation):
        item, note = _professional_item(line, enrolment, base, rate, due)
        if item is None:
            return [], [note], False
        if item.total_excl_vat > 0:
            values = _professional_values(line, trainee, lookup)
            shares.append(_Share(_share_key("self_employed_fund", values), "self_employed_fund", values, item))
            paid_by_others += item.total_excl_vat
            others.append(line.opco_name)

    company_lines = [line for line in lines if line.kind == "company" or (line.kind == "opco" and not line.subrogation)]
    individual_lines = [line for line in lines if line.kind == "individual"]
    rest = due_excl - paid_by_others
    notes: list[str] = []
    if company_lines:
        for line in individual_lines:
            item = ProposedLine(f"{base} – part personnelle", Decimal("1"), "C62",
                                _excl(due(money(line.amount)), rate), rate, enrolment.id, line.id, hours)
            values = _trainee_values(trainee)
            shares.append(_Share(_share_key("individual", values), "individual", values, item))
            rest -= item.total_excl_vat
        first = next((line for line in company_lines if line.kind == "company"), company_lines[0])
        payer = first.payer_company or company
        rest_kind, rest_line = "company", first
        unsubrogated = [line.opco_name for line in company_lines if line.kind == "opco"]
        if unsubrogated:
            base += (f" (prise en charge {', '.join(unsubrogated)} sans subrogation : l'OPCO rembourse "
                     "l'entreprise)")
    elif individual_lines:
        payer, rest_kind, rest_line = None, "individual", individual_lines[0]
    else:
        payer, rest_line = company, None
        rest_kind = "company" if company is not None else "individual"
    rest_line_id = rest_line.id if rest_line is not None else None
    items: list[ProposedLine] = []
    if rest < 0:
        notes.append(f"{trainee.full_name} : les financements dépassent le prix{' dû' if abandoned else ''} de "
                     f"l'inscription de {money_fr(-rest)} HT ; vérifiez les montants.")
    elif rest > 0:
        description = f"{base} – reste à charge après {', '.join(others)}" if others else base
        if abandoned:
            description += _due_label(price_excl, hours, planned, due_excl)
        items.append(ProposedLine(description, Decimal("1"), "C62", money(rest), rate, enrolment.id, rest_line_id,
                                  hours))
    if abandoned and rest_kind == "company":
        # Same funding line as the rest: proposed with it, once (a dédit the advisor removed does not come back).
        items.extend(_dedit_lines(enrolment, price_excl - due_excl, rate, rest_line_id))
    if not items:
        return shares, notes, True
    if rest_kind == "company" and payer is None:
        return shares, [f"{trainee.full_name} : aucune entreprise à facturer pour le reste à charge "
                        f"({money_fr(sum((i.total_excl_vat for i in items), ZERO))} HT) ; rattachez l'inscription "
                        "à son entreprise."], False
    values = _company_values(payer) if rest_kind == "company" else _trainee_values(trainee)
    shares.extend(_Share(_share_key(rest_kind, values), rest_kind, values, item) for item in items)
    return shares, notes, True


def _abandon_label(hours: Decimal, planned: Decimal) -> str:
    return f" (abandon : {hours_fr(hours)} suivies sur {hours_fr(planned)}, facturées au prorata)"


def _due_label(price: Decimal, hours: Decimal, planned: Decimal, due: Decimal) -> str:
    return f" – prix dû : {money_fr(price)} HT × {hours_fr(hours)} / {hours_fr(planned)} = {money_fr(due)} HT"


def _dedit_lines(enrolment: Enrolment, unattended_excl: Decimal, rate: Decimal,
                 funding_line_id: int | None = None) -> list[ProposedLine]:
    """The dédit of an abandonment, on its own line of the company's invoice (never the OPCO's): the configured
    percentage of the price of the hours not attended; none when the organisation charges none."""
    percent = abandonment_dedit_percent()
    amount = money(unattended_excl * percent / 100)
    if amount <= 0:
        return []
    description = (f"Dédit pour abandon – {enrolment.trainee.full_name} : {number_fr(percent)} % du prix des heures "
                   f"non suivies ({money_fr(unattended_excl)} HT), selon la clause de dédit de la convention. Somme "
                   "non imputable sur la participation au financement de la formation professionnelle et ne "
                   "pouvant faire l'objet d'une prise en charge par l'OPCO.")
    return [ProposedLine(description, Decimal("1"), "C62", amount, rate, enrolment.id, funding_line_id)]


def _live_invoices(session: TrainingSession) -> list[Invoice]:
    """The session's invoices that count as invoiced: drafts, and issued invoices not fully credited."""
    invoices = list(db.session.scalars(select(Invoice).where(Invoice.session_id == session.id,
                                                             Invoice.kind == "invoice")
                                       .options(selectinload(Invoice.lines))))
    credited = credited_amounts(i.id for i in invoices if i.status == "issued")
    return [i for i in invoices if i.status == "draft" or credited.get(i.id, ZERO) < i.total_incl_vat]


def _done_marks(invoices: list[Invoice]) -> set[tuple]:
    marks = set()
    for invoice in invoices:
        for line in invoice.lines:
            if line.enrolment_id is not None:
                marks.add((line.enrolment_id, line.funding_line_id or invoice.payer_kind))
    return marks


def _stale_draft_lines(live: list[Invoice]) -> list[str]:
    """Drafts holding a line of an enrolment that is no longer invoiced (cancelled since the proposal)."""
    lines = [(invoice, line) for invoice in live if invoice.status == "draft" for line in invoice.lines
             if line.enrolment_id is not None]
    if not lines:
        return []
    statuses = dict(db.session.execute(select(Enrolment.id, Enrolment.status).where(
        Enrolment.id.in_({line.enrolment_id for _, line in lines}))).all())
    return [f"Le brouillon n° {invoice.id} ({invoice.buyer_name}) facture encore une inscription devenue "
            f"« {ENROLMENT_STATUS_LABELS.get(statuses.get(line.enrolment_id), 'supprimée').lower()} » : "
            "retirez sa ligne si elle n'est plus due."
            for invoice, line in lines if statuses.get(line.enrolment_id) not in INVOICED_ENROLMENTS]


def plan_invoices(session: TrainingSession) -> Plan:
    """What remains to invoice for ``session``, grouped by payer (nothing is written)."""
    live = _live_invoices(session)
    enrolments = list(db.session.scalars(
        select(Enrolment).where(Enrolment.session_id == session.id, Enrolment.status.in_(INVOICED_ENROLMENTS))
        .order_by(Enrolment.id)
        .options(selectinload(Enrolment.trainee).selectinload(Trainee.company), selectinload(Enrolment.company),
                 selectinload(Enrolment.funding_lines).selectinload(FundingLine.payer_company))))
    plan = _plan(session, enrolments, live, current_vat_rate(), scheduled=_scheduled(enrolments))
    plan.notes[:0] = _stale_draft_lines(live)
    return plan


def _scheduled(enrolments: list[Enrolment]) -> frozenset[int]:
    """The enrolments whose trainee pays by a payment schedule (billing/schedule.py): it invoices their share (an
    abandonment ends it: the hours attended are proposed here)."""
    ids = [e.id for e in enrolments if e.status != "abandoned"]
    return frozenset(db.session.scalars(select(PaymentCall.enrolment_id).where(
        PaymentCall.enrolment_id.in_(ids), PaymentCall.status != "cancelled"))) if ids else frozenset()


def uninvoiced(session: TrainingSession, enrolments: list[Enrolment], issued: list[Invoice], rate: Decimal) -> Plan:
    """What ``session`` still has to invoice when only its issued invoices count (drafts do not): the rule of
    ``plan_invoices`` on data already loaded, without any query, so that many sessions are checked at once (the
    quality checklist's "invoice issued" item). Nothing is left when ``plan.invoices`` and ``plan.unknown`` are
    both empty.

    ``enrolments``: the session's enrolments in INVOICED_ENROLMENTS with their trainee (and its company), company
    and funding lines (and their payer company) loaded, the companies with their contacts; ``issued``: its issued
    invoices not fully credited, lines loaded (``issued_invoices_by_session``); the session with its slots, course
    version and client company (and its contacts)."""
    return _plan(session, enrolments, issued, rate, lookup=False)


def issued_invoices_by_session(session_ids) -> dict[int, list[Invoice]]:
    """The issued invoices (not credit notes) of each session that are not fully credited, their lines loaded:
    two queries whatever the number of sessions."""
    ids = sorted(set(session_ids))
    if not ids:
        return {}
    invoices = list(db.session.scalars(
        select(Invoice).where(Invoice.session_id.in_(ids), Invoice.kind == "invoice", Invoice.status == "issued")
        .order_by(Invoice.issue_date, Invoice.sequence, Invoice.id).options(selectinload(Invoice.lines))))
    credited = credited_amounts(i.id for i in invoices)
    found: dict[int, list[Invoice]] = {}
    for invoice in invoices:
        if credited.get(invoice.id, ZERO) < invoice.total_incl_vat:
            found.setdefault(invoice.session_id, []).append(invoice)
    return found


def _plan(session: TrainingSession, enrolments: list[Enrolment], live: list[Invoice], rate: Decimal,
          lookup: bool = True, scheduled: frozenset[int] = frozenset()) -> Plan:
    """Who pays what for ``session``'s ``enrolments``, minus what ``live`` invoices already hold. Without
    ``lookup``, no query: an OPCO's address is not looked up on its last invoice. The trainee's share of the
    ``scheduled`` enrolments is left to their payment schedule."""
    plan = Plan()
    grouped: dict[tuple, ProposedInvoice] = {}

    def add(share: _Share) -> None:
        proposed = grouped.get(share.key)
        if proposed is None:
            proposed = grouped[share.key] = ProposedInvoice(share.key, share.payer_kind, share.values)
        proposed.lines.append(share.line)

    if session.format == "intra":
        client = session.client_company
        if client is None:
            plan.notes.append("Session intra sans entreprise cliente : indiquez-la sur la session.")
            plan.unknown.append(plan.notes[-1])
            return plan
        values = _company_values(client)
        if session.intra_price is not None:
            if any(i.payer_kind == "company" and i.payer_company_id == client.id for i in live):
                return plan
            names = ", ".join(e.trainee.full_name for e in enrolments)
            description = (f"Formation intra-entreprise « {session.title} » {session.dates_label} "
                           f"({hours_fr(session.planned_hours)})")
            if names:
                description += f" – {len(enrolments)} stagiaire(s) : {names}"
            add(_Share(_share_key("company", values), "company", values,
                       ProposedLine(description, Decimal("1"), "C62", money(session.intra_price), rate)))
        else:
            done = _done_marks(live)
            for enrolment in enrolments:
                if (enrolment.id, "company") in done or not enrolment.price_excl_vat:
                    continue
                for item in _intra_seat_lines(session, enrolment, rate, plan):
                    add(_Share(_share_key("company", values), "company", values, item))
        plan.invoices = list(grouped.values())
        return plan

    done = _done_marks(live)
    for enrolment in enrolments:
        shares, notes, known = _shares(enrolment, session, rate, lookup)
        plan.notes.extend(notes)
        if not known:
            plan.unknown.extend(notes)
        for share in shares:
            if share.payer_kind == "individual" and enrolment.id in scheduled:
                note = (f"{enrolment.trainee.full_name} : sa part est facturée par l'échéancier de son contrat de "
                        "formation, échéance par échéance.")
                if note not in plan.notes:
                    plan.notes.append(note)
            elif (enrolment.id, share.line.funding_line_id or share.payer_kind) not in done:
                add(share)
    plan.invoices = list(grouped.values())
    return plan


def _intra_seat_lines(session: TrainingSession, enrolment: Enrolment, rate: Decimal, plan: Plan) -> list[ProposedLine]:
    """An intra session without a group price: the trainee's seat, pro rata of the hours attended after an
    abandonment (with the dédit, if any), as in an inter session."""
    description = f"Formation « {session.title} » {session.dates_label} – {enrolment.trainee.full_name}"
    price, hours, planned = money(enrolment.price_excl_vat), enrolment.hours_attended, session.planned_hours
    if enrolment.status != "abandoned":
        return [ProposedLine(description, Decimal("1"), "C62", price, rate, enrolment.id)]
    if hours is None:
        plan.notes.append(ABANDON_HOURS_UNKNOWN.format(name=enrolment.trainee.full_name))
        plan.unknown.append(plan.notes[-1])
        return []
    due = attended_share(price, hours, planned)
    description += _abandon_label(hours, planned) + _due_label(price, hours, planned, due)
    lines = [ProposedLine(description, Decimal("1"), "C62", due, rate, enrolment.id)] if due > 0 else []
    return lines + _dedit_lines(enrolment, price - due, rate)


@dataclass
class Proposal:
    created: list[Invoice]
    completed: list[Invoice]
    notes: list[str]


def _dates(session: TrainingSession) -> dict:
    return {"service_start": session.first_date, "service_end": session.last_date}


def propose_invoices(session: TrainingSession, actor: User | None) -> Proposal:
    """Write the plan: one draft per payer, or new lines on the session's draft of that payer. Idempotent."""
    _ensure_staff(actor)
    if session.status not in PROPOSABLE_SESSIONS:
        raise ConflictError("Les factures se préparent une fois la session confirmée (elle est "
                            f"« {SESSION_STATUS_LABELS[session.status].lower()} »).")
    lock_row(TrainingSession, session.id)  # two clicks at once: the second finds the first one's drafts
    plan = plan_invoices(session)
    drafts = {invoice_key(i): i for i in db.session.scalars(
        select(Invoice).where(Invoice.session_id == session.id, Invoice.kind == "invoice",
                              Invoice.status == "draft").order_by(Invoice.id))}
    created, completed = [], []
    for proposed in plan.invoices:
        invoice = drafts.get(proposed.key)
        if invoice is None:
            invoice = Invoice(kind="invoice", status="draft", session_id=session.id, payer_kind=proposed.payer_kind,
                              created_by_id=actor.id if actor else None, **_dates(session))
            for key, value in proposed.values.items():
                setattr(invoice, key, value)
            db.session.add(invoice)
            created.append(invoice)
        else:
            completed.append(invoice)
        for item in proposed.lines:
            invoice.lines.append(InvoiceLine(
                description=item.description[:MAX_DESCRIPTION], quantity=item.quantity, unit=item.unit,
                unit_price_excl_vat=item.unit_price, vat_rate=item.vat_rate, enrolment_id=item.enrolment_id,
                funding_line_id=item.funding_line_id, hours=item.hours, total_excl_vat=ZERO))
        recompute(invoice)
    db.session.flush()
    return Proposal(created, completed, plan.notes)


# --------------------------------------------------------------------------- drafts


def _ensure_draft(invoice: Invoice) -> None:
    if invoice.status != "draft":
        raise ConflictError(NOT_EDITABLE)


def _clean_buyer_id(value, field: str, errors: ErrorCollector) -> str:
    """A SIRET (14 digits) or a SIREN (9 digits), compact; "" when empty."""
    text = re.sub(r"[\s.]", "", str(value or ""))
    if not text:
        return ""
    if len(text) == 9:
        from stdnum import exceptions as stdnum_exceptions
        from stdnum.fr import siren

        try:
            return siren.validate(text)
        except stdnum_exceptions.ValidationError:
            errors.add(field, "Ce SIREN n'est pas valide.")
            return ""
    return errors.run(clean_siret, text, field) or ""


def clean_draft_data(data: dict, invoice: Invoice) -> dict:
    errors = ErrorCollector()
    out: dict = {}
    for key, limit in TEXT_LIMITS.items():
        value = str(data.get(key) or "").strip()
        if len(value) > limit:
            errors.add(key, f"Ce champ ne doit pas dépasser {limit} caractères.")
        out[key] = value[:limit]
    if not out["buyer_name"]:
        errors.add("buyer_name", "Indiquez le nom du client facturé.")
    country = str(data.get("buyer_country") or "FR").strip().upper()
    if not re.fullmatch(r"[A-Z]{2}", country):
        errors.add("buyer_country", "Code pays à deux lettres (FR, BE…).")
    out["buyer_country"] = country[:2]
    out["buyer_siret"] = _clean_buyer_id(data.get("buyer_siret"), "buyer_siret", errors)
    out["buyer_vat_number"] = errors.run(clean_vat_number, out["buyer_vat_number"], "buyer_vat_number") or ""
    if out["buyer_email"]:
        out["buyer_email"] = errors.run(normalise_email, out["buyer_email"], "buyer_email") or ""
    for key, label in (("service_start", "Le début de la prestation"), ("service_end", "La fin de la prestation")):
        out[key] = parse_date(data.get(key), key, errors, label=label, required=False)
    if out["service_start"] and out["service_end"] and out["service_end"] < out["service_start"]:
        errors.add("service_end", "La fin de la prestation précède son début.")
    if invoice.payer_kind not in FUNDER_PAYERS:
        out["opco_file_number"] = invoice.opco_file_number
    if invoice.payer_kind not in PUBLIC_PAYERS:
        out["service_code"], out["engagement_number"] = invoice.service_code, invoice.engagement_number
    errors.raise_if_any()
    return out


def update_draft(invoice: Invoice, data: dict, actor: User | None) -> Invoice:
    """The buyer, the dates of the service, the references and the notes of a draft."""
    _ensure_staff(actor)
    _ensure_draft(invoice)
    for key, value in clean_draft_data(data, invoice).items():
        setattr(invoice, key, value)
    return invoice


def clean_line_data(data: dict) -> dict:
    errors = ErrorCollector()
    description = str(data.get("description") or "").strip()
    if not description:
        errors.add("description", "Indiquez la désignation de la ligne.")
    elif len(description) > MAX_DESCRIPTION:
        errors.add("description", f"La désignation ne doit pas dépasser {MAX_DESCRIPTION} caractères.")
    quantity = parse_decimal(data.get("quantity"), "quantity", errors, label="La quantité", required=True,
                             positive=True)
    if quantity is not None and quantity > MAX_QUANTITY:
        errors.add("quantity", "La quantité doit être inférieure à 100 000.")
    unit = str(data.get("unit") or "C62")
    if unit not in LINE_UNITS:
        errors.add("unit", "Unité inconnue : stagiaire ou heure.")
    price = parse_decimal(data.get("unit_price"), "unit_price", errors, label="Le prix unitaire HT", required=True)
    errors.raise_if_any()
    return {"description": description, "quantity": quantity, "unit": unit, "unit_price_excl_vat": price}


def get_line(invoice: Invoice, line_id) -> InvoiceLine:
    number = id_or_none(line_id)
    line = next((line for line in invoice.lines if line.id == number), None)
    if line is None:
        raise NotFoundError("Ligne de facture introuvable.")
    return line


def add_line(invoice: Invoice, data: dict, actor: User | None) -> InvoiceLine:
    """A line typed by the advisor (e.g. a late-cancellation fee), at the organisation's VAT rate."""
    _ensure_staff(actor)
    _ensure_draft(invoice)
    clean = clean_line_data(data)
    line = InvoiceLine(vat_rate=current_vat_rate(), total_excl_vat=ZERO, **clean)
    invoice.lines.append(line)
    recompute(invoice)
    db.session.flush()
    return line


def update_line(invoice: Invoice, line_id, data: dict, actor: User | None) -> InvoiceLine:
    _ensure_staff(actor)
    _ensure_draft(invoice)
    line = get_line(invoice, line_id)
    for key, value in clean_line_data(data).items():
        setattr(line, key, value)
    recompute(invoice)
    return line


def delete_line(invoice: Invoice, line_id, actor: User | None) -> None:
    _ensure_staff(actor)
    _ensure_draft(invoice)
    invoice.lines.remove(get_line(invoice, line_id))
    recompute(invoice)


def _enrolled_trainee(session: TrainingSession, data: dict, errors: ErrorCollector) -> Trainee | None:
    trainee = db.session.get(Trainee, id_or_none(data.get("payer_trainee_id")) or 0)
    enrolled = trainee is not None and db.session.scalar(select(Enrolment.id).where(
        Enrolment.session_id == session.id, Enrolment.trainee_id == trainee.id)) is not None
    if not enrolled:
        errors.add("payer_trainee_id", "Stagiaire introuvable dans cette session.")
        return None
    return trainee


def _chosen_payer(session: TrainingSession, kind: str, data: dict, errors: ErrorCollector) -> dict:
    """The new draft's payer columns for a payer chosen by hand ({} with ``errors`` filled when it is not found)."""
    if kind in ("company", "public_buyer", "public_funder"):
        company = db.session.get(Company, id_or_none(data.get("payer_company_id")) or 0)
        category = str(data.get("funder_category") or "")
        if kind == "public_funder" and category not in PUBLIC_FUNDER_CATEGORIES:
            errors.add("funder_category", "Choisissez la catégorie du financeur public : région, État, instances "
                                          "européennes ou autre.")
        if company is None:
            errors.add("payer_company_id", "Entreprise introuvable : choisissez-la dans la liste.")
            return {}
        values = _company_values(company)
        if kind != "company":
            values["service_code"] = company.chorus_service_code or ""
        if kind == "public_funder":
            values.update(opco_name=company.name[:60], funder_category=category)
        return values
    if kind in ("opco", "self_employed_fund"):
        name = str(data.get("opco_name") or "")
        if kind == "opco" and name not in OPCOS:
            errors.add("opco_name", "Choisissez l'OPCO dans la liste des onze OPCO.")
        elif kind == "self_employed_fund" and name not in SELF_EMPLOYED_FUNDS:
            errors.add("opco_name", f"Choisissez le fonds des non-salariés : {', '.join(SELF_EMPLOYED_FUNDS)}.")
        elif kind == "self_employed_fund" and data.get("payer_trainee_id"):  # the trainee pays, as a professional
            trainee = _enrolled_trainee(session, data, errors)
            return {**_trainee_values(trainee), "opco_name": name} if trainee is not None else {}
        else:
            return {"opco_name": name, "buyer_name": name}
        return {}
    if kind == "france_travail":
        return _previous_buyer({"opco_name": FRANCE_TRAVAIL, "buyer_name": FRANCE_TRAVAIL},
                               Invoice.payer_kind == "france_travail")
    trainee = _enrolled_trainee(session, data, errors)
    return _trainee_values(trainee) if trainee is not None else {}


def create_draft(session: TrainingSession, data: dict, actor: User | None) -> Invoice:
    """An empty draft for a payer chosen by hand: a company, a public buyer or a public funder (by id), an OPCO or a
    self-employed fund (by name; the fund's trainee who pays, when one is chosen), France Travail, or a trainee of
    the session."""
    _ensure_staff(actor)
    if session.status == "cancelled":
        raise ConflictError("Cette session est annulée : elle ne se facture pas.")
    errors = ErrorCollector()
    kind = str(data.get("payer_kind") or "")
    values: dict = {}
    if kind not in PAYER_KINDS:
        errors.add("payer_kind", "Payeur inconnu : entreprise, OPCO, fonds des non-salariés, France Travail, "
                                 "financeur public, acheteur public ou particulier.")
    else:
        values = _chosen_payer(session, kind, data, errors)
    errors.raise_if_any()
    invoice = Invoice(kind="invoice", status="draft", session_id=session.id, payer_kind=kind,
                      created_by_id=actor.id if actor else None, **_dates(session))
    for key, value in values.items():
        setattr(invoice, key, value)
    recompute(invoice)
    db.session.add(invoice)
    db.session.flush()
    return invoice


def delete_draft(invoice: Invoice, actor: User | None) -> None:
    _ensure_staff(actor)
    if invoice.status != "draft":
        raise ConflictError("Une facture émise ne se supprime jamais : établissez un avoir pour l'annuler.")
    db.session.delete(invoice)


# --------------------------------------------------------------------------- issue


def payment_days() -> int:
    return int(current_app.config["BILLING_PAYMENT_DAYS"])


def default_payment_terms(payer_kind: str = "company", trainee_pays: bool = False) -> str:
    """BILLING_PAYMENT_TERMS, else the organisation's, else "Paiement à N jours…". A trainee who pays (an individual,
    or a self-employed trainee refunded by their fund: ``trainee_pays``) is not told about subrogation (how an OPCO
    pays): the sentences that mention it are left out of their invoice."""
    terms = (current_app.config.get("BILLING_PAYMENT_TERMS") or "").strip() or (
        get_organisation().payment_terms or "").strip()
    if payer_kind == "individual" or trainee_pays:
        terms = " ".join(sentence for sentence in re.split(r"(?<=[.!?])\s+", terms)
                         if "subrogation" not in sentence.lower())
    return terms or f"Paiement à {payment_days()} jours à compter de la date de facture, par virement bancaire."


def is_public_buyer(invoice: Invoice) -> bool:
    """Invoiced to a public buyer: as such or as a public funder (Chorus Pro), or a company flagged public buyer
    (e.g. an intra session)."""
    if invoice.payer_kind in PUBLIC_PAYERS:
        return True
    company = db.session.get(Company, invoice.payer_company_id) if invoice.payer_company_id else None
    return company is not None and company.is_public_buyer


def frozen_seller(payer_kind: str, public_buyer: bool = False) -> dict:
    """The organisation's identity and the terms, as stated on a document issued now (Invoice.seller): for a public
    buyer or funder, the Code de la commande publique's late-payment interest and indemnity; for an individual, no
    indemnity (a self-employed trainee refunded by their fund is a professional: the 40 € indemnity applies)."""
    config = current_app.config
    seller = builders.seller_identity()
    if public_buyer or payer_kind in PUBLIC_PAYERS:
        seller["late_penalties"], seller["recovery_indemnity"] = PUBLIC_LATE_PENALTIES, PUBLIC_RECOVERY_INDEMNITY
    else:
        seller["late_penalties"] = (config.get("BILLING_LATE_PENALTIES") or "").strip()
        seller["recovery_indemnity"] = "" if payer_kind == "individual" else (
            config.get("BILLING_RECOVERY_INDEMNITY") or "").strip()
    seller["discount"] = (config.get("BILLING_EARLY_PAYMENT_DISCOUNT") or "").strip()
    return seller


def issue_problems(invoice: Invoice, seller: dict) -> dict[str, list[str]]:
    """The mandatory mentions missing from a document about to be issued, by field ("seller" for the
    organisation's, "lines" for the lines)."""
    problems: dict[str, list[str]] = {}

    def add(field_name: str, message: str) -> None:
        problems.setdefault(field_name, []).append(message)

    where = " (Administration → Organisme)"
    if not seller.get("name"):
        add("seller", "Raison sociale de l'organisme manquante" + where + ".")
    if not seller.get("siret"):
        add("seller", "SIRET de l'organisme manquant" + where + ".")
    if not seller.get("nda"):
        add("seller", "Numéro de déclaration d'activité de l'organisme manquant" + where + ".")
    if not (seller.get("address") and seller.get("postal_code") and seller.get("city")):
        add("seller", "Adresse de l'organisme incomplète" + where + ".")
    if not seller.get("vat_exempt") and not seller.get("vat_number"):
        add("seller", "Numéro de TVA intracommunautaire de l'organisme manquant (il n'est pas exonéré de TVA)"
            + where + ".")
    if not seller.get("late_penalties"):
        add("seller", "Texte des pénalités de retard manquant (réglage BILLING_LATE_PENALTIES).")
    if invoice.payer_kind != "individual" and not seller.get("recovery_indemnity"):
        add("seller", "Mention de l'indemnité forfaitaire de recouvrement de 40 € manquante "
                      "(réglage BILLING_RECOVERY_INDEMNITY).")
    if not (invoice.buyer_name or "").strip():
        add("buyer_name", "Nom du client facturé manquant.")
    if not all((value or "").strip() for value in (invoice.buyer_address, invoice.buyer_postal_code,
                                                    invoice.buyer_city)):
        add("buyer_address", "Adresse du client incomplète (adresse, code postal et ville).")
    if invoice.payer_kind == "company" and len(invoice.buyer_siret or "") != 14:
        add("buyer_siret", "SIRET du client manquant : son SIREN est une mention obligatoire.")
    if invoice.payer_kind in FUNDER_PAYERS:
        for field_name, message in _funder_problems(invoice):
            add(field_name, message)
    if invoice.payer_kind in PUBLIC_PAYERS:
        for field_name, message in _chorus_problems(invoice):
            add(field_name, message)
    if not invoice.lines:
        add("lines", "La facture n'a aucune ligne.")
    elif invoice.total_incl_vat <= 0:
        add("lines", "Le total de la facture doit être supérieur à 0.")
    return problems


def _funder_problems(invoice: Invoice) -> list[tuple[str, str]]:
    """A funder's mentions: its SIREN when it is the buyer (an OPCO, a fund under subrogation, France Travail; a
    public funder's SIRET is Chorus Pro's business), the fund and its file on a self-employed fund's invoice, the AIF
    agreement reference on France Travail's, the convention or order reference and the category of a public
    funder's."""
    problems = []
    name = invoice.opco_name or invoice.buyer_name
    to_funder = invoice.payer_kind != "public_funder" and invoice.payer_trainee_id is None
    if to_funder and len(invoice.buyer_siret or "") not in (9, 14):
        label = "de l'OPCO facturé" if invoice.payer_kind == "opco" else "du financeur facturé"
        problems.append(("buyer_siret", f"SIREN {label}{f' ({name})' if name else ''} manquant : c'est une mention "
                                        "obligatoire ; saisissez-le (ou son SIRET) sur le brouillon, il sera repris "
                                        "sur ses factures suivantes."))
    file = (invoice.opco_file_number or "").strip()
    if invoice.payer_kind == "self_employed_fund":
        if not (invoice.opco_name or "").strip():
            problems.append(("opco_name", "Fonds des non-salariés manquant : la facture nomme le fonds qui prend en "
                                          "charge la formation."))
        if not file:
            problems.append(("opco_file_number", f"Numéro de dossier {name or 'du fonds'} manquant : le fonds le "
                                                 "demande pour payer ou rembourser la formation."))
    elif invoice.payer_kind == "france_travail" and not file:
        problems.append(("opco_file_number", "Référence de l'accord France Travail (devis AIF) manquante : c'est une "
                                             "mention obligatoire de sa facture."))
    elif invoice.payer_kind == "public_funder":
        if not file:
            problems.append(("opco_file_number", f"Référence de la convention ou du bon de commande de "
                                                 f"{name or 'du financeur public'} manquante."))
        if invoice.funder_category not in PUBLIC_FUNDER_CATEGORIES:
            problems.append(("funder_category", "Catégorie du financeur public manquante (région, État, instances "
                                                "européennes ou autre) : elle classe ses produits au BPF."))
    return problems


def _chorus_problems(invoice: Invoice) -> list[tuple[str, str]]:
    """A public buyer's or funder's routing on Chorus Pro: its SIRET, and the service code and engagement number
    its record in the companies directory asks for."""
    company = db.session.get(Company, invoice.payer_company_id) if invoice.payer_company_id else None
    if company is None and invoice.payer_kind == "public_funder":
        company = _public_company(invoice.buyer_siret)
    problems = []
    if len(invoice.buyer_siret or "") != 14:
        label = "de l'acheteur public" if invoice.payer_kind == "public_buyer" else "du financeur public"
        problems.append(("buyer_siret", f"SIRET {label} manquant : Chorus Pro achemine la facture par son SIRET."))
    if company is None:
        return problems
    name = company.name
    if company.chorus_service_code and not invoice.service_code:
        problems.append(("service_code", f"{name} demande le code service « {company.chorus_service_code} » sur ses "
                                         "factures."))
    if company.engagement_required and not invoice.engagement_number:
        problems.append(("engagement_number", f"{name} exige un numéro d'engagement sur ses factures : Chorus Pro "
                                              "rejetterait la facture sans lui."))
    return problems


def _refuse(problems: dict[str, list[str]]) -> None:
    if problems:
        listed = " ".join(message for messages in problems.values() for message in messages)
        raise ValidationError(f"Mentions obligatoires manquantes : {listed}", fields=problems)


def funder_mention(invoice: Invoice) -> str:
    """The funder as the invoice states it (its document and its Factur-X notes): "" for another payer."""
    return builders.funder_mention(invoice)


def document_context(invoice: Invoice) -> dict:
    """The Word document's context: the frozen seller of an issued document, today's for a draft."""
    seller = invoice.seller or frozen_seller(invoice.payer_kind, is_public_buyer(invoice))
    return builders.invoice(invoice, seller, invoice.number or "BROUILLON", transfer=document_part(invoice))


def render_docx(invoice: Invoice) -> bytes:
    """The document from the active "invoice" template (an uploaded one, or documents/facture.docx)."""
    from ..documents import services as documents

    template = documents.active_template("invoice")[0]
    return documents.render(template, document_context(invoice)).docx


def preview_context() -> dict | None:
    """For the template preview: the context of the latest invoice, or None when there is none."""
    invoice = db.session.scalar(select(Invoice).where(Invoice.session_id.is_not(None))
                                .order_by(Invoice.id.desc()).limit(1))
    return document_context(invoice) if invoice is not None else None


def _take_number_and_produce(invoice: Invoice, actor: User | None, today: dt.date) -> None:
    """Number, dates, frozen identity, then the files; the caller has checked the mentions. Whatever fails
    here fails the transaction, so the number taken is given back."""
    number, sequence = next_number(invoice.kind, today.year)
    invoice.number, invoice.year, invoice.sequence = number, today.year, sequence
    invoice.status = "issued"
    invoice.issue_date = today
    invoice.issued_at = utcnow()
    invoice.issued_by_id = actor.id if actor else None
    invoice.operation_category = "services"
    docx = render_docx(invoice)
    invoice.docx_file = store_bytes(docx, f"{number}.docx", "invoice")
    db.session.flush()
    facturx.produce_files(invoice, docx)
    db.session.flush()


def _contract_enrolments(invoice: Invoice) -> list[Enrolment]:
    """The self-paying trainees' enrolments this invoice to an individual bills: each one's contrat de formation
    rules the invoice (enrolments/contract.py: its signature recorded, the withdrawal period run, a first call at
    30 % at most)."""
    if invoice.payer_kind != "individual":
        return []
    ids = sorted({line.enrolment_id for line in invoice.lines if line.enrolment_id})
    enrolments = [db.session.get(Enrolment, i) for i in ids]
    return [e for e in enrolments if e is not None and contract.is_individual(e)]


def _earlier_calls(invoice: Invoice, enrolments: list[Enrolment]) -> Decimal:
    """What was already invoiced to the trainee for these enrolments (issued invoices, before credit notes)."""
    billed = select(InvoiceLine.invoice_id).where(InvoiceLine.enrolment_id.in_([e.id for e in enrolments]))
    earlier = db.session.scalars(select(Invoice).where(
        Invoice.id != invoice.id, Invoice.kind == "invoice", Invoice.status != "draft", Invoice.id.in_(billed))).all()
    return sum((i.total_incl_vat for i in earlier), Decimal("0.00"))


def issue_invoice(invoice: Invoice, actor: User | None, today: dt.date | None = None) -> Invoice:
    """Give a draft its number and its documents; from then on it never changes (see the module docstring)."""
    _ensure_staff(actor)
    lock_row(Invoice, invoice.id)  # two clicks at once: the second finds it issued
    db.session.refresh(invoice)
    if invoice.kind != "invoice":
        raise ConflictError("Un avoir est émis dès sa création.")
    if invoice.status != "draft":
        raise ConflictError(f"Cette facture est déjà émise (n° {invoice.number}).")
    session = session_of(invoice)
    contracts = _contract_enrolments(invoice)
    # A self-paying trainee's contract lets payment requests be made as the course goes (L6353-6).
    in_course = bool(contracts) and session is not None and session.status in ("confirmed", "in_progress")
    if session is None or (session.status not in ISSUABLE_SESSIONS and not in_course):
        label = SESSION_STATUS_LABELS[session.status].lower() if session is not None else "inconnue"
        raise ConflictError("Une facture s'émet une fois la formation réalisée (service fait) : la session est "
                            f"« {label} ». Terminez-la d'abord.")
    recompute(invoice)
    today = today or paris_today()
    if contracts:  # the contract's rules first: no point completing a document that cannot leave yet
        contract.check_individual_invoice(contracts, invoice.total_incl_vat, today=today,
                                          course_done=session.status in ISSUABLE_SESSIONS,
                                          earlier_calls=_earlier_calls(invoice, contracts))
    seller = frozen_seller(invoice.payer_kind, is_public_buyer(invoice))
    _refuse(issue_problems(invoice, seller))
    invoice.seller = seller
    invoice.due_date = today + dt.timedelta(days=payment_days())
    invoice.payment_terms = default_payment_terms(invoice.payer_kind,
                                                  trainee_pays=invoice.payer_trainee_id is not None)
    _take_number_and_produce(invoice, actor, today)
    return invoice


# --------------------------------------------------------------------------- credit notes


def credit_invoice(invoice: Invoice, actor: User | None, amount=None, reason: str = "",
                   today: dt.date | None = None) -> Invoice:
    """A credit note against an issued invoice, issued at once: the whole remainder (``amount`` None or empty),
    or ``amount`` including VAT, never more than what remains uncredited."""
    _ensure_staff(actor)
    reason = str(reason or "").strip()
    errors = ErrorCollector()
    if len(reason) < 3:
        errors.add("reason", "Indiquez le motif de l'avoir.")
    elif len(reason) > 2000:
        errors.add("reason", "Le motif ne doit pas dépasser 2000 caractères.")
    wanted = parse_decimal(amount, "amount", errors, label="Le montant de l'avoir", positive=True)
    errors.raise_if_any()
    lock_row(Invoice, invoice.id)  # two credit notes at once cannot together exceed the invoice
    db.session.refresh(invoice)
    if invoice.kind != "invoice":
        raise ConflictError("Un avoir ne s'annule pas par un autre avoir.")
    if invoice.status != "issued":
        raise ConflictError("Un brouillon se modifie ou se supprime : l'avoir ne s'applique qu'à une facture émise.")
    credited = list(db.session.scalars(select(Invoice).where(
        Invoice.credited_invoice_id == invoice.id, Invoice.kind == "credit_note", Invoice.status == "issued")))
    credited_excl = sum((c.total_excl_vat for c in credited), ZERO)
    credited_vat = sum((c.total_vat for c in credited), ZERO)
    remaining = money(invoice.total_incl_vat - sum((c.total_incl_vat for c in credited), ZERO))
    if remaining <= 0:
        raise ConflictError(f"La facture {invoice.number} est déjà entièrement annulée par avoir.")
    if wanted is not None and wanted > remaining:
        raise ValidationError(f"L'avoir ({money_fr(wanted)}) dépasse ce qui reste à annuler sur la facture "
                              f"{invoice.number} ({money_fr(remaining)}).", field="amount")
    note = Invoice(kind="credit_note", status="draft", credited_invoice=invoice, reason=reason,
                   created_by_id=actor.id if actor else None)
    for column in ("session_id", "payer_kind", "payer_company_id", "payer_trainee_id", "buyer_name", "buyer_address",
                   "buyer_postal_code", "buyer_city", "buyer_country", "buyer_siret", "buyer_vat_number",
                   "buyer_email", "opco_name", "opco_file_number", "beneficiary_company_id", "funder_category",
                   "service_code", "engagement_number", "buyer_reference", "service_start", "service_end"):
        setattr(note, column, getattr(invoice, column))
    rates = {line.vat_rate for line in invoice.lines} or {ZERO}
    if wanted is None and not credited:
        for line in invoice.lines:
            note.lines.append(InvoiceLine(
                description=line.description, quantity=line.quantity, unit=line.unit,
                unit_price_excl_vat=line.unit_price_excl_vat, vat_rate=line.vat_rate, hours=line.hours,
                enrolment_id=line.enrolment_id, funding_line_id=line.funding_line_id, total_excl_vat=ZERO))
    else:
        if len(rates) > 1:
            raise ValidationError("La facture porte plusieurs taux de TVA : un avoir partiel n'est pas possible, "
                                  "établissez un avoir total.", field="amount")
        rate = next(iter(rates))
        if wanted is None:
            excl = money(invoice.total_excl_vat - credited_excl)
            label = f"Annulation du solde de la facture n° {invoice.number} du {date_fr(invoice.issue_date)}"
            if rate and money(excl * rate / 100) != money(invoice.total_vat - credited_vat):
                excl = _excl(remaining, rate)
        else:
            excl = _excl(wanted, rate)
            label = f"Avoir partiel sur la facture n° {invoice.number} du {date_fr(invoice.issue_date)}"
        note.lines.append(InvoiceLine(description=f"{label} : {reason}"[:MAX_DESCRIPTION], quantity=Decimal("1"),
                                      unit="C62", unit_price_excl_vat=excl, vat_rate=rate, total_excl_vat=ZERO))
    recompute(note)
    if note.total_incl_vat > remaining:  # a cent of rounding on a partial amount with VAT
        raise ValidationError(f"L'avoir ({money_fr(note.total_incl_vat)}) dépasse ce qui reste à annuler "
                              f"({money_fr(remaining)}).", field="amount")
    seller = frozen_seller(note.payer_kind, is_public_buyer(note))
    _refuse(issue_problems(note, seller))
    note.seller = seller
    note.payment_terms = (f"Avoir à imputer sur la facture n° {invoice.number} ; la somme éventuellement déjà "
                          "réglée au-delà est remboursée par virement.")
    db.session.add(note)
    db.session.flush()
    _take_number_and_produce(note, actor, today or paris_today())
    return note


# --------------------------------------------------------------------------- files


FILE_KINDS = {"docx": ("docx_file", "Word"), "pdf": ("pdf_file", "PDF Factur-X"), "xml": ("xml_file", "XML Factur-X")}


def stored_file(invoice: Invoice, kind: str) -> StoredFile | None:
    if kind not in FILE_KINDS:
        raise NotFoundError("Format inconnu : docx, pdf ou xml.")
    return getattr(invoice, FILE_KINDS[kind][0])


def read_file(invoice: Invoice, kind: str) -> tuple[bytes, StoredFile]:
    """A file produced at issue, checked against its SHA-256."""
    stored = stored_file(invoice, kind)
    if stored is None:
        if invoice.status == "draft":
            raise NotFoundError("Un brouillon n'a pas encore de fichier : il est produit à l'émission.")
        raise NotFoundError(f"Pas de fichier {FILE_KINDS[kind][1]} pour {invoice.number} (non produit à l'émission, "
                            "par exemple faute de convertisseur PDF).")
    data = path_for(stored).read_bytes()
    if hashlib.sha256(data).hexdigest() != stored.sha256:
        raise ConflictError("Le fichier archivé ne correspond plus à son empreinte SHA-256 : il a été altéré.")
    return data, stored


def filename(invoice: Invoice, kind: str) -> str:
    return f"{invoice.number or f'brouillon-{invoice.id}'}.{kind}"


__all__ = ["INVOICE_KINDS", "INVOICE_STATUSES", "PAYER_KINDS", "LINE_UNITS", "OPERATION_CATEGORIES", "Plan",
           "Proposal", "add_line", "create_draft", "credit_invoice", "delete_draft", "delete_line",
           "get_invoice", "issue_invoice", "list_invoices", "plan_invoices", "propose_invoices", "update_draft",
           "update_line"]
