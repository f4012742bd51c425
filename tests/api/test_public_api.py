"""The public read side of the API: the catalogue and the sessions anyone may see, and their filters."""
from __future__ import annotations

import datetime as dt

import pytest

from trainingmgr.core.timeutil import paris_date
from trainingmgr.extensions import db

from tests.api.support import API, CHORUS, DUME, INVALID, NUL, assert_error, bearer, set_status
from tests.helpers import MONDAY

DUME_OBJECTIVES = [
    "Utiliser toutes les fonctionnalités de l’utilitaire DUME",
    "Se connecter sur CHORUS PRO et gérer leur compte",
    "Déposer une facture",
    "Suivre le parcours de la facture dans Chorus Pro",
    "Valider les factures des partenaires (co-traitants ou sous-traitants)",
]
DUME_PARTS = [
    "Introduction",
    "1/ Candidater avec un DUME",
    "2/ Plateforme Chorus Pro, découverte et inscription",
    "3/ Déposer et valider une facture standard au format pdf",
    "4/ Déposer et valider les factures de travaux au format pdf",
]
SUMMARY_KEYS = {"slug", "title", "tagline", "version", "version_date", "duration_hours", "duration_days",
                "audience_format", "delivery_mode", "price_per_trainee", "intra_group_price", "min_trainees",
                "max_trainees", "url"}
PUBLIC_SESSION_KEYS = {"id", "course_slug", "course_title", "course_version", "status", "status_label", "format",
                       "delivery_mode", "location", "trainers", "capacity", "min_trainees", "seats_left",
                       "price_per_trainee", "intra_price", "first_date", "last_date", "planned_hours", "ics_url"}
PUBLIC_LOCATION_KEYS = {"id", "name", "is_remote", "address", "postal_code", "city", "wheelchair_access"}


def ids(response) -> list[int]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return [s["id"] for s in response.get_json()]


def _draft_course(users, slug="formation-brouillon", title="Formation en brouillon"):
    from trainingmgr.catalogue.services import create_course
    from trainingmgr.demo.seeds import CHORUS_PRO

    course = create_course({**CHORUS_PRO, "title": title}, users["advisor"], slug=slug)
    db.session.commit()
    return course


# --------------------------------------------------------------------------- courses


def test_course_list_shows_published_courses_by_title_with_money_as_strings(client, world):
    _draft_course(world.users)
    response = client.get(f"{API}/courses")
    assert response.status_code == 200
    courses = response.get_json()
    assert [c["slug"] for c in courses] == [CHORUS, DUME]  # the draft course is not listed
    chorus, dume = courses
    assert set(chorus) == SUMMARY_KEYS
    assert chorus == {
        "slug": CHORUS, "title": "Chorus Pro", "tagline": "", "version": 1,
        "version_date": paris_date(world.chorus.current_version.created_at).isoformat(),  # the Paris day
        "duration_hours": "7.00", "duration_days": "1.00", "audience_format": "inter_intra",
        "delivery_mode": "presentiel", "price_per_trainee": None, "intra_group_price": None,
        "min_trainees": 1, "max_trainees": 7, "url": "http://localhost/catalogue/chorus-pro",
    }
    assert dume["title"] == "Marchés publics : DUME et Chorus Pro"
    assert dume["tagline"] == "Vous permettre de déposer vos factures sur Chorus Pro et d’en suivre le traitement."
    assert dume["price_per_trainee"] == "600.00"
    assert dume["duration_hours"] == "8.00"
    assert dume["duration_days"] is None
    assert (dume["audience_format"], dume["min_trainees"], dume["max_trainees"]) == ("inter", 1, 8)
    dt.date.fromisoformat(dume["version_date"])


def test_course_list_is_empty_without_published_course(client, app):
    response = client.get(f"{API}/courses")
    assert response.status_code == 200
    assert response.get_json() == []


