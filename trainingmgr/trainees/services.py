"""Trainees: validation, one person per e-mail address, merging duplicates."""
from __future__ import annotations

import re

from sqlalchemy import func, select, update
from sqlalchemy.orm import selectinload

from ..accounts.models import User
from ..accounts.services import normalise_email
from ..companies.models import Company
from ..core.errors import ConflictError, ErrorCollector, ValidationError
from ..core.paging import Page, paginate
from ..core.persistence import get_by_id, insert_or_find
from ..core.timeutil import utcnow
from ..core.validation import id_or_none
from ..extensions import db
from .models import BPF_STATUSES, CIVILITIES, Trainee, TraineeMerge
from .search_index import in_names, in_names_or_company

FIELDS = ("civility", "first_name", "last_name", "email", "phone", "job_title", "company_id", "bpf_status",
          "accessibility_needs")


def get_trainee(trainee_id) -> Trainee:
    return get_by_id(Trainee, trainee_id, "Stagiaire introuvable.")


def find_by_email(email: str) -> Trainee | None:
    return db.session.scalar(select(Trainee).where(func.lower(Trainee.email) == (email or "").strip().lower()))


def _trainees_query(search: str = ""):
    """Trainees by name, those whose name or e-mail holds ``search`` ("%" and "_" looked for as they are)."""
    query = select(Trainee).order_by(Trainee.last_name, Trainee.first_name, Trainee.id)
    search = (search or "").strip().lower()
    if search:
        query = query.where(in_names(search))
    return query


def list_trainees(search: str = "", limit: int = 500) -> list[Trainee]:
    return list(db.session.scalars(_trainees_query(search).limit(limit)))


def trainee_page(search: str = "", page: int = 1) -> Page:
    """One page of the trainees list, with their companies (two statements more, whatever the page holds)."""
    return paginate(_trainees_query(search).options(selectinload(Trainee.company)), page,
                    searched=bool((search or "").strip()))


SEARCH_LIMIT = 20
EMAIL_IN_LABEL = re.compile(r"<([^<>@\s]+@[^<>\s]+)>\s*$")


def trainee_label(trainee: Trainee) -> str:
    """How a trainee is named in a choice: « Nom Prénom <e-mail> » (search_trainees reads the e-mail back)."""
    return f"{trainee.last_name} {trainee.first_name} <{trainee.email}>"


def search_trainees(search: str, limit: int = SEARCH_LIMIT) -> list[Trainee]:
    """At most ``limit`` trainees, by name, each word of ``search`` found in the name, the e-mail or the company's
    name (« dupont archi » finds Jean Dupont of the Cabinet d'architecture, « durand@ » Jean Durand's address);
    « Nom Prénom <e-mail> », as a choice names a trainee, finds that trainee only. Two statements (the trainees, their companies), whatever the table."""
    search = (search or "").strip()[:200]
    email = EMAIL_IN_LABEL.search(search)
    query = select(Trainee).outerjoin(Company, Company.id == Trainee.company_id).options(
        selectinload(Trainee.company)).order_by(Trainee.last_name, Trainee.first_name, Trainee.id)
    if email:
        query = query.where(func.lower(Trainee.email) == email.group(1).lower())
    elif search:
        for word in search.lower().split()[:6]:
            query = query.where(in_names_or_company(word))
    else:
        return []
    return list(db.session.scalars(query.limit(limit)))


def trainee_named(search: str) -> Trainee:
    """The trainee the enrolment form's search names by e-mail (typed alone, or in a choice « Nom Prénom
    <e-mail> »). A name or a company is a search: refused with how many match, the form then offers them."""
    search = (search or "").strip()
    email = EMAIL_IN_LABEL.search(search)
    address = email.group(1) if email else search if "@" in search and " " not in search else None
    trainee = find_by_email(address) if address is not None else None
    if trainee is not None:
        return trainee
    found = [] if address is not None else search_trainees(search)
    if not found:
        raise ValidationError(f"Aucun stagiaire ne correspond à « {search[:80]} » : vérifiez la saisie, ou "
                              "décrivez un nouveau stagiaire ci-dessous.", field="trainee_search")
    many = f"Au moins {len(found)} stagiaires correspondent" if len(found) >= SEARCH_LIMIT else (
        f"{len(found)} stagiaires correspondent" if len(found) > 1 else "Un stagiaire correspond")
    raise ValidationError(f"{many} à « {search[:80]} » : choisissez-le ci-dessous"
                          f"{' ou précisez la recherche' if len(found) >= SEARCH_LIMIT else ''}.",
                          field="trainee_search")


