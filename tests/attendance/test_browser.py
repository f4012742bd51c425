"""End to end, in a real browser on a phone-sized screen: a trainee signs the morning slot through her personal
link by drawing on the canvas, the trainer logs in and countersigns it, and the session's grid shows both.

Playwright drives Debian's chromium (/usr/bin/chromium, installed by `make browser`, which `make test` runs
first); it never downloads a browser of its own. The application is served by werkzeug's threaded server in
this process, so the attendance clock of the ``clock`` fixture (Monday 09:00, the morning slot open) applies
to it. Without chromium the test fails, unless SKIP_BROWSER_TESTS=1. Like every test, it runs on SQLite and,
with TEST_DATABASE_URL, on PostgreSQL."""
from __future__ import annotations

import os
import re
from pathlib import Path

from sqlalchemy import select

from trainingmgr.attendance.models import AttendanceRecord
from trainingmgr.extensions import db

from tests.attendance.support import link, slots
from tests.fixtures.browser import Phone, inked_pixels, phone_browser, running_server
from tests.helpers import PASSWORDS


def screenshot_dir(tmp_path) -> Path:
    """E2E_SCREENSHOT_DIR if set (to look at the pages), else the test's temporary folder."""
    return Path(os.environ.get("E2E_SCREENSHOT_DIR") or tmp_path)


def test_a_trainee_signs_on_her_phone_and_the_trainer_countersigns(app, klass, clock, tmp_path):
    from playwright.sync_api import expect

    session, (julie, *_) = klass
    morning = slots(session)[0]
    # Plain values only from here: the server's threads write while this thread holds no transaction.
    session_id, morning_id, julie_id = session.id, morning.id, julie.id
    julie_name, julie_link = julie.trainee.full_name, link(julie, morning)
    db.session.commit()
    shots = screenshot_dir(tmp_path)

    with running_server(app) as (host, port), phone_browser() as browser:
        base_url = f"http://{host}:{port}"

        # --- Julie, on her phone, through her personal link
        phone = Phone(browser, base_url)
        phone.goto(julie_link)
        page = phone.page
        expect(page.locator("[data-field=trainee]")).to_have_text(julie_name)
        expect(page.locator("#signature-pad")).to_be_visible()
        phone.draw_signature()
        page.screenshot(path=str(shots / "e2e-sign.png"), full_page=True)
        page.click("#sign-submit")
        expect(page.locator("[data-field=signed]")).to_contain_text("Vous avez signé ce créneau")
        page.screenshot(path=str(shots / "e2e-signed.png"), full_page=True)
        assert phone.problems == []
        phone.close()

        # --- Pierre, the trainer, logs in and countersigns the sheet
        phone = Phone(browser, base_url)
        page = phone.page
        phone.goto("/login")
        page.fill("input[name=email]", "formateur@test.example")
        page.fill("input[name=password]", PASSWORDS["formateur@test.example"])
        page.click("[type=submit]")
        expect(page).not_to_have_url(re.compile(r"/login"))
        phone.goto(f"/attendance/slots/{morning_id}")
        expect(page.locator(f"tr[data-enrolment='{julie_id}'] [data-status]").first).to_have_attribute(
            "data-status", "signed")
        phone.draw_signature()
        page.screenshot(path=str(shots / "e2e-countersign.png"), full_page=True)
        page.click("#sign-submit")
        # 09:00, the morning ends at 12:30: the page asks first, the drawing kept on the pad
        expect(page.locator("[data-field=early-question]")).to_contain_text(
            "Le créneau se termine à 12:30 : il est 09:00. Clôturer maintenant ?")
        page.wait_for_function("""() => { const c = document.getElementById("signature-pad");
            const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
            let n = 0; for (let i = 3; i < d.length; i += 4) { if (d[i]) n++; } return n > 500; }""")
        page.check("#early_ok")
        page.click("#sign-submit")
        expect(page.locator("[data-field=locked]")).to_have_text("Feuille close")
        assert [p for p in phone.problems if p.startswith("409 ")] == [
            f"409 {base_url}/attendance/slots/{morning_id}/countersign"]  # the question, answered with 409
        phone.problems = [p for p in phone.problems if not p.startswith("409 ")]

        # --- the session's attendance grid
        phone.goto(f"/sessions/{session_id}")
        grid = page.locator("table[data-table=attendance]")
        expect(grid.locator(f"tr[data-enrolment='{julie_id}'] td[data-slot='{morning_id}']")).to_have_attribute(
            "data-status", "signed")
        expect(grid.locator(f"tfoot td[data-slot='{morning_id}'][data-countersigned=yes]")).to_have_count(1)
        expect(page.locator("[data-field=chain]")).to_have_text("intègre")
        page.screenshot(path=str(shots / "e2e-grid.png"), full_page=True)
        assert phone.problems == []
        phone.close()

    # --- what was stored: a drawn signature and a drawn countersignature, as PNGs with strokes in them
    db.session.expire_all()
    records = list(db.session.scalars(select(AttendanceRecord).where(AttendanceRecord.session_id == session_id)
                                      .order_by(AttendanceRecord.seq)))
    assert [(r.kind, r.slot_id, r.mode) for r in records] == [
        ("signature", morning_id, "drawn"), ("countersignature", morning_id, "drawn")]
    assert (records[0].enrolment_id, records[0].method) == (julie_id, "link")
    for record in records:
        assert record.image.startswith(b"\x89PNG"), record.kind
        assert inked_pixels(record.image) > 100, record.kind
