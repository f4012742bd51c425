"""The BPF with every kind of funder: section C by who paid (a fund of the self-employed → 2g, France Travail → 7,
a public funder by its category → 4, 5, 6 or 8), F-1 by what the funding says of the trainee (France Travail → c,
a fund of the self-employed → e, the trainee alone → d) with a warning when the trainee's status says otherwise,
the form's cross-checks with every kind present, and a query count that does not grow with the enrolments.

The funding lines and invoices are written directly (the funding form's validation and the invoicing are tested
with their services)."""
from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from types import SimpleNamespace

import pytest
from openpyxl import load_workbook

from trainingmgr.billing.bpf import services as service
from trainingmgr.billing.models import Invoice
from trainingmgr.enrolments.models import FUNDING_KINDS, Enrolment, FundingLine
from trainingmgr.extensions import db
from trainingmgr.trainees.models import Trainee

from tests.catalogue.pagetools import page_of
from tests.helpers import exported, page

YEAR = 2031
D = Decimal


def _enrolment(session, n: int, status: str, hours: str, *lines: dict) -> Enrolment:
    """A completed enrolment of a new trainee of BPF ``status``, with its funding ``lines`` (kind, amount…)."""
    trainee = Trainee(first_name=f"Prénom{n}", last_name=f"Nom{n}", email=f"financeur{n}@exemple.fr",
                      bpf_status=status)
    db.session.add(trainee)
    db.session.flush()
    enrolment = Enrolment(session_id=session.id, trainee_id=trainee.id, status="completed", hours_attended=D(hours))
    db.session.add(enrolment)
    db.session.flush()
    for line in lines:
        db.session.add(FundingLine(enrolment_id=enrolment.id, **{"amount": D("100.00"), **line}))
    return enrolment


def _invoice(number: str, payer_kind: str, amount: str, *, kind: str = "invoice", opco_name: str = "",
             funder_category: str = "", payer_trainee_id: int | None = None, issued=dt.date(2031, 3, 20)):
    invoice = Invoice(kind=kind, status="issued", number=number, year=issued.year, payer_kind=payer_kind,
                      payer_trainee_id=payer_trainee_id, opco_name=opco_name, funder_category=funder_category,
                      issue_date=issued, total_excl_vat=D(amount), total_vat=D("0.00"), total_incl_vat=D(amount))
    db.session.add(invoice)
    return invoice


AIF = {"kind": "france_travail", "opco_name": "France Travail", "opco_file_number": "AIF-2031-0042",
       "opco_status": "agreed", "agreed_amount": D("100.00")}
FIF_PL = {"kind": "self_employed_fund", "opco_name": "FIF PL", "opco_file_number": "FIFPL-31-77",
          "opco_status": "agreed", "subrogation": False}
OWN = {"kind": "individual"}
EMPLOYER = {"kind": "company"}
OPCO = {"kind": "opco", "opco_name": "OPCO EP", "opco_file_number": "EP-1", "opco_status": "agreed",
        "subrogation": True}
REGION = {"kind": "public_funder", "opco_name": "Région Occitanie", "funder_category": "region",
          "opco_file_number": "CONV-31", "buyer_siret": "13002732500019", "opco_status": "agreed"}
BUYER = {"kind": "public_buyer", "buyer_siret": "13002732500019", "service_code": "SERV"}


