"""Client companies through the services: SIRET checked with python-stdnum, NAF code, the eleven OPCOs, public
buyers (Chorus Pro service code, engagement number), one company per SIRET, contacts with roles."""
from __future__ import annotations

import pytest

from trainingmgr.companies.models import CONTACT_ROLES, OPCOS, Company, CompanyContact
from trainingmgr.companies.services import delete_contact, find_or_create_company, save_company, save_contact
from trainingmgr.core.errors import ConflictError, ValidationError
from trainingmgr.core.identifiers import format_siret
from trainingmgr.extensions import db

from tests.enrolments.support import BAD_SIRET, COLOMIERS_SIRET, DUPONT_SIRET, OTHER_SIRET, count, fresh

COLOMIERS = {"name": "Mairie de Colomiers", "siret": "213 101 496 00015", "naf_code": "84.11Z",
             "headcount_band": "250+", "opco": "", "address": "1 place Alex Raymond", "postal_code": "31770",
             "city": "Colomiers", "is_public_buyer": True, "chorus_service_code": "SERV-FORMATION",
             "engagement_required": True}


def create(data: dict) -> Company:
    company = save_company(None, data)
    db.session.commit()
    return fresh(Company, company.id)


def refused(data: dict, company: Company | None = None) -> dict[str, list[str]]:
    before = count(Company)
    with pytest.raises(ValidationError) as error:
        save_company(company, data)
    db.session.rollback()
    assert count(Company) == before
    assert error.value.status_code == 422
    return error.value.fields


def test_a_public_buyer_with_every_field(app):
    company = create(COLOMIERS)
    assert (company.name, company.siret, company.naf_code, company.headcount_band) == (
        "Mairie de Colomiers", COLOMIERS_SIRET, "8411Z", "250+")
    assert (company.is_public_buyer, company.chorus_service_code, company.engagement_required) == (
        True, "SERV-FORMATION", True)
    assert company.full_address == "1 place Alex Raymond, 31770 Colomiers"
    assert format_siret(company.siret) == "213 101 496 00015"


def test_the_eleven_opcos():
    assert len(OPCOS) == 11
    assert {"AFDAS", "AKTO", "ATLAS", "Constructys", "OCAPIAT", "OPCO 2i", "OPCO Commerce", "OPCO EP",
            "OPCO Mobilités", "OPCO Santé"} < set(OPCOS)


@pytest.mark.parametrize("opco", OPCOS)
def test_every_opco_is_accepted(app, opco):
    assert create({"name": "Entreprise", "opco": opco}).opco == opco


@pytest.mark.parametrize("siret, message", [
    (BAD_SIRET, "Ce SIRET n'est pas valide (clé de contrôle incorrecte)."),
    ("4430618410002", "Le SIRET doit comporter 14 chiffres."),
    ("443061841000211", "Le SIRET doit comporter 14 chiffres."),
    ("4430618410002A", "Le SIRET ne doit contenir que des chiffres."),
    ("SIRET inconnu", "Le SIRET ne doit contenir que des chiffres."),
])
def test_a_wrong_siret_is_refused_in_french(app, siret, message):
    assert refused({"name": "Dupont", "siret": siret}) == {"siret": [message]}


@pytest.mark.parametrize("naf, stored", [("7111Z", "7111Z"), ("71.11Z", "7111Z"), ("71.11z", "7111Z"),
                                         (" 7112B ", "7112B"), ("", "")])
def test_naf_codes(app, naf, stored):
    assert create({"name": "Dupont", "naf_code": naf}).naf_code == stored


@pytest.mark.parametrize("naf", ["7111", "711Z", "71111Z", "ABCDE", "71-11Z", "7111ZZ"])
def test_a_wrong_naf_code_is_refused(app, naf):
    assert refused({"name": "Dupont", "naf_code": naf}) == {"naf_code": ["Le code NAF s'écrit comme 7111Z ou 71.11Z."]}


@pytest.mark.parametrize("over, fields", [
    ({"name": ""}, {"name": ["La raison sociale est obligatoire."]}),
    ({"name": "N" * 201}, {"name": ["Ce champ ne doit pas dépasser 200 caractères."]}),
    ({"city": "C" * 121}, {"city": ["Ce champ ne doit pas dépasser 120 caractères."]}),
    ({"postal_code": "3" * 11}, {"postal_code": ["Ce champ ne doit pas dépasser 10 caractères."]}),
    ({"address": "A" * 256}, {"address": ["Ce champ ne doit pas dépasser 255 caractères."]}),
    ({"chorus_service_code": "S" * 101}, {"chorus_service_code": ["Ce champ ne doit pas dépasser 100 caractères."]}),
    ({"opco": "OPCA PL"}, {"opco": ["OPCO inconnu : choisissez-le dans la liste des onze OPCO."]}),
    ({"headcount_band": "1000+"}, {"headcount_band": ["Tranche d'effectif inconnue."]}),
    ({"siret": ""}, {"siret": ["Un acheteur public est identifié par son SIRET dans Chorus Pro."]}),
])
def test_bad_company_input_is_refused(app, over, fields):
    assert refused({**COLOMIERS, **over}) == fields


