"""Who pays what for one enrolment: its shares per payer (funders, public buyers, company, trainee), pro rata
of an abandonment and the dédit line. See docs/billing-invoices.md, "Who pays what"."""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from ...companies.models import Company
from ...core.formatting import hours_fr, money_fr, number_fr
from ...core.numbers import money
from ...enrolments.models import Enrolment, EnrolmentStatus, FundingLine, OpcoStatus
from ...sessions.models import TrainingSession
from ...trainees.models import Trainee
from ..kinds import PayerKind
from ..models import LINE_UNITS, Invoice
from .amounts import ZERO, abandonment_dedit_percent, attended_share, excl_vat, incl_vat
from .payers import (
    REFERENCE_LABELS,
    company_values,
    funder_name,
    funder_values,
    paid_by_funder,
    professional_values,
    trainee_values,
)

ABANDON_HOURS_UNKNOWN = ("{name} a abandonné la formation : ses heures suivies ne sont pas encore enregistrées ; "
                         "rien n'est proposé pour cette inscription, facturée au prorata de ces heures.")


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
        return incl_vat(self.total_excl_vat, self.vat_rate)

    @property
    def unit_label(self) -> str:
        return LINE_UNITS.get(self.unit, self.unit)


@dataclass
class Share:
    key: tuple
    payer_kind: str
    values: dict
    line: ProposedLine


def share_key(kind: str, values: dict) -> tuple:
    """One invoice per company; per OPCO file; per public buyer, SIRET and engagement; per self-employed fund and
    file (to the trainee who pays: per trainee and file); per France Travail agreement; per public funder and
    reference; per trainee paying personally."""
    if kind == PayerKind.COMPANY.value:
        return (PayerKind.COMPANY.value, values.get("payer_company_id"))
    if kind == PayerKind.OPCO.value:
        return (PayerKind.OPCO.value, values.get("opco_name", ""), values.get("opco_file_number", ""))
    if kind == PayerKind.PUBLIC_BUYER.value:
        return (PayerKind.PUBLIC_BUYER.value, values.get("payer_company_id"), values.get("buyer_siret", ""),
                values.get("engagement_number", ""))
    if kind == PayerKind.SELF_EMPLOYED_FUND.value:
        return (PayerKind.SELF_EMPLOYED_FUND.value, values.get("payer_trainee_id"), values.get("opco_name", ""),
                values.get("opco_file_number", ""))
    if kind == PayerKind.FRANCE_TRAVAIL.value:
        return (PayerKind.FRANCE_TRAVAIL.value, values.get("opco_file_number", ""))
    if kind == PayerKind.PUBLIC_FUNDER.value:
        return (PayerKind.PUBLIC_FUNDER.value, values.get("opco_name", ""), values.get("opco_file_number", ""))
    return (PayerKind.INDIVIDUAL.value, values.get("payer_trainee_id"))


def invoice_key(invoice: Invoice) -> tuple:
    """The payer an invoice is for, as the proposal groups lines (a draft of that payer receives new lines)."""
    return share_key(invoice.payer_kind, {
        "payer_company_id": invoice.payer_company_id, "opco_name": invoice.opco_name,
        "opco_file_number": invoice.opco_file_number, "buyer_siret": invoice.buyer_siret,
        "engagement_number": invoice.engagement_number, "payer_trainee_id": invoice.payer_trainee_id})


def _funder_item(line: FundingLine, enrolment: Enrolment, base: str, hours: Decimal | None, planned: Decimal,
                 rate: Decimal, due) -> tuple[ProposedLine | None, str | None]:
    """What a funder paying directly is invoiced for one enrolment, or the note saying why it is not known yet.
    Only once its agreement is recorded, never above the agreed amount; a no-show 0, an abandonment pro rata of
    the hours attended (a funder pays the hours attended); or, billed per hour attended, hours × the hourly rate."""
    trainee = enrolment.trainee
    name, file = funder_name(line), line.opco_file_number or "sans numéro"
    if line.opco_status != OpcoStatus.AGREED.value or line.agreed_amount is None:
        return None, (f"{trainee.full_name} : l'accord de {name} ({REFERENCE_LABELS[line.kind]} {file}) n'est pas "
                      "enregistré ; rien n'est proposé pour cette inscription tant que la prise en charge n'est pas "
                      "connue.")
    cap = money(line.agreed_amount)
    attended = ("" if enrolment.status == EnrolmentStatus.ABANDONED.value  # already said by ``base``
                else f" – {hours_fr(hours)} suivies sur {hours_fr(planned)}" if hours is not None
                else f" – {hours_fr(planned)} prévues")
    reference = (f"dossier n° {file}" if line.kind == PayerKind.OPCO.value
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
                                f"l'accord de {money_fr(cap)})", Decimal("1"), "C62", excl_vat(cap, rate), rate,
                                enrolment.id, line.id, hours)
        return item, None
    amount = ZERO if enrolment.status == EnrolmentStatus.NO_SHOW.value else due(min(money(line.amount), cap))
    return ProposedLine(description, Decimal("1"), "C62", excl_vat(amount, rate), rate, enrolment.id, line.id,
                        hours), None


