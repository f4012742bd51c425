"""The advisor's course form (/courses/new, /courses/<id>/edit): what it saves, and the French errors it
shows beside the fields when the input is wrong (422, nothing saved)."""
from __future__ import annotations

from decimal import Decimal

import pytest

from trainingmgr.catalogue.services import version_as_form_data
from trainingmgr.extensions import db

from tests.catalogue.coursedata import catalogue_counts, course_by_slug, course_form_data
from tests.catalogue.pagetools import HTML_FLOAT, browser_form_data, field_errors, form_errors, page_of

DECIMAL_FIELDS = ("duration_hours", "duration_days", "price_per_trainee", "intra_group_price")


def post_new(client, **overrides):
    return client.post("/courses/new", data=course_form_data(**overrides))


# --------------------------------------------------------------------------- creating


def test_new_course_form_is_blank_with_rows_to_fill(world_advisor):
    response = world_advisor.get("/courses/new")
    assert response.status_code == 200
    data = browser_form_data(page_of(response))
    for name in ("programme-0-title", "programme-0-items", "programme-0-day", "programme-0-half_day",
                 "programme-2-title", "labels-0-name", "labels-0-description", "objectives"):
        assert data[name] == ""
    assert "prerequisites_none" not in data  # unticked
    assert data["daily_pattern"] == "09:00-12:30 13:30-17:00"
    assert data["min_trainees"] == "1"


def test_create_course_through_the_form(world_advisor, world):
    before = catalogue_counts()
    response = post_new(world_advisor)
    assert response.status_code == 302
    course = course_by_slug("facturation-electronique-2026")
    assert course is not None
    assert response.headers["Location"].endswith(f"/courses/{course.id}")
    assert course.status == "draft"
    assert catalogue_counts() == (before[0] + 1, before[1] + 1, before[2] + 3, before[3] + 2)
    v = course.current_version
    assert v.number == 1 and not v.is_frozen
    assert v.title == "Facturation électronique 2026"
    assert v.tagline == "Se préparer à la réforme de la facturation"
    assert (v.duration_hours, v.duration_days) == (Decimal("7.00"), Decimal("1.00"))
    assert (v.min_trainees, v.max_trainees) == (2, 8)
    assert v.price_per_trainee == Decimal("650.00") and v.intra_group_price is None
    assert (v.audience_format, v.delivery_mode, v.location_text) == ("inter", "presentiel", "Toulouse")
    assert v.prerequisites == "Savoir utiliser un navigateur web." and not v.prerequisites_none
    # One objective per line, blank lines and surrounding spaces dropped, in order.
    assert [o.text for o in v.objectives] == [
        "Comprendre la réforme", "Émettre une facture électronique", "Suivre ses factures"]
    assert [o.position for o in v.objectives] == [1, 2, 3]
    # The blank third programme row is ignored.
    assert [(p.position, p.title, p.day, p.half_day, p.items) for p in v.programme] == [
        (1, "La réforme", 1, "morning", ["Calendrier", "Obligations des entreprises"]),
        (2, "Mise en pratique", 1, "afternoon", ["Dépôt d'une facture", "Suivi du paiement"]),
    ]
    assert v.assessment_methods == ["Quiz final", "Évaluation à froid"]
    assert v.labels == [{"name": "Label Branche Architecture",
                         "description": "Prise en charge selon les critères de la CPNEFP"}]
    assert v.funding_notes == "Finançable par l'OPCO EP"
    assert v.created_by_id == world.users["advisor"].id
    # A draft is not public yet.
    assert world_advisor.get("/catalogue/facturation-electronique-2026").status_code == 404


def test_created_course_page_shows_the_sheet(world_advisor):
    response = post_new(world_advisor)
    page = page_of(world_advisor.get(response.headers["Location"]))
    assert "Formation « Facturation électronique 2026 » créée en brouillon." in page.text
    assert page.find("h1").text == "Facturation électronique 2026"
    assert [h.text for h in page.find(data_field="programme").find_all("h4")] == ["Matin", "Après-midi"]


def test_slug_given_by_the_advisor_is_used(world_advisor):
    assert post_new(world_advisor, slug="facturation-2026").status_code == 302
    assert course_by_slug("facturation-2026") is not None


