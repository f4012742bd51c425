"""What each kind of buyer is told on its invoice, read back from the issued Word document with python-docx (and
from the Factur-X XML): an OPCO's SIREN, a public buyer's late-payment interest (Code de la commande publique), an
individual's terms without subrogation nor 40 € indemnity; and an abandonment invoiced pro rata of the hours
attended, with the dédit on its own line of the company's invoice only."""
from __future__ import annotations

import re
from decimal import Decimal

import pytest
from lxml import etree

from trainingmgr.billing.invoices.credit_notes import credit_invoice
from trainingmgr.billing.invoices.drafts import add_line, create_draft, delete_line
from trainingmgr.billing.invoices.files import read_file
from trainingmgr.billing.invoices.issue import PUBLIC_LATE_PENALTIES, default_payment_terms, issue_invoice
from trainingmgr.billing.invoices.planning import plan_invoices, propose_invoices
from trainingmgr.core.errors import ValidationError
from trainingmgr.extensions import db

from tests.documents.support import docx_text
from tests.fixtures.billing import OPCO_SIREN, agreed, complete, enrol_with, fill_buyer, flat, invoices_of

D = Decimal
CII = {"rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
       "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"}


def text_of(invoice) -> str:
    """The issued invoice's Word document as one line of plain text."""
    return re.sub(r"\s+", " ", flat(docx_text(read_file(invoice, "docx")[0])))


def xml_notes(invoice) -> dict[str, str]:
    tree = etree.fromstring(read_file(invoice, "xml")[0])
    return {n.findtext("ram:SubjectCode", namespaces=CII): n.findtext("ram:Content", namespaces=CII)
            for n in tree.xpath("//rsm:ExchangedDocument/ram:IncludedNote", namespaces=CII)}


def issue(invoice, advisor):
    issue_invoice(invoice, advisor)
    db.session.commit()
    return invoice


def by_payer(session) -> dict[str, list]:
    found: dict[str, list] = {}
    for invoice in invoices_of(session):
        found.setdefault(invoice.payer_kind, []).append(invoice)
    return found


@pytest.fixture
def mairie(inter):
    from trainingmgr.companies.services import save_company

    company = save_company(None, {"name": "Mairie de Colomiers", "siret": "21310149600015", "is_public_buyer": True,
                                  "chorus_service_code": "FACTURES", "address": "1 place de l'Hôtel de Ville",
                                  "postal_code": "31770", "city": "Colomiers"})
    db.session.flush()
    return company


# --------------------------------------------------------------------------- the OPCO's SIREN


def test_the_opco_siren_is_required_typed_once_and_stated_on_its_invoices(inter):
    session, company, advisor = inter.session, inter.world.company, inter.advisor
    enrol_with(session, 1, [agreed("420.00", "EP-1"), {"kind": "company", "amount": "180.00"}], company)
    later = enrol_with(session, 2, [{**agreed("600.00", "EP-2"), "opco_status": "requested",
                                     "agreed_amount": None, "agreed_on": None}], company)
    complete(session)
    propose_invoices(session, advisor)
    [first] = by_payer(session)["opco"]
    fill_buyer(first, address="TSA 12345", postal_code="75012", city="Paris", buyer_siret="")
    db.session.commit()
    with pytest.raises(ValidationError) as refused:
        issue_invoice(first, advisor)
    assert refused.value.fields["buyer_siret"] == [
        "SIREN de l'OPCO facturé (OPCO EP) manquant : c'est une mention obligatoire ; saisissez-le (ou son SIRET) "
        "sur le brouillon, il sera repris sur ses factures suivantes."]
    db.session.rollback()
    assert first.number is None

    first.buyer_siret = OPCO_SIREN  # typed by the advisor on the draft
    db.session.commit()
    text = text_of(issue(first, advisor))
    assert "OPCO EP TSA 12345, 75012 Paris SIREN 851 296 632" in text
    assert "Subrogation de paiement – OPCO EP, dossier n° EP-1" in text

    # The next invoice to OPCO EP takes up its SIREN (and address): nothing to type again.
    from trainingmgr.enrolments.services import save_funding_line

    save_funding_line(later, later.funding_lines[0], agreed("600.00", "EP-2"))
    db.session.commit()
    [created] = propose_invoices(session, advisor).created
    db.session.commit()
    assert (created.payer_kind, created.opco_file_number, created.buyer_siret) == ("opco", "EP-2", OPCO_SIREN)
    text = text_of(issue(created, advisor))
    assert "SIREN 851 296 632" in text and "dossier n° EP-2" in text
    # Factur-X: BT-47, the buyer's legal registration.
    tree = etree.fromstring(read_file(created, "xml")[0])
    assert tree.xpath("//ram:BuyerTradeParty/ram:SpecifiedLegalOrganization/ram:ID[@schemeID='0002']/text()",
                      namespaces=CII) == [OPCO_SIREN]


