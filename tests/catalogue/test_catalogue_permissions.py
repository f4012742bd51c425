"""Who may use the advisor's catalogue screens (/courses/...): advisors and admins; anonymous visitors are
sent to the login page, trainers are refused. The public catalogue is open to everybody."""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from trainingmgr.extensions import db

from tests.catalogue.coursedata import catalogue_counts, course_form_data
from tests.helpers import login


def get_urls(world) -> list[str]:
    c = world.chorus.id
    return ["/courses/", "/courses/new", f"/courses/{c}", f"/courses/{c}/versions/1", f"/courses/{c}/edit"]


def post_requests(world) -> list[tuple[str, dict]]:
    c = world.chorus.id
    return [
        ("/courses/new", course_form_data()),
        (f"/courses/{c}/edit", course_form_data(title="Piraté", slug="chorus-pro")),
        (f"/courses/{c}/status", {"status": "archived"}),
    ]


def state(world) -> tuple:
    db.session.expire_all()
    return catalogue_counts(), world.chorus.status, world.chorus.current_version.title


def test_anonymous_visitor_is_sent_to_the_login_page(client, world):
    for url in get_urls(world):
        response = client.get(url)
        assert response.status_code == 302, url
        target = urlsplit(response.headers["Location"])
        assert target.path == "/login", url
        assert parse_qs(target.query)["next"] == [url]


def test_anonymous_posts_change_nothing(client, world):
    before = state(world)
    for url, data in post_requests(world):
        response = client.post(url, data=data)
        assert response.status_code == 302, url
        assert urlsplit(response.headers["Location"]).path == "/login"
    assert state(world) == before


@pytest.mark.parametrize("email", ["formateur@test.example", "formateur2@test.example"])
def test_trainer_is_refused(client, world, email):
    login(client, email)
    before = state(world)
    for url in get_urls(world):
        response = client.get(url)
        assert response.status_code == 403, url
        assert "Accès refusé" in response.get_data(as_text=True)
    for url, data in post_requests(world):
        assert client.post(url, data=data).status_code == 403, url
    assert state(world) == before


def test_trainer_sees_no_link_to_the_courses(client, world):
    login(client, "formateur@test.example")
    assert 'href="/courses/"' not in client.get("/catalogue/").get_data(as_text=True)


@pytest.mark.parametrize("email", ["conseil@test.example", "admin@test.example"])
def test_advisor_and_admin_are_let_in(client, world, email):
    login(client, email)
    for url in get_urls(world):
        assert client.get(url).status_code == 200, url


def test_public_catalogue_needs_no_login(client, world, open_session):
    session = open_session()
    for url in ("/catalogue/", "/catalogue/chorus-pro", "/catalogue/chorus-pro/versions/1",
                f"/catalogue/chorus-pro/sessions/{session.id}.ics"):
        assert client.get(url).status_code == 200, url
