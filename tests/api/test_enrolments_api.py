"""Enrolments, trainees and companies through the API: POST/GET /sessions/<id>/enrolments,
POST /enrolments/<id>/cancel, GET /companies, GET /trainees."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from trainingmgr.companies.models import Company
from trainingmgr.enrolments.models import Enrolment
from trainingmgr.extensions import db
from trainingmgr.sessions.services import change_status
from trainingmgr.trainees.models import Trainee

from tests.api.support import (
    API,
    FIELDS_INVALID,
    INVALID,
    NUL,
    assert_error,
    bearer,
    committed_count,
    committed_value,
    set_status,
)

NO_TOKEN = "Connectez-vous ou fournissez un jeton d'accès valide."
FORBIDDEN = "Vous n'avez pas accès à cette ressource."
NO_REASON = "Indiquez le motif de l'annulation (3 caractères au moins)."
NOT_JSON = "Envoyez le corps de la requête en JSON (Content-Type: application/json)."
ENROLMENT_KEYS = {"id", "session_id", "status", "status_label", "waitlist_position", "source", "trainee", "company",
                  "price_excl_vat", "vat_rate", "price_incl_vat", "positioning_decision", "created_at",
                  "cancelled_at", "cancel_reason"}
DUPONT_SIRET = "44306184100021"  # world.company
COLOMIERS_SIRET = "21310149600015"

LEA = {"civility": "Mme", "first_name": " Léa ", "last_name": "Martin", "email": "Lea.Martin@Exemple.FR",
       "phone": "05 61 00 00 00", "job_title": "Acheteuse publique", "bpf_status": "other",
       "accessibility_needs": "Boucle magnétique"}
COLOMIERS = {"name": "Mairie de Colomiers", "siret": "213 101 496 00015", "naf_code": "84.11Z", "opco": "AKTO",
             "headcount_band": "250+", "address": "1 place Alex Raymond", "postal_code": "31770",
             "city": "Colomiers", "is_public_buyer": True, "chorus_service_code": "SERV-FORMATION",
             "engagement_required": True}


def person(n: int, **extra) -> dict:
    return {"first_name": f"Prénom{n:02d}", "last_name": f"Nom{n:02d}", "email": f"p{n:02d}@exemple.fr", **extra}


def enrol(client, staff, session_id, **body):
    return client.post(f"{API}/sessions/{session_id}/enrolments", json=body, headers=staff)


def cancel(client, staff, enrolment_id, **body):
    return client.post(f"{API}/enrolments/{enrolment_id}/cancel", json=body, headers=staff)


def listing(client, staff, session_id) -> list[dict]:
    response = client.get(f"{API}/sessions/{session_id}/enrolments", headers=staff)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def summary(enrolments) -> list[tuple[str, str, int | None]]:
    return [(e["trainee"]["last_name"], e["status"], e["waitlist_position"]) for e in enrolments]


@pytest.fixture
def open_dume(world, make_session):
    """Open DUME sessions (no prerequisite, 600 € HT); ``open_dume(capacity=…)`` for a smaller one."""

    def factory(**extra):
        session = make_session(course=world.dume, **extra)
        change_status(session, "open", world.users["advisor"])
        db.session.commit()
        return session

    return factory


@pytest.fixture
def dume(open_dume):
    return open_dume()


def _trainee(**data) -> Trainee:
    from trainingmgr.trainees.services import save_trainee

    trainee = save_trainee(None, {"first_name": "Léa", "last_name": "Martin", "email": "lea.martin@exemple.fr",
                                  **data})
    db.session.commit()
    return trainee


def _nothing_saved(companies: int = 1) -> None:
    assert committed_count(Enrolment) == 0
    assert committed_count(Trainee) == 0
    assert committed_count(Company) == companies


# --------------------------------------------------------------------------- POST: accepted


def test_enrol_an_inline_trainee_with_an_inline_company(client, world, dume, staff):
    response = enrol(client, staff, dume.id, trainee=LEA, company=COLOMIERS)
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == ENROLMENT_KEYS
    enrolment = db.session.get(Enrolment, body["id"])
    company = db.session.scalar(select(Company).where(Company.siret == COLOMIERS_SIRET))
    trainee = db.session.scalar(select(Trainee).where(Trainee.email == "lea.martin@exemple.fr"))
    assert body == {
        "id": enrolment.id, "session_id": dume.id, "status": "confirmed", "status_label": "Confirmée",
        "waitlist_position": None, "source": "api",
        "trainee": {"id": trainee.id, "civility": "Mme", "first_name": "Léa", "last_name": "Martin",
                    "email": "lea.martin@exemple.fr", "phone": "05 61 00 00 00", "job_title": "Acheteuse publique",
                    "bpf_status": "other", "bpf_status_label": "Autre (agent public…)",
                    "accessibility_needs": "Boucle magnétique", "company_id": company.id},
        "company": {"id": company.id, "name": "Mairie de Colomiers", "siret": COLOMIERS_SIRET, "naf_code": "8411Z",
                    "headcount_band": "250+", "opco": "AKTO", "address": "1 place Alex Raymond",
                    "postal_code": "31770", "city": "Colomiers", "is_public_buyer": True,
                    "chorus_service_code": "SERV-FORMATION", "engagement_required": True},
        "price_excl_vat": "600.00", "vat_rate": "0.00", "price_incl_vat": "600.00",
        "positioning_decision": None, "created_at": body["created_at"], "cancelled_at": None, "cancel_reason": "",
    }
    created = dt.datetime.fromisoformat(body["created_at"])
    assert created.utcoffset() == dt.timedelta(0)
    assert created == committed_value(Enrolment.created_at, Enrolment.id == enrolment.id)
    # Saved for good.
    assert committed_count(Enrolment) == 1
    assert committed_count(Trainee) == 1
    assert committed_count(Company) == 2
    assert committed_value(Enrolment.source, Enrolment.id == enrolment.id) == "api"


def test_enrol_existing_trainee_and_company_by_id(client, world, dume, staff):
    trainee = _trainee()
    response = enrol(client, staff, dume.id, trainee_id=trainee.id, company_id=world.company.id)
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert body["trainee"]["id"] == trainee.id
    assert body["company"]["id"] == world.company.id
    assert body["company"]["siret"] == DUPONT_SIRET
    assert body["status"] == "confirmed"
    # The enrolment names the employer; the trainee's own record is left as it was.
    assert committed_value(Trainee.company_id, Trainee.id == trainee.id) is None
    assert committed_count(Trainee) == 1


def test_enrolment_without_company_takes_the_trainee_employer(client, world, dume, staff):
    trainee = _trainee(company_id=world.company.id)
    body = enrol(client, staff, dume.id, trainee_id=trainee.id).get_json()
    assert body["company"]["id"] == world.company.id
    assert body["trainee"]["company_id"] == world.company.id


def test_enrolment_without_any_company_has_none(client, world, dume, staff):
    for n, company in enumerate(({}, {"company": None}, {"company_id": None})):
        body = enrol(client, staff, dume.id, trainee=person(n), **company).get_json()
        assert body["company"] is None
        assert body["trainee"]["company_id"] is None
        assert body["trainee"]["bpf_status"] == "employee"


def test_inline_trainee_with_a_known_email_is_the_same_person(client, world, dume, staff):
    """Same e-mail, same person: the record gains what it lacked, never loses what the advisor wrote."""
    trainee = _trainee(job_title="Juriste")
    response = enrol(client, staff, dume.id, trainee={"first_name": "Autre", "last_name": "Nom",
                                                      "email": "LEA.MARTIN@exemple.fr", "phone": "0600000000",
                                                      "job_title": "Acheteuse"})
    assert response.status_code == 201, response.get_data(as_text=True)
    got = response.get_json()["trainee"]
    assert (got["id"], got["first_name"], got["last_name"], got["phone"], got["job_title"]) == (
        trainee.id, "Léa", "Martin", "0600000000", "Juriste")
    assert committed_count(Trainee) == 1


@pytest.mark.parametrize("company", [
    {"name": "Autre raison sociale", "siret": DUPONT_SIRET},
    {"name": "Autre raison sociale", "siret": "443 061 841 00021"},
    {"name": "CABINET D'ARCHITECTURE DUPONT"},
])
def test_inline_company_found_by_siret_or_by_name(client, world, dume, staff, company):
    body = enrol(client, staff, dume.id, trainee=person(1), company=company).get_json()
    assert (body["company"]["id"], body["company"]["name"]) == (world.company.id, "Cabinet d'architecture Dupont")
    assert body["trainee"]["company_id"] == world.company.id
    assert committed_count(Company) == 1


def test_price_includes_vat_when_the_organisation_charges_it(client, world, dume, staff):
    from trainingmgr.organisation.models import Organisation

    db.session.scalar(select(Organisation)).vat_status = "standard"
    db.session.commit()
    body = enrol(client, staff, dume.id, trainee=person(1)).get_json()
    assert (body["price_excl_vat"], body["vat_rate"], body["price_incl_vat"]) == ("600.00", "20.00", "720.00")


def test_session_price_is_the_one_charged(client, world, open_dume, staff):
    session = open_dume(price_per_trainee="450.50")
    body = enrol(client, staff, session.id, trainee=person(1)).get_json()
    assert (body["price_excl_vat"], body["vat_rate"], body["price_incl_vat"]) == ("450.50", "0.00", "450.50")


def test_course_with_prerequisites_waits_for_the_advisor_decision(client, world, make_session, staff):
    session = make_session()  # Chorus Pro has prerequisites
    change_status(session, "open", world.users["advisor"])
    db.session.commit()
    body = enrol(client, staff, session.id, trainee=person(1)).get_json()
    assert (body["status"], body["status_label"], body["waitlist_position"], body["positioning_decision"]) == (
        "pending_prerequisite", "En attente de validation des prérequis", None, None)


def test_full_session_puts_people_on_the_waiting_list_in_order(client, world, open_dume, staff):
    session = open_dume(capacity=1)
    answers = [enrol(client, staff, session.id, trainee=person(n)).get_json() for n in range(3)]
    assert [(a["status"], a["status_label"], a["waitlist_position"]) for a in answers] == [
        ("confirmed", "Confirmée", None),
        ("waitlisted", "Liste d'attente (n° 1)", 1),
        ("waitlisted", "Liste d'attente (n° 2)", 2),
    ]
    detail = client.get(f"{API}/sessions/{session.id}", headers=staff).get_json()
    assert detail["seats_left"] == 0


def test_a_confirmed_session_still_takes_enrolments(client, world, dume, staff):
    set_status(dume, "confirmed")
    assert enrol(client, staff, dume.id, trainee=person(1)).status_code == 201


def test_admin_token_may_enrol(client, world, dume, tokens):
    assert enrol(client, bearer(tokens["admin"]), dume.id, trainee=person(1)).status_code == 201


def test_cancelled_enrolment_may_be_reopened(client, world, dume, staff):
    first = enrol(client, staff, dume.id, trainee=LEA).get_json()
    assert cancel(client, staff, first["id"], reason="Erreur de date").status_code == 200
    again = enrol(client, staff, dume.id, trainee_id=first["trainee"]["id"])
    assert again.status_code == 201, again.get_data(as_text=True)
    body = again.get_json()
    assert (body["id"], body["status"], body["cancelled_at"], body["cancel_reason"]) == (
        first["id"], "confirmed", None, "")
    assert committed_count(Enrolment) == 1


# --------------------------------------------------------------------------- POST: refused


def test_trainee_already_enrolled_is_409(client, world, dume, staff):
    assert enrol(client, staff, dume.id, trainee=LEA).status_code == 201
    message = "Léa Martin est déjà inscrit(e) à cette session (confirmée)."
    for body in ({"trainee": LEA}, {"trainee": {**LEA, "email": "lea.martin@exemple.fr"}},
                 {"trainee_id": committed_value(Trainee.id)}):
        assert_error(enrol(client, staff, dume.id, **body), 409, "conflict", message, {"trainee": [message]})
    assert committed_count(Enrolment) == 1


def test_trainee_already_on_the_waiting_list_is_409(client, world, open_dume, staff):
    session = open_dume(capacity=1)
    enrol(client, staff, session.id, trainee=person(0))
    enrol(client, staff, session.id, trainee=person(1))
    message = "Prénom01 Nom01 est déjà inscrit(e) à cette session (liste d'attente (n° 1))."
    assert_error(enrol(client, staff, session.id, trainee=person(1)), 409, "conflict", message,
                 {"trainee": [message]})


@pytest.mark.parametrize("trainee, company, fields", [
    ({"email": "pas-une-adresse"}, None, {"trainee.email": ["Cette adresse e-mail n'est pas valide."]}),
    ({"email": "lea@"}, None, {"trainee.email": ["Cette adresse e-mail n'est pas valide."]}),
    ({"email": "  "}, None, {"trainee.email": ["L'adresse e-mail est obligatoire."]}),
    ({"first_name": " "}, None, {"trainee.first_name": ["Le prénom est obligatoire."]}),
    ({"last_name": ""}, None, {"trainee.last_name": ["Le nom est obligatoire."]}),
    ({"last_name": "x" * 81}, None, {"trainee.last_name": ["Ce champ ne doit pas dépasser 80 caractères."]}),
    ({"first_name": "x" * 81}, None, {"trainee.first_name": ["Ce champ ne doit pas dépasser 80 caractères."]}),
    ({"phone": "0" * 41}, None, {"trainee.phone": ["Ce champ ne doit pas dépasser 40 caractères."]}),
    ({"job_title": "x" * 121}, None, {"trainee.job_title": ["Ce champ ne doit pas dépasser 120 caractères."]}),
    ({"accessibility_needs": "x" * 20001}, None,
     {"trainee.accessibility_needs": ["Ce champ ne doit pas dépasser 20000 caractères."]}),
    ({"civility": "Dr"}, None, {"trainee.civility": ["Civilité inconnue : « Mme », « M. » ou rien."]}),
    ({"bpf_status": "retraite"}, None, {"trainee.bpf_status": ["Statut inconnu."]}),
    ({}, {"siret": "123"}, {"company.siret": ["Le SIRET doit comporter 14 chiffres."]}),
    ({}, {"siret": "4430618410002A"}, {"company.siret": ["Le SIRET doit comporter 14 chiffres."]}),
    ({}, {"name": " "}, {"company.name": ["La raison sociale est obligatoire."]}),
    ({}, {"name": "x" * 201}, {"company.name": ["Ce champ ne doit pas dépasser 200 caractères."]}),
    ({}, {"postal_code": "31000-31999"}, {"company.postal_code": ["Ce champ ne doit pas dépasser 10 caractères."]}),
    ({}, {"naf_code": "ABC"}, {"company.naf_code": ["Le code NAF s'écrit comme 7111Z ou 71.11Z."]}),
    ({}, {"opco": "OPCO Inconnu"}, {"company.opco": ["OPCO inconnu : choisissez-le dans la liste des onze OPCO."]}),
    ({}, {"headcount_band": "1000+"}, {"company.headcount_band": ["Tranche d'effectif inconnue."]}),
    ({}, {"is_public_buyer": True},
     {"company.siret": ["Un acheteur public est identifié par son SIRET dans Chorus Pro."]}),
    # Every problem at once, the trainee's and the company's.
    ({"email": "faux", "last_name": ""}, {"siret": "123"},
     {"trainee.email": ["Cette adresse e-mail n'est pas valide."], "trainee.last_name": ["Le nom est obligatoire."],
      "company.siret": ["Le SIRET doit comporter 14 chiffres."]}),
])
def test_enrol_refuses_invalid_trainee_or_company(client, world, dume, staff, trainee, company, fields):
    """The schema of the request refuses them, with the services' messages."""
    body = {"trainee": {**LEA, **trainee}}
    if company is not None:
        body["company"] = {"name": "Mairie de Colomiers", **company}
    assert_error(enrol(client, staff, dume.id, **body), 422, "validation_error", INVALID, fields)
    _nothing_saved()


