"""The API fuzzed from its own OpenAPI document (schemathesis), with an advisor's token, a trainer's and none.

Every operation of /api/v1/openapi.json goes through schemathesis's phases (the document's examples, boundary
values, generated valid and invalid input, chains of calls), a bounded and seeded number of times so that runs
repeat, through the WSGI application. No answer may be a 5xx; every answer must use a documented status code, the
documented content type, headers and body schema; input that breaks the schema must be refused with a 4xx, and
an undocumented method gets a 405 that names the allowed ones.

Input that the document says is valid must be accepted (``positive_data_acceptance``, with the advisor's token):
the document states every rule that a JSON schema can state, so such input is refused only by a rule on stored
data, an answer that the operation documents (see POSITIVE_STATUSES and BUSINESS_RULES).

Left out on purpose: ``ignored_auth``, ``use_after_free`` and ``ensure_resource_availability``, which
schemathesis 4.32 cannot replay through a WSGI application (its replay passes ``max_redirects`` to werkzeug).
Who may call what is tested in tests/api/test_auth_api.py."""
from __future__ import annotations

import datetime as dt
import traceback
from collections import Counter

import pytest
import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import events, from_schema

from trainingmgr.extensions import db
from trainingmgr.sessions.services import change_status

from tests.api.support import API, INVALID, bearer
from tests.fixtures.api import OPERATIONS
from tests.helpers import MONDAY

MAX_EXAMPLES = 15
STATEFUL_EXAMPLES = 3
SEED = 20261125
CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_headers_conformance", "response_schema_conformance", "negative_data_rejection",
          "unsupported_method")
LABELS = {f"{method.upper()} {path}" for path, methods in OPERATIONS.items() for method in methods}

# What may answer input that the document says is valid:
POSITIVE_STATUSES = [
    "2xx",
    "404",  # the id in the path names no row: the fuzzer draws ids, the world holds three sessions
    "409",  # a conflict with stored data: a trainer or a room taken, a trainee already enrolled, a status that
            # the session cannot move to from its own
]
# ... and a 422 from a rule on stored data, on these operations only, naming only these fields ("": the rule is
# about the session itself and names no field). The rules on the input alone are in the document.
BUSINESS_RULES = {
    "POST /api/v1/sessions": {
        "course_id", "course_slug",  # a course of that id or slug, not archived, with a version in force
        "format",  # a format the course offers
        "location_id", "trainer_ids", "client_company_id",  # ids of rows in service (a room that suits the mode)
        "capacity",  # at most the course's maximum and the room's places
        "min_trainees",  # at most the capacity: two fields compared
    },
    "PATCH /api/v1/sessions/{session_id}": {
        "format", "location_id", "trainer_ids", "client_company_id", "capacity", "min_trainees",  # as above
        "status",  # what a stage needs: slots, trainers, rooms, a price, dates already reached
        "",  # a session that can no longer change, or whose confirmed duration would
    },
    "POST /api/v1/sessions/{session_id}/slots": {
        "start_time", "end_time",  # after the start, a morning ending by 14:00, no other slot of the session
        "location_id", "trainer_id",  # rows in service that suit the session
        "modality",  # a modality the session's delivery mode allows (« présentiel »: room only…)
        "meeting_url", "activity", "quiz_id",  # what the modality needs, given or taken from the place (a remote
                                                # place's link), and an active quiz of that id
        "",  # as above
    },
    "DELETE /api/v1/slots/{slot_id}": {""},  # as above
    "POST /api/v1/sessions/{session_id}/enrolments": {
        "trainee_id", "company_id",  # ids of rows
        "company.siret",  # the check key of a SIRET (its 14 digits are in the document)
        "",  # a session that takes no enrolment
    },
    "POST /api/v1/sessions/{session_id}/documents": {
        "enrolment_id",  # an enrolment of that id, in this session
        "company_id",  # a company of that id
        "trainer_id",  # a trainer of that id (a subcontractor's contract)
        "data",  # the mentions that a convention or a contract may not print empty (a trainer's qualifications)
    },
    "POST /api/v1/quotes": {
        "course_id", "session_id", "company_id",  # ids of rows: a course in force, an inter session of it taking
                                                  # enrolments
        "kind",  # an intra request of a course sold inter-company only
        "company_siret",  # the check key of a SIRET
        "seats", "trainees",  # at most the session's capacity; at most « seats » people named: two fields compared
        "seat_price",  # a session without a price needs one
        "headcount", "wished_period", "wished_place",  # what a kind needs: two fields compared
        "valid_until",  # from today to a year ahead
        "extras", "intra_price",  # each line's total (quantity × price) and the quote's within the amount limit
    },
    "POST /api/v1/quotes/{quote_id}/send": {"status"},  # a price, a validity date, a session taking enrolments
    "POST /api/v1/quotes/{quote_id}/accept": {"trainees"},  # a seats quote names all its trainees
}


@schemathesis.check
def business_rule_refusals_only(ctx, response, case):
    """A 422 to valid input comes from a rule of BUSINESS_RULES, never from the schema of the request."""
    if case.meta is None or not case.meta.generation.mode.is_positive or response.status_code != 422:
        return None
    error = response.json()["error"]
    allowed = BUSINESS_RULES.get(case.operation.label, set())
    if error["message"] == INVALID or not set(error["fields"] or {""}) <= allowed:
        raise AssertionError(f"Données valides refusées hors des règles métier : {error}")
    return None


