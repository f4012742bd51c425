"""The OpenAPI document generated from the code: served, version 3, and true to the API."""
from __future__ import annotations

import datetime as dt
import re

import pytest

from trainingmgr.companies.models import OPCOS
from trainingmgr.extensions import db
from trainingmgr.sessions.services import change_status

from tests.api.support import API, INVALID, NUL, assert_error
from tests.fixtures.api import OPERATIONS
from tests.helpers import MONDAY

ADVISOR_ONLY = {
    ("/api/v1/sessions", "post"), ("/api/v1/sessions/{session_id}", "patch"),
    ("/api/v1/sessions/{session_id}/slots", "post"), ("/api/v1/slots/{slot_id}", "delete"),
    ("/api/v1/trainers", "get"), ("/api/v1/locations", "get"),
    ("/api/v1/sessions/{session_id}/enrolments", "get"), ("/api/v1/sessions/{session_id}/enrolments", "post"),
    ("/api/v1/enrolments/{enrolment_id}/cancel", "post"), ("/api/v1/companies", "get"), ("/api/v1/trainees", "get"),
    ("/api/v1/sessions/{session_id}/attendance", "get"), ("/api/v1/sessions/{session_id}/evaluations", "get"),
    ("/api/v1/bpf/{year}", "get"),
    ("/api/v1/invoices", "get"), ("/api/v1/invoices/{invoice_id}", "get"),
    ("/api/v1/invoices/{invoice_id}/files/{kind}", "get"),
    ("/api/v1/sessions/{session_id}/documents", "get"), ("/api/v1/sessions/{session_id}/documents", "post"),
    ("/api/v1/documents/{document_id}", "get"), ("/api/v1/documents/{document_id}/files/{kind}", "get"),
    ("/api/v1/quotes", "get"), ("/api/v1/quotes", "post"), ("/api/v1/quotes/{quote_id}", "get"),
    ("/api/v1/quotes/{quote_id}/send", "post"), ("/api/v1/quotes/{quote_id}/accept", "post"),
    ("/api/v1/quotes/{quote_id}/refuse", "post"),
}
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
NO_NUL = r"^[^\x00]*$"