def test_enrol_refuses_a_siret_whose_check_key_is_wrong(client, world, dume, staff):
    """The check key is the one rule on a SIRET that the document cannot state: the service checks it."""
    body = {"trainee": LEA, "company": {"name": "Mairie de Colomiers", "siret": "44306184100022"}}
    assert_error(enrol(client, staff, dume.id, **body), 422, "validation_error", FIELDS_INVALID,
                 {"company.siret": ["Ce SIRET n'est pas valide (clé de contrôle incorrecte)."]})
    _nothing_saved()


@pytest.mark.parametrize("body", [{}, {"company_id": None}, {"trainee": None}])
def test_enrol_needs_a_trainee(client, world, dume, staff, body):
    response = enrol(client, staff, dume.id, **body)
    if body.get("trainee", 0) is None:
        assert_error(response, 422, "validation_error", INVALID, {"trainee": ["Ce champ ne peut pas être vide."]})
    else:
        assert_error(response, 422, "validation_error", INVALID,
                     {"trainee": ["Indiquez le stagiaire (trainee_id ou trainee)."]})
    _nothing_saved()


_ID_RANGE = "Identifiant invalide : nombre entier de 1 à 2147483647 attendu."


@pytest.mark.parametrize("body, fields", [
    ({"trainee_id": "1"}, {"trainee_id": ["Nombre entier attendu."]}),
    ({"trainee_id": 1.5}, {"trainee_id": ["Nombre entier attendu."]}),
    ({"trainee_id": True}, {"trainee_id": ["Nombre entier attendu."]}),
    ({"trainee_id": None}, {"trainee_id": ["Ce champ ne peut pas être vide."]}),
    ({"trainee_id": 0}, {"trainee_id": [_ID_RANGE]}),
    ({"trainee_id": 2**31}, {"trainee_id": [_ID_RANGE]}),
    ({"trainee_id": 99999999999999999999}, {"trainee_id": [_ID_RANGE]}),
    ({"trainee": "Léa Martin"}, {"trainee": ["Objet JSON attendu."]}),
    ({"trainee": [LEA]}, {"trainee": ["Objet JSON attendu."]}),
    ({"trainee": 12}, {"trainee": ["Objet JSON attendu."]}),
    ({"trainee": {}}, {"trainee.first_name": ["Champ obligatoire."], "trainee.last_name": ["Champ obligatoire."],
                       "trainee.email": ["Champ obligatoire."]}),
    ({"trainee": {"first_name": "Léa", "last_name": "Martin"}}, {"trainee.email": ["Champ obligatoire."]}),
    ({"trainee": {**LEA, "email": None}}, {"trainee.email": ["Ce champ ne peut pas être vide."]}),
    ({"trainee": {**LEA, "first_name": 12}}, {"trainee.first_name": ["Texte attendu."]}),
    ({"trainee": {**LEA, "phone": 561000000}}, {"trainee.phone": ["Texte attendu."]}),
    ({"trainee": {**LEA, "civility": ["Mme"]}}, {"trainee.civility": ["Texte attendu."]}),
    ({"trainee": {**LEA, "company_id": 1}}, {"trainee.company_id": ["Champ inconnu."]}),
    ({"trainee": {**LEA, "consent": True}}, {"trainee.consent": ["Champ inconnu."]}),
    ({"trainee": LEA, "company_id": "1"}, {"company_id": ["Nombre entier attendu."]}),
    ({"trainee": LEA, "company_id": -1}, {"company_id": [_ID_RANGE]}),
    ({"trainee": LEA, "company": "Dupont"}, {"company": ["Objet JSON attendu."]}),
    ({"trainee": LEA, "company": [{"name": "Dupont"}]}, {"company": ["Objet JSON attendu."]}),
    ({"trainee": LEA, "company": {"siret": DUPONT_SIRET}}, {"company.name": ["Champ obligatoire."]}),
    ({"trainee": LEA, "company": {"name": "X", "is_public_buyer": "peut-être"}},
     {"company.is_public_buyer": ["Booléen attendu (true ou false)."]}),
    ({"trainee": LEA, "company": {"name": "X", "siret": 44306184100021}}, {"company.siret": ["Texte attendu."]}),
    ({"trainee": LEA, "company": {"name": "X", "tva": "FR00"}}, {"company.tva": ["Champ inconnu."]}),
    ({"trainee_id": 1, "trainee": LEA}, {"trainee": ["Indiquez trainee_id ou trainee, pas les deux."]}),
    ({"trainee": LEA, "company_id": 1, "company": {"name": "X"}},
     {"company": ["Indiquez company_id ou company, pas les deux."]}),
    ({"trainee": LEA, "status": "confirmed", "price_excl_vat": "0"},
     {"status": ["Champ inconnu."], "price_excl_vat": ["Champ inconnu."]}),
])
def test_enrol_refuses_badly_typed_input(client, world, dume, staff, body, fields):
    assert_error(enrol(client, staff, dume.id, **body), 422, "validation_error", INVALID, fields)
    _nothing_saved()


