"""Every page a phone user reaches fits a 375 px wide screen: no sideways scroll of the page, and on the pages of
the people who only have a phone (the trainer, the trainee, the company contact, the public) no table that
scrolls sideways either. The pages are those of the screenshots' tour (tests/e2e/screenshots.py) on the demo,
plus the other pages of the trainer space, of the trainee's and the company contact's spaces, and the trainer's
back-office pages when a trainer logs in.

The e-signing page (/signature/<token>) is checked on a phone by tests/e2e/test_signature_journey.py
(fits_the_screen at each step): the demo's signatories have all signed, their links answer 410."""
from __future__ import annotations

from urllib.parse import urlsplit

from tests.e2e.screenshots import Screen, attendance_clock, tour, walk
from tests.fixtures.browser import fits_the_screen, phone_browser, running_server
from trainingmgr.extensions import db

SMALL_PHONE = {"width": 375, "height": 740}

# What scrolls sideways (overflow-x auto or scroll, content wider than the box), and what sticks out of the
# screen on the right: their tag, class and first words, for the failure message.
SIDEWAYS = """() => {
  const describe = e => `${e.tagName.toLowerCase()}.${[...e.classList].join('.')} «${(e.innerText || '').trim().slice(0, 40)}»`;
  const out = [];
  for (const e of document.querySelectorAll('body *')) {
    const style = getComputedStyle(e);
    if (['auto', 'scroll'].includes(style.overflowX) && e.scrollWidth > e.clientWidth + 1) out.push('scrolls: ' + describe(e));
  }
  return out;
}"""
WIDER = """() => {
  const width = document.documentElement.clientWidth;
  return [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > width + 1
      && getComputedStyle(e).position !== 'fixed' && !e.closest('.table-responsive, .dropdown-menu, .d-none, .collapse:not(.show)'))
    .slice(0, 5).map(e => `${e.tagName.toLowerCase()}.${[...e.classList].join('.')} «${(e.innerText || '').trim().slice(0, 40)}»`);
}"""


def more_screens(screens: list[Screen]) -> list[Screen]:
    """The other pages of the spaces, and the trainer's back office, beside the tour's."""
    from sqlalchemy import select

    from trainingmgr.demo.services import DEMO_LOGINS
    from trainingmgr.enrolments.models import Enrolment
    from trainingmgr.enrolments.links import trainee_token
    from trainingmgr.sessions.models import TrainingSession

    path = {s.slug: s.path for s in screens}
    trainer_home, company_home = path["trainer-space"], path["company-space"]
    session_id = path["advisor-session"].rsplit("/", 1)[1]
    past = db.session.scalars(select(TrainingSession.id).where(TrainingSession.status == "completed")
                              .order_by(TrainingSession.id)).first()
    past_enrolment = db.session.scalars(select(Enrolment).where(Enrolment.session_id == past)
                                        .order_by(Enrolment.id)).first()
    trainer = DEMO_LOGINS[2].email
    return [
        Screen("trainer", "acquis", f"{trainer_home}/sessions/{session_id}/acquis"),
        Screen("trainer", "unavailabilities", f"{trainer_home}/indisponibilites"),
        Screen("trainer", "office-dashboard", "/", trainer),
        Screen("trainer", "office-session", f"/sessions/{session_id}", trainer),
        Screen("trainer", "office-past-session", f"/sessions/{past}", trainer),
        Screen("company", "invoices", f"{company_home}/factures"),
        Screen("trainee", "past-personal-page", f"/t/{trainee_token(past_enrolment)}"),
        # the public forms sent empty: their messages beside each field
        Screen("public", "complaint-errors", "/reclamation", step=send_empty),
        Screen("public", "enrolment-request-errors", path["public-enrolment-request"], step=send_empty),
    ]


def send_empty(page) -> None:
    page.click("main form [type=submit]")
    page.wait_for_selector(".invalid-feedback, .alert-danger")


def test_every_page_of_a_phone_user_fits_a_375_px_screen(app):
    from trainingmgr.demo.services import load_demo

    load_demo()
    db.session.commit()
    screens, moment = tour()
    screens += more_screens(screens)
    db.session.remove()
    # The back office is made for a desktop: its wide tables may scroll inside their frame; the rest may not.
    phone_only = {s.slug for s in screens if s.journey != "advisor" and "office" not in s.name}
    failures: dict[str, list[str]] = {}

    def check(screen: Screen, page) -> None:
        problems = [] if fits_the_screen(page) else ["page wider than the screen"] + page.evaluate(WIDER)
        if screen.slug in phone_only:
            problems += page.evaluate(SIDEWAYS)
        if problems:
            failures[f"{screen.slug} {urlsplit(page.url).path}"] = problems

    with attendance_clock(moment), running_server(app) as (host, port), phone_browser() as browser:
        walk(browser, f"http://{host}:{port}", screens, "phone", check, viewport=SMALL_PHONE)
    assert not failures, "\n".join(f"{page}: {problems}" for page, problems in failures.items())
    assert len(screens) >= 30
