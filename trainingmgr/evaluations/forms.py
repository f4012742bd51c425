"""A WTForms form built from a questionnaire: one field ``q<question id>`` per question.

The fields only parse what the browser sends (and keep it on a refusal); the rules (1–5, a choice of that
question, required answers on submit, 5000 characters) live in evaluations.services, whose errors land beside
the questions through ``Form.apply_errors``."""
from __future__ import annotations

import re
from dataclasses import dataclass

from wtforms import (
    BooleanField,
    FieldList,
    FormField,
    HiddenField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms import Form as WTFormsBaseForm

from ..core.forms import Form, choices, max_length
from .models import QUESTION_KINDS, Questionnaire, Response
from .services import MAX_TEXT, initial_form_data

SCALE_CHOICES = [(str(i), str(i)) for i in range(1, 6)]
YES_NO_CHOICES = [("yes", "Oui"), ("no", "Non")]
# What the notes of a scale question mean unless its help says otherwise (« 1 : aucun · 5 : très important »):
# written once, under the buttons; the results' satisfaction rate counts the 4s and 5s (« satisfait »).
SCALE_ENDS = ("pas du tout satisfait", "très satisfait")
_SCALE_HELP = re.compile(r"1\s*[:=]\s*(?P<low>[^·;,=:]+?)\s*[·;,–-]\s*5\s*[:=]\s*(?P<high>[^.;]+?)\s*(?:\.|$)")


@dataclass(frozen=True)
class ScaleCaption:
    low: str  # what 1 means
    high: str  # what 5 means
    help: str  # the rest of the question's help, shown above the buttons


def scale_caption(question) -> ScaleCaption:
    """The one caption of a scale question: the ends its help names (taken out of the help, so that they are
    not said twice), else SCALE_ENDS."""
    help_text = question.help or ""
    found = _SCALE_HELP.search(help_text)
    if found is None:
        return ScaleCaption(*SCALE_ENDS, help_text.strip())
    rest = (help_text[:found.start()] + help_text[found.end():]).strip()
    return ScaleCaption(found["low"].strip(), found["high"].strip(), rest)


def _options(question) -> list:
    return choices((str(c.id), c.text) for c in question.choices)


class AnswersForm(Form):
    """Base of the generated forms. ``questions`` maps each field name to its question."""

    questions: dict = {}

    def answers(self) -> dict:
        """{"q<id>": raw value} for the service."""
        return {name: self._fields[name].data for name in self.questions if name in self._fields}

    def question_fields(self):
        """(question, field) in the questionnaire's order."""
        return [(question, self._fields[name]) for name, question in self.questions.items()]

    @staticmethod
    def scale_caption(question) -> ScaleCaption:
        return scale_caption(question)


def _field(question):
    label = question.text
    if question.kind == "scale":
        return RadioField(label, choices=choices(SCALE_CHOICES), validate_choice=False)
    if question.kind == "single":
        return RadioField(label, choices=_options(question), validate_choice=False)
    if question.kind == "multiple":
        return SelectMultipleField(label, choices=_options(question), validate_choice=False)
    if question.kind == "yes_no":
        return RadioField(label, choices=choices(YES_NO_CHOICES), validate_choice=False)
    return TextAreaField(label, render_kw={"maxlength": MAX_TEXT, "rows": 4})


def answers_form(questionnaire: Questionnaire, response: Response | None = None) -> AnswersForm:
    """The form of ``questionnaire``. Give the saved ``response`` on a GET only: on a POST the fields hold
    what was sent (an unticked radio button must not come back from the draft)."""
    attrs = {f"q{q.id}": _field(q) for q in questionnaire.questions}
    attrs["questions"] = {f"q{q.id}": q for q in questionnaire.questions}
    form_class = type("QuestionnaireForm", (AnswersForm,), attrs)
    return form_class(data=initial_form_data(response))


class AlertForm(Form):
    status = SelectField("Suite donnée", choices=choices([("handled", "Traitée"), ("dismissed", "Classée sans suite")]),
                         validate_choice=False)
    note = TextAreaField("Ce qui a été fait", validators=[max_length(5000)])
    submit = SubmitField("Enregistrer")


class QuestionRowForm(WTFormsBaseForm):
    kind = SelectField("Type", choices=choices(QUESTION_KINDS.items()), validate_choice=False)
    text = TextAreaField("Question", validators=[max_length(2000)])
    help = StringField("Aide", validators=[max_length(1000)], render_kw={
        "placeholder": "Échelle : notes 1 à 5 de « pas du tout satisfait » à « très satisfait », "
                       "sauf « 1 : … · 5 : … » écrit ici"})
    required = BooleanField("Obligatoire", default=True)
    role = HiddenField()
    choices = TextAreaField("Réponses proposées (une par ligne ; « * » devant une bonne réponse)",
                            validators=[max_length(5000)])


class QuestionnaireEditForm(Form):
    title = StringField("Titre", validators=[max_length(200)])
    intro = TextAreaField("Introduction", validators=[max_length(5000)])
    anonymous = BooleanField("Réponses anonymes")
    questions = FieldList(FormField(QuestionRowForm), min_entries=1)
    submit = SubmitField("Enregistrer une nouvelle version")

    def edit_data(self) -> dict:
        return {"title": self.title.data, "intro": self.intro.data, "anonymous": self.anonymous.data,
                "questions": [row.data for row in self.questions]}
