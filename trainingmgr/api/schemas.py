"""Marshmallow schemas of the API. Money is a string ("600.00"), dates and times ISO 8601."""
from __future__ import annotations

from marshmallow import Schema, fields, validate, validates_schema
from marshmallow import ValidationError as MarshmallowValidationError

from ..catalogue.models import AUDIENCE_FORMATS, DELIVERY_MODES, HALF_DAYS
from ..companies.models import HEADCOUNT_BANDS, OPCOS
from ..core.validation import MAX_ID
from ..enrolments.models import ENROLMENT_STATUS_LABELS, POSITIONING_DECISIONS
from ..sessions.models import SESSION_FORMATS, SESSION_STATUS_LABELS
from ..trainees.models import BPF_STATUSES, CIVILITIES

# A Decimal dumped as a string is documented as one: apispec would say "number" otherwise.
_DECIMAL_STRING = {"type": "string", "format": "decimal"}


def Money(**kwargs):  # noqa: N802
    return fields.Decimal(as_string=True, places=2, allow_nan=False,
                          metadata={**_DECIMAL_STRING, "example": "600.00"}, **kwargs)


def Hours(**kwargs):  # noqa: N802
    return fields.Decimal(as_string=True, places=2, metadata={**_DECIMAL_STRING, "example": "7.00"}, **kwargs)


class ErrorBodySchema(Schema):
    code = fields.String(required=True, metadata={"example": "conflict"})
    message = fields.String(required=True, metadata={"example": "Le formateur est déjà pris."})
    fields_ = fields.Dict(keys=fields.String(), values=fields.List(fields.String()), required=True,
                          data_key="fields", attribute="fields")


class ErrorSchema(Schema):
    error = fields.Nested(ErrorBodySchema, required=True)


class ProgrammePartSchema(Schema):
    title = fields.String(required=True)
    day = fields.Integer(allow_none=True)
    half_day = fields.String(allow_none=True, validate=validate.OneOf(list(HALF_DAYS)))
    items = fields.List(fields.String(), required=True)


class LabelSchema(Schema):
    name = fields.String(required=True)
    description = fields.String(required=True)


class CourseSummarySchema(Schema):
    slug = fields.String(required=True)
    title = fields.String(required=True)
    tagline = fields.String(required=True)
    version = fields.Integer(required=True)
    version_date = fields.Date(required=True)
    duration_hours = Hours(required=True)
    duration_days = Hours(allow_none=True, required=True)
    audience_format = fields.String(required=True, validate=validate.OneOf(list(AUDIENCE_FORMATS)))
    delivery_mode = fields.String(required=True, validate=validate.OneOf(list(DELIVERY_MODES)))
    price_per_trainee = Money(allow_none=True, required=True)
    intra_group_price = Money(allow_none=True, required=True)
    min_trainees = fields.Integer(required=True)
    max_trainees = fields.Integer(required=True)
    url = fields.String(required=True)


class CourseSchema(CourseSummarySchema):
    audience = fields.String(required=True)
    prerequisites = fields.String(required=True)
    prerequisites_none = fields.Boolean(required=True)
    objectives = fields.List(fields.String(), required=True)
    programme = fields.List(fields.Nested(ProgrammePartSchema), required=True)
    teaching_methods = fields.String(required=True)
    assessment_methods = fields.List(fields.String(), required=True)
    trainer_competences = fields.String(required=True)
    material_resources = fields.String(required=True)
    accessibility = fields.String(required=True)
    accessibility_contact = fields.String(required=True)
    access_delay = fields.String(required=True)
    location_text = fields.String(required=True)
    labels = fields.List(fields.Nested(LabelSchema), required=True)
    funding_notes = fields.String(required=True)


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
    name = fields.String(required=True)


class SlotSchema(Schema):
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


class SessionSchema(Schema):
    id = fields.Integer(required=True)
    course_slug = fields.String(required=True)
    course_title = fields.String(required=True)
    course_version = fields.Integer(required=True)
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


class SessionDetailSchema(SessionSchema):
    slots = fields.List(fields.Nested(SlotSchema), required=True)


class SessionStaffSchema(SessionDetailSchema):
    """What the advisor sees in answer to a write: the session and what to look at."""

    cancel_reason = fields.String(required=True)
    notes = fields.String(required=True)
    client_company_id = fields.Integer(allow_none=True, required=True)
    warnings = fields.List(fields.String(), required=True)


class SessionQuerySchema(Schema):
    course = fields.String(metadata={"description": "Slug de la formation"})
    from_ = fields.Date(data_key="from", metadata={"description": "Sessions ayant un créneau à partir de ce jour"})
    to = fields.Date(metadata={"description": "Sessions ayant un créneau jusqu'à ce jour"})
    status = fields.String(validate=validate.OneOf(list(SESSION_STATUS_LABELS)))


