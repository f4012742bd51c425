"""One function per document type builds its context from the database (variables: catalogue.py).

Contexts are plain data (dicts, lists, French-formatted strings) so that they can be stored as JSON with
the document; images (logo, drawn signatures, QR code) are ``Picture`` values, turned into docxtpl
InlineImages at rendering time and stored as their SHA-256.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import io
from dataclasses import dataclass
from decimal import Decimal

import segno
from flask import current_app
from sqlalchemy import select

from ...attendance import services as attendance
from ...attendance.chain import verify_chain
from ...attendance.models import CellStatus
from ...attendance.reports import integrity as report_integrity
from ...attendance.reports.formats import SOURCES
from ...catalogue.models import DELIVERY_MODES
from ...companies.models import Company
from ...core import sealkeys
from ...core.formatting import count_fr, date_fr, date_long_fr, datetime_fr, hours_fr, money_fr, number_fr, time_fr
from ...core.identifiers import format_nda, format_siret
from ...core.numbers import money
from ...core.timeutil import paris_today
from ...enrolments.models import PUBLIC_FUNDER_CATEGORIES, SEAT_HOLDING, Enrolment, EnrolmentStatus, FundingKind
from ...evaluations.acquis import services as acquis
from ...extensions import db
from ...files.services import path_for
from ...organisation.models import VAT_EXEMPTION_MENTION
from ...organisation.services import get_organisation
from ...resources.models import RATE_UNITS, TRAINER_STATUSES, Trainer, TrainerStatus
from ...sessions.modality import delivery_fields, distance_wording, modality_lines
from ...sessions.models import REMOTE_MODALITIES, Slot, SlotModality, TrainingSession

EXEMPTION = "Exonération de TVA, article 261-4-4°-a du code général des impôts"
RETENTION = ("Le dispensateur de l'action s'engage à conserver l'ensemble des pièces justificatives qui ont permis "
             "d'établir le présent certificat pendant une durée de 3 ans à compter de la fin de l'année du dernier "
             "paiement. En cas de cofinancement des fonds européens, la durée de conservation est étendue "
             "conformément aux obligations conventionnelles spécifiques.")
NATURES = ("Action de formation", "Bilan de compétences", "Action de validation des acquis de l'expérience",
           "Action de formation par apprentissage")
CONTRACT_WITHDRAWAL_DAYS = 10
CONTRACT_MAX_ADVANCE_PERCENT = 30
CONTRACT_SANCTION = ("une attestation de fin de formation (article L6353-1 du Code du travail), précisant les objectifs, "
                     "la nature et la durée de l'action et les résultats de l'évaluation des acquis, et un "
                     "certificat de réalisation")


@dataclass(frozen=True)
class Picture:
    data: bytes
    width_mm: float

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def _field_items(value) -> list[str]:
    """A course field's items: a list's non-empty ones (e.g. the assessment methods), or a text alone."""
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value if v]
    return [str(value)] if value else []


def _field_lines(value) -> str:
    """A course field as text: lists one item per line."""
    return "\n".join(_field_items(value))


def _hours(value: Decimal) -> str:
    return hours_fr(value) if value else "0 h"


def org_context() -> dict:
    org = get_organisation()
    logo = ""
    if org.logo is not None:
        try:
            logo = Picture(path_for(org.logo).read_bytes(), 35)
        except OSError:
            logo = ""
    quality = ", ".join(p for p in (org.quality_contact_name, (org.quality_contact_title or "").lower()) if p)
    quality_reach = " – ".join(p for p in (quality, org.quality_contact_phone or org.phone, org.quality_contact_email) if p)
    disability = " – ".join(p for p in (org.disability_contact_name, org.disability_contact_phone,
                                        org.disability_contact_email) if p)
    qualiopi = (f"Certifié Qualiopi n° {org.qualiopi_number} au titre des actions de formation"
                if org.qualiopi_number else "")
    vat = EXEMPTION if org.vat_exempt else "TVA au taux de 20 %"
    return {
        "name": org.name, "legal_form": org.legal_form or "", "address": org.full_address,
        "siret": format_siret(org.siret) if org.siret else "", "nda": org.nda or "",
        "nda_mention": org.nda_mention, "vat_mention": vat, "qualiopi": qualiopi,
        "email": org.email or "", "phone": org.phone or "", "signatory_name": org.signatory_name or "",
        "signatory_title": org.signatory_title or "", "city": org.city or "",
        "quality_contact": quality_reach, "disability_contact": disability,
        "mediator": org.consumer_mediator or "", "internal_rules": org.internal_rules or "",
        "payment_terms": org.payment_terms or "", "cancellation_terms": org.cancellation_terms or "",
        "logo": logo,
    }


def course_context(session: TrainingSession) -> dict:
    return course_version_context(session.course_version, session.price_per_trainee)


def course_version_context(version, session_price: Decimal | None = None) -> dict:
    """A course version's context (a quote for an intra session has no session yet); ``session_price`` stands in
    for a version without a price."""
    org = get_organisation()
    programme = []
    for part in version.programme:
        when = []
        if part.day:
            when.append(f"Jour {part.day}")
        if part.half_day:
            when.append("matin" if part.half_day == "morning" else "après-midi")
        programme.append({"title": part.title, "when": ", ".join(when), "points": list(part.items or [])})
    price = version.price_per_trainee if version.price_per_trainee is not None else session_price
    return {
        "title": version.title,
        "objectives": [objective.text for objective in version.objectives],
        "programme": programme,
        "duration": _hours(version.duration_hours),
        "audience": version.audience_label,
        "prerequisites": "Aucun" if version.prerequisites_none else (version.prerequisites or "Aucun"),
        "teaching_methods": version.teaching_methods or "",
        "assessment_methods": _field_lines(version.assessment_methods),
        "trainer_competences": version.trainer_competences or "",
        "material_resources": version.material_resources or "",
        "what_to_bring": version.what_to_bring or "",
        "accessibility": version.accessibility or org.accessibility_policy or "",
        "access_delay": version.access_delay or org.access_delay_policy or "",
        "delivery_mode": DELIVERY_MODES.get(version.delivery_mode, version.delivery_mode),
        "version": f"version {version.number} du {date_fr(version.frozen_at or version.created_at)}",
        "price": f"{money_fr(price)} HT par stagiaire" if price is not None else "sur devis",
    }


def session_context(session: TrainingSession, trainees_count: int | None = None) -> dict:
    location = session.location
    if location is None:
        place, access = "à définir", ""
    elif location.is_remote:
        place, access = "à distance (classe virtuelle)", location.meeting_url or ""
    else:
        place, access = f"{location.name}, {location.full_address}", location.access_notes or ""
    slots = sorted(session.slots, key=lambda s: (s.date, s.start_time))
    if trainees_count is None:
        trainees_count = len(attendance.expected_enrolments(session))
    return {
        "reference": f"S-{session.first_date.year if session.first_date else 0}-{session.id:04d}",
        "dates": session.dates_label, "first_date": date_fr(session.first_date), "last_date": date_fr(session.last_date),
        "place": place, "access_notes": access, "hours": _hours(session.planned_hours),
        "slots": [_slot_line(s) for s in slots],
        "trainers": ", ".join(t.full_name for t in session.trainers),
        # L6353-4, 4°: each trainer with the titles, diplomas and references of their record.
        "trainer_details": [{"name": t.full_name, "competences": (t.competences or "").strip()}
                            for t in sorted(session.trainers, key=lambda t: (t.last_name, t.first_name))],
        # D6353-1: the room's equipment and the course's own means, never printed empty (missing_mentions).
        "material_resources": "\n".join(p for p in (
            (location.equipment or "").strip() if location is not None else "",
            (session.course_version.material_resources or "").strip()) if p),
        "trainees_count": str(trainees_count),
    }


def _slot_line(slot: Slot) -> dict:
    """A half-day of session.slots: when, and how it is delivered (the link of a virtual classroom, what the trainee
    does in an asynchronous activity; "" otherwise)."""
    return {"date": date_fr(slot.date), "half_day": slot.half_day_label, "start": time_fr(slot.start_time),
            "end": time_fr(slot.end_time), "hours": _hours(slot.hours), **delivery_fields(slot)}


def distance_context(session: TrainingSession) -> dict | None:
    """What the convention, the contract and the programme say of an action carried out wholly or partly at a
    distance (Code du travail D6313-3-1; L6353-4, 3°): the technical and pedagogical assistance (the organisation's
    text), each remote half-day with its estimated duration (an asynchronous activity's text, a virtual classroom's
    times, never its link: it changes, and a signed document outlives it), the hours at a distance and the evaluations.
    None for a session held wholly in the room: its documents read as before."""
    remote = sorted((s for s in session.slots if s.modality in REMOTE_MODALITIES), key=lambda s: (s.date, s.start_time))
    if not remote:
        return None
    activities, quizzes = [], []
    for slot in remote:
        start, end = time_fr(slot.start_time), time_fr(slot.end_time)
        virtual = slot.modality == SlotModality.VIRTUAL.value
        trainer = slot.trainer.full_name if slot.trainer is not None else "le formateur"
        description = f"classe virtuelle de {start} à {end}, animée par {trainer}" if virtual else (slot.activity or "")
        activities.append({"date": date_fr(slot.date), "half_day": slot.half_day_label,
                           "modality_label": slot.modality_label, "start": start, "end": end,
                           "hours": _hours(slot.hours), "description": description})
        if not virtual and slot.quiz is not None:
            quizzes.append(f"Quiz d'évaluation des acquis « {slot.quiz.title} » (activité asynchrone du "
                           f"{date_fr(slot.date)})")
    evaluations = _field_items(session.course_version.assessment_methods)
    return {"applies": True, "wording": distance_wording(slot.modality for slot in session.slots),
            "assistance": get_organisation().remote_assistance or "", "activities": activities,
            "total": _hours(sum((s.hours for s in remote), Decimal("0"))), "evaluations": evaluations + quizzes}


def _with_distance(context: dict, session: TrainingSession) -> dict:
    """``context`` with its ``distance`` block when the session has half-days at a distance (none otherwise: the
    stored context of a room-only session is the one it had before, and its documents show no change)."""
    distance = distance_context(session)
    if distance is not None:
        context["distance"] = distance
    return context


def _trainee(enrolment: Enrolment) -> dict:
    trainee = enrolment.trainee
    company = enrolment.company or trainee.company
    return {"full_name": trainee.display_name, "first_name": trainee.first_name, "last_name": trainee.last_name,
            "email": trainee.email, "company": company.name if company else "—", "job_title": trainee.job_title or ""}


def _base(session: TrainingSession, number: str, trainees_count: int | None = None) -> dict:
    return {"today": date_fr(paris_today()), "document": {"number": number}, "org": org_context(),
            "course": course_context(session), "session": session_context(session, trainees_count)}


def _funding(enrolments: list[Enrolment]) -> list[dict]:
    lines = []
    for enrolment in enrolments:
        for line in enrolment.funding_lines:
            details = []
            if line.kind == FundingKind.OPCO.value:
                payer = line.opco_name or "OPCO"
                if line.subrogation:
                    details.append("subrogation de paiement")
                if line.opco_file_number:
                    details.append(f"dossier n° {line.opco_file_number}")
            elif line.kind == FundingKind.PUBLIC_BUYER.value:
                payer = line.payer_company.name if line.payer_company else "Acheteur public"
                if line.service_code:
                    details.append(f"code service {line.service_code}")
                if line.engagement_number:
                    details.append(f"engagement n° {line.engagement_number}")
            elif line.kind == FundingKind.INDIVIDUAL.value:
                payer = enrolment.trainee.full_name
            else:
                payer = (line.payer_company or enrolment.company or enrolment.trainee.company)
                payer = payer.name if payer else "Entreprise"
            lines.append({"payer": payer, "amount": money_fr(line.amount),
                          "details": ", ".join([enrolment.trainee.full_name] + details)})
    return lines


def _price(enrolments: list[Enrolment]) -> dict:
    if not enrolments:
        return {"unit_excl_vat": money_fr(Decimal("0")), "total_excl_vat": money_fr(Decimal("0")),
                "vat": money_fr(Decimal("0")), "total_incl_vat": money_fr(Decimal("0")),
                "vat_mention": org_context()["vat_mention"]}
    excl = sum((e.price_excl_vat for e in enrolments), Decimal("0.00"))
    incl = sum((e.price_incl_vat for e in enrolments), Decimal("0.00"))
    rate = enrolments[0].vat_rate
    mention = EXEMPTION if rate == 0 else f"TVA au taux de {str(rate.normalize()).replace('.', ',')} %"
    return {"unit_excl_vat": money_fr(enrolments[0].price_excl_vat), "total_excl_vat": money_fr(excl),
            "vat": money_fr(incl - excl), "total_incl_vat": money_fr(incl), "vat_mention": mention}


def client_enrolments(session: TrainingSession, company: Company) -> list[Enrolment]:
    return [e for e in attendance_or_live(session) if (e.company_id or e.trainee.company_id) == company.id]


def admitted_client_enrolments(session: TrainingSession, company: Company) -> list[Enrolment]:
    """The company's trainees a convention names and bills: not those still awaiting the prerequisite decision
    (they may be redirected; the convention is made again once they are admitted)."""
    pending = EnrolmentStatus.PENDING_PREREQUISITE.value
    return [e for e in client_enrolments(session, company) if e.status != pending]


def attendance_or_live(session: TrainingSession) -> list[Enrolment]:
    """The enrolments a document names: confirmed (or assessed) ones, then the ones still pending."""
    return list(db.session.scalars(select(Enrolment).where(
        Enrolment.session_id == session.id, Enrolment.status.in_(SEAT_HOLDING)).order_by(Enrolment.id)))


def client_context(company: Company) -> dict:
    signatory = next((c for c in company.contacts if c.role == "signatory"), None)
    return {"name": company.name, "siret": format_siret(company.siret) if company.siret else "",
            "address": ", ".join(p for p in (company.address, f"{company.postal_code} {company.city}".strip()) if p),
            "signatory": ", ".join(p for p in (signatory.name, signatory.job_title) if p) if signatory else "",
            "opco": company.opco or ""}


def convention(session: TrainingSession, company: Company, number: str) -> dict:
    return _with_distance(_client_document(session, company, number, admitted_client_enrolments(session, company)),
                          session)


def _client_document(session: TrainingSession, company: Company, number: str, enrolments: list[Enrolment]) -> dict:
    context = _base(session, number, len(enrolments))
    context.update(client=client_context(company), price=_price(enrolments), funding=_funding(enrolments),
                   trainees=[_trainee(e) for e in enrolments])
    return context


QUOTE_VALIDITY_DAYS = 30


def quote(session: TrainingSession, company: Company, number: str) -> dict:
    """A quote for a session's client company, made from the documents page (the quotes with a number, status and
    validity are quotes/document.py's, with the same ``quote`` keys). It may name trainees still awaiting the
    prerequisite decision (an OPCO asks for it beforehand)."""
    enrolments = client_enrolments(session, company)
    context = _client_document(session, company, number, enrolments)
    count = len(enrolments) or 1
    unit = enrolments[0].price_excl_vat if enrolments else (session.price_per_trainee or Decimal("0"))
    rate = enrolments[0].vat_rate if enrolments else (Decimal("0") if get_organisation().vat_exempt else Decimal("20"))
    signatory = next((c for c in company.contacts if c.role == "signatory"), None)
    today = paris_today()
    line = {"label": f"{session.title} – session {session.dates_label}", "quantity": str(count),
            "unit": money_fr(unit), "total": money_fr(money(unit * count))}
    context["quote"] = quote_block(
        number=number, date=today, valid_until=today + dt.timedelta(days=QUOTE_VALIDITY_DAYS),
        kind="Places en session inter-entreprises",
        contact={"name": signatory.name if signatory else "", "email": (signatory.email or "") if signatory else "",
                 "phone": (signatory.phone or "") if signatory else ""},
        details=quote_session_details(session), lines=[line], total_excl_vat=money(unit * count), vat_rate=rate)
    return context


def quote_block(*, number: str, date: dt.date, valid_until: dt.date, kind: str, contact: dict, details: list[dict],
                lines: list[dict], total_excl_vat: Decimal, vat_rate: Decimal, conditions: str = "") -> dict:
    """The ``quote`` of a quote's context (catalogue.QUOTE): totals and the VAT mention as invoices print them."""
    vat = money(total_excl_vat * vat_rate / 100)
    days = (valid_until - date).days
    return {
        "number": number, "date": date_fr(date), "valid_until": date_fr(valid_until),
        "validity": f"{count_fr(days, 'jour')}, jusqu'au {date_fr(valid_until)}" if days > 0
        else f"jusqu'au {date_fr(valid_until)}",
        "kind": kind, "contact": contact, "details": details, "lines": lines,
        "totals": {"excl_vat": money_fr(total_excl_vat), "vat": money_fr(vat),
                   "incl_vat": money_fr(total_excl_vat + vat)},
        "vat_mention": vat_mention(vat_rate), "conditions": conditions,
    }


