"""The demo positioning questionnaires: one per seed course, in French, loaded once; Chorus Pro's confirms its
prerequisite and scores four questions whose right answers are the right ones; DUME's has no prerequisite."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from trainingmgr.demo.questionnaires import load_positioning_questionnaires
from trainingmgr.demo.seeds import CHORUS_PRO, DUME_CHORUS_PRO
from trainingmgr.evaluations.questionnaires import services
from trainingmgr.evaluations.models import Choice, Question, Questionnaire
from trainingmgr.extensions import db


def counts() -> tuple[int, int, int]:
    db.session.expire_all()
    return tuple(db.session.scalar(select(func.count()).select_from(m)) for m in (Questionnaire, Question, Choice))


def test_loading_twice_creates_nothing_more(world):
    done = load_positioning_questionnaires()
    db.session.commit()
    assert done == [
        "Questionnaire « Questionnaire de positionnement – Chorus Pro » créé (13 questions).",
        "Questionnaire « Questionnaire de positionnement – Marchés publics : DUME et Chorus Pro » créé (9 questions).",
    ]
    before = counts()
    assert load_positioning_questionnaires() == []
    db.session.commit()
    assert counts() == before and before[0] == 2


def test_without_the_seed_courses_nothing_is_created(app):
    assert load_positioning_questionnaires() == []
    assert counts() == (0, 0, 0)


def test_chorus_pro_confirms_its_prerequisite_and_scores_the_basics(world):
    load_positioning_questionnaires()
    db.session.commit()
    questionnaire = services.positioning_questionnaire(world.chorus)
    assert questionnaire.active and questionnaire.kind == "positioning"
    [prerequisite] = [q for q in questionnaire.questions if q.role == "prerequisite"]
    assert prerequisite.kind == "yes_no" and prerequisite.required and questionnaire.questions[0] is prerequisite
    assert ("« Maîtriser les principales règles en matière de finances publiques et de comptabilité publique »"
            in prerequisite.text)
    scored = [q for q in questionnaire.questions if q.scored]
    assert [q.kind for q in scored] == ["multiple", "single", "single", "single"]
    right = {q.text: [c.text for c in q.choices if c.is_correct] for q in scored}
    assert right["Quel est le délai global de paiement maximal d'une facture adressée à l'État ?"] == ["30 jours"]
    assert right["Que permet d'identifier un numéro SIRET ?"] == [
        "Un établissement d'une entreprise ou d'une entité publique (14 chiffres)"]
    assert right["Que signifie la « constatation du service fait » ?"][0].startswith(
        "L'acheteur public vérifie que la prestation a été réalisée")
    assert len(right["Quelles factures se déposent sur Chorus Pro ?"]) == 2
    for question in scored:  # every right answer earns points, no wrong one does
        assert all((c.points > 0) == bool(c.is_correct) for c in question.choices)
    assert questionnaire.max_score == Decimal(5)
    scales = [q.text for q in questionnaire.questions if q.kind == "scale"]
    assert len(scales) == len(CHORUS_PRO["objectives"]) == 5
    for objective, text in zip(CHORUS_PRO["objectives"], scales):
        assert objective.rstrip(".") in text
    _closing_questions_are_there(questionnaire)


def test_dume_has_no_prerequisite_question(world):
    load_positioning_questionnaires()
    db.session.commit()
    questionnaire = services.positioning_questionnaire(world.dume)
    assert DUME_CHORUS_PRO["prerequisites_none"]
    assert [q for q in questionnaire.questions if q.role == "prerequisite"] == []
    assert questionnaire.max_score == 0
    assert "aucun prérequis" in questionnaire.intro
    scales = [q.text for q in questionnaire.questions if q.kind == "scale"]
    assert len(scales) == len(DUME_CHORUS_PRO["objectives"]) == 5
    _closing_questions_are_there(questionnaire)


def _closing_questions_are_there(questionnaire):
    by_role = {q.role: q for q in questionnaire.questions if q.role in ("expectations", "accessibility")}
    assert by_role["expectations"].kind == "text" and by_role["expectations"].required
    assert by_role["accessibility"].kind == "text" and not by_role["accessibility"].required
    assert "handicap" in by_role["accessibility"].text


def test_the_right_answers_score_full_marks(world, make_session):
    from tests.evaluations.support import enrol, open_session

    load_positioning_questionnaires()
    db.session.commit()
    questionnaire = services.positioning_questionnaire(world.chorus)
    enrolment = enrol(open_session(make_session, world), world)
    data = {}
    for question in questionnaire.questions:
        key = f"q{question.id}"
        if question.kind == "yes_no":
            data[key] = "yes"
        elif question.kind == "scale":
            data[key] = "3"
        elif question.kind == "text":
            data[key] = "Être autonome sur Chorus Pro."
        else:
            right = [str(c.id) for c in question.choices if c.is_correct]
            data[key] = right if question.kind == "multiple" else right[0]
    response = services.answer_positioning(enrolment, data, submit=True)
    db.session.commit()
    assert (response.score, response.max_score) == (Decimal(5), Decimal(5))
    assert enrolment.prerequisite_confirmed_at is not None
