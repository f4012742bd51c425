"""The Word document of an issued invoice or credit note (documents/facture.docx, or the admin's uploaded "invoice"
template): every mandatory mention, read back with python-docx; invoices are made only by issuing, never from a
session's documents page."""
from __future__ import annotations

import re
from decimal import Decimal

import pytest

from trainingmgr.billing.invoices.credit_notes import credit_invoice
from trainingmgr.billing.invoices.drafts import add_line, create_draft
from trainingmgr.billing.invoices.files import read_file
from trainingmgr.billing.invoices.issue import issue_invoice
from trainingmgr.billing.invoices.planning import propose_invoices
from trainingmgr.core.errors import ValidationError
from trainingmgr.core.formatting import date_fr
from trainingmgr.documents import services as documents
from trainingmgr.documents.catalogue import DOC_TYPES, mandatory_of
from trainingmgr.extensions import db
from trainingmgr.files.services import path_for

from tests.documents.support import docx_text, make_template
from tests.fixtures.billing import complete, enrol_with, fill_buyer, invoices_of
from tests.helpers import page

D = Decimal


def one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text)


@pytest.fixture
def issued(chorus_done):
    """The demo's OPCO EP and company invoices for Julie Martin, issued (the OPCO's address typed on the draft)."""
    d = chorus_done
    propose_invoices(d.chorus, d.advisor)
    db.session.commit()
    drafts = {i.payer_kind: i for i in invoices_of(d.chorus)}
    fill_buyer(drafts["opco"], address="TSA 12345", postal_code="75012", city="Paris", buyer_siret="851296632")
    db.session.commit()
    for invoice in (drafts["company"], drafts["opco"]):
        issue_invoice(invoice, d.advisor)
        db.session.commit()
    d.company_invoice, d.opco_invoice = drafts["company"], drafts["opco"]
    return d


def text_of(invoice) -> str:
    return one_line(docx_text(read_file(invoice, "docx")[0]))


def test_the_company_invoice_states_every_mandatory_mention(issued):
    invoice = issued.company_invoice
    text = text_of(invoice)
    # The seller: identity, SIREN and SIRET, NDA, VAT exemption.
    for expected in ("Formaction Sud-Ouest", "SARL", "12 rue des Lois, 31000 Toulouse", "SIREN 812 345 676",
                     "SIRET 812 345 676 00017", "Déclaration d'activité enregistrée sous le n° 76 31 09999 31",
                     "Exonération de TVA, article 261-4-4°-a du CGI"):
        assert expected in text, expected
    # The buyer, with its SIREN (2026–2027 rules) and SIRET.
    for expected in ("Atelier d'architecture Garonne", "8 quai de la Daurade, 31000 Toulouse", "SIREN 443 061 841",
                     "SIRET 443 061 841 00021"):
        assert expected in text, expected
    # Number, dates, category of operation, the service's date.
    assert "FACTURE" in text and f"N° {invoice.number}" in text
    assert f"Date d'émission : {date_fr(invoice.issue_date)}" in text
    assert f"Échéance : {date_fr(invoice.due_date)}" in text
    assert "Catégorie de l'opération : Prestation de services" in text
    assert f"Date d'exécution de la prestation : le {date_fr(issued.chorus.first_date)}" in text
    assert "« Chorus Pro »" in text and issued.chorus.dates_label in text
    # The line: quantity, unit, unit price excl. VAT, VAT rate and amount, total.
    line = invoice.lines[0]
    assert line.description in text
    assert "1 stagiaire 180,00 € 0 % 0,00 € 180,00 €" in text
    assert "Total HT : 180,00 €" in text and "Total TVA : 0,00 €" in text and "Total TTC : 180,00 €" in text
    # Payment terms, late-payment penalties, the fixed 40 € indemnity, no discount.
    assert invoice.payment_terms in text
    assert "pénalités" in text and "L441-10" in text
    assert "Indemnité forfaitaire pour frais de recouvrement" in text and "40 €" in text
    assert "Pas d'escompte pour paiement anticipé" in text
    assert "{{" not in text and "{%" not in text and "None" not in text


