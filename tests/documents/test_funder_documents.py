"""The paperwork of funders other than OPCOs (documents/funders.py; funding/receipt.py, packs.py): France Travail's
entry and attendance attestations for a trainee it funds by an AIF, with the agreement's reference and the hours
read from the register; the refund pack of a fund of the self-employed (FIF PL): the receipted invoice, the
certificat de réalisation and the programme in one zip with their SHA-256, refused while the invoice is unpaid."""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
import zipfile
from decimal import Decimal
from urllib.parse import quote

import pytest
from sqlalchemy import func, select

from trainingmgr.core.errors import ConflictError
from trainingmgr.core.formatting import date_fr, hours_fr, month_fr
from trainingmgr.core.timeutil import paris_today
from trainingmgr.documents import services
from trainingmgr.documents.models import GeneratedDocument
from trainingmgr.extensions import db

from tests.documents.support import docx_text
from tests.helpers import page, run_started_task

AIF = "AIF-31-2026-004567"
FUND_FILE = "FIFPL-2026-0042"


def funded_by(enrolment, kind: str, **values):
    """The enrolment's only funding line turned into one of ``kind`` (as an advisor would record it)."""
    [line] = enrolment.funding_lines
    line.kind = kind
    for key, value in values.items():
        setattr(line, key, value)
    db.session.commit()
    return line


def flat(text: str) -> str:
    return text.replace("\u202f", " ").replace("\xa0", " ")


def first_slot(session):
    return min(session.slots, key=lambda s: (s.date, s.start_time))


# --------------------------------------------------------------------------- France Travail (AIF)


@pytest.fixture
def aif(delivered):
    """Paul, in the delivered DUME session, funded by France Travail (AIF agreement), came an hour late on the
    first half-day (the advisor's correction of the register)."""
    from trainingmgr.attendance import services as attendance

    d = delivered
    paul = d.enrolments["Paul"]
    funded_by(paul, "france_travail", opco_name="France Travail", opco_file_number=AIF, opco_status="agreed",
              opco_member_number="7654321B", agreed_hours=Decimal("8.00"), agreed_amount=Decimal("600.00"),
              opco_contact_email="conseil.aif@francetravail.example")
    slot = first_slot(d.dume)
    late = (dt.datetime.combine(slot.date, slot.start_time) + dt.timedelta(hours=1)).time()
    attendance.correct(slot, paul, {"presence": "present", "arrived_at": late.strftime("%H:%M"),
                                    "reason": "Arrivé en retard (train)"}, d.advisor,
                       now=slot.ends_at + dt.timedelta(hours=1))
    db.session.commit()
    d.paul, d.late = paul, late
    return d


def test_the_entry_attestation_states_the_aif_reference_and_the_entry_date(aif):
    d = aif
    document = services.generate("ft_entry", d.dume, d.advisor, enrolment=d.paul, pdf=False)
    db.session.commit()
    body = flat(docx_text(services.read_file(document, "docx")))
    assert document.number.startswith("AEF-")
    assert AIF in body and "7654321B" in body and "conseil.aif@francetravail.example" in body
    assert d.paul.trainee.full_name in body and d.dume.title in body
    assert f"est entré(e) en formation le {date_fr(first_slot(d.dume).date)}" in body
    assert f"d'une durée prévue de {hours_fr(d.dume.planned_hours)}" in body
    assert "Le stagiaire" in body and "Signature et cachet" in body  # both signatures


def test_the_attendance_attestation_counts_the_hours_of_each_half_day_and_month(aif):
    d = aif
    document = services.generate("ft_attendance", d.dume, d.advisor, enrolment=d.paul, pdf=False)
    db.session.commit()
    body = flat(docx_text(services.read_file(document, "docx")))
    presence = document.context["presence"]
    planned = d.dume.planned_hours
    assert document.number.startswith("APF-")
    assert AIF in body and "7654321B" in body
    assert presence["hours"] == hours_fr(planned - 1) and presence["absent_hours"] == "1 h"
    assert presence["planned_hours"] == hours_fr(planned)
    assert f"Heures de présence\n{hours_fr(planned - 1)}" in body
    slots = sorted(d.dume.slots, key=lambda s: (s.date, s.start_time))
    assert [row["hours"] for row in presence["slots"]] == [hours_fr(slots[0].hours - 1)] + [
        hours_fr(s.hours) for s in slots[1:]]
    assert presence["slots"][0]["status"] == f"Présent(e), arrivé(e) à {d.late:%H:%M}"
    assert f"arrivé(e) à {d.late:%H:%M}" in body
    assert [m["month"] for m in presence["months"]] == list(dict.fromkeys(month_fr(s.date) for s in slots))
    assert month_fr(slots[0].date) in body