@pytest.mark.parametrize("body, fields", [
    ({"trainee_id": 999}, {"trainee_id": ["Stagiaire introuvable."]}),
    ({"trainee": LEA, "company_id": 999}, {"company_id": ["Entreprise introuvable."]}),
    ({"trainee_id": 999, "company_id": 998},
     {"trainee_id": ["Stagiaire introuvable."], "company_id": ["Entreprise introuvable."]}),
])
def test_unknown_trainee_or_company_id_is_422_naming_the_field(client, world, dume, staff, body, fields):
    """An unknown id in the body is bad input (like an unknown location_id for POST /sessions), not a 404."""
    assert_error(enrol(client, staff, dume.id, **body), 422, "validation_error", FIELDS_INVALID, fields)
    _nothing_saved()


@pytest.mark.parametrize("status, label", [("draft", "brouillon"), ("in_progress", "en cours"),
                                           ("completed", "terminée"), ("closed", "clôturée"),
                                           ("cancelled", "annulée")])
def test_session_that_takes_no_enrolment_is_422(client, world, make_session, staff, status, label):
    session = make_session(course=world.dume)
    if status != "draft":
        set_status(session, status)
    message = f"La session {session.label} n'accepte pas d'inscription (elle est « {label} »)."
    assert_error(enrol(client, staff, session.id, trainee=LEA, company=COLOMIERS), 422, "validation_error", message,
                 {})
    _nothing_saved()  # neither the trainee nor the company is kept


