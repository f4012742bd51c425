from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from ..accounts.models import Role, User
from ..accounts.services import normalise_email
from ..core.bank import clean_bic, clean_iban
from ..core.errors import ValidationError
from ..core.identifiers import clean_siret, clean_vat_number
from ..extensions import db
from ..files.services import store_upload
from .models import VAT_CHOICES, Organisation

EDITABLE_FIELDS = (
    "name", "legal_form", "siret", "nda", "nda_region", "address", "postal_code", "city", "phone", "email",
    "website", "vat_status", "vat_number", "qualiopi_number", "qualiopi_date", "qualiopi_body",
    "signatory_name", "signatory_title", "quality_contact_name", "quality_contact_title",
    "quality_contact_email", "quality_contact_phone", "disability_contact_name", "disability_contact_email",
    "disability_contact_phone", "accessibility_policy", "access_delay_policy", "payment_terms",
    "cancellation_terms", "consumer_mediator", "internal_rules", "iban", "bic", "remote_assistance",
)
# The assistance of a trainee at a distance (D6313-3-1, 1°) is printed whole on three documents: a paragraph, not a
# brochure.
REMOTE_ASSISTANCE_MAX = 2000


def _clean_bank_details(values: dict, org: Organisation, errors: dict[str, list[str]]) -> None:
    """The IBAN kept compact and the BIC checked against it (core/bank.py): both printed on invoices, with the EPC
    QR code of a transfer."""
    if "iban" in values:
        try:
            values["iban"] = clean_iban(values["iban"])
        except ValidationError as exc:
            errors.update(exc.fields)
            return
    if "bic" in values or "iban" in values:
        try:
            values["bic"] = clean_bic(values.get("bic", org.bic), iban=values.get("iban", org.iban))
        except ValidationError as exc:
            errors.update(exc.fields)


def get_organisation() -> Organisation:
    """The organisation row, or an unsaved blank one before it is first set up."""
    org = db.session.scalar(select(Organisation).order_by(Organisation.id).limit(1))
    return org or Organisation(name="Organisme de formation", vat_status="exempt")


def staff_recipients() -> list[str]:
    """Who is told of what arrives from outside (a request, a complaint, a quote): the organisation's quality
    contact, else every active advisor and admin; sorted."""
    org = get_organisation()
    if org.quality_contact_email:
        return [org.quality_contact_email]
    return sorted(set(db.session.scalars(select(User.email).where(
        User.role.in_((Role.ADVISOR.value, Role.ADMIN.value)), User.active.is_(True)))))


def update_organisation(data: dict, logo_upload=None) -> Organisation:
    org = db.session.scalar(select(Organisation).order_by(Organisation.id).limit(1))
    if org is None:
        org = Organisation(name="")
        db.session.add(org)
    errors: dict[str, list[str]] = {}
    values = {k: data[k] for k in EDITABLE_FIELDS if k in data}
    for key, value in values.items():
        if isinstance(value, str):
            values[key] = value.strip()
    if not values.get("name", org.name):
        errors.setdefault("name", []).append("Le nom de l'organisme est obligatoire.")
    if "siret" in values:
        try:
            values["siret"] = clean_siret(values["siret"], required=True)
        except ValidationError as exc:
            errors.update(exc.fields)
    if values.get("vat_number"):
        try:
            values["vat_number"] = clean_vat_number(values["vat_number"])
        except ValidationError as exc:
            errors.update(exc.fields)
    if "vat_status" in values and values["vat_status"] not in VAT_CHOICES:
        errors.setdefault("vat_status", []).append("Régime de TVA inconnu.")
    for key in ("email", "quality_contact_email", "disability_contact_email"):
        if values.get(key):
            try:
                values[key] = normalise_email(values[key], field=key)
            except ValidationError as exc:
                errors.update(exc.fields)
    _clean_bank_details(values, org, errors)
    if len(values.get("remote_assistance") or "") > REMOTE_ASSISTANCE_MAX:
        errors.setdefault("remote_assistance", []).append(
            f"L'assistance technique et pédagogique à distance ne doit pas dépasser {REMOTE_ASSISTANCE_MAX} "
            "caractères.")
    qdate = values.get("qualiopi_date")
    if qdate is not None and not isinstance(qdate, dt.date):
        errors.setdefault("qualiopi_date", []).append("Date invalide.")
    if errors:
        raise ValidationError("Certains champs sont invalides.", fields=errors)
    for key, value in values.items():
        setattr(org, key, value)
    if logo_upload is not None and getattr(logo_upload, "filename", ""):
        org.logo = store_upload(logo_upload, "logo", field="logo")
    return org
