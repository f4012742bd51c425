"""Every document type generates for the demo's Chorus Pro and DUME sessions, with its mandatory mentions and
real values; the archive keeps each version unchanged; packs; sending; the public certificate check."""
from __future__ import annotations

import hashlib
import io
import os
import re
import zipfile

import pytest
from sqlalchemy import select, text

from trainingmgr.core.errors import ConflictError
from trainingmgr.core.formatting import hours_fr
from trainingmgr.documents import services
from trainingmgr.documents.catalogue import DOC_TYPES, mandatory_of
from trainingmgr.documents.models import GeneratedDocument
from trainingmgr.extensions import db
from trainingmgr.files.services import path_for

from tests.documents.support import docx_images, docx_text
from tests.helpers import page, run_started_task

NDA = "Déclaration d'activité"


def _generate_all(d, session, pdf=False) -> dict[str, list[GeneratedDocument]]:
    from trainingmgr.documents.rendering.context import attendance_or_live

    made: dict[str, list[GeneratedDocument]] = {}
    enrolments = attendance_or_live(session)
    companies = {e.company or e.trainee.company for e in enrolments} - {None}
    for code, spec in DOC_TYPES.items():
        if spec.scope == "invoice":  # made by issuing an invoice only (tests/billing/test_invoice_document.py)
            continue
        if spec.scope == "trainer":  # a subcontractor's contract: tests/documents/test_trainer_contract.py
            continue
        if spec.scope == "session":
            made.setdefault(code, []).append(services.generate(code, session, d.advisor, pdf=pdf))
        elif spec.scope == "client":
            for company in companies:
                made.setdefault(code, []).append(services.generate(code, session, d.advisor, company=company, pdf=pdf))
        else:
            for enrolment in enrolments:
                if services.applicable(code, session, enrolment) is None:
                    made.setdefault(code, []).append(
                        services.generate(code, session, d.advisor, enrolment=enrolment, pdf=pdf))
    db.session.commit()
    return made


def _resolve(context: dict, name: str):
    """The value of a dotted name; for a name inside a list ("course.programme[].title"), the list of its values."""
    head, _, rest = name.partition("[].")
    value = context
    for key in head.split("."):
        value = value[key]
    return [_resolve(item, rest) for item in value] if rest else value


def _clean(body: str) -> None:
    assert "{{" not in body and "{%" not in body and "%}" not in body and "}}" not in body
    assert not re.search(r"\bNone\b", body)


@pytest.mark.parametrize("which", ["chorus", "dume"])
def test_every_document_type_generates_with_its_mentions(delivered, which):
    d = delivered
    session = getattr(d, which)
    made = _generate_all(d, session)
    # France Travail's attestations and the facture acquittée: for the trainees those funders pay
    # (tests/documents/test_funder_documents.py)
    funders = {"ft_entry", "ft_attendance", "receipt"}
    expected_types = set(DOC_TYPES) - {"invoice", "trainer_contract"} - funders - ({"contract"} if which == "chorus" else set())  # Paul pays (DUME)
    assert set(made) == expected_types
    org_name, title = "Formaction Sud-Ouest", session.title
    for code, documents in made.items():
        for document in documents:
            data = services.read_file(document, "docx")
            body = docx_text(data)
            _clean(body)
            for name in mandatory_of(code):  # every mandatory field has a real value, shown in the document
                value = _resolve(document.context, name)
                assert value not in ("", None, [], {}), (code, name)
                if isinstance(value, str):
                    assert value.replace("\u202f", " ").replace("\xa0", " ") in body, (code, name, value)
            assert org_name in body and title in body, code
            assert session.dates_label.replace("le ", "") in body or "/" in body
            if code in ("convention", "contract", "certificate"):
                assert NDA in body or "76 31" in body, code
            if code in ("convention", "quote"):
                company = document.company
                assert company.name in body
                assert re.sub(r"\s", "", company.siret) in re.sub(r"\s", "", body)
                assert "Exonération de TVA" in body and "600,00 €" in body
            if code == "convention":
                for objective in session.course_version.objectives:
                    assert objective.text in body
                assert "dédit" in body.lower()
            if code == "contract":
                assert "10" in body and "30 %" in body and "CM2C" in body
                assert "rétractation" in body.lower()
            if code == "convocation":
                trainee = document.enrolment.trainee
                assert trainee.last_name in body
                assert all(f"{s.start_time:%H:%M}" in body for s in session.slots)
                assert "règlement intérieur" in body.lower() and "référente handicap" in body.lower()
            if code == "programme":
                for part in session.course_version.programme:
                    assert part.title in body
            if code == "attendance_sheet":
                rows = [row for slot in document.context["sheet"]["slots"] for row in slot["rows"]]
                assert rows and docx_images(data) >= len(rows)
                assert "intègre" in body
                assert all(row["name"] in body for row in rows)
            if code in ("attestation", "certificate"):
                enrolment = document.enrolment
                assert enrolment.trainee.last_name in body
                assert hours_fr(enrolment.hours_attended) in body
                assert enrolment.hours_attended == session.planned_hours
            if code == "certificate":
                assert document.verify_code and len(document.verify_code) == 12
                assert document.context["verification"]["code"].replace("-", "") == document.verify_code
                assert document.context["verification"]["code"] in body
                assert "☒" in body and "conserver" in body
                assert docx_images(data) >= 1  # the QR code


