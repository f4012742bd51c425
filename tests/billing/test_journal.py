"""The accounting export (billing/payments.py journal): sales journal VT per issued invoice and credit note,
bank journal BQ per payment (cancelled ones excluded, listed apart), each piece balanced, as a French CSV."""
from __future__ import annotations

import csv
import datetime as dt
import io
from collections import defaultdict
from decimal import Decimal

import pytest
from sqlalchemy import select

from trainingmgr.billing.models import Payment
from trainingmgr.billing.payments import services as payments
from trainingmgr.extensions import db

from tests.fixtures.billing import Today, make_invoice, pay
from tests.helpers import exported, page, run_started_task

START, END = dt.date(2031, 3, 1), dt.date(2031, 3, 31)
HEADERS = ["Journal", "Date", "Pièce", "Compte", "Compte auxiliaire", "Libellé", "Débit", "Crédit"]


@pytest.fixture
def today(app, monkeypatch):
    return Today(monkeypatch)


@pytest.fixture
def march(world, today, new_trainee):
    """In March 2031: a company invoice with VAT (1 200 € TTC), an OPCO invoice (420 €), a trainee's invoice
    (150 €), a credit note of 100 € on the company invoice, and payments; outside March: an invoice of February,
    a payment of April, a draft."""
    company = make_invoice(world, total="1200.00", vat="200.00", issue_date=dt.date(2031, 3, 2))
    opco = make_invoice(world, total="420.00", payer_kind="opco", opco_name="OPCO EP", buyer_name="OPCO EP",
                        issue_date=dt.date(2031, 3, 10), opco_file_number="EP-2026-004217")
    trainee = new_trainee(1)
    own = make_invoice(world, total="150.00", payer_kind="individual", payer_trainee_id=trainee.id,
                       buyer_name="Prénom01 Nom01", issue_date=dt.date(2031, 3, 12))
    note = make_invoice(world, kind="credit_note", total="120.00", vat="20.00", credited=company,
                        issue_date=dt.date(2031, 3, 20), reason="Une journée non réalisée")
    february = make_invoice(world, total="999.00", issue_date=dt.date(2031, 2, 27))
    make_invoice(world, status="draft", total="777.00")
    pay(opco, "420", paid_on=dt.date(2031, 3, 25))
    pay(company, "500", paid_on=dt.date(2031, 3, 28), method="cheque")
    pay(company, "80", paid_on=dt.date(2031, 3, 28))
    pay(february, "999", paid_on=dt.date(2031, 3, 5))  # an invoice of February paid in March
    pay(own, "150", paid_on=dt.date(2031, 4, 2))  # April: not in March's journal
    return company, opco, own, note, february


def read_csv(body: bytes) -> list[dict]:
    assert body.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == HEADERS
    return [dict(zip(HEADERS, row)) for row in rows[1:]]


def amount(cell: str) -> Decimal:
    assert "." not in cell
    return Decimal(cell.replace(",", ".")) if cell else Decimal("0")


