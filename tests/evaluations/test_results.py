"""Survey and evaluation results: hand-computed aggregates (averages, distributions, response rate, NPS,
satisfaction rate, acquis), the merge of questionnaire versions over a course or a year, exports holding the same
numbers, SVG charts without script, the staff pages and the API."""
from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from sqlalchemy import select

from trainingmgr.core.spreadsheet import safe_text
from trainingmgr.evaluations.results import charts, spreadsheets
from trainingmgr.evaluations.results import services as result_services
from trainingmgr.evaluations.models import AcquisAssessment, Response, SurveyInvitation
from trainingmgr.extensions import db

from tests.api.support import API, assert_error, bearer
from tests.fixtures.attendance import paris
from tests.helpers import MONDAY, exported, login, page

YEAR = MONDAY.year
# The hot survey's six scale questions, as answered by trainees 1 to 4 (trainee 5 never answers).
HOT_SCALES = [[5, 5, 5, 5, 5, 5], [4, 4, 4, 4, 4, 4], [3, 3, 3, 3, 3, 3], [2, 4, 5, 3, 1, 4]]
HOT_NPS = [10, 9, 7, 3]
HOT_COMMENTS = ["Très bien, merci.", "", "", "Salle trop petite."]
# Per question: the mean of the column of HOT_SCALES, and its notes.
AVERAGES = [Decimal("3.50"), Decimal("4.00"), Decimal("4.25"), Decimal("3.75"), Decimal("3.25"), Decimal("4.00")]
ORGANISATION_DISTRIBUTION = {1: 0, 2: 1, 3: 1, 4: 1, 5: 1}  # 5, 4, 3, 2
SUPPORTS_DISTRIBUTION = {1: 1, 2: 0, 3: 1, 4: 1, 5: 1}  # 5, 4, 3, 1
COLD_SPEC = {"kind": "cold", "title": "Enquête à froid anonyme", "anonymous": True, "questions": [
    {"kind": "scale", "text": "Avez-vous mis en pratique ?"},
    {"kind": "yes_no", "text": "Avez-vous de nouveaux besoins ?"},
    {"kind": "text", "text": "Un commentaire ?", "required": False},
]}


def _invitation(enrolment, kind):
    return db.session.scalar(select(SurveyInvitation).where(SurveyInvitation.enrolment_id == enrolment.id,
                                                            SurveyInvitation.kind == kind))


def _hot_answers(questionnaire, scales, nps, comment) -> dict:
    scale_questions = [q for q in questionnaire.questions if q.kind == "scale"]
    single = next(q for q in questionnaire.questions if q.kind == "single")
    text = next(q for q in questionnaire.questions if q.kind == "text")
    data = {f"q{q.id}": str(v) for q, v in zip(scale_questions, scales)}
    data[f"q{single.id}"] = str(next(c.id for c in single.choices if c.text == str(nps)))
    data[f"q{text.id}"] = comment
    return data


@pytest.fixture
def surveyed_session(world, make_session, surveys, users):  # noqa: F811
    """A DUME session on MONDAY with five trainees who attended; the hot survey sent to all five and answered
    by four (HOT_SCALES, HOT_NPS, HOT_COMMENTS); an anonymous cold survey answered by two of them; the
    trainer's acquis for two objectives."""
    from trainingmgr.attendance import services as attendance
    from trainingmgr.enrolments.services import enrol
    from trainingmgr.evaluations.questionnaires.services import create_questionnaire
    from trainingmgr.evaluations.surveys.services import answer, send_survey
    from trainingmgr.sessions.services import change_status
    from trainingmgr.trainees.services import save_trainee

    session = make_session(course=world.dume)
    change_status(session, "open", users["advisor"])
    enrolments = []
    for n in range(1, 6):
        trainee = save_trainee(None, {"civility": "Mme", "first_name": f"Prénom{n}", "last_name": f"Nom{n}",
                                      "email": f"r{n}@exemple.fr"})
        enrolments.append(enrol(session, trainee, actor=users["advisor"], notify=False))
    change_status(session, "confirmed", users["advisor"])
    change_status(session, "in_progress", users["advisor"], now=paris(MONDAY, "08:30"))
    for slot in sorted(session.slots, key=lambda s: s.start_time):
        for enrolment in enrolments:
            attendance.sign(slot, enrolment, method="link", typed_name=enrolment.trainee.full_name,
                            now=slot.starts_at)
    change_status(session, "completed", users["advisor"], now=paris(MONDAY, "17:45"))
    create_questionnaire({**COLD_SPEC, "course": world.dume})
    db.session.commit()

    send_survey({"session_id": session.id, "kind": "hot"})
    send_survey({"session_id": session.id, "kind": "cold"})
    db.session.commit()
    for enrolment, scales, nps, comment in zip(enrolments, HOT_SCALES, HOT_NPS, HOT_COMMENTS):
        invitation = _invitation(enrolment, "hot")
        answer(invitation, _hot_answers(invitation.questionnaire, scales, nps, comment), submit=True)
    for enrolment, (note, yes, comment) in zip(enrolments, ((4, "yes", "Je m'en sers chaque semaine."),
                                                            (2, "no", ""))):
        invitation = _invitation(enrolment, "cold")
        scale, yes_no, text = invitation.questionnaire.questions
        answer(invitation, {f"q{scale.id}": str(note), f"q{yes_no.id}": yes, f"q{text.id}": comment}, submit=True)

    first, second = session.course_version.objectives[:2]
    for enrolment, objective, level in ((enrolments[0], first, "acquired"), (enrolments[1], first, "acquired"),
                                        (enrolments[2], first, "partial"), (enrolments[3], first, "not_acquired"),
                                        (enrolments[0], second, "acquired")):
        db.session.add(AcquisAssessment(enrolment_id=enrolment.id, objective_id=objective.id, level=level))
    db.session.commit()
    return session, enrolments


