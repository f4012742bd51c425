"""An action carried out wholly or partly at a distance (Code du travail D6313-3-1; L6353-4, 3°): the convention, the
contract and the programme of a session with virtual or asynchronous half-days state the technical and pedagogical
assistance of the trainee (the organisation's settings), each activity at a distance with its estimated duration
(never a virtual classroom's link) and the evaluations; a room-only session's documents read exactly as before. The
settings field, the session page's warning while it is empty, and the confirmation it keeps back."""
from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from decimal import Decimal

import pytest

from trainingmgr.core.errors import ValidationError
from trainingmgr.core.formatting import date_fr, hours_fr
from trainingmgr.documents import defaults, services
from trainingmgr.documents.rendering import context as builders
from trainingmgr.documents.rendering.engine import render
from trainingmgr.documents.services import _changed_fields
from trainingmgr.evaluations.questionnaires.services import create_questionnaire
from trainingmgr.extensions import db
from trainingmgr.organisation.services import REMOTE_ASSISTANCE_MAX, get_organisation, update_organisation
from trainingmgr.sessions.models import Slot
from trainingmgr.sessions.services import change_status, session_warnings

from tests.documents.support import docx_text
from tests.helpers import page

MEETING = "https://visio.example.fr/formaction/dume-classe-virtuelle"
ACTIVITY = "Compléter le DUME d'exercice et le déposer dans l'espace du stagiaire"
ASSISTANCE = ("Camille Bernard, conseillère formation : conseil@formaction.example, 05 61 00 00 01, du lundi au "
              "vendredi de 9 h à 17 h ; réponse sous 24 heures ouvrées. Pendant les classes virtuelles, le formateur.")
WARNING = ("Assistance technique et pédagogique à distance à renseigner dans les paramètres de l'organisme "
           "(article D6313-3-1).")
HEADING = "Formation à distance (article D6313-3-1 du Code du travail)"


def _slots(session):
    return sorted(session.slots, key=lambda s: (s.date, s.start_time))


def _quiz(session):
    questionnaire = create_questionnaire({
        "kind": "acquis", "title": "Quiz DUME", "course": session.course,
        "questions": [{"kind": "single", "text": "Où déposer une facture ?",
                       "choices": [{"text": "Chorus Pro", "correct": True, "points": 1}, "Par courrier"]}]})
    db.session.flush()
    return questionnaire


def _mixed(session, modalities=("room", "virtual", "async"), with_quiz: bool = True):
    """``session``'s half-days given ``modalities`` in order (the demo's sessions have two: a third one, the next day
    09:00–10:00, is added when asked); a virtual classroom has its link, an asynchronous activity its text and, with
    ``with_quiz``, a quiz; the organisation's assistance filled in."""
    session.delivery_mode = "mixte"
    quiz = _quiz(session) if with_quiz else None
    slots = _slots(session)
    while len(slots) < len(modalities):
        last = slots[-1]
        slot = Slot(session_id=session.id, date=last.date + dt.timedelta(days=1), start_time=dt.time(9),
                    end_time=dt.time(10), trainer_id=last.trainer_id)
        db.session.add(slot)
        slots.append(slot)
    for slot, modality in zip(slots, modalities):
        slot.modality = modality
        slot.meeting_url = MEETING if modality == "virtual" else ""
        slot.activity = ACTIVITY if modality == "async" else ""
        slot.quiz_id = quiz.id if quiz is not None and modality == "async" else None
        if modality != "room":
            slot.location = None
    get_organisation().remote_assistance = ASSISTANCE
    db.session.commit()
    db.session.expire_all()
    return session


def _company(demo, session):
    return demo.enrolments["Sarah"].company or demo.enrolments["Sarah"].trainee.company


def _documents(demo, session):
    """The convention (Sarah's company), the contract (Paul, paying for himself) and the programme, generated."""
    return {
        "convention": services.generate("convention", session, demo.advisor, company=_company(demo, session),
                                        pdf=False),
        "contract": services.generate("contract", session, demo.advisor, enrolment=demo.enrolments["Paul"],
                                      pdf=False),
        "programme": services.generate("programme", session, demo.advisor, pdf=False),
    }


def _flat(text: str) -> str:
    return " ".join(text.split())


# --------------------------------------------------------------------------- a session partly at a distance


