from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user

from ..accounts.permissions import staff_required
from ..core.forms import choices
from ..core.responses import fail, html_error
from ..core.view_actions import form_page, run_action, run_form
from ..extensions import db
from ..messaging.delivery import sent_to
from . import links, providers, services, unavailability
from .forms import ActionForm, LocationForm, TrainerForm
from .models import Location, Trainer

bp = Blueprint("resources", __name__)


@bp.route("/locations/")
@staff_required
def locations():
    return render_template("resources/locations.html", locations=services.list_locations(include_inactive=True))


@bp.route("/locations/new", methods=["GET", "POST"])
@bp.route("/locations/<int:location_id>", methods=["GET", "POST"])
@staff_required
def location_form(location_id: int | None = None):
    location = db.get_or_404(Location, location_id) if location_id is not None else None
    form = LocationForm(obj=location)
    ok, saved = run_form(form, lambda: services.save_location(location, form.data_for_service()))
    if ok:
        flash(f"Lieu « {saved.name} » enregistré.", "success")
        return redirect(url_for("resources.locations"))
    return form_page("resources/location_form.html", form, location=location, max_sessions=providers.MAX_SESSIONS,
                     sessions=providers.ask("location_sessions", location) if location else [])


@bp.route("/trainers/")
@staff_required
def trainers():
    return render_template("resources/trainers.html", trainers=services.list_trainers(include_inactive=True))


@bp.route("/trainers/new", methods=["GET", "POST"])
@bp.route("/trainers/<int:trainer_id>", methods=["GET", "POST"])
@staff_required
def trainer_form(trainer_id: int | None = None):
    trainer = db.get_or_404(Trainer, trainer_id) if trainer_id is not None else None
    form = TrainerForm(obj=trainer)
    form.user_id.choices = choices(
        ((u.id, u.email) for u in services.trainer_account_choices(trainer)), blank="— aucun —"
    )
    if not form.is_submitted():
        form.user_id.data = str(trainer.user_id) if trainer is not None and trainer.user_id else ""
    ok, saved = run_form(form, lambda: services.save_trainer(trainer, form.data_for_service(), form.cv.data))
    if ok:
        flash(f"Formateur {saved.full_name} enregistré.", "success")
        return redirect(url_for("resources.trainers"))
    return form_page("resources/trainer_form.html", form, trainer=trainer,
                     unavailabilities=unavailability.list_unavailabilities(trainer) if trainer else [],
                     space_link=links.has_link(trainer) if trainer else False, max_sessions=providers.MAX_SESSIONS,
                     sessions=providers.ask("trainer_sessions", trainer) if trainer else [])


SPACE_LINK_ACTIONS = {  # the trainer space's link: what the button does, and what the advisor is told
    "send": (links.send_link, "Lien de l'espace formateur {sent_to}."),
    "renew": (links.renew_link, "Nouveau lien {sent_to} : les anciens ne fonctionnent plus."),
    "revoke": (links.revoke_link, "Lien de l'espace formateur révoqué : plus aucun lien ne l'ouvre."),
}


@bp.route("/trainers/<int:trainer_id>/space-link/<any(send, renew, revoke):action>", methods=["POST"])
@staff_required
def space_link(trainer_id: int, action: str):
    trainer = db.get_or_404(Trainer, trainer_id)
    if not ActionForm().validate_on_submit():
        fail(400, "Le formulaire a expiré : rechargez la page et recommencez.")
    service, done = SPACE_LINK_ACTIONS[action]
    # a refusal (an archived trainer, no e-mail address) is the error page, with its status
    return run_action(lambda: service(trainer, current_user), lambda: done.format(sent_to=sent_to(trainer.email)),
                      url_for("resources.trainer_form", trainer_id=trainer.id) + "#espace-formateur",
                      refused=lambda error: html_error(error.status_code, error.message))
