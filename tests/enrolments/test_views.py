"""The advisor's enrolment pages: enrol, decide, cancel, mark the outcome; the session page's enrolments section;
who may see what; bad input answered in French beside the field, 4xx, nothing saved, never a 500."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from trainingmgr.enrolments import services
from trainingmgr.enrolments.models import Enrolment, EnrolmentEvent, FundingLine
from trainingmgr.extensions import db
from trainingmgr.trainees.models import Trainee

from tests.catalogue.pagetools import page_of
from tests.enrolments.support import (
    assert_refused,
    convocation_planned,
    count,
    event_kinds,
    fresh,
    person,
    recipients,
    statuses,
)
from tests.helpers import page


def enrol(session, trainee, **kwargs):
    enrolment = services.enrol(session, trainee, **kwargs)
    db.session.commit()
    return enrolment


def new_form(**over) -> dict:
    data = {"trainee_id": "", "civility": "M.", "first_name": "Jean", "last_name": "Durand",
            "email": "jean.durand@exemple.fr", "phone": "0600000000", "job_title": "Comptable",
            "bpf_status": "employee", "company_search": ""}
    data.update(over)
    return data


# --------------------------------------------------------------------------- enrolling from the session page


def test_enrol_page_lists_trainees_and_companies(advisor, world, dume_session, new_trainee):
    new_trainee(1)
    response = advisor.get(f"/sessions/{dume_session.id}/enrolments/new")
    assert response.status_code == 200
    tree = page_of(response)
    # Trainees are searched (issue 22): a text field with suggestions from /trainees/search.json, not a <select>.
    assert tree.find("input", id="trainee_search").attrs["list"] == "trainee-suggestions"
    found = advisor.get(tree.find("datalist", id="trainee-suggestions").attrs["data-url"], query_string={"q": "nom01"})
    options = [t["label"] for t in found.get_json()["trainees"]]
    assert "Nom01 Prénom01 <p01@exemple.fr>" in options
    # Companies too (issue 22): /companies/search.json, each « Nom (SIRET) ».
    assert tree.find("input", id="company_search").attrs["list"] == "company-suggestions"
    found = advisor.get(tree.find("datalist", id="company-suggestions").attrs["data-url"], query_string={"q": "dupont"})
    assert "Cabinet d'architecture Dupont (44306184100021)" in [c["label"] for c in found.get_json()["companies"]]
    assert "Inscrire un stagiaire" in page_of(advisor.get(f"/sessions/{dume_session.id}")).text


def test_enrol_a_new_trainee_through_the_page(advisor, world, dume_session):
    response = advisor.post(f"/sessions/{dume_session.id}/enrolments/new",
                            data=new_form(company_search="Cabinet d'architecture Dupont (44306184100021)"))
    assert response.status_code == 302, page(response)[:3000]
    assert response.headers["Location"].endswith(f"/sessions/{dume_session.id}")
    trainee = db.session.scalar(select(Trainee).where(Trainee.email == "jean.durand@exemple.fr"))
    assert (trainee.civility, trainee.job_title, trainee.company_id) == ("M.", "Comptable", world.company.id)
    (enrolment,) = db.session.scalars(select(Enrolment)).all()
    assert (enrolment.status, enrolment.company_id, enrolment.trainee_id) == ("confirmed", world.company.id,
                                                                              trainee.id)
    assert "Jean Durand : confirmée." in page(advisor.get(f"/sessions/{dume_session.id}"))


def test_enrol_an_existing_trainee_by_choosing_them(advisor, world, chorus_session, new_trainee):
    trainee = new_trainee(1)
    response = advisor.post(f"/sessions/{chorus_session.id}/enrolments/new",
                            data=new_form(trainee_id=str(trainee.id), first_name="", email=""))
    assert response.status_code == 302, page(response)[:3000]
    assert statuses(chorus_session) == [("p01@exemple.fr", "pending_prerequisite", None)]
    assert count(Trainee) == 1


def test_typing_a_known_email_enrols_the_same_person(advisor, world, dume_session, new_trainee):
    trainee = new_trainee(1, phone="", job_title="Architecte")
    response = advisor.post(f"/sessions/{dume_session.id}/enrolments/new",
                            data=new_form(first_name="Autre", last_name="Nom", email="P01@Exemple.FR",
                                          phone="0700000000", job_title="Stagiaire"))
    assert response.status_code == 302
    assert count(Trainee) == 1
    trainee = fresh(Trainee, trainee.id)
    # Same e-mail, same person: what the advisor recorded stays, only the missing phone is added.
    assert (trainee.first_name, trainee.last_name, trainee.job_title, trainee.phone) == (
        "Prénom01", "Nom01", "Architecte", "0700000000")
    assert statuses(dume_session) == [("p01@exemple.fr", "confirmed", None)]


def test_enrolling_twice_is_a_conflict_on_the_page(advisor, world, dume_session, new_trainee):
    trainee = new_trainee(1)
    enrol(dume_session, trainee)
    response = advisor.post(f"/sessions/{dume_session.id}/enrolments/new", data=new_form(trainee_id=str(trainee.id)))
    assert_refused(response, 409, fields={
        "trainee_search": "Prénom01 Nom01 est déjà inscrit(e) à cette session (confirmée)."})
    assert count(Enrolment) == 1


@pytest.mark.parametrize("over, fields", [
    ({"email": "jean.durand@"}, {"email": "Cette adresse e-mail n'est pas valide."}),
    ({"email": ""}, {"email": "L'adresse e-mail est obligatoire."}),
    ({"first_name": ""}, {"first_name": "Le prénom est obligatoire."}),
    ({"last_name": "D" * 81}, {"last_name": "Ce champ ne doit pas dépasser 80 caractères."}),
    ({"job_title": "J" * 121}, {"job_title": "Ce champ ne doit pas dépasser 120 caractères."}),
    ({"bpf_status": "retraité"}, {"bpf_status": "N'est pas un choix valide."}),
    ({"civility": "Dr"}, {"civility": "N'est pas un choix valide."}),
    ({"trainee_id": "999999"}, {"trainee_search": "Stagiaire introuvable."}),
    ({"trainee_id": "abc"}, {"trainee_search": "Stagiaire introuvable."}),
    ({"trainee_id": "99999999999999999999"}, {"trainee_search": "Stagiaire introuvable."}),
    ({"company_id": "999999"}, {"company_search": "Entreprise introuvable."}),
    ({"company_id": "-3"}, {"company_search": "Entreprise introuvable."}),
])
def test_enrol_form_bad_input(advisor, world, dume_session, over, fields):
    response = advisor.post(f"/sessions/{dume_session.id}/enrolments/new", data=new_form(**over))
    assert_refused(response, 422, fields=fields)
    assert count(Enrolment) == 0
    assert count(Trainee) == 0
    # What was typed is kept.
    if "first_name" not in over:
        assert page_of(response).find("input", id="first_name").attrs["value"] == "Jean"


def test_enrolling_in_a_draft_session_is_refused(advisor, world, make_session):
    session = make_session(course=world.dume)
    response = advisor.post(f"/sessions/{session.id}/enrolments/new", data=new_form())
    assert_refused(response, 422, "n'accepte pas d'inscription")
    assert count(Enrolment) == 0 and count(Trainee) == 0


def test_enrol_page_of_an_unknown_session_is_404(advisor, world):
    assert advisor.get("/sessions/999999/enrolments/new").status_code == 404
    assert advisor.post("/sessions/999999/enrolments/new", data=new_form()).status_code == 404


def test_enrol_without_csrf_token_is_refused(advisor, world, dume_session):
    response = advisor.post(f"/sessions/{dume_session.id}/enrolments/new", data=new_form(), csrf=False)
    assert response.status_code == 400
    assert count(Enrolment) == 0


# --------------------------------------------------------------------------- the enrolment page and its actions


def test_enrolment_page(advisor, world, chorus_session, new_trainee):
    trainee = new_trainee(1, accessibility_needs="Boucle magnétique", company_id=world.company.id)
    enrolment = enrol(chorus_session, trainee, actor=world.users["advisor"])
    response = advisor.get(f"/enrolments/{enrolment.id}")
    assert response.status_code == 200
    text = page(response)
    tree = page_of(response)
    assert tree.find("span", data_status="pending_prerequisite").text == "En attente de validation des prérequis"
    assert "Boucle magnétique" in text
    assert "Cabinet d'architecture Dupont" in text
    assert "À prendre avant toute confirmation" in tree.find(data_field="decision").text
    assert "Camille Conseil" in text  # the history names who did what
    assert "/t/" in tree.find("input", readonly=True).attrs["value"]  # the personal link


def test_decision_through_the_page(advisor, world, chorus_session, new_trainee):
    enrolment = enrol(chorus_session, new_trainee(1))
    response = advisor.post(f"/enrolments/{enrolment.id}/decision",
                            data={"decision": "admitted_with_adaptation", "comment": "Supports agrandis"})
    assert response.status_code == 302, page(response)[:3000]
    enrolment = fresh(Enrolment, enrolment.id)
    assert (enrolment.status, enrolment.positioning_decision) == ("confirmed", "admitted_with_adaptation")
    assert convocation_planned(enrolment)
    decision = page_of(advisor.get(f"/enrolments/{enrolment.id}")).find(data_field="decision").text
    assert decision.startswith("Admis avec adaptation le ") and decision.endswith(": Supports agrandis")


@pytest.mark.parametrize("data, fields", [
    ({"decision": "admitted_with_adaptation", "comment": ""},
     {"comment": "Expliquez l'adaptation prévue ou la réorientation proposée."}),
    ({"decision": "redirected", "comment": " "},
     {"comment": "Expliquez l'adaptation prévue ou la réorientation proposée."}),
    ({"decision": "peut-être", "comment": "x"}, {"decision": "N'est pas un choix valide."}),
    ({"decision": "admitted", "comment": "c" * 5001}, {"comment": "Ce champ ne doit pas dépasser 5000 caractères."}),
])
def test_decision_form_bad_input(advisor, world, chorus_session, new_trainee, data, fields):
    enrolment = enrol(chorus_session, new_trainee(1))
    events_before = len(event_kinds(enrolment))
    response = advisor.post(f"/enrolments/{enrolment.id}/decision", data=data)
    assert_refused(response, 422, fields=fields)
    enrolment = fresh(Enrolment, enrolment.id)
    assert (enrolment.status, enrolment.positioning_decision) == ("pending_prerequisite", None)
    assert len(event_kinds(enrolment)) == events_before


def test_decision_on_a_cancelled_enrolment_is_409_on_the_page(advisor, world, chorus_session, new_trainee):
    enrolment = enrol(chorus_session, new_trainee(1))
    services.cancel(enrolment, world.users["advisor"], "Désistement")
    db.session.commit()
    response = advisor.post(f"/enrolments/{enrolment.id}/decision", data={"decision": "admitted", "comment": ""})
    assert_refused(response, 409, "L'inscription est « annulée » : la décision n'a plus lieu d'être.")
    assert fresh(Enrolment, enrolment.id).positioning_decision is None


def test_cancel_through_the_page_promotes(advisor, world, open_session, new_trainee):
    session = open_session(course=world.dume, capacity=1)
    first = enrol(session, new_trainee(1))
    enrol(session, new_trainee(2))
    response = advisor.post(f"/enrolments/{first.id}/cancel", data={"reason": "Arrêt maladie"})
    assert response.status_code == 302
    assert statuses(session) == [("p01@exemple.fr", "cancelled", None), ("p02@exemple.fr", "confirmed", None)]
    first = fresh(Enrolment, first.id)
    assert (first.cancel_reason, first.cancelled_by_id) == ("Arrêt maladie", world.users["advisor"].id)
    text = page(advisor.get(f"/enrolments/{first.id}"))
    assert "Annulée" in text and "Arrêt maladie" in text
    assert "Annuler l'inscription" not in text  # no more action on a cancelled enrolment


@pytest.mark.parametrize("reason, message", [
    ("", "Ce champ est requis."),
    ("ab", "Indiquez le motif de l'annulation."),
    ("r" * 5001, "Ce champ ne doit pas dépasser 5000 caractères."),
])
def test_cancel_form_bad_input(advisor, world, dume_session, new_trainee, reason, message):
    enrolment = enrol(dume_session, new_trainee(1))
    response = advisor.post(f"/enrolments/{enrolment.id}/cancel", data={"reason": reason})
    assert_refused(response, 422, fields={"reason": message})
    assert fresh(Enrolment, enrolment.id).status == "confirmed"


def test_cancelling_a_cancelled_enrolment_is_409_on_the_page(advisor, world, dume_session, new_trainee):
    enrolment = enrol(dume_session, new_trainee(1))
    assert advisor.post(f"/enrolments/{enrolment.id}/cancel", data={"reason": "Doublon"}).status_code == 302
    response = advisor.post(f"/enrolments/{enrolment.id}/cancel", data={"reason": "Encore"})
    assert_refused(response, 409, "Une inscription « annulée » ne peut pas être annulée.")
    assert fresh(Enrolment, enrolment.id).cancel_reason == "Doublon"
    assert count(EnrolmentEvent, EnrolmentEvent.to_status == "cancelled") == 1


def test_outcome_through_the_page(advisor, world, dume_session, new_trainee):
    enrolment = enrol(dume_session, new_trainee(1))
    response = advisor.post(f"/enrolments/{enrolment.id}/outcome", data={"status": "completed"})
    assert_refused(response, 409, "Le bilan des inscriptions se fait une fois la session commencée.")
    assert fresh(Enrolment, enrolment.id).status == "confirmed"
    dume_session.status = "in_progress"
    db.session.commit()
    tree = page_of(advisor.get(f"/enrolments/{enrolment.id}"))
    assert "Bilan" in tree.text
    response = advisor.post(f"/enrolments/{enrolment.id}/outcome", data={"status": "no_show"})
    assert response.status_code == 302
    assert fresh(Enrolment, enrolment.id).status == "no_show"
    for bad in ("", "cancelled", "x" * 300):
        response = advisor.post(f"/enrolments/{enrolment.id}/outcome", data={"status": bad})
        assert response.status_code == 422
    assert fresh(Enrolment, enrolment.id).status == "no_show"


@pytest.mark.parametrize("path", ["/enrolments/999999", "/enrolments/0", "/enrolments/99999999999999"])
def test_unknown_enrolment_is_404(advisor, world, path):
    assert advisor.get(path).status_code == 404
    for action in ("cancel", "decision", "outcome", "accept"):
        assert advisor.post(f"{path}/{action}", data={"reason": "xyz", "decision": "admitted"}).status_code == 404


def test_nul_characters_are_refused(advisor, world, dume_session, new_trainee):
    enrolment = enrol(dume_session, new_trainee(1))
    response = advisor.post(f"/enrolments/{enrolment.id}/cancel", data={"reason": "motif\x00"})
    assert response.status_code == 400
    assert fresh(Enrolment, enrolment.id).status == "confirmed"


# --------------------------------------------------------------------------- the session page


def test_session_page_lists_enrolments_waiting_list_and_funding_for_the_advisor(advisor, world, open_session,
                                                                                new_trainee):
    session = open_session(course=world.dume, capacity=1)
    seated = enrol(session, new_trainee(1, accessibility_needs="Fauteuil roulant"))
    waiting = enrol(session, new_trainee(2))
    tree = page_of(advisor.get(f"/sessions/{session.id}"))
    table = tree.find("table", data_table="enrolments")
    assert "Financement" in table.find("thead").text
    assert tree.find(data_field="seats").text.startswith("1 inscrit / 1")
    row = table.find("tr", data_enrolment=str(seated.id))
    assert "Fauteuil roulant" in row.find(data_field="accessibility").text
    assert "reste" in row.text
    row = table.find("tr", data_enrolment=str(waiting.id))
    assert row.find("span", data_status="waitlisted").text == "Liste d'attente (n° 1)"


def test_trainer_sees_confirmed_trainees_and_needs_but_not_the_waiting_list_nor_funding(
        trainer, trainer2, world, open_session, new_trainee):
    session = open_session(course=world.dume, capacity=1)
    seated = enrol(session, new_trainee(1, accessibility_needs="Malentendant : boucle magnétique"))
    waiting = enrol(session, new_trainee(2, accessibility_needs="Secret"))
    services.save_funding_line(seated, None, {"kind": "company", "amount": "600"})
    requested, _ = services.request_enrolment(session, {**person(3), "consent": True})
    db.session.commit()
    response = trainer.get(f"/sessions/{session.id}")
    assert response.status_code == 200
    tree = page_of(response)
    table = tree.find("table", data_table="enrolments")
    assert "Prénom01 Nom01" in table.text
    assert "Malentendant : boucle magnétique" in table.text
    assert table.find("tr", data_enrolment=str(waiting.id)) is None
    assert table.find("tr", data_enrolment=str(requested.id)) is None
    assert "Prénom02" not in tree.text and "Secret" not in tree.text and "Prénom03" not in tree.text
    assert "Financement" not in table.text and "couvert" not in table.text
    assert f"/enrolments/{seated.id}" not in page(response)  # no link to the advisor's page
    # A trainer who does not teach the session does not see it.
    assert trainer2.get(f"/sessions/{session.id}").status_code == 403


def test_cancelling_the_session_from_its_page_cancels_the_enrolments(advisor, world, open_session, new_trainee):
    session = open_session(course=world.dume, capacity=1)
    enrol(session, new_trainee(1))
    enrol(session, new_trainee(2))
    response = advisor.post(f"/sessions/{session.id}/status", data={"status": "cancelled",
                                                                     "cancel_reason": "Salle indisponible"})
    assert response.status_code == 302
    assert [s[1] for s in statuses(session)] == ["cancelled", "cancelled"]
    text = page(advisor.get(f"/sessions/{session.id}"))
    assert "Salle indisponible" in page_of(advisor.get(f"/sessions/{session.id}")).find(class_="alert-danger").text
    assert "Inscrire un stagiaire" not in text
    assert recipients("session_cancelled") == ["p01@exemple.fr", "p02@exemple.fr"]


def test_raising_the_capacity_from_the_edit_page_promotes(advisor, world, open_session, new_trainee):
    session = open_session(course=world.dume, capacity=1)
    enrol(session, new_trainee(1))
    enrol(session, new_trainee(2))
    edit = page_of(advisor.get(f"/sessions/{session.id}/edit"))
    from tests.catalogue.pagetools import browser_form_data

    data = browser_form_data(edit)
    data["capacity"] = "2"
    data["trainer_ids"] = str(world.pierre.id)
    response = advisor.post(f"/sessions/{session.id}/edit", data=data)
    assert response.status_code == 302, page(response)[:3000]
    assert [s[1] for s in statuses(session)] == ["confirmed", "confirmed"]


# --------------------------------------------------------------------------- permissions


def advisor_urls(session, enrolment, line) -> list[tuple[str, str]]:
    return [
        ("GET", f"/sessions/{session.id}/enrolments/new"), ("POST", f"/sessions/{session.id}/enrolments/new"),
        ("GET", f"/enrolments/{enrolment.id}"), ("POST", f"/enrolments/{enrolment.id}/accept"),
        ("POST", f"/enrolments/{enrolment.id}/decision"), ("POST", f"/enrolments/{enrolment.id}/cancel"),
        ("POST", f"/enrolments/{enrolment.id}/outcome"), ("GET", f"/enrolments/{enrolment.id}/funding/new"),
        ("POST", f"/enrolments/{enrolment.id}/funding/new"),
        ("GET", f"/enrolments/{enrolment.id}/funding/{line.id}"),
        ("POST", f"/enrolments/{enrolment.id}/funding/{line.id}/delete"), ("GET", "/enrolments/requests"),
        ("GET", "/funding"), ("GET", "/trainees/"), ("GET", "/trainees/new"), ("POST", "/trainees/new"),
        ("GET", f"/trainees/{enrolment.trainee_id}"), ("POST", f"/trainees/{enrolment.trainee_id}/merge"),
        ("GET", "/companies/"), ("GET", "/companies/new"), ("POST", "/companies/new"),
        ("GET", f"/companies/{enrolment.company_id}"), ("POST", f"/companies/{enrolment.company_id}/contacts"),
    ]


@pytest.fixture
def enrolled(world, dume_session, new_trainee):
    enrolment = enrol(dume_session, new_trainee(1, company_id=world.company.id))
    line = services.save_funding_line(enrolment, None, {"kind": "company", "amount": "600"})
    db.session.commit()
    return dume_session, enrolment, line


def _call(client, method, url):
    data = {"reason": "Motif", "decision": "admitted", "status": "completed", "kind": "company", "amount": "1",
            "name": "X", **person(7)}
    return client.get(url) if method == "GET" else client.post(url, data=data)


def test_anonymous_is_sent_to_login(client, world, enrolled):
    for method, url in advisor_urls(*enrolled):
        response = _call(client, method, url)
        assert response.status_code == 302, (method, url, response.status_code)
        assert "/login" in response.headers["Location"], (method, url)
    assert count(Trainee) == 1 and count(FundingLine) == 1


def test_a_trainer_is_refused_every_advisor_page(trainer, world, enrolled):
    session, enrolment, line = enrolled
    for method, url in advisor_urls(*enrolled):
        response = _call(trainer, method, url)
        assert response.status_code == 403, (method, url, response.status_code)
    assert fresh(Enrolment, enrolment.id).status == "confirmed"
    assert count(Trainee) == 1 and count(FundingLine) == 1


def test_the_admin_may_do_what_the_advisor_does(admin, world, enrolled):
    session, enrolment, line = enrolled
    assert admin.get(f"/enrolments/{enrolment.id}").status_code == 200
    assert admin.get("/funding").status_code == 200
    assert admin.post(f"/enrolments/{enrolment.id}/cancel", data={"reason": "Par l'admin"}).status_code == 302
    assert fresh(Enrolment, enrolment.id).cancelled_by_id == world.users["admin"].id
