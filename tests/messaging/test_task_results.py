"""Old task results (messaging/tasks.purge_old_results, files/sweep.sweep_results): a task finished more than
TASK_RESULT_DAYS ago loses its file (row and content), a recent one keeps it, a content another row names stays on
disk, the pages say so with « Relancer », the download answers 410, « Relancer » makes a new task, and a second sweep
removes nothing more."""
from __future__ import annotations

import datetime as dt
import os

from sqlalchemy import func, select

from trainingmgr.core.formatting import date_fr
from trainingmgr.core.timeutil import utcnow
from trainingmgr.extensions import db
from trainingmgr.files import services as file_services
from trainingmgr.files.models import StoredFile
from trainingmgr.files.sweep import sweep_results
from trainingmgr.messaging import tasks
from trainingmgr.messaging.models import Task

from tests.helpers import page

NOTICE = "(conservé 7 jours) : relancez le traitement pour le produire à nouveau."


@tasks.task_runner("test_result")
def _result_runner(task, progress):
    progress.begin(1, "Ligne")
    progress.advance("Ligne")
    return tasks.TaskFile(f"nom;valeur\n{task.payload['tag']};1\n".encode(), "resultat.csv", "text/csv")


def _done(actor, tag: str, days_ago: float) -> Task:
    """A task run to its end, finished ``days_ago`` days ago (its file on disk as old)."""
    task = tasks.start_task("test_result", f"Export {tag}", {"tag": tag}, actor, unit="lignes")
    db.session.commit()
    task = tasks.run_task(task.id)
    assert task.status == "done"
    finished = utcnow() - dt.timedelta(days=days_ago)
    db.session.execute(Task.__table__.update().where(Task.id == task.id).values(finished_at=finished))
    db.session.commit()
    stamp = finished.timestamp()
    os.utime(file_services.path_for(task.result_file), (stamp, stamp))
    return db.session.get(Task, task.id)


def _reload(task_id: int) -> Task:
    db.session.expire_all()
    return db.session.get(Task, task_id)


def test_an_old_result_is_deleted_a_recent_one_kept(advisor_client, users):
    old = _done(users["advisor"], "ancien", 8)
    recent = _done(users["advisor"], "recent", 6)
    old_file, old_path = old.result_file_id, file_services.path_for(old.result_file)
    recent_path = file_services.path_for(recent.result_file)

    assert sweep_results() == 1

    old, recent = _reload(old.id), _reload(recent.id)
    assert (old.status, old.result_file_id, old.result_name) == ("done", None, "resultat.csv")
    assert db.session.get(StoredFile, old_file) is None and not old_path.exists()
    assert recent.result_file_id is not None and recent_path.exists()
    assert tasks.is_purged(old) and not tasks.is_purged(recent)
    assert sweep_results() == 0  # idempotent
    assert recent_path.exists()


def test_the_pages_say_it_and_the_download_answers_410(advisor_client, users):
    old = _done(users["advisor"], "ancien", 30)
    sweep_results()
    body = page(advisor_client.get(f"/tasks/{old.id}"))
    assert NOTICE in body and "Fichier supprimé le " in body and "Relancer" in body
    assert f'action="/tasks/{old.id}/retry"' in body
    assert f"Fichier supprimé le {date_fr(utcnow())} " in body
    listing = page(advisor_client.get("/tasks/"))
    assert NOTICE in listing and f'action="/tasks/{old.id}/retry"' in listing
    state = advisor_client.get(f"/tasks/{old.id}.json").json
    assert state["has_file"] is False and state["download_url"] is None and NOTICE in state["purged"]
    gone = advisor_client.get(f"/tasks/{old.id}/download")
    assert gone.status_code == 410 and NOTICE in page(gone)


def test_relancer_makes_a_new_task_with_the_same_payload(advisor_client, users):
    old = _done(users["advisor"], "ancien", 8)
    sweep_results()
    response = advisor_client.post(f"/tasks/{old.id}/retry")
    assert response.status_code == 303
    new_id = int(response.headers["Location"].rsplit("/", 1)[1])
    assert new_id != old.id
    new = db.session.get(Task, new_id)
    assert (new.kind, new.status, new.payload, new.label) == ("test_result", "queued", {"tag": "ancien"},
                                                             "Export ancien")
    done = tasks.run_task(new_id)
    assert done.status == "done"
    download = advisor_client.get(f"/tasks/{new_id}/download")
    assert download.status_code == 200 and b"ancien;1" in download.data
    assert tasks.is_purged(_reload(old.id))  # the old one stays as it was
    # a done task that still has its file is not run again
    refused = advisor_client.post(f"/tasks/{new_id}/retry")
    assert refused.status_code == 409


def test_a_content_another_row_names_stays_on_disk(app, users):
    first = _done(users["advisor"], "meme", 8)
    second = _done(users["advisor"], "meme", 1)  # the same bytes: one content, two rows
    path = file_services.path_for(first.result_file)
    assert first.result_file.sha256 == second.result_file.sha256
    assert sweep_results() == 1
    assert path.exists()
    download_row = _reload(second.id).result_file
    assert download_row is not None and file_services.path_for(download_row).read_bytes().startswith(b"nom;")


def test_a_file_another_table_names_is_not_deleted(app, users):
    """Only the task's own file goes: a row still named elsewhere (a foreign key) is kept."""
    from trainingmgr.organisation.models import Organisation

    old = _done(users["advisor"], "logo", 8)
    file_id = old.result_file_id
    organisation = db.session.scalars(select(Organisation)).first()
    if organisation is None:
        organisation = Organisation(name="Organisme de test")
        db.session.add(organisation)
    organisation.logo_id = file_id
    db.session.commit()
    assert sweep_results() == 1
    assert _reload(old.id).result_file_id is None
    assert db.session.get(StoredFile, file_id) is not None


def test_the_retention_is_configurable_and_the_command_says_how_many(make_app, users, tmp_path):
    short = make_app(TASK_RESULT_DAYS=2)
    with short.app_context():
        old = _done(users["advisor"].id, "court", 3)
        result = short.test_cli_runner().invoke(args=["files", "sweep"])
        assert result.exit_code == 0, result.output
        assert "1 fichier de traitement supprimé" in result.output
        assert tasks.is_purged(_reload(old.id))
        assert "(conservé 2 jours)" in tasks.purged_notice(_reload(old.id))
        again = short.test_cli_runner().invoke(args=["files", "sweep"])
        assert "Aucun fichier de traitement à supprimer." in again.output
        assert db.session.scalar(select(func.count()).select_from(Task)) == 1
        db.session.remove()
