"""`make screenshots`: the key screens of every journey, at desktop and phone sizes, into screenshots/.

Usage: .venv/bin/python -m tests.e2e.screenshots [--out screenshots] [--only advisor trainee ...] [--sizes phone]

It builds a throw-away database (SQLite in a temporary folder, as bench/pages.py does), migrates it, loads the demo
(`flask demo load`'s data: with LibreOffice, the convention signed electronically too), serves it on a free port of
127.0.0.1 with werkzeug's threaded server in this process, and drives Debian's chromium with Playwright through
each journey: the advisor (dashboard, session, enrolment, invoices, Qualiopi board, Envois), the trainer (trainer
space, half-day sheet, countersigning), the trainee (personal page, signing page, questionnaire), the company
contact (company space) and the public (catalogue, course page, enrolment request, complaint form, confirmation
and follow-up). The attendance clock is set to the first half-day of the demo's next session, 30 minutes after it
starts, so that its sheet is open to signing. Files are named NN-journey-screen-{desktop,phone}.png (full page).

It lives beside the browser tests because it is one: it reuses their browser (tests/attendance/test_browser.py)
and server (tests/api/test_enrolment_race.py), and tests/e2e/test_phone_widths.py walks the same tour on a phone
to check that every page fits the screen; tests/e2e/test_screenshots.py runs it on a few screens."""
from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import sys
from collections.abc import Callable, Iterable
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from unittest import mock
from urllib.parse import urlsplit

if __package__ in (None, ""):  # run as a file: the project's root on the path
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

