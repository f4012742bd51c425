"""An OPCO funding line billed per hour attended, set by the advisor on the funding form: the invoice proposal
gives hours attended × hourly rate (excluding VAT), capped at the agreed amount."""
from __future__ import annotations

from decimal import Decimal

from trainingmgr.billing.invoices.planning import plan_invoices, propose_invoices
from trainingmgr.enrolments.models import FundingLine
from trainingmgr.extensions import db

from tests.fixtures.billing import agreed, complete, enrol_with, invoices_of

D = Decimal


def set_per_hour(advisor, enrolment, rate: str, agreed_amount: str = "600,00") -> FundingLine:
    """The advisor edits the enrolment's OPCO line on its funding form: billed per hour attended at ``rate``."""
    [line] = [line for line in enrolment.funding_lines if line.kind == "opco"]
    response = advisor.post(f"/enrolments/{enrolment.id}/funding/{line.id}", data={
        "kind": "opco", "amount": agreed_amount, "opco_name": "OPCO EP", "opco_status": "agreed",
        "opco_file_number": line.opco_file_number, "agreed_amount": agreed_amount, "agreed_on": "2031-01-10",
        "subrogation": "y", "billing_basis": "hours_attended", "hourly_rate": rate})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    db.session.expire_all()
    line = db.session.get(FundingLine, line.id)
    assert (line.billing_basis, line.hourly_rate) == ("hours_attended", D(rate.replace(",", ".")))
    return line


def test_the_proposal_bills_hours_attended_times_the_rate_capped_at_the_agreement(inter, advisor):
    session, company = inter.session, inter.world.company
    below = enrol_with(session, 1, [agreed("600.00", "H-1"), {"kind": "company", "amount": "0"}], company)
    capped = enrol_with(session, 2, [agreed("600.00", "H-2")], company)
    below_line = set_per_hour(advisor, below, "50,00")
    capped_line = set_per_hour(advisor, capped, "80,00")
    complete(session, hours={below.id: D("6.5")})  # the other one attended the 8 hours planned

    plan = plan_invoices(session)
    assert plan.notes == []
    opco = {p.values["opco_file_number"]: p for p in plan.invoices if p.payer_kind == "opco"}
    [line] = opco["H-1"].lines  # 6,5 h × 50 € = 325 € ≤ 600 € agreed: the hours themselves
    assert (line.quantity, line.unit, line.unit_price, line.total_excl_vat, line.hours) == (
        D("6.50"), "HUR", D("50.00"), D("325.00"), D("6.50"))
    assert line.funding_line_id == below_line.id
    [line] = opco["H-2"].lines  # 8 h × 80 € = 640 € > 600 € agreed: capped, one line stating the hours
    assert (line.quantity, line.unit, line.unit_price, line.total_excl_vat, line.hours) == (
        D("1"), "C62", D("600.00"), D("600.00"), D("8.00"))
    assert "plafonné" in line.description and line.funding_line_id == capped_line.id
    # The company pays what the OPCO does not: 600 − 325 for the first trainee, nothing for the second.
    [rest] = [p for p in plan.invoices if p.payer_kind == "company"]
    assert [(line.enrolment_id, line.total_excl_vat) for line in rest.lines] == [(below.id, D("275.00"))]

    # Written as drafts with the same amounts.
    propose_invoices(session, inter.advisor)
    db.session.commit()
    totals = sorted((i.payer_kind, i.opco_file_number, i.total_incl_vat) for i in invoices_of(session))
    assert totals == [("company", "", D("275.00")), ("opco", "H-1", D("325.00")), ("opco", "H-2", D("600.00"))]