def vat_mention(rate: Decimal) -> str:
    """The exemption's mention as invoices print it (0 %), else the rate."""
    if not rate:
        return VAT_EXEMPTION_MENTION
    return f"TVA au taux de {number_fr(rate)} %"


def quote_session_details(session: TrainingSession) -> list[dict]:
    """What a quote for seats says of its session: reference, dates, hours and times, place."""
    context = session_context(session, trainees_count=0)
    times = []
    for slot in context["slots"]:
        span = f"{slot['start']}–{slot['end']}"
        if span not in times:
            times.append(span)
    return [{"label": "Session", "value": context["reference"]},
            {"label": "Dates", "value": context["dates"]},
            {"label": "Durée", "value": context["hours"] + (f" ({', '.join(times)})" if times else "")},
            {"label": "Lieu", "value": context["place"]}]


def contract(enrolment: Enrolment, number: str) -> dict:
    """The individual's contrat de formation (L6353-3 to L6353-7): none of the company clauses (no dédit, no
    replacement, no OPCO subrogation, no payment at 30 days)."""
    context = _base(enrolment.session, number)
    price = _price([enrolment])
    advance = (enrolment.price_incl_vat * CONTRACT_MAX_ADVANCE_PERCENT / 100).quantize(Decimal("0.01"))
    context.update(trainee=_trainee(enrolment), price=price, funding=_funding([enrolment]),
                   contract={"withdrawal_days": str(CONTRACT_WITHDRAWAL_DAYS),
                             "max_advance_percent": str(CONTRACT_MAX_ADVANCE_PERCENT), "advance": money_fr(advance),
                             "sanction": CONTRACT_SANCTION})
    return _with_distance(context, enrolment.session)