def _professional_item(line: FundingLine, enrolment: Enrolment, base: str, rate: Decimal, due
                       ) -> tuple[ProposedLine | None, str | None]:
    """A self-employed fund without subrogation: the trainee pays the fund's share (no agreement needed) and claims
    the refund; the line says so, with the fund and its file. Refused by the fund: nothing, until the funding is
    changed."""
    fund, file = line.opco_name, line.opco_file_number
    if line.opco_status == OpcoStatus.REFUSED.value:
        return None, (f"{enrolment.trainee.full_name} : {fund} a refusé la prise en charge"
                      f"{f' (dossier n° {file})' if file else ''} ; modifiez le financement de l'inscription.")
    description = (f"{base} – prise en charge {fund}{f', dossier n° {file}' if file else ''} : le stagiaire règle la "
                   "facture et en demande le remboursement au fonds")
    return ProposedLine(description, Decimal("1"), "C62", excl_vat(due(money(line.amount)), rate), rate, enrolment.id,
                        line.id, enrolment.hours_attended), None


@dataclass
class _EnrolmentBill:
    """One enrolment of an inter session being shared out between its payers, and the shares found so far."""
    enrolment: Enrolment
    planned: Decimal
    rate: Decimal
    lookup: bool
    base: str
    shares: list[Share] = field(default_factory=list)
    paid_by_others: Decimal = ZERO
    others: list[str] = field(default_factory=list)

    @property
    def trainee(self) -> Trainee:
        return self.enrolment.trainee

    @property
    def company(self) -> Company | None:
        return self.enrolment.company or self.enrolment.trainee.company

    @property
    def hours(self) -> Decimal | None:
        return self.enrolment.hours_attended

    @property
    def abandoned(self) -> bool:
        return self.enrolment.status == EnrolmentStatus.ABANDONED.value

    def due(self, amount: Decimal) -> Decimal:
        """An abandonment: only the hours attended are due, by every payer (the convention's clause, L6353-7)."""
        return attended_share(amount, self.hours, self.planned) if self.abandoned else amount

    def add(self, kind: str, values: dict, item: ProposedLine, paid_by: str | None = None) -> None:
        """A share for ``kind``; ``paid_by`` names a payer that lowers the rest to pay."""
        self.shares.append(Share(share_key(kind, values), kind, values, item))
        if paid_by is not None:
            self.paid_by_others += item.total_excl_vat
            self.others.append(paid_by)


def enrolment_shares(enrolment: Enrolment, session: TrainingSession, rate: Decimal, lookup: bool = True
                     ) -> tuple[list[Share], list[str], bool]:
    """Who pays what for one enrolment of an inter session (see docs/billing-invoices.md): (shares, notes, whether
    every payer is known)."""
    if enrolment.status == EnrolmentStatus.ABANDONED.value and enrolment.hours_attended is None:
        return [], [ABANDON_HOURS_UNKNOWN.format(name=enrolment.trainee.full_name)], False
    bill = _EnrolmentBill(enrolment, session.planned_hours, rate, lookup, _base_description(enrolment, session))
    for step in (_funder_shares, _public_buyer_shares, _professional_shares):
        note = step(bill)
        if note is not None:
            return [], [note], False
    return _rest_shares(bill)


def _base_description(enrolment: Enrolment, session: TrainingSession) -> str:
    base = f"Formation « {session.title} » {session.dates_label} – {enrolment.trainee.full_name}"
    if enrolment.status == EnrolmentStatus.ABANDONED.value:
        return base + abandon_label(enrolment.hours_attended, session.planned_hours)
    if enrolment.status == EnrolmentStatus.NO_SHOW.value:
        return base + " (absent(e))"
    return base


def _funder_shares(bill: _EnrolmentBill) -> str | None:
    """The funders paying the organisation directly; the note of the first one whose share is not known yet."""
    for line in (line for line in bill.enrolment.funding_lines if paid_by_funder(line)):
        item, note = _funder_item(line, bill.enrolment, bill.base, bill.hours, bill.planned, bill.rate, bill.due)
        if item is None:
            return note
        if item.total_excl_vat > 0:
            bill.add(line.kind, funder_values(line, bill.company, bill.lookup), item, funder_name(line))
    return None


def _public_buyer_shares(bill: _EnrolmentBill) -> None:
    for line in (line for line in bill.enrolment.funding_lines if line.kind == PayerKind.PUBLIC_BUYER.value):
        buyer = line.payer_company or bill.company
        values = company_values(buyer) if buyer is not None else {"buyer_name": "Acheteur public"}
        values.update(buyer_siret=line.buyer_siret or values.get("buyer_siret", ""),
                      service_code=line.service_code or (buyer.chorus_service_code if buyer else ""),
                      engagement_number=line.engagement_number)
        item = ProposedLine(bill.base, Decimal("1"), "C62", excl_vat(bill.due(money(line.amount)), bill.rate),
                            bill.rate, bill.enrolment.id, line.id, bill.hours)
        if item.total_excl_vat > 0:
            bill.add(PayerKind.PUBLIC_BUYER.value, values, item, values["buyer_name"])


