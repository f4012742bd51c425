"""The trainer space end to end, in a real browser (Playwright + Debian's chromium, with the helpers of
tests/attendance/test_browser.py): an independent trainer without an account teaches a half-day; the advisor, on the
sheet, reminds him to sign it; on his phone he opens the link of the reminder e-mail read from the outbox, marks a
trainee late (who then signs), draws his signature and closes the sheet, which then shows it, and his space's home has nothing left to sign;
the advisor's sheet shows it too, and
the register holds the countersignature (no author account), intact and sealed. A screenshot of each step is saved
under tests/artifacts/trainer-space-journey/ (git-ignored).

Skipped with SKIP_BROWSER_TESTS=1. The attendance clock is frozen on MONDAY 09:00 (the ``clock`` fixture, tests/fixtures/attendance.py)."""
from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import select

from trainingmgr.attendance import seals
from trainingmgr.attendance.chain import verify_chain
from trainingmgr.attendance.models import AttendanceRecord
from trainingmgr.enrolments.services import enrol
from trainingmgr.extensions import db
from trainingmgr.messaging.models import OutboxMessage
from trainingmgr.resources.services import save_trainer
from trainingmgr.sessions.services import change_status
from trainingmgr.trainees.services import save_trainee

from tests.attendance.support import drawing, link, slots
from tests.enrolments.support import person
from tests.fixtures.browser import Phone, Shots, fits_the_screen, inked_pixels, log_in, phone_browser, running_server

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "trainer-space-journey"
ERIC = "eric@externe.example"


def reminder_path() -> str:
    """The path of the link in the last « Feuille d'émargement à signer » e-mail to Éric."""
    db.session.expire_all()
    message = db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.recipient == ERIC, OutboxMessage.subject.startswith("Feuille d'émargement à signer"))
        .order_by(OutboxMessage.id.desc())).first()
    assert message is not None, "no countersign reminder in the outbox"
    db.session.commit()  # no transaction left open while the server writes
    return urlsplit(re.search(r"https?://\S+/formateur/\S+", message.body_text).group(0)).path


