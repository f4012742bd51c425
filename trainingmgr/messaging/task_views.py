"""The pages of the long tasks (messaging/tasks.py): the progress page a view sends the user to once it started a
task, the JSON that page polls every second, the file once it is ready, the « Relancer » button of a failed task,
and the list of the recent tasks. Staff only (advisors and admins)."""
from __future__ import annotations

from flask import Blueprint, jsonify, render_template, send_file, url_for
from flask_login import current_user
from sqlalchemy.orm import selectinload

from ..accounts.permissions import staff_required
from ..core.paging import page_arg, paginate
from ..core.links import safe_next_url
from ..core.responses import fail
from ..core.view_actions import run_action
from ..files.services import path_for
from . import tasks
from .models import Task

bp = Blueprint("tasks", __name__, url_prefix="/tasks")

PER_PAGE = 30


def _payload(task: Task) -> dict:
    data = tasks.describe(task)
    data["download_url"] = url_for("tasks.download", task_id=task.id) if data["has_file"] else None
    return data


@bp.route("/")
@staff_required
def index():
    listing = paginate(tasks.recent_tasks_query().options(selectinload(Task.result_file)), page_arg(), PER_PAGE)
    return render_template("tasks/index.html", listing=listing, unit_of=tasks.unit_of,
                           purged_notice=tasks.purged_notice)


@bp.route("/<int:task_id>")
@staff_required
def show(task_id: int):
    task = tasks.get_task(task_id, current_user)
    return render_template("tasks/show.html", task=task, state=_payload(task), unit=tasks.unit_of(task),
                           back_url=safe_next_url(task.back_url))


@bp.route("/<int:task_id>.json")
@staff_required
def state(task_id: int):
    task = tasks.get_task(task_id, current_user)
    response = jsonify(_payload(task))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/<int:task_id>/download")
@staff_required
def download(task_id: int):
    task = tasks.get_task(task_id, current_user)
    stored = tasks.result_of(task)
    path = path_for(stored)
    if not path.exists():
        fail(404, "Le fichier de ce traitement n'est plus sur le serveur : relancez le traitement.")
    response = send_file(path, mimetype=stored.content_type, as_attachment=True,
                         download_name=task.result_name or stored.original_name, max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/<int:task_id>/retry", methods=["POST"])
@staff_required
def retry(task_id: int):
    """« Relancer » a failed task, or one whose file was deleted (a new task then); CSRF checked by CSRFProtect."""
    task = tasks.get_task(task_id, current_user)
    return run_action(lambda: tasks.retry_task(task, current_user), "Traitement relancé : il reprend dans un instant.",
                      lambda target: url_for("tasks.show", task_id=target.id), refused="raise", status=303)

