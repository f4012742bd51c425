"""The yearly BPF (cerfa 10443) computed from the data: a fixture year whose figures were computed by hand, the
page mirroring the form's sections, the XLSX export, the API, the figures typed once a year, the course
classification (F-3 objective, NSF code), the permissions, and a query count that does not grow with the data."""
from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from types import SimpleNamespace

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from trainingmgr.accounts.services import create_api_token
from trainingmgr.billing.bpf import services as service
from trainingmgr.billing.models import BpfYear, Invoice
from trainingmgr.catalogue import classification
from trainingmgr.core.errors import NotFoundError, ValidationError
from trainingmgr.enrolments.models import Enrolment
from trainingmgr.extensions import db
from trainingmgr.sessions.services import add_slot
from trainingmgr.trainees.models import Trainee

from tests.catalogue.pagetools import browser_form_data, field_errors, page_of
from tests.helpers import exported, page

YEAR = 2031
D = Decimal


def _trainee(n: int, status: str) -> Trainee:
    trainee = Trainee(first_name=f"Prénom{n}", last_name=f"Nom{n}", email=f"bpf{n}@exemple.fr", bpf_status=status)
    db.session.add(trainee)
    db.session.flush()
    return trainee


def _enrol(session, trainee, status: str, hours: str | None) -> Enrolment:
    enrolment = Enrolment(session_id=session.id, trainee_id=trainee.id, status=status,
                          hours_attended=None if hours is None else D(hours))
    db.session.add(enrolment)
    return enrolment


def _invoice(number: str, payer_kind: str, amount: str, issued: dt.date | None, *, kind: str = "invoice",
             status: str = "issued", opco_name: str = "") -> Invoice:
    invoice = Invoice(kind=kind, status=status, number=number if status == "issued" else None,
                      year=issued.year if issued and status == "issued" else None, payer_kind=payer_kind,
                      opco_name=opco_name, issue_date=issued if status == "issued" else None,
                      total_excl_vat=D(amount), total_vat=D("0.00"), total_incl_vat=D(amount))
    db.session.add(invoice)
    return invoice


