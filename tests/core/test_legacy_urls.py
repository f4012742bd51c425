"""The URLs before the back office was all in English and the public pages all in French (core/legacy_urls.py):
printed in e-mails and documents, each old path answers a 308 to today's (a POST stays a POST), query string kept."""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from werkzeug.routing import Map, Rule

from trainingmgr.core.legacy_urls import LEGACY_RULES

from tests.helpers import page

# one case (or more) per old prefix: method, old path, today's path
CASES = [
    ("GET", "/facturation/?status=issued&page=2", "/billing/?status=issued&page=2"),
    ("GET", "/facturation", "/billing/"),
    ("GET", "/facturation/impayes", "/billing/overdue"),
    ("GET", "/facturation/7/apercu.docx", "/billing/7/preview.docx"),
    ("GET", "/facturation/journal?du=2031-03-01&au=2031-03-31", "/billing/journal?du=2031-03-01&au=2031-03-31"),
    ("POST", "/facturation/7/emettre", "/billing/7/issue"),
    ("POST", "/facturation/7/paiements/3/annuler", "/billing/7/payments/3/cancel"),
    ("POST", "/sessions/4/facturation/proposer", "/sessions/4/billing/propose"),
    ("GET", "/sessions/4/facturation", "/sessions/4/billing"),
    ("GET", "/qualite/qualiopi?depuis=2026-01-01", "/quality/qualiopi?depuis=2026-01-01"),
    ("GET", "/qualite/actions/new?request_id=5", "/quality/actions/new?request_id=5"),
    ("POST", "/qualite/actions/export.xlsx", "/quality/actions/export.xlsx"),
    ("GET", "/qualite/demandes/", "/quality/requests/"),
    ("POST", "/qualite/demandes/5/transition", "/quality/requests/5/transition"),
    ("POST", "/signature/abc.def/sign", "/signature/abc.def/signer"),
    ("POST", "/signature/abc.def/refuse", "/signature/abc.def/refuser"),
    ("POST", "/emargement/qr/3/identify", "/emargement/qr/3/identifier"),
    ("POST", "/emargement/qr/3/not-me", "/emargement/qr/3/pas-moi"),
    ("GET", "/verify?code=ABCD-EFGH-JKMN", "/verification?code=ABCD-EFGH-JKMN"),
    ("GET", "/verify/ABCD-EFGH-JKMN", "/verification/ABCD-EFGH-JKMN"),
    ("GET", "/verify/ABCD-EFGH-JKMN/scellement.json", "/verification/ABCD-EFGH-JKMN/scellement.json"),
    ("POST", "/verify", "/verification"),
]


def _target(response) -> str:
    location = urlsplit(response.headers["Location"])
    return location.path + (f"?{location.query}" if location.query else "")


@pytest.mark.parametrize("method, old, new", CASES)
def test_an_old_url_is_sent_on_to_todays(client, method, old, new):
    response = client.open(old, method=method)
    assert response.status_code == 308
    assert _target(response) == new


def test_every_old_rule_names_a_served_endpoint_with_the_same_arguments(app):
    served: dict[str, list[set]] = {}
    for rule in app.url_map.iter_rules():
        served.setdefault(rule.endpoint, []).append(set(rule.arguments))
    old_rules = Map([Rule(old, endpoint=endpoint) for old, endpoint in LEGACY_RULES.items()],
                    converters=app.url_map.converters)
    for rule in old_rules.iter_rules():
        assert rule.endpoint in served, rule.rule
        assert set(rule.arguments) in served[rule.endpoint], (rule.rule, served[rule.endpoint])
        assert rule.rule not in {r.rule for r in app.url_map.iter_rules()}, f"{rule.rule} est encore servie"


def test_a_post_keeps_its_body_through_the_redirect(client):
    response = client.post("/verify", data={}, content_type="multipart/form-data", follow_redirects=True)
    assert response.status_code == 422 and "Choisissez le fichier PDF à vérifier." in page(response)
    assert response.request.path == "/verification"


def test_an_old_back_office_url_still_asks_to_log_in(client):
    response = client.get("/facturation/impayes", follow_redirects=True)
    assert response.request.path == "/login"


def test_a_path_a_route_still_serves_is_not_redirected(client):
    # GET …/identify was always the QR scan page with "identify" as its (invalid) code: it stays so
    response = client.get("/emargement/qr/3/identify")
    assert response.status_code != 308
    assert client.get("/facturation/abc").status_code == 404  # no old rule matches: today's 404
