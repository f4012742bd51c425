"""What a submitted positioning questionnaire changes: the prerequisite confirmation, the trainee's adaptation
needs (seen by the advisor and the session's trainer), the enrolment history; and what the advisor's enrolment
page shows of it (positioning_summary and the evaluations/_response.html partial)."""
from __future__ import annotations

import html
import re
from decimal import Decimal

import pytest
from flask import render_template_string

from trainingmgr.core.formatting import date_fr
from trainingmgr.enrolments.models import Enrolment, EnrolmentEvent
from trainingmgr.evaluations.questionnaires import services
from trainingmgr.extensions import db
from trainingmgr.trainees.models import Trainee

from tests.evaluations.support import enrol, open_session
from tests.helpers import login, page

PARTIAL = '{% include "evaluations/_response.html" %}'


def reload(enrolment) -> Enrolment:
    db.session.expire_all()
    return db.session.get(Enrolment, enrolment.id)


def positioning_events(enrolment) -> list[EnrolmentEvent]:
    return [e for e in reload(enrolment).events if e.kind == "positioning"]


def test_yes_to_the_prerequisite_confirms_it_and_the_history_gets_the_score(q, chorus_enrolment):
    assert chorus_enrolment.status == "pending_prerequisite" and chorus_enrolment.prerequisite_confirmed_at is None
    services.answer_positioning(chorus_enrolment, q.complete(), submit=True)
    db.session.commit()
    chorus_enrolment = reload(chorus_enrolment)
    assert chorus_enrolment.prerequisite_confirmed_at is not None
    assert chorus_enrolment.status == "pending_prerequisite"  # the admission stays the advisor's decision
    [event] = positioning_events(chorus_enrolment)
    assert event.message == ("Questionnaire de positionnement envoyé par le stagiaire ; score 4/4 ; "
                             "prérequis confirmé.")
    assert event.actor_id is None and event.actor_label == "Alice Martin (stagiaire)"


def test_no_to_the_prerequisite_leaves_it_unconfirmed(q, chorus_enrolment):
    services.answer_positioning(chorus_enrolment, q.complete(**{q.key(q.prereq): "no"}), submit=True)
    db.session.commit()
    assert reload(chorus_enrolment).prerequisite_confirmed_at is None
    [event] = positioning_events(chorus_enrolment)
    assert "prérequis NON confirmé" in event.message
    summary = services.positioning_summary(reload(chorus_enrolment))
    assert summary.prerequisite_confirmed is False and summary.prerequisite_answer is False


def test_a_draft_changes_nothing_on_the_enrolment(q, chorus_enrolment):
    services.answer_positioning(chorus_enrolment, q.complete(**{q.key(q.access): "Fauteuil roulant"}))
    db.session.commit()
    chorus_enrolment = reload(chorus_enrolment)
    assert chorus_enrolment.prerequisite_confirmed_at is None and chorus_enrolment.trainee.accessibility_needs == ""
    assert positioning_events(chorus_enrolment) == []


def test_adaptation_needs_reach_the_trainee_record_once(q, world, chorus_session, make_session):
    enrolment = enrol(chorus_session, world, accessibility_needs="Malentendant : placer au premier rang.")
    need = "Je me déplace en fauteuil roulant ;\nmerci de prévoir une place accessible."
    services.answer_positioning(enrolment, q.complete(**{q.key(q.access): need}), submit=True)
    db.session.commit()
    trainee = db.session.get(Trainee, enrolment.trainee_id)
    assert trainee.accessibility_needs == f"Malentendant : placer au premier rang.\n{need}"
    [event] = positioning_events(enrolment)
    assert "besoin d'adaptation signalé" in event.message

    # The same person, another session of the course: the same need is not written twice.
    later = open_session(make_session, world, start=chorus_session.first_date.replace(year=2032))
    again = enrol(later, world)
    assert again.trainee_id == trainee.id
    services.answer_positioning(again, q.complete(**{q.key(q.access): "  " + need.upper() + " "}), submit=True)
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Trainee, trainee.id).accessibility_needs == f"Malentendant : placer au premier rang.\n{need}"


@pytest.mark.parametrize("answer", ["Aucun", "non.", "Rien", "néant", "RAS", "Pas de besoin"])
def test_answers_meaning_no_need_are_not_copied(q, chorus_enrolment, answer):
    services.answer_positioning(chorus_enrolment, q.complete(**{q.key(q.access): answer}), submit=True)
    db.session.commit()
    assert reload(chorus_enrolment).trainee.accessibility_needs == ""
    assert services.positioning_summary(reload(chorus_enrolment)).accessibility_answers == []


