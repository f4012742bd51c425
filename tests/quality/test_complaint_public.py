"""The public form for complaints and mediation requests (/reclamation): CSRF, honeypot, consent, bad inputs,
rate limit, the acknowledgement e-mail with the reference; the form opened from the trainee's personal page; the
requester's follow link (/reclamation/suivi/<token>), which shows that request only and never the internal notes."""
from __future__ import annotations

import datetime as dt
import time

import pytest
from itsdangerous import TimestampSigner
from sqlalchemy import func, select

from trainingmgr.core.tokens import make_token
from trainingmgr.enrolments.links import trainee_token
from trainingmgr.enrolments.services import enrol
from trainingmgr.extensions import db
from trainingmgr.messaging.models import OutboxMessage
from trainingmgr.quality.complaints import services as service
from trainingmgr.quality.models import QualityEvent, QualityRequest
from trainingmgr.sessions.services import change_status
from trainingmgr.trainees.services import save_trainee

from tests.catalogue.pagetools import page_of
from tests.enrolments.support import assert_refused, person
from tests.helpers import page

URL = "/reclamation"
FORM = {"kind": "complaint", "requester_role": "company", "requester_name": "Léa Martin",
        "requester_email": "Lea.Martin@Exemple.fr", "requester_phone": "06 12 34 56 78",
        "organisation_name": "Mairie de Colomiers", "session_id": "", "subject": "Salle trop froide",
        "description": "La salle n'était pas chauffée le deuxième jour.", "consent": "y"}


def count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def the_request() -> QualityRequest:
    db.session.expire_all()
    return db.session.scalar(select(QualityRequest).order_by(QualityRequest.id.desc()))


def outbox(topic: str) -> list[OutboxMessage]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.topic == topic)
                                   .order_by(OutboxMessage.id)))


def nothing_saved() -> None:
    assert count(QualityRequest) == 0
    assert count(QualityEvent) == 0
    assert count(OutboxMessage) == 0


# --------------------------------------------------------------------------- the form


def test_the_form_is_public_with_csrf_honeypot_and_consent(client, world, open_session, make_session):
    listed = open_session()
    draft = make_session(start=dt.date(2031, 6, 2))
    response = client.get(URL)
    assert response.status_code == 200
    tree = page_of(response)
    assert tree.find("input", id="consent").attrs["type"] == "checkbox"
    honeypot = tree.find("input", id="website")
    assert honeypot is not None and honeypot.parent.attrs.get("aria-hidden") == "true"
    assert "csrf_token" in page(response)
    kinds = [o.attrs["value"] for o in tree.find("select", id="kind").find_all("option")]
    assert kinds == ["", "complaint", "mediation", "difficulty", "suggestion"]  # no "hazard": advisors only
    sessions = [o.attrs["value"] for o in tree.find("select", id="session_id").find_all("option")]
    assert str(listed.id) in sessions and str(draft.id) not in sessions


def test_a_request_is_stored_acknowledged_and_announced(client, world, open_session):
    session = open_session()
    response = client.post(URL, data={**FORM, "session_id": str(session.id)})
    assert response.status_code == 200, page(response)[:3000]
    req = the_request()
    year = service.today_in_paris().year
    assert req.reference == f"REC-{year}-0001"
    tree = page_of(response)
    assert tree.find(data_field="reference").text == req.reference
    follow_url = tree.find(data_field="follow-url").attrs["href"]
    assert "/reclamation/suivi/" in follow_url
    assert (req.kind, req.channel, req.requester_role, req.session_id) == ("complaint", "web", "company", session.id)
    assert (req.requester_email, req.organisation_name) == ("lea.martin@exemple.fr", "Mairie de Colomiers")
    assert req.consent_at is not None and req.trainee_id is None and req.created_by_id is None
    assert [(e.status, e.author_id) for e in req.events] == [("received", None)]
    [ack] = outbox("complaint_ack")
    assert ack.recipient == "lea.martin@exemple.fr"
    assert req.reference in ack.subject and req.reference in ack.body_text
    assert follow_url in ack.body_text and session.title in ack.body_text
    [notice] = outbox("complaint_advisor")
    assert notice.recipient == "conseil@formaction.example"  # the organisation's quality contact
    assert "La salle n'était pas chauffée" in notice.body_text
    # The link works.
    assert "Salle trop froide" in page(client.get(follow_url))


