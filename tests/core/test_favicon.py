"""The favicon: static/favicon.svg linked from every page's <head>, and /favicon.ico (which browsers ask for on
their own) answered with a real icon rather than a 404."""
from __future__ import annotations

import pathlib
import re

import pytest

from tests.helpers import login

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_favicon_ico_is_a_real_icon_that_caches(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.mimetype == "image/vnd.microsoft.icon"
    assert response.data[:4] == b"\x00\x00\x01\x00"  # ICO header: reserved 0, type 1 (icon)
    assert "no-store" not in response.headers.get("Cache-Control", "")
    assert client.post("/favicon.ico").status_code == 405


def test_the_svg_favicon_is_served(client):
    response = client.get("/static/favicon.svg")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert response.data.lstrip().startswith(b"<svg") and b"viewBox" in response.data


@pytest.mark.parametrize("path, status", [
    ("/login", 200),  # the staff login
    ("/catalogue/", 200),  # public pages
    ("/reclamation", 200),
    ("/page-qui-n-existe-pas", 404),  # error pages
    ("/t/lien-faux", 403),  # a trainee's personal pages (a forged link still gets a full page)
    ("/signature/lien-faux", 403),  # the signing pages
    ("/entreprise/lien-faux", 403),  # the company space
    ("/formateur/lien-faux/indisponibilites", 403),  # the trainer space
])
def test_every_kind_of_page_links_the_favicon(client, path, status):
    response = client.get(path)
    assert response.status_code == status, path
    html = response.get_data(as_text=True)
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in html, path
    assert 'href="/favicon.ico"' in html, path


def test_staff_pages_link_it_too(client, users):
    login(client, "conseil@test.example")
    assert 'href="/static/favicon.svg"' in client.get("/").get_data(as_text=True)


def test_no_template_has_a_head_of_its_own_without_the_favicon():
    """A standalone page (its own <head>, not extending base.html) must link the favicon as well."""
    for path in (ROOT / "templates").rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        if re.search(r"<head[ >]", text) and path.relative_to(ROOT / "templates").parts[0] != "mail":
            assert "favicon.svg" in text, path
