"""A session's pack made as a task (documents/packs/session_pack.py): the request answers at once with the task's page; the
run generates one document at a time, each committed with the count the page polls; the zip is offered once done;
a failing document fails the task in French with no file; `flask documents pack` shows the same progress."""
from __future__ import annotations

import io
import zipfile

from sqlalchemy import func, select

from trainingmgr.core.errors import ConflictError
from trainingmgr.documents import services
from trainingmgr.documents.models import GeneratedDocument
from trainingmgr.documents.packs import session_pack
from trainingmgr.extensions import db
from trainingmgr.messaging import tasks
from trainingmgr.messaging.models import Task

from tests.helpers import page


def _documents_committed() -> int:
    with db.engine.connect() as connection:  # what another connection (the page's request) sees
        return connection.scalar(select(func.count()).select_from(GeneratedDocument))


def _start(web, session) -> int:
    response = web.post(f"/sessions/{session.id}/documents/pack")
    assert response.status_code == 303, page(response)[-2000:]
    return int(response.headers["Location"].rsplit("/", 1)[1])


def test_the_request_only_queues_the_pack_and_shows_its_page(demo, advisor_web):
    d = demo
    response = advisor_web.post(f"/sessions/{d.dume.id}/documents/pack")
    assert response.status_code == 303
    task_id = int(response.headers["Location"].rsplit("/", 1)[1])
    task = db.session.get(Task, task_id)
    assert (task.kind, task.status, task.payload["session_id"]) == ("session_pack", "queued", d.dume.id)
    assert task.label.startswith("Dossier de la session « ") and task.actor_id == d.advisor.id
    assert _documents_committed() == 0  # nothing rendered inside the request
    body = page(advisor_web.get(response.headers["Location"]))
    assert task.label in body and "documents" in body and "En attente" in body
    assert f'href="/sessions/{d.dume.id}/documents"' in body  # the way back


def test_the_documents_are_generated_one_at_a_time_with_the_count_committed(demo, advisor_web):
    d = demo
    task_id = _start(advisor_web, d.dume)
    steps = [session_pack.step_label(*subject) for subject in services.pack_subjects(d.dume)]
    expected = len(steps)
    assert expected >= 6 and any(step.startswith("Convocation — ") for step in steps)
    seen = []

    def look(task):
        state = advisor_web.get(f"/tasks/{task_id}.json").json
        seen.append((state["done"], state["total"], _documents_committed(), state["step"]))

    done = tasks.run_task(task_id, echo=look)

    assert done.status == "done", done.error
    assert seen[0][:3] == (0, expected, 0)  # begin: the total is known before the first document
    made = seen[1:expected + 1]
    assert [s[0] for s in made] == list(range(1, expected + 1))
    assert all(total == expected and committed == n for n, total, committed, _ in made)  # each one committed
    assert [s[3] for s in made] == steps  # « Convocation — Jeanne Martin »: the document just made
    assert seen[-1][3] == "Constitution du fichier zip"
    download = advisor_web.get(f"/tasks/{task_id}/download")
    assert download.status_code == 200 and download.mimetype == "application/zip"
    assert f'dossier-session-{d.dume.id}.zip' in download.headers["Content-Disposition"]
    names = zipfile.ZipFile(io.BytesIO(download.data)).namelist()
    assert {n.split("-")[0] for n in names} >= {"PROG", "CONVOC"}
    body = page(advisor_web.get(f"/tasks/{task_id}"))
    assert f"Télécharger dossier-session-{d.dume.id}.zip" in " ".join(body.replace(
        '<span data-field="result-name">', "").replace("</span>", "").split())


def test_a_document_that_fails_fails_the_pack_in_french_with_no_file(demo, advisor_web, monkeypatch):
    d = demo
    task_id = _start(advisor_web, d.dume)
    real, calls = services.generate, []

    def third_fails(doc_type, *args, **kwargs):
        calls.append(doc_type)
        if len(calls) == 3:
            raise ConflictError("Le modèle de ce document est invalide : corrigez-le dans Modèles de documents.")
        return real(doc_type, *args, **kwargs)

    monkeypatch.setattr(services, "generate", third_fails)
    failed = tasks.run_task(task_id)
    assert failed.status == "failed" and failed.result_file_id is None and failed.done == 2
    assert failed.error == ("Le modèle de ce document est invalide : corrigez-le dans Modèles de documents. "
                            "Le dossier n'est pas constitué.")
    assert _documents_committed() == 2  # the two made before stay, with their rows
    assert advisor_web.get(f"/tasks/{task_id}/download").status_code == 404
    body = page(advisor_web.get(f"/tasks/{task_id}"))
    assert failed.error in body and "Relancer" in body
    # relaunched once the cause is fixed: the two already made are reused, the pack completes
    monkeypatch.setattr(services, "generate", real)
    assert advisor_web.post(f"/tasks/{task_id}/retry").status_code == 303
    assert tasks.run_task(task_id).status == "done"


def test_a_trainer_cannot_start_a_pack(demo, app):
    from tests.fixtures.documents import logged_in

    trainer = logged_in(app, "formateur@formaction.example", "formateur-demo-2026")
    assert trainer.post(f"/sessions/{demo.dume.id}/documents/pack").status_code == 403
    assert db.session.scalar(select(func.count()).select_from(Task)) == 0


def test_the_command_line_shows_a_line_per_document_and_writes_the_zip(demo, app, tmp_path):
    d = demo
    out = tmp_path / "dossier.zip"
    expected = len(services.pack_subjects(d.dume))
    result = app.test_cli_runner().invoke(args=["documents", "pack", str(d.dume.id), "--out", str(out),
                                                "--as", "conseil@formaction.example"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"0/{expected} Génération des documents"
    assert lines[1] == f"1/{expected} Programme de formation" or lines[1].startswith(f"1/{expected} ")
    assert any(line.startswith(f"/{expected} Convocation — ", len(line.split("/")[0])) for line in lines)
    assert lines[-1].startswith(f"Dossier écrit dans {out} ({expected} documents ; traitement n° ")
    assert zipfile.ZipFile(out).namelist()
    task = db.session.scalars(select(Task)).one()
    assert (task.status, task.kind, task.actor_id) == ("done", session_pack.SESSION_PACK, d.advisor.id)


def test_the_command_line_refuses_an_unknown_session_or_account(demo, app, tmp_path):
    runner = app.test_cli_runner()
    missing = runner.invoke(args=["documents", "pack", "999999", "--out", str(tmp_path / "x.zip")])
    assert missing.exit_code == 1 and missing.output == "Erreur : Session introuvable.\n"
    trainer = runner.invoke(args=["documents", "pack", str(demo.dume.id), "--as", "formateur@formaction.example"])
    assert trainer.exit_code == 1 and "n'est ni conseiller ni administrateur" in trainer.output
    assert not (tmp_path / "x.zip").exists()
