"""Gapless yearly numbering (billing/numbering.py and the issue service): F<year>-0001…, A<year>-0001…, consecutive
even when ten invoices are issued at the same moment, and never consumed by an issue that fails."""
from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import select

from trainingmgr.accounts.models import User
from trainingmgr.billing.invoices import facturx
from trainingmgr.billing.invoices.credit_notes import credit_invoice
from trainingmgr.billing.invoices.drafts import add_line, create_draft, delete_draft
from trainingmgr.billing.invoices.issue import issue_invoice
from trainingmgr.billing.models import Invoice, InvoiceSequence
from trainingmgr.billing.numbering import format_number, last_number, next_number
from trainingmgr.core.errors import ConflictError
from trainingmgr.core.timeutil import paris_today
from trainingmgr.extensions import db

from tests.fixtures.billing import complete


def committed_sequence(kind: str, year: int) -> int:
    """The sequence as another connection sees it (what was committed)."""
    with db.engine.connect() as conn:
        value = conn.execute(select(InvoiceSequence.last_number).where(
            InvoiceSequence.kind == kind, InvoiceSequence.year == year)).scalar()
    return value or 0


def committed_numbers() -> list[tuple[str, int]]:
    with db.engine.connect() as conn:
        return [tuple(row) for row in conn.execute(
            select(Invoice.number, Invoice.sequence).where(Invoice.number.is_not(None)).order_by(Invoice.sequence))]


def test_numbers_follow_each_other_per_kind_and_year(app):
    assert next_number("invoice", 2031) == ("F2031-0001", 1)
    assert next_number("invoice", 2031) == ("F2031-0002", 2)
    assert next_number("credit_note", 2031) == ("A2031-0001", 1)
    assert next_number("invoice", 2032) == ("F2032-0001", 1)
    db.session.commit()
    assert (committed_sequence("invoice", 2031), committed_sequence("credit_note", 2031),
            committed_sequence("invoice", 2032)) == (2, 1, 1)
    assert format_number("invoice", 2031, 12345) == "F2031-12345"
    with pytest.raises(ValueError):
        next_number("order", 2031)


def test_a_rolled_back_number_is_given_again(app):
    assert next_number("invoice", 2031)[0] == "F2031-0001"
    db.session.commit()
    assert next_number("invoice", 2031)[0] == "F2031-0002"
    db.session.rollback()  # the transaction that took it failed
    assert last_number("invoice", 2031) == 1
    assert next_number("invoice", 2031)[0] == "F2031-0002"
    db.session.commit()
    assert committed_sequence("invoice", 2031) == 2


@pytest.fixture
def drafts(inter):
    """``drafts(n)``: n drafts ready to issue (the world's company, one 600 € line each) of a completed session."""
    from trainingmgr.companies.services import save_company

    session, advisor = inter.session, inter.advisor
    company = inter.world.company
    save_company(company, {"name": company.name, "siret": company.siret, "address": "3 allée des Arts",
                           "postal_code": "31000", "city": "Toulouse"})
    complete(session)

    def factory(n: int) -> list[int]:
        ids = []
        for i in range(n):
            invoice = create_draft(session, {"payer_kind": "company", "payer_company_id": company.id}, advisor)
            add_line(invoice, {"description": f"Formation, stagiaire {i + 1}", "quantity": "1",
                                       "unit_price": "600"}, advisor)
            ids.append(invoice.id)
        db.session.commit()
        return ids

    factory.advisor = advisor
    return factory


def _issue_in_threads(app, invoice_ids: list[int], advisor_id: int) -> list:
    """Issue each draft from its own thread (own application context, own database connection), all released
    together by a barrier. Returns the number given or the exception raised, in the order of ``invoice_ids``."""
    barrier = threading.Barrier(len(invoice_ids))
    results: list = [None] * len(invoice_ids)

    def worker(index: int, invoice_id: int) -> None:
        with app.app_context():
            try:
                actor = db.session.get(User, advisor_id)
                invoice = db.session.get(Invoice, invoice_id)
                db.session.commit()  # end the reads' transaction: each issue starts afresh after the barrier
                barrier.wait(timeout=60)
                issue_invoice(invoice, actor)
                db.session.commit()
                results[index] = invoice.number
            except Exception as exc:  # noqa: BLE001 - reported by the assertions
                db.session.rollback()
                results[index] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=(i, invoice_id)) for i, invoice_id in enumerate(invoice_ids)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "an issue never finished"
    return results


