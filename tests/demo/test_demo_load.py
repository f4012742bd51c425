"""Demo data (``flask --app app demo load``): the organisation, a Toulouse room, a trainer, three logins and
both seed courses exactly as the brochures in seed_files/ say, each with one upcoming open session.
Loading again creates nothing."""
from __future__ import annotations

import copy
import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from trainingmgr.accounts.models import User
from trainingmgr.catalogue.models import Course, CourseObjective, CourseVersion, ProgrammePart
from trainingmgr.core.halfday import parse_day_pattern
from trainingmgr.core.timeutil import paris_today
from trainingmgr.demo import seeds
from trainingmgr.demo.services import DEMO_LOGINS, UPCOMING_OFFSETS, load_demo
from trainingmgr.demo.spaces import INDEPENDENT_TRAINER
from trainingmgr.extensions import db
from trainingmgr.organisation.models import Organisation
from trainingmgr.organisation.services import update_organisation
from trainingmgr.resources.models import Location, Trainer
from trainingmgr.sessions.models import Slot, TrainingSession, session_trainer
from trainingmgr.sessions.services import date_warnings

from tests.demo import seedtext

CHORUS_SLUG = "chorus-pro"
DUME_SLUG = "marches-publics-dume-et-chorus-pro"
# The Chorus Pro brochure ends its "Méthode pédagogique et suivi qualité" section with this sentence; the
# app prints it on every sheet with the organisation's quality contact.
QUALITY_SENTENCE = ("Votre conseiller formation est à votre disposition pour le suivi qualité, la satisfaction de la "
                    "formation et toute demande de médiation")
MODELS = (Organisation, User, Location, Trainer, Course, CourseVersion, CourseObjective, ProgrammePart,
          TrainingSession, Slot)


def row_counts() -> dict[str, int]:
    db.session.expire_all()
    counts = {model.__name__: db.session.scalar(select(func.count()).select_from(model)) for model in MODELS}
    counts["session_trainer"] = db.session.scalar(select(func.count()).select_from(session_trainer))
    return counts


def course(slug: str) -> Course:
    found = db.session.scalar(select(Course).where(Course.slug == slug))
    assert found is not None, slug
    return found


def sessions_of(course_: Course) -> list[TrainingSession]:
    """The course's sessions still to come, held in the room (the demo also has a DUME session held last week, and
    a mixed DUME session: test_the_mixed_session_has_a_half_day_of_each_modality)."""
    return [session for session in db.session.scalars(
        select(TrainingSession).where(TrainingSession.course_id == course_.id, TrainingSession.status != "completed")
        .order_by(TrainingSession.id)) if all(slot.modality == "room" for slot in session.slots)]


def programme_of(version: CourseVersion) -> list[dict]:
    return [{"title": p.title, "day": p.day, "half_day": p.half_day, "items": list(p.items)}
            for p in version.programme]


@pytest.fixture
def demo_report(app):
    """The lines ``load_demo`` reports on a first load."""
    return load_demo()


# --------------------------------------------------------------------------- what is created


