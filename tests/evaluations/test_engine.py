"""The questionnaire engine: questionnaires from a spec, answers checked per question kind (French errors named
q<id>), drafts, submission, score, and the lookups of a course's positioning questionnaire."""
from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from trainingmgr.core.errors import ConflictError, NotFoundError, ValidationError
from trainingmgr.evaluations.questionnaires import services
from trainingmgr.evaluations.models import Answer, Questionnaire, Response
from trainingmgr.extensions import db

from tests.evaluations.support import ALL_KINDS_SPEC, enrol


def errors_of(call, *args, **kwargs) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        call(*args, **kwargs)
    return caught.value.fields


def stored(response) -> dict[int, object]:
    db.session.expire_all()
    return {a.question_id: a.value for a in db.session.scalars(select(Answer).where(Answer.response_id == response.id))}


def draft(q, enrolment):
    response = services.get_or_create_response(q.questionnaire, enrolment)
    db.session.commit()
    return response


# --------------------------------------------------------------------------- building


def test_questionnaire_from_spec_keeps_order_choices_and_points(questionnaire, world):
    assert questionnaire.kind == "positioning" and questionnaire.course_id == world.chorus.id
    assert questionnaire.active and questionnaire.version == 1
    assert [q.position for q in questionnaire.questions] == [1, 2, 3, 4, 5, 6]
    assert [q.kind for q in questionnaire.questions] == ["yes_no", "scale", "single", "multiple", "text", "text"]
    single = questionnaire.questions[2]
    assert [(c.text, c.is_correct, c.points) for c in single.choices] == [("30 jours", True, 2), ("90 jours", False, 0)]
    assert questionnaire.questions[5].required is False and questionnaire.questions[5].role == "accessibility"
    # single: the best choice; multiple: every positive choice
    assert questionnaire.max_score == Decimal(4)


def test_a_new_active_version_replaces_the_previous_one(questionnaire, world):
    second = services.create_questionnaire({**ALL_KINDS_SPEC, "title": "Version 2", "course": world.chorus})
    db.session.commit()
    db.session.expire_all()
    assert second.version == 2 and second.active
    assert db.session.get(Questionnaire, questionnaire.id).active is False
    assert services.positioning_questionnaire(world.chorus).id == second.id
    assert services.positioning_questionnaire(world.dume) is None


def test_an_invalid_spec_is_refused_in_french(world):
    fields = errors_of(services.create_questionnaire, {
        "kind": "quiz", "title": "", "course": world.chorus,
        "questions": [{"kind": "single", "text": "Une seule réponse ?", "choices": ["A"]},
                      {"kind": "scale", "text": "", "role": "prerequisite"},
                      {"kind": "slider", "text": "?"}],
    })
    assert fields["kind"] == ["Type de questionnaire inconnu."]
    assert "titre" in fields["title"][0]
    assert fields["questions.0.choices"] == ["Une question à choix propose au moins deux réponses."]
    assert fields["questions.1.text"] == ["Le texte de la question est obligatoire."]
    assert fields["questions.1.role"] == ["La confirmation du prérequis est une question oui / non."]
    assert "Type de question inconnu" in fields["questions.2.kind"][0]
    assert db.session.scalar(select(func.count()).select_from(Questionnaire)) == 0


# --------------------------------------------------------------------------- each kind


@pytest.mark.parametrize("raw,value", [(1, 1), (5, 5), ("3", 3), (" 4 ", 4)])
def test_scale_accepts_an_integer_from_1_to_5(q, raw, value):
    assert services.clean_answer(q.scale, raw) == value


@pytest.mark.parametrize("raw", [0, 6, -1, "9", "abc", "2.5", 2.5, True, ["3", "4"]])
def test_scale_out_of_range_or_not_an_integer_is_refused(q, raw):
    fields = errors_of(services.clean_answer, q.scale, raw)
    assert fields == {q.key(q.scale): ["Choisissez une note de 1 à 5."]}


def test_single_choice_must_be_one_choice_of_that_question(q):
    first = q.choice(q.single, 0)
    assert services.clean_answer(q.single, first) == first
    assert services.clean_answer(q.single, str(first)) == first
    message = "Choix inconnu pour cette question : choisissez parmi les réponses proposées."
    for raw in (999999, "abc", q.choice(q.multiple, 0), [str(first), str(q.choice(q.single, 1))]):
        assert errors_of(services.clean_answer, q.single, raw) == {q.key(q.single): [message]}


