"""The public check of a signed PDF (POST /verification) and ``flask signing verify`` on archived files: the last
revision is intact and ours, an earlier one says how many signatures came after, one flipped byte is neither intact
nor archived, a foreign certificate is not trusted, and garbage is refused in French, never with a 500."""
from __future__ import annotations

import datetime as dt
import io
import os

import pytest

from trainingmgr.core.formatting import datetime_fr
from trainingmgr.extensions import db
from trainingmgr.files.services import path_for, store_bytes
from trainingmgr.signing import archive, pades
from trainingmgr.signing.models import Signatory, SignatureRequest, SignatureRevision

from tests.helpers import page
from tests.signing.support import document, evidence

ORGANISATION = "Formaction Sud-Ouest"
SOURCE = document("Programme de formation", "Objectifs et contenu, page 2")
SLOTS = [pades.Slot("signature-1", "Pour l'entreprise cliente : Camille Bernard, gérante"),
         pades.Slot("signature-2", "Pour l'organisme de formation : Jeanne Martin, directrice")]
NAMES = ["Camille Bernard", "Jeanne Martin"]
SIGNED_AT = dt.datetime(2031, 3, 10, 9, 30, tzinfo=dt.timezone.utc)
INTACT = "Toutes les signatures sont intactes et faites par le certificat de l'organisme"


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    """The organisation's certificate (RSA 3072 takes a moment: once for the module)."""
    directory = tmp_path_factory.mktemp("signing") / "keys"
    pades.init_certificate(directory, ORGANISATION)
    return directory


@pytest.fixture(scope="module")
def versions(keys) -> list[bytes]:
    """The prepared file, then signed by the company, then by the organisation."""
    signer = pades.load_signer(directory=str(keys))
    files = [pades.prepare(SOURCE, title="Programme de formation", reference="PROG-0001-1-1", slots=SLOTS)]
    for slot, name in zip(SLOTS, NAMES):
        files.append(pades.sign(files[-1], slot.field_name, evidence(files[-1], name), signer))
    return files


@pytest.fixture(scope="module")
def foreign(tmp_path_factory) -> bytes:
    """The same kind of file signed by a certificate that is not the organisation's."""
    directory = tmp_path_factory.mktemp("signing") / "other"
    pades.init_certificate(directory, "Officine de faussaires")
    prepared = pades.prepare(SOURCE, title="Programme de formation", reference="PROG-0001-1-1", slots=SLOTS[:1])
    return pades.sign(prepared, "signature-1", evidence(prepared, NAMES[0]),
                      pades.load_signer(directory=str(directory)))


@pytest.fixture
def signing_dir(app, keys, monkeypatch):
    monkeypatch.setitem(app.config, "SIGNING_DIR", str(keys))
    monkeypatch.setitem(app.config, "SIGNING_P12_FILE", "")
    return keys


@pytest.fixture
def programme(make_session, world, monkeypatch):
    """The archived programme of a session, its PDF being SOURCE (the converter stood in for)."""
    from trainingmgr.documents.conversion import pdf
    from trainingmgr.documents import services

    monkeypatch.setattr(pdf, "available", lambda: True)
    monkeypatch.setattr(pdf, "convert", lambda docx, **options: SOURCE)
    made = services.generate("programme", make_session(), world.users["advisor"])
    db.session.commit()
    return made


@pytest.fixture
def signed_request(programme, versions, world, signing_dir) -> SignatureRequest:
    """A completed signature request of the programme: revision 0 (prepared), 1 and 2 (one per signature)."""
    request = SignatureRequest(document_id=programme.id, status="completed", deadline=dt.date(2031, 3, 20),
                               source_sha256=programme.pdf_sha256, created_by_id=world.users["advisor"].id)
    signatories = [Signatory(position=1, role="company", name=NAMES[0], title="gérante", email="camille@example.fr",
                             status="signed", link_nonce="a" * 32, signed_at=SIGNED_AT),
                   Signatory(position=2, role="organisation", name=NAMES[1], title="directrice",
                             email="jeanne@example.fr", status="signed", link_nonce="b" * 32,
                             signed_at=SIGNED_AT + dt.timedelta(hours=2))]
    request.signatories = signatories
    db.session.add(request)
    db.session.flush()
    for number, data in enumerate(versions):
        stored = store_bytes(data, f"programme-r{number}.pdf", "document")
        db.session.flush()
        db.session.add(SignatureRevision(request_id=request.id, number=number, file_id=stored.id,
                                         sha256=stored.sha256,
                                         signatory_id=signatories[number - 1].id if number else None))
    db.session.commit()
    return request


