"""Payment by transfer: the organisation's IBAN and BIC (checked with schwifty, 422 and nothing saved when wrong),
and the EPC (SEPA) QR code of an invoice (billing/transfer.py), read back with zxing-cpp from the PNG, from the issued
invoice's Word document, from the invoice page and from a reminder's attachment."""
from __future__ import annotations

import base64
import datetime as dt
import io
import re
import zipfile
from decimal import Decimal

import pytest

from trainingmgr.billing.invoices.credit_notes import credit_invoice
from trainingmgr.billing.invoices.drafts import create_draft
from trainingmgr.billing.invoices.files import read_file
from trainingmgr.billing.invoices.issue import issue_invoice
from trainingmgr.billing.invoices.planning import propose_invoices
from trainingmgr.billing.payments import services as payments
from trainingmgr.billing.payments.transfer import TransferRefused, transfer_for
from trainingmgr.core.timeutil import paris_today, utcnow
from trainingmgr.demo.services import ORGANISATION
from trainingmgr.extensions import db
from trainingmgr.organisation.services import get_organisation, update_organisation

from tests.billing.transfer_support import BIC, IBAN, IBAN_GROUPED, decode, epc
from tests.documents.support import docx_text
from tests.fixtures.billing import complete, enrol_with, fill_buyer, invoices_of
from tests.helpers import login, page

D = Decimal


def set_bank_details(iban: str = IBAN, bic: str = BIC) -> None:
    update_organisation({"iban": iban, "bic": bic})
    db.session.commit()


def settings_form(**changes) -> dict:
    data = {k: ("" if v is None else v.isoformat() if hasattr(v, "isoformat") else str(v))
            for k, v in ORGANISATION.items()}
    return {**data, **changes}


@pytest.fixture
def company_invoice(inter):
    """A company's invoice of 600 € for the DUME inter session, issued while the organisation had no IBAN (the
    tests' organisation is the demo's, which has one)."""
    set_bank_details("", "")
    session = inter.session
    enrol_with(session, 1, [{"kind": "company", "amount": "600.00"}], inter.world.company)
    complete(session)
    propose_invoices(session, inter.advisor)
    [invoice] = invoices_of(session)
    fill_buyer(invoice)
    db.session.commit()
    issue_invoice(invoice, inter.advisor)
    db.session.commit()
    return invoice


# --------------------------------------------------------------------------- bank details in the settings


def test_the_admin_records_the_bank_details_kept_compact_and_shown_in_groups_of_four(client, world):
    login(client, "admin@test.example")
    response = client.post("/admin/organisation/", data=settings_form(iban="fr76 3000-6000 0112 3456 7890 189",
                                                                      bic=" agrifrpp "))
    assert response.status_code == 302, page(response)
    org = get_organisation()
    assert (org.iban, org.bic) == (IBAN, BIC)
    assert f'value="{IBAN_GROUPED}"' in page(client.get("/admin/organisation/"))
    # Both may be removed together (invoices then carry no transfer QR code).
    assert client.post("/admin/organisation/", data=settings_form(iban="", bic="")).status_code == 302
    assert (get_organisation().iban, get_organisation().bic) == ("", "")


@pytest.mark.parametrize(("iban", "bic", "message"), [
    ("FR7730006000011234567890189", BIC, "sa clé de contrôle"),  # the IBAN's check digits
    ("FR0630006000011234567890188", BIC, "clé RIB"),  # check digits right, the French account key wrong
    ("FR76 3000 6000 0112 3456 7890 18", BIC, "longueur prévue"),
    ("XX7630006000011234567890189", "", "code pays"),
    ("BR1800360305000010009795493C1", "", "hors de la zone SEPA"),
    (IBAN, "AGRIFRP", "8 ou 11 caractères"),
    (IBAN, "DEUTDEFF", "autre pays (DE)"),
    ("", BIC, "Indiquez l'IBAN"),
])
def test_wrong_bank_details_are_refused_in_french_and_nothing_is_saved(client, world, iban, bic, message):
    set_bank_details()
    login(client, "admin@test.example")
    response = client.post("/admin/organisation/", data=settings_form(iban=iban, bic=bic, name="Autre nom"))
    assert response.status_code == 422
    assert message in page(response)
    db.session.expire_all()
    org = get_organisation()
    assert (org.iban, org.bic, org.name) == (IBAN, BIC, ORGANISATION["name"])


def test_only_the_admin_sets_the_bank_details(as_user, world):
    set_bank_details()
    for email in ("conseil@test.example", "formateur@test.example"):
        response = as_user(email).post("/admin/organisation/", data=settings_form(iban="FR1420041010050500013M02606"))
        assert response.status_code == 403
    db.session.expire_all()
    assert get_organisation().iban == IBAN


# --------------------------------------------------------------------------- the EPC QR code