@pytest.fixture
def fixture_year(world, make_session):
    """Year 2031, figures computed by hand in the tests below.

    Courses: Chorus Pro « other » / NSF 314, DUME « RS » / NSF 128. Pierre is internal, Paula external.
    Sessions: s1 Chorus 3/3/2031 (Pierre, 2 × 3,5 h), s2 DUME 10/3 (Paula, 2 × 4 h), s3 DUME 17/3 (Pierre; its
    afternoon has no trainer: credited to the session's trainer), then excluded: a session in 2030, a session
    whose last half-day is in 2032, a cancelled session, a draft session."""
    world.chorus.bpf_objective, world.chorus.nsf_code = "other", "314"
    world.dume.bpf_objective, world.dume.nsf_code = "rs", "128"
    world.paula.is_external, world.paula.company_name = True, "Formations Paula SARL"
    s1 = make_session(course=world.chorus, start=dt.date(2031, 3, 3))
    s2 = make_session(course=world.dume, start=dt.date(2031, 3, 10), trainer=world.paula)
    s3 = make_session(course=world.dume, start=dt.date(2031, 3, 17))
    previous = make_session(course=world.chorus, start=dt.date(2030, 3, 4))
    spanning = make_session(course=world.chorus, start=dt.date(2031, 12, 29))
    add_slot(spanning, {"date": dt.date(2032, 1, 5), "start_time": "09:00", "end_time": "12:30",
                        "trainer_id": world.pierre.id})
    cancelled = make_session(course=world.chorus, start=dt.date(2031, 3, 24))
    draft = make_session(course=world.chorus, start=dt.date(2031, 3, 31))
    for session in (s1, s2, s3, previous, spanning):
        session.status = "completed"
    cancelled.status, cancelled.cancel_reason = "cancelled", "Trop peu d'inscrits"
    s3.slots[1].trainer_id = None
    t = {n: _trainee(n, status) for n, status in [
        (1, "employee"), (2, "job_seeker"), (3, "individual"), (4, "self_employed"), (5, "other"),
        (6, "employee"), (7, "employee"), (8, "employee"), (9, "employee")]}
    _enrol(s1, t[1], "completed", "7")
    _enrol(s1, t[2], "completed", "7")
    _enrol(s1, t[3], "abandoned", "3.5")  # came, then left: its hours
    _enrol(s1, t[4], "no_show", None)  # absent: 0 h
    _enrol(s1, t[6], "cancelled", "7")  # excluded
    _enrol(s1, t[7], "waitlisted", None)  # excluded
    _enrol(s1, t[8], "requested", None)  # excluded
    _enrol(s2, t[1], "completed", "8")  # the same person again: one trainee per enrolment
    _enrol(s2, t[5], "completed", "8")
    _enrol(s2, t[9], "no_show", "4")  # an absent trainee counts 0 h whatever was stored
    _enrol(s3, t[6], "completed", "8")
    _enrol(s3, t[2], "confirmed", None)  # hours not recorded yet: 0 h and a warning
    _enrol(previous, t[1], "completed", "7")
    _enrol(spanning, t[3], "completed", "7")
    _enrol(cancelled, t[5], "completed", "7")
    _enrol(draft, t[9], "confirmed", "7")
    _invoice("F2031-0001", "company", "1200.00", dt.date(2031, 3, 4))
    _invoice("A2031-0001", "company", "200.00", dt.date(2031, 4, 1), kind="credit_note")
    _invoice("F2031-0002", "opco", "600.00", dt.date(2031, 3, 5), opco_name="OPCO EP")
    _invoice("F2031-0003", "opco", "300.00", dt.date(2031, 3, 12), opco_name="FIF PL")
    _invoice("F2031-0004", "public_buyer", "840.00", dt.date(2031, 3, 20))
    _invoice("F2031-0005", "individual", "450.00", dt.date(2031, 12, 31))
    _invoice("", "company", "999.00", None, status="draft")  # a draft: excluded
    _invoice("F2030-0009", "company", "5000.00", dt.date(2030, 12, 31))  # previous year
    _invoice("F2032-0001", "company", "700.00", dt.date(2032, 1, 2))  # next year
    db.session.commit()
    return SimpleNamespace(s1=s1, s2=s2, s3=s3, trainees=t)


def _lines(lines) -> dict:
    return {line.code: (line.trainees, line.hours) for line in lines}


def _settings(**values) -> BpfYear:
    row = BpfYear(year=YEAR, **values)
    db.session.add(row)
    db.session.commit()
    return row


# --------------------------------------------------------------------------- the figures


