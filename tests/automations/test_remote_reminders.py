"""What the trainees are sent about half-days at a distance (issue 27): the convocation (its document, and the mail's
schedule) and the J−1 reminder give each virtual half-day's meeting link, on that half-day only; an asynchronous
half-day says what to do; a session in the room reads as before."""
from __future__ import annotations

import datetime as dt
import io

import pytest
from docx import Document

from tests.automations.test_sessions_triggers import DAY, J7, fire, paris
from tests.enrolments.support import outbox
from tests.fixtures.enrolments import confirm, enrol
from tests.helpers import MONDAY
from trainingmgr.automations import registry
from trainingmgr.automations.rendering import check_template
from trainingmgr.documents.catalogue import DOC_TYPES
from trainingmgr.documents.defaults import DEFAULT_DIR
from trainingmgr.documents.rendering import context as document_context
from trainingmgr.documents.rendering.engine import render
from trainingmgr.extensions import db
from trainingmgr.sessions import services as session_services

LINK = "https://visio.example.com/apres-midi"


@pytest.fixture
def mixed_session(world, open_session, new_trainee):
    """DUME on MONDAY, « mixte »: the morning in Salle Capitole, the afternoon a virtual classroom with its own
    link; one trainee, confirmed."""
    session = open_session(course=world.dume, delivery_mode="mixte")
    session_services.update_slot(session.slots[1], {"modality": "virtual", "meeting_url": LINK})
    db.session.commit()
    enrolment = enrol(session, new_trainee(1))
    confirm(session)
    return session, enrolment


def lines_with(text: str, needle: str) -> list[str]:
    return [line for line in text.splitlines() if needle in line]


def test_the_default_templates_stay_valid():
    for code in ("convocation", "convocation_company", "reminder_j1", "trainer_mission_j7"):
        template = registry.DEFAULT_TEMPLATES[code]
        assert check_template(template.context, template.subject, template.body) == [], code


def test_the_j_minus_1_reminder_gives_the_link_of_the_virtual_half_day_only(mixed_session):
    fire(paris(MONDAY - DAY, 9))
    [reminder] = outbox("reminder_j1")
    text = reminder.body_text
    [afternoon] = lines_with(text, "(après-midi)")
    assert afternoon.endswith(f"classe virtuelle – lien de connexion : {LINK}")
    [morning] = lines_with(text, "(matin)")
    assert "classe virtuelle" not in morning and "https://" not in morning
    assert text.count(LINK) == 1
    assert "Lieu : Salle Capitole, 1 rue A" in text  # the morning is in the room
    assert "Pour les classes virtuelles, pensez à vérifier votre connexion" in text
    assert "La formation a lieu à distance" not in text


def test_a_session_all_at_a_distance_gives_each_link(world, open_session, new_trainee):
    session = open_session(course=world.dume, delivery_mode="distanciel", location=world.remote)
    session_services.update_slot(session.slots[1], {"modality": "async", "activity": "Déposer une facture d'essai"})
    db.session.commit()
    enrol(session, new_trainee(1))
    confirm(session)
    fire(paris(session.first_date - DAY, 9))
    [reminder] = outbox("reminder_j1")
    text = reminder.body_text
    [morning] = lines_with(text, "(matin)")
    assert morning.endswith("classe virtuelle – lien de connexion : https://visio.example.com/salle")
    [afternoon] = lines_with(text, "(après-midi)")
    assert afternoon.endswith("activité asynchrone : Déposer une facture d'essai")
    assert "La formation a lieu à distance. Lien de connexion : https://visio.example.com/salle" in text
    assert "Lieu :" not in text


def test_a_session_in_the_room_reads_as_before(world, open_session, new_trainee):
    session = open_session(course=world.dume)
    enrol(session, new_trainee(1))
    confirm(session)
    fire(paris(session.first_date - DAY, 9))
    [reminder] = outbox("reminder_j1")
    assert "classe virtuelle" not in reminder.body_text.lower() and "lien de connexion" not in reminder.body_text


def test_the_convocation_mail_gives_the_link_beside_the_half_days_times(mixed_session):
    fire(J7)
    [convocation] = outbox("convocation")
    [day] = lines_with(convocation.body_text, "Lundi 3 mars 2031")
    assert day == f"- Lundi 3 mars 2031 : 08:30–12:30 et 13:30–17:30 (classe virtuelle : {LINK})"


def test_the_convocation_documents_context_lists_each_half_days_modality(mixed_session):
    _, enrolment = mixed_session
    slots = document_context.convocation(enrolment, "CONV-1")["session"]["slots"]
    assert [(s["modality"], s["modality_label"], s["meeting_url"], s["activity"]) for s in slots] == [
        ("room", "En salle", "", ""), ("virtual", "Classe virtuelle", LINK, "")]


def test_the_default_convocation_shows_the_link_of_the_virtual_half_day(mixed_session):
    _, enrolment = mixed_session
    with open(f"{DEFAULT_DIR}/{DOC_TYPES['convocation'].filename}", "rb") as handle:
        rendered = render(handle.read(), document_context.convocation(enrolment, "CONV-1"))
    assert rendered.missing == []
    [table] = [t for t in Document(io.BytesIO(rendered.docx)).tables if t.rows[0].cells[0].text == "Date"]
    rows = [[cell.text.replace("\u00a0", " ") for cell in row.cells] for row in table.rows]  # French spacing
    assert rows[0] == ["Date", "Demi-journée", "Horaires", "Durée", "Modalité"]
    assert rows[1][1] == "Matin" and rows[1][4].strip() == "En salle"
    assert rows[2][1] == "Après-midi" and rows[2][4] == f"Classe virtuelle\nLien de connexion : {LINK}"


def test_the_trainers_mission_gives_the_link_too(mixed_session):
    session, _ = mixed_session
    fire(paris(session.first_date - 7 * DAY, 9) + dt.timedelta(hours=1))
    [mission] = outbox("trainer_mission")
    [afternoon] = lines_with(mission.body_text, "(après-midi)")
    assert afternoon.endswith(f"lien de connexion : {LINK}")
