"""Ten years of history for the benchmarks: about 1,500 sessions and 10,000 enrolments, built in bulk.

``build_history(today)`` runs after the demo (``load_demo(today=today)``) and adds, with SQLAlchemy Core inserts
of coherent rows (a few seconds; the services would take minutes):
  - ten more published courses (through catalogue.services: versions, programme, classification), beside
    the demo's two; twelve trainers (three external), six rooms, 400 client companies;
  - the sessions, from January of the first year (2017 for ten years in 2026) to six months ahead, over the
    working days: the past ones completed (closed once invoiced and paid, a few cancelled), the coming ones
    open or confirmed (a few drafts); each with its half-day slots (one or two days, 9:00–12:30 and 13:30–17:00), its trainer and room;
  - the trainees (three in four new, the rest coming back for another course), employees of a company or
    not, and their enrolments: completed, abandoned, absent or cancelled in the past with their hours
    attended; confirmed, a few pre-registrations to handle or waitlisted ahead;
  - an issued invoice per client company and per individual of each delivered session, paid (a few left
    unpaid past their due date: the dashboard's overdue warning), numbered after the year's last number;
  - the hot satisfaction survey answered by two trainees in three of each delivered session (the course
    sheet's public indicators);
  - the quality registers: 30 requests (complaints, difficulties, suggestions) a year, handled in time, and 30
    improvement actions a year, done (the registers' lists; nothing overdue on the dashboard).
Left out: attendance records (a hash chain per session, signature images), invoice lines, enrolment history,
e-mails and documents; no page measured here reads them for past sessions.
"""
from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from decimal import Decimal

from sqlalchemy import func, insert, select, update

from trainingmgr.extensions import db

MORNING = (dt.time(9), dt.time(12, 30))
AFTERNOON = (dt.time(13, 30), dt.time(17))
COURSES = [  # title, days, price per trainee, BPF objective, NSF code
    ("Excel : tableaux croisés dynamiques", 1, "450.00", "other", "326"),
    ("Manager une équipe au quotidien", 2, "1100.00", "other", "310"),
    ("Sauveteur secouriste du travail", 2, "320.00", "other", "344"),
    ("Anglais professionnel : réunions et e-mails", 2, "900.00", "other", "136"),
    ("Prendre la parole en public", 1, "520.00", "other", "315"),
    ("Gérer son temps et ses priorités", 1, "480.00", "other", "315"),
    ("Comptabilité pour non-comptables", 2, "950.00", "other", "314"),
    ("Répondre à un appel d'offres public", 1, "650.00", "other", "128"),
    ("RGPD : les fondamentaux", 1, "550.00", "other", "128"),
    ("Word : documents longs et publipostage", 1, "420.00", "other", "326"),
]
FIRST_NAMES = ["Camille", "Léa", "Manon", "Chloé", "Inès", "Sarah", "Julie", "Emma", "Nathalie", "Sophie",
               "Thomas", "Nicolas", "Julien", "Lucas", "Hugo", "Antoine", "Karim", "Mehdi", "Pierre", "Laurent"]
LAST_NAMES = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau",
              "Simon", "Laurent", "Lefebvre", "Michel", "Garcia", "David", "Bertrand", "Roux", "Vincent", "Fournier",
              "Morel", "Girard", "André", "Mercier", "Dupont", "Lambert", "Bonnet", "François", "Martinez", "Legrand"]
CITIES = ["Toulouse", "Blagnac", "Colomiers", "Montauban", "Albi", "Castres", "Auch", "Muret", "Balma", "Labège"]
OPCOS = ["OPCO EP", "AKTO", "OPCO 2i", "Atlas", "Constructys", "OPCO Santé", "Uniformation", "OCAPIAT"]


def _utc(day: dt.date, hour: int = 9) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=dt.timezone.utc)


def _working_days(start: dt.date, end: dt.date) -> list[dt.date]:
    from trainingmgr.sessions.services import date_warnings

    days, day = [], start
    while day <= end:
        if day.weekday() < 5 and not date_warnings(day):  # no weekend, no public holiday
            days.append(day)
        day += dt.timedelta(days=1)
    return days


def _ids(model, rows: list[dict]) -> list[int]:
    if not rows:
        return []
    return list(db.session.scalars(insert(model).returning(model.id, sort_by_parameter_order=True), rows))


