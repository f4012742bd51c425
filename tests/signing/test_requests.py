"""The signature workflow: sending a document for signature, each signatory's signature as a new PAdES revision,
the organisation signing last, completion (checklist, contract date, signed copy), refusal, cancellation, a
document changed after sending, reminders and expiry, the timestamp authority."""
from __future__ import annotations

import datetime as dt
import hashlib
import re

import pytest
from sqlalchemy import select

from trainingmgr.automations.engine import fire_due, plan
from trainingmgr.core.errors import ConflictError, ValidationError
from trainingmgr.core.timeutil import paris_today, utcnow
from trainingmgr.extensions import db
from trainingmgr.files.services import path_for
from trainingmgr.messaging.models import Job
from trainingmgr.messaging.services import run_due_jobs
from trainingmgr.quality.checklist import services as checklist
from trainingmgr.signing import access, pades
from trainingmgr.signing import services as signing
from trainingmgr.signing.models import SignatureRevision

from tests.fixtures.signing import link, outbox, request_code, send, sign_by_link
from tests.helpers import MONDAY, page, signing_dir




def roots() -> list[bytes]:
    with open(f"{signing_dir()}/signing.crt", "rb") as handle:
        return [handle.read()]


def refused(call, *args, **kwargs) -> str:
    with pytest.raises((ConflictError, ValidationError)) as caught:
        call(*args, **kwargs)
    db.session.rollback()
    return caught.value.message


def convention_item(session) -> checklist.ItemStatus:
    db.session.expire_all()
    return next(s for s in checklist.session_checklist(session, MONDAY - dt.timedelta(days=20))
                if s.key == "convention_signed")


# --------------------------------------------------------------------------- sending


def test_proposed_signatories_put_the_company_signatory_first_and_the_organisation_last(sale):
    proposed = signing.proposed_signatories(sale.convention)
    assert [c.key for c in proposed] == [f"company:{sale.anne.id}", f"company:{sale.hugo.id}",
                                         f"trainer:{sale.world.pierre.id}", "organisation"]
    assert [c.default for c in proposed] == [True, False, False, True]


def test_sending_prepares_the_pdf_and_invites_the_company_first(sale):
    request = send(sale.convention, sale.advisor, anne=sale.anne.id)
    anne, org = request.signatories
    assert (anne.position, anne.role, anne.status) == (1, "company", "invited")
    assert (org.position, org.role, org.status) == (2, "organisation", "waiting")
    prepared = signing.latest_pdf(request)
    source = path_for(sale.convention.pdf_file).read_bytes()
    assert prepared.startswith(source)  # the document as sent is the first revision, byte for byte
    assert request.source_sha256 == hashlib.sha256(source).hexdigest() == sale.convention.pdf_sha256
    report = pades.verify(prepared, trust_roots=roots())
    assert report.unsigned_fields == ["signature-1", "signature-2"]
    invitation, = outbox("anne@dupont.example", "Document à signer")
    token = re.search(r"/signature/([\w.-]+)", invitation.body_text).group(1)  # made when sent: its own timestamp
    assert access.read_link(token).id == anne.id and request.deadline.strftime("%d/%m/%Y") in invitation.body_text
    assert outbox("contact@formaction.example") == [] and outbox(org.email, "Document à signer") == []
    keys = set(db.session.scalars(select(Job.key).where(Job.kind.in_(("signature_reminder", "signature_expiry")))))
    assert keys == {f"signature:{request.id}:expiry"}  # the reminders are automation rules (tests/automations)


def test_a_document_cannot_be_sent_twice_nor_without_signatories_nor_with_a_bad_deadline(sale):
    assert "signataires" in refused(send, sale.convention, sale.advisor, keys=())
    assert "signataires" in refused(send, sale.convention, sale.advisor, keys=("company:999999",))
    assert "postérieure" in refused(send, sale.convention, sale.advisor, deadline=paris_today(), anne=sale.anne.id)
    assert "90 jours" in refused(send, sale.convention, sale.advisor, deadline=paris_today() + dt.timedelta(days=91),
                                 anne=sale.anne.id)
    send(sale.convention, sale.advisor, anne=sale.anne.id)
    assert "déjà en cours de signature" in refused(send, sale.convention, sale.advisor, anne=sale.anne.id)