def _group(results, kind):
    (group,) = [g for g in results.questionnaires if g.kind == kind]
    return group


# --------------------------------------------------------------------------- the numbers


def test_hot_survey_aggregates_are_the_hand_computed_ones(surveyed_session):
    session, enrolments = surveyed_session
    results = result_services.session_results(session)
    hot = _group(results, "hot")
    assert (hot.invitations, hot.responded, hot.responses) == (5, 4, 4)
    assert hot.response_rate == Decimal("80.0")
    scale = hot.scale_questions
    assert [q.average for q in scale] == AVERAGES
    assert [q.answers for q in scale] == [4] * 6
    assert scale[0].distribution == ORGANISATION_DISTRIBUTION
    assert scale[4].distribution == SUPPORTS_DISTRIBUTION
    assert scale[0].distribution_percent[5] == Decimal("25.0")
    (nps_question,) = [q for q in hot.questions if q.nps is not None]
    nps = nps_question.nps
    assert (nps.promoters, nps.passives, nps.detractors, nps.total) == (2, 1, 1, 4)
    assert nps.score == Decimal("25.0")  # 50 % of promoters − 25 % of detractors
    assert {c.text: c.count for c in nps_question.choices if c.count} == {"10": 1, "9": 1, "7": 1, "3": 1}
    assert len(nps_question.choices) == 11
    # Satisfaction: the 24 scale answers, 15 of them 4 or 5; their mean is 91 / 24.
    assert (results.satisfaction.answers, results.satisfaction.satisfied) == (24, 15)
    assert results.satisfaction.rate == Decimal("62.5")
    assert results.satisfaction.average == Decimal("3.79")
    # Comments, with the person's name (the hot survey is not anonymous), session and date.
    comments = hot.comments
    assert [c.text for c in comments] == ["Très bien, merci.", "Salle trop petite."]
    assert [c.name for c in comments] == [enrolments[0].trainee.full_name, enrolments[3].trainee.full_name]
    assert all(c.session_id == session.id and c.submitted_at is not None for c in comments)


def test_anonymous_survey_counts_its_answers_without_names(surveyed_session):
    session, _ = surveyed_session
    cold = _group(result_services.session_results(session), "cold")
    assert cold.anonymous
    assert (cold.invitations, cold.responded, cold.responses, cold.response_rate) == (5, 2, 2, Decimal("40.0"))
    scale, yes_no, text = cold.questions
    assert (scale.average, scale.distribution) == (Decimal("3.00"), {1: 0, 2: 1, 3: 0, 4: 1, 5: 0})
    assert [(c.text, c.count, c.percent) for c in yes_no.choices] == [("Oui", 1, Decimal("50.0")),
                                                                      ("Non", 1, Decimal("50.0"))]
    (comment,) = text.comments
    assert comment.text == "Je m'en sers chaque semaine." and comment.name is None
    # Cold answers are not part of the (hot) satisfaction rate.
    assert result_services.session_results(session).satisfaction.answers == 24


def test_acquis_per_objective(surveyed_session):
    session, _ = surveyed_session
    first, second = session.course_version.objectives[:2]
    acquis = result_services.session_results(session).acquis
    assert [a.objective for a in acquis] == [first.text, second.text]
    assert (acquis[0].assessed, acquis[0].acquired, acquis[0].partial, acquis[0].not_acquired) == (4, 2, 1, 1)
    assert acquis[0].percents == {"acquired": Decimal("50.0"), "partial": Decimal("25.0"),
                                  "not_acquired": Decimal("25.0")}
    assert acquis[1].percents["acquired"] == Decimal("100.0")