def test_bpf_of_the_fixture_year_equals_the_hand_computed_figures(fixture_year, world):
    _settings(total_turnover=D("6380.00"), charges_total=D("2500.00"), charges_trainer_salaries=D("1200.00"),
              charges_purchased_training=D("800.00"), distance_training=False, manager_name="Marie Martin",
              manager_title="Gérante")
    bpf = service.compute_bpf(YEAR)

    assert (bpf.period_start, bpf.period_end) == (dt.date(2031, 1, 1), dt.date(2031, 12, 31))
    # C: invoices issued in 2031 minus the credit note of 2031; drafts and other years left out.
    products = {line.code: line.amount for line in bpf.products}
    assert products == {
        "1": D("1000.00"), "2a": 0, "2b": 0, "2c": 0, "2d": 0, "2e": 0, "2f": 0, "2g": D("300.00"),
        "2h": D("600.00"), "2": D("900.00"), "3": D("840.00"), "4": 0, "5": 0, "6": 0, "7": 0, "8": 0,
        "9": D("450.00"), "10": 0, "11": 0, "total": D("3190.00")}
    assert bpf.turnover == D("6380.00") and bpf.turnover_share == D("50.0")
    # D and H as typed.
    assert [line.amount for line in bpf.charges] == [D("2500.00"), D("1200.00"), D("800.00")]
    assert (bpf.manager_name, bpf.manager_title, bpf.manager_from_organisation) == ("Marie Martin", "Gérante",
                                                                                    False)
    assert bpf.distance_training is False
    # E: Pierre 7 h (s1) + 4 h (s3 morning) + 4 h (s3 afternoon, no trainer: the session's); Paula 8 h (s2).
    assert {line.code: (line.trainers, line.hours) for line in bpf.trainers} == {
        "internal": (1, D("15.00")), "external": (1, D("8.00")), "total": (2, D("23.00"))}
    # F-1: a = t1 7 h + t1 8 h + t9 0 h (no-show) + t6 8 h; c = t2 7 h + t2 0 h (not recorded); d = t3 3,5 h
    # (abandon); e = t4 0 h (self-employed, no-show) + t5 8 h (other).
    assert _lines(bpf.by_type) == {"a": (4, D("23.00")), "b": (0, 0), "c": (2, D("7.00")), "d": (1, D("3.50")),
                                   "e": (2, D("8.00")), "total": (9, D("41.50"))}
    assert (bpf.subcontracted.trainees, bpf.subcontracted.hours) == (0, 0)
    assert (bpf.entrusted.trainees, bpf.entrusted.hours) == (0, 0)
    # F-3: Chorus Pro (other) = s1: 4 trainees, 17,5 h; DUME (RS) = s2 + s3: 5 trainees, 24 h.
    f3 = _lines(bpf.by_objective)
    assert f3["d"] == (4, D("17.50")) and f3["b"] == (5, D("24.00"))
    assert all(f3[code] == (0, 0) for code in ("a", "a1", "a2", "a3", "a4", "a5", "a6", "c", "e", "f"))
    assert f3["total"] == (9, D("41.50"))
    # F-4: by hours, 128 (DUME) first, then 314 (Chorus Pro).
    assert [(line.code, line.trainees, line.hours) for line in bpf.by_specialty] == [
        ("128", 5, D("24.00")), ("314", 4, D("17.50")), ("autres", 0, 0), ("total", 9, D("41.50"))]
    assert bpf.by_specialty[0].label == "128 — Droit, sciences politiques"
    # The form's checks: F-1 = F-3 = F-4 (trainees and hours), C-2 = 2a–2h, total = 1–11, D within its total.
    assert [check.ok for check in bpf.checks] == [True] * 5 and bpf.checks_ok
    assert bpf.warnings == ["1 inscription sans heures de présence enregistrées (session non terminée ?) : "
                            "comptée pour 0 h."]


def test_the_next_year_holds_the_session_ending_in_it_and_its_invoice(fixture_year):
    bpf = service.compute_bpf(2032)
    assert _lines(bpf.by_type)["total"] == (1, D("7.00"))  # the session from 29/12/2031 to 05/01/2032
    assert bpf.product("1") == D("700.00") and bpf.products_total == D("700.00")
    assert {line.code: line.trainers for line in bpf.trainers} == {"internal": 1, "external": 0, "total": 1}


def test_an_empty_year_is_all_zeros_with_the_checks_green(app, users):
    bpf = service.compute_bpf(2015)
    assert bpf.products_total == 0 and bpf.by_type[-1].trainees == 0 and bpf.turnover_share is None
    assert bpf.checks_ok and bpf.warnings == []
    assert [line.amount for line in bpf.charges] == [None, None, None]  # D not typed yet


def test_unclassified_courses_go_to_other_specialties_with_a_warning(fixture_year, world):
    world.dume.nsf_code = ""
    db.session.commit()
    bpf = service.compute_bpf(YEAR)
    assert [(line.code, line.trainees) for line in bpf.by_specialty] == [("314", 4), ("autres", 5), ("total", 9)]
    assert any("sans code NSF" in w and world.dume.title in w for w in bpf.warnings)
    assert bpf.checks_ok