def test_first_load_reports_everything_it_creates(demo_report):
    assert demo_report[0] == "Organisme « Formaction Sud-Ouest » créé."
    assert sum(line.startswith("Compte ") for line in demo_report) == 3
    assert sum(line.startswith("Lieu ") for line in demo_report) == 1
    assert sum(line.startswith("Formateur ") for line in demo_report) == 1
    assert "Formation « Chorus Pro » créée et publiée." in demo_report
    assert "Formation « Marchés publics : DUME et Chorus Pro » créée et publiée." in demo_report
    assert sum("ouverte aux inscriptions" in line for line in demo_report) == 2
    # demo/distance.py: the mixed DUME session (room, virtual classroom, asynchronous activity)
    assert sum(line.startswith("Session mixte ") for line in demo_report) == 1
    assert sum(line.startswith("Questionnaire ") for line in demo_report) == 2  # one positioning per course
    assert sum(line.startswith("Entreprise ") for line in demo_report) == 3  # with the liberal architect's practice
    assert sum(" inscrit(e) à " in line for line in demo_report) == 4  # two trainees in each seed session
    assert sum("réalisée : émargement complet" in line for line in demo_report) == 1
    assert sum("réalisée : émargement signé à chaque demi-journée" in line for line in demo_report) == 1  # Chorus Pro
    assert sum(" documents générés dont 4 certificats" in line for line in demo_report) == 1
    assert sum(line.startswith("Enquête «") for line in demo_report) == 7  # the default surveys and the DUME quiz
    assert sum(line.startswith(("Réclamation REC-", "Suggestion REC-")) for line in demo_report) == 3
    assert sum(" facturée : F" in line for line in demo_report) == 2  # the past DUME and Chorus Pro sessions
    # No PDF in the tests (PDF_CONVERTER=none): the electronic signature is left out, and said.
    assert "Signature électronique de démonstration non chargée : conversion PDF désactivée " \
           "(PDF_CONVERTER=none)." in demo_report
    assert sum("le point en retard de la démonstration" in line for line in demo_report) == 1  # demo/paperwork.py
    # demo/quotes.py: a quote accepted online, one awaiting an answer, an intra request from the catalogue
    assert sum(line.startswith("Devis DEV-") and " accepté en ligne " in line for line in demo_report) == 1
    assert sum(line.startswith("Devis DEV-") and " en attente de réponse " in line for line in demo_report) == 1
    assert sum(line.startswith("Demande de devis intra DEV-") for line in demo_report) == 1
    # demo/registers.py: the watch log, the needs analysis, two disability partners, an adaptation checked
    assert sum(line.startswith("Journal de veille : 4 entrées") for line in demo_report) == 1
    assert sum(line.startswith("Partenaire du réseau handicap ") for line in demo_report) == 2
    # + the independent trainer (demo/spaces.py), + the quotes (demo/quotes.py), + the registers (demo/registers.py)
    assert len(demo_report) == 10 + 3 + 2 + 4 + 1 + 7 + 2 + 1 + 4 + 1 + 3 + 1 + 3 + 5 + 1  # + the mixed session


def test_row_counts_after_first_load(demo_report):
    assert row_counts() == {
        "Organisation": 1, "User": 3, "Location": 1, "Trainer": 2, "Course": 2, "CourseVersion": 2,
        "CourseObjective": 5 + 5, "ProgrammePart": 11 + 5, "TrainingSession": 4 + 1, "Slot": 2 + 2 + 2 + 2 + 3,
        "session_trainer": 4 + 1 + 1,  # the independent trainer co-teaches the upcoming Chorus Pro session; + the mixed
    }


def test_loading_twice_changes_nothing(demo_report):
    before = row_counts()
    assert load_demo() == []
    assert row_counts() == before
    assert load_demo() == []
    assert row_counts() == before


def test_loading_does_not_overwrite_an_organisation_already_set_up(app):
    update_organisation({"name": "Mon organisme", "city": "Albi"})
    db.session.commit()
    done = load_demo()
    assert not any(line.startswith("Organisme") for line in done)
    orgs = list(db.session.scalars(select(Organisation)))
    assert [(o.name, o.city) for o in orgs] == [("Mon organisme", "Albi")]


def test_loading_leaves_the_seed_dictionaries_untouched(app):
    before = copy.deepcopy(seeds.SEED_COURSES)
    load_demo()
    load_demo()
    assert seeds.SEED_COURSES == before


def test_organisation(demo_report):
    org = db.session.scalar(select(Organisation))
    assert org.name == "Formaction Sud-Ouest"
    assert org.city == "Toulouse"
    assert org.siret == "81234567600017"
    assert org.nda and org.nda_region == "Occitanie"
    assert org.quality_contact_email == "conseil@formaction.example"
    assert org.disability_contact_name
    assert org.accessibility_policy and org.access_delay_policy
    assert org.vat_exempt


def test_toulouse_location_big_enough_for_both_courses(demo_report):
    location = db.session.scalar(select(Location))
    assert location.city == "Toulouse"
    assert not location.is_remote
    assert location.active
    assert location.capacity >= 8


def test_three_logins_one_per_role(demo_report):
    users = {u.email: u for u in db.session.scalars(select(User))}
    assert {login.email for login in DEMO_LOGINS} == set(users)
    assert sorted(u.role for u in users.values()) == ["admin", "advisor", "trainer"]
    for login in DEMO_LOGINS:
        assert users[login.email].role == login.role.value
        assert users[login.email].active


