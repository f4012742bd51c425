from __future__ import annotations

from wtforms import StringField, SubmitField
from wtforms.validators import DataRequired

from ..core.forms import Form, max_length


class CompanyForm(Form):
    name = StringField("Raison sociale", validators=[DataRequired(), max_length(200)])
    siret = StringField("SIRET", validators=[max_length(20)])
    address = StringField("Adresse", validators=[max_length(255)])
    postal_code = StringField("Code postal", validators=[max_length(10)])
    city = StringField("Ville", validators=[max_length(120)])
    submit = SubmitField("Enregistrer")
