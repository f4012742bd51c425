"""The funders of every kind on a funding line (issue 20): a fund of the self-employed (FIF PL…), France Travail
(AIF), a region or another public funder, beside the OPCO. Each kind's mandatory reference and fields, amounts within
the price, through the service and the funding form (422, French messages, nothing saved); the enrolment page and
its warnings; the board of files without agreement, filtered by kind; who may post a line."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from trainingmgr.core.errors import ValidationError
from trainingmgr.core.formatting import hours_fr, money_fr
from trainingmgr.enrolments import services
from trainingmgr.enrolments.models import Enrolment, FundingLine
from trainingmgr.extensions import db

from tests.catalogue.pagetools import page_of
from tests.enrolments.support import (
    BAD_SIRET,
    OTHER_SIRET,
    assert_refused,
    count,
    events,
    fresh,
    funding_lines,
)
from tests.helpers import page

D = Decimal
FIF_PL = {"kind": "self_employed_fund", "amount": "600.00", "opco_name": "FIF PL", "opco_status": "requested",
          "opco_file_number": "FIFPL-2031-118", "requested_on": "2031-01-05", "requested_amount": "600",
          "agreed_hours": "7"}
AIF = {"kind": "france_travail", "amount": "600.00", "opco_file_number": "AIF-31-2031-0042", "opco_status": "agreed",
       "agreed_amount": "600", "agreed_on": "2031-01-12", "agreed_hours": "7",
       "opco_contact_email": "Conseiller.Toulouse@francetravail.example"}
REGION = {"kind": "public_funder", "amount": "600.00", "opco_name": "Région Occitanie", "funder_category": "region",
          "opco_file_number": "CONV-2031-77", "buyer_siret": OTHER_SIRET, "service_code": "FORMATION",
          "engagement_number": "EJ-2031-5"}
# The same lines as the funding form posts them (each funder's fields under its own names).
FORMS = {
    "self_employed_fund": {"kind": "self_employed_fund", "amount": "600,00", "fund_name": "FIF PL",
                           "fund_file_number": "FIFPL-2031-118", "opco_status": "requested",
                           "requested_on": "2031-01-05", "agreed_hours": "7"},
    "france_travail": {"kind": "france_travail", "amount": "600,00", "aif_reference": "AIF-31-2031-0042",
                       "opco_status": "agreed", "agreed_amount": "600", "agreed_on": "2031-01-12"},
    "public_funder": {"kind": "public_funder", "amount": "600,00", "funder_category": "region",
                      "public_funder_name": "Région Occitanie", "convention_reference": "CONV-2031-77",
                      "buyer_siret": OTHER_SIRET},
}


@pytest.fixture
def enrolment(world, dume_session, new_trainee):
    """A confirmed DUME enrolment (600 € HT, VAT-exempt organisation: 600 € TTC) of a job seeker with no employer."""
    made = services.enrol(dume_session, new_trainee(1, bpf_status="job_seeker"))
    db.session.commit()
    return made


def save(enrolment, data, line=None) -> FundingLine:
    saved = services.save_funding_line(fresh(Enrolment, enrolment.id), line, data, None)
    db.session.commit()
    return fresh(FundingLine, saved.id)


def refused(enrolment, data, line=None) -> dict[str, list[str]]:
    """The service's refusal, field by field; nothing saved, nothing changed."""
    before = [(row.id, row.amount, row.opco_file_number) for row in funding_lines(enrolment)]
    with pytest.raises(ValidationError) as error:
        services.save_funding_line(fresh(Enrolment, enrolment.id), line, data, None)
    db.session.rollback()
    assert [(row.id, row.amount, row.opco_file_number) for row in funding_lines(enrolment)] == before
    return error.value.fields


def post(client, enrolment, data, line=None):
    url = f"/enrolments/{enrolment.id}/funding/{line.id if line else 'new'}"
    return client.post(url, data=data)


# --------------------------------------------------------------------------- each kind, through the service


def test_a_self_employed_fund_line_keeps_the_fund_its_file_and_hours(world, enrolment):
    line = save(enrolment, FIF_PL)
    assert (line.kind, line.opco_name, line.opco_file_number, line.opco_status) == (
        "self_employed_fund", "FIF PL", "FIFPL-2031-118", "requested")
    assert (line.requested_amount, line.requested_on, line.agreed_hours) == (D("600.00"), dt.date(2031, 1, 5),
                                                                            D("7.00"))
    assert line.subrogation is False  # the usual way: the trainee pays and claims the refund
    assert (line.funder_category, line.buyer_siret) == ("", "")
    line = save(enrolment, {**FIF_PL, "subrogation": True, "opco_member_number": "M-1"}, line=line)
    assert line.subrogation is True  # the fund pays the organisation
    assert line.opco_member_number == ""  # an OPCO's member number only


