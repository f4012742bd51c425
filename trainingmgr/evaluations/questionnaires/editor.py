"""The advisor edits a questionnaire: saving makes a new version (create_questionnaire), which replaces the
active one; the answers already given keep the version they answered."""
from __future__ import annotations

import re

from sqlalchemy import select

from ...core.errors import ValidationError
from ...core.persistence import get_by_id
from ...extensions import db
from ..kinds import question_type
from ..models import Questionnaire
from .services import create_questionnaire


def list_questionnaires() -> list[Questionnaire]:
    """The active questionnaires, the organisation's defaults first, then per course."""
    return list(db.session.scalars(select(Questionnaire).where(Questionnaire.active.is_(True))
                                   .order_by(Questionnaire.course_id.is_not(None), Questionnaire.course_id,
                                             Questionnaire.kind)))


def get_questionnaire(questionnaire_id) -> Questionnaire:
    return get_by_id(Questionnaire, questionnaire_id, "Questionnaire introuvable.")


def choices_text(question) -> str:
    """The choices of a question, one per line, "* " before a correct one, " (n pts)" after its points."""
    lines = []
    for choice in question.choices:
        line = ("* " if choice.is_correct else "") + choice.text
        if choice.points and choice.points != 1:
            line += f" ({choice.points} pts)"
        lines.append(line)
    return "\n".join(lines)


def _choices(text: str) -> list[dict]:
    found = []
    for raw in (text or "").splitlines():
        line = raw.strip()
        if not line:
            continue
        correct = line.startswith("*")
        line = line.lstrip("*").strip()
        points = 1 if correct else 0
        match = re.search(r"\((\d+)\s*pts?\)$", line)
        if match:
            points = int(match.group(1))
            line = line[:match.start()].strip()
        found.append({"text": line, "correct": True if correct else None, "points": points})
    return found


def save_new_version(questionnaire: Questionnaire, data: dict) -> Questionnaire:
    """A new version of ``questionnaire`` from the editor's data ({title, intro, anonymous, questions: [{kind,
    text, help, required, role, choices (text)}]}); rows without text are dropped."""
    questions, rows = [], []
    for number, row in enumerate(data.get("questions") or [], start=1):
        if not str(row.get("text") or "").strip():
            continue
        rows.append(number)
        spec = {"kind": row.get("kind"), "text": row.get("text"), "help": row.get("help") or "",
                "required": bool(row.get("required")), "role": row.get("role") or ""}
        if question_type(str(row.get("kind") or "")).has_choices:
            spec["choices"] = _choices(row.get("choices") or "")
        questions.append(spec)
    try:
        return create_questionnaire({"kind": questionnaire.kind, "course_id": questionnaire.course_id,
                                     "title": data.get("title"), "intro": data.get("intro") or "",
                                     "anonymous": bool(data.get("anonymous")), "questions": questions})
    except ValidationError as exc:  # "questions.2.text" → "Question 3 : …" (the row as the advisor sees it)
        fields: dict[str, list[str]] = {}
        for name, messages in exc.fields.items():
            parts = name.split(".")
            if parts[0] == "questions" and len(parts) > 1 and parts[1].isdigit():
                fields.setdefault("__all__", []).extend(f"Question {rows[int(parts[1])]} : {m}" for m in messages)
            else:
                fields.setdefault(name, []).extend(messages)
        raise ValidationError(exc.message, fields=fields) from None
