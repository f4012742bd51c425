"""Convocations and the règlement intérieur: a trainee awaiting the prerequisite decision is neither convoked nor
billed in the company convention; once admitted, the convocation (the default automation rule, at J−7) leaves with
the convocation, the programme and the règlement intérieur attached (DOCX here: PDF_CONVERTER is "none") and the
.ics, and the trainee's personal page lists the documents."""
from __future__ import annotations

import datetime as dt
import io
import os
from decimal import Decimal

import pytest
from docx import Document

from trainingmgr.companies.services import save_contact
from trainingmgr.automations import engine
from trainingmgr.core.timeutil import PARIS
from trainingmgr.documents import services as documents
from trainingmgr.documents.rendering.context import convention as convention_context
from trainingmgr.enrolments import services
from trainingmgr.enrolments.mails import personal_url
from trainingmgr.enrolments.models import Enrolment
from trainingmgr.extensions import db
from trainingmgr.messaging.services import send_due_messages

from tests.documents.support import docx_text, make_template
from tests.enrolments.support import fresh, convocation_planned, outbox, recipients
from tests.fixtures.enrolments import confirm, enrol
from tests.helpers import MONDAY, page

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
J7 = dt.datetime.combine(MONDAY - dt.timedelta(days=7), dt.time(9), tzinfo=PARIS)  # open_session()'s first start


def admit(enrolment, advisor) -> None:
    services.record_decision(fresh(Enrolment, enrolment.id), "admitted", "", advisor)
    db.session.commit()


def worker_pass(days_after_j7: int = 0) -> int:
    """The worker's pass of the automations at J−7 09:00 (plus some days); the convocations queued."""
    before = len(outbox("convocation"))
    engine.fire_due(J7 + dt.timedelta(days=days_after_j7))
    db.session.commit()
    return len(outbox("convocation")) - before


# --------------------------------------------------------------------------- the prerequisite gate


def test_a_pending_trainee_gets_no_convocation_until_admitted(world, chorus_session, new_trainee):
    enrolment = enrol(chorus_session, new_trainee(1))
    assert enrolment.status == "pending_prerequisite"  # Chorus Pro has a prerequisite
    confirm(chorus_session)
    assert not convocation_planned(enrolment)
    assert worker_pass() == 0
    admit(enrolment, world.users["advisor"])
    assert fresh(Enrolment, enrolment.id).status == "confirmed"
    assert convocation_planned(enrolment)
    assert worker_pass(1) == 1
    assert recipients("convocation", enrolment) == ["p01@exemple.fr"]


def test_a_confirmed_enrolment_whose_decision_is_pending_waits_for_it(world, chorus_session, new_trainee):
    """Whatever put it there (a status set by hand), the convocation waits for the admission."""
    enrolment = enrol(chorus_session, new_trainee(1))
    confirm(chorus_session)
    row = fresh(Enrolment, enrolment.id)
    row.status = "confirmed"
    db.session.commit()
    assert not convocation_planned(enrolment)
    assert worker_pass() == 0
    admit(enrolment, world.users["advisor"])
    assert worker_pass(1) == 1
    assert recipients("convocation", enrolment) == ["p01@exemple.fr"]


def test_the_company_convention_names_and_bills_only_admitted_trainees(world, chorus_session, new_trainee):
    admitted = enrol(chorus_session, new_trainee(1, company_id=world.company.id))
    pending = enrol(chorus_session, new_trainee(2, company_id=world.company.id))
    admit(admitted, world.users["advisor"])
    assert fresh(Enrolment, pending.id).status == "pending_prerequisite"
    context = convention_context(chorus_session, world.company, "CONV-TEST-1")
    assert [t["last_name"] for t in context["trainees"]] == ["Nom01"]
    assert context["session"]["trainees_count"] == "1"
    assert context["price"]["total_excl_vat"] == context["price"]["unit_excl_vat"]  # one seat billed
    text = docx_text(documents.render(documents.active_template("convention")[0], context).docx)
    assert "Prénom01 Nom01" in text
    assert "Nom02" not in text
    # Once admitted, the next convention names both.
    admit(pending, world.users["advisor"])
    context = convention_context(chorus_session, world.company, "CONV-TEST-2")
    assert [t["last_name"] for t in context["trainees"]] == ["Nom01", "Nom02"]


def test_a_quote_still_names_a_pending_trainee(world, chorus_session, new_trainee):
    """An OPCO asks for the quote before the training: the trainee awaiting admission is on it."""
    from trainingmgr.documents.rendering.context import quote

    enrol(chorus_session, new_trainee(1, company_id=world.company.id))
    context = quote(chorus_session, world.company, "DEV-TEST-1")
    assert [t["last_name"] for t in context["trainees"]] == ["Nom01"]
    assert context["quote"]["lines"][0]["quantity"] == "1"


# --------------------------------------------------------------------------- the e-mail and its attachments


@pytest.fixture
def send_through_smtp(smtp_app):  # noqa: F811 - the fixture imported above
    """Send the outbox with an application configured for ``smtp_server`` (same test database)."""

    def send():
        with smtp_app.app_context():
            try:
                return send_due_messages()
            finally:
                db.session.remove()

    return send


