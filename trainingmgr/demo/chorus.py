"""The whole training cycle on one session, for the demo: a Chorus Pro session held some ten weeks ago and
completed. Every trainee signed both half-days with a drawn signature except one, absent in the afternoon; the
trainer countersigned both sheets; the acquis are recorded; the hot and the cold surveys are answered; the session
pack is generated (programme, conventions, convocations, attendance sheet, attestations and certificates; PDF
copies when the converter is available); the OPCO EP share is invoiced to OPCO EP under subrogation and the rest
to the companies; a liberal architect funded by the FIF PL is invoiced and pays (this year's BPF shows line C-2g);
one trainee's complaint is answered and the low score of her cold evaluation handled. The paperwork is done on
time (paperwork.py): conventions e-mailed and returned signed, convocations at J−7, certificates e-mailed the day
after. Each part is loaded once (skipped when present)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from ..accounts.models import User
from ..attendance import services as attendance
from ..billing.invoices.drafts import DRAFT_FIELDS, update_draft
from ..billing.invoices.issue import issue_invoice
from ..billing.invoices.planning import propose_invoices
from ..billing.kinds import PayerKind
from ..billing.models import Invoice
from ..billing.payments.services import record_payment
from ..catalogue.models import Course
from ..companies.models import Company
from ..core.errors import ValidationError
from ..documents.models import GeneratedDocument
from ..documents.services import generate_session_pack
from ..enrolments.models import EnrolmentStatus
from ..enrolments.services import enrol, record_decision, save_funding_line
from ..evaluations.models import SurveyAlert, SurveyInvitation
from ..evaluations.surveys import services as surveys
from ..evaluations.surveys.alerts import close_alert
from ..extensions import db
from ..quality.complaints.services import record_request, transition
from ..quality.models import QualityRequest
from ..resources.models import Location, Trainer
from ..sessions.models import SessionStatus, TrainingSession
from ..sessions.services import change_status, create_session, date_warnings
from ..trainees.services import find_or_create_trainee
from . import paperwork
from .attendance import _at, _drawing, _feedback

CHORUS_SLUG = "chorus-pro"
# Days before today: beyond the cold survey's two months, so that its answers are in.
DAYS_AGO = 70
OPCO_FILE = "EP-2026-003190"
FIF_PL_FILE = "FIFPL-2026-0418532"
# Léa's and Antoine's funding: OPCO EP under subrogation (one file for both: one invoice to OPCO EP), their
# company the rest. The lines are copied when saved.
OPCO_AND_COMPANY = (
    {"kind": "opco", "amount": "420.00", "opco_name": "OPCO EP", "opco_status": "agreed",
     "opco_contact_email": "conseillere.toulouse@opco-ep.example", "opco_file_number": OPCO_FILE,
     "opco_member_number": "A123456", "requested_amount": "600.00", "agreed_amount": "420.00",
     "subrogation": True},
    {"kind": "company", "amount": "180.00"},
)
# (trainee, company SIRET, funding lines).
TRAINEES = (
    ({"civility": "Mme", "first_name": "Léa", "last_name": "Moreau", "email": "lea.moreau@garonne-archi.example",
      "job_title": "Comptable", "bpf_status": "employee"}, "44306184100021",
     OPCO_AND_COMPANY),
    ({"civility": "M.", "first_name": "Antoine", "last_name": "Girard",
      "email": "antoine.girard@garonne-archi.example", "job_title": "Assistant administratif",
      "bpf_status": "employee"}, "44306184100021",
     OPCO_AND_COMPANY),
    ({"civility": "Mme", "first_name": "Nadia", "last_name": "Haddad",
      "email": "n.haddad@occitanie-structures.example", "job_title": "Assistante de gestion",
      "bpf_status": "employee"}, "52151247500018",
     [{"kind": "company", "amount": "600.00"}]),
    # A liberal architect (self-employed): his fund, the FIF PL, funds the course; he pays the invoice and
    # claims the refund with the pack the application makes (invoice receipted, certificate, programme).
    ({"civility": "M.", "first_name": "Julien", "last_name": "Carrère",
      "email": "julien.carrere@carrere-architecte.example", "job_title": "Architecte libéral",
      "bpf_status": "self_employed"}, "79245813500029",
     [{"kind": "self_employed_fund", "amount": "600.00", "opco_name": "FIF PL", "opco_status": "agreed",
       "opco_file_number": FIF_PL_FILE, "requested_amount": "600.00", "agreed_amount": "600.00",
       "agreed_hours": "7"}]),
)
# Where the demo sends OPCO EP's invoices (a demo address).
OPCO_EP_ADDRESS = {"buyer_address": "Délégation Occitanie, 2 rue de la Formation", "buyer_postal_code": "31000",
                   "buyer_city": "Toulouse", "buyer_siret": "851296632"}  # OPCO EP's SIREN
ARCHITECT_ADDRESS = {"buyer_address": "12 rue des Filatiers", "buyer_postal_code": "31000", "buyer_city": "Toulouse",
                     "buyer_siret": "79245813500029"}
# The trainer's acquis per objective, and the hot survey's notes, in the order of TRAINEES.
ACQUIS = (("acquired", "acquired", "acquired", "acquired", "partial"),
          ("acquired", "acquired", "partial", "acquired", "acquired"),
          ("acquired", "partial", "not_acquired", "not_acquired", "not_acquired"),
          ("acquired", "acquired", "acquired", "partial", "acquired"))
HOT_NOTES = (5, 5, 4, 5)
HOT_COMMENTS = {5: "Très utile : nous déposons désormais toutes nos factures publiques sur Chorus Pro.",
                4: "Matinée très claire ; dommage d'avoir dû partir à midi."}
# The cold survey's answers (two months on), in the order of TRAINEES: practice and impact notes, applied, needs.
COLD = ((5, "Dépôt des factures et suivi des paiements des marchés publics.", 4, False, ""),
        (4, "Création des factures de sous-traitance dans Chorus Pro.", 4, True, "Le DUME et les marchés publics."),
        (3, "Consultation des factures déposées par le cabinet.", 2, True, "Revoir l'après-midi manqué."),
        (5, "Facturation des honoraires de maîtrise d'œuvre aux maîtres d'ouvrage publics.", 5, False, ""))


ALERT_NOTE = ("Évaluation à froid basse de la stagiaire partie à midi : l'après-midi manqué lui est proposé sans "
              "frais sur la prochaine session (voir sa réclamation).")


def past_chorus_session(course: Course) -> TrainingSession | None:
    """The demo's completed Chorus Pro session (the first one)."""
    return db.session.scalar(select(TrainingSession).where(
        TrainingSession.course_id == course.id, TrainingSession.status == SessionStatus.COMPLETED.value)
        .order_by(TrainingSession.id).limit(1))