def test_the_advisor_sees_the_needs_on_the_trainee_record(q, chorus_enrolment):
    """The trainee record is what the advisor's pages read: the need is in it, under the trainee."""
    services.answer_positioning(chorus_enrolment, q.complete(**{q.key(q.access): "Supports en gros caractères."}),
                                submit=True)
    db.session.commit()
    assert "Supports en gros caractères." in reload(chorus_enrolment).trainee.accessibility_needs
    assert services.positioning_summary(reload(chorus_enrolment)).accessibility_answers == ["Supports en gros caractères."]


def test_the_sessions_trainer_sees_the_needs_on_the_session_page(app, q, chorus_enrolment, world):
    services.answer_positioning(chorus_enrolment, q.complete(**{q.key(q.access): "Supports en gros caractères."}),
                                submit=True)
    db.session.commit()
    trainer = app.test_client()
    login(trainer, "formateur@test.example")  # Pierre teaches the session
    response = trainer.get(f"/sessions/{chorus_enrolment.session_id}")
    assert response.status_code == 200
    assert "Supports en gros caractères." in page(response)


# --------------------------------------------------------------------------- what the advisor's page shows


def test_summary_of_a_course_without_questionnaire(world, make_session):
    enrolment = enrol(open_session(make_session, world, course=world.dume), world)
    summary = services.positioning_summary(enrolment)
    assert summary.questionnaire is None and summary.response is None and summary.rows == []
    assert summary.score is None and not summary.scored
    html = page_of(summary)
    assert "Pas de questionnaire de positionnement pour cette formation." in html


def test_summary_before_any_answer(q, chorus_enrolment):
    summary = services.positioning_summary(chorus_enrolment)
    assert summary.questionnaire.id == q.questionnaire.id and summary.response is None
    assert summary.max_score == Decimal(4) and summary.score is None
    assert summary.has_prerequisite_question and not summary.prerequisite_confirmed
    html = page_of(summary)
    assert "Pas encore de réponse" in html and "Prérequis pas encore confirmé par le stagiaire." in html


def test_summary_of_a_draft(q, chorus_enrolment):
    services.answer_positioning(chorus_enrolment, {q.key(q.scale): "2"})
    db.session.commit()
    summary = services.positioning_summary(reload(chorus_enrolment))
    assert summary.response is not None and not summary.submitted and summary.score is None
    assert summary.status_label == "Brouillon"
    html = page_of(summary)
    assert "Brouillon" in html and "2 / 5" in html and "Score" not in html


def test_summary_of_a_submitted_response_with_marks(q, chorus_enrolment):
    data = q.complete(**{q.key(q.single): str(q.choice(q.single, 1)),
                         q.key(q.multiple): [str(q.choice(q.multiple, 0)), str(q.choice(q.multiple, 2))],
                         q.key(q.access): "Supports en gros caractères."})
    services.answer_positioning(chorus_enrolment, data, submit=True)
    db.session.commit()
    summary = services.positioning_summary(reload(chorus_enrolment))
    assert summary.submitted and (summary.score, summary.max_score) == (Decimal(1), Decimal(4))
    assert summary.prerequisite_confirmed and summary.prerequisite_answer is True
    assert summary.accessibility_answers == ["Supports en gros caractères."]
    assert summary.expectations == ["Savoir déposer une facture de travaux."]
    rows = {row.question.id: row for row in summary.rows}
    assert rows[q.single.id].correct is False and rows[q.single.id].points == 0
    assert rows[q.multiple.id].correct is False and rows[q.multiple.id].points == 1
    assert rows[q.prereq.id].text == "Oui" and rows[q.scale.id].text == "3 / 5"
    html = page_of(summary)
    assert "Score : 1 / 4" in html
    assert f"Envoyé le {date_fr(summary.submitted_at)}" in html
    assert "✗ 90 jours" in html and "Bonne réponse non choisie : 30 jours" in html
    assert "✓ Fournisseur de l'État" in html and "✗ Particulier" in html
    assert "Besoins d'adaptation signalés" in html and "Supports en gros caractères." in html
    assert "Prérequis confirmé par le stagiaire" in html


def test_the_partial_renders_any_response(q, chorus_enrolment):
    response = services.answer_positioning(chorus_enrolment, q.complete(), submit=True)
    db.session.commit()
    html = page_of(services.response_view(response))
    assert "Score : 4 / 4" in html and "Prérequis" not in html


def page_of(summary) -> str:
    """The partial's text: tags removed, spaces collapsed."""
    markup = render_template_string(PARTIAL, summary=summary)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", markup)).split())
