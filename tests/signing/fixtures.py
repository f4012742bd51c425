"""Fixtures of the signature workflow tests: a DUME session sold to a company, its convention archived with a PDF
(made by pypdf, not LibreOffice: tests/signing/support.document), and helpers that act as the advisor and as each
signatory through the pages."""
from __future__ import annotations

import hashlib
import re
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from trainingmgr.extensions import db
from trainingmgr.messaging.models import OutboxMessage

from tests.documents.conftest import drawing
from tests.enrolments.fixtures import advisor, as_user, dume_session, open_session, trainer  # noqa: F401 - fixtures
from tests.enrolments.support import person
from tests.signing.support import document as pdf_document

__all__ = [
    "advisor",
    "as_user",
    "drawing",
    "dume_session",
    "fake_pdf",
    "individual_sale",
    "link",
    "open_session",
    "outbox",
    "request_code",
    "sale",
    "send",
    "sign_by_link",
    "trainer",
]


@pytest.fixture
def fake_pdf(monkeypatch):
    """Documents get a PDF (one per DOCX content) without LibreOffice."""
    from trainingmgr.documents import pdf

    monkeypatch.setattr(pdf, "available", lambda: True)
    monkeypatch.setattr(pdf, "convert", lambda docx: pdf_document(
        "Convention de formation " + hashlib.sha256(docx).hexdigest()[:16], "Conditions générales, page 2"))


@pytest.fixture
def sale(world, dume_session, fake_pdf):
    """The company (signatory Anne Dupont, HR contact Hugo Martin), one employee enrolled in the DUME session, and
    the company's convention archived with its PDF."""
    from trainingmgr.companies.services import save_contact
    from trainingmgr.documents import services as documents
    from trainingmgr.enrolments.services import enrol
    from trainingmgr.trainees.services import save_trainee

    advisor = world.users["advisor"]
    anne = save_contact(world.company, None, {"role": "signatory", "name": "Anne Dupont", "job_title": "Gérante",
                                              "email": "anne@dupont.example"})
    hugo = save_contact(world.company, None, {"role": "hr", "name": "Hugo Martin", "email": "hugo@dupont.example"})
    employee = enrol(dume_session, save_trainee(None, person(1, company_id=world.company.id)), actor=advisor,
                     notify=False)
    db.session.commit()
    convention = documents.generate("convention", dume_session, advisor, company=world.company)
    db.session.commit()
    return SimpleNamespace(session=dume_session, advisor=advisor, company=world.company, anne=anne, hugo=hugo,
                           employee=employee, convention=convention, world=world)


@pytest.fixture
def individual_sale(world, dume_session, fake_pdf):
    """A trainee paying for themselves, and their contrat de formation archived with its PDF."""
    from trainingmgr.documents import services as documents
    from trainingmgr.enrolments.services import enrol
    from trainingmgr.trainees.services import save_trainee

    advisor = world.users["advisor"]
    enrolment = enrol(dume_session, save_trainee(None, person(2)), actor=advisor, notify=False)
    db.session.commit()
    contract = documents.generate("contract", dume_session, advisor, enrolment=enrolment)
    db.session.commit()
    return SimpleNamespace(session=dume_session, advisor=advisor, enrolment=enrolment, contract=contract)


def send(document, actor, keys=("company:{anne}", "organisation"), deadline=None, **ids):
    """Send ``document`` for signature through the service and commit; ``keys`` are formatted with ``ids``."""
    import datetime as dt

    from trainingmgr.core.timeutil import paris_today
    from trainingmgr.signing import services

    made = services.send_for_signature(document, [k.format(**ids) for k in keys],
                                       deadline or paris_today() + dt.timedelta(days=15), actor)
    db.session.commit()
    return made


def link(signatory) -> str:
    from trainingmgr.signing.access import signing_token

    return f"/signature/{signing_token(signatory)}"


def outbox(recipient: str, subject_start: str = "") -> list[OutboxMessage]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == recipient,
                                                               OutboxMessage.subject.startswith(subject_start))
                                   .order_by(OutboxMessage.id)))


def _csrf(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', response.get_data(as_text=True)).group(1)


def request_code(client, signatory) -> str:
    """Ask the page for a code; the code read from the e-mail."""
    url = link(signatory)
    response = client.post(url + "/code", data={"csrf_token": _csrf(client, url)})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return outbox(signatory.email, "Votre code de signature")[-1].subject[-6:]


def sign_by_link(client, signatory, *, code: str | None = None, seed: int = 1, typed: str = "", consent=True):
    """Sign on the page (a code is asked for unless given); the response."""
    url = link(signatory)
    code = code if code is not None else request_code(client, signatory)
    data = {"csrf_token": _csrf(client, url), "code": code, "signature": "" if typed else drawing(seed),
            "typed_name": typed}
    if consent:
        data["consent"] = "y"
    return client.post(url + "/sign", data=data)