def test_the_opco_invoice_states_the_subrogation_file_trainee_and_hours(issued):
    invoice = issued.opco_invoice
    text = text_of(invoice)
    assert "OPCO EP" in text and "TSA 12345, 75012 Paris" in text and "SIREN 851 296 632" in text
    assert "Subrogation de paiement – OPCO EP, dossier n° EP-2026-004217" in text
    assert "entreprise bénéficiaire : Atelier d'architecture Garonne (SIRET 443 061 841 00021)" in text
    assert "Julie Martin" in text and "7 h suivies sur 7 h" in text
    assert "Total TTC : 420,00 €" in text
    assert invoice.number == f"{issued.company_invoice.number[:-4]}{int(issued.company_invoice.number[-4:]) + 1:04d}"


def test_the_credit_note_document(issued):
    invoice = issued.company_invoice
    note = credit_invoice(invoice, issued.advisor, "80", "Une demi-journée non réalisée")
    db.session.commit()
    text = text_of(note)
    assert "AVOIR" in text and f"N° {note.number}" in text
    assert f"Avoir sur la facture n° {invoice.number} du {date_fr(invoice.issue_date)}" in text
    assert "Motif de l'avoir : Une demi-journée non réalisée" in text
    assert "Total TTC : 80,00 €" in text and "SIREN 443 061 841" in text
    assert "Échéance : " not in text.replace("Échéance : —", "")


def test_an_individual_is_not_told_of_the_40_euro_indemnity(inter):
    session = inter.session
    enrolment = enrol_with(session, 1, [{"kind": "individual", "amount": "600.00"}])
    complete(session)
    propose_invoices(session, inter.advisor)
    [invoice] = invoices_of(session)
    fill_buyer(invoice, address="5 rue des Fleurs", postal_code="31400", city="Toulouse")
    db.session.commit()
    issue_invoice(invoice, inter.advisor)
    db.session.commit()
    text = text_of(invoice)
    assert enrolment.trainee.full_name in text and "600,00 €" in text
    assert "pénalités" in text and "40 €" not in text and invoice.seller["recovery_indemnity"] == ""
    assert text.count("SIREN") == 1 and "SIREN 812 345 676" in text  # the seller's: a person has none


def test_a_public_buyer_invoice_states_its_service_code_and_engagement(inter):
    from trainingmgr.companies.services import save_company

    session = inter.session
    mairie = save_company(None, {"name": "Mairie de Colomiers", "siret": "21310149600015", "is_public_buyer": True,
                                 "engagement_required": True, "chorus_service_code": "FACTURES",
                                 "address": "1 place de l'Hôtel de Ville", "postal_code": "31770",
                                 "city": "Colomiers"})
    db.session.flush()
    enrol_with(session, 1, [{"kind": "public_buyer", "amount": "600.00", "engagement_number": "EJ-2031-42"}], mairie)
    complete(session)
    propose_invoices(session, inter.advisor)
    [invoice] = invoices_of(session)
    issue_invoice(invoice, inter.advisor)
    db.session.commit()
    text = text_of(invoice)
    assert "Mairie de Colomiers" in text and "SIRET 213 101 496 00015" in text
    assert "Code service : FACTURES – N° d'engagement : EJ-2031-42" in text


def test_vat_at_20_percent_is_stated_with_the_sellers_vat_number(inter):
    from trainingmgr.organisation.services import get_organisation

    org = get_organisation()
    org.vat_status, org.vat_number = "standard", "FR12812345676"
    session = inter.session
    enrol_with(session, 1, [{"kind": "company", "amount": "720.00"}], inter.world.company)
    complete(session)
    propose_invoices(session, inter.advisor)
    [invoice] = invoices_of(session)
    fill_buyer(invoice)
    db.session.commit()
    issue_invoice(invoice, inter.advisor)
    db.session.commit()
    text = text_of(invoice)
    assert "TVA intracommunautaire FR12812345676" in text and "TVA au taux de 20 %" in text
    assert "1 stagiaire 600,00 € 20 % 120,00 € 600,00 €" in text
    assert "Total HT : 600,00 € Total TVA : 120,00 € Total TTC : 720,00 €" in text
    assert "Exonération" not in text

    org.vat_number = ""
    db.session.commit()
    other = create_draft(session, {"payer_kind": "company", "payer_company_id": inter.world.company.id},
                                 inter.advisor)
    add_line(other, {"description": "Dédit", "quantity": "1", "unit_price": "100"}, inter.advisor)
    fill_buyer(other)
    db.session.commit()
    with pytest.raises(ValidationError) as refused:
        issue_invoice(other, inter.advisor)
    assert "TVA intracommunautaire de l'organisme" in refused.value.message