def upload(client, data: bytes, name: str = "programme.pdf", **options):
    return client.post("/verification", data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data",
                       **options)


def flipped(pdf: bytes) -> bytes:
    """``pdf`` with one byte of the programme's text changed (inside the signed range)."""
    position = pdf.index(b"Objectifs et contenu")
    return pdf[:position] + b"o" + pdf[position + 1:]


def what(document) -> str:
    return f"du document « Programme de formation » n° {document.number}, session {document.session.label}"


# --- Archived revisions ---------------------------------------------------------------------------------------


def test_the_last_revision_is_intact_and_the_last_of_its_document(client, signed_request, versions):
    response = upload(client, versions[-1])
    text = page(response)
    assert response.status_code == 200
    assert INTACT in text and "la dernière couvre tout le fichier" in text
    assert (f"Ce fichier est la révision 2 {what(signed_request.document)}, conservée dans nos archives." in text)
    assert "C'est la dernière révision (demande de signature : signé par tous)." in text
    assert "Camille Bernard (Pour l'entreprise cliente), le 10/03/2031 10:30" in text
    assert "Jeanne Martin (Pour l'organisme de formation), le 10/03/2031 12:30" in text
    assert "Champs de signature encore vides" not in text and "non horodatée" in text


def test_an_earlier_revision_says_how_many_signatures_came_after(client, signed_request, versions):
    text = page(upload(client, versions[1]))
    assert INTACT in text
    assert f"Ce fichier est la révision 1 {what(signed_request.document)}, conservée dans nos archives." in text
    assert "C'est une révision antérieure : 1 signature a été ajoutée depuis." in text
    assert ("Champs de signature encore vides : signature-2 (Pour l'organisme de formation : Jeanne Martin, "
            "directrice).") in text
    assert "Jeanne Martin (" not in text  # she had not signed yet
    prepared = page(upload(client, versions[0]))
    assert "Ce document ne porte aucune signature électronique." in prepared
    assert "C'est une révision antérieure : 2 signatures ont été ajoutées depuis." in prepared


def test_the_document_as_issued_is_found_without_signatures(client, signed_request, programme):
    text = page(upload(client, SOURCE))
    assert "Ce document ne porte aucune signature électronique." in text
    assert f"Ce fichier est le PDF {what(programme)}, conservé dans nos archives tel qu'il a été émis." in text


def test_a_flipped_byte_is_neither_intact_nor_archived(app, client, signed_request, versions, tmp_path):
    forged = flipped(versions[-1])
    text = page(upload(client, forged))
    assert INTACT not in text and "le contenu signé a été modifié (empreinte différente)" in text
    assert archive.NOT_ARCHIVED in text and "conservée dans nos archives" not in text
    file = tmp_path / "programme.pdf"
    file.write_bytes(forged)
    result = app.test_cli_runner().invoke(args=["signing", "verify", str(file)])
    assert result.exit_code == 1 and "Vérification échouée." in result.output
    assert archive.NOT_ARCHIVED in result.output


def test_the_command_says_the_same_of_the_last_revision(app, signed_request, versions, tmp_path):
    file = tmp_path / "programme.pdf"
    file.write_bytes(versions[-1])
    result = app.test_cli_runner().invoke(args=["signing", "verify", str(file)])
    assert result.exit_code == 0, result.output
    assert f"Ce fichier est la révision 2 {what(signed_request.document)}, conservée dans nos archives." \
        in result.output
    assert "C'est la dernière révision (demande de signature : signé par tous)." in result.output


def test_an_altered_copy_in_the_archive_is_reported(client, signed_request, versions):
    last = signed_request.revisions[-1]
    assert archive.archived_intact(last)
    path_for(last.file).write_bytes(flipped(versions[-1]))
    assert not archive.archived_intact(last)
    found = archive.find_archived(last.sha256)
    assert found.revision == 2 and found.revisions == 3 and found.is_last and not found.intact
    text = page(upload(client, versions[-1]))
    assert INTACT in text and "conservée dans nos archives" in text and archive.ALTERED in text


def test_find_archived_knows_nothing_of_unknown_or_malformed_digests(app, signed_request):
    assert archive.find_archived("0" * 64) is None
    assert archive.find_archived("pas une empreinte") is None
    assert archive.find_archived("") is None


# --- Files that are not ours ----------------------------------------------------------------------------------


def test_a_file_signed_by_another_certificate_is_not_trusted(client, signed_request, foreign):
    text = page(upload(client, foreign))
    assert INTACT not in text
    assert "le certificat de signature n'est pas reconnu (ce n'est pas celui de l'organisme)" in text
    assert archive.NOT_ARCHIVED in text