@pytest.mark.parametrize("typed, expected", [
    ("1 234,56", Decimal("1234.56")),
    ("1\u202f234,56", Decimal("1234.56")),
    ("1\xa0234,56 €", Decimal("1234.56")),
    ("600.5", Decimal("600.50")),
    ("0", Decimal("0.00")),
])
def test_french_decimal_price_is_accepted(world_advisor, typed, expected):
    assert post_new(world_advisor, price_per_trainee=typed, intra_group_price=typed).status_code == 302
    v = course_by_slug("facturation-electronique-2026").current_version
    assert v.price_per_trainee == expected
    assert v.intra_group_price == expected


def test_french_decimal_duration_is_accepted(world_advisor):
    response = post_new(world_advisor, duration_hours="10,5", duration_days="1,5", daily_pattern="09:00-12:30 13:30-17:00")
    assert response.status_code == 302
    v = course_by_slug("facturation-electronique-2026").current_version
    assert (v.duration_hours, v.duration_days) == (Decimal("10.50"), Decimal("1.50"))


def test_no_prerequisite_box(world_advisor):
    response = post_new(world_advisor, prerequisites="", prerequisites_none="y")
    assert response.status_code == 302
    v = course_by_slug("facturation-electronique-2026").current_version
    assert v.prerequisites_none is True and v.prerequisites == ""


def test_ticking_no_prerequisite_clears_a_typed_prerequisite(world_advisor):
    assert post_new(world_advisor, prerequisites="Quelque chose", prerequisites_none="y").status_code == 302
    v = course_by_slug("facturation-electronique-2026").current_version
    assert v.prerequisites_none is True and v.prerequisites == ""


def test_day_pattern_in_french_notation_is_normalised(world_advisor):
    assert post_new(world_advisor, daily_pattern="9h00-12h30, 13h30-17h00").status_code == 302
    assert course_by_slug("facturation-electronique-2026").current_version.daily_pattern == "09:00-12:30 13:30-17:00"


# --------------------------------------------------------------------------- refusing bad input


def shows(shown: str, expected: str) -> bool:
    """``shown`` is exactly the ``expected`` message."""
    return shown == expected