@pytest.mark.parametrize("session_id", ["999", "0", "99999999999999"])
def test_unknown_session_is_404(client, world, staff, session_id):
    response = client.post(f"{API}/sessions/{session_id}/enrolments", json={"trainee": LEA}, headers=staff)
    assert_error(response, 404, "not_found", "Session introuvable.", {})
    assert_error(client.get(f"{API}/sessions/{session_id}/enrolments", headers=staff), 404, "not_found",
                 "Session introuvable.", {})
    _nothing_saved()


@pytest.mark.parametrize("body", [
    {"trainee": {**LEA, "last_name": "Mar\x00tin"}},
    {"trainee": LEA, "company": {"name": "A\x00B"}},
    {"trainee": LEA, "bo\x00gus": 1},
])
def test_enrol_refuses_a_nul_character(client, world, dume, staff, body):
    assert_error(enrol(client, staff, dume.id, **body), 400, "bad_request", NUL, {})
    _nothing_saved()


@pytest.mark.parametrize("raw, status, code, message, fields", [
    ("{pas du json", 400, "bad_request", "La requête n'a pas pu être comprise.", {"_schema": ["Corps JSON invalide."]}),
    ("[1, 2]", 422, "validation_error", INVALID, {"_schema": ["Type de données invalide."]}),
    ("null", 422, "validation_error", INVALID, {"_schema": ["Type de données invalide."]}),
])
def test_enrol_refuses_a_body_that_is_not_a_json_object(client, world, dume, staff, raw, status, code, message,
                                                        fields):
    response = client.post(f"{API}/sessions/{dume.id}/enrolments", data=raw, content_type="application/json",
                           headers=staff, csrf=False)
    assert_error(response, status, code, message, fields)
    _nothing_saved()


