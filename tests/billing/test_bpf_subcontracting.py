"""The BPF from the subcontracting records: section E counts the trainers by their status (employees internal,
independent trainers and subcontracting organisations external) with their hours, and section D's purchases of
training are the subcontractors' invoices of the year; the form's cross-checks still hold."""
from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from types import SimpleNamespace

import pytest
from werkzeug.datastructures import FileStorage

from trainingmgr.billing.bpf import services as service
from trainingmgr.billing.models import BpfYear
from trainingmgr.extensions import db
from trainingmgr.subcontracting.services import record_invoice

from tests.helpers import page

YEAR = 2031
D = Decimal
PDF = b"%PDF-1.4\n" + b"y" * 100


def invoice(year, trainer, session, number: str, amount: str, day: dt.date):
    made, _ = record_invoice(trainer, session, {"number": number, "issued_on": day, "amount_excl_vat": amount},
                             FileStorage(io.BytesIO(PDF), filename=f"{number}.pdf"), year.advisor, today=day)
    db.session.commit()
    return made


@pytest.fixture
def subcontracted_year(world, make_session):
    """2031: Pierre (employee) teaches a Chorus Pro session (2 × 3,5 h); Paula, an independent trainer, a DUME
    session (2 × 4 h); Claire, a subcontracting organisation, the morning of a second DUME session whose afternoon
    Pierre teaches. Paula invoices 480 € in 2031, Claire 240 € in 2031 and 100 € dated January 2032."""
    from trainingmgr.resources.services import save_trainer

    paula = world.paula
    paula.status, paula.company_siret, paula.nda, paula.rate = "independent", "73282932000074", "76310987631", D("60")
    claire = save_trainer(None, {"first_name": "Claire", "last_name": "Sous-traitante", "status": "organisation",
                                 "company_name": "Garonne Formation SAS", "company_siret": "44306184100021",
                                 "nda": "76 31 55555 31", "rate": "60", "email": "claire@garonne.example"})
    db.session.commit()
    chorus = make_session(course=world.chorus, start=dt.date(2031, 3, 3))
    dume = make_session(course=world.dume, start=dt.date(2031, 3, 10), trainer=paula)
    shared = make_session(course=world.dume, start=dt.date(2031, 3, 17), trainer=claire)
    morning, afternoon = sorted(shared.slots, key=lambda s: s.start_time)
    afternoon.trainer_id = world.pierre.id
    for session in (chorus, dume, shared):
        session.status = "completed"
    db.session.commit()
    year = SimpleNamespace(advisor=world.users["advisor"], paula=paula, claire=claire, dume=dume, shared=shared)
    invoice(year, paula, dume, "P-1", "480", dt.date(2031, 3, 20))
    invoice(year, claire, shared, "C-1", "240", dt.date(2031, 3, 25))
    invoice(year, claire, shared, "C-2", "100", dt.date(2032, 1, 10))
    return year


def _settings(**values) -> BpfYear:
    row = BpfYear(year=YEAR, **values)
    db.session.add(row)
    db.session.commit()
    return row


def test_trainers_are_counted_by_their_status_with_their_hours(subcontracted_year):
    bpf = service.compute_bpf(YEAR)
    # Pierre: 7 h (Chorus Pro) + 4 h (the shared afternoon); Paula 8 h; Claire 4 h (the shared morning).
    assert {line.code: (line.trainers, line.hours) for line in bpf.trainers} == {
        "internal": (1, D("11.00")), "external": (2, D("12.00")), "total": (3, D("23.00"))}


def test_purchases_of_training_are_the_subcontractors_invoices_of_the_year(subcontracted_year):
    bpf = service.compute_bpf(YEAR)
    total, salaries, purchases = bpf.charges
    assert (total.amount, salaries.amount, purchases.amount) == (None, None, D("720.00"))
    assert purchases.detail == "d'après 2 factures de sous-traitance enregistrées"
    assert bpf.checks_ok and len(bpf.checks) == 4  # no total typed: D's own check is not made yet
    assert service.compute_bpf(2032).charges[2].amount == D("100.00")


def test_the_cross_checks_hold_with_the_typed_charges_and_a_differing_typed_purchase_is_a_warning(subcontracted_year):
    _settings(charges_total=D("2000.00"), charges_trainer_salaries=D("900.00"), charges_purchased_training=D("500.00"))
    bpf = service.compute_bpf(YEAR)
    assert [line.amount for line in bpf.charges] == [D("2000.00"), D("900.00"), D("720.00")]
    assert bpf.checks_ok and len(bpf.checks) == 5
    assert [w for w in bpf.warnings if w.startswith("Cadre D")] == [
        "Cadre D : les achats de prestations saisis (500,00\xa0€) diffèrent des factures de sous-traitance "
        "enregistrées pour l'année (720,00\xa0€) : le BPF retient les factures."]
    f1, f3, f4 = bpf.by_type[-1], bpf.by_objective[-1], bpf.by_specialty[-1]
    assert f1.trainees == f3.trainees == f4.trainees and f1.hours == f3.hours == f4.hours


def test_purchases_above_the_typed_total_fail_the_d_check(subcontracted_year):
    _settings(charges_total=D("600.00"), charges_trainer_salaries=D("0.00"))
    bpf = service.compute_bpf(YEAR)
    check = bpf.checks[-1]
    assert check.label == "Cadre D : les « dont » ne dépassent pas le total des charges" and not check.ok
    assert check.detail == "720,00\xa0€ / 600,00\xa0€"


def test_a_year_without_invoices_keeps_the_typed_purchases(app, users):
    _settings(charges_total=D("2000.00"), charges_purchased_training=D("500.00"))
    bpf = service.compute_bpf(YEAR)
    assert bpf.charges[2].amount == D("500.00") and bpf.charges[2].detail == "" and bpf.checks_ok


def test_the_page_says_where_the_purchases_come_from(subcontracted_year, advisor):
    text = page(advisor.get(f"/bpf/{YEAR}"))
    assert "d'après 2 factures de sous-traitance enregistrées" in text


def test_the_queries_do_not_grow_with_the_invoices(subcontracted_year, count_queries):
    def queries() -> int:
        db.session.expire_all()
        with count_queries() as counter:
            service.compute_bpf(YEAR)
        return counter.count

    before = queries()
    for n in range(5):
        invoice(subcontracted_year, subcontracted_year.paula, subcontracted_year.dume, f"P-{n + 2}", "1",
                dt.date(2031, 4, 1))
    assert queries() == before