BAD_INPUT = [
    pytest.param({"price_per_trainee": "-5"}, "price_per_trainee",
                 "Le prix par stagiaire doit être un nombre positif ou nul.", id="negative-price"),
    pytest.param({"intra_group_price": "-1"}, "intra_group_price",
                 "Le prix intra par groupe doit être un nombre positif ou nul.", id="negative-intra-price"),
    pytest.param({"price_per_trainee": "12 000 000"}, "price_per_trainee",
                 "Le prix par stagiaire doit être un nombre inférieur à 10 millions.", id="huge-price"),
    pytest.param({"price_per_trainee": "600,005"}, "price_per_trainee",
                 "Le prix par stagiaire : deux décimales au plus.", id="three-decimals-price"),
    pytest.param({"price_per_trainee": "douze"}, "price_per_trainee",
                 "Saisissez un nombre, par exemple 600 ou 1 234,56.", id="non-numeric-price"),
    pytest.param({"min_trainees": "5", "max_trainees": "3"}, "max_trainees",
                 "Le nombre maximum de stagiaires doit être supérieur ou égal au minimum.", id="max-below-min"),
    pytest.param({"min_trainees": "0"}, "min_trainees",
                 "Le nombre minimum de stagiaires doit être un nombre entier compris entre 1 et 100.", id="min-zero"),
    pytest.param({"max_trainees": "101"}, "max_trainees",
                 "Le nombre maximum de stagiaires doit être un nombre entier compris entre 1 et 100.",
                 id="max-too-big"),
    pytest.param({"max_trainees": "huit"}, "max_trainees", "Saisissez un nombre entier.", id="non-numeric-max"),
    pytest.param({"max_trainees": ""}, "max_trainees", "Ce champ est requis.", id="missing-max"),
    pytest.param({"title": ""}, "title", "Ce champ est requis.", id="empty-title"),
    pytest.param({"title": "   "}, "title", "Ce champ est requis.", id="blank-title"),
    pytest.param({"title": "x" * 201}, "title", "Ce champ ne doit pas dépasser 200 caractères.", id="long-title"),
    pytest.param({"tagline": "x" * 301}, "tagline", "Ce champ ne doit pas dépasser 300 caractères.", id="long-tagline"),
    pytest.param({"slug": "Mon slug !"}, "slug",
                 "L'adresse web ne peut contenir que des lettres minuscules sans accent, des chiffres et des tirets.",
                 id="invalid-slug"),
    pytest.param({"slug": "formation-é"}, "slug",
                 "L'adresse web ne peut contenir que des lettres minuscules sans accent, des chiffres et des tirets.",
                 id="accented-slug"),
    pytest.param({"daily_pattern": "09:00-15:00"}, "daily_pattern",
                 "« 09:00-15:00 » : Un créneau du matin doit se terminer au plus tard à 14:00 "
                 "(un créneau de l'après-midi commence à partir de 12:00).", id="pattern-crosses-half-day"),
    pytest.param({"daily_pattern": "le matin"}, "daily_pattern",
                 "Créneau illisible : « le matin » (format attendu : 09:00-12:30).", id="pattern-unreadable"),
    pytest.param({"daily_pattern": "09:00-12:30 11:00-12:00"}, "daily_pattern",
                 "Les créneaux d'une journée doivent se suivre sans se chevaucher.", id="pattern-overlap"),
    pytest.param({"duration_hours": "sept"}, "duration_hours", "Saisissez un nombre, par exemple 600 ou 1 234,56.",
                 id="non-numeric-duration"),
    pytest.param({"duration_hours": ""}, "duration_hours", "Ce champ est requis.", id="missing-duration"),
    pytest.param({"duration_hours": "0"}, "duration_hours", "La durée en heures doit être un nombre supérieur à 0.",
                 id="zero-duration"),
    pytest.param({"duration_hours": "1500"}, "duration_hours", "La durée en heures doit être inférieure à 1000 h.",
                 id="huge-duration"),
    pytest.param({"duration_days": "un"}, "duration_days", "Saisissez un nombre, par exemple 600 ou 1 234,56.",
                 id="non-numeric-days"),
    # Larger than the column (9999.99): a database error on PostgreSQL before the service checked it.
    pytest.param({"duration_days": "100000"}, "duration_days", "La durée en jours doit être inférieure à 1000 jours.",
                 id="huge-days"),
    pytest.param({"programme-0-title": "x" * 301}, "programme-0-title",
                 "Ce champ ne doit pas dépasser 300 caractères.", id="long-programme-title"),
    pytest.param({"prerequisites": ""}, "prerequisites",
                 "Indiquez les prérequis, ou cochez « Aucun prérequis ».", id="prerequisites-missing"),
    pytest.param({"programme-0-title": ""}, "programme-0-title", "Donnez un titre à cette partie du programme.",
                 id="programme-part-without-title"),
    pytest.param({"programme-1-day": "0"}, "programme-1-day", "Le jour doit être un nombre entier à partir de 1.",
                 id="programme-day-zero"),
    pytest.param({"programme-1-day": "lundi"}, "programme-1-day", "Saisissez un nombre entier.",
                 id="programme-day-not-a-number"),
    pytest.param({"labels-0-name": ""}, "labels-0-name", "Donnez un nom au label.", id="label-without-name"),
]


# A web address already taken is a conflict (409), not a validation error (422).
SLUG_CONFLICTS = [
    pytest.param({"slug": "chorus-pro"}, "slug",
                 "L'adresse web « chorus-pro » est déjà utilisée par une autre formation.", id="duplicate-slug"),
    pytest.param({"title": "Chorus Pro", "slug": ""}, "slug",
                 "L'adresse web « chorus-pro » est déjà utilisée par une autre formation.",
                 id="duplicate-slug-from-title"),
]
REFUSALS = ([pytest.param(*p.values, 422, id=p.id) for p in BAD_INPUT]
            + [pytest.param(*p.values, 409, id=p.id) for p in SLUG_CONFLICTS])


@pytest.mark.parametrize("overrides, field, message, status", REFUSALS)
def test_bad_input_on_create_is_refused_beside_the_field(world_advisor, overrides, field, message, status):
    before = catalogue_counts()
    response = post_new(world_advisor, **overrides)
    assert response.status_code == status
    page = page_of(response)
    errors = field_errors(page)
    assert field in errors, errors
    assert any(shows(m, message) for m in errors[field]), errors[field]
    assert "Le formulaire contient des erreurs" in " ".join(form_errors(page))
    assert catalogue_counts() == before


