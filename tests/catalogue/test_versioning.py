"""Course versions and statuses, through the advisor screens.

A draft course that no session uses is edited in place; once published (or used by a session) its
version is frozen and an edit makes version N+1, while existing sessions keep the version they promised."""
from __future__ import annotations

import datetime as dt

import pytest

from trainingmgr.catalogue.services import create_course, set_course_status
from trainingmgr.demo.seeds import DUME_CHORUS_PRO
from trainingmgr.extensions import db

from tests.catalogue.coursedata import catalogue_counts
from tests.catalogue.pagetools import browser_form_data, field_errors, form_errors, page_of
from tests.helpers import MONDAY


def edit(client, course, **changes):
    data = browser_form_data(page_of(client.get(f"/courses/{course.id}/edit")))
    data.update(changes)
    return client.post(f"/courses/{course.id}/edit", data=data)


def change_status(client, course, status):
    return client.post(f"/courses/{course.id}/status", data={"status": status})


def fresh(course):
    db.session.expire_all()
    return course


@pytest.fixture
def draft(world):
    course = create_course({**DUME_CHORUS_PRO, "title": "Atelier DUME"}, world.users["advisor"], slug="atelier-dume")
    db.session.commit()
    return course


# --------------------------------------------------------------------------- versions


def test_editing_a_draft_without_session_edits_in_place(world_advisor, draft):
    first_id = draft.current_version_id
    response = edit(world_advisor, draft, title="Atelier DUME (nouvelle formule)")
    assert response.status_code == 302
    fresh(draft)
    assert [v.number for v in draft.versions] == [1]
    assert draft.current_version_id == first_id
    assert draft.current_version.title == "Atelier DUME (nouvelle formule)"
    assert not draft.current_version.is_frozen


def test_editing_a_published_course_makes_version_2(world_advisor, world):
    chorus = world.chorus
    first = chorus.current_version
    response = edit(world_advisor, chorus, title="Chorus Pro : déposer ses factures", tagline="Nouvelle accroche")
    assert response.status_code == 302
    follow = page_of(world_advisor.get(response.headers["Location"]))
    assert ("Nouvelle version 2 enregistrée ; les sessions déjà planifiées gardent la leur."
            in follow.text)
    fresh(chorus)
    assert [v.number for v in chorus.versions] == [1, 2]
    assert chorus.current_version.number == 2
    assert chorus.current_version.is_frozen  # published with it
    assert chorus.current_version.title == "Chorus Pro : déposer ses factures"
    assert first.title == "Chorus Pro" and first.tagline == ""
    # The children were copied, not moved.
    assert len(first.objectives) == len(chorus.current_version.objectives) == 5
    assert len(first.programme) == len(chorus.current_version.programme) == 11
    # Editing again makes version 3.
    assert edit(world_advisor, chorus, tagline="Encore").status_code == 302
    assert [v.number for v in fresh(chorus).versions] == [1, 2, 3]


def test_edit_form_warns_that_a_new_version_will_be_made(world_advisor, world, draft):
    assert "l'enregistrement crée la version 2" in page_of(world_advisor.get(f"/courses/{world.chorus.id}/edit")).text
    assert "l'enregistrement crée la version" not in page_of(world_advisor.get(f"/courses/{draft.id}/edit")).text


def test_public_sheet_shows_the_new_version_and_keeps_the_old_one(world_advisor, client, world):
    edit(world_advisor, world.chorus, title="Chorus Pro : déposer ses factures")
    current = page_of(client.get("/catalogue/chorus-pro"))
    assert current.find("h1").text == "Chorus Pro : déposer ses factures"
    assert "Programme version 2," in current.text
    old = client.get("/catalogue/chorus-pro/versions/1")
    assert old.status_code == 200
    old_page = page_of(old)
    assert old_page.find("h1").text == "Chorus Pro"
    assert "Programme version 1," in old_page.text
    assert "Version 1 du programme." in old_page.text
    assert old_page.find("a", href="/catalogue/chorus-pro") is not None
    latest = page_of(client.get("/catalogue/chorus-pro/versions/2"))
    assert latest.find("h1").text == "Chorus Pro : déposer ses factures"
    assert "Version 2 du programme." not in latest.text
    assert client.get("/catalogue/chorus-pro/versions/3").status_code == 404


