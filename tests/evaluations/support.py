"""Shared by tests/evaluations and tests/portal: a questionnaire with every kind of question, enrolments (the
fixtures are in tests/fixtures/evaluations.py)."""
from __future__ import annotations

from trainingmgr.extensions import db

ALL_KINDS_SPEC = {
    "kind": "positioning",
    "title": "Positionnement de test",
    "intro": "Quelques questions avant la formation.",
    "questions": [
        {"kind": "yes_no", "role": "prerequisite", "text": "Confirmez-vous le prérequis ?"},
        {"kind": "scale", "text": "Votre niveau sur Chorus Pro ?", "help": "1 : débutant, 5 : expert."},
        {"kind": "single", "text": "Délai de paiement de l'État ?", "choices": [
            {"text": "30 jours", "correct": True, "points": 2},
            {"text": "90 jours", "correct": False},
        ]},
        {"kind": "multiple", "text": "Qui dépose sur Chorus Pro ?", "choices": [
            {"text": "Fournisseur de l'État", "correct": True, "points": 1},
            {"text": "Fournisseur d'une commune", "correct": True, "points": 1},
            {"text": "Particulier", "correct": False},
        ]},
        {"kind": "text", "role": "expectations", "text": "Vos attentes ?"},
        {"kind": "text", "role": "accessibility", "required": False, "text": "Un besoin d'adaptation ?"},
    ],
}


class Q:
    """The questions of the ALL_KINDS_SPEC questionnaire by name, with helpers for their field names."""

    def __init__(self, questionnaire):
        self.questionnaire = questionnaire
        (self.prereq, self.scale, self.single, self.multiple, self.expectations,
         self.access) = questionnaire.questions

    @staticmethod
    def key(question) -> str:
        return f"q{question.id}"

    def choice(self, question, index: int) -> int:
        return question.choices[index].id

    def complete(self, **over) -> dict:
        """Every answer, all correct (score 4 / 4)."""
        data = {
            self.key(self.prereq): "yes",
            self.key(self.scale): "3",
            self.key(self.single): str(self.choice(self.single, 0)),
            self.key(self.multiple): [str(self.choice(self.multiple, 0)), str(self.choice(self.multiple, 1))],
            self.key(self.expectations): "Savoir déposer une facture de travaux.",
            self.key(self.access): "",
        }
        data.update(over)
        return data


def open_session(make_session, world, course=None, **extra):
    from trainingmgr.sessions.services import change_status

    session = make_session(course=course, **extra)
    change_status(session, "open", world.users["advisor"])
    db.session.commit()
    return session


def enrol(session, world, first="Alice", last="Martin", email=None, **trainee):
    from trainingmgr.enrolments.services import enrol_from_data

    email = email or f"{first.lower()}.{last.lower()}@exemple.fr"
    enrolment = enrol_from_data(session, {"trainee": {"first_name": first, "last_name": last, "email": email,
                                                      **trainee}}, world.users["advisor"])
    db.session.commit()
    return enrolment