def test_a_france_travail_line_is_always_named_france_travail(world, enrolment):
    line = save(enrolment, {**AIF, "opco_name": "OPCO EP", "subrogation": True, "buyer_siret": OTHER_SIRET})
    assert (line.kind, line.opco_name, line.opco_file_number) == ("france_travail", "France Travail",
                                                                  "AIF-31-2031-0042")
    assert (line.opco_status, line.agreed_amount, line.agreed_on, line.agreed_hours) == (
        "agreed", D("600.00"), dt.date(2031, 1, 12), D("7.00"))
    assert line.opco_contact_email == "conseiller.toulouse@francetravail.example"
    assert (line.subrogation, line.buyer_siret, line.funder_category) == (False, "", "")


def test_a_public_funder_line_keeps_its_category_reference_and_chorus_pro_fields(world, enrolment):
    line = save(enrolment, {**REGION, "buyer_siret": "732 829 320 00074"})
    assert (line.kind, line.opco_name, line.funder_category, line.opco_file_number) == (
        "public_funder", "Région Occitanie", "region", "CONV-2031-77")
    assert (line.buyer_siret, line.service_code, line.engagement_number) == (OTHER_SIRET, "FORMATION", "EJ-2031-5")
    assert line.opco_status == "to_request"


def test_other_kinds_drop_the_funders_fields(world, enrolment):
    line = save(enrolment, {**REGION, **AIF, "kind": "individual"})
    assert (line.opco_name, line.opco_file_number, line.opco_status, line.funder_category, line.agreed_hours,
            line.agreed_amount, line.buyer_siret, line.opco_contact_email) == ("", "", "", "", None, None, "", "")


def test_the_history_names_the_funder_and_its_decision(world, enrolment):
    line = save(enrolment, {**AIF, "opco_status": "requested", "agreed_amount": "", "agreed_on": ""})
    save(enrolment, AIF, line=line)
    services.delete_funding_line(fresh(FundingLine, line.id))
    db.session.commit()
    assert [e.message for e in events(enrolment) if e.kind == "funding"] == [
        "Financement ajouté : France Travail (AIF), accord AIF AIF-31-2031-0042 ; prise en charge demandée.",
        f"France Travail (AIF), accord AIF AIF-31-2031-0042 : prise en charge accordée ({money_fr(D('600'))}).",
        "Financement retiré : France Travail (AIF), accord AIF AIF-31-2031-0042.",
    ]
    save(enrolment, REGION)
    save(enrolment, {"kind": "individual", "amount": "0"})
    assert [e.message for e in events(enrolment) if e.kind == "funding"][-2:] == [
        "Financement ajouté : Région ou autre financeur public — Région Occitanie, convention CONV-2031-77 ; "
        "prise en charge à demander.",
        "Financement ajouté : Stagiaire (à ses frais).",
    ]


# --------------------------------------------------------------------------- mandatory references, bad input

FUND_NAMES = "Choisissez le fonds des non-salariés : FIF PL, AGEFICE, FAFCEA, FAF PM, VIVEA."
AIF_MISSING = "Indiquez la référence de l'accord France Travail (devis AIF)."
CONVENTION_MISSING = "Indiquez le numéro de convention ou de bon de commande du financeur public."
CATEGORY = ("Choisissez la catégorie du financeur public : conseil régional, État, instances européennes ou autre "
            "financeur public.")