# --------------------------------------------------------------------------- a public buyer's terms


def test_a_public_buyer_is_told_the_public_procurement_interest_and_the_40_euro_indemnity(inter, mairie):
    session = inter.session
    enrol_with(session, 1, [{"kind": "public_buyer", "amount": "600.00", "engagement_number": "EJ-42"}], mairie)
    complete(session)
    propose_invoices(session, inter.advisor)
    [invoice] = invoices_of(session)
    text = text_of(issue(invoice, inter.advisor))
    assert ("des intérêts moratoires courent de plein droit et sans autre formalité dès le lendemain de l'expiration "
            "du délai de paiement, au taux d'intérêt appliqué par la Banque centrale européenne à ses opérations "
            "principales de refinancement les plus récentes") in text
    assert "majoré de 8 points de pourcentage (articles L2192-13 et R2192-31 du Code de la commande publique)" in text
    assert ("Indemnité forfaitaire pour frais de recouvrement due en cas de retard de paiement : 40 € (articles "
            "L2192-13 et D2192-35 du Code de la commande publique)") in text
    assert "10 points" not in text and "L441-10" not in text and "Code de commerce" not in text
    assert "SIRET 213 101 496 00015" in text and "Code service : FACTURES – N° d'engagement : EJ-42" in text
    notes = xml_notes(invoice)
    assert "majoré de 8 points" in notes["PMD"] and "D2192-35" in notes["PMT"]
    assert invoice.seller["late_penalties"] == PUBLIC_LATE_PENALTIES

    # Its credit note states the same terms.
    note = credit_invoice(invoice, inter.advisor, "100", "Une heure non réalisée")
    db.session.commit()
    assert "majoré de 8 points de pourcentage" in text_of(note) and "D2192-35" in text_of(note)


def test_a_company_flagged_public_buyer_gets_the_public_terms_too(inter, mairie):
    """E.g. an intra session for a town hall: invoiced as a company, the public buyer's terms all the same."""
    session = inter.session
    enrol_with(session, 1, [], mairie)
    complete(session)
    draft = create_draft(session, {"payer_kind": "company", "payer_company_id": mairie.id}, inter.advisor)
    add_line(draft, {"description": "Formation intra", "quantity": "1", "unit_price": "600"}, inter.advisor)
    db.session.commit()
    text = text_of(issue(draft, inter.advisor))
    assert "majoré de 8 points de pourcentage" in text and "D2192-35" in text and "L441-10" not in text


def test_a_private_company_keeps_the_commercial_terms(inter):
    session = inter.session
    enrol_with(session, 1, [{"kind": "company", "amount": "600.00"}], inter.world.company)
    complete(session)
    propose_invoices(session, inter.advisor)
    [invoice] = invoices_of(session)
    fill_buyer(invoice)
    db.session.commit()
    text = text_of(issue(invoice, inter.advisor))
    assert "majoré de 10 points (article L441-10 du Code de commerce)" in text
    assert "40 € (articles L441-10 et D441-5 du Code de commerce)" in text
    assert "commande publique" not in text


# --------------------------------------------------------------------------- an individual's terms


SUBROGATION = "En cas de subrogation, l'OPCO règle directement sa part ; le reste est facturé à l'entreprise."


def test_an_individual_is_told_neither_of_subrogation_nor_of_the_40_euro_indemnity(inter):
    from trainingmgr.organisation.services import get_organisation

    get_organisation().payment_terms = f"Paiement à 30 jours, par virement bancaire. {SUBROGATION}"
    session = inter.session
    trainee = enrol_with(session, 1, [{"kind": "individual", "amount": "600.00"}]).trainee
    enrol_with(session, 2, [{"kind": "company", "amount": "600.00"}], inter.world.company)
    complete(session)
    propose_invoices(session, inter.advisor)
    invoices = {i.payer_kind: i for i in invoices_of(session)}
    for invoice in invoices.values():
        fill_buyer(invoice)
    db.session.commit()

    individual = issue(invoices["individual"], inter.advisor)
    text = text_of(individual)
    assert trainee.full_name in text and "Total TTC : 600,00 €" in text
    assert "Paiement à 30 jours, par virement bancaire." in text
    assert "subrogation" not in text.lower() and "OPCO" not in text
    assert "pénalités" in text and "40 €" not in text and "Indemnité forfaitaire" not in text
    assert individual.payment_terms == "Paiement à 30 jours, par virement bancaire."
    assert "subrogation" not in " ".join(xml_notes(individual).values()).lower()

    # The company's invoice keeps the organisation's whole terms, and the indemnity.
    text = text_of(issue(invoices["company"], inter.advisor))
    assert SUBROGATION in text and "Indemnité forfaitaire pour frais de recouvrement" in text


