"""The acquis: per objective of the course, the trainer records acquired / partly / not acquired for each trainee
(continuous evaluation, earlier judgements kept), and the result is printed on the attestation de fin de
formation."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from trainingmgr.core.errors import ConflictError, PermissionDenied, ValidationError
from trainingmgr.evaluations.acquis import services as acquis
from trainingmgr.evaluations.models import AcquisAssessment
from trainingmgr.extensions import db
from trainingmgr.sessions.services import change_status

# The attendance fixtures (make_class, klass, and the logged-in clients advisor, trainer, trainer2).
from tests.fixtures.attendance import paris
from tests.helpers import page


def start(session, world):
    """The session in progress (its first slot has begun)."""
    first = min(session.slots, key=lambda s: (s.date, s.start_time))
    change_status(session, "in_progress", world.users["advisor"], now=paris(first.date, "09:00"))
    db.session.commit()


def count() -> int:
    return db.session.scalar(select(func.count(AcquisAssessment.id)))


def url(session) -> str:
    return f"/sessions/{session.id}/acquis"


@pytest.fixture
def started(klass, world):
    session, enrolments = klass
    start(session, world)
    return session, enrolments, acquis.objectives(session)


# --------------------------------------------------------------------------- the service


def test_trainer_records_levels_and_the_grid_shows_them(started, world):
    session, enrolments, goals = started
    pierre = world.users["trainer"]
    assert len(goals) == 5
    acquis.record(session, enrolments[0], goals[0].id, "acquired", "Très à l'aise.", pierre)
    acquis.record(session, enrolments[0], goals[1].id, "partial", "", pierre)
    acquis.record(session, enrolments[1], goals[0].id, "not_acquired", None, pierre)
    db.session.commit()

    grid = acquis.grid(session)
    assert [o.id for o in grid.objectives] == [o.id for o in goals]
    assert {r.enrolment.id for r in grid.rows} == {e.id for e in enrolments}
    assert len(grid.rows) == 3 and all(len(r.cells) == 5 for r in grid.rows)
    cell = grid.cell(enrolments[0].id, goals[0].id)
    assert (cell.level, cell.comment, cell.recorded_by) == ("acquired", "Très à l'aise.", "Pierre Formateur")
    assert grid.cell(enrolments[0].id, goals[1].id).label == "Partiellement acquis"
    assert grid.cell(enrolments[1].id, goals[0].id).level == "not_acquired"
    assert grid.cell(enrolments[2].id, goals[0].id).label == "Non évalué"
    assert grid.row(enrolments[0].id).counts == {"acquired": 1, "partial": 1, "not_acquired": 0}


def test_grid_takes_a_few_queries(started, world, app):
    from tests.fixtures.app import QueryCounter

    session, enrolments, goals = started
    for enrolment in enrolments:
        for objective in goals:
            acquis.record(session, enrolment, objective.id, "acquired", "", world.users["trainer"])
    db.session.commit()
    db.session.expire_all()
    with QueryCounter(db.engine) as counter:
        grid = acquis.grid(session)
        assert sum(r.counts["acquired"] for r in grid.rows) == 15
        assert all(c.recorded_by for r in grid.rows for c in r.cells)
    assert counter.count <= 8


def test_history_keeps_every_earlier_judgement(started, world):
    session, enrolments, goals = started
    pierre, camille = world.users["trainer"], world.users["advisor"]
    first = acquis.record(session, enrolments[0], goals[0].id, "not_acquired", "Confond les statuts.", pierre,
                          now=paris(session.slots[0].date, "10:00"))
    db.session.commit()
    acquis.record(session, enrolments[0], goals[0].id, "partial", "Progresse.", pierre)
    acquis.record(session, enrolments[0], goals[0].id, "partial", "Progresse.", pierre)  # unchanged: no entry
    acquis.record(session, enrolments[0], goals[0].id, "acquired", "", camille)
    db.session.commit()
    db.session.expire_all()

    row = db.session.get(AcquisAssessment, first.id)
    assert count() == 1
    assert (row.level, row.comment, row.recorded_by_id) == ("acquired", "", camille.id)
    assert [(h["level"], h["comment"], h["by"], h["by_name"]) for h in row.history] == [
        ("not_acquired", "Confond les statuts.", pierre.id, "Pierre Formateur"),
        ("partial", "Progresse.", pierre.id, "Pierre Formateur"),
    ]
    assert dt.datetime.fromisoformat(row.history[0]["at"]) == paris(session.slots[0].date, "10:00")


def test_refusals_are_french_with_the_right_status_and_save_nothing(started, world, make_class):
    session, enrolments, goals = started
    pierre, paula = world.users["trainer"], world.users["trainer2"]
    other_session, others = make_class(1)
    other_goal = acquis.objectives(other_session)[0]
    chorus_goal = world.chorus.current_version.objectives[0]

    cases = [
        (lambda: acquis.record(session, enrolments[0], goals[0].id, "excellent", "", pierre),
         ValidationError, 422, "Niveau inconnu"),
        (lambda: acquis.record(session, enrolments[0], chorus_goal.id, "acquired", "", pierre),
         ValidationError, 422, "Objectif inconnu pour cette formation."),
        (lambda: acquis.record(session, enrolments[0], "abc", "acquired", "", pierre),
         ValidationError, 422, "Objectif inconnu pour cette formation."),
        (lambda: acquis.record(session, enrolments[0], goals[0].id, "acquired", "x" * 2001, pierre),
         ValidationError, 422, "2000 caractères"),
        (lambda: acquis.record(session, others[0], goals[0].id, "acquired", "", pierre),
         PermissionDenied, 403, "n'est pas inscrit à cette session"),
        (lambda: acquis.record(session, enrolments[0], goals[0].id, "acquired", "", paula),
         PermissionDenied, 403, "Seuls les formateurs de la session"),
        (lambda: acquis.record(other_session, others[0], other_goal.id, "acquired", "", pierre),
         ConflictError, 409, "une fois la session commencée"),
    ]
    for action, error, status, message in cases:
        with pytest.raises(error) as caught:
            action()
        db.session.rollback()
        assert caught.value.status_code == status
        assert message in caught.value.message
    assert count() == 0


def test_trainee_not_expected_is_refused(started, world):
    from trainingmgr.enrolments.services import cancel

    session, enrolments, goals = started
    cancel(enrolments[2], world.users["advisor"], "Empêchement", notify=False)
    db.session.commit()
    with pytest.raises(ConflictError) as caught:
        acquis.record(session, enrolments[2], goals[0].id, "acquired", "", world.users["trainer"])
    assert "n'est pas confirmée" in caught.value.message
    db.session.rollback()
    assert count() == 0


def test_results_text(started, world):
    session, enrolments, goals = started
    pierre = world.users["trainer"]
    assert acquis.results_text(enrolments[0]) == ""
    for objective, level in zip(goals, ["acquired", "acquired", "partial", "not_acquired", "acquired"]):
        acquis.record(session, enrolments[0], objective.id, level, "", pierre)
    acquis.record(session, enrolments[1], goals[0].id, "acquired", "", pierre)
    db.session.commit()
    texts = [" ".join(o.text.split()).rstrip(" .") for o in goals]
    assert acquis.results_text(enrolments[0]) == (
        f"Objectifs acquis : 3 sur 5. Acquis : {texts[0]} ; {texts[1]} ; {texts[4]}. "
        f"Partiellement acquis : {texts[2]}. Non acquis : {texts[3]}.")
    assert acquis.results_text(enrolments[1]) == (
        f"Objectifs acquis : 1 sur 5. Acquis : {texts[0]}. Non évalués : {' ; '.join(texts[1:])}.")


# --------------------------------------------------------------------------- the page


def form_for(grid, **levels) -> dict:
    """Every cell of the grid as posted by the page: ``levels`` {"<enrolment>-<objective>": level}."""
    data = {}
    for row in grid.rows:
        for cell in row.cells:
            key = f"{row.enrolment.id}-{cell.objective.id}"
            data[f"level-{key}"] = levels.get(key, cell.level)
            data[f"comment-{key}"] = cell.comment
    return data


def test_trainer_fills_the_grid_on_the_page(started, world, trainer, advisor):
    session, enrolments, goals = started
    response = trainer.get(url(session))
    assert response.status_code == 200
    text = page(response)
    assert "Évaluation des acquis" in text and goals[0].text in text
    assert text.count('name="level-') == 15

    data = form_for(acquis.grid(session), **{f"{enrolments[0].id}-{goals[0].id}": "acquired",
                                            f"{enrolments[1].id}-{goals[2].id}": "partial"})
    data[f"comment-{enrolments[1].id}-{goals[2].id}"] = "À revoir : les rejets."
    response = trainer.post(url(session), data=data)
    assert response.status_code == 302, page(response)
    db.session.expire_all()
    assert count() == 2
    text = page(trainer.get(url(session)))
    assert "2 évaluations enregistrées." in text
    assert f'data-objective="{goals[0].id}" data-level="acquired"' in text
    assert "Acquis — par Pierre Formateur le " in text
    assert "À revoir : les rejets." in text

    # The advisor changes one judgement; the previous one is kept.
    data = form_for(acquis.grid(session), **{f"{enrolments[0].id}-{goals[0].id}": "not_acquired"})
    assert advisor.post(url(session), data=data).status_code == 302
    db.session.expire_all()
    row = db.session.scalar(select(AcquisAssessment).where(AcquisAssessment.enrolment_id == enrolments[0].id))
    assert row.level == "not_acquired" and [h["level"] for h in row.history] == ["acquired"]
    assert "Non acquis — par Camille Conseil le " in page(trainer.get(url(session)))


def test_one_bad_cell_saves_nothing(started, world, trainer):
    session, enrolments, goals = started
    grid = acquis.grid(session)
    key = f"{enrolments[1].id}-{goals[1].id}"
    data = form_for(grid, **{f"{enrolments[0].id}-{goals[0].id}": "acquired", key: "brilliant"})
    response = trainer.post(url(session), data=data)
    assert response.status_code == 422
    text = page(response)
    assert "Niveau inconnu" in text and f'data-error="{key}"' in text
    db.session.expire_all()
    assert count() == 0

    chorus_goal = world.chorus.current_version.objectives[0]
    data = form_for(grid, **{f"{enrolments[0].id}-{goals[0].id}": "acquired"})
    data[f"level-{enrolments[0].id}-{chorus_goal.id}"] = "acquired"
    response = trainer.post(url(session), data=data)
    assert response.status_code == 422 and "Objectif inconnu pour cette formation." in page(response)
    data = form_for(grid, **{f"{enrolments[0].id}-{goals[0].id}": "acquired"})
    data[f"comment-{enrolments[0].id}-{goals[1].id}"] = "Un commentaire sans niveau."
    response = trainer.post(url(session), data=data)
    assert response.status_code == 422 and "choisissez un niveau" in page(response)
    db.session.expire_all()
    assert count() == 0


def test_page_refusals(started, world, make_class, trainer, trainer2):
    session, enrolments, goals = started
    other_session, others = make_class(1)
    grid = acquis.grid(session)

    # A trainee of another session slipped into the grid: 403, nothing saved.
    data = form_for(grid, **{f"{enrolments[0].id}-{goals[0].id}": "acquired"})
    data[f"level-{others[0].id}-{goals[0].id}"] = "acquired"
    response = trainer.post(url(session), data=data)
    assert response.status_code == 403 and "n'est pas inscrit à cette session" in page(response)

    # Another trainer: 403 on the page and on the form.
    assert trainer2.get(url(session)).status_code == 403
    response = trainer2.post(url(session), data=form_for(grid, **{f"{enrolments[0].id}-{goals[0].id}": "acquired"}))
    assert response.status_code == 403

    # Not started yet: the page says so, the form is refused with 409.
    response = trainer.get(url(other_session))
    assert response.status_code == 200 and "s'ouvre une fois la session commencée" in page(response)
    other_goal = acquis.objectives(other_session)[0]
    response = trainer.post(url(other_session), data={f"level-{others[0].id}-{other_goal.id}": "acquired"})
    assert response.status_code == 409 and "une fois la session commencée" in page(response)

    # No CSRF token: 400.
    response = trainer.post(url(session), data=form_for(grid), csrf=False)
    assert response.status_code == 400
    db.session.expire_all()
    assert count() == 0


def test_session_page_links_to_the_acquis(started, trainer, advisor):
    session, _, _ = started
    link = f'href="/sessions/{session.id}/acquis"'
    assert link in page(trainer.get(f"/sessions/{session.id}"))
    assert link in page(advisor.get(f"/sessions/{session.id}"))


# --------------------------------------------------------------------------- the attestation


def test_attestation_prints_the_acquis(klass, world):
    from trainingmgr.documents import services as documents
    from trainingmgr.enrolments.models import Enrolment

    from tests.documents.support import docx_text
    from tests.fixtures.documents import deliver

    session, enrolments = klass
    advisor_user, pierre = world.users["advisor"], world.users["trainer"]
    deliver(session, advisor_user, pierre)
    goals = acquis.objectives(session)
    for objective, level in zip(goals, ["acquired", "acquired", "acquired", "partial", "not_acquired"]):
        acquis.record(session, enrolments[0], objective.id, level, "", pierre)
    db.session.commit()
    db.session.expire_all()
    first, second = db.session.get(Enrolment, enrolments[0].id), db.session.get(Enrolment, enrolments[1].id)
    assert first.status == "completed"

    doc = documents.generate("attestation", session, advisor_user, enrolment=first, pdf=False)
    db.session.commit()
    text = docx_text(documents.read_file(doc, "docx"))
    assert "Objectifs acquis : 3 sur 5." in text
    assert "Partiellement acquis : " + " ".join(goals[3].text.split()).rstrip(" .") in text
    assert doc.context["results"].startswith("Objectifs acquis : 3 sur 5.")

    # Nothing recorded: no « Résultats » line.
    doc = documents.generate("attestation", session, advisor_user, enrolment=second, pdf=False)
    db.session.commit()
    text = docx_text(documents.read_file(doc, "docx"))
    assert "Objectifs acquis" not in text and "Résultats" not in text
