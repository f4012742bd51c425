"""A session's documents through the API: the list with SHA-256 and status, generation, the archived files."""
from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from markupsafe import escape

from trainingmgr.extensions import db
from trainingmgr.sessions.services import change_status

from tests.api.support import API, INVALID, assert_error
from tests.helpers import MONDAY

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
LEA = {"first_name": "Léa", "last_name": "Martin", "email": "lea.martin@exemple.fr"}
NOT_STARTED = "Ce document se produit une fois la session commencée."


@pytest.fixture
def session(world, make_session):
    """An open Chorus Pro session, taught by Pierre, whose record states his qualifications (a convention and a
    contract print them)."""
    world.pierre.competences = "Consultant en marchés publics, 15 ans d'expérience"
    session = make_session(start=MONDAY + dt.timedelta(weeks=4))
    change_status(session, "open", world.users["advisor"])
    db.session.commit()
    return session


@pytest.fixture
def enrolment_id(client, staff, session) -> int:
    """Léa, enrolled in the session without a company."""
    response = client.post(f"{API}/sessions/{session.id}/enrolments", json={"trainee": LEA}, headers=staff)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()["id"]


def generate(client, staff, session, **body):
    return client.post(f"{API}/sessions/{session.id}/documents", json=body, headers=staff)


def generated(client, staff, session, **body) -> dict:
    response = generate(client, staff, session, **body)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def test_generate_a_session_document(client, staff, session):
    document = generated(client, staff, session, doc_type="programme")
    assert document["doc_type"] == "programme" and document["label"] == "Programme de formation"
    assert (document["scope"], document["session_id"], document["version"]) == ("session", session.id, 1)
    assert (document["enrolment_id"], document["trainee_name"], document["company_id"]) == (None, None, None)
    assert document["status"] == "current"
    assert len(document["docx_sha256"]) == 64
    assert (document["pdf_sha256"], document["links"]["pdf"]) == (None, None)  # PDF_CONVERTER is "none"
    assert document["links"]["docx"] == f"http://localhost{API}/documents/{document['id']}/files/docx"
    assert document["created_at"].endswith("+00:00")


def test_generate_an_enrolment_document(client, staff, session, enrolment_id):
    document = generated(client, staff, session, doc_type="convocation", enrolment_id=enrolment_id)
    assert (document["scope"], document["enrolment_id"], document["trainee_name"]) == (
        "enrolment", enrolment_id, "Léa Martin")
    assert document["number"] == f"CONVOC-{session.id:04d}-{enrolment_id}-1"
    contract = generated(client, staff, session, doc_type="contract", enrolment_id=enrolment_id)
    assert (contract["doc_type"], contract["enrolment_id"], contract["company_id"]) == (
        "contract", enrolment_id, None)  # Léa pays for herself


def test_generate_a_client_document(client, staff, world, session):
    document = generated(client, staff, session, doc_type="convention", company_id=world.company.id)
    assert (document["scope"], document["company_id"], document["company_name"]) == (
        "client", world.company.id, "Cabinet d'architecture Dupont")


def test_the_list_shows_every_version_with_its_status(client, staff, session, enrolment_id):
    first = generated(client, staff, session, doc_type="programme")
    second = generated(client, staff, session, doc_type="programme")
    convocation = generated(client, staff, session, doc_type="convocation", enrolment_id=enrolment_id)
    response = client.get(f"{API}/sessions/{session.id}/documents", headers=staff)
    assert response.status_code == 200
    listed = {d["id"]: d for d in response.get_json()}
    assert set(listed) == {first["id"], second["id"], convocation["id"]}
    assert (listed[second["id"]]["version"], listed[second["id"]]["status"]) == (2, "current")
    assert (listed[first["id"]]["version"], listed[first["id"]]["status"]) == (1, "superseded")
    assert all(d["reason"] for d in listed.values())  # why each version was issued, as on the page
    assert listed[convocation["id"]] == convocation
    one = client.get(f"{API}/documents/{first['id']}", headers=staff)
    assert one.status_code == 200 and one.get_json() == listed[first["id"]]


def test_download_the_docx_its_sha256_matches(client, staff, session):
    document = generated(client, staff, session, doc_type="programme")
    response = client.get(document["links"]["docx"], headers=staff)
    assert response.status_code == 200
    assert response.mimetype == DOCX
    assert response.headers["Content-Disposition"] == f'attachment; filename="{document["number"]}.docx"'
    assert response.data.startswith(b"PK\x03\x04")
    assert hashlib.sha256(response.data).hexdigest() == document["docx_sha256"]


def test_no_pdf_is_a_404_in_french(client, staff, session):
    document = generated(client, staff, session, doc_type="programme")
    response = client.get(f"{API}/documents/{document['id']}/files/pdf", headers=staff)
    assert_error(response, 404, "not_found",
                 "Pas de PDF pour ce document (convertisseur indisponible lors de la génération).")
    assert_error(client.get(f"{API}/documents/{document['id']}/files/odt", headers=staff), 404, "not_found",
                 "Format inconnu : docx ou pdf.")


def test_unknown_ids_are_404(client, staff, session):
    assert_error(client.get(f"{API}/sessions/999/documents", headers=staff), 404, "not_found", "Session introuvable.")
    response = client.post(f"{API}/sessions/999/documents", json={"doc_type": "programme"}, headers=staff)
    assert_error(response, 404, "not_found", "Session introuvable.")
    assert_error(client.get(f"{API}/documents/999", headers=staff), 404, "not_found", "Document introuvable.")
    assert_error(client.get(f"{API}/documents/999/files/docx", headers=staff), 404, "not_found")