# --------------------------------------------------------------------------- a subcontracting trainer's contract

SUBCONTRACT_PAYMENT_TERMS = (
    "Le sous-traitant facture la mission à son terme, en rappelant la référence de la session et le numéro du présent "
    "contrat. La facture est payée par virement dans les 30 jours de sa réception, sous réserve de la remise des "
    "feuilles d'émargement complètes et contresignées. Seules les demi-journées réalisées sont dues.")
ATTENDANCE_CLAUSE = (
    "Le sous-traitant fait signer par chaque stagiaire, pour chaque demi-journée, la feuille d'émargement de "
    "l'organisme (par lien personnel, QR code de la salle ou sur son appareil), y consigne les absences, retards et "
    "départs anticipés, et la contresigne à la fin de chaque demi-journée. Ces feuilles justifient l'exécution de "
    "l'action auprès du client et des financeurs : la mission n'est payée que sur leur base.")
QUALITY_CLAUSE = (
    "L'organisme étant certifié Qualiopi, il s'assure que le sous-traitant respecte le référentiel national qualité "
    "(indicateur 27). Le sous-traitant lui transmet son CV, ses diplômes et les justificatifs de ses compétences et "
    "de leur actualisation (indicateurs 21 et 22) ; il suit le programme, les modalités de positionnement et "
    "d'évaluation des acquis convenus et en conserve les traces ; il remplit le bilan du formateur ; il signale sans "
    "délai toute difficulté, réclamation ou aléa (indicateur 31) et se prête aux audits de l'organisme et de son "
    "certificateur.")
