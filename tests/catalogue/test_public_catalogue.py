"""The public catalogue: the list of published courses and the course sheet (Qualiopi indicator 1)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from trainingmgr.catalogue.services import create_course, set_course_status, update_course
from trainingmgr.core.formatting import date_fr
from trainingmgr.demo.seeds import CHORUS_PRO, DUME_CHORUS_PRO
from trainingmgr.extensions import db
from trainingmgr.organisation.services import update_organisation
from trainingmgr.sessions.services import change_status

from tests.catalogue.pagetools import field_items, field_text, page_of
from tests.helpers import MONDAY

NBSP = "\xa0"
CHORUS_URL = "/catalogue/chorus-pro"
DUME_URL = "/catalogue/marches-publics-dume-et-chorus-pro"


def new_course(world, status: str, title: str, slug: str, **overrides) -> object:
    course = create_course({**DUME_CHORUS_PRO, "title": title, **overrides}, world.users["advisor"], slug=slug)
    if status != "draft":
        set_course_status(course, "published")
    if status == "archived":
        set_course_status(course, "archived")
    db.session.commit()
    return course


def listed_slugs(client) -> list[str]:
    page = page_of(client.get("/catalogue/"))
    return [node.attrs["data-course"] for node in page.find_all(data_course=True)]


# --------------------------------------------------------------------------- the list


def test_catalogue_lists_published_courses_only(client, world):
    new_course(world, "draft", "Formation en préparation", "brouillon")
    new_course(world, "archived", "Ancienne formation", "archivee")
    response = client.get("/catalogue/")
    assert response.status_code == 200
    assert listed_slugs(client) == ["chorus-pro", "marches-publics-dume-et-chorus-pro"]
    text = page_of(response).text
    assert "Formation en préparation" not in text
    assert "Ancienne formation" not in text


def test_a_course_leaves_the_catalogue_when_it_goes_back_to_draft(client, world):
    set_course_status(world.chorus, "draft")
    db.session.commit()
    assert listed_slugs(client) == ["marches-publics-dume-et-chorus-pro"]
    set_course_status(world.dume, "archived")
    db.session.commit()
    assert listed_slugs(client) == []
    assert "Aucune formation n'est publiée pour le moment." in page_of(client.get("/catalogue/")).text


def test_catalogue_is_in_alphabetical_order_ignoring_accents(client, world):
    new_course(world, "published", "Écrire ses factures", "ecrire")
    new_course(world, "published", "achats publics", "achats")
    assert listed_slugs(client) == ["achats", "chorus-pro", "ecrire", "marches-publics-dume-et-chorus-pro"]


def test_catalogue_cards_show_duration_format_and_french_price(client, world):
    page = page_of(client.get("/catalogue/"))
    dume = page.find(data_course="marches-publics-dume-et-chorus-pro")
    assert "Marchés publics : DUME et Chorus Pro" in dume.text
    assert "Vous permettre de déposer vos factures sur Chorus Pro et d’en suivre le traitement." in dume.text
    assert dume.find(data_field="duration").text == "8 heures"
    assert "Inter-entreprises · Présentiel" in dume.text
    assert f"600,00{NBSP}€ HT" in dume.text
    chorus = page.find(data_course="chorus-pro")
    assert chorus.find(data_field="duration").text == "7 heures (1 jour)"
    assert "sur devis" in chorus.text
    assert chorus.find("a").attrs["href"] == CHORUS_URL


def test_catalogue_uses_singular_below_two(client, world):
    new_course(world, "published", "Module court", "module-court", duration_hours=Decimal("1.5"),
               duration_days=Decimal("0.5"), daily_pattern="09:00-10:30")
    card = page_of(client.get("/catalogue/")).find(data_course="module-court")
    assert card.find(data_field="duration").text == "1,5 heure (0,5 jour)"


# --------------------------------------------------------------------------- the Chorus Pro sheet


def test_chorus_sheet_shows_every_field(client, world):
    response = client.get(CHORUS_URL)
    assert response.status_code == 200
    page = page_of(response)
    version = world.chorus.current_version
    assert page.find("h1").text == "Chorus Pro"
    assert page.find("p", class_="lead") is None  # no tagline in the brochure
    assert field_text(page, "duration") == "1 jour soit 7 heures"
    assert field_text(page, "format") == "Inter ou intra-entreprise, présentiel"
    assert field_text(page, "group") == "De 1 à 7 stagiaires maximum"
    price = field_text(page, "price")
    assert price.startswith("Sur devis : nous contacter")
    assert "Exonération de TVA, article 261-4-4°-a du CGI" in price
    assert page.find(data_field="location") is None
    assert field_text(page, "audience") == CHORUS_PRO["audience"]
    assert field_text(page, "prerequisites") == CHORUS_PRO["prerequisites"]
    assert field_items(page, "objectives") == CHORUS_PRO["objectives"]
    assert page.find(data_field="teaching_methods").raw_text == CHORUS_PRO["teaching_methods"]
    assert field_items(page, "assessment_methods") == [
        "Evaluation des acquis durant toute la session.", "Evaluation à froid (j+2 mois après la formation)"]
    assert page.find(data_field="trainer_competences").raw_text == CHORUS_PRO["trainer_competences"]
    assert page.find(data_field="material_resources").raw_text == CHORUS_PRO["material_resources"]
    assert [n.text for n in page.find_all(data_field="label")] == ["Label Branche Architecture"]
    assert CHORUS_PRO["labels"][0]["description"] in page.text
    assert f"Programme version 1, mis à jour le {date_fr(version.created_at)}." in page.text


def test_chorus_programme_has_day_and_half_day_headings_in_order(client, world):
    page = page_of(client.get(CHORUS_URL))
    programme = page.find(data_field="programme")
    assert [h.text for h in programme.find_all("h3")] == ["Jour 1"]
    assert [h.text for h in programme.find_all("h4")] == ["Matin", "Après-midi"]
    # Headings, part titles and items in reading order.
    sequence = []
    for node in programme.iter():
        if node.tag in ("h3", "h4"):
            sequence.append(f"# {node.text}")
        elif "data-programme-part" in node.attrs:
            sequence.append(node.text)
        elif node.tag == "li":
            sequence.append(f"- {node.text}")
    expected = ["# Jour 1"]
    half = None
    for part in CHORUS_PRO["programme"]:
        if part["half_day"] != half:
            half = part["half_day"]
            expected.append("# Matin" if half == "morning" else "# Après-midi")
        expected.append(part["title"])
        expected.extend(f"- {item}" for item in part["items"])
    assert sequence == expected


def test_sheet_falls_back_to_the_organisation_texts(client, world):
    from trainingmgr.demo.services import ORGANISATION

    page = page_of(client.get(CHORUS_URL))
    assert field_text(page, "access_delay") == ORGANISATION["access_delay_policy"]
    assert field_text(page, "accessibility") == ORGANISATION["accessibility_policy"]
    assert field_text(page, "accessibility_contact") == (
        "Contact : Camille Bernard (référente handicap) – conseil@formaction.example – 05 61 00 00 01")


def test_quality_contact_and_legal_mentions(client, world):
    page = page_of(client.get(CHORUS_URL))
    assert field_text(page, "quality_contact") == (
        "Votre conseiller formation est à votre disposition pour le suivi qualité, la satisfaction de la formation "
        "et toute demande de médiation : Camille Bernard, conseillère formation, conseil@formaction.example, "
        "05 61 00 00 01.")
    mentions = field_text(page, "organisation")
    assert "Formaction Sud-Ouest (SARL)" in mentions
    assert ("Déclaration d'activité enregistrée sous le n° 76 31 09999 31 auprès du préfet de région Occitanie "
            "(cet enregistrement ne vaut pas agrément de l'État).") in mentions
    assert "QUALIOPI-DEMO-2024-001 du 15/03/2024" in mentions


def test_course_texts_take_precedence_over_the_organisation_texts(client, world):
    from trainingmgr.catalogue.services import version_as_form_data

    data = version_as_form_data(world.dume.current_version)
    data.update(accessibility="Salle de plain-pied, boucle magnétique.", access_delay="Inscription jusqu'à la veille.",
                accessibility_contact="Marie Martin, 06 11 22 33 44")
    update_course(world.dume, data, world.users["advisor"])
    db.session.commit()
    page = page_of(client.get(DUME_URL))
    assert field_text(page, "accessibility") == "Salle de plain-pied, boucle magnétique."
    assert field_text(page, "access_delay") == "Inscription jusqu'à la veille."
    assert field_text(page, "accessibility_contact") == "Contact : Marie Martin, 06 11 22 33 44"


def test_sheet_without_any_access_text_says_to_get_in_touch(client, world):
    update_organisation({"accessibility_policy": "", "access_delay_policy": "", "disability_contact_name": "",
                         "disability_contact_email": "", "disability_contact_phone": ""})
    db.session.commit()
    page = page_of(client.get(CHORUS_URL))
    assert field_text(page, "access_delay") == "Nous contacter."
    assert field_text(page, "accessibility") == "Nous contacter."
    assert page.find(data_field="accessibility_contact") is None


# --------------------------------------------------------------------------- the DUME sheet


def test_dume_sheet_shows_every_field(client, world):
    page = page_of(client.get(DUME_URL))
    assert page.find("h1").text == "Marchés publics : DUME et Chorus Pro"
    assert page.find("p", class_="lead").text == DUME_CHORUS_PRO["tagline"]
    assert field_text(page, "duration") == "8 heures"
    assert field_text(page, "format") == "Inter-entreprises, présentiel"
    assert field_text(page, "location") == "Toulouse et sa périphérie"
    assert field_text(page, "group") == "De 1 à 8 stagiaires maximum"
    assert field_text(page, "price").startswith(f"600,00{NBSP}€ HT par stagiaire")
    assert field_text(page, "audience") == "Non précisé"
    assert field_text(page, "prerequisites") == "Aucun"
    assert field_items(page, "objectives") == DUME_CHORUS_PRO["objectives"]
    programme = page.find(data_field="programme")
    assert programme.find_all("h3") == [] and programme.find_all("h4") == []
    assert [p.text for p in programme.find_all(data_programme_part=True)] == [
        part["title"] for part in DUME_CHORUS_PRO["programme"]]
    assert [li.text for li in programme.find_all("li")] == [
        item for part in DUME_CHORUS_PRO["programme"] for item in part["items"]]
    assert field_text(page, "teaching_methods") == "active, différenciée et expérientielle"
    assert field_items(page, "assessment_methods") == ["évaluation continue"]
    # Nothing published that the brochure does not say.
    for absent in ("trainer_competences", "material_resources", "label", "funding_notes"):
        assert page.find(data_field=absent) is None
    assert "Programme version 1" in page.text


def test_public_pages_are_french(client, world):
    response = client.get(DUME_URL)
    assert '<html lang="fr">' in response.get_data(as_text=True)


# --------------------------------------------------------------------------- sessions on the sheet


def test_sheet_lists_upcoming_open_sessions_with_dates_place_seats_and_price(client, world, open_session):
    session = open_session()
    page = page_of(client.get(CHORUS_URL))
    box = page.find(data_session=str(session.id))
    assert box is not None
    text = box.text
    assert "Le 03/03/2031" in text
    assert "Lundi 3 mars 2031 : 09:00–12:30 et 13:30–17:00" in text
    assert "Salle Capitole, Toulouse" in text
    assert box.find(data_field="seats-left").text == "7 places restantes"
    assert f"600,00{NBSP}€ HT" in text
    link = box.find("a", href=f"/catalogue/chorus-pro/sessions/{session.id}.ics")
    assert link is not None and "agenda" in link.text
    assert "Prochaine session : nous contacter." not in page.text


def test_one_seat_left_is_singular(client, world, open_session):
    session = open_session(capacity=1)
    box = page_of(client.get(CHORUS_URL)).find(data_session=str(session.id))
    assert box.find(data_field="seats-left").text == "1 place restante"


def test_sheet_without_session_invites_to_get_in_touch(client, world):
    page = page_of(client.get(CHORUS_URL))
    assert page.find(data_session=True) is None
    assert "Prochaine session : nous contacter." in page.text


def test_sheet_hides_draft_cancelled_past_and_other_courses_sessions(client, world, make_session, open_session):
    shown = open_session(start=MONDAY)
    confirmed = open_session(start=MONDAY + dt.timedelta(days=7))  # inter: open before confirmed
    change_status(confirmed, "confirmed")
    draft = make_session(start=MONDAY + dt.timedelta(days=1))
    cancelled = open_session(start=MONDAY + dt.timedelta(days=2))
    change_status(cancelled, "cancelled", reason="Pas assez d'inscrits")
    past = make_session(start=dt.date(2024, 3, 4))
    change_status(past, "open")
    other = open_session(course=world.dume, start=MONDAY + dt.timedelta(days=3))
    intra = make_session(start=MONDAY + dt.timedelta(days=4), format="intra", client_company_id=world.company.id)
    change_status(intra, "confirmed")  # an intra session is never public
    db.session.commit()
    page = page_of(client.get(CHORUS_URL))
    ids = [int(node.attrs["data-session"]) for node in page.find_all(data_session=True)]
    assert ids == [shown.id, confirmed.id]
    assert {draft.id, cancelled.id, past.id, other.id, intra.id}.isdisjoint(ids)


def test_sessions_are_listed_soonest_first(client, world, open_session):
    later = open_session(start=MONDAY + dt.timedelta(days=14))
    sooner = open_session(start=MONDAY)
    page = page_of(client.get(CHORUS_URL))
    assert [int(n.attrs["data-session"]) for n in page.find_all(data_session=True)] == [sooner.id, later.id]


# --------------------------------------------------------------------------- not found


def test_draft_course_is_not_public(client, world):
    course = new_course(world, "draft", "En préparation", "en-preparation")
    response = client.get("/catalogue/en-preparation")
    assert response.status_code == 404
    assert "Cette formation n'existe pas ou n'est pas publiée." in page_of(response).text
    assert client.get(f"/catalogue/en-preparation/versions/{course.current_version.number}").status_code == 404


def test_archived_course_is_not_public(client, world):
    new_course(world, "archived", "Ancienne", "ancienne")
    assert client.get("/catalogue/ancienne").status_code == 404
    assert client.get("/catalogue/ancienne/versions/1").status_code == 404


def test_unknown_slug_gives_a_french_404_page(client, world):
    response = client.get("/catalogue/cette-formation-n-existe-pas")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    page = page_of(response)
    assert "Page introuvable" in page.text
    assert "Cette formation n'existe pas ou n'est pas publiée." in page.text
    assert page.find("a", href="/catalogue/") is not None


def test_unknown_version_gives_404(client, world):
    response = client.get(f"{CHORUS_URL}/versions/2")
    assert response.status_code == 404
    assert "Version introuvable." in page_of(response).text