@pytest.fixture
def funded_year(world, make_session):
    """2031: a Chorus Pro session (« other », NSF 314) and a DUME session (RS, NSF 128), completed, with one
    enrolment per way of funding (hours in brackets):

    - aif (employee, 7 h): France Travail (AIF) → F-1 c, against the status: a warning;
    - aif_and_fund (self-employed, 6 h): France Travail and the FIF PL → c (France Travail first): a warning;
    - fif_pl (self-employed, 5 h): the FIF PL → e; public_agent (other, 4 h): AGEFICE → e, as the status says;
    - own (employee, 3 h): the trainee alone, two lines → d, against the status: a warning;
    - own_and_employer (employee, 2 h): the trainee and the employer → a (the status decides);
    - opco (job seeker, 1 h): an OPCO → c by the status; region (employee, 8 h): the region → a;
    - buyer (other, 9 h): a public buyer → e; nothing (individual, 10 h): no line → d."""
    world.chorus.bpf_objective, world.chorus.nsf_code = "other", "314"
    world.dume.bpf_objective, world.dume.nsf_code = "rs", "128"
    chorus = make_session(course=world.chorus, start=dt.date(2031, 3, 3))
    dume = make_session(course=world.dume, start=dt.date(2031, 3, 10))
    chorus.status = dume.status = "completed"
    e = SimpleNamespace(
        aif=_enrolment(chorus, 1, "employee", "7", AIF),
        aif_and_fund=_enrolment(chorus, 2, "self_employed", "6", AIF, FIF_PL),
        fif_pl=_enrolment(chorus, 3, "self_employed", "5", FIF_PL),
        public_agent=_enrolment(chorus, 4, "other", "4", {**FIF_PL, "opco_name": "AGEFICE"}),
        own=_enrolment(dume, 5, "employee", "3", OWN, OWN),
        own_and_employer=_enrolment(dume, 6, "employee", "2", OWN, EMPLOYER),
        opco=_enrolment(dume, 7, "job_seeker", "1", OPCO, EMPLOYER),
        region=_enrolment(dume, 8, "employee", "8", REGION),
        buyer=_enrolment(dume, 9, "other", "9", BUYER),
        nothing=_enrolment(dume, 10, "individual", "10"),
    )
    # Products of 2031: the FIF PL's trainee pays and claims the refund (invoice to the trainee), AGEFICE pays
    # directly (subrogation), a credit note to the trainee; France Travail; the public funders by category; the
    # other payers as before, an OPCO invoice bearing a fund's name (recorded before the funds had their kind).
    _invoice("F2031-0001", "self_employed_fund", "500.00", opco_name="FIF PL",
             payer_trainee_id=e.fif_pl.trainee_id)
    _invoice("F2031-0002", "self_employed_fund", "200.00", opco_name="AGEFICE")
    _invoice("A2031-0001", "self_employed_fund", "100.00", kind="credit_note", opco_name="FIF PL",
             payer_trainee_id=e.fif_pl.trainee_id)
    _invoice("F2031-0003", "opco", "50.00", opco_name="VIVEA")
    _invoice("F2031-0004", "france_travail", "700.00", opco_name="France Travail")
    _invoice("A2031-0002", "france_travail", "70.00", kind="credit_note", opco_name="France Travail")
    _invoice("F2031-0005", "public_funder", "110.00", funder_category="europe", opco_name="FSE+")
    _invoice("F2031-0006", "public_funder", "120.00", funder_category="state", opco_name="DREETS")
    _invoice("F2031-0007", "public_funder", "130.00", funder_category="region", opco_name="Région Occitanie")
    _invoice("F2031-0008", "public_funder", "140.00", funder_category="other", opco_name="Département")
    _invoice("F2031-0009", "public_funder", "150.00", opco_name="Commune")  # no category: « autres »
    _invoice("F2031-0010", "company", "1000.00")
    _invoice("F2031-0011", "opco", "400.00", opco_name="OPCO EP")
    _invoice("F2031-0012", "public_buyer", "300.00")
    _invoice("F2031-0013", "individual", "250.00", payer_trainee_id=e.own.trainee_id)
    _invoice("F2030-0001", "france_travail", "999.00", issued=dt.date(2030, 12, 31))  # the year before
    db.session.commit()
    return e


def _lines(lines) -> dict:
    return {line.code: (line.trainees, line.hours) for line in lines}


def test_every_funding_kind_is_present(funded_year):
    assert set(db.session.scalars(db.select(FundingLine.kind))) == set(FUNDING_KINDS)


def test_products_go_to_the_line_of_who_paid(funded_year):
    bpf = service.compute_bpf(YEAR)
    products = {line.code: line.amount for line in bpf.products}
    assert products == {
        "1": D("1000.00"), "2a": 0, "2b": 0, "2c": 0, "2d": 0, "2e": 0, "2f": 0,
        "2g": D("650.00"),  # 500 (FIF PL, to the trainee) + 200 (AGEFICE) - 100 (credit note) + 50 (VIVEA)
        "2h": D("400.00"), "2": D("1050.00"), "3": D("300.00"), "4": D("110.00"), "5": D("120.00"),
        "6": D("130.00"), "7": D("630.00"), "8": D("290.00"), "9": D("250.00"), "10": 0, "11": 0,
        "total": D("3880.00")}
    checks = {check.label: check.ok for check in bpf.checks}
    assert checks["Ligne C-2 = lignes 2a à 2h"] and checks["Total C = lignes 1 à 11"]


