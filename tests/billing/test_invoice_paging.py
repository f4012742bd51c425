"""The invoices list a page at a time (issue 22, point 3): 50 pieces a page, drafts first then the latest issued,
the filters kept by the pager, the totals of the whole selection on every page, a bad page number refused in
French (400), and the same SQL statements for a page whatever the history holds."""
from __future__ import annotations

import datetime as dt
import html
import re
from decimal import Decimal

import pytest

from trainingmgr.extensions import db

from tests.catalogue.pagetools import page_of
from tests.dashboard.support import piece
from tests.helpers import page


def issued(count: int, year: int = 2030, status: str = "issued") -> list:
    """``count`` pieces of 10,00 € HT issued on successive days of ``year`` (their numbers grow with the date)."""
    made = [piece("invoice", dt.date(year, 1, 1) + dt.timedelta(days=n), "10.00", status=status)
            for n in range(count)]
    db.session.commit()
    return made


def shown(response) -> list[int]:
    return [int(n) for n in re.findall(r'data-invoice="(\d+)"', response.get_data(as_text=True))]


def test_fifty_pieces_a_page_drafts_first_then_the_latest(advisor, world):
    pieces = issued(110)
    drafts = issued(2, status="draft")
    first = advisor.get("/billing/")
    assert shown(first) == [d.id for d in reversed(drafts)] + [p.id for p in reversed(pieces)][:48]
    assert "Page 1 sur 3 (112 pièces)" in page(first)
    assert shown(advisor.get("/billing/?page=3")) == [p.id for p in reversed(pieces)][98:]
    assert shown(advisor.get("/billing/?page=4")) == []


def test_the_pager_keeps_the_filters_and_the_totals_cover_the_whole_selection(advisor, world):
    issued(60, year=2030)
    issued(5, year=2029)
    response = advisor.get("/billing/?year=2030&status=issued")
    totals = page_of(response).find(data_field="issued-totals")
    assert Decimal(totals.attrs["data-net"]) == Decimal("600.00")  # all 60, not the 50 shown
    following = html.unescape(re.search(r'href="([^"]+)">Suivante', response.get_data(as_text=True)).group(1))
    assert "year=2030" in following and "status=issued" in following and "page=2" in following
    assert len(shown(advisor.get(following))) == 10


@pytest.mark.parametrize("raw", ["0", "x", "100001"])
def test_a_bad_page_number_is_refused_in_french(advisor, world, raw):
    response = advisor.get("/billing/", query_string={"page": raw})
    assert response.status_code == 400 and "Numéro de page invalide" in page(response)


def test_a_page_costs_the_same_statements_whatever_the_history(advisor, world, count_queries):
    issued(5)
    advisor.get("/billing/")
    with count_queries() as small:
        assert advisor.get("/billing/").status_code == 200
    issued(300, year=2031)
    advisor.get("/billing/")  # the commit expired the logged-in user: reloading it is not the page's cost
    with count_queries() as large:
        assert len(shown(advisor.get("/billing/"))) == 50
    assert large.count == small.count
