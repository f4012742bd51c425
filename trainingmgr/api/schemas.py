"""Marshmallow schemas of the API. Money is a string ("600.00"), dates and times ISO 8601.

An answer's schema dumps the model itself (``ModelSchema``): the endpoint returns the model, never a dict.

The schemas of requests check every rule that a JSON schema can state, with the services' French messages, and
the OpenAPI document states them: a client built from the document is refused only by the rules that depend on
stored data (an id that names no row, a full session, a room already taken...), which the endpoints document
with their answers."""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from email_validator import SPECIAL_USE_DOMAIN_NAMES
from flask import g
from marshmallow import Schema, fields, pre_dump, validate, validates_schema
from marshmallow import ValidationError as MarshmallowValidationError

from ..accounts.permissions import current_principal
from ..accounts.services import normalise_email
from ..catalogue.models import AUDIENCE_FORMATS, DELIVERY_MODES, HALF_DAYS
from ..catalogue.services import effective_access_delay, effective_accessibility, effective_accessibility_contact
from ..companies.models import HEADCOUNT_BANDS, OPCOS
from ..core.errors import ValidationError as DomainValidationError
from ..core.links import external_url
from ..core.paging import MAX_PAGE
from ..core.timeutil import PARIS
from ..core.validation import MAX_AMOUNT, MAX_ID
from ..documents.catalogue import DOC_TYPES
from ..enrolments.models import ENROLMENT_STATUS_LABELS, POSITIONING_DECISIONS
from ..organisation.services import get_organisation
from ..sessions import services as session_services
from ..sessions.models import (
    NOT_CANCELLED, SESSION_FORMATS, SESSION_STATUS_LABELS, SLOT_MODALITIES, SessionStatus, Slot, SlotModality,
)
from ..trainees.models import BPF_STATUSES, CIVILITIES

# A Decimal dumped as a string is documented as one: apispec would say "number" otherwise.
_DECIMAL_STRING = {"type": "string", "format": "decimal"}


def Money(**kwargs):  # noqa: N802
    return fields.Decimal(as_string=True, places=2, allow_nan=False,
                          metadata={**_DECIMAL_STRING, "example": "600.00"}, **kwargs)


def Hours(**kwargs):  # noqa: N802
    return fields.Decimal(as_string=True, places=2, metadata={**_DECIMAL_STRING, "example": "7.00"}, **kwargs)


# --------------------------------------------------------------------------- request fields

# No text of a request holds a NUL character: core.request_guards.reject_nul_characters refuses the request (400)
# before any schema reads it. Every text field of a request states it, in its pattern.
NO_NUL = r"^[^\x00]*$"
NUL_ERROR = "Le texte ne doit pas contenir de caractère nul."
# Text with something other than spaces (the services trim text before they check it).
NOT_BLANK = r"^[^\x00]*[^\x00\s][^\x00]*$"
# Three characters at least once trimmed: a reason.
REASON = r"^[^\x00]*[^\x00\s][^\x00]+[^\x00\s][^\x00]*$"
HH_MM = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
# A web address on https (a meeting link), or nothing.
HTTPS_OR_EMPTY = r"^(https://[^\s/?#\x00][^\s\x00]*)?$"
HTTPS_ERROR = "Le lien de réunion doit être une adresse web sécurisée (https://…)."
# A day YYYY-MM-DD of the years that core.validation.parse_date accepts, 2000 to 2100.
DAY_2000_2100 = r"^(20[0-9]{2}|2100)-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
TOO_LONG = "Ce champ ne doit pas dépasser {max} caractères."
# An e-mail address (format "email") whose domain is not one that email-validator refuses, kept for tests and
# private networks ("test", "local"...), in any case.
EMAIL = r"^(?!.*[@.](%s)$)[^\x00]*$" % "|".join(
    "".join(f"[{char}{char.upper()}]" if char.isalpha() else re.escape(char) for char in name)
    for name in SPECIAL_USE_DOMAIN_NAMES)


def Text(*, pattern: str = NO_NUL, error: str = NUL_ERROR, max_length: int | None = None, **kwargs):  # noqa: N802
    """A text field of a request: ``pattern`` (no NUL character, at least) is checked and documented."""
    validators = [validate.Regexp(pattern, error=error)]
    if max_length is not None:
        validators.append(validate.Length(max=max_length, error=TOO_LONG))
    return fields.String(validate=validators, **kwargs)


