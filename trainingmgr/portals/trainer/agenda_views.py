"""The trainer's agenda: the iCal subscription and the periods of unavailability.

/formateur/<token>/agenda.ics                                         the subscription (personal link, no account)
/formateur/<token>/indisponibilites                                   the trainer declares a period, sees theirs
/formateur/<token>/indisponibilites/<period_id>/supprimer   (POST)    and withdraws one
/trainers/<trainer_id>/unavailabilities                               the advisor does the same for any trainer
/trainers/<trainer_id>/unavailabilities/<period_id>/delete  (POST)

The trainer's pages sit beside the trainer space's (space_views.py) and read the link the same way
(``links.trainer_from_token``: 403 forged, 410 expired, renewed, revoked or the trainer archived); their POSTs are
rate-limited per link (TRAINER_SPACE_RATE_LIMIT). The space's home shows them through trainer_space/_cards.html.
"""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, request, url_for

from ...accounts.permissions import staff_required
from ...core.tokens import log_safe_key
from ...core.responses import attachment
from ...core.view_actions import form_page, run_form
from ...extensions import db, limiter
from ...organisation.services import get_organisation
from ...resources import links, unavailability
from . import agenda
from ...resources.forms import UnavailabilityForm
from ...resources.models import Trainer

bp = Blueprint("trainer_agenda", __name__)


def _per_link() -> str:
    return log_safe_key("trainer-space", request.view_args.get("token", ""))


def _limit() -> str:
    return current_app.config["TRAINER_SPACE_RATE_LIMIT"]


@bp.route("/formateur/<token>/agenda.ics")
def feed(token: str):
    trainer = links.trainer_from_token(token)
    return attachment(agenda.trainer_calendar(trainer, get_organisation()), "planning.ics", "text/calendar")


@bp.route("/formateur/<token>/indisponibilites", methods=["GET", "POST"])
@limiter.limit(_limit, key_func=_per_link, methods=["POST"])
def space_unavailabilities(token: str):
    trainer = links.trainer_from_token(token)
    return _periods_page(trainer, ".space_unavailabilities", ".space_delete_unavailability", token=token)


@bp.route("/formateur/<token>/indisponibilites/<int:period_id>/supprimer", methods=["POST"])
@limiter.limit(_limit, key_func=_per_link)
def space_delete_unavailability(token: str, period_id: int):
    trainer = links.trainer_from_token(token)
    return _delete(trainer, period_id, url_for(".space_unavailabilities", token=token))


@bp.route("/trainers/<int:trainer_id>/unavailabilities", methods=["GET", "POST"])
@staff_required
def unavailabilities(trainer_id: int):
    trainer = db.get_or_404(Trainer, trainer_id)
    return _periods_page(trainer, ".unavailabilities", ".delete_unavailability", trainer_id=trainer.id)


@bp.route("/trainers/<int:trainer_id>/unavailabilities/<int:period_id>/delete", methods=["POST"])
@staff_required
def delete_unavailability(trainer_id: int, period_id: int):
    trainer = db.get_or_404(Trainer, trainer_id)
    return _delete(trainer, period_id, url_for(".unavailabilities", trainer_id=trainer.id))


def _periods_page(trainer: Trainer, endpoint: str, delete_endpoint: str, **args):
    """The trainer's periods with a delete button each, and the form that adds one (``args`` name the page)."""
    form = UnavailabilityForm()
    ok, added = run_form(form, lambda: unavailability.add_unavailability(trainer, form.data_for_service()))
    if ok:
        period, warnings = added
        flash(f"Indisponibilité enregistrée {unavailability.describe(period)}.", "success")
        for warning in warnings:
            flash(warning, "warning")
        return redirect(url_for(endpoint, **args))
    periods = [(period, url_for(delete_endpoint, period_id=period.id, **args))
               for period in unavailability.list_unavailabilities(trainer)]
    in_space = "token" in args
    back = url_for("trainer_space.home", **args) if in_space else url_for("resources.trainer_form",
                                                                          trainer_id=trainer.id)
    return form_page("resources/unavailabilities.html", form, trainer=trainer, periods=periods, in_space=in_space,
                     back_url=back)


def _delete(trainer: Trainer, period_id: int, back: str):
    period = unavailability.get_unavailability(trainer, period_id)
    label = unavailability.describe(period)
    unavailability.delete_unavailability(period)
    db.session.commit()
    flash(f"Indisponibilité {label} retirée.", "success")
    return redirect(back)
