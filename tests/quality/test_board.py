"""The Qualiopi board (/quality/qualiopi): the 32 indicators, those that do not apply with their reason, the
evidence counted over a period from a fixture whose every figure is known, the gaps as a to-do list, the period
filter and who may see the page. Queries stay constant whatever the number of sessions."""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from sqlalchemy import select

from trainingmgr.attendance import services as attendance
from trainingmgr.catalogue.services import update_course, version_as_form_data
from trainingmgr.core.timeutil import PARIS, UTC
from trainingmgr.enrolments.models import Enrolment
from trainingmgr.enrolments.services import enrol, record_decision
from trainingmgr.evaluations.results.indicators import course_indicators
from trainingmgr.evaluations.models import AcquisAssessment, Answer, Response, SurveyInvitation
from trainingmgr.evaluations.questionnaires.services import create_questionnaire
from trainingmgr.extensions import db
from trainingmgr.files.models import StoredFile
from trainingmgr.quality.board import services as service
from trainingmgr.quality.models import ImprovementAction, QualityRequest
from trainingmgr.resources.models import Trainer
from trainingmgr.sessions.services import change_status
from trainingmgr.trainees.services import save_trainee

from tests.enrolments.support import person
from tests.helpers import MONDAY, page

TODAY = dt.date(2031, 6, 2)  # three months after the fixture's sessions (MONDAY is 3 March 2031)
URL = "/quality/qualiopi"


def utc(day: dt.date, hhmm: str = "10:00") -> dt.datetime:
    hour, minute = map(int, hhmm.split(":"))
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=PARIS).astimezone(UTC)


def run(session, trainer_user, advisor, countersigned: int | None = None) -> None:
    """Hold ``session``: every admitted trainee signs every half-day (typed name), the trainer countersigns the
    first ``countersigned`` half-days (all by default), the session completes."""
    slots = sorted(session.slots, key=lambda s: (s.date, s.start_time))
    change_status(session, "in_progress", advisor, now=slots[0].starts_at.astimezone(UTC) + dt.timedelta(minutes=1))
    enrolments = attendance.expected_enrolments(session)
    for n, slot in enumerate(slots):
        for enrolment in enrolments:
            attendance.sign(slot, enrolment, method="link", typed_name=enrolment.trainee.full_name,
                            now=slot.starts_at.astimezone(UTC) + dt.timedelta(minutes=1), ip="192.0.2.1",
                            user_agent="test")
        if countersigned is None or n < countersigned:
            attendance.countersign(slot, trainer_user, typed_name=session.trainers[0].full_name,
                                   now=slot.ends_at.astimezone(UTC) + dt.timedelta(minutes=1))
    change_status(session, "completed", advisor, now=slots[-1].ends_at.astimezone(UTC) + dt.timedelta(minutes=5))
    db.session.commit()


def trainees(first: int, n: int) -> list:
    return [save_trainee(None, person(first + i)) for i in range(n)]


class Known:
    """What the fixture holds, by name."""