def test_the_attendance_sheet_shows_each_drawn_signature(delivered):
    d = delivered
    document = services.generate("attendance_sheet", d.dume, d.advisor, pdf=False)
    data = services.read_file(document, "docx")
    rows = [row for slot in document.context["sheet"]["slots"] for row in slot["rows"]]
    assert rows and all(row["signature"] and "picture_sha256" in row["signature"] for row in rows)
    # the trainer typed their name: one picture per trainee signature, and the QR code of the check page
    assert docx_images(data) == len(rows) + 1
    body = docx_text(data)
    assert "lien personnel, signature manuscrite" in body and "Pierre Lefèvre" in body


def test_the_certificate_hours_are_the_hours_attended(app, demo):
    """A trainee who left the afternoon early: the certificate says the hours really attended."""
    from tests.fixtures.documents import deliver
    from trainingmgr.attendance import services as attendance

    deliver(demo.dume, demo.advisor, demo.trainer)
    sarah = demo.enrolments["Sarah"]
    afternoon = sorted(demo.dume.slots, key=lambda s: s.start_time)[1]
    attendance.correct(afternoon, sarah, {"presence": "present", "left_at": "15:30", "reason": "Départ à 15 h 30"},
                       demo.advisor, now=afternoon.ends_at)
    db.session.commit()
    document = services.generate("certificate", demo.dume, demo.advisor, enrolment=sarah, pdf=False)
    body = docx_text(services.read_file(document, "docx"))
    assert str(sarah.hours_attended) == "6.00"
    assert "6 h" in body and "8 h" not in body.split("pour une durée de", 1)[-1][:20]


# --------------------------------------------------------------------------- archive


def test_the_archive_keeps_every_version_unchanged(delivered, backend):
    d = delivered
    first = services.generate("programme", d.dume, d.advisor, pdf=False)
    db.session.commit()
    data = services.read_file(first, "docx")
    assert hashlib.sha256(data).hexdigest() == first.docx_sha256
    assert first.context["course"]["title"] == d.dume.title and first.author_id == d.advisor.id
    assert first.template_label == "modèle par défaut" and len(first.template_sha256) == 64
    second = services.generate("programme", d.dume, d.advisor, pdf=False)
    db.session.commit()
    assert (first.version, second.version) == (1, 2)
    documents = services.session_documents(d.dume)
    assert services.current_versions(documents) >= {second.id} and first.id not in services.current_versions(documents)
    # The database refuses to change or remove an archived document.
    for statement in (f"UPDATE generated_document SET number = 'x' WHERE id = {first.id}",
                      f"DELETE FROM generated_document WHERE id = {first.id}"):
        with pytest.raises(Exception, match="append-only"):
            db.session.execute(text(statement))
            db.session.flush()
        db.session.rollback()
    # A file changed on disk is detected by its SHA-256.
    path = path_for(first.docx_file)
    path.write_bytes(data + b"tampered")
    try:
        with pytest.raises(ConflictError, match="altéré"):
            services.read_file(first, "docx")
    finally:  # the files are content-addressed and shared by the run's tests
        path.write_bytes(data)