@pytest.fixture
def company_with_hr(world):
    save_contact(world.company, None, {"role": "hr", "name": "Rémi RH", "email": "rh@dupont.example"})
    db.session.commit()
    return world.company


def _convoked(world, session, trainee) -> Enrolment:
    enrolment = enrol(session, trainee)
    confirm(session)
    assert worker_pass() >= 1
    return fresh(Enrolment, enrolment.id)


def test_the_convocation_email_carries_its_three_documents_and_the_ics(world, company_with_hr, dume_session,
                                                                       new_trainee, smtp_server, send_through_smtp):  # noqa: F811
    enrolment = _convoked(world, dume_session, new_trainee(1, company_id=company_with_hr.id))
    made = {d.doc_type: d for d in documents.session_documents(dume_session)}
    assert set(made) == {"convocation", "programme", "internal_rules"}
    assert made["convocation"].enrolment_id == enrolment.id
    assert all(d.pdf_file_id is None for d in made.values())  # no converter in the tests: DOCX
    # named beforehand (the dry run names them), not after the numbers the documents get as the e-mail leaves
    names = ["convocation-prenom01-nom01.docx", "programme-marches-publics-dume-et-chorus-pro.docx",
             "reglement-interieur.docx"]
    ics = f"session-{dume_session.id}.ics"
    for message in outbox("convocation", enrolment):
        assert [(a.filename, a.content_type) for a in message.attachments] == [
            (names[0], DOCX), (names[1], DOCX), (names[2], DOCX), (ics, "text/calendar")]
    send_through_smtp()
    db.session.expire_all()
    received = [m for m in smtp_server.messages if m["Subject"].startswith("Convocation")]
    assert sorted(m["To"] for m in received) == ["p01@exemple.fr", "rh@dupont.example"]
    for message in received:
        attachments = list(message.iter_attachments())
        assert [(a.get_filename(), a.get_content_type()) for a in attachments] == [
            (names[0], DOCX), (names[1], DOCX), (names[2], DOCX), (ics, "text/calendar")]
        texts = [docx_text(a.get_content()) for a in attachments[:3]]
        assert "CONVOCATION À LA FORMATION" in texts[0] and "Nom01" in texts[0]
        assert "PROGRAMME DE FORMATION" in texts[1]
        assert "RÈGLEMENT INTÉRIEUR" in texts[2]
        assert "BEGIN:VCALENDAR" in attachments[3].get_content()
        body = message.get_body(("plain",)).get_content()
        assert f"Pièces jointes :\n- Convocation : {names[0]}\n" in body
        assert "règlement intérieur de l'organisme de formation, joint à ce message" in body


def test_with_a_converter_the_documents_leave_as_pdf(world, dume_session, new_trainee, make_app):
    from trainingmgr.documents.conversion import pdf

    enrolment = enrol(dume_session, new_trainee(1))
    confirm(dume_session)
    app = make_app(PDF_CONVERTER="auto")
    with app.app_context():
        if not pdf.available():
            if os.environ.get("SKIP_OFFICE_TESTS") == "1":
                pytest.skip("SKIP_OFFICE_TESTS=1")
            pytest.fail("LibreOffice is missing: run `make office` (or SKIP_OFFICE_TESTS=1 to leave PDF out).")
        try:
            engine.fire_due(J7)
            db.session.commit()
        finally:
            pdf.shutdown()  # the converter is per process: leave none running for the other tests
            db.session.remove()
    message = outbox("convocation", enrolment)[0]
    files = message.attachments
    assert [a.content_type for a in files] == ["application/pdf"] * 3 + ["text/calendar"]
    assert [a.filename.split("-")[0] for a in files[:3]] == ["convocation", "programme", "reglement"]
    assert all(a.filename.endswith(".pdf") and a.data.startswith(b"%PDF") for a in files[:3])


def test_trainees_convoked_together_get_the_same_session_documents(world, dume_session, new_trainee):
    first, second = enrol(dume_session, new_trainee(1)), enrol(dume_session, new_trainee(2))
    confirm(dume_session)
    assert worker_pass() == 2
    by_type: dict[str, list] = {}
    for document in documents.session_documents(dume_session):
        by_type.setdefault(document.doc_type, []).append(document)
    assert len(by_type["programme"]) == len(by_type["internal_rules"]) == 1  # one version, sent to both
    assert sorted(d.enrolment_id for d in by_type["convocation"]) == [first.id, second.id]
    programme = documents.read_file(by_type["programme"][0], "docx")
    for enrolment in (first, second):
        assert any(a.filename == "programme-marches-publics-dume-et-chorus-pro.docx" and a.data == programme
                   for a in outbox("convocation", enrolment)[0].attachments)


