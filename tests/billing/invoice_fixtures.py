"""Fixtures of the invoice tests (test_invoices, test_numbering, test_invoice_document): the demo with its Chorus Pro
session delivered, small sessions built with the services, and helpers to read Word files."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from trainingmgr.billing.models import Invoice
from trainingmgr.enrolments.models import Enrolment
from trainingmgr.extensions import db

from tests.documents.conftest import deliver, demo  # noqa: F401 - fixtures
from tests.documents.support import docx_text  # noqa: F401 - re-exported
from tests.enrolments.fixtures import *  # noqa: F401,F403 - as_user, advisor, trainer, open_session…
from tests.enrolments.support import person
from tests.helpers import login  # noqa: F401

D = Decimal


def flat(text: str) -> str:
    """Babel's no-break spaces as plain spaces (money_fr writes "1 234,56 €" with them)."""
    return text.replace("\u202f", " ").replace("\xa0", " ")


@pytest.fixture
def chorus_done(demo):  # noqa: F811
    """The demo with its Chorus Pro session delivered (Julie: OPCO EP 420 € agreed with subrogation + the company
    180 €; Thomas: OPCO EP requested, not agreed yet)."""
    deliver(demo.chorus, demo.advisor, demo.trainer)
    db.session.expire_all()
    return demo


def enrol_with(session, n: int, funding: list[dict], company=None, status: str = "confirmed"):
    """Enrol trainee ``n`` in ``session`` with its funding lines (amounts including VAT)."""
    from trainingmgr.enrolments.services import enrol, save_funding_line
    from trainingmgr.trainees.services import save_trainee

    trainee = save_trainee(None, {**person(n), "company_id": company.id if company else None})
    db.session.flush()
    enrolment = enrol(session, trainee, company=company, notify=False)
    if enrolment.status == "pending_prerequisite":
        enrolment.status = status
    for line in funding:
        save_funding_line(enrolment, None, line)
    if company is None:  # a self-paying trainee signed a contrat de formation long before (sessions are in 2031)
        enrolment.contract_signed_on = dt.date(2026, 1, 2)
    db.session.flush()
    return enrolment


def agreed(amount: str, file: str = "EP-1", **extra) -> dict:
    return {"kind": "opco", "amount": amount, "opco_name": "OPCO EP", "opco_status": "agreed",
            "opco_file_number": file, "agreed_amount": amount, "agreed_on": dt.date(2031, 1, 10),
            "requested_on": dt.date(2031, 1, 2), "subrogation": True, **extra}


def complete(session, hours: dict | None = None, statuses: dict | None = None) -> None:
    """Mark ``session`` completed without running the attendance: every confirmed enrolment completed with the
    planned hours, unless ``hours`` / ``statuses`` (by enrolment id) say otherwise."""
    hours, statuses = hours or {}, statuses or {}
    for enrolment in db.session.scalars(select(Enrolment).where(Enrolment.session_id == session.id)):
        if enrolment.status in ("confirmed", "completed", "abandoned", "no_show"):
            enrolment.status = statuses.get(enrolment.id, "completed")
            enrolment.hours_attended = hours.get(enrolment.id, session.planned_hours)
    session.status = "completed"
    db.session.commit()


@pytest.fixture
def inter(world, make_session):
    """An open DUME inter session of the world (600 € HT per seat, 8 h, no prerequisite): ``inter.session``."""
    from trainingmgr.sessions.services import change_status

    session = make_session(course=world.dume)
    change_status(session, "open", world.users["advisor"])
    db.session.commit()

    class Inter:
        pass

    made = Inter()
    made.session, made.world, made.advisor = session, world, world.users["advisor"]
    return made


def invoices_of(session) -> list[Invoice]:
    return list(db.session.scalars(select(Invoice).where(Invoice.session_id == session.id).order_by(Invoice.id)))


# An OPCO's SIREN as the advisor types it on its first draft (a valid number for the tests).
OPCO_SIREN = "851296632"


def fill_buyer(invoice: Invoice, **extra) -> None:
    """A buyer address (an OPCO's or a trainee's is typed on the draft), and an OPCO's SIREN."""
    if invoice.payer_kind == "opco":
        invoice.buyer_siret = extra.pop("buyer_siret", invoice.buyer_siret or OPCO_SIREN)
    invoice.buyer_address = extra.pop("address", invoice.buyer_address or "1 rue du Client")
    invoice.buyer_postal_code = extra.pop("postal_code", invoice.buyer_postal_code or "31000")
    invoice.buyer_city = extra.pop("city", invoice.buyer_city or "Toulouse")
    for key, value in extra.items():
        setattr(invoice, key, value)