def test_a_document_that_does_not_apply_yet_is_refused(demo, advisor_web):
    response = advisor_web.post(f"/sessions/{demo.chorus.id}/documents/generate",
                                data={"doc_type": "certificate", "enrolment_id": demo.enrolments["Julie"].id})
    assert response.status_code == 409 and "une fois la session commencée" in page(response)
    response = advisor_web.post(f"/sessions/{demo.dume.id}/documents/generate",
                                data={"doc_type": "contract", "enrolment_id": demo.enrolments["Sarah"].id})
    assert response.status_code == 409 and "convention" in page(response)
    assert db.session.scalars(select(GeneratedDocument)).all() == []


# --------------------------------------------------------------------------- screens, packs, sending


def test_the_session_page_generates_and_downloads(delivered, advisor_web):
    d = delivered
    body = page(advisor_web.get(f"/sessions/{d.dume.id}/documents"))
    assert "Dossier OPCO" in body and "Feuille d'émargement" in body
    response = advisor_web.post(f"/sessions/{d.dume.id}/documents/generate", data={"doc_type": "attendance_sheet"})
    assert response.status_code == 302
    document = db.session.scalars(select(GeneratedDocument)).one()
    download = advisor_web.get(f"/documents/{document.id}.docx")
    assert download.status_code == 200 and download.data.startswith(b"PK")
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert advisor_web.get(f"/documents/{document.id}.exe").status_code == 404


def test_the_session_pack_zips_every_document(delivered, advisor_web):
    d = delivered
    task, response = run_started_task(advisor_web, advisor_web.post(f"/sessions/{d.dume.id}/documents/pack"))
    assert task.status == "done", task.error
    assert response.status_code == 200 and response.mimetype == "application/zip", page(response)[-3000:]
    names = zipfile.ZipFile(io.BytesIO(response.data)).namelist()
    prefixes = {name.split("-")[0] for name in names}
    assert prefixes >= {"PROG", "CONV", "CONVOC", "CONT", "EMARG", "ATT", "CERT"}
    assert all(name.endswith((".docx", ".pdf")) for name in names)


def test_the_opco_funding_pack_of_an_enrolment(delivered, advisor_web):
    d = delivered
    julie = d.enrolments["Julie"]
    task, response = run_started_task(advisor_web, advisor_web.post(f"/enrolments/{julie.id}/funding-pack"))
    assert (task.kind, task.status, task.done, task.total) == ("funding_pack", "done", 5, 5)
    assert response.status_code == 200 and response.mimetype == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(response.data)).namelist()
    assert {name.split("-")[0] for name in names if name.endswith(".docx")} == {"DEV", "CONV", "PROG", "CERT", "EMARG"}
    paul = d.enrolments["Paul"]  # pays for himself: no OPCO
    assert advisor_web.post(f"/enrolments/{paul.id}/funding-pack").status_code == 409


def test_documents_are_sent_through_the_outbox(delivered, advisor_web):
    from trainingmgr.messaging.models import OutboxMessage

    d = delivered
    julie = d.enrolments["Julie"]
    certificate = services.generate("certificate", d.chorus, d.advisor, enrolment=julie, pdf=False)
    convention = services.generate("convention", d.chorus, d.advisor, company=julie.company, pdf=False)
    db.session.commit()
    assert advisor_web.post(f"/documents/{certificate.id}/send").status_code == 302
    assert advisor_web.post(f"/documents/{convention.id}/send").status_code == 302
    messages = db.session.scalars(select(OutboxMessage).where(OutboxMessage.topic.like("document_%"))
                                  .order_by(OutboxMessage.id)).all()
    assert [m.recipient for m in messages][0] == julie.trainee.email
    contact = next(c for c in julie.company.contacts if c.email)  # the demo firm's training contact
    assert messages[1].recipient == contact.email == services.recipients(convention)[0]
    assert messages[1].attachments[0].filename == f"{convention.number}.docx"


def test_document_screens_are_for_advisors(delivered, app):
    from tests.helpers import login as _login  # noqa: F401

    d = delivered
    document = services.generate("programme", d.dume, d.advisor, pdf=False)
    db.session.commit()
    trainer = app.test_client()
    trainer.post("/login", data={"email": "formateur@formaction.example", "password": "formateur-demo-2026"})
    for url in (f"/sessions/{d.dume.id}/documents", f"/documents/{document.id}.docx", "/admin/templates"):
        assert trainer.get(url).status_code == 403, url
    anonymous = app.test_client()
    assert anonymous.get(f"/documents/{document.id}.docx").status_code == 302


