"""Model objects to the plain dicts the API schemas dump."""
from __future__ import annotations

from ..core.web import external_url

from ..catalogue.models import Course, CourseVersion
from ..catalogue.services import course_sheet
from ..companies.models import Company
from ..core.timeutil import PARIS
from ..enrolments.models import Enrolment
from ..organisation.models import Organisation
from ..sessions.models import Slot, TrainingSession
from ..sessions.services import PUBLIC_STATUSES, session_warnings
from ..trainees.models import Trainee


def course_summary(course: Course, version: CourseVersion | None = None) -> dict:
    version = version or course.current_version
    return {
        "slug": course.slug,
        "title": version.title,
        "tagline": version.tagline,
        "version": version.number,
        "version_date": version.created_at.astimezone(PARIS).date(),
        "duration_hours": version.duration_hours,
        "duration_days": version.duration_days,
        "audience_format": version.audience_format,
        "delivery_mode": version.delivery_mode,
        "price_per_trainee": version.price_per_trainee,
        "intra_group_price": version.intra_group_price,
        "min_trainees": version.min_trainees,
        "max_trainees": version.max_trainees,
        "url": external_url("public.course", slug=course.slug),
    }


def course_detail(course: Course, org: Organisation) -> dict:
    version = course.current_version
    sheet = course_sheet(version, org)
    return {
        **course_summary(course, version),
        "audience": version.audience,
        "prerequisites": version.prerequisites,
        "prerequisites_none": version.prerequisites_none,
        "objectives": [o.text for o in version.objectives],
        "programme": [
            {"title": p.title, "day": p.day, "half_day": p.half_day, "items": list(p.items or [])}
            for p in version.programme
        ],
        "teaching_methods": version.teaching_methods,
        "assessment_methods": list(version.assessment_methods or []),
        "trainer_competences": version.trainer_competences,
        "material_resources": version.material_resources,
        "accessibility": sheet["accessibility"],
        "accessibility_contact": sheet["accessibility_contact"],
        "access_delay": sheet["access_delay"],
        "location_text": version.location_text,
        "labels": [dict(label) for label in version.labels or []],
        "funding_notes": version.funding_notes,
    }


def slot_dict(slot: Slot) -> dict:
    return {
        "id": slot.id,
        "session_id": slot.session_id,
        "date": slot.date,
        "start_time": slot.start_time,
        "end_time": slot.end_time,
        "half_day": slot.half_day,
        "hours": slot.hours,
        "location_id": slot.location_id,
        "trainer_id": slot.trainer_id,
        "trainer_name": slot.trainer.full_name if slot.trainer else None,
    }


def session_dict(session: TrainingSession, taken: int, *, with_slots: bool = False, staff: bool = False) -> dict:
    location = session.location
    data = {
        "id": session.id,
        "course_slug": session.course.slug,
        "course_title": session.title,
        "course_version": session.course_version.number,
        "status": session.status,
        "status_label": session.status_label,
        "format": session.format,
        "delivery_mode": session.delivery_mode,
        "location": None if location is None else {
            "id": location.id, "name": location.name, "is_remote": location.is_remote,
            "address": location.address, "postal_code": location.postal_code, "city": location.city,
            "wheelchair_access": location.wheelchair_access,
        },
        "trainers": [{"id": t.id, "name": t.full_name} for t in session.trainers],
        "capacity": session.capacity,
        "min_trainees": session.min_trainees,
        "seats_left": max(session.capacity - taken, 0),
        "price_per_trainee": session.price_per_trainee,
        "intra_price": session.intra_price,
        "first_date": session.first_date,
        "last_date": session.last_date,
        "planned_hours": session.planned_hours,
        "ics_url": external_url("public.session_ics", slug=session.course.slug, session_id=session.id)
        if session.status in PUBLIC_STATUSES and session.course.is_published else None,
    }
    if with_slots or staff:
        data["slots"] = [slot_dict(slot) for slot in session.slots]
    if staff:
        data.update({
            "cancel_reason": session.cancel_reason,
            "notes": session.notes,
            "client_company_id": session.client_company_id,
            "warnings": session_warnings(session, taken),
        })
    return data


def company_dict(company: Company) -> dict:
    return {
        "id": company.id,
        "name": company.name,
        "siret": company.siret,
        "naf_code": company.naf_code,
        "headcount_band": company.headcount_band,
        "opco": company.opco,
        "address": company.address,
        "postal_code": company.postal_code,
        "city": company.city,
        "is_public_buyer": company.is_public_buyer,
        "chorus_service_code": company.chorus_service_code,
        "engagement_required": company.engagement_required,
    }


def trainee_dict(trainee: Trainee) -> dict:
    return {
        "id": trainee.id,
        "civility": trainee.civility,
        "first_name": trainee.first_name,
        "last_name": trainee.last_name,
        "email": trainee.email,
        "phone": trainee.phone,
        "job_title": trainee.job_title,
        "bpf_status": trainee.bpf_status,
        "bpf_status_label": trainee.bpf_status_label,
        "accessibility_needs": trainee.accessibility_needs,
        "company_id": trainee.company_id,
    }


def enrolment_dict(enrolment: Enrolment) -> dict:
    return {
        "id": enrolment.id,
        "session_id": enrolment.session_id,
        "status": enrolment.status,
        "status_label": enrolment.status_label,
        "waitlist_position": enrolment.waitlist_position,
        "source": enrolment.source,
        "trainee": trainee_dict(enrolment.trainee),
        "company": None if enrolment.company is None else company_dict(enrolment.company),
        "price_excl_vat": enrolment.price_excl_vat,
        "vat_rate": enrolment.vat_rate,
        "price_incl_vat": enrolment.price_incl_vat,
        "positioning_decision": enrolment.positioning_decision,
        "created_at": enrolment.created_at,
        "cancelled_at": enrolment.cancelled_at,
        "cancel_reason": enrolment.cancel_reason,
    }