@pytest.mark.parametrize("payer_kind, fund, category, line", [
    ("self_employed_fund", "FIF PL", "", "2g"), ("self_employed_fund", "AGEFICE", "", "2g"),
    ("opco", "Vivea", "", "2g"), ("opco", "FAF PM", "", "2g"), ("opco", "OPCO Atlas", "", "2h"),
    ("france_travail", "France Travail", "", "7"),
    ("public_funder", "FSE+", "europe", "4"), ("public_funder", "DREETS", "state", "5"),
    ("public_funder", "Région Occitanie", "region", "6"), ("public_funder", "Département", "other", "8"),
    ("public_funder", "?", "", "8"), ("public_funder", "?", "unknown", "8"),
    ("company", "", "region", "1"), ("public_buyer", "", "", "3"), ("individual", "", "", "9"),
])
def test_product_line_by_payer_and_category(payer_kind, fund, category, line):
    assert service.product_line(payer_kind, fund, category) == line


def test_the_funding_says_who_the_trainee_is_in_f1(funded_year):
    bpf = service.compute_bpf(YEAR)
    # a: own_and_employer 2 h + region 8 h; c: aif 7 h + aif_and_fund 6 h + opco (job seeker) 1 h;
    # d: own 3 h + nothing 10 h; e: fif_pl 5 h + public_agent 4 h + buyer 9 h.
    assert _lines(bpf.by_type) == {"a": (2, D("10.00")), "b": (0, 0), "c": (3, D("14.00")), "d": (2, D("13.00")),
                                   "e": (3, D("18.00")), "total": (10, D("55.00"))}
    # F-1 = F-3 = F-4 with every kind of funding present.
    assert _lines(bpf.by_objective)["total"] == _lines(bpf.by_specialty)["total"] == (10, D("55.00"))
    assert _lines(bpf.by_objective)["d"] == (4, D("22.00")) and _lines(bpf.by_objective)["b"] == (6, D("33.00"))
    assert bpf.checks_ok and all(check.ok for check in bpf.checks)


def test_a_warning_counts_the_trainees_whose_status_contradicts_the_funding(funded_year):
    bpf = service.compute_bpf(YEAR)
    assert bpf.warnings == [
        "1 stagiaire financé par France Travail a le statut « salarié d'un employeur privé » : compté en F-1 c. "
        "Vérifiez le statut BPF sur la fiche du stagiaire.",
        "1 stagiaire financé par France Travail a le statut « travailleur indépendant, profession libérale » : "
        "compté en F-1 c. Vérifiez le statut BPF sur la fiche du stagiaire.",
        "1 stagiaire finançant seul sa formation a le statut « salarié d'un employeur privé » : compté en F-1 d. "
        "Vérifiez le statut BPF sur la fiche du stagiaire.",
    ]


def test_the_warning_counts_several_trainees_and_goes_when_the_status_is_right(funded_year, world,
                                                                               make_session):
    session = make_session(course=world.chorus, start=dt.date(2031, 6, 2))
    session.status = "completed"
    _enrolment(session, 11, "employee", "7", AIF)
    db.session.commit()
    assert ("2 stagiaires financés par France Travail ont le statut « salarié d'un employeur privé » : comptés en "
            "F-1 c. Vérifiez le statut BPF sur la fiche des stagiaires.") in service.compute_bpf(YEAR).warnings

    for enrolment in (funded_year.aif, funded_year.aif_and_fund):
        db.session.get(Trainee, enrolment.trainee_id).bpf_status = "job_seeker"
    db.session.get(Trainee, funded_year.own.trainee_id).bpf_status = "individual"
    for trainee in db.session.scalars(db.select(Trainee).where(Trainee.email == "financeur11@exemple.fr")):
        trainee.bpf_status = "job_seeker"
    db.session.commit()
    bpf = service.compute_bpf(YEAR)
    assert bpf.warnings == [] and _lines(bpf.by_type)["c"] == (4, D("21.00"))