# --------------------------------------------------------------------------- public check


def test_verify_a_good_and_a_made_up_code(delivered, client):
    d = delivered
    julie = d.enrolments["Julie"]
    document = services.generate("certificate", d.chorus, d.advisor, enrolment=julie, pdf=False)
    db.session.commit()
    code = document.context["verification"]["code"]
    response = client.get(f"/verification/{code}")
    assert response.status_code == 200
    body = page(response)
    assert "J. M." in body and d.chorus.title in body and hours_fr(julie.hours_attended) in body
    assert "Julie" not in body and "Martin" not in body  # initials only
    assert client.get(f"/verification/{code.lower().replace('-', '')}").status_code == 200
    response = client.get("/verification/ABCD-EFGH-JKMN")
    assert response.status_code == 404 and "Aucun document ne correspond" in page(response)
    assert client.get("/verification/x").status_code == 404
    # A newer certificate replaces it: the old code still answers, and says so.
    services.generate("certificate", d.chorus, d.advisor, enrolment=julie, pdf=False)
    db.session.commit()
    assert "version plus récente" in page(client.get(f"/verification/{code}"))


def test_verification_codes_are_unguessable(delivered):
    d = delivered
    codes = {services.generate("certificate", d.dume, d.advisor, enrolment=d.enrolments["Sarah"], pdf=False).verify_code
             for _ in range(5)}
    assert len(codes) == 5
    assert all(re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{12}", code) for code in codes)


def test_a_pdf_copy_is_archived_when_libreoffice_is_there(make_app, delivered):
    from trainingmgr.documents.conversion import pdf

    app = make_app(PDF_CONVERTER="auto")
    d = delivered
    with app.app_context():
        if not pdf.available():
            if os.environ.get("SKIP_OFFICE_TESTS") == "1":
                pytest.skip("SKIP_OFFICE_TESTS=1")
            pytest.fail("LibreOffice is missing: run `make office` (or SKIP_OFFICE_TESTS=1 to leave PDF out).")
        try:
            document = services.generate("certificate", db.session.merge(d.dume), db.session.merge(d.advisor),
                                         enrolment=db.session.merge(d.enrolments["Sarah"]))
            db.session.commit()
            data = services.read_file(document, "pdf")
            assert data.startswith(b"%PDF") and hashlib.sha256(data).hexdigest() == document.pdf_sha256
        finally:
            pdf.shutdown()  # the converter is per process: leave none running for the other tests


def test_without_libreoffice_the_screen_says_docx_only(delivered, advisor_web):
    body = page(advisor_web.get(f"/sessions/{delivered.dume.id}/documents"))
    assert "La conversion en PDF est indisponible" in body  # the tests' configuration: PDF_CONVERTER = none
    document = services.generate("programme", delivered.dume, delivered.advisor)
    db.session.commit()
    assert document.pdf_file_id is None
    assert advisor_web.get(f"/documents/{document.id}.pdf").status_code == 404


def test_the_trainee_downloads_their_own_documents(delivered, client):
    from trainingmgr.enrolments.links import trainee_token

    d = delivered
    sarah, paul = d.enrolments["Sarah"], d.enrolments["Paul"]
    mine = services.generate("certificate", d.dume, d.advisor, enrolment=sarah, pdf=False)
    theirs = services.generate("certificate", d.dume, d.advisor, enrolment=paul, pdf=False)
    programme = services.generate("programme", d.dume, d.advisor, pdf=False)  # her session's: hers too
    elsewhere = services.generate("programme", d.chorus, d.advisor, pdf=False)
    db.session.commit()
    home = f"/t/{trainee_token(sarah)}"
    body = page(client.get(home))
    assert "Mes documents" in body and "Certificat de réalisation" in body and "Programme de formation" in body
    for own in (mine, programme):
        response = client.get(f"{home}/documents/{own.id}.docx")
        assert response.status_code == 200 and response.data == services.read_file(own, "docx")
    for other in (theirs, elsewhere):
        assert client.get(f"{home}/documents/{other.id}.docx").status_code == 404
    assert client.get(f"{home}/documents/{mine.id}.pdf").status_code == 404  # no PDF made in the tests
