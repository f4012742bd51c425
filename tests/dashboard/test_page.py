"""The dashboard's figure cards: staff only, each a link to a list that shows the same count; the prerequisite
decisions to-do; SQL statements that do not grow with the history; the lists' new filters refuse bad input."""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest

from trainingmgr.core.timeutil import paris_today
from trainingmgr.enrolments import services as enrolment_services
from trainingmgr.enrolments.models import FundingLine
from trainingmgr.extensions import db

from tests.catalogue.pagetools import page_of
from tests.dashboard.support import add_history, answer, payment, piece, seats, survey
from tests.enrolments.support import person
from tests.helpers import page

DAY = dt.timedelta(days=1)


def cards(client) -> dict:
    """{figure name: its card} of the dashboard."""
    found = page_of(client.get("/")).find_all(data_figure=True)
    return {card.attrs["data-figure"]: card for card in found}


def link(card, field: str = "value") -> str:
    return card.find(data_field=field).attrs["href"]


def decimal(text: str) -> Decimal:
    """« 1 234,56 € », « 30 % », « 4,25 / 5 » → Decimal."""
    number = re.search(r"-?[\d\s\u202f\u00a0]+(,\d+)?", text).group(0)
    return Decimal(re.sub(r"[\s\u202f\u00a0]", "", number).replace(",", "."))


@pytest.fixture
def busy(world, open_session, make_session):
    """Today's world: a session in 10 days under its minimum, one in 40 days, one ended last month with hot and
    cold answers, invoices this year and last (one credited, one overdue), a funding file awaiting its decision."""
    today = paris_today()
    soon = open_session(course=world.dume, start=today + 10 * DAY, min_trainees=4, capacity=8)
    later = open_session(course=world.dume, start=today + 40 * DAY, capacity=6)
    ended = make_session(course=world.dume, start=today - 30 * DAY)
    ended.status = "completed"
    one, _ = seats(soon, "confirmed", "confirmed")
    seats(later, "confirmed", "waitlisted")
    done = seats(ended, "completed", "completed", "abandoned", "cancelled")
    hot, _ = survey("hot")
    cold, _ = survey("cold")
    answer(hot, done[0], [5, 4, True])
    answer(hot, done[1], [3, 3, True])
    answer(cold, done[0], [4, 5, None])
    db.session.add(FundingLine(enrolment_id=one.id, kind="opco", amount=Decimal("900.00"), opco_status="requested",
                               requested_amount=Decimal("750.00")))
    this_year, last_year = dt.date(today.year, 1, 1), dt.date(today.year - 1, 6, 30)
    first = piece("invoice", this_year, "1000.00", due=this_year + 30 * DAY)
    piece("credit_note", this_year, "200.00", credited=first)
    payment(first, this_year + 5 * DAY, "960.00")
    late = piece("invoice", last_year, "400.00", due=last_year + 30 * DAY)
    payment(late, last_year + 40 * DAY, "100.00")
    db.session.commit()
    return today


def test_the_advisor_sees_the_figures_and_the_trainer_does_not(advisor, trainer, busy):
    found = cards(advisor)
    assert set(found) == {"seats", f"revenue-{busy.year}", f"revenue-{busy.year - 1}", "satisfaction", "completion",
                          "at-risk", "funding", "overdue"}
    text = page(advisor.get("/"))
    assert "800,00\u00a0€" in text or "800,00 €" in text  # 1 000 − 200 HT, French money
    assert "4,5 / 5" in text and "3,75 / 5" in text
    assert page_of(advisor.get("/")).find(data_field="figures-caption") is not None
    assert cards(trainer) == {}
    assert "Chiffre d'affaires" not in page(trainer.get("/"))