def test_credit_notes_beyond_the_invoices_of_the_year_make_a_negative_line_and_a_warning(app, users):
    _invoice("A2031-0002", "individual", "300.00", dt.date(2031, 2, 1), kind="credit_note")
    db.session.commit()
    bpf = service.compute_bpf(YEAR)
    assert bpf.product("9") == D("-300.00") and bpf.products_total == D("-300.00")
    assert any("C-9 négative" in w for w in bpf.warnings)


def test_f4_keeps_the_five_specialties_with_most_hours_and_adds_up_the_others():
    groups = {"314": (3, D("21")), "128": (1, D("35")), "326": (2, D("14")), "313": (2, D("14")),
              "324": (5, D("10")), "315": (9, D("3")), "100": (1, D("1")), None: (2, D("4"))}
    lines = service.specialties(groups)
    # Hours first, then trainees (313 and 326: 14 h and 2 trainees each, then the lower code first).
    assert [(line.code, line.trainees, line.hours) for line in lines] == [
        ("128", 1, D("35")), ("314", 3, D("21")), ("313", 2, D("14")), ("326", 2, D("14")), ("324", 5, D("10")),
        ("autres", 12, D("8")), ("total", 25, D("102"))]


def test_a_broken_total_shows_as_a_failed_check(fixture_year):
    bpf = service.compute_bpf(YEAR)
    bpf.by_specialty[-1].hours += 1
    checks = service._checks(bpf)
    assert [c.ok for c in checks] == [True, False, True, True]


@pytest.mark.parametrize("payer_kind, fund, line", [
    ("company", "", "1"), ("opco", "OPCO EP", "2h"), ("opco", "AKTO", "2h"), ("opco", "FIF-PL", "2g"),
    ("opco", "Agefice", "2g"), ("public_buyer", "", "3"), ("individual", "", "9"), ("other_of", "", "11"),
])
def test_products_are_classified_by_who_paid(payer_kind, fund, line):
    assert service.product_line(payer_kind, fund) == line


def test_the_manager_defaults_to_the_organisation_signatory(fixture_year):
    from trainingmgr.organisation.services import get_organisation

    org = get_organisation()
    assert org.signatory_name  # the demo organisation has one
    bpf = service.compute_bpf(YEAR)
    assert (bpf.manager_name, bpf.manager_from_organisation) == (org.signatory_name, True)


# --------------------------------------------------------------------------- the course classification


@pytest.mark.parametrize("objective, code, expected", [
    ("rs", "314", ("rs", "314")), ("", " 326T ", ("other", "326t")), ("vae", "", ("vae", "")),
    ("rncp_6_8", "128m", ("rncp_6_8", "128m")),
])
def test_classification_accepts_known_objectives_and_nsf_codes(objective, code, expected):
    assert classification.clean_bpf_classification(objective, code) == expected


@pytest.mark.parametrize("objective, code, field, message", [
    ("diplome", "314", "bpf_objective", "Objectif BPF inconnu : choisissez une ligne du cadre F-3."),
    ("other", "31", "nsf_code", "Le code NSF s'écrit avec trois chiffres, éventuellement suivis d'une lettre "
                                "(par exemple 314 ou 326t)."),
    ("other", "3141", "nsf_code", "Le code NSF s'écrit avec trois chiffres, éventuellement suivis d'une lettre "
                                  "(par exemple 314 ou 326t)."),
    ("other", "999", "nsf_code", "Le groupe 999 n'existe pas dans la nomenclature des spécialités de formation "
                                 "(NSF)."),
])
def test_classification_refuses_unknown_values(objective, code, field, message):
    with pytest.raises(ValidationError) as caught:
        classification.clean_bpf_classification(objective, code)
    assert caught.value.fields == {field: [message]}


def test_the_nsf_list_holds_the_groups_of_the_nomenclature():
    assert len(classification.NSF_GROUPS) == 92
    assert classification.NSF_GROUPS["313"] == "Finances, banque, assurances, immobilier"
    assert classification.NSF_GROUPS["320"] == "Spécialités plurivalentes de la communication"
    assert all(len(code) == 3 and code.isdigit() for code in classification.NSF_GROUPS)


