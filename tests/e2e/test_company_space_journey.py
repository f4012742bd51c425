"""The client-company space, end to end in a real browser (Playwright + Debian's chromium, with the helpers of
tests/attendance/test_browser.py and tests/e2e/test_advisor_journey.py): the advisor sends the HR contact of a
client company the link to its space from the company page; the HR contact opens the link of that e-mail on a phone,
sees the company's sessions, the half-days of its employees as the register recorded them (a late arrival, an
absence justified), and downloads an employee's certificate: the bytes received are the archive's. A screenshot of
each step is saved under tests/artifacts/company-space-journey/ (git-ignored).

Skipped with SKIP_BROWSER_TESTS=1. The link is the one of the e-mail, read from the outbox."""
from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import select

from trainingmgr.documents import services as documents
from trainingmgr.extensions import db
from trainingmgr.messaging.models import OutboxMessage

from tests.fixtures.browser import Phone, Shots, fits_the_screen, log_in, phone_browser, running_server

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "company-space-journey"


def emailed_path(recipient: str) -> str:
    """The path of the space's link in the last e-mail of the company space to ``recipient``."""
    db.session.expire_all()
    message = db.session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == recipient,
                                                             OutboxMessage.topic == "company_space")
                                 .order_by(OutboxMessage.id.desc())).first()
    db.session.commit()  # no transaction left open while the server writes
    assert message is not None, f"no company space e-mail to {recipient}"
    return urlsplit(re.search(r"https?://\S+/entreprise/\S+", message.body_text).group(0)).path


def test_an_hr_contact_opens_the_emailed_link_and_downloads_a_certificate(app, space_world):
    from playwright.sync_api import expect

    w = space_world
    certificate = w.docs["certificate_alice"]
    archived = documents.read_file(certificate, "pdf")
    company_id, hugo_id, past_id = w.a.id, w.hugo.id, w.past.id
    alice_id, bruno_id, bernard_id, certificate_id = w.alice.id, w.bruno.id, w.bernard.id, certificate.id
    slot_ids = [s.id for s in sorted(w.past.slots, key=lambda s: (s.date, s.start_time))]
    db.session.commit()

    with running_server(app) as (host, port), phone_browser() as browser:
        shot = Shots(ARTIFACTS)
        base_url = f"http://{host}:{port}"

        # --- 1. the advisor sends Hugo Martin (HR) the link from the company page
        office = Phone(browser, base_url)
        office.page.set_viewport_size({"width": 1280, "height": 900})
        log_in(office, "conseil@test.example")
        office.goto(f"/companies/{company_id}")
        hugo = office.page.locator(f"[data-contact='{hugo_id}']")
        expect(hugo.locator("[data-space-link]")).to_have_attribute("data-space-link", "none")
        hugo.locator(f"form[action$='/contacts/{hugo_id}/space/send'] button").click()
        office.page.wait_for_load_state()
        expect(office.page.locator(".alert-success")).to_contain_text(
            "Lien de l'espace entreprise écrit dans la console pour hugo@dupont.example (aucun e-mail n'est parti).")
        expect(hugo.locator("[data-space-link]")).to_have_attribute("data-space-link", "active")
        shot(office.page, "advisor-sent-the-link")
        assert office.problems == []
        office.close()

        # --- 2. Hugo, on his phone, opens the link of the e-mail
        link = emailed_path("hugo@dupont.example")
        phone = Phone(browser, base_url)
        page = phone.page
        phone.goto(link)
        expect(page.locator("[data-field=company]")).to_have_text("Cabinet d'architecture Dupont")
        expect(page.locator("[data-section=past] [data-session]")).to_contain_text("Alice Arnaud, Bruno Bernardin")
        expect(page.locator("[data-section=upcoming] [data-session]")).to_contain_text("Chorus Pro")
        assert fits_the_screen(page)
        shot(page, "hr-home")

        # --- 3. the past session: each employee's half-days as recorded, and nobody of company B
        page.locator(f"[data-section=past] [data-session='{past_id}'] a").click()
        page.wait_for_url(re.compile(rf"/sessions/{past_id}$"))
        late = page.locator(f"[data-slot='{slot_ids[0]}'][data-enrolment='{bruno_id}']")
        expect(late.locator("[data-status]")).to_have_attribute("data-status", "signed")
        expect(late.locator("[data-field=late]")).to_have_text("arrivé(e) à 09:00")
        absent = page.locator(f"[data-slot='{slot_ids[1]}'][data-enrolment='{bruno_id}'] [data-status]")
        expect(absent).to_have_attribute("data-status", "absent")
        expect(absent).to_have_text("Absent (justifiée)")
        expect(page.locator(f"[data-employee='{bernard_id}']")).to_have_count(0)
        assert fits_the_screen(page)
        shot(page, "hr-session")

        # --- 4. Alice's certificate, downloaded: the archive's bytes
        employee = page.locator(f"[data-employee='{alice_id}']")
        with page.expect_download() as download_info:
            employee.locator(f"[data-document='{certificate_id}'] [data-action=download-pdf]").click()
        download = download_info.value
        assert download.suggested_filename == f"{certificate.number}.pdf"
        assert Path(download.path()).read_bytes() == archived
        shot(page, "hr-downloaded")
        # A link that answers with a file ends its navigation as a download: chromium reports it aborted, not a fault.
        phone.problems = [p for p in phone.problems
                          if p != f"failed: {base_url}{link}/documents/{certificate_id}.pdf net::ERR_ABORTED"]

        # --- 5. the invoices and what remains to pay
        page.click("[data-action=invoices]")
        page.wait_for_url(re.compile(r"/factures$"))
        expect(page.locator("[data-invoice]")).to_have_count(1)
        assert fits_the_screen(page)
        shot(page, "hr-invoices")
        assert phone.problems == []
        phone.close()
