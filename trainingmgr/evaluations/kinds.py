"""The kinds of question (scale, single, multiple, yes_no, text): one small class per kind holding its rules
(how an answer is checked and stored, read back, shown in the form, counted in the results), and one table
``QUESTION_TYPES`` from kind to class. The rest of the package asks ``question_type(question)`` and never
branches on the kind. See docs/evaluations.md for the raw values each kind accepts."""
from __future__ import annotations

from typing import Any

from wtforms import RadioField, SelectMultipleField, TextAreaField

from ..core.errors import ValidationError
from ..core.forms import choices

MAX_TEXT = 5000
SCALE = range(1, 6)
SCALE_NOTES = (1, 2, 3, 4, 5)
SCALE_CHOICES = [(str(i), str(i)) for i in SCALE]
YES_NO_CHOICES = [("yes", "Oui"), ("no", "Non")]
YES_NO_TEXTS = ("Oui", "Non")
NPS_CHOICES = [str(n) for n in range(11)]  # a single choice "0" … "10": a recommendation (NPS)

YES = {"yes", "oui", "true", "1", "on", "o", "y"}
NO = {"no", "non", "false", "0", "off", "n"}

MESSAGES = {
    "required": "Cette question est obligatoire.",
    "scale": "Choisissez une note de 1 à 5.",
    "choice": "Choix inconnu pour cette question : choisissez parmi les réponses proposées.",
    "yes_no": "Répondez par oui ou par non.",
    "text_type": "Réponse attendue sous forme de texte.",
    "text_long": f"Votre réponse ne doit pas dépasser {MAX_TEXT} caractères.",
}


def field_name(question) -> str:
    """The form field (and error key) of a question: ``q<id>``."""
    return f"q{question.id}"


def is_blank(value) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, (list, tuple)):
        return all(is_blank(v) for v in value)
    return False


