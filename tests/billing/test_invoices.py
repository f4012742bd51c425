"""Invoices and credit notes (billing/invoices.py, billing/views.py, api/invoices.py): who pays what from the
funding lines, drafts and their bad inputs, issue and its mandatory mentions, public buyers, credit notes instead
of edits, permissions, the screens and the API."""
from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from trainingmgr.billing.invoices.credit_notes import credit_invoice
from trainingmgr.billing.invoices.drafts import add_line, delete_draft, delete_line, update_draft, update_line
from trainingmgr.billing.invoices.files import read_file
from trainingmgr.billing.invoices.issue import document_context, issue_invoice
from trainingmgr.billing.invoices.payers import opco_values
from trainingmgr.billing.invoices.planning import plan_invoices, propose_invoices
from trainingmgr.billing.invoices.queries import remaining_to_credit
from trainingmgr.billing.models import Invoice, InvoiceLine, InvoiceSequence
from trainingmgr.core.errors import ConflictError, PermissionDenied, ValidationError
from trainingmgr.core.timeutil import paris_today
from trainingmgr.enrolments.models import FundingLine
from trainingmgr.extensions import db

from tests.documents.support import docx_text
from tests.fixtures.billing import agreed, complete, enrol_with, fill_buyer, flat, invoices_of
from tests.helpers import page

D = Decimal
YEAR = paris_today().year


def by_payer(invoices) -> dict[str, Invoice]:
    return {i.payer_kind: i for i in invoices}


def lines_count() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(InvoiceLine))


def sequence() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.coalesce(func.sum(InvoiceSequence.last_number), 0)))


@pytest.fixture
def garonne(chorus_done):
    """The demo's proposal written: the OPCO EP draft and the company's draft for Julie Martin."""
    d = chorus_done
    propose_invoices(d.chorus, d.advisor)
    db.session.commit()
    d.drafts = by_payer(invoices_of(d.chorus))
    return d


def issued_company_invoice(d) -> Invoice:
    invoice = d.drafts["company"]
    issue_invoice(invoice, d.advisor)
    db.session.commit()
    return invoice


# --------------------------------------------------------------------------- who pays what


def test_subrogation_splits_the_demo_chorus_pro_enrolment_between_opco_ep_and_the_company(chorus_done):
    d = chorus_done
    julie = d.enrolments["Julie"]
    plan = plan_invoices(d.chorus)
    assert sorted((p.payer_kind, p.total_incl_vat) for p in plan.invoices) == [("company", D("180.00")),
                                                                              ("opco", D("420.00"))]
    # Thomas's OPCO EP file is only requested: nothing is proposed for him until it is agreed.
    assert any("Thomas Roux" in note and "EP-2026-004218" in note for note in plan.notes)

    proposal = propose_invoices(d.chorus, d.advisor)
    db.session.commit()
    assert len(proposal.created) == 2
    drafts = by_payer(invoices_of(d.chorus))
    opco, company = drafts["opco"], drafts["company"]
    assert (opco.buyer_name, opco.opco_name, opco.opco_file_number) == ("OPCO EP", "OPCO EP", "EP-2026-004217")
    assert (opco.total_excl_vat, opco.total_vat, opco.total_incl_vat) == (D("420.00"), D("0.00"), D("420.00"))
    assert opco.buyer_email == "conseillere.toulouse@opco-ep.example"
    assert opco.beneficiary_company_id == julie.company_id and opco.status == "draft" and opco.number is None
    [opco_line] = opco.lines
    assert (opco_line.enrolment_id, opco_line.hours) == (julie.id, D("7.00"))
    assert db.session.get(FundingLine, opco_line.funding_line_id).opco_file_number == "EP-2026-004217"
    assert "Julie Martin" in opco_line.description and "7 h suivies sur 7 h" in opco_line.description
    assert (company.buyer_name, company.buyer_siret, company.total_incl_vat) == (
        "Atelier d'architecture Garonne", "44306184100021", D("180.00"))
    assert (company.buyer_address, company.buyer_postal_code, company.buyer_city) == (
        "8 quai de la Daurade", "31000", "Toulouse")
    assert company.buyer_email == "direction@garonne-archi.example"  # the company's contact
    assert "reste à charge après OPCO EP" in company.lines[0].description
    assert opco.vat_exemption == "Exonération de TVA, article 261-4-4°-a du CGI"
    assert (opco.service_start, opco.service_end) == (d.chorus.first_date, d.chorus.last_date)

    # Proposing again changes nothing: what is on a draft is not proposed twice.
    again = propose_invoices(d.chorus, d.advisor)
    db.session.commit()
    assert (again.created, again.completed) == ([], [])
    assert len(invoices_of(d.chorus)) == 2 and lines_count() == 2


