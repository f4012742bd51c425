"""The trainees and companies lists a page at a time (issue 22, point 3, first lists): 50 rows a page in name
order, the search kept from page to page, a bad page number refused in French (400), a page past the end empty,
and the same number of SQL statements for a page whatever the table holds (the companies of the trainees are
loaded together, not one per row)."""
from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import insert

from trainingmgr.companies.models import Company
from trainingmgr.extensions import db
from trainingmgr.trainees.models import Trainee

from tests.catalogue.pagetools import field_text, page_of
from tests.helpers import page


def add_trainees(count: int, start: int = 0, company_of=None) -> None:
    """``count`` trainees in bulk (names sort as their number), each with its own company when asked."""
    rows = []
    for n in range(start, start + count):
        company_id = None
        if company_of:
            company_id = db.session.execute(insert(Company).values(name=f"Entreprise {n:04d}", siret=None)
                                            .returning(Company.id)).scalar_one()
        rows.append({"first_name": "Prénom", "last_name": f"Stagiaire {n:04d}", "email": f"s{n:04d}@exemple.fr",
                     "company_id": company_id})
    db.session.execute(insert(Trainee), rows)
    db.session.commit()


def names(response) -> list[str]:
    return re.findall(r"Stagiaire \d{4}", page(response))


def test_trainees_come_fifty_a_page_in_name_order(advisor, world):
    add_trainees(120)
    first = advisor.get("/trainees/")
    assert first.status_code == 200
    assert names(first) == [f"Stagiaire {n:04d}" for n in range(50)]
    assert "Page 1 sur 3 (120 stagiaires)" in page(first)
    assert names(advisor.get("/trainees/?page=3")) == [f"Stagiaire {n:04d}" for n in range(100, 120)]
    assert names(advisor.get("/trainees/?page=9")) == []  # past the end: empty, not an error
    assert "Aucun stagiaire." in page(advisor.get("/trainees/?page=9"))


def test_the_search_is_kept_from_page_to_page(advisor, world):
    add_trainees(60)
    add_trainees(5, start=1000)  # Stagiaire 1000…1004: "stagiaire 10" matches 1000-1004 and nothing of 0-59
    response = advisor.get("/trainees/?q=s00")  # s0000…s0059 by e-mail
    assert "60 stagiaires trouvés pour « s00 »" in field_text(page_of(response), "total")
    following = html.unescape(re.search(r'href="([^"]+)">Suivante', response.get_data(as_text=True)).group(1))
    assert "q=s00" in following and "page=2" in following
    assert names(advisor.get(following)) == [f"Stagiaire {n:04d}" for n in range(50, 60)]
    assert names(advisor.get("/trainees/?q=Stagiaire 100")) == [f"Stagiaire {n}" for n in range(1000, 1005)]


@pytest.mark.parametrize("raw", ["0", "-1", "abc", "2.5", "100001", "9" * 30])
def test_a_bad_page_number_is_refused_in_french(advisor, world, raw):
    for url in ("/trainees/", "/companies/"):
        response = advisor.get(url, query_string={"page": raw})
        assert response.status_code == 400 and "Numéro de page invalide" in page(response)


def test_a_page_costs_the_same_statements_whatever_the_table_holds(advisor, world, count_queries):
    add_trainees(10, company_of=True)
    advisor.get("/trainees/")  # warm up (login, caches)
    with count_queries() as small:
        assert advisor.get("/trainees/").status_code == 200
    add_trainees(200, start=10, company_of=True)
    advisor.get("/trainees/")  # the commit above expired the logged-in user: reloading it is not the page's cost
    with count_queries() as large:
        body = page(advisor.get("/trainees/"))
    assert "Entreprise 0000" in body and "Entreprise 0049" in body
    assert large.count == small.count


def test_companies_come_fifty_a_page_with_their_search(advisor, world):
    db.session.execute(insert(Company), [{"name": f"Société {n:03d}", "siret": None} for n in range(75)])
    db.session.commit()
    body = page(advisor.get("/companies/"))
    assert "Page 1 sur 2 (76 entreprises)" in body  # with the world's Cabinet d'architecture Dupont
    assert "Cabinet d'architecture Dupont" in body and "Société 048" in body and "Société 049" not in body
    assert "Société 074" in page(advisor.get("/companies/?page=2"))
    response = advisor.get("/companies/?q=société 07")
    assert "5 entreprises trouvées pour « société 07 »" in field_text(page_of(response), "total")
    assert re.findall(r"Société \d{3}", page(response)) == [f"Société {n:03d}" for n in range(70, 75)]
    assert "Cabinet d'architecture Dupont" in page(advisor.get("/companies/?q=44306184100021"))
    assert "Aucune entreprise pour cette recherche." in page(advisor.get("/companies/?q=zzz"))


def test_the_lists_are_the_staffs(trainer, client, world):
    for url in ("/trainees/", "/companies/"):
        assert trainer.get(url).status_code == 403
        assert client.get(url).status_code in (302, 401)


def test_a_search_page_reads_the_table_once_whatever_it_holds(advisor, world, count_queries):
    """Issue 22: a search no index serves counts its total with its rows (one statement, then their companies)."""
    add_trainees(20, company_of=True)
    advisor.get("/trainees/?q=stagiaire")
    with count_queries() as small:
        assert "20 stagiaires trouvés" in page(advisor.get("/trainees/?q=stagiaire"))
    add_trainees(200, start=20, company_of=True)
    advisor.get("/trainees/?q=stagiaire")
    with count_queries() as large:
        body = page(advisor.get("/trainees/?q=stagiaire&page=2"))
    assert "220 stagiaires trouvés" in body and "Stagiaire 0050" in body and "Entreprise 0099" in body
    assert large.count == small.count
    assert "Aucun stagiaire" in page(advisor.get("/trainees/?q=stagiaire&page=9"))  # past the end: counted apart
