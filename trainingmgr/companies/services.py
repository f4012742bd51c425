from __future__ import annotations

from sqlalchemy import select

from ..core.errors import ConflictError, ErrorCollector
from ..core.identifiers import clean_siret
from ..extensions import db
from .models import Company


def list_companies() -> list[Company]:
    return list(db.session.scalars(select(Company).order_by(Company.name)))


def save_company(company: Company | None, data: dict) -> Company:
    errors = ErrorCollector()
    name = (data.get("name") or "").strip()
    if not name:
        errors.add("name", "La raison sociale est obligatoire.")
    siret = errors.run(clean_siret, data.get("siret"), "siret", False)
    errors.raise_if_any()
    if siret:
        other = db.session.scalar(select(Company).where(Company.siret == siret))
        if other is not None and other is not company:
            raise ConflictError(f"Ce SIRET est déjà celui de l'entreprise « {other.name} ».", field="siret")
    if company is None:
        company = Company()
        db.session.add(company)
    company.name = name
    company.siret = siret
    company.address = (data.get("address") or "").strip()
    company.postal_code = (data.get("postal_code") or "").strip()
    company.city = (data.get("city") or "").strip()
    return company
