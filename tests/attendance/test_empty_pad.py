"""« Je signe » with an empty signature pad, on every pad: the page says it at once beside the pad (JavaScript, in a
live region), and the server refuses the form sent anyway with a 422 and the same French sentence beside the pad —
the trainee's link, the kiosk, the trainer's countersignature (back office and trainer space) and the electronic
signature of a document (signing/public.py)."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from trainingmgr.attendance.models import AttendanceRecord
from trainingmgr.attendance.services import EMPTY_SIGNATURE
from trainingmgr.extensions import db
from trainingmgr.resources import links

from tests.attendance.support import link, slots
from tests.fixtures.signing import link as esign_link, request_code, send
from tests.helpers import page

EMPTY = {"signature": "", "typed_name": "   "}
SIGNATURE_PAD_JS = Path(__file__).parents[2] / "static" / "js" / "signature-pad.js"


def records() -> int:
    return db.session.scalar(select(func.count(AttendanceRecord.id)))


def refused_beside_the_pad(response) -> None:
    """422, the sentence beside the pad (``data-error="signature"``), the pad shown again to sign."""
    text = page(response)
    assert response.status_code == 422, text[:500]
    assert f'data-error="signature">{EMPTY_SIGNATURE.replace(chr(39), "&#39;")}</div>' in text, text
    assert 'id="signature-pad"' in text and 'id="sign-form"' in text


def test_the_script_says_the_servers_sentence_in_a_live_region():
    script = SIGNATURE_PAD_JS.read_text(encoding="utf-8")
    assert f'"{EMPTY_SIGNATURE}"' in script
    assert 'setAttribute("aria-live", "assertive")' in script
    assert "alert(" not in script  # a dialog the browser may block or a test may dismiss: never again


def test_an_empty_pad_on_the_personal_link_is_refused_in_french(client, klass, clock):
    session, (julie, *_) = klass
    morning = slots(session)[0]
    refused_beside_the_pad(client.post(link(julie, morning), data=EMPTY))
    assert records() == 0


def test_an_empty_pad_on_the_kiosk_is_refused_in_french(trainer, klass, clock):
    session, (julie, *_) = klass
    morning = slots(session)[0]
    assert trainer.post(f"/attendance/slots/{morning.id}/kiosk").status_code == 302  # kiosk mode
    refused_beside_the_pad(trainer.post(f"/attendance/slots/{morning.id}/kiosk/{julie.id}", data=EMPTY))
    assert records() == 0


@pytest.mark.parametrize("early_ok", ["", "y"])
def test_an_empty_countersignature_is_refused_before_any_question(trainer, klass, clock, early_ok):
    session, _ = klass
    morning = slots(session)[0]
    clock.at("09:21")  # before the end: the empty pad is told first, not the early closing's question
    response = trainer.post(f"/attendance/slots/{morning.id}/countersign", data={**EMPTY, "early_ok": early_ok})
    refused_beside_the_pad(response)
    assert 'data-field="early-question"' not in page(response)
    clock.at("12:31")
    refused_beside_the_pad(trainer.post(f"/attendance/slots/{morning.id}/countersign", data=EMPTY))
    assert records() == 0


def test_an_empty_countersignature_in_the_trainer_space_is_refused_in_french(client, klass, clock, monkeypatch):
    monkeypatch.setattr("trainingmgr.portals.trainer.space.utcnow", clock)
    session, _ = klass
    morning = slots(session)[0]
    clock.at("12:31")
    token = links.token(session.trainers[0])
    db.session.commit()
    sheet = f"/formateur/{token}/creneaux/{morning.id}"
    refused_beside_the_pad(client.post(f"{sheet}/signature", data=EMPTY))
    assert records() == 0


def test_an_empty_pad_on_a_document_to_sign_is_refused_in_french(client, sale):  # noqa: F811 - a fixture
    made = send(sale.convention, sale.advisor, anne=sale.anne.id)
    anne = made.signatories[0]
    code = request_code(client, anne)
    response = client.post(esign_link(anne) + "/signer", data={**EMPTY, "code": code, "consent": "y"})
    refused_beside_the_pad(response)
    db.session.refresh(anne)
    assert anne.status == "invited"


def test_the_browser_says_it_beside_the_pad_without_sending_the_form(app, klass, clock):
    """On a phone: « Je signe » with nothing drawn nor typed shows the sentence in the live region beside the pad,
    nothing is sent; a stroke clears it, and the drawing is then accepted."""
    from playwright.sync_api import expect

    from tests.fixtures.browser import Phone, phone_browser, running_server

    session, (julie, *_) = klass
    julie_link = link(julie, slots(session)[0])
    db.session.commit()
    with running_server(app) as (host, port), phone_browser() as browser:
        phone = Phone(browser, f"http://{host}:{port}")
        phone.goto(julie_link)
        posts = []
        phone.page.on("request", lambda r: r.method == "POST" and posts.append(r.url))
        phone.page.click("#sign-submit")
        message = phone.page.locator("#pad-message")
        expect(message).to_have_text(EMPTY_SIGNATURE)
        expect(message).to_have_attribute("aria-live", "assertive")
        expect(message).to_be_visible()
        expect(phone.page.locator("#pad-wrapper")).to_have_class("signature-pad mb-2 is-invalid")
        assert posts == []
        phone.draw_signature()
        expect(message).to_have_text("")
        phone.page.click("#sign-submit")
        expect(phone.page.locator("[data-field=signed]")).to_contain_text("Vous avez signé ce créneau")
        assert phone.problems == []
        phone.close()
