"""The automations' forms: a rule, a new template, a template's subject and body. Fields and choices only: the
services check that the audience, the template and the attachments suit the trigger."""
from __future__ import annotations

from wtforms import BooleanField, SelectField, SelectMultipleField, StringField, SubmitField, TextAreaField, TimeField
from wtforms.validators import DataRequired, InputRequired
from wtforms.widgets import CheckboxInput, ListWidget

from ..core.forms import Form, FrenchIntegerField, choices, max_length
from ..core.validation import id_or_none
from . import registry

MAX_BODY = 20000
EDITOR = {"class": "font-monospace", "rows": 18, "spellcheck": "false"}


class RuleForm(Form):
    """When, to whom, what and with which files. The audiences and attachments of every trigger are listed: the
    service refuses those the chosen trigger does not offer."""

    name = StringField("Nom de la règle", validators=[DataRequired(), max_length(200)])
    trigger = SelectField("Déclencheur", validate_choice=False)
    offset_days = FrenchIntegerField("Délai (en jours)", default=0,
                                     description="Ignoré pour les déclencheurs sans délai.")
    send_time = TimeField("Heure d'envoi (heure de Paris)", validators=[InputRequired()],
                          description="Pour les déclencheurs datés (J−n, J+n).")
    audience = SelectField("Destinataires", validate_choice=False)
    template_id = SelectField("Modèle d'e-mail", validate_choice=False)
    attachments = SelectMultipleField("Pièces jointes", validate_choice=False, option_widget=CheckboxInput(),
                                      widget=ListWidget(prefix_label=False))
    active = BooleanField("Active", default=True)
    submit = SubmitField("Enregistrer la règle")

    def set_choices(self, templates) -> None:
        self.trigger.choices = choices(((t.code, t.label) for t in registry.TRIGGERS.values()), blank="—")
        self.audience.choices = choices(registry.AUDIENCES.items(), blank="—")
        self.template_id.choices = choices(
            ((t.id, f"{t.name} ({_context_label(t.context)})") for t in templates), blank="—")
        self.attachments.choices = [(a.code, a.label) for a in registry.ATTACHMENTS.values()]

    def data_for_service(self) -> dict:
        data = super().data_for_service()
        data["template_id"] = id_or_none(data["template_id"])
        data["send_time"] = data["send_time"].strftime("%H:%M") if data["send_time"] else ""
        data["offset_days"] = data["offset_days"] if data["offset_days"] is not None else 0
        data["attachments"] = list(data["attachments"] or [])
        return data


def _context_label(code: str) -> str:
    context = registry.CONTEXTS.get(code)
    return context.label if context else code


class TemplateForm(Form):
    """A template's subject and body, in the sandboxed Jinja of the Word templates."""

    subject = StringField("Objet", validators=[DataRequired(), max_length(300)], render_kw={"class": "font-monospace"})
    body = TextAreaField("Texte", validators=[DataRequired(), max_length(MAX_BODY)], render_kw=EDITOR)
    submit = SubmitField("Enregistrer le modèle")


class NewTemplateForm(TemplateForm):
    """A new template: its name and the kind of e-mail it is (the variables it may use)."""

    name = StringField("Nom du modèle", validators=[DataRequired(), max_length(200)])
    context = SelectField("Type d'e-mail (ses variables)", validate_choice=False)

    def set_choices(self) -> None:
        self.context.choices = choices(((c.code, c.label) for c in registry.CONTEXTS.values()), blank="—")
