"""The company page lists what the company did with the organisation (portals/company/activity.py): its trainees with
their last session, its sessions to come and past with the number of its employees, its invoices; in a number of
SQL statements that does not grow with the company's history."""
from __future__ import annotations

import datetime as dt
import re

import pytest

from trainingmgr.portals.company.activity import company_activity
from trainingmgr.companies.services import save_company
from trainingmgr.core.timeutil import paris_today
from trainingmgr.enrolments.services import cancel, enrol
from trainingmgr.extensions import db
from trainingmgr.sessions.services import change_status
from trainingmgr.trainees.services import save_trainee

from tests.enrolments.support import OTHER_SIRET, person
from tests.helpers import page


def rows(html: str, kind: str) -> list[int]:
    return [int(n) for n in re.findall(rf'data-{kind}="(\d+)"', html)]


def section(html: str, anchor: str) -> str:
    start = html.index(f'id="{anchor}"')
    end = html.find("<section", start)
    return html[start:end if end != -1 else None]


@pytest.fixture
def employ(world):
    """``employ(n, session=None, company=None)``: trainee ``n`` of the company (world.company by default), enrolled
    in ``session`` by the company when given."""
    advisor = world.users["advisor"]

    def factory(n: int, session=None, company=None):
        company = company or world.company
        trainee = save_trainee(None, person(n, company_id=company.id))
        db.session.flush()
        enrolment = enrol(session, trainee, company=company, actor=advisor, notify=False) if session else None
        db.session.commit()
        return trainee, enrolment

    return factory


@pytest.fixture
def past_session(world, make_session):
    """A DUME session held three weeks ago (a Monday), still open: past by its dates."""
    today = paris_today()
    start = today - dt.timedelta(days=today.weekday() + 21)
    session = make_session(course=world.dume, start=start)
    change_status(session, "open", world.users["advisor"])
    db.session.commit()
    return session


def test_the_page_lists_trainees_with_their_last_session(advisor, world, employ, dume_session, past_session):
    alice, _ = employ(1, past_session)
    enrol(dume_session, alice, company=world.company, actor=world.users["advisor"], notify=False)  # again, to come
    db.session.commit()
    bob, _ = employ(2)  # never trained
    other = save_company(None, {"name": "Autre cabinet", "siret": OTHER_SIRET})
    db.session.commit()
    stranger, _ = employ(3, dume_session, company=other)
    html = page(advisor.get(f"/companies/{world.company.id}"))
    trainees = section(html, "company-trainees")
    assert rows(trainees, "trainee") == [alice.id, bob.id]  # by name; another company's trainee is not there
    assert f"/trainees/{alice.id}" in trainees and f"/sessions/{dume_session.id}" in trainees
    assert f"/sessions/{past_session.id}" not in trainees  # the last session is the one to come
    assert "Aucune" in trainees  # Bob's


def test_the_page_lists_sessions_to_come_and_past_with_its_employees(advisor, world, employ, dume_session,
                                                                     past_session):
    employ(1, dume_session)
    _, cancelled = employ(2, dume_session)
    employ(3, dume_session)
    employ(4, past_session)
    cancel(cancelled, world.users["advisor"], "Empêchée", notify=False)
    db.session.commit()
    html = page(advisor.get(f"/companies/{world.company.id}"))
    upcoming, past = section(html, "company-upcoming"), section(html, "company-past")
    assert rows(upcoming, "session") == [dume_session.id] and rows(past, "session") == [past_session.id]
    assert re.search(r'data-session="%d">.*?<td class="text-end">2</td>.*?Inscriptions ouvertes' % dume_session.id, upcoming,
                     re.S)  # the cancelled enrolment does not count
    assert dume_session.dates_label in upcoming and "Marchés publics" in upcoming


def test_a_company_without_history_says_so(advisor, world):
    html = page(advisor.get(f"/companies/{world.company.id}"))
    assert "Aucun stagiaire rattaché à cette entreprise." in html
    assert "Aucune facture émise." in html and "/billing/" in html


def test_activity_orders_sessions_and_counts_only_seat_holders(world, employ, open_session, past_session):
    later = open_session(course=world.dume, start=paris_today() + dt.timedelta(days=70))
    sooner = open_session(course=world.dume, start=paris_today() + dt.timedelta(days=35))
    employ(1, later)
    employ(2, sooner)
    employ(3, sooner)
    employ(4, past_session)
    _, cancelled = employ(5, later)
    cancel(cancelled, world.users["advisor"], "Empêchée", notify=False)
    activity = company_activity(world.company)
    assert [(row.session.id, row.employees) for row in activity.upcoming] == [(sooner.id, 2), (later.id, 1)]
    assert [(row.session.id, row.employees) for row in activity.past] == [(past_session.id, 1)]


def test_trainers_cannot_open_the_company_page(trainer, world):
    assert trainer.get(f"/companies/{world.company.id}").status_code == 403


def test_the_page_takes_a_fixed_number_of_statements(advisor, world, employ, open_session, past_session,
                                                     count_queries):
    """With 1 trainee or 20 (in three sessions, one past), the page runs the same number of SQL statements."""
    sessions = [open_session(course=world.dume, start=paris_today() + dt.timedelta(days=35)),
                open_session(course=world.chorus, start=paris_today() + dt.timedelta(days=63)), past_session]

    def statements(expected: int) -> int:
        db.session.expire_all()
        with count_queries() as counter:
            response = advisor.get(f"/companies/{world.company.id}")
        assert response.status_code == 200
        assert len(rows(section(page(response), "company-trainees"), "trainee")) == expected
        return counter.count

    employ(1, sessions[0])
    advisor.get(f"/companies/{world.company.id}")  # the login's first request aside
    one = statements(1)
    for n in range(2, 21):
        employ(n, sessions[n % 3])
    assert statements(20) == one