def test_dume_course_detail(client, world):
    response = client.get(f"{API}/courses/{DUME}")
    assert response.status_code == 200
    course = response.get_json()
    assert course["price_per_trainee"] == "600.00"
    assert course["intra_group_price"] is None
    assert course["prerequisites_none"] is True
    assert course["prerequisites"] == ""
    assert course["objectives"] == DUME_OBJECTIVES
    assert [part["title"] for part in course["programme"]] == DUME_PARTS
    assert course["programme"][1] == {
        "title": "1/ Candidater avec un DUME", "day": None, "half_day": None,
        "items": ["Point sur la réglementation 2019-2020", "Créer un DUME", "Répondre à un DUME",
                  "Réutiliser, fusionner"],
    }
    assert course["programme"][0]["items"] == ["Comprendre les besoins et les attentes des stagiaires"]
    assert course["duration_hours"] == "8.00"
    assert course["location_text"] == "Toulouse et sa périphérie"
    assert course["teaching_methods"] == "active, différenciée et expérientielle"
    assert course["assessment_methods"] == ["évaluation continue"]
    assert course["labels"] == []
    # The organisation's accessibility policy fills in what the course leaves empty.
    assert "situation de handicap" in course["accessibility"]
    assert "référente handicap" in course["accessibility_contact"]
    assert course["access_delay"]
    assert set(SUMMARY_KEYS) <= set(course)


def test_chorus_course_detail_keeps_programme_half_days_and_labels(client, world):
    course = client.get(f"{API}/courses/{CHORUS}").get_json()
    assert course["prerequisites_none"] is False
    assert course["prerequisites"].startswith("Maîtriser les principales règles")
    assert len(course["objectives"]) == 5
    assert course["objectives"][3] == "Comprendre les rejets."
    assert [(p["day"], p["half_day"], p["title"]) for p in course["programme"][:5]] == [
        (1, "morning", "Cas pratiques"),
        (1, "morning", "Contexte général de la dématérialisation des factures"),
        (1, "morning", "Les différents modes de transmission"),
        (1, "morning", "Le portail"),
        (1, "afternoon", "Cas pratiques"),
    ]
    assert len(course["programme"]) == 11
    assert course["programme"][-1] == {"title": "Incidents techniques", "day": 1, "half_day": "afternoon",
                                       "items": ["Saisir une sollicitation."]}
    assert [label["name"] for label in course["labels"]] == ["Label Branche Architecture"]
    assert course["labels"][0]["description"].startswith("Ce label est décerné par la Branche Architecture.")
    assert course["assessment_methods"] == ["Evaluation des acquis durant toute la session.",
                                            "Evaluation à froid (j+2 mois après la formation)"]


def test_course_detail_shows_the_version_in_force(client, world):
    from trainingmgr.catalogue.services import update_course
    from trainingmgr.demo.seeds import DUME_CHORUS_PRO

    update_course(world.dume, {**DUME_CHORUS_PRO, "title": "DUME et Chorus Pro", "price_per_trainee": "650"},
                  world.users["advisor"])
    db.session.commit()
    course = client.get(f"{API}/courses/{DUME}").get_json()
    assert (course["version"], course["title"], course["price_per_trainee"]) == (2, "DUME et Chorus Pro", "650.00")


@pytest.mark.parametrize("slug", ["inconnue", "formation-brouillon", "formation-archivee"])
def test_unknown_unpublished_or_archived_course_is_404(client, world, tokens, slug):
    from trainingmgr.catalogue.services import set_course_status

    _draft_course(world.users)
    archived = _draft_course(world.users, slug="formation-archivee", title="Formation archivée")
    set_course_status(archived, "archived")
    db.session.commit()
    for headers in ({}, bearer(tokens["advisor"])):
        response = client.get(f"{API}/courses/{slug}", headers=headers)
        assert_error(response, 404, "not_found", "Cette formation n'existe pas ou n'est pas publiée.", {})


@pytest.mark.parametrize("path", [f"{API}/courses/a%00b", f"{API}/courses/{CHORUS}%00"])
def test_nul_character_in_the_path_is_a_400(client, world, tokens, path):
    for headers in ({}, bearer(tokens["advisor"])):
        assert_error(client.get(path, headers=headers), 400, "bad_request", NUL, {})


