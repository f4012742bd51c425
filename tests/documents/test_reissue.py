"""Re-issuing: a session's pack reuses every current document whose data did not change; a document whose
data (or template) changed gets a new version that says why; the public check of a replaced certificate says
when and why it was replaced."""
from __future__ import annotations

import datetime as dt
import io
import zipfile

from sqlalchemy import func, select

from tests.documents.support import make_template
from tests.helpers import page, run_started_task
from trainingmgr.core.formatting import date_fr
from trainingmgr.documents import services
from trainingmgr.documents.catalogue import mandatory_of
from trainingmgr.documents.models import GeneratedDocument
from trainingmgr.extensions import db
from trainingmgr.files.models import StoredFile


def pack(d, session) -> dict[tuple[str, str], GeneratedDocument]:
    """Generate the session's pack as the advisor does; its documents by (type, subject)."""
    documents = services.generate_session_pack(session, d.advisor, pdf=False)
    db.session.commit()
    return {(document.doc_type, document.subject): document for document in documents}


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def reissued(before: dict, after: dict) -> dict[tuple[str, str], GeneratedDocument]:
    """The documents of ``after`` that are not those of ``before``."""
    assert before.keys() == after.keys()
    return {key: document for key, document in after.items() if document.id != before[key].id}


def zip_contents(response) -> dict[str, bytes]:
    assert response.status_code == 200, page(response)[-2000:]
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    return {name: archive.read(name) for name in archive.namelist()}


def correct_sarah(d):
    """Sarah left the afternoon at 15:30: 6 h attended instead of 8 h."""
    from trainingmgr.attendance import services as attendance

    sarah = d.enrolments["Sarah"]
    afternoon = sorted(d.dume.slots, key=lambda s: s.start_time)[1]
    attendance.correct(afternoon, sarah, {"presence": "present", "left_at": "15:30", "reason": "Départ à 15 h 30"},
                       d.advisor, now=afternoon.ends_at)
    db.session.commit()
    return sarah


def test_an_unchanged_pack_issues_nothing_new(delivered, advisor_web, monkeypatch):
    d = delivered
    first_zip = zip_contents(run_started_task(advisor_web, advisor_web.post(f"/sessions/{d.dume.id}/documents/pack"))[1])
    first = {(x.doc_type, x.subject): x for x in services.session_documents(d.dume)}
    assert {x.version for x in first.values()} == {1}
    assert {x.reason for x in first.values()} == {"Première émission"}
    documents, files = count(GeneratedDocument), count(StoredFile, StoredFile.kind != "export")
    # The next day: the document date ("today") and the number, made anew by each generation, are no change.
    tomorrow = dt.date.today() + dt.timedelta(days=1)
    monkeypatch.setattr("trainingmgr.documents.rendering.context.paris_today", lambda: tomorrow)
    second_zip = zip_contents(run_started_task(advisor_web, advisor_web.post(f"/sessions/{d.dume.id}/documents/pack"))[1])
    assert second_zip == first_zip
    again = pack(d, d.dume)
    assert {key: x.id for key, x in again.items()} == {key: x.id for key, x in first.items()}
    # (the pack's zip is a task's result, stored each time it is asked for: not a document's file)
    assert (count(GeneratedDocument), count(StoredFile, StoredFile.kind != "export")) == (documents, files)


def test_changed_hours_reissue_only_that_trainees_documents(delivered):
    d = delivered
    first = pack(d, d.dume)
    sarah = correct_sarah(d)
    second = pack(d, d.dume)
    new = reissued(first, second)
    mine = (f"enrolment:{sarah.id}", f"session:{d.dume.id}")
    assert set(new) == {("attestation", mine[0]), ("certificate", mine[0]), ("attendance_sheet", mine[1])}
    assert all(document.version == 2 for document in new.values())
    assert new["certificate", mine[0]].reason == "Données modifiées : heures réalisées"
    assert new["attestation", mine[0]].reason == "Données modifiées : heures réalisées"
    assert new["attendance_sheet", mine[1]].reason == "Données modifiées : émargement"
    assert new["certificate", mine[0]].context["attendance"]["hours"] == "6 h"
    assert first["certificate", mine[0]].reason == "Première émission"
    # Nothing changed since: the third pack is the second one.
    assert {key: x.id for key, x in pack(d, d.dume).items()} == {key: x.id for key, x in second.items()}


def test_changed_session_dates_reissue_that_sessions_documents_only(demo):
    from trainingmgr.sessions.services import update_slot

    d = demo
    chorus, dume = pack(d, d.chorus), pack(d, d.dume)
    for slot in sorted(d.chorus.slots, key=lambda s: s.date, reverse=True):  # the last first: no overlap
        update_slot(slot, {"date": (slot.date + dt.timedelta(days=1)).isoformat()}, d.advisor)
    db.session.commit()
    new_chorus, new_dume = pack(d, d.chorus), pack(d, d.dume)
    assert reissued(dume, new_dume) == {}
    new = reissued(chorus, new_chorus)
    assert set(new) == set(chorus) and {"programme", "convention", "convocation"} <= {t for t, _ in new}
    for document in new.values():
        assert document.version == 2
        # (a move across the new year also changes the session's reference)
        assert document.reason.startswith("Données modifiées : ") and "dates de la session" in document.reason
        assert "heures" not in document.reason and "stagiaire" not in document.reason


def test_a_new_template_is_a_reason(delivered):
    d = delivered
    first = pack(d, d.dume)
    lines = [f"{name} : {{{{ {name} }}}}" for name in mandatory_of("programme") if "[]" not in name]
    services.upload_template("programme", make_template("Programme maison", *lines), "programme.docx", d.admin)
    db.session.commit()
    new = reissued(first, pack(d, d.dume))
    assert list(new) == [("programme", f"session:{d.dume.id}")]
    assert new["programme", f"session:{d.dume.id}"].reason == "Nouveau modèle de document"


def test_a_regeneration_asked_for_says_why(delivered, advisor_web):
    d = delivered
    first = services.generate("programme", d.dume, d.advisor, pdf=False)
    second = services.generate("programme", d.dume, d.advisor, pdf=False)
    third = services.generate("programme", d.dume, d.advisor, pdf=False, reason="Envoi au financeur")
    db.session.commit()
    assert [x.version for x in (first, second, third)] == [1, 2, 3]
    assert [x.reason for x in (first, second, third)] == [
        "Première émission", "Nouvelle émission demandée", "Envoi au financeur"]
    body = page(advisor_web.get(f"/sessions/{d.dume.id}/documents"))
    assert "Première émission" in body and "Envoi au financeur" in body


def test_the_check_page_of_a_replaced_certificate_says_when_and_why(delivered, client):
    d = delivered
    first = pack(d, d.dume)
    sarah = correct_sarah(d)
    old = first["certificate", f"enrolment:{sarah.id}"]
    paul = first["certificate", f"enrolment:{d.enrolments['Paul'].id}"]
    new = pack(d, d.dume)["certificate", f"enrolment:{sarah.id}"]
    assert new.id != old.id and new.verify_code != old.verify_code
    body = page(client.get(f"/verification/{old.verify_code}"))
    assert f"Remplacé le {date_fr(new.created_at)} : Données modifiées : heures réalisées" in body
    assert "version en vigueur" not in body
    for current in (new, paul):  # Paul's certificate was reused, not replaced
        body = page(client.get(f"/verification/{current.verify_code}"))
        assert "version en vigueur" in body and "Remplacé" not in body
    assert services.next_version(old).id == new.id and services.next_version(new) is None