@pytest.mark.parametrize("data, fields", [
    ({**FIF_PL, "opco_name": "OPCO EP"}, {"opco_name": [FUND_NAMES]}),
    ({**FIF_PL, "opco_name": ""}, {"opco_name": [FUND_NAMES]}),
    ({**FIF_PL, "opco_file_number": " "}, {"opco_file_number": ["Indiquez le numéro de dossier du fonds."]}),
    ({**FIF_PL, "opco_status": "agreed"}, {"agreed_amount": ["Indiquez le montant accordé par le fonds."],
                                           "agreed_on": ["Indiquez la date de l'accord."]}),
    ({**FIF_PL, "amount": "0"}, {"amount": ["Le montant doit être un nombre supérieur à 0."]}),
    ({**AIF, "opco_file_number": ""}, {"opco_file_number": [AIF_MISSING]}),
    ({**AIF, "opco_status": "to_request", "opco_file_number": ""}, {"opco_file_number": [AIF_MISSING]}),
    ({**AIF, "agreed_amount": ""}, {"agreed_amount": ["Indiquez le montant accordé par France Travail."]}),
    ({**AIF, "opco_status": "refused"}, {"refused_on": ["Indiquez la date du refus."]}),
    ({**AIF, "opco_contact_email": "pas-une-adresse"}, {"opco_contact_email": ["Adresse e-mail invalide."]}),
    ({**REGION, "opco_file_number": ""}, {"opco_file_number": [CONVENTION_MISSING]}),
    ({**REGION, "opco_name": " "}, {"opco_name": ["Indiquez le nom du financeur public (par exemple Région "
                                                  "Occitanie)."]}),
    ({**REGION, "funder_category": ""}, {"funder_category": [CATEGORY]}),
    ({**REGION, "funder_category": "departement"}, {"funder_category": [CATEGORY]}),
    ({**REGION, "buyer_siret": ""}, {"buyer_siret": ["Le SIRET est obligatoire."]}),
    ({**REGION, "buyer_siret": BAD_SIRET}, {"buyer_siret": ["Ce SIRET n'est pas valide (clé de contrôle "
                                                            "incorrecte)."]}),
    ({**REGION, "buyer_siret": "123"}, {"buyer_siret": ["Le SIRET doit comporter 14 chiffres."]}),
    ({**REGION, "opco_name": "R" * 61}, {"opco_name": ["Ce champ ne doit pas dépasser 60 caractères."]}),
])
def test_each_funder_is_refused_without_what_it_requires(world, enrolment, data, fields):
    refusal = refused(enrolment, data)
    if "opco_contact_email" in fields:  # the e-mail check's own wording
        assert set(refusal) == {"opco_contact_email"}
    else:
        assert refusal == fields
    assert count(FundingLine) == 0


def test_a_refused_france_travail_request_may_stay_at_zero(world, enrolment):
    line = save(enrolment, {**AIF, "amount": "0", "opco_status": "refused", "refused_on": "2031-01-20"})
    assert (line.amount, line.opco_status, line.refused_on) == (D("0.00"), "refused", dt.date(2031, 1, 20))


@pytest.mark.parametrize("hours, message", [
    ("0", "Le nombre d'heures prises en charge doit être un nombre supérieur à 0."),
    ("-3", "Le nombre d'heures prises en charge doit être un nombre positif ou nul."),
    ("7,125", "Le nombre d'heures prises en charge : deux décimales au plus."),
    ("sept", "Le nombre d'heures prises en charge doit être un nombre."),
])
def test_agreed_hours_are_checked(world, enrolment, hours, message):
    assert refused(enrolment, {**AIF, "agreed_hours": hours}) == {"agreed_hours": [message]}


def test_agreed_hours_stay_within_the_sessions_planned_hours(world, enrolment):
    planned = fresh(Enrolment, enrolment.id).session.planned_hours
    assert planned > 0
    above = planned + D("0.5")
    assert refused(enrolment, {**AIF, "agreed_hours": str(above)}) == {"agreed_hours": [
        f"Les heures prises en charge ({hours_fr(above)}) dépassent la durée de la session ({hours_fr(planned)})."]}
    assert save(enrolment, {**AIF, "agreed_hours": str(planned)}).agreed_hours == planned


# --------------------------------------------------------------------------- amounts within the price


def test_the_lines_together_never_exceed_the_price(world, enrolment):
    first = save(enrolment, {**AIF, "amount": "400", "agreed_amount": "400"})
    over = f"Les financements dépasseraient le prix de l'inscription ({money_fr(D('600'))} TTC) : il reste "
    assert refused(enrolment, {"kind": "individual", "amount": "200,01"}) == {
        "amount": [over + f"{money_fr(D('200'))} à financer."]}
    assert refused(enrolment, {**FIF_PL, "amount": "600"}) == {"amount": [over + f"{money_fr(D('200'))} à financer."]}
    save(enrolment, {"kind": "individual", "amount": "200"})
    # Editing a line counts it once, with its new amount.
    assert save(enrolment, {**AIF, "amount": "400"}, line=first).amount == D("400.00")
    assert refused(enrolment, {**AIF, "amount": "400,50", "agreed_amount": "400,50"}, line=first) == {
        "amount": [over + f"{money_fr(D('400'))} à financer."]}
    assert services.funding_difference(fresh(Enrolment, enrolment.id)) == 0