def test_the_qr_code_decodes_to_the_iban_the_amount_and_the_invoice_number(company_invoice):
    set_bank_details()
    transfer = transfer_for(company_invoice)
    assert decode(transfer.png()) == epc(company_invoice.number, "600")
    # What remains due after a part payment.
    assert decode(transfer_for(company_invoice, D("250.50")).png()) == epc(company_invoice.number, "250.5")


def test_the_issued_invoice_document_prints_the_bank_details_and_its_qr_code(inter):
    set_bank_details()
    session = inter.session
    enrol_with(session, 1, [{"kind": "company", "amount": "600.00"}], inter.world.company)
    complete(session)
    propose_invoices(session, inter.advisor)
    [invoice] = invoices_of(session)
    fill_buyer(invoice)
    db.session.commit()
    issue_invoice(invoice, inter.advisor)
    db.session.commit()
    assert (invoice.seller["iban"], invoice.seller["bic"]) == (IBAN, BIC)  # frozen with the invoice
    docx = read_file(invoice, "docx")[0]
    text = re.sub(r"\s+", " ", docx_text(docx))
    assert f"IBAN : {IBAN_GROUPED}" in text and f"BIC : {BIC}" in text
    assert f"Référence à rappeler : {invoice.number}" in text and "Règlement par virement" in text
    with zipfile.ZipFile(io.BytesIO(docx)) as archive:
        pictures = [archive.read(name) for name in archive.namelist() if name.startswith("word/media/")]
    assert [decode(png) for png in pictures] == [epc(invoice.number, "600")]
    # The organisation changes bank afterwards: the issued invoice keeps the account it printed.
    set_bank_details("FR1420041010050500013M02606", "PSSTFRPP")
    assert transfer_for(invoice).iban == IBAN


def test_without_an_iban_an_invoice_has_no_qr_code_and_its_page_says_why(company_invoice, advisor):
    text = re.sub(r"\s+", " ", docx_text(read_file(company_invoice, "docx")[0]))
    assert "IBAN" not in text and "Règlement par virement" not in text
    with pytest.raises(TransferRefused, match="Aucun IBAN n'est enregistré"):
        transfer_for(company_invoice)
    shown = page(advisor.get(f"/billing/{company_invoice.id}"))
    assert "Aucun IBAN n'est enregistré pour l'organisme" in shown and 'data-field="transfer-qr"' not in shown
    # Set afterwards: the invoice page offers the code with the organisation's account.
    set_bank_details()
    shown = page(advisor.get(f"/billing/{company_invoice.id}"))
    data = re.search(r'src="data:image/png;base64,([^"]+)" width="200" height="200" alt="QR code', shown).group(1)
    assert decode(base64.b64decode(data)) == epc(company_invoice.number, "600")
    assert IBAN_GROUPED in shown


def test_the_page_and_the_reminder_carry_the_code_for_what_remains_due(company_invoice, advisor, users):
    from trainingmgr.messaging.models import OutboxMessage

    set_bank_details()
    payments.record_payment(company_invoice, {"paid_on": paris_today(), "amount": "100", "method": "transfer"},
                            users["advisor"])
    db.session.commit()
    shown = page(advisor.get(f"/billing/{company_invoice.id}"))
    data = re.search(r'src="data:image/png;base64,([^"]+)"', shown).group(1)
    assert decode(base64.b64decode(data)) == epc(company_invoice.number, "500")
    company_invoice.buyer_email = "compta@dupont.example"
    db.session.commit()
    message = payments.send_reminder(company_invoice, users["advisor"], now=utcnow() + dt.timedelta(days=40))
    db.session.commit()
    message = db.session.get(OutboxMessage, message.id)
    [qr] = [a for a in message.attachments if a.content_type == "image/png"]
    assert qr.filename == f"virement-{company_invoice.number}.png"
    assert decode(qr.data) == epc(company_invoice.number, "500")
    assert f"IBAN {IBAN_GROUPED}" in message.body_text and "Le QR code joint" in message.body_text


def test_what_the_epc_standard_does_not_allow_gets_no_code(company_invoice, inter):
    set_bank_details()
    with pytest.raises(TransferRefused, match="999 999 999,99"):
        transfer_for(company_invoice, D("1000000000.00"))
    with pytest.raises(TransferRefused, match="Rien n'est dû"):
        transfer_for(company_invoice, D("0.00"))
    note = credit_invoice(company_invoice, inter.advisor, None, "Formation annulée")
    db.session.commit()
    with pytest.raises(TransferRefused, match="Un avoir ne se paie pas"):
        transfer_for(note)
    assert "IBAN" not in docx_text(read_file(note, "docx")[0])
    draft = create_draft(inter.session, {"payer_kind": "company", "payer_company_id": inter.world.company.id},
                                 inter.advisor)
    with pytest.raises(TransferRefused, match="produit à l'émission"):
        transfer_for(draft)
    # The beneficiary's name is cut to the 70 characters the standard allows.
    org = get_organisation()
    org.name = "Organisme de formation " + "très " * 20
    company_invoice.seller = {**company_invoice.seller, "name": org.name}
    assert len(transfer_for(company_invoice).name) <= 70
