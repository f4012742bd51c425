"""Trainee records through the services: the fields and their checks, one person per e-mail address
(find_or_create_trainee never overwrites what the advisor recorded; save_trainee refuses a second record)."""
from __future__ import annotations

import pytest

from trainingmgr.core.errors import ConflictError, ValidationError
from trainingmgr.extensions import db
from trainingmgr.trainees.models import BPF_STATUSES, CIVILITIES, Trainee
from trainingmgr.trainees.services import find_or_create_trainee, list_trainees, save_trainee

from tests.enrolments.support import count, fresh

LEA = {"civility": "Mme", "first_name": " Léa ", "last_name": "Martin", "email": " Lea.Martin@Exemple.FR ",
       "phone": "05 61 00 00 00", "job_title": "Acheteuse publique", "bpf_status": "other",
       "accessibility_needs": "Boucle magnétique", "consent": True}


def create(data: dict) -> Trainee:
    trainee = save_trainee(None, data)
    db.session.commit()
    return fresh(Trainee, trainee.id)


def refused(data: dict, trainee: Trainee | None = None) -> dict[str, list[str]]:
    before = count(Trainee)
    with pytest.raises(ValidationError) as error:
        save_trainee(trainee, data)
    db.session.rollback()
    assert count(Trainee) == before
    return error.value.fields


def test_every_field_is_recorded(world):
    trainee = create({**LEA, "company_id": world.company.id})
    assert (trainee.civility, trainee.first_name, trainee.last_name, trainee.email) == (
        "Mme", "Léa", "Martin", "lea.martin@exemple.fr")
    assert (trainee.phone, trainee.job_title, trainee.bpf_status, trainee.accessibility_needs) == (
        "05 61 00 00 00", "Acheteuse publique", "other", "Boucle magnétique")
    assert trainee.company_id == world.company.id
    assert trainee.consent_at is not None
    assert (trainee.full_name, trainee.display_name) == ("Léa Martin", "Mme Léa Martin")
    assert trainee.bpf_status_label == "Autre (agent public…)"


def test_choices_are_the_documented_ones():
    assert set(CIVILITIES) == {"", "Mme", "M."}
    assert set(BPF_STATUSES) == {"employee", "job_seeker", "self_employed", "individual", "other"}


def test_no_company_and_no_consent(app):
    trainee = create({**LEA, "consent": False, "bpf_status": "job_seeker"})
    assert (trainee.company_id, trainee.consent_at, trainee.bpf_status) == (None, None, "job_seeker")
    # Consent given later is dated then; withdrawing the box later does not erase the date.
    save_trainee(trainee, {**LEA, "consent": True})
    db.session.commit()
    consented = fresh(Trainee, trainee.id).consent_at
    assert consented is not None
    save_trainee(fresh(Trainee, trainee.id), {**LEA, "consent": False})
    db.session.commit()
    assert fresh(Trainee, trainee.id).consent_at == consented


@pytest.mark.parametrize("over, fields", [
    ({"email": "lea.martin"}, {"email": ["Cette adresse e-mail n'est pas valide."]}),
    ({"email": "lea@@exemple.fr"}, {"email": ["Cette adresse e-mail n'est pas valide."]}),
    ({"email": "lea martin@exemple.fr"}, {"email": ["Cette adresse e-mail n'est pas valide."]}),
    ({"email": ""}, {"email": ["L'adresse e-mail est obligatoire."]}),
    ({"email": None}, {"email": ["L'adresse e-mail est obligatoire."]}),
    ({"first_name": ""}, {"first_name": ["Le prénom est obligatoire."]}),
    ({"last_name": "  "}, {"last_name": ["Le nom est obligatoire."]}),
    ({"civility": "Dr"}, {"civility": ["Civilité inconnue : « Mme », « M. » ou rien."]}),
    ({"bpf_status": "retraité"}, {"bpf_status": ["Statut inconnu."]}),
    ({"company_id": 999999}, {"company_id": ["Entreprise introuvable."]}),
    ({"company_id": "abc"}, {"company_id": ["Entreprise introuvable."]}),
    ({"company_id": 2**40}, {"company_id": ["Entreprise introuvable."]}),
    ({"first_name": "L" * 81}, {"first_name": ["Ce champ ne doit pas dépasser 80 caractères."]}),
    ({"phone": "0" * 41}, {"phone": ["Ce champ ne doit pas dépasser 40 caractères."]}),
    ({"job_title": "j" * 121}, {"job_title": ["Ce champ ne doit pas dépasser 120 caractères."]}),
    ({"accessibility_needs": "a" * 20001}, {"accessibility_needs": ["Ce champ ne doit pas dépasser 20000 caractères."]}),
])
def test_bad_input_is_refused(world, over, fields):
    assert refused({**LEA, **over}) == fields


