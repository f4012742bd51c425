"""The form of the « Dossier d'audit » page: it only parses; quality/audit_pack.plan_pack checks the period, the
sample size and the chosen sessions, whose errors land beside the fields."""
from __future__ import annotations

from wtforms import DateField, SelectMultipleField, SubmitField
from wtforms.validators import Optional
from wtforms.widgets import CheckboxInput, ListWidget

from ...core.forms import Form, FrenchIntegerField
from .selection import MAX_SAMPLE


class AuditPackForm(Form):
    # Optional: an empty date is reported by the service (« Indiquez… »), an unreadable one by WTForms.
    since = DateField("Du", validators=[Optional()])
    until = DateField("Au", validators=[Optional()])
    sample = FrenchIntegerField("Sessions à tirer", validators=[Optional()], render_kw={"min": 1, "max": MAX_SAMPLE},
                                description="Quand aucune session n'est cochée ci-dessous.")
    sessions = SelectMultipleField("Ou choisissez les sessions à suivre", coerce=str, validate_choice=False,
                                   option_widget=CheckboxInput(), widget=ListWidget(prefix_label=False))
    submit = SubmitField("Constituer le dossier")
