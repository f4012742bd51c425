"""Demo data: the organisation, a Toulouse room, a trainer, three logins, both seed courses published,
each with one upcoming open session and its trainees; a DUME session and a Chorus Pro session delivered, with
their attendance, surveys, documents, invoices and complaints; the quality register; the upcoming DUME session's
company convention signed electronically by both parties (signatures.py); a mixed DUME session to come, in the room, in
a virtual classroom and as an asynchronous activity (distance.py). Loading twice changes nothing.

A well-kept organisation: every checklist item of the delivered sessions is done with its evidence, at its date
(paperwork.py), and the dashboard's to-do holds one deliberate late item: the upcoming Chorus Pro session's
convention, e-mailed to Atelier d'architecture Garonne three weeks before, is not back signed at J−15. The other
things waiting are the story's: Thomas Roux's prerequisite decision, the suggestion just received from the
public form, the improvement action in progress (due in a month)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import exists, select

from ..accounts.models import Role, User
from ..accounts.services import create_user, get_user_by_email
from ..catalogue.models import Course, CourseStatus
from ..catalogue.services import create_course, set_course_status
from ..companies.models import Company
from ..companies.services import save_company, save_contact
from ..core.timeutil import paris_today
from ..enrolments.models import Enrolment
from ..enrolments.services import enrol, record_decision, save_funding_line
from ..extensions import db
from ..organisation.models import Organisation
from ..organisation.services import update_organisation
from ..resources.models import Location, Trainer
from ..resources.services import save_location, save_trainer
from ..sessions.models import SessionStatus, Slot, SlotModality, TrainingSession
from ..sessions.services import change_status, create_session, date_warnings
from ..trainees.services import find_or_create_trainee
from .attendance import load_past_session
from .billing import CLASSIFICATION, load_billing
from .chorus import load_chorus_cycle
from .distance import load_mixed_session
from .paperwork import load_late_convention
from .quality import load_quality
from .questionnaires import load_positioning_questionnaires
from .quotes import load_quotes
from .registers import load_registers
from .seeds import COMPANIES, SEED_COURSES
from .signatures import load_signed_convention
from .spaces import load_spaces
from .surveys import load_default_surveys


@dataclass(frozen=True)
class DemoLogin:
    email: str
    password: str
    role: Role
    name: str


DEMO_LOGINS = (
    DemoLogin("admin@formaction.example", "admin-demo-2026", Role.ADMIN, "Sophie Durand"),
    DemoLogin("conseil@formaction.example", "conseil-demo-2026", Role.ADVISOR, "Camille Bernard"),
    DemoLogin("formateur@formaction.example", "formateur-demo-2026", Role.TRAINER, "Pierre Lefèvre"),
)

ORGANISATION = {
    "name": "Formaction Sud-Ouest",
    "legal_form": "SARL",
    "siret": "81234567600017",
    "nda": "76 31 09999 31",
    "nda_region": "Occitanie",
    "address": "12 rue des Lois",
    "postal_code": "31000",
    "city": "Toulouse",
    "phone": "05 61 00 00 00",
    "email": "contact@formaction.example",
    "website": "",
    "vat_status": "exempt",
    "vat_number": "FR19812345676",  # exempt (261-4-4°-a) but registered: Factur-X wants the seller's VAT id
    # A bank's published example account (not a real one): invoices carry the transfer QR code.
    "iban": "FR7630006000011234567890189",
    "bic": "AGRIFRPPXXX",
    "qualiopi_number": "QUALIOPI-DEMO-2024-001",
    "qualiopi_date": dt.date(2024, 3, 15),
    "qualiopi_body": "Organisme certificateur de démonstration",
    "signatory_name": "Sophie Durand",
    "signatory_title": "Gérante",
    "quality_contact_name": "Camille Bernard",
    "quality_contact_title": "Conseillère formation",
    "quality_contact_email": "conseil@formaction.example",
    "quality_contact_phone": "05 61 00 00 01",
    "disability_contact_name": "Camille Bernard (référente handicap)",
    "disability_contact_email": "conseil@formaction.example",
    "disability_contact_phone": "05 61 00 00 01",
    "accessibility_policy": (
        "Nos formations sont ouvertes aux personnes en situation de handicap. Contactez notre référente handicap "
        "avant l'inscription : nous étudions ensemble les adaptations utiles (accès à la salle, rythme, "
        "supports) et, si besoin, les partenaires à mobiliser (Agefiph, Cap emploi)."
    ),
    "access_delay_policy": (
        "Inscription jusqu'à 7 jours avant le début de la session, dans la limite des places disponibles ; "
        "réponse sous 48 heures ouvrées. En intra-entreprise, la session est planifiée avec vous sous 4 à 6 "
        "semaines."
    ),
    "payment_terms": "Paiement à 30 jours à réception de la facture, par virement bancaire. En cas de subrogation, "
                     "l'OPCO règle directement sa part ; le reste est facturé à l'entreprise.",
    "cancellation_terms": (
        "Annulation par le client jusqu'à 10 jours ouvrés avant le début : sans frais. Au-delà, 30 % du prix restent "
        "dus à titre de dédit, non imputables sur la participation au développement de la formation professionnelle. "
        "Un stagiaire empêché peut être remplacé sans frais."
    ),
    "consumer_mediator": "CM2C – Centre de la médiation de la consommation de conciliateurs de justice, "
                         "49 rue de Ponthieu, 75008 Paris – www.cm2c.net",
    "internal_rules": "Le règlement intérieur de l'organisme est joint à la convocation et affiché en salle de "
                      "formation.",
    "remote_assistance": (
        "Camille Bernard, conseillère formation, conseil@formaction.example, "
        "05 61 00 00 01, du lundi au vendredi de 9 h à 17 h ; réponse sous 24 heures ouvrées (connexion, accès à la "
        "classe virtuelle et aux activités, questions sur le contenu transmises au formateur). Pendant les classes "
        "virtuelles, le formateur répond en direct aux questions techniques et pédagogiques."
    ),
}

LOCATION = {
    "name": "Salle de formation Toulouse Capitole",
    "is_remote": False,
    "address": "12 rue des Lois",
    "postal_code": "31000",
    "city": "Toulouse",
    "capacity": 10,
    "wheelchair_access": True,
    "access_notes": "Métro A, station Capitole. Parking Capitole à 200 m. Salle au rez-de-chaussée.",
    "equipment": "Salle de 10 places, vidéoprojecteur, tableau blanc, Wi-Fi ; un ordinateur portable par stagiaire "
                 "sur demande.",
    "meeting_url": "",
    "notes": "",
}

TRAINER = {
    "first_name": "Pierre",
    "last_name": "Lefèvre",
    "email": "formateur@formaction.example",
    "phone": "06 00 00 00 00",
    "competences": SEED_COURSES[0]["trainer_competences"],
    "is_external": False,
}

# The Chorus Pro brochure gives no price: the demo session is priced like the DUME course.
CHORUS_DEMO_SESSION_PRICE = Decimal("600.00")


# Days from today to the upcoming sessions (Chorus Pro, DUME), moved on to a working day. Eleven days: the Chorus
# Pro session's convention is due back at J−15, one to four days ago whatever the weekday (weekends and public
# holidays move the start by three days at most), which makes it the demo's one late item.
UPCOMING_OFFSETS = (11, 21)


def _next_working_day(day: dt.date) -> dt.date:
    while date_warnings(day):
        day += dt.timedelta(days=1)
    return day


def load_demo(today: dt.date | None = None, invoices: bool = True, chorus_cycle: bool = True,
              paperwork: bool = True) -> list[str]:
    """Create what is missing; return what was done, in French. ``invoices=False`` leaves the past sessions
    uninvoiced (tests that number invoices from the first one); ``chorus_cycle=False`` leaves out the past Chorus
    Pro session (tests built around the one delivered DUME session); ``paperwork=False`` leaves out the documents
    and e-mails of the sessions' paperwork (paperwork.py: tests that count documents or e-mails from none)."""
    today = today or paris_today()
    done = _load_organisation()
    users, location, trainer = _load_people(done)
    advisor: User = users[Role.ADVISOR]
    sessions = {seed["slug"]: _upcoming_session(seed, offset, advisor, location, trainer, today, done)
                for offset, seed in zip(UPCOMING_OFFSETS, SEED_COURSES)}
    db.session.flush()
    done.extend(_load_positioning())
    done.extend(load_default_surveys())
    done.extend(_load_enrolments(sessions, advisor, today))
    if paperwork:
        done.extend(load_late_convention(sessions.get(SEED_COURSES[0]["slug"]), advisor))
    dume = db.session.scalar(select(Course).where(Course.slug == SEED_COURSES[1]["slug"]))
    done.extend(load_past_session(dume, location, trainer, advisor, users[Role.TRAINER], today, with_paperwork=paperwork))
    past_session = db.session.scalar(
        select(TrainingSession).where(TrainingSession.course_id == dume.id,
                                      TrainingSession.status == SessionStatus.COMPLETED.value).limit(1))
    done.extend(load_quality(advisor, past_session, today))
    if invoices:
        done.extend(load_billing(advisor, past_session, today))
    if chorus_cycle:
        chorus = db.session.scalar(select(Course).where(Course.slug == SEED_COURSES[0]["slug"]))
        done.extend(load_chorus_cycle(chorus, location, trainer, advisor, users[Role.TRAINER], today,
                                      invoices=invoices, with_paperwork=paperwork))
        # the mixed DUME session (demo/distance.py) comes with the whole story, as the Chorus Pro cycle does
        done.extend(load_mixed_session(dume, location, trainer, advisor, today))
    done.extend(load_signed_convention(advisor, sessions.get(SEED_COURSES[1]["slug"]), quiet=not done))
    done.extend(load_spaces(sessions.get(SEED_COURSES[0]["slug"]), advisor, today))
    done.extend(load_quotes(sessions, advisor) if paperwork else [])  # documents and e-mails: paperwork
    done.extend(load_registers(advisor, past_session, sessions.get(SEED_COURSES[1]["slug"]), today) if paperwork
                else [])  # the registers come with the paperwork (demo/registers.py)
    db.session.commit()
    return done


