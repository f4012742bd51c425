from __future__ import annotations

from flask_wtf.file import FileField
from wtforms import BooleanField, EmailField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Optional

from ..core.forms import Form, FrenchIntegerField, max_length


class LocationForm(Form):
    name = StringField("Nom du lieu", validators=[DataRequired(), max_length(160)])
    is_remote = BooleanField("À distance (classe virtuelle)")
    address = StringField("Adresse", validators=[max_length(255)])
    postal_code = StringField("Code postal", validators=[max_length(10)])
    city = StringField("Ville", validators=[max_length(120)])
    capacity = FrenchIntegerField("Capacité de la salle (personnes)", validators=[Optional()])
    wheelchair_access = BooleanField("Accessible aux personnes à mobilité réduite")
    access_notes = TextAreaField("Accès (transports, stationnement, code d'entrée)", validators=[max_length(5000)])
    equipment = TextAreaField("Équipement (moyens matériels : vidéoprojecteur, Wi-Fi, postes…)",
                              validators=[max_length(5000)])
    meeting_url = StringField("Lien de réunion", validators=[max_length(500)])
    notes = TextAreaField("Notes internes", validators=[max_length(5000)])
    active = BooleanField("Lieu en service", default=True)
    submit = SubmitField("Enregistrer")


class TrainerForm(Form):
    first_name = StringField("Prénom", validators=[DataRequired(), max_length(80)])
    last_name = StringField("Nom", validators=[DataRequired(), max_length(80)])
    email = EmailField("E-mail", validators=[Optional(), max_length(254)])
    phone = StringField("Téléphone", validators=[max_length(40)])
    competences = TextAreaField("Compétences, diplômes, références", validators=[max_length(10000)])
    is_external = BooleanField("Formateur externe (prestataire)")
    company_name = StringField("Société du formateur externe", validators=[max_length(200)])
    company_siret = StringField("SIRET de la société", validators=[max_length(20)])
    cv = FileField("CV (PDF, DOCX ou ODT, 5 Mo au plus)")
    user_id = SelectField("Compte de connexion (rôle formateur)", coerce=str, validate_choice=False)
    active = BooleanField("Formateur actif", default=True)
    submit = SubmitField("Enregistrer")
