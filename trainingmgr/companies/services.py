from __future__ import annotations

import re

from sqlalchemy import func, or_, select

from ..accounts.services import normalise_email
from ..core.errors import ConflictError, ErrorCollector
from ..core.identifiers import clean_siret
from ..core.paging import Page, paginate
from ..core.persistence import get_by_id, insert_or_find
from ..core.search import holds
from ..extensions import db
from .models import CONTACT_ROLES, HEADCOUNT_BANDS, OPCOS, Company, CompanyContact

NAF_RE = re.compile(r"^\d{2}\.?\d{2}[A-Z]$")


def list_companies() -> list[Company]:
    return list(db.session.scalars(select(Company).order_by(Company.name)))


def company_page(search: str = "", page: int = 1) -> Page:
    """One page of the companies list, those whose name or SIRET holds ``search``."""
    query = select(Company).order_by(Company.name, Company.id)
    search = (search or "").strip().lower()
    if search:
        query = query.where(or_(holds(Company.name, search),
                                Company.siret.contains(search.replace(" ", ""), autoescape=True)))
    return paginate(query, page)


def get_company(company_id) -> Company:
    return get_by_id(Company, company_id, "Entreprise introuvable.")


def _text(data: dict, key: str) -> str:
    return str(data.get(key) or "").strip()


def clean_company_data(data: dict, errors: ErrorCollector, prefix: str = "") -> dict:
    out = {key: _text(data, key) for key in ("name", "address", "postal_code", "city", "chorus_service_code")}
    if not out["name"]:
        errors.add(prefix + "name", "La raison sociale est obligatoire.")
    for key, limit in (("name", 200), ("address", 255), ("postal_code", 10), ("city", 120),
                       ("chorus_service_code", 100)):
        if len(out[key]) > limit:
            errors.add(prefix + key, f"Ce champ ne doit pas dépasser {limit} caractères.")
    out["siret"] = errors.run(clean_siret, data.get("siret"), prefix + "siret", False)
    naf = _text(data, "naf_code").upper().replace(" ", "")
    if naf and not NAF_RE.match(naf):
        errors.add(prefix + "naf_code", "Le code NAF s'écrit comme 7111Z ou 71.11Z.")
    out["naf_code"] = naf.replace(".", "")[:5] if naf else ""
    out["headcount_band"] = _text(data, "headcount_band")
    if out["headcount_band"] and out["headcount_band"] not in HEADCOUNT_BANDS:
        errors.add(prefix + "headcount_band", "Tranche d'effectif inconnue.")
    out["opco"] = _text(data, "opco")
    if out["opco"] and out["opco"] not in OPCOS:
        errors.add(prefix + "opco", "OPCO inconnu : choisissez-le dans la liste des onze OPCO.")
    out["is_public_buyer"] = bool(data.get("is_public_buyer"))
    out["engagement_required"] = bool(data.get("engagement_required")) and out["is_public_buyer"]
    if "absence_alerts" in data:  # a company found or created from an enrolment keeps its choice
        out["absence_alerts"] = bool(data.get("absence_alerts"))
    if out["is_public_buyer"] and not out["siret"] and prefix + "siret" not in errors.fields:
        errors.add(prefix + "siret", "Un acheteur public est identifié par son SIRET dans Chorus Pro.")
    return out


def save_company(company: Company | None, data: dict) -> Company:
    errors = ErrorCollector()
    clean = clean_company_data(data, errors)
    errors.raise_if_any()
    if clean["siret"]:
        other = db.session.scalar(select(Company).where(Company.siret == clean["siret"]))
        if other is not None and other is not company:
            raise ConflictError(f"Ce SIRET est déjà celui de l'entreprise « {other.name} ».", field="siret")
    if company is None:
        company = Company()
        db.session.add(company)
    for key, value in clean.items():
        setattr(company, key, value)
    return company


def find_or_create_company(data: dict, prefix: str = "") -> Company:
    """With a SIRET, the company holding it; without, the company of that exact name; else a new one.
    A company found by its SIRET is returned as it is (the name given may be a variant of it)."""
    errors = ErrorCollector()
    siret = errors.run(clean_siret, data.get("siret"), prefix + "siret", False)
    if siret:
        company = db.session.scalar(select(Company).where(Company.siret == siret))
        if company is not None:
            return company
    errors = ErrorCollector()
    clean = clean_company_data(data, errors, prefix)
    errors.raise_if_any()
    if clean["siret"]:
        company = None
    else:
        company = db.session.scalar(
            select(Company).where(func.lower(Company.name) == clean["name"].lower()).order_by(Company.id).limit(1)
        )
    if company is None:
        company = insert_or_find(Company(**clean), lambda: db.session.scalar(
            select(Company).where(Company.siret == clean["siret"])) if clean["siret"] else None)
    return company


def save_contact(company: Company, contact: CompanyContact | None, data: dict) -> CompanyContact:
    errors = ErrorCollector()
    name = _text(data, "name")
    if not name:
        errors.add("name", "Le nom du contact est obligatoire.")
    role = _text(data, "role") or "other"
    if role not in CONTACT_ROLES:
        errors.add("role", "Rôle inconnu.")
    email = _text(data, "email")
    if email:
        email = errors.run(normalise_email, email, "email") or email
    errors.raise_if_any()
    if contact is None:
        contact = CompanyContact(company=company)
        db.session.add(contact)
    contact.name, contact.role, contact.email = name[:160], role, email
    contact.job_title = _text(data, "job_title")[:120]
    contact.phone = _text(data, "phone")[:40]
    return contact


def delete_contact(contact: CompanyContact) -> None:
    db.session.delete(contact)