def Choice(choices, error: str, **kwargs):  # noqa: N802
    """A text field of a request that takes one of ``choices`` (the document lists them)."""
    return fields.String(validate=validate.OneOf(list(choices), error=error), **kwargs)


class HourMinute(fields.Time):
    """A time of day written HH:MM, as the answers write it: seconds are refused, not dropped."""

    def __init__(self, **kwargs):
        metadata = {"pattern": HH_MM, "example": "09:00", **kwargs.pop("metadata", {})}
        super().__init__(format="%H:%M", metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str) or not re.fullmatch(HH_MM, value):
            raise self.make_error("invalid", input=value, obj_type=self.OBJ_TYPE)
        return super()._deserialize(value, attr, data, **kwargs)


def _year_2000_to_2100(day) -> None:
    if not 2000 <= day.year <= 2100:
        raise MarshmallowValidationError("L'année doit être comprise entre 2000 et 2100.")


def PlanningDay(**kwargs):  # noqa: N802
    """A day of the planning: years 2000 to 2100."""
    metadata = {"pattern": DAY_2000_2100, **kwargs.pop("metadata", {})}
    return fields.Date(validate=_year_2000_to_2100, metadata=metadata, **kwargs)


def Price(label: str, **kwargs):  # noqa: N802
    """An amount in euros sent by the client, as core.validation.parse_decimal takes it: 0 to 9 999 999, two
    decimals at most (``multipleOf`` 0.01)."""

    def two_places(value: Decimal) -> None:
        try:
            exact = value == value.quantize(Decimal("0.01"))
        except InvalidOperation:  # too large to have cents: the range says so
            return
        if not exact:
            raise MarshmallowValidationError(f"{label} : deux décimales au plus.")

    # The bounds in the metadata too: apispec would write them as strings, as the field dumps a Decimal.
    metadata = {"minimum": 0, "maximum": int(MAX_AMOUNT), "multipleOf": 0.01, "example": 600}
    return fields.Decimal(allow_nan=False, metadata=metadata, validate=[
        validate.Range(min=0, error=f"{label} doit être un nombre positif ou nul."),
        validate.Range(max=int(MAX_AMOUNT), error=f"{label} doit être un nombre inférieur à 10 millions."),
        two_places,
    ], **kwargs)


def _email(value: str) -> None:
    """The check of accounts.services.normalise_email, which the e-mail format of the document only outlines."""
    try:
        normalise_email(value)
    except DomainValidationError as error:
        raise MarshmallowValidationError(error.message) from None


# --------------------------------------------------------------------------- answers


class ModelSchema(Schema):
    """Dumps a model (or a service's result object): a field takes its value from the schema's ``get_<field>``
    method when there is one, else from the attribute of its name (or its ``attribute=``)."""

    def get_attribute(self, obj, attr, default):
        getter = getattr(self, f"get_{attr}", None)
        return getter(obj) if getter is not None else super().get_attribute(obj, attr, default)


class ErrorBodySchema(Schema):
    code = fields.String(required=True, metadata={"example": "conflict"})
    message = fields.String(required=True, metadata={"example": "Le formateur est déjà pris."})
    fields_ = fields.Dict(keys=fields.String(), values=fields.List(fields.String()), required=True,
                          data_key="fields", attribute="fields")


class ErrorSchema(Schema):
    error = fields.Nested(ErrorBodySchema, required=True)


class ProgrammePartSchema(ModelSchema):
    title = fields.String(required=True)
    day = fields.Integer(allow_none=True)
    half_day = fields.String(allow_none=True, validate=validate.OneOf(list(HALF_DAYS)))
    items = fields.List(fields.String(), required=True)

    def get_items(self, part) -> list:
        return list(part.items or [])


class LabelSchema(Schema):
    name = fields.String(required=True)
    description = fields.String(required=True)


_VERSION = "current_version."  # a course's fields come from its current version