def test_multiple_choice_takes_a_list_of_choices_of_that_question(q):
    a, b, c = (q.choice(q.multiple, i) for i in range(3))
    assert services.clean_answer(q.multiple, [str(c), str(a), str(a)]) == [a, c]  # deduplicated, in order
    assert services.clean_answer(q.multiple, b) == [b]
    assert services.clean_answer(q.multiple, []) is None
    fields = errors_of(services.clean_answer, q.multiple, [a, q.choice(q.single, 0)])
    assert fields == {q.key(q.multiple): ["Choix inconnu pour cette question : choisissez parmi les réponses "
                                          "proposées."]}


@pytest.mark.parametrize("raw,value", [(True, True), (False, False), ("yes", True), ("no", False), ("Oui", True),
                                       ("non", False), ("true", True), ("0", False)])
def test_yes_no(q, raw, value):
    assert services.clean_answer(q.prereq, raw) is value


def test_yes_no_refuses_anything_else(q):
    assert errors_of(services.clean_answer, q.prereq, "peut-être") == {q.key(q.prereq): ["Répondez par oui ou par non."]}


def test_text_up_to_5000_characters(q):
    assert services.clean_answer(q.expectations, "  Déposer mes factures.\r\nSuivre les rejets. ") == (
        "Déposer mes factures.\nSuivre les rejets.")
    assert services.clean_answer(q.expectations, "é" * 5000) == "é" * 5000
    assert errors_of(services.clean_answer, q.expectations, "é" * 5001) == {
        q.key(q.expectations): ["Votre réponse ne doit pas dépasser 5000 caractères."]}
    assert errors_of(services.clean_answer, q.expectations, {"a": 1}) == {
        q.key(q.expectations): ["Réponse attendue sous forme de texte."]}


def test_blank_answers_are_unanswered(q):
    for question in (q.prereq, q.scale, q.single, q.multiple, q.expectations):
        for raw in (None, "", "   ", []):
            assert services.clean_answer(question, raw) is None


# --------------------------------------------------------------------------- drafts and submission


def test_a_draft_is_saved_without_the_required_answers(q, chorus_enrolment):
    response = draft(q, chorus_enrolment)
    services.save_answers(response, {q.key(q.scale): "2", q.key(q.expectations): "Un peu de tout."})
    db.session.commit()
    assert stored(response) == {q.scale.id: 2, q.expectations.id: "Un peu de tout."}
    response = db.session.get(Response, response.id)
    assert response.status == "draft" and response.submitted_at is None and response.score is None


def test_resuming_a_draft_changes_and_clears_answers(q, chorus_enrolment):
    response = draft(q, chorus_enrolment)
    services.save_answers(response, {q.key(q.scale): "2", q.key(q.multiple): [str(q.choice(q.multiple, 0))]})
    db.session.commit()
    services.save_answers(response, {q.key(q.scale): "4"})  # the multiple choice unticked
    db.session.commit()
    assert stored(response) == {q.scale.id: 4}
    assert services.get_or_create_response(q.questionnaire, chorus_enrolment).id == response.id
    assert db.session.scalar(select(func.count()).select_from(Response)) == 1


def test_an_invalid_answer_saves_nothing_and_every_error_is_given(q, chorus_enrolment):
    response = draft(q, chorus_enrolment)
    fields = errors_of(services.save_answers, response, {
        q.key(q.scale): "7", q.key(q.single): str(q.choice(q.multiple, 0)), q.key(q.expectations): "Valide"})
    db.session.rollback()
    assert set(fields) == {q.key(q.scale), q.key(q.single)}
    assert stored(response) == {}


def test_submit_requires_the_required_answers(q, chorus_enrolment):
    response = draft(q, chorus_enrolment)
    fields = errors_of(services.save_answers, response, {q.key(q.scale): "3"}, submit=True)
    db.session.rollback()
    required = {q.key(x): ["Cette question est obligatoire."] for x in (q.prereq, q.single, q.multiple, q.expectations)}
    assert fields == required  # the optional accessibility question is not required
    assert db.session.get(Response, response.id).status == "draft"


def test_submit_scores_and_freezes_the_response(q, chorus_enrolment):
    response = draft(q, chorus_enrolment)
    # single: the right answer (2 points); multiple: one right (1), one wrong (0)
    data = q.complete(**{q.key(q.multiple): [str(q.choice(q.multiple, 0)), str(q.choice(q.multiple, 2))]})
    services.save_answers(response, data, submit=True)
    db.session.commit()
    db.session.expire_all()
    response = db.session.get(Response, response.id)
    assert response.submitted and response.submitted_at is not None
    assert response.score == Decimal(3) and response.max_score == Decimal(4)
    with pytest.raises(ConflictError) as caught:
        services.save_answers(response, q.complete(), submit=True)
    assert caught.value.status_code == 409
    assert caught.value.message == "Vos réponses ont déjà été envoyées : elles ne peuvent plus être modifiées."
    db.session.rollback()
    with pytest.raises(ConflictError):
        services.save_answers(db.session.get(Response, response.id), {q.key(q.scale): "1"})
    db.session.rollback()
    assert stored(response)[q.scale.id] == 3


