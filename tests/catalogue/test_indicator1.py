"""Qualiopi indicator 1: what the published sheet must state, and what ``indicator1_gaps`` reports missing."""
from __future__ import annotations

from decimal import Decimal

import pytest

from trainingmgr.catalogue.services import create_course, indicator1_gaps, update_course, version_as_form_data
from trainingmgr.demo.seeds import CHORUS_PRO, DUME_CHORUS_PRO
from trainingmgr.extensions import db
from trainingmgr.organisation.services import get_organisation, update_organisation

from tests.catalogue.pagetools import page_of

ALL_GAPS = [
    "le public visé", "les prérequis", "les objectifs", "le programme", "les méthodes pédagogiques",
    "les modalités d'évaluation", "le tarif", "les modalités et délais d'accès",
    "l'accessibilité aux personnes en situation de handicap", "un contact",
]


def gaps_of(course) -> list[str]:
    return indicator1_gaps(course.current_version, get_organisation())


def test_dume_seed_lacks_only_the_audience(world):
    assert gaps_of(world.dume) == ["le public visé"]


def test_chorus_seed_lacks_only_the_price(world):
    assert gaps_of(world.chorus) == ["le tarif"]


def test_an_intra_price_is_a_price(world):
    data = version_as_form_data(world.chorus.current_version)
    data["intra_group_price"] = Decimal("2400")
    update_course(world.chorus, data, world.users["advisor"])
    db.session.commit()
    assert gaps_of(world.chorus) == []


def test_filling_the_audience_closes_the_gap(world):
    data = version_as_form_data(world.dume.current_version)
    data["audience"] = "Assistants et comptables de cabinets d'architecture"
    update_course(world.dume, data, world.users["advisor"])
    db.session.commit()
    assert gaps_of(world.dume) == []


def test_a_bare_course_without_organisation_lacks_everything(app, users):
    course = create_course({"title": "Coquille vide", "duration_hours": "7", "min_trainees": 1, "max_trainees": 8,
                            "prerequisites_none": True, "daily_pattern": "09:00-12:30"}, users["advisor"])
    db.session.commit()
    # No organisation row yet: no default texts and no contact.
    gaps = indicator1_gaps(course.current_version, get_organisation())
    assert gaps == [g for g in ALL_GAPS if g != "les prérequis"]


def test_organisation_texts_and_contact_count(app, users):
    course = create_course({**DUME_CHORUS_PRO, "audience": "Tous publics"}, users["advisor"])
    db.session.commit()
    assert indicator1_gaps(course.current_version, get_organisation()) == [
        "les modalités et délais d'accès", "l'accessibilité aux personnes en situation de handicap", "un contact"]
    update_organisation({"name": "Organisme", "phone": "05 61 00 00 00"})
    db.session.commit()
    assert indicator1_gaps(course.current_version, get_organisation()) == [
        "les modalités et délais d'accès", "l'accessibilité aux personnes en situation de handicap"]
    update_organisation({"access_delay_policy": "Sous 15 jours.", "accessibility_policy": "Locaux accessibles."})
    db.session.commit()
    assert indicator1_gaps(course.current_version, get_organisation()) == []


@pytest.mark.parametrize("field, value, gap", [
    ("objectives", [], "les objectifs"),
    ("programme", [], "le programme"),
    ("teaching_methods", "", "les méthodes pédagogiques"),
    ("assessment_methods", [], "les modalités d'évaluation"),
])
def test_each_missing_item_is_reported(world, field, value, gap):
    course = create_course({**CHORUS_PRO, "price_per_trainee": Decimal("600"), field: value}, world.users["advisor"],
                           slug="variante")
    db.session.commit()
    assert gaps_of(course) == [gap]


def test_gaps_are_shown_to_the_advisor(world_advisor, world):
    index = page_of(world_advisor.get("/courses/"))
    rows = {row.find("a").text: row.text for row in index.find_all("tr") if row.find("a")}
    assert "Manque : le tarif" in rows["Chorus Pro"]
    assert "Manque : le public visé" in rows["Marchés publics : DUME et Chorus Pro"]
    sheet = page_of(world_advisor.get(f"/courses/{world.dume.id}"))
    warning = sheet.find(class_="alert-warning")
    assert warning is not None
    assert warning.text == "Qualiopi, indicateur 1 : la fiche publiée ne précise pas le public visé."


def test_complete_course_is_marked_complete(world_advisor, world):
    data = version_as_form_data(world.dume.current_version)
    data["audience"] = "Tous publics"
    update_course(world.dume, data, world.users["advisor"])
    db.session.commit()
    index = page_of(world_advisor.get("/courses/"))
    row = next(r for r in index.find_all("tr") if r.find("a") and r.find("a").text.startswith("Marchés"))
    assert "Complet" in row.text
    assert page_of(world_advisor.get(f"/courses/{world.dume.id}")).find(class_="alert-warning") is None