def test_session_and_course_summaries(surveyed_session):
    session, _ = surveyed_session
    results = result_services.year_results(YEAR)
    (summary,) = results.session_summaries
    assert summary.session.id == session.id
    assert (summary.hot_invitations, summary.hot_responded, summary.hot_response_rate) == (5, 4, Decimal("80.0"))
    assert (summary.invitations, summary.responded) == (10, 6)
    assert summary.satisfaction.average == Decimal("3.79") and summary.satisfaction.rate == Decimal("62.5")
    assert summary.nps.score == Decimal("25.0")
    (course,) = results.course_summaries
    assert course.course.id == session.course_id and course.sessions == 1
    assert course.satisfaction.rate == Decimal("62.5")
    assert result_services.year_results(YEAR - 1).session_summaries == []
    assert result_services.year_results(YEAR, kinds=["cold"]).questionnaires[0].kind == "cold"
    assert len(result_services.year_results(YEAR, kinds=["cold"]).questionnaires) == 1


def test_a_course_merges_the_versions_of_a_questionnaire(surveyed_session, world, make_session):
    """A course's own hot questionnaire, answered in a second session: its question of the same text is merged
    with the default questionnaire's, the other one stays apart; the session page keeps them separate."""
    from trainingmgr.evaluations.questionnaires.services import create_questionnaire, save_answers

    session, _ = surveyed_session
    other = make_session(course=world.dume, start=MONDAY + dt.timedelta(days=14))
    own = create_questionnaire({"kind": "hot", "title": "Votre avis (DUME)", "course": world.dume, "questions": [
        {"kind": "scale", "text": "Appréciation  globale"},  # same text but for the spaces
        {"kind": "scale", "text": "Utilité de l'utilitaire DUME"},
    ]})
    response = Response(questionnaire_id=own.id, session_id=other.id, status="draft")
    db.session.add(response)
    db.session.flush()
    save_answers(response, {f"q{own.questions[0].id}": "5", f"q{own.questions[1].id}": "2"}, submit=True)
    db.session.commit()

    hot = _group(result_services.course_results(world.dume, YEAR), "hot")
    assert hot.responses == 5 and (hot.invitations, hot.responded) == (5, 4)
    by_text = {q.text.split()[0] + " " + q.text.split()[-1]: q for q in hot.questions if q.kind == "scale"}
    overall = by_text["Appréciation globale"]
    assert (overall.answers, overall.average) == (5, Decimal("4.20"))  # 5, 4, 3, 4 and 5
    assert by_text["Utilité DUME"].average == Decimal("2.00")
    assert len(hot.scale_questions) == 7
    year = result_services.year_results(YEAR)
    assert year.satisfaction.answers == 26 and year.satisfaction.rate == Decimal("61.5")  # 16 / 26
    assert len(result_services.session_results(session).questionnaires) == 2  # its hot and cold only
    assert _group(result_services.session_results(other), "hot").title == "Votre avis (DUME)"


def test_a_selection_reads_in_a_fixed_number_of_queries(surveyed_session, count_queries, world, make_session):
    """No query per session, response or answer: more of them cost no more queries."""
    from trainingmgr.evaluations.questionnaires.services import create_questionnaire, save_answers

    def count() -> int:
        db.session.expire_all()
        with count_queries() as counter:
            results = result_services.year_results(YEAR)
            spreadsheets.to_csv(results)
            _ = [(c.session_title, c.session_dates) for c in results.comments]
            _ = [(s.session.title, s.session.dates_label, s.session.course.title) for s in results.session_summaries]
        return counter.count

    before = count()
    assert before <= 13
    client_survey = create_questionnaire({"kind": "client", "title": "Entreprise", "questions": [
        {"kind": "scale", "text": "Qualité"}, {"kind": "text", "text": "Remarques"}]})
    for n in range(3):
        other = make_session(course=world.chorus, start=MONDAY + dt.timedelta(days=7 * (n + 1)))
        response = Response(questionnaire_id=client_survey.id, session_id=other.id, status="draft")
        db.session.add(response)
        db.session.flush()
        save_answers(response, {f"q{client_survey.questions[0].id}": "4",
                                f"q{client_survey.questions[1].id}": f"Remarque {n}"}, submit=True)
    db.session.commit()
    assert len(result_services.year_results(YEAR).session_summaries) == 4
    assert count() == before