def test_writes_whose_body_is_not_json_are_415(client, world, dume, staff):
    urls = [f"{API}/sessions/{dume.id}/enrolments", f"{API}/enrolments/1/cancel"]
    for url in urls:
        response = client.post(url, data="reason=Malade", content_type="application/x-www-form-urlencoded",
                               headers=staff, csrf=False)
        assert_error(response, 415, "unsupported_media_type", NOT_JSON, {})


# --------------------------------------------------------------------------- GET /sessions/<id>/enrolments


def test_list_shows_seat_holders_then_the_waiting_list_then_the_rest(client, world, open_dume, staff):
    session = open_dume(capacity=2)
    made = [enrol(client, staff, session.id, trainee=person(n, last_name=name)).get_json()
            for n, name in enumerate(["Zola", "Arnaud", "Martin", "Bernard", "Durand"])]
    assert cancel(client, staff, made[4]["id"], reason="Plus disponible").status_code == 200  # Durand, waitlisted
    assert summary(listing(client, staff, session.id)) == [
        ("Arnaud", "confirmed", None), ("Zola", "confirmed", None),
        ("Martin", "waitlisted", 1), ("Bernard", "waitlisted", 2),
        ("Durand", "cancelled", None),
    ]
    entries = listing(client, staff, session.id)
    assert all(set(e) == ENROLMENT_KEYS for e in entries)
    assert entries[0] == made[1]  # the same representation as the answer to POST


