"""An enrolment's OPCO funding pack made by a task (funding/tasks.py): the button starts it (303 to its
page), one step per document, the zip the same as the service's; refused at once (409, no task) without a company.
The fund's refund pack is covered in test_funder_documents.py."""
from __future__ import annotations

import io
import zipfile

from sqlalchemy import func, select

from trainingmgr.documents import services
from trainingmgr.documents.models import GeneratedDocument
from trainingmgr.extensions import db
from trainingmgr.messaging.models import Task
from trainingmgr.messaging.tasks import run_task

from tests.helpers import page


def task_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Task))


def members(data: bytes) -> dict[str, bytes]:
    archive = zipfile.ZipFile(io.BytesIO(data))
    return {name: archive.read(name) for name in archive.namelist()}


def test_the_funding_pack_is_a_task_with_one_step_per_document(delivered, advisor_web):
    julie = delivered.enrolments["Julie"]
    response = advisor_web.post(f"/enrolments/{julie.id}/funding-pack")
    assert response.status_code == 303
    task = db.session.scalars(select(Task)).one()
    assert response.headers["Location"].endswith(f"/tasks/{task.id}")
    assert (task.kind, task.status, task.payload["enrolment_id"]) == ("funding_pack", "queued", julie.id)
    assert task.back_url == f"/sessions/{julie.session_id}/documents"
    seen = []
    task = run_task(task.id, echo=lambda t: seen.append((t.done, t.total)))
    assert task.status == "done", task.error
    assert seen == [(0, 5), (1, 5), (2, 5), (3, 5), (4, 5), (5, 5)]
    assert task.result_name == f"dossier-opco-{julie.session_id}-{julie.id}.zip"
    download = advisor_web.get(f"/tasks/{task.id}/download")
    made = db.session.scalar(select(func.count()).select_from(GeneratedDocument))
    direct = services.funding_pack(db.session.merge(julie), delivered.advisor)  # the current versions, reused
    assert members(download.data) == members(direct)
    assert db.session.scalar(select(func.count()).select_from(GeneratedDocument)) == made


def test_without_a_company_the_pack_is_refused_at_once(delivered, advisor_web):
    paul = delivered.enrolments["Paul"]  # pays for himself
    response = advisor_web.post(f"/enrolments/{paul.id}/funding-pack")
    assert response.status_code == 409
    assert "pas de dossier OPCO" in page(response)
    assert task_count() == 0


def test_the_company_removed_meanwhile_fails_the_task_in_french(delivered, advisor_web):
    julie = delivered.enrolments["Julie"]
    response = advisor_web.post(f"/enrolments/{julie.id}/funding-pack")
    julie = db.session.merge(julie)
    julie.company_id = None
    julie.trainee.company_id = None
    db.session.commit()
    task = run_task(int(response.headers["Location"].rsplit("/", 1)[1]))
    assert task.status == "failed" and task.result_file_id is None
    assert task.error == "Ce stagiaire n'est pas inscrit par une entreprise : pas de dossier OPCO."


def test_the_pack_buttons_are_for_staff_only(delivered, app):
    julie = delivered.enrolments["Julie"]
    trainer = app.test_client()
    trainer.post("/login", data={"email": "formateur@formaction.example", "password": "formateur-demo-2026"})
    for url in (f"/enrolments/{julie.id}/funding-pack", f"/enrolments/{julie.id}/fund-pack"):
        assert trainer.post(url).status_code == 403
        assert app.test_client().post(url).status_code == 302
    assert task_count() == 0