def test_an_individual_whose_terms_are_all_about_subrogation_gets_the_default_terms(inter):
    from trainingmgr.organisation.services import get_organisation

    get_organisation().payment_terms = SUBROGATION
    assert default_payment_terms("individual") == (
        "Paiement à 30 jours à compter de la date de facture, par virement bancaire.")
    assert default_payment_terms("company") == SUBROGATION


# --------------------------------------------------------------------------- abandonment


@pytest.fixture
def dedit(app, monkeypatch):
    """The organisation charges a dédit of 30 % of the price of the hours not attended."""
    monkeypatch.setitem(app.config, "BILLING_ABANDONMENT_DEDIT_PERCENT", "30")
    return D("30")


def lines_by_enrolment(proposed) -> dict[int, list]:
    found: dict[int, list] = {}
    for line in proposed.lines:
        found.setdefault(line.enrolment_id, []).append(line)
    return found


def test_an_abandonment_is_invoiced_pro_rata_of_the_hours_attended(inter):
    """600 € HT for 8 h planned: each payer's share is prorated to the hours attended, not 100 %."""
    session, company = inter.session, inter.world.company
    flat_opco = enrol_with(session, 1, [agreed("415.00", "F-1"), {"kind": "company", "amount": "185.00"}], company)
    per_hour = enrol_with(session, 2, [agreed("600.00", "H-2")], company)
    alone = enrol_with(session, 3, [{"kind": "company", "amount": "600.00"}], company)
    individual = enrol_with(session, 4, [{"kind": "individual", "amount": "600.00"}])
    per_hour.funding_lines[0].billing_basis, per_hour.funding_lines[0].hourly_rate = "hours_attended", D("50.00")
    abandoned = {e.id: "abandoned" for e in (flat_opco, per_hour, alone, individual)}
    complete(session, hours={flat_opco.id: D("3"), per_hour.id: D("3"), alone.id: D("2.5"), individual.id: D("5")},
             statuses=abandoned)

    plan = plan_invoices(session)
    assert plan.notes == [] and plan.unknown == []
    opco = {p.values["opco_file_number"]: p for p in plan.invoices if p.payer_kind == "opco"}
    # Flat basis: 415 € × 3 h / 8 h = 155,625 € → 155,63 €.
    [line] = opco["F-1"].lines
    assert (line.quantity, line.unit_price, line.total_excl_vat, line.hours) == (D("1"), D("155.63"), D("155.63"),
                                                                               D("3.00"))
    assert "abandon : 3 h suivies sur 8 h, facturées au prorata" in line.description
    # Hours basis: 3 h × 50 € (the OPCO's own per-hour computation).
    [line] = opco["H-2"].lines
    assert (line.quantity, line.unit, line.unit_price, line.total_excl_vat) == (D("3.00"), "HUR", D("50.00"),
                                                                                D("150.00"))
    [to_company] = [p for p in plan.invoices if p.payer_kind == "company"]
    due = {enrolment_id: [line.total_excl_vat for line in lines]
           for enrolment_id, lines in lines_by_enrolment(to_company).items()}
    # 600 × 3 / 8 = 225 € due: 225 − 155,63 and 225 − 150; 600 × 2,5 / 8 = 187,50 €. No dédit charged.
    assert due == {flat_opco.id: [D("69.37")], per_hour.id: [D("75.00")], alone.id: [D("187.50")]}
    [alone_line] = lines_by_enrolment(to_company)[alone.id]
    assert "prix dû : 600,00 € HT × 2,5 h / 8 h = 187,50 € HT" in flat(alone_line.description)
    [to_trainee] = [p for p in plan.invoices if p.payer_kind == "individual"]
    assert [line.total_excl_vat for line in to_trainee.lines] == [D("375.00")]  # 600 × 5 / 8
    assert sum((p.total_excl_vat for p in plan.invoices), D("0")) == D("225") * 2 + D("187.50") + D("375.00")


