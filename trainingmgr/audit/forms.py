"""The filters of the audit page (a GET form: no CSRF token, nothing is changed)."""
from __future__ import annotations

from wtforms import DateField, SelectField
from wtforms.validators import Optional

from ..core.forms import FrenchIntegerField, Form, choices
from .models import OBJECT_LABELS


class AuditFilterForm(Form):
    class Meta:
        csrf = False
        locales = ["fr_FR", "fr"]

    object_type = SelectField("Type d'objet", choices=choices(OBJECT_LABELS.items(), blank="Tous"),
                              validators=[Optional()], validate_choice=False)
    object_id = FrenchIntegerField("N° de l'objet", validators=[Optional()])
    actor_id = SelectField("Auteur", coerce=str, validators=[Optional()], validate_choice=False)
    date_from = DateField("Du", validators=[Optional()],
                          render_kw={"type": "date"})
    date_to = DateField("Au", validators=[Optional()], render_kw={"type": "date"})

    def is_submitted(self) -> bool:  # a GET form: submitted when any filter is given
        return True
