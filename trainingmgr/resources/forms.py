from __future__ import annotations

from flask_wtf.file import FileField
from wtforms import BooleanField, DateField, EmailField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Optional

from ..core.forms import Form, FrenchDecimalField, FrenchIntegerField, choices, max_length
from .models import RATE_UNITS, TRAINER_STATUSES


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
    # The subcontracting side (resources/dossier.py checks it): a subcontractor's SIRET, NDA and rate.
    status = SelectField("Statut", choices=choices(TRAINER_STATUSES.items()), default="employee",
                         validate_choice=False)
    company_name = StringField("Raison sociale (organisme sous-traitant) ou nom commercial", validators=[max_length(200)])
    company_siret = StringField("SIRET du sous-traitant", validators=[max_length(20)])
    nda = StringField("N° de déclaration d'activité (NDA) du sous-traitant", validators=[max_length(20)])
    address = StringField("Adresse du sous-traitant", validators=[max_length(255)])
    rate = FrenchDecimalField("Tarif HT (€)", validators=[Optional()])
    rate_unit = SelectField("Unité du tarif", choices=choices(RATE_UNITS.items()), default="hour",
                            validate_choice=False)
    cv = FileField("CV (PDF, DOCX ou ODT, 5 Mo au plus)")
    user_id = SelectField("Compte de connexion (rôle formateur)", coerce=str, validate_choice=False)
    active = BooleanField("Formateur actif", default=True)
    submit = SubmitField("Enregistrer")


class UnavailabilityForm(Form):
    """A period the trainer cannot teach (unavailability.add_unavailability checks it)."""

    starts_on = DateField("Du", validators=[Optional()])
    ends_on = DateField("Au (inclus)", validators=[Optional()])
    reason = StringField("Motif (facultatif)", validators=[max_length(200)])
    submit = SubmitField("Déclarer l'indisponibilité")


class ActionForm(Form):
    """A button (CSRF only): the trainer space's link, sent, renewed or revoked by the advisor."""

    submit = SubmitField("Envoyer")