def test_ten_simultaneous_issues_get_consecutive_numbers(app, drafts):
    ids = drafts(10)
    year = paris_today().year
    results = _issue_in_threads(app, ids, drafts.advisor.id)

    errors = [r for r in results if not isinstance(r, str)]
    assert not errors, errors
    expected = [f"F{year}-{n:04d}" for n in range(1, 11)]
    assert sorted(results) == expected  # no duplicate, no gap
    assert committed_numbers() == [(number, n) for n, number in enumerate(expected, 1)]
    assert committed_sequence("invoice", year) == 10
    db.session.expire_all()
    issued = db.session.scalars(select(Invoice).where(Invoice.id.in_(ids))).all()
    assert {i.status for i in issued} == {"issued"} and all(i.docx_file_id for i in issued)


def test_the_same_draft_issued_twice_at_once_is_issued_once(app, drafts):
    [invoice_id] = drafts(1)
    results = _issue_in_threads(app, [invoice_id] * 5, drafts.advisor.id)
    year = paris_today().year
    numbers = [r for r in results if isinstance(r, str)]
    refusals = [r for r in results if isinstance(r, ConflictError)]
    assert (numbers, len(refusals)) == ([f"F{year}-0001"], 4), results
    assert all("déjà émise" in r.message for r in refusals)
    assert committed_sequence("invoice", year) == 1


def test_a_failure_after_taking_the_number_gives_it_back(app, drafts, monkeypatch):
    first, second = drafts(2)
    year = paris_today().year

    def broken(invoice, docx):
        raise RuntimeError("disque plein")

    monkeypatch.setattr(facturx, "produce_files", broken)
    with pytest.raises(RuntimeError):
        issue_invoice(db.session.get(Invoice, first), drafts.advisor)
    db.session.rollback()
    assert committed_sequence("invoice", year) == 0
    db.session.expire_all()
    invoice = db.session.get(Invoice, first)
    assert (invoice.status, invoice.number, invoice.docx_file_id) == ("draft", None, None)

    monkeypatch.undo()
    issue_invoice(db.session.get(Invoice, second), drafts.advisor)
    db.session.commit()
    issue_invoice(db.session.get(Invoice, first), drafts.advisor)
    db.session.commit()
    assert committed_numbers() == [(f"F{year}-0001", 1), (f"F{year}-0002", 2)]


def test_the_number_takes_the_year_of_the_paris_issue_date(app, drafts, monkeypatch):
    """At 23:30 UTC on 31 December it is already 1 January in Paris: the invoice is numbered in the new year,
    the sequence starts again at 0001, and it is due 30 days later."""
    from trainingmgr.core import timeutil

    first, second = drafts(2)
    monkeypatch.setattr(timeutil, "utcnow", lambda: dt.datetime(2031, 12, 31, 22, 30, tzinfo=dt.timezone.utc))
    issue_invoice(db.session.get(Invoice, first), drafts.advisor)
    monkeypatch.setattr(timeutil, "utcnow", lambda: dt.datetime(2031, 12, 31, 23, 30, tzinfo=dt.timezone.utc))
    issue_invoice(db.session.get(Invoice, second), drafts.advisor)
    db.session.commit()
    a, b = db.session.get(Invoice, first), db.session.get(Invoice, second)
    assert (a.number, a.issue_date, a.due_date) == ("F2031-0001", dt.date(2031, 12, 31), dt.date(2032, 1, 30))
    assert (b.number, b.issue_date, b.due_date, b.year) == ("F2032-0001", dt.date(2032, 1, 1), dt.date(2032, 1, 31),
                                                            2032)


def test_credit_notes_have_their_own_sequence(app, drafts):
    first, second = drafts(2)
    advisor = drafts.advisor
    year = paris_today().year
    for invoice_id in (first, second):
        issue_invoice(db.session.get(Invoice, invoice_id), advisor)
    db.session.commit()
    note = credit_invoice(db.session.get(Invoice, first), advisor, None, "Annulation totale")
    db.session.commit()
    assert note.number == f"A{year}-0001" and note.sequence == 1
    assert (committed_sequence("invoice", year), committed_sequence("credit_note", year)) == (2, 1)


def test_drafts_take_no_number(app, drafts):
    ids = drafts(3)
    delete_draft(db.session.get(Invoice, ids[0]), drafts.advisor)
    db.session.commit()
    issue_invoice(db.session.get(Invoice, ids[2]), drafts.advisor)
    db.session.commit()
    assert committed_numbers() == [(f"F{paris_today().year}-0001", 1)]