def _load_organisation() -> list[str]:
    if db.session.scalar(select(Organisation).limit(1)) is not None:
        return []
    update_organisation(ORGANISATION)
    return [f"Organisme « {ORGANISATION['name']} » créé."]


def _load_people(done: list[str]) -> tuple[dict, Location, Trainer]:
    """The demo accounts (by role), the training room and the trainer; what was created goes to ``done``."""
    users = {}
    for login in DEMO_LOGINS:
        user = get_user_by_email(login.email)
        if user is None:
            user = create_user(login.email, login.password, login.role.value, login.name)
            done.append(f"Compte {login.email} créé.")
        users[login.role] = user

    location = db.session.scalar(select(Location).where(Location.name == LOCATION["name"]))
    if location is None:
        location = save_location(None, LOCATION)
        done.append(f"Lieu « {LOCATION['name']} » créé.")

    trainer = db.session.scalar(select(Trainer).where(Trainer.email == TRAINER["email"]))
    if trainer is None:
        trainer = save_trainer(None, {**TRAINER, "user_id": users[Role.TRAINER].id})
        done.append(f"Formateur {trainer.full_name} créé.")
    db.session.flush()
    return users, location, trainer


def _upcoming_session(seed: dict, offset: int, advisor: User, location: Location, trainer: Trainer,
                      today: dt.date, done: list[str]) -> TrainingSession:
    """The seed's published course and an upcoming session of it, created when missing."""
    course = db.session.scalar(select(Course).where(Course.slug == seed["slug"]))
    if course is None:
        course = create_course({**seed, **CLASSIFICATION.get(seed["slug"], {})}, advisor, slug=seed["slug"])
        set_course_status(course, CourseStatus.PUBLISHED.value)
        done.append(f"Formation « {seed['title']} » créée et publiée.")
    # An upcoming session, not just any: reloaded weeks later, the demo still shows one to enrol in. The mixed
    # session (demo/distance.py) is not it: this one is held in the room.
    has_upcoming_session = db.session.scalar(
        select(TrainingSession.id).where(
            TrainingSession.course_id == course.id,
            TrainingSession.status != SessionStatus.CANCELLED.value,
            exists().where(Slot.session_id == TrainingSession.id, Slot.date >= today),
            ~exists().where(Slot.session_id == TrainingSession.id, Slot.modality != SlotModality.ROOM.value),
        ).order_by(TrainingSession.id).limit(1)
    )
    if has_upcoming_session is not None:
        return db.session.get(TrainingSession, has_upcoming_session)
    data = {
        "course_id": course.id,
        "start_date": _next_working_day(today + dt.timedelta(days=offset)),
        "format": "inter",
        "location_id": location.id,
        "trainer_ids": [trainer.id],
    }
    if seed["price_per_trainee"] is None:
        data["price_per_trainee"] = CHORUS_DEMO_SESSION_PRICE
    session, _ = create_session(data, advisor)
    change_status(session, SessionStatus.OPEN.value, advisor)
    done.append(f"Session {session.label} ouverte aux inscriptions.")
    return session