def test_a_signatory_without_an_e_mail_address_is_refused_by_name(sale):
    sale.hugo.email = ""
    db.session.commit()
    assert "Hugo Martin n'a pas d'adresse e-mail valide" in refused(
        send, sale.convention, sale.advisor, keys=("company:{hugo}", "organisation"), hugo=sale.hugo.id)


def test_a_document_without_pdf_or_replaced_cannot_be_sent(sale, monkeypatch):
    from trainingmgr.documents.conversion import pdf
    from trainingmgr.documents import services as documents

    monkeypatch.setattr(pdf, "available", lambda: False)
    sale.anne.name = "Anne Dupont-Leroy"  # a change of data: a new version, here without PDF
    db.session.commit()
    newer = documents.generate("convention", sale.session, sale.advisor, company=sale.company)
    db.session.commit()
    assert "version plus récente" in refused(send, sale.convention, sale.advisor, anne=sale.anne.id)
    assert "pas de PDF" in refused(send, newer, sale.advisor, anne=sale.anne.id)


def test_only_contractual_documents_are_signed(sale):
    from trainingmgr.documents import services as documents

    programme = documents.generate("programme", sale.session, sale.advisor)
    db.session.commit()
    assert signing.cannot_send(programme) == "Ce type de document ne se signe pas électroniquement."


# --------------------------------------------------------------------------- signing to the end


def test_the_company_signs_then_the_organisation_and_every_revision_stays_provable(sale, client, app):
    request = send(sale.convention, sale.advisor, anne=sale.anne.id)
    anne, org = request.signatories
    response = sign_by_link(client, anne, seed=3)
    assert response.status_code == 200 and "Vous avez signé ce document" in page(response)
    db.session.expire_all()
    assert (anne.status, anne.method, org.status) == ("signed", "drawn", "invited")
    assert anne.code_checked_at is not None and anne.ip == "127.0.0.1"
    assert len(outbox(org.email, "Document à signer")) == 1  # the organisation is invited only now
    response = sign_by_link(app.test_client(), org, typed=org.name)
    assert response.status_code == 200 and "Toutes les signatures sont apposées" in page(response)
    db.session.expire_all()
    assert request.status == "completed" and org.method == "typed"
    revisions = request.revisions
    assert [(r.number, r.signatory_id) for r in revisions] == [(0, None), (1, anne.id), (2, org.id)]
    files = [signing.revision_pdf(request, r.number) for r in revisions]
    assert files[1].startswith(files[0]) and files[2].startswith(files[1])  # incremental updates
    assert [hashlib.sha256(f).hexdigest() for f in files] == [r.sha256 for r in revisions]
    report = pades.verify(files[2], trust_roots=roots())
    assert report.ok, report.problems
    assert [(s.field_name, s.signer, s.covers) for s in report.signatures] == [
        ("signature-1", "Anne Dupont", "sa révision"), ("signature-2", org.name, "tout le fichier")]
    assert pades.verify(files[1], trust_roots=roots()).ok  # an earlier revision verifies on its own
    copy, = outbox("anne@dupont.example", "Document signé")
    assert [a.filename for a in copy.attachments] == [f"{sale.convention.number}-signe.pdf"]
    assert copy.attachments[0].data == files[2]
    assert db.session.scalar(select(Job.status).where(Job.key == f"signature:{request.id}:expiry")) == "cancelled"


def test_the_checklist_ticks_itself_once_every_convention_is_signed(sale, app):
    request = send(sale.convention, sale.advisor, anne=sale.anne.id)
    anne, org = request.signatories
    item = convention_item(sale.session)
    assert item.state == "pending" and item.evidence == "0/1 convention signée"
    sign_by_link(app.test_client(), anne)
    assert convention_item(sale.session).state == "pending"
    sign_by_link(app.test_client(), org, typed=org.name)
    item = convention_item(sale.session)
    assert item.state == "done"
    assert item.evidence == f"1/1 convention signée (dernière signature le {paris_today().strftime('%d/%m/%Y')})"