def test_session_keeps_its_version_when_the_course_is_edited(world_advisor, client, world, open_session):
    session = open_session()
    v1 = session.course_version_id
    assert edit(world_advisor, world.chorus, title="Chorus Pro 2031").status_code == 302
    fresh(world.chorus)
    db.session.refresh(session)
    assert session.course_version_id == v1
    assert world.chorus.current_version_id != v1
    # The public sheet offers that session with a link to its own programme.
    box = page_of(client.get("/catalogue/chorus-pro")).find(data_session=str(session.id))
    link = box.find("a", href="/catalogue/chorus-pro/versions/1")
    assert link is not None and "version 1" in link.text
    # The advisor's course page says so too.
    assert "(version 1)" in page_of(world_advisor.get(f"/courses/{world.chorus.id}")).text


def test_editing_a_draft_used_by_a_session_makes_a_new_unfrozen_version(world_advisor, world, draft, make_session):
    session = make_session(course=draft)
    fresh(draft)
    assert draft.current_version.is_frozen  # a session was scheduled on it
    assert edit(world_advisor, draft, title="Atelier DUME v2").status_code == 302
    fresh(draft)
    assert [v.number for v in draft.versions] == [1, 2]
    assert not draft.current_version.is_frozen  # not published: still a working copy
    db.session.refresh(session)
    assert session.course_version.number == 1
    assert session.course_version.title == "Atelier DUME"
    # Editing the working copy again stays on version 2.
    assert edit(world_advisor, draft, title="Atelier DUME v2 bis").status_code == 302
    fresh(draft)
    assert [v.number for v in draft.versions] == [1, 2]
    assert draft.current_version.title == "Atelier DUME v2 bis"


def test_back_to_draft_then_edit_then_publish(world_advisor, world):
    dume = world.dume
    assert change_status(world_advisor, dume, "draft").status_code == 302
    assert edit(world_advisor, dume, audience="Assistants de cabinets d'architecture").status_code == 302
    fresh(dume)
    assert [v.number for v in dume.versions] == [1, 2]
    assert not dume.current_version.is_frozen
    assert edit(world_advisor, dume, audience="Assistants et comptables").status_code == 302
    assert [v.number for v in fresh(dume).versions] == [1, 2]
    assert change_status(world_advisor, dume, "published").status_code == 302
    fresh(dume)
    assert dume.status == "published"
    assert dume.current_version.is_frozen
    assert dume.current_version.audience == "Assistants et comptables"


def test_advisor_can_read_every_version(world_advisor, world):
    edit(world_advisor, world.chorus, title="Chorus Pro 2031")
    old = page_of(world_advisor.get(f"/courses/{world.chorus.id}/versions/1"))
    assert old.find("h1").text == "Chorus Pro"
    assert "Version affichée : 1" in old.text
    current = page_of(world_advisor.get(f"/courses/{world.chorus.id}"))
    assert "Version affichée : 2 (en vigueur)" in current.text
    assert world_advisor.get(f"/courses/{world.chorus.id}/versions/9").status_code == 404


# --------------------------------------------------------------------------- statuses


def test_publish_a_draft_puts_it_in_the_catalogue(world_advisor, client, draft):
    assert client.get("/catalogue/atelier-dume").status_code == 404
    response = change_status(world_advisor, draft, "published")
    assert response.status_code == 302
    assert "Formation « Atelier DUME » : publiée." in page_of(world_advisor.get(response.headers["Location"])).text
    fresh(draft)
    assert draft.status == "published" and draft.current_version.is_frozen
    assert client.get("/catalogue/atelier-dume").status_code == 200


def test_back_to_draft_removes_it_from_the_catalogue(world_advisor, client, world):
    assert change_status(world_advisor, world.chorus, "draft").status_code == 302
    assert fresh(world.chorus).status == "draft"
    assert client.get("/catalogue/chorus-pro").status_code == 404