def _load_positioning() -> list[str]:
    return load_positioning_questionnaires() or []


CONTACTS = {
    "44306184100021": {"role": "hr", "name": "Hélène Garonne", "job_title": "Gérante",
                       "email": "direction@garonne-archi.example", "phone": "05 61 00 10 10"},
    "52151247500018": {"role": "signatory", "name": "Marc Vidal", "job_title": "Directeur",
                       "email": "direction@occitanie-structures.example"},
    "79245813500029": {"role": "signatory", "name": "Julien Carrère", "job_title": "Architecte DPLG",
                       "email": "julien.carrere@carrere-architecte.example"},
}
# (course slug, trainee, company SIRET or None, decision on the prerequisite, funding lines)
ENROLMENTS = (
    ("chorus-pro", {"civility": "Mme", "first_name": "Julie", "last_name": "Martin",
                    "email": "julie.martin@garonne-archi.example", "job_title": "Secrétaire technique",
                    "bpf_status": "employee"}, "44306184100021", "admitted",
     [{"kind": "opco", "amount": "420.00", "opco_name": "OPCO EP", "opco_status": "agreed",
       "opco_contact_email": "conseillere.toulouse@opco-ep.example",
       "opco_file_number": "EP-2026-004217", "opco_member_number": "A123456", "requested_amount": "600.00",
       "agreed_amount": "420.00", "subrogation": True},
      {"kind": "company", "amount": "180.00"}]),
    ("chorus-pro", {"civility": "M.", "first_name": "Thomas", "last_name": "Roux",
                    "email": "thomas.roux@garonne-archi.example", "job_title": "Assistant d'architecte",
                    "bpf_status": "employee"}, "44306184100021", None,
     [{"kind": "opco", "amount": "600.00", "opco_name": "OPCO EP", "opco_status": "requested",
       "opco_file_number": "EP-2026-004218", "requested_amount": "600.00", "subrogation": True}]),
    ("marches-publics-dume-et-chorus-pro", {"civility": "Mme", "first_name": "Sarah", "last_name": "Benali",
                                            "email": "s.benali@occitanie-structures.example",
                                            "job_title": "Chargée d'affaires", "bpf_status": "employee"},
     "52151247500018", None, [{"kind": "company", "amount": "600.00"}]),
    ("marches-publics-dume-et-chorus-pro", {"civility": "M.", "first_name": "Paul", "last_name": "Esteve",
                                            "email": "paul.esteve@exemple-architecte.example",
                                            "job_title": "Architecte libéral", "bpf_status": "individual"},
     None, None, [{"kind": "individual", "amount": "600.00"}]),
)