@pytest.fixture
def known(world, make_session, monkeypatch):
    """Two published courses (DUME complete, Chorus Pro without a price: incomplete), two sessions held in the
    period and two that do not count (one cancelled, one before the period), surveys, acquis, a programme,
    complaints (one answered late, one open past its deadline) and improvement actions (one done with its effect,
    two overdue)."""
    from trainingmgr.documents.services import generate

    advisor, trainer_user = world.users["advisor"], world.users["trainer"]
    data = version_as_form_data(world.dume.current_version)
    data["audience"] = "Assistants et comptables de cabinets d'architecture"
    update_course(world.dume, data, advisor)
    db.session.commit()

    k = Known()
    # S1: DUME, three trainees (no prerequisite: no decision); two convoked, one positioning questionnaire sent
    # back; the afternoon sheet is not countersigned; no acquis; a programme generated.
    s1 = make_session(course=world.dume, start=MONDAY)
    change_status(s1, "open", advisor)
    e1 = [enrol(s1, t, actor=advisor, notify=False) for t in trainees(1, 3)]
    change_status(s1, "confirmed", advisor)
    for e in e1[:2]:
        e.convocation_sent_at = utc(MONDAY - dt.timedelta(days=7), "09:00")
    positioning = create_questionnaire({"kind": "positioning", "title": "Positionnement",
                                        "questions": [{"kind": "text", "text": "Vos attentes ?"}]})
    db.session.add(Response(questionnaire_id=positioning.id, enrolment_id=e1[0].id, session_id=s1.id,
                            status="submitted", submitted_at=utc(MONDAY - dt.timedelta(days=5))))
    db.session.commit()
    run(s1, trainer_user, advisor, countersigned=1)
    generate("programme", s1, advisor, pdf=False)
    db.session.commit()

    # S2: Chorus Pro a week later, two trainees admitted after the prerequisite check (one with an adaptation),
    # both convoked, acquis recorded for both.
    s2 = make_session(course=world.chorus, start=MONDAY + dt.timedelta(weeks=1))
    change_status(s2, "open", advisor)
    e2 = [enrol(s2, t, actor=advisor, notify=False) for t in trainees(4, 2)]
    record_decision(e2[0], "admitted", "Prérequis confirmé", advisor)
    record_decision(e2[1], "admitted_with_adaptation", "Supports en gros caractères", advisor)
    change_status(s2, "confirmed", advisor)
    for e in e2:
        e.convocation_sent_at = utc(MONDAY, "09:00")
    db.session.commit()
    run(s2, trainer_user, advisor)
    objectives = s2.course_version.objectives
    for enrolment, objective, level in ((e2[0], objectives[0], "acquired"), (e2[1], objectives[0], "partial"),
                                        (e2[0], objectives[1], "acquired")):
        db.session.add(AcquisAssessment(enrolment_id=enrolment.id, objective_id=objective.id, level=level))

    # S3: cancelled in the period; S4: open, before the period. Neither counts.
    s3 = make_session(course=world.dume, start=MONDAY + dt.timedelta(weeks=2))
    change_status(s3, "open", advisor)
    enrol(s3, save_trainee(None, person(20)), actor=advisor, notify=False)
    change_status(s3, "cancelled", advisor, reason="Trop peu d'inscrits")
    s4 = make_session(course=world.chorus, start=dt.date(2030, 3, 4))
    change_status(s4, "open", advisor)
    old = enrol(s4, save_trainee(None, person(21)), actor=advisor, notify=False)
    old.convocation_sent_at = utc(dt.date(2030, 3, 1))

    # Surveys: hot S1 3 sent / 1 answered (5, 4, 2 out of 5), S2 2 sent / none; cold S2 2 / 1; client S2 1 / 1;
    # trainer's report S1 1 / 1; no funder survey.
    specs = {kind: create_questionnaire({"kind": kind, "title": kind, "questions": [
        {"kind": "scale", "text": "Organisation"}, {"kind": "scale", "text": "Contenu"},
        {"kind": "scale", "text": "Formateur"}, {"kind": "text", "text": "Commentaires", "required": False}]})
        for kind in ("hot", "cold", "client", "trainer_report")}
    answered_at = utc(MONDAY + dt.timedelta(days=1))

    def invite(kind, session, key, enrolment=None, answered=False):
        db.session.add(SurveyInvitation(key=f"{kind}:{session.id}:{key}", kind=kind,
                                        questionnaire_id=specs[kind].id, session_id=session.id,
                                        enrolment_id=enrolment.id if enrolment else None,
                                        recipient_email="x@exemple.fr", sent_at=answered_at,
                                        responded_at=answered_at if answered else None))

    for n, e in enumerate(e1):
        invite("hot", s1, f"enrolment:{e.id}", e, answered=n == 0)
    for e in e2:
        invite("hot", s2, f"enrolment:{e.id}", e)
        invite("cold", s2, f"enrolment:{e.id}", e, answered=e is e2[0])
    invite("client", s2, "company:1", answered=True)
    invite("trainer_report", s1, "trainer:1", answered=True)
    hot = specs["hot"]
    response = Response(questionnaire_id=hot.id, enrolment_id=e1[0].id, session_id=s1.id, status="submitted",
                        submitted_at=answered_at)
    db.session.add(response)
    db.session.flush()
    for question, value in zip(hot.questions, (5, 4, 2, "Très bien")):
        db.session.add(Answer(response_id=response.id, question_id=question.id, value=value))

    # Trainers: Pierre has his CV and competences, Paula neither; a former trainer (inactive) does not count.
    cv = StoredFile(original_name="cv.pdf", content_type="application/pdf", size=10, sha256="0" * 64, kind="cv")
    db.session.add(cv)
    db.session.flush()
    world.pierre.cv_id, world.pierre.competences = cv.id, "Marchés publics, 15 ans d'expérience"
    db.session.add(Trainer(first_name="Ancien", last_name="Formateur", active=False))

    # Requests: R1 answered late, R2 open past its deadline, R3 answered in time, R5 open within its deadlines;
    # R4 (answered late too) was received before the period.
    def request(ref, kind, received, status, answered=None, acknowledged=None):
        r = QualityRequest(reference=ref, kind=kind, status=status, received_at=utc(received),
                           acknowledge_due=received + dt.timedelta(days=2), answer_due=received + dt.timedelta(days=15),
                           acknowledged_at=utc(acknowledged) if acknowledged else None,
                           answered_at=utc(answered) if answered else None, requester_name="Demandeur",
                           description="…")
        db.session.add(r)
        return r

    k.r1 = request("REC-2031-0001", "complaint", dt.date(2031, 3, 12), "answered", answered=dt.date(2031, 4, 2),
                   acknowledged=dt.date(2031, 3, 12))
    k.r2 = request("REC-2031-0002", "complaint", dt.date(2031, 5, 2), "analysing", acknowledged=dt.date(2031, 5, 3))
    request("REC-2031-0003", "suggestion", dt.date(2031, 4, 1), "closed", answered=dt.date(2031, 4, 10),
            acknowledged=dt.date(2031, 4, 1))
    request("REC-2029-0001", "hazard", dt.date(2029, 11, 1), "closed", answered=dt.date(2029, 12, 30),
            acknowledged=dt.date(2029, 11, 1))
    request("REC-2031-0004", "difficulty", dt.date(2031, 6, 1), "received")

    # Actions: A1 done with its effect, A2 overdue, A3 from the watch (on time), A4 done without effect;
    # A5 created before the period, still open and overdue.
    def action(title, source, status, created, due=None, effect=""):
        db.session.add(ImprovementAction(title=title, source=source, status=status, created_at=utc(created),
                                         due_date=due, effect=effect,
                                         done_at=utc(created + dt.timedelta(days=10)) if status == "done" else None))

    action("Répondre sous 5 jours", "complaint", "done", dt.date(2031, 4, 3), effect="Délai moyen ramené à 4 jours")
    action("Revoir le rythme de l'après-midi", "survey", "planned", dt.date(2031, 3, 20), due=dt.date(2031, 5, 15))
    action("Intégrer la réforme de la facturation électronique", "watch", "in_progress", dt.date(2031, 4, 10),
           due=dt.date(2031, 9, 1))
    action("Mettre à jour la procédure d'accueil", "audit", "done", dt.date(2031, 2, 1))
    action("Refaire la signalétique", "other", "planned", dt.date(2029, 12, 1), due=dt.date(2030, 1, 1))
    db.session.commit()

    k.s1, k.s2, k.s3, k.s4, k.e1, k.e2 = s1, s2, s3, s4, e1, e2
    k.world = world
    return k