def _professional_shares(bill: _EnrolmentBill) -> str | None:
    """Self-employed funds without subrogation; the note of the first one that refused."""
    for line in bill.enrolment.funding_lines:
        if line.kind != PayerKind.SELF_EMPLOYED_FUND.value or line.subrogation:
            continue
        item, note = _professional_item(line, bill.enrolment, bill.base, bill.rate, bill.due)
        if item is None:
            return note
        if item.total_excl_vat > 0:
            bill.add(PayerKind.SELF_EMPLOYED_FUND.value, professional_values(line, bill.trainee, bill.lookup), item,
                     line.opco_name)
    return None


def _rest_payer(bill: _EnrolmentBill) -> tuple[Company | None, str, FundingLine | None]:
    """Who pays the rest: (company, payer kind, funding line). With company lines, the trainee's own lines become
    their shares first and the company pays what remains."""
    lines = bill.enrolment.funding_lines
    company_lines = [line for line in lines if line.kind == PayerKind.COMPANY.value
                     or (line.kind == PayerKind.OPCO.value and not line.subrogation)]
    individual_lines = [line for line in lines if line.kind == PayerKind.INDIVIDUAL.value]
    if company_lines:
        for line in individual_lines:
            item = ProposedLine(f"{bill.base} – part personnelle", Decimal("1"), "C62",
                                excl_vat(bill.due(money(line.amount)), bill.rate), bill.rate, bill.enrolment.id,
                                line.id, bill.hours)
            bill.add(PayerKind.INDIVIDUAL.value, trainee_values(bill.trainee), item)
        first = next((line for line in company_lines if line.kind == PayerKind.COMPANY.value), company_lines[0])
        unsubrogated = [line.opco_name for line in company_lines if line.kind == PayerKind.OPCO.value]
        if unsubrogated:
            bill.base += (f" (prise en charge {', '.join(unsubrogated)} sans subrogation : l'OPCO rembourse "
                          "l'entreprise)")
        return first.payer_company or bill.company, PayerKind.COMPANY.value, first
    if individual_lines:
        return None, PayerKind.INDIVIDUAL.value, individual_lines[0]
    return bill.company, PayerKind.COMPANY.value if bill.company is not None else PayerKind.INDIVIDUAL.value, None


def _rest_shares(bill: _EnrolmentBill) -> tuple[list[Share], list[str], bool]:
    """The rest after the funders: to the company or the trainee, with the dédit of an abandonment."""
    personal_before = len(bill.shares)
    payer, rest_kind, rest_line = _rest_payer(bill)
    price_excl = money(bill.enrolment.price_excl_vat or 0)
    due_excl = bill.due(price_excl)
    rest = (due_excl - bill.paid_by_others
            - sum((share.line.total_excl_vat for share in bill.shares[personal_before:]), ZERO))
    rest_line_id = rest_line.id if rest_line is not None else None
    items: list[ProposedLine] = []
    notes: list[str] = []
    if rest < 0:
        notes.append(f"{bill.trainee.full_name} : les financements dépassent le prix{' dû' if bill.abandoned else ''} "
                     f"de l'inscription de {money_fr(-rest)} HT ; vérifiez les montants.")
    elif rest > 0:
        description = f"{bill.base} – reste à charge après {', '.join(bill.others)}" if bill.others else bill.base
        if bill.abandoned:
            description += due_label(price_excl, bill.hours, bill.planned, due_excl)
        items.append(ProposedLine(description, Decimal("1"), "C62", money(rest), bill.rate, bill.enrolment.id,
                                  rest_line_id, bill.hours))
    if bill.abandoned and rest_kind == PayerKind.COMPANY.value:
        # Same funding line as the rest: proposed with it, once (a dédit the advisor removed does not come back).
        items.extend(dedit_lines(bill.enrolment, price_excl - due_excl, bill.rate, rest_line_id))
    if not items:
        return bill.shares, notes, True
    if rest_kind == PayerKind.COMPANY.value and payer is None:
        return bill.shares, [f"{bill.trainee.full_name} : aucune entreprise à facturer pour le reste à charge "
                             f"({money_fr(sum((i.total_excl_vat for i in items), ZERO))} HT) ; rattachez "
                             "l'inscription à son entreprise."], False
    values = company_values(payer) if rest_kind == PayerKind.COMPANY.value else trainee_values(bill.trainee)
    for item in items:
        bill.add(rest_kind, values, item)
    return bill.shares, notes, True


def abandon_label(hours: Decimal, planned: Decimal) -> str:
    return f" (abandon : {hours_fr(hours)} suivies sur {hours_fr(planned)}, facturées au prorata)"


def due_label(price: Decimal, hours: Decimal, planned: Decimal, due: Decimal) -> str:
    return f" – prix dû : {money_fr(price)} HT × {hours_fr(hours)} / {hours_fr(planned)} = {money_fr(due)} HT"


def dedit_lines(enrolment: Enrolment, unattended_excl: Decimal, rate: Decimal,
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
