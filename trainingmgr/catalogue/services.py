"""Catalogue rules: validating course content, versioning, publication, Qualiopi indicator 1 checks."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from slugify import slugify
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..accounts.models import User
from .classification import clean_bpf_classification
from ..core import workflow
from ..core.errors import ConflictError, ErrorCollector, NotFoundError, ValidationError
from ..core.halfday import format_day_pattern, parse_day_pattern
from ..core.timeutil import utcnow
from ..core.validation import parse_decimal, parse_int
from ..core.workflow import Transition
from ..extensions import db
from ..organisation.models import Organisation
from .models import (
    AUDIENCE_FORMATS,
    DELIVERY_MODES,
    HALF_DAYS,
    Course,
    CourseObjective,
    CourseStatus,
    CourseVersion,
    ProgrammePart,
)

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MAX_TRAINEES_LIMIT = 100

# Content fields copied from one version to the next (children are copied separately).
SCALAR_FIELDS = (
    "title", "tagline", "duration_hours", "duration_days", "audience", "prerequisites", "prerequisites_none",
    "teaching_methods", "assessment_methods", "trainer_competences", "material_resources", "what_to_bring",
    "accessibility",
    "accessibility_contact", "access_delay", "audience_format", "delivery_mode", "location_text",
    "min_trainees", "max_trainees", "price_per_trainee", "intra_group_price", "labels", "funding_notes",
    "daily_pattern",
)


@dataclass
class PartData:
    title: str
    items: list[str]
    day: int | None = None
    half_day: str | None = None


def _lines(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = value.splitlines()
    return [str(v).strip() for v in value if str(v).strip()]


def clean_course_data(data: dict) -> dict:
    """Validate the content of a course version; return clean values or raise ValidationError."""
    errors = ErrorCollector()
    out = _clean_texts(data, errors)
    out.update(_clean_durations(data, errors))
    out.update(_clean_prerequisites(data, out["prerequisites"], errors))
    out["assessment_methods"] = _lines(data.get("assessment_methods"))
    out.update(_clean_formats(data, errors))
    out.update(_clean_sizes_and_prices(data, errors))
    try:
        out["daily_pattern"] = format_day_pattern(parse_day_pattern(data.get("daily_pattern") or ""))
    except ValueError as exc:
        errors.add("daily_pattern", str(exc))
    out["objectives"] = _lines(data.get("objectives"))
    out["labels"] = _clean_labels(data.get("labels") or [], errors)
    parts = [_clean_part(index, part, errors) for index, part in enumerate(data.get("programme") or [])]
    out["programme"] = [part for part in parts if part is not None]
    # The BPF classification belongs to the course, not to a version: validated here, set by _set_classification.
    if "bpf_objective" in data or "nsf_code" in data:
        classification = errors.run(clean_bpf_classification, data.get("bpf_objective"), data.get("nsf_code"))
        if classification is not None:
            out["bpf_objective"], out["nsf_code"] = classification
    errors.raise_if_any()
    return out


def _clean_texts(data: dict, errors: ErrorCollector) -> dict:
    """The title, the tagline and the free texts of a course version."""
    def text(key: str) -> str:
        value = data.get(key)
        return "" if value is None else str(value).strip()

    out: dict = {"title": text("title")}
    if not out["title"]:
        errors.add("title", "L'intitulé est obligatoire.")
    elif len(out["title"]) > 200:
        errors.add("title", "L'intitulé ne doit pas dépasser 200 caractères.")
    out["tagline"] = text("tagline")
    if len(out["tagline"]) > 300:
        errors.add("tagline", "L'accroche ne doit pas dépasser 300 caractères.")
    for key in ("audience", "prerequisites", "teaching_methods", "trainer_competences", "material_resources",
                "what_to_bring", "accessibility", "accessibility_contact", "access_delay", "funding_notes"):
        out[key] = text(key)
    out["location_text"] = text("location_text")[:200]
    return out


def _clean_durations(data: dict, errors: ErrorCollector) -> dict:
    hours = parse_decimal(data.get("duration_hours"), "duration_hours", errors,
                          label="La durée en heures", required=True, positive=True)
    days = parse_decimal(data.get("duration_days"), "duration_days", errors,
                         label="La durée en jours", required=False, positive=True)
    if hours is not None and hours > 1000:
        errors.add("duration_hours", "La durée en heures doit être inférieure à 1000 h.")
    # The column holds at most 9999.99: a bigger number would be a database error, not a message.
    if days is not None and days > 1000:
        errors.add("duration_days", "La durée en jours doit être inférieure à 1000 jours.")
    return {"duration_hours": hours, "duration_days": days}


def _clean_prerequisites(data: dict, prerequisites: str, errors: ErrorCollector) -> dict:
    """Either « Aucun prérequis » ticked (the text is then dropped) or the prerequisites written."""
    none = bool(data.get("prerequisites_none"))
    if none:
        prerequisites = ""
    elif not prerequisites:
        errors.add("prerequisites", "Indiquez les prérequis, ou cochez « Aucun prérequis ».")
    return {"prerequisites_none": none, "prerequisites": prerequisites}


def _clean_formats(data: dict, errors: ErrorCollector) -> dict:
    audience_format = data.get("audience_format") or "inter"
    if audience_format not in AUDIENCE_FORMATS:
        errors.add("audience_format", "Format inconnu.")
    delivery_mode = data.get("delivery_mode") or "presentiel"
    if delivery_mode not in DELIVERY_MODES:
        errors.add("delivery_mode", "Modalité inconnue.")
    return {"audience_format": audience_format, "delivery_mode": delivery_mode}


def _clean_sizes_and_prices(data: dict, errors: ErrorCollector) -> dict:
    low = parse_int(data.get("min_trainees"), "min_trainees", errors,
                    label="Le nombre minimum de stagiaires", minimum=1, maximum=MAX_TRAINEES_LIMIT)
    high = parse_int(data.get("max_trainees"), "max_trainees", errors,
                     label="Le nombre maximum de stagiaires", minimum=1, maximum=MAX_TRAINEES_LIMIT)
    if low and high and high < low:
        errors.add("max_trainees", "Le nombre maximum de stagiaires doit être supérieur ou égal au minimum.")
    return {
        "min_trainees": low, "max_trainees": high,
        "price_per_trainee": parse_decimal(data.get("price_per_trainee"), "price_per_trainee", errors,
                                           label="Le prix par stagiaire", required=False),
        "intra_group_price": parse_decimal(data.get("intra_group_price"), "intra_group_price", errors,
                                           label="Le prix intra par groupe", required=False),
    }


def _clean_labels(labels: list, errors: ErrorCollector) -> list[dict]:
    """The quality labels shown on the course page; blank rows are dropped."""
    out = []
    for index, label in enumerate(labels):
        name, description = (label.get("name") or "").strip(), (label.get("description") or "").strip()
        if not name and not description:
            continue
        if not name:
            errors.add(f"labels-{index}-name", "Donnez un nom au label.")
        out.append({"name": name, "description": description})
    return out


def _clean_part(index: int, part, errors: ErrorCollector) -> PartData | None:
    """One part of the programme (None for a blank row)."""
    if isinstance(part, PartData):
        part = part.__dict__
    title = (part.get("title") or "").strip()
    items = _lines(part.get("items"))
    day, half = part.get("day"), part.get("half_day") or None
    if not title and not items:
        return None
    if not title:
        errors.add(f"programme-{index}-title", "Donnez un titre à cette partie du programme.")
    elif len(title) > 300:
        errors.add(f"programme-{index}-title", "Le titre d'une partie ne doit pas dépasser 300 caractères.")
    if day in ("", None):
        day = None
    else:
        try:
            day = int(day)
            if day < 1 or day > 365:
                raise ValueError
        except (TypeError, ValueError):
            errors.add(f"programme-{index}-day", "Le jour doit être un nombre entier à partir de 1.")
            day = None
    if half is not None and half not in HALF_DAYS:
        errors.add(f"programme-{index}-half_day", "Demi-journée inconnue.")
        half = None
    return PartData(title=title, items=items, day=day, half_day=half)


def clean_slug(slug: str | None, title: str, course: Course | None) -> str:
    slug = (slug or "").strip().lower()
    if not slug:
        slug = slugify(title, max_length=100, word_boundary=True) or "formation"
    if not SLUG_RE.match(slug) or len(slug) > 120:
        raise ValidationError(
            "L'adresse web ne peut contenir que des lettres minuscules sans accent, des chiffres et des tirets.",
            field="slug",
        )
    other = db.session.scalar(select(Course).where(Course.slug == slug))
    if other is not None and other is not course:
        raise ConflictError(f"L'adresse web « {slug} » est déjà utilisée par une autre formation.", field="slug")
    return slug


def _clean_content_and_slug(data: dict, slug: str | None, course: Course | None) -> tuple[dict, str]:
    """Validate the content and the web address together, so that the form shows every problem at once."""
    try:
        clean = clean_course_data(data)
    except ValidationError as exc:
        fields = {name: list(messages) for name, messages in exc.fields.items()}
        try:
            clean_slug(slug, str(data.get("title") or "").strip(), course)
        except (ValidationError, ConflictError) as slug_error:
            for name, messages in slug_error.fields.items():
                fields.setdefault(name, []).extend(messages)
        raise ValidationError(exc.message, fields=fields) from None
    return clean, clean_slug(slug, clean["title"], course)


def _fill_version(version: CourseVersion, clean: dict) -> None:
    for key in SCALAR_FIELDS:
        if key in clean:
            setattr(version, key, clean[key])
    version.objectives = [CourseObjective(position=i, text=t) for i, t in enumerate(clean["objectives"], 1)]
    version.programme = [
        ProgrammePart(position=i, title=p.title, items=list(p.items), day=p.day, half_day=p.half_day)
        for i, p in enumerate(clean["programme"], 1)
    ]


def _set_classification(course: Course, clean: dict) -> None:
    """The BPF's objective (F-3) and NSF code (F-4), when the data gave them."""
    for key in ("bpf_objective", "nsf_code"):
        if key in clean:
            setattr(course, key, clean[key])