def test_a_timestamped_signature_shows_when(app, client, signing_dir, versions, local_tsa, tmp_path, monkeypatch):
    moment = dt.datetime.now(dt.timezone.utc).replace(second=0, microsecond=0) - dt.timedelta(minutes=1)
    local_tsa.clock(moment)
    roots = tmp_path / "tsa.pem"
    roots.write_bytes(local_tsa.ca_pem)
    monkeypatch.setitem(app.config, "TSA_CA_FILE", str(roots))
    stamped = pades.sign(versions[0], "signature-1", evidence(versions[0], NAMES[0]),
                         pades.load_signer(directory=str(signing_dir)), tsa_url=local_tsa.url)
    text = page(upload(client, stamped))
    assert INTACT in text and f"le {datetime_fr(moment)}" in text
    assert archive.NOT_ARCHIVED in text


def test_without_the_certificate_the_page_says_so_and_still_finds_the_file(app, client, signed_request, versions,
                                                                           monkeypatch, tmp_path):
    monkeypatch.setitem(app.config, "SIGNING_DIR", str(tmp_path / "absent"))
    response = upload(client, versions[-1])
    text = page(response)
    assert response.status_code == 200
    assert archive.UNCHECKED in text and str(tmp_path) not in text
    assert "Ce fichier est la révision 2 " in text


# --- Refusals -------------------------------------------------------------------------------------------------

HTML = b"<!DOCTYPE html><html><body><h1>Convention</h1></body></html>"


@pytest.mark.parametrize("data, name, status, message", [
    (b"", "vide.pdf", 422, "Le fichier envoyé est vide."),
    (os.urandom(4096), "hasard.pdf", 422, "Ce fichier n'est pas un PDF"),
    (HTML, "page.pdf", 422, "Ce fichier n'est pas un PDF"),
    (b"%PDF-1.7\n" + os.urandom(4096), "casse.pdf", 200, "Ce fichier n'est pas un PDF lisible."),
    (b"%PDF-1.7\n%%EOF\n", "court.pdf", 200, "Ce fichier n'est pas un PDF lisible."),
])
def test_garbage_is_refused_in_french(client, signing_dir, data, name, status, message):
    response = upload(client, data, name)
    text = page(response)
    assert response.status_code == status and message in text
    assert INTACT not in text


def test_no_file_is_refused_in_french(client, signing_dir):
    response = client.post("/verification", data={}, content_type="multipart/form-data")
    assert response.status_code == 422 and "Choisissez le fichier PDF à vérifier." in page(response)


@pytest.mark.parametrize("size", [20 * 1024 * 1024 + 1, 25 * 1024 * 1024])
def test_a_file_above_20_mb_is_refused(client, signing_dir, size):
    """Just above the cap, the view refuses it; far above, the body is refused before it is read."""
    response = upload(client, b"%PDF-1.7\n" + b"0" * (size - 9))
    assert response.status_code == 413
    assert "Le fichier dépasse 20 Mo : il ne peut pas être vérifié ici." in page(response)


def test_a_file_between_the_site_cap_and_20_mb_is_checked(client, signing_dir):
    """Above MAX_CONTENT_LENGTH (8 Mo), which the upload of a signed PDF raises for itself."""
    response = upload(client, b"%PDF-1.7\n" + b"0" * (12 * 1024 * 1024))
    assert response.status_code == 200 and "Ce fichier n'est pas un PDF lisible." in page(response)


def test_an_upload_without_its_csrf_token_is_refused(client, signed_request, versions):
    response = upload(client, versions[-1], csrf=False)
    assert response.status_code == 400
    assert "jeton de sécurité est absent" in page(response) and INTACT not in page(response)


def test_the_upload_is_rate_limited_like_the_codes(make_app, keys):
    limited = make_app(VERIFY_RATE_LIMIT="2 per minute", SIGNING_DIR=str(keys))
    with limited.app_context():
        client = limited.test_client()
        statuses = [upload(client, b"").status_code for _ in range(3)]
    assert statuses == [422, 422, 429]


# --- The check by code is still there -------------------------------------------------------------------------


def test_the_page_shows_the_code_field_and_the_upload_form(client):
    text = page(client.get("/verification"))
    assert 'name="code"' in text and 'type="file" name="file"' in text and 'name="csrf_token"' in text
    unknown = client.get("/verification?code=ABCD-EFGH-JKLM")
    assert unknown.status_code == 404
    assert "Aucun document ne correspond au code « ABCD-EFGH-JKLM »" in page(unknown)
    assert 'type="file" name="file"' in page(unknown)