def _house_template(*, leave_out: str | None = None) -> bytes:
    paragraphs = ["MODELE MAISON"]
    for name in mandatory_of("invoice"):
        if name == leave_out:
            continue
        paragraphs.append("{% for l in lines %}{{ l.description }} = {{ l.total }}{% endfor %}" if name == "lines"
                          else f"{name} : {{{{ {name} }}}}")
    return make_template(*paragraphs)


def test_the_admins_uploaded_invoice_template_is_used_at_issue(chorus_done):
    d = chorus_done
    with pytest.raises(ValidationError) as refused:
        documents.upload_template("invoice", _house_template(leave_out="terms.recovery_indemnity"), "maison.docx",
                                  d.admin)
    assert any("terms.recovery_indemnity" in problem for problem in refused.value.fields["file"])
    db.session.rollback()
    documents.upload_template("invoice", _house_template(), "maison.docx", d.admin)
    db.session.commit()
    propose_invoices(d.chorus, d.advisor)
    invoice = next(i for i in invoices_of(d.chorus) if i.payer_kind == "company")
    issue_invoice(invoice, d.advisor)
    db.session.commit()
    text = text_of(invoice)
    assert "MODELE MAISON" in text and f"invoice.number : {invoice.number}" in text
    assert "buyer.siren : 443 061 841" in text and "= 180,00 €" in text


def test_invoices_are_not_generated_from_the_sessions_documents_page(issued, app):
    d = issued
    client = app.test_client()
    assert client.post("/login", data={"email": "conseil@formaction.example",
                                       "password": "conseil-demo-2026"}).status_code == 302
    body = page(client.get(f"/sessions/{d.chorus.id}/documents"))
    assert 'data-generate="invoice"' not in body
    response = client.post(f"/sessions/{d.chorus.id}/documents/generate", data={"doc_type": "invoice"})
    assert response.status_code == 409 and "émission" in page(response)
    assert documents.applicable("invoice", d.chorus) is not None
    assert "invoice" not in {code for code, _, _ in documents.pack_subjects(d.chorus)}
    assert DOC_TYPES["invoice"].filename == "facture.docx"

    admin = app.test_client()
    assert admin.post("/login", data={"email": "admin@formaction.example",
                                      "password": "admin-demo-2026"}).status_code == 302
    assert "Facture et avoir" in page(admin.get("/admin/templates"))
    assert "terms.recovery_indemnity" in page(admin.get("/admin/templates/invoice/variables"))
    preview = admin.get("/admin/templates/invoice/preview")  # the latest invoice's data
    assert preview.status_code == 200 and "OPCO EP" in docx_text(preview.data)


def test_an_altered_stored_file_is_refused(issued, app):
    invoice = issued.company_invoice
    stored = invoice.docx_file
    path = path_for(stored)
    path.write_bytes(path.read_bytes() + b"altered")
    client = app.test_client()
    client.post("/login", data={"email": "conseil@formaction.example", "password": "conseil-demo-2026"})
    response = client.get(f"/billing/{invoice.id}/docx")
    assert response.status_code == 409 and "altéré" in page(response)
    # Storing the same content again repairs the damaged copy (files are kept by their SHA-256).
    from trainingmgr.files.services import store_bytes

    store_bytes(path.read_bytes()[:-len(b"altered")], "copie.docx", "invoice")
    assert client.get(f"/billing/{invoice.id}/docx").status_code == 200