class CourseSummarySchema(ModelSchema):
    """A published course (a ``Course``), described by its current version."""

    slug = fields.String(required=True)
    title = fields.String(required=True, attribute=_VERSION + "title")
    tagline = fields.String(required=True, attribute=_VERSION + "tagline")
    version = fields.Integer(required=True, attribute=_VERSION + "number")
    version_date = fields.Date(required=True)
    duration_hours = Hours(required=True, attribute=_VERSION + "duration_hours")
    duration_days = Hours(allow_none=True, required=True, attribute=_VERSION + "duration_days")
    audience_format = fields.String(required=True, validate=validate.OneOf(list(AUDIENCE_FORMATS)),
                                    attribute=_VERSION + "audience_format")
    delivery_mode = fields.String(required=True, validate=validate.OneOf(list(DELIVERY_MODES)),
                                  attribute=_VERSION + "delivery_mode")
    price_per_trainee = Money(allow_none=True, required=True, attribute=_VERSION + "price_per_trainee")
    intra_group_price = Money(allow_none=True, required=True, attribute=_VERSION + "intra_group_price")
    min_trainees = fields.Integer(required=True, attribute=_VERSION + "min_trainees")
    max_trainees = fields.Integer(required=True, attribute=_VERSION + "max_trainees")
    url = fields.String(required=True)

    def get_version_date(self, course):
        return course.current_version.created_at.astimezone(PARIS).date()

    def get_url(self, course) -> str:
        return external_url("public.course", slug=course.slug)


class CourseSchema(CourseSummarySchema):
    """The whole sheet of a published course; the organisation's defaults fill in the accessibility."""

    audience = fields.String(required=True, attribute=_VERSION + "audience")
    prerequisites = fields.String(required=True, attribute=_VERSION + "prerequisites")
    prerequisites_none = fields.Boolean(required=True, attribute=_VERSION + "prerequisites_none")
    objectives = fields.List(fields.String(), required=True)
    programme = fields.List(fields.Nested(ProgrammePartSchema), required=True, attribute=_VERSION + "programme")
    teaching_methods = fields.String(required=True, attribute=_VERSION + "teaching_methods")
    assessment_methods = fields.List(fields.String(), required=True)
    trainer_competences = fields.String(required=True, attribute=_VERSION + "trainer_competences")
    material_resources = fields.String(required=True, attribute=_VERSION + "material_resources")
    accessibility = fields.String(required=True)
    accessibility_contact = fields.String(required=True)
    access_delay = fields.String(required=True)
    location_text = fields.String(required=True, attribute=_VERSION + "location_text")
    labels = fields.List(fields.Nested(LabelSchema), required=True)
    funding_notes = fields.String(required=True, attribute=_VERSION + "funding_notes")

    def get_objectives(self, course) -> list[str]:
        return [objective.text for objective in course.current_version.objectives]

    def get_assessment_methods(self, course) -> list:
        return list(course.current_version.assessment_methods or [])

    def get_accessibility(self, course) -> str:
        return effective_accessibility(course.current_version, get_organisation())

    def get_accessibility_contact(self, course) -> str:
        return effective_accessibility_contact(course.current_version, get_organisation())

    def get_access_delay(self, course) -> str:
        return effective_access_delay(course.current_version, get_organisation())

    def get_labels(self, course) -> list:
        return list(course.current_version.labels or [])


class PublicLocationSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    is_remote = fields.Boolean(required=True)
    address = fields.String(required=True)
    postal_code = fields.String(required=True)
    city = fields.String(required=True)
    wheelchair_access = fields.Boolean(required=True)


class LocationSchema(PublicLocationSchema):
    """A location as the advisor sees it."""

    capacity = fields.Integer(allow_none=True, required=True)
    access_notes = fields.String(required=True)
    meeting_url = fields.String(required=True)
    active = fields.Boolean(required=True)


class TrainerSchema(Schema):
    id = fields.Integer(required=True)
    first_name = fields.String(required=True)
    last_name = fields.String(required=True)
    email = fields.String(required=True)
    phone = fields.String(required=True)
    competences = fields.String(required=True)
    is_external = fields.Boolean(required=True)
    company_name = fields.String(required=True)
    company_siret = fields.String(allow_none=True, required=True)
    active = fields.Boolean(required=True)


class TrainerRefSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True, attribute="full_name")


