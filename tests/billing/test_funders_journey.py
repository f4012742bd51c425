"""Issue 20's two journeys end to end, through the pages the advisor uses: a liberal architect funded by the FIF PL
(the demo's past Chorus Pro session: enrolment, invoice to him as a professional, his transfer, the fund's refund
pack, BPF line C-2g and F-1 e), and a job seeker funded by France Travail (the funding form refusing a line without
its AIF reference, then the agreement, the invoice to France Travail, BPF lines C-7 and F-1 c)."""
from __future__ import annotations

import io
import zipfile
from decimal import Decimal

from sqlalchemy import select

from trainingmgr.billing.bpf import services as bpf
from trainingmgr.billing.invoices.issue import issue_invoice
from trainingmgr.billing.invoices.planning import propose_invoices
from trainingmgr.billing.models import Invoice
from trainingmgr.billing.payments.services import payment_status
from trainingmgr.core.timeutil import paris_today
from trainingmgr.demo.services import load_demo
from trainingmgr.enrolments.models import Enrolment, FundingLine
from trainingmgr.extensions import db
from trainingmgr.trainees.models import Trainee

from tests.fixtures.billing import complete, enrol_with, invoices_of
from tests.helpers import page, run_started_task

D = Decimal
FRANCE_TRAVAIL_SIREN = "130005481"


def test_a_liberal_architect_funded_by_the_fif_pl_from_enrolment_to_the_refund_pack_and_bpf_c2g(app, client):
    load_demo()
    db.session.commit()
    julien = db.session.scalar(select(Enrolment).join(Trainee).where(Trainee.last_name == "Carrère"))
    [line] = julien.funding_lines
    assert (line.kind, line.opco_name, line.opco_file_number, line.subrogation) == (
        "self_employed_fund", "FIF PL", "FIFPL-2026-0418532", False)
    # He is invoiced as a professional at his practice, and paid by transfer.
    [invoice] = db.session.scalars(select(Invoice).where(Invoice.payer_kind == "self_employed_fund"))
    assert (invoice.payer_trainee_id, invoice.buyer_siret, invoice.total_incl_vat) == (
        julien.trainee_id, "79245813500029", D("600.00"))
    assert payment_status(invoice) == "paid"

    client.post("/login", data={"email": "conseil@formaction.example", "password": "conseil-demo-2026"})
    _, response = run_started_task(client, client.post(f"/enrolments/{julien.id}/fund-pack"))
    assert response.status_code == 200 and response.mimetype == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(response.data)).namelist()
    assert names[0] == f"1-facture-{invoice.number}.docx" and names[-1] == "index.txt"  # Word: no converter
    assert [name.split("-")[1] for name in names[1:-1]] == ["facture", "certificat", "programme"]
    assert names[1].startswith("2-facture-acquittee")

    year = paris_today().year
    computed = bpf.compute_bpf(year)
    assert computed.product("2g") == D("600.00") and computed.checks_ok
    body = page(client.get(f"/bpf/{year}"))
    assert "travailleurs non salariés" in body and "600,00" in body


def test_a_job_seeker_funded_by_france_travail_from_the_funding_form_to_bpf_c7_and_f1_c(inter, client):
    from tests.helpers import login

    session, advisor = inter.session, inter.advisor
    seeker = enrol_with(session, 1, [])
    seeker.trainee.bpf_status = "job_seeker"
    db.session.commit()
    login(client, "conseil@test.example")
    url = f"/enrolments/{seeker.id}/funding/new"
    form = {"kind": "france_travail", "amount": "600,00", "opco_status": "agreed", "agreed_amount": "600",
            "agreed_on": "2031-01-12"}
    response = client.post(url, data=form)  # without its AIF reference
    assert response.status_code == 422
    assert "Indiquez la référence de l'accord France Travail (devis AIF)." in page(response)
    assert db.session.scalars(select(FundingLine).where(FundingLine.enrolment_id == seeker.id)).all() == []
    assert client.post(url, data={**form, "aif_reference": "AIF-31-2031-0042"}).status_code == 302
    [line] = db.session.scalars(select(FundingLine).where(FundingLine.enrolment_id == seeker.id))
    assert (line.kind, line.opco_name, line.opco_file_number) == ("france_travail", "France Travail",
                                                                  "AIF-31-2031-0042")

    complete(session)
    propose_invoices(session, advisor)
    db.session.commit()
    [invoice] = [i for i in invoices_of(session) if i.payer_kind == "france_travail"]
    invoice.buyer_siret = FRANCE_TRAVAIL_SIREN
    invoice.buyer_address, invoice.buyer_postal_code, invoice.buyer_city = "Direction régionale", "31000", "Toulouse"
    issue_invoice(invoice, advisor)
    db.session.commit()
    assert (invoice.buyer_name, invoice.opco_file_number, invoice.total_incl_vat) == (
        "France Travail", "AIF-31-2031-0042", D("600.00"))

    products = bpf.compute_bpf(invoice.issue_date.year)
    assert products.product("7") == invoice.total_excl_vat and products.product("9") == D("0.00")
    trainees = bpf.compute_bpf(session.last_date.year)
    assert {line.code: line.trainees for line in trainees.by_type}["c"] == 1 and trainees.checks_ok