def create_course(data: dict, actor: User | None, slug: str | None = None) -> Course:
    clean, clean_slug_value = _clean_content_and_slug(data, slug, None)
    course = Course(slug=clean_slug_value, status=CourseStatus.DRAFT.value)
    _set_classification(course, clean)
    version = CourseVersion(course=course, number=1, created_by_id=actor.id if actor else None)
    _fill_version(version, clean)
    db.session.add(course)
    db.session.flush()
    course.current_version = version
    return course


def update_course(course: Course, data: dict, actor: User | None, slug: str | None = None) -> CourseVersion:
    """Apply new content. A frozen current version is kept as it is and a new version takes over."""
    if course.status == CourseStatus.ARCHIVED.value:
        raise ValidationError("Une formation archivée ne peut plus être modifiée : remettez-la d'abord en brouillon.")
    clean, new_slug = _clean_content_and_slug(data, slug if slug is not None else course.slug, course)
    current = course.current_version
    if current is None or current.is_frozen:
        number = max((v.number for v in course.versions), default=0) + 1
        version = CourseVersion(course=course, number=number, created_by_id=actor.id if actor else None)
        db.session.add(version)
        _fill_version(version, clean)
        db.session.flush()
        course.current_version = version
        if course.is_published:
            version.frozen_at = utcnow()
    else:
        version = current
        _fill_version(version, clean)
    course.slug = new_slug
    _set_classification(course, clean)
    course.updated_at = utcnow()
    return version


