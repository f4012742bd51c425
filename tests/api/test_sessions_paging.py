"""GET /api/v1/sessions a page at a time: « page » and « per_page », the bare list of the page's sessions, the
X-Total-Count and Link headers, the filters kept across pages, bad input refused in French, and SQL statements
that do not grow with the number of sessions."""
from __future__ import annotations

import datetime as dt
import re

import pytest

from tests.api.support import API, CHORUS, INVALID, assert_error, set_status
from tests.helpers import MONDAY


def weekly(make_session, count: int, *, first: int = 0) -> list:
    """``count`` open sessions a week apart (no trainer or room taken twice), in the list's order."""
    sessions = [make_session(start=MONDAY + dt.timedelta(weeks=first + n)) for n in range(count)]
    for session in sessions:
        set_status(session, "open")
    return sessions


def links(response) -> dict[str, str]:
    """The Link header as {rel: url}."""
    found = re.findall(r'<([^>]+)>; rel="(\w+)"', response.headers.get("Link", ""))
    return {rel: url for url, rel in found}


def ids(response) -> list[int]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return [s["id"] for s in response.get_json()]


@pytest.mark.parametrize("who", ["public", "staff"])
def test_pages_cover_the_list_once_in_order_with_total_and_links(client, world, make_session, staff, who):
    sessions = weekly(make_session, 5)
    headers = staff if who == "staff" else {}
    first = client.get(f"{API}/sessions?per_page=2&course={CHORUS}", headers=headers)
    assert ids(first) == [s.id for s in sessions[:2]]
    assert first.headers["X-Total-Count"] == "5"
    assert set(links(first)) == {"next"}
    seen, response = ids(first), first
    while "next" in links(response):
        url = links(response)["next"]
        assert "course=chorus-pro" in url and "per_page=2" in url  # the filter and the size follow the pages
        response = client.get(url, headers=headers)
        seen += ids(response)
    assert seen == [s.id for s in sessions]
    assert response.request.args["page"] == "3" and set(links(response)) == {"prev"}
    assert client.get(links(response)["prev"], headers=headers).request.args["page"] == "2"


def test_default_page_is_the_first_fifty_and_a_page_past_the_end_is_empty(client, world, make_session):
    sessions = weekly(make_session, 3)
    response = client.get(f"{API}/sessions")
    assert ids(response) == [s.id for s in sessions]
    assert response.headers["X-Total-Count"] == "3" and "Link" not in response.headers
    beyond = client.get(f"{API}/sessions?page=9&per_page=2")
    assert ids(beyond) == [] and beyond.headers["X-Total-Count"] == "3"
    assert links(beyond) == {"prev": links(beyond)["prev"]} and "page=2" in links(beyond)["prev"]  # the last page


def test_filters_count_and_page_together(client, world, make_session, staff):
    sessions = weekly(make_session, 4)
    draft = make_session(start=MONDAY + dt.timedelta(weeks=9))
    later = (MONDAY + dt.timedelta(weeks=1)).isoformat()
    response = client.get(f"{API}/sessions?from={later}&per_page=2&page=2")
    assert ids(response) == [sessions[3].id] and response.headers["X-Total-Count"] == "3"
    response = client.get(f"{API}/sessions?status=draft&per_page=1", headers=staff)
    assert ids(response) == [draft.id] and response.headers["X-Total-Count"] == "1"
    unknown = client.get(f"{API}/sessions?course=inconnue&page=2")
    assert ids(unknown) == [] and unknown.headers["X-Total-Count"] == "0"


@pytest.mark.parametrize("query, field", [
    ("page=0", "page"), ("page=-1", "page"), ("page=abc", "page"), ("page=1.5", "page"), ("page=100001", "page"),
    ("per_page=0", "per_page"), ("per_page=201", "per_page"), ("per_page=dix", "per_page"),
])
def test_bad_page_or_size_is_refused_in_french(client, world, query, field):
    error = assert_error(client.get(f"{API}/sessions?{query}"), 422, "validation_error", INVALID)
    assert list(error["fields"]) == [field]
    message = error["fields"][field][0]
    assert message.startswith(("Numéro de page invalide", "Taille de page invalide", "Nombre entier attendu")), message


def test_the_largest_page_is_accepted(client, world, make_session):
    weekly(make_session, 2)
    assert len(ids(client.get(f"{API}/sessions?per_page=200"))) == 2


@pytest.mark.parametrize("who", ["public", "staff"])
def test_statements_do_not_grow_with_the_sessions(client, world, make_session, staff, count_queries, who):
    headers = staff if who == "staff" else {}

    def statements() -> tuple[int, int]:
        client.get(f"{API}/sessions?per_page=4", headers=headers)  # warm
        with count_queries() as counter:
            response = client.get(f"{API}/sessions?per_page=4", headers=headers)
        assert response.status_code == 200
        return counter.count, len(response.get_json())

    weekly(make_session, 2)
    few, rows = statements()
    assert rows == 2
    weekly(make_session, 10, first=2)
    many, rows = statements()
    assert rows == 4
    assert many == few, (few, many)
    assert statements()[0] == many