@pytest.mark.parametrize("role, courses_status", [("admin", 200), ("advisor", 200), ("trainer", 403)])
def test_demo_logins_work_with_their_passwords(demo_report, client, role, courses_status):
    login = next(login for login in DEMO_LOGINS if login.role.value == role)
    response = client.post("/login", data={"email": login.email, "password": login.password})
    assert response.status_code == 302
    assert client.get("/courses/").status_code == courses_status


def test_trainer_is_linked_to_the_trainer_login(demo_report):
    trainer = db.session.scalar(select(Trainer))
    user = db.session.get(User, trainer.user_id)
    assert user is not None and user.role == "trainer"
    assert trainer.email == user.email
    assert trainer.active


def test_both_courses_published_with_one_version(demo_report):
    for slug in (CHORUS_SLUG, DUME_SLUG):
        c = course(slug)
        assert c.status == "published"
        assert [v.number for v in c.versions] == [1]
        assert c.current_version.is_frozen


# --------------------------------------------------------------------------- the courses, against the brochures


def test_chorus_pro_is_the_brochure_field_by_field(demo_report):
    seed = seedtext.chorus()
    v = course(CHORUS_SLUG).current_version
    # The brochure has no title line: its file name and its objectives call it "Chorus Pro".
    assert v.title == "Chorus Pro"
    assert v.tagline == ""
    # "1 jour soit 7 heures / Formation préconisée pour un groupe de 1 à 7 stagiaires maximum"
    assert (v.duration_days, v.duration_hours) == (seed["duration_days"], seed["duration_hours"]) == (1, 7)
    assert (v.min_trainees, v.max_trainees) == (seed["min_trainees"], seed["max_trainees"]) == (1, 7)
    assert v.audience == seed["audience"]
    assert v.prerequisites_none is False
    assert v.prerequisites == seed["prerequisites"]
    assert [o.text for o in v.objectives] == seed["objectives"]
    assert len(v.objectives) == 5
    # "Méthode pédagogique et suivi qualité" holds the methods, the assessment, the material and the
    # quality sentence, in that order, and nothing else.
    assert v.assessment_methods == ["Evaluation des acquis durant toute la session.",
                                    "Evaluation à froid (j+2 mois après la formation)"]
    rebuilt = seedtext.squash(" ".join([v.teaching_methods, *v.assessment_methods, v.material_resources]))
    assert seed["methods_and_quality"] == f"{rebuilt} {QUALITY_SENTENCE},"
    assert seedtext.squash(v.trainer_competences) == seed["trainer_competences"]
    assert programme_of(v) == seed["programme"]
    assert [p.half_day for p in v.programme] == ["morning"] * 4 + ["afternoon"] * 7
    assert seed["half_day_headings"] == ["Matin", "Après midi"]
    assert v.labels == seed["labels"]
    assert v.labels[0]["name"] == "Label Branche Architecture"
    # Nothing in the brochure for these.
    assert v.price_per_trainee is None and v.intra_group_price is None
    assert v.location_text == ""
    assert v.funding_notes == ""
    assert v.accessibility == v.access_delay == v.accessibility_contact == ""
    # Not in the brochure either; the app needs them to lay sessions out (7 h = 3.5 h + 3.5 h).
    assert v.delivery_mode == "presentiel"
    assert v.daily_pattern == "09:00-12:30 13:30-17:00"