def test_an_aif_funded_employee_counts_in_c_on_the_page_and_in_the_export(funded_year, advisor):
    response = advisor.get(f"/bpf/{YEAR}")
    assert response.status_code == 200
    tree = page_of(response)

    def cell(section, line, col):
        return tree.find(data_section=section).find(data_line=line).find(data_col=col).text

    assert cell("C", "2g", "amount") == "650,00\xa0€"
    assert cell("C", "7", "amount") == "630,00\xa0€"
    assert [cell("C", code, "amount") for code in ("4", "5", "6", "8")] == [
        "110,00\xa0€", "120,00\xa0€", "130,00\xa0€", "290,00\xa0€"]
    f1 = tree.find(data_section="F").find(data_table="F-1")
    assert f1.find(data_line="c").find(data_col="trainees").text == "3"
    assert not tree.find_all(data_check="ko")
    assert "financé par France Travail a le statut « salarié d'un employeur privé »" in page(response)
    assert "France Travail (AIF) → c" in tree.find(data_note="F-1").text

    sheet = load_workbook(io.BytesIO(exported(advisor, f"/bpf/{YEAR}.xlsx").data)).active
    rows = {(r[0], r[1]): r for r in sheet.iter_rows(min_row=3, values_only=True) if r[1]}
    assert [rows[("C", code)][3] for code in ("2g", "4", "5", "6", "7", "8")] == [650, 110, 120, 130, 630, 290]
    assert rows[("F-1", "c")][4:] == (3, 14) and rows[("F-1", "d")][4:] == (2, 13)
    assert rows[("F-1", "e")][4:] == (3, 18)


# --------------------------------------------------------------------------- a few queries whatever the data

KINDS_CYCLE = ((AIF,), (FIF_PL,), (OWN,), (OWN, EMPLOYER), (OPCO,), (REGION,), (BUYER,), ())


def _year_with(world, make_session, enrolments: int, start: dt.date) -> None:
    """``enrolments`` enrolments over sessions of 8 trainees, funded every way in turn, with invoices to each
    kind of payer."""
    payers = (("self_employed_fund", "FIF PL", ""), ("france_travail", "France Travail", ""),
              ("public_funder", "Région", "region"), ("public_funder", "FSE+", "europe"), ("company", "", ""))
    for first in range(0, enrolments, 8):
        session = make_session(course=world.chorus if first % 16 else world.dume,
                               start=start + dt.timedelta(weeks=first // 8))
        session.status = "completed"
        for n in range(first, min(first + 8, enrolments)):
            _enrolment(session, start.year * 1000 + n, ("employee", "job_seeker", "self_employed")[n % 3], "3.5",
                       *KINDS_CYCLE[n % len(KINDS_CYCLE)])
            payer_kind, fund, category = payers[n % len(payers)]
            _invoice(f"F{start.year}-{n:04d}", payer_kind, "100.00", opco_name=fund, funder_category=category,
                     issued=start)
    db.session.commit()


def test_the_number_of_queries_does_not_grow_with_the_enrolments(world, make_session, advisor, count_queries):
    _year_with(world, make_session, 8, dt.date(2031, 1, 6))
    _year_with(world, make_session, 48, dt.date(2033, 1, 3))

    def queries(year: int, url: str | None = None) -> int:
        db.session.expire_all()
        with count_queries() as counter:
            if url:  # the XLSX through its export task
                assert (exported(advisor, url) if url.endswith(".xlsx") else advisor.get(url)).status_code == 200
            else:
                service.compute_bpf(year)
        return counter.count

    small, large = service.compute_bpf(2031), service.compute_bpf(2033)
    assert (small.by_type[-1].trainees, large.by_type[-1].trainees) == (8, 48)
    assert large.checks_ok and large.product("7") == D("1000.00") and large.product("2g") == D("1000.00")
    assert _lines(large.by_type)["c"][0] >= 6 and _lines(large.by_type)["e"][0] >= 6  # the funding decided
    assert queries(2031) == queries(2033) <= 7  # 7: the half-days at a distance (cadre B, issue 27)
    assert queries(2031, "/bpf/2031") == queries(2033, "/bpf/2033")
    assert queries(2031, "/bpf/2031.xlsx") == queries(2033, "/bpf/2033.xlsx")
