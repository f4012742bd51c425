"""Simultaneous acceptances, on SQLite and PostgreSQL: two quotes that both want the last seats never overfill the
session (one gets the seats, the other's trainees wait), and the same quote accepted twice at once is accepted
once (the other call: 409)."""
from __future__ import annotations

import threading

from sqlalchemy import func, select

from tests.enrolments.support import person
from tests.fixtures.quotes import build_quote, people, signed
from trainingmgr.accounts.models import User
from trainingmgr.core.errors import ConflictError
from trainingmgr.enrolments.models import Enrolment
from trainingmgr.extensions import db
from trainingmgr.quotes.acceptance import accept_quote
from trainingmgr.quotes.models import Quote
from trainingmgr.sessions.services import seats_taken
from trainingmgr.trainees.services import save_trainee


def _accept_in_threads(app, quote_ids: list[int], advisor_id: int) -> list:
    """Accept each quote from its own thread (own application context and connection), all released together by a
    barrier. The (seated e-mails, waitlisted e-mails) or the exception of each, in the order of ``quote_ids``."""
    barrier = threading.Barrier(len(quote_ids))
    results: list = [None] * len(quote_ids)

    def worker(index: int, quote_id: int) -> None:
        with app.app_context():
            try:
                actor = db.session.get(User, advisor_id)
                quote = db.session.get(Quote, quote_id)
                db.session.commit()  # end the reads' transaction: each acceptance starts afresh after the barrier
                barrier.wait(timeout=60)
                result = accept_quote(quote, actor, signed_file=signed())
                db.session.commit()
                results[index] = ([e.trainee.email for e in result.enrolments],
                                  [e.trainee.email for e in result.waitlisted])
            except Exception as exc:  # noqa: BLE001 - reported by the assertions
                db.session.rollback()
                results[index] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=(i, quote_id)) for i, quote_id in enumerate(quote_ids)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "an acceptance never finished"
    return results


def test_two_quotes_wanting_the_last_seats_never_overfill_the_session(app, world, open_session):
    from trainingmgr.enrolments.services import enrol

    session = open_session(course=world.dume, capacity=4)
    for i in (50, 51):
        enrol(session, save_trainee(None, person(i)), notify=False)
    db.session.commit()
    first = build_quote(world, session=session, seats=2, trainees=people(2, first=1))
    second = build_quote(world, session=session, seats=2, trainees=people(2, first=3))
    results = _accept_in_threads(app, [first.id, second.id], world.users["advisor"].id)

    errors = [r for r in results if isinstance(r, Exception)]
    assert not errors, errors
    assert sorted((len(seated), len(waiting)) for seated, waiting in results) == [(0, 2), (2, 0)]
    db.session.expire_all()
    assert seats_taken([session.id])[session.id] == 4
    waiting = db.session.scalars(select(Enrolment).where(Enrolment.session_id == session.id,
                                                         Enrolment.status == "waitlisted")
                                 .order_by(Enrolment.waitlist_position)).all()
    assert [e.waitlist_position for e in waiting] == [1, 2]
    assert {q.status for q in db.session.scalars(select(Quote))} == {"accepted"}


def test_the_same_quote_accepted_twice_at_once_is_accepted_once(app, world, open_session):
    session = open_session(course=world.dume)
    quote = build_quote(world, session=session, seats=2)
    results = _accept_in_threads(app, [quote.id, quote.id], world.users["advisor"].id)

    accepted = [r for r in results if isinstance(r, tuple)]
    refused = [r for r in results if isinstance(r, ConflictError)]
    assert len(accepted) == 1 and len(refused) == 1, results
    assert "accepté" in refused[0].message and refused[0].status_code == 409
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Enrolment.id))) == 2
    assert seats_taken([session.id])[session.id] == 2