def test_dume_is_the_brochure_field_by_field(demo_report):
    seed = seedtext.dume()
    v = course(DUME_SLUG).current_version
    assert v.title == seed["title"] == "Marchés publics : DUME et Chorus Pro"
    assert v.tagline == seed["tagline"]
    assert v.duration_hours == seed["duration_hours"] == 8
    assert v.duration_days is None
    assert seed["audience_format_text"] == "inter-entreprises" and v.audience_format == "inter"
    assert seed["delivery_mode_text"] == "présentiel" and v.delivery_mode == "presentiel"
    assert seed["prerequisites_text"] == "aucun"
    assert v.prerequisites_none is True and v.prerequisites == ""
    assert v.teaching_methods == seed["teaching_methods"] == "active, différenciée et expérientielle"
    assert v.assessment_methods == [seed["assessment"]] == ["évaluation continue"]
    assert v.max_trainees == seed["max_trainees"] == 8
    assert v.min_trainees == 1
    assert v.price_per_trainee == seed["price_per_trainee"] == Decimal("600.00")
    assert v.intra_group_price is None
    assert v.location_text == seed["location_text"] == "Toulouse et sa périphérie"
    assert [o.text for o in v.objectives] == seed["objectives"]
    assert programme_of(v) == seed["programme"]
    # The brochure publishes no audience, label, trainer profile or material: neither does the course.
    for word in ("Public", "Label", "Compétences", "Moyens"):
        assert word not in seed["raw"]
    assert v.audience == "" and v.labels == [] and v.trainer_competences == "" and v.material_resources == ""
    assert v.funding_notes == ""
    # 8 h = 4 h + 4 h.
    assert v.daily_pattern == "08:30-12:30 13:30-17:30"


def test_seed_module_matches_the_brochures_too(app):
    """The world fixture and other tests use trainingmgr.demo.seeds directly: it must agree with the text."""
    chorus, dume = seedtext.chorus(), seedtext.dume()
    assert seeds.CHORUS_PRO["objectives"] == chorus["objectives"]
    assert [{k: p.get(k) for k in ("title", "day", "half_day", "items")} for p in seeds.CHORUS_PRO["programme"]] \
        == chorus["programme"]
    assert seeds.DUME_CHORUS_PRO["objectives"] == dume["objectives"]
    assert [{"title": p["title"], "day": p.get("day"), "half_day": p.get("half_day"), "items": p["items"]}
            for p in seeds.DUME_CHORUS_PRO["programme"]] == dume["programme"]


# --------------------------------------------------------------------------- the demo sessions


@pytest.mark.parametrize("slug, pattern, price", [
    (CHORUS_SLUG, "09:00-12:30 13:30-17:00", Decimal("600.00")),
    (DUME_SLUG, "08:30-12:30 13:30-17:30", Decimal("600.00")),
])
def test_each_course_has_one_upcoming_open_session_of_its_duration(demo_report, slug, pattern, price):
    c = course(slug)
    version = c.current_version
    (session,) = sessions_of(c)
    assert session.status == "open"
    assert session.course_version_id == version.id
    assert session.first_date > paris_today()
    assert not date_warnings(session.first_date)  # a working day
    assert sum((slot.hours for slot in session.slots), Decimal(0)) == version.duration_hours
    assert session.planned_hours == version.duration_hours
    assert [(s.start_time, s.end_time) for s in session.slots] == parse_day_pattern(pattern)
    assert {s.date for s in session.slots} == {session.first_date}
    location = db.session.scalar(select(Location))
    trainer = db.session.scalar(select(Trainer).order_by(Trainer.id))
    assert session.location_id == location.id
    # the upcoming Chorus Pro session's afternoon is the independent trainer's (demo/spaces.py)
    given = [trainer.id] * len(session.slots)
    if slug == CHORUS_SLUG:
        given[-1] = db.session.scalar(select(Trainer.id).where(Trainer.email == INDEPENDENT_TRAINER["email"]))
    assert sorted(t.id for t in session.trainers) == sorted(set(given))
    assert [s.trainer_id for s in session.slots] == given
    assert all(s.location_id == location.id for s in session.slots)
    assert session.format == "inter"
    assert session.capacity == version.max_trainees
    assert session.price_per_trainee == price


def test_the_mixed_session_has_a_half_day_of_each_modality(demo_report):
    from trainingmgr.demo.distance import ACTIVITY, MEETING_URL
    from trainingmgr.sessions.modality import distance_wording, session_modalities

    (mixed,) = [s for s in db.session.scalars(select(TrainingSession).where(TrainingSession.course_id == course(
        DUME_SLUG).id)) if any(slot.is_remote for slot in s.slots)]
    room, virtual, activity = sorted(mixed.slots, key=lambda s: (s.date, s.start_time))
    assert (mixed.status, mixed.delivery_mode) == ("open", "mixte")
    assert session_modalities(mixed.slots) == ["room", "virtual", "async"]
    assert distance_wording(session_modalities(mixed.slots)) == "Action réalisée en partie à distance"
    assert room.location is not None and not room.location.is_remote
    assert virtual.meeting_link == MEETING_URL and virtual.date == room.date and virtual.location is None
    assert activity.activity == ACTIVITY and activity.date > room.date and activity.location is None
    assert mixed.planned_hours == course(DUME_SLUG).current_version.duration_hours
    from trainingmgr.enrolments.models import Enrolment

    (enrolment,) = db.session.scalars(select(Enrolment).where(Enrolment.session_id == mixed.id))
    assert enrolment.status == "confirmed" and mixed.first_date > paris_today()


