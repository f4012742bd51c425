"""The demo's enrolments: trainees in both seed sessions, OPCO EP funding on the Chorus Pro one (one agreed with
subrogation, amounts adding up to the price); loading again changes nothing."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from trainingmgr.companies.models import Company, CompanyContact
from trainingmgr.demo.services import load_demo
from trainingmgr.enrolments.models import Enrolment, EnrolmentEvent, FundingLine
from trainingmgr.enrolments.services import funding_difference
from trainingmgr.extensions import db
from trainingmgr.messaging.models import Job, OutboxMessage
from trainingmgr.sessions.models import TrainingSession
from trainingmgr.trainees.models import Trainee

from tests.catalogue.pagetools import page_of
from tests.helpers import page

MODELS = (Enrolment, EnrolmentEvent, FundingLine, Trainee, Company, CompanyContact, OutboxMessage, Job,
          TrainingSession)


def counts() -> dict[str, int]:
    db.session.expire_all()
    return {m.__name__: db.session.scalar(select(func.count()).select_from(m)) for m in MODELS}


def enrolments_of(slug: str) -> list[Enrolment]:
    from trainingmgr.catalogue.models import Course

    db.session.expire_all()
    return list(db.session.scalars(
        select(Enrolment).join(TrainingSession, TrainingSession.id == Enrolment.session_id)
        .join(Course, Course.id == TrainingSession.course_id)
        .where(Course.slug == slug, TrainingSession.status != "completed")  # not last week's DUME session
        .order_by(Enrolment.id)))


def test_demo_enrols_trainees_in_both_seed_sessions(app):
    load_demo()
    chorus = enrolments_of("chorus-pro")
    dume = enrolments_of("marches-publics-dume-et-chorus-pro")
    assert len(chorus) >= 1 and len(dume) >= 1
    assert {e.session_id for e in chorus} != {e.session_id for e in dume}
    # Chorus Pro has a prerequisite: admitted ones are confirmed, the others wait for the decision.
    assert {e.status for e in chorus} <= {"confirmed", "pending_prerequisite"}
    assert all(e.status == "confirmed" for e in dume)  # « aucun » prérequis
    for enrolment in chorus + dume:
        assert funding_difference(enrolment) == 0, (enrolment.trainee.full_name, funding_difference(enrolment))
        assert enrolment.price_incl_vat == Decimal("600.00")


def test_demo_chorus_pro_funding_is_opco_ep_one_agreed_with_subrogation(app):
    load_demo()
    lines = [line for e in enrolments_of("chorus-pro") for line in e.funding_lines]
    opco = [line for line in lines if line.kind == "opco"]
    assert opco and all(line.opco_name == "OPCO EP" for line in opco)
    agreed = [line for line in opco if line.opco_status == "agreed"]
    assert len(agreed) == 1
    (line,) = agreed
    assert line.subrogation
    assert line.agreed_amount == line.amount
    assert line.agreed_on is not None and line.opco_file_number
    assert line.enrolment.status == "confirmed"
    # The other files are on the funding board (requested, no agreement yet), with the OPCO EP lines « à demander »
    # that the quote accepted for the upcoming DUME session pre-filled (demo/quotes.py).
    from trainingmgr.enrolments.services import funding_board

    to_request = [line for e in enrolments_of("marches-publics-dume-et-chorus-pro") for line in e.funding_lines
                  if line.kind == "opco"]
    assert [(line.opco_name, line.opco_status) for line in to_request] == [("OPCO EP", "to_request")] * 2
    assert {board_line.id for board_line in funding_board()} == {
        x.id for x in opco + to_request if x.opco_status != "agreed"}


def test_demo_companies_are_valid_and_have_a_contact(app):
    load_demo()
    companies = list(db.session.scalars(select(Company)))
    assert companies
    for company in companies:
        assert company.siret and company.contacts
    # The two firms with employees pay into OPCO EP; the liberal architect's own practice has no OPCO: his
    # training is funded by the FIF PL. The companies of the quotes (demo/quotes.py): one accepted (OPCO EP), one
    # awaiting its answer (Constructys), an intra request whose OPCO the advisor has not asked yet.
    assert {c.name: c.opco for c in companies} == {"Atelier d'architecture Garonne": "OPCO EP",
                                                   "Bureau d'études Occitanie Structures": "OPCO EP",
                                                   "Julien Carrère Architecte": "",
                                                   "Agence Canal du Midi Paysage": "OPCO EP",
                                                   "Charpentes du Lauragais": "Constructys",
                                                   "Groupe Immobilier Saint-Cyprien": ""}


def test_loading_the_demo_twice_changes_nothing(app):
    load_demo()
    before = counts()
    assert before["Enrolment"] >= 2
    again = load_demo()
    assert again == []
    assert counts() == before


def test_demo_pages_render(app, client):
    load_demo()
    login_data = {"email": "conseil@formaction.example", "password": "conseil-demo-2026"}
    assert client.post("/login", data=login_data).status_code == 302
    for enrolment in enrolments_of("chorus-pro") + enrolments_of("marches-publics-dume-et-chorus-pro"):
        response = client.get(f"/enrolments/{enrolment.id}")
        assert response.status_code == 200
        shown = page_of(response).find(data_field="funding-difference").text
        assert shown.startswith("Les financements couvrent le prix"), shown
    assert client.get("/funding").status_code == 200
    session_id = enrolments_of("chorus-pro")[0].session_id
    assert "Julie Martin" in page(client.get(f"/sessions/{session_id}"))
