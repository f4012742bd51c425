from __future__ import annotations

from wtforms import BooleanField, HiddenField, PasswordField, RadioField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import Optional

from ..core.forms import Form, choices, max_length
from .models import PRESENCE


class SignatureForm(Form):
    """A drawing from the canvas (PNG data URL, filled in by signature_pad) or the full name typed in."""

    signature = HiddenField()
    typed_name = StringField("Ou tapez votre nom complet", validators=[max_length(250)])
    submit = SubmitField("Je signe")

    def signature_data(self) -> dict:
        return {"drawing": self.signature.data or "", "typed_name": self.typed_name.data or ""}


class CountersignForm(SignatureForm):
    """The trainer's signature of a sheet; ``early_ok`` confirms closing it before the half-day's end."""

    early_ok = BooleanField("Clôturer maintenant")
    submit = SubmitField("Signer et clore la feuille")

    def signature_data(self) -> dict:
        return {**super().signature_data(), "early_ok": bool(self.early_ok.data)}


class UnlockForm(Form):
    """Leaving kiosk mode: the password of the staff member logged in on the device."""

    password = PasswordField("Votre mot de passe", validators=[max_length(200)])
    submit = SubmitField("Quitter le mode borne")


class MarkForm(Form):
    """The trainer's mark: absent, or present with the actual arrival / departure time."""

    presence = RadioField("Présence", choices=choices(PRESENCE.items()), default="absent", validate_choice=False)
    arrived_at = StringField("Arrivée à", validators=[Optional(), max_length(5)])
    left_at = StringField("Départ à", validators=[Optional(), max_length(5)])
    submit = SubmitField("Enregistrer")


class CorrectionForm(MarkForm):
    reason = TextAreaField("Motif de la correction", validators=[max_length(2000)])
    submit = SubmitField("Enregistrer la correction")


class JustificationForm(Form):
    reason = TextAreaField("Justificatif", validators=[max_length(2000)])
    submit = SubmitField("Enregistrer le justificatif")


class IdentifyForm(Form):
    enrolment_id = SelectField("Votre nom", validate_choice=False)
    submit = SubmitField("Recevoir mon code par e-mail")


class CodeForm(Form):
    code = StringField("Code reçu par e-mail", validators=[max_length(12)])
    submit = SubmitField("Valider")


class ActionForm(Form):
    """A button (CSRF only)."""

    submit = SubmitField("Envoyer")


class PlannedAbsenceForm(Form):
    """The trainee announces an absence (choices: the half-days still open to it, set by the view)."""

    slot_id = SelectField("Demi-journée", validate_choice=False)
    reason = TextAreaField("Motif", validators=[max_length(1000)], render_kw={"rows": 2, "maxlength": 1000})
    submit = SubmitField("Signaler mon absence")


class DeclarationForm(Form):
    """The time a trainee spent on an asynchronous half-day (checked by services.parse_duration, declare_time)."""

    hours = StringField("Heures", validators=[max_length(3)], render_kw={"inputmode": "numeric", "maxlength": 3})
    minutes = StringField("Minutes", validators=[max_length(3)], render_kw={"inputmode": "numeric", "maxlength": 3})
    submit = SubmitField("Déclarer mon temps")