def test_demo_sessions_do_not_overlap(demo_report):
    first, second = (sessions_of(course(slug))[0] for slug in (CHORUS_SLUG, DUME_SLUG))
    assert first.first_date != second.first_date


def test_demo_sessions_are_on_the_public_sheets(demo_report, client):
    for slug in (CHORUS_SLUG, DUME_SLUG):
        (session,) = sessions_of(course(slug))
        page = client.get(f"/catalogue/{slug}").get_data(as_text=True)
        assert f'data-session="{session.id}"' in page
        assert f"/catalogue/{slug}/sessions/{session.id}.ics" in page


def test_loading_again_weeks_later_adds_an_upcoming_session(app):
    today = paris_today()
    load_demo(today=today)
    later = today + dt.timedelta(days=60)
    done = load_demo(today=later)
    assert sum("ouverte aux inscriptions" in line for line in done) == 2
    for slug in (CHORUS_SLUG, DUME_SLUG):
        sessions = sessions_of(course(slug))
        assert len(sessions) == 2  # the mixed DUME session (demo/distance.py) is loaded once, not again
        assert sessions[-1].first_date >= later + dt.timedelta(days=min(UPCOMING_OFFSETS))
        assert sessions[-1].status == "open"
    before = row_counts()
    assert load_demo(today=later) == []
    assert row_counts() == before


# --------------------------------------------------------------------------- command line


