from __future__ import annotations

import re
from collections.abc import Callable

from sqlalchemy import func, or_, select

from ..accounts.services import normalise_email
from ..core.errors import ConflictError, ErrorCollector, ValidationError
from ..core.identifiers import clean_siret
from ..core.paging import Page, paginate
from ..core.persistence import get_by_id, insert_or_find
from ..core.search import holds
from ..core.validation import clean_text
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


SEARCH_LIMIT = 20
# The key at the end of a company_label: its SIRET, or its record's number when it has none.
LABEL_KEY = re.compile(r"\((?:(\d{14})|fiche n° (\d{1,9}))\)\s*$")


def company_label(company: Company) -> str:
    """How a company is named in a choice: « Nom (SIRET) », « Nom (fiche n° 12) » without one (company_named
    reads the key back)."""
    return f"{company.name} ({company.siret or f'fiche n° {company.id}'})"


def search_companies(search: str, limit: int = SEARCH_LIMIT) -> list[Company]:
    """At most ``limit`` companies, by name, each word of ``search`` found in the name, the SIRET or the city
    (« dupont toulouse »). One statement, whatever the table."""
    words = (search or "").strip()[:200].lower().split()[:6]
    if not words:
        return []
    query = select(Company).order_by(Company.name, Company.id).limit(limit)
    for word in words:
        query = query.where(or_(holds(Company.name, word), holds(Company.city, word),
                                Company.siret.contains(word, autoescape=True)))
    return list(db.session.scalars(query))


def company_named(search: str) -> Company | None:
    """The company the enrolment form's field names: a choice « Nom (SIRET) » (company_label), a SIRET, or the
    exact name of one company; None when blank. Anything else is refused with how many companies match, which
    the form then offers (field ``company_search``)."""
    search = (search or "").strip()[:200]
    if not search:
        return None
    key = LABEL_KEY.search(search)
    compact = search.replace(" ", "")
    if key or (compact.isdigit() and len(compact) == 14):
        siret = key.group(1) if key else compact
        where = Company.siret == siret if siret else Company.id == int(key.group(2))
        found = db.session.scalars(select(Company).where(where)).all()
    else:
        found = db.session.scalars(select(Company).where(func.lower(Company.name) == search.lower()).limit(2)).all()
    if len(found) == 1:
        return found[0]
    matches = search_companies(search) if not key else []
    if not matches:
        raise ValidationError(f"Aucune entreprise ne correspond à « {search[:80]} » : vérifiez la saisie (nom, SIRET "
                              "ou ville), ou laissez le champ vide pour l'entreprise du stagiaire.",
                              field="company_search")
    many = f"Au moins {len(matches)} entreprises correspondent" if len(matches) >= SEARCH_LIMIT else (
        f"{len(matches)} entreprises correspondent" if len(matches) > 1 else "Une entreprise correspond")
    raise ValidationError(f"{many} à « {search[:80]} » : choisissez-la ci-dessous"
                          f"{' ou précisez la recherche' if len(matches) >= SEARCH_LIMIT else ''}.",
                          field="company_search")


def clean_company_data(data: dict, errors: ErrorCollector, prefix: str = "") -> dict:
    out = {key: clean_text(data.get(key)) for key in ("name", "address", "postal_code", "city", "chorus_service_code")}
    if not out["name"]:
        errors.add(prefix + "name", "La raison sociale est obligatoire.")
    for key, limit in (("name", 200), ("address", 255), ("postal_code", 10), ("city", 120),
                       ("chorus_service_code", 100)):
        if len(out[key]) > limit:
            errors.add(prefix + key, f"Ce champ ne doit pas dépasser {limit} caractères.")
    out["siret"] = errors.run(clean_siret, data.get("siret"), prefix + "siret", False)
    naf = clean_text(data.get("naf_code")).upper().replace(" ", "")
    if naf and not NAF_RE.match(naf):
        errors.add(prefix + "naf_code", "Le code NAF s'écrit comme 7111Z ou 71.11Z.")
    out["naf_code"] = naf.replace(".", "")[:5] if naf else ""
    out["headcount_band"] = clean_text(data.get("headcount_band"))
    if out["headcount_band"] and out["headcount_band"] not in HEADCOUNT_BANDS:
        errors.add(prefix + "headcount_band", "Tranche d'effectif inconnue.")
    out["opco"] = clean_text(data.get("opco"))
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
    name = clean_text(data.get("name"))
    if not name:
        errors.add("name", "Le nom du contact est obligatoire.")
    role = clean_text(data.get("role")) or "other"
    if role not in CONTACT_ROLES:
        errors.add("role", "Rôle inconnu.")
    email = clean_text(data.get("email"))
    if email:
        email = errors.run(normalise_email, email, "email") or email
    errors.raise_if_any()
    if contact is None:
        contact = CompanyContact(company=company)
        db.session.add(contact)
    contact.name, contact.role, contact.email = name[:160], role, email
    contact.job_title = clean_text(data.get("job_title"))[:120]
    contact.phone = clean_text(data.get("phone"))[:40]
    return contact


def delete_contact(contact: CompanyContact) -> None:
    db.session.delete(contact)


# --------------------------------------------------------------------------- the company page's activity
# What the company did (trainees, sessions, invoices) is read by portals/company/activity.py, which registers it
# here: companies never import sessions, enrolments or billing.
_activity: list[Callable[[Company], object]] = []


def register_activity(provider: Callable[[Company], object]) -> None:
    _activity[:] = [provider]


def company_activity(company: Company) -> object | None:
    """The company's activity for its page (None until portals/company registers it: create_app does)."""
    return _activity[0](company) if _activity else None