def test_a_full_score_and_a_zero_score(q, world, chorus_session):
    good = services.answer_positioning(enrol(chorus_session, world, "Bob", "Bon"), q.complete(), submit=True)
    bad = services.answer_positioning(enrol(chorus_session, world, "Zoé", "Zéro"), q.complete(**{
        q.key(q.single): str(q.choice(q.single, 1)), q.key(q.multiple): [str(q.choice(q.multiple, 2))]}),
        submit=True)
    db.session.commit()
    assert (good.score, good.max_score) == (Decimal(4), Decimal(4))
    assert (bad.score, bad.max_score) == (Decimal(0), Decimal(4))


def test_answers_of_another_questionnaire_are_ignored(q, world, chorus_enrolment):
    other = services.create_questionnaire({"kind": "positioning", "title": "Autre", "course": world.dume,
                                           "questions": [{"kind": "scale", "text": "Niveau ?"}]})
    db.session.commit()
    response = draft(q, chorus_enrolment)
    services.save_answers(response, {f"q{other.questions[0].id}": "5", q.key(q.scale): "1"})
    db.session.commit()
    assert stored(response) == {q.scale.id: 1}


# --------------------------------------------------------------------------- the enrolment's positioning


def test_the_enrolment_answers_its_course_questionnaire(q, world, chorus_enrolment):
    assert services.positioning_for(chorus_enrolment) == (q.questionnaire, None)
    response = services.answer_positioning(chorus_enrolment, {q.key(q.scale): "2"})
    db.session.commit()
    assert response.questionnaire_id == q.questionnaire.id and response.enrolment_id == chorus_enrolment.id
    # A new version of the questionnaire does not strand the trainee's draft.
    services.create_questionnaire({**ALL_KINDS_SPEC, "title": "Version 2", "course": world.chorus})
    db.session.commit()
    questionnaire, again = services.positioning_for(chorus_enrolment)
    assert again.id == response.id and questionnaire.id == q.questionnaire.id


def test_a_course_without_questionnaire(world, make_session):
    from tests.evaluations.support import open_session

    enrolment = enrol(open_session(make_session, world, course=world.dume), world)
    assert services.positioning_for(enrolment) == (None, None)
    with pytest.raises(NotFoundError):
        services.answer_positioning(enrolment, {})


def test_a_cancelled_enrolment_answers_no_more(q, world, chorus_enrolment):
    from trainingmgr.enrolments.services import cancel

    cancel(chorus_enrolment, world.users["advisor"], "Empêchement")
    db.session.commit()
    with pytest.raises(ConflictError) as caught:
        services.answer_positioning(chorus_enrolment, q.complete(), submit=True)
    assert "annulée" in caught.value.message


def test_simultaneous_submissions_submit_once(app, q, chorus_enrolment):
    """Two tabs, a double click: every call runs in its own transaction; the first creates the response and
    submits it, the others find it submitted (409). One response, one history event."""
    import threading

    from trainingmgr.enrolments.models import Enrolment, EnrolmentEvent

    calls = 6
    enrolment_id, data = chorus_enrolment.id, q.complete()  # read here: the threads must not touch this session
    barrier = threading.Barrier(calls)
    outcomes: list[str] = []

    def submit():
        with app.app_context():
            try:
                mine = db.session.get(Enrolment, enrolment_id)
                barrier.wait(timeout=30)
                services.answer_positioning(mine, data, submit=True)
                db.session.commit()
                outcomes.append("ok")
            except ConflictError:
                db.session.rollback()
                outcomes.append("409")
            except Exception as exc:  # pragma: no cover - reported by the assertion below
                db.session.rollback()
                outcomes.append(repr(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=submit, daemon=True) for _ in range(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), outcomes
    assert sorted(outcomes) == ["409"] * (calls - 1) + ["ok"], outcomes
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Response)) == 1
    assert db.session.scalar(select(func.count()).select_from(EnrolmentEvent).where(
        EnrolmentEvent.enrolment_id == enrolment_id, EnrolmentEvent.kind == "positioning")) == 1
