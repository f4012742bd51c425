"""A delivered DUME session of last week for the demo: its paperwork done on time (conventions and a contract on
paper, positioning, convocations at J−7, certificates the day after: paperwork.py), its attendance signed by link,
QR code and kiosk, a late arrival, a correction by the advisor, the trainer's countersignatures, outcomes and hours."""
from __future__ import annotations

import base64
import datetime as dt
import io

from sqlalchemy import select

from ..accounts.models import User
from ..attendance import services as attendance
from ..catalogue.models import Course
from ..companies.models import Company
from ..enrolments.services import enrol, save_funding_line
from ..evaluations.acquis import services as acquis
from ..evaluations.surveys import services as surveys
from ..extensions import db
from ..resources.models import Location, Trainer
from ..sessions.models import SessionStatus, TrainingSession
from ..sessions.services import change_status, create_session, date_warnings
from ..trainees.services import find_or_create_trainee
from . import paperwork
from .paperwork import at_paris as _at
from .seeds import COMPANIES

PAST_TRAINEES = [
    {"civility": "Mme", "first_name": "Camille", "last_name": "Roux", "email": "camille.roux@exemple.fr",
     "job_title": "Assistante de direction", "bpf_status": "employee"},
    {"civility": "M.", "first_name": "Hugo", "last_name": "Lefèvre", "email": "hugo.lefevre@exemple.fr",
     "job_title": "Conducteur de travaux", "bpf_status": "employee"},
    {"civility": "Mme", "first_name": "Inès", "last_name": "Garcia", "email": "ines.garcia@exemple.fr",
     "job_title": "Architecte", "bpf_status": "individual"},  # at her own cost, by a contrat de formation
]


def _drawing(seed: int) -> str:
    from PIL import Image, ImageDraw  # Pillow loads only when the demo draws a signature

    image = Image.new("RGBA", (600, 200), (0, 0, 0, 0))
    points = [(40 + i * 45, 120 + ((i * 37 + seed * 11) % 70) - 35) for i in range(12)]
    ImageDraw.Draw(image).line(points, fill=(11, 31, 102, 255), width=4, joint="curve")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def load_past_session(course: Course, location: Location, trainer: Trainer, advisor: User, trainer_user: User,
                      today: dt.date, with_paperwork: bool = True) -> list[str]:
    """Once: a DUME session held last week, completed, with its whole attendance record (and its paperwork unless
    ``with_paperwork`` is False)."""
    exists = db.session.scalar(select(TrainingSession.id).where(
        TrainingSession.course_id == course.id, TrainingSession.status == SessionStatus.COMPLETED.value).limit(1))
    if exists is not None:
        return []
    day = today - dt.timedelta(days=7)
    while date_warnings(day):
        day -= dt.timedelta(days=1)
    session, _ = create_session({"course_id": course.id, "start_date": day, "format": "inter",
                                 "location_id": location.id, "trainer_ids": [trainer.id]}, advisor)
    change_status(session, SessionStatus.OPEN.value, advisor)

    firms = [db.session.scalar(select(Company).where(Company.siret == data["siret"])) for data in COMPANIES]
    enrolments = []
    for person, firm in zip(PAST_TRAINEES, firms + [None]):
        if person["bpf_status"] == "individual":
            firm = None
        trainee = find_or_create_trainee({**person, "consent": True, "company_id": firm.id if firm else None})
        db.session.flush()
        enrolment = enrol(session, trainee, company=firm, actor=advisor, notify=False)
        kind = "individual" if person["bpf_status"] == "individual" else "company"
        save_funding_line(enrolment, None, {"kind": kind, "amount": str(enrolment.price_incl_vat)}, advisor)
        if firm is None:  # the self-paying architect signed her contrat de formation three weeks before
            enrolment.contract_signed_on = day - dt.timedelta(days=21)
        enrolments.append(enrolment)
    # The paperwork before the session (paperwork.py): positioning, conventions and the contract on paper.
    if with_paperwork:
        paperwork.admit_all(session, advisor, _at(day - dt.timedelta(days=10), "10:00"))
        paperwork.paper_conventions(session, advisor, [firm.name for firm in firms[:2]],
                                    contract=f"{PAST_TRAINEES[2]['civility']} {PAST_TRAINEES[2]['first_name']} "
                                             f"{PAST_TRAINEES[2]['last_name']}")
    change_status(session, SessionStatus.CONFIRMED.value, advisor)
    if with_paperwork:
        paperwork.send_convocations(session)
    morning, afternoon = sorted(session.slots, key=lambda s: s.start_time)
    camille, hugo, ines = enrolments
    browser = {"ip": "192.0.2.10", "user_agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X)"}
    attendance.sign(morning, camille, method="link", drawing=_drawing(1), now=_at(day, "08:24"), **browser)
    attendance.sign(morning, ines, method="qr", drawing=_drawing(3), now=_at(day, "08:27"), **browser)
    attendance.sign(morning, hugo, method="kiosk", typed_name="Hugo Lefèvre", actor=trainer_user,
                    now=_at(day, "09:12"), ip="192.0.2.20", user_agent="Mozilla/5.0 (iPad)")
    change_status(session, SessionStatus.IN_PROGRESS.value, advisor, now=_at(day, "08:30"))
    attendance.mark_presence(morning, hugo, {"presence": "present", "arrived_at": "09:10"}, trainer_user,
                             now=_at(day, "12:25"))
    attendance.countersign(morning, trainer_user, drawing=_drawing(7), now=_at(day, "12:31"), ip="192.0.2.20")
    attendance.sign(afternoon, camille, method="link", drawing=_drawing(2), now=_at(day, "13:25"), **browser)
    attendance.sign(afternoon, hugo, method="link", drawing=_drawing(5), now=_at(day, "13:28"), **browser)
    attendance.countersign(afternoon, trainer_user, drawing=_drawing(8), now=_at(day, "17:32"), ip="192.0.2.20")
    attendance.correct(afternoon, ines, {"presence": "present", "reason": "Présente tout l'après-midi ; "
                                         "téléphone déchargé, a signé la feuille papier de secours."},
                       advisor, now=_at(day + dt.timedelta(days=1), "09:05"))
    change_status(session, SessionStatus.COMPLETED.value, advisor, now=_at(day, "17:35"))
    _feedback(session, enrolments, trainer_user, _at(day, "17:40"))
    if with_paperwork:
        paperwork.send_certificates(session, advisor)
    return [f"Session {session.label} réalisée : émargement complet (lien, QR code, poste du formateur, "
            "retard, correction), statuts et heures des stagiaires, acquis, enquête à chaud"
            + (" ; conventions, positionnement, convocations et certificats faits à leur date." if with_paperwork
               else ".")]


