from __future__ import annotations

from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length

from ..core.forms import Form, choices, max_length
from .models import ROLE_LABELS


class LoginForm(Form):
    email = EmailField("Adresse e-mail", validators=[DataRequired(), max_length(254)])
    password = PasswordField("Mot de passe", validators=[DataRequired(), max_length(200)])
    remember = BooleanField("Rester connecté")
    submit = SubmitField("Se connecter")


class ForgotPasswordForm(Form):
    email = EmailField("Adresse e-mail", validators=[DataRequired(), max_length(254)])
    submit = SubmitField("Recevoir un lien")


class ResetPasswordForm(Form):
    password = PasswordField("Nouveau mot de passe", validators=[DataRequired(), Length(min=10, max=200)])
    confirm = PasswordField(
        "Confirmation", validators=[DataRequired(), EqualTo("password", message="Les deux mots de passe diffèrent.")]
    )
    submit = SubmitField("Enregistrer le mot de passe")


class ChangePasswordForm(Form):
    current = PasswordField("Mot de passe actuel", validators=[DataRequired(), max_length(200)])
    password = PasswordField("Nouveau mot de passe", validators=[DataRequired(), Length(min=10, max=200)])
    confirm = PasswordField(
        "Confirmation", validators=[DataRequired(), EqualTo("password", message="Les deux mots de passe diffèrent.")]
    )
    submit = SubmitField("Changer le mot de passe")


ROLE_CHOICES = [(role.value, label) for role, label in ROLE_LABELS.items()]


class UserCreateForm(Form):
    email = EmailField("Adresse e-mail", validators=[DataRequired(), max_length(254)])
    name = StringField("Nom", validators=[max_length(120)])
    role = SelectField("Rôle", choices=choices(ROLE_CHOICES))
    password = PasswordField("Mot de passe", validators=[DataRequired(), Length(min=10, max=200)])
    submit = SubmitField("Créer le compte")


class UserEditForm(Form):
    name = StringField("Nom", validators=[max_length(120)])
    role = SelectField("Rôle", choices=choices(ROLE_CHOICES))
    active = BooleanField("Compte actif")
    submit = SubmitField("Enregistrer")
