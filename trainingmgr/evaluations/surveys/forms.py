"""The advisor's form closing a survey alert."""
from __future__ import annotations

from wtforms import SelectField, SubmitField, TextAreaField

from ...core.forms import Form, choices, max_length


class AlertForm(Form):
    status = SelectField("Suite donnée", choices=choices([("handled", "Traitée"), ("dismissed", "Classée sans suite")]),
                         validate_choice=False)
    note = TextAreaField("Ce qui a été fait", validators=[max_length(5000)])
    submit = SubmitField("Enregistrer")