def test_an_agreement_recorded_later_adds_the_opco_invoice_only(garonne):
    d = garonne
    thomas = d.enrolments["Thomas"]
    line = thomas.funding_lines[0]
    line.opco_status, line.agreed_amount = "agreed", D("600.00")
    db.session.commit()
    proposal = propose_invoices(d.chorus, d.advisor)
    db.session.commit()
    assert [(i.opco_file_number, i.total_incl_vat) for i in proposal.created] == [("EP-2026-004218", D("600.00"))]
    assert proposal.completed == []  # the OPCO pays all of Thomas's seat: nothing more for the company
    # The last invoice to OPCO EP gave its address: the new draft reuses it.
    d.drafts["opco"].buyer_address = "Tour OPCO EP, 1 avenue des Formations"
    db.session.commit()
    assert opco_values(line, None)["buyer_address"] == "Tour OPCO EP, 1 avenue des Formations"


def test_a_draft_line_of_an_enrolment_no_longer_due_is_pointed_out(garonne):
    d = garonne
    d.enrolments["Julie"].status = "cancelled"  # e.g. cancelled after the proposal
    db.session.commit()
    plan = plan_invoices(d.chorus)
    stale = [note for note in plan.notes if "n'est plus due" in note]
    assert len(stale) == 2 and all("« annulée »" in note for note in stale)
    assert plan.invoices == []


def test_opco_billed_per_hour_attended_capped_at_the_agreement_and_absences(inter):
    """Hours basis: hours × rate, capped at the agreement. Flat basis: an abandon pays the hours attended, a
    no-show nothing (the company pays the rest; after an abandon, the rest of the price due for the hours
    attended). Cancelled and pending enrolments are not invoiced."""
    session, company = inter.session, inter.world.company
    capped = enrol_with(session, 1, [agreed("600.00", "H-1")], company)
    per_hour = enrol_with(session, 2, [agreed("600.00", "H-2"), {"kind": "company", "amount": "0"}], company)
    abandon = enrol_with(session, 3, [agreed("400.00", "F-3"), {"kind": "company", "amount": "200.00"}], company)
    no_show = enrol_with(session, 4, [agreed("400.00", "F-4"), {"kind": "company", "amount": "200.00"}], company)
    cancelled = enrol_with(session, 5, [{"kind": "company", "amount": "600.00"}], company)
    for enrolment, rate in ((capped, "80.00"), (per_hour, "50.00")):
        enrolment.funding_lines[0].billing_basis = "hours_attended"  # not on the enrolment's funding form yet
        enrolment.funding_lines[0].hourly_rate = D(rate)
    cancelled.status = "cancelled"
    complete(session, hours={per_hour.id: D("6"), abandon.id: D("4"), no_show.id: D("0")},
             statuses={abandon.id: "abandoned", no_show.id: "no_show"})

    plan = plan_invoices(session)
    assert plan.notes == []
    opco = {p.values["opco_file_number"]: p for p in plan.invoices if p.payer_kind == "opco"}
    assert set(opco) == {"H-1", "H-2", "F-3"}  # nothing for the no-show's OPCO
    [line] = opco["H-1"].lines  # 8 h × 80 € = 640 € > 600 € agreed
    assert (line.quantity, line.unit, line.unit_price, line.hours) == (D("1"), "C62", D("600.00"), D("8.00"))
    assert "plafonné" in line.description
    [line] = opco["H-2"].lines  # 6 h × 50 €
    assert (line.quantity, line.unit, line.unit_price, line.total_excl_vat) == (D("6.00"), "HUR", D("50.00"),
                                                                                D("300.00"))
    assert opco["F-3"].total_incl_vat == D("200.00")  # 400 € agreed × 4 h / 8 h
    [company_invoice] = [p for p in plan.invoices if p.payer_kind == "company"]
    rest = {line.enrolment_id: line.total_excl_vat for line in company_invoice.lines}
    # The abandon: 600 € × 4 h / 8 h = 300 € due, 200 € of it by the OPCO.
    assert rest == {per_hour.id: D("300.00"), abandon.id: D("100.00"), no_show.id: D("600.00")}
    assert cancelled.id not in rest and capped.id not in rest
    assert any("absent" in line.description for line in company_invoice.lines)


def test_public_buyer_individual_and_opco_without_subrogation(inter):
    from trainingmgr.companies.services import save_company

    session = inter.session
    mairie = save_company(None, {"name": "Mairie de Colomiers", "siret": "21310149600015", "is_public_buyer": True,
                                 "chorus_service_code": "FACTURES", "address": "1 place de l'Hôtel de Ville",
                                 "postal_code": "31770", "city": "Colomiers"})
    db.session.flush()
    public = enrol_with(session, 1, [{"kind": "public_buyer", "amount": "600.00", "engagement_number": "EJ-42"}],
                        mairie)
    self_paid = enrol_with(session, 2, [{"kind": "individual", "amount": "600.00"}])
    unsubrogated = enrol_with(session, 3, [{**agreed("600.00", "NS-3"), "subrogation": False}], inter.world.company)
    nothing = enrol_with(session, 4, [])  # no funding line, no company: the trainee pays
    complete(session)

    plan = plan_invoices(session)
    kinds = sorted(p.payer_kind for p in plan.invoices)
    assert kinds == ["company", "individual", "individual", "public_buyer"]
    [buyer] = [p for p in plan.invoices if p.payer_kind == "public_buyer"]
    assert (buyer.values["buyer_siret"], buyer.values["service_code"], buyer.values["engagement_number"]) == (
        "21310149600015", "FACTURES", "EJ-42")
    assert buyer.lines[0].enrolment_id == public.id
    individuals = {p.values["payer_trainee_id"]: p.total_incl_vat for p in plan.invoices if p.payer_kind == "individual"}
    assert individuals == {self_paid.trainee_id: D("600.00"), nothing.trainee_id: D("600.00")}
    [company] = [p for p in plan.invoices if p.payer_kind == "company"]
    assert company.total_incl_vat == D("600.00") and "sans subrogation" in company.lines[0].description
    assert company.lines[0].enrolment_id == unsubrogated.id