def test_a_mixed_sessions_documents_state_the_three_points(app, demo):
    session = _mixed(demo.dume)
    remote = [s for s in _slots(session) if s.modality != "room"]
    version = session.course_version
    for doc_type, document in _documents(demo, session).items():
        distance = document.context["distance"]
        assert distance["applies"] is True and distance["assistance"] == ASSISTANCE, doc_type
        assert [(a["date"], a["modality_label"], a["hours"]) for a in distance["activities"]] == [
            (date_fr(s.date), s.modality_label, hours_fr(s.hours)) for s in remote]
        assert distance["total"] == hours_fr(sum((s.hours for s in remote), Decimal(0)))
        for activity, slot in zip(distance["activities"], remote):
            if slot.modality == "virtual":
                assert activity["description"].startswith(
                    f"classe virtuelle de {slot.start_time:%H:%M} à {slot.end_time:%H:%M}, animée par ")
            else:
                assert activity["description"] == ACTIVITY
        quiz_line = next(e for e in distance["evaluations"] if e.startswith("Quiz d'évaluation des acquis"))
        assert "« Quiz DUME »" in quiz_line
        assert [e for e in distance["evaluations"] if e != quiz_line] == [m for m in version.assessment_methods if m]
        assert MEETING not in json.dumps(distance), doc_type  # never the link on a contractual document

        assert distance["wording"] == "Action réalisée en partie à distance"

        text = _flat(docx_text(services.read_file(document, "docx")))
        assert HEADING in text, doc_type
        assert f"Action réalisée en partie à distance ; durée estimée des activités à distance : " \
               f"{distance['total']}." in text
        assert f"Assistance technique et pédagogique du stagiaire : {_flat(ASSISTANCE)}" in text
        for activity in distance["activities"]:
            assert f"{activity['modality_label']} {_flat(activity['description'])} {activity['hours']}" in text
        for evaluation in distance["evaluations"]:
            assert _flat(evaluation) in text
        assert MEETING not in text, doc_type


def test_without_a_quiz_the_evaluations_are_the_courses(app, demo):
    session = _mixed(demo.dume, ("room", "async"), with_quiz=False)
    distance = builders.programme(session, "PROG-TEST")["distance"]
    assert distance["evaluations"] == [m for m in session.course_version.assessment_methods if m]


def test_a_convention_or_contract_at_a_distance_needs_the_assistance(app, demo):
    """Without the organisation's text the convention and the contract are not issued (their mentions, as the NDA);
    the programme is (its session cannot be confirmed: see below)."""
    session = _mixed(demo.dume)
    get_organisation().remote_assistance = ""
    db.session.commit()
    for doc_type, subject in (("convention", {"company": _company(demo, session)}),
                              ("contract", {"enrolment": demo.enrolments["Paul"]})):
        with pytest.raises(ValidationError) as info:
            services.generate(doc_type, session, demo.advisor, pdf=False, **subject)
        assert "assistance technique et pédagogique à distance de l'article D6313-3-1" in info.value.message
        db.session.rollback()
    assert services.generate("programme", session, demo.advisor, pdf=False).context["distance"]["assistance"] == ""


def test_a_change_of_modality_is_named_when_the_document_is_made_again(app, demo):
    session = demo.dume
    first = services.generate("programme", session, demo.advisor, pdf=False)
    _mixed(session)
    second = services.generate("programme", session, demo.advisor, pdf=False, reuse=True)
    assert second.id != first.id and "formation à distance" in second.reason


# --------------------------------------------------------------------------- a session held in the room


def _xml(docx: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(docx)) as archive:
        return archive.read("word/document.xml")


def _template_before(code: str, monkeypatch) -> bytes:
    """The default template as it was built before the D6313-3-1 section (the same build without it)."""
    monkeypatch.setattr(defaults, "_distance", lambda doc, heading: None)
    buffer = io.BytesIO()
    getattr(defaults, code)().document.save(buffer)
    monkeypatch.undo()
    return buffer.getvalue()


def _template_now(code: str) -> bytes:
    buffer = io.BytesIO()
    getattr(defaults, code)().document.save(buffer)
    return buffer.getvalue()


def test_a_room_only_sessions_documents_read_as_before(app, demo, monkeypatch):
    session = demo.dume
    assert all(slot.modality == "room" for slot in session.slots)
    contexts = {"convention": builders.convention(session, _company(demo, session), "CONV-TEST"),
                "contract": builders.contract(demo.enrolments["Paul"], "CONT-TEST"),
                "programme": builders.programme(session, "PROG-TEST")}
    for code, context in contexts.items():
        assert "distance" not in context, code
        before, now = _template_before(code, monkeypatch), _template_now(code)
        assert _xml(before) != _xml(now)  # the template has the section…
        assert _xml(render(now, context).docx) == _xml(render(before, context).docx), code  # …a room session not


def test_reissuing_a_room_only_document_names_no_change(app, demo):
    session = demo.dume
    first = services.generate("convention", session, demo.advisor, company=_company(demo, session), pdf=False)
    again = services.generate("convention", session, demo.advisor, company=_company(demo, session), pdf=False,
                              reuse=True)
    assert again.id == first.id
    assert _changed_fields(first.context, {**first.context}) == []
    mixed = {**first.context, "distance": {"applies": True, "assistance": ASSISTANCE}}
    assert _changed_fields(first.context, mixed) == ["formation à distance"]


