"""How an OPCO funding line is invoiced (FundingLine.billing_basis, hourly_rate): set through the service and the
funding form, "per hour attended" only for OPCO lines and with an hourly rate > 0 of two decimals at most, a flat
line without a rate, French 422 messages, the basis shown on the enrolment page and recorded in its history."""
from __future__ import annotations

from decimal import Decimal

import pytest

from trainingmgr.core.errors import ValidationError
from trainingmgr.core.formatting import money_fr
from trainingmgr.enrolments import services
from trainingmgr.enrolments.models import Enrolment, EnrolmentEvent, FundingLine
from trainingmgr.extensions import db

from tests.catalogue.pagetools import page_of
from tests.enrolments.support import assert_refused, count, fresh, funding_lines
from tests.helpers import page

D = Decimal
OPCO = {"kind": "opco", "amount": "600.00", "opco_name": "OPCO EP", "opco_status": "agreed",
        "opco_file_number": "EP-2031-0001", "agreed_amount": "600", "agreed_on": "2031-01-10", "subrogation": True}
PER_HOUR = {**OPCO, "billing_basis": "hours_attended", "hourly_rate": "45,50"}


@pytest.fixture
def enrolment(world, dume_session, new_trainee):
    """A confirmed DUME enrolment (600 € HT, VAT-exempt organisation: 600 € TTC) of a Dupont employee."""
    made = services.enrol(dume_session, new_trainee(1, company_id=world.company.id))
    db.session.commit()
    return made


def save(enrolment, data, line=None, actor=None) -> FundingLine:
    saved = services.save_funding_line(fresh(Enrolment, enrolment.id), line, data, actor)
    db.session.commit()
    return fresh(FundingLine, saved.id)


def refused(enrolment, data, line=None) -> dict[str, list[str]]:
    before = count(FundingLine)
    with pytest.raises(ValidationError) as error:
        services.save_funding_line(fresh(Enrolment, enrolment.id), line, data, None)
    db.session.rollback()
    assert count(FundingLine) == before
    return error.value.fields


def history(enrolment) -> list[str]:
    db.session.expire_all()
    return [e.message for e in db.session.query(EnrolmentEvent).filter_by(enrolment_id=enrolment.id)
            .order_by(EnrolmentEvent.id)]


# --------------------------------------------------------------------------- the service


def test_an_opco_line_billed_per_hour_attended_keeps_its_rate(world, enrolment):
    line = save(enrolment, OPCO)
    assert (line.billing_basis, line.hourly_rate) == ("flat", None)  # the default
    assert line.billing_basis_label == "Forfait (montant pris en charge)"
    line = save(enrolment, PER_HOUR, line=line, actor=world.users["advisor"])
    assert (line.billing_basis, line.hourly_rate) == ("hours_attended", D("45.50"))
    assert isinstance(line.hourly_rate, Decimal)
    assert line.billing_basis_label == "Heures suivies × taux horaire"
    assert line.billing_basis_text == f"aux heures suivies × {money_fr(D('45.50'))} HT"
    assert history(enrolment)[-1] == f"Facturation de OPCO EP : aux heures suivies × {money_fr(D('45.50'))} HT."
    # Saved again unchanged: no new event. Back to flat: the rate is cleared.
    events = len(history(enrolment))
    save(enrolment, {**PER_HOUR, "hourly_rate": D("45.5")}, line=line)
    assert len(history(enrolment)) == events
    line = save(enrolment, {**OPCO, "billing_basis": "flat", "hourly_rate": "45,50"}, line=line)
    assert (line.billing_basis, line.hourly_rate) == ("flat", None)
    assert history(enrolment)[-1] == "Facturation de OPCO EP : au forfait."


def test_a_line_saved_without_a_basis_is_flat(world, enrolment):
    line = save(enrolment, PER_HOUR)
    line = save(enrolment, OPCO, line=line)  # e.g. an older caller that knows nothing of the basis
    assert (line.billing_basis, line.hourly_rate) == ("flat", None)


@pytest.mark.parametrize("rate, message", [
    (None, "Indiquez le taux horaire HT que l'OPCO paie par heure suivie."),
    ("", "Indiquez le taux horaire HT que l'OPCO paie par heure suivie."),
    ("  ", "Indiquez le taux horaire HT que l'OPCO paie par heure suivie."),
    ("0", "Le taux horaire doit être supérieur à 0 €."),
    ("0,00", "Le taux horaire doit être supérieur à 0 €."),
    ("-45", "Le taux horaire doit être supérieur à 0 €."),
    (D("-0.01"), "Le taux horaire doit être supérieur à 0 €."),
    ("45,505", "Le taux horaire : deux décimales au plus."),
    (D("12.345"), "Le taux horaire : deux décimales au plus."),
    ("quarante", "Le taux horaire doit être un nombre, par exemple 45 ou 37,50."),
    ("NaN", "Le taux horaire doit être un nombre, par exemple 45 ou 37,50."),
    ("Infinity", "Le taux horaire doit être un nombre, par exemple 45 ou 37,50."),
    (True, "Le taux horaire doit être un nombre, par exemple 45 ou 37,50."),
    ("1e12", "Le taux horaire doit être inférieur à 10 millions d'euros."),
])
def test_per_hour_needs_a_positive_rate_of_two_decimals(world, enrolment, rate, message):
    assert refused(enrolment, {**PER_HOUR, "hourly_rate": rate}) == {"hourly_rate": [message]}


def test_an_unknown_basis_is_refused(world, enrolment):
    assert refused(enrolment, {**OPCO, "billing_basis": "au_mois"}) == {
        "billing_basis": ["Mode de facturation inconnu : forfait ou heures suivies × taux horaire."]}