def test_the_dedit_is_a_separate_line_of_the_company_invoice_never_the_opcos(inter, dedit):
    session, company, advisor = inter.session, inter.world.company, inter.advisor
    funded = enrol_with(session, 1, [agreed("420.00", "F-1"), {"kind": "company", "amount": "180.00"}], company)
    individual = enrol_with(session, 2, [{"kind": "individual", "amount": "600.00"}])
    complete(session, hours={funded.id: D("2.5"), individual.id: D("2.5")},
             statuses={funded.id: "abandoned", individual.id: "abandoned"})
    propose_invoices(session, advisor)
    db.session.commit()
    invoices = {i.payer_kind: i for i in invoices_of(session)}
    opco, to_company, to_trainee = invoices["opco"], invoices["company"], invoices["individual"]
    # 600 × 2,5 / 8 = 187,50 € due; the OPCO 420 × 2,5 / 8 = 131,25 €, the company 56,25 €, then the dédit:
    # 30 % of the 412,50 € of hours not attended = 123,75 €, on its own line.
    assert [line.total_excl_vat for line in opco.lines] == [D("131.25")]
    assert [line.total_excl_vat for line in to_company.lines] == [D("56.25"), D("123.75")]
    assert to_company.total_incl_vat == D("180.00")
    assert [line.total_excl_vat for line in to_trainee.lines] == [D("187.50")]  # no dédit for an individual
    assert all("Dédit" not in line.description for line in opco.lines + to_trainee.lines)

    for invoice in (opco, to_company, to_trainee):
        fill_buyer(invoice)
    db.session.commit()
    text = text_of(issue(to_company, advisor))
    assert (f"Dédit pour abandon – {funded.trainee.full_name} : 30 % du prix des heures non suivies (412,50 € HT), selon la "
            "clause de dédit de la convention. Somme non imputable sur la participation au financement de la "
            "formation professionnelle et ne pouvant faire l'objet d'une prise en charge par l'OPCO.") in text
    assert "1 stagiaire 123,75 € 0 % 0,00 € 123,75 €" in text and "Total TTC : 180,00 €" in text
    opco_text = text_of(issue(opco, advisor))
    assert "Dédit" not in opco_text and "Total TTC : 131,25 €" in opco_text
    assert "Dédit" not in text_of(issue(to_trainee, advisor))

    assert plan_invoices(session).invoices == []  # proposed once


def test_a_dedit_the_advisor_removes_from_the_draft_is_not_proposed_again(inter, dedit):
    session = inter.session
    enrolment = enrol_with(session, 1, [{"kind": "company", "amount": "600.00"}], inter.world.company)
    complete(session, hours={enrolment.id: D("6")}, statuses={enrolment.id: "abandoned"})
    propose_invoices(session, inter.advisor)
    [draft] = invoices_of(session)
    assert [line.total_excl_vat for line in draft.lines] == [D("450.00"), D("45.00")]  # 30 % of 150 €
    delete_line(draft, draft.lines[1].id, inter.advisor)
    db.session.commit()
    assert plan_invoices(session).invoices == []
    assert propose_invoices(session, inter.advisor).completed == []


def test_an_abandonment_without_its_hours_is_not_proposed_yet(inter):
    session = inter.session
    enrolment = enrol_with(session, 1, [{"kind": "company", "amount": "600.00"}], inter.world.company)
    complete(session, statuses={enrolment.id: "abandoned"})
    enrolment.hours_attended = None
    db.session.commit()
    plan = plan_invoices(session)
    assert plan.invoices == [] and len(plan.unknown) == 1
    assert "ses heures suivies ne sont pas encore enregistrées" in plan.unknown[0]


def test_an_intra_seat_is_prorated_too(world, make_session, dedit):
    from trainingmgr.sessions.services import change_status

    session = make_session(course=world.chorus, format="intra", client_company_id=world.company.id,
                           intra_price=None, price_per_trainee=D("600.00"))
    change_status(session, "open", world.users["advisor"])
    stays = enrol_with(session, 1, [], world.company)
    leaves = enrol_with(session, 2, [], world.company)
    complete(session, hours={leaves.id: session.planned_hours / 2}, statuses={leaves.id: "abandoned"})
    [invoice] = plan_invoices(session).invoices
    lines = lines_by_enrolment(invoice)
    assert [line.total_excl_vat for line in lines[stays.id]] == [D("600.00")]
    assert [line.total_excl_vat for line in lines[leaves.id]] == [D("300.00"), D("90.00")]  # + 30 % of 300 €
    assert "Dédit pour abandon" in lines[leaves.id][1].description
