"""Distance half-days (issue 27), the trainee's side and the grid: the e-mailed code before each signature of a
virtual half-day by personal link, its second signature, the time declared on an asynchronous activity and its
quiz, the cells' flags and minutes, the hours per modality, the grid page."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from trainingmgr.attendance import services
from trainingmgr.attendance.models import AttendanceRecord, AttendanceReport
from trainingmgr.evaluations.questionnaires.services import create_questionnaire
from trainingmgr.extensions import db
from trainingmgr.files.models import StoredFile

from tests.attendance.support import code_from_mail, link, sign_by_link, slots
from tests.helpers import MONDAY, page


def kinds(session) -> list[tuple[str, int | None]]:
    db.session.expire_all()
    return [(r.kind, r.enrolment_id) for r in db.session.scalars(
        select(AttendanceRecord).where(AttendanceRecord.session_id == session.id).order_by(AttendanceRecord.seq))]


@pytest.fixture
def mixed(klass):
    """The class's Monday: a virtual morning (08:30–12:30), an asynchronous afternoon (13:30–17:30)."""
    session, enrolments = klass
    morning, afternoon = slots(session)[:2]
    morning.modality, afternoon.modality = "virtual", "async"
    morning.meeting_url = "https://visio.example/salle-dume"
    afternoon.activity = "Lire le chapitre 3 et faire l'exercice."
    db.session.commit()
    return session, enrolments, morning, afternoon


# --------------------------------------------------------------------------- a virtual half-day by personal link


def test_a_virtual_half_day_by_link_asks_for_the_emailed_code_first(client, mixed, clock):
    session, (julie, *_), morning, _ = mixed
    url = link(julie, morning)
    text = page(client.get(url))
    assert "Recevoir mon code par e-mail" in text and 'id="sign-form"' not in text
    assert "Rejoindre la classe virtuelle" in text and "à partir de 10:30" in text
    # Signing without the code: refused, nothing recorded.
    assert client.post(url, data={"typed_name": julie.trainee.full_name}).status_code == 403
    assert client.post(f"{url}/code").status_code == 302
    assert "Saisissez-le pour signer" in page(client.get(url))
    code = code_from_mail(julie)
    wrong = f"{(int(code) + 1) % 1000000:06d}"
    response = client.post(f"{url}/verifier", data={"code": wrong})
    assert response.status_code == 422 and "Code erroné" in page(response)
    assert client.post(url, data={"typed_name": julie.trainee.full_name}).status_code == 403
    assert client.post(f"{url}/verifier", data={"code": code}).status_code == 302
    assert 'id="sign-form"' in page(client.get(url))
    assert client.post(url, data={"typed_name": julie.trainee.full_name}).status_code == 302
    assert kinds(session) == [("signature", julie.id)]
    # The code served once: the second part needs its own.
    assert "Seconde signature : revenez avec le même lien à partir de 10:30" in page(client.get(url))


def test_the_second_part_by_link_needs_a_new_code(client, mixed, clock):
    session, (julie, *_), morning, _ = mixed
    assert sign_by_link(client, julie, morning).status_code == 302
    clock.at("10:45")
    url = link(julie, morning)
    assert client.post(url, data={"typed_name": julie.trainee.full_name}).status_code == 403
    assert 'data-part="chk"' in page(client.get(url))
    assert sign_by_link(client, julie, morning).status_code == 302
    assert kinds(session) == [("signature", julie.id), ("check", julie.id)]
    assert "Vous avez signé la seconde partie" in page(client.get(url))
    # Both made: no more code to ask for.
    assert client.post(f"{url}/code").status_code == 409