def test_list_of_a_session_without_enrolments_is_empty(client, world, make_session, staff):
    assert listing(client, staff, make_session().id) == []


def test_list_query_count_does_not_grow_with_enrolments(client, world, open_dume, staff, count_queries):
    session = open_dume(capacity=3)
    enrol(client, staff, session.id, trainee=person(0), company={"name": "Entreprise 0"})
    listing(client, staff, session.id)  # the token's first use is written down
    with count_queries() as one:
        assert len(listing(client, staff, session.id)) == 1
    for n in range(1, 6):
        enrol(client, staff, session.id, trainee=person(n), company={"name": f"Entreprise {n}"})
    listing(client, staff, session.id)  # the same state as before the first count (the test shares the session)
    with count_queries() as six:
        assert len(listing(client, staff, session.id)) == 6
    assert six.count == one.count


# --------------------------------------------------------------------------- POST /enrolments/<id>/cancel


@pytest.fixture
def full(open_dume, client, staff):
    """A session of 2 seats: Nom00 and Nom01 confirmed, Nom02 and Nom03 waiting (1, 2)."""
    session = open_dume(capacity=2)
    made = [enrol(client, staff, session.id, trainee=person(n)).get_json() for n in range(4)]
    assert [m["status"] for m in made] == ["confirmed"] * 2 + ["waitlisted"] * 2
    return session, made


def test_cancel_frees_the_seat_for_the_first_on_the_waiting_list(client, world, full, staff):
    session, made = full
    response = cancel(client, staff, made[0]["id"], reason="  Arrêt maladie  ")
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == ENROLMENT_KEYS
    assert {k: body[k] for k in ("id", "status", "status_label", "waitlist_position", "cancel_reason")} == {
        "id": made[0]["id"], "status": "cancelled", "status_label": "Annulée", "waitlist_position": None,
        "cancel_reason": "Arrêt maladie"}
    cancelled_at = dt.datetime.fromisoformat(body["cancelled_at"])
    assert cancelled_at == committed_value(Enrolment.cancelled_at, Enrolment.id == made[0]["id"])
    assert body["trainee"] == made[0]["trainee"]
    assert summary(listing(client, staff, session.id)) == [
        ("Nom01", "confirmed", None), ("Nom02", "confirmed", None), ("Nom03", "waitlisted", 1),
        ("Nom00", "cancelled", None)]
    assert committed_value(Enrolment.status, Enrolment.id == made[0]["id"]) == "cancelled"
    assert committed_value(Enrolment.cancelled_by_id, Enrolment.id == made[0]["id"]) == world.users["advisor"].id


def test_cancel_from_the_waiting_list_moves_the_others_up(client, world, full, staff):
    session, made = full
    body = cancel(client, staff, made[2]["id"], reason="Inscrit ailleurs").get_json()
    assert (body["status"], body["waitlist_position"]) == ("cancelled", None)
    assert summary(listing(client, staff, session.id)) == [
        ("Nom00", "confirmed", None), ("Nom01", "confirmed", None), ("Nom03", "waitlisted", 1),
        ("Nom02", "cancelled", None)]


def test_cancel_twice_is_409(client, world, full, staff):
    _, made = full
    assert cancel(client, staff, made[0]["id"], reason="Malade").status_code == 200
    assert_error(cancel(client, staff, made[0]["id"], reason="Encore"), 409, "conflict",
                 "Une inscription « annulée » ne peut pas être annulée.", {})
    assert committed_value(Enrolment.cancel_reason, Enrolment.id == made[0]["id"]) == "Malade"