def set_cold_survey_days(course: Course, value) -> None:
    """When the cold evaluation leaves after a session of this course (days; empty: the organisation's
    default, SURVEY_COLD_DAYS). A dispatch setting, not content: no new version."""
    text = str(value if value is not None else "").strip()
    if not text:
        course.cold_survey_days = None
        return
    if not text.isdigit() or not 7 <= int(text) <= 365:
        raise ValidationError("Indiquez un nombre de jours entre 7 et 365 (60 pour « J+2 mois »).",
                              field="cold_survey_days")
    course.cold_survey_days = int(text)


def freeze_version(version: CourseVersion) -> None:
    if version.frozen_at is None:
        version.frozen_at = utcnow()


def _has_content(course: Course) -> list[str]:
    if course.current_version is None:
        raise ValidationError("Cette formation n'a pas encore de contenu.")
    return []


_DRAFT, _PUBLISHED, _ARCHIVED = CourseStatus.DRAFT.value, CourseStatus.PUBLISHED.value, CourseStatus.ARCHIVED.value
# One step per status reached, named after it.
COURSE_TRANSITIONS: dict[str, Transition] = {
    _PUBLISHED: Transition("Publier", (_DRAFT,), _PUBLISHED, checks=(_has_content,)),
    _DRAFT: Transition("Repasser en brouillon", (_PUBLISHED, _ARCHIVED), _DRAFT),
    _ARCHIVED: Transition("Archiver", (_DRAFT, _PUBLISHED), _ARCHIVED),
}
COURSE_STATUS_REFUSED = "Ce changement de statut n'est pas possible pour cette formation."