def test_the_attestations_are_listed_and_sent_for_the_aif_trainee_only(aif, advisor_web):
    from trainingmgr.messaging.models import OutboxMessage

    d = aif
    body = page(advisor_web.get(f"/sessions/{d.dume.id}/documents"))
    assert body.count('data-generate="ft_entry"') == 1 and body.count('data-generate="ft_attendance"') == 1
    response = advisor_web.post(f"/sessions/{d.dume.id}/documents/generate",
                                data={"doc_type": "ft_attendance", "enrolment_id": d.paul.id})
    assert response.status_code == 302
    document = db.session.scalars(select(GeneratedDocument).where(GeneratedDocument.doc_type == "ft_attendance")).one()
    assert advisor_web.post(f"/documents/{document.id}/send").status_code == 302
    sent = db.session.scalars(select(OutboxMessage.recipient).where(OutboxMessage.topic == "document_ft_attendance"))
    assert sorted(sent) == sorted([d.paul.trainee.email, "conseil.aif@francetravail.example"])
    # the session's pack holds them
    _, pack = run_started_task(advisor_web, advisor_web.post(f"/sessions/{d.dume.id}/documents/pack"))
    assert {"AEF", "APF"} <= {n.split("-")[0] for n in zipfile.ZipFile(io.BytesIO(pack.data)).namelist()}


def test_without_a_france_travail_line_the_attestations_do_not_apply(delivered, advisor_web):
    d = delivered
    sarah = d.enrolments["Sarah"]  # paid by her employer
    for doc_type in ("ft_entry", "ft_attendance"):
        assert "pas financé par France Travail" in services.applicable(doc_type, d.dume, sarah)
        with pytest.raises(ConflictError):
            services.generate(doc_type, d.dume, d.advisor, enrolment=sarah, pdf=False)
    response = advisor_web.post(f"/sessions/{d.dume.id}/documents/generate",
                                data={"doc_type": "ft_entry", "enrolment_id": sarah.id})
    assert response.status_code == 409 and "France Travail" in page(response)
    assert db.session.scalar(select(func.count()).select_from(GeneratedDocument)) == 0


def test_the_attestations_wait_for_the_reference_and_the_start(demo):
    paul = demo.enrolments["Paul"]
    line = funded_by(paul, "france_travail", opco_name="France Travail", opco_file_number="")
    assert "référence de l'accord France Travail" in services.applicable("ft_entry", demo.dume, paul)
    line.opco_file_number = AIF
    db.session.commit()
    assert "une fois la session commencée" in services.applicable("ft_entry", demo.dume, paul)  # not started yet


# --------------------------------------------------------------------------- a fund of the self-employed (FIF PL)


@pytest.fixture
def fif_pl(delivered):
    """Paul, a liberal architect in the delivered DUME session, funded by the FIF PL: he pays and claims the
    refund; his invoice as a professional is issued, unpaid."""
    from trainingmgr.billing.invoices.drafts import add_line, create_draft
    from trainingmgr.billing.invoices.issue import issue_invoice

    d = delivered
    paul = d.enrolments["Paul"]
    funded_by(paul, "self_employed_fund", opco_name="FIF PL", opco_file_number=FUND_FILE,
              opco_member_number="PL-778899", subrogation=False)
    invoice = create_draft(d.dume, {"payer_kind": "individual", "payer_trainee_id": paul.trainee_id},
                                   d.advisor)
    invoice.payer_kind, invoice.opco_name, invoice.opco_file_number = "self_employed_fund", "FIF PL", FUND_FILE
    invoice.buyer_address, invoice.buyer_postal_code, invoice.buyer_city = "4 rue du Taur", "31000", "Toulouse"
    line = add_line(invoice, {"description": f"Formation {d.dume.title} – {paul.trainee.full_name}",
                                      "quantity": "1", "unit": "C62", "unit_price": str(paul.price_excl_vat)},
                            d.advisor)
    line.enrolment_id = paul.id
    issue_invoice(invoice, d.advisor)
    db.session.commit()
    d.paul, d.invoice = paul, invoice
    return d