def load_chorus_cycle(course: Course, location: Location, trainer: Trainer, advisor: User, trainer_user: User,
                      today: dt.date, invoices: bool = True, with_paperwork: bool = True) -> list[str]:
    done = []
    session = past_chorus_session(course)
    if session is None:
        session = _deliver(course, location, trainer, advisor, trainer_user, today, with_paperwork)
        done.append(f"Session {session.label} réalisée : émargement signé à chaque demi-journée, une absence, "
                    "contresignatures, acquis, enquêtes à chaud et à froid"
                    + (" ; conventions, convocations et certificats envoyés à leur date." if with_paperwork else "."))
    done.extend(_documents(session, advisor, with_paperwork))
    if invoices:
        done.extend(_invoices(session, advisor, today))
    done.extend(_complaint(session, advisor))
    return done


def _deliver(course, location, trainer, advisor, trainer_user, today, with_paperwork: bool) -> TrainingSession:
    day = today - dt.timedelta(days=DAYS_AGO)
    while date_warnings(day):
        day -= dt.timedelta(days=1)
    session, _ = create_session({"course_id": course.id, "start_date": day, "format": "inter",
                                 "location_id": location.id, "trainer_ids": [trainer.id],
                                 "price_per_trainee": "600.00"}, advisor)
    change_status(session, SessionStatus.OPEN.value, advisor)
    enrolments = []
    for person, siret, funding in TRAINEES:
        firm = db.session.scalar(select(Company).where(Company.siret == siret))
        trainee = find_or_create_trainee({**person, "consent": True, "company_id": firm.id if firm else None})
        db.session.flush()
        enrolment = enrol(session, trainee, company=firm, actor=advisor, notify=False)
        # The Chorus Pro course has prerequisites: the advisor admits them.
        if enrolment.status == EnrolmentStatus.PENDING_PREREQUISITE.value:
            record_decision(enrolment, "admitted", "", advisor)
        for line in funding:
            dates = {}
            if line.get("opco_status") == "agreed":  # an OPCO's or the FIF PL's agreement
                dates = {"requested_on": day - dt.timedelta(days=30), "agreed_on": day - dt.timedelta(days=12)}
            save_funding_line(enrolment, None, {**line, **dates}, advisor)
        enrolments.append(enrolment)
    # The paperwork before the session (paperwork.py): conventions e-mailed, returned signed on paper; convocations.
    conventions = paperwork.send_conventions(session, advisor, _at(day - dt.timedelta(days=25), "11:00")) \
        if with_paperwork else []
    if conventions:
        paperwork.tick(session, "convention_signed",
                       "Conventions signées retournées par courrier (" + ", ".join(d.company.name for d in conventions)
                       + ") : classées au dossier de la session.", advisor, _at(day - dt.timedelta(days=18), "16:40"))
    change_status(session, SessionStatus.CONFIRMED.value, advisor)
    if with_paperwork:
        paperwork.send_convocations(session)
    morning, afternoon = sorted(session.slots, key=lambda s: s.start_time)
    lea, antoine, nadia, julien = enrolments
    phone = {"ip": "192.0.2.30", "user_agent": "Mozilla/5.0 (Linux; Android 15; Pixel 9)"}
    for n, (enrolment, method, hhmm) in enumerate(((lea, "link", "08:52"), (antoine, "qr", "08:55"),
                                                   (nadia, "link", "08:58"), (julien, "qr", "08:59")), start=11):
        attendance.sign(morning, enrolment, method=method, drawing=_drawing(n), now=_at(day, hhmm), **phone)
    change_status(session, SessionStatus.IN_PROGRESS.value, advisor, now=_at(day, "09:00"))
    attendance.countersign(morning, trainer_user, drawing=_drawing(17), now=_at(day, "12:33"), ip="192.0.2.20")
    for n, (enrolment, method, hhmm) in enumerate(((lea, "link", "13:24"), (antoine, "qr", "13:27"),
                                                   (julien, "link", "13:29")), start=21):
        attendance.sign(afternoon, enrolment, method=method, drawing=_drawing(n), now=_at(day, hhmm), **phone)
    attendance.mark_presence(afternoon, nadia, {"presence": "absent"}, trainer_user, now=_at(day, "13:45"))
    attendance.countersign(afternoon, trainer_user, drawing=_drawing(18), now=_at(day, "17:02"), ip="192.0.2.20")
    change_status(session, SessionStatus.COMPLETED.value, advisor, now=_at(day, "17:05"))
    _feedback(session, enrolments, trainer_user, _at(day, "17:10"), acquis_levels=ACQUIS, notes=HOT_NOTES,
              comments=HOT_COMMENTS)
    _cold_survey(session, enrolments, advisor)
    return session