def test_the_advisor_classifies_a_course_from_its_form(advisor, world):
    data = browser_form_data(page_of(advisor.get(f"/courses/{world.dume.id}/edit")))
    assert (data["bpf_objective"], data["nsf_code"]) == ("other", "")
    data.update(bpf_objective="rs", nsf_code="128")
    response = advisor.post(f"/courses/{world.dume.id}/edit", data=data)
    assert response.status_code == 302
    db.session.expire_all()
    assert (world.dume.bpf_objective, world.dume.nsf_code) == ("rs", "128")
    sheet = page(advisor.get(f"/courses/{world.dume.id}"))
    assert "128 — Droit, sciences politiques" in sheet
    assert classification.BPF_OBJECTIVES["rs"] in sheet
    # The form shows the saved values again, and the public sheet does not show them.
    again = browser_form_data(page_of(advisor.get(f"/courses/{world.dume.id}/edit")))
    assert (again["bpf_objective"], again["nsf_code"]) == ("rs", "128")
    assert "Droit, sciences politiques" not in page(advisor.get(f"/catalogue/{world.dume.slug}"))


def test_the_course_form_refuses_an_unknown_nsf_code_and_saves_nothing(advisor, world):
    versions = len(world.dume.versions)
    data = browser_form_data(page_of(advisor.get(f"/courses/{world.dume.id}/edit")))
    data.update(nsf_code="999", bpf_objective="autre-chose", tagline="Changée")
    response = advisor.post(f"/courses/{world.dume.id}/edit", data=data)
    assert response.status_code == 422
    errors = field_errors(page_of(response))
    assert errors["nsf_code"] == ["Le groupe 999 n'existe pas dans la nomenclature des spécialités de formation "
                                  "(NSF)."]
    assert errors["bpf_objective"] == ["Objectif BPF inconnu : choisissez une ligne du cadre F-3."]
    db.session.expire_all()
    assert (world.dume.bpf_objective, world.dume.nsf_code) == ("other", "")
    assert len(world.dume.versions) == versions and world.dume.current_version.tagline != "Changée"


def test_a_new_course_takes_its_classification(advisor, world):
    from tests.catalogue.coursedata import course_form_data

    response = advisor.post("/courses/new", data=course_form_data(
        title="Facturation électronique", slug="facturation-electronique", bpf_objective="rncp_5",
        nsf_code="314"))
    assert response.status_code == 302, field_errors(page_of(response))
    from trainingmgr.catalogue.models import Course

    course = db.session.scalar(select(Course).where(Course.slug == "facturation-electronique"))
    assert (course.bpf_objective, course.nsf_code) == ("rncp_5", "314")


# --------------------------------------------------------------------------- pages, export, API


def test_the_page_mirrors_the_form_sections(fixture_year, advisor):
    _settings(total_turnover=D("6380.00"), charges_total=D("2500.00"), manager_name="Marie Martin",
              manager_title="Gérante")
    response = advisor.get(f"/bpf/{YEAR}")
    assert response.status_code == 200
    tree = page_of(response)
    assert [s.attrs["data-section"] for s in tree.find_all("section")] == [
        "checks", "A", "B", "C", "D", "E", "F", "G", "H"]
    text = page(response)
    assert "Bilan pédagogique et financier 2031" in text
    assert "du 01/01/2031 au 31/12/2031" in text

    def cell(section, line, col):
        return tree.find(data_section=section).find(data_line=line).find(data_col=col).text

    assert cell("C", "total", "amount") == "3\u202f190,00\xa0€"
    assert cell("C", "2h", "amount") == "600,00\xa0€"
    assert cell("C", "share", "share") == "50 %"
    assert cell("E", "internal", "hours") == "15"
    assert cell("D", "salaries", "amount") == "à compléter"
    f = tree.find(data_section="F")
    assert f.find(data_table="F-1").find(data_line="total").find(data_col="hours").text == "41,5"
    assert f.find(data_table="F-3").find(data_line="total").find(data_col="trainees").text == "9"
    assert f.find(data_table="F-4").find(data_line="128").find(data_col="trainees").text == "5"
    assert len(tree.find_all(data_check="ok")) == 5 and not tree.find_all(data_check="ko")
    assert "Code NAF" in text and "à compléter" in text  # the organisation holds no NAF code
    assert "Marie Martin" in text and "Gérante" in text


