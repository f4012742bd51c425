from __future__ import annotations

from wtforms import BooleanField, EmailField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired

from ..core.forms import Form, choices, max_length
from .models import BPF_STATUSES, CIVILITIES


class TraineeForm(Form):
    civility = SelectField("Civilité", choices=choices(CIVILITIES.items()), default="")
    first_name = StringField("Prénom", validators=[DataRequired(), max_length(80)])
    last_name = StringField("Nom", validators=[DataRequired(), max_length(80)])
    email = EmailField("E-mail", validators=[DataRequired(), max_length(254)])
    phone = StringField("Téléphone", validators=[max_length(40)])
    job_title = StringField("Fonction", validators=[max_length(120)])
    company_id = SelectField("Entreprise", validate_choice=False)
    bpf_status = SelectField("Statut (bilan pédagogique et financier)", choices=choices(BPF_STATUSES.items()), default="employee")
    accessibility_needs = TextAreaField("Besoins d'adaptation (handicap, accessibilité)",
                                        description="Visibles par le conseiller et le formateur de la session.",
                                        validators=[max_length(20000)])
    consent = BooleanField("La personne accepte l'utilisation de ses données pour sa formation")
    submit = SubmitField("Enregistrer")

    def set_choices(self, companies) -> None:
        self.company_id.choices = choices(((c.id, c.name) for c in companies), blank="— aucune (particulier) —")


class MergeForm(Form):
    other_id = SelectField("Fiche en double à fusionner dans celle-ci", validate_choice=False,
                           validators=[DataRequired()])
    submit = SubmitField("Fusionner")
