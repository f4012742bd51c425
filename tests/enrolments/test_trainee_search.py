"""The enrolment form finds a known trainee by a search instead of a <select> of every trainee (issue 22, point 3):
suggestions from /trainees/search.json (staff only, at most 20, by name, e-mail or company, in constant SQL), and
without JavaScript the field takes the trainee's e-mail, or a search answered with the matches to choose from."""
from __future__ import annotations

import pytest
from sqlalchemy import insert, select

from trainingmgr.companies.models import Company
from trainingmgr.enrolments.models import Enrolment
from trainingmgr.extensions import db
from trainingmgr.trainees.models import Trainee

from tests.catalogue.pagetools import page_of
from tests.enrolments.support import assert_refused, count, statuses
from tests.helpers import page


def add_trainees(count_: int, start: int = 0, company: str | None = None) -> None:
    company_id = None
    if company:
        company_id = db.session.execute(insert(Company).values(name=company, siret=None)
                                        .returning(Company.id)).scalar_one()
    db.session.execute(insert(Trainee), [
        {"first_name": "Prénom", "last_name": f"Stagiaire {n:04d}", "email": f"s{n:04d}@exemple.fr",
         "company_id": company_id} for n in range(start, start + count_)])
    db.session.commit()


def suggestions(client, q: str) -> list[str]:
    response = client.get("/trainees/search.json", query_string={"q": q})
    assert response.status_code == 200
    return [t["label"] for t in response.get_json()["trainees"]]


def search_form(**over) -> dict:
    data = {"trainee_search": "", "civility": "", "first_name": "", "last_name": "", "email": "", "phone": "",
            "job_title": "", "bpf_status": "employee", "company_search": ""}
    data.update(over)
    return data


def test_suggestions_by_name_email_or_company_at_most_twenty(advisor, world):
    add_trainees(30)
    add_trainees(2, start=500, company="Boulangerie Garonne")
    assert suggestions(advisor, "stagiaire 001") == [f"Stagiaire {n:04d} Prénom <s{n:04d}@exemple.fr>"
                                                     for n in (1, *range(10, 20))]  # every word, in any field
    assert len(suggestions(advisor, "stagiaire")) == 20
    assert suggestions(advisor, "S0005@EXEMPLE.FR") == ["Stagiaire 0005 Prénom <s0005@exemple.fr>"]
    assert suggestions(advisor, "garonne") == ["Stagiaire 0500 Prénom <s0500@exemple.fr>",
                                               "Stagiaire 0501 Prénom <s0501@exemple.fr>"]
    assert suggestions(advisor, "0501 boulangerie") == ["Stagiaire 0501 Prénom <s0501@exemple.fr>"]
    found = advisor.get("/trainees/search.json?q=garonne").get_json()["trainees"][0]
    assert (found["email"], found["company"]) == ("s0500@exemple.fr", "Boulangerie Garonne")
    assert suggestions(advisor, "") == [] and suggestions(advisor, "zzz") == []
    assert suggestions(advisor, "100%") == []  # "%" looked for as it is


def test_suggestions_are_the_staffs(trainer, client, world):
    assert trainer.get("/trainees/search.json?q=a").status_code == 403
    assert client.get("/trainees/search.json?q=a").status_code in (302, 401)


def test_suggestions_cost_the_same_statements_whatever_the_table_holds(advisor, world, count_queries):
    add_trainees(20, company="Entreprise A")
    advisor.get("/trainees/search.json?q=stagiaire")
    with count_queries() as small:
        assert len(suggestions(advisor, "stagiaire")) == 20
    add_trainees(300, start=20, company="Entreprise B")
    advisor.get("/trainees/search.json?q=stagiaire")
    with count_queries() as large:
        assert len(suggestions(advisor, "stagiaire")) == 20
    assert large.count == small.count


def test_the_form_no_longer_lists_every_trainee(advisor, world, dume_session):
    add_trainees(600)
    body = page(advisor.get(f"/sessions/{dume_session.id}/enrolments/new"))
    assert "Stagiaire 0000" not in body and "Stagiaire 0599" not in body
    tree = page_of(advisor.get(f"/sessions/{dume_session.id}/enrolments/new"))
    assert tree.find("select", id="trainee_id") is None and tree.find("input", id="trainee_search") is not None


@pytest.mark.parametrize("typed", ["s0007@exemple.fr", " S0007@Exemple.FR ",
                                   "Stagiaire 0007 Prénom <s0007@exemple.fr>"])
def test_the_trainee_typed_by_email_or_chosen_among_the_suggestions_is_enrolled(advisor, world, dume_session,
                                                                                typed):
    add_trainees(10)
    response = advisor.post(f"/sessions/{dume_session.id}/enrolments/new", data=search_form(trainee_search=typed))
    assert response.status_code == 302, page(response)[:3000]
    assert statuses(dume_session) == [("s0007@exemple.fr", "confirmed", None)]
    assert count(Trainee) == 10


def test_without_javascript_a_search_answers_with_the_matches_to_choose_from(advisor, world, dume_session):
    add_trainees(10)
    add_trainees(3, start=100, company="Menuiserie Occitane")
    url = f"/sessions/{dume_session.id}/enrolments/new"
    response = advisor.post(url, data=search_form(trainee_search="menuiserie"))
    assert_refused(response, 422, fields={
        "trainee_search": "3 stagiaires correspondent à « menuiserie » : choisissez-le ci-dessous."})
    radios = page_of(response).find(data_field="trainee-matches").find_all("input", name="trainee_id")
    chosen = db.session.scalar(select(Trainee).where(Trainee.email == "s0101@exemple.fr"))
    assert [r.attrs["value"] for r in radios][1] == str(chosen.id)
    assert "Stagiaire 0101 Prénom <s0101@exemple.fr> — Menuiserie Occitane" in page(response)
    response = advisor.post(url, data=search_form(trainee_search="menuiserie", trainee_id=str(chosen.id)))
    assert response.status_code == 302, page(response)[:3000]
    assert statuses(dume_session) == [("s0101@exemple.fr", "confirmed", None)]


def test_a_search_that_finds_nobody_or_too_many_says_so(advisor, world, dume_session):
    add_trainees(25)
    url = f"/sessions/{dume_session.id}/enrolments/new"
    assert_refused(advisor.post(url, data=search_form(trainee_search="inconnu@exemple.fr")), 422, fields={
        "trainee_search": "Aucun stagiaire ne correspond à « inconnu@exemple.fr » : vérifiez la saisie, ou "
                          "décrivez un nouveau stagiaire ci-dessous."})
    response = advisor.post(url, data=search_form(trainee_search="stagiaire"))
    assert_refused(response, 422, fields={"trainee_search": "Au moins 20 stagiaires correspondent à « stagiaire » : "
                                                            "choisissez-le ci-dessous ou précisez la recherche."})
    assert len(page_of(response).find(data_field="trainee-matches").find_all("input", name="trainee_id")) == 20
    assert count(Enrolment) == 0 and count(Trainee) == 25
