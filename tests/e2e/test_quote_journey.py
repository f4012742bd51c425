"""A quote, end to end in a real browser (Playwright + Debian's chromium, the helpers of tests/fixtures/browser.py): a
company contact, on a phone, opens the public page of the DUME course, taps « Demander un devis » and asks for two
seats in its open session; the advisor, at a desk, finds the request in « Devis », names the two trainees and sends
it: the quote is « Envoyé » and its e-mail to the contact, with the document and the personal link, is in the outbox.
A screenshot of each step is saved under tests/artifacts/quote-journey/ (git-ignored).

Skipped with SKIP_BROWSER_TESTS=1."""
from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import select

from trainingmgr.extensions import db
from trainingmgr.messaging.models import OutboxMessage
from trainingmgr.quotes.models import Quote

from tests.fixtures.browser import Phone, Shots, fits_the_screen, log_in, phone_browser, running_server

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "quote-journey"
CONTACT = "claire.rh@dupont.example"
TRAINEES = "Léa ; Martin ; lea.martin@dupont.example\nHugo ; Petit ; hugo.petit@dupont.example"


def only_quote() -> Quote:
    db.session.expire_all()
    (quote,) = db.session.scalars(select(Quote)).all()
    return quote


def test_a_contact_asks_for_a_quote_on_a_phone_and_the_advisor_sends_it(app, world, dume_session):
    from playwright.sync_api import expect

    slug, session_id = world.dume.slug, dume_session.id
    db.session.commit()  # no transaction left open while the server writes

    with running_server(app) as (host, port), phone_browser() as browser:
        shot = Shots(ARTIFACTS)
        base_url = f"http://{host}:{port}"

        # --- 1. the contact, on her phone, opens the course page and taps « Demander un devis »
        phone = Phone(browser, base_url)
        page = phone.page
        phone.goto(f"/catalogue/{slug}")
        request_link = page.locator("[data-field=quote-request]")
        expect(request_link).to_have_text("Demander un devis")
        request_link.tap()
        page.wait_for_url(re.compile(rf"/catalogue/{slug}/devis$"))
        assert fits_the_screen(page)
        shot(page, "contact-request-form")

        # --- 2. two seats in the open session, her company and herself; sent
        expect(page.locator("#kind-0")).to_be_checked()  # seats in a session, the default
        page.select_option("#session_id", str(session_id))
        page.fill("#seats", "2")
        page.fill("#company_name", "Cabinet d'architecture Dupont")
        page.fill("#contact_name", "Claire Dupont")
        page.fill("#contact_email", CONTACT)
        page.fill("#contact_phone", "06 12 34 56 78")
        page.fill("#request_message", "Deux collaborateurs, les noms suivent.")
        page.locator("#consent").tap()
        assert fits_the_screen(page)
        page.get_by_role("button", name="Demander mon devis").tap()
        expect(page.locator("h1")).to_have_text("Merci, votre demande de devis est bien reçue")
        shot(page, "contact-thanks")
        assert phone.problems == []
        phone.close()
        draft = only_quote()
        assert (draft.status, draft.source, draft.session_id, draft.seats, draft.trainees) == (
            "draft", "public", session_id, 2, [])
        quote_id, number = draft.id, draft.number
        db.session.commit()

        # --- 3. the advisor, at a desk, finds the request in « Devis »
        office = Phone(browser, base_url)
        office.page.set_viewport_size({"width": 1280, "height": 900})
        page = office.page
        log_in(office, "conseil@test.example")
        page.get_by_role("button", name="Clients et financements").click()
        page.get_by_role("link", name="Devis", exact=True).click()
        page.wait_for_url(re.compile(r"/quotes/$"))
        row = page.locator(f"[data-quote='{quote_id}']")
        expect(row).to_contain_text("Cabinet d'architecture Dupont")
        expect(row).to_contain_text("Brouillon")
        expect(row).to_contain_text("en ligne")
        shot(page, "advisor-quotes")
        row.get_by_role("link", name=number).click()
        page.wait_for_url(re.compile(rf"/quotes/{quote_id}$"))
        expect(page.locator("[data-field=status]")).to_have_text("Brouillon")

        # --- 4. names the two trainees, then sends the quote
        page.locator("[data-field=actions]").get_by_role("link", name="Modifier").click()
        page.wait_for_url(re.compile(rf"/quotes/{quote_id}/edit$"))
        page.fill("#trainees", TRAINEES)
        shot(page, "advisor-names-the-trainees")
        page.get_by_role("button", name="Enregistrer le brouillon").click()
        page.wait_for_url(re.compile(rf"/quotes/{quote_id}$"))
        expect(page.locator("[data-field=trainees]")).to_contain_text("Léa Martin")
        expect(page.locator("[data-field=trainees]")).to_contain_text("Hugo Petit")
        page.locator("[data-field=actions]").get_by_role("button", name="Envoyer").click()
        page.wait_for_load_state()
        expect(page.locator(".alert-success")).to_contain_text(f"Devis {number} envoyé à {CONTACT}.")
        expect(page.locator("[data-field=status]")).to_have_text("Envoyé")
        expect(page.locator("[data-field=contact-link]")).to_be_visible()
        shot(page, "advisor-sent")
        assert office.problems == []
        office.close()

    quote = only_quote()
    assert quote.status == "sent" and quote.version == 1 and quote.docx_file_id is not None
    assert [(t.first_name, t.last_name) for t in quote.trainees] == [("Léa", "Martin"), ("Hugo", "Petit")]
    (mail,) = db.session.scalars(select(OutboxMessage).where(OutboxMessage.topic == "quote_sent")).all()
    assert mail.recipient == CONTACT and number in mail.subject
    assert re.search(r"https?://\S+/devis/\S+", mail.body_text)
    assert [a.filename for a in mail.attachments] == [f"{number}.docx"]  # no PDF converter in the tests