def test_an_intra_session_is_one_invoice_to_the_client(world, make_session):
    from trainingmgr.sessions.services import change_status

    session = make_session(course=world.chorus, format="intra", client_company_id=world.company.id,
                           intra_price=D("2400.00"), price_per_trainee=None)
    change_status(session, "open", world.users["advisor"])
    for n in (1, 2, 3):
        enrol_with(session, n, [{"kind": "company", "amount": "0"}], world.company)
    complete(session)
    plan = plan_invoices(session)
    [invoice] = plan.invoices
    assert (invoice.payer_kind, invoice.values["payer_company_id"], invoice.total_incl_vat) == (
        "company", world.company.id, D("2400.00"))
    assert "intra-entreprise" in invoice.lines[0].description and "3 stagiaires :" in invoice.lines[0].description
    propose_invoices(session, world.users["advisor"])
    db.session.commit()
    assert plan_invoices(session).invoices == []  # proposed once


def test_vat_at_20_percent_when_the_organisation_is_not_exempt(inter):
    from trainingmgr.organisation.services import get_organisation

    org = get_organisation()
    org.vat_status, org.vat_number = "standard", "FR12812345676"
    session = inter.session
    enrol_with(session, 1, [agreed("420.00", "V-1"), {"kind": "company", "amount": "300.00"}], inter.world.company)
    complete(session)
    plan = {p.payer_kind: p for p in plan_invoices(session).invoices}
    # 600 € HT = 720 € TTC: the OPCO's 420 € TTC (350 € HT), the company the rest, 250 € HT (300 € TTC).
    assert (plan["opco"].total_excl_vat, plan["opco"].total_incl_vat) == (D("350.00"), D("420.00"))
    assert (plan["company"].total_excl_vat, plan["company"].total_incl_vat) == (D("250.00"), D("300.00"))
    propose_invoices(session, inter.advisor)
    db.session.commit()
    opco = by_payer(invoices_of(session))["opco"]
    assert (opco.total_excl_vat, opco.total_vat, opco.total_incl_vat, opco.vat_exemption) == (
        D("350.00"), D("70.00"), D("420.00"), "")
    assert opco.lines[0].vat_rate == D("20.00")


def test_proposing_waits_for_the_session_to_be_confirmed(inter, advisor):
    with pytest.raises(ConflictError):
        propose_invoices(inter.session, inter.advisor)
    response = advisor.post(f"/sessions/{inter.session.id}/billing/propose")
    assert response.status_code == 409 and "confirmée" in page(response)


# --------------------------------------------------------------------------- drafts


@pytest.fixture
def web(app, garonne):
    """The demo advisor logged in, with the demo's two drafts."""
    client = app.test_client()
    assert client.post("/login", data={"email": "conseil@formaction.example",
                                       "password": "conseil-demo-2026"}).status_code == 302
    garonne.web = client
    return garonne