def test_honeypot_filled_answers_thanks_but_keeps_nothing(client, world):
    response = client.post(URL, data={**FORM, "website": "http://spam.example"})
    assert response.status_code == 200
    assert "Merci, votre demande est bien reçue" in page(response)
    assert page_of(response).find(data_field="reference") is None
    nothing_saved()


def test_without_csrf_token_nothing_is_saved(client, world):
    response = client.post(URL, data=FORM, csrf=False)
    assert response.status_code == 400
    assert "jeton de sécurité" in page(response)
    nothing_saved()


@pytest.mark.parametrize("over, fields", [
    ({"consent": None}, {"consent": "Votre accord est nécessaire pour que nous traitions votre demande."}),
    ({"requester_email": "lea.martin@"}, {"requester_email": "Cette adresse e-mail n'est pas valide."}),
    ({"requester_email": " "}, {"requester_email": "L'adresse e-mail est obligatoire."}),
    ({"description": "   "},
     {"description": "Décrivez la demande en quelques phrases (10 caractères au moins)."}),
    ({"subject": ""}, {"subject": "Donnez un objet à la demande."}),
    ({"requester_name": ""}, {"requester_name": "Indiquez le nom du demandeur."}),
    ({"kind": "hazard"}, {"kind": "Choisissez la nature de la demande dans la liste."}),
    ({"kind": ""}, {"kind": "Choisissez la nature de la demande dans la liste."}),
    ({"requester_role": "king"},
     {"requester_role": "Indiquez à quel titre vous écrivez (stagiaire, entreprise, financeur…)."}),
    ({"subject": "S" * 201}, {"subject": "Ce champ ne doit pas dépasser 200 caractères."}),
    ({"session_id": "abc"}, {"session_id": "Choisissez la formation dans la liste, ou laissez le champ vide."}),
    ({"session_id": "999999999999"},
     {"session_id": "Choisissez la formation dans la liste, ou laissez le champ vide."}),
])
def test_bad_input_is_refused_in_french_and_nothing_is_saved(client, world, over, fields):
    data = {k: v for k, v in {**FORM, **over}.items() if v is not None}
    response = client.post(URL, data=data)
    assert_refused(response, 422, fields=fields)
    nothing_saved()
    # What was typed is kept.
    assert page_of(response).find("input", id="requester_phone").attrs["value"] == "06 12 34 56 78"


def test_every_problem_is_shown_at_once(client, world):
    response = client.post(URL, data={**FORM, "requester_email": "x@", "subject": "", "consent": ""})
    assert_refused(response, 422, fields={"requester_email": "Cette adresse e-mail n'est pas valide.",
                                          "subject": "Donnez un objet à la demande.",
                                          "consent": "Votre accord est nécessaire pour que nous traitions votre "
                                                     "demande."})


def test_a_draft_or_intra_session_cannot_be_named(client, world, make_session, open_session):
    draft = make_session(start=dt.date(2031, 6, 2))
    intra = open_session(format="intra", client_company_id=world.company.id, intra_price="2000")
    for session in (draft, intra):
        response = client.post(URL, data={**FORM, "session_id": str(session.id)})
        assert_refused(response, 422, fields={
            "session_id": "Choisissez la formation dans la liste, ou laissez le champ vide."})
    nothing_saved()


def test_rate_limit_the_sixth_post_in_a_minute_is_429(client, world):
    assert client.application.config["QUALITY_FORM_RATE_LIMIT"] == "5 per minute"
    answers = [client.post(URL, data={**FORM, "requester_email": f"p{n}@exemple.fr"}).status_code
               for n in range(6)]
    assert answers == [200] * 5 + [429]
    assert "Trop de requêtes" in page(client.post(URL, data=FORM))
    assert client.get(URL).status_code == 200  # reading the form is not limited
    assert count(QualityRequest) == 5