def clean_trainee_data(data: dict, errors: ErrorCollector | None = None, prefix: str = "") -> dict:
    """Validated trainee fields (``prefix`` names the form fields, e.g. "trainee." in the API)."""
    own = errors is None
    errors = errors or ErrorCollector()

    def text(key: str, limit: int) -> str:
        value = str(data.get(key) or "").strip()
        if len(value) > limit:
            errors.add(prefix + key, f"Ce champ ne doit pas dépasser {limit} caractères.")
        return value[:limit]

    out = {
        "civility": str(data.get("civility") or ""),
        "first_name": text("first_name", 80),
        "last_name": text("last_name", 80),
        "phone": text("phone", 40),
        "job_title": text("job_title", 120),
        "accessibility_needs": text("accessibility_needs", 20000),
        "bpf_status": str(data.get("bpf_status") or "employee"),
    }
    if out["civility"] not in CIVILITIES:
        errors.add(prefix + "civility", "Civilité inconnue : « Mme », « M. » ou rien.")
    if not out["first_name"]:
        errors.add(prefix + "first_name", "Le prénom est obligatoire.")
    if not out["last_name"]:
        errors.add(prefix + "last_name", "Le nom est obligatoire.")
    if out["bpf_status"] not in BPF_STATUSES:
        errors.add(prefix + "bpf_status", "Statut inconnu.")
    email = errors.run(normalise_email, str(data.get("email") or ""), prefix + "email")
    out["email"] = email
    out["company"] = None
    if data.get("company_id") not in (None, ""):
        pk = id_or_none(data.get("company_id"))
        out["company"] = None if pk is None else db.session.get(Company, pk)
        if out["company"] is None:
            errors.add(prefix + "company_id", "Entreprise introuvable.")
    if own:
        errors.raise_if_any()
    return out


def save_trainee(trainee: Trainee | None, data: dict) -> Trainee:
    """Create or edit a trainee from the advisor's form. A second record for the same e-mail is refused."""
    clean = clean_trainee_data(data)
    other = find_by_email(clean["email"])
    if other is not None and other is not trainee:
        raise ConflictError(f"Cette adresse est déjà celle de {other.full_name} : ouvrez sa fiche plutôt que d'en "
                            "créer une seconde.", field="email")
    if trainee is None:
        trainee = Trainee()
        db.session.add(trainee)
    company = clean.pop("company")
    for key, value in clean.items():
        setattr(trainee, key, value)
    trainee.company = company
    if data.get("consent") and trainee.consent_at is None:
        trainee.consent_at = utcnow()
    return trainee


def find_or_create_trainee(data: dict, prefix: str = "") -> Trainee:
    """The trainee with this e-mail, or a new one: the same e-mail is the same person. An existing record
    only gains what it lacked (phone, job, company, needs); what the advisor recorded is never overwritten."""
    clean = clean_trainee_data(data, prefix=prefix)
    trainee = find_by_email(clean["email"])
    company = clean.pop("company")
    if trainee is None:
        email = clean["email"]
        trainee = insert_or_find(Trainee(**clean, company=company), lambda: find_by_email(email))
    else:
        for key in ("phone", "job_title", "accessibility_needs"):
            if not getattr(trainee, key) and clean[key]:
                setattr(trainee, key, clean[key])
        if trainee.company is None and company is not None:
            trainee.company = company
    if data.get("consent") and trainee.consent_at is None:
        trainee.consent_at = utcnow()
    return trainee


def merge_trainees(kept: Trainee, removed: Trainee, actor: User | None = None) -> Trainee:
    """Merge ``removed`` into ``kept``: enrolments (with their answers, funding and mails) move over, the
    empty fields of ``kept`` are filled, and a trace keeps the removed record's data."""
    from ..enrolments.models import Enrolment

    if kept.id == removed.id:
        raise ValidationError("Choisissez deux fiches différentes.")
    kept_sessions = set(db.session.scalars(select(Enrolment.session_id).where(Enrolment.trainee_id == kept.id)))
    clash = db.session.scalar(select(Enrolment).where(Enrolment.trainee_id == removed.id,
                                                      Enrolment.session_id.in_(kept_sessions)))
    if clash is not None:
        raise ConflictError(f"Les deux fiches sont inscrites à la session {clash.session.label} : gardez une seule "
                            "de ces inscriptions (l'autre ne peut pas être fusionnée).")
    snapshot = {key: getattr(removed, key) for key in FIELDS}
    snapshot["consent_at"] = removed.consent_at.isoformat() if removed.consent_at else None
    for key in ("civility", "phone", "job_title"):
        if not getattr(kept, key):
            setattr(kept, key, getattr(removed, key))
    if kept.company_id is None:
        kept.company_id = removed.company_id
    if removed.accessibility_needs and removed.accessibility_needs not in kept.accessibility_needs:
        kept.accessibility_needs = "\n".join(p for p in (kept.accessibility_needs, removed.accessibility_needs) if p)
    if removed.consent_at and (kept.consent_at is None or removed.consent_at < kept.consent_at):
        kept.consent_at = removed.consent_at
    db.session.execute(update(Enrolment).where(Enrolment.trainee_id == removed.id).values(trainee_id=kept.id))
    db.session.add(TraineeMerge(kept_id=kept.id, removed_id=removed.id, removed_data=snapshot,
                                merged_by_id=actor.id if actor else None))
    db.session.delete(removed)
    db.session.flush()
    db.session.expire(kept)
    return kept
