from __future__ import annotations

from wtforms import BooleanField, DateField, HiddenField, SelectMultipleField, StringField, SubmitField, TextAreaField
from wtforms.validators import Optional
from wtforms.widgets import CheckboxInput, ListWidget

from ..core.forms import Form, max_length


class SendForm(Form):
    """Who signs (among services.proposed_signatories) and until when."""

    signatories = SelectMultipleField("Signataires", validate_choice=False, option_widget=CheckboxInput(),
                                      widget=ListWidget(prefix_label=False))
    deadline = DateField("Date limite de signature", validators=[Optional()])
    submit = SubmitField("Envoyer pour signature")


class CancelForm(Form):
    reason = TextAreaField("Motif de l'annulation (facultatif)", validators=[max_length(1000)])
    submit = SubmitField("Annuler la demande")


class SignForm(Form):
    """The code e-mailed to the signatory, and a drawing (PNG data URL from signature_pad) or the typed name."""

    code = StringField("Code reçu par e-mail", validators=[max_length(12)])
    signature = HiddenField()
    typed_name = StringField("Ou tapez votre nom complet", validators=[max_length(250)])
    consent = BooleanField("J'ai lu le document et je le signe électroniquement.")
    submit = SubmitField("Je signe le document")


class RefuseForm(Form):
    reason = TextAreaField("Pourquoi refusez-vous de signer ?", validators=[max_length(2000)])
    submit = SubmitField("Refuser de signer")


class ActionForm(Form):
    """A button (CSRF only)."""

    submit = SubmitField("Envoyer")
