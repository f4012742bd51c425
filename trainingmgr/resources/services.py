"""Locations and trainers: validation and saving."""
from __future__ import annotations

from urllib.parse import urlparse

from sqlalchemy import select

from ..accounts.models import Role, User
from ..accounts.services import normalise_email
from ..core.errors import ErrorCollector
from ..core.validation import clean_text, id_or_none
from ..extensions import db
from ..files.services import store_upload
from . import providers
from .dossier import subcontractor_fields
from .models import Location, Trainer


def list_locations(include_inactive: bool = False) -> list[Location]:
    query = select(Location).order_by(Location.name)
    if not include_inactive:
        query = query.where(Location.active.is_(True))
    return list(db.session.scalars(query))


def list_trainers(include_inactive: bool = False) -> list[Trainer]:
    query = select(Trainer).order_by(Trainer.last_name, Trainer.first_name)
    if not include_inactive:
        query = query.where(Trainer.active.is_(True))
    return list(db.session.scalars(query))


def save_location(location: Location | None, data: dict) -> Location:
    errors = ErrorCollector()
    is_remote = bool(data.get("is_remote"))
    name = clean_text(data.get("name"))
    if not name:
        errors.add("name", "Le nom du lieu est obligatoire.")
    capacity = data.get("capacity")
    if capacity is not None and capacity != "":
        try:
            capacity = int(capacity)
        except (TypeError, ValueError):
            errors.add("capacity", "La capacité doit être un nombre entier.")
            capacity = None
        else:
            if capacity < 1:
                errors.add("capacity", "La capacité de la salle doit être d'au moins 1 personne.")
    else:
        capacity = None
    meeting_url = clean_text(data.get("meeting_url"))
    if meeting_url:
        parsed = urlparse(meeting_url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            errors.add("meeting_url", "Le lien de réunion doit être une adresse web (https://…).")
    if is_remote and not meeting_url:
        errors.add("meeting_url", "Un lieu à distance doit avoir un lien de réunion.")
    if not is_remote and not clean_text(data.get("city")):
        errors.add("city", "La ville est obligatoire pour un lieu physique.")
    if location is not None and capacity is not None and not is_remote:
        for session in providers.ask("sessions_exceeding_room", location, capacity):
            errors.add(
                "capacity",
                f"La session {session.label} accueille jusqu'à {session.capacity} stagiaires dans ce lieu : "
                "réduisez d'abord sa capacité.",
            )
    errors.raise_if_any()
    if location is None:
        location = Location()
        db.session.add(location)
    location.name = name
    location.is_remote = is_remote
    location.address = clean_text(data.get("address"))
    location.postal_code = clean_text(data.get("postal_code"))
    location.city = clean_text(data.get("city"))
    location.capacity = None if is_remote else capacity
    location.wheelchair_access = bool(data.get("wheelchair_access"))
    location.access_notes = clean_text(data.get("access_notes"))
    location.equipment = clean_text(data.get("equipment"))
    location.meeting_url = meeting_url
    location.notes = clean_text(data.get("notes"))
    if "active" in data:
        location.active = bool(data["active"])
    return location


def trainer_account_choices(trainer: Trainer | None) -> list[User]:
    """Trainer-role accounts not yet linked to another trainer."""
    linked = select(Trainer.user_id).where(Trainer.user_id.is_not(None))
    if trainer is not None:
        linked = linked.where(Trainer.id != trainer.id)
    return list(
        db.session.scalars(
            select(User).where(User.role == Role.TRAINER.value, User.id.not_in(linked)).order_by(User.email)
        )
    )


def save_trainer(trainer: Trainer | None, data: dict, cv_upload=None) -> Trainer:
    errors = ErrorCollector()
    first_name, last_name = clean_text(data.get("first_name")), clean_text(data.get("last_name"))
    if not first_name:
        errors.add("first_name", "Le prénom est obligatoire.")
    if not last_name:
        errors.add("last_name", "Le nom est obligatoire.")
    email = clean_text(data.get("email"))
    if email:
        email = errors.run(normalise_email, email) or email
    subcontractor = subcontractor_fields(data, errors)  # status, SIRET, NDA, rate (resources/dossier.py)
    user = None
    user_id = data.get("user_id")
    if user_id not in (None, "", "None"):
        user_pk = id_or_none(user_id)
        user = None if user_pk is None else db.session.get(User, user_pk)
        if user is None or user not in trainer_account_choices(trainer):
            errors.add("user_id", "Ce compte n'est pas un compte formateur disponible.")
    errors.raise_if_any()
    if trainer is None:
        trainer = Trainer()
        db.session.add(trainer)
    trainer.first_name = first_name
    trainer.last_name = last_name
    trainer.email = email
    trainer.phone = clean_text(data.get("phone"))
    trainer.competences = clean_text(data.get("competences"))
    for name, value in subcontractor.items():
        setattr(trainer, name, value)
    trainer.user = user
    if "active" in data:
        trainer.active = bool(data["active"])
    if cv_upload is not None and getattr(cv_upload, "filename", ""):
        trainer.cv = store_upload(cv_upload, "cv", field="cv")
    return trainer