class SlotSchema(ModelSchema):
    id = fields.Integer(required=True)
    session_id = fields.Integer(required=True)
    date = fields.Date(required=True)
    start_time = fields.Time(format="%H:%M", required=True)
    end_time = fields.Time(format="%H:%M", required=True)
    half_day = fields.String(required=True, validate=validate.OneOf(list(HALF_DAYS)))
    hours = Hours(required=True)
    location_id = fields.Integer(allow_none=True, required=True)
    trainer_id = fields.Integer(allow_none=True, required=True)
    trainer_name = fields.String(allow_none=True, required=True)
    modality = fields.String(required=True, validate=validate.OneOf(list(SLOT_MODALITIES)),
                             metadata={"description": "En salle (room), classe virtuelle (virtual) ou activité "
                                                      "asynchrone (async)"})
    modality_label = fields.String(required=True)
    meeting_url = fields.String(required=True, metadata={
        "description": "Lien de réunion d'une classe virtuelle (le sien, sinon celui de son lieu à distance) ; vide "
                       "pour les autres modalités, et pour qui n'a pas de jeton conseiller"})
    activity = fields.String(required=True, metadata={
        "description": "Ce que fait le stagiaire pendant une activité asynchrone ; vide pour les autres modalités"})
    quiz_id = fields.Integer(allow_none=True, required=True, metadata={
        "description": "Quiz dont une activité asynchrone relève la complétion"})

    def get_trainer_name(self, slot) -> str | None:
        return slot.trainer.full_name if slot.trainer else None

    def get_meeting_url(self, slot) -> str:
        """The link is given to the trainees (convocation, reminder), not to the public catalogue."""
        user = current_principal()
        return slot.meeting_link if user is not None and user.is_staff else ""

    def get_activity(self, slot) -> str:
        return slot.activity if slot.modality == SlotModality.ASYNC.value else ""


class SessionSchema(ModelSchema):
    """A session (a ``TrainingSession``) with its seats left."""

    id = fields.Integer(required=True)
    course_slug = fields.String(required=True, attribute="course.slug")
    course_title = fields.String(required=True, attribute="title")
    course_version = fields.Integer(required=True, attribute="course_version.number")
    status = fields.String(required=True, validate=validate.OneOf(list(SESSION_STATUS_LABELS)))
    status_label = fields.String(required=True)
    format = fields.String(required=True, validate=validate.OneOf(list(SESSION_FORMATS)))
    delivery_mode = fields.String(required=True, validate=validate.OneOf(list(DELIVERY_MODES)))
    location = fields.Nested(PublicLocationSchema, allow_none=True, required=True)
    trainers = fields.List(fields.Nested(TrainerRefSchema), required=True)
    capacity = fields.Integer(required=True)
    min_trainees = fields.Integer(required=True)
    seats_left = fields.Integer(required=True)
    price_per_trainee = Money(allow_none=True, required=True)
    intra_price = Money(allow_none=True, required=True)
    first_date = fields.Date(allow_none=True, required=True)
    last_date = fields.Date(allow_none=True, required=True)
    planned_hours = Hours(required=True)
    ics_url = fields.String(allow_none=True, required=True)

    @pre_dump(pass_collection=True)
    def _count_seats(self, sessions, many: bool, **kwargs):
        """Count the seats of all the sessions of this dump in one query."""
        ids = [session.id for session in (sessions if many else [sessions])]
        g.api_seats_taken = session_services.seats_taken(ids)
        return sessions

    @staticmethod
    def taken(session) -> int:
        return g.api_seats_taken[session.id]

    def get_seats_left(self, session) -> int:
        return max(session.capacity - self.taken(session), 0)

    def get_ics_url(self, session) -> str | None:
        if session.takes_enrolments and session.course.is_published:
            return external_url("public.session_ics", slug=session.course.slug, session_id=session.id)
        return None


class SessionDetailSchema(SessionSchema):
    slots = fields.List(fields.Nested(SlotSchema), required=True)


class SessionStaffSchema(SessionDetailSchema):
    """What the advisor sees in answer to a write: the session and what to look at."""

    cancel_reason = fields.String(required=True)
    notes = fields.String(required=True)
    client_company_id = fields.Integer(allow_none=True, required=True)
    warnings = fields.List(fields.String(), required=True)

    def get_warnings(self, session) -> list[str]:
        return session_services.session_warnings(session, self.taken(session))


# The API's paged lists: ``page`` (from 1) and ``per_page``; the body stays the bare list of the page's rows, the
# headers X-Total-Count (rows of the whole selection) and Link (rel="prev" / rel="next", when there are) say the rest.
API_PER_PAGE = 50
API_MAX_PER_PAGE = 200