def test_course_list_does_not_grow_in_queries_with_courses(client, world, count_queries):
    with count_queries() as two:
        assert client.get(f"{API}/courses").status_code == 200
    from trainingmgr.catalogue.services import set_course_status

    for n in range(3):
        set_course_status(_draft_course(world.users, slug=f"formation-{n}", title=f"Formation {n}"), "published")
    db.session.commit()
    with count_queries() as five:
        assert len(client.get(f"{API}/courses").get_json()) == 5
    assert five.count == two.count


# --------------------------------------------------------------------------- one session


def test_public_session_detail(client, world, make_session):
    session = make_session()
    set_status(session, "open")
    response = client.get(f"{API}/sessions/{session.id}")
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == PUBLIC_SESSION_KEYS | {"slots"}
    slots = body.pop("slots")
    assert body == {
        "id": session.id, "course_slug": CHORUS, "course_title": "Chorus Pro", "course_version": 1,
        "status": "open", "status_label": "Inscriptions ouvertes", "format": "inter", "delivery_mode": "presentiel",
        "location": {"id": world.room.id, "name": "Salle Capitole", "is_remote": False, "address": "1 rue A",
                     "postal_code": "31000", "city": "Toulouse", "wheelchair_access": False},
        "trainers": [{"id": world.pierre.id, "name": "Pierre Formateur"}],
        "capacity": 7, "min_trainees": 1, "seats_left": 7,
        "price_per_trainee": "600.00", "intra_price": None,
        "first_date": "2031-03-03", "last_date": "2031-03-03", "planned_hours": "7.00",
        "ics_url": f"http://localhost/catalogue/chorus-pro/sessions/{session.id}.ics",
    }
    assert slots == [
        {"id": session.slots[0].id, "session_id": session.id, "date": "2031-03-03", "start_time": "09:00",
         "end_time": "12:30", "half_day": "morning", "hours": "3.50", "location_id": world.room.id,
         "trainer_id": world.pierre.id, "trainer_name": "Pierre Formateur", "modality": "room",
         "modality_label": "En salle", "meeting_url": "", "activity": "", "quiz_id": None},
        {"id": session.slots[1].id, "session_id": session.id, "date": "2031-03-03", "start_time": "13:30",
         "end_time": "17:00", "half_day": "afternoon", "hours": "3.50", "location_id": world.room.id,
         "trainer_id": world.pierre.id, "trainer_name": "Pierre Formateur", "modality": "room",
         "modality_label": "En salle", "meeting_url": "", "activity": "", "quiz_id": None},
    ]


def test_public_session_shows_its_own_capacity_and_seats_left(client, world, make_session):
    session = make_session(course=world.dume, capacity=5, min_trainees=2)
    set_status(session, "confirmed")
    body = client.get(f"{API}/sessions/{session.id}").get_json()
    assert (body["capacity"], body["min_trainees"], body["seats_left"]) == (5, 2, 5)
    assert body["price_per_trainee"] == "600.00"
    assert body["planned_hours"] == "8.00"
    assert [(s["start_time"], s["end_time"]) for s in body["slots"]] == [("08:30", "12:30"), ("13:30", "17:30")]


def test_public_session_hides_what_is_private(client, world, make_session):
    """Notes, warnings, the client company, the meeting link and the room's private details stay private."""
    session = make_session(location=world.remote, delivery_mode="distanciel", notes="Code porte 1234")
    set_status(session, "open")
    response = client.get(f"{API}/sessions/{session.id}")
    body = response.get_json()
    assert set(body["location"]) == PUBLIC_LOCATION_KEYS
    assert body["location"]["is_remote"] is True
    text = response.get_data(as_text=True)
    for secret in ("visio.example.com", "Code porte 1234", "warnings", "notes", "client_company_id"):
        assert secret not in text
    listed = client.get(f"{API}/sessions").get_json()
    assert set(listed[0]) == PUBLIC_SESSION_KEYS
    assert "visio.example.com" not in client.get(f"{API}/sessions").get_data(as_text=True)


@pytest.mark.parametrize("status", ["draft", "completed", "closed", "cancelled"])
def test_non_public_session_is_404_to_the_public_but_shown_to_the_advisor(client, world, make_session, tokens,
                                                                            status):
    session = make_session()
    set_status(session, status)
    for headers in ({}, bearer(tokens["trainer"])):
        assert_error(client.get(f"{API}/sessions/{session.id}", headers=headers), 404, "not_found",
                     "Session introuvable.", {})
    response = client.get(f"{API}/sessions/{session.id}", headers=bearer(tokens["advisor"]))
    assert response.status_code == 200
    assert response.get_json()["status"] == status
    assert response.get_json()["ics_url"] is None