def test_the_second_signature_rules(app, mixed, clock):
    session, (julie, marc, _), morning, _ = mixed
    services.sign(morning, julie, method="link", typed_name=julie.trainee.full_name)
    clock.at("10:29")  # before the midpoint (10:30)
    with pytest.raises(services.SigningNotOpen) as refused:
        services.sign_check(morning, julie, method="link", typed_name=julie.trainee.full_name)
    assert refused.value.status_code == 409 and "ouvre à 10:30" in refused.value.message
    clock.at("10:30")
    with pytest.raises(services.ConflictError) as refused:  # no first signature
        services.sign_check(morning, marc, method="link", typed_name=marc.trainee.full_name)
    assert "Signez d'abord le début" in refused.value.message
    record = services.sign_check(morning, julie, method="link", typed_name=julie.trainee.full_name)
    assert (record.kind, record.unique_key) == ("check", f"chk:{morning.id}:{julie.id}")
    with pytest.raises(services.AlreadySigned) as refused:  # replayed
        services.sign_check(morning, julie, method="link", typed_name=julie.trainee.full_name)
    assert refused.value.status_code == 409 and "déjà signé la seconde partie" in refused.value.message
    with pytest.raises(services.ValidationError):  # the signature itself is checked as the first one
        services.sign_check(morning, julie, method="link", typed_name="Quelqu'un d'autre")
    clock.at("13:31")  # the window closed
    services.sign(slots(session)[0], marc, method="kiosk", typed_name=marc.trainee.full_name,
                  now=clock.at("09:00"))
    clock.at("13:31")
    with pytest.raises(services.SigningClosed):
        services.sign_check(morning, marc, method="link", typed_name=marc.trainee.full_name)
    db.session.commit()


def test_a_room_half_day_keeps_its_flow(client, klass, clock):
    session, (julie, *_) = klass
    morning = slots(session)[0]
    text = page(client.get(link(julie, morning)))
    assert 'id="sign-form"' in text and "Recevoir mon code" not in text
    assert client.post(link(julie, morning), data={"typed_name": julie.trainee.full_name}).status_code == 302
    assert kinds(session) == [("signature", julie.id)]
    assert client.post(f"{link(julie, morning)}/code").status_code == 409  # no code for a room
    with pytest.raises(services.ConflictError):
        services.sign_check(morning, julie, method="link", typed_name=julie.trainee.full_name,
                            now=clock.at("11:00"))


# --------------------------------------------------------------------------- an asynchronous half-day


def test_the_declared_time_bounds_and_window(app, mixed, clock):
    session, (julie, marc, lea), _, afternoon = mixed
    with pytest.raises(services.SigningNotOpen):  # before its start
        services.declare_time(afternoon, julie, 60, now=clock.at("13:29"))
    clock.at("14:00")
    for minutes in (0, 481, -5, "60", True):  # 1 minute to twice the span (4 h)
        with pytest.raises(services.ValidationError) as refused:
            services.declare_time(afternoon, julie, minutes)
        assert refused.value.status_code == 422 and "entre 1 minute et 8 h" in refused.value.message
    record = services.declare_time(afternoon, julie, 480)
    assert (record.kind, record.method, record.minutes) == ("declaration", "link", 480)
    assert record.unique_key == f"decl:{afternoon.id}:{julie.id}"
    with pytest.raises(services.AlreadySigned) as refused:
        services.declare_time(afternoon, julie, 30)
    assert refused.value.status_code == 409
    last = clock.at("17:30", MONDAY + dt.timedelta(days=7))
    services.declare_time(afternoon, marc, 45)  # 7 days after its end: still open
    clock.now = last + dt.timedelta(minutes=1)
    with pytest.raises(services.SigningClosed) as refused:
        services.declare_time(afternoon, lea, 45)
    assert refused.value.status_code == 410
    with pytest.raises(services.ConflictError):  # a room or virtual half-day has nothing to declare
        services.declare_time(slots(session)[0], lea, 45, now=clock.at("09:00"))
    db.session.commit()
    assert services.parse_duration("1", "30") == 90 and services.parse_duration("", "45") == 45
    for hours, minutes in (("x", ""), ("1", "60"), ("-1", "")):
        with pytest.raises(services.ValidationError):
            services.parse_duration(hours, minutes)


