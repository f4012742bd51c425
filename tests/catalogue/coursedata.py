"""Course data shared by the catalogue tests."""
from __future__ import annotations

from sqlalchemy import func, select

from trainingmgr.catalogue.models import Course, CourseObjective, CourseVersion, ProgrammePart
from trainingmgr.extensions import db


def course_form_data(**overrides) -> dict:
    """A complete, valid course form as a browser posts it (the prerequisites box left unticked)."""
    data = {
        "title": "Facturation électronique 2026",
        "slug": "",
        "tagline": "Se préparer à la réforme de la facturation",
        "duration_hours": "7",
        "duration_days": "1",
        "daily_pattern": "09:00-12:30 13:30-17:00",
        "audience_format": "inter",
        "delivery_mode": "presentiel",
        "location_text": "Toulouse",
        "min_trainees": "2",
        "max_trainees": "8",
        "price_per_trainee": "650",
        "intra_group_price": "",
        "audience": "Comptables et assistants de cabinets d'architecture",
        "prerequisites": "Savoir utiliser un navigateur web.",
        "objectives": "Comprendre la réforme\r\nÉmettre une facture électronique\r\n\r\n  Suivre ses factures  \r\n",
        "programme-0-title": "La réforme",
        "programme-0-day": "1",
        "programme-0-half_day": "morning",
        "programme-0-items": "Calendrier\r\nObligations des entreprises",
        "programme-1-title": "Mise en pratique",
        "programme-1-day": "1",
        "programme-1-half_day": "afternoon",
        "programme-1-items": "Dépôt d'une facture\r\nSuivi du paiement",
        "programme-2-title": "",
        "programme-2-day": "",
        "programme-2-half_day": "",
        "programme-2-items": "",
        "teaching_methods": "Exposés courts et cas pratiques",
        "assessment_methods": "Quiz final\r\nÉvaluation à froid",
        "trainer_competences": "Expert-comptable, formateur depuis 2015",
        "material_resources": "Salle équipée d'un vidéoprojecteur",
        "access_delay": "",
        "accessibility": "",
        "accessibility_contact": "",
        "labels-0-name": "Label Branche Architecture",
        "labels-0-description": "Prise en charge selon les critères de la CPNEFP",
        "funding_notes": "Finançable par l'OPCO EP",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def catalogue_counts() -> tuple[int, int, int, int]:
    """(courses, versions, objectives, programme parts), read afresh."""
    db.session.expire_all()
    return tuple(db.session.scalar(select(func.count()).select_from(model))
                 for model in (Course, CourseVersion, CourseObjective, ProgrammePart))


def course_by_slug(slug: str) -> Course | None:
    db.session.expire_all()
    return db.session.scalar(select(Course).where(Course.slug == slug))