class PageQuerySchema(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(
        min=1, max=MAX_PAGE, error="Numéro de page invalide : nombre entier de {min} à {max} attendu."), metadata={
        "description": "Numéro de la page, à partir de 1 ; au-delà de la dernière, la liste est vide"})
    per_page = fields.Integer(load_default=API_PER_PAGE, validate=validate.Range(
        min=1, max=API_MAX_PER_PAGE, error="Taille de page invalide : nombre entier de {min} à {max} attendu."),
        metadata={"description": f"Nombre de lignes par page ({API_PER_PAGE} par défaut)"})


class SessionQuerySchema(PageQuerySchema):
    course = Text(metadata={"description": "Slug de la formation"})
    from_ = fields.Date(data_key="from", metadata={
        "description": "Sessions ayant un créneau à partir de ce jour ; au plus tard la date « to » (sinon 422)"})
    to = fields.Date(metadata={
        "description": "Sessions ayant un créneau jusqu'à ce jour ; au plus tôt la date « from » (sinon 422)"})
    status = fields.String(validate=validate.OneOf(list(SESSION_STATUS_LABELS)))


# Ids are PostgreSQL "integer" columns (see core.validation.MAX_ID).
_ID = {"strict": True,
       "validate": validate.Range(min=1, max=MAX_ID,
                                  error="Identifiant invalide : nombre entier de 1 à {max} attendu.")}


class SessionWriteSchema(Schema):
    format = fields.String(validate=validate.OneOf(list(SESSION_FORMATS)),
                           metadata={"description": "Un format que la formation propose"})
    delivery_mode = fields.String(validate=validate.OneOf(list(DELIVERY_MODES)))
    location_id = fields.Integer(allow_none=True, **_ID,
                                 metadata={"description": "Lieu en service, physique en présentiel, à distance en "
                                                          "distanciel"})
    trainer_ids = fields.List(fields.Integer(**_ID), metadata={"description": "Formateurs en activité"})
    capacity = fields.Integer(strict=True, validate=validate.Range(
        min=1, max=1000, error="La capacité doit être un nombre entier compris entre 1 et 1000."), metadata={
        "description": "Places : au plus le maximum de la formation et les places de la salle"})
    min_trainees = fields.Integer(strict=True, validate=validate.Range(
        min=1, max=1000,
        error="Le nombre minimum de stagiaires doit être un nombre entier compris entre 1 et 1000."),
        metadata={"description": "Au plus la capacité"})
    price_per_trainee = Price("Le prix par stagiaire", allow_none=True)
    intra_price = Price("Le prix intra", allow_none=True)
    client_company_id = fields.Integer(allow_none=True, **_ID,
                                       metadata={"description": "Entreprise cliente, obligatoire en intra"})
    notes = Text()


class SessionCreateSchema(SessionWriteSchema):
    course_slug = Text(pattern=NOT_BLANK, error="Indiquez le slug de la formation.",
                       metadata={"description": "Formation (ou « course_id »)"})
    course_id = fields.Integer(**_ID, metadata={"description": "Formation (ou « course_slug », ignoré alors)"})
    start_date = PlanningDay(metadata={"description": "Premier jour : pose les créneaux selon la journée type"})

    openapi_rules = {"anyOf": [{"required": ["course_id"]}, {"required": ["course_slug"]}]}

    @validates_schema
    def _names_the_course(self, data, **kwargs):
        if "course_id" not in data and "course_slug" not in data:
            raise MarshmallowValidationError("Choisissez la formation (course_id ou course_slug).", "course_id")


_STATUSES_WITHOUT_REASON = list(NOT_CANCELLED)
_NO_REASON = "Indiquez le motif de l'annulation (3 caractères au moins)."


class SessionPatchSchema(SessionWriteSchema):
    status = fields.String(validate=validate.OneOf(list(SESSION_STATUS_LABELS)))
    cancel_reason = Text(pattern=REASON, error=_NO_REASON,
                         metadata={"description": "Motif de l'annulation, obligatoire avec « status » : "
                                                  "« cancelled » (3 caractères au moins)"})

    # "cancelled" needs a reason.
    openapi_rules = {"anyOf": [{"properties": {"status": {"enum": _STATUSES_WITHOUT_REASON}}},
                               {"required": ["cancel_reason"]}]}

    @validates_schema
    def _cancelled_with_a_reason(self, data, **kwargs):
        if data.get("status") == SessionStatus.CANCELLED.value and "cancel_reason" not in data:
            raise MarshmallowValidationError(_NO_REASON, "cancel_reason")