def test_requested_and_agreed_amounts_stay_within_the_price(world, enrolment):
    assert refused(enrolment, {**FIF_PL, "requested_amount": "720"}) == {"requested_amount": [
        f"Le montant demandé ({money_fr(D('720'))}) dépasse le prix de l'inscription ({money_fr(D('600'))} TTC)."]}
    assert refused(enrolment, {**AIF, "agreed_amount": "600,01"}) == {"agreed_amount": [
        f"Le montant accordé ({money_fr(D('600.01'))}) dépasse le prix de l'inscription ({money_fr(D('600'))} TTC)."]}


# --------------------------------------------------------------------------- the funding form


def test_the_france_travail_identifier_is_kept_and_shown_again_in_its_own_field(advisor, world, enrolment):
    """The attestations France Travail asks for print the trainee's identifier (the line's member number column)."""
    response = post(advisor, enrolment, {**FORMS["france_travail"], "ft_identifier": "3141592X",
                                         "opco_member_number": "NOT-THIS-ONE"})
    assert response.status_code == 302, page(response)[:3000]
    (line,) = funding_lines(enrolment)
    assert line.opco_member_number == "3141592X"
    body = page(advisor.get(f"/enrolments/{enrolment.id}/funding/{line.id}"))
    assert 'name="ft_identifier"' in body and 'value="3141592X"' in body
    assert body.count('value="3141592X"') == 1  # not in the OPCO's member number field too
    # Another funder's line keeps no member number.
    response = post(advisor, enrolment, FORMS["public_funder"], line=line)
    assert response.status_code == 302, page(response)[:3000]
    assert fresh(FundingLine, line.id).opco_member_number == ""


@pytest.mark.parametrize("kind", sorted(FORMS))
def test_each_kind_through_the_funding_form(advisor, world, enrolment, kind):
    response = post(advisor, enrolment, {**FORMS[kind], "opco_name": "OPCO EP", "opco_file_number": "NOT-THIS-ONE"})
    assert response.status_code == 302, page(response)[:3000]
    (line,) = funding_lines(enrolment)
    expected = {"self_employed_fund": ("FIF PL", "FIFPL-2031-118"),
                "france_travail": ("France Travail", "AIF-31-2031-0042"),
                "public_funder": ("Région Occitanie", "CONV-2031-77")}[kind]
    assert (line.kind, line.opco_name, line.opco_file_number) == (kind, *expected)
    # The edit page shows the line in its kind's fields, the OPCO's left empty.
    tree = page_of(advisor.get(f"/enrolments/{enrolment.id}/funding/{line.id}"))
    reference = {"self_employed_fund": "fund_file_number", "france_travail": "aif_reference",
                 "public_funder": "convention_reference"}[kind]
    assert tree.find("input", id=reference).attrs["value"] == expected[1]
    assert tree.find("input", id="opco_file_number").attrs.get("value", "") == ""
    assert tree.find("select", id="opco_name").find("option", selected=True).attrs["value"] == ""
    # Saved again as shown: unchanged.
    data = {name: node.attrs.get("value", "") for name, node in (
        (n.attrs["name"], n) for n in tree.find("form", data_form="funding").find_all("input")
        if n.attrs.get("type") not in ("checkbox", "submit"))}
    data.update({s.attrs["name"]: (s.find("option", selected=True) or s.find("option")).attrs["value"]
                 for s in tree.find("form", data_form="funding").find_all("select")})
    assert advisor.post(f"/enrolments/{enrolment.id}/funding/{line.id}", data=data).status_code == 302
    again = fresh(FundingLine, line.id)
    assert (again.kind, again.opco_name, again.opco_file_number, again.amount) == (kind, *expected, D("600.00"))


def test_the_form_labels_each_funders_reference(advisor, world, enrolment):
    tree = page_of(advisor.get(f"/enrolments/{enrolment.id}/funding/new"))
    labels = {name: tree.find("label", for_=name).text for name in (
        "opco_file_number", "fund_file_number", "aif_reference", "convention_reference")}
    assert labels == {"opco_file_number": "N° de dossier OPCO", "fund_file_number": "N° de dossier du fonds",
                      "aif_reference": "Référence du devis / de l'accord AIF",
                      "convention_reference": "N° de convention ou de bon de commande"}
    funds = [o.attrs["value"] for o in tree.find("select", id="fund_name").find_all("option")]
    assert funds == ["", "FIF PL", "AGEFICE", "FAFCEA", "FAF PM", "VIVEA"]
    kinds = {f.attrs["data-kinds"] for f in tree.find_all("fieldset")}
    assert {"opco", "self_employed_fund", "france_travail", "public_funder", "public_buyer public_funder"} <= kinds
    assert tree.find("script", src="/static/js/funding-form.js") is not None