@pytest.fixture
def fuzz_data(world, make_session, tokens):
    """Objects behind the small ids the fuzzer tries: two open sessions (Chorus Pro, DUME), a draft one."""
    for week, course in ((0, world.chorus), (1, world.dume)):
        session = make_session(course=course, start=MONDAY + dt.timedelta(weeks=week))
        change_status(session, "open", world.users["advisor"])
    make_session(start=MONDAY + dt.timedelta(weeks=2))
    db.session.commit()
    return tokens


def fuzz(app, headers: dict | None = None, *, positive: bool = False) -> tuple[list[str], Counter]:
    """Run schemathesis over the whole document; returns the failures, readable, and the scenarios per operation.
    ``positive``: valid input only, which must be accepted."""
    checks = {"enabled": False, **{name: {"enabled": True} for name in CHECKS}}
    generation = {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"}
    operations = []
    if positive:
        generation["mode"] = "positive"
        checks = {"enabled": False, "not_a_server_error": {"enabled": True},
                  "positive_data_acceptance": {"enabled": True, "expected-statuses": POSITIVE_STATUSES},
                  "business_rule_refusals_only": {"enabled": True}}
        operations = [{"include-name": label, "checks": {
            "positive_data_acceptance": {"expected-statuses": [*POSITIVE_STATUSES, "422"]}}}
            for label in BUSINESS_RULES]
    config = SchemathesisConfig.from_dict({
        "seed": SEED,
        "generation": generation,
        "checks": checks,
        "operations": operations,
        # Chains of calls (an id a POST answered, used by the next call) are the slowest: fewer of them.
        "phases": {"stateful": {"generation": {"max-examples": STATEFUL_EXAMPLES}}},
    })
    schema = schemathesis.openapi.from_wsgi(f"{API}/openapi.json", app, config=config)
    if headers:
        schema.config.update(headers=headers)
    if positive:
        schema.hook("filter_query").apply_to(method="GET", path="/api/v1/sessions")(_from_before_to)
    failures, scenarios = [], Counter()
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            scenarios[event.recorder.label] += 1
            for case_id, checks in event.recorder.checks.items():
                for check in checks:
                    if check.failure_info is None:
                        continue
                    interaction = event.recorder.interactions.get(case_id)
                    answer = interaction.response if interaction else None
                    failures.append(
                        f"[{event.phase}] {event.recorder.label}: {check.name}: {check.failure_info.failure.title}\n"
                        f"{check.failure_info.failure.message}\n{check.failure_info.code_sample}\n"
                        f"-> {answer.status_code if answer else '-'} {answer.content[:500] if answer else b''!r}")
        elif isinstance(event, (events.NonFatalError, events.FatalError)):
            error = getattr(event, "value", None) or getattr(event, "exception", None)
            failures.append(f"{type(event).__name__} {getattr(event, 'label', '')}: "
                            + "".join(traceback.format_exception(error))[-2000:])
        elif isinstance(event, events.EngineFinished):
            assert event.stop_reason == "completed", event.stop_reason
    return failures, scenarios


def _from_before_to(ctx, query) -> bool:
    """The document says that « from » comes before « to » (a JSON schema cannot compare two values): valid
    input keeps to it."""
    query = query or {}
    return not (query.get("from") and query.get("to") and query["from"] > query["to"])


def assert_clean(failures: list[str], scenarios: Counter) -> None:
    assert not failures, f"{len(failures)} échec(s) :\n\n" + "\n\n".join(failures[:20])
    assert LABELS <= set(scenarios), sorted(LABELS - set(scenarios))  # every operation was exercised


def test_fuzz_with_an_advisor_token(app, fuzz_data):
    assert_clean(*fuzz(app, bearer(fuzz_data["advisor"])))


def test_fuzz_with_a_trainer_token(app, fuzz_data):
    """A trainer's token reads what is public and is refused the rest with a documented 403, never a 5xx."""
    assert_clean(*fuzz(app, bearer(fuzz_data["trainer"])))


def test_fuzz_without_a_token(app, fuzz_data):
    assert_clean(*fuzz(app))


def test_valid_input_is_accepted(app, fuzz_data):
    """No 4xx to input that the document says is valid, but for the documented rules on stored data."""
    assert_clean(*fuzz(app, bearer(fuzz_data["advisor"]), positive=True))


def test_a_405_names_the_allowed_methods(client):
    response = client.delete(f"{API}/courses")
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, HEAD, OPTIONS"
    assert response.get_json()["error"]["message"] == "Cette action n'est pas possible à cette adresse."


def test_a_405_page_names_the_allowed_methods_too(client):
    response = client.delete("/catalogue/")
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, HEAD, OPTIONS"
    assert response.mimetype == "text/html"
    assert "Cette action n&#39;est pas possible à cette adresse." in response.get_data(as_text=True)


def test_patch_without_a_body_changes_nothing(client, world, make_session, fuzz_data):
    """The document says the PATCH body may be left out: the session is answered unchanged."""
    session = make_session(start=MONDAY + dt.timedelta(weeks=5))
    staff = bearer(fuzz_data["advisor"])
    before = client.get(f"{API}/sessions/{session.id}", headers=staff).get_json()
    response = client.patch(f"{API}/sessions/{session.id}", headers=staff)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["capacity"] == before["capacity"] == 7
    spec = client.get(f"{API}/openapi.json").get_json()
    assert spec["paths"]["/api/v1/sessions/{session_id}"]["patch"]["requestBody"].get("required", False) is False
