from __future__ import annotations

from wtforms import BooleanField, EmailField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired

from ..core.forms import Form, choices, max_length
from .models import CONTACT_ROLES, HEADCOUNT_BANDS, OPCOS


class CompanyForm(Form):
    name = StringField("Raison sociale", validators=[DataRequired(), max_length(200)])
    siret = StringField("SIRET", validators=[max_length(20)])
    naf_code = StringField("Code NAF", validators=[max_length(6)], description="Par exemple 7111Z (architecture).")
    headcount_band = SelectField("Effectif", choices=choices(HEADCOUNT_BANDS.items(), blank="—"), default="")
    opco = SelectField("OPCO", choices=choices(((o, o) for o in OPCOS), blank="—"), default="")
    address = StringField("Adresse", validators=[max_length(255)])
    postal_code = StringField("Code postal", validators=[max_length(10)])
    city = StringField("Ville", validators=[max_length(120)])
    is_public_buyer = BooleanField("Acheteur public (facturation par Chorus Pro)")
    chorus_service_code = StringField("Code service Chorus Pro", validators=[max_length(100)])
    engagement_required = BooleanField("Numéro d'engagement obligatoire sur les factures")
    absence_alerts = BooleanField("Prévenir le contact RH des absences et retards de ses salariés en formation",
                                  description="Un e-mail par salarié et par demi-journée, au contact RH (à défaut, "
                                              "au signataire).")
    submit = SubmitField("Enregistrer")


class ContactForm(Form):
    """Shown on the company's page beside the company form: its own element ids (the company form has a
    "name" field too), the same field names."""

    role = SelectField("Rôle", choices=choices(CONTACT_ROLES.items()), default="other", id="contact_role")
    name = StringField("Nom", validators=[DataRequired(), max_length(160)], id="contact_name")
    job_title = StringField("Fonction", validators=[max_length(120)], id="contact_job_title")
    email = EmailField("E-mail", validators=[max_length(254)], id="contact_email")
    phone = StringField("Téléphone", validators=[max_length(40)], id="contact_phone")
    submit = SubmitField("Ajouter le contact", id="contact_submit")