def test_the_activity_page_declares_the_time_and_offers_the_quiz(client, mixed, clock, world):
    session, (julie, *_), _, afternoon = mixed
    quiz = create_questionnaire({"kind": "acquis", "title": "Quiz du chapitre 3", "course": world.dume,
                                 "active": False, "questions": [{"kind": "yes_no", "text": "Avez-vous lu ?"}]})
    afternoon.quiz_id = quiz.id
    db.session.commit()
    url = link(julie, afternoon)
    clock.at("12:00")
    text = page(client.get(url))
    assert "Lire le chapitre 3" in text and "à partir du" in text and 'data-form="declaration"' not in text
    clock.at("15:00")
    text = page(client.get(url))
    assert 'data-form="declaration"' in text and "Quiz du chapitre 3" in text and f"{url}/quiz" in text
    assert client.post(url, data={"typed_name": julie.trainee.full_name}).status_code == 409  # no signature
    response = client.post(f"{url}/temps", data={"hours": "9", "minutes": "0"})
    assert response.status_code == 422 and "entre 1 minute et 8 h" in page(response)
    response = client.post(f"{url}/temps", data={"hours": "1", "minutes": "75"})
    assert response.status_code == 422 and "entre 0 et 59" in page(response)
    assert client.post(f"{url}/temps", data={"hours": "1", "minutes": "30"}).status_code == 302
    assert "Vous avez déclaré 1 h 30" in page(client.get(url))
    question = quiz.questions[0]
    assert client.post(f"{url}/quiz", data={f"q{question.id}": "yes", "action": "submit"}).status_code == 302
    assert "Merci ! Vos réponses ont été envoyées" in page(client.get(f"{url}/quiz"))
    assert "Quiz fait" in page(client.get(url))
    cell = services.session_grid(session).cell(julie.id, afternoon.id)
    assert (cell.status, cell.minutes, cell.declared_minutes, cell.quiz_done, cell.quiz_missing) == (
        "signed", 90, 90, True, False)
    # A room half-day has no quiz page.
    assert client.get(f"{link(julie, slots(session)[0])}/quiz").status_code == 404


def test_the_personal_page_names_each_half_days_modality(client, mixed, clock):
    from trainingmgr.enrolments.links import trainee_token

    _, (julie, *_), morning, afternoon = mixed
    clock.at("15:00")
    body = page(client.get(f"/t/{trainee_token(julie)}"))
    assert "(classe virtuelle)" in body and "(activité asynchrone)" in body
    activity = body.split(f'data-slot="{afternoon.id}"', 1)[1].split("</li>", 1)[0]
    assert "/emargement/" in activity and "Ouvrir l'activité</a>" in activity


# --------------------------------------------------------------------------- the grid


def _report(session, slot, connections: dict, now):
    """What the report import (helper C's attendance/reports/) leaves: the report and one connection record per
    trainee matched."""
    stored = StoredFile(original_name="rapport.csv", content_type="text/csv", size=10, sha256="a" * 64,
                        kind="attendance_report")
    db.session.add(stored)
    db.session.flush()
    report = AttendanceReport(session_id=session.id, slot_id=slot.id, file_id=stored.id, sha256="a" * 64,
                              source="teams", rows_count=len(connections))
    db.session.add(report)
    db.session.flush()
    for enrolment, minutes in connections.items():
        services._append(slot, "connection", unique_key=f"conn:{report.id}:{enrolment.id}", now=now,
                         enrolment_id=enrolment.id, method="report", minutes=minutes, file_sha256="a" * 64)
    return report