@pytest.mark.parametrize("kind, overrides, field, message", [
    ("france_travail", {"aif_reference": ""}, "aif_reference", AIF_MISSING),
    ("self_employed_fund", {"fund_file_number": ""}, "fund_file_number", "Indiquez le numéro de dossier du fonds."),
    ("self_employed_fund", {"fund_name": "OPCO EP"}, "fund_name", FUND_NAMES),
    ("public_funder", {"convention_reference": ""}, "convention_reference", CONVENTION_MISSING),
    ("public_funder", {"public_funder_name": ""}, "public_funder_name",
     "Indiquez le nom du financeur public (par exemple Région Occitanie)."),
    ("public_funder", {"funder_category": ""}, "funder_category", CATEGORY),
    ("public_funder", {"buyer_siret": ""}, "buyer_siret", "Le SIRET est obligatoire."),
    ("public_funder", {"buyer_siret": BAD_SIRET}, "buyer_siret",
     "Ce SIRET n'est pas valide (clé de contrôle incorrecte)."),
    ("france_travail", {"amount": "600,01"}, "amount",
     f"Les financements dépasseraient le prix de l'inscription ({money_fr(D('600'))} TTC) : il reste "
     f"{money_fr(D('600'))} à financer."),
    ("france_travail", {"agreed_hours": "0"}, "agreed_hours",
     "Le nombre d'heures prises en charge doit être un nombre supérieur à 0."),
])
def test_the_form_refuses_a_missing_reference_beside_its_field(advisor, world, enrolment, kind, overrides, field,
                                                               message):
    response = post(advisor, enrolment, {**FORMS[kind], **overrides})
    assert_refused(response, 422, fields={field: message})
    assert count(FundingLine) == 0
    # Editing a line the same way: refused, the line unchanged.
    line = save(enrolment, {"kind": "company", "amount": "100"})
    response = post(advisor, enrolment, {**FORMS[kind], **overrides, "amount": "100"}, line=line)
    if field != "amount":
        assert_refused(response, 422, fields={field: message})
        line = fresh(FundingLine, line.id)
        assert (line.kind, line.amount, line.opco_name) == ("company", D("100.00"), "")


# --------------------------------------------------------------------------- the enrolment page


def test_the_enrolment_page_shows_every_funder_and_its_reference(advisor, world, enrolment):
    for data in ({**FIF_PL, "amount": "100", "requested_amount": "100"}, {**AIF, "amount": "300"},
                 {**REGION, "amount": "150"}, {"kind": "opco", "amount": "50", "opco_name": "AKTO"}):
        save(enrolment, data)
    tree = page_of(advisor.get(f"/enrolments/{enrolment.id}"))
    rows = {row.find_all("td")[0].text: row.find("td", data_field="funding-detail").text
            for row in tree.find_all("tr", data_funding=True)}
    assert rows == {
        "Fonds des non-salariés — FIF PL": f"Demandée · dossier FIFPL-2031-118 · {hours_fr(D(7))} pris en charge · "
                                           "le stagiaire paie et se fait rembourser",
        "France Travail (AIF)": f"Accordée · accord AIF AIF-31-2031-0042 · accordé {money_fr(D('600'))} · "
                                f"{hours_fr(D(7))} pris en charge",
        "Région ou autre financeur public — Région Occitanie": "À demander · convention CONV-2031-77 · Conseil "
                                                               "régional · SIRET 732 829 320 00074 · service "
                                                               "FORMATION · engagement EJ-2031-5",
        "OPCO — AKTO": "À demander · facturé au forfait",
    }
    # A job seeker funded by a fund of the self-employed: the BPF status contradicts the funding.
    warnings = [p.text for p in tree.find_all("p", data_warning="funding")]
    assert len(warnings) == 1 and "FIF PL" in warnings[0] and "« Demandeur d'emploi »" in warnings[0]
    assert "travailleur indépendant, profession libérale" in warnings[0]