def as_int(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("+-").isdigit() and len(value.strip()) <= 12:
        return int(value.strip())
    return None


class QuestionType:
    """The rules of one kind of question; subclasses override what differs."""

    key = ""
    has_choices = False  # the question lists its own choices (single, multiple)
    rated = False  # a note 1–5 that counts in averages, satisfaction and alerts (scale)
    free_text = False  # a comment (text)
    counts_choices = False  # the results count each choice (single, multiple, yes_no)
    widget = "evaluations/questions/text.html"  # the template of its input

    def clean(self, question, raw) -> Any:
        """The stored form of a non-blank raw answer; ValidationError naming ``q<id>`` if invalid."""
        raise ValidationError("Type de question inconnu.", field=field_name(question))

    def chosen_ids(self, question, value) -> set[int]:
        """The ids of the choices a stored answer picks (none for a kind without choices)."""
        return set()

    def answer_text(self, question, value) -> str:
        """A stored answer as one line of text (``value`` is not None)."""
        return str(value)

    def role_texts(self, question, value) -> list[str]:
        """What an answer says for a question's role (prerequisite, accessibility, expectations)."""
        return []

    def form_value(self, value):
        """A stored answer as the form shows it when the response is resumed."""
        return str(value)

    def form_field(self, question):
        return TextAreaField(question.text, render_kw={"maxlength": MAX_TEXT, "rows": 4})

    def result_choices(self, question) -> list[str]:
        """The choice texts the results count for this question (``counts_choices``)."""
        return []

    def marks(self, question, value) -> list:
        """What one stored answer counts in the results (notes, choice texts, a comment); [] if nothing."""
        return []

    def is_nps(self, question) -> bool:
        """A recommendation question (0 to 10), counted as an NPS."""
        return False


class ScaleType(QuestionType):
    key = "scale"
    rated = True
    widget = "evaluations/questions/scale.html"

    def clean(self, question, raw) -> int:
        value = as_int(raw)
        if value is None or value not in SCALE:
            raise ValidationError(MESSAGES["scale"], field=field_name(question))
        return value

    def answer_text(self, question, value) -> str:
        return f"{value} / 5"

    def form_field(self, question):
        return RadioField(question.text, choices=choices(SCALE_CHOICES), validate_choice=False)

    def marks(self, question, value) -> list[int]:
        if isinstance(value, bool) or not isinstance(value, int) or value not in SCALE_NOTES:
            return []
        return [value]


class ChoiceType(QuestionType):
    """What single and multiple choice share: the question's own choices, points, chosen texts."""

    has_choices = True
    counts_choices = True

    def answer_text(self, question, value) -> str:
        chosen = self.chosen_ids(question, value)
        return " ; ".join(c.text for c in question.choices if c.id in chosen)

    def role_texts(self, question, value) -> list[str]:
        chosen = self.chosen_ids(question, value)
        return [c.text for c in question.choices if c.id in chosen]

    def result_choices(self, question) -> list[str]:
        return [c.text for c in question.choices]

    def marks(self, question, value) -> list[str]:
        chosen = value if isinstance(value, list) else [value]
        texts = {c.id: c.text for c in question.choices}
        return [texts[v] for v in chosen if not isinstance(v, bool) and v in texts]

    def _options(self, question) -> list:
        return choices((str(c.id), c.text) for c in question.choices)


class SingleType(ChoiceType):
    key = "single"
    widget = "evaluations/questions/single.html"

    def clean(self, question, raw) -> int:
        name = field_name(question)
        if isinstance(raw, (list, tuple)):
            values = [v for v in raw if not is_blank(v)]
            if len(values) != 1:
                raise ValidationError(MESSAGES["choice"], field=name)
            raw = values[0]
        value = as_int(raw)
        if value is None or value not in {c.id for c in question.choices}:
            raise ValidationError(MESSAGES["choice"], field=name)
        return value

    def chosen_ids(self, question, value) -> set[int]:
        return {value} if isinstance(value, int) and not isinstance(value, bool) else set()

    def is_nps(self, question) -> bool:
        return [c.text.strip() for c in question.choices] == NPS_CHOICES

    def form_field(self, question):
        return RadioField(question.text, choices=self._options(question), validate_choice=False)


class MultipleType(ChoiceType):
    key = "multiple"
    widget = "evaluations/questions/multiple.html"

    def clean(self, question, raw) -> list[int] | None:
        values = raw if isinstance(raw, (list, tuple)) else [raw]
        ids = {c.id: c.position for c in question.choices}
        chosen: set[int] = set()
        for item in values:
            if is_blank(item):
                continue
            value = as_int(item)
            if value is None or value not in ids:
                raise ValidationError(MESSAGES["choice"], field=field_name(question))
            chosen.add(value)
        return sorted(chosen, key=lambda pk: ids[pk]) or None

    def chosen_ids(self, question, value) -> set[int]:
        return {v for v in value if isinstance(v, int)} if isinstance(value, list) else set()

    def form_value(self, value) -> list[str]:
        return [str(v) for v in (value or [])]

    def form_field(self, question):
        return SelectMultipleField(question.text, choices=self._options(question), validate_choice=False)


class YesNoType(QuestionType):
    key = "yes_no"
    counts_choices = True
    widget = "evaluations/questions/yes_no.html"

    def clean(self, question, raw) -> bool:
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().casefold() if isinstance(raw, (str, int)) else None
        if text in YES:
            return True
        if text in NO:
            return False
        raise ValidationError(MESSAGES["yes_no"], field=field_name(question))

    def answer_text(self, question, value) -> str:
        return "Oui" if value else "Non"

    def role_texts(self, question, value) -> list[str]:
        return [f"{question.text} : oui"] if value is True else []

    def form_value(self, value) -> str:
        return "yes" if value else "no"

    def form_field(self, question):
        return RadioField(question.text, choices=choices(YES_NO_CHOICES), validate_choice=False)

    def result_choices(self, question) -> list[str]:
        return list(YES_NO_TEXTS)

    def marks(self, question, value) -> list[str]:
        if not isinstance(value, bool):
            return []
        return ["Oui" if value else "Non"]


class TextType(QuestionType):
    key = "text"
    free_text = True

    def clean(self, question, raw) -> str:
        if not isinstance(raw, str):
            raise ValidationError(MESSAGES["text_type"], field=field_name(question))
        text = raw.replace("\r\n", "\n").replace("\r", "\n").strip()
        if len(text) > MAX_TEXT:
            raise ValidationError(MESSAGES["text_long"], field=field_name(question))
        return text

    def role_texts(self, question, value) -> list[str]:
        return [value.strip()] if isinstance(value, str) and value.strip() else []

    def form_value(self, value):
        return value

    def marks(self, question, value) -> list[str]:
        return [value.strip()] if isinstance(value, str) and value.strip() else []


QUESTION_TYPES: dict[str, QuestionType] = {t.key: t for t in (ScaleType(), SingleType(), MultipleType(),
                                                             YesNoType(), TextType())}
RATED_KINDS = tuple(key for key, kind in QUESTION_TYPES.items() if kind.rated)  # for queries
FREE_TEXT_KINDS = tuple(key for key, kind in QUESTION_TYPES.items() if kind.free_text)  # for queries
_UNKNOWN = QuestionType()


def question_type(question_or_kind) -> QuestionType:
    """The rules of a question's kind (a question, a QuestionResult or the kind itself)."""
    kind = question_or_kind if isinstance(question_or_kind, str) else question_or_kind.kind
    return QUESTION_TYPES.get(kind, _UNKNOWN)