def test_the_index_opens_the_last_closed_year(advisor, monkeypatch):
    monkeypatch.setattr(service, "paris_today", lambda: dt.date(2032, 1, 1))
    response = advisor.get("/bpf/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/bpf/2031")
    monkeypatch.setattr(service, "paris_today", lambda: dt.date(2031, 12, 31))
    assert advisor.get("/bpf/").headers["Location"].endswith("/bpf/2030")
    # The running year is shown with a notice that it is not closed.
    assert "n'est pas clos" in page(advisor.get("/bpf/2031"))
    assert "n'est pas clos" not in page(advisor.get("/bpf/2030"))


def test_the_xlsx_export_holds_the_same_figures(fixture_year, advisor):
    response = exported(advisor, f"/bpf/{YEAR}.xlsx")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "filename=bpf-2031.xlsx" in response.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.data)).active
    assert sheet.title == "BPF 2031"
    listed = list(sheet.iter_rows(min_row=3, values_only=True))
    rows = {(r[0], r[1]): r for r in listed if r[1]}
    assert rows[("C", "total")][3] == 3190 and isinstance(rows[("C", "total")][3], (int, float))
    assert rows[("C", "2g")][3] == 300
    assert rows[("E", "external")][4:] == (1, 8)
    for section in ("F-1", "F-3", "F-4"):
        assert rows[(section, "total")][4:] == (9, 41.5), section
    assert rows[("F-4", "128")][4:] == (5, 24)
    assert ("A", None, "Code NAF : à compléter", None, None, None) in listed


@pytest.fixture
def api_tokens(world):
    tokens = {role: create_api_token(email, name=f"bpf {role}")[1] for role, email in (
        ("advisor", "conseil@test.example"), ("trainer", "formateur@test.example"))}
    db.session.commit()
    return {role: {"Authorization": f"Bearer {raw}"} for role, raw in tokens.items()}


def test_the_api_returns_the_same_figures(fixture_year, client, api_tokens):
    _settings(total_turnover=D("6380.00"), charges_total=D("2500.00"))
    response = client.get(f"/api/v1/bpf/{YEAR}", headers=api_tokens["advisor"])
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["year"] == YEAR and body["period_start"] == "2031-01-01"
    products = {line["code"]: line["amount"] for line in body["products"]}
    assert products["total"] == body["products_total"] == "3190.00"
    assert (products["1"], products["2g"], products["2h"], products["3"], products["9"]) == (
        "1000.00", "300.00", "600.00", "840.00", "450.00")
    assert body["total_turnover"] == "6380.00" and body["turnover_share"] == "50.0"
    assert [line["amount"] for line in body["charges"]] == ["2500.00", None, None]
    for key in ("trainees_by_type", "trainees_by_objective", "trainees_by_specialty"):
        assert body[key][-1] == {"code": "total", "label": body[key][-1]["label"], "trainees": 9, "hours": "41.50"}
    assert body["trainees_by_specialty"][0]["code"] == "128"
    assert body["trainers"][1] == {"code": "external", "label": body["trainers"][1]["label"], "trainers": 1,
                                   "hours": "8.00"}
    assert body["checks_ok"] is True and len(body["checks"]) == 5
    assert body["subcontracted"]["trainees"] == 0 and body["entrusted"]["hours"] == "0.00"


def test_the_api_needs_an_advisor_token_and_a_year_in_range(app, client, api_tokens):
    assert client.get(f"/api/v1/bpf/{YEAR}").status_code == 401
    assert client.get(f"/api/v1/bpf/{YEAR}", headers=api_tokens["trainer"]).status_code == 403
    for year in (1999, 2101, 99999999999):
        response = client.get(f"/api/v1/bpf/{year}", headers=api_tokens["advisor"])
        assert response.status_code == 404
        assert response.get_json()["error"]["message"] == "Année inconnue : le BPF couvre une année de 2000 à 2100."