class SlotCreateSchema(Schema):
    date = PlanningDay(required=True)
    start_time = HourMinute(required=True)
    end_time = HourMinute(required=True, metadata={
        "description": "Après le début ; au plus tard 14:00 pour un créneau du matin (début avant 12:00)"})
    location_id = fields.Integer(allow_none=True, **_ID, metadata={
        "description": "Sans lui, le lieu de la session, s'il convient à la modalité"})
    trainer_id = fields.Integer(allow_none=True, **_ID)
    modality = fields.String(validate=validate.OneOf(list(SLOT_MODALITIES)), metadata={
        "description": "Sans elle, celle qu'appelle le lieu (à distance : virtual ; sinon room). Une session en "
                       "présentiel n'a que des demi-journées room, une session en distanciel aucune"})
    meeting_url = Text(pattern=HTTPS_OR_EMPTY, error=HTTPS_ERROR, max_length=500, metadata={
        "description": "Lien https:// d'une classe virtuelle ; sans lui, celui de son lieu à distance"})
    activity = Text(max_length=2000, metadata={"description": "Obligatoire pour une activité asynchrone"})
    quiz_id = fields.Integer(allow_none=True, **_ID, metadata={
        "description": "Évaluation des acquis active (commune ou de la formation) d'une activité asynchrone"})


@dataclass(frozen=True)
class CreatedSlot:
    """What services.add_slot answers (a tuple would be taken by flask-smorest for (body, status))."""

    slot: Slot
    warnings: list[str]


class SlotCreatedSchema(SlotSchema):
    """Dumps a ``CreatedSlot``: the new slot and what to look at."""

    warnings = fields.List(fields.String(), required=True)

    def get_attribute(self, created: CreatedSlot, attr, default):
        if attr == "warnings":
            return created.warnings
        return super().get_attribute(created.slot, attr, default)


# --------------------------------------------------------------------------- enrolments, trainees, companies


class CompanySchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    siret = fields.String(allow_none=True, required=True)
    naf_code = fields.String(required=True)
    headcount_band = fields.String(required=True)
    opco = fields.String(required=True)
    address = fields.String(required=True)
    postal_code = fields.String(required=True)
    city = fields.String(required=True)
    is_public_buyer = fields.Boolean(required=True)
    chorus_service_code = fields.String(required=True)
    engagement_required = fields.Boolean(required=True)


class TraineeSchema(Schema):
    id = fields.Integer(required=True)
    civility = fields.String(required=True, metadata={"enum": list(CIVILITIES)})
    first_name = fields.String(required=True)
    last_name = fields.String(required=True)
    email = fields.String(required=True)
    phone = fields.String(required=True)
    job_title = fields.String(required=True)
    bpf_status = fields.String(required=True, metadata={"enum": list(BPF_STATUSES)})
    bpf_status_label = fields.String(required=True)
    accessibility_needs = fields.String(required=True)
    company_id = fields.Integer(allow_none=True, required=True)


class EnrolmentSchema(Schema):
    """An enrolment with its trainee and company."""

    id = fields.Integer(required=True)
    session_id = fields.Integer(required=True)
    status = fields.String(required=True, validate=validate.OneOf(list(ENROLMENT_STATUS_LABELS)))
    status_label = fields.String(required=True)
    waitlist_position = fields.Integer(allow_none=True, required=True,
                                       metadata={"description": "Rang sur la liste d'attente (1 = le prochain)"})
    source = fields.String(required=True, metadata={"enum": ["advisor", "public", "api"]})
    trainee = fields.Nested(TraineeSchema, required=True)
    company = fields.Nested(CompanySchema, allow_none=True, required=True)
    price_excl_vat = Money(required=True)
    vat_rate = fields.Decimal(as_string=True, places=2, required=True,
                              metadata={**_DECIMAL_STRING, "example": "20.00", "description": "Taux de TVA en %"})
    price_incl_vat = Money(required=True)
    positioning_decision = fields.String(allow_none=True, required=True,
                                         validate=validate.OneOf(list(POSITIONING_DECISIONS)))
    created_at = fields.DateTime(required=True)
    cancelled_at = fields.DateTime(allow_none=True, required=True)
    cancel_reason = fields.String(required=True)