def test_the_trainees_signature_dates_the_contract_and_its_withdrawal_period(individual_sale, app):
    from trainingmgr.enrolments.contract import withdrawal_ends

    enrolment = individual_sale.enrolment
    request = send(individual_sale.contract, individual_sale.advisor, keys=(f"trainee:{enrolment.id}",))
    trainee, = request.signatories
    assert trainee.role == "trainee" and trainee.email == enrolment.trainee.email
    assert enrolment.contract_signed_on is None
    assert sign_by_link(app.test_client(), trainee, typed=enrolment.trainee.full_name).status_code == 200
    db.session.expire_all()
    assert enrolment.contract_signed_on == paris_today()
    assert withdrawal_ends(enrolment) == paris_today() + dt.timedelta(days=10)
    assert enrolment.events[-1].actor_label == "signature électronique"
    assert request.status == "completed"


def test_a_typed_name_must_be_the_signatorys_and_consent_is_required(sale, client):
    request = send(sale.convention, sale.advisor, anne=sale.anne.id)
    anne = request.signatories[0]
    code = request_code(client, anne)
    response = sign_by_link(client, anne, code=code, typed="Quelqu'un d'autre")
    assert response.status_code == 422 and "Tapez votre nom complet tel qu'inscrit : « Anne Dupont »" in page(response)
    response = sign_by_link(client, anne, code=code, consent=False)
    assert response.status_code == 422 and "Cochez la case" in page(response)
    db.session.expire_all()
    assert anne.code_attempts == 0 and anne.status == "invited"  # neither spent a try of the code
    assert sign_by_link(client, anne, code=code).status_code == 200


# --------------------------------------------------------------------------- refusing, cancelling, changing


def test_a_signatory_refuses_with_a_reason_and_the_advisor_is_told(sale, client):
    request = send(sale.convention, sale.advisor, anne=sale.anne.id)
    anne = request.signatories[0]
    url = link(anne)
    token = client.get(url).get_data(as_text=True).split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    response = client.post(url + "/refuser", data={"csrf_token": token, "reason": " "})
    assert response.status_code == 422 and "Indiquez la raison de votre refus" in page(response)
    response = client.post(url + "/refuser", data={"csrf_token": token, "reason": "Le prix ne correspond pas au devis"})
    assert response.status_code == 200 and "Votre refus est enregistré" in page(response)
    db.session.expire_all()
    assert (request.status, anne.status) == ("refused", "refused")
    assert request.close_reason == "Refusé par Anne Dupont : Le prix ne correspond pas au devis"
    told, = outbox(sale.advisor.email, "Signature refusé")
    assert "Le prix ne correspond pas au devis" in told.body_text
    assert client.get(url).status_code == 410


def test_a_new_version_of_the_document_cancels_its_signature_and_the_advisor_is_told(sale, client):
    from trainingmgr.documents import services as documents

    request = send(sale.convention, sale.advisor, anne=sale.anne.id)
    anne = request.signatories[0]
    code = request_code(client, anne)
    sale.company.address = "3 place du Capitole"
    db.session.commit()
    documents.generate("convention", sale.session, sale.advisor, company=sale.company)
    db.session.commit()
    db.session.expire_all()
    assert request.status == "cancelled" and anne.status == "invited" and len(request.revisions) == 1
    assert "Document modifié après l'envoi pour signature (nouvelle version 2" in request.close_reason
    assert outbox(sale.advisor.email, "Signature annulé")
    response = client.post(link(anne) + "/signer", data={"code": code, "typed_name": "Anne Dupont", "consent": "y"})
    assert response.status_code == 410 and "annulée par l'organisme" in page(response)


def test_a_document_replaced_behind_the_requests_back_cannot_be_signed(sale, client, monkeypatch):
    """Were the signal missed (a version inserted by another path), the signature itself checks the archive."""
    from trainingmgr.documents import services as documents

    request = send(sale.convention, sale.advisor, anne=sale.anne.id)
    anne = request.signatories[0]
    code = request_code(client, anne)
    sale.company.address = "3 place du Capitole"
    db.session.commit()
    with documents.document_issued.muted():
        documents.generate("convention", sale.session, sale.advisor, company=sale.company)
    db.session.commit()
    response = sign_by_link(client, anne, code=code)
    assert response.status_code == 409 and "modifié après l'envoi pour signature" in page(response)
    db.session.expire_all()
    assert request.status == "cancelled" and len(request.revisions) == 1
    assert "La demande de signature est annulée" in request.close_reason
    assert client.get(link(anne)).status_code == 410