def test_bad_posts_count_towards_the_rate_limit_too(make_app, world):
    limited = make_app(QUALITY_FORM_RATE_LIMIT="2 per minute")
    client = limited.test_client()
    answers = [client.post(URL, data={**FORM, "consent": ""}).status_code for _ in range(3)]
    assert answers == [422, 422, 429]


# --------------------------------------------------------------------------- from the personal page


@pytest.fixture
def enrolment(world, open_session):
    session = open_session(course=world.dume)
    trainee = save_trainee(None, person(7, phone="06 00 00 00 07", company_id=world.company.id))
    enrolment = enrol(session, trainee, actor=world.users["advisor"], notify=False)
    db.session.commit()
    return enrolment


def test_the_personal_page_links_to_a_prefilled_form(client, enrolment):
    token = trainee_token(enrolment)
    home = page_of(client.get(f"/t/{token}"))
    link = home.find(data_field="complaint-link")
    assert link is not None and link.attrs["href"].endswith(f"/reclamation/espace/{token}")
    response = client.get(f"/reclamation/espace/{token}")
    assert response.status_code == 200
    tree = page_of(response)
    assert tree.find("input", id="requester_name").attrs["value"] == "Prénom07 Nom07"
    assert tree.find("input", id="requester_email").attrs["value"] == "p07@exemple.fr"
    assert tree.find("input", id="organisation_name").attrs["value"] == world_company_name(enrolment)
    assert tree.find("select", id="session_id") is None  # the enrolment's session, shown as text
    assert enrolment.session.title in tree.find(data_field="portal-session").text


def world_company_name(enrolment) -> str:
    return enrolment.trainee.company.name


def test_a_request_from_the_personal_page_links_the_trainee_and_the_session(client, enrolment):
    token = trainee_token(enrolment)
    data = {"kind": "difficulty", "requester_name": "Prénom07 Nom07", "requester_email": "p07@exemple.fr",
            "requester_role": "funder", "session_id": "",  # ignored: the link says who and which session
            "subject": "Rythme trop rapide", "description": "Je n'arrive pas à suivre les exercices.", "consent": "y"}
    response = client.post(f"/reclamation/espace/{token}", data=data)
    assert response.status_code == 200, page(response)[:3000]
    req = the_request()
    assert (req.channel, req.requester_role, req.kind) == ("portal", "trainee", "difficulty")
    assert (req.trainee_id, req.enrolment_id, req.session_id) == (
        enrolment.trainee_id, enrolment.id, enrolment.session_id)
    assert outbox("complaint_ack")[0].enrolment_id == enrolment.id
    assert "depuis l'espace personnel" in req.events[0].note


def test_a_tampered_personal_link_opens_no_form(client, enrolment):
    token = trainee_token(enrolment)
    for response in (client.get(f"/reclamation/espace/{token[:-2]}xx"),
                     client.post(f"/reclamation/espace/{token[:-2]}xx", data=FORM)):
        assert response.status_code == 403
    nothing_saved()


# --------------------------------------------------------------------------- the follow link


def filed(client, **over) -> QualityRequest:
    response = client.post(URL, data={**FORM, **over})
    assert response.status_code == 200, page(response)[:2000]
    return the_request()


def test_the_follow_link_shows_its_request_only_and_no_internal_note(client, world, users):
    mine = filed(client)
    other = filed(client, requester_name="Bruno Autre", requester_email="bruno@exemple.fr",
                  subject="Retard du formateur", description="Le formateur est arrivé avec une heure de retard.")
    advisor = users["advisor"]
    service.transition(mine, "acknowledge", {"note": "Nous revenons vers vous sous huit jours."}, advisor)
    service.transition(mine, "analyse", {"note": "INTERNE : vérifier le contrat de maintenance."}, advisor)
    service.add_note(mine, "INTERNE : le stagiaire est connu pour exagérer.", advisor)
    service.transition(mine, "answer", {"answer": "Le chauffage a été réparé.",
                                        "analysis": "INTERNE : chaudière en panne depuis lundi."}, advisor)
    service.transition(other, "acknowledge", {"note": "Message pour Bruno."}, advisor)
    db.session.commit()

    text = page(client.get(f"/reclamation/suivi/{service.follow_token(mine)}"))
    for shown in (mine.reference, "Salle trop froide", "La salle n'était pas chauffée", "Réponse apportée",
                  "Le chauffage a été réparé.", "Nous revenons vers vous sous huit jours.", "Analyse en cours"):
        assert shown in text, shown
    for hidden in ("INTERNE", other.reference, "Bruno", "Retard du formateur", "une heure de retard",
                   "Message pour Bruno.", "Camille Conseil"):
        assert hidden not in text, hidden
    tree = page_of(client.get(f"/reclamation/suivi/{service.follow_token(mine)}"))
    assert [li.attrs["data-event"] for li in tree.find(data_field="timeline").find_all("li")] == [
        "received", "acknowledged", "analysing", "answered"]
    assert tree.find(data_field="status").text == "Réponse apportée"


