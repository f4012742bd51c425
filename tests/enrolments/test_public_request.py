"""Pre-registration from the public catalogue (/catalogue/<slug>/sessions/<id>/inscription): CSRF, honeypot,
consent, rate limit; a "requested" enrolment that holds no seat, acknowledged by e-mail and announced to the
advisor; the advisor converts it in one click (POST /enrolments/<id>/accept), matching or creating the company."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from trainingmgr.companies.models import Company
from trainingmgr.enrolments import services
from trainingmgr.enrolments.models import Enrolment
from trainingmgr.extensions import db
from trainingmgr.messaging.models import OutboxMessage
from trainingmgr.organisation.services import get_organisation
from trainingmgr.sessions.services import change_status, seats_taken
from trainingmgr.trainees.models import Trainee

from tests.catalogue.pagetools import page_of
from tests.enrolments.support import (
    BAD_SIRET,
    COLOMIERS_SIRET,
    DUPONT_SIRET,
    assert_refused,
    convocation_planned,
    count,
    event_kinds,
    fresh,
    outbox,
    recipients,
    worker_pass,
)
from tests.helpers import page

FORM = {"civility": "Mme", "first_name": "Léa", "last_name": "Martin", "email": "Lea.Martin@Exemple.fr",
        "phone": "06 12 34 56 78", "job_title": "Assistante", "company_name": "Mairie de Colomiers",
        "company_siret": "213 101 496 00015", "message": "Je me déplace en fauteuil roulant.", "consent": "y"}


def url(session) -> str:
    return f"/catalogue/{session.course.slug}/sessions/{session.id}/inscription"


def the_request() -> Enrolment:
    db.session.expire_all()
    return db.session.scalar(select(Enrolment))


def nothing_saved(companies: int = 1) -> None:
    assert count(Trainee) == 0
    assert count(Enrolment) == 0
    assert count(OutboxMessage) == 0
    assert count(Company) == companies


# --------------------------------------------------------------------------- the form


def test_the_form_is_public(client, world, dume_session):
    response = client.get(url(dume_session))
    assert response.status_code == 200
    tree = page_of(response)
    assert tree.find("input", id="first_name") is not None
    assert tree.find("input", id="consent").attrs["type"] == "checkbox"
    honeypot = tree.find("input", id="website")
    assert honeypot is not None and honeypot.parent.attrs.get("aria-hidden") == "true"
    assert "csrf_token" in page(response)
    # The course page links to it.
    assert url(dume_session) in page(client.get(f"/catalogue/{dume_session.course.slug}"))


def test_a_request_is_stored_acknowledged_and_announced(client, world, dume_session):
    response = client.post(url(dume_session), data=FORM)
    assert response.status_code == 200, page(response)[:2000]
    assert "Merci, votre demande est bien reçue" in page(response)
    assert "Un e-mail de confirmation vient de vous être envoyé." in page(response)
    enrolment = the_request()
    assert (enrolment.status, enrolment.source, enrolment.session_id) == ("requested", "public", dume_session.id)
    assert (enrolment.requested_company_name, enrolment.requested_company_siret) == ("Mairie de Colomiers",
                                                                                     COLOMIERS_SIRET)
    assert enrolment.request_message == "Je me déplace en fauteuil roulant."
    assert enrolment.company_id is None  # the advisor matches the company when accepting
    assert seats_taken([dume_session.id])[dume_session.id] == 0  # no seat held yet
    assert not convocation_planned(enrolment)
    trainee = enrolment.trainee
    assert (trainee.email, trainee.first_name, trainee.phone, trainee.civility) == (
        "lea.martin@exemple.fr", "Léa", "06 12 34 56 78", "Mme")
    assert trainee.consent_at is not None
    assert trainee.company_id is None
    assert event_kinds(enrolment) == ["created"]
    assert recipients("request_ack", enrolment) == ["lea.martin@exemple.fr"]
    # The organisation's quality contact hears of it, with the link to the request.
    assert recipients("request_advisor", enrolment) == [get_organisation().quality_contact_email]
    advisor_mail = outbox("request_advisor")[0].body_text
    assert f"/enrolments/{enrolment.id}" in advisor_mail and "Mairie de Colomiers" in advisor_mail
    assert {m.topic for m in outbox()} == {"request_ack", "request_advisor"}


def test_without_quality_contact_every_advisor_and_admin_hears_of_it(client, world, dume_session):
    get_organisation().quality_contact_email = ""
    db.session.commit()
    client.post(url(dume_session), data=FORM)
    assert sorted(recipients("request_advisor")) == ["admin@test.example", "conseil@test.example"]


def test_a_full_session_still_takes_requests(client, world, open_session, new_trainee):
    session = open_session(course=world.dume, capacity=1)
    services.enrol(session, new_trainee(1))
    db.session.commit()
    response = client.post(url(session), data=FORM)
    assert response.status_code == 200
    assert the_request_for("lea.martin@exemple.fr").status == "requested"


def the_request_for(email: str) -> Enrolment:
    db.session.expire_all()
    return db.session.scalar(select(Enrolment).join(Trainee, Trainee.id == Enrolment.trainee_id)
                             .where(Trainee.email == email))


def test_post_without_csrf_token_is_refused(client, world, dume_session):
    response = client.post(url(dume_session), data=FORM, csrf=False)
    assert response.status_code == 400
    assert "jeton de sécurité" in page(response)
    nothing_saved()


def test_honeypot_filled_answers_thanks_but_keeps_nothing(client, world, dume_session):
    response = client.post(url(dume_session), data={**FORM, "website": "http://spam.example"})
    assert response.status_code == 200
    assert "Merci, votre demande est bien reçue" in page(response)
    nothing_saved()


def test_consent_is_required(client, world, dume_session):
    data = {k: v for k, v in FORM.items() if k != "consent"}
    response = client.post(url(dume_session), data=data)
    assert_refused(response, 422, fields={
        "consent": "Votre accord est nécessaire pour que nous traitions votre demande."})
    nothing_saved()
    # What was typed is kept.
    assert page_of(response).find("input", id="first_name").attrs["value"] == "Léa"


@pytest.mark.parametrize("over, fields", [
    ({"email": "lea.martin@"}, {"email": "Cette adresse e-mail n'est pas valide."}),
    ({"email": ""}, {"email": "Ce champ est requis."}),
    ({"first_name": ""}, {"first_name": "Ce champ est requis."}),
    ({"last_name": "   "}, {"last_name": "Ce champ est requis."}),
    ({"first_name": "L" * 81}, {"first_name": "Ce champ ne doit pas dépasser 80 caractères."}),
    ({"company_siret": BAD_SIRET}, {"company_siret": "Ce SIRET n'est pas valide (clé de contrôle incorrecte)."}),
    ({"company_siret": "12345"}, {"company_siret": "Le SIRET doit comporter 14 chiffres."}),
    ({"company_name": "C" * 201}, {"company_name": "Ce champ ne doit pas dépasser 200 caractères."}),
    ({"message": "m" * 5001}, {"message": "Ce champ ne doit pas dépasser 5000 caractères."}),
    ({"civility": "Dr"}, {"civility": "N'est pas un choix valide."}),
    ({"phone": "0" * 41}, {"phone": "Ce champ ne doit pas dépasser 40 caractères."}),
])
def test_bad_input_is_refused_beside_the_field(client, world, dume_session, over, fields):
    response = client.post(url(dume_session), data={**FORM, **over})
    assert_refused(response, 422, fields=fields)
    nothing_saved()


def test_the_same_person_asking_twice_gets_one_enrolment(client, world, dume_session):
    client.post(url(dume_session), data=FORM)
    first = the_request()
    mails = len(outbox())
    response = client.post(url(dume_session), data={**FORM, "email": "LEA.MARTIN@exemple.fr", "first_name": "Lea",
                                                    "message": "Je relance"})
    assert response.status_code == 200
    assert "Vous aviez déjà une demande ou une inscription pour cette session" in page(response)
    assert count(Enrolment) == 1 and count(Trainee) == 1
    assert the_request().request_message == "Je me déplace en fauteuil roulant."
    assert fresh(Trainee, first.trainee_id).first_name == "Léa"  # nothing overwritten
    assert len(outbox()) == mails  # no second acknowledgement


def test_an_enrolled_person_asking_again_gets_no_second_enrolment(client, world, dume_session, new_trainee):
    trainee = new_trainee(1)
    enrolment = services.enrol(dume_session, trainee)
    db.session.commit()
    response = client.post(url(dume_session), data={**FORM, "email": trainee.email})
    assert response.status_code == 200
    assert "Vous aviez déjà une demande ou une inscription" in page(response)
    assert count(Enrolment) == 1
    assert fresh(Enrolment, enrolment.id).status == "confirmed"


def test_a_cancelled_person_may_ask_again(client, world, dume_session, new_trainee):
    trainee = new_trainee(1)
    enrolment = services.enrol(dume_session, trainee)
    db.session.commit()
    services.cancel(fresh(Enrolment, enrolment.id), world.users["advisor"], "Erreur")
    db.session.commit()
    client.post(url(dume_session), data={**FORM, "email": trainee.email})
    again = fresh(Enrolment, enrolment.id)
    assert (again.status, again.cancel_reason) == ("requested", "")
    assert count(Enrolment) == 1


def test_rate_limit(make_app, world, dume_session):
    limited = make_app(PUBLIC_FORM_RATE_LIMIT="2 per minute")
    client = limited.test_client()
    answers = [client.post(url(dume_session), data={**FORM, "email": f"p{n}@exemple.fr"}).status_code
               for n in range(3)]
    assert answers == [200, 200, 429]
    assert "Trop de requêtes" in page(client.post(url(dume_session), data=FORM))
    assert client.get(url(dume_session)).status_code == 200  # reading the form is not limited
    assert count(Enrolment) == 2


@pytest.mark.parametrize("status, expected", [("draft", 404), ("in_progress", 410), ("cancelled", 404)])
def test_sessions_not_open_take_no_request(client, world, make_session, status, expected):
    session = make_session(course=world.dume)
    if status != "draft":
        session.status = status
        db.session.commit()
    assert client.get(url(session)).status_code == expected
    assert client.post(url(session), data=FORM).status_code == expected
    nothing_saved()


def test_wrong_slug_intra_session_and_unknown_session_are_404(client, world, open_session, make_session):
    dume = open_session(course=world.dume)
    assert client.post(f"/catalogue/chorus-pro/sessions/{dume.id}/inscription", data=FORM).status_code == 404
    assert client.get("/catalogue/chorus-pro/sessions/999999/inscription").status_code == 404
    intra = make_session(start=dume.slots[0].date + dt.timedelta(weeks=3), format="intra",
                         client_company_id=world.company.id)
    change_status(intra, "open", world.users["advisor"])
    db.session.commit()
    assert client.post(url(intra), data=FORM).status_code == 404
    nothing_saved()


# --------------------------------------------------------------------------- the advisor converts it


@pytest.fixture
def request_(client, world, dume_session):
    """A public request for the DUME session (no prerequisite), naming the Colomiers town hall."""
    response = client.post(url(dume_session), data=FORM)
    assert response.status_code == 200
    return the_request()


def test_dashboard_shows_the_requests_banner_and_the_list(advisor, trainer, world, request_):
    banner = page_of(advisor.get("/")).find(data_field="requests")
    assert banner is not None
    assert banner.text.startswith("1 demande d'inscription en ligne à traiter.")
    listing = page_of(advisor.get("/enrolments/requests"))
    row = listing.find("tr", data_enrolment=str(request_.id))
    assert "Léa Martin" in row.text and "Mairie de Colomiers" in row.text
    assert page_of(trainer.get("/")).find(data_field="requests") is None


def test_accepting_creates_the_company_and_confirms(advisor, world, request_):
    page_ = page_of(advisor.get(f"/enrolments/{request_.id}"))
    assert page_.find("input", id="company_siret").attrs["value"] == COLOMIERS_SIRET
    response = advisor.post(f"/enrolments/{request_.id}/accept", data={
        "company_name": "Mairie de Colomiers", "company_siret": COLOMIERS_SIRET})
    assert response.status_code == 302, page(response)[:2000]
    enrolment = fresh(Enrolment, request_.id)
    assert enrolment.status == "confirmed"
    company = db.session.scalar(select(Company).where(Company.siret == COLOMIERS_SIRET))
    assert company is not None and company.name == "Mairie de Colomiers"
    assert enrolment.company_id == company.id
    assert enrolment.trainee.company_id == company.id
    assert convocation_planned(enrolment)
    worker_pass()  # the confirmation e-mail is an automation
    assert recipients("enrolment_status", enrolment) == ["lea.martin@exemple.fr"]
    assert event_kinds(enrolment) == ["created", "status"]
    assert fresh(Enrolment, request_.id).events[-1].actor_id == world.users["advisor"].id
    # The banner is gone.
    assert page_of(advisor.get("/")).find(data_field="requests") is None


def test_accepting_matches_the_company_by_siret(advisor, world, request_):
    response = advisor.post(f"/enrolments/{request_.id}/accept", data={
        "company_name": "Dupont architectes", "company_siret": DUPONT_SIRET})
    assert response.status_code == 302
    assert fresh(Enrolment, request_.id).company_id == world.company.id
    assert count(Company) == 1


def test_accepting_with_only_a_known_siret_matches_the_company(advisor, world, request_):
    response = advisor.post(f"/enrolments/{request_.id}/accept", data={"company_name": "",
                                                                       "company_siret": DUPONT_SIRET})
    assert response.status_code == 302, page(response)[:2000]
    assert fresh(Enrolment, request_.id).company_id == world.company.id
    assert count(Company) == 1


def test_accepting_matches_the_company_by_exact_name(advisor, world, request_):
    response = advisor.post(f"/enrolments/{request_.id}/accept", data={
        "company_name": "cabinet d'architecture DUPONT", "company_siret": ""})
    assert response.status_code == 302
    assert fresh(Enrolment, request_.id).company_id == world.company.id
    assert count(Company) == 1


def test_accepting_without_a_company_makes_an_individual(advisor, world, request_):
    response = advisor.post(f"/enrolments/{request_.id}/accept", data={"company_name": "", "company_siret": ""})
    assert response.status_code == 302
    enrolment = fresh(Enrolment, request_.id)
    assert (enrolment.status, enrolment.company_id) == ("confirmed", None)
    assert enrolment.trainee.bpf_status == "individual"
    assert count(Company) == 1


def test_accepting_a_request_for_chorus_waits_for_the_decision(advisor, client, world, chorus_session):
    client.post(url(chorus_session), data=FORM)
    enrolment = the_request()
    advisor.post(f"/enrolments/{enrolment.id}/accept", data={"company_name": "", "company_siret": ""})
    enrolment = fresh(Enrolment, enrolment.id)
    assert enrolment.status == "pending_prerequisite"
    assert not convocation_planned(enrolment)


def test_accepting_when_the_session_is_full_waitlists(advisor, client, world, open_session, new_trainee):
    session = open_session(course=world.dume, capacity=1)
    services.enrol(session, new_trainee(1))
    db.session.commit()
    client.post(url(session), data=FORM)
    enrolment = the_request_for("lea.martin@exemple.fr")
    advisor.post(f"/enrolments/{enrolment.id}/accept", data={"company_name": "", "company_siret": ""})
    enrolment = fresh(Enrolment, enrolment.id)
    assert (enrolment.status, enrolment.waitlist_position) == ("waitlisted", 1)


def test_accepting_twice_is_a_conflict(advisor, world, request_):
    data = {"company_name": "", "company_siret": ""}
    assert advisor.post(f"/enrolments/{request_.id}/accept", data=data).status_code == 302
    response = advisor.post(f"/enrolments/{request_.id}/accept", data=data)
    assert_refused(response, 409, "Cette demande a déjà été traitée.")
    assert event_kinds(request_).count("status") == 1


@pytest.mark.parametrize("data, fields", [
    ({"company_name": "X", "company_siret": BAD_SIRET},
     {"company_siret": "Ce SIRET n'est pas valide (clé de contrôle incorrecte)."}),
    ({"company_name": "", "company_siret": "73282932000074"},
     {"company_name": "La raison sociale est obligatoire."}),
    ({"company_name": "N" * 201, "company_siret": ""}, {"company_name": "Ce champ ne doit pas dépasser 200 caractères."}),
])
def test_accept_bad_company_input_is_shown_beside_the_field(advisor, world, request_, data, fields):
    response = advisor.post(f"/enrolments/{request_.id}/accept", data=data)
    assert_refused(response, 422, fields=fields)
    assert fresh(Enrolment, request_.id).status == "requested"
    assert count(Company) == 1