def test_an_altered_archive_file_stops_the_signature(sale, client):
    request = send(sale.convention, sale.advisor, anne=sale.anne.id)
    anne = request.signatories[0]
    code = request_code(client, anne)
    path = path_for(sale.convention.pdf_file)
    data = bytearray(path.read_bytes())
    data[200] ^= 1
    path.write_bytes(bytes(data))
    response = sign_by_link(client, anne, code=code)
    assert response.status_code == 409 and "ne correspond plus à celui envoyé" in page(response)
    db.session.expire_all()
    assert request.status == "cancelled"


def test_the_advisor_cancels_and_the_links_die(sale, advisor, client):
    request = send(sale.convention, sale.advisor, anne=sale.anne.id)
    anne = request.signatories[0]
    shown = advisor.get(f"/signatures/{request.id}")
    assert shown.status_code == 200 and "En attente de signatures" in page(shown)
    token = page(shown).split('name="csrf_token" value="')[1].split('"')[0]
    response = advisor.post(f"/signatures/{request.id}/cancel", data={"csrf_token": token, "reason": "Erreur de prix"})
    assert response.status_code == 302
    db.session.expire_all()
    assert request.status == "cancelled" and request.close_reason.endswith(": Erreur de prix")
    assert client.get(link(anne)).status_code == 410
    assert advisor.post(f"/signatures/{request.id}/cancel", data={"csrf_token": token}).status_code == 409
    # A new request can be sent for the same document once the first is closed.
    assert send(sale.convention, sale.advisor, anne=sale.anne.id).status == "pending"


def test_a_new_link_replaces_the_old_one(sale, advisor, client):
    request = send(sale.convention, sale.advisor, anne=sale.anne.id)
    anne = request.signatories[0]
    old = link(anne)
    token = page(advisor.get(f"/signatures/{request.id}")).split('name="csrf_token" value="')[1].split('"')[0]
    response = advisor.post(f"/signatures/{request.id}/signatories/{anne.id}/resend", data={"csrf_token": token})
    assert response.status_code == 302
    db.session.expire_all()
    gone = client.get(old)
    assert gone.status_code == 410 and "remplacé par un plus récent" in page(gone)
    assert client.get(link(anne)).status_code == 200
    assert len(outbox("anne@dupont.example", "Document à signer")) == 2
    org = request.signatories[1]
    response = advisor.post(f"/signatures/{request.id}/signatories/{org.id}/resend", data={"csrf_token": token})
    assert response.status_code == 409  # the organisation's signatory is not invited yet


# --------------------------------------------------------------------------- reminders and expiry


def remind(when: dt.datetime) -> None:
    """The worker's pass at ``when``: the automation rules (the reminders), then the due jobs (the expiry)."""
    fire_due(when)
    db.session.commit()
    run_due_jobs(when)
    db.session.commit()


def test_reminders_at_three_and_seven_days_then_expiry_at_the_deadline(sale):
    request = send(sale.convention, sale.advisor, anne=sale.anne.id, deadline=paris_today() + dt.timedelta(days=10))
    anne = request.signatories[0]
    remind(request.created_at + dt.timedelta(days=3, minutes=1))
    assert len(outbox(anne.email, "Rappel : document à signer")) == 1
    remind(request.created_at + dt.timedelta(days=7, minutes=1))
    assert len(outbox(anne.email, "Rappel : document à signer")) == 2 and anne.reminders_sent == 2
    assert outbox(request.signatories[1].email, "Rappel") == []  # the organisation waits: no reminder
    run_due_jobs(utcnow() + dt.timedelta(days=12))
    db.session.commit()
    db.session.expire_all()
    assert request.status == "expired" and "sans la signature de Anne Dupont, " in request.close_reason
    assert outbox(sale.advisor.email, "Signature expiré")