def test_the_page_warns_when_france_travail_funds_someone_not_a_job_seeker(advisor, world, dume_session,
                                                                          new_trainee):
    enrolment = services.enrol(dume_session, new_trainee(2, bpf_status="employee"))
    db.session.commit()
    save(enrolment, AIF)
    assert services.funding_warnings(fresh(Enrolment, enrolment.id)) == [
        "Financement France Travail (AIF), accord AIF AIF-31-2031-0042 alors que le statut du stagiaire (BPF) est "
        "« Salarié d'un employeur privé » : ce financeur finance un « demandeur d'emploi ». Corrigez le statut sur "
        "la fiche du stagiaire, ou le financement."]
    tree = page_of(advisor.get(f"/enrolments/{enrolment.id}"))
    assert len(tree.find_all("p", data_warning="funding")) == 1
    fresh(Enrolment, enrolment.id).trainee.bpf_status = "job_seeker"
    db.session.commit()
    assert services.funding_warnings(fresh(Enrolment, enrolment.id)) == []
    assert page_of(advisor.get(f"/enrolments/{enrolment.id}")).find("p", data_warning="funding") is None


# --------------------------------------------------------------------------- the board


@pytest.fixture
def files(world, dume_session, new_trainee):
    """One file without agreement per funder's kind, in an upcoming session; an agreed one is not on the board."""
    made = {}
    for n, data in enumerate((
            {"kind": "opco", "amount": "600", "opco_name": "AKTO", "opco_status": "requested",
             "opco_file_number": "AK-1", "requested_on": "2031-01-04"},
            {**FIF_PL, "requested_on": "2031-01-03"},
            {**AIF, "opco_status": "requested", "agreed_amount": "", "agreed_on": "", "requested_on": "2031-01-02"},
            REGION,
            AIF), start=1):
        enrolment = services.enrol(dume_session, new_trainee(n))
        db.session.commit()
        made[n] = save(enrolment, data)
    return made


def test_the_board_lists_every_funders_files(advisor, world, files):
    assert [line.id for line in services.funding_board()] == [files[n].id for n in (3, 2, 1, 4)]
    response = advisor.get("/funding")
    assert response.status_code == 200
    tree = page_of(response)
    rows = {row.attrs["data-kind"]: row.text for row in tree.find_all("tr", data_funding=True)}
    assert set(rows) == {"opco", "self_employed_fund", "france_travail", "public_funder"}
    assert "FIF PL" in rows["self_employed_fund"] and "Fonds des non-salariés" in rows["self_employed_fund"]
    assert "FIFPL-2031-118" in rows["self_employed_fund"]
    assert "France Travail" in rows["france_travail"] and "accord AIF AIF-31-2031-0042" in rows["france_travail"]
    assert "Région Occitanie" in rows["public_funder"] and "convention CONV-2031-77" in rows["public_funder"]
    assert "AKTO" in rows["opco"] and "Demandée" in rows["opco"]
    options = [o.attrs["value"] for o in tree.find("select", id="kind").find_all("option")]
    assert options == ["", "opco", "self_employed_fund", "france_travail", "public_funder"]


@pytest.mark.parametrize("kind, expected", [("france_travail", [3]), ("public_funder", [4]), ("opco", [1]),
                                            ("self_employed_fund", [2])])
def test_the_board_filters_by_kind(advisor, world, files, kind, expected):
    assert [line.id for line in services.funding_board(kind=kind)] == [files[n].id for n in expected]
    tree = page_of(advisor.get(f"/funding?kind={kind}"))
    assert [int(row.attrs["data-funding"]) for row in tree.find_all("tr", data_funding=True)] == [
        files[n].id for n in expected]
    assert tree.find("select", id="kind").find("option", selected=True).attrs["value"] == kind
    assert tree.find("a", href="/funding") is not None  # back to every funder


@pytest.mark.parametrize("kind", ["banque", "company", "individual", "x" * 500])
def test_the_board_refuses_an_unknown_kind(advisor, world, kind):
    response = advisor.get(f"/funding?kind={kind}")
    assert response.status_code == 400
    assert "Financeur inconnu : OPCO, fonds des non-salariés, France Travail ou financeur public." in page(response)


# --------------------------------------------------------------------------- who may


@pytest.mark.parametrize("kind", sorted(FORMS))
def test_only_staff_post_a_funders_line(client, trainer, world, enrolment, kind):
    url = f"/enrolments/{enrolment.id}/funding/new"
    response = client.post(url, data=FORMS[kind])
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert trainer.get(url).status_code == 403
    assert trainer.post(url, data=FORMS[kind]).status_code == 403
    assert trainer.get("/funding").status_code == 403
    assert count(FundingLine) == 0