def test_journal_pieces_are_balanced_and_totals_match(march, advisor):
    company, opco, own, note, february = march
    response = exported(advisor, "/billing/journal.csv?du=2031-03-01&au=2031-03-31")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "filename=journal-ventes-banque_2031-03-01_2031-03-31.csv" in response.headers["Content-Disposition"]
    rows = read_csv(response.data)
    pieces = defaultdict(lambda: [Decimal("0"), Decimal("0")])
    for row in rows:
        pieces[(row["Journal"], row["Pièce"])][0] += amount(row["Débit"])
        pieces[(row["Journal"], row["Pièce"])][1] += amount(row["Crédit"])
    for piece, (debit, credit) in pieces.items():
        assert debit == credit, piece
    # The sales journal: three invoices and a credit note of March, nothing of February, no draft.
    assert sorted(p for j, p in pieces if j == "VT") == sorted([company.number, opco.number, own.number, note.number])
    sales = [r for r in rows if r["Journal"] == "VT"]
    assert sum(amount(r["Débit"]) for r in sales if r["Compte"] == "411") == Decimal("1770.00")
    assert sum(amount(r["Crédit"]) for r in sales if r["Compte"] == "411") == Decimal("120.00")
    assert sum(amount(r["Crédit"]) - amount(r["Débit"]) for r in sales if r["Compte"] == "706") == Decimal("1470.00")
    assert sum(amount(r["Crédit"]) - amount(r["Débit"]) for r in sales if r["Compte"] == "44571") == Decimal("180.00")
    # The company's invoice, line by line: dates dd/mm/yyyy, decimal commas, its auxiliary account.
    assert [(r["Date"], r["Compte"], r["Compte auxiliaire"], r["Débit"], r["Crédit"])
            for r in sales if r["Pièce"] == company.number] == [
        ("02/03/2031", "411", f"411C{company.payer_company_id:05d}", "1200,00", "0,00"),
        ("02/03/2031", "706", "", "0,00", "1000,00"),
        ("02/03/2031", "44571", "", "0,00", "200,00"),
    ]
    assert all(r["Libellé"] == f"Facture {company.number} – Cabinet d'architecture Dupont"
               for r in sales if r["Pièce"] == company.number)
    # The credit note is the reverse entry, naming the invoice it cancels.
    assert [(r["Compte"], r["Débit"], r["Crédit"]) for r in sales if r["Pièce"] == note.number] == [
        ("411", "0,00", "120,00"), ("706", "100,00", "0,00"), ("44571", "20,00", "0,00")]
    assert f"Avoir {note.number} sur {company.number}" in next(r["Libellé"] for r in sales if r["Pièce"] == note.number)
    # No VAT line on an exempt invoice; per-payer auxiliary accounts.
    assert [(r["Compte"], r["Compte auxiliaire"]) for r in sales if r["Pièce"] == opco.number] == [
        ("411", "411OPCOEP"), ("706", "")]
    assert next(r["Compte auxiliaire"] for r in sales if r["Pièce"] == own.number) == f"411P{own.payer_trainee_id:05d}"
    # The bank journal: the payments of March (February's invoice included), debit 512, credit the customer.
    bank = [r for r in rows if r["Journal"] == "BQ"]
    assert [(r["Date"], r["Pièce"], r["Compte"], r["Débit"], r["Crédit"]) for r in bank] == [
        ("05/03/2031", february.number, "512", "999,00", "0,00"),
        ("05/03/2031", february.number, "411", "0,00", "999,00"),
        ("25/03/2031", opco.number, "512", "420,00", "0,00"),
        ("25/03/2031", opco.number, "411", "0,00", "420,00"),
        ("28/03/2031", company.number, "512", "500,00", "0,00"),
        ("28/03/2031", company.number, "411", "0,00", "500,00"),
        ("28/03/2031", company.number, "512", "80,00", "0,00"),
        ("28/03/2031", company.number, "411", "0,00", "80,00"),
    ]
    assert bank[3]["Compte auxiliaire"] == "411OPCOEP"
    assert bank[4]["Libellé"] == f"Règlement {company.number} – Chèque – VIR 42 – Cabinet d'architecture Dupont"
    # The totals of the whole file balance as well.
    assert sum(amount(r["Débit"]) for r in rows) == sum(amount(r["Crédit"]) for r in rows) == Decimal("3889.00")


def test_a_cancelled_payment_produces_no_entry_and_is_listed_apart(march, advisor, world):
    """Decision: a cancelled payment has no entry at all (neither the payment nor a reversal); the page lists the
    period's cancelled payments, for the accountant who imported an earlier export."""
    company = march[0]
    cheque = db.session.scalar(select(Payment).where(Payment.invoice_id == company.id, Payment.method == "cheque"))
    payments.cancel_payment(cheque, "Chèque rejeté par la banque", world.users["advisor"])
    db.session.commit()
    rows = read_csv(exported(advisor, "/billing/journal.csv?du=2031-03-01&au=2031-03-31").data)
    bank = [(r["Date"], r["Pièce"], r["Compte"], r["Débit"], r["Crédit"]) for r in rows if r["Journal"] == "BQ"]
    assert ("28/03/2031", company.number, "512", "500,00", "0,00") not in bank
    assert ("28/03/2031", company.number, "512", "80,00", "0,00") in bank and len(bank) == 6
    assert sum(amount(r["Débit"]) for r in rows) == sum(amount(r["Crédit"]) for r in rows) == Decimal("3389.00")
    entries = payments.journal(START, END)
    assert [p.id for p in entries.cancelled] == [cheque.id]
    text = page(advisor.get("/billing/journal?du=2031-03-01&au=2031-03-31"))
    assert "3 pièces de banque" in text  # the cheque's piece is gone, the other payment of that invoice stays
    assert "Paiements de la période annulés (sans écriture)" in text
    assert (f"28/03/2031 – règlement {company.number} – Chèque – 500,00\xa0€ : annulé le 15/04/2031 par Camille "
            "Conseil (Chèque rejeté par la banque)") in text
    # Another period: nothing said.
    assert "annulés" not in page(advisor.get("/billing/journal?du=2031-04-01&au=2031-04-30")).split(
        "un paiement annulé ne donne aucune écriture")[1]


