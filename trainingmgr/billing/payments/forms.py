"""Forms of the payments panel: they only parse; the rules (date, amount against the balance, method) live in
billing.payments, whose errors land beside the fields."""
from __future__ import annotations

from wtforms import DateField, SelectField, StringField, SubmitField
from wtforms.validators import Optional

from ...core.forms import Form, FrenchDecimalField, choices, max_length
from ..models import PAYMENT_METHODS
from .services import MAX_REASON, MAX_REFERENCE


class PaymentForm(Form):
    # Optional: an empty date or amount is reported by the service ("obligatoire"), an unreadable one by WTForms.
    paid_on = DateField("Date du paiement", validators=[Optional()])
    amount = FrenchDecimalField("Montant reçu (€)", validators=[Optional()])
    method = SelectField("Mode de paiement", choices=choices(PAYMENT_METHODS.items()), default="transfer",
                         validate_choice=False)
    reference = StringField("Référence (n° de chèque, libellé du virement…)",
                            validators=[max_length(MAX_REFERENCE)], render_kw={"maxlength": MAX_REFERENCE})
    submit = SubmitField("Enregistrer le paiement")


class PaymentCancelForm(Form):
    """The reason is checked by the service (required, at most MAX_REASON characters), beside the payment."""

    reason = StringField("Motif de l'annulation", render_kw={"maxlength": MAX_REASON})
    submit = SubmitField("Annuler le paiement")


class ReminderForm(Form):
    """Only the CSRF token: the reminder is sent to the recipient the service finds."""

    submit = SubmitField("Envoyer une relance")
