"""The electronic signature of a convention, end to end in a real browser (Playwright + Debian's chromium, with the
helpers of tests/attendance/test_browser.py and tests/e2e/test_advisor_journey.py): the advisor sends the
company's convention for signature from the session's documents page; the company's signatory opens her personal
link on a phone, reads the pages, asks for her code, mistypes it once, then draws her signature and signs; the
organisation's signatory, invited only then, types their name and signs; the advisor sees the request signed by
all, and the final PDF verifies with both PAdES signatures. A screenshot of each step is saved under
tests/artifacts/signature-journey/ (git-ignored).

Skipped with SKIP_BROWSER_TESTS=1. The links are those of the invitation e-mails, and the codes those of the
code e-mails, read from the outbox."""
from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

from trainingmgr.extensions import db
from trainingmgr.organisation.services import get_organisation
from trainingmgr.signing import pades
from trainingmgr.signing import services as signing_services
from trainingmgr.signing.models import SignatureRequest

from tests.fixtures.browser import Phone, Shots, fits_the_screen, log_in, phone_browser, running_server
from tests.fixtures.signing import outbox
from tests.helpers import signing_dir

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "signature-journey"


def invitation_path(recipient: str) -> str:
    """The path of the personal link in the last « Document à signer » e-mail to ``recipient``."""
    (*_, invitation) = outbox(recipient, "Document à signer")
    db.session.commit()  # no transaction left open while the server writes
    return urlsplit(re.search(r"https?://\S+/signature/\S+", invitation.body_text).group(0)).path


def emailed_code(recipient: str) -> str:
    (*_, message) = outbox(recipient, "Votre code de signature : ")
    db.session.commit()
    return message.subject[-6:]


def expect_pages_loaded(page) -> int:
    """Scroll through the document's page images (lazy-loaded) and check each one is drawn; their count."""
    images = page.locator("img[data-page-image]")
    count = images.count()
    assert count >= 1
    for image in images.all():
        image.scroll_into_view_if_needed()
        image.evaluate("img => img.decode()")  # resolves once loaded; throws on a broken image
        assert image.evaluate("img => img.complete && img.naturalWidth") > 0
    return count


def ask_for_code(phone: Phone, recipient: str) -> str:
    """Click « Recevoir mon code par e-mail »; the code read from the e-mail."""
    from playwright.sync_api import expect

    phone.page.click("[data-action=send-code]")
    phone.page.wait_for_load_state()
    expect(phone.page.locator(".alert-success")).to_contain_text(
        f"Un code à 6 chiffres vient d'être envoyé à {recipient}")
    return emailed_code(recipient)


