"""The advisor's journey, end to end in a real browser (Playwright + Debian's chromium, as in
tests/attendance/test_browser.py, whose helpers it reuses): log in, create a session of the DUME course from its
day pattern, open it, enrol two trainees, confirm it; a trainee signs the morning through her personal link by
drawing on the canvas; the trainer countersigns; the advisor generates the session dossier; the trainee signs the
afternoon and answers the hot survey offered on the spot; the advisor sees it all on the session page and in its
survey results. A screenshot of each step is saved under tests/artifacts/ (git-ignored).

Skipped with SKIP_BROWSER_TESTS=1. The attendance clock is frozen (MONDAY 09:00, then 13:40) in this process,
where werkzeug's threaded server runs the app. The signing links are those the trainees receive by e-mail,
made here with the same token helper."""
from __future__ import annotations

import re
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import select

from trainingmgr.attendance.models import AttendanceRecord
from trainingmgr.enrolments.models import Enrolment
from trainingmgr.evaluations.models import SurveyInvitation
from trainingmgr.extensions import db
from trainingmgr.messaging.tasks import run_task
from trainingmgr.sessions.models import TrainingSession

from tests.attendance.support import link, slots
from tests.fixtures.browser import Phone, Shots, inked_pixels, log_in, phone_browser, running_server
from tests.helpers import MONDAY

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "advisor-journey"
TRAINEES = (("Mme", "Léa", "Moreau", "lea.moreau@exemple.fr"), ("M.", "Antoine", "Girard", "antoine.girard@exemple.fr"))


def change_status(page, target: str) -> None:
    page.click(f"form:has(input[name=status][value={target}]) button[type=submit]")
    page.wait_for_load_state()


