"""The OpenAPI document generated from the code: served, version 3, and true to the API."""
from __future__ import annotations

import pytest

from tests.api.support import API

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
}
OPERATIONS = {
    "/api/v1/courses": {"get"},
    "/api/v1/courses/{slug}": {"get"},
    "/api/v1/sessions": {"get", "post"},
    "/api/v1/sessions/{session_id}": {"get", "patch"},
    "/api/v1/sessions/{session_id}/slots": {"post"},
    "/api/v1/slots/{slot_id}": {"delete"},
    "/api/v1/trainers": {"get"},
    "/api/v1/locations": {"get"},
    "/api/v1/sessions/{session_id}/enrolments": {"get", "post"},
    "/api/v1/enrolments/{enrolment_id}/cancel": {"post"},
    "/api/v1/companies": {"get"},
    "/api/v1/trainees": {"get"},
    "/api/v1/sessions/{session_id}/attendance": {"get"},
    "/api/v1/sessions/{session_id}/evaluations": {"get"},
    "/api/v1/bpf/{year}": {"get"},
    "/api/v1/invoices": {"get"},
    "/api/v1/invoices/{invoice_id}": {"get"},
    "/api/v1/invoices/{invoice_id}/files/{kind}": {"get"},
}
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


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
    assert set(parameters) == {"course", "from", "to", "status"}
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
    assert trainee["properties"]["bpf_status"]["enum"] == ["employee", "job_seeker", "self_employed", "individual",
                                                           "other"]
    assert {"name", "siret", "naf_code", "opco", "headcount_band", "is_public_buyer"} <= set(company["properties"])
    assert company["required"] == ["name"]
    assert len(company["properties"]["opco"]["enum"]) == 11
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
    assert [(p["name"], p["in"], p["schema"]) for p in search] == [("search", "query", {"type": "string",
                                                                                         "maxLength": 100})]


def test_ids_in_bodies_are_bounded_like_the_database(spec):
    create = spec["components"]["schemas"]["SessionCreate"]["properties"]
    assert (create["course_id"]["minimum"], create["course_id"]["maximum"]) == (1, 2**31 - 1)
    assert create["trainer_ids"]["items"]["maximum"] == 2**31 - 1


def test_openapi_document_needs_no_token_but_refuses_a_bad_one(client, app):
    assert client.get(f"{API}/openapi.json").status_code == 200
    assert client.get(f"{API}/openapi.json", headers={"Authorization": "Bearer faux"}).status_code == 401