@pytest.mark.parametrize("status", ["open", "confirmed", "in_progress"])
def test_public_statuses_are_shown(client, world, make_session, status):
    session = make_session()
    set_status(session, status)
    body = client.get(f"{API}/sessions/{session.id}").get_json()
    assert body["status"] == status
    # The calendar file exists for sessions one can still enrol in or attend.
    assert (body["ics_url"] is not None) == (status in ("open", "confirmed"))


@pytest.mark.parametrize("course_status", ["draft", "archived"])
def test_session_of_unpublished_course_is_hidden_from_the_public(client, world, make_session, tokens,
                                                                   course_status):
    from trainingmgr.catalogue.services import set_course_status

    chorus_session = make_session()
    dume_session = make_session(course=world.dume, start=MONDAY + dt.timedelta(days=1))
    set_status(chorus_session, "open")
    set_status(dume_session, "open")
    set_course_status(world.chorus, course_status)
    db.session.commit()

    assert_error(client.get(f"{API}/sessions/{chorus_session.id}"), 404, "not_found", "Session introuvable.")
    assert ids(client.get(f"{API}/sessions")) == [dume_session.id]
    assert ids(client.get(f"{API}/sessions?course={CHORUS}")) == []

    staff = bearer(tokens["advisor"])
    assert client.get(f"{API}/sessions/{chorus_session.id}", headers=staff).status_code == 200
    assert ids(client.get(f"{API}/sessions", headers=staff)) == [chorus_session.id, dume_session.id]
    assert ids(client.get(f"{API}/sessions?course={CHORUS}", headers=staff)) == [chorus_session.id]


def test_intra_session_is_never_public(client, world, make_session, tokens):
    intra = make_session(format="intra", client_company_id=world.company.id)
    inter = make_session(start=MONDAY + dt.timedelta(days=1))
    set_status(intra, "confirmed")
    set_status(inter, "confirmed")
    for headers in ({}, bearer(tokens["trainer"])):
        assert_error(client.get(f"{API}/sessions/{intra.id}", headers=headers), 404, "not_found",
                     "Session introuvable.", {})
        assert ids(client.get(f"{API}/sessions", headers=headers)) == [inter.id]
    staff = bearer(tokens["advisor"])
    assert client.get(f"{API}/sessions/{intra.id}", headers=staff).get_json()["format"] == "intra"
    assert ids(client.get(f"{API}/sessions", headers=staff)) == [intra.id, inter.id]


def test_version_date_is_the_paris_date(client, world):
    # 23:30 UTC on 31 December 2030 is already 1 January 2031 in Paris (UTC+1).
    world.chorus.current_version.created_at = dt.datetime(2030, 12, 31, 23, 30, tzinfo=dt.timezone.utc)
    db.session.commit()
    assert client.get(f"{API}/courses/{CHORUS}").get_json()["version_date"] == "2031-01-01"
    listed = {c["slug"]: c for c in client.get(f"{API}/courses").get_json()}
    assert listed[CHORUS]["version_date"] == "2031-01-01"


@pytest.mark.parametrize("path", ["/sessions/999", "/sessions/0", "/sessions/99999999999999999999"])
def test_unknown_session_is_404(client, world, tokens, path):
    for headers in ({}, bearer(tokens["advisor"])):
        assert_error(client.get(API + path, headers=headers), 404, "not_found", "Session introuvable.", {})


# --------------------------------------------------------------------------- the list and its filters


@pytest.fixture
def week(world, make_session):
    """Sessions in every status: which ones the public and the advisor see, soonest first."""
    made = {}
    statuses = ["open", "draft", "confirmed", "in_progress", "completed", "closed", "cancelled"]
    for n, status in enumerate(statuses):
        session = make_session(start=MONDAY + dt.timedelta(weeks=n))
        set_status(session, status)
        made[status] = session
    return made