def pay(invoice, amount: str, method: str, reference: str, advisor):
    from trainingmgr.billing.payments.services import record_payment

    payment = record_payment(invoice, {"paid_on": paris_today(), "amount": Decimal(amount), "method": method,
                                       "reference": reference}, advisor)
    db.session.commit()
    return payment


def test_the_pack_is_refused_while_the_invoice_is_not_fully_paid(fif_pl, advisor_web):
    d = fif_pl
    url = f"/enrolments/{d.paul.id}/fund-pack"
    total = d.invoice.total_incl_vat
    response = advisor_web.post(url)
    assert response.status_code == 409
    body = flat(page(response))
    assert f"Facture non acquittée : il reste 600,00 € à régler sur la facture n° {d.invoice.number}" in body
    assert "Le FIF PL rembourse sur facture acquittée" in body
    pay(d.invoice, "200.00", "cheque", "CHQ 0012345", d.advisor)
    response = advisor_web.post(url)
    assert response.status_code == 409 and "il reste 400,00 €" in flat(page(response))
    assert total == Decimal("600.00")
    assert db.session.scalar(select(func.count()).select_from(GeneratedDocument)) == 0  # nothing made meanwhile


def test_the_pack_holds_the_receipted_invoice_certificate_and_programme_with_their_hashes(fif_pl, advisor_web):
    from trainingmgr.billing.invoices.files import read_file

    d = fif_pl
    pay(d.invoice, "200.00", "cheque", "CHQ 0012345", d.advisor)
    pay(d.invoice, "400.00", "transfer", "VIR PAUL ESTEVE", d.advisor)
    body = page(advisor_web.get(f"/sessions/{d.dume.id}/documents"))
    assert "Dossier pour le FIF PL" in body and body.count("data-fund-pack=") == 1
    task, response = run_started_task(advisor_web, advisor_web.post(f"/enrolments/{d.paul.id}/fund-pack"))
    assert (task.kind, task.status, task.done, task.total) == ("fund_pack", "done", 4, 4)  # invoice + 3 documents
    assert response.status_code == 200 and response.mimetype == "application/zip"
    name = f"Dossier de remboursement FIF PL – {d.paul.trainee.full_name}.zip"
    assert task.result_name == name
    assert f"filename*=UTF-8''{quote(name)}" in response.headers["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    names = archive.namelist()
    assert len(names) == 5 and names[-1] == "index.txt"
    files = names[:-1]
    assert [re.sub(r"-[A-Z]+[-\d].*", "", n) for n in files] == [
        "1-facture", "2-facture-acquittee", "3-certificat-de-realisation", "4-programme-de-formation"]
    assert files[0] == f"1-facture-{d.invoice.number}.docx"  # no PDF converter in the tests: the Word files
    index = archive.read("index.txt").decode()
    hashes = dict(reversed(line.split("  ", 1)) for line in index.splitlines() if re.match(r"[0-9a-f]{64}  ", line))
    assert set(hashes) == set(files)
    for file in files:
        assert hashes[file] == hashlib.sha256(archive.read(file)).hexdigest()
    assert archive.read(files[0]) == read_file(d.invoice, "docx")[0]
    assert f"Fonds : FIF PL, dossier n° {FUND_FILE}, adhérent n° PL-778899" in index
    receipt = flat(docx_text(archive.read(files[1])))
    today = date_fr(paris_today())
    assert (f"Facture n° {d.invoice.number} acquittée le {today} par chèque et virement, montant 600,00 €"
            in receipt)
    assert "CHQ 0012345" in receipt and "VIR PAUL ESTEVE" in receipt and FUND_FILE in receipt
    certificate = flat(docx_text(archive.read(files[2])))
    assert "CERTIFICAT DE RÉALISATION" in certificate and d.paul.trainee.last_name in certificate
    # asked again with nothing changed: the same archived versions, no new one
    made = db.session.scalar(select(func.count()).select_from(GeneratedDocument))
    _, again = run_started_task(advisor_web, advisor_web.post(f"/enrolments/{d.paul.id}/fund-pack"))
    again = zipfile.ZipFile(io.BytesIO(again.data))
    assert again.namelist() == names
    assert db.session.scalar(select(func.count()).select_from(GeneratedDocument)) == made


def test_a_cancelled_payment_makes_the_invoice_unpaid_again(fif_pl, advisor_web):
    from trainingmgr.billing.payments.services import cancel_payment

    d = fif_pl
    payment = pay(d.invoice, "600.00", "transfer", "VIR 1", d.advisor)
    assert services.applicable("receipt", d.dume, d.paul) is None
    cancel_payment(payment, "Virement rejeté par la banque", d.advisor)
    db.session.commit()
    assert "il reste 600,00 €" in flat(services.applicable("receipt", d.dume, d.paul))
    assert advisor_web.post(f"/enrolments/{d.paul.id}/fund-pack").status_code == 409


def test_no_pack_without_a_fund_or_an_invoice(delivered, advisor_web):
    d = delivered
    sarah = d.enrolments["Sarah"]
    response = advisor_web.post(f"/enrolments/{sarah.id}/fund-pack")
    assert response.status_code == 409 and "fonds des non-salariés" in page(response)
    paul = d.enrolments["Paul"]
    funded_by(paul, "self_employed_fund", opco_name="AGEFICE", opco_file_number="AG-1")
    response = advisor_web.post(f"/enrolments/{paul.id}/fund-pack")
    assert response.status_code == 409
    assert "Aucune facture n'est émise pour cette formation au stagiaire ou à l'AGEFICE" in page(response)


def test_the_pack_is_for_staff_only(fif_pl, app):
    d = fif_pl
    pay(d.invoice, "600.00", "transfer", "VIR 1", d.advisor)
    url = f"/enrolments/{d.paul.id}/fund-pack"
    trainer = app.test_client()
    trainer.post("/login", data={"email": "formateur@formaction.example", "password": "formateur-demo-2026"})
    assert trainer.post(url).status_code == 403
    anonymous = app.test_client()
    response = anonymous.post(url)
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert db.session.scalar(select(func.count()).select_from(GeneratedDocument)) == 0


def test_with_libreoffice_the_documents_of_the_pack_are_pdf(make_app, fif_pl):
    import os

    from flask import current_app

    from trainingmgr.documents.conversion import pdf
    from trainingmgr.funding.packs import fund_pack

    d = fif_pl
    pay(d.invoice, "600.00", "transfer", "VIR 1", d.advisor)
    app = make_app(PDF_CONVERTER="auto", FILES_DIR=current_app.config["FILES_DIR"])  # the invoice's files
    with app.app_context():
        if not pdf.available():
            if os.environ.get("SKIP_OFFICE_TESTS") == "1":
                pytest.skip("SKIP_OFFICE_TESTS=1")
            pytest.fail("LibreOffice is missing: run `make office` (or SKIP_OFFICE_TESTS=1 to leave PDF out).")
        try:
            pack = fund_pack(db.session.merge(d.paul), db.session.merge(d.advisor))
            db.session.commit()
        finally:
            pdf.shutdown()  # the converter is per process: leave none running for the other tests
    archive = zipfile.ZipFile(io.BytesIO(pack.data))
    names = archive.namelist()
    # the invoice was issued without a converter (its Word file); the receipt, certificate and programme are PDFs
    assert [name.rsplit(".", 1)[1] for name in names] == ["docx", "pdf", "pdf", "pdf", "txt"]
    assert all(archive.read(name).startswith(b"%PDF") for name in names[1:4])