def test_the_mediation_is_shown_to_the_requester(client, world, users):
    req = filed(client, kind="mediation")
    advisor = users["advisor"]
    for action, data in [("acknowledge", {}), ("analyse", {}), ("escalate", {"mediator_name": "CM2C"}),
                         ("outcome", {"mediation_outcome": "Accord amiable trouvé."}),
                         ("close", {"note": "Merci de votre confiance."})]:
        service.transition(req, action, data, advisor)
    db.session.commit()
    text = page(client.get(f"/reclamation/suivi/{service.follow_token(req)}"))
    for shown in ("Transmise au médiateur", "Médiateur : CM2C.", "Accord amiable trouvé.",
                  "Merci de votre confiance.", "Clôturée"):
        assert shown in text, shown


@pytest.mark.parametrize("how", ["changed", "cut", "other purpose", "other reference"])
def test_a_tampered_follow_link_is_refused(client, world, how):
    req = filed(client)
    token = service.follow_token(req)
    bad = {"changed": token[:-2] + ("AA" if not token.endswith("AA") else "BB"), "cut": token[:20],
           "other purpose": make_token("trainee", {"r": req.id, "ref": req.reference}),
           "other reference": make_token(service.TOKEN_PURPOSE, {"r": req.id, "ref": "REC-2000-0001"})}[how]
    response = client.get(f"/reclamation/suivi/{bad}")
    assert response.status_code == 403
    assert "Ce lien n'est pas valide" in page(response)
    assert req.reference not in page(response)


def test_a_follow_link_to_a_removed_request_is_404(client, world):
    req = filed(client)
    token = service.follow_token(req)
    db.session.delete(req)
    db.session.commit()
    assert_refused(client.get(f"/reclamation/suivi/{token}"), 404, "Cette demande n'existe plus.")


def test_an_expired_follow_link_is_410(app, client, world, monkeypatch):
    req = filed(client)
    days = app.config["QUALITY_LINK_MAX_AGE_DAYS"]
    assert days == 365
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time()) - (days + 1) * 86400)
    old = service.follow_token(req)
    monkeypatch.undo()
    assert_refused(client.get(f"/reclamation/suivi/{old}"), 410, "Ce lien a expiré.")
    assert client.get(f"/reclamation/suivi/{service.follow_token(req)}").status_code == 200


def test_an_anonymised_request_is_no_longer_shown(client, world):
    req = filed(client)
    token = service.follow_token(req)
    req.anonymised_at = req.received_at
    db.session.commit()
    response = client.get(f"/reclamation/suivi/{token}")
    assert response.status_code == 410
    assert "Salle trop froide" not in page(response)


def test_closed_sessions_and_cancelled_ones(client, world, open_session):
    """A session cancelled is not offered; one held a few months ago still is."""
    session = open_session()
    change_status(session, "cancelled", world.users["advisor"], reason="Trop peu d'inscrits.")
    db.session.commit()
    sessions = [o.attrs["value"] for o in page_of(client.get(URL)).find("select", id="session_id").find_all("option")]
    assert str(session.id) not in sessions


def test_the_form_is_reachable_from_the_public_pages(client, world):
    catalogue = client.get("/catalogue/").get_data(as_text=True)
    assert 'href="/reclamation">Réclamation, médiation</a>' in catalogue
    sheet = client.get(f"/catalogue/{world.dume.slug}").get_data(as_text=True)
    assert "demande de médiation ?</a>" in sheet and 'href="/reclamation"' in sheet