def allowed_course_steps(course: Course) -> list[str]:
    """The statuses ``course`` may move to (COURSE_TRANSITIONS)."""
    return workflow.allowed_steps(COURSE_TRANSITIONS, course)


def _record_course_status(course: Course, previous: str, step: Transition) -> None:
    if step.target == _PUBLISHED:
        freeze_version(course.current_version)
    course.updated_at = utcnow()


def set_course_status(course: Course, status: str) -> None:
    """Move ``course`` to ``status``: 409 when the step is not allowed from its status (the same status included)."""
    workflow.apply_transition(course, COURSE_TRANSITIONS, status, refusal=lambda course, step: COURSE_STATUS_REFUSED,
                              unknown=COURSE_STATUS_REFUSED, field_name="status", record=_record_course_status)


def course_version_query():
    return select(CourseVersion).options(
        selectinload(CourseVersion.objectives), selectinload(CourseVersion.programme)
    )


def get_course(course_id: int) -> Course:
    course = db.session.get(Course, course_id)
    if course is None:
        raise NotFoundError("Formation introuvable.")
    return course


def get_published_course(slug: str) -> Course:
    course = db.session.scalar(
        select(Course)
        .where(Course.slug == slug, Course.status == CourseStatus.PUBLISHED.value)
        .options(
            selectinload(Course.current_version).selectinload(CourseVersion.objectives),
            selectinload(Course.current_version).selectinload(CourseVersion.programme),
        )
    )
    if course is None:
        raise NotFoundError("Cette formation n'existe pas ou n'est pas publiée.")
    return course


def get_version(course: Course, number: int) -> CourseVersion:
    version = db.session.scalar(
        course_version_query().where(CourseVersion.course_id == course.id, CourseVersion.number == number)
    )
    if version is None:
        raise NotFoundError("Version introuvable.")
    return version


def list_courses(statuses: tuple[str, ...] | None = None) -> list[Course]:
    query = select(Course).options(
        selectinload(Course.current_version).selectinload(CourseVersion.objectives),
        selectinload(Course.current_version).selectinload(CourseVersion.programme),
    ).order_by(Course.slug)
    if statuses:
        query = query.where(Course.status.in_(statuses))
    return list(db.session.scalars(query))