# --------------------------------------------------------------------------- exports and charts


def _row(rows, questionnaire_start, question_start):
    (row,) = [r for r in rows if r[0].startswith(questionnaire_start) and r[1].startswith(question_start)]
    return row


def test_csv_export_holds_the_same_numbers(surveyed_session):
    session, _ = surveyed_session
    data = spreadsheets.to_csv(result_services.session_results(session))
    assert data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    header, rows = rows[0], rows[1:]
    assert header == spreadsheets.EXPORT_HEADERS
    column = {name: n for n, name in enumerate(header)}
    organisation = _row(rows, "Satisfaction à chaud", "Organisation")
    assert organisation[column["Moyenne"]] == "3,50"
    assert organisation[column["Taux de réponse (%)"]] == "80,0"
    assert [organisation[column[f"Note {n}"]] for n in range(1, 6)] == ["0", "1", "1", "1", "1"]
    nps = _row(rows, "Satisfaction à chaud", "Recommanderiez-vous")
    assert (nps[column["NPS"]], nps[column["Promoteurs"]], nps[column["Détracteurs"]]) == ("25,0", "2", "1")
    needs = _row(rows, "Évaluation à froid", "Avez-vous de nouveaux besoins")
    assert needs[column["Choix : effectif (%)"]] == "Oui : 1 (50 %) ; Non : 1 (50 %)"
    assert needs[column["Moyenne"]] == ""


def test_xlsx_export_holds_the_same_numbers(surveyed_session):
    from openpyxl import load_workbook

    session, _ = surveyed_session
    book = load_workbook(io.BytesIO(spreadsheets.to_xlsx(result_services.session_results(session))))
    assert book.sheetnames == ["Résultats", "Commentaires", "Acquis"]
    rows = list(book["Résultats"].iter_rows(values_only=True))
    header, rows = list(rows[0]), rows[1:]
    assert header == spreadsheets.EXPORT_HEADERS
    column = {name: n for n, name in enumerate(header)}
    averages = [r[column["Moyenne"]] for r in rows if r[0].startswith("Satisfaction à chaud") and r[2] == "Échelle de 1 à 5"]
    assert averages == [float(a) for a in AVERAGES]
    organisation = _row(rows, "Satisfaction à chaud", "Organisation")
    assert organisation[column["Taux de réponse (%)"]] == 80
    assert [organisation[column[f"Note {n}"]] for n in range(1, 6)] == [0, 1, 1, 1, 1]
    assert _row(rows, "Satisfaction à chaud", "Recommanderiez-vous")[column["NPS"]] == 25
    comments = list(book["Commentaires"].iter_rows(values_only=True))[1:]
    assert sorted(c[5] for c in comments) == ["Je m'en sers chaque semaine.", "Salle trop petite.", "Très bien, merci."]
    assert [c[4] for c in comments if c[5].startswith("Je m'en")] == [None]  # anonymous: no name
    acquis = list(book["Acquis"].iter_rows(values_only=True))[1]
    assert acquis[1:6] == (4, 2, 1, 1, 50)


def test_charts_are_svg_without_script(surveyed_session):
    session, _ = surveyed_session
    hot = _group(result_services.session_results(session), "hot")
    bars = charts.distribution_chart(hot.scale_questions[0])
    averages = charts.averages_chart(hot)
    for svg in (bars, averages):
        assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
        assert "<script" not in svg.lower()
    assert "Réponses" in bars and "Note" in bars
    assert "3,5" in averages and "4,25" in averages  # French decimals
    assert "Organisation" in averages


def test_a_formula_in_a_comment_stays_text():
    assert safe_text("=HYPERLINK(\"x\")") == "'=HYPERLINK(\"x\")"
    assert safe_text("Bien") == "Bien"


# --------------------------------------------------------------------------- pages


def test_pages_render_for_the_advisor(surveyed_session, advisor_client, world):
    session, enrolments = surveyed_session
    body = page(advisor_client.get(f"/evaluations/?year={YEAR}"))
    assert "Enquêtes et évaluations" in body and f'data-session="{session.id}"' in body
    assert f'data-course="{world.dume.id}"' in body
    assert '<div class="fs-4" data-field="satisfaction-rate">62,5 %</div>' in body
    assert "80 % <span" in body and "<svg" in body and "<script" not in body.split("</main>")[0].split("<main")[1]
    body = page(advisor_client.get(f"/evaluations/sessions/{session.id}"))
    assert "3,5" in body and "4,25" in body and "Salle trop petite." in body and "<svg" in body
    assert enrolments[3].trainee.full_name in body  # the hot survey is not anonymous
    assert "Je m'en sers chaque semaine." in body and "anonyme" in body
    assert "Acquis par objectif" in body and "50 %" in body
    body = page(advisor_client.get(f"/evaluations/courses/{world.dume.id}?year={YEAR}"))
    assert "62,5 %" in body and "NPS" in body
    assert advisor_client.get(f"/evaluations/courses/{world.dume.id}").status_code == 200
    assert advisor_client.get(f"/evaluations/sessions/{session.id}?kind=cold").status_code == 200
    assert advisor_client.get("/evaluations/?year=abc").status_code == 400
    assert advisor_client.get("/evaluations/?kind=nope").status_code == 400
    assert advisor_client.get("/evaluations/sessions/999999").status_code == 404
    assert "Enquêtes et évaluations" in page(advisor_client.get("/"))  # the menu