def test_draft_lines_refuse_bad_amounts_with_french_messages(web):
    d, client = web, web.web
    invoice = d.drafts["company"]
    url = f"/billing/{invoice.id}/lines/new"
    before = lines_count()
    cases = [
        ({"description": "Dédit", "quantity": "1", "unit": "C62", "unit_price": "-50"}, "positif"),
        ({"description": "Dédit", "quantity": "1", "unit": "C62", "unit_price": "12,345"}, "deux décimales"),
        ({"description": "Dédit", "quantity": "-1", "unit": "C62", "unit_price": "50"}, "positif"),
        ({"description": "Dédit", "quantity": "0", "unit": "C62", "unit_price": "50"}, "supérieur à 0"),
        ({"description": "Dédit", "quantity": "1,005", "unit": "C62", "unit_price": "50"}, "deux décimales"),
        ({"description": "Dédit", "quantity": "1", "unit": "C62", "unit_price": "abc"}, "Saisissez un nombre"),
        ({"description": "", "quantity": "1", "unit": "C62", "unit_price": "50"}, "désignation"),
        ({"description": "Dédit", "quantity": "1", "unit": "KGM", "unit_price": "50"}, "Unité inconnue"),
    ]
    for data, message in cases:
        response = client.post(url, data=data)
        assert response.status_code == 422, (data, response.status_code)
        assert message in page(response), (data, message)
    assert lines_count() == before  # nothing saved
    assert client.post(url, data={"description": "Dédit", "quantity": "1", "unit": "C62"}, csrf=False
                       ).status_code in (400, 422)
    assert lines_count() == before

    response = client.post(url, data={"description": "Frais de dédit (annulation tardive)", "quantity": "1",
                                      "unit": "C62", "unit_price": "1 234,50"})
    assert response.status_code == 302
    db.session.expire_all()
    invoice = db.session.get(Invoice, invoice.id)
    assert invoice.total_incl_vat == D("1414.50")
    added = invoice.lines[-1]
    response = client.post(f"/billing/{invoice.id}/lines/{added.id}",
                           data={"description": "Frais de dédit", "quantity": "2", "unit": "C62", "unit_price": "100"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Invoice, invoice.id).total_incl_vat == D("380.00")
    assert client.post(f"/billing/{invoice.id}/lines/{added.id}/delete").status_code == 302
    db.session.expire_all()
    assert db.session.get(Invoice, invoice.id).total_incl_vat == D("180.00")
    assert client.get(f"/billing/{invoice.id}/lines/999999").status_code == 404


def test_draft_buyer_fields_are_checked(web):
    d, client = web, web.web
    invoice = d.drafts["opco"]
    url = f"/billing/{invoice.id}/edit"
    assert client.get(url).status_code == 200
    base = {"buyer_name": "OPCO EP", "buyer_address": "", "buyer_postal_code": "", "buyer_city": "",
            "buyer_country": "FR", "opco_file_number": "EP-2026-004217"}
    for data, message in [({"buyer_siret": "44306184100022"}, "clé de contrôle"),
                          ({"buyer_siret": "1234"}, "14 chiffres"),
                          ({"buyer_email": "pas-une-adresse"}, "n'est pas valide"),
                          ({"buyer_country": "France"}, "deux lettres"),
                          ({"buyer_name": ""}, "nom du client"),
                          ({"buyer_vat_number": "FR12851296632"}, "clé de contrôle"),
                          ({"service_start": "2031-03-10", "service_end": "2031-03-01"}, "précède")]:
        response = client.post(url, data={**base, **data})
        assert response.status_code == 422, data
        assert message in page(response), (data, message)
    db.session.expire_all()
    assert db.session.get(Invoice, invoice.id).buyer_address == ""
    response = client.post(url, data={**base, "buyer_address": "1 rue de l'OPCO", "buyer_postal_code": "75012",
                                      "buyer_city": "Paris", "buyer_siret": "851 296 632",
                                      "buyer_vat_number": "fr 91 851296632"})
    assert response.status_code == 302
    db.session.expire_all()
    invoice = db.session.get(Invoice, invoice.id)
    assert (invoice.buyer_city, invoice.buyer_siret, invoice.buyer_vat_number) == ("Paris", "851296632",
                                                                                  "FR91851296632")
    assert invoice.opco_file_number == "EP-2026-004217" and invoice.service_code == ""


def test_a_draft_for_an_unknown_payer_is_refused(web):
    d, client = web, web.web
    url = f"/sessions/{d.chorus.id}/billing/new"
    count = len(invoices_of(d.chorus))
    for data, message in [({"payer_kind": "company", "payer_company_id": "999999"}, "Entreprise introuvable"),
                          ({"payer_kind": "company", "payer_company_id": "abc"}, "Entreprise introuvable"),
                          ({"payer_kind": "banque"}, "Payeur inconnu"),
                          ({"payer_kind": "opco", "opco_name": "OPCO Lune"}, "onze OPCO"),
                          ({"payer_kind": "individual", "payer_trainee_id": "999999"}, "Stagiaire introuvable")]:
        response = client.post(url, data=data)
        assert response.status_code == 422, data
        assert message in page(response), data
    assert len(invoices_of(d.chorus)) == count
    sarah = d.enrolments["Sarah"]  # enrolled in the DUME session, not this one
    response = client.post(url, data={"payer_kind": "individual", "payer_trainee_id": str(sarah.trainee_id)})
    assert response.status_code == 422
    julie = d.enrolments["Julie"]
    response = client.post(url, data={"payer_kind": "individual", "payer_trainee_id": str(julie.trainee_id)})
    assert response.status_code == 302
    new = invoices_of(d.chorus)[-1]
    assert (new.payer_kind, new.buyer_name, new.lines) == ("individual", "Mme Julie Martin", [])


def test_a_draft_can_be_deleted(web):
    d, client = web, web.web
    invoice = d.drafts["company"]
    assert client.post(f"/billing/{invoice.id}/delete").status_code == 302
    db.session.expire_all()
    assert db.session.get(Invoice, invoice.id) is None
    assert lines_count() == 1


# --------------------------------------------------------------------------- issue


def test_issue_waits_for_the_service_to_be_done(inter, advisor):
    session = inter.session
    enrol_with(session, 1, [], inter.world.company)
    session.status = "confirmed"
    db.session.commit()
    propose_invoices(session, inter.advisor)
    db.session.commit()
    [invoice] = invoices_of(session)
    with pytest.raises(ConflictError) as refused:
        issue_invoice(invoice, inter.advisor)
    assert "service fait" in refused.value.message
    db.session.rollback()
    response = advisor.post(f"/billing/{invoice.id}/issue")
    assert response.status_code == 409 and "service fait" in page(response)
    assert sequence() == 0 and db.session.get(Invoice, invoice.id).status == "draft"


def test_issue_lists_every_missing_mention_and_takes_no_number(web):
    from trainingmgr.organisation.services import get_organisation

    d, client = web, web.web
    invoice = d.drafts["opco"]  # no address typed for OPCO EP yet
    org = get_organisation()
    org.nda = ""
    db.session.commit()
    response = client.post(f"/billing/{invoice.id}/issue")
    assert response.status_code == 422
    body = page(response)
    assert "Adresse du client incomplète" in body and "déclaration d'activité" in body
    assert "SIREN de l'OPCO facturé (OPCO EP) manquant" in body
    assert sequence() == 0
    db.session.expire_all()
    invoice = db.session.get(Invoice, invoice.id)
    assert (invoice.status, invoice.number, invoice.seller) == ("draft", None, {})

    org = get_organisation()
    org.nda = "76 31 09999 31"
    fill_buyer(invoice)
    db.session.commit()
    response = client.post(f"/billing/{invoice.id}/issue")
    assert response.status_code == 302
    db.session.expire_all()
    invoice = db.session.get(Invoice, invoice.id)
    assert (invoice.status, invoice.number, invoice.year, invoice.sequence) == ("issued", f"F{YEAR}-0001", YEAR, 1)
    assert invoice.issue_date == paris_today() and (invoice.due_date - invoice.issue_date).days == 30
    assert invoice.issued_by_id is not None and invoice.docx_file_id is not None
    assert invoice.seller["siret"] == "81234567600017" and invoice.seller["nda"] == "76 31 09999 31"
    assert invoice.operation_category == "services" and invoice.payment_terms
    # Issuing twice: refused, nothing changes.
    response = client.post(f"/billing/{invoice.id}/issue")
    assert response.status_code == 409 and "déjà émise" in page(response)
    assert sequence() == 1


def test_an_empty_or_zero_invoice_is_not_issued(web):
    d = web
    invoice = d.drafts["company"]
    delete_line(invoice, invoice.lines[0].id, d.advisor)
    db.session.commit()
    with pytest.raises(ValidationError) as refused:
        issue_invoice(invoice, d.advisor)
    assert "aucune ligne" in refused.value.message
    db.session.rollback()
    invoice = db.session.get(Invoice, invoice.id)
    add_line(invoice, {"description": "Gratuit", "quantity": "1", "unit_price": "0"}, d.advisor)
    with pytest.raises(ValidationError) as refused:
        issue_invoice(invoice, d.advisor)
    assert "supérieur à 0" in refused.value.message


def test_the_seller_is_frozen_at_issue(web):
    from trainingmgr.organisation.services import get_organisation

    d = web
    invoice = issued_company_invoice(d)
    get_organisation().name = "Nouveau nom"
    db.session.commit()
    db.session.expire_all()
    invoice = db.session.get(Invoice, invoice.id)
    assert invoice.seller["name"] == "Formaction Sud-Ouest"
    assert "Formaction Sud-Ouest" in docx_text(read_file(invoice, "docx")[0])
    assert document_context(invoice)["org"]["name"] == "Formaction Sud-Ouest"


@pytest.fixture
def public_buyer(inter):
    """A public buyer that demands an engagement number, and a completed session it pays for."""
    from trainingmgr.companies.services import save_company

    session = inter.session
    mairie = save_company(None, {"name": "Mairie de Colomiers", "siret": "21310149600015", "is_public_buyer": True,
                                 "engagement_required": True, "chorus_service_code": "FACTURES",
                                 "address": "1 place de l'Hôtel de Ville", "postal_code": "31770", "city": "Colomiers"})
    db.session.flush()
    enrol_with(session, 1, [{"kind": "public_buyer", "amount": "600.00", "engagement_number": "EJ-1"}], mairie)
    complete(session)
    propose_invoices(session, inter.advisor)
    db.session.commit()
    inter.invoice = invoices_of(session)[0]
    inter.mairie = mairie
    return inter


def test_a_public_buyer_invoice_without_engagement_number_is_refused(public_buyer, advisor):
    invoice = public_buyer.invoice
    assert (invoice.payer_kind, invoice.service_code, invoice.engagement_number) == ("public_buyer", "FACTURES", "EJ-1")
    invoice.engagement_number = ""
    db.session.commit()
    response = advisor.post(f"/billing/{invoice.id}/issue")
    assert response.status_code == 422
    assert "Mairie de Colomiers exige un numéro d'engagement" in page(response)
    with pytest.raises(ValidationError) as refused:
        issue_invoice(db.session.get(Invoice, invoice.id), public_buyer.advisor)
    assert refused.value.fields["engagement_number"]
    db.session.rollback()
    invoice = db.session.get(Invoice, invoice.id)
    invoice.service_code = ""
    invoice.buyer_siret = ""
    db.session.commit()
    with pytest.raises(ValidationError) as refused:
        issue_invoice(invoice, public_buyer.advisor)
    assert set(refused.value.fields) == {"engagement_number", "service_code", "buyer_siret"}
    db.session.rollback()
    assert sequence() == 0

    invoice = db.session.get(Invoice, invoice.id)
    invoice.engagement_number, invoice.service_code, invoice.buyer_siret = "EJ-1", "FACTURES", "21310149600015"
    db.session.commit()
    assert advisor.post(f"/billing/{invoice.id}/issue").status_code == 302
    db.session.expire_all()
    assert db.session.get(Invoice, invoice.id).number == f"F{YEAR}-0001"


def test_a_public_buyer_without_engagement_requirement_is_issued_without_one(public_buyer):
    public_buyer.mairie.engagement_required = False
    public_buyer.invoice.engagement_number = ""
    db.session.commit()
    issue_invoice(public_buyer.invoice, public_buyer.advisor)
    assert public_buyer.invoice.status == "issued"


# --------------------------------------------------------------------------- credit notes instead of edits


def test_an_issued_invoice_is_never_edited_or_deleted(web):
    d, client = web, web.web
    invoice = issued_company_invoice(d)
    line = invoice.lines[0]
    for call in (lambda: update_draft(invoice, {"buyer_name": "Autre"}, d.advisor),
                 lambda: add_line(invoice, {"description": "x", "quantity": "1", "unit_price": "1"}, d.advisor),
                 lambda: update_line(invoice, line.id, {"description": "x", "quantity": "1",
                                                                "unit_price": "1"}, d.advisor),
                 lambda: delete_line(invoice, line.id, d.advisor),
                 lambda: delete_draft(invoice, d.advisor)):
        with pytest.raises(ConflictError):
            call()
        db.session.rollback()
    for method, url, data in [("get", f"/billing/{invoice.id}/edit", None),
                              ("post", f"/billing/{invoice.id}/edit", {"buyer_name": "Autre"}),
                              ("get", f"/billing/{invoice.id}/lines/new", None),
                              ("post", f"/billing/{invoice.id}/lines/{line.id}",
                               {"description": "x", "quantity": "1", "unit": "C62", "unit_price": "1"}),
                              ("post", f"/billing/{invoice.id}/lines/{line.id}/delete", {}),
                              ("post", f"/billing/{invoice.id}/delete", {})]:
        response = getattr(client, method)(url, **({"data": data} if data is not None else {}))
        assert response.status_code == 409, (method, url, response.status_code)
        assert "avoir" in page(response)
    db.session.expire_all()
    invoice = db.session.get(Invoice, invoice.id)
    assert (invoice.buyer_name, invoice.total_incl_vat, len(invoice.lines)) == (
        "Atelier d'architecture Garonne", D("180.00"), 1)


def test_credit_notes_partial_then_full_never_beyond_the_invoice(web):
    d, client = web, web.web
    invoice = issued_company_invoice(d)
    url = f"/billing/{invoice.id}/credit-note"
    for data, status, message in [({"amount": "-10", "reason": "Erreur"}, 422, "positif"),
                                  ({"amount": "0", "reason": "Erreur"}, 422, "supérieur à 0"),
                                  ({"amount": "10,001", "reason": "Erreur"}, 422, "deux décimales"),
                                  ({"amount": "10", "reason": ""}, 422, "motif"),
                                  ({"amount": "180,01", "reason": "Trop"}, 422, "dépasse")]:
        response = client.post(url, data=data)
        assert response.status_code == status, data
        assert message in page(response), data
    assert client.post(url, data={"amount": "10", "reason": "Sans jeton"}, csrf=False).status_code == 400
    assert db.session.scalar(select(func.count()).select_from(Invoice).where(Invoice.kind == "credit_note")) == 0

    response = client.post(url, data={"amount": "50", "reason": "Geste commercial : une demi-journée écourtée"})
    assert response.status_code == 302
    first = db.session.scalar(select(Invoice).where(Invoice.kind == "credit_note"))
    assert (first.number, first.status, first.credited_invoice_id, first.total_incl_vat) == (
        f"A{YEAR}-0001", "issued", invoice.id, D("50.00"))
    assert (first.buyer_name, first.payer_kind, first.session_id) == (invoice.buyer_name, "company", invoice.session_id)
    assert first.docx_file_id is not None and first.seller["name"] == "Formaction Sud-Ouest"
    assert remaining_to_credit(invoice) == D("130.00")
    response = client.post(url, data={"amount": "130,01", "reason": "Trop"})
    assert response.status_code == 422 and "130,00" in flat(page(response))

    second = credit_invoice(invoice, d.advisor, "", "Annulation du solde : formation reportée")
    db.session.commit()
    assert (second.number, second.total_incl_vat) == (f"A{YEAR}-0002", D("130.00"))
    assert "solde" in second.lines[0].description
    with pytest.raises(ConflictError):
        credit_invoice(invoice, d.advisor, "1", "Encore")
    db.session.rollback()
    with pytest.raises(ConflictError):  # a credit note is not credited
        credit_invoice(second, d.advisor, None, "Annuler l'avoir")
    db.session.rollback()
    with pytest.raises(ConflictError):  # nor a draft
        credit_invoice(d.drafts["opco"], d.advisor, None, "Brouillon")
    db.session.rollback()
    assert client.get(f"/billing/{invoice.id}").status_code == 200
    assert "entièrement annulée" in page(client.get(f"/billing/{invoice.id}"))

    # The invoice being cancelled, its share of the enrolment can be invoiced again.
    plan = plan_invoices(d.chorus)
    assert [(p.payer_kind, p.total_incl_vat) for p in plan.invoices] == [("company", D("180.00"))]


def test_a_full_credit_note_copies_the_lines(web):
    d = web
    invoice = issued_company_invoice(d)
    note = credit_invoice(invoice, d.advisor, None, "Facture adressée par erreur")
    db.session.commit()
    assert [(x.description, x.total_excl_vat, x.enrolment_id) for x in note.lines] == [
        (x.description, x.total_excl_vat, x.enrolment_id) for x in invoice.lines]
    assert (note.total_excl_vat, note.total_vat, note.total_incl_vat) == (
        invoice.total_excl_vat, invoice.total_vat, invoice.total_incl_vat)
    assert note.reason == "Facture adressée par erreur" and note.due_date is None


# --------------------------------------------------------------------------- permissions


def test_anonymous_visitors_are_sent_to_the_login_page(garonne, client):
    invoice = garonne.drafts["company"]
    for url in ("/billing/", f"/billing/{invoice.id}", f"/sessions/{garonne.chorus.id}/billing",
                f"/billing/{invoice.id}/edit", f"/billing/{invoice.id}/docx"):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"], url
    response = client.post(f"/billing/{invoice.id}/issue", data={})
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_trainers_have_no_access(garonne, app):
    client = app.test_client()
    assert client.post("/login", data={"email": "formateur@formaction.example",
                                       "password": "formateur-demo-2026"}).status_code == 302
    invoice = garonne.drafts["company"]
    for url in ("/billing/", f"/billing/{invoice.id}", f"/sessions/{garonne.chorus.id}/billing",
                f"/billing/{invoice.id}/preview.docx"):
        assert client.get(url).status_code == 403, url
    for url in (f"/billing/{invoice.id}/issue", f"/sessions/{garonne.chorus.id}/billing/propose",
                f"/billing/{invoice.id}/credit-note", f"/billing/{invoice.id}/delete"):
        assert client.post(url, data={"amount": "1", "reason": "xxx"}).status_code == 403, url
    with pytest.raises(PermissionDenied):
        issue_invoice(invoice, garonne.trainer)
    db.session.rollback()
    assert db.session.get(Invoice, invoice.id).status == "draft"


# --------------------------------------------------------------------------- screens


def test_the_screens(web):
    d, client = web, web.web
    body = page(client.get(f"/sessions/{d.chorus.id}"))
    assert f"/sessions/{d.chorus.id}/billing" in body
    body = page(client.get(f"/sessions/{d.chorus.id}/billing"))
    assert "Factures de la session" in body and "Thomas Roux" in body  # the note about his pending agreement
    assert "Rien de plus à facturer" in body
    invoice = issued_company_invoice(d)
    body = flat(page(client.get("/billing/")))
    assert f"F{YEAR}-" in body and "180,00 €" in body and "OPCO EP" in body and "Brouillon n°" in body
    body = page(client.get(f"/billing/?status=issued&kind=invoice&year={YEAR}"))
    assert invoice.number in body and "Brouillon n°" not in body
    assert page(client.get("/billing/?year=1999")) and client.get("/billing/?year=1999").status_code == 400
    assert client.get("/billing/?status=paid").status_code == 400
    assert client.get("/billing/?kind=quote").status_code == 400
    body = page(client.get(f"/billing/{invoice.id}"))
    assert invoice.number in body and "Règlement" in body and "Émettre l'avoir" in body
    assert f"/billing/{invoice.id}/docx" in body and "PDF Factur-X indisponible" in body
    response = client.get(f"/billing/{invoice.id}/docx")
    assert response.status_code == 200 and response.data.startswith(b"PK")
    assert f"{invoice.number}.docx" in response.headers["Content-Disposition"]
    assert client.get(f"/billing/{invoice.id}/pdf").status_code == 404
    assert client.get(f"/billing/{invoice.id}/odt").status_code == 404
    draft = d.drafts["opco"]
    body = page(client.get(f"/billing/{draft.id}"))
    assert "Brouillon de facture" in body and "Émettre la facture" in body
    preview = client.get(f"/billing/{draft.id}/preview.docx")
    assert preview.status_code == 200 and preview.data.startswith(b"PK")
    assert client.get(f"/billing/{draft.id}/docx").status_code == 404
    assert client.get("/billing/999999").status_code == 404
    menu = page(client.get("/billing/"))
    assert 'href="/billing/"' in menu


def test_the_proposal_button(web_proposal):
    d, client = web_proposal, web_proposal.web
    body = page(client.get(f"/sessions/{d.chorus.id}/billing"))
    assert "Préparer les factures" in body and "EP-2026-004217" in body
    response = client.post(f"/sessions/{d.chorus.id}/billing/propose")
    assert response.status_code == 302
    assert "2 brouillons créés" in page(client.get(response.headers["Location"]))
    response = client.post(f"/sessions/{d.chorus.id}/billing/propose")
    assert "Rien de nouveau" in page(client.get(response.headers["Location"]))
    assert len(invoices_of(d.chorus)) == 2
    assert client.post(f"/sessions/{d.chorus.id}/billing/propose", csrf=False).status_code == 400


@pytest.fixture
def web_proposal(app, chorus_done):
    client = app.test_client()
    assert client.post("/login", data={"email": "conseil@formaction.example",
                                       "password": "conseil-demo-2026"}).status_code == 302
    chorus_done.web = client
    return chorus_done


# --------------------------------------------------------------------------- API


@pytest.fixture
def token(web):
    from trainingmgr.accounts.services import create_api_token

    raw = create_api_token("conseil@formaction.example", name="factures")[1]
    trainer = create_api_token("formateur@formaction.example", name="formateur")[1]
    db.session.commit()
    web.headers = {"Authorization": f"Bearer {raw}"}
    web.trainer_headers = {"Authorization": f"Bearer {trainer}"}
    return web


def test_api_lists_and_shows_invoices_with_links_to_their_files(token, client):
    d = token
    invoice = issued_company_invoice(d)
    response = client.get("/api/v1/invoices", headers=d.headers)
    assert response.status_code == 200
    listing = response.get_json()
    assert len(listing) == 2
    issued = next(i for i in listing if i["id"] == invoice.id)
    assert (issued["number"], issued["status"], issued["kind"], issued["total_incl_vat"], issued["balance"]) == (
        invoice.number, "issued", "invoice", "180.00", "180.00")
    assert issued["issue_date"] == paris_today().isoformat() and issued["buyer_siret"] == "44306184100021"
    assert issued["links"]["docx"].endswith(f"/api/v1/invoices/{invoice.id}/files/docx")
    assert issued["links"]["pdf"] is None  # no PDF converter in the tests
    assert issued["links"]["html"].endswith(f"/billing/{invoice.id}")
    draft = next(i for i in listing if i["id"] != invoice.id)
    assert (draft["number"], draft["status"], draft["balance"], draft["links"]["docx"]) == (None, "draft", None, None)
    assert draft["opco_file_number"] == "EP-2026-004217"

    filtered = client.get(f"/api/v1/invoices?status=issued&year={YEAR}&session_id={d.chorus.id}", headers=d.headers)
    assert [i["id"] for i in filtered.get_json()] == [invoice.id]
    assert client.get("/api/v1/invoices?status=draft", headers=d.headers).get_json()[0]["status"] == "draft"
    bad = client.get("/api/v1/invoices?status=payee&year=1900", headers=d.headers)
    assert bad.status_code == 422 and set(bad.get_json()["error"]["fields"]) == {"status", "year"}

    detail = client.get(f"/api/v1/invoices/{invoice.id}", headers=d.headers).get_json()
    assert detail["seller"]["siret"] == "81234567600017" and detail["buyer"]["city"] == "Toulouse"
    assert detail["lines"][0]["total_excl_vat"] == "180.00" and detail["lines"][0]["unit"] == "C62"
    assert detail["vat_exemption"].startswith("Exonération de TVA")
    docx = client.get(detail["links"]["docx"].split("localhost")[-1], headers=d.headers)
    assert docx.status_code == 200 and docx.data.startswith(b"PK") and docx.mimetype.endswith("document")
    assert client.get(f"/api/v1/invoices/{invoice.id}/files/pdf", headers=d.headers).status_code == 404
    assert client.get(f"/api/v1/invoices/{invoice.id}/files/exe", headers=d.headers).status_code == 404
    assert client.get("/api/v1/invoices/999999", headers=d.headers).status_code == 404

    note = credit_invoice(invoice, d.advisor, "30", "Remise")
    db.session.commit()
    detail = client.get(f"/api/v1/invoices/{note.id}", headers=d.headers).get_json()
    assert (detail["kind"], detail["credited_invoice_number"], detail["reason"], detail["balance"]) == (
        "credit_note", invoice.number, "Remise", None)


def test_api_needs_an_advisor_token(token, client):
    d = token
    invoice = d.drafts["company"]
    for url in ("/api/v1/invoices", f"/api/v1/invoices/{invoice.id}", f"/api/v1/invoices/{invoice.id}/files/docx"):
        assert client.get(url).status_code == 401, url
        assert client.get(url, headers={"Authorization": "Bearer faux"}).status_code == 401, url
        response = client.get(url, headers=d.trainer_headers)
        assert response.status_code == 403, url
        assert response.get_json()["error"]["code"] == "forbidden"
