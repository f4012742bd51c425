"""Who may call what: bearer tokens, roles, and the advisor-only reads (trainers, locations)."""
from __future__ import annotations

import hashlib

import pytest

from trainingmgr.accounts.models import ApiToken
from trainingmgr.extensions import db
from trainingmgr.sessions.models import Slot, TrainingSession

from tests.api.support import API, CHORUS, assert_error, bearer, committed_count, committed_value
from tests.helpers import MONDAY, login

INVALID_TOKEN = "Jeton d'accès invalide ou révoqué."
BAD_HEADER = "En-tête Authorization invalide : utilisez « Bearer <jeton> »."
NO_TOKEN = "Connectez-vous ou fournissez un jeton d'accès valide."
FORBIDDEN = "Vous n'avez pas accès à cette ressource."


def _advisor_calls(session_id: int, slot_id: int, world) -> list[tuple[str, str, dict | None]]:
    """Every advisor-only endpoint, each with a body it would accept."""
    return [
        ("post", f"{API}/sessions", {"course_slug": CHORUS, "start_date": "2031-03-10",
                                      "trainer_ids": [world.paula.id], "location_id": world.small_room.id,
                                      "capacity": 4}),
        ("patch", f"{API}/sessions/{session_id}", {"notes": "Modifié"}),
        ("post", f"{API}/sessions/{session_id}/slots", {"date": "2031-03-04", "start_time": "09:00",
                                                         "end_time": "12:00"}),
        ("delete", f"{API}/slots/{slot_id}", None),
        ("get", f"{API}/trainers", None),
        ("get", f"{API}/locations", None),
    ]


def _call(client, method, url, body, headers):
    kwargs = {"headers": headers}
    if body is not None:
        kwargs["json"] = body
    return getattr(client, method)(url, **kwargs)


def _snapshot(session_id: int):
    return (committed_count(TrainingSession), committed_count(Slot),
            committed_value(TrainingSession.notes, TrainingSession.id == session_id))


def test_anonymous_gets_401_on_every_advisor_endpoint_and_nothing_changes(client, world, make_session):
    session = make_session()
    before = _snapshot(session.id)
    for method, url, body in _advisor_calls(session.id, session.slots[0].id, world):
        response = _call(client, method, url, body, {})
        assert_error(response, 401, "unauthorized", NO_TOKEN, {})
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="trainingmgr"'
    assert _snapshot(session.id) == before


def test_trainer_token_gets_403_on_every_advisor_endpoint_and_nothing_changes(client, world, make_session,
                                                                                trainer_auth):
    session = make_session()  # taught by Pierre, the token's owner
    before = _snapshot(session.id)
    for method, url, body in _advisor_calls(session.id, session.slots[0].id, world):
        assert_error(_call(client, method, url, body, trainer_auth), 403, "forbidden", FORBIDDEN, {})
    assert _snapshot(session.id) == before


def test_admin_token_may_do_what_the_advisor_does(client, world, make_session, tokens):
    session = make_session()
    admin = bearer(tokens["admin"])
    expected = [201, 200, 201, 204, 200, 200]
    calls = _advisor_calls(session.id, session.slots[0].id, world)
    assert [_call(client, m, url, body, admin).status_code for m, url, body in calls] == expected


@pytest.mark.parametrize("body", [{"capacity": "abc"}, {"bogus": 1}, {}, []])
def test_refused_caller_is_told_so_before_the_body_is_read(client, world, make_session, tokens, body):
    """A bad body must not tell an anonymous caller or a trainer how the input is checked."""
    session = make_session()
    urls = [("post", f"{API}/sessions"), ("patch", f"{API}/sessions/{session.id}"),
            ("post", f"{API}/sessions/{session.id}/slots")]
    for method, url in urls:
        assert_error(_call(client, method, url, body, {}), 401, "unauthorized")
        assert_error(_call(client, method, url, body, bearer(tokens["trainer"])), 403, "forbidden")
    bad_json = client.post(f"{API}/sessions", data="{pas du json", content_type="application/json", csrf=False)
    assert_error(bad_json, 401, "unauthorized")


def test_anonymous_write_to_unknown_session_is_401_not_404(client, world):
    assert_error(client.patch(f"{API}/sessions/999", json={"notes": "x"}), 401, "unauthorized")
    assert_error(client.delete(f"{API}/slots/999"), 401, "unauthorized")


@pytest.mark.parametrize("header, message", [
    ("Bearer tm_pas-un-vrai-jeton", INVALID_TOKEN),
    ("Bearer conseil@test.example", INVALID_TOKEN),
    ("Basic Y29uc2VpbDpwYXNzd29yZA==", BAD_HEADER),
    ("Bearer", BAD_HEADER),
    ("Bearer    ", BAD_HEADER),
    ("Token tm_abc", BAD_HEADER),
])
def test_wrong_authorization_header_is_401_even_on_public_endpoints(client, world, header, message):
    for method, url in [("get", f"{API}/courses"), ("get", f"{API}/sessions"), ("get", f"{API}/trainers"),
                        ("post", f"{API}/sessions")]:
        response = _call(client, method, url, {} if method == "post" else None, {"Authorization": header})
        assert_error(response, 401, "unauthorized", message, {})
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="trainingmgr"'
    assert committed_count(TrainingSession) == 0


