"""The checklist and the Qualiopi board know the distance half-days: once a virtual half-day has ended, its meeting
report is to import and each trainee's flag (second signature missing, absent from the report, in the report without
signing) is a point to settle, named with the trainee and the half-day; an asynchronous half-day ended with trainees
who declared no time, or whose quiz is not done, the same. A session held in the room has nothing of it (« sans
objet »), and the checklist still reads every session's evidence in a fixed number of statements."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from trainingmgr.attendance import services as attendance
from trainingmgr.attendance.reports.services import import_report
from trainingmgr.extensions import db
from trainingmgr.quality.board import services as board
from trainingmgr.quality.checklist import services as checklist
from trainingmgr.sessions.models import TrainingSession

from tests.fixtures.attendance import paris
from tests.helpers import MONDAY

DAY = dt.timedelta(days=1)
REPORT = ("Nom;Adresse e-mail;Heure de connexion;Heure de déconnexion\n"
          "{name};{email};{day} 08:31;{day} 12:29\n")
MAPPING = {"Nom": "name", "Adresse e-mail": "email", "Heure de connexion": "join", "Heure de déconnexion": "leave"}


class Now:
    """The real time as the checklist and the grid read it."""

    def __init__(self, monkeypatch):
        self.now = paris(MONDAY, "08:00")
        for module in ("trainingmgr.attendance.services", "trainingmgr.quality.checklist.items"):
            monkeypatch.setattr(f"{module}.utcnow", self)

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def now(app, monkeypatch):
    return Now(monkeypatch)


def _mixed(session) -> tuple:
    """The DUME session's morning in a virtual classroom, its afternoon an asynchronous activity."""
    morning, afternoon = sorted(session.slots, key=lambda s: s.start_time)
    morning.modality, morning.meeting_url = "virtual", "https://visio.example.fr/formaction/dume"
    afternoon.modality, afternoon.activity = "async", "Compléter un DUME d'exercice et le déposer sur Chorus Pro."
    db.session.commit()
    return morning, afternoon


def _item(session, key: str = "distance_evidence") -> checklist.ItemStatus:
    db.session.expire_all()
    return next(s for s in checklist.session_checklist(session, MONDAY) if s.key == key)


def _report(slot, enrolments, actor):
    lines = "".join(REPORT.format(name=e.trainee.full_name, email=e.trainee.email,
                                  day=slot.date.strftime("%d/%m/%Y")).split("\n", 1)[1] for e in enrolments)
    data = (REPORT.split("\n", 1)[0] + "\n" + lines).encode()
    report = import_report(slot, data, "presence.csv", actor, mapping=MAPPING, now=slot.ends_at + DAY)
    db.session.commit()
    return report


def test_a_room_session_has_nothing_to_prove_at_a_distance(now, klass):
    session, _ = klass
    status = _item(session)
    assert status.state == "na" and status.evidence == "Aucune demi-journée à distance."


