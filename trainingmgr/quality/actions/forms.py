"""Forms of the improvement actions: they only parse; the rules (owner, due date, transitions, effect required
when done) live in quality.actions, whose errors land beside the fields."""
from __future__ import annotations

from wtforms import DateField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import Optional

from ...core.forms import Form, choices, max_length
from .services import MANUAL_SOURCES, MAX_TEXT, MAX_TITLE
from ..models import ACTION_SOURCES, ACTION_STATUSES


class ActionForm(Form):
    source = SelectField("Origine", choices=choices(((s, ACTION_SOURCES[s]) for s in MANUAL_SOURCES),
                                                    blank="— choisir —"), validate_choice=False)
    title = StringField("Intitulé", validators=[max_length(MAX_TITLE)], render_kw={"maxlength": MAX_TITLE})
    analysis = TextAreaField("Analyse (cause constatée)", validators=[max_length(MAX_TEXT)], render_kw={"rows": 3})
    description = TextAreaField("Mesure décidée", validators=[max_length(MAX_TEXT)], render_kw={"rows": 3})
    owner_id = SelectField("Responsable", validate_choice=False)
    # Optional: an empty date is reported by the service ("obligatoire"), an unreadable one by WTForms.
    due_date = DateField("Échéance", validators=[Optional()])
    submit = SubmitField("Enregistrer l'action")

    def set_owner_choices(self, users) -> None:
        self.owner_id.choices = choices(((u.id, u.name or u.email) for u in users), blank="— choisir —")


class ActionEditForm(ActionForm):
    source = None  # fixed at creation
    status = SelectField("Statut", choices=choices(ACTION_STATUSES.items()), validate_choice=False)
    effect = TextAreaField("Effet observé (ou motif de l'abandon)", validators=[max_length(MAX_TEXT)],
                           render_kw={"rows": 3},
                           description="Obligatoire pour marquer l'action réalisée ou abandonnée.")
    submit = SubmitField("Enregistrer")
