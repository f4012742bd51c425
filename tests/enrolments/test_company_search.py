"""The enrolment form names the company by a search instead of a <select> of every company (issue 22, point 3):
suggestions from /companies/search.json (staff only, at most 20, by name, SIRET or city, in constant SQL), a field
that reads back « Nom (SIRET) », a SIRET or an exact name, and without JavaScript a search answered with the
matches to choose from. Left blank, the enrolment takes the trainee's company, as before."""
from __future__ import annotations

import pytest
from sqlalchemy import insert, select

from trainingmgr.companies.models import Company
from trainingmgr.enrolments.models import Enrolment
from trainingmgr.extensions import db
from trainingmgr.trainees.models import Trainee

from tests.catalogue.pagetools import page_of
from tests.enrolments.support import DUPONT_SIRET, OTHER_SIRET, assert_refused, count
from tests.helpers import page

DUPONT = f"Cabinet d'architecture Dupont ({DUPONT_SIRET})"  # world.company's label


def add_companies(count_: int, start: int = 0, name: str = "Entreprise", city: str = "Albi") -> list[int]:
    return list(db.session.scalars(insert(Company).returning(Company.id), [
        {"name": f"{name} {n:04d}", "siret": None, "city": city} for n in range(start, start + count_)]))


def suggestions(client, q: str) -> list[str]:
    response = client.get("/companies/search.json", query_string={"q": q})
    assert response.status_code == 200
    return [c["label"] for c in response.get_json()["companies"]]


def new_form(**over) -> dict:
    data = {"trainee_search": "", "civility": "M.", "first_name": "Jean", "last_name": "Durand",
            "email": "jean.durand@exemple.fr", "phone": "", "job_title": "", "bpf_status": "employee",
            "company_search": ""}
    data.update(over)
    return data


def enrolled() -> tuple[int | None, int | None]:
    """(the enrolment's company, its trainee's company) of the only enrolment."""
    db.session.expire_all()
    (enrolment,) = db.session.scalars(select(Enrolment)).all()
    return enrolment.company_id, enrolment.trainee.company_id


def test_suggestions_by_name_siret_or_city_at_most_twenty(advisor, world):
    ids = add_companies(30)
    add_companies(1, start=900, name="Menuiserie", city="Castres")
    db.session.commit()
    assert suggestions(advisor, "entreprise 001") == [f"Entreprise {n:04d} (fiche n° {ids[n]})"
                                                      for n in (1, *range(10, 20))]  # every word
    assert len(suggestions(advisor, "entreprise")) == 20 and len(suggestions(advisor, "albi")) == 20
    assert suggestions(advisor, "castres") == [f"Menuiserie 0900 (fiche n° {ids[-1] + 1})"]
    assert suggestions(advisor, "ARCHITECTURE") == [DUPONT]
    assert suggestions(advisor, "443061") == [DUPONT] and suggestions(advisor, "100021 dupont") == [DUPONT]
    found = advisor.get("/companies/search.json?q=dupont").get_json()["companies"]
    assert found == [{"id": world.company.id, "label": DUPONT, "name": "Cabinet d'architecture Dupont",
                      "siret": DUPONT_SIRET, "city": ""}]
    assert suggestions(advisor, "") == [] and suggestions(advisor, "   ") == [] and suggestions(advisor, "zzz") == []
    assert suggestions(advisor, "100%") == []  # "%" looked for as it is


def test_suggestions_are_the_staffs(trainer, client, world):
    assert trainer.get("/companies/search.json?q=a").status_code == 403
    assert client.get("/companies/search.json?q=a").status_code in (302, 401)


def test_suggestions_cost_two_statements_whatever_the_table_holds(advisor, world, count_queries):
    add_companies(20)
    db.session.commit()
    advisor.get("/companies/search.json?q=entreprise")
    with count_queries() as small:
        assert len(suggestions(advisor, "entreprise")) == 20
    add_companies(400, start=20)
    db.session.commit()
    advisor.get("/companies/search.json?q=entreprise")
    with count_queries() as large:
        assert len(suggestions(advisor, "entreprise")) == 20
    assert large.count == small.count <= 2, (small.count, large.count)


def test_the_form_no_longer_lists_every_company(advisor, world, dume_session):
    add_companies(400)
    db.session.commit()
    response = advisor.get(f"/sessions/{dume_session.id}/enrolments/new")
    assert "Entreprise 0000" not in page(response) and "Entreprise 0399" not in page(response)
    tree = page_of(response)
    assert tree.find("select", id="company_id") is None
    field = tree.find("input", id="company_search")
    assert field.attrs["list"] == "company-suggestions" and field.attrs.get("value", "") == ""
    url = tree.find("datalist", id="company-suggestions").attrs["data-url"]
    assert [c["label"] for c in advisor.get(url, query_string={"q": "dupont"}).get_json()["companies"]] == [DUPONT]


@pytest.mark.parametrize("typed", [DUPONT, f"  {DUPONT}  ", DUPONT_SIRET, "443 061 841 00021",
                                   "cabinet d'architecture DUPONT"])
def test_the_company_chosen_typed_by_siret_or_exact_name_is_the_new_trainees_and_the_enrolments(
        advisor, world, dume_session, typed):
    response = advisor.post(f"/sessions/{dume_session.id}/enrolments/new", data=new_form(company_search=typed))
    assert response.status_code == 302, page(response)[:3000]
    assert enrolled() == (world.company.id, world.company.id)