def test_each_figure_links_to_a_list_showing_the_same_rows(advisor, busy):
    found = cards(advisor)
    seats_card = found["seats"]
    summary = page_of(advisor.get(link(seats_card))).find(data_field="seat-summary")
    assert (summary.attrs["data-taken"], summary.attrs["data-capacity"]) == ("3", "14")
    assert decimal(seats_card.find(data_field="value").text) == Decimal("21.4")

    completion = found["completion"]
    summary = page_of(advisor.get(link(completion))).find(data_field="seat-summary")
    assert (summary.attrs["data-completed"], summary.attrs["data-taken"]) == ("2", "3")
    assert decimal(completion.find(data_field="value").text) == Decimal("66.7")
    assert "66,7 %" in summary.text

    risk = found["at-risk"]
    listed = page_of(advisor.get(link(risk, "count"))).find_all("tr", data_session=True)
    assert risk.find(data_field="count").text.strip() == "1" and len(listed) == 1

    this_year = found[f"revenue-{busy.year}"]
    totals = page_of(advisor.get(link(this_year, "invoiced"))).find(data_field="issued-totals")
    assert Decimal(totals.attrs["data-net"]) == decimal(this_year.find(data_field="invoiced").text) == \
        Decimal("800.00")
    journal = page(advisor.get(link(this_year, "paid")))
    assert "débit 960,00" in journal
    assert decimal(this_year.find(data_field="paid").text) == Decimal("960.00")

    sat = found["satisfaction"]
    results = page_of(advisor.get(link(sat, "hot")))
    assert results.find(data_field="satisfaction-average").text.strip() == \
        sat.find(data_field="hot").text.strip() == "3,75 / 5"
    assert "4,5 / 5" in results.find(data_field="cold-average").text

    funding = found["funding"]
    board = page_of(advisor.get(link(funding, "count"))).find(data_field="board-total")
    assert (board.attrs["data-count"], Decimal(board.attrs["data-amount"])) == ("1", Decimal("750.00"))
    assert decimal(funding.find(data_field="amount").text) == Decimal("750.00")

    overdue = found["overdue"]
    rows = page(advisor.get(link(overdue, "count")))
    assert "1 facture</strong>, 380,00" in rows  # 480 TTC − 100 paid
    assert decimal(overdue.find(data_field="amount").text) == Decimal("380.00")


def test_pending_prerequisite_decisions_are_a_to_do(advisor, world, chorus_session):
    from trainingmgr.trainees.services import find_or_create_trainee

    assert page_of(advisor.get("/")).find(data_field="prerequisite-decisions") is None
    made = [enrolment_services.enrol(chorus_session, find_or_create_trainee(person(n))) for n in (1, 2)]
    db.session.commit()
    assert {e.status for e in made} == {"pending_prerequisite"}
    alert = page_of(advisor.get("/")).find(data_field="prerequisite-decisions")
    assert alert.text.strip().startswith("2 inscriptions en attente de votre décision sur les prérequis.")
    listing = page_of(advisor.get(alert.find("a").attrs["href"]))
    rows = listing.find_all("tr", data_enrolment=True)
    assert [r.attrs["data-enrolment"] for r in rows] == [str(e.id) for e in made]
    decide = [a for a in rows[0].find_all("a") if a.text == "Décider"]
    assert decide[0].attrs["href"] == f"/enrolments/{made[0].id}#decision"
    enrolment_services.record_decision(made[0], "admitted", "", world.users["advisor"])
    db.session.commit()
    assert page(advisor.get("/")).count("1 inscription en attente de votre décision") == 1


@pytest.mark.parametrize("url", ["/sessions/?on=middle", "/sessions/?status=actif", "/funding?status=agreed",
                                 "/evaluations/?du=2031-13-01&au=2031-12-31", "/evaluations/?du=2031-01-01",
                                 "/evaluations/?du=2031-02-01&au=2031-01-01"])
def test_the_lists_refuse_bad_filters(advisor, url):
    response = advisor.get(url)
    assert response.status_code == 400


def test_the_dashboard_statements_do_not_grow_with_history(app, client, count_queries):
    from trainingmgr.demo.services import load_demo

    today = paris_today()
    load_demo(today=today)
    db.session.commit()
    add_history(today, 8, offset=1)
    response = client.post("/login", data={"email": "conseil@formaction.example", "password": "conseil-demo-2026"})
    assert response.status_code == 302

    def statements() -> int:
        db.session.expire_all()
        client.get("/")  # warm: the same caches as the second call
        with count_queries() as counter:
            assert client.get("/").status_code == 200
        return counter.count

    before, figures_before = statements(), cards(client)
    add_history(today, 150, offset=2)
    after, figures_after = statements(), cards(client)
    assert after == before, (before, after)
    assert figures_after["completion"].text != figures_before["completion"].text  # the history was counted