def test_every_error_at_once(app):
    fields = refused({"email": "x", "first_name": "", "last_name": "", "civility": "?", "bpf_status": "?"})
    assert set(fields) == {"email", "first_name", "last_name", "civility", "bpf_status"}


def test_a_second_record_for_the_same_email_is_refused(app):
    first = create(LEA)
    with pytest.raises(ConflictError) as error:
        save_trainee(None, {**LEA, "first_name": "Léa-Marie", "email": "LEA.MARTIN@exemple.fr"})
    db.session.rollback()
    assert error.value.status_code == 409
    assert error.value.fields == {"email": [
        "Cette adresse est déjà celle de Léa Martin : ouvrez sa fiche plutôt que d'en créer une seconde."]}
    assert count(Trainee) == 1
    # Nor may another record take that address.
    other = create({**LEA, "email": "autre@exemple.fr"})
    with pytest.raises(ConflictError):
        save_trainee(other, {**LEA, "email": "lea.martin@exemple.fr"})
    db.session.rollback()
    assert fresh(Trainee, other.id).email == "autre@exemple.fr"
    # Saving a record with its own address is fine.
    save_trainee(fresh(Trainee, first.id), {**LEA, "phone": "06"})
    db.session.commit()
    assert fresh(Trainee, first.id).phone == "06"


def test_find_or_create_returns_the_same_person_and_overwrites_nothing(world):
    recorded = create({**LEA, "phone": "", "job_title": "", "accessibility_needs": "", "company_id": None,
                       "consent": False})
    found = find_or_create_trainee({"civility": "M.", "first_name": "Autre", "last_name": "Personne",
                                    "email": "LEA.MARTIN@EXEMPLE.FR", "phone": "07 00", "job_title": "Comptable",
                                    "bpf_status": "individual", "accessibility_needs": "Rampe",
                                    "company_id": world.company.id, "consent": True})
    db.session.commit()
    assert found.id == recorded.id
    assert count(Trainee) == 1
    found = fresh(Trainee, found.id)
    # What the advisor recorded stays; what was missing is added.
    assert (found.civility, found.first_name, found.last_name, found.bpf_status) == ("Mme", "Léa", "Martin", "other")
    assert (found.phone, found.job_title, found.accessibility_needs, found.company_id) == (
        "07 00", "Comptable", "Rampe", world.company.id)
    assert found.consent_at is not None
    # A second time, the values now recorded stay.
    find_or_create_trainee({**LEA, "phone": "08", "job_title": "Autre", "accessibility_needs": "Autre besoin",
                            "company_id": None})
    db.session.commit()
    found = fresh(Trainee, found.id)
    assert (found.phone, found.job_title, found.accessibility_needs, found.company_id) == (
        "07 00", "Comptable", "Rampe", world.company.id)


def test_find_or_create_creates_a_new_person(app):
    trainee = find_or_create_trainee(LEA)
    db.session.commit()
    assert count(Trainee) == 1
    assert fresh(Trainee, trainee.id).email == "lea.martin@exemple.fr"


def test_find_or_create_still_checks_the_input(app):
    create(LEA)
    with pytest.raises(ValidationError) as error:
        find_or_create_trainee({**LEA, "first_name": ""}, prefix="trainee.")
    db.session.rollback()
    assert error.value.fields == {"trainee.first_name": ["Le prénom est obligatoire."]}


def test_list_and_search(app):
    create(LEA)
    create({**LEA, "first_name": "Paul", "last_name": "Esteve", "email": "paul@exemple.fr"})
    assert [t.last_name for t in list_trainees()] == ["Esteve", "Martin"]
    assert [t.last_name for t in list_trainees("mart")] == ["Martin"]
    assert [t.last_name for t in list_trainees("PAUL@")] == ["Esteve"]
    assert list_trainees("%") == [] and list_trainees("_") == []  # not LIKE wildcards
    create({**LEA, "first_name": "Anne_Marie", "last_name": "Dupont", "email": "anne@exemple.fr"})
    assert [t.last_name for t in list_trainees("e_m")] == ["Dupont"]