CONFIDENTIALITY_CLAUSE = (
    "Le sous-traitant garde confidentiels les informations et documents reçus pour la mission. Il ne traite les "
    "données personnelles des stagiaires (identité, présence, évaluations) que pour l'exécution de la mission et sur "
    "instruction de l'organisme, responsable du traitement, en qualité de sous-traitant au sens de l'article 28 du "
    "règlement (UE) 2016/679 (RGPD) : il en assure la sécurité et la confidentialité, ne les réutilise pas et ne "
    "les transmet à aucun tiers, les restitue ou les supprime à la fin de la mission, aide l'organisme à répondre "
    "aux demandes des personnes et lui notifie sans délai toute violation de données.")
RESPONSIBILITY_CLAUSE = (
    "L'organisme de formation demeure seul responsable de l'action de formation à l'égard du client et des "
    "financeurs : il conclut seul la convention ou le contrat de formation, délivre les attestations et les "
    "certificats de réalisation et facture le client. Le sous-traitant n'a aucun lien contractuel avec le client ; "
    "il exécute la mission en toute indépendance, sans lien de subordination avec l'organisme.")
VAT_CLAUSE = "Montants hors taxes ; la TVA s'applique selon le régime du sous-traitant (mention portée sur sa facture)."


@dataclass(frozen=True)
class Mission:
    """What a trainer does in a session, and what it costs at their rate: ``amount`` is None without a rate."""

    slots: list[Slot]
    hours: Decimal
    quantity: Decimal  # hours, or days (two half-days make a day) for a rate per day
    unit: str  # "hour" or "day"
    rate: Decimal | None
    amount: Decimal | None


def trainer_slots(session: TrainingSession, trainer: Trainer) -> list[Slot]:
    """The half-days a trainer teaches in a session: their own, and those without a trainer when they are one of the
    session's trainers (as the BPF counts them)."""
    in_session = any(t.id == trainer.id for t in session.trainers)
    return sorted((s for s in session.slots if s.trainer_id == trainer.id or (s.trainer_id is None and in_session)),
                  key=lambda s: (s.date, s.start_time))


def trainer_mission(session: TrainingSession, trainer: Trainer) -> Mission:
    """The trainer's half-days, hours and amount excluding VAT. Decision: a rate per day counts each half-day as half a
    day, whatever its length (the usual practice); a rate per hour counts the hours of the half-days."""
    slots = trainer_slots(session, trainer)
    hours = sum((s.hours for s in slots), Decimal("0"))
    unit = trainer.rate_unit if trainer.rate_unit in RATE_UNITS else "hour"
    quantity = hours if unit == "hour" else Decimal(len(slots)) / 2
    amount = None if trainer.rate is None else (trainer.rate * quantity).quantize(Decimal("0.01"))
    return Mission(slots, hours, quantity, unit, trainer.rate, amount)


def _dates(days: list[dt.date]) -> str:
    if not days:
        return "dates à définir"
    first, last = min(days), max(days)
    return f"le {date_fr(first)}" if first == last else f"du {date_fr(first)} au {date_fr(last)}"


def mission_quantity(mission: Mission) -> str:
    if mission.unit == "hour":
        return hours_fr(mission.quantity).replace(" h", " heures") if mission.quantity else "0 heure"
    days = mission.quantity.normalize()
    return f"{str(days).replace('.', ',')} journée{'s' if days >= 2 else ''}"