ROOT = Path(__file__).resolve().parents[2]
SIZES = {"desktop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}
JOURNEYS = ("advisor", "trainer", "trainee", "company", "public")
# The modules whose clock decides whether a half-day's sheet is open (tests/fixtures/attendance.py: Clock).
# The README's three (docs/screenshots/, committed with --docs): (journey-screen, size).
README_SHOTS = (("advisor-dashboard", "desktop"), ("trainee-sign", "phone"), ("trainer-slot", "phone"))
DOCS = ROOT / "docs" / "screenshots"
CLOCKED = ("trainingmgr.attendance.services", "trainingmgr.attendance.access", "trainingmgr.attendance.board",
           "trainingmgr.portals.trainer.space")


@dataclass(frozen=True)
class Screen:
    journey: str
    name: str
    path: str | None  # None: stay on the page the previous screen of the same login left (then ``step`` acts)
    login: str | None = None  # a demo account to log in as first
    step: Callable | None = None  # run on the page after it opens, before the shot

    @property
    def slug(self) -> str:
        return f"{self.journey}-{self.name}"


# --------------------------------------------------------------------------- steps run in the browser


def send_complaint(page) -> None:
    page.select_option("#kind", index=1)
    page.fill("#requester_name", "Julie Martin")
    page.fill("#requester_email", "julie.martin@example.org")
    page.fill("#subject", "Support de cours reçu en retard")
    page.fill("#description", "Le support de la formation ne m'a été envoyé qu'après la session.")
    page.check("#consent")
    page.click("form [type=submit]")
    page.wait_for_selector("[data-field=reference]")


def open_follow_link(page) -> None:
    """The follow link of the confirmation (built on PUBLIC_URL: its path is opened on this server)."""
    href = page.get_attribute("[data-field=follow-url]", "href")
    page.goto(urlsplit(href).path)


# --------------------------------------------------------------------------- what to show, from the demo


def tour() -> tuple[list[Screen], dt.datetime]:
    """The key screens of the demo loaded in the current database, and the moment (UTC) the attendance clock
    shows: 30 minutes into the first half-day of the next session that has a confirmed trainee."""
    from sqlalchemy import select

    from trainingmgr.attendance.access import signing_token
    from trainingmgr.catalogue.models import Course
    from trainingmgr.companies import links as company_links
    from trainingmgr.companies.models import CompanyContact
    from trainingmgr.core.timeutil import PARIS, UTC, paris_today
    from trainingmgr.demo.services import DEMO_LOGINS
    from trainingmgr.demo.spaces import HR_CONTACT_EMAIL
    from trainingmgr.enrolments.models import Enrolment, EnrolmentStatus
    from trainingmgr.enrolments.links import trainee_token
    from trainingmgr.evaluations.models import SurveyInvitation
    from trainingmgr.evaluations.surveys.services import hot_invitation_on_site, survey_url
    from trainingmgr.extensions import db
    from trainingmgr.resources import links as trainer_links
    from trainingmgr.resources.models import Trainer
    from trainingmgr.sessions.models import Slot

    advisor, trainer = DEMO_LOGINS[1].email, DEMO_LOGINS[2].email
    enrolment = db.session.scalars(
        select(Enrolment).join(Slot, Slot.session_id == Enrolment.session_id)
        .where(Enrolment.status == EnrolmentStatus.CONFIRMED.value, Slot.date >= paris_today())
        .order_by(Slot.date, Slot.start_time)).first()
    session = enrolment.session
    slot = min(session.slots, key=lambda s: (s.date, s.start_time))
    moment = (dt.datetime.combine(slot.date, slot.start_time, tzinfo=PARIS) + dt.timedelta(minutes=30)).astimezone(UTC)
    course = db.session.get(Course, session.course_id)
    teacher = db.session.get(Trainer, slot.trainer_id) if slot.trainer_id else session.trainers[0]
    trainer_token = trainer_links.token(teacher)
    contact = db.session.scalar(select(CompanyContact).where(CompanyContact.email == HR_CONTACT_EMAIL))
    company_token = company_links.link_token(contact)
    employee = db.session.scalars(select(Enrolment).where(Enrolment.company_id == contact.company_id)
                                  .order_by(Enrolment.id)).first()
    # The hot survey as the trainee finds it after signing the last half-day: not answered yet.
    invitation = hot_invitation_on_site(session, enrolment) or db.session.scalars(
        select(SurveyInvitation).order_by(SurveyInvitation.id)).first()
    db.session.commit()  # the personal links made above

    screens = [
        Screen("advisor", "dashboard", "/", advisor),
        Screen("advisor", "session", f"/sessions/{session.id}", advisor),
        Screen("advisor", "enrolment", f"/enrolments/{enrolment.id}", advisor),
        Screen("advisor", "invoices", "/billing/", advisor),
        Screen("advisor", "qualiopi", "/quality/qualiopi", advisor),
        Screen("advisor", "envois", "/admin/outbox/", advisor),
        Screen("trainer", "space", f"/formateur/{trainer_token}"),
        Screen("trainer", "slot", f"/formateur/{trainer_token}/creneaux/{slot.id}"),
        Screen("trainer", "results", f"/formateur/{trainer_token}/resultats"),
        Screen("trainer", "positioning", f"/formateur/{trainer_token}/sessions/{session.id}/positionnement"),
        Screen("trainer", "countersign", f"/attendance/slots/{slot.id}", trainer),
        Screen("trainee", "personal-page", f"/t/{trainee_token(enrolment)}"),
        Screen("trainee", "sign", f"/emargement/{signing_token(enrolment, slot)}"),
        Screen("trainee", "positioning", f"/t/{trainee_token(enrolment)}/positionnement"),
    ]
    if invitation is not None:
        screens.append(Screen("trainee", "questionnaire", urlsplit(survey_url(invitation)).path))
    screens += [
        Screen("company", "space", f"/entreprise/{company_token}"),
        Screen("company", "employee", f"/entreprise/{company_token}/inscriptions/{employee.id}"),
        Screen("company", "session", f"/entreprise/{company_token}/sessions/{employee.session_id}"),
    ]
    screens += [
        Screen("public", "catalogue", "/catalogue/"),
        Screen("public", "course", f"/catalogue/{course.slug}"),
        Screen("public", "enrolment-request", f"/catalogue/{course.slug}/sessions/{session.id}/inscription"),
        Screen("public", "complaint-form", "/reclamation"),
        Screen("public", "complaint-thanks", "/reclamation", step=send_complaint),
        Screen("public", "complaint-follow", None, step=open_follow_link),
    ]
    return screens, moment


@contextmanager
def attendance_clock(moment: dt.datetime):
    """The attendance code's clock stopped on ``moment`` (the server runs in this process)."""
    with ExitStack() as stack:
        for module in CLOCKED:
            stack.enter_context(mock.patch(f"{module}.utcnow", lambda: moment))
        yield


# --------------------------------------------------------------------------- the browser


class Devices:
    """One browser context per login (None: no login) at one size, opened when first needed."""

    def __init__(self, browser, base_url: str, size: str, viewport: dict | None = None):
        from tests.fixtures.browser import PHONE, TIMEOUT_MS

        self.browser, self.base_url = browser, base_url
        viewport = viewport or SIZES[size]
        self.options = {**PHONE, "viewport": viewport} if size == "phone" else {
            "viewport": viewport, "locale": "fr-FR", "timezone_id": "Europe/Paris"}
        self.timeout, self.pages = TIMEOUT_MS, {}

    def page(self, login: str | None):
        if login not in self.pages:
            context = self.browser.new_context(base_url=self.base_url, **self.options)
            context.set_default_timeout(self.timeout)
            page = self.pages[login] = context.new_page()
            if login:
                from trainingmgr.demo.services import DEMO_LOGINS

                page.goto("/login")
                page.fill("input[name=email]", login)
                page.fill("input[name=password]", {d.email: d.password for d in DEMO_LOGINS}[login])
                page.click("[type=submit]")
                page.wait_for_url(lambda url: "/login" not in url)
        return self.pages[login]

    def close(self) -> None:
        for page in self.pages.values():
            page.context.close()


def walk(browser, base_url: str, screens: Iterable[Screen], size: str, visit: Callable,
         viewport: dict | None = None) -> None:
    """Open each screen at ``size`` ("desktop" or "phone": a touch screen; ``viewport`` for another size than
    SIZES') and call ``visit(screen, page)``; the page's status must be below 400."""
    devices = Devices(browser, base_url, size, viewport)
    try:
        for screen in screens:
            page = devices.page(screen.login)
            if screen.path is not None:
                response = page.goto(screen.path)
                assert response is not None and response.status < 400, (screen.slug, response and response.status)
            if screen.step is not None:
                screen.step(page)
            page.wait_for_load_state()
            visit(screen, page)
    finally:
        devices.close()


def take(browser, base_url: str, screens: list[Screen], out: Path, sizes: Iterable[str] = SIZES) -> list[Path]:
    """Full-page screenshots of ``screens`` at each of ``sizes`` into ``out`` (its old PNGs removed first)."""
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.png"):
        old.unlink()
    files: list[Path] = []
    numbers = {screen.slug: n for n, screen in enumerate(screens, 1)}
    for size in sizes:
        def shoot(screen: Screen, page, size=size) -> None:
            path = out / f"{numbers[screen.slug]:02d}-{screen.slug}-{size}.png"
            page.screenshot(path=str(path), full_page=True)
            files.append(path)
        walk(browser, base_url, screens, size, shoot)
    return sorted(files)


def run(out: Path, journeys: Iterable[str] = JOURNEYS, sizes: Iterable[str] = SIZES,
        database_url: str | None = None, pdf: bool = True) -> list[Path]:
    """Build the demo on a throw-away database, serve it and take the screenshots of ``journeys``; the files made.
    ``pdf=False`` leaves LibreOffice out (no PDF, no convention signed electronically: quicker)."""
    from flask_migrate import upgrade

    from bench.support import database
    from tests.fixtures.browser import phone_browser, running_server
    from tests.helpers import seal_key_dir, signing_dir
    from trainingmgr import create_app
    from trainingmgr.demo.services import load_demo
    from trainingmgr.extensions import db

    journeys = set(journeys)
    with database(database_url) as (url, tmp):
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "screenshots", "FILES_DIR": f"{tmp}/files",
                          "SEAL_KEY_DIR": seal_key_dir(), "SIGNING_DIR": signing_dir(),
                          "PDF_CONVERTER": "auto" if pdf and os.access("/usr/bin/soffice", os.X_OK) else "none",
                          "QUALITY_FORM_RATE_LIMIT": "100 per minute"})
        try:
            with app.app_context():
                upgrade()
                load_demo()
                db.session.commit()
                screens, moment = tour()
                db.session.remove()
                screens = [s for s in screens if s.journey in journeys]
                with attendance_clock(moment), running_server(app) as (host, port), phone_browser() as browser:
                    return take(browser, f"http://{host}:{port}", screens, out, sizes)
        finally:
            with app.app_context():
                db.engine.dispose()