def test_archive_then_back_to_draft(world_advisor, client, world):
    assert change_status(world_advisor, world.dume, "archived").status_code == 302
    assert fresh(world.dume).status == "archived"
    assert client.get("/catalogue/marches-publics-dume-et-chorus-pro").status_code == 404
    # Archived → published directly is refused.
    response = change_status(world_advisor, world.dume, "published")
    assert response.status_code == 302
    assert ("Ce changement de statut n'est pas possible pour cette formation."
            in page_of(world_advisor.get(response.headers["Location"])).text)
    assert fresh(world.dume).status == "archived"
    assert change_status(world_advisor, world.dume, "draft").status_code == 302
    assert fresh(world.dume).status == "draft"


def test_same_status_is_refused(world_advisor, world):
    response = change_status(world_advisor, world.chorus, "published")
    assert "Ce changement de statut n'est pas possible" in page_of(world_advisor.get(response.headers["Location"])).text
    assert fresh(world.chorus).status == "published"


def test_unknown_status_is_a_bad_request(world_advisor, world):
    assert change_status(world_advisor, world.chorus, "supprimee").status_code == 400
    assert fresh(world.chorus).status == "published"


def test_course_page_offers_only_allowed_transitions(world_advisor, world):
    page = page_of(world_advisor.get(f"/courses/{world.chorus.id}"))
    targets = sorted(i.attrs["value"] for i in page.find_all("input", name="status"))
    assert targets == ["archived", "draft"]
    assert page.find("a", href=f"/courses/{world.chorus.id}/edit") is not None
    set_course_status(world.chorus, "archived")
    db.session.commit()
    page = page_of(world_advisor.get(f"/courses/{world.chorus.id}"))
    assert [i.attrs["value"] for i in page.find_all("input", name="status")] == ["draft"]
    assert page.find("a", href=f"/courses/{world.chorus.id}/edit") is None


def test_archived_course_cannot_be_edited(world_advisor, world):
    set_course_status(world.dume, "archived")
    db.session.commit()
    before = catalogue_counts()
    # The edit page sends back to the course page with the reason.
    response = world_advisor.get(f"/courses/{world.dume.id}/edit")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/courses/{world.dume.id}")
    shown = page_of(world_advisor.get(response.headers["Location"])).text
    assert "Une formation archivée ne peut plus être modifiée" in shown
    # A form posted anyway is refused with the reason and changes nothing.
    set_course_status(world.dume, "draft")
    db.session.commit()
    data = browser_form_data(page_of(world_advisor.get(f"/courses/{world.dume.id}/edit")))
    set_course_status(world.dume, "archived")
    db.session.commit()
    data["title"] = "Titre changé"
    response = world_advisor.post(f"/courses/{world.dume.id}/edit", data=data)
    assert response.status_code == 422
    assert any("Une formation archivée ne peut plus être modifiée : remettez-la d'abord en brouillon." in m
               for m in form_errors(page_of(response)))
    assert catalogue_counts() == before
    assert fresh(world.dume).current_version.title == "Marchés publics : DUME et Chorus Pro"


def test_archived_course_accepts_no_new_session(world_advisor, world):
    from trainingmgr.core.errors import ValidationError
    from trainingmgr.sessions.services import create_session

    set_course_status(world.dume, "archived")
    db.session.commit()
    with pytest.raises(ValidationError, match="archivée"):
        create_session({"course_id": world.dume.id, "start_date": MONDAY + dt.timedelta(days=1),
                        "location_id": world.room.id, "trainer_ids": [world.pierre.id]}, world.users["advisor"])
    db.session.rollback()


def test_invalid_edit_of_a_published_course_makes_no_version(world_advisor, world):
    before = catalogue_counts()
    response = edit(world_advisor, world.chorus, max_trainees="0")
    assert response.status_code == 422
    assert "max_trainees" in field_errors(page_of(response))
    assert catalogue_counts() == before
    assert [v.number for v in fresh(world.chorus).versions] == [1]