def build(today: dt.date = TODAY, since: dt.date | None = None, until: dt.date | None = None) -> service.Board:
    db.session.expire_all()
    since, until = service.resolve_period(since, until, today)
    return service.build_board(since, until, today)


def text_of(response) -> str:
    """The page with its white space collapsed, as a browser shows it."""
    return " ".join(page(response).split())


def value(board, key):
    fact = board.fact(key)
    return fact.value if fact.total is None else (fact.value, fact.total)


# --------------------------------------------------------------------------- the référentiel


def test_the_board_lists_7_criteria_and_32_indicators_and_marks_those_that_do_not_apply(app, users):
    board = build()
    assert [c.number for c in board.criteria] == list(range(1, 8))
    assert [i.number for i in board.indicators] == list(range(1, 33))
    not_applicable = [i.number for i in board.indicators if not i.applicable]
    assert not_applicable == [3, 7, 12, 13, 14, 15, 16, 20, 27, 28, 29]
    assert len(board.applicable) == 21
    assert "plus de 2 jours" in board.indicator(12).reason
    assert "certifiantes" in board.indicator(3).reason
    assert "sous-traitance" in board.indicator(27).reason
    for number in not_applicable:
        indicator = board.indicator(number)
        assert indicator.status == "na" and indicator.reason and not indicator.facts and not indicator.gaps
    assert board.indicator(31).criterion == 7 and board.indicator(21).criterion == 5