def test_the_cells_flags_and_minutes(app, mixed, clock, world, count_queries):
    session, (julie, marc, lea), morning, afternoon = mixed
    quiz = create_questionnaire({"kind": "acquis", "title": "Quiz", "course": world.dume, "active": False,
                                 "questions": [{"kind": "yes_no", "text": "Lu ?"}]})
    afternoon.quiz_id = quiz.id
    for enrolment in (julie, marc):
        services.sign(morning, enrolment, method="link", typed_name=enrolment.trainee.full_name,
                      now=clock.at("08:40"))
    services.sign_check(morning, julie, method="link", typed_name=julie.trainee.full_name, now=clock.at("11:00"))
    clock.at("14:00")
    services.declare_time(afternoon, julie, 90)
    services.declare_time(afternoon, marc, 300)  # more than the span: counted 4 h
    services.answer_quiz(afternoon, julie, {f"q{quiz.questions[0].id}": "yes"}, submit=True)
    _report(session, morning, {julie: 235, lea: 50}, clock.now)
    db.session.commit()
    with count_queries() as counter:
        grid = services.session_grid(session, now=clock.at("18:00"))
    # The session and its slots (expired by the commit), enrolments and trainees, records, planned absences, and
    # one query per kind of distance evidence: reports, quizzes.
    assert counter.count == 8
    cells = {(e.id, c.slot.id): c for e, c in grid.column(morning.id) + grid.column(afternoon.id)}
    j, m, lv = (cells[(e.id, morning.id)] for e in (julie, marc, lea))
    assert (j.status, j.minutes, j.check is not None, j.second_part_missing) == ("signed", 240, True, False)
    assert (j.connection_minutes, j.not_in_report, j.in_report_unsigned) == (235, False, False)
    assert (m.second_part_missing, m.minutes, m.connection_minutes, m.not_in_report) == (True, 240, 0, True)
    assert (lv.status, lv.connection_minutes, lv.in_report_unsigned) == ("missing", 50, True)
    ja, ma, la = (cells[(e.id, afternoon.id)] for e in (julie, marc, lea))
    assert (ja.status, ja.minutes, ja.declared_minutes, ja.quiz_done, ja.quiz_missing) == ("signed", 90, 90, True,
                                                                                            False)
    assert (ma.status, ma.minutes, ma.declared_minutes, ma.quiz_done, ma.quiz_missing) == ("signed", 240, 300,
                                                                                            False, True)
    assert (la.status, la.quiz_done, la.quiz_missing) == ("pending", False, False)  # 7 days to declare
    assert [code for code, _, _ in m.remote_notes] == ["second_part_missing", "not_in_report"]
    assert [text for _, text, _ in ja.remote_notes] == ["1 h 30 déclarées"]
    # Hours per modality on a row.
    assert grid.row(julie.id).minutes_by_modality == {"virtual": 240, "async": 90}
    assert [line["text"] for line in grid.row(julie.id).modality_lines] == ["4 h en classe virtuelle",
                                                                             "1,5 h en activité asynchrone"]
    # Before the window closes, the missing second signature is not flagged yet.
    assert not services.session_grid(session, now=clock.at("12:00")).cell(marc.id, morning.id).second_part_missing
    # 8 days later, an undeclared activity reads as missing.
    late = clock.at("18:00", MONDAY + dt.timedelta(days=8))
    assert services.session_grid(session, now=late).cell(lea.id, afternoon.id).status == "missing"


def test_a_room_session_costs_no_more_statements(app, klass, clock, count_queries):
    session, _ = klass
    db.session.expire_all()
    session = db.session.get(type(session), session.id)
    _ = session.slots
    with count_queries() as counter:
        services.build_grid(session, services.expected_enrolments(session), services.session_records(session.id))
    assert counter.count == 3  # enrolments, their trainees, records: no query for distance evidence


def test_the_grid_page_shows_modalities_flags_and_hours(app, mixed, clock, advisor):
    session, (julie, marc, _), morning, afternoon = mixed
    for enrolment in (julie, marc):
        services.sign(morning, enrolment, method="link", typed_name=enrolment.trainee.full_name,
                      now=clock.at("08:40"))
    services.sign_check(morning, julie, method="link", typed_name=julie.trainee.full_name, now=clock.at("11:00"))
    services.declare_time(afternoon, julie, 90, now=clock.at("14:00"))
    _report(session, morning, {julie: 235}, clock.now)
    db.session.commit()
    clock.at("18:00")
    text = page(advisor.get(f"/sessions/{session.id}"))
    assert 'data-modality="virtual"' in text and "Classe virtuelle" in text and "Activité asynchrone" in text
    assert "1 h 30 déclarées" in text and "seconde signature manquante" in text
    assert "absent(e) du rapport de connexion" in text
    assert "4 h en classe virtuelle" in text and "1,5 h en activité asynchrone" in text
    # The trainee's page offers the activity's link while its time may be declared.
    from trainingmgr.attendance.portal import attendance_for_trainee

    items = {item["slot"].id: item for item in attendance_for_trainee(marc)}
    assert items[afternoon.id]["url"] and items[morning.id]["url"] is None