def test_journal_page_shows_the_period_and_totals(march, advisor):
    text = page(advisor.get("/billing/journal?du=2031-03-01&au=2031-03-31"))
    assert "Du 01/03/2031 au 31/03/2031 : 4 pièces de ventes" in text
    assert "4 pièces de banque" not in text and "3 pièces de banque" in text
    assert "/billing/journal.csv?du=2031-03-01&amp;au=2031-03-31" in advisor.get(
        "/billing/journal?du=2031-03-01&au=2031-03-31").get_data(as_text=True)
    # Without dates: the previous month.
    text = page(advisor.get("/billing/journal"))
    assert "Du 01/03/2031 au 31/03/2031" in text


def test_accounts_come_from_the_configuration(app, march, monkeypatch):
    monkeypatch.setitem(app.config, "BILLING_ACCOUNTS", {"customer": "4110", "revenue": "7061", "vat": "445710",
                                                        "bank": "5121", "sales_journal": "VE", "bank_journal": "BQ1"})
    entries = payments.journal(START, END)
    assert {line.journal for line in entries.lines} == {"VE", "BQ1"}
    assert {line.account for line in entries.lines} == {"4110", "7061", "445710", "5121"}
    assert "4110OPCOEP" in {line.auxiliary for line in entries.lines}
    debit, credit = entries.totals()
    assert debit == credit


@pytest.mark.parametrize("query, message", [
    ("du=2031-02-30&au=2031-03-31", "Date de début (du) invalide : « 2031-02-30 » (format attendu AAAA-MM-JJ)."),
    ("du=01/03/2031&au=2031-03-31", "Date de début (du) invalide"),
    ("du=2031-03-01&au=demain", "Date de fin (au) invalide : « demain »"),
    ("du=2031-03-01", "Indiquez la date de fin (au) (format AAAA-MM-JJ)."),
    ("du=2031-03-31&au=2031-03-01", "La date de fin (au) précède la date de début (du)."),
    ("du=2000-01-01&au=2031-03-01", "cinq ans au plus"),
])
def test_bad_periods_are_refused_in_french(advisor, world, today, query, message):
    for response in (advisor.get(f"/billing/journal?{query}"), advisor.post(f"/billing/journal.csv?{query}")):
        assert response.status_code == 400  # the export refuses it at once, before any task
        assert message in page(response)


def test_an_inconsistent_invoice_is_not_exported(march, advisor):
    company = march[0]
    company.total_vat = Decimal("150.00")  # 1 000 + 150 ≠ 1 200
    db.session.commit()
    task, download = run_started_task(advisor, advisor.post("/billing/journal.csv?du=2031-03-01&au=2031-03-31"))
    assert (task.status, download) == ("failed", None)  # found while the journal is computed, in the task
    assert f"Facture {company.number} : le total TTC" in task.error


def test_an_empty_period(advisor, world, today):
    response = exported(advisor, "/billing/journal.csv?du=2030-01-01&au=2030-01-31")
    assert response.status_code == 200
    assert read_csv(response.data) == []
    assert "Aucune écriture sur cette période." in page(advisor.get("/billing/journal?du=2030-01-01&au=2030-01-31"))


def test_customer_accounts():
    from trainingmgr.billing.models import Invoice

    assert payments.customer_account(Invoice(payer_kind="opco", opco_name="Opco Santé")) == "411OPCOSANTE"
    assert payments.customer_account(Invoice(payer_kind="opco", opco_name="Uniformation (OPCO Cohésion sociale)")) \
        == "411UNIFORMATIONOP"  # 17 characters at most
    assert payments.customer_account(Invoice(payer_kind="public_buyer", payer_company_id=12)) == "411C00012"
    assert payments.customer_account(Invoice(payer_kind="company")) == "411DIVERS"