def _courses(advisor) -> list[tuple]:
    """(course, days, price) of every published course: the demo's two and ten more, made by the services."""
    from trainingmgr.catalogue.models import Course
    from trainingmgr.catalogue.services import create_course, set_course_status
    from trainingmgr.demo.seeds import DUME_CHORUS_PRO

    made = []
    for n, (title, days, price, objective, nsf) in enumerate(COURSES, 1):
        course = create_course({**DUME_CHORUS_PRO, "title": title, "duration_hours": Decimal(7 * days),
                                "duration_days": Decimal(days), "max_trainees": 12,
                                "price_per_trainee": Decimal(price), "bpf_objective": objective, "nsf_code": nsf},
                               advisor, slug=f"historique-{n:02d}")
        set_course_status(course, "published")
        made.append((course, days, Decimal(price)))
    db.session.flush()
    for course in db.session.scalars(select(Course).where(~Course.slug.startswith("historique-"))):
        made.append((course, 1, course.current_version.price_per_trainee or Decimal("600.00")))
    return made


def _quality_registers(days: list[dt.date], count: int, advisor) -> tuple[int, int]:
    """``count`` requests of the quality register (complaints, difficulties, suggestions), acknowledged and
    answered in time then closed, and as many improvement actions done, over ``days``. Their references
    (HIST-2019-0001) are not the application's REC- series."""
    from trainingmgr.quality.models import ImprovementAction, QualityRequest

    kinds = ("complaint", "difficulty", "suggestion")
    requests, actions = [], []
    for n in range(count):
        day = days[n * len(days) // count]
        requests.append({
            "reference": f"HIST-{day.year}-{n:04d}", "kind": kinds[n % 3], "channel": "email",
            "requester_name": f"{FIRST_NAMES[n % 20]} {LAST_NAMES[n % 30]}", "subject": f"Retour n° {n + 1}",
            "status": "closed", "received_at": _utc(day), "acknowledge_due": day + dt.timedelta(days=2),
            "answer_due": day + dt.timedelta(days=15), "acknowledged_at": _utc(day + dt.timedelta(days=1)),
            "answered_at": _utc(day + dt.timedelta(days=8)), "answer": "Réponse apportée.",
            "closed_at": _utc(day + dt.timedelta(days=9)), "created_by_id": advisor.id})
        actions.append({"source": "other", "title": f"Amélioration n° {n + 1}", "owner_id": advisor.id,
                        "due_date": day + dt.timedelta(days=30), "status": "done", "effect": "Constaté.",
                        "done_at": _utc(day + dt.timedelta(days=25)), "created_at": _utc(day),
                        "created_by_id": advisor.id, "updated_at": _utc(day + dt.timedelta(days=25))})
    db.session.execute(insert(QualityRequest), requests)
    db.session.execute(insert(ImprovementAction), actions)
    return len(requests), len(actions)


def build_history(today: dt.date, sessions: int = 1500, enrolments: int = 10000, years: int = 10,
                  seed: int = 2017) -> dict:
    """Add ``sessions`` sessions and ``enrolments`` enrolments from January of ``years`` years back (counting
    ``today``'s year) to six months after ``today``, with what goes with them (see the module). Returns counts
    of what was made."""
    from trainingmgr.accounts.services import get_user_by_email
    from trainingmgr.billing.models import Invoice, InvoiceSequence, Payment
    from trainingmgr.companies.models import Company
    from trainingmgr.enrolments.models import Enrolment
    from trainingmgr.evaluations.models import Answer, Question, Questionnaire, Response
    from trainingmgr.resources.models import Location, Trainer
    from trainingmgr.sessions.models import Slot, TrainingSession, session_trainer
    from trainingmgr.sessions.services import date_warnings
    from trainingmgr.trainees.models import Trainee

    rng = random.Random(seed)
    advisor = get_user_by_email("conseil@formaction.example")
    courses = _courses(advisor)
    org_seller = {}

    # -- resources and companies
    trainer_ids = _ids(Trainer, [{"first_name": FIRST_NAMES[i], "last_name": f"{LAST_NAMES[i]} (historique)",
                                  "email": f"formateur{i}@historique.example", "status": "organisation" if i >= 9 else "employee",
                                  "company_name": "Formateurs associés SARL" if i >= 9 else ""} for i in range(12)])
    room_ids = _ids(Location, [{"name": f"Salle {name}", "city": CITIES[i], "address": f"{i + 1} rue des Arts",
                                "postal_code": f"31{i:03d}", "capacity": 12}
                               for i, name in enumerate(("Garonne", "Capitole", "Canal", "Pastel", "Brique",
                                                         "Occitanie"))])
    companies = [{"name": f"{LAST_NAMES[i % len(LAST_NAMES)]} {('SARL', 'SAS', 'SA', 'Industrie', 'Services')[i % 5]}"
                          f" {i + 1}", "siret": f"{80000000000000 + i * 7919:014d}", "opco": OPCOS[i % len(OPCOS)],
                  "address": f"{i % 90 + 1} avenue de la République", "postal_code": f"31{i % 1000:03d}",
                  "city": CITIES[i % len(CITIES)]} for i in range(400)]
    company_ids = _ids(Company, companies)
    company_names = dict(zip(company_ids, (c["name"] for c in companies)))

    # -- sessions and their slots: the past ones over the working days since January of the first year
    past_days = _working_days(dt.date(today.year - years + 1, 1, 2), today - dt.timedelta(days=7))
    future_days = _working_days(today + dt.timedelta(days=7), today + dt.timedelta(days=182))
    # The same pace ahead as behind: six months of sessions to come (75 for 1,500 over ten years).
    future_count = max(1, round(sessions * len(future_days) / (len(past_days) + len(future_days))))
    plan = []  # (course, days, price, start, status)
    for i in range(sessions - future_count):
        course, days, price = courses[i % len(courses)]
        start = past_days[i * len(past_days) // (sessions - future_count)]
        status = "cancelled" if i % 25 == 7 else "completed"
        plan.append((course, days, price, start, status))
    for i in range(future_count):
        course, days, price = courses[(i * 7) % len(courses)]
        start = future_days[i * len(future_days) // future_count]
        ahead = (start - today).days
        status = "confirmed" if ahead < 30 else ("draft" if i % 9 == 4 else "open")
        plan.append((course, days, price, start, status))
    session_rows, slot_plan = [], []
    for i, (course, days, price, start, status) in enumerate(plan):
        dates = []
        day = start
        while len(dates) < days:
            if day == start or not date_warnings(day):
                dates.append(day)
            day += dt.timedelta(days=1)
        changed = _utc(dates[-1], 17) if status == "completed" else _utc(start - dt.timedelta(days=40))
        session_rows.append({
            "course_id": course.id, "course_version_id": course.current_version_id, "format": "inter",
            "location_id": room_ids[i % len(room_ids)], "capacity": 12, "min_trainees": 3, "price_per_trainee": price,
            "status": status, "status_changed_at": changed, "created_at": _utc(start - dt.timedelta(days=90)),
            "updated_at": changed, "cancelled_at": changed if status == "cancelled" else None,
            "cancel_reason": "Nombre d'inscrits insuffisant" if status == "cancelled" else ""})
        slot_plan.append(dates)
    session_ids = _ids(TrainingSession, session_rows)
    slots, teaching = [], []
    for i, (session_id, dates) in enumerate(zip(session_ids, slot_plan)):
        trainer = trainer_ids[i % len(trainer_ids)]
        teaching.append({"session_id": session_id, "trainer_id": trainer})
        for day in dates:
            for start_time, end_time in (MORNING, AFTERNOON):
                slots.append({"session_id": session_id, "date": day, "start_time": start_time, "end_time": end_time,
                              "location_id": session_rows[i]["location_id"], "trainer_id": trainer,
                              "created_at": session_rows[i]["created_at"]})
    db.session.execute(insert(Slot), slots)
    db.session.execute(insert(session_trainer), teaching)

    # -- trainees and enrolments: ``enrolments`` seats over the sessions (6 or 7 each, give or take 2)
    base, extra = divmod(enrolments, sessions)
    seats = [base + (1 if i < extra else 0) + (2 if i % 2 else -2 if base >= 2 else 0) for i in range(sessions)]
    if sessions % 2:  # the unpaired last session takes back the difference
        seats[-1] += enrolments - sum(seats)
    seats = [min(max(s, 0), 12) for s in seats]
    seats[0] += enrolments - sum(seats)
    trainees: list[dict] = []
    enrolment_plan = []  # (session index, trainee index)
    for i, count in enumerate(seats):
        taken: set[int] = set()
        for _ in range(count):
            if trainees and rng.random() < 0.25:  # a former trainee comes back
                t = rng.randrange(len(trainees))
                if t in taken:
                    t = None
            else:
                t = None
            if t is None:
                n = len(trainees)
                employed = rng.random() < 0.85
                trainees.append({
                    "civility": ("Mme", "M.")[n % 2], "first_name": FIRST_NAMES[(n * 7) % len(FIRST_NAMES)],
                    "last_name": LAST_NAMES[(n * 13) % len(LAST_NAMES)], "email": f"stagiaire{n:05d}@historique.example",
                    "company_id": company_ids[int(rng.paretovariate(1.2) * 7) % len(company_ids)] if employed else None,
                    "bpf_status": "employee" if employed else rng.choice(("job_seeker", "individual", "self_employed")),
                    "created_at": _utc(plan[i][3] - dt.timedelta(days=30)),
                    "consent_at": _utc(plan[i][3] - dt.timedelta(days=30))})
                t = n
            taken.add(t)
            enrolment_plan.append((i, t))
    trainee_ids = _ids(Trainee, trainees)
    rows = []
    for k, (i, t) in enumerate(enrolment_plan):
        course, days, price, start, session_status = plan[i]
        end = slot_plan[i][-1]
        roll = rng.random()
        if session_status == "cancelled":
            status = "cancelled"
        elif session_status == "completed":
            status = ("cancelled" if roll < 0.06 else "no_show" if roll < 0.10 else "abandoned" if roll < 0.14
                      else "completed")
        else:
            status = "requested" if roll < 0.04 else "waitlisted" if roll < 0.06 else "confirmed"
        hours = {"completed": Decimal(7 * days), "abandoned": Decimal("3.50"), "no_show": Decimal("0.00")}.get(status)
        created = _utc(start - dt.timedelta(days=rng.randint(10, 60)))
        rows.append({
            "session_id": session_ids[i], "trainee_id": trainee_ids[t], "company_id": trainees[t]["company_id"],
            "status": status, "source": "public" if status == "requested" or k % 5 == 0 else "advisor",
            "price_excl_vat": price, "hours_attended": hours, "created_at": created,
            "updated_at": _utc(end, 17) if session_status == "completed" else created,
            "confirmed_at": created if status not in ("requested", "waitlisted") else None,
            "waitlist_position": 1 if status == "waitlisted" else None,
            "cancelled_at": _utc(start - dt.timedelta(days=3)) if status == "cancelled" else None,
            "convocation_sent_at": _utc(start - dt.timedelta(days=7)) if session_status == "completed" else None})
    enrolment_ids = _ids(Enrolment, rows)

    # -- invoices of the delivered sessions, one per company and per individual, paid but a few
    sequences = {year: number for year, number in db.session.execute(
        select(InvoiceSequence.year, InvoiceSequence.last_number).where(InvoiceSequence.kind == "invoice"))}
    invoices = []
    billed: dict[tuple, list] = defaultdict(list)
    for k, (i, t) in enumerate(enrolment_plan):
        if plan[i][4] == "completed" and rows[k]["status"] != "cancelled":
            billed[(i, trainees[t]["company_id"] or -trainee_ids[t])].append(k)
    for (i, payer), ks in sorted(billed.items(), key=lambda item: (slot_plan[item[0][0]][-1], item[0])):
        end = slot_plan[i][-1]
        issued = end + dt.timedelta(days=3)
        year = issued.year
        if issued > today:
            continue
        sequences[year] = sequences.get(year, 0) + 1
        total = sum((rows[k]["price_excl_vat"] for k in ks), Decimal("0.00"))
        company = payer if payer > 0 else None
        trainee = trainees[enrolment_plan[ks[0]][1]]
        invoices.append({
            "kind": "invoice", "status": "issued", "number": f"F{year}-{sequences[year]:04d}", "year": year,
            "sequence": sequences[year], "session_id": session_ids[i], "payer_kind": "company" if company else "individual",
            "payer_company_id": company, "payer_trainee_id": None if company else -payer,
            "buyer_name": company_names[company] if company else f"{trainee['first_name']} {trainee['last_name']}",
            "buyer_city": "Toulouse", "issue_date": issued, "due_date": issued + dt.timedelta(days=30),
            "service_start": slot_plan[i][0], "service_end": end, "seller": org_seller,
            "vat_exemption": "Exonération de TVA, article 261-4-4° du CGI", "total_excl_vat": total,
            "total_vat": Decimal("0.00"), "total_incl_vat": total, "created_at": _utc(issued), "issued_at": _utc(issued),
            "issued_by_id": advisor.id, "created_by_id": advisor.id})
    invoice_ids = _ids(Invoice, invoices)
    for year, number in sequences.items():
        if db.session.get(InvoiceSequence, ("invoice", year)) is None:
            db.session.add(InvoiceSequence(kind="invoice", year=year, last_number=number))
        else:
            db.session.execute(update(InvoiceSequence).where(InvoiceSequence.kind == "invoice",
                                                             InvoiceSequence.year == year).values(last_number=number))
    payments = []
    for invoice_id, invoice in zip(invoice_ids, invoices):
        paid_on = invoice["issue_date"] + dt.timedelta(days=rng.randint(15, 45))
        if paid_on < today and rng.random() > 0.01:
            payments.append({"invoice_id": invoice_id, "paid_on": paid_on, "amount": invoice["total_incl_vat"],
                             "method": "transfer", "reference": f"VIR {invoice['number']}",
                             "created_at": _utc(paid_on), "created_by_id": advisor.id})
    if payments:
        db.session.execute(insert(Payment), payments)
    # A delivered session whose invoices are all paid is closed.
    settled = {p["invoice_id"] for p in payments}
    paid = {invoice["session_id"] for invoice in invoices} - {
        invoice["session_id"] for invoice_id, invoice in zip(invoice_ids, invoices) if invoice_id not in settled}
    closing = [session_id for session_id, (_, _, _, _, status) in zip(session_ids, plan)
               if status == "completed" and session_id in paid]
    for chunk in range(0, len(closing), 500):
        db.session.execute(update(TrainingSession).where(TrainingSession.id.in_(closing[chunk:chunk + 500]))
                           .values(status="closed"))

    # -- the hot survey, answered by two trainees in three of each delivered session
    hot = db.session.scalar(select(Questionnaire).where(Questionnaire.kind == "hot", Questionnaire.course_id.is_(None))
                            .order_by(Questionnaire.id).limit(1))
    scale = list(db.session.scalars(select(Question.id).where(Question.questionnaire_id == hot.id,
                                                             Question.kind == "scale")
                                    .order_by(Question.position))) if hot else []
    responses = []
    for k, (i, t) in enumerate(enrolment_plan):
        if hot is not None and rows[k]["status"] == "completed" and rng.random() < 0.67:
            when = _utc(slot_plan[i][-1], 16)
            responses.append({"questionnaire_id": hot.id, "enrolment_id": enrolment_ids[k], "status": "submitted",
                              "started_at": when, "updated_at": when, "submitted_at": when,
                              "session_id": session_ids[i]})
    response_ids = _ids(Response, responses)
    answers = [{"response_id": response_id, "question_id": question_id,
                "value": rng.choices((2, 3, 4, 5), weights=(1, 4, 10, 10))[0]}
               for response_id in response_ids for question_id in scale]
    for chunk in range(0, len(answers), 5000):
        db.session.execute(insert(Answer), answers[chunk:chunk + 5000])
    # -- the quality registers: 30 requests and 30 improvement actions a year, all handled
    quality_requests, improvement_actions = _quality_registers(past_days, 30 * years, advisor)
    db.session.commit()
    return {"courses": len(courses), "sessions": len(session_ids), "slots": len(slots),
            "trainees": len(trainee_ids), "enrolments": len(enrolment_ids), "companies": len(company_ids),
            "invoices": len(invoice_ids), "payments": len(payments), "survey responses": len(response_ids),
            "answers": len(answers), "quality requests": quality_requests, "improvement actions": improvement_actions,
            "past sessions": db.session.scalar(select(func.count()).select_from(TrainingSession)
                                               .where(TrainingSession.status.in_(("completed", "closed"))))}