def test_an_external_trainer_countersigns_from_the_reminder_on_his_phone(app, world, make_session, client, clock,
                                                                       monkeypatch):
    from playwright.sync_api import expect

    monkeypatch.setattr("trainingmgr.portals.trainer.space.utcnow", clock)  # the space's home reads the same clock

    eric = save_trainer(None, {"first_name": "Éric", "last_name": "Externe", "email": ERIC,
                               "competences": "Formateur indépendant, marchés publics depuis 2010"})
    db.session.flush()
    session = make_session(course=world.dume, trainer=eric)
    change_status(session, "open", world.users["advisor"])
    julie, paul, sarah = (enrol(session, save_trainee(None, person(n)), actor=world.users["advisor"], notify=False)
                          for n in (1, 2, 3))
    change_status(session, "confirmed", world.users["advisor"])
    db.session.commit()
    morning = slots(session)[0]
    assert client.post(link(julie, morning), data={"signature": drawing()}).status_code == 302  # Julie has signed
    session_id, morning_id, paul_id, sarah_id = session.id, morning.id, paul.id, sarah.id
    afternoon_id = slots(session)[1].id
    paul_link, paul_name = link(paul, morning), paul.trainee.full_name
    db.session.commit()

    with running_server(app) as (host, port), phone_browser() as browser:
        shot = Shots(ARTIFACTS)
        base_url = f"http://{host}:{port}"

        # --- 1. the advisor, on the half-day's sheet, reminds the trainer to sign it
        office = Phone(browser, base_url)
        office.page.set_viewport_size({"width": 1280, "height": 900})
        log_in(office, "conseil@test.example")
        office.goto(f"/attendance/slots/{morning_id}")
        office.page.click("text=Relancer le formateur")
        expect(office.page.locator(".alert-success")).to_contain_text("Rappel mis en file pour le formateur")
        shot(office.page, "advisor-reminds")
        path = reminder_path()
        assert path.endswith(f"/creneaux/{morning_id}")

        # --- 2. Éric, on his phone, opens the e-mail's link: no login
        phone = Phone(browser, base_url)
        page = phone.page
        phone.goto(path)
        expect(page.locator("[data-page=trainer-sheet] h1")).to_contain_text("matin")
        expect(page.locator("[data-field=unsigned]")).to_contain_text("2 stagiaires n’ont pas encore signé")
        assert fits_the_screen(page)
        shot(page, "sheet-opened")

        # --- 3. Paul arrived at 09:20: Éric says so
        row = page.locator(f"li[data-enrolment='{paul_id}']")
        row.locator("summary").click()
        row.locator("input[name=presence][value=present]").check()
        row.locator("input[name=arrived_at]").fill("09:20")
        shot(page, "late-arrival")
        row.locator("[data-action=mark]").click()
        expect(page.locator(".alert-success")).to_contain_text("Relevé enregistré pour")
        expect(page.locator(f"li[data-enrolment='{paul_id}'] [data-field=late]")).to_have_text("arrivé(e) à 09:20")
        expect(page.locator("[data-field=unsigned]")).to_contain_text("2 stagiaires n’ont pas")  # late is not signed
        shot(page, "late-recorded")
        assert client.post(paul_link, data={"typed_name": paul_name}).status_code == 302  # Paul signs on arriving
        page.reload()
        expect(page.locator(f"li[data-enrolment='{paul_id}'] [data-status]").first).to_have_attribute(
            "data-status", "signed")
        expect(page.locator("[data-field=unsigned]")).to_contain_text("1 stagiaire n’a pas encore signé")  # Sarah

        # --- 4. he draws his signature and closes the sheet
        phone.draw_signature()
        shot(page, "countersign-drawn")
        page.click("#sign-submit")
        # 09:00, before the morning's end: the sheet asks first (answered 409), then closes once confirmed
        expect(page.locator("[data-field=early-question]")).to_contain_text("Clôturer maintenant ?")
        page.check("#early_ok")
        page.click("#sign-submit")
        phone.problems = [p for p in phone.problems if not (p.startswith("409 ") and p.endswith("/signature"))]
        expect(page.locator("[data-field=locked]")).to_have_text("Feuille close")
        countersignature = page.locator("[data-field=countersignature]")
        expect(countersignature).to_contain_text("Signée par Éric Externe")
        image = countersignature.locator("img")
        image.evaluate("img => img.decode()")
        assert image.evaluate("img => img.complete && img.naturalWidth") > 0
        expect(page.locator(f"li[data-enrolment='{sarah_id}'] [data-status]").first).to_have_attribute(
            "data-status", "missing")
        expect(page.locator("#sign-form")).to_have_count(0)
        assert fits_the_screen(page)
        shot(page, "countersigned")

        # --- 5. back to his space: nothing left to sign, the afternoon to come
        page.click("text=Mon espace formateur")
        expect(page.locator("[data-card=to-countersign]")).to_have_count(0)
        expect(page.locator(f"[data-card=to-come] [data-slot='{afternoon_id}']")).to_contain_text("après-midi")
        expect(page.locator(f"[data-card=sessions] [data-session='{session_id}']")).to_be_visible()
        assert fits_the_screen(page)
        shot(page, "space-home")
        assert phone.problems == []
        phone.close()

        # --- 6. the advisor's sheet shows the countersignature too
        office.goto(f"/attendance/slots/{morning_id}")
        expect(office.page.locator("[data-field=locked]")).to_have_text("Feuille close")
        expect(office.page.locator("[data-field=countersignature]")).to_contain_text("Éric Externe")
        shot(office.page, "advisor-sees-it")
        assert office.problems == []
        office.close()

    # --- the register: the late mark and the drawn countersignature, no author account, intact and sealed
    db.session.expire_all()
    records = list(db.session.scalars(select(AttendanceRecord).where(AttendanceRecord.session_id == session_id)
                                      .order_by(AttendanceRecord.seq)))
    assert [(r.kind, r.enrolment_id, r.author_id) for r in records] == [
        ("signature", julie.id, None), ("presence", paul_id, None), ("signature", paul_id, None),
        ("countersignature", None, None)]
    late, signed = records[1], records[3]
    assert (late.presence, late.arrived_at.strftime("%H:%M"), late.trainer_id) == ("present", "09:20", eric.id)
    assert (signed.trainer_id, signed.method, signed.mode) == (eric.id, "trainer", "drawn")
    assert inked_pixels(signed.image) > 100
    assert verify_chain(session_id).ok
    assert [(s.scope, s.length) for s in seals.seals_of(session_id)] == [("slot", 4)]