# Ids are PostgreSQL "integer" columns (see core.validation.MAX_ID).
_ID = {"strict": True,
       "validate": validate.Range(min=1, max=MAX_ID,
                                  error="Identifiant invalide : nombre entier de 1 à {max} attendu.")}


class SessionWriteSchema(Schema):
    format = fields.String(validate=validate.OneOf(list(SESSION_FORMATS)))
    delivery_mode = fields.String(validate=validate.OneOf(list(DELIVERY_MODES)))
    location_id = fields.Integer(allow_none=True, **_ID)
    trainer_ids = fields.List(fields.Integer(**_ID))
    capacity = fields.Integer(strict=True)
    min_trainees = fields.Integer(strict=True)
    price_per_trainee = fields.Decimal(allow_none=True, allow_nan=False)
    intra_price = fields.Decimal(allow_none=True, allow_nan=False)
    client_company_id = fields.Integer(allow_none=True, **_ID)
    notes = fields.String()


class SessionCreateSchema(SessionWriteSchema):
    course_slug = fields.String()
    course_id = fields.Integer(**_ID)
    start_date = fields.Date(metadata={"description": "Premier jour : pose les créneaux selon la journée type"})


class SessionPatchSchema(SessionWriteSchema):
    status = fields.String(validate=validate.OneOf(list(SESSION_STATUS_LABELS)))
    cancel_reason = fields.String()


class SlotCreateSchema(Schema):
    date = fields.Date(required=True)
    start_time = fields.Time(required=True)
    end_time = fields.Time(required=True)
    location_id = fields.Integer(allow_none=True, **_ID)
    trainer_id = fields.Integer(allow_none=True, **_ID)


class SlotCreatedSchema(SlotSchema):
    warnings = fields.List(fields.String(), required=True)


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


def _text(**kwargs):
    return fields.String(allow_none=True, **kwargs)


class Object(fields.Nested):
    """A nested object in a request body: anything but a JSON object is refused under the field's own name
    ("trainee"), not under "trainee._schema" as marshmallow's Nested would."""

    def _deserialize(self, value, attr, data, partial=None, **kwargs):
        if not isinstance(value, dict):
            raise MarshmallowValidationError("Objet JSON attendu.")
        return super()._deserialize(value, attr, data, partial=partial, **kwargs)


class TraineeInputSchema(Schema):
    """A trainee given inline: the trainee of that e-mail address if there is one, else a new one."""

    civility = _text(metadata={"enum": list(CIVILITIES)})
    first_name = fields.String(required=True)
    last_name = fields.String(required=True)
    email = fields.String(required=True, metadata={"format": "email"})
    phone = _text()
    job_title = _text()
    bpf_status = _text(metadata={"enum": list(BPF_STATUSES), "description": "Statut pour le BPF (défaut : employee)"})
    accessibility_needs = _text()


class CompanyInputSchema(Schema):
    """A company given inline: the company of that SIRET (or of that exact name) if there is one, else a new one."""

    name = fields.String(required=True)
    siret = _text(metadata={"example": "44306184100021"})
    naf_code = _text(metadata={"example": "7111Z"})
    headcount_band = _text(metadata={"enum": list(HEADCOUNT_BANDS)})
    opco = _text(metadata={"enum": list(OPCOS)})
    address = _text()
    postal_code = _text()
    city = _text()
    is_public_buyer = fields.Boolean()
    chorus_service_code = _text()
    engagement_required = fields.Boolean()


class EnrolmentCreateSchema(Schema):
    trainee_id = fields.Integer(**_ID, metadata={"description": "Stagiaire existant (ou « trainee »)"})
    trainee = Object(TraineeInputSchema, metadata={"description": "Stagiaire décrit (ou « trainee_id »)"})
    company_id = fields.Integer(allow_none=True, **_ID, metadata={"description": "Entreprise existante"})
    company = Object(CompanyInputSchema, allow_none=True,
                     metadata={"description": "Entreprise décrite (ou « company_id »)"})

    @validates_schema
    def _one_of_each(self, data, **kwargs):
        errors = {}
        if "trainee_id" in data and "trainee" in data:
            errors["trainee"] = ["Indiquez trainee_id ou trainee, pas les deux."]
        if data.get("company_id") is not None and data.get("company") is not None:
            errors["company"] = ["Indiquez company_id ou company, pas les deux."]
        if errors:
            raise MarshmallowValidationError(errors)


class EnrolmentCancelSchema(Schema):
    reason = fields.String(required=True, metadata={"description": "Motif de l'annulation (3 caractères au moins)"})


class TraineeQuerySchema(Schema):
    search = fields.String(validate=validate.Length(max=100),
                           metadata={"description": "Partie du nom, du prénom ou de l'adresse e-mail"})