# --------------------------------------------------------------------------- the organisation's settings


def _settings_form(**changes) -> dict:
    from trainingmgr.demo.services import ORGANISATION

    data = {k: ("" if v is None else v.isoformat() if hasattr(v, "isoformat") else str(v))
            for k, v in ORGANISATION.items()}
    data.update(changes)
    return data


def test_the_settings_page_saves_the_assistance(admin_web):
    response = admin_web.get("/admin/organisation/")
    assert "Assistance technique et pédagogique à distance" in page(response) and "D6313-3-1" in page(response)
    response = admin_web.post("/admin/organisation/", data=_settings_form(remote_assistance=f"  {ASSISTANCE}\n"))
    assert response.status_code == 302, page(response)
    assert get_organisation().remote_assistance == ASSISTANCE


def test_too_long_an_assistance_is_refused_in_french_and_nothing_is_lost(admin_web):
    before = get_organisation().remote_assistance
    too_long = "Assistance " + "x" * REMOTE_ASSISTANCE_MAX
    response = admin_web.post("/admin/organisation/", data=_settings_form(remote_assistance=too_long,
                                                                          name="Autre nom"))
    assert response.status_code == 422
    text = page(response)
    assert f"ne doit pas dépasser {REMOTE_ASSISTANCE_MAX} caractères" in text
    assert too_long in text and "Autre nom" in text  # what was typed is shown again
    db.session.expire_all()
    assert get_organisation().remote_assistance == before and get_organisation().name != "Autre nom"


def test_the_service_refuses_too_long_an_assistance(app, demo):
    with pytest.raises(ValidationError) as info:
        update_organisation({"remote_assistance": "x" * (REMOTE_ASSISTANCE_MAX + 1)})
    assert "remote_assistance" in info.value.fields
    db.session.rollback()


# --------------------------------------------------------------------------- the session's warning and confirmation


def test_the_session_page_warns_until_the_assistance_is_filled(advisor_web, demo):
    session = _mixed(demo.dume)
    get_organisation().remote_assistance = "   "
    db.session.commit()
    assert WARNING in session_warnings(session)
    assert WARNING in " ".join(page(advisor_web.get(f"/sessions/{session.id}")).split())
    get_organisation().remote_assistance = ASSISTANCE
    db.session.commit()
    assert WARNING not in session_warnings(session)
    assert WARNING not in " ".join(page(advisor_web.get(f"/sessions/{session.id}")).split())


def test_a_room_only_session_has_no_such_warning(app, demo):
    get_organisation().remote_assistance = ""
    db.session.commit()
    assert WARNING not in session_warnings(demo.dume)


def test_confirming_a_session_at_a_distance_waits_for_the_assistance(app, demo):
    session = _mixed(demo.dume, ("room", "virtual"))
    get_organisation().remote_assistance = ""
    db.session.commit()
    with pytest.raises(ValidationError) as info:
        change_status(session, "confirmed", demo.advisor)
    assert "assistance technique et pédagogique à distance" in info.value.message
    db.session.rollback()
    get_organisation().remote_assistance = ASSISTANCE
    db.session.commit()
    change_status(session, "confirmed", demo.advisor)
    db.session.commit()
    assert session.status == "confirmed"


# --------------------------------------------------------------------------- an uploaded template without the section


def _template_without_distance() -> bytes:
    """A convention template showing every always-mandatory mention, and no « Formation à distance » section: as an
    organisation's own template made before that section existed."""
    from docx import Document

    from tests.documents.support import shown
    from trainingmgr.documents.catalogue import mandatory_of

    document = Document()
    for name in mandatory_of("convention"):
        document.add_paragraph(shown(name))
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def test_an_uploaded_template_that_does_not_print_the_assistance_is_refused_for_a_distance_session(app, demo):
    from sqlalchemy import func, select

    from trainingmgr.documents.models import GeneratedDocument

    services.upload_template("convention", _template_without_distance(), "maison.docx", demo.admin)
    db.session.commit()
    room_only = services.generate("convention", demo.dume, demo.advisor, company=_company(demo, demo.dume),
                                  pdf=False)
    assert "distance" not in room_only.context  # a room-only session: the template serves as before
    db.session.commit()
    before = db.session.scalar(select(func.count()).select_from(GeneratedDocument))
    session = _mixed(demo.dume)
    with pytest.raises(ValidationError) as info:
        services.generate("convention", session, demo.advisor, company=_company(demo, session), pdf=False)
    assert "n'imprime pas l'assistance technique et pédagogique à distance" in info.value.message
    assert "modèle n° 1" in info.value.message and "D6313-3-1" in info.value.message
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(GeneratedDocument)) == before  # nothing stored