def trainer_contract(session: TrainingSession, trainer: Trainer, number: str) -> dict:
    """The contrat de sous-traitance (an organisation) or lettre de mission (an independent trainer) of a trainer
    for a session: the parties with their SIRET and NDA, the trainer's half-days, the rate and the total, the
    payment terms and the subcontractor's obligations (attendance, Qualiopi evidence, confidentiality and GDPR, the
    organisation remaining responsible to the client)."""
    context = _base(session, number)
    mission = trainer_mission(session, trainer)
    organisation = trainer.status == TrainerStatus.ORGANISATION.value
    unit = RATE_UNITS.get(mission.unit, "")
    context.update(
        contract={"title": "Contrat de sous-traitance" if organisation else "Lettre de mission"},
        subcontractor={
            "name": (trainer.company_name if organisation else None) or trainer.full_name,
            "status": TRAINER_STATUSES.get(trainer.status, trainer.status),
            "siret": format_siret(trainer.company_siret) if trainer.company_siret else "",
            "nda": format_nda(trainer.nda), "address": trainer.address or "", "trainer": trainer.full_name,
            "email": trainer.email or "", "competences": (trainer.competences or "").strip(),
        },
        mission={
            "dates": _dates([s.date for s in mission.slots]),
            "slots": [{"date": date_fr(s.date), "half_day": s.half_day_label, "start": time_fr(s.start_time),
                       "end": time_fr(s.end_time), "hours": _hours(s.hours)} for s in mission.slots],
            "hours": _hours(mission.hours),
            "rate": f"{money_fr(mission.rate)} HT {unit}" if mission.rate is not None else "",
            "quantity": mission_quantity(mission),
            "total": money_fr(mission.amount) if mission.amount is not None else "",
            "total_value": str(mission.amount) if mission.amount is not None else "",
            "payment_terms": SUBCONTRACT_PAYMENT_TERMS,
        },
        clauses={"attendance": ATTENDANCE_CLAUSE, "quality": QUALITY_CLAUSE,
                 "confidentiality": CONFIDENTIALITY_CLAUSE, "responsibility": RESPONSIBILITY_CLAUSE,
                 "vat": VAT_CLAUSE},
    )
    return context


def missing_mentions(doc_type: str, context: dict) -> list[str]:
    """What a convention or a contract would print empty, in French: such a document is not issued until the data
    is completed (as an invoice's mandatory mentions)."""
    if doc_type == "trainer_contract":
        return _missing_contract_mentions(context)
    if doc_type not in ("convention", "contract"):
        return []
    missing = []
    session = context["session"]
    if not session["trainer_details"]:
        missing.append("aucun formateur n'est affecté à la session (Sessions → modifier)")
    for trainer in session["trainer_details"]:
        if not trainer["competences"]:
            missing.append(f"titres et qualifications de {trainer['name']} (Ressources → Formateurs : "
                           "« Compétences, diplômes, références »)")
    if doc_type == "convention" and not session["material_resources"]:
        missing.append("moyens matériels : équipement de la salle (Ressources → Lieux) ou moyens matériels de la "
                       "formation (Catalogue)")
    if not context["org"]["nda"]:
        missing.append("numéro de déclaration d'activité de l'organisme (Administration → Organisme)")
    if context.get("distance") and not context["distance"]["assistance"]:
        missing.append("assistance technique et pédagogique à distance de l'article D6313-3-1 du Code du travail "
                       "(Administration → Organisme)")
    return missing


def _missing_contract_mentions(context: dict) -> list[str]:
    """What a subcontracting contract would print empty: both parties' SIRET and NDA, the trainer's half-days, the
    rate and the total (the record's own gaps are refused before, resources.dossier.contract_problems)."""
    missing = []
    if not context["org"]["siret"]:
        missing.append("SIRET de l'organisme (Administration → Organisme)")
    if not context["org"]["nda"]:
        missing.append("numéro de déclaration d'activité de l'organisme (Administration → Organisme)")
    for key, label in (("siret", "SIRET du sous-traitant"), ("nda", "numéro de déclaration d'activité du "
                                                                     "sous-traitant")):
        if not context["subcontractor"][key]:
            missing.append(f"{label} (Ressources → Formateurs)")
    if not context["mission"]["slots"]:
        missing.append("demi-journées du formateur (Sessions → modifier)")
    if not context["mission"]["total"]:
        missing.append("tarif du formateur (Ressources → Formateurs)")
    return missing


def convocation(enrolment: Enrolment, number: str) -> dict:
    return trainee_document(enrolment, number)


def trainee_document(enrolment: Enrolment, number: str) -> dict:
    """What a document about one trainee starts from: the organisation, the course, the session and the trainee."""
    context = _base(enrolment.session, number)
    context["trainee"] = _trainee(enrolment)
    return context


def programme(session: TrainingSession, number: str) -> dict:
    return _with_distance(_base(session, number), session)


REPRESENTATION_HOURS = Decimal(500)  # R6352-9: delegates are elected for actions of more than 500 hours


def internal_rules(session: TrainingSession, number: str) -> dict:
    """The règlement intérieur handed to the session's trainees; whether its trainees elect delegates depends
    on the action's length (R6352-9 to R6352-15)."""
    context = _base(session, number)
    hours, title = context["session"]["hours"], context["course"]["title"]
    if (session.planned_hours or 0) > REPRESENTATION_HOURS:
        representation = (f"L'action « {title} » dure {hours}, soit plus de 500 heures : l'élection d'un délégué "
                          "titulaire et d'un délégué suppléant des stagiaires y est organisée (articles R6352-9 à "
                          "R6352-15 du Code du travail).")
    else:
        representation = (f"L'action « {title} » dure {hours}, soit 500 heures ou moins : les articles R6352-9 "
                          "à R6352-15 du Code du travail (élection de délégués des stagiaires) ne s'appliquent pas.")
    context["rules"] = {"representation": representation}
    return context