class Object(fields.Nested):
    """A nested object in a request body: anything but a JSON object is refused under the field's own name
    ("trainee"), not under "trainee._schema" as marshmallow's Nested would."""

    def _deserialize(self, value, attr, data, partial=None, **kwargs):
        if not isinstance(value, dict):
            raise MarshmallowValidationError("Objet JSON attendu.")
        return super()._deserialize(value, attr, data, partial=partial, **kwargs)


def _optional_text(max_length: int, **kwargs):
    return Text(allow_none=True, max_length=max_length, **kwargs)


class TraineeInputSchema(Schema):
    """A trainee given inline: the trainee of that e-mail address if there is one, else a new one. The limits are
    those of trainees.services.clean_trainee_data."""

    civility = Choice(CIVILITIES, "Civilité inconnue : « Mme », « M. » ou rien.", allow_none=True)
    first_name = Text(required=True, pattern=NOT_BLANK, error="Le prénom est obligatoire.", max_length=80)
    last_name = Text(required=True, pattern=NOT_BLANK, error="Le nom est obligatoire.", max_length=80)
    email = fields.String(required=True, validate=[validate.Length(max=254, error=TOO_LONG), _email],
                          metadata={"format": "email", "pattern": EMAIL})
    phone = _optional_text(40)
    job_title = _optional_text(120)
    bpf_status = Choice(["", *BPF_STATUSES], "Statut inconnu.", allow_none=True,
                        metadata={"description": "Statut pour le BPF (défaut : employee)"})
    accessibility_needs = _optional_text(20000)


# A SIRET: 14 digits, grouped 3 3 3 5 or not (its check key is the service's: stdnum).
SIRET = r"^([0-9]{3} ?[0-9]{3} ?[0-9]{3} ?[0-9]{5})?$"
_SIRET_REQUIRED = "Un acheteur public est identifié par son SIRET dans Chorus Pro."


class CompanyInputSchema(Schema):
    """A company given inline: the company of that SIRET (or of that exact name) if there is one, else a new one.
    The limits are those of companies.services.clean_company_data."""

    name = Text(required=True, pattern=NOT_BLANK, error="La raison sociale est obligatoire.", max_length=200)
    siret = Text(allow_none=True, pattern=SIRET, error="Le SIRET doit comporter 14 chiffres.", metadata={
        "example": "44306184100021", "description": "Obligatoire pour un acheteur public ; clé de contrôle vérifiée"})
    naf_code = Text(allow_none=True, pattern=r"^([0-9]{2}\.?[0-9]{2}[A-Za-z])?$",
                    error="Le code NAF s'écrit comme 7111Z ou 71.11Z.", metadata={"example": "7111Z"})
    headcount_band = Choice(["", *HEADCOUNT_BANDS], "Tranche d'effectif inconnue.", allow_none=True)
    opco = Choice(["", *OPCOS], "OPCO inconnu : choisissez-le dans la liste des onze OPCO.", allow_none=True)
    address = _optional_text(255)
    postal_code = _optional_text(10)
    city = _optional_text(120)
    is_public_buyer = fields.Boolean()
    chorus_service_code = _optional_text(100)
    engagement_required = fields.Boolean()

    # A public buyer is known by its SIRET.
    openapi_rules = {"anyOf": [{"properties": {"is_public_buyer": {"enum": [False]}}},
                               {"required": ["siret"], "properties": {"siret": {"type": "string", "minLength": 14}}}]}

    @validates_schema
    def _public_buyer_siret(self, data, **kwargs):
        if data.get("is_public_buyer") and not data.get("siret"):
            raise MarshmallowValidationError(_SIRET_REQUIRED, "siret")


