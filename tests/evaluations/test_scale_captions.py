"""A 1–5 scale says once what its notes mean: the ends its help names (« 1 : débutant, 5 : expert »), else the one
default caption (evaluations.forms.SCALE_ENDS) — never the help and a contradicting generic caption together."""
from __future__ import annotations

import re

import pytest

from trainingmgr.enrolments.links import trainee_token
from trainingmgr.evaluations.questionnaires.forms import SCALE_ENDS, scale_caption
from trainingmgr.evaluations.questionnaires.services import create_questionnaire
from trainingmgr.extensions import db

from tests.helpers import page


class Question:
    def __init__(self, help_text):
        self.help = help_text


@pytest.mark.parametrize("help_text, low, high, rest", [
    ("", *SCALE_ENDS, ""),
    (None, *SCALE_ENDS, ""),
    ("Pensez à l'accueil.", *SCALE_ENDS, "Pensez à l'accueil."),
    ("1 : débutant, 5 : expert.", "débutant", "expert", ""),
    ("1 : pas du tout · 5 : tous les jours.", "pas du tout", "tous les jours", ""),
    ("Au quotidien. 1 = jamais ; 5 = toujours", "jamais", "toujours", "Au quotidien."),
])
def test_the_caption_comes_from_the_help_or_the_default(help_text, low, high, rest):
    caption = scale_caption(Question(help_text))
    assert (caption.low, caption.high, caption.help) == (low, high, rest)


def captions(html: str) -> list[str]:
    return [re.sub(r"\s+", " ", c).strip() for c in
            re.findall(r'data-field="scale-caption">(.*?)</div>', html, re.S)]


def test_the_trainee_sees_one_caption_per_scale(chorus_enrolment, client):
    """The positioning questionnaire: its scale's help names its ends; they are shown once, under the buttons."""
    html = page(client.get(f"/t/{trainee_token(chorus_enrolment)}/positionnement"))
    assert captions(html) == ["<span>1 : débutant</span><span class=\"text-end\">5 : expert</span>"]
    assert "1 : débutant, 5 : expert." not in html  # not repeated above the buttons
    for generic in ("pas du tout</span>", "tout à fait"):
        assert generic not in html


def test_a_scale_without_help_gets_the_default_caption(world, chorus_enrolment, client):
    from trainingmgr.evaluations.models import Questionnaire
    from sqlalchemy import select

    current = db.session.scalar(select(Questionnaire).where(Questionnaire.course_id == world.chorus.id))
    current.active = False
    create_questionnaire({"kind": "positioning", "title": "Sans aide", "course": world.chorus, "questions": [
        {"kind": "scale", "text": "Votre aisance ?"},
        {"kind": "scale", "text": "Votre intérêt ?", "help": "Franchement."}]})
    db.session.commit()
    html = page(client.get(f"/t/{trainee_token(chorus_enrolment)}/positionnement"))
    expected = f'<span>1 : {SCALE_ENDS[0]}</span><span class="text-end">5 : {SCALE_ENDS[1]}</span>'
    assert captions(html) == [expected, expected] and "Franchement." in html


def test_the_default_surveys_leave_the_satisfaction_caption_to_the_default(app):
    from trainingmgr.demo.surveys import DEFAULT_SURVEYS

    hot = next(s for s in DEFAULT_SURVEYS if s["kind"] == "hot")
    scales = [q for q in hot["questions"] if q["kind"] == "scale"]
    assert scales and all((scale_caption(Question(q.get("help"))).low, scale_caption(Question(q.get("help"))).high)
                          == SCALE_ENDS for q in scales)
    # The results' note on the satisfaction rate says the same: 4 and 5 are « satisfait, très satisfait ».
    assert SCALE_ENDS[1] == "très satisfait"
