"""Forms of the payment schedule page (schedule/views.py): the calls, and sending one now."""
from __future__ import annotations

from wtforms import DateField, FieldList, FormField, StringField, SubmitField
from wtforms.validators import Optional

from ...core.forms import Form, FrenchDecimalField, SubForm, max_length
from .services import MAX_CALLS


class CallRowForm(SubForm):
    due_on = DateField("Date d'échéance", validators=[Optional()])
    amount = FrenchDecimalField("Montant TTC (€)", validators=[Optional()])


class ScheduleForm(Form):
    calls = FieldList(FormField(CallRowForm), min_entries=1, max_entries=MAX_CALLS + 4)
    submit = SubmitField("Enregistrer l'échéancier")


class SendCallForm(Form):
    """« Envoyer maintenant »; the trainee's postal address when their last invoice gives none."""

    buyer_address = StringField("Adresse du stagiaire", validators=[max_length(255)])
    buyer_postal_code = StringField("Code postal", validators=[max_length(10)])
    buyer_city = StringField("Ville", validators=[max_length(120)])
    submit = SubmitField("Envoyer maintenant")