def test_a_company_without_siret_is_named_by_its_record(advisor, world, dume_session):
    (company_id,) = add_companies(1, name="Association")
    add_companies(1, start=1, name="Association")  # the same name but for the number
    db.session.commit()
    label = suggestions(advisor, "association 0000")[0]
    assert label == f"Association 0000 (fiche n° {company_id})"
    response = advisor.post(f"/sessions/{dume_session.id}/enrolments/new", data=new_form(company_search=label))
    assert response.status_code == 302, page(response)[:3000]
    assert enrolled() == (company_id, company_id)


def test_left_blank_the_enrolment_takes_the_trainees_company(advisor, world, dume_session, new_trainee):
    trainee = new_trainee(1, company_id=world.company.id)
    response = advisor.post(f"/sessions/{dume_session.id}/enrolments/new",
                            data=new_form(trainee_search=trainee.email, first_name="", email=""))
    assert response.status_code == 302, page(response)[:3000]
    assert enrolled() == (world.company.id, world.company.id)


def test_a_known_trainee_enrolled_for_another_company_keeps_their_own(advisor, world, dume_session, new_trainee):
    other = Company(name="Autre payeur", siret=OTHER_SIRET)
    db.session.add(other)
    trainee = new_trainee(1, company_id=world.company.id)
    response = advisor.post(f"/sessions/{dume_session.id}/enrolments/new",
                            data=new_form(trainee_search=trainee.email, company_search=OTHER_SIRET))
    assert response.status_code == 302, page(response)[:3000]
    assert enrolled() == (other.id, world.company.id)


@pytest.mark.parametrize("typed, message", [
    ("Inconnue SARL", "Aucune entreprise ne correspond à « Inconnue SARL » : vérifiez la saisie (nom, SIRET ou "
                      "ville), ou laissez le champ vide pour l'entreprise du stagiaire."),
    (f"Cabinet d'architecture Dupont ({OTHER_SIRET})", "Aucune entreprise ne correspond"),  # a SIRET of nobody
    ("Cabinet (fiche n° 999999)", "Aucune entreprise ne correspond"),
    (OTHER_SIRET, "Aucune entreprise ne correspond"),
    ("x" * 201, "Ce champ ne doit pas dépasser 200 caractères."),
    ('<script>alert("x")</script>', "Aucune entreprise ne correspond"),
    ("Zoé Ñandú – ß 中文 🎓", "Aucune entreprise ne correspond à « Zoé Ñandú – ß 中文 🎓 »"),
])
def test_an_unknown_company_is_refused_beside_the_field_and_nothing_is_lost(advisor, world, dume_session, typed,
                                                                            message):
    response = advisor.post(f"/sessions/{dume_session.id}/enrolments/new", data=new_form(company_search=typed))
    text = assert_refused(response, 422)
    tree = page_of(response)
    shown = tree.find("input", id="company_search")
    assert shown.attrs["value"] == typed and tree.find(data_field="company-matches") is None
    assert message in text and "<script>alert(" not in response.get_data(as_text=True)
    assert tree.find("input", id="first_name").attrs["value"] == "Jean"
    assert count(Enrolment) == 0 and count(Trainee) == 0


def test_without_javascript_a_search_answers_with_the_matches_to_choose_from(advisor, world, dume_session):
    ids = add_companies(2, name="Menuiserie", city="Castres")
    db.session.commit()
    url = f"/sessions/{dume_session.id}/enrolments/new"
    response = advisor.post(url, data=new_form(company_search="menuiserie"))
    assert_refused(response, 422, fields={
        "company_search": "2 entreprises correspondent à « menuiserie » : choisissez-la ci-dessous."})
    radios = page_of(response).find(data_field="company-matches").find_all("input", name="company_id")
    assert [r.attrs["value"] for r in radios] == [str(i) for i in ids]
    assert f"Menuiserie 0001 (fiche n° {ids[1]}) — Castres" in page(response)
    assert count(Enrolment) == 0 and count(Trainee) == 0
    response = advisor.post(url, data=new_form(company_search="menuiserie", company_id=str(ids[1])))
    assert response.status_code == 302, page(response)[:3000]
    assert enrolled() == (ids[1], ids[1])


def test_one_match_or_too_many_are_offered_too(advisor, world, dume_session):
    add_companies(25)
    db.session.commit()
    url = f"/sessions/{dume_session.id}/enrolments/new"
    response = advisor.post(url, data=new_form(company_search="dupont"))
    assert_refused(response, 422, fields={
        "company_search": "Une entreprise correspond à « dupont » : choisissez-la ci-dessous."})
    response = advisor.post(url, data=new_form(company_search="entreprise"))
    assert_refused(response, 422, fields={"company_search": "Au moins 20 entreprises correspondent à « entreprise » : "
                                                            "choisissez-la ci-dessous ou précisez la recherche."})
    assert len(page_of(response).find(data_field="company-matches").find_all("input", name="company_id")) == 20
    assert count(Enrolment) == 0


def test_an_unknown_company_offered_is_refused_beside_the_search(advisor, world, dume_session):
    response = advisor.post(f"/sessions/{dume_session.id}/enrolments/new",
                            data=new_form(company_search="dupont", company_id="999999"))
    assert_refused(response, 422, fields={"company_search": "Entreprise introuvable."})
    assert count(Enrolment) == 0