def test_export_routes(surveyed_session, advisor_client, world):
    session, _ = surveyed_session
    for url in (f"/evaluations/sessions/{session.id}/export.csv", f"/evaluations/export.csv?year={YEAR}",
                f"/evaluations/courses/{world.dume.id}/export.csv?year={YEAR}"):
        response = exported(advisor_client, url)
        assert response.status_code == 200 and response.mimetype == "text/csv"
        assert "attachment" in response.headers["Content-Disposition"]
        assert response.data.startswith("\ufeff".encode()) and b"3,50" in response.data
    response = exported(advisor_client, f"/evaluations/sessions/{session.id}/export.xlsx")
    assert response.status_code == 200 and response.data[:2] == b"PK"
    assert advisor_client.post(f"/evaluations/sessions/{session.id}/export.pdf").status_code == 404


def test_pages_are_refused_to_a_trainer(surveyed_session, app, world):
    session, _ = surveyed_session
    trainer = app.test_client()
    login(trainer, "formateur@test.example")
    for url in ("/evaluations/", f"/evaluations/sessions/{session.id}", f"/evaluations/courses/{world.dume.id}"):
        assert trainer.get(url).status_code == 403, url
    for url in (f"/evaluations/sessions/{session.id}/export.csv", f"/evaluations/export.xlsx?year={YEAR}"):
        assert trainer.post(url).status_code == 403, url
    anonymous = app.test_client()
    assert anonymous.get("/evaluations/").status_code == 302


# --------------------------------------------------------------------------- API


@pytest.fixture
def api_tokens(surveyed_session):
    from trainingmgr.accounts.services import create_api_token

    advisor = create_api_token("conseil@test.example", name="tests")[1]
    trainer = create_api_token("formateur@test.example", name="tests")[1]
    db.session.commit()
    return bearer(advisor), bearer(trainer)


def test_api_gives_the_numbers(surveyed_session, client, api_tokens):
    session, _ = surveyed_session
    staff, trainer = api_tokens
    response = client.get(f"{API}/sessions/{session.id}/evaluations", headers=staff)
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["session_id"] == session.id
    assert body["satisfaction"] == {"answers": 24, "satisfied": 15, "rate": "62.5", "average": "3.79"}
    hot = next(q for q in body["questionnaires"] if q["kind"] == "hot")
    assert (hot["invitations"], hot["responded"], hot["response_rate"], hot["responses"]) == (5, 4, "80.0", 4)
    scale = [q for q in hot["questions"] if q["kind"] == "scale"]
    assert [q["average"] for q in scale] == [str(a) for a in AVERAGES]
    assert scale[0]["distribution"] == {str(k): v for k, v in ORGANISATION_DISTRIBUTION.items()}
    assert hot["nps"] == {"promoters": 2, "passives": 1, "detractors": 1, "total": 4, "score": "25.0"}
    cold = next(q for q in body["questionnaires"] if q["kind"] == "cold")
    assert cold["anonymous"] is True and cold["response_rate"] == "40.0"
    yes_no = next(q for q in cold["questions"] if q["kind"] == "yes_no")
    assert yes_no["choices"] == [{"text": "Oui", "count": 1, "percent": "50.0"},
                                 {"text": "Non", "count": 1, "percent": "50.0"}]
    assert body["acquis"][0]["acquired_rate"] == "50.0" and body["acquis"][0]["assessed"] == 4


def test_api_refuses_who_may_not_see(surveyed_session, client, api_tokens):
    session, _ = surveyed_session
    staff, trainer = api_tokens
    url = f"{API}/sessions/{session.id}/evaluations"
    assert_error(client.get(url, headers=trainer), 403, "forbidden")
    assert_error(client.get(url), 401, "unauthorized")
    assert_error(client.get(f"{API}/sessions/999999/evaluations", headers=staff), 404, "not_found")