class EnrolmentCreateSchema(Schema):
    trainee_id = fields.Integer(**_ID, metadata={"description": "Stagiaire existant (ou « trainee »)"})
    trainee = Object(TraineeInputSchema, metadata={"description": "Stagiaire décrit (ou « trainee_id »)"})
    company_id = fields.Integer(allow_none=True, **_ID,
                                metadata={"description": "Entreprise existante (ou « company »)"})
    company = Object(CompanyInputSchema, allow_none=True,
                     metadata={"description": "Entreprise décrite (ou « company_id »)"})

    # trainee_id or trainee, one of them; company_id and company not both.
    openapi_rules = {
        "oneOf": [{"required": ["trainee_id"]}, {"required": ["trainee"]}],
        "not": {"required": ["company_id", "company"],
                "properties": {"company_id": {"type": "integer"}, "company": {"type": "object"}}},
    }

    @validates_schema
    def _one_of_each(self, data, **kwargs):
        errors = {}
        if "trainee_id" in data and "trainee" in data:
            errors["trainee"] = ["Indiquez trainee_id ou trainee, pas les deux."]
        elif "trainee_id" not in data and "trainee" not in data:
            errors["trainee"] = ["Indiquez le stagiaire (trainee_id ou trainee)."]
        if data.get("company_id") is not None and data.get("company") is not None:
            errors["company"] = ["Indiquez company_id ou company, pas les deux."]
        if errors:
            raise MarshmallowValidationError(errors)


class EnrolmentCancelSchema(Schema):
    reason = Text(required=True, pattern=REASON, error=_NO_REASON,
                  metadata={"description": "Motif de l'annulation (3 caractères au moins)"})


class TraineeQuerySchema(Schema):
    search = Text(max_length=100, metadata={"description": "Partie du nom, du prénom ou de l'adresse e-mail"})


# --------------------------------------------------------------------------- documents

# The types that can be generated for a session (invoices and credit notes are made by billing, at issue), by scope.
DOCUMENT_TYPES = {code: doc_type for code, doc_type in DOC_TYPES.items() if doc_type.scope != "invoice"}
SESSION_DOCUMENTS = [code for code, doc_type in DOCUMENT_TYPES.items() if doc_type.scope == "session"]
ENROLMENT_DOCUMENTS = [code for code, doc_type in DOCUMENT_TYPES.items() if doc_type.scope == "enrolment"]
CLIENT_DOCUMENTS = [code for code, doc_type in DOCUMENT_TYPES.items() if doc_type.scope == "client"]
TRAINER_DOCUMENTS = [code for code, doc_type in DOCUMENT_TYPES.items() if doc_type.scope == "trainer"]
_NO_ENROLMENT = "Choisissez l'inscription."
_NO_CLIENT = "Choisissez l'entreprise cliente."
_NO_TRAINER = "Choisissez le formateur."


class DocumentCreateSchema(Schema):
    doc_type = Choice(DOCUMENT_TYPES, "Type de document inconnu : {choices}.", required=True, metadata={
        "description": "Par session : " + ", ".join(SESSION_DOCUMENTS)
                       + " ; par stagiaire : " + ", ".join(ENROLMENT_DOCUMENTS)
                       + " ; par entreprise cliente : " + ", ".join(CLIENT_DOCUMENTS)
                       + " ; par formateur sous-traitant : " + ", ".join(TRAINER_DOCUMENTS)})
    enrolment_id = fields.Integer(**_ID, metadata={
        "description": "Inscription de la session, obligatoire pour un document par stagiaire (ignorée sinon)"})
    company_id = fields.Integer(**_ID, metadata={
        "description": "Entreprise cliente, obligatoire pour une convention ou un devis (ignorée sinon)"})
    trainer_id = fields.Integer(**_ID, metadata={
        "description": "Formateur de la session, obligatoire pour un contrat de sous-traitance (ignoré sinon)"})

    # A document per trainee names the enrolment, one per client company names the company.
    openapi_rules = {"anyOf": [
        {"properties": {"doc_type": {"enum": SESSION_DOCUMENTS}}},
        {"properties": {"doc_type": {"enum": ENROLMENT_DOCUMENTS}}, "required": ["enrolment_id"]},
        {"properties": {"doc_type": {"enum": CLIENT_DOCUMENTS}}, "required": ["company_id"]},
        {"properties": {"doc_type": {"enum": TRAINER_DOCUMENTS}}, "required": ["trainer_id"]},
    ]}

    @validates_schema
    def _names_its_subject(self, data, **kwargs):
        if data["doc_type"] in ENROLMENT_DOCUMENTS and "enrolment_id" not in data:
            raise MarshmallowValidationError(_NO_ENROLMENT, "enrolment_id")
        if data["doc_type"] in CLIENT_DOCUMENTS and "company_id" not in data:
            raise MarshmallowValidationError(_NO_CLIENT, "company_id")
        if data["doc_type"] in TRAINER_DOCUMENTS and "trainer_id" not in data:
            raise MarshmallowValidationError(_NO_TRAINER, "trainer_id")