def _cold_survey(session: TrainingSession, enrolments, advisor: User) -> None:
    """The cold survey sent (it would have been at J+60) and answered by the three trainees."""
    surveys.send_survey({"session_id": session.id, "kind": "cold"})
    db.session.flush()
    for enrolment, (practice, applied, impact, needs, which) in zip(enrolments, COLD):
        invitation = db.session.scalar(select(SurveyInvitation).where(
            SurveyInvitation.key == f"cold:{session.id}:enrolment:{enrolment.id}"))
        if invitation is None:
            continue
        scales = iter((practice, impact))
        texts = iter((applied, which))
        data = {}
        for question in invitation.questionnaire.questions:
            if question.kind == "scale":
                data[f"q{question.id}"] = next(scales, 3)
            elif question.kind == "yes_no":
                data[f"q{question.id}"] = needs
            elif question.kind == "text":
                data[f"q{question.id}"] = next(texts, "")
        surveys.answer(invitation, data, submit=True)
    _handle_alerts(session, advisor)


def _handle_alerts(session: TrainingSession, advisor: User) -> None:
    """The low cold-survey scores (the trainee who left at noon) handled by the advisor a few days later."""
    for alert in db.session.scalars(select(SurveyAlert).where(SurveyAlert.session_id == session.id,
                                                              SurveyAlert.is_open)):
        close_alert(alert.id, "handled", ALERT_NOTE, advisor)
        alert.handled_at = _at(session.last_date + dt.timedelta(days=64), "14:00")