def test_cli_demo_load_prints_the_demo_logins_and_is_idempotent(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    assert "Formation « Chorus Pro » créée et publiée." in result.output
    assert "Comptes de démonstration :" in result.output
    logins = result.output.split("Comptes de démonstration :", 1)[1].splitlines()
    for login in DEMO_LOGINS:
        line = next(line for line in logins if login.email in line)
        assert login.password in line
        assert login.role.label in line
    counts = row_counts()
    assert counts["Course"] == 2 and counts["TrainingSession"] == 4 + 1  # + the mixed session

    again = runner.invoke(args=["demo", "load"])
    assert again.exit_code == 0, again.output
    assert "Les données de démonstration sont déjà chargées." in again.output
    assert "créé" not in again.output
    for login in DEMO_LOGINS:
        assert login.email in again.output and login.password in again.output
    assert row_counts() == counts


def test_a_dume_session_of_last_week_has_its_whole_attendance_register(demo_report, app):
    from trainingmgr.attendance.chain import verify_chain
    from trainingmgr.attendance.services import session_grid
    from trainingmgr.enrolments.models import Enrolment

    (past,) = db.session.scalars(select(TrainingSession).where(TrainingSession.status == "completed",
                                                               TrainingSession.course_id == course(DUME_SLUG).id)).all()
    assert past.first_date < paris_today()
    check = verify_chain(past.id)
    assert check.ok and check.length == 9
    grid = session_grid(past)
    assert {cell.status for row in grid.rows for cell in row.cells} == {"signed", "corrected"}
    assert set(grid.countersignatures) == {slot.id for slot in past.slots}
    enrolments = db.session.scalars(select(Enrolment).where(Enrolment.session_id == past.id)).all()
    assert sorted((e.status, str(e.hours_attended)) for e in enrolments) == [
        ("completed", "7.33"), ("completed", "8.00"), ("completed", "8.00")]
    result = app.test_cli_runner().invoke(args=["attendance", "verify", str(past.id)])
    assert result.exit_code == 0, result.output


def test_demo_quality_register_and_qualiopi_board(demo_report):
    from trainingmgr.quality.board.services import build_board
    from trainingmgr.quality.models import ImprovementAction, QualityRequest
    from trainingmgr.quality.complaints.services import answered_late

    requests = {r.kind: r for r in db.session.scalars(select(QualityRequest).order_by(QualityRequest.id.desc()))}
    complaint, suggestion = requests["complaint"], requests["suggestion"]  # the first of each kind
    assert complaint.reference.endswith("-0001")
    assert complaint.status == "closed" and not answered_late(complaint)
    assert db.session.get(TrainingSession, complaint.session_id).status == "completed"
    assert [e.status for e in complaint.events] == ["received", "acknowledged", "analysing", "answered", "closed"]
    assert suggestion.status == "received" and suggestion.channel == "web"
    # The complaint's action (the watch log's, done, is demo/registers.py's)
    action = db.session.scalars(select(ImprovementAction).where(ImprovementAction.source == "complaint")).one()
    assert (action.source, action.status, action.request_id) == ("complaint", "in_progress", complaint.id)
    today = paris_today()
    board = build_board(today - dt.timedelta(days=365), today, today)
    assert board.fact("requests_received").value == 3  # with the Chorus Pro session's complaint
    assert board.fact("requests_late").value == 0 and board.fact("requests_in_time").value == 2
    assert board.gap("requests_answered_late") is None and board.gap("requests_overdue") is None


def test_demo_invoices_and_bpf_classification(demo_report):
    from trainingmgr.billing.models import Invoice
    from trainingmgr.billing.payments.services import payment_status

    invoices = list(db.session.scalars(select(Invoice).order_by(Invoice.id)))
    assert [i.number for i in invoices] == [f"F{paris_today().year}-000{n}" for n in (1, 2, 3, 4, 5, 6, 7)]
    assert {i.payer_kind for i in invoices} == {"company", "individual", "opco", "self_employed_fund"}
    assert all(i.status == "issued" and i.docx_file_id and i.xml_file_id for i in invoices)
    # The self-paying trainee's invoice, and the liberal architect's (he claims the refund from the FIF PL).
    assert [payment_status(i) for i in invoices].count("paid") == 2
    assert {c.slug: (c.bpf_objective, c.nsf_code) for c in db.session.scalars(select(Course))} == {
        "chorus-pro": ("other", "314"), "marches-publics-dume-et-chorus-pro": ("other", "128")}


def test_demo_bpf_shows_the_fif_pl_on_line_c_2g_and_no_warning_on_the_funding(demo_report):
    from trainingmgr.billing.bpf.services import compute_bpf

    bpf = compute_bpf(paris_today().year)
    assert bpf.product("2g") == Decimal("600.00")  # the liberal architect's invoice, funded by the FIF PL
    assert bpf.checks_ok
    f1 = {line.code: line.trainees for line in bpf.by_type}
    assert f1["e"] == 1  # the liberal architect, by his self-employed fund
    assert not [w for w in bpf.warnings if "Vérifiez le statut BPF" in w]


# --------------------------------------------------------------------------- the whole cycle: a past Chorus Pro session


def chorus_past() -> TrainingSession:
    (past,) = db.session.scalars(select(TrainingSession).where(TrainingSession.status == "completed",
                                                               TrainingSession.course_id == course(CHORUS_SLUG).id))
    return past


def test_a_chorus_pro_session_shows_the_whole_cycle_attendance(demo_report, app):
    from trainingmgr.attendance.chain import verify_chain
    from trainingmgr.attendance.models import AttendanceRecord
    from trainingmgr.attendance.services import session_grid
    from trainingmgr.enrolments.models import Enrolment

    past = chorus_past()
    # Held more than two months ago (the cold survey is due at J+60), on a working day.
    assert past.first_date <= paris_today() - dt.timedelta(days=61) and not date_warnings(past.first_date)
    assert past.price_per_trainee == Decimal("600.00")
    check = verify_chain(past.id)
    assert check.ok
    records = list(db.session.scalars(select(AttendanceRecord).where(AttendanceRecord.session_id == past.id)))
    signatures = [r for r in records if r.kind == "signature"]
    assert len(signatures) == 7 and all(r.mode == "drawn" and r.image.startswith(b"\x89PNG") for r in signatures)
    assert sorted(r.kind for r in records if r.kind != "signature") == ["countersignature", "countersignature",
                                                                          "presence"]
    grid = session_grid(past)
    statuses = {(row.enrolment.trainee.first_name, cell.status) for row in grid.rows for cell in row.cells}
    assert statuses == {("Léa", "signed"), ("Antoine", "signed"), ("Nadia", "signed"), ("Nadia", "absent"),
                        ("Julien", "signed")}
    assert set(grid.countersignatures) == {slot.id for slot in past.slots}
    enrolments = db.session.scalars(select(Enrolment).where(Enrolment.session_id == past.id)
                                    .order_by(Enrolment.id)).all()
    assert [(e.trainee.first_name, e.status, str(e.hours_attended)) for e in enrolments] == [
        ("Léa", "completed", "7.00"), ("Antoine", "completed", "7.00"), ("Nadia", "abandoned", "3.50"),
        ("Julien", "completed", "7.00")]
    result = app.test_cli_runner().invoke(args=["attendance", "verify", str(past.id)])
    assert result.exit_code == 0, result.output


def test_a_chorus_pro_session_shows_the_whole_cycle_surveys(demo_report):
    from trainingmgr.evaluations.models import Response, SurveyInvitation

    past = chorus_past()
    invitations = list(db.session.scalars(select(SurveyInvitation).where(SurveyInvitation.session_id == past.id)))
    answered = sorted(i.kind for i in invitations if i.responded_at is not None)
    assert answered == ["cold"] * 4 + ["hot"] * 4
    responses = list(db.session.scalars(select(Response).where(Response.session_id == past.id)))
    assert len(responses) == 8 and {r.status for r in responses} == {"submitted"}


def test_a_chorus_pro_session_shows_the_whole_cycle_documents(demo_report):
    from trainingmgr.documents.services import session_documents

    documents = session_documents(chorus_past())
    kinds = sorted(d.doc_type for d in documents)
    assert kinds.count("certificate") == 4 and kinds.count("attestation") == 4
    assert kinds.count("attendance_sheet") == 1 and kinds.count("programme") == 1
    assert kinds.count("convention") == 3 and kinds.count("convocation") == 4
    assert all(d.docx_file_id and d.pdf_file_id is None for d in documents)  # PDF_CONVERTER=none in the tests
    assert all(d.verify_code for d in documents if d.doc_type == "certificate")


def test_a_chorus_pro_session_shows_the_whole_cycle_invoices_and_complaint(demo_report):
    from trainingmgr.billing.models import Invoice
    from trainingmgr.quality.models import QualityRequest

    past = chorus_past()
    invoices = list(db.session.scalars(select(Invoice).where(Invoice.session_id == past.id).order_by(Invoice.id)))
    assert [(i.payer_kind, i.buyer_name, i.total_incl_vat) for i in invoices] == [
        ("opco", "OPCO EP", Decimal("840.00")),  # 2 × 420 € agreed, under subrogation, one OPCO EP file
        ("company", "Atelier d'architecture Garonne", Decimal("360.00")),  # the company's share: 2 × 180 €
        # Nadia left at noon: 3.5 h of 7 attended, billed pro rata (the convention's abandonment clause)
        ("company", "Bureau d'études Occitanie Structures", Decimal("300.00")),
        # The liberal architect funded by the FIF PL: invoiced to him, paid, refunded to him by the fund
        ("self_employed_fund", "M. Julien Carrère", Decimal("600.00")),
    ]
    assert all(i.status == "issued" and i.docx_file_id and i.xml_file_id for i in invoices)
    (complaint,) = db.session.scalars(select(QualityRequest).where(QualityRequest.session_id == past.id))
    assert complaint.kind == "complaint" and complaint.status == "answered"
    assert [e.status for e in complaint.events] == ["received", "acknowledged", "analysing", "answered"]


def test_loading_without_invoices_leaves_the_chorus_pro_session_uninvoiced(app):
    from trainingmgr.billing.models import Invoice

    done = load_demo(invoices=False)
    assert not any(" facturée : " in line for line in done)
    assert db.session.scalar(select(func.count()).select_from(Invoice)) == 0
    assert load_demo(invoices=False) == []