@pytest.mark.parametrize("overrides, field, message, status", REFUSALS)
def test_bad_input_on_edit_is_refused_and_changes_nothing(world_advisor, world, overrides, field, message, status):
    course = world.dume
    before = catalogue_counts()
    snapshot = version_as_form_data(course.current_version)
    response = world_advisor.post(f"/courses/{course.id}/edit", data=course_form_data(
        **{"slug": "marches-publics-dume-et-chorus-pro", **overrides}))
    assert response.status_code == status
    errors = field_errors(page_of(response))
    assert any(shows(m, message) for m in errors.get(field, [])), errors
    assert catalogue_counts() == before
    db.session.expire_all()
    assert version_as_form_data(course.current_version) == snapshot
    assert course.slug == "marches-publics-dume-et-chorus-pro"


def test_all_problems_are_shown_at_once(world_advisor):
    before = catalogue_counts()
    response = post_new(world_advisor, title="", slug="Pas Bon", price_per_trainee="-3", duration_hours="sept",
                        prerequisites="", **{"labels-0-name": ""})
    assert response.status_code == 422
    errors = field_errors(page_of(response))
    assert errors["title"] == ["Ce champ est requis."]
    assert errors["slug"] == [
        "L'adresse web ne peut contenir que des lettres minuscules sans accent, des chiffres et des tirets."]
    assert errors["price_per_trainee"] == ["Le prix par stagiaire doit être un nombre positif ou nul."]
    assert errors["duration_hours"] == ["Saisissez un nombre, par exemple 600 ou 1 234,56."]
    assert errors["prerequisites"] == ["Indiquez les prérequis, ou cochez « Aucun prérequis »."]
    assert errors["labels-0-name"] == ["Donnez un nom au label."]
    assert catalogue_counts() == before


def test_refused_form_keeps_what_was_typed(world_advisor):
    response = post_new(world_advisor, price_per_trainee="-5", duration_hours="7,5")
    data = browser_form_data(page_of(response))
    assert data["title"] == "Facturation électronique 2026"
    assert data["price_per_trainee"] == "-5"
    assert data["duration_hours"] == "7,5"
    assert data["programme-1-title"] == "Mise en pratique"
    assert data["programme-1-half_day"] == "afternoon"
    assert data["labels-0-name"] == "Label Branche Architecture"


def test_form_without_csrf_token_is_refused(world_advisor):
    before = catalogue_counts()
    response = world_advisor.post("/courses/new", data=course_form_data(), csrf=False)
    assert response.status_code in (400, 422)
    assert catalogue_counts() == before


# --------------------------------------------------------------------------- editing


def test_edit_form_is_filled_from_the_current_version(world_advisor, world):
    page = page_of(world_advisor.get(f"/courses/{world.dume.id}/edit"))
    data = browser_form_data(page)
    assert data["title"] == "Marchés publics : DUME et Chorus Pro"
    assert data["slug"] == "marches-publics-dume-et-chorus-pro"
    assert data["duration_hours"] == "8,00"
    assert data["price_per_trainee"] == "600,00"
    assert data["prerequisites_none"] == "y"
    assert data["audience_format"] == "inter"
    assert data["daily_pattern"] == "08:30-12:30 13:30-17:30"
    assert data["objectives"].splitlines()[0] == "Utiliser toutes les fonctionnalités de l’utilitaire DUME"
    assert data["programme-1-title"] == "1/ Candidater avec un DUME"
    assert data["programme-1-items"].splitlines() == [
        "Point sur la réglementation 2019-2020", "Créer un DUME", "Répondre à un DUME", "Réutiliser, fusionner"]
    # Five parts and two blank rows to add more; blank label rows.
    assert data["programme-6-title"] == "" and "programme-7-title" not in data
    assert data["labels-0-name"] == data["labels-1-name"] == "" and "labels-2-name" not in data
    chorus = browser_form_data(page_of(world_advisor.get(f"/courses/{world.chorus.id}/edit")))
    assert chorus["programme-0-day"] == "1" and chorus["programme-0-half_day"] == "morning"
    assert chorus["programme-10-half_day"] == "afternoon"
    assert chorus["labels-0-name"] == "Label Branche Architecture"
    assert "prerequisites_none" not in chorus