def test_engagement_number_is_a_public_buyer_matter(app):
    company = create({"name": "Dupont", "is_public_buyer": False, "engagement_required": True})
    assert company.engagement_required is False
    assert company.siret is None  # a private company may have no SIRET recorded


def test_one_company_per_siret(world):
    with pytest.raises(ConflictError) as error:
        save_company(None, {"name": "Autre Dupont", "siret": "443 061 841 00021"})
    db.session.rollback()
    assert error.value.status_code == 409
    assert error.value.fields == {"siret": ["Ce SIRET est déjà celui de l'entreprise « Cabinet d'architecture Dupont »."]}
    assert count(Company) == 1
    other = create({"name": "Autre", "siret": OTHER_SIRET})
    with pytest.raises(ConflictError):
        save_company(other, {"name": "Autre", "siret": DUPONT_SIRET})
    db.session.rollback()
    assert fresh(Company, other.id).siret == OTHER_SIRET
    # Companies without a SIRET do not clash.
    create({"name": "Sans SIRET 1"})
    create({"name": "Sans SIRET 2"})
    # Saving a company with its own SIRET is fine.
    save_company(fresh(Company, world.company.id), {"name": "Dupont & associés", "siret": DUPONT_SIRET})
    db.session.commit()
    assert fresh(Company, world.company.id).name == "Dupont & associés"


def test_find_or_create_by_siret_then_by_exact_name(world):
    assert find_or_create_company({"name": "Nom différent", "siret": "443 061 841 00021"}).id == world.company.id
    assert find_or_create_company({"name": "", "siret": DUPONT_SIRET}).id == world.company.id
    assert find_or_create_company({"name": "CABINET D'ARCHITECTURE DUPONT"}).id == world.company.id
    assert find_or_create_company({"name": "  Cabinet d'architecture Dupont "}).id == world.company.id
    new = find_or_create_company({"name": "Cabinet d'architecture Dupont", "siret": OTHER_SIRET})
    db.session.flush()
    assert new.id != world.company.id and new.siret == OTHER_SIRET
    other = find_or_create_company({"name": "Cabinet Dupont"})  # not the exact name: a new company
    db.session.flush()
    assert other.id not in (world.company.id, new.id)
    db.session.commit()
    assert count(Company) == 3


def test_find_or_create_checks_the_input(world):
    with pytest.raises(ValidationError) as error:
        find_or_create_company({"name": "X", "siret": BAD_SIRET}, prefix="company.")
    db.session.rollback()
    assert error.value.fields == {"company.siret": ["Ce SIRET n'est pas valide (clé de contrôle incorrecte)."]}
    with pytest.raises(ValidationError) as error:
        find_or_create_company({"name": "", "siret": OTHER_SIRET}, prefix="company.")
    db.session.rollback()
    assert error.value.fields == {"company.name": ["La raison sociale est obligatoire."]}
    assert count(Company) == 1


# --------------------------------------------------------------------------- contacts


def test_contacts_with_roles(world):
    assert set(CONTACT_ROLES) == {"signatory", "hr", "accounting", "other"}
    company = world.company
    signatory = save_contact(company, None, {"role": "signatory", "name": "Anne Dupont", "job_title": "Gérante",
                                             "email": "Anne@Dupont.Example", "phone": "05 61"})
    save_contact(company, None, {"role": "hr", "name": "Rémi RH", "email": "rh@dupont.example"})
    save_contact(company, None, {"role": "accounting", "name": "Compta", "email": "compta@dupont.example"})
    db.session.commit()
    company = fresh(Company, company.id)
    assert [(c.role, c.role_label) for c in company.contacts] == [
        ("signatory", "Signataire"), ("hr", "Ressources humaines / formation"), ("accounting", "Comptabilité")]
    assert company.contacts[0].email == "anne@dupont.example"
    assert company.contact("hr", "signatory").name == "Rémi RH"
    assert company.contact("other", "accounting").name == "Compta"
    delete_contact(fresh(CompanyContact, signatory.id))
    db.session.commit()
    assert [c.name for c in fresh(Company, company.id).contacts] == ["Rémi RH", "Compta"]


@pytest.mark.parametrize("data, fields", [
    ({"role": "hr", "name": ""}, {"name": ["Le nom du contact est obligatoire."]}),
    ({"role": "boss", "name": "X"}, {"role": ["Rôle inconnu."]}),
    ({"role": "hr", "name": "X", "email": "pas-une-adresse"}, {"email": ["Cette adresse e-mail n'est pas valide."]}),
])
def test_bad_contact_input_is_refused(world, data, fields):
    with pytest.raises(ValidationError) as error:
        save_contact(world.company, None, data)
    db.session.rollback()
    assert error.value.fields == fields
    assert count(CompanyContact) == 0