def test_public_list_shows_open_confirmed_and_in_progress_sessions_soonest_first(client, week):
    assert ids(client.get(f"{API}/sessions")) == [week["open"].id, week["confirmed"].id, week["in_progress"].id]


def test_advisor_list_shows_every_session(client, week, staff):
    assert ids(client.get(f"{API}/sessions", headers=staff)) == [
        week[s].id for s in ["open", "draft", "confirmed", "in_progress", "completed", "closed", "cancelled"]]


def test_trainer_token_sees_the_public_list(client, week, trainer_auth):
    assert ids(client.get(f"{API}/sessions", headers=trainer_auth)) == [
        week["open"].id, week["confirmed"].id, week["in_progress"].id]


def test_list_filter_by_status(client, week, staff):
    assert ids(client.get(f"{API}/sessions?status=confirmed")) == [week["confirmed"].id]
    assert ids(client.get(f"{API}/sessions?status=draft")) == []  # not public, whatever the filter
    assert ids(client.get(f"{API}/sessions?status=cancelled")) == []
    assert ids(client.get(f"{API}/sessions?status=draft", headers=staff)) == [week["draft"].id]
    assert ids(client.get(f"{API}/sessions?status=cancelled", headers=staff)) == [week["cancelled"].id]


@pytest.fixture
def spread(world, make_session):
    """Chorus Pro on MONDAY and MONDAY+14, the DUME course on MONDAY+7, a draft Chorus Pro on MONDAY+1."""
    a = make_session(start=MONDAY)
    b = make_session(course=world.dume, start=MONDAY + dt.timedelta(days=7))
    c = make_session(start=MONDAY + dt.timedelta(days=14))
    draft = make_session(start=MONDAY + dt.timedelta(days=1))
    set_status(a, "open")
    set_status(b, "confirmed")
    set_status(c, "open")
    return a, b, c, draft


def test_list_filter_by_course_slug(client, spread, staff):
    a, b, c, draft = spread
    assert ids(client.get(f"{API}/sessions?course={CHORUS}")) == [a.id, c.id]
    assert ids(client.get(f"{API}/sessions?course={DUME}")) == [b.id]
    assert ids(client.get(f"{API}/sessions?course=inconnue")) == []
    assert ids(client.get(f"{API}/sessions?course=")) == [a.id, b.id, c.id]
    assert ids(client.get(f"{API}/sessions?course={CHORUS}", headers=staff)) == [a.id, draft.id, c.id]


def test_list_filter_by_dates_is_inclusive(client, spread):
    a, b, c, _ = spread
    day = lambda n: (MONDAY + dt.timedelta(days=n)).isoformat()  # noqa: E731
    assert ids(client.get(f"{API}/sessions?from={day(0)}")) == [a.id, b.id, c.id]
    assert ids(client.get(f"{API}/sessions?from={day(1)}")) == [b.id, c.id]
    assert ids(client.get(f"{API}/sessions?to={day(7)}")) == [a.id, b.id]
    assert ids(client.get(f"{API}/sessions?to={day(6)}")) == [a.id]
    assert ids(client.get(f"{API}/sessions?from={day(7)}&to={day(7)}")) == [b.id]
    assert ids(client.get(f"{API}/sessions?from={day(8)}&to={day(13)}")) == []
    assert ids(client.get(f"{API}/sessions?from={day(15)}")) == []


def test_list_filters_combine(client, spread, staff):
    a, b, c, draft = spread
    monday1 = (MONDAY + dt.timedelta(days=1)).isoformat()
    assert ids(client.get(f"{API}/sessions?course={CHORUS}&status=open&from={monday1}")) == [c.id]
    assert ids(client.get(f"{API}/sessions?course={DUME}&status=open")) == []
    assert ids(client.get(f"{API}/sessions?course={CHORUS}&status=draft&to={monday1}", headers=staff)) == [draft.id]