def test_no_reminder_after_the_deadline_and_none_once_signed(sale, app):
    request = send(sale.convention, sale.advisor, anne=sale.anne.id, deadline=paris_today() + dt.timedelta(days=5))
    later = request.created_at + dt.timedelta(minutes=1)
    planned = [p.rule.code for p in plan(later, later + dt.timedelta(days=30)) if p.rule.trigger == "signature_pending"]
    assert planned == ["signature_reminder_3"]  # J+7 falls after the deadline
    db.session.rollback()
    sign_by_link(app.test_client(), request.signatories[0])
    sign_by_link(app.test_client(), request.signatories[1], typed=request.signatories[1].name)
    for days in (3, 7, 30):
        remind(request.created_at + dt.timedelta(days=days, minutes=1))
    assert outbox("anne@dupont.example", "Rappel") == []


def test_a_link_after_the_deadline_expires_the_request(sale, client, monkeypatch):
    from trainingmgr.signing import public

    request = send(sale.convention, sale.advisor, anne=sale.anne.id, deadline=paris_today() + dt.timedelta(days=2))
    later = utcnow() + dt.timedelta(days=4)
    monkeypatch.setattr("trainingmgr.signing.services.utcnow", lambda: later)
    monkeypatch.setattr("trainingmgr.signing.access.utcnow", lambda: later)
    assert public  # the pages read the same clocks
    response = client.get(link(request.signatories[0]))
    assert response.status_code == 410 and "Le délai de signature de ce document est dépassé" in page(response)
    db.session.expire_all()
    assert request.status == "expired"


# --------------------------------------------------------------------------- timestamps


def test_a_configured_timestamp_authority_dates_each_signature(sale, app, local_tsa, monkeypatch):
    monkeypatch.setitem(app.config, "TSA_URL", local_tsa.url)
    request = send(sale.convention, sale.advisor, anne=sale.anne.id)
    sign_by_link(app.test_client(), request.signatories[0])
    sign_by_link(app.test_client(), request.signatories[1], typed=request.signatories[1].name)
    db.session.expire_all()
    report = pades.verify(signing.latest_pdf(request), trust_roots=roots(), tsa_roots=[local_tsa.ca_pem])
    assert report.ok, report.problems
    assert all(s.timestamp is not None for s in report.signatures)


def test_a_failing_timestamp_authority_leaves_the_document_unsigned(sale, app, local_tsa, monkeypatch):
    monkeypatch.setitem(app.config, "TSA_URL", local_tsa.url)
    request = send(sale.convention, sale.advisor, anne=sale.anne.id)
    local_tsa.fail_with(500)
    response = sign_by_link(app.test_client(), request.signatories[0])
    assert response.status_code == 409 and "La signature n'est pas apposée" in page(response)
    db.session.expire_all()
    assert request.signatories[0].status == "invited" and len(request.revisions) == 1
    assert db.session.scalar(select(SignatureRevision.id).where(SignatureRevision.number == 1)) is None


def test_without_a_signing_certificate_nothing_is_sent(sale, app, tmp_path, monkeypatch, advisor):
    monkeypatch.setitem(app.config, "SIGNING_DIR", str(tmp_path / "none"))
    assert "n'est pas configurée sur ce serveur" in refused(send, sale.convention, sale.advisor, anne=sale.anne.id)
    shown = advisor.get(f"/documents/{sale.convention.id}/signature")
    assert shown.status_code == 200 and "Aucun certificat de signature électronique" in page(shown)


def test_the_database_refuses_to_change_or_delete_a_signed_revision(sale, app):
    from sqlalchemy import text

    request = send(sale.convention, sale.advisor, anne=sale.anne.id)
    sign_by_link(app.test_client(), request.signatories[0])
    for statement in (f"UPDATE signature_revision SET sha256 = 'x' WHERE request_id = {request.id}",
                      f"DELETE FROM signature_revision WHERE request_id = {request.id}"):
        with pytest.raises(Exception, match="append-only"):
            db.session.execute(text(statement))
            db.session.flush()
        db.session.rollback()
    assert len(db.session.get(type(request), request.id).revisions) == 2