@pytest.mark.parametrize("kind", ["company", "individual", "public_buyer"])
def test_per_hour_is_for_opco_lines_only(world, enrolment, kind):
    data = {"kind": kind, "amount": "600", "buyer_siret": "44306184100021", "billing_basis": "hours_attended",
            "hourly_rate": "45"}
    assert refused(enrolment, data) == {
        "billing_basis": ["La facturation aux heures suivies ne concerne que les financements OPCO."]}
    # A flat line of another kind keeps no rate, even one typed.
    line = save(enrolment, {**data, "billing_basis": "flat"})
    assert (line.billing_basis, line.hourly_rate) == ("flat", None)


def test_a_refused_change_keeps_what_was_saved(world, enrolment):
    line = save(enrolment, PER_HOUR)
    assert refused(enrolment, {**PER_HOUR, "hourly_rate": "-1"}, line=line) == {
        "hourly_rate": ["Le taux horaire doit être supérieur à 0 €."]}
    line = fresh(FundingLine, line.id)
    assert (line.billing_basis, line.hourly_rate) == ("hours_attended", D("45.50"))


# --------------------------------------------------------------------------- the pages


def form_data(**overrides) -> dict:
    data = {"kind": "opco", "amount": "600,00", "opco_name": "OPCO EP", "opco_status": "agreed",
            "opco_file_number": "EP-2031-0001", "agreed_amount": "600", "agreed_on": "2031-01-10", "subrogation": "y",
            "billing_basis": "hours_attended", "hourly_rate": "37,50"}
    data.update(overrides)
    return data


def test_set_the_basis_through_the_funding_form_and_see_it_on_the_enrolment(advisor, world, enrolment):
    tree = page_of(advisor.get(f"/enrolments/{enrolment.id}/funding/new"))
    basis = tree.find("select", id="billing_basis")
    assert basis.find("option", selected=True).attrs["value"] == "flat"
    assert [o.attrs["value"] for o in basis.find_all("option")] == ["flat", "hours_attended"]
    assert tree.find("input", id="hourly_rate").attrs.get("value", "") == ""
    response = advisor.post(f"/enrolments/{enrolment.id}/funding/new", data=form_data())
    assert response.status_code == 302, page(response)[:2000]
    [line] = funding_lines(enrolment)
    assert (line.billing_basis, line.hourly_rate) == ("hours_attended", D("37.50"))
    shown = page_of(advisor.get(f"/enrolments/{enrolment.id}")).find(data_field="billing-basis").text
    assert shown == f"facturé aux heures suivies × {money_fr(D('37.5'))} HT"
    # The edit form shows what was saved; back to flat clears the rate.
    tree = page_of(advisor.get(f"/enrolments/{enrolment.id}/funding/{line.id}"))
    assert tree.find("select", id="billing_basis").find("option", selected=True).attrs["value"] == "hours_attended"
    assert tree.find("input", id="hourly_rate").attrs["value"] == "37,50"
    response = advisor.post(f"/enrolments/{enrolment.id}/funding/{line.id}",
                            data=form_data(billing_basis="flat"))
    assert response.status_code == 302
    line = fresh(FundingLine, line.id)
    assert (line.billing_basis, line.hourly_rate) == ("flat", None)
    shown = page_of(advisor.get(f"/enrolments/{enrolment.id}")).find(data_field="billing-basis").text
    assert shown == "facturé au forfait"


@pytest.mark.parametrize("overrides, field, message", [
    ({"hourly_rate": ""}, "hourly_rate", "Indiquez le taux horaire HT que l'OPCO paie par heure suivie."),
    ({"hourly_rate": "0"}, "hourly_rate", "Le taux horaire doit être supérieur à 0 €."),
    ({"hourly_rate": "-12,00"}, "hourly_rate", "Le taux horaire doit être supérieur à 0 €."),
    ({"hourly_rate": "12,345"}, "hourly_rate", "Le taux horaire : deux décimales au plus."),
    ({"hourly_rate": "douze"}, "hourly_rate", "Saisissez un nombre, par exemple 600 ou 1 234,56."),
    ({"billing_basis": "au_mois"}, "billing_basis",
     "Mode de facturation inconnu : forfait ou heures suivies × taux horaire."),
    ({"kind": "company"}, "billing_basis", "La facturation aux heures suivies ne concerne que les financements OPCO."),
])
def test_funding_form_refuses_bad_bases_in_french(advisor, world, enrolment, overrides, field, message):
    line = save(enrolment, {"kind": "company", "amount": "100"})
    response = advisor.post(f"/enrolments/{enrolment.id}/funding/new", data=form_data(**overrides))
    assert_refused(response, 422, fields={field: message})
    assert count(FundingLine) == 1  # nothing new saved
    # Editing an existing line: refused the same way, the line unchanged.
    response = advisor.post(f"/enrolments/{enrolment.id}/funding/{line.id}", data=form_data(**overrides))
    assert_refused(response, 422, fields={field: message})
    line = fresh(FundingLine, line.id)
    assert (line.kind, line.amount, line.billing_basis, line.hourly_rate) == ("company", D("100.00"), "flat", None)


def test_only_staff_set_the_basis(client, trainer, world, enrolment):
    url = f"/enrolments/{enrolment.id}/funding/new"
    response = client.post(url, data=form_data())
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert trainer.get(url).status_code == 403
    assert trainer.post(url, data=form_data()).status_code == 403
    assert count(FundingLine) == 0