# --------------------------------------------------------------------------- the figures typed once a year


def test_the_advisor_completes_the_year(app, advisor, users):
    form = browser_form_data(page_of(advisor.get(f"/bpf/{YEAR}/edit")))
    form.update(total_turnover="12 500,50", charges_total="8 000", charges_trainer_salaries="3000,00",
                charges_purchased_training="1 500", distance_training="y", manager_name="  Marie   Martin ",
                manager_title="Gérante")
    response = advisor.post(f"/bpf/{YEAR}/edit", data=form)
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/bpf/{YEAR}")
    db.session.expire_all()
    row = db.session.scalar(select(BpfYear).where(BpfYear.year == YEAR))
    assert (row.total_turnover, row.charges_total, row.charges_trainer_salaries, row.charges_purchased_training) == (
        D("12500.50"), D("8000.00"), D("3000.00"), D("1500.00"))
    assert (row.distance_training, row.manager_name, row.manager_title) == (True, "Marie Martin", "Gérante")
    assert row.updated_by_id == users["advisor"].id
    # Saving again updates the same row; the form shows the saved values.
    again = browser_form_data(page_of(advisor.get(f"/bpf/{YEAR}/edit")))
    assert again["total_turnover"] == "12500,50"
    again["charges_total"] = "9000"
    assert advisor.post(f"/bpf/{YEAR}/edit", data=again).status_code == 302
    assert db.session.scalar(select(func.count()).select_from(BpfYear)) == 1
    db.session.expire_all()
    assert row.charges_total == D("9000.00") and row.total_turnover == D("12500.50")


@pytest.mark.parametrize("changes, errors", [
    ({"charges_total": "-10"}, {"charges_total": ["Le total des charges doit être un nombre positif ou nul."]}),
    ({"total_turnover": "1234,567"}, {"total_turnover": ["Le chiffre d'affaires global : deux décimales au plus."]}),
    ({"total_turnover": "beaucoup"}, {"total_turnover": ["Saisissez un nombre, par exemple 600 ou 1 234,56."]}),
    ({"charges_total": "1000", "charges_trainer_salaries": "1500"},
     {"charges_trainer_salaries": ["Les salaires des formateurs ne peuvent pas dépasser le total des charges "
                                   "(1\u202f000,00\xa0€)."]}),
    ({"charges_total": "1000", "charges_trainer_salaries": "600", "charges_purchased_training": "600"},
     {"charges_total": ["Les salaires des formateurs et les achats de prestations dépassent ensemble le total "
                        "des charges."]}),
    ({"charges_purchased_training": "100"},
     {"charges_total": ["Indiquez le total des charges, dont font partie les montants détaillés."]}),
    ({"manager_name": "x" * 121}, {"manager_name": ["Ce champ ne doit pas dépasser 120 caractères."]}),
])
def test_bad_figures_are_refused_in_french_and_nothing_is_saved(app, advisor, changes, errors):
    _settings(total_turnover=D("100.00"), manager_name="Avant")
    form = browser_form_data(page_of(advisor.get(f"/bpf/{YEAR}/edit")))
    form.update(changes)
    response = advisor.post(f"/bpf/{YEAR}/edit", data=form)
    assert response.status_code == 422
    shown = field_errors(page_of(response))
    assert shown == errors
    db.session.expire_all()
    row = db.session.scalar(select(BpfYear).where(BpfYear.year == YEAR))
    assert (row.total_turnover, row.manager_name, row.charges_total) == (D("100.00"), "Avant", None)