def test_indicator_12_applies_once_a_published_course_lasts_more_than_2_days(world):
    data = version_as_form_data(world.dume.current_version)
    data["duration_hours"], data["duration_days"] = "21", "3"
    update_course(world.dume, data, world.users["advisor"])
    db.session.commit()
    board = build()
    indicator = board.indicator(12)
    assert indicator.applicable and indicator.status == "gap"
    assert board.gap("long_courses").text.startswith("1 formation publiée de plus de 2 jours")


# --------------------------------------------------------------------------- the evidence, counted


def test_the_counts_match_the_fixture(known):
    board = build()
    assert board.since == dt.date(2030, 6, 2) and board.until == TODAY
    assert board.sessions == 2  # S1 and S2; S3 is cancelled, S4 before the period
    # 1 and 2: sheets, their versions, results
    assert value(board, "courses_published") == 2
    assert value(board, "courses_complete") == (1, 2)
    assert board.fact("sheet:marches-publics-dume-et-chorus-pro").detail.startswith("version 2 du ")
    assert value(board, "courses_with_results") == (0, 2)
    # 4 and 8: positioning
    assert value(board, "positioning_responses") == (1, 5)
    assert value(board, "positioned") == (3, 5)
    assert value(board, "positioning_decisions") == 2
    assert board.fact("positioning_decisions").detail == "admis : 1, admis avec adaptation : 1"
    # 5, 6, 19, 21: what the sheets state
    assert value(board, "courses_with_objectives") == (2, 2)
    assert value(board, "courses_with_programme") == (2, 2)
    assert value(board, "courses_with_resources") == (1, 2)
    assert value(board, "courses_with_profile") == (1, 2)
    # 9: convocations, programme, internal rules
    assert value(board, "convocations_sent") == (4, 5)
    assert value(board, "programme_documents") == (1, 2)
    assert value(board, "internal_rules") is True
    # 10: attendance
    assert value(board, "signatures") == 10  # 3 trainees × 2 half-days + 2 × 2
    assert value(board, "countersigned_slots") == (3, 4)
    assert value(board, "corrections") == 0
    assert value(board, "adaptations") == 1
    # 11: acquis
    assert value(board, "acquis_assessments") == 3
    assert board.fact("acquis_assessments").detail == "acquis : 2, partiellement acquis : 1"
    assert value(board, "sessions_evaluated") == (1, 2)
    # 17, 18: means and staff
    assert (value(board, "rooms"), value(board, "remote_rooms")) == (2, 1)
    assert (value(board, "users_admin"), value(board, "users_advisor"), value(board, "users_trainer")) == (1, 1, 2)
    assert value(board, "quality_contact") is True
    # 21, 22: trainers (the inactive one left out)
    assert value(board, "trainers") == 2
    assert value(board, "trainers_with_cv") == (1, 2)
    assert value(board, "trainers_with_competences") == (1, 2)
    # 23–25: one action from the watch
    assert value(board, "watch_actions_23") == 1
    # 26
    assert value(board, "disability_referent") is True
    # 30: surveys sent / answered
    assert value(board, "survey_hot") == (1, 5)
    assert board.fact("survey_hot").detail == "taux de réponse 20 %"
    assert value(board, "survey_cold") == (1, 2)
    assert value(board, "survey_client") == (1, 1)
    assert value(board, "survey_funder") == (0, 0)
    assert board.fact("survey_funder").detail == "aucune enquête envoyée"
    assert value(board, "survey_trainer_report") == (1, 1)
    # 31: requests received in the period (R4 is older), answered in time or late; open ones today
    assert value(board, "requests_received") == 4
    assert board.fact("requests_received").detail == ("difficulté rencontrée : 1, réclamation : 2, suggestion : 1")
    assert value(board, "requests_in_time") == (1, 2)
    assert value(board, "requests_late") == 1
    assert value(board, "requests_open") == 2
    assert value(board, "requests_overdue") == 1
    assert value(board, "consumer_mediator") is True
    # 32: actions created in the period (A5 is older but still open, so it counts among the open and overdue)
    assert value(board, "actions_created") == 4
    assert board.fact("actions_created").detail == "audit : 1, réclamation : 1, enquête de satisfaction : 1, veille : 1"
    assert value(board, "actions_done_with_effect") == (1, 2)
    assert value(board, "actions_open") == 3
    assert value(board, "actions_overdue") == 2