# --------------------------------------------------------------------------- refusals


def test_an_unknown_type_is_refused(client, staff, session):
    for doc_type in ("bulletin", "invoice"):  # invoices are made by billing, at issue
        error = assert_error(generate(client, staff, session, doc_type=doc_type), 422, "validation_error", INVALID)
        assert list(error["fields"]) == ["doc_type"]
        assert error["fields"]["doc_type"][0].startswith("Type de document inconnu : convention, contract")


def test_a_document_per_trainee_names_the_enrolment(client, staff, world, session):
    response = generate(client, staff, session, doc_type="convocation")
    assert_error(response, 422, "validation_error", INVALID, {"enrolment_id": ["Choisissez l'inscription."]})
    response = generate(client, staff, session, doc_type="quote")
    assert_error(response, 422, "validation_error", INVALID, {"company_id": ["Choisissez l'entreprise cliente."]})


def test_unknown_or_foreign_subjects_are_refused_on_their_field(client, staff, world, make_session, session,
                                                                 enrolment_id):
    other = make_session(start=MONDAY + dt.timedelta(weeks=6))
    response = generate(client, staff, other, doc_type="convocation", enrolment_id=enrolment_id)
    assert_error(response, 422, "validation_error", "Cette inscription est celle d'une autre session.",
                 {"enrolment_id": ["Cette inscription est celle d'une autre session."]})
    response = generate(client, staff, session, doc_type="convocation", enrolment_id=9999)
    assert_error(response, 422, "validation_error", "Inscription introuvable.",
                 {"enrolment_id": ["Inscription introuvable."]})
    response = generate(client, staff, session, doc_type="convention", company_id=9999)
    assert_error(response, 422, "validation_error", "Entreprise introuvable.",
                 {"company_id": ["Entreprise introuvable."]})


def test_a_document_that_does_not_apply_yet_is_a_conflict_as_on_the_page(client, advisor_client, staff, session,
                                                                         enrolment_id):
    response = generate(client, staff, session, doc_type="attestation", enrolment_id=enrolment_id)
    assert_error(response, 409, "conflict", NOT_STARTED, {})
    page = advisor_client.post(f"/sessions/{session.id}/documents/generate",
                               data={"doc_type": "attestation", "enrolment_id": enrolment_id})
    assert page.status_code == 409
    assert "Ce document se produit une fois la session commencée." in page.get_data(as_text=True)
    assert client.get(f"{API}/sessions/{session.id}/documents", headers=staff).get_json() == []


def test_missing_data_is_refused_with_the_french_list_as_on_the_page(client, advisor_client, staff, world, session):
    world.pierre.competences = ""
    db.session.commit()
    response = generate(client, staff, session, doc_type="convention", company_id=world.company.id)
    error = assert_error(response, 422, "validation_error")
    assert error["message"].startswith("Convention de formation professionnelle : mentions obligatoires manquantes : "
                                       "titres et qualifications de Pierre Formateur")
    assert list(error["fields"]) == ["data"]
    assert error["fields"]["data"][0].startswith("titres et qualifications de Pierre Formateur")
    page = advisor_client.post(f"/sessions/{session.id}/documents/generate",
                               data={"doc_type": "convention", "company_id": world.company.id})
    assert page.status_code == 422
    assert escape(error["message"]) in page.get_data(as_text=True)
    assert client.get(f"{API}/sessions/{session.id}/documents", headers=staff).get_json() == []


# --------------------------------------------------------------------------- who may call


def test_a_trainer_token_is_refused(client, staff, trainer_auth, session):
    document = generated(client, staff, session, doc_type="programme")
    for response in (client.get(f"{API}/sessions/{session.id}/documents", headers=trainer_auth),
                     generate(client, trainer_auth, session, doc_type="programme"),
                     client.get(f"{API}/documents/{document['id']}", headers=trainer_auth),
                     client.get(f"{API}/documents/{document['id']}/files/docx", headers=trainer_auth)):
        assert_error(response, 403, "forbidden")


def test_no_token_is_refused(client, staff, session):
    document = generated(client, staff, session, doc_type="programme")
    for response in (client.get(f"{API}/sessions/{session.id}/documents"),
                     client.post(f"{API}/sessions/{session.id}/documents", json={"doc_type": "programme"}),
                     client.get(f"{API}/documents/{document['id']}"),
                     client.get(f"{API}/documents/{document['id']}/files/docx")):
        assert_error(response, 401, "unauthorized")


def test_the_document_describes_the_documents_api(client):
    spec = client.get(f"{API}/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    body = schemas["DocumentCreate"]
    assert body["required"] == ["doc_type"] and body["additionalProperties"] is False
    assert "invoice" not in body["properties"]["doc_type"]["enum"]
    assert {"required": ["enrolment_id"], "properties": {"doc_type": {"enum": [
        "contract", "convocation", "attestation", "certificate", "ft_entry", "ft_attendance", "receipt"]}}} \
        in body["anyOf"]
    listing = spec["paths"]["/api/v1/sessions/{session_id}/documents"]["get"]["responses"]["200"]
    assert listing["content"]["application/json"]["schema"] == {
        "type": "array", "items": {"$ref": "#/components/schemas/Document"}}
    document = schemas["Document"]["properties"]
    assert {"doc_type", "scope", "trainee_name", "version", "number", "docx_sha256", "pdf_sha256", "status",
            "verify_code", "created_at", "links"} <= set(document)
    assert document["status"]["enum"] == ["current", "superseded"]
    files = spec["paths"]["/api/v1/documents/{document_id}/files/{kind}"]["get"]
    assert set(files["responses"]["200"]["content"]) == {DOCX, "application/pdf"}
