"""The quality registers a page at a time (issue 22, point 3): requests (complaints, difficulties, mediation) and
improvement actions, 50 a page newest first, their filters kept by the pager, a bad page number refused in French
(400), a page past the end empty, and the same SQL statements for a page whatever the registers hold."""
from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from sqlalchemy import insert

from trainingmgr.extensions import db
from trainingmgr.quality.models import ImprovementAction, QualityRequest

from tests.helpers import page

DAY = dt.date(2030, 1, 1)


def add_requests(count: int, start: int = 0, kind: str = "complaint") -> None:
    """``count`` requests received on successive days (the later, the higher their number), answered."""
    db.session.execute(insert(QualityRequest), [
        {"reference": f"REC-2030-{n:04d}", "kind": kind, "subject": f"Objet {n:04d}", "status": "closed",
         "received_at": dt.datetime.combine(DAY + dt.timedelta(days=n), dt.time(9), tzinfo=dt.timezone.utc),
         "acknowledge_due": DAY + dt.timedelta(days=n + 2), "answer_due": DAY + dt.timedelta(days=n + 15)}
        for n in range(start, start + count)])
    db.session.commit()


def add_actions(count: int, owner, status: str = "planned") -> None:
    db.session.execute(insert(ImprovementAction), [
        {"title": f"Action {n:04d}", "status": status, "owner_id": owner.id, "due_date": dt.date(2040, 1, 1),
         "source": "other"} for n in range(count)])
    db.session.commit()


def numbers(response, what: str) -> list[str]:
    assert response.status_code == 200, page(response)[:2000]
    return re.findall(rf"{what} (\d{{4}})", page(response))


def following(response) -> str:
    return html.unescape(re.search(r'href="([^"]+)">Suivante', response.get_data(as_text=True)).group(1))


def test_requests_come_fifty_a_page_newest_first_with_their_filters(advisor, world):
    add_requests(70)
    add_requests(5, start=500, kind="suggestion")
    assert numbers(advisor.get("/quality/requests/"), "Objet") == []  # the open ones by default: these are closed
    first = advisor.get("/quality/requests/?status=&kind=complaint")  # every status
    assert numbers(first, "Objet") == [f"{n:04d}" for n in range(69, 19, -1)]
    assert "Page 1 sur 2 (70 demandes)" in page(first)
    link = following(first)
    assert "kind=complaint" in link and "page=2" in link and "status=&" in link + "&"  # "every status" kept
    assert numbers(advisor.get(link), "Objet") == [f"{n:04d}" for n in range(19, -1, -1)]  # the last page
    assert numbers(advisor.get("/quality/requests/?status=&page=9"), "Objet") == []  # past the end: empty
    assert "Aucune demande." in page(advisor.get("/quality/requests/?status=&page=9"))


def test_actions_come_fifty_a_page_with_their_filters(advisor, world):
    add_actions(60, world.users["advisor"])
    add_actions(3, world.users["advisor"], status="done")
    first = advisor.get("/quality/actions/?status=planned")
    assert len(numbers(first, "Action")) == 50 and "Page 1 sur 2 (60 actions)" in page(first)
    link = following(first)
    assert "status=planned" in link and "page=2" in link
    assert len(numbers(advisor.get(link), "Action")) == 10
    assert numbers(advisor.get("/quality/actions/?page=3"), "Action") == []


@pytest.mark.parametrize("url", ["/quality/requests/", "/quality/actions/"])
@pytest.mark.parametrize("raw", ["0", "abc", "100001"])
def test_a_bad_page_number_is_refused_in_french(advisor, world, url, raw):
    response = advisor.get(url, query_string={"page": raw})
    assert response.status_code == 400 and "Numéro de page invalide" in page(response)


@pytest.mark.parametrize("url", ["/quality/requests/?status=", "/quality/actions/"])
def test_a_page_costs_the_same_statements_whatever_the_registers_hold(advisor, world, count_queries, url):
    add_requests(20)
    add_actions(20, world.users["advisor"])
    advisor.get(url)
    with count_queries() as small:
        assert advisor.get(url).status_code == 200
    add_requests(180, start=20)
    add_actions(180, world.users["advisor"])
    advisor.get(url)  # the commits above expired the logged-in user
    with count_queries() as large:
        assert advisor.get(url).status_code == 200
    assert large.count == small.count