def test_amounts_are_text_inputs_that_keep_their_french_value(world_advisor, world):
    """A browser empties an <input type="number"> whose value is "600,00" (not a valid number) and refuses
    "1 234,56": the French amounts must be typed in text inputs."""
    page = page_of(world_advisor.get(f"/courses/{world.dume.id}/edit"))
    for name in DECIMAL_FIELDS:
        control = page.find("input", name=name)
        value = control.attrs.get("value", "")
        assert control.attrs.get("type") != "number" or not value or HTML_FLOAT.match(value), (name, value)
        assert control.attrs.get("inputmode") == "decimal"


@pytest.mark.parametrize("which", ["chorus", "dume"])
def test_submitting_the_edit_form_untouched_keeps_the_content(world_advisor, world, which):
    course = getattr(world, which)
    before = version_as_form_data(course.current_version)
    data = browser_form_data(page_of(world_advisor.get(f"/courses/{course.id}/edit")))
    response = world_advisor.post(f"/courses/{course.id}/edit", data=data)
    assert response.status_code == 302, field_errors(page_of(response))
    db.session.expire_all()
    assert course.current_version.number == 2  # published: a new version
    assert version_as_form_data(course.current_version) == before


def test_edit_a_draft_course_in_place(world_advisor, world):
    post_new(world_advisor)
    course = course_by_slug("facturation-electronique-2026")
    version_id = course.current_version_id
    data = browser_form_data(page_of(world_advisor.get(f"/courses/{course.id}/edit")))
    data.update({
        "title": "Facturation électronique : la réforme 2026",
        "objectives": data["objectives"] + "\nArchiver ses factures",
        "programme-0-title": "", "programme-0-items": "", "programme-0-day": "", "programme-0-half_day": "",
        "programme-2-title": "Questions", "programme-2-items": "Échanges",
        "price_per_trainee": "700,00",
    })
    response = world_advisor.post(f"/courses/{course.id}/edit", data=data)
    assert response.status_code == 302
    assert "Formation enregistrée." in page_of(world_advisor.get(response.headers["Location"])).text
    db.session.expire_all()
    v = course.current_version
    assert v.id == version_id and v.number == 1 and len(course.versions) == 1
    assert v.title == "Facturation électronique : la réforme 2026"
    assert [o.text for o in v.objectives][-1] == "Archiver ses factures"
    assert [(p.position, p.title) for p in v.programme] == [(1, "Mise en pratique"), (2, "Questions")]
    assert v.price_per_trainee == Decimal("700.00")
    # The slug stays as it was.
    assert course.slug == "facturation-electronique-2026"


def test_changing_the_slug_moves_the_public_page(world_advisor, world):
    data = browser_form_data(page_of(world_advisor.get(f"/courses/{world.dume.id}/edit")))
    data["slug"] = "dume-et-chorus-pro"
    assert world_advisor.post(f"/courses/{world.dume.id}/edit", data=data).status_code == 302
    assert world_advisor.get("/catalogue/dume-et-chorus-pro").status_code == 200
    assert world_advisor.get("/catalogue/marches-publics-dume-et-chorus-pro").status_code == 404


def test_edit_cannot_take_the_slug_of_another_course(world_advisor, world):
    data = browser_form_data(page_of(world_advisor.get(f"/courses/{world.dume.id}/edit")))
    data["slug"] = "chorus-pro"
    response = world_advisor.post(f"/courses/{world.dume.id}/edit", data=data)
    assert response.status_code == 409  # a conflict with the other course
    assert field_errors(page_of(response))["slug"] == [
        "L'adresse web « chorus-pro » est déjà utilisée par une autre formation."]
    db.session.expire_all()
    assert world.dume.slug == "marches-publics-dume-et-chorus-pro"
    assert len(world.dume.versions) == 1


def test_edit_of_unknown_course_is_404(world_advisor, world):
    assert world_advisor.get("/courses/99999/edit").status_code == 404
    assert world_advisor.get("/courses/99999").status_code == 404