def test_without_its_documents_the_email_carries_only_the_ics(world, dume_session, new_trainee, monkeypatch):
    """No staff account to make the documents on behalf of: the dry run and the e-mail carry only the .ics."""
    from trainingmgr.enrolments import mails

    monkeypatch.setattr(mails, "documents_author", lambda enrolment: None)
    enrol(dume_session, new_trainee(1))
    confirm(dume_session)
    ics = f"session-{dume_session.id}.ics"
    [planned] = [p for p in engine.plan(J7, J7) if p.rule.code == "convocation"]
    assert planned.attachments == [("Fichier agenda", ics)]
    enrolment = _convoked(world, dume_session, new_trainee(2))
    message = outbox("convocation", enrolment)[0]
    assert [a.filename for a in message.attachments] == [ics]
    assert "joint à ce message" not in message.body_text
    assert "règlement intérieur de l'organisme de formation, disponible sur simple demande" in message.body_text


def test_the_personal_page_lists_the_documents_with_their_links(world, dume_session, new_trainee, client):
    enrolment, other = enrol(dume_session, new_trainee(1)), enrol(dume_session, new_trainee(2))
    confirm(dume_session)
    assert worker_pass() == 2
    link = personal_url(enrolment)
    token = link.rsplit("/t/", 1)[1]
    text = page(client.get(f"/t/{token}"))
    made = {d.doc_type: d for d in documents.session_documents(dume_session) if d.enrolment_id in (None, enrolment.id)}
    for doc_type, label in (("convocation", "Convocation"), ("programme", "Programme de formation"),
                            ("internal_rules", "Règlement intérieur")):
        document = made[doc_type]
        assert f'data-doc-type="{doc_type}"' in text and label in text
        url = f"/t/{token}/documents/{document.id}.docx"
        assert url in text
        response = client.get(url)
        assert response.status_code == 200 and response.mimetype == DOCX
        Document(io.BytesIO(response.data))
        assert f"/t/{token}/documents/{document.id}.pdf" not in text  # no PDF copy: no PDF link
    # Another trainee's convocation is not theirs to download.
    theirs = next(d for d in documents.session_documents(dume_session) if d.enrolment_id == other.id)
    assert client.get(f"/t/{token}/documents/{theirs.id}.docx").status_code == 404


# --------------------------------------------------------------------------- the règlement intérieur


def test_the_default_internal_rules_state_the_required_mentions(world, dume_session):
    document = documents.generate("internal_rules", dume_session, world.users["advisor"])
    assert document.number.startswith(f"RI-{dume_session.id:04d}-")
    text = docx_text(documents.read_file(document, "docx"))
    for mention in (
        "RÈGLEMENT INTÉRIEUR", "R6352-1 à R6352-15", dume_session.title,
        # health and safety, and the host company's own rules
        "Santé et sécurité", "déjà doté d'un règlement intérieur, les mesures de santé et de sécurité",
        # discipline, sanctions and the procedure before one
        "Règles de discipline", "Nature et échelle des sanctions", "avertissement écrit", "exclusion définitive",
        "Les amendes et autres sanctions pécuniaires sont interdites", "griefs",
        "en indiquant l'objet de la convocation", "se faire assister par la personne de son choix",
        "notifiée par écrit", "informe de la sanction prise l'employeur du stagiaire",
        # representation: only beyond 500 hours
        "durée supérieure à 500 heures",
        "Ces dispositions ne s'appliquent pas aux actions d'une durée de 500 heures ou moins",
        "soit 500 heures ou moins : les articles R6352-9 à R6352-15",
        # the organisation and its declaration
        "Formaction Sud-Ouest", "Déclaration d'activité",
    ):
        assert mention in text, mention
    assert "{{" not in text and "{%" not in text


def test_a_long_action_elects_delegates(world, dume_session, monkeypatch):
    from trainingmgr.documents.rendering.context import internal_rules
    from trainingmgr.sessions.models import TrainingSession

    monkeypatch.setattr(TrainingSession, "planned_hours", property(lambda self: Decimal(600)))
    representation = internal_rules(dume_session, "RI-TEST")["rules"]["representation"]
    assert "plus de 500 heures" in representation and "élection d'un délégué titulaire" in representation


def test_the_internal_rules_template_is_listed_and_replaceable(world, dume_session, as_user):
    admin = as_user("admin@test.example")
    assert "Règlement intérieur" in page(admin.get("/admin/templates"))
    assert admin.get("/admin/templates/internal_rules").status_code == 200
    assert admin.get("/admin/templates/internal_rules/default.docx").status_code == 200
    assert "RÈGLEMENT INTÉRIEUR" in docx_text(admin.get("/admin/templates/internal_rules/preview").data)
    with open(documents._default_path("internal_rules"), "rb") as default:
        assert documents.validate_template("internal_rules", default.read()) == []
    mine = make_template("Règlement intérieur de {{ org.name }}", "{{ rules.representation }}")
    documents.upload_template("internal_rules", mine, "reglement.docx", world.users["admin"])
    db.session.commit()
    text = docx_text(documents.read_file(documents.generate("internal_rules", dume_session,
                                                            world.users["advisor"]), "docx"))
    assert "Règlement intérieur de Formaction Sud-Ouest" in text and "500 heures ou moins" in text