def publish(files: Iterable[Path], docs: Path = DOCS) -> list[Path]:
    """The README's screenshots (README_SHOTS) into ``docs``: the first screen of each (the viewport's height), the
    phone's at CSS pixels (a third of its width), in 256 colours: small PNGs (about 50 KB) for the repository."""
    from PIL import Image

    docs.mkdir(parents=True, exist_ok=True)
    made = []
    for path in files:
        found = re.fullmatch(r"\d+-(.+)-(desktop|phone)\.png", path.name)
        if found is None or (found.group(1), found.group(2)) not in README_SHOTS:
            continue
        slug, size = found.groups()
        with Image.open(path) as image:
            scale = SIZES[size]["width"] / image.width
            image = image.convert("RGB").resize((SIZES[size]["width"], round(image.height * scale)), Image.LANCZOS)
            image = image.crop((0, 0, image.width, min(image.height, SIZES[size]["height"])))
            target = docs / f"{slug}-{size}.png"
            image.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(target, optimize=True)
        made.append(target)
    return made


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(ROOT / "screenshots"), help="folder of the PNGs (emptied first)")
    parser.add_argument("--only", nargs="+", choices=JOURNEYS, default=JOURNEYS, help="these journeys only")
    parser.add_argument("--sizes", nargs="+", choices=tuple(SIZES), default=tuple(SIZES))
    parser.add_argument("--database-url", help="a PostgreSQL server to build on (default: SQLite)")
    parser.add_argument("--docs", action="store_true", help=f"also renew the README's three in {DOCS.relative_to(ROOT)}/")
    args = parser.parse_args(argv)
    files = run(Path(args.out), args.only, args.sizes, args.database_url)
    for path in files + (publish(files) if args.docs else []):
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)


if __name__ == "__main__":
    main()