def _attended(enrolment: Enrolment) -> dict:
    grid = attendance.session_grid(enrolment.session)
    row = grid.row(enrolment.id)
    days = [cell.slot.date for cell in row.cells if cell.minutes] if row else []
    hours = enrolment.hours_attended if enrolment.hours_attended is not None else (row.hours if row else Decimal(0))
    return {"hours": _hours(hours), "first_date": date_fr(min(days)) if days else "—",
            "last_date": date_fr(max(days)) if days else "—",
            **by_modality(row.minutes_by_modality if row is not None else {})}


def by_modality(minutes: dict[str, int]) -> dict:
    """The hours attended per modality and the ministry model's wording (« Action réalisée en partie à distance »),
    from the minutes of the half-days the trainee attended (Row.minutes_by_modality): ``modalities``,
    ``by_modality``, ``distance``, as the attestation, the certificate and France Travail's attestation de présence
    print them. All empty when every hour attended was in the room: a room-only document reads as before."""
    wording = distance_wording(minutes)
    if not wording:
        return {"modalities": [], "by_modality": "", "distance": ""}
    lines = [{"label": line["label"], "hours": hours_fr(line["hours"]), "text": line["text"]}
             for line in modality_lines(minutes)]
    texts = [line["text"] for line in lines]
    joined = texts[0] if len(texts) == 1 else ", ".join(texts[:-1]) + " et " + texts[-1]
    return {"modalities": lines, "by_modality": joined, "distance": wording}


def attestation(enrolment: Enrolment, number: str) -> dict:
    context = _base(enrolment.session, number)
    context.update(trainee=_trainee(enrolment), attendance=_attended(enrolment), nature=NATURES[0],
                   results=acquis.results_text(enrolment))
    return context


def certificate(enrolment: Enrolment, number: str, code: str, url: str) -> dict:
    context = attestation(enrolment, number)
    context.update(nature_boxes=[{"label": n, "box": "☒" if i == 0 else "☐"} for i, n in enumerate(NATURES)],
                   verification=_verification(code, url), retention=RETENTION)
    return context


def attendance_sheet(session: TrainingSession, number: str, code: str, url: str) -> dict:
    context = _base(session, number)
    records = attendance.session_records(session.id, with_images=True)  # read once: the grid and the pictures
    grid = attendance.build_grid(session, attendance.expected_enrolments(session), records,
                                 planned=attendance.planned_absences_of([session.id]))
    images = {r.id: r.image for r in records if r.image}
    # A session not held wholly in the room names each half-day's modality and the evidence of the remote ones
    # (issue 27); a room-only session's sheet reads exactly as before.
    mixed = any(slot.modality != SlotModality.ROOM.value for slot in grid.slots)
    reports = _reports_by_slot(session) if mixed else {}
    slots = []
    for slot in grid.slots:
        rows = [_sheet_row(enrolment, cell, images) for enrolment, cell in grid.column(slot.id)]
        counter = grid.countersignatures.get(slot.id)
        trainer_signature = ""
        if counter is not None:
            trainer_signature = _signature_shown(counter, images)
        label = (f"{date_long_fr(slot.date).capitalize()}, {slot.half_day_label.lower()} "
                 f"({time_fr(slot.start_time)}–{time_fr(slot.end_time)})")
        slots.append({
            "label": f"{label} – {slot.modality_label}" if mixed else label,
            "date": date_fr(slot.date), "half_day": slot.half_day_label, "start": time_fr(slot.start_time),
            "end": time_fr(slot.end_time), "rows": rows,
            "modality_label": slot.modality_label if mixed else "",
            "evidence": _slot_evidence(slot, reports.get(slot.id, [])),
            "trainer": counter.signer_name if counter is not None and counter.signer_name else ", ".join(
                t.full_name for t in session.trainers),
            "trainer_signature": trainer_signature or "non signée",
            "trainer_signed_at": datetime_fr(counter.created_at) if counter is not None else "",
        })
    context["sheet"] = {"slots": slots, **sheet_seal(session)}
    context["verification"] = _verification(code, url)
    return context


def _signature_shown(record, images: dict[int, bytes]):
    """A signature on the sheet: its drawing (30 mm wide), or the text standing for it (typed, erased…)."""
    return Picture(images[record.id], 30) if record.id in images else record.signature_label


def _sheet_row(enrolment: Enrolment, cell: attendance.Cell, images: dict[int, bytes]) -> dict:
    """A trainee's line of a half-day on the sheet: the signature (the time declared for an asynchronous activity),
    its time and method, and the observations: late arrival, early departure, corrections, justification, and for
    a distance half-day the evidence the grid shows (Cell.remote_notes) with the second signature's time."""
    signature, signed_at, method, second = "", "", "", ""
    declaration = next((r for r in reversed(cell.records) if r.kind == "declaration"), None)
    if cell.signature is not None:
        record = cell.signature
        signature = _signature_shown(record, images)
        signed_at = datetime_fr(record.created_at)
        method = f"{record.method_label}, {record.mode_label}"
    elif declaration is not None:
        signature = f"{attendance.duration_fr(declaration.minutes)} déclarées"
        signed_at = datetime_fr(declaration.created_at)
        method = f"{declaration.method_label}, temps déclaré"
    if cell.check is not None:
        second = _signature_shown(cell.check, images)
    notes = []
    if cell.late:
        notes.append(f"arrivé(e) à {time_fr(cell.arrived_at)}")
    if cell.left_early:
        notes.append(f"parti(e) à {time_fr(cell.left_at)}")
    if cell.check is not None:
        notes.append(f"seconde signature le {datetime_fr(cell.check.created_at)}")
    notes += [text for code, text, _ in cell.remote_notes if code != "declared" or declaration is None]
    for record in cell.records:
        if record.kind == "correction":
            notes.append(f"correction du {datetime_fr(record.created_at)} : {record.reason}")
    if cell.justification:
        notes.append(f"justificatif : {cell.justification}")
    status = cell.label + (" (justifiée)" if cell.status == CellStatus.ABSENT.value and cell.justification else "")
    return {"name": enrolment.trainee.full_name, "status": status, "signature": signature, "signed_at": signed_at,
            "method": method, "second_signature": second, "note": " ; ".join(notes)}