def test_the_advisors_journey_in_a_browser(app, world, clock):
    from playwright.sync_api import expect

    from trainingmgr.demo.surveys import load_default_surveys

    load_default_surveys()  # the organisation's hot survey, as in the demo
    dume_id, room_id, pierre_id = world.dume.id, world.room.id, world.pierre.id
    db.session.commit()

    with running_server(app) as (host, port), phone_browser() as browser:
        shot = Shots(ARTIFACTS)  # here: a skipped run leaves the last screenshots alone
        base_url = f"http://{host}:{port}"
        office = Phone(browser, base_url)
        office.page.set_viewport_size({"width": 1280, "height": 900})
        page = office.page

        # --- 1. the advisor logs in and creates a DUME session from its day pattern
        log_in(office, "conseil@test.example")
        shot(page, "advisor-home")
        office.goto(f"/sessions/new?course_id={dume_id}")
        page.fill("input[name=start_date]", MONDAY.isoformat())
        page.select_option("select[name=location_id]", str(room_id))
        page.select_option("select[name=trainer_ids]", [str(pierre_id)])
        shot(page, "session-form")
        page.click("main [type=submit][name=submit], form[method=post]:not([action]) [type=submit][name=submit]")
        page.wait_for_url(re.compile(r"/sessions/\d+$"))
        session_id = int(page.url.rsplit("/", 1)[1])
        expect(page.locator("tr[data-slot]")).to_have_count(2)  # 08:30–12:30 and 13:30–17:30
        shot(page, "session-created")
        change_status(page, "open")

        # --- 2. two trainees enrolled, the session confirmed
        for civility, first, last, email in TRAINEES:
            page.click("text=Inscrire un stagiaire")
            page.wait_for_url(re.compile(r"/enrolments/new$"))
            page.select_option("select[name=civility]", civility)
            page.fill("input[name=first_name]", first)
            page.fill("input[name=last_name]", last)
            page.fill("input[name=email]", email)
            if first == TRAINEES[-1][1]:  # his employer, from the company suggestions (static/js/company-search.js)
                page.fill("input[name=company_search]", "dupont")
                suggestion = page.locator("#company-suggestions option")
                expect(suggestion).to_have_count(1)
                page.fill("input[name=company_search]", suggestion.get_attribute("value"))
                shot(page, "enrol-form")
            page.click("form [type=submit][name=submit]")
            page.wait_for_url(re.compile(rf"/sessions/{session_id}$"))
        expect(page.locator("table[data-table=enrolments] tr[data-enrolment]")).to_have_count(2)
        change_status(page, "confirmed")
        expect(page.locator("table[data-table=attendance]")).to_be_visible()
        shot(page, "session-confirmed")

        db.session.expire_all()
        session = db.session.get(TrainingSession, session_id)
        assert session.status == "confirmed"
        morning, afternoon = slots(session)
        lea, antoine = db.session.scalars(select(Enrolment).where(Enrolment.session_id == session_id)
                                          .order_by(Enrolment.id)).all()
        assert (lea.status, antoine.status) == ("confirmed", "confirmed")
        assert (lea.company_id, antoine.company_id) == (None, world.company.id)
        assert antoine.trainee.company_id == world.company.id
        lea_id, lea_name = lea.id, lea.trainee.full_name
        morning_id, afternoon_id = morning.id, afternoon.id
        morning_link, afternoon_link = link(lea, morning), link(lea, afternoon)
        db.session.commit()

        # --- 3. Léa signs the morning on her phone, by drawing
        phone = Phone(browser, base_url)
        phone.goto(morning_link)
        expect(phone.page.locator("[data-field=trainee]")).to_have_text(lea_name)
        phone.draw_signature()
        shot(phone.page, "trainee-draws")
        phone.page.click("#sign-submit")
        expect(phone.page.locator("[data-field=signed]")).to_contain_text("Vous avez signé ce créneau")
        shot(phone.page, "trainee-signed")

        # --- 4. Pierre, the trainer, countersigns the morning sheet
        trainer = Phone(browser, base_url)
        log_in(trainer, "formateur@test.example")
        trainer.goto(f"/attendance/slots/{morning_id}")
        expect(trainer.page.locator(f"tr[data-enrolment='{lea_id}'] [data-status]").first).to_have_attribute(
            "data-status", "signed")
        trainer.draw_signature()
        shot(trainer.page, "trainer-countersigns")
        trainer.page.click("#sign-submit")
        # 09:00, before the morning's end: the sheet asks first (answered 409), then closes once confirmed
        expect(trainer.page.locator("[data-field=early-question]")).to_contain_text("Clôturer maintenant ?")
        trainer.page.check("#early_ok")
        trainer.page.click("#sign-submit")
        expect(trainer.page.locator("[data-field=locked]")).to_have_text("Feuille close")
        shot(trainer.page, "trainer-countersigned")
        assert [p for p in trainer.problems if not p.endswith(f"/attendance/slots/{morning_id}/countersign")] == []
        trainer.close()

        # --- 5. the advisor generates the session dossier (a zip of the documents): the request starts a task and
        # shows its page; the worker (here: this process) makes it, the page follows it without reload
        office.goto(f"/sessions/{session_id}/documents")
        page.click("text=Générer le dossier de session")
        page.wait_for_url(re.compile(r"/tasks/\d+$"))
        expect(page.locator("[data-field=status]")).to_have_text("En attente")
        run_task(int(urlsplit(page.url).path.rsplit("/", 1)[1]))
        download_link = page.locator("[data-field=download]")
        expect(download_link).to_be_visible(timeout=10_000)  # task-progress.js polled the JSON and showed the link
        expect(page.locator("[data-field=status]")).to_have_text("Terminé")
        shot(page, "session-pack-task")
        with page.expect_download() as download_info:
            download_link.click()
        download = download_info.value
        # A download ends the navigation it started: chromium reports that request as aborted, which is no fault.
        office.problems = [p for p in office.problems if not p.endswith("/download net::ERR_ABORTED")]
        assert download.suggested_filename == f"dossier-session-{session_id}.zip"
        with zipfile.ZipFile(download.path()) as archive:
            names = archive.namelist()
        assert len(names) >= 3 and all(name.endswith(".docx") for name in names), names
        office.goto(f"/sessions/{session_id}/documents")
        shot(page, "session-documents")

        # --- 6. the afternoon: Léa signs the last half-day, then answers the hot survey offered on the spot
        clock.at("13:40")
        phone.goto(afternoon_link)
        phone.draw_signature()
        phone.page.click("#sign-submit")
        expect(phone.page.locator("[data-field=signed]")).to_contain_text("Vous avez signé ce créneau")
        shot(phone.page, "trainee-signed-afternoon")
        # The link is absolute (external_url, SERVER_NAME "localhost" in the tests): followed on the test server.
        survey_link = urlsplit(phone.page.locator("[data-action=hot-survey]").get_attribute("href"))
        assert survey_link.path.startswith("/s/")
        phone.goto(survey_link.path)
        survey = phone.page
        expect(survey.locator("fieldset[data-question]").first).to_be_visible()
        for fieldset in survey.locator("fieldset[data-kind=scale]").all():
            fieldset.locator("label[for$='-5']").click()
        survey.locator("fieldset[data-kind=single] input[type=radio][value]").last.check()
        survey.locator("fieldset[data-kind=text] textarea").first.fill("Très concret, merci !")
        shot(survey, "hot-survey")
        survey.click("button[name=action][value=submit]")
        expect(survey.locator("[data-field=thanks]")).to_contain_text("Merci")
        shot(survey, "hot-survey-sent")
        assert phone.problems == []
        phone.close()

        # --- 7. the advisor sees the result: the grid on the session page, the answers in its results
        office.goto(f"/sessions/{session_id}")
        grid = page.locator("table[data-table=attendance]")
        expect(grid.locator(f"tr[data-enrolment='{lea_id}'] td[data-slot='{morning_id}']")).to_have_attribute(
            "data-status", "signed")
        expect(grid.locator(f"tr[data-enrolment='{lea_id}'] td[data-slot='{afternoon_id}']")).to_have_attribute(
            "data-status", "signed")
        expect(grid.locator(f"tfoot td[data-slot='{morning_id}'][data-countersigned=yes]")).to_have_count(1)
        expect(page.locator("[data-field=chain]")).to_have_text("intègre")
        shot(page, "session-page")
        office.goto(f"/evaluations/sessions/{session_id}")
        expect(page.locator("body")).to_contain_text("Très concret, merci !")
        shot(page, "survey-results")
        assert office.problems == []
        office.close()

    # --- what was stored
    db.session.expire_all()
    records = list(db.session.scalars(select(AttendanceRecord).where(AttendanceRecord.session_id == session_id)
                                      .order_by(AttendanceRecord.seq)))
    assert [(r.kind, r.slot_id, r.mode) for r in records] == [
        ("signature", morning_id, "drawn"), ("countersignature", morning_id, "drawn"),
        ("signature", afternoon_id, "drawn")]
    assert all(inked_pixels(r.image) > 100 for r in records)
    (invitation,) = db.session.scalars(select(SurveyInvitation).where(SurveyInvitation.session_id == session_id))
    assert (invitation.kind, invitation.enrolment_id) == ("hot", lea_id) and invitation.responded_at is not None
    assert sorted(p.name for p in ARTIFACTS.glob("*.png")) == [f"{n:02d}-{name}.png" for n, name in enumerate((
        "advisor-home", "session-form", "session-created", "enrol-form", "session-confirmed", "trainee-draws",
        "trainee-signed", "trainer-countersigns", "trainer-countersigned", "session-pack-task", "session-documents",
        "trainee-signed-afternoon", "hot-survey", "hot-survey-sent", "session-page", "survey-results"), start=1)]