def test_the_gaps_are_listed_with_their_counts(known):
    board = build()
    gaps = [(g.indicator, g.text) for g in board.gaps]
    assert gaps == [
        (1, "1 fiche formation publiée incomplète"),
        (2, "2 formations publiées sans indicateurs de résultats (il faut 5 réponses à l'enquête à chaud)"),
        (8, "2 stagiaires sans positionnement dans des sessions commencées"),
        (9, "1 stagiaire sans convocation envoyée dans une session commencée"),
        (10, "1 demi-journée passée sans signature du formateur"),
        (11, "1 session terminée sans évaluation des acquis"),
        (19, "1 formation publiée sans moyens pédagogiques décrits"),
        (21, "1 formateur actif sans CV ou sans compétences renseignées"),
        (30, "1 session sans réponse à l'enquête à chaud"),
        (30, "1 session sans résultats d'enquête à froid"),
        (30, "Aucun retour de financeur recueilli sur la période"),
        (31, "1 réclamation traitée en retard"),
        (31, "1 réclamation en attente au-delà de son délai"),
        (32, "2 actions d'amélioration en retard"),
        (32, "1 action réalisée sans effet constaté"),
    ]
    assert [i.text for i in board.gap("incomplete_sheets").items] == ["Chorus Pro : il manque le tarif"]
    assert [s.id for s in board.gap("trainees_without_positioning").sessions] == [known.s1.id]
    assert [s.id for s in board.gap("sessions_without_cold").sessions] == [known.s1.id]
    assert [s.id for s in board.gap("sessions_without_hot").sessions] == [known.s2.id]
    assert [s.id for s in board.gap("sessions_without_acquis").sessions] == [known.s1.id]
    assert [i.text for i in board.gap("trainers_incomplete").items] == ["Paula Formatrice : sans CV ni compétences"]
    assert [i.text for i in board.gap("requests_answered_late").items] == [
        "REC-2031-0001 : réponse le 02/04/2031 pour le 27/03/2031"]
    assert [i.text for i in board.gap("requests_overdue").items] == [
        "REC-2031-0002 (en cours d'analyse) : réponse attendue le 17/05/2031"]
    assert [i.text for i in board.gap("actions_overdue").items] == [
        "Refaire la signalétique : prévue le 01/01/2030", "Revoir le rythme de l'après-midi : prévue le 15/05/2031"]
    statuses = {i.number: i.status for i in board.indicators}
    assert statuses[1] == "gap" and statuses[5] == "ok" and statuses[22] == "ok" and statuses[12] == "na"
    assert statuses[24] == "ok"  # the watch action is evidence; the log itself stays outside the software


def test_deadlines_depend_on_the_day(known):
    """The cold survey is due 60 days after the session (+ the last reminder); the complaint is overdue only
    once its answer deadline has passed; the action only once its due date has."""
    early = build(today=dt.date(2031, 5, 1), since=dt.date(2030, 6, 2), until=dt.date(2031, 6, 2))
    assert early.gap("sessions_without_cold") is None  # 3 March + 67 days = 9 May
    assert early.gap("requests_overdue") is None  # R2 (received 2 May) does not exist yet… nor is late
    assert [i.text for i in early.gap("actions_overdue").items] == ["Refaire la signalétique : prévue le 01/01/2030"]
    on_time = build(today=dt.date(2031, 5, 17), since=dt.date(2030, 6, 2), until=dt.date(2031, 6, 2))
    assert on_time.gap("requests_overdue") is None  # due on 17 May: not late on the day itself
    late = build(today=dt.date(2031, 5, 18), since=dt.date(2030, 6, 2), until=dt.date(2031, 6, 2))
    assert late.gap("requests_overdue").count == 1
    assert late.gap("sessions_without_cold").count == 1


def test_a_course_specific_cold_delay_is_followed(known):
    known.world.dume.cold_survey_days = 120
    db.session.commit()
    assert build().gap("sessions_without_cold") is None  # S1 (DUME) is now due on 1 July + 7 days


def test_the_period_filters_sessions_requests_and_actions(known):
    board = build(since=dt.date(2031, 3, 8), until=dt.date(2031, 3, 31))
    assert board.sessions == 1  # S2 only
    assert value(board, "signatures") == 4
    assert value(board, "convocations_sent") == (2, 2)
    assert value(board, "requests_received") == 1  # R1
    assert value(board, "requests_open") == 2  # open requests count whatever the period
    assert value(board, "actions_created") == 1  # A2 (20 March)
    assert value(board, "actions_overdue") == 2
    assert board.gap("trainees_without_convocation") is None
    empty = build(since=dt.date(2032, 1, 1), until=dt.date(2032, 12, 31), today=dt.date(2033, 1, 1))
    assert empty.sessions == 0 and value(empty, "signatures") == 0 and value(empty, "survey_hot") == (0, 0)
    assert empty.indicator(10).status == "empty"