def _reports_by_slot(session: TrainingSession) -> dict[int, list]:
    found: dict[int, list] = {}
    for report in report_integrity.session_reports(session.id):
        found.setdefault(report.slot_id, []).append(report)
    return found


def _slot_evidence(slot: Slot, reports: list) -> str:
    """How the sheet proves a distance half-day (R6313-3): for a virtual classroom, the two signatures and each
    imported meeting report with its SHA-256 (its file may since have been erased at the end of retention); for an
    asynchronous activity, the time each trainee declared. "" in the room."""
    if slot.modality == SlotModality.VIRTUAL.value:
        text = ("Classe virtuelle : chaque stagiaire signe au début de la demi-journée puis à partir de son milieu "
                "(seconde signature) ; durée de connexion")
        if not reports:
            return text + " : aucun rapport de connexion importé."
        lines = []
        for report in reports:
            line = f"rapport {SOURCES.get(report.source, report.source)} importé le {datetime_fr(report.created_at)}"
            if report_integrity.is_erased(report):
                line += f", fichier effacé le {date_fr(report.erased_at)} à l'échéance de conservation"
            lines.append(f"{line}, empreinte SHA-256 {report.sha256}")
        return f"{text} d'après le rapport de connexion ({' ; '.join(lines)})."
    if slot.modality == SlotModality.ASYNC.value:
        return ("Activité asynchrone : temps déclaré par chaque stagiaire, retenu dans la limite de la durée de la "
                "demi-journée.")
    return ""


def sheet_seal(session: TrainingSession) -> dict:
    """What the attendance sheet says of its register: the chain's state, and the seal that pins it (the head's
    full hash, the key and its public part, the timestamp as it stands), so that a copy of the sheet can be
    checked against the register later, online with its code or offline with the public key."""
    check = verify_chain(session.id)
    chain = f"{check.label} ({count_fr(check.length, 'enregistrement')})"
    if not check.ok:
        where = f"enregistrement n° {check.broken_seq} : " if check.broken_seq else ""
        chain += f" – {where}{check.problem}"
    elif check.seal_summary:
        chain += f", {check.seal_summary}"
    last = check.seals[-1].seal if check.ok and check.seals else None
    key = sealkeys.active_key() if last is None else next(
        (k for k in sealkeys.load_keyring() if k.id == last.key_id), None)
    if last is None:
        head = "registre vide : aucun enregistrement à sceller" if not check.length else "aucun scellement valide"
        summary = head
        timestamp = ""
    else:
        head = last.head_hash
        summary = (f"registre scellé le {datetime_fr(last.sealed_at)} ({last.scope_label}) : enregistrements n° 1 "
                   f"à {last.length}, clé {last.key_id}")
        if last.tsa_time is not None:
            timestamp = f"horodaté le {datetime_fr(last.tsa_time)} par une autorité d'horodatage (RFC 3161)"
        elif current_app.config.get("TSA_URL"):
            timestamp = "horodatage RFC 3161 demandé à l'autorité : le code de vérification l'affiche une fois reçu"
        else:
            timestamp = "sans horodatage par une autorité tierce (aucune n'est configurée)"
    return {"chain": chain, "seal": {
        "head": head, "length": last.length if last is not None else 0, "summary": summary,
        "key_id": key.id if key is not None else "", "public_key": key.text if key is not None else "aucune clé",
        "timestamp": timestamp}}


def _verification(code: str, url: str) -> dict:
    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="png", scale=6, border=2)
    return {"code": f"{code[:4]}-{code[4:8]}-{code[8:]}", "url": url, "qr": Picture(buffer.getvalue(), 28)}


def seller_identity() -> dict:
    """The organisation's identity as an invoice states it (frozen into the invoice at issue: billing/invoices.py)."""
    org = get_organisation()
    siret = org.siret or ""
    return {
        "name": org.name or "", "legal_form": org.legal_form or "", "address": org.address or "",
        "postal_code": org.postal_code or "", "city": org.city or "", "country": "FR",
        "full_address": org.full_address, "siret": siret, "siren": siret[:9], "nda": org.nda or "",
        "nda_region": org.nda_region or "", "nda_mention": org.nda_mention, "vat_status": org.vat_status,
        "vat_exempt": org.vat_exempt, "vat_number": org.vat_number or "",
        "qualiopi": (f"Certifié Qualiopi n° {org.qualiopi_number} au titre des actions de formation"
                     if org.qualiopi_number else ""),
        "email": org.email or "", "phone": org.phone or "", "website": org.website or "",
        "iban": org.iban or "", "bic": org.bic or "",  # bank details for transfers (billing/transfer.py)
    }


def _siren(value: str) -> str:
    """812 345 676"""
    digits = (value or "")[:9]
    return f"{digits[:3]} {digits[3:6]} {digits[6:]}" if len(digits) == 9 else digits


def _rate(value: Decimal) -> str:
    return f"{number_fr(value)} %"


