"""Catalogue rules called directly, as the JSON API and the demo loader call them (no form in front)."""
from __future__ import annotations

from decimal import Decimal

import pytest

from trainingmgr.catalogue.services import (
    clean_course_data,
    create_course,
    programme_outline,
    update_course,
    version_as_form_data,
)
from trainingmgr.core.errors import ConflictError, ValidationError
from trainingmgr.demo.seeds import CHORUS_PRO, DUME_CHORUS_PRO
from trainingmgr.extensions import db

from tests.catalogue.coursedata import catalogue_counts


def errors_of(data: dict) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        clean_course_data(data)
    return caught.value.fields


def test_seed_data_is_valid_as_it_is():
    for seed in (CHORUS_PRO, DUME_CHORUS_PRO):
        clean = clean_course_data(seed)
        assert clean["title"] == seed["title"]
        assert [p.title for p in clean["programme"]] == [p["title"] for p in seed["programme"]]


def test_programme_part_title_longer_than_its_column_is_refused(app):
    """ProgrammePart.title is VARCHAR(300): PostgreSQL would fail with a DataError (a 500)."""
    programme = [{"title": "x" * 301, "items": ["a"]}]
    assert errors_of({**DUME_CHORUS_PRO, "programme": programme})["programme-0-title"] == [
        "Le titre d'une partie ne doit pas dépasser 300 caractères."]


def test_duration_in_days_larger_than_its_column_is_refused(app):
    """CourseVersion.duration_days is NUMERIC(6, 2): PostgreSQL would fail with a DataError (a 500)."""
    assert errors_of({**DUME_CHORUS_PRO, "duration_days": Decimal("100000")})["duration_days"] == [
        "La durée en jours doit être inférieure à 1000 jours."]
    assert clean_course_data({**DUME_CHORUS_PRO, "duration_days": Decimal("1000")})["duration_days"] == 1000


def test_long_programme_title_through_the_service_saves_nothing(app, users):
    before = catalogue_counts()
    with pytest.raises(ValidationError):
        create_course({**DUME_CHORUS_PRO, "programme": [{"title": "y" * 400, "items": []}]}, users["advisor"])
    db.session.rollback()
    assert catalogue_counts() == before


def test_content_and_slug_errors_come_together(app, users):
    create_course(CHORUS_PRO, users["advisor"], slug="chorus-pro")
    db.session.commit()
    with pytest.raises(ValidationError) as caught:
        create_course({**CHORUS_PRO, "max_trainees": 0}, users["advisor"], slug="chorus-pro")
    assert set(caught.value.fields) == {"max_trainees", "slug"}
    db.session.rollback()
    # Alone, a taken slug is still a conflict (409 for the API).
    with pytest.raises(ConflictError):
        create_course(CHORUS_PRO, users["advisor"], slug="chorus-pro")
    db.session.rollback()


def test_update_of_an_archived_course_is_refused(app, users):
    from trainingmgr.catalogue.services import set_course_status

    course = create_course(DUME_CHORUS_PRO, users["advisor"], slug="dume")
    set_course_status(course, "archived")
    db.session.commit()
    with pytest.raises(ValidationError, match="archivée"):
        update_course(course, version_as_form_data(course.current_version), users["advisor"])


def test_programme_outline_groups_days_and_half_days(app, users):
    programme = [
        {"title": "A", "items": [], "day": 1, "half_day": "morning"},
        {"title": "B", "items": [], "day": 1, "half_day": "morning"},
        {"title": "C", "items": [], "day": 1, "half_day": "afternoon"},
        {"title": "D", "items": [], "day": 2, "half_day": "morning"},
        {"title": "E", "items": [], "day": 2},
        {"title": "F", "items": []},
    ]
    course = create_course({**DUME_CHORUS_PRO, "programme": programme}, users["advisor"])
    db.session.flush()
    outline = [(d["heading"], [(h["heading"], [p.title for p in h["parts"]]) for h in d["halves"]])
               for d in programme_outline(course.current_version)]
    assert outline == [
        ("Jour 1", [("Matin", ["A", "B"]), ("Après-midi", ["C"])]),
        ("Jour 2", [("Matin", ["D"]), ("", ["E"])]),
        ("", [("", ["F"])]),
    ]
