"""Staff pages of personal data (RGPD): the retention policy, and everything held about one trainee (a readable
page and its JSON download, for a request of access or portability).

/privacy/retention                  the retention policy in force
/trainees/<id>/data                 what is held about a trainee
/trainees/<id>/data.json            the same, as a JSON file
"""
from __future__ import annotations

from flask import Blueprint, render_template

from ..core.responses import attachment
from ..accounts.permissions import staff_required
from ..core.timeutil import paris_today
from ..trainees.services import get_trainee
from . import retention, services

bp = Blueprint("privacy", __name__)


@bp.route("/privacy/retention")
@staff_required
def policy():
    return render_template("privacy/policy.html", rules=retention.policy(), kept=retention.KEPT,
                           period_label=retention.period_label)


@bp.route("/trainees/<int:trainee_id>/data")
@staff_required
def trainee_data(trainee_id: int):
    trainee = get_trainee(trainee_id)
    return render_template("privacy/trainee.html", trainee=trainee, data=services.export_trainee(trainee))


@bp.route("/trainees/<int:trainee_id>/data.json")
@staff_required
def trainee_data_json(trainee_id: int):
    trainee = get_trainee(trainee_id)
    filename = f"donnees-stagiaire-{trainee.id}-{paris_today().isoformat()}.json"
    return attachment(services.export_json(trainee), filename, "application/json")