def test_results_match_what_the_public_sheet_publishes(known, app, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_INDICATORS_MIN_RESPONSES", 1)
    board = build()
    published = course_indicators(known.world.dume)
    assert published.satisfaction_rate == Decimal(67) and published.trainees == 3
    assert value(board, "courses_with_results") == (1, 2)
    detail = board.fact("results:marches-publics-dume-et-chorus-pro").detail
    assert detail == "satisfaction 67 % (1 réponse à chaud), 3 stagiaires formés, taux d'achèvement 100 %"
    assert board.fact("results:chorus-pro").detail == "non publiés : 0 réponse à chaud, 1 nécessaires"
    assert board.gap("courses_without_results").text == (
        "1 formation publiée sans indicateurs de résultats (il faut 1 réponse à l'enquête à chaud)")


def test_an_organisation_not_set_up_shows_its_own_gaps(app, users):
    board = build()
    keys = [g.key for g in board.gaps]
    for key in ("internal_rules", "quality_contact", "disability_referent", "consumer_mediator"):
        assert key in keys
    assert board.gap("disability_referent").text == ("Référent handicap (nom et contact) non renseigné dans les "
                                                     "paramètres de l'organisme")
    assert board.indicator(23).status == "manual"
    assert "à documenter hors logiciel" in board.indicator(23).notes[0]


def test_queries_do_not_grow_with_sessions_trainees_or_requests(known, make_session, count_queries):
    def queries() -> int:
        db.session.expire_all()
        with count_queries() as counter:
            service.build_board(dt.date(2030, 6, 2), TODAY, TODAY)
        return counter.count

    before = queries()
    advisor, world = known.world.users["advisor"], known.world
    for week in (3, 4, 5):
        session = make_session(course=world.dume, start=MONDAY + dt.timedelta(weeks=week))
        change_status(session, "open", advisor)
        for trainee in trainees(30 + week * 5, 3):
            enrolment = enrol(session, trainee, actor=advisor, notify=False)
            enrolment.convocation_sent_at = utc(MONDAY)
        change_status(session, "confirmed", advisor)
        db.session.commit()
        run(session, world.users["trainer"], advisor, countersigned=1)
    for n in range(3):
        db.session.add(QualityRequest(reference=f"REC-2031-01{n:02d}", kind="complaint", status="received",
                                      received_at=utc(dt.date(2031, 5, 1)), acknowledge_due=dt.date(2031, 5, 5),
                                      answer_due=dt.date(2031, 5, 16)))
    db.session.commit()
    after = queries()
    assert after == before, (before, after)
    assert build().sessions == 5


# --------------------------------------------------------------------------- the page


@pytest.fixture
def frozen_today(monkeypatch):
    monkeypatch.setattr("trainingmgr.quality.board.views.paris_today", lambda: TODAY)


def test_the_page_shows_the_board(known, advisor, frozen_today):
    response = advisor.get(URL)
    text = text_of(response)
    assert response.status_code == 200
    assert "Tableau de bord Qualiopi" in text
    assert "Période du 02/06/2030 au 02/06/2031" in text
    assert "21 indicateurs sur 32" in text
    assert "1 session sans résultats d'enquête à froid" in text
    assert "1 réclamation traitée en retard" in text
    assert "Ne s'applique qu'aux formations de plus de 2 jours : nos formations durent une journée." in text
    assert re.search(r'data-indicator="12" data-status="na"', text)
    assert re.search(r'data-indicator="31" data-status="gap"', text)
    # Links to the pages that hold the evidence, the other quality pages included.
    assert f'href="/sessions/{known.s1.id}"' in text
    assert f'href="/sessions/{known.s1.id}/checklist"' in text
    assert 'href="/attendance/missing"' in text
    assert f'href="/courses/{known.world.chorus.id}"' in text
    assert "/admin/organisation" not in text  # an advisor cannot open the organisation's settings
    # The menu leads to the board.
    assert 'href="/quality/qualiopi">Tableau Qualiopi</a>' in text


def test_an_admin_gets_the_settings_links(known, admin, frozen_today):
    text = text_of(admin.get(URL))
    assert 'href="/admin/organisation/"' in text


def test_the_period_in_the_address(known, advisor, frozen_today):
    text = text_of(advisor.get(URL + "?depuis=2031-03-08&jusqu=2031-03-31"))
    assert "Période du 08/03/2031 au 31/03/2031 : 1 session " in text
    assert 'value="2031-03-08"' in text and 'value="2031-03-31"' in text
    # Only one bound: the other follows (12 months, or today).
    assert "Période du 01/01/2031 au 02/06/2031" in text_of(advisor.get(URL + "?depuis=2031-01-01"))
    assert "Période du 31/03/2030 au 31/03/2031" in text_of(advisor.get(URL + "?jusqu=2031-03-31"))


@pytest.mark.parametrize("query, message", [
    ("depuis=2031-13-01", "Date invalide : « 2031-13-01 » (format attendu AAAA-MM-JJ)."),
    ("jusqu=demain", "Date invalide : « demain » (format attendu AAAA-MM-JJ)."),
    ("depuis=20310101", "Date invalide : « 20310101 »"),
    ("depuis=2031-06-01&jusqu=2031-01-01", "La date de début (01/06/2031) est postérieure à la date de fin (01/01/2031)."),
    ("depuis=0001-01-01", "Date hors limites : 01/01/0001"),
    ("jusqu=9999-12-31", "Date hors limites : 31/12/9999"),
])
def test_a_bad_period_is_refused_in_french(known, advisor, frozen_today, query, message):
    response = advisor.get(f"{URL}?{query}")
    assert response.status_code == 400
    assert message in text_of(response)


def test_anonymous_visitors_are_sent_to_the_login(app, client):
    response = client.get(URL)
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_trainers_may_not_see_the_board(users, trainer):
    response = trainer.get(URL)
    assert response.status_code == 403


def test_the_page_queries_stay_constant(known, advisor, frozen_today, make_session, count_queries):
    def queries() -> int:
        db.session.expire_all()
        with count_queries() as counter:
            assert advisor.get(URL).status_code == 200
        return counter.count

    before = queries()
    advisor_user = known.world.users["advisor"]
    for week in (3, 4):
        session = make_session(course=known.world.chorus, start=MONDAY + dt.timedelta(weeks=week))
        change_status(session, "open", advisor_user)
        for trainee in trainees(60 + week * 5, 2):
            enrolment = enrol(session, trainee, actor=advisor_user, notify=False)
            record_decision(enrolment, "admitted", "ok", advisor_user)
        change_status(session, "confirmed", advisor_user)
        db.session.commit()
        run(session, known.world.users["trainer"], advisor_user, countersigned=0)
    assert queries() == before


def test_only_the_sessions_enrolments_are_counted(known):
    """A waitlisted or cancelled enrolment holds no seat: neither positioned nor convoked, it is not a gap."""
    for n, status in enumerate(("cancelled", "waitlisted", "requested")):
        trainee = save_trainee(None, person(50 + n))
        db.session.flush()
        extra = Enrolment(session_id=known.s1.id, trainee_id=trainee.id, status=status)
        db.session.add(extra)
    db.session.commit()
    board = build()
    assert value(board, "convocations_sent") == (4, 5)
    assert value(board, "positioned") == (3, 5)
    assert board.gap("trainees_without_positioning").count == 2
    assert db.session.scalar(select(Enrolment.status).where(Enrolment.id == extra.id)) == "requested"


def test_the_demo_data_fills_the_board(app, client):
    """The demo's past sessions (DUME a week ago, Chorus Pro about ten weeks ago: signed registers, outcomes) show
    as evidence."""
    from trainingmgr.core.timeutil import paris_today
    from trainingmgr.demo.services import load_demo

    load_demo()
    db.session.commit()
    board = build(today=paris_today())
    assert board.sessions == 2  # the two past sessions; the two upcoming ones are after the last 12 months
    assert value(board, "courses_published") == 2
    assert value(board, "signatures") > 0
    countersigned, past = value(board, "countersigned_slots")
    assert past >= 1 and countersigned == past
    assert value(board, "disability_referent") is True and value(board, "trainers") == 2  # Pierre and Claire (independent)
    response = client.post("/login", data={"email": "conseil@formaction.example", "password": "conseil-demo-2026"})
    assert response.status_code == 302
    assert client.get(URL).status_code == 200