def test_date_filter_matches_any_slot_of_a_session_over_several_days(client, world, make_session):
    from trainingmgr.sessions.services import add_slot

    session = make_session()
    add_slot(session, {"date": MONDAY + dt.timedelta(days=2), "start_time": dt.time(9), "end_time": dt.time(12)})
    set_status(session, "open")
    wednesday = (MONDAY + dt.timedelta(days=2)).isoformat()
    tuesday = (MONDAY + dt.timedelta(days=1)).isoformat()
    assert ids(client.get(f"{API}/sessions?from={tuesday}")) == [session.id]
    assert ids(client.get(f"{API}/sessions?to={MONDAY.isoformat()}")) == [session.id]
    assert ids(client.get(f"{API}/sessions?from={tuesday}&to={tuesday}")) == [session.id]  # a slot before, one after
    body = client.get(f"{API}/sessions?from={wednesday}").get_json()[0]
    assert (body["first_date"], body["last_date"], body["planned_hours"]) == ("2031-03-03", wednesday, "10.00")


def test_public_list_without_from_starts_today(client, world, make_session, tokens):
    """Without "from", the public list only shows sessions with a slot from today (Paris) on; the advisor's
    list and an explicit "from" still reach the older ones."""
    past = make_session(start=dt.date(2020, 1, 6))
    upcoming = make_session()
    set_status(past, "in_progress")
    set_status(upcoming, "open")
    for headers in ({}, bearer(tokens["trainer"])):
        assert ids(client.get(f"{API}/sessions", headers=headers)) == [upcoming.id]
        assert ids(client.get(f"{API}/sessions?from=2020-01-01", headers=headers)) == [past.id, upcoming.id]
        assert ids(client.get(f"{API}/sessions?to=2020-12-31", headers=headers)) == []
    assert ids(client.get(f"{API}/sessions", headers=bearer(tokens["advisor"]))) == [past.id, upcoming.id]


def test_list_refuses_from_after_to(client, world, tokens):
    message = "La date « from » doit précéder la date « to »."
    for headers in ({}, bearer(tokens["advisor"])):
        response = client.get(f"{API}/sessions?from=2031-03-10&to=2031-03-03", headers=headers)
        assert_error(response, 422, "validation_error", message, {"from": [message]})
    assert ids(client.get(f"{API}/sessions?from=2031-03-03&to=2031-03-03")) == []  # the same day is fine


@pytest.mark.parametrize("query, field, message", [
    ("from=abc", "from", "Date invalide (format AAAA-MM-JJ)."),
    ("to=2031-02-30", "to", "Date invalide (format AAAA-MM-JJ)."),
    ("from=03/03/2031", "from", "Date invalide (format AAAA-MM-JJ)."),
    ("status=bogus", "status",
     "Valeur attendue parmi : draft, open, confirmed, in_progress, completed, closed, cancelled."),
])
def test_list_refuses_bad_filters(client, world, tokens, query, field, message):
    for headers in ({}, bearer(tokens["advisor"])):
        assert_error(client.get(f"{API}/sessions?{query}", headers=headers), 422, "validation_error", INVALID,
                     {field: [message]})


@pytest.mark.parametrize("query", ["course=a%00b", "status=open%00", "a%00=1"])
def test_list_refuses_a_nul_character_in_the_query_string(client, world, tokens, query):
    for headers in ({}, bearer(tokens["advisor"])):
        assert_error(client.get(f"{API}/sessions?{query}", headers=headers), 400, "bad_request", NUL, {})


def test_list_query_count_does_not_grow_with_sessions(client, world, make_session, count_queries, tokens):
    staff = bearer(tokens["advisor"])
    client.get(f"{API}/sessions", headers=staff)  # the token's first use is written down
    set_status(make_session(), "open")
    with count_queries() as one:
        assert len(client.get(f"{API}/sessions").get_json()) == 1
    with count_queries() as one_staff:
        assert len(client.get(f"{API}/sessions", headers=staff).get_json()) == 1
    for n in range(1, 5):
        set_status(make_session(start=MONDAY + dt.timedelta(weeks=n),
                                trainer=world.paula if n % 2 else world.pierre), "open")
    with count_queries() as five:
        assert len(client.get(f"{API}/sessions").get_json()) == 5
    with count_queries() as five_staff:
        assert len(client.get(f"{API}/sessions", headers=staff).get_json()) == 5
    assert five.count == one.count
    assert five_staff.count == one_staff.count
