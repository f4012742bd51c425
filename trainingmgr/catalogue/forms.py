from __future__ import annotations

from wtforms import (
    BooleanField,
    FieldList,
    FormField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Optional

from .classification import BPF_OBJECTIVES, DEFAULT_OBJECTIVE
from ..core.forms import Form, FrenchDecimalField, FrenchIntegerField, SubForm, choices, max_length
from .models import AUDIENCE_FORMATS, DELIVERY_MODES, HALF_DAYS, CourseVersion
from .services import version_as_form_data

EXTRA_PROGRAMME_ROWS = 2
EXTRA_LABEL_ROWS = 1


class ProgrammePartForm(SubForm):
    title = StringField("Titre de la partie", validators=[max_length(300)])
    day = FrenchIntegerField("Jour", validators=[Optional()])
    half_day = SelectField("Demi-journée", choices=choices(HALF_DAYS.items(), blank="—"))
    items = TextAreaField("Contenus (un par ligne)", validators=[max_length(10000)])


class LabelForm(SubForm):
    name = StringField("Label", validators=[max_length(200)])
    description = TextAreaField("Conditions / description", validators=[max_length(5000)])


class CourseForm(Form):
    title = StringField("Intitulé", validators=[DataRequired(), max_length(200)])
    slug = StringField("Adresse web (slug)", description="Laissez vide pour la déduire de l'intitulé.",
                       validators=[max_length(120)])
    tagline = StringField("Accroche", validators=[max_length(300)])
    # InputRequired, not DataRequired: DataRequired would replace "Saisissez un nombre" by "Ce champ est
    # requis" for "abc", and refuse 0 as missing instead of letting the service explain the range.
    duration_hours = FrenchDecimalField("Durée (heures)", validators=[InputRequired()])
    duration_days = FrenchDecimalField("Durée (jours)", validators=[Optional()])
    daily_pattern = StringField("Créneaux habituels d'une journée", default="09:00-12:30 13:30-17:00",
                                description="Par exemple 09:00-12:30 13:30-17:00.", validators=[max_length(60)])
    audience = TextAreaField("Public visé", validators=[max_length(5000)])
    prerequisites_none = BooleanField("Aucun prérequis")
    prerequisites = TextAreaField("Prérequis", validators=[max_length(5000)])
    objectives = TextAreaField("Objectifs et compétences visées (un par ligne)", validators=[max_length(10000)])
    programme = FieldList(FormField(ProgrammePartForm), min_entries=1)
    teaching_methods = TextAreaField("Méthodes pédagogiques", validators=[max_length(5000)])
    assessment_methods = TextAreaField("Modalités d'évaluation (une par ligne)", validators=[max_length(5000)])
    trainer_competences = TextAreaField("Compétences des formateurs", validators=[max_length(5000)])
    material_resources = TextAreaField("Moyens matériels et supports", validators=[max_length(5000)])
    what_to_bring = TextAreaField("À apporter (indiqué dans la convocation)", validators=[max_length(5000)])
    accessibility = TextAreaField("Accessibilité aux personnes en situation de handicap",
                                  description="Laissez vide pour reprendre le texte de l'organisme.",
                                  validators=[max_length(5000)])
    accessibility_contact = StringField("Contact accessibilité",
                                        description="Laissez vide pour reprendre le référent handicap de l'organisme.",
                                        validators=[max_length(500)])
    access_delay = TextAreaField("Modalités et délais d'accès",
                                 description="Laissez vide pour reprendre le texte de l'organisme.",
                                 validators=[max_length(5000)])
    audience_format = SelectField("Organisation", choices=choices(AUDIENCE_FORMATS.items()))
    delivery_mode = SelectField("Modalité", choices=choices(DELIVERY_MODES.items()))
    location_text = StringField("Lieu (texte du catalogue)", validators=[max_length(200)])
    min_trainees = FrenchIntegerField("Stagiaires minimum", default=1, validators=[InputRequired()])
    max_trainees = FrenchIntegerField("Stagiaires maximum", validators=[InputRequired()])
    price_per_trainee = FrenchDecimalField("Prix par stagiaire (€ HT)", validators=[Optional()])
    intra_group_price = FrenchDecimalField("Prix intra par groupe (€ HT)", validators=[Optional()])
    labels = FieldList(FormField(LabelForm), min_entries=1)
    funding_notes = TextAreaField("Financement (OPCO, prise en charge)", validators=[max_length(5000)])
    # The yearly BPF's classification of the course (cerfa 10443, F-3 and F-4); checked by the service.
    bpf_objective = SelectField("Objectif (BPF, cadre F-3)", choices=choices(BPF_OBJECTIVES.items()),
                                default=DEFAULT_OBJECTIVE, validate_choice=False)
    nsf_code = StringField("Code NSF (BPF, cadre F-4)", validators=[max_length(10)],
                           description="Groupe de la nomenclature des spécialités de formation : trois chiffres, "
                                       "éventuellement suivis d'une lettre (314, 326t).",
                           render_kw={"list": "nsf-groups", "maxlength": 10, "autocomplete": "off"})
    submit = SubmitField("Enregistrer")


def course_form(version: CourseVersion | None, slug: str = "") -> CourseForm:
    """The course form, filled from ``version`` on first display, with blank rows to add parts and labels."""
    form = CourseForm()
    if not form.is_submitted():
        if version is not None:
            data = version_as_form_data(version)
            data["objectives"] = "\n".join(data["objectives"])
            data["assessment_methods"] = "\n".join(data["assessment_methods"] or [])
            for part in data["programme"]:
                part["items"] = "\n".join(part["items"])
            data["slug"] = slug
            data["bpf_objective"], data["nsf_code"] = version.course.bpf_objective, version.course.nsf_code
            form = CourseForm(data=data)
        for _ in range(EXTRA_PROGRAMME_ROWS):
            form.programme.append_entry()
        for _ in range(EXTRA_LABEL_ROWS):
            form.labels.append_entry()
    return form


class StatusForm(Form):
    status = SelectField(choices=choices([("published", "Publier"), ("draft", "Brouillon"), ("archived", "Archiver")]))
    submit = SubmitField("Changer")
