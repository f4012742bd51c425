"""Who pays: funding lines (company, OPCO, public buyer, individual) through the service and the pages, the
difference with the price, and the board of OPCO files still without agreement."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from trainingmgr.companies.services import save_company
from trainingmgr.core.errors import ValidationError
from trainingmgr.core.formatting import money_fr
from trainingmgr.core.timeutil import paris_today
from trainingmgr.enrolments import services
from trainingmgr.enrolments.models import Enrolment, FundingLine
from trainingmgr.extensions import db
from trainingmgr.organisation.services import get_organisation

from tests.catalogue.pagetools import page_of
from tests.enrolments.support import (
    BAD_SIRET,
    COLOMIERS_SIRET,
    assert_refused,
    count,
    event_kinds,
    fresh,
    funding_lines,
)
from tests.helpers import page

OPCO_AGREED = {"kind": "opco", "amount": "420.00", "opco_name": "OPCO EP", "opco_status": "agreed",
               "opco_file_number": "EP-2031-0001", "opco_member_number": "A123", "requested_amount": "600",
               "agreed_amount": "420", "agreed_on": "2031-01-10", "requested_on": "2030-12-01",
               "subrogation": True}


@pytest.fixture
def enrolment(world, dume_session, new_trainee):
    """A confirmed DUME enrolment (600 € HT, the organisation is VAT-exempt: 600 € TTC) of a Dupont employee."""
    made = services.enrol(dume_session, new_trainee(1, company_id=world.company.id))
    db.session.commit()
    return made


@pytest.fixture
def public_buyer(world):
    company = save_company(None, {"name": "Mairie de Colomiers", "siret": COLOMIERS_SIRET, "is_public_buyer": True,
                                  "chorus_service_code": "SERV-FORMATION", "engagement_required": True})
    db.session.commit()
    return company


def save(enrolment, data, line=None):
    saved = services.save_funding_line(fresh(Enrolment, enrolment.id), line, data, None)
    db.session.commit()
    return fresh(FundingLine, saved.id)


def refused(enrolment, data) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as error:
        services.save_funding_line(fresh(Enrolment, enrolment.id), None, data, None)
    db.session.rollback()
    assert count(FundingLine) == 0
    return error.value.fields


# --------------------------------------------------------------------------- the service


def test_company_and_opco_lines_adding_up_to_the_price(world, enrolment):
    assert services.funding_difference(enrolment) == Decimal("600.00")
    opco = save(enrolment, OPCO_AGREED)
    assert (opco.kind, opco.amount, opco.opco_name, opco.opco_status) == ("opco", Decimal("420.00"), "OPCO EP",
                                                                          "agreed")
    assert isinstance(opco.amount, Decimal)
    assert (opco.requested_amount, opco.agreed_amount) == (Decimal("600.00"), Decimal("420.00"))
    assert (opco.requested_on, opco.agreed_on, opco.refused_on) == (dt.date(2030, 12, 1), dt.date(2031, 1, 10), None)
    assert (opco.opco_file_number, opco.opco_member_number, opco.subrogation) == ("EP-2031-0001", "A123", True)
    assert opco.payer_company_id == world.company.id
    assert opco.opco_status_label == "Accordée"
    assert services.funding_difference(fresh(Enrolment, enrolment.id)) == Decimal("180.00")
    company = save(enrolment, {"kind": "company", "amount": "180,00"})
    assert company.amount == Decimal("180.00")
    assert services.funding_difference(fresh(Enrolment, enrolment.id)) == Decimal("0.00")
    assert event_kinds(enrolment).count("funding") == 2


def test_the_difference_counts_the_price_including_vat(world, dume_session, new_trainee):
    get_organisation().vat_status = "subject"
    db.session.commit()
    enrolment = services.enrol(dume_session, new_trainee(1))
    db.session.commit()
    assert enrolment.price_incl_vat == Decimal("720.00")
    save(enrolment, {"kind": "individual", "amount": "600"})
    assert services.funding_difference(fresh(Enrolment, enrolment.id)) == Decimal("120.00")
    # Beyond the price including VAT: refused (issue 20), nothing saved.
    with pytest.raises(ValidationError) as error:
        services.save_funding_line(fresh(Enrolment, enrolment.id), None, {"kind": "individual", "amount": "150"})
    db.session.rollback()
    assert error.value.fields == {"amount": [
        f"Les financements dépasseraient le prix de l'inscription ({money_fr(Decimal('720'))} TTC) : il reste "
        f"{money_fr(Decimal('120'))} à financer."]}
    save(enrolment, {"kind": "individual", "amount": "120"})
    assert services.funding_difference(fresh(Enrolment, enrolment.id)) == Decimal("0.00")


@pytest.mark.parametrize("amount, message", [
    ("-10", "Le montant doit être un nombre positif ou nul."),
    ("douze", "Le montant doit être un nombre."),
    ("", "Le montant est obligatoire."),
    (None, "Le montant est obligatoire."),
    ("12,345", "Le montant : deux décimales au plus."),
    ("NaN", "Le montant doit être un nombre."),
    ("1e12", "Le montant doit être un nombre inférieur à 10 millions."),
    (True, "Le montant doit être un nombre."),
])
def test_bad_amounts_are_refused(world, enrolment, amount, message):
    assert refused(enrolment, {"kind": "company", "amount": amount}) == {"amount": [message]}


def test_unknown_kind_is_refused(world, enrolment):
    assert refused(enrolment, {"kind": "banque", "amount": "10"}) == {
        "kind": ["Financeur inconnu : entreprise, OPCO, fonds des non-salariés, France Travail, financeur public, "
                 "acheteur public ou stagiaire."]}


@pytest.mark.parametrize("over, fields", [
    ({"opco_name": "OPCA PL"}, {"opco_name": ["Choisissez l'OPCO dans la liste des onze OPCO."]}),
    ({"opco_name": ""}, {"opco_name": ["Choisissez l'OPCO dans la liste des onze OPCO."]}),
    ({"opco_status": "pending"}, {"opco_status": ["État inconnu."]}),
    ({"agreed_amount": ""}, {"agreed_amount": ["Indiquez le montant accordé par l'OPCO."]}),
    ({"agreed_on": ""}, {"agreed_on": ["Indiquez la date de l'accord."]}),
    ({"agreed_amount": "", "agreed_on": None}, {"agreed_amount": ["Indiquez le montant accordé par l'OPCO."],
                                                 "agreed_on": ["Indiquez la date de l'accord."]}),
    ({"opco_file_number": " "}, {"opco_file_number": ["Indiquez le numéro de dossier de l'OPCO."]}),
    ({"opco_status": "requested", "opco_file_number": ""},
     {"opco_file_number": ["Indiquez le numéro de dossier de l'OPCO."]}),
    ({"opco_status": "refused", "refused_on": ""}, {"refused_on": ["Indiquez la date du refus."]}),
    ({"agreed_amount": "-1"}, {"agreed_amount": ["Le montant accordé doit être un nombre positif ou nul."]}),
    ({"requested_amount": "beaucoup"}, {"requested_amount": ["Le montant demandé doit être un nombre."]}),
    ({"agreed_on": "10/01/2031"}, {"agreed_on": ["La date : date invalide (format attendu AAAA-MM-JJ)."]}),
    ({"requested_on": "1999-12-31"}, {"requested_on": ["La date : l'année doit être comprise entre 2000 et 2100."]}),
    ({"opco_file_number": "X" * 61}, {"opco_file_number": ["Ce champ ne doit pas dépasser 60 caractères."]}),
    ({"opco_member_number": "9" * 200}, {"opco_member_number": ["Ce champ ne doit pas dépasser 60 caractères."]}),
])
def test_opco_rules(world, enrolment, over, fields):
    assert refused(enrolment, {**OPCO_AGREED, **over}) == fields


def test_opco_statuses_to_request_and_requested(world, enrolment):
    line = save(enrolment, {"kind": "opco", "amount": "600", "opco_name": "AKTO"})
    assert (line.opco_status, line.opco_file_number) == ("to_request", "")  # the default: not asked yet
    line = save(enrolment, {"kind": "opco", "amount": "600", "opco_name": "AKTO", "opco_status": "requested",
                            "opco_file_number": "AK-1", "requested_on": "2031-01-02"}, line=line)
    assert (line.opco_status, line.requested_on) == ("requested", dt.date(2031, 1, 2))
    line = save(enrolment, {"kind": "opco", "amount": "0", "opco_name": "AKTO", "opco_status": "refused",
                            "opco_file_number": "AK-1", "refused_on": "2031-01-20"}, line=line)
    assert (line.opco_status, line.refused_on, line.amount) == ("refused", dt.date(2031, 1, 20), Decimal("0.00"))
    assert count(FundingLine) == 1


def test_opco_fields_are_dropped_from_other_kinds(world, enrolment):
    line = save(enrolment, {**OPCO_AGREED, "kind": "company", "amount": "600", "engagement_number": "EJ-1"})
    assert (line.opco_name, line.opco_status, line.opco_file_number, line.subrogation, line.agreed_amount,
            line.engagement_number) == ("", "", "", False, None, "")


def test_individual_line_has_no_payer_company(world, enrolment):
    line = save(enrolment, {"kind": "individual", "amount": "600"})
    assert line.payer_company_id is None
    assert line.kind_label == "Stagiaire (à ses frais)"


def test_public_buyer_line_takes_the_buyer_siret_and_service_code(world, public_buyer, dume_session, new_trainee):
    enrolment = services.enrol(dume_session, new_trainee(1), company=public_buyer)
    db.session.commit()
    assert refused(enrolment, {"kind": "public_buyer", "amount": "600"}) == {
        "engagement_number": ["Mairie de Colomiers exige un numéro d'engagement sur ses factures."]}
    line = save(enrolment, {"kind": "public_buyer", "amount": "600", "engagement_number": "EJ-2031-77"})
    assert (line.buyer_siret, line.service_code, line.engagement_number) == (
        COLOMIERS_SIRET, "SERV-FORMATION", "EJ-2031-77")
    assert line.payer_company_id == public_buyer.id
    assert services.funding_difference(fresh(Enrolment, enrolment.id)) == 0


def test_public_buyer_siret_is_checked(world, enrolment):
    assert refused(enrolment, {"kind": "public_buyer", "amount": "600", "buyer_siret": BAD_SIRET}) == {
        "buyer_siret": ["Ce SIRET n'est pas valide (clé de contrôle incorrecte)."]}
    assert refused(enrolment, {"kind": "public_buyer", "amount": "600", "buyer_siret": "123"}) == {
        "buyer_siret": ["Le SIRET doit comporter 14 chiffres."]}
    line = save(enrolment, {"kind": "public_buyer", "amount": "600", "buyer_siret": "213 101 496 00015",
                            "service_code": "S-1"})
    assert (line.buyer_siret, line.service_code) == (COLOMIERS_SIRET, "S-1")


def test_public_buyer_without_any_siret_is_refused(world, dume_session, new_trainee):
    enrolment = services.enrol(dume_session, new_trainee(1, bpf_status="other"))
    db.session.commit()
    assert refused(enrolment, {"kind": "public_buyer", "amount": "600"}) == {
        "buyer_siret": ["Le SIRET est obligatoire."]}


def test_deleting_a_line_records_it(world, enrolment):
    line = save(enrolment, {"kind": "company", "amount": "600"})
    services.delete_funding_line(line)
    db.session.commit()
    assert count(FundingLine) == 0
    assert event_kinds(enrolment).count("funding") == 2


# --------------------------------------------------------------------------- the board


def test_funding_board_lists_opco_files_without_agreement_oldest_request_first(world, open_session, new_trainee,
                                                                               make_session):
    from trainingmgr.sessions.services import change_status

    advisor = world.users["advisor"]
    upcoming = open_session(course=world.dume)
    past_start = paris_today() - dt.timedelta(days=30)
    past = make_session(course=world.dume, start=past_start, trainer=world.paula)
    change_status(past, "open", advisor)
    db.session.commit()
    made = [services.enrol(upcoming, new_trainee(n)) for n in range(1, 6)]
    old = services.enrol(past, new_trainee(9))
    db.session.commit()
    base = {"kind": "opco", "amount": "600", "opco_name": "OPCO EP", "opco_file_number": "F"}
    save(made[0], {**base, "opco_status": "requested", "requested_on": "2031-01-15"})
    save(made[1], {**base, "opco_status": "requested", "requested_on": "2030-11-02"})
    save(made[2], {**base, "opco_status": "to_request", "opco_file_number": ""})
    save(made[3], {**OPCO_AGREED})  # agreed: off the board
    save(made[4], {**base, "opco_status": "requested", "requested_on": "2030-10-01"})
    save(made[4], {"kind": "company", "amount": "0"})  # not an OPCO line
    save(old, {**base, "opco_status": "requested", "requested_on": "2030-01-01"})  # session over
    services.cancel(fresh(Enrolment, made[4].id), advisor, "Désistement")  # cancelled: off the board
    db.session.commit()
    board = services.funding_board()
    assert [line.enrolment_id for line in board] == [made[1].id, made[0].id, made[2].id]


def test_funding_board_page(advisor, world, dume_session, new_trainee):
    enrolment = services.enrol(dume_session, new_trainee(1))
    db.session.commit()
    save(enrolment, {"kind": "opco", "amount": "600", "opco_name": "AKTO", "opco_status": "requested",
                     "opco_file_number": "AK-2031-9", "requested_on": "2031-01-02", "requested_amount": "600"})
    response = advisor.get("/funding")
    assert response.status_code == 200
    text = page(response)
    assert "Dossiers de prise en charge sans accord" in text
    row = page_of(response).find("tr", data_funding=str(funding_lines(enrolment)[0].id))
    assert row is not None
    assert "Prénom01 Nom01" in row.text and "AK-2031-9" in row.text and "AKTO" in row.text
    assert "02/01/2031" in row.text and "Demandée" in row.text


def test_funding_board_is_empty_without_files(advisor, world):
    response = advisor.get("/funding")
    assert response.status_code == 200
    assert "Aucun dossier en attente." in page(response)


# --------------------------------------------------------------------------- the pages


def test_new_funding_page_proposes_what_is_left_and_the_employer_opco(advisor, world, enrolment):
    world.company.opco = "OPCO EP"
    db.session.commit()
    save(enrolment, {"kind": "company", "amount": "100"})
    response = advisor.get(f"/enrolments/{enrolment.id}/funding/new")
    assert response.status_code == 200
    tree = page_of(response)
    assert tree.find("input", id="amount").attrs["value"] == "500,00"
    assert tree.find("select", id="kind").find("option", selected=True).attrs["value"] == "opco"
    assert tree.find("select", id="opco_name").find("option", selected=True).attrs["value"] == "OPCO EP"
    assert len(tree.find("select", id="opco_name").find_all("option")) == 12  # a blank, then the eleven


def test_add_funding_through_the_page_and_see_the_difference(advisor, world, enrolment):
    response = advisor.post(f"/enrolments/{enrolment.id}/funding/new", data={
        "kind": "opco", "amount": "420,00", "opco_name": "OPCO EP", "opco_status": "agreed",
        "opco_file_number": "EP-1", "agreed_amount": "420", "agreed_on": "2031-01-10", "subrogation": "y"})
    assert response.status_code == 302, page(response)[:2000]
    assert response.headers["Location"].endswith(f"/enrolments/{enrolment.id}")
    (line,) = funding_lines(enrolment)
    assert (line.amount, line.subrogation, line.agreed_on) == (Decimal("420.00"), True, dt.date(2031, 1, 10))
    shown = page_of(advisor.get(f"/enrolments/{enrolment.id}")).find(data_field="funding-difference").text
    assert shown == f"Reste à financer : {money_fr(Decimal('180'))} sur {money_fr(Decimal('600'))} TTC."
    advisor.post(f"/enrolments/{enrolment.id}/funding/new", data={"kind": "company", "amount": "180"})
    shown = page_of(advisor.get(f"/enrolments/{enrolment.id}")).find(data_field="funding-difference").text
    assert shown == f"Les financements couvrent le prix ({money_fr(Decimal('600'))} TTC)."
    # The session page says it is covered.
    session_page = page_of(advisor.get(f"/sessions/{enrolment.session_id}"))
    assert "couvert" in session_page.find("tr", data_enrolment=str(enrolment.id)).text


def test_edit_and_remove_a_funding_line_through_the_pages(advisor, world, enrolment):
    line = save(enrolment, {"kind": "company", "amount": "600"})
    response = advisor.get(f"/enrolments/{enrolment.id}/funding/{line.id}")
    assert page_of(response).find("input", id="amount").attrs["value"] == "600,00"
    response = advisor.post(f"/enrolments/{enrolment.id}/funding/{line.id}", data={"kind": "company",
                                                                                 "amount": "550"})
    assert response.status_code == 302
    assert fresh(FundingLine, line.id).amount == Decimal("550.00")
    response = advisor.post(f"/enrolments/{enrolment.id}/funding/{line.id}/delete")
    assert response.status_code == 302
    assert count(FundingLine) == 0


@pytest.mark.parametrize("data, fields", [
    ({"kind": "company", "amount": "-5"}, {"amount": "Le montant doit être un nombre positif ou nul."}),
    ({"kind": "company", "amount": "cent"}, {"amount": "Saisissez un nombre, par exemple 600 ou 1 234,56."}),
    ({"kind": "company", "amount": ""}, {"amount": "Le montant est obligatoire."}),
    ({"kind": "opco", "amount": "600", "opco_name": "OPCO EP", "opco_status": "requested"},
     {"opco_file_number": "Indiquez le numéro de dossier de l'OPCO."}),
    ({"kind": "opco", "amount": "600", "opco_name": "OPCO EP", "opco_status": "agreed", "opco_file_number": "1"},
     {"agreed_amount": "Indiquez le montant accordé par l'OPCO.", "agreed_on": "Indiquez la date de l'accord."}),
    ({"kind": "opco", "amount": "600", "opco_name": "OPCO EP", "opco_status": "agreed", "opco_file_number": "1",
      "agreed_amount": "600", "agreed_on": "demain"}, {"agreed_on": "N'est pas une date valide."}),
    ({"kind": "opco", "amount": "600", "opco_name": "OPCO EP", "opco_file_number": "1" * 61},
     {"opco_file_number": "Ce champ ne doit pas dépasser 60 caractères."}),
    ({"kind": "company", "amount": "600", "notes": "x" * 5001}, {"notes": "Ce champ ne doit pas dépasser 5000 caractères."}),
    ({"kind": "public_buyer", "amount": "600", "buyer_siret": BAD_SIRET},
     {"buyer_siret": "Ce SIRET n'est pas valide (clé de contrôle incorrecte)."}),
])
def test_funding_form_bad_input(advisor, world, enrolment, data, fields):
    response = advisor.post(f"/enrolments/{enrolment.id}/funding/new", data=data)
    assert_refused(response, 422, fields=fields)
    assert count(FundingLine) == 0


def test_funding_form_unknown_choices_are_refused(advisor, world, enrolment):
    response = advisor.post(f"/enrolments/{enrolment.id}/funding/new", data={
        "kind": "banque", "amount": "600", "opco_name": "OPCA PL", "opco_status": "perdu"})
    assert response.status_code == 422
    errors = page_of(response)
    from tests.catalogue.pagetools import field_errors

    shown = field_errors(errors)
    assert {"kind", "opco_name", "opco_status"} <= set(shown)
    assert count(FundingLine) == 0


def test_funding_line_of_another_enrolment_is_404(advisor, world, dume_session, new_trainee, enrolment):
    other = services.enrol(dume_session, new_trainee(2))
    db.session.commit()
    line = save(other, {"kind": "company", "amount": "600"})
    assert advisor.get(f"/enrolments/{enrolment.id}/funding/{line.id}").status_code == 404
    assert advisor.post(f"/enrolments/{enrolment.id}/funding/{line.id}",
                        data={"kind": "company", "amount": "1"}).status_code == 404
    assert advisor.post(f"/enrolments/{enrolment.id}/funding/{line.id}/delete").status_code == 404
    assert advisor.get(f"/enrolments/{enrolment.id}/funding/999999").status_code == 404
    assert advisor.get("/enrolments/999999/funding/new").status_code == 404
    assert advisor.get(f"/enrolments/{enrolment.id}/funding/99999999999999999999").status_code == 404
    assert advisor.post(f"/enrolments/{enrolment.id}/funding/99999999999999999999",
                        data={"kind": "company", "amount": "1"}).status_code == 404
    assert count(FundingLine) == 1
    assert fresh(FundingLine, line.id).amount == Decimal("600.00")
