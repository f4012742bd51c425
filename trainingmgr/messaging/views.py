"""The outbox page (/admin/outbox): every e-mail with its fate, the jobs waiting or failed, and the
buttons that put a failed one back in the queue. Staff only (advisors and admins)."""
from __future__ import annotations

from io import BytesIO

from flask import Blueprint, current_app, render_template, request, send_file, url_for

from ..accounts.permissions import staff_required
from ..core.paging import page_arg
from ..core.links import safe_next_url
from ..core.responses import fail
from ..core.view_actions import run_action
from ..extensions import db
from . import delivery, services
from .models import JOB_STATUSES, MESSAGE_STATUSES, UNSETTLED_JOBS, Job, OutboxAttachment, OutboxMessage

bp = Blueprint("messaging", __name__, url_prefix="/admin/outbox")


@bp.app_template_filter("mail_topic")
def _mail_topic(topic: str) -> str:
    return services.topic_label(topic)


@bp.app_template_filter("job_kind")
def _job_kind(kind: str) -> str:
    return services.JOB_KIND_LABELS.get(kind, kind)


# Whether e-mails really leave (messaging/delivery.py), for every page that says one was sent.
bp.add_app_template_filter(delivery.delivery, "mail_delivery")
bp.add_app_template_global(delivery.mail_is_off, "mail_is_off")
bp.add_app_template_global(delivery.sent_word, "mail_sent_word")
bp.add_app_template_global(delivery.can_send_for_real, "mail_can_send_for_real")

PER_PAGE = 50


def _get_or_404(model, pk: int, message: str):
    row = db.session.get(model, pk)
    if row is None:
        fail(404, message)
    return row


def _back(default: str) -> str:
    return safe_next_url(request.form.get("next")) or default


@bp.route("/")
@staff_required
def index():
    status = request.args.get("status", "").strip()
    if status and status not in MESSAGE_STATUSES:
        fail(400, "Statut d'envoi inconnu : choisissez en attente, envoyé ou échec définitif.")
    search = request.args.get("q", "").strip()
    if len(search) > 254:
        fail(400, "La recherche est trop longue (254 caractères au plus).")
    page = page_arg()
    messages, total = services.list_messages(status or None, search, page, PER_PAGE)
    pages = max(1, -(-total // PER_PAGE))
    return render_template("messaging/index.html", messages=messages, total=total, page=page, pages=pages,
                           status=status, search=search, statuses=delivery.status_labels(),
                           counts=services.message_counts(), job_counts=services.job_counts())


@bp.route("/<int:message_id>")
@staff_required
def show(message_id: int):
    message = _get_or_404(OutboxMessage, message_id, "Message introuvable.")
    enrolment_url = None
    if message.enrolment_id and "enrolments.show" in current_app.view_functions:
        enrolment_url = url_for("enrolments.show", enrolment_id=message.enrolment_id)
    return render_template("messaging/show.html", message=message, enrolment_url=enrolment_url,
                           max_attempts=services.MAX_ATTEMPTS)


@bp.route("/<int:message_id>/attachments/<int:attachment_id>")
@staff_required
def attachment(message_id: int, attachment_id: int):
    item = db.session.get(OutboxAttachment, attachment_id)
    if item is None or item.message_id != message_id:
        fail(404, "Pièce jointe introuvable.")
    response = send_file(BytesIO(item.data), mimetype=item.content_type, as_attachment=True,
                         download_name=item.filename)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.route("/<int:message_id>/retry", methods=["POST"])
@staff_required
def retry(message_id: int):
    message = _get_or_404(OutboxMessage, message_id, "Message introuvable.")
    mail_off = delivery.mail_is_off()

    def retried() -> str:
        current_app.logger.info("Message %s remis dans la file d'envoi depuis la page des envois", message.id)
        if mail_off:
            return (f"Message à {message.recipient} remis dans la file : le worker l'écrira dans sa console à son "
                    "prochain passage, sans l'envoyer (MAIL_BACKEND=console).")
        return f"Message à {message.recipient} remis dans la file d'envoi : il partira au prochain passage du worker."

    return run_action(lambda: services.retry_message(message), retried,  # ConflictError (409) if it was sent
                      _back(url_for("messaging.show", message_id=message.id)),
                      category="warning" if mail_off else "success", refused="raise")


@bp.route("/jobs")
@staff_required
def jobs():
    status = request.args.get("status", "").strip()
    if status and status not in JOB_STATUSES:
        fail(400, "Statut de tâche inconnu.")
    statuses = (status,) if status else UNSETTLED_JOBS
    return render_template("messaging/jobs.html", jobs=services.list_jobs(statuses), status=status,
                           statuses=JOB_STATUSES, counts=services.message_counts(), job_counts=services.job_counts(),
                           max_attempts=services.MAX_JOB_ATTEMPTS)


@bp.route("/jobs/<int:job_id>/retry", methods=["POST"])
@staff_required
def retry_job(job_id: int):
    job = _get_or_404(Job, job_id, "Tâche introuvable.")

    def retried() -> str:
        current_app.logger.info("Tâche %s (%s) relancée depuis la page des envois", job.id, job.key)
        return f"Tâche « {job.key} » relancée : elle sera exécutée au prochain passage du worker."

    return run_action(lambda: services.retry_job(job), retried,  # ConflictError (409) if done or cancelled
                      _back(url_for("messaging.jobs")), refused="raise")