def _load_enrolments(sessions: dict, advisor: User, today: dt.date) -> list[str]:
    """Trainees in both seed sessions; OPCO EP funds the Chorus Pro ones (one agreed, with subrogation)."""
    done = []
    companies = {}
    for data in COMPANIES:
        company = db.session.scalar(select(Company).where(Company.siret == data["siret"]))
        if company is None:
            company = save_company(None, data)
            db.session.flush()
            save_contact(company, None, CONTACTS[data["siret"]])
            done.append(f"Entreprise « {company.name} » créée.")
        companies[data["siret"]] = company
    for slug, person, siret, decision, funding in ENROLMENTS:
        session = sessions.get(slug)
        if session is None:
            continue
        trainee = find_or_create_trainee({**person, "company_id": companies[siret].id if siret else None,
                                          "consent": True})
        db.session.flush()
        already = db.session.scalar(select(Enrolment.id).where(Enrolment.session_id == session.id,
                                                               Enrolment.trainee_id == trainee.id))
        if already is not None:
            continue
        enrolment = enrol(session, trainee, company=companies[siret] if siret else None, actor=advisor, notify=False)
        if decision:
            record_decision(enrolment, decision, "", advisor)
        for line in funding:
            dates = {}
            if line.get("opco_status") in ("requested", "agreed"):
                dates["requested_on"] = today - dt.timedelta(days=20)
            if line.get("opco_status") == "agreed":
                dates["agreed_on"] = today - dt.timedelta(days=6)
            save_funding_line(enrolment, None, {**line, **dates}, advisor)
        done.append(f"{trainee.full_name} inscrit(e) à « {session.title} » : {enrolment.status_label.lower()}.")
    return done
