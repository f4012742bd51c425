"""A session pack's zip deleted after TASK_RESULT_DAYS (files/sweep.sweep_results): the archived documents of the
pack (their rows and files) stay, only the task's own zip goes."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from trainingmgr.core.timeutil import utcnow
from trainingmgr.documents.models import GeneratedDocument
from trainingmgr.extensions import db
from trainingmgr.files.models import StoredFile
from trainingmgr.files.services import path_for
from trainingmgr.files.sweep import sweep_results
from trainingmgr.messaging import tasks
from trainingmgr.messaging.models import Task

from tests.helpers import page


def test_the_pack_zip_goes_the_documents_stay(demo, advisor_web):
    response = advisor_web.post(f"/sessions/{demo.dume.id}/documents/pack")
    task_id = int(response.headers["Location"].rsplit("/", 1)[1])
    task = tasks.run_task(task_id)
    assert task.status == "done", task.error
    zip_id = task.result_file_id
    documents = list(db.session.scalars(select(GeneratedDocument)))
    kept = {doc.docx_file_id for doc in documents} | {doc.pdf_file_id for doc in documents if doc.pdf_file_id}
    assert documents and zip_id not in kept
    db.session.execute(Task.__table__.update().where(Task.id == task_id)
                       .values(finished_at=utcnow() - dt.timedelta(days=8)))
    db.session.commit()

    assert sweep_results() == 1

    db.session.expire_all()
    assert db.session.get(StoredFile, zip_id) is None
    assert db.session.get(Task, task_id).result_file_id is None
    assert len(list(db.session.scalars(select(GeneratedDocument)))) == len(documents)
    for file_id in kept:
        stored = db.session.get(StoredFile, file_id)
        assert stored is not None and path_for(stored).exists()
    gone = advisor_web.get(f"/tasks/{task_id}/download")
    assert gone.status_code == 410 and "Fichier supprimé le " in page(gone)