@pytest.mark.parametrize("body, message, fields", [
    ({}, INVALID, {"reason": ["Champ obligatoire."]}),
    ({"reason": None}, INVALID, {"reason": ["Ce champ ne peut pas être vide."]}),
    ({"reason": 12}, INVALID, {"reason": ["Texte attendu."]}),
    ({"reason": ["Malade"]}, INVALID, {"reason": ["Texte attendu."]}),
    ({"reason": "Malade", "notify": False}, INVALID, {"notify": ["Champ inconnu."]}),
    ({"reason": ""}, INVALID, {"reason": [NO_REASON]}),
    ({"reason": "  ab  "}, INVALID, {"reason": [NO_REASON]}),
    ({"reason": "\n ab\t"}, INVALID, {"reason": [NO_REASON]}),
])
def test_cancel_needs_a_reason(client, world, full, staff, body, message, fields):
    _, made = full
    assert_error(cancel(client, staff, made[0]["id"], **body), 422, "validation_error", message, fields)
    assert committed_value(Enrolment.status, Enrolment.id == made[0]["id"]) == "confirmed"


def test_cancel_refuses_a_body_that_is_not_an_object_and_a_nul(client, world, full, staff):
    _, made = full
    url = f"{API}/enrolments/{made[0]['id']}/cancel"
    response = client.post(url, data='"Malade"', content_type="application/json", headers=staff, csrf=False)
    assert_error(response, 422, "validation_error", INVALID, {"_schema": ["Type de données invalide."]})
    assert_error(cancel(client, staff, made[0]["id"], reason="Ma\x00lade"), 400, "bad_request", NUL, {})
    assert committed_value(Enrolment.status, Enrolment.id == made[0]["id"]) == "confirmed"


@pytest.mark.parametrize("enrolment_id", ["999", "0", "99999999999999"])
def test_cancel_unknown_enrolment_is_404(client, world, staff, enrolment_id):
    response = client.post(f"{API}/enrolments/{enrolment_id}/cancel", json={"reason": "Malade"}, headers=staff)
    assert_error(response, 404, "not_found", "Inscription introuvable.", {})


# --------------------------------------------------------------------------- GET /companies, GET /trainees


def test_companies_list(client, world, staff):
    from trainingmgr.companies.services import save_company

    other = save_company(None, {"name": "Atelier Zèbre", "naf_code": "9003A", "opco": "AFDAS", "city": "Albi"})
    db.session.commit()
    response = client.get(f"{API}/companies", headers=staff)
    assert response.status_code == 200
    assert response.get_json() == [
        {"id": other.id, "name": "Atelier Zèbre", "siret": None, "naf_code": "9003A", "headcount_band": "",
         "opco": "AFDAS", "address": "", "postal_code": "", "city": "Albi", "is_public_buyer": False,
         "chorus_service_code": "", "engagement_required": False},
        {"id": world.company.id, "name": "Cabinet d'architecture Dupont", "siret": DUPONT_SIRET, "naf_code": "",
         "headcount_band": "", "opco": "", "address": "", "postal_code": "", "city": "", "is_public_buyer": False,
         "chorus_service_code": "", "engagement_required": False},
    ]


@pytest.fixture
def three_trainees(world):
    from trainingmgr.trainees.services import save_trainee

    made = [
        save_trainee(None, {"civility": "Mme", "first_name": "Léa", "last_name": "Martin",
                            "email": "lea.martin@exemple.fr", "company_id": world.company.id, "phone": "0561"}),
        save_trainee(None, {"civility": "M.", "first_name": "Hugo", "last_name": "Arnaud",
                            "email": "hugo@mairie.example", "bpf_status": "job_seeker"}),
        save_trainee(None, {"first_name": "Anne", "last_name": "Martinez", "email": "anne@exemple.fr",
                            "accessibility_needs": "Accès fauteuil"}),
    ]
    db.session.commit()
    return made


def test_trainees_list(client, world, staff, three_trainees):
    lea, hugo, anne = three_trainees
    response = client.get(f"{API}/trainees", headers=staff)
    assert response.status_code == 200
    body = response.get_json()
    assert [t["last_name"] for t in body] == ["Arnaud", "Martin", "Martinez"]
    assert body[1] == {"id": lea.id, "civility": "Mme", "first_name": "Léa", "last_name": "Martin",
                       "email": "lea.martin@exemple.fr", "phone": "0561", "job_title": "", "bpf_status": "employee",
                       "bpf_status_label": "Salarié d'un employeur privé", "accessibility_needs": "",
                       "company_id": world.company.id}
    assert (body[0]["bpf_status"], body[0]["bpf_status_label"], body[0]["company_id"]) == (
        "job_seeker", "Demandeur d'emploi", None)
    assert body[2]["accessibility_needs"] == "Accès fauteuil"


