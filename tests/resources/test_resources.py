import io

from sqlalchemy import select

from tests.helpers import login, page
from trainingmgr.companies.models import Company
from trainingmgr.extensions import db
from trainingmgr.resources.models import Location, Trainer

PDF = b"%PDF-1.4\n" + b"x" * 100


def test_location_form_rules(client, users):
    login(client, "conseil@test.example")
    response = client.post("/locations/new", data={"name": "Salle", "capacity": "abc"})
    assert response.status_code == 422
    text = page(response)
    assert "Saisissez un nombre entier." in text
    assert "La ville est obligatoire pour un lieu physique." in text
    response = client.post("/locations/new", data={"name": "Salle", "city": "Toulouse", "capacity": "0"})
    assert "au moins 1 personne" in page(response)
    response = client.post("/locations/new", data={"name": "Visio", "is_remote": "y", "meeting_url": "ftp://x"})
    assert "https://" in page(response)
    assert db.session.scalar(select(Location)) is None
    response = client.post("/locations/new", data={"name": "Visio", "is_remote": "y",
                                                   "meeting_url": "https://visio.example.com/a", "active": "y"})
    assert response.status_code == 302
    response = client.post("/locations/new", data={"name": "Salle A", "city": "Toulouse", "capacity": "12",
                                                   "wheelchair_access": "y", "active": "y"})
    assert response.status_code == 302
    room = db.session.scalar(select(Location).where(Location.name == "Salle A"))
    assert (room.capacity, room.wheelchair_access, room.is_remote) == (12, True, False)


def test_room_capacity_cannot_drop_below_a_planned_session(client, world, make_session):
    session = make_session(capacity=7)
    login(client, "conseil@test.example")
    response = client.post(f"/locations/{world.room.id}", data={"name": world.room.name, "city": "Toulouse",
                                                               "capacity": "5", "active": "y"})
    assert response.status_code == 422
    text = page(response)
    assert f"n° {session.id}" in text and "réduisez d'abord sa capacité" in text
    db.session.refresh(world.room)
    assert world.room.capacity == 10


def test_trainer_form_rules_and_cv(client, users):
    login(client, "conseil@test.example")
    response = client.post("/trainers/new", data={"first_name": "Jean", "last_name": "Dupont", "email": "jean@",
                                                  "status": "organisation", "company_siret": "12345678901234"})
    assert response.status_code == 422
    text = page(response)
    assert "Cette adresse e-mail n'est pas valide." in text
    assert "clé de contrôle incorrecte" in text
    assert "Indiquez la raison sociale de l'organisme sous-traitant." in text
    bad_cv = {"first_name": "Jean", "last_name": "Dupont", "cv": (io.BytesIO(b"MZ\x90\x00"), "cv.pdf")}
    response = client.post("/trainers/new", data=bad_cv, content_type="multipart/form-data")
    assert "Format de fichier non accepté" in page(response)
    assert db.session.scalar(select(Trainer)) is None
    good = {"first_name": "Jean", "last_name": "Dupont", "email": "Jean@Example.com", "status": "organisation",
            "company_name": "Dupont Conseil", "company_siret": "443 061 841 00021", "active": "y",
            "user_id": str(users["trainer"].id), "cv": (io.BytesIO(PDF), "cv-jean.pdf")}
    response = client.post("/trainers/new", data=good, content_type="multipart/form-data")
    assert response.status_code == 302, page(response)
    trainer = db.session.scalar(select(Trainer))
    assert (trainer.email, trainer.company_siret, trainer.user_id) == ("jean@example.com", "44306184100021",
                                                                       users["trainer"].id)
    cv = client.get(f"/files/{trainer.cv_id}")
    assert cv.status_code == 200 and cv.data == PDF
    # A trainer account cannot download CVs.
    client.post("/logout")
    login(client, "formateur@test.example")
    assert client.get(f"/files/{trainer.cv_id}").status_code == 403


def test_a_trainer_account_links_to_one_trainer_only(client, world):
    login(client, "conseil@test.example")
    response = client.post("/trainers/new", data={"first_name": "X", "last_name": "Y",
                                                  "user_id": str(world.users["trainer"].id)})
    assert response.status_code == 422
    assert "pas un compte formateur disponible" in page(response)
    response = client.post("/trainers/new", data={"first_name": "X", "last_name": "Y", "user_id": "abc"})
    assert response.status_code == 422


def test_resources_screens_are_for_staff(client, world):
    login(client, "formateur@test.example")
    for url in ("/locations/", "/locations/new", "/trainers/", f"/trainers/{world.pierre.id}", "/companies/"):
        assert client.get(url).status_code == 403, url
    client.post("/logout")
    assert client.get("/trainers/").status_code == 302


def test_company_siret_is_checked_and_unique(client, world):
    login(client, "conseil@test.example")
    response = client.post("/companies/new", data={"name": "ACME", "siret": "44306184100022"})
    assert response.status_code == 422
    assert "clé de contrôle incorrecte" in page(response)
    response = client.post("/companies/new", data={"name": "Doublon", "siret": "44306184100021"})
    assert response.status_code == 409  # the SIRET of another company: a conflict
    assert "déjà celui de l'entreprise" in page(response)
    response = client.post("/companies/new", data={"name": "", "siret": ""})
    assert response.status_code == 422
    assert db.session.scalar(select(Company).where(Company.name.in_(["ACME", "Doublon"]))) is None
    assert client.post("/companies/new", data={"name": "Sans SIRET"}).status_code == 302


def test_unknown_ids_are_404(client, users):
    login(client, "conseil@test.example")
    for url in ("/locations/999", "/trainers/999", "/companies/999", "/files/999"):
        assert client.get(url).status_code == 404, url