def _documents(session: TrainingSession, advisor: User, with_paperwork: bool = True) -> list[str]:
    if db.session.scalar(select(GeneratedDocument.id).where(GeneratedDocument.session_id == session.id,
                                                           GeneratedDocument.doc_type == "attendance_sheet")
                         .limit(1)) is not None:
        return []
    try:
        with db.session.begin_nested():
            documents = generate_session_pack(session, advisor)
            if with_paperwork:
                paperwork.send_certificates(session, advisor)
    except ValidationError as exc:  # e.g. an organisation set up before the demo, or a template refused
        return [f"Documents de la session {session.label} non générés : {exc.message}"]
    certificates = sum(d.doc_type == "certificate" for d in documents)
    pdfs = sum(d.pdf_file_id is not None for d in documents)
    return [f"Session {session.label} : {len(documents)} documents générés dont {certificates} certificats de "
            f"réalisation" + (f" ({pdfs} en PDF)." if pdfs else " (Word).")]


def _invoices(session: TrainingSession, advisor: User, today: dt.date) -> list[str]:
    if db.session.scalar(select(Invoice.id).where(Invoice.session_id == session.id).limit(1)) is not None:
        return []
    try:
        with db.session.begin_nested():
            proposal = propose_invoices(session, advisor)
            for invoice in proposal.created:
                if invoice.payer_kind == PayerKind.OPCO.value and not all(
                        (invoice.buyer_address, invoice.buyer_postal_code, invoice.buyer_city)):
                    # The funding lines hold no OPCO postal address: the advisor types it on the draft.
                    update_draft(invoice, {**{key: getattr(invoice, key) for key in DRAFT_FIELDS},
                                           **OPCO_EP_ADDRESS}, advisor)
                elif invoice.payer_kind == PayerKind.SELF_EMPLOYED_FUND.value and not invoice.buyer_address:
                    # The architect is invoiced at his practice (trainees have no postal address on file).
                    update_draft(invoice, {**{key: getattr(invoice, key) for key in DRAFT_FIELDS},
                                           **ARCHITECT_ADDRESS}, advisor)
            db.session.flush()
            issued = [issue_invoice(invoice, advisor, today=today) for invoice in proposal.created]
            # The architect paid by transfer: his receipted invoice goes in the FIF PL refund pack.
            for invoice in issued:
                if invoice.payer_kind == PayerKind.SELF_EMPLOYED_FUND.value:
                    record_payment(invoice, {"paid_on": today, "amount": str(invoice.total_incl_vat),
                                             "method": "transfer", "reference": f"Virement {invoice.buyer_name}"},
                                   advisor, today=today)
    except ValidationError as exc:
        return [f"Factures de démonstration non émises : {exc.message}"]
    numbers = ", ".join(f"{i.number} ({i.buyer_name})" for i in issued)
    return [f"Session {session.label} facturée : {numbers}."]


def _complaint(session: TrainingSession, advisor: User) -> list[str]:
    if db.session.scalar(select(QualityRequest.id).where(QualityRequest.session_id == session.id)
                         .limit(1)) is not None:
        return []
    complaint = record_request({
        "kind": "complaint", "channel": "email", "requester_role": "trainee",
        "requester_name": "Nadia Haddad", "requester_email": "n.haddad@occitanie-structures.example",
        "organisation_name": "Bureau d'études Occitanie Structures", "session_id": session.id,
        "subject": "Attestation incomplète",
        "description": "Mon attestation indique 3,5 heures alors que j'étais inscrite à la journée.",
    }, advisor)
    transition(complaint, "acknowledge", {"note": "Message bien reçu : nous vérifions la feuille d'émargement."},
               advisor)
    transition(complaint, "analyse", {"note": "Feuille d'émargement : absente l'après-midi."}, advisor)
    transition(complaint, "answer", {
        "answer": "Vous avez quitté la formation à midi (absence de l'après-midi relevée par le formateur) : "
                  "l'attestation porte les 3,5 heures suivies. Nous vous proposons l'après-midi sur une "
                  "prochaine session, sans frais.",
        "analysis": "Attestation conforme à l'émargement ; départ anticipé non expliqué à la stagiaire.",
    }, advisor)
    return [f"Réclamation {complaint.reference} (session {session.label}) répondue."]