def test_the_service_refuses_negative_amounts_too(app, users):
    with pytest.raises(ValidationError) as caught:
        service.save_bpf_year(YEAR, {"total_turnover": D("-1"), "charges_total": "abc"}, users["advisor"])
    assert caught.value.fields == {"total_turnover": ["Le chiffre d'affaires global doit être un nombre positif ou "
                                                      "nul."],
                                   "charges_total": ["Le total des charges doit être un nombre."]}
    with pytest.raises(NotFoundError):
        service.save_bpf_year(1999, {}, users["advisor"])


def test_a_post_without_the_csrf_token_is_refused(app, advisor):
    response = advisor.post(f"/bpf/{YEAR}/edit", data={"total_turnover": "100"}, csrf=False)
    assert response.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(BpfYear)) == 0


# --------------------------------------------------------------------------- permissions and years


PAGES = ["/bpf/", f"/bpf/{YEAR}", f"/bpf/{YEAR}.xlsx", f"/bpf/{YEAR}/edit"]


def visit(client, url: str):
    """GET a page; POST the export button (it starts a task)."""
    return client.post(url) if url.endswith(".xlsx") else client.get(url)


@pytest.mark.parametrize("url", PAGES)
def test_anonymous_visitors_are_sent_to_the_login_page(client, users, url):
    response = visit(client, url)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize("url", PAGES)
def test_trainers_are_refused(trainer, url):
    assert visit(trainer, url).status_code == 403
    if url.endswith("/edit"):
        assert trainer.post(url, data={"total_turnover": "1"}).status_code == 403
        assert db.session.scalar(select(func.count()).select_from(BpfYear)) == 0


def test_the_admin_sees_the_bpf(admin):
    assert admin.get(f"/bpf/{YEAR}").status_code == 200


@pytest.mark.parametrize("url", ["/bpf/1999", "/bpf/2101", "/bpf/0.xlsx", "/bpf/99999999999/edit",
                                 "/bpf/3000.xlsx"])
def test_years_out_of_range_are_not_found(advisor, url):
    response = visit(advisor, url)
    assert response.status_code == 404
    assert "Année inconnue : le BPF couvre une année de 2000 à 2100." in page(response)


# --------------------------------------------------------------------------- a few queries whatever the data


def _year_with(world, make_session, enrolments: int, start: dt.date) -> None:
    """``enrolments`` enrolments over sessions of 5 trainees, with their invoices."""
    world.chorus.nsf_code = "314"
    for first in range(0, enrolments, 5):
        session = make_session(course=world.chorus if first % 10 else world.dume,
                               start=start + dt.timedelta(weeks=first // 5))
        session.status = "completed"
        for n in range(first, min(first + 5, enrolments)):
            trainee = _trainee(start.year * 1000 + n, ("employee", "job_seeker", "individual", "other")[n % 4])
            _enrol(session, trainee, ("completed", "abandoned", "no_show")[n % 3], "3.5")
            _invoice(f"F{start.year}-{n:04d}", ("company", "opco", "public_buyer", "individual")[n % 4], "100.00",
                     start, opco_name="OPCO EP")
    db.session.commit()


def test_the_number_of_queries_does_not_grow_with_the_enrolments(world, make_session, advisor, count_queries):
    _year_with(world, make_session, 5, dt.date(2031, 1, 6))
    _year_with(world, make_session, 50, dt.date(2033, 1, 3))

    def queries(year: int, url: str | None = None) -> int:
        db.session.expire_all()
        with count_queries() as counter:
            if url:  # the XLSX through its export task
                assert (exported(advisor, url) if url.endswith(".xlsx") else advisor.get(url)).status_code == 200
            else:
                service.compute_bpf(year)
        return counter.count

    small, large = service.compute_bpf(2031), service.compute_bpf(2033)
    assert (small.by_type[-1].trainees, large.by_type[-1].trainees) == (5, 50)
    assert large.checks_ok
    assert queries(2031) == queries(2033) <= 7  # 7: the half-days at a distance (cadre B, issue 27)
    assert queries(2031, "/bpf/2031") == queries(2033, "/bpf/2033")
    assert queries(2031, "/bpf/2031.xlsx") == queries(2033, "/bpf/2033.xlsx")