@pytest.mark.parametrize("search, names", [
    ("martin", ["Martin", "Martinez"]),
    ("  MARTIN  ", ["Martin", "Martinez"]),
    ("léa", ["Martin"]),
    ("mairie.example", ["Arnaud"]),
    ("exemple.fr", ["Martin", "Martinez"]),
    ("personne", []),
    ("", ["Arnaud", "Martin", "Martinez"]),
])
def test_trainees_search(client, world, staff, three_trainees, search, names):
    response = client.get(f"{API}/trainees", query_string={"search": search}, headers=staff)
    assert response.status_code == 200
    assert [t["last_name"] for t in response.get_json()] == names


def test_trainees_search_refuses_a_long_or_nul_query(client, world, staff):
    assert_error(client.get(f"{API}/trainees", query_string={"search": "x" * 101}, headers=staff), 422,
                 "validation_error", INVALID, {"search": ["Ce champ ne doit pas dépasser 100 caractères."]})
    assert_error(client.get(f"{API}/trainees?search=a%00b", headers=staff), 400, "bad_request", NUL, {})


def test_empty_lists(client, world, staff):
    assert client.get(f"{API}/trainees", headers=staff).get_json() == []
    db.session.delete(world.company)
    db.session.commit()
    assert client.get(f"{API}/companies", headers=staff).get_json() == []


# --------------------------------------------------------------------------- who may call


def _calls(session_id: int, enrolment_id: int) -> list[tuple[str, str, object]]:
    """Every new endpoint, each with a body it would accept."""
    return [
        ("post", f"{API}/sessions/{session_id}/enrolments", {"trainee": person(9)}),
        ("get", f"{API}/sessions/{session_id}/enrolments", None),
        ("post", f"{API}/enrolments/{enrolment_id}/cancel", {"reason": "Malade"}),
        ("get", f"{API}/companies", None),
        ("get", f"{API}/trainees", None),
        ("get", f"{API}/trainees?search=nom", None),
    ]


def _call(client, method, url, body, headers):
    kwargs = {"headers": headers}
    if body is not None:
        kwargs["json"] = body
    return getattr(client, method)(url, **kwargs)


def _state():
    return (committed_count(Enrolment), committed_count(Trainee), committed_count(Enrolment, Enrolment.status ==
                                                                                  "cancelled"))


@pytest.fixture
def one_enrolment(client, dume, staff):
    return enrol(client, staff, dume.id, trainee=person(1)).get_json()["id"]


def test_anonymous_gets_401_on_every_enrolment_endpoint(client, world, dume, one_enrolment):
    before = _state()
    for method, url, body in _calls(dume.id, one_enrolment):
        response = _call(client, method, url, body, {})
        assert_error(response, 401, "unauthorized", NO_TOKEN, {})
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="trainingmgr"'
    assert _state() == before


def test_trainer_token_gets_403_on_every_enrolment_endpoint(client, world, dume, one_enrolment, trainer_auth, tokens):
    before = _state()
    for headers in (trainer_auth, bearer(tokens["trainer2"])):
        for method, url, body in _calls(dume.id, one_enrolment):
            assert_error(_call(client, method, url, body, headers), 403, "forbidden", FORBIDDEN, {})
    assert _state() == before


def test_wrong_token_is_401(client, world, dume, one_enrolment):
    for method, url, body in _calls(dume.id, one_enrolment):
        assert_error(_call(client, method, url, body, {"Authorization": "Bearer tm_faux"}), 401, "unauthorized",
                     "Jeton d'accès invalide ou révoqué.", {})


def test_admin_token_may_call_every_enrolment_endpoint(client, world, dume, one_enrolment, tokens):
    admin = bearer(tokens["admin"])
    statuses = [_call(client, m, url, body, admin).status_code for m, url, body in _calls(dume.id, one_enrolment)]
    assert statuses == [201, 200, 200, 200, 200, 200]


@pytest.mark.parametrize("body", [{"trainee_id": "abc"}, {"bogus": 1}, {}, []])
def test_refused_caller_is_told_so_before_the_body_is_read(client, world, dume, one_enrolment, tokens, body):
    for url in (f"{API}/sessions/{dume.id}/enrolments", f"{API}/enrolments/{one_enrolment}/cancel"):
        assert_error(client.post(url, json=body), 401, "unauthorized")
        assert_error(client.post(url, json=body, headers=bearer(tokens["trainer"])), 403, "forbidden")
    assert_error(client.get(f"{API}/trainees?search={'x' * 101}"), 401, "unauthorized")
    assert_error(client.get(f"{API}/trainees?search={'x' * 101}", headers=bearer(tokens["trainer"])), 403,
                 "forbidden")


def test_anonymous_call_on_unknown_ids_is_401_not_404(client, world):
    assert_error(client.post(f"{API}/sessions/999/enrolments", json={"trainee": LEA}), 401, "unauthorized")
    assert_error(client.get(f"{API}/sessions/999/enrolments"), 401, "unauthorized")
    assert_error(client.post(f"{API}/enrolments/999/cancel", json={"reason": "x"}), 401, "unauthorized")