def _title_sort_key(title: str) -> str:
    """Alphabetical order as a French reader expects it: "Écrire" between "Chorus" and "Marchés"."""
    return "".join(c for c in unicodedata.normalize("NFKD", title) if not unicodedata.combining(c)).casefold()


def list_published_courses() -> list[Course]:
    courses = list_courses((CourseStatus.PUBLISHED.value,))
    return sorted(courses, key=lambda c: (_title_sort_key(c.title), c.slug))


def effective_accessibility(version: CourseVersion, org: Organisation) -> str:
    return version.accessibility or org.accessibility_policy


def effective_accessibility_contact(version: CourseVersion, org: Organisation) -> str:
    if version.accessibility_contact:
        return version.accessibility_contact
    parts = [org.disability_contact_name, org.disability_contact_email, org.disability_contact_phone]
    return " – ".join(p for p in parts if p)


def effective_access_delay(version: CourseVersion, org: Organisation) -> str:
    return version.access_delay or org.access_delay_policy


def indicator1_gaps(version: CourseVersion, org: Organisation) -> list[str]:
    """What Qualiopi indicator 1 asks to publish and this version (with the organisation defaults) lacks."""
    gaps = []
    if not version.audience:
        gaps.append("le public visé")
    if not version.prerequisites and not version.prerequisites_none:
        gaps.append("les prérequis")
    if not version.objectives:
        gaps.append("les objectifs")
    if not version.programme:
        gaps.append("le programme")
    if not version.teaching_methods:
        gaps.append("les méthodes pédagogiques")
    if not version.assessment_methods:
        gaps.append("les modalités d'évaluation")
    if version.price_per_trainee is None and version.intra_group_price is None:
        gaps.append("le tarif")
    if not effective_access_delay(version, org):
        gaps.append("les modalités et délais d'accès")
    if not effective_accessibility(version, org):
        gaps.append("l'accessibilité aux personnes en situation de handicap")
    if not (org.quality_contact_email or org.quality_contact_phone or org.email or org.phone):
        gaps.append("un contact")
    return gaps


def programme_outline(version: CourseVersion) -> list[dict]:
    """The programme as the brochures lay it out: a "Jour 1" heading, then "Matin" / "Après-midi"
    sub-headings, then the parts. Consecutive parts of the same day (and half-day) share their heading;
    parts without a day or half-day get an empty heading.

    ``[{"heading": "Jour 1", "halves": [{"heading": "Matin", "parts": [...]}, ...]}, ...]``"""
    days: list[dict] = []
    for part in version.programme:
        day_key = part.day or None
        half_key = part.half_day or None
        if not days or days[-1]["day"] != day_key:
            days.append({"day": day_key, "heading": f"Jour {day_key}" if day_key else "", "halves": []})
        halves = days[-1]["halves"]
        if not halves or halves[-1]["half_day"] != half_key:
            halves.append({"half_day": half_key, "heading": HALF_DAYS.get(half_key, "") if half_key else "",
                           "parts": []})
        halves[-1]["parts"].append(part)
    return days


def version_as_form_data(version: CourseVersion) -> dict:
    """The data dict that ``clean_course_data`` accepts, for editing or copying a version."""
    data = {key: getattr(version, key) for key in SCALAR_FIELDS}
    data["objectives"] = [o.text for o in version.objectives]
    data["programme"] = [
        {"title": p.title, "items": list(p.items or []), "day": p.day, "half_day": p.half_day}
        for p in version.programme
    ]
    data["labels"] = [dict(label) for label in version.labels or []]
    return data



def course_sheet(version: CourseVersion, org: Organisation) -> dict:
    """Everything the published course sheet shows, with the organisation's defaults filled in."""
    return {
        "accessibility": effective_accessibility(version, org),
        "accessibility_contact": effective_accessibility_contact(version, org),
        "access_delay": effective_access_delay(version, org),
        "programme_outline": programme_outline(version),
    }
