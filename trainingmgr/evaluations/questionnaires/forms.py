"""A WTForms form built from a questionnaire: one field ``q<question id>`` per question.

The fields only parse what the browser sends (and keep it on a refusal); the rules (1–5, a choice of that
question, required answers on submit, 5000 characters) live in evaluations.kinds and questionnaires.services,
whose errors land beside the questions through ``Form.apply_errors``."""
from __future__ import annotations

import re
from dataclasses import dataclass

from wtforms import (
    BooleanField,
    FieldList,
    FormField,
    HiddenField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms import Form as WTFormsBaseForm

from ...core.forms import Form, choices, max_length
from ..kinds import field_name, question_type
from ..models import QUESTION_KINDS, Questionnaire, Response
from .services import initial_form_data

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
    def caption(question) -> ScaleCaption | None:
        """The caption of a rated question (what 1 and 5 mean), None for the other kinds."""
        return scale_caption(question) if question_type(question).rated else None

    @staticmethod
    def widget(question) -> str:
        """The template of the question's input (templates/evaluations/questions/)."""
        return question_type(question).widget


def answers_form(questionnaire: Questionnaire, response: Response | None = None) -> AnswersForm:
    """The form of ``questionnaire``. Give the saved ``response`` on a GET only: on a POST the fields hold
    what was sent (an unticked radio button must not come back from the draft)."""
    attrs = {field_name(q): question_type(q).form_field(q) for q in questionnaire.questions}
    attrs["questions"] = {field_name(q): q for q in questionnaire.questions}
    form_class = type("QuestionnaireForm", (AnswersForm,), attrs)
    return form_class(data=initial_form_data(response))


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
