"""The advisor's trainee pages: list and search, create and edit (French messages beside the fields, 4xx,
nothing saved), the same e-mail refused for a second record (409), the enrolments listed on the record."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from trainingmgr.enrolments import services as enrolments
from trainingmgr.extensions import db
from trainingmgr.trainees.models import Trainee

from tests.catalogue.pagetools import page_of
from tests.enrolments.support import assert_refused, count, fresh
from tests.helpers import page


def form(**over) -> dict:
    data = {"civility": "Mme", "first_name": "Léa", "last_name": "Martin", "email": "Lea.Martin@Exemple.fr",
            "phone": "05 61 00 00 00", "job_title": "Acheteuse", "company_id": "", "bpf_status": "employee",
            "accessibility_needs": "Boucle magnétique", "consent": "y"}
    data.update(over)
    return {k: v for k, v in data.items() if v is not None}


def only_trainee() -> Trainee:
    db.session.expire_all()
    (trainee,) = db.session.scalars(select(Trainee)).all()
    return trainee


def test_create_a_trainee_through_the_page(advisor, world):
    tree = page_of(advisor.get("/trainees/new"))
    companies = [o.text for o in tree.find("select", id="company_id").find_all("option")]
    assert companies == ["— aucune (particulier) —", "Cabinet d'architecture Dupont"]
    response = advisor.post("/trainees/new", data=form(company_id=str(world.company.id)))
    assert response.status_code == 302, page(response)[:3000]
    trainee = only_trainee()
    assert response.headers["Location"].endswith(f"/trainees/{trainee.id}")
    assert (trainee.civility, trainee.first_name, trainee.email, trainee.company_id, trainee.bpf_status) == (
        "Mme", "Léa", "lea.martin@exemple.fr", world.company.id, "employee")
    assert trainee.accessibility_needs == "Boucle magnétique"
    assert trainee.consent_at is not None
    text = page(advisor.get(f"/trainees/{trainee.id}"))
    assert "Fiche de Léa Martin enregistrée." in text
    assert "Accord donné le" in text


def test_the_record_page_is_prefilled(advisor, world, new_trainee):
    trainee = new_trainee(1, company_id=world.company.id, accessibility_needs="LSF", consent=True)
    tree = page_of(advisor.get(f"/trainees/{trainee.id}"))
    assert tree.find("input", id="email").attrs["value"] == "p01@exemple.fr"
    assert tree.find("select", id="company_id").find("option", selected=True).attrs["value"] == str(world.company.id)
    assert tree.find("textarea", id="accessibility_needs").text == "LSF"
    assert "checked" in tree.find("input", id="consent").attrs


def test_edit_a_trainee_through_the_page(advisor, world, new_trainee):
    trainee = new_trainee(1, company_id=world.company.id)
    response = advisor.post(f"/trainees/{trainee.id}", data=form(email="p01@exemple.fr", company_id="",
                                                                 bpf_status="individual"))
    assert response.status_code == 302
    trainee = fresh(Trainee, trainee.id)
    assert (trainee.first_name, trainee.company_id, trainee.bpf_status) == ("Léa", None, "individual")


@pytest.mark.parametrize("over, fields", [
    ({"email": "lea.martin@"}, {"email": "Cette adresse e-mail n'est pas valide."}),
    ({"email": ""}, {"email": "Ce champ est requis."}),
    ({"first_name": ""}, {"first_name": "Ce champ est requis."}),
    ({"last_name": "M" * 81}, {"last_name": "Ce champ ne doit pas dépasser 80 caractères."}),
    ({"phone": "0" * 41}, {"phone": "Ce champ ne doit pas dépasser 40 caractères."}),
    ({"job_title": "j" * 121}, {"job_title": "Ce champ ne doit pas dépasser 120 caractères."}),
    ({"accessibility_needs": "a" * 20001}, {"accessibility_needs": "Ce champ ne doit pas dépasser 20000 caractères."}),
    ({"email": "e" * 250 + "@x.fr"}, {"email": "Ce champ ne doit pas dépasser 254 caractères."}),
    ({"civility": "Dr"}, {"civility": "N'est pas un choix valide."}),
    ({"bpf_status": "retraité"}, {"bpf_status": "N'est pas un choix valide."}),
    ({"company_id": "999999"}, {"company_id": "Entreprise introuvable."}),
    ({"company_id": "abc"}, {"company_id": "Entreprise introuvable."}),
    ({"company_id": "99999999999999999999"}, {"company_id": "Entreprise introuvable."}),
])
def test_trainee_form_bad_input(advisor, world, over, fields):
    response = advisor.post("/trainees/new", data=form(**over))
    assert_refused(response, 422, fields=fields)
    assert count(Trainee) == 0
    if "last_name" not in over:
        assert page_of(response).find("input", id="last_name").attrs["value"] == "Martin"  # what was typed


def test_a_second_record_for_the_same_email_is_409_beside_the_email(advisor, world, new_trainee):
    trainee = new_trainee(1)
    response = advisor.post("/trainees/new", data=form(email="P01@exemple.fr"))
    assert_refused(response, 409, fields={
        "email": "Cette adresse est déjà celle de Prénom01 Nom01 : ouvrez sa fiche plutôt que d'en créer une seconde."})
    assert count(Trainee) == 1
    other = new_trainee(2)
    response = advisor.post(f"/trainees/{other.id}", data=form(email=trainee.email))
    assert response.status_code == 409
    assert fresh(Trainee, other.id).email == "p02@exemple.fr"


def test_the_record_lists_the_enrolments(advisor, world, new_trainee, dume_session):
    trainee = new_trainee(1)
    enrolment = enrolments.enrol(dume_session, trainee)
    db.session.commit()
    tree = page_of(advisor.get(f"/trainees/{trainee.id}"))
    link = tree.find("a", href=f"/enrolments/{enrolment.id}")
    assert link is not None and "Marchés publics : DUME et Chorus Pro" in link.text
    assert "Confirmée" in link.parent.text


def test_list_and_search(advisor, world, new_trainee):
    new_trainee(1, last_name="Martin", accessibility_needs="LSF")
    new_trainee(2, last_name="Esteve")
    text = page(advisor.get("/trainees/"))
    assert "Martin" in text and "Esteve" in text
    text = page(advisor.get("/trainees/?q=mart"))
    assert "Martin" in text and "Esteve" not in text
    assert "Aucun stagiaire pour cette recherche." in page(advisor.get("/trainees/?q=" + "z" * 500))


def test_unknown_trainee_is_404(advisor, world):
    assert advisor.get("/trainees/999999").status_code == 404
    assert advisor.post("/trainees/999999", data=form()).status_code == 404
    # An id beyond the database's integers names no record either: never the "new trainee" form.
    assert advisor.get("/trainees/99999999999999999999").status_code == 404
    assert advisor.post("/trainees/99999999999999999999", data=form()).status_code == 404
    assert count(Trainee) == 0


def test_trainee_form_without_csrf_token_is_refused(advisor, world):
    assert advisor.post("/trainees/new", data=form(), csrf=False).status_code == 400
    assert count(Trainee) == 0