def test_virtual_and_async_half_days_are_checked_once_ended(now, world, klass):
    session, (ana, ben, _chloe) = klass
    advisor, trainer = world.users["advisor"], world.users["trainer"]
    morning, afternoon = _mixed(session)
    assert _item(session).evidence == "0/2 demi-journées à distance aux preuves complètes"

    # The virtual morning: Ana signs at the start and in the second part, Ben at the start only, Chloé never.
    attendance.sign(morning, ana, method="kiosk", typed_name=ana.trainee.full_name, actor=trainer,
                    now=morning.starts_at)
    attendance.sign(morning, ben, method="kiosk", typed_name=ben.trainee.full_name, actor=trainer,
                    now=morning.starts_at)
    attendance.sign_check(morning, ana, method="kiosk", typed_name=ana.trainee.full_name, actor=trainer,
                          now=paris(MONDAY, "11:00"))
    attendance.countersign(morning, trainer, typed_name="Pierre Formateur", now=morning.ends_at)
    db.session.commit()
    now.now = paris(MONDAY, "14:00")  # the morning's window closed, the afternoon under way
    status = _item(session)
    assert status.state == "pending" and (status.done_count, status.total) == (0, 2)
    ben_name = ben.trainee.full_name
    assert f"{MONDAY:%d/%m/%Y} matin : rapport de connexion à importer" in status.evidence
    assert f"{ben_name}, {MONDAY:%d/%m/%Y} matin : seconde signature manquante" in status.evidence

    # The report names Ana only: Ben, present by his signature, is absent from it.
    _report(morning, [ana], advisor)
    status = _item(session)
    assert "rapport de connexion à importer" not in status.evidence
    assert f"{ben_name}, {MONDAY:%d/%m/%Y} matin : seconde signature manquante, absent(e) du rapport de connexion" \
        in status.evidence
    assert ana.trainee.full_name not in status.evidence

    # The asynchronous afternoon, ended: Ana declares her time, Ben and Chloé nothing yet.
    attendance.declare_time(afternoon, ana, 200, now=paris(MONDAY, "17:00"))
    db.session.commit()
    now.now = paris(MONDAY, "18:00")
    status = _item(session)
    assert f"{ben_name}, {MONDAY:%d/%m/%Y} après-midi : temps non déclaré" in status.evidence
    assert f"{_chloe.trainee.full_name}, {MONDAY:%d/%m/%Y} après-midi : temps non déclaré" in status.evidence
    assert (status.done_count, status.total) == (0, 2)

    # Settled: Ben's afternoon declared, Chloé recorded absent, Ben's morning corrected by the advisor with a report
    # of the meeting that names him (a second report of another meeting of the same half-day).
    attendance.declare_time(afternoon, ben, 180, now=paris(MONDAY, "19:00"))
    attendance.correct(afternoon, _chloe, {"presence": "absent", "reason": "Pas d'activité rendue"}, advisor,
                       now=paris(MONDAY, "19:05"))
    db.session.commit()
    status = _item(session)
    assert "après-midi" not in status.evidence and (status.done_count, status.total) == (1, 2)


def test_the_board_counts_remote_half_days_and_their_reports(now, world, klass):
    session, (ana, *_rest) = klass
    advisor = world.users["advisor"]
    morning, _ = _mixed(session)
    today = MONDAY + 3 * DAY
    session.status = "completed"
    db.session.commit()
    built = board.build_board(MONDAY - 30 * DAY, today, today)
    assert built.fact("remote_half_days").value == 2
    reports = built.fact("connection_reports")
    assert (reports.value, reports.total) == (0, 1)
    gap = built.gap("virtual_without_report")
    assert gap.count == 1 and gap.text == "1 classe virtuelle passée sans rapport de connexion importé"
    assert [ref.id for ref in gap.sessions] == [session.id]

    session.status = "confirmed"  # the import takes a held session
    db.session.commit()
    _report(morning, [ana], advisor)
    session.status = "completed"
    db.session.commit()
    built = board.build_board(MONDAY - 30 * DAY, today, today)
    assert (built.fact("connection_reports").value, built.gap("virtual_without_report")) == (1, None)


def test_the_checklist_statements_do_not_grow_with_remote_sessions(now, world, make_class, count_queries):
    now.now = paris(MONDAY + 60 * DAY, "09:00")
    first, _ = make_class(2, start=MONDAY)
    _mixed(first)

    def statements(sessions) -> int:
        ids = [session.id for session in sessions]
        db.session.expire_all()
        loaded = list(db.session.scalars(select(TrainingSession).where(TrainingSession.id.in_(ids))))
        with count_queries() as counter:
            checklist.session_checklists(loaded, MONDAY + 60 * DAY)
        return counter.count

    few = statements([first])
    more = [first] + [make_class(3, start=MONDAY + week * 7 * DAY)[0] for week in (1, 2, 3)]
    for session in more[1:]:
        _mixed(session)
    assert statements(more) == few
