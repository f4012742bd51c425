from __future__ import annotations

from wtforms import (
    DateField, HiddenField, SelectField, SelectMultipleField, StringField, SubmitField, TextAreaField, TimeField,
)
from wtforms.validators import DataRequired, InputRequired, Optional

from ..core.forms import Form, FrenchDecimalField, FrenchIntegerField, choices, max_length
from .models import SESSION_FORMATS, SLOT_MODALITIES

DELIVERY_CHOICES = [("presentiel", "Présentiel"), ("distanciel", "Distanciel"), ("mixte", "Mixte")]


class SessionSettingsForm(Form):
    format = SelectField("Format", choices=choices(SESSION_FORMATS.items()))
    delivery_mode = SelectField("Modalité", choices=choices(DELIVERY_CHOICES))
    location_id = SelectField("Lieu", validate_choice=False)
    trainer_ids = SelectMultipleField("Formateurs", coerce=str, validate_choice=False)
    capacity = FrenchIntegerField("Capacité (places)", validators=[Optional()])
    min_trainees = FrenchIntegerField("Minimum de stagiaires", validators=[Optional()])
    price_per_trainee = FrenchDecimalField("Prix par stagiaire (€ HT)", validators=[Optional()])
    intra_price = FrenchDecimalField("Prix intra du groupe (€ HT)", validators=[Optional()])
    client_company_id = SelectField("Entreprise cliente (intra)", validate_choice=False)
    notes = TextAreaField("Notes internes", validators=[max_length(10000)])
    submit = SubmitField("Enregistrer")

    def set_choices(self, locations, trainers, companies) -> None:
        self.location_id.choices = choices(((loc.id, loc.label) for loc in locations), blank="— aucun —")
        self.trainer_ids.choices = choices((t.id, t.full_name) for t in trainers)
        self.client_company_id.choices = choices(((c.id, c.name) for c in companies), blank="— aucune —")


class SessionNotesForm(Form):
    notes = TextAreaField("Notes internes", validators=[max_length(10000)])
    submit = SubmitField("Enregistrer")


class SessionCreateForm(SessionSettingsForm):
    course_id = SelectField("Formation", validate_choice=False, validators=[DataRequired()])
    start_date = DateField("Premier jour", validators=[Optional()],
                           description="Les créneaux sont posés selon la journée type de la formation.")
    format = SelectField("Format", choices=choices(SESSION_FORMATS.items(), blank="Selon la formation"))
    delivery_mode = SelectField("Modalité", choices=choices(DELIVERY_CHOICES, blank="Selon la formation"))
    submit = SubmitField("Créer la session")


class SlotForm(Form):
    # InputRequired, not DataRequired: DataRequired would replace "not a valid date" by "required" when the
    # user typed something unreadable.
    date = DateField("Date", validators=[InputRequired()])
    start_time = TimeField("Début", validators=[InputRequired()])
    end_time = TimeField("Fin", validators=[InputRequired()])
    location_id = SelectField("Lieu", validate_choice=False)
    trainer_id = SelectField("Formateur", validate_choice=False)
    modality = SelectField("Modalité", choices=choices(SLOT_MODALITIES.items()), validate_choice=False,
                           description="En salle, classe virtuelle (lien de réunion) ou activité asynchrone.")
    meeting_url = StringField("Lien de réunion (classe virtuelle)", validators=[max_length(500)],
                              description="https://… ; vide : celui du lieu à distance.")
    activity = TextAreaField("Activité (asynchrone)", validators=[max_length(2000)],
                             description="Ce que le stagiaire fait pendant cette demi-journée.")
    quiz_id = SelectField("Quiz (asynchrone)", validate_choice=False,
                          description="Évaluation des acquis dont la complétion est relevée.")
    submit = SubmitField("Enregistrer le créneau")

    def set_choices(self, locations, trainers, quizzes=()) -> None:
        self.location_id.choices = choices(((loc.id, loc.label) for loc in locations), blank="— aucun —")
        self.trainer_id.choices = choices(((t.id, t.full_name) for t in trainers), blank="— aucun —")
        self.quiz_id.choices = choices(((q.id, q.title) for q in quizzes), blank="— aucun —")


class StatusForm(Form):
    status = HiddenField(validators=[DataRequired()])
    cancel_reason = TextAreaField("Motif de l'annulation", validators=[max_length(2000)])
    submit = SubmitField("Valider")


class DuplicateForm(Form):
    start_date = DateField("Premier jour de la nouvelle session", validators=[InputRequired()])
    submit = SubmitField("Dupliquer")


class ConfirmForm(Form):
    """A bare POST form: only the CSRF token."""

    submit = SubmitField("Confirmer")