# Per trainee: the acquis level of each objective (in order), and the hot survey's notes (None: not answered).
ACQUIS = (("acquired", "acquired", "partial", "acquired", "acquired"),
          ("acquired", "partial", "partial", "acquired", "not_acquired"),
          ("acquired", "acquired", "acquired", "acquired", "acquired"))
HOT_NOTES = (5, 4, None)
HOT_COMMENTS = {5: "Formation très concrète, le formateur connaît parfaitement Chorus Pro.",
                4: "Bien, un peu rapide sur le DUME l'après-midi."}


def _feedback(session, enrolments, trainer_user, at, acquis_levels=ACQUIS, notes=HOT_NOTES,
              comments=HOT_COMMENTS) -> None:
    """The trainer's acquis per objective, and the hot survey sent with the answers of the trainees whose note
    is not None (``notes`` in the order of ``enrolments``; ``comments`` by note)."""
    objectives = list(session.course_version.objectives)
    for enrolment, levels in zip(enrolments, acquis_levels):
        for objective, level in zip(objectives, levels):
            acquis.record(session, enrolment, objective.id, level, "", trainer_user, now=at)
    surveys.send_survey({"session_id": session.id, "kind": "hot"})
    db.session.flush()
    for enrolment, note in zip(enrolments, notes):
        invitation = surveys.hot_invitation_on_site(session, enrolment)
        if note is None or invitation is None:
            continue
        data = {}
        for question in invitation.questionnaire.questions:
            if question.kind == "scale":
                data[f"q{question.id}"] = note
            elif question.kind == "single" and len(question.choices) == 11:
                data[f"q{question.id}"] = question.choices[note * 2].id  # 10 or 8 out of 10
            elif question.kind == "text":
                data[f"q{question.id}"] = comments.get(note, "")
        surveys.answer(invitation, data, submit=True)