@pytest.fixture
def spec(client):
    response = client.get(f"{API}/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    return response.get_json()


def test_openapi_document_is_openapi_3(spec):
    assert spec["openapi"].startswith("3.")
    assert spec["info"]["title"] == "trainingmgr API"
    assert spec["info"]["version"] == "v1"
    assert "ISO 8601" in spec["info"]["description"]


def test_openapi_documents_every_endpoint_and_nothing_else(spec):
    documented = {path: {m for m in item if m in HTTP_METHODS} for path, item in spec["paths"].items()}
    assert documented == OPERATIONS


def test_openapi_documents_the_routes_flask_serves(app, spec):
    """Every /api/v1 route of the application is in the document (the spec cannot drift from the code)."""
    served = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(API) and not rule.rule.endswith("openapi.json"):
            path = rule.rule
            for arg in rule.arguments:
                path = path.replace(f"<int:{arg}>", f"{{{arg}}}").replace(f"<{arg}>", f"{{{arg}}}")
            served |= {(path, m.lower()) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert served == {(path, m) for path, methods in OPERATIONS.items() for m in methods}


def test_bearer_security_scheme(spec):
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {"type": "http", "scheme": "bearer"}


def test_advisor_endpoints_require_the_bearer_token(spec):
    for path, methods in OPERATIONS.items():
        for method in methods:
            operation = spec["paths"][path][method]
            if (path, method) in ADVISOR_ONLY:
                assert operation["security"] == [{"bearerAuth": []}], (path, method)
                assert {"401", "403"} <= set(operation["responses"]), (path, method)
            else:
                # Public: anonymous, or with a token (the advisor then sees more).
                assert operation.get("security", [{}]) in ([{}], [{}, {"bearerAuth": []}]), (path, method)
                assert "403" not in operation["responses"], (path, method)


def test_error_answers_are_documented_with_the_envelope(spec):
    expected = {
        ("/api/v1/sessions", "post"): {"201", "401", "403", "409", "422"},
        ("/api/v1/sessions/{session_id}", "patch"): {"200", "401", "403", "404", "409", "422"},
        ("/api/v1/sessions/{session_id}/slots", "post"): {"201", "401", "403", "404", "409", "422"},
        ("/api/v1/slots/{slot_id}", "delete"): {"204", "401", "403", "404", "422"},
        ("/api/v1/courses/{slug}", "get"): {"200", "404"},
        ("/api/v1/sessions/{session_id}", "get"): {"200", "401", "404"},
        ("/api/v1/sessions", "get"): {"200", "401", "422"},
        ("/api/v1/sessions/{session_id}/enrolments", "post"): {"201", "401", "403", "404", "409", "415", "422"},
        ("/api/v1/sessions/{session_id}/enrolments", "get"): {"200", "401", "403", "404"},
        ("/api/v1/enrolments/{enrolment_id}/cancel", "post"): {"200", "401", "403", "404", "409", "415", "422"},
        ("/api/v1/companies", "get"): {"200", "401", "403"},
        ("/api/v1/trainees", "get"): {"200", "401", "403", "422"},
        ("/api/v1/sessions/{session_id}/attendance", "get"): {"200", "401", "403", "404"},
        ("/api/v1/sessions/{session_id}/evaluations", "get"): {"200", "401", "403", "404"},
        ("/api/v1/bpf/{year}", "get"): {"200", "401", "403", "404"},
        ("/api/v1/invoices", "get"): {"200", "401", "403", "422"},
        ("/api/v1/invoices/{invoice_id}", "get"): {"200", "401", "403", "404"},
        ("/api/v1/invoices/{invoice_id}/files/{kind}", "get"): {"200", "401", "403", "404"},
        ("/api/v1/sessions/{session_id}/documents", "get"): {"200", "401", "403", "404"},
        ("/api/v1/sessions/{session_id}/documents", "post"): {"201", "401", "403", "404", "409", "415", "422"},
        ("/api/v1/documents/{document_id}", "get"): {"200", "401", "403", "404"},
        ("/api/v1/documents/{document_id}/files/{kind}", "get"): {"200", "401", "403", "404", "409"},
        ("/api/v1/quotes", "get"): {"200", "401", "403", "422"},
        ("/api/v1/quotes", "post"): {"201", "401", "403", "415", "422"},
        ("/api/v1/quotes/{quote_id}", "get"): {"200", "401", "403", "404"},
        ("/api/v1/quotes/{quote_id}/send", "post"): {"200", "401", "403", "404", "409", "422"},
        ("/api/v1/quotes/{quote_id}/accept", "post"): {"200", "401", "403", "404", "409", "415", "422"},
        ("/api/v1/quotes/{quote_id}/refuse", "post"): {"200", "401", "403", "404", "409", "415", "422"},
    }
    for (path, method), codes in expected.items():
        responses = spec["paths"][path][method]["responses"]
        assert codes <= set(responses), (path, method, sorted(responses))
        for code in codes:
            if code.startswith(("4", "5")):
                response = responses[code]
                if "$ref" in response:  # flask-smorest's shared answers, e.g. 422 for query arguments
                    response = spec["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Error"}, (path, method, code)
    error = spec["components"]["schemas"]["Error"]
    assert error["required"] == ["error"]
    assert error["properties"]["error"] == {"$ref": "#/components/schemas/ErrorBody"}
    body = spec["components"]["schemas"]["ErrorBody"]
    assert set(body["properties"]) == {"code", "message", "fields"}
    assert sorted(body["required"]) == ["code", "fields", "message"]


def test_session_filters_are_documented(spec):
    parameters = {p["name"]: p for p in spec["paths"]["/api/v1/sessions"]["get"]["parameters"]}
    assert set(parameters) == {"course", "from", "to", "status", "page", "per_page"}
    assert parameters["page"]["schema"] == {"type": "integer", "default": 1, "minimum": 1, "maximum": 100_000}
    assert parameters["per_page"]["schema"] == {"type": "integer", "default": 50, "minimum": 1, "maximum": 200}
    headers = spec["paths"]["/api/v1/sessions"]["get"]["responses"]["200"]["headers"]
    assert headers["X-Total-Count"]["required"] and "rel=\"next\"" in headers["Link"]["description"]
    assert all(p["in"] == "query" for p in parameters.values())
    assert parameters["from"]["schema"] == {"type": "string", "format": "date"}
    assert parameters["to"]["schema"] == {"type": "string", "format": "date"}
    assert parameters["status"]["schema"]["enum"] == ["draft", "open", "confirmed", "in_progress", "completed",
                                                      "closed", "cancelled"]


def test_write_bodies_are_documented(spec):
    def body_schema(path, method):
        ref = spec["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        return spec["components"]["schemas"][ref.rsplit("/", 1)[1]]

    create = body_schema("/api/v1/sessions", "post")
    assert {"course_slug", "course_id", "start_date", "capacity", "min_trainees", "price_per_trainee", "location_id",
            "trainer_ids", "client_company_id", "format", "delivery_mode", "notes", "intra_price"} == set(
        create["properties"])
    assert create["properties"]["start_date"]["format"] == "date"
    assert create["properties"]["format"]["enum"] == ["inter", "intra"]
    patch = body_schema("/api/v1/sessions/{session_id}", "patch")
    assert {"status", "cancel_reason"} <= set(patch["properties"])
    assert "course_id" not in patch["properties"]
    slot = body_schema("/api/v1/sessions/{session_id}/slots", "post")
    assert sorted(slot["required"]) == ["date", "end_time", "start_time"]
    for schema in (create, patch, slot):
        assert schema["additionalProperties"] is False  # unknown fields are refused


def test_money_and_hours_are_documented_as_strings(spec):
    """They are sent as "600.00": the document must not promise a JSON number."""
    schemas = spec["components"]["schemas"]
    for name, field in [("CourseSummary", "price_per_trainee"), ("CourseSummary", "intra_group_price"),
                        ("CourseSummary", "duration_hours"), ("Session", "price_per_trainee"),
                        ("Session", "intra_price"), ("Session", "planned_hours"), ("Slot", "hours")]:
        prop = schemas[name]["properties"][field]
        assert prop["type"] == "string", (name, field, prop)
        assert prop["format"] == "decimal", (name, field, prop)


def test_enrolment_bodies_and_answers_are_documented(spec):
    schemas = spec["components"]["schemas"]

    def body_schema(path):
        ref = spec["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        return schemas[ref.rsplit("/", 1)[1]]

    create = body_schema("/api/v1/sessions/{session_id}/enrolments")
    assert set(create["properties"]) == {"trainee_id", "trainee", "company_id", "company"}
    assert "required" not in create  # trainee_id or trainee: the service says which is missing
    assert create["properties"]["trainee"]["allOf"] == [{"$ref": "#/components/schemas/TraineeInput"}]
    assert {"$ref": "#/components/schemas/CompanyInput"} in create["properties"]["company"]["anyOf"]
    assert (create["properties"]["trainee_id"]["minimum"], create["properties"]["trainee_id"]["maximum"]) == (
        1, 2**31 - 1)
    trainee, company = schemas["TraineeInput"], schemas["CompanyInput"]
    assert set(trainee["properties"]) == {"civility", "first_name", "last_name", "email", "phone", "job_title",
                                          "bpf_status", "accessibility_needs"}
    assert sorted(trainee["required"]) == ["email", "first_name", "last_name"]
    assert trainee["properties"]["bpf_status"]["enum"] == ["", "employee", "job_seeker", "self_employed",
                                                           "individual", "other", None]
    assert {"name", "siret", "naf_code", "opco", "headcount_band", "is_public_buyer"} <= set(company["properties"])
    assert company["required"] == ["name"]
    assert company["properties"]["opco"]["enum"] == ["", *OPCOS, None]
    cancel = body_schema("/api/v1/enrolments/{enrolment_id}/cancel")
    assert (set(cancel["properties"]), cancel["required"]) == ({"reason"}, ["reason"])
    for schema in (create, trainee, company, cancel):
        assert schema["additionalProperties"] is False  # unknown fields are refused

    answer = spec["paths"]["/api/v1/sessions/{session_id}/enrolments"]["post"]["responses"]["201"]
    assert answer["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Enrolment"}
    enrolment = schemas["Enrolment"]
    assert {"id", "session_id", "status", "waitlist_position", "trainee", "company", "price_excl_vat", "vat_rate",
            "price_incl_vat", "positioning_decision", "created_at"} <= set(enrolment["properties"])
    for field in ("price_excl_vat", "vat_rate", "price_incl_vat"):
        assert (enrolment["properties"][field]["type"], enrolment["properties"][field]["format"]) == (
            "string", "decimal")
    assert enrolment["properties"]["status"]["enum"][:4] == ["requested", "pending_prerequisite", "confirmed",
                                                             "waitlisted"]
    assert enrolment["properties"]["created_at"]["format"] == "date-time"
    listing = spec["paths"]["/api/v1/sessions/{session_id}/enrolments"]["get"]["responses"]["200"]
    assert listing["content"]["application/json"]["schema"] == {
        "type": "array", "items": {"$ref": "#/components/schemas/Enrolment"}}
    search = spec["paths"]["/api/v1/trainees"]["get"]["parameters"]
    assert [(p["name"], p["in"], p["schema"]) for p in search] == [("search", "query", {
        "type": "string", "maxLength": 100, "pattern": NO_NUL})]


def test_ids_in_bodies_are_bounded_like_the_database(spec):
    create = spec["components"]["schemas"]["SessionCreate"]["properties"]
    assert (create["course_id"]["minimum"], create["course_id"]["maximum"]) == (1, 2**31 - 1)
    assert create["trainer_ids"]["items"]["maximum"] == 2**31 - 1


def test_openapi_document_needs_no_token_but_refuses_a_bad_one(client, app):
    assert client.get(f"{API}/openapi.json").status_code == 200
    assert client.get(f"{API}/openapi.json", headers={"Authorization": "Bearer faux"}).status_code == 401


# --------------------------------------------------------------------------- the rules of the input


def _schema(spec, name: str) -> dict:
    return spec["components"]["schemas"][name]


def _matches(pattern: str, text: str) -> bool:
    """As a JSON schema reads a pattern: a search, ``$`` at the very end."""
    return re.search(pattern.replace("$", r"\Z"), text, re.ASCII) is not None


def _request_strings(spec):
    """Every text value of a request that the document describes: (where, schema). The rules between the fields of
    an object (its own anyOf, oneOf) add to the fields' schemas and are left out."""
    def walk(where, schema):
        if "$ref" in schema:
            yield from walk(where, spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]])
            return
        if "properties" not in schema:
            for key in ("allOf", "anyOf", "oneOf"):
                for branch in schema.get(key, ()):
                    yield from walk(where, branch)
        if schema.get("type") == "string":
            yield where, schema
        for name, prop in schema.get("properties", {}).items():
            yield from walk(f"{where}.{name}", prop)
        if "items" in schema:
            yield from walk(f"{where}[]", schema["items"])

    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            parameters = {(p["in"], p["name"]): p for p in item.get("parameters", [])}
            parameters.update({(p["in"], p["name"]): p for p in operation.get("parameters", [])})
            for (place, name), parameter in parameters.items():
                yield from walk(f"{method} {path} {place} {name}", parameter["schema"])
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body:
                yield from walk(f"{method} {path} body", body["schema"])


def test_request_text_never_holds_a_nul_character(spec):
    """The API refuses a NUL character anywhere in a request (400): every text value says so, by its pattern, or
    a list of values or a date that cannot hold one."""
    strings = list(_request_strings(spec))
    assert len(strings) > 30
    for where, schema in strings:
        if "enum" in schema or (schema.get("format") == "date" and "pattern" not in schema):
            continue
        assert "pattern" in schema, where
        assert not _matches(schema["pattern"], "Mal\x00ade"), where


def test_capacity_and_minimum_are_bounded(spec):
    for name in ("SessionCreate", "SessionPatch"):
        properties = _schema(spec, name)["properties"]
        for field in ("capacity", "min_trainees"):
            assert (properties[field]["minimum"], properties[field]["maximum"]) == (1, 1000), (name, field)
        assert "salle" in properties["capacity"]["description"]
        assert "capacité" in properties["min_trainees"]["description"]
        for field in ("price_per_trainee", "intra_price"):
            price = properties[field]
            assert (price["minimum"], price["maximum"], price["multipleOf"]) == (0, 9999999, 0.01), (name, field)


def test_times_are_hh_mm_and_days_within_2000_to_2100(spec):
    slot = _schema(spec, "SlotCreate")["properties"]
    for field in ("start_time", "end_time"):
        pattern = slot[field]["pattern"]
        assert all(_matches(pattern, time) for time in ("00:00", "09:30", "23:59"))
        assert not any(_matches(pattern, time) for time in ("9:30", "24:00", "09:60", "09:30:00", "09h30", ""))
    for day in (slot["date"], _schema(spec, "SessionCreate")["properties"]["start_date"]):
        assert day["format"] == "date"
        assert _matches(day["pattern"], "2000-01-01") and _matches(day["pattern"], "2100-12-31")
        assert not _matches(day["pattern"], "1999-12-31") and not _matches(day["pattern"], "2101-01-01")


def test_reasons_have_three_characters(spec):
    reason = _schema(spec, "EnrolmentCancel")["properties"]["reason"]
    patch = _schema(spec, "SessionPatch")
    for pattern in (reason["pattern"], patch["properties"]["cancel_reason"]["pattern"]):
        assert _matches(pattern, "Malade") and _matches(pattern, " a b ")
        assert not any(_matches(pattern, text) for text in ("", "   ", " ab ", "\n ab\t"))
    # A cancellation needs its reason: any other status, or a cancel_reason.
    assert patch["anyOf"] == [
        {"properties": {"status": {"enum": ["draft", "open", "confirmed", "in_progress", "completed", "closed"]}}},
        {"required": ["cancel_reason"]}]


def test_rules_between_fields_are_stated(spec):
    enrolment = _schema(spec, "EnrolmentCreate")
    assert enrolment["oneOf"] == [{"required": ["trainee_id"]}, {"required": ["trainee"]}]
    assert enrolment["not"] == {"required": ["company_id", "company"], "properties": {
        "company_id": {"type": "integer"}, "company": {"type": "object"}}}
    # A company left out is null, not any object.
    assert enrolment["properties"]["company"]["anyOf"][1] == {"type": "object", "nullable": True, "enum": [None]}
    assert _schema(spec, "SessionCreate")["anyOf"] == [{"required": ["course_id"]}, {"required": ["course_slug"]}]
    company = _schema(spec, "CompanyInput")
    assert company["anyOf"] == [{"properties": {"is_public_buyer": {"enum": [False]}}}, {
        "required": ["siret"], "properties": {"siret": {"type": "string", "minLength": 14}}}]
    assert _matches(company["properties"]["siret"]["pattern"], "44306184100021")
    assert _matches(company["properties"]["siret"]["pattern"], "443 061 841 00021")
    assert not _matches(company["properties"]["siret"]["pattern"], "4430618410002A")
    # « from » before « to » cannot be stated by a JSON schema: the parameters say it.
    parameters = {p["name"]: p for p in spec["paths"]["/api/v1/sessions"]["get"]["parameters"]}
    assert "« to »" in parameters["from"]["description"] and "« from »" in parameters["to"]["description"]


def test_names_and_addresses_are_stated(spec):
    trainee = _schema(spec, "TraineeInput")["properties"]
    for field in ("first_name", "last_name"):
        assert trainee[field]["maxLength"] == 80
        assert not _matches(trainee[field]["pattern"], " ") and _matches(trainee[field]["pattern"], " Léa ")
    assert (trainee["email"]["format"], trainee["email"]["maxLength"]) == ("email", 254)
    assert _matches(trainee["email"]["pattern"], "lea@exemple.fr")
    assert not _matches(trainee["email"]["pattern"], "lea@exemple.TEST")
    assert _schema(spec, "CompanyInput")["properties"]["name"]["maxLength"] == 200


def test_path_parameters_are_bounded(spec):
    year = spec["paths"]["/api/v1/bpf/{year}"]["get"]["parameters"]
    assert year == [{"in": "path", "name": "year", "required": True,
                     "schema": {"type": "integer", "minimum": 2000, "maximum": 2100}}]
    slug = spec["paths"]["/api/v1/courses/{slug}"]["get"]["parameters"]
    assert slug == [{"in": "path", "name": "slug", "required": True,
                     "schema": {"type": "string", "minLength": 1, "pattern": NO_NUL}}]


# The API refuses what the document refuses: 422 from the schema of the request, with a French message.

NO_REASON = "Indiquez le motif de l'annulation (3 caractères au moins)."
LEA = {"first_name": "Léa", "last_name": "Martin", "email": "lea.martin@exemple.fr"}


@pytest.fixture
def open_dume_in_three_weeks(world, make_session):
    session = make_session(course=world.dume, start=MONDAY + dt.timedelta(weeks=3))
    change_status(session, "open", world.users["advisor"])
    db.session.commit()
    return session


@pytest.mark.parametrize("method, path, body, fields", [
    ("post", "/sessions", {"course_slug": "chorus-pro", "capacity": 0},
     {"capacity": ["La capacité doit être un nombre entier compris entre 1 et 1000."]}),
    ("post", "/sessions", {"course_slug": "chorus-pro", "min_trainees": 1001},
     {"min_trainees": ["Le nombre minimum de stagiaires doit être un nombre entier compris entre 1 et 1000."]}),
    ("post", "/sessions", {"course_slug": "chorus-pro", "price_per_trainee": 600.001},
     {"price_per_trainee": ["Le prix par stagiaire : deux décimales au plus."]}),
    ("post", "/sessions", {"capacity": 5}, {"course_id": ["Choisissez la formation (course_id ou course_slug)."]}),
    ("post", "/sessions", {"course_slug": " "}, {"course_slug": ["Indiquez le slug de la formation."]}),
    ("post", "/sessions", {"course_slug": "chorus-pro", "start_date": "1999-12-31"},
     {"start_date": ["L'année doit être comprise entre 2000 et 2100."]}),
    ("post", "/sessions/{session}/slots", {"date": "2031-03-04", "start_time": "9:00", "end_time": "12:00:00"},
     {"start_time": ["Heure invalide (format HH:MM)."], "end_time": ["Heure invalide (format HH:MM)."]}),
    ("patch", "/sessions/{session}", {"status": "cancelled"}, {"cancel_reason": [NO_REASON]}),
    ("patch", "/sessions/{session}", {"status": "cancelled", "cancel_reason": " ok "},
     {"cancel_reason": [NO_REASON]}),
    ("post", "/sessions/{session}/enrolments", {}, {"trainee": ["Indiquez le stagiaire (trainee_id ou trainee)."]}),
    ("post", "/sessions/{session}/enrolments", {"trainee_id": 1, "trainee": LEA},
     {"trainee": ["Indiquez trainee_id ou trainee, pas les deux."]}),
    ("post", "/sessions/{session}/enrolments", {"trainee": {**LEA, "first_name": "  "}},
     {"trainee.first_name": ["Le prénom est obligatoire."]}),
    ("post", "/sessions/{session}/enrolments", {"trainee": {**LEA, "email": "lea@exemple.test"}},
     {"trainee.email": ["Cette adresse e-mail n'est pas valide."]}),
    ("post", "/sessions/{session}/enrolments", {"trainee": LEA, "company": {"name": "Mairie", "is_public_buyer": True}},
     {"company.siret": ["Un acheteur public est identifié par son SIRET dans Chorus Pro."]}),
    ("post", "/sessions/{session}/enrolments", {"trainee": LEA, "company": {"name": "Mairie", "naf_code": "84"}},
     {"company.naf_code": ["Le code NAF s'écrit comme 7111Z ou 71.11Z."]}),
    ("post", "/enrolments/{enrolment}/cancel", {"reason": "  ab "}, {"reason": [NO_REASON]}),
])
def test_the_api_refuses_what_the_document_refuses(client, world, staff, open_dume_in_three_weeks, method, path, body, fields):
    enrolment = client.post(f"{API}/sessions/{open_dume_in_three_weeks.id}/enrolments", json={"trainee": LEA}, headers=staff)
    assert enrolment.status_code == 201, enrolment.get_data(as_text=True)
    url = API + path.format(session=open_dume_in_three_weeks.id, enrolment=enrolment.get_json()["id"])
    response = getattr(client, method)(url, json=body, headers=staff)
    assert_error(response, 422, "validation_error", INVALID, fields)


def test_the_api_refuses_from_after_to(client, world, staff):
    message = "La date « from » doit précéder la date « to »."
    response = client.get(f"{API}/sessions", query_string={"from": "2031-03-04", "to": "2031-03-03"})
    assert_error(response, 422, "validation_error", message, {"from": [message]})
    assert client.get(f"{API}/sessions", query_string={"from": "2031-03-03", "to": "2031-03-03"}).status_code == 200


def test_the_api_refuses_a_nul_character_with_a_400(client, world, staff):
    """The document's NUL-refusing patterns: the API answers 400 before any schema reads the request."""
    assert_error(client.get(f"{API}/courses/chorus%00pro"), 400, "bad_request", NUL, {})
    assert_error(client.get(f"{API}/sessions?course=a%00b"), 400, "bad_request", NUL, {})
    response = client.post(f"{API}/sessions", json={"course_slug": "chorus-pro", "notes": "a\x00b"}, headers=staff)
    assert_error(response, 400, "bad_request", NUL, {})
