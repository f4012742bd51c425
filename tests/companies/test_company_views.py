"""The company pages: create and edit (SIRET, NAF, OPCO, public buyer), the French message beside the field,
a duplicate SIRET (409), contacts with roles added and removed on the company page."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from trainingmgr.companies.models import Company, CompanyContact
from trainingmgr.companies.services import save_company, save_contact
from trainingmgr.extensions import db

from tests.catalogue.pagetools import page_of
from tests.enrolments.support import BAD_SIRET, COLOMIERS_SIRET, assert_refused, count, fresh
from tests.helpers import page


def form(**over) -> dict:
    data = {"name": "Mairie de Colomiers", "siret": "213 101 496 00015", "naf_code": "84.11Z",
            "headcount_band": "250+", "opco": "", "address": "1 place Alex Raymond", "postal_code": "31770",
            "city": "Colomiers", "is_public_buyer": "y", "chorus_service_code": "SERV-FORMATION",
            "engagement_required": "y"}
    data.update(over)
    return {k: v for k, v in data.items() if v is not None}


def colomiers() -> Company:
    db.session.expire_all()
    return db.session.scalar(select(Company).where(Company.siret == COLOMIERS_SIRET))


def test_create_a_public_buyer_through_the_page(advisor, world):
    tree = page_of(advisor.get("/companies/new"))
    assert len(tree.find("select", id="opco").find_all("option")) == 12  # a blank, then the eleven OPCOs
    response = advisor.post("/companies/new", data=form())
    assert response.status_code == 302, page(response)[:3000]
    company = colomiers()
    assert response.headers["Location"].endswith(f"/companies/{company.id}")
    assert (company.naf_code, company.is_public_buyer, company.chorus_service_code, company.engagement_required) == (
        "8411Z", True, "SERV-FORMATION", True)
    text = page(advisor.get(f"/companies/{company.id}"))
    assert "Entreprise « Mairie de Colomiers » enregistrée." in text
    listing = page(advisor.get("/companies/"))
    assert "Mairie de Colomiers" in listing and "213 101 496 00015" in listing and "acheteur public" in listing


def test_edit_a_company_through_the_page(advisor, world):
    tree = page_of(advisor.get(f"/companies/{world.company.id}"))
    assert tree.find("input", id="siret").attrs["value"] == world.company.siret
    response = advisor.post(f"/companies/{world.company.id}", data=form(
        name="Dupont architectes", siret=world.company.siret, opco="OPCO EP", is_public_buyer=None,
        engagement_required=None, chorus_service_code=""))
    assert response.status_code == 302, page(response)[:3000]
    company = fresh(Company, world.company.id)
    assert (company.name, company.opco, company.is_public_buyer) == ("Dupont architectes", "OPCO EP", False)


@pytest.mark.parametrize("over, fields", [
    ({"siret": BAD_SIRET}, {"siret": "Ce SIRET n'est pas valide (clé de contrôle incorrecte)."}),
    ({"siret": "123"}, {"siret": "Le SIRET doit comporter 14 chiffres."}),
    ({"siret": "4430618410002A"}, {"siret": "Le SIRET ne doit contenir que des chiffres."}),
    ({"siret": ""}, {"siret": "Un acheteur public est identifié par son SIRET dans Chorus Pro."}),
    ({"siret": "1" * 21}, {"siret": "Ce champ ne doit pas dépasser 20 caractères."}),
    ({"naf_code": "8411"}, {"naf_code": "Le code NAF s'écrit comme 7111Z ou 71.11Z."}),
    ({"naf_code": "84.11ZZ"}, {"naf_code": "Ce champ ne doit pas dépasser 6 caractères."}),
    ({"name": ""}, {"name": "Ce champ est requis."}),
    ({"name": "N" * 201}, {"name": "Ce champ ne doit pas dépasser 200 caractères."}),
    ({"city": "C" * 121}, {"city": "Ce champ ne doit pas dépasser 120 caractères."}),
    ({"chorus_service_code": "S" * 101}, {"chorus_service_code": "Ce champ ne doit pas dépasser 100 caractères."}),
    ({"opco": "OPCA PL"}, {"opco": "N'est pas un choix valide."}),
    ({"headcount_band": "1000+"}, {"headcount_band": "N'est pas un choix valide."}),
])
def test_company_form_bad_input(advisor, world, over, fields):
    response = advisor.post("/companies/new", data=form(**over))
    assert_refused(response, 422, fields=fields)
    assert count(Company) == 1  # the world's company only
    if "city" not in over:
        assert page_of(response).find("input", id="city").attrs["value"] == "Colomiers"  # what was typed


def test_a_refused_company_form_does_not_fill_the_contact_form(advisor, world):
    response = advisor.post(f"/companies/{world.company.id}", data=form(siret=BAD_SIRET, name="Nouveau nom"))
    assert response.status_code == 422
    tree = page_of(response)
    assert tree.find("input", id="name").attrs["value"] == "Nouveau nom"
    assert tree.find("input", id="contact_name").attrs.get("value", "") == ""


def test_a_duplicate_siret_is_409_beside_the_field(advisor, world):
    response = advisor.post("/companies/new", data=form(siret="443 061 841 00021", name="Autre"))
    assert_refused(response, 409, fields={
        "siret": "Ce SIRET est déjà celui de l'entreprise « Cabinet d'architecture Dupont »."})
    assert count(Company) == 1
    other = save_company(None, {"name": "Autre", "siret": COLOMIERS_SIRET})
    db.session.commit()
    response = advisor.post(f"/companies/{other.id}", data=form(siret=world.company.siret))
    assert response.status_code == 409
    assert fresh(Company, other.id).siret == COLOMIERS_SIRET


def test_unknown_company_is_404(advisor, world):
    for url in ("/companies/999999", "/companies/99999999999999999999"):
        assert advisor.get(url).status_code == 404
        assert advisor.post(url, data=form()).status_code == 404
        assert advisor.post(f"{url}/contacts", data={"role": "hr", "name": "X"}).status_code == 404
    assert count(Company) == 1


def test_company_form_without_csrf_token_is_refused(advisor, world):
    assert advisor.post("/companies/new", data=form(), csrf=False).status_code == 400
    assert count(Company) == 1


# --------------------------------------------------------------------------- contacts


@pytest.mark.parametrize("role, label", [("signatory", "Signataire"), ("hr", "Ressources humaines / formation"),
                                         ("accounting", "Comptabilité")])
def test_add_and_remove_a_contact_on_the_company_page(advisor, world, role, label):
    url = f"/companies/{world.company.id}"
    tree = page_of(advisor.get(url))
    roles = [o.attrs["value"] for o in tree.find("select", id="contact_role").find_all("option")]
    assert roles == ["signatory", "hr", "accounting", "other"]
    response = advisor.post(f"{url}/contacts", data={"role": role, "name": "Anne Dupont", "job_title": "Gérante",
                                                     "email": "anne@dupont.example", "phone": "05 61 00 00 00"})
    assert response.status_code == 302, page(response)[:3000]
    assert response.headers["Location"].endswith(url)
    (contact,) = db.session.scalars(select(CompanyContact)).all()
    assert (contact.role, contact.name, contact.email, contact.company_id) == (role, "Anne Dupont",
                                                                              "anne@dupont.example", world.company.id)
    item = page_of(advisor.get(url)).find("li", data_contact=str(contact.id))
    assert "Anne Dupont" in item.text and label in item.text and "anne@dupont.example" in item.text
    response = advisor.post(f"{url}/contacts/{contact.id}/delete")
    assert response.status_code == 302
    assert count(CompanyContact) == 0
    assert "Aucun contact." in page(advisor.get(url))


@pytest.mark.parametrize("data, fields", [
    ({"role": "hr", "name": ""}, {"contact_name": "Ce champ est requis."}),
    ({"role": "hr", "name": "X", "email": "pas-une-adresse"},
     {"contact_email": "Cette adresse e-mail n'est pas valide."}),
    ({"role": "boss", "name": "X"}, {"contact_role": "N'est pas un choix valide."}),
    ({"role": "hr", "name": "N" * 161}, {"contact_name": "Ce champ ne doit pas dépasser 160 caractères."}),
    ({"role": "hr", "name": "X", "phone": "0" * 41}, {"contact_phone": "Ce champ ne doit pas dépasser 40 caractères."}),
])
def test_contact_form_bad_input(advisor, world, data, fields):
    response = advisor.post(f"/companies/{world.company.id}/contacts", data=data)
    assert_refused(response, 422, fields=fields)
    assert count(CompanyContact) == 0
    # The company form is still there, filled with the company; no element id is used twice.
    tree = page_of(response)
    assert tree.find("input", id="name").attrs["value"] == "Cabinet d'architecture Dupont"
    ids = [node.attrs["id"] for node in tree.iter() if node.attrs.get("id") and node.attrs["id"] != "csrf_token"]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)


def test_a_contact_of_another_company_cannot_be_deleted_from_this_one(advisor, world):
    other = save_company(None, {"name": "Autre"})
    db.session.flush()
    contact = save_contact(other, None, {"role": "hr", "name": "RH Autre"})
    db.session.commit()
    assert advisor.post(f"/companies/{world.company.id}/contacts/{contact.id}/delete").status_code == 404
    assert advisor.post(f"/companies/{world.company.id}/contacts/999999/delete").status_code == 404
    assert count(CompanyContact) == 1