def test_a_convention_is_signed_by_the_company_then_the_organisation(app, world, sale):  # noqa: F811 - the fixture
    from playwright.sync_api import expect

    # The organisation's signatory (Sophie Durand, the demo organisation set by `world`) signs with its address.
    organisation = get_organisation()
    organisation_name, organisation_email = organisation.signatory_name, organisation.email
    assert organisation_name and organisation_email
    session_id, convention_id, anne_id, hugo_id = sale.session.id, sale.convention.id, sale.anne.id, sale.hugo.id
    db.session.commit()

    with running_server(app) as (host, port), phone_browser() as browser:
        shot = Shots(ARTIFACTS)  # here: a skipped run leaves the last screenshots alone
        base_url = f"http://{host}:{port}"

        # --- 1. the advisor sends the convention for signature from the session's documents page
        office = Phone(browser, base_url)
        office.page.set_viewport_size({"width": 1280, "height": 900})
        page = office.page
        log_in(office, "conseil@test.example")
        office.goto(f"/sessions/{session_id}/documents")
        row = page.locator(f"tr[data-document='{convention_id}']")
        shot(page, "session-documents")
        row.locator("[data-action=send-for-signature]").click()
        page.wait_for_url(re.compile(rf"/documents/{convention_id}/signature$"))
        expect(page.locator(f"input[name=signatories][value='company:{anne_id}']")).to_be_checked()
        expect(page.locator(f"input[name=signatories][value='company:{hugo_id}']")).not_to_be_checked()
        expect(page.locator("input[name=signatories][value=organisation]")).to_be_checked()
        expect(page.locator("[data-field=signatories]")).to_contain_text(organisation_name)
        shot(page, "send-form")
        page.click("main form[method=post] button[type=submit]")
        page.wait_for_url(re.compile(r"/signatures/\d+$"))
        request_id = int(page.url.rsplit("/", 1)[1])
        expect(page.locator("[data-field=status]")).to_have_text("En attente de signatures")
        signatories = page.locator("table[data-table=signatories] tbody tr")
        expect(signatories).to_have_count(2)
        expect(signatories.nth(0)).to_have_attribute("data-status", "invited")
        expect(signatories.nth(1)).to_have_attribute("data-status", "waiting")
        shot(page, "request-sent")

        anne_link = invitation_path("anne@dupont.example")
        assert outbox(organisation_email, "Document à signer") == []  # the organisation signs last
        db.session.commit()

        # --- 2. Anne Dupont, on her phone: reads the pages, asks for her code, mistypes it, then signs by drawing
        phone = Phone(browser, base_url)
        anne = phone.page
        phone.goto(anne_link)
        expect(anne.locator("[data-field=signatory]")).to_have_text("Anne Dupont")
        assert expect_pages_loaded(anne) == 3  # the convention's two pages and the evidence page
        assert fits_the_screen(anne)
        shot(anne, "company-reads")
        code = ask_for_code(phone, "anne@dupont.example")
        expect(anne.locator("[data-action=send-code]")).to_have_text("Recevoir un nouveau code")
        shot(anne, "company-code-sent")

        anne.fill("#code", f"{(int(code) + 1) % 10 ** 6:06d}")
        phone.draw_signature()
        anne.check("#consent")
        anne.click("#sign-submit")
        expect(anne.locator("[data-error=code]")).to_have_text("Code erroné. Il vous reste 4 essais.")
        assert fits_the_screen(anne)
        shot(anne, "company-wrong-code")
        # The refused attempt answers 422 with the form again: expected here, not a fault.
        phone.problems = [p for p in phone.problems if not re.fullmatch(rf"422 {base_url}{anne_link}/signer", p)]

        anne.fill("#code", code)
        phone.draw_signature()
        anne.check("#consent")
        shot(anne, "company-draws")
        anne.click("#sign-submit")
        expect(anne.locator("[data-field=signed]")).to_contain_text("Vous avez signé ce document")
        expect(anne.locator("[data-field=waiting]")).to_be_visible()
        assert fits_the_screen(anne)
        shot(anne, "company-signed")
        assert phone.problems == []
        phone.close()

        # --- 3. the organisation's signatory, invited now, signs by typing their name
        organisation_link = invitation_path(organisation_email)
        phone = Phone(browser, base_url)
        signer = phone.page
        phone.goto(organisation_link)
        expect(signer.locator("[data-field=signatory]")).to_have_text(organisation_name)
        expect_pages_loaded(signer)
        assert fits_the_screen(signer)
        shot(signer, "organisation-reads")
        signer.fill("#code", ask_for_code(phone, organisation_email))
        signer.click("#typed-option summary")
        signer.fill("#typed_name", organisation_name)
        signer.check("#consent")
        shot(signer, "organisation-types-name")
        signer.click("#sign-submit")
        expect(signer.locator("[data-field=signed]")).to_contain_text("Vous avez signé ce document")
        expect(signer.locator("[data-field=completed]")).to_be_visible()
        assert fits_the_screen(signer)
        shot(signer, "organisation-signed")
        assert phone.problems == []
        phone.close()

        # --- 4. the advisor sees the request signed by all
        office.goto(f"/signatures/{request_id}")
        expect(page.locator("[data-field=status]")).to_have_text("Signé par tous")
        expect(signatories.nth(0)).to_have_attribute("data-status", "signed")
        expect(signatories.nth(1)).to_have_attribute("data-status", "signed")
        expect(signatories.nth(0)).to_contain_text("signature dessinée")
        expect(signatories.nth(1)).to_contain_text("nom saisi")
        expect(page.locator("[data-list=revisions] li")).to_have_count(3)
        shot(page, "request-signed")
        office.goto(f"/sessions/{session_id}/documents")
        expect(row.locator(f"[data-signature-request='{request_id}']")).to_have_attribute("data-status", "completed")
        expect(row.locator("[data-action=send-for-signature]")).to_have_count(1)  # a new request may follow
        shot(page, "session-documents-signed")
        assert office.problems == []
        office.close()

    # --- the final PDF: both signatures valid and trusted, the last one covering the whole file
    db.session.expire_all()
    signature_request = db.session.get(SignatureRequest, request_id)
    assert signature_request.status == "completed"
    assert [(s.name, s.status, s.method) for s in signature_request.signatories] == [
        ("Anne Dupont", "signed", "drawn"), (organisation_name, "signed", "typed")]
    trust_root = Path(signing_dir(), "signing.crt").read_bytes()
    report = pades.verify(signing_services.latest_pdf(signature_request), trust_roots=[trust_root])
    assert report.ok, report.problems
    assert len(report.signatures) == 2 and report.unsigned_fields == []
    assert report.signatures[-1].covers == "tout le fichier"
    for recipient in ("anne@dupont.example", organisation_email):
        (signed_copy,) = outbox(recipient, "Document signé")
        assert [a.content_type for a in signed_copy.attachments] == ["application/pdf"]
    assert sorted(p.name for p in ARTIFACTS.glob("*.png")) == [f"{n:02d}-{name}.png" for n, name in enumerate((
        "session-documents", "send-form", "request-sent", "company-reads", "company-code-sent", "company-wrong-code",
        "company-draws", "company-signed", "organisation-reads", "organisation-types-name", "organisation-signed",
        "request-signed", "session-documents-signed"), start=1)]