def funder_mention(inv) -> str:
    """The funder an invoice or credit note states (``invoice.opco``; the Factur-X notes say the same): an OPCO's
    subrogation, a self-employed fund's file (paid by the trainee, who claims the refund, or under subrogation),
    France Travail's AIF agreement, a public funder's convention or order; "" for another payer."""
    name, file = inv.opco_name or inv.buyer_name, inv.opco_file_number
    if inv.payer_kind == FundingKind.OPCO.value:
        parts = [f"Subrogation de paiement – {name}" + (f", dossier n° {file}" if file else "")]
        beneficiary = db.session.get(Company, inv.beneficiary_company_id) if inv.beneficiary_company_id else None
        if beneficiary is not None:
            parts.append(f"entreprise bénéficiaire : {beneficiary.name}"
                         + (f" (SIRET {format_siret(beneficiary.siret)})" if beneficiary.siret else ""))
        return " – ".join(parts)
    if inv.payer_kind == FundingKind.SELF_EMPLOYED_FUND.value:
        fund = f"Prise en charge {inv.opco_name}" + (f", dossier n° {file}" if file else "")
        if inv.payer_trainee_id is not None:
            return f"{fund} : le stagiaire règle la facture et en demande le remboursement au fonds"
        return f"{fund} : subrogation de paiement, le fonds règle directement l'organisme de formation"
    if inv.payer_kind == FundingKind.FRANCE_TRAVAIL.value:
        return ("Aide individuelle à la formation (AIF) – France Travail, référence de l'accord (devis AIF) : "
                f"{file or '—'}")
    if inv.payer_kind == FundingKind.PUBLIC_FUNDER.value:
        category = PUBLIC_FUNDER_CATEGORIES.get(inv.funder_category or "", "financeur public")
        return f"Financement public ({category}) – {name}" + (f", convention / commande n° {file}" if file else "")
    return ""


NO_TRANSFER = {"iban": "", "bic": "", "holder": "", "reference": "", "amount": "", "qr": ""}


def invoice(inv, seller: dict, number: str, transfer: dict | None = None) -> dict:
    """An invoice or a credit note (billing.models.Invoice): ``seller`` is the identity frozen at issue (or the
    organisation's current one for a draft's preview), ``number`` its number, ``transfer`` its bank details and EPC
    QR code when it is payable by transfer (billing/transfer.py ``document_part``; empty values otherwise)."""
    session = db.session.get(TrainingSession, inv.session_id)
    context = _base(session, number)
    vat_mention = _vat_mention(inv)
    context["org"].update(_seller_org(seller), vat_mention=vat_mention)
    credited = ""
    if inv.credited_invoice is not None:
        original = inv.credited_invoice
        credited = f"Avoir sur la facture n° {original.number} du {date_fr(original.issue_date)}"
    public = " – ".join(p for p in (f"Code service : {inv.service_code}" if inv.service_code else "",
                                    f"N° d'engagement : {inv.engagement_number}" if inv.engagement_number else "") if p)
    context.update({
        "invoice": {
            "title": "AVOIR" if inv.is_credit_note else "FACTURE", "number": number,
            "issue_date": date_fr(inv.issue_date) if inv.issue_date else date_fr(paris_today()),
            "due_date": date_fr(inv.due_date) if inv.due_date else "—",
            "service_period": _service_period(inv, session),
            "operation_category": "Prestation de services" if inv.operation_category == "services"
            else inv.operation_category,
            "credited": credited, "reason": inv.reason or "", "notes": inv.notes or "", "opco": funder_mention(inv),
            "public": public, "buyer_reference": inv.buyer_reference or "",
        },
        "buyer": _buyer(inv),
        "lines": [{"description": line.description, "quantity": number_fr(line.quantity), "unit": line.unit_label,
                   "unit_price": money_fr(line.unit_price_excl_vat), "vat_rate": _rate(line.vat_rate),
                   "vat_amount": money_fr(line.vat_amount), "total": money_fr(line.total_excl_vat)}
                  for line in inv.lines],
        "totals": {"excl_vat": money_fr(inv.total_excl_vat), "vat": money_fr(inv.total_vat),
                   "incl_vat": money_fr(inv.total_incl_vat)},
        "vat": {"mention": vat_mention},
        "terms": {"payment": inv.payment_terms or "", "late_penalties": seller.get("late_penalties", ""),
                  "recovery_indemnity": seller.get("recovery_indemnity", ""), "discount": seller.get("discount", "")},
        "transfer": transfer or dict(NO_TRANSFER),
    })
    return context


def _seller_org(seller: dict) -> dict:
    """The seller's identity as the invoice states it (frozen at issue)."""
    return {
        "name": seller.get("name", ""), "legal_form": seller.get("legal_form", ""),
        "address": seller.get("full_address", ""), "city": seller.get("city", ""),
        "siret": format_siret(seller["siret"]) if seller.get("siret") else "", "siren": _siren(seller.get("siren", "")),
        "nda": seller.get("nda", ""), "nda_mention": seller.get("nda_mention", ""),
        "vat_number": seller.get("vat_number", ""), "qualiopi": seller.get("qualiopi", ""),
        "email": seller.get("email", ""), "phone": seller.get("phone", ""),
    }


def _vat_mention(inv) -> str:
    """The exemption's mention, or the VAT rates of the lines."""
    rates = sorted({line.vat_rate for line in inv.lines})
    if inv.vat_exemption or not any(rates):
        return inv.vat_exemption or VAT_EXEMPTION_MENTION
    return "TVA au taux de " + ", ".join(_rate(r) for r in rates if r)


def _service_period(inv, session: TrainingSession) -> str:
    if inv.service_start and inv.service_end and inv.service_start != inv.service_end:
        return f"du {date_fr(inv.service_start)} au {date_fr(inv.service_end)}"
    return f"le {date_fr(inv.service_start or inv.service_end)}" if (inv.service_start or inv.service_end) \
        else session.dates_label


def _buyer(inv) -> dict:
    locality = " ".join(p for p in (inv.buyer_postal_code, inv.buyer_city) if p)
    address = ", ".join(p for p in (inv.buyer_address, locality,
                                    inv.buyer_country if inv.buyer_country not in ("", "FR") else "") if p)
    siret = inv.buyer_siret or ""
    return {"name": inv.buyer_name or "", "address": address, "siren": _siren(siret),
            "siret": format_siret(siret) if len(siret) == 14 else "", "vat_number": inv.buyer_vat_number or "",
            "email": inv.buyer_email or ""}


def to_json(value):
    """The context as stored with the document: pictures become their SHA-256."""
    if isinstance(value, Picture):
        return {"picture_sha256": value.sha256}
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime, Decimal)):
        return str(value)
    return value