def test_scheme_is_case_insensitive(client, world, tokens):
    assert client.get(f"{API}/trainers", headers={"Authorization": f"bearer {tokens['advisor']}"}).status_code == 200


def test_revoked_token_is_refused(client, world, tokens):
    from trainingmgr.accounts.services import revoke_api_token

    headers = bearer(tokens["advisor"])
    assert client.get(f"{API}/trainers", headers=headers).status_code == 200
    token = db.session.scalar(db.select(ApiToken).where(ApiToken.name == "tests advisor"))
    revoke_api_token(token)
    db.session.commit()
    assert_error(client.get(f"{API}/trainers", headers=headers), 401, "unauthorized", INVALID_TOKEN, {})
    assert_error(client.get(f"{API}/sessions", headers=headers), 401, "unauthorized", INVALID_TOKEN, {})
    # The other tokens still work.
    assert client.get(f"{API}/trainers", headers=bearer(tokens["admin"])).status_code == 200


def test_token_of_a_deactivated_account_is_refused(client, world, tokens):
    world.users["advisor"].active = False
    db.session.commit()
    assert_error(client.get(f"{API}/locations", headers=bearer(tokens["advisor"])), 401, "unauthorized",
                 INVALID_TOKEN)


def test_only_the_hash_of_a_token_is_stored_and_its_use_is_recorded(client, world, tokens):
    raw = tokens["advisor"]
    token = db.session.scalar(db.select(ApiToken).where(ApiToken.name == "tests advisor"))
    assert token.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in (token.token_hash, token.prefix, token.name)
    assert token.last_used_at is None
    client.get(f"{API}/courses", headers=bearer(raw))
    assert committed_value(ApiToken.last_used_at, ApiToken.id == token.id) is not None


def test_a_logged_in_browser_cookie_does_not_authenticate_the_api(advisor_client, world):
    """The API reads only bearer tokens: a cookie alone is anonymous (so the API needs no CSRF token)."""
    assert_error(advisor_client.get(f"{API}/trainers"), 401, "unauthorized", NO_TOKEN)
    response = advisor_client.post(f"{API}/sessions", json={"course_slug": CHORUS})
    assert_error(response, 401, "unauthorized", NO_TOKEN)
    assert committed_count(TrainingSession) == 0


def test_token_api_writes_need_no_csrf_token(client, world, staff):
    login(client, "conseil@test.example")  # a browser session exists too: CSRF must still not get in the way
    response = client.post(f"{API}/sessions", json={"course_slug": CHORUS, "start_date": MONDAY.isoformat()},
                           headers=staff)
    assert response.status_code == 201, response.get_data(as_text=True)


# --------------------------------------------------------------------------- trainers and locations


def test_trainers_list(client, world, staff):
    response = client.get(f"{API}/trainers", headers=staff)
    assert response.status_code == 200
    assert response.get_json() == [
        {"id": world.pierre.id, "first_name": "Pierre", "last_name": "Formateur", "email": "formateur@test.example",
         "phone": "", "competences": "Juriste en commande publique, 12 ans d'expérience", "is_external": False,
         "company_name": "", "company_siret": None, "active": True},
        {"id": world.paula.id, "first_name": "Paula", "last_name": "Formatrice", "email": "formateur2@test.example",
         "phone": "", "competences": "", "is_external": False, "company_name": "", "company_siret": None,
         "active": True},
    ]


def test_trainers_list_leaves_out_archived_trainers(client, world, staff):
    world.pierre.active = False
    db.session.commit()
    assert [t["id"] for t in client.get(f"{API}/trainers", headers=staff).get_json()] == [world.paula.id]


def test_locations_list(client, world, staff):
    response = client.get(f"{API}/locations", headers=staff)
    assert response.status_code == 200
    locations = response.get_json()
    assert [loc["name"] for loc in locations] == ["Classe virtuelle", "Petite salle", "Salle Capitole"]
    assert locations[0] == {
        "id": world.remote.id, "name": "Classe virtuelle", "is_remote": True, "address": "", "postal_code": "",
        "city": "", "capacity": None, "wheelchair_access": False, "access_notes": "",
        "meeting_url": "https://visio.example.com/salle", "active": True,
    }
    assert locations[2] == {
        "id": world.room.id, "name": "Salle Capitole", "is_remote": False, "address": "1 rue A",
        "postal_code": "31000", "city": "Toulouse", "capacity": 10, "wheelchair_access": False,
        "access_notes": "", "meeting_url": "", "active": True,
    }
    assert locations[1]["capacity"] == 4


def test_locations_list_leaves_out_archived_locations(client, world, staff):
    world.small_room.active = False
    db.session.commit()
    names = [loc["name"] for loc in client.get(f"{API}/locations", headers=staff).get_json()]
    assert names == ["Classe virtuelle", "Salle Capitole"]


def test_unknown_api_path_and_wrong_method_answer_in_the_envelope(client, world, staff):
    assert_error(client.get(f"{API}/nulle-part"), 404, "not_found", "La ressource demandée n'existe pas.", {})
    assert_error(client.put(f"{API}/trainers", json={}, headers=staff), 405, "method_not_allowed",
                 "Cette action n'est pas possible à cette adresse.", {})
