"""Quotes through the API (api/quotes.py): the list by status a page at a time with its headers, creation (source
"api") and its bad input refused in French with nothing saved, one quote with its lines and totals as strings, the
steps send, accept (seats become enrolments, an intra request a session) and refuse, the 409s of the frozen or
out-of-date quotes, the advisor's token only, and the OpenAPI document."""
from __future__ import annotations

import datetime as dt
import re

import pytest

from tests.api.support import API, FIELDS_INVALID, INVALID, assert_error, committed_count
from tests.fixtures.quotes import build_quote, people
from trainingmgr.core.timeutil import paris_today
from trainingmgr.enrolments.models import Enrolment
from trainingmgr.extensions import db
from trainingmgr.quotes.models import Quote

QUOTES = f"{API}/quotes"


def links(response) -> dict[str, str]:
    """The Link header as {rel: url}."""
    return {rel: url for url, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', response.headers.get("Link", ""))}


def ok(response, status: int = 200) -> dict | list:
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()


def as_json(data: dict) -> dict:
    """The fixtures' input as a client sends it: amounts as numbers, dates ISO."""
    out = dict(data)
    for extra in out.get("extras", []):
        extra["quantity"] = float(str(extra["quantity"]).replace(",", "."))
        extra["unit_price"] = float(str(extra["unit_price"]).replace(",", "."))
    if "intra_price" in out:
        out["intra_price"] = float(out["intra_price"])
    return out


@pytest.fixture
def seats_body(quote_input) -> dict:
    """3 seats in the open Chorus Pro session at its 600 €, one extra cost (3 × 15.50 €), two people named."""
    return as_json(quote_input("seats", trainees=people(2)))


@pytest.fixture
def dume(world, dume_session):
    return dume_session


# --------------------------------------------------------------------------- the list


def test_the_list_is_paged_newest_first_with_total_and_links(client, world, staff, make_quote):
    made = [make_quote("intra") for _ in range(5)]
    first = client.get(f"{QUOTES}?per_page=2", headers=staff)
    assert [q["id"] for q in ok(first)] == [made[4].id, made[3].id]
    assert first.headers["X-Total-Count"] == "5" and set(links(first)) == {"next"}
    seen, response = [q["id"] for q in ok(first)], first
    while "next" in links(response):
        assert "per_page=2" in links(response)["next"]
        response = client.get(links(response)["next"], headers=staff)
        seen += [q["id"] for q in ok(response)]
    assert seen == [quote.id for quote in reversed(made)]
    assert set(links(response)) == {"prev"}
    beyond = client.get(f"{QUOTES}?page=9", headers=staff)
    assert ok(beyond) == [] and beyond.headers["X-Total-Count"] == "5"


def test_the_list_filters_by_status_and_search(client, world, staff, make_quote, sent_quote):
    drafts = [make_quote("intra"), make_quote("intra")]
    response = client.get(f"{QUOTES}?status=draft&per_page=1", headers=staff)
    assert [q["id"] for q in ok(response)] == [drafts[1].id]
    assert response.headers["X-Total-Count"] == "2" and "status=draft" in links(response)["next"]
    sent = ok(client.get(f"{QUOTES}?status=sent", headers=staff))
    assert [(q["id"], q["status"], q["status_label"]) for q in sent] == [(sent_quote.id, "sent", "Envoyé")]
    assert ok(client.get(f"{QUOTES}?status=refused", headers=staff)) == []
    found = ok(client.get(QUOTES, query_string={"search": sent_quote.number}, headers=staff))
    assert [q["id"] for q in found] == [sent_quote.id]


def test_a_listed_quote_says_its_totals_as_strings(client, world, staff, sent_quote):
    listed = ok(client.get(QUOTES, headers=staff))[0]
    assert listed["number"] == sent_quote.number and listed["kind"] == "seats"
    assert (listed["total_excl_vat"], listed["vat_rate"], listed["total_incl_vat"]) == ("1846.50", "0.00", "1846.50")
    assert listed["company_name"] == world.company.name and listed["course_slug"] == world.chorus.slug


@pytest.mark.parametrize("query, field", [("status=perdu", "status"), ("page=0", "page"), ("per_page=201", "per_page"),
                                          ("search=" + "x" * 101, "search")])
def test_a_bad_filter_is_refused_in_french(client, world, staff, query, field):
    error = assert_error(client.get(f"{QUOTES}?{query}", headers=staff), 422, "validation_error", INVALID)
    assert list(error["fields"]) == [field]


# --------------------------------------------------------------------------- creating


def test_a_seats_quote_is_created_numbered_from_the_api(client, world, staff, seats_body, chorus_session):
    quote = ok(client.post(QUOTES, json=seats_body, headers=staff), 201)
    assert re.fullmatch(rf"DEV-{paris_today().year}-0001", quote["number"])
    assert (quote["status"], quote["status_label"], quote["source"], quote["kind"]) == (
        "draft", "Brouillon", "api", "seats")
    assert (quote["session_id"], quote["seats"], quote["company_id"]) == (chorus_session.id, 3, world.company.id)
    assert [(line["kind"], line["quantity"], line["unit_price"], line["total"]) for line in quote["lines"]] == [
        ("seats", "3.00", "600.00", "1800.00"), ("extra", "3.00", "15.50", "46.50")]
    assert (quote["total_excl_vat"], quote["vat_amount"], quote["total_incl_vat"]) == ("1846.50", "0.00", "1846.50")
    assert [(t["first_name"], t["enrolment_id"]) for t in quote["trainees"]] == [("Prénom1", None), ("Prénom2", None)]
    assert quote["valid_until"] == (paris_today() + dt.timedelta(days=30)).isoformat()
    assert quote["enrolment_ids"] == [] and quote["links"]["html"].endswith(f"/quotes/{quote['id']}")
    assert committed_count(Quote, Quote.source == "api") == 1


def test_an_intra_request_is_created_with_a_new_company(client, world, staff, quote_input):
    body = as_json(quote_input("intra", company_id=None))
    del body["company_id"]
    body["company"] = {"name": "Garonne Ingénierie", "city": "Toulouse"}
    quote = ok(client.post(QUOTES, json=body, headers=staff), 201)
    assert (quote["kind"], quote["headcount"], quote["session_id"], quote["company_name"]) == (
        "intra", 8, None, "Garonne Ingénierie")
    assert [(line["kind"], line["total"]) for line in quote["lines"]] == [("intra", "4200.00")]


BOTH_COMPANIES = "Indiquez company_id ou company, pas les deux."


@pytest.mark.parametrize("change, fields", [
    ({"kind": "groupe"}, {"kind": ["Choisissez des places dans une session ou une session intra-entreprise."]}),
    ({"seats": 0}, {"seats": ["Nombre entier de 1 à 999 attendu."]}),
    ({"company": {"name": "Autre"}}, {"company": [BOTH_COMPANIES]}),
    ({"contact_name": "  "}, {"contact_name": ["Le nom du contact est obligatoire."]}),
    ({"contact_email": "marie@exemple.test"}, {"contact_email": ["Cette adresse e-mail n'est pas valide."]}),
    ({"seat_price": 600.001}, {"seat_price": ["Le prix d'une place HT : deux décimales au plus."]}),
    ({"extras": [{"label": "Repas", "quantity": 0, "unit_price": 10}]},
     {"extras.0.quantity": ["La quantité doit être un nombre supérieur à 0."]}),
    ({"trainees": [{"first_name": "Léa", "last_name": " "}]}, {"trainees.0.last_name": ["Le nom est obligatoire."]}),
    ({"valid_until": "1999-12-31"}, {"valid_until": ["L'année doit être comprise entre 2000 et 2100."]}),
    ({"couleur": "bleu"}, {"couleur": ["Champ inconnu."]}),
])
def test_bad_input_is_refused_by_the_schema_and_nothing_saved(client, world, staff, seats_body, change, fields):
    body = {**seats_body, **change}
    response = client.post(QUOTES, json=body, headers=staff)
    error = assert_error(response, 422, "validation_error", INVALID)
    if "couleur" in change:
        assert list(error["fields"]) == ["couleur"]
    else:
        assert error["fields"] == fields
    assert committed_count(Quote) == 0


@pytest.mark.parametrize("change, field", [
    ({"course_id": 999999}, "course_id"),
    ({"company_id": 999999}, "company_id"),
    ({"company_id": None}, "company_id"),  # neither company_id nor company
    ({"session_id": None}, "session_id"),  # a seats quote names its session
    ({"kind": "intra"}, "wished_place"),  # an intra request its headcount, period and place
    ({"session_id": 999999}, "session_id"),
    ({"seats": 50}, "seats"),  # beyond the session's capacity
    ({"seats": 1}, "trainees"),  # two people named for one seat
    ({"valid_until": "2001-01-01"}, "valid_until"),  # past
])
def test_input_the_stored_data_refuses_is_a_422_with_its_field(client, world, staff, seats_body, change, field):
    body = {key: value for key, value in {**seats_body, **change}.items() if value is not None}
    error = assert_error(client.post(QUOTES, json=body, headers=staff), 422, "validation_error", FIELDS_INVALID)
    assert field in error["fields"], error
    assert committed_count(Quote) == 0


@pytest.mark.parametrize("extras", [[{"label": "Location", "quantity": "9999", "unit_price": "9999999"}],
                                    [{"label": f"Frais {n}", "quantity": "1", "unit_price": "9000000"}
                                     for n in range(3)]])
def test_amounts_beyond_what_a_quote_holds_are_a_422(client, world, staff, quote_input, extras):
    body = as_json(quote_input("intra", extras=extras))
    response = client.post(QUOTES, json=body, headers=staff)
    assert_error(response, 422, "validation_error")
    assert "dépasse" in response.get_json()["error"]["fields"]["extras"][0]
    assert committed_count(Quote) == 0


def test_a_body_that_is_not_json_is_refused(client, world, staff):
    response = client.post(QUOTES, data="kind=seats", headers={**staff, "Content-Type": "text/plain"}, csrf=False)
    assert_error(response, 415, "unsupported_media_type")


# --------------------------------------------------------------------------- reading and sending


def test_one_quote_is_read_and_an_unknown_one_is_404(client, world, staff, sent_quote):
    quote = ok(client.get(f"{QUOTES}/{sent_quote.id}", headers=staff))
    assert (quote["number"], quote["status"], quote["version"], quote["course_title"]) == (
        sent_quote.number, "sent", 1, world.chorus.title)
    assert quote["conditions"] == "Tarif de groupe valable pour trois personnes." and quote["sent_at"]
    assert_error(client.get(f"{QUOTES}/999999", headers=staff), 404, "not_found", "Devis introuvable.")


def test_a_draft_is_sent_once(client, world, staff, make_quote):
    draft = make_quote()
    sent = ok(client.post(f"{QUOTES}/{draft.id}/send", headers=staff, csrf=False))
    assert (sent["status"], sent["version"]) == ("sent", 1) and sent["sent_at"]
    assert committed_count(Quote, Quote.status == "sent") == 1
    error = assert_error(client.post(f"{QUOTES}/{draft.id}/send", headers=staff, csrf=False), 409, "conflict")
    assert "envoyé" in error["message"]
    assert_error(client.post(f"{QUOTES}/999999/send", headers=staff, csrf=False), 404, "not_found")


def test_a_draft_past_its_validity_is_not_sent(client, world, staff, make_quote):
    draft = make_quote()
    draft.valid_until = paris_today() - dt.timedelta(days=1)
    db.session.commit()
    error = assert_error(client.post(f"{QUOTES}/{draft.id}/send", headers=staff, csrf=False), 422, "validation_error")
    assert "date de validité est passée" in error["message"]
    assert committed_count(Quote, Quote.status == "draft") == 1


# --------------------------------------------------------------------------- accepting


def test_accepting_seats_answers_the_enrolments_made(client, world, staff, dume):
    quote = build_quote(world, session=dume, seats=2)
    answer = ok(client.post(f"{QUOTES}/{quote.id}/accept",
                            json={"accepted_by_name": "Claire Dupont", "reference": "BC-2026-117"}, headers=staff))
    enrolments = db.session.scalars(db.select(Enrolment).where(Enrolment.session_id == dume.id)
                                    .order_by(Enrolment.id)).all()
    assert len(enrolments) == 2 and answer["enrolment_ids"] == [e.id for e in enrolments]
    assert [t["enrolment_id"] for t in answer["trainees"]] == answer["enrolment_ids"]
    assert {t["enrolment_status"] for t in answer["trainees"]} == {"confirmed"}
    assert (answer["status"], answer["acceptance_mode"], answer["accepted_by_name"]) == (
        "accepted", "api", "Claire Dupont")
    assert answer["waitlisted_enrolment_ids"] == [] and answer["decided_at"]
    assert answer["convention_document_id"] is not None or answer["acceptance_notes"]
    db.session.expire_all()
    stored = db.session.get(Quote, quote.id)
    assert stored.acceptance_evidence["reference"] == "BC-2026-117"
    assert stored.acceptance_evidence["recorded_by"] == "conseil@test.example"
    again = ok(client.get(f"{QUOTES}/{quote.id}", headers=staff))
    assert again["enrolment_ids"] == answer["enrolment_ids"]


def test_accepting_an_intra_request_answers_the_session_made(client, world, staff):
    quote = build_quote(world, kind="intra")
    answer = ok(client.post(f"{QUOTES}/{quote.id}/accept", json={"accepted_by_name": "Claire Dupont"},
                            headers=staff))
    assert answer["status"] == "accepted" and answer["session_id"] is not None
    assert answer["enrolment_ids"] == [] and answer["waitlisted_enrolment_ids"] == []
    assert ok(client.get(f"{QUOTES}/{quote.id}", headers=staff))["session_id"] == answer["session_id"]


@pytest.mark.parametrize("body, field", [({}, "accepted_by_name"), ({"accepted_by_name": "  "}, "accepted_by_name"),
                                         ({"accepted_by_name": "X", "signed_file": "JVBERi0="}, "signed_file")])
def test_an_acceptance_names_who_accepted_and_takes_no_file(client, world, staff, dume, body, field):
    quote = build_quote(world, session=dume)
    error = assert_error(client.post(f"{QUOTES}/{quote.id}/accept", json=body, headers=staff), 422,
                         "validation_error", INVALID)
    assert list(error["fields"]) == [field]
    assert committed_count(Quote, Quote.status == "accepted") == 0


def test_seats_not_all_named_are_a_422(client, world, staff, dume):
    quote = build_quote(world, session=dume, seats=2, trainees=people(1))
    error = assert_error(client.post(f"{QUOTES}/{quote.id}/accept", json={"accepted_by_name": "Claire Dupont"},
                                     headers=staff), 422, "validation_error")
    assert error["message"].startswith("Nommez les 2 stagiaires")
    assert committed_count(Enrolment) == 0 and committed_count(Quote, Quote.status == "sent") == 1


@pytest.mark.parametrize("status, valid_until, words", [
    ("draft", None, "brouillon"),
    ("refused", None, "refusé"),
    ("expired", None, "expiré"),
    ("accepted", None, "accepté"),
    ("sent", -1, "n'est plus valable"),
])
def test_only_a_sent_quote_within_its_validity_is_accepted(client, world, staff, dume, status, valid_until, words):
    day = paris_today() + dt.timedelta(days=valid_until) if valid_until is not None else None
    quote = build_quote(world, session=dume, status=status, valid_until=day)
    error = assert_error(client.post(f"{QUOTES}/{quote.id}/accept", json={"accepted_by_name": "Claire Dupont"},
                                     headers=staff), 409, "conflict")
    assert words in error["message"]
    assert committed_count(Enrolment) == 0
    assert committed_count(Quote, Quote.status == status) == 1


# --------------------------------------------------------------------------- refusing


def test_a_refusal_keeps_its_reason_and_freezes_the_quote(client, world, staff, sent_quote):
    refused = ok(client.post(f"{QUOTES}/{sent_quote.id}/refuse", json={"reason": "Budget reporté à 2027"},
                             headers=staff))
    assert (refused["status"], refused["status_label"], refused["refusal_reason"]) == (
        "refused", "Refusé", "Budget reporté à 2027")
    for step, body in (("refuse", {"reason": "Encore"}), ("send", None), ("accept", {"accepted_by_name": "X Y"})):
        assert_error(client.post(f"{QUOTES}/{sent_quote.id}/{step}", json=body, headers=staff), 409, "conflict")
    assert committed_count(Quote, Quote.status == "refused") == 1


def test_a_draft_not_pursued_is_refused_and_a_reason_is_required(client, world, staff, make_quote):
    draft = make_quote("intra")
    error = assert_error(client.post(f"{QUOTES}/{draft.id}/refuse", json={"reason": " "}, headers=staff), 422,
                         "validation_error", INVALID)
    assert error["fields"] == {"reason": ["Indiquez la raison du refus."]}
    assert ok(client.post(f"{QUOTES}/{draft.id}/refuse", json={"reason": "Sans suite"}, headers=staff))[
        "status"] == "refused"


# --------------------------------------------------------------------------- who may


ENDPOINTS = [("get", ""), ("post", ""), ("get", "/{id}"), ("post", "/{id}/send"), ("post", "/{id}/accept"),
             ("post", "/{id}/refuse")]


@pytest.mark.parametrize("method, path", ENDPOINTS)
def test_only_the_advisor_token_may(client, world, tokens, trainer_auth, sent_quote, method, path):
    url = QUOTES + path.format(id=sent_quote.id)
    body = {"json": {"reason": "Sans suite", "accepted_by_name": "X Y"}} if method == "post" else {}
    assert_error(getattr(client, method)(url, **body), 401, "unauthorized")
    assert_error(getattr(client, method)(url, headers={"Authorization": "Bearer faux"}, **body), 401, "unauthorized")
    assert_error(getattr(client, method)(url, headers=trainer_auth, **body), 403, "forbidden")
    assert committed_count(Quote, Quote.status == "sent") == 1 and committed_count(Quote) == 1


def test_the_admin_token_may(client, world, tokens, sent_quote):
    response = client.get(f"{QUOTES}/{sent_quote.id}", headers={"Authorization": f"Bearer {tokens['admin']}"})
    assert ok(response)["id"] == sent_quote.id


# --------------------------------------------------------------------------- the OpenAPI document


def test_the_openapi_document_has_the_quotes(client):
    spec = client.get(f"{API}/openapi.json").get_json()
    paths = spec["paths"]
    assert set(paths["/api/v1/quotes"]) >= {"get", "post"}
    for step in ("send", "accept", "refuse"):
        assert "post" in paths[f"/api/v1/quotes/{{quote_id}}/{step}"]
    assert paths["/api/v1/quotes/{quote_id}"]["get"]["security"] == [{"bearerAuth": []}]
    assert {"X-Total-Count", "Link"} <= set(paths["/api/v1/quotes"]["get"]["responses"]["200"]["headers"])
    assert {"409", "422"} <= set(paths["/api/v1/quotes/{quote_id}/accept"]["post"]["responses"])
    schemas = spec["components"]["schemas"]
    for field in ("total_excl_vat", "vat_rate", "vat_amount", "total_incl_vat"):
        assert (schemas["Quote"]["properties"][field]["type"], schemas["Quote"]["properties"][field]["format"]) == (
            "string", "decimal")
    assert schemas["Quote"]["properties"]["status"]["enum"] == ["draft", "sent", "accepted", "refused", "expired"]
    assert {"enrolment_ids", "session_id", "lines", "trainees"} <= set(schemas["Quote"]["properties"])
    assert {"waitlisted_enrolment_ids", "convention_document_id"} <= set(schemas["QuoteAccepted"]["properties"])
    create = schemas["QuoteCreate"]
    assert sorted(create["required"]) == ["contact_email", "contact_name", "course_id", "kind"]
    assert create["not"]["required"] == ["company_id", "company"]
    assert create["additionalProperties"] is False
    assert schemas["QuoteAccept"]["required"] == ["accepted_by_name"]
    assert schemas["QuoteRefuse"]["required"] == ["reason"]
