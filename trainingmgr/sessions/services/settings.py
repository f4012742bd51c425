"""A session's settings (format, delivery, place, trainers, seats, prices, client): validated against its course
version and its rooms, then applied with the slots that follow them."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import partial

from ...catalogue.models import AUDIENCE_FORMATS, DELIVERY_MODES, CourseVersion
from ...companies.models import Company
from ...core.errors import ErrorCollector, ValidationError
from ...core.formatting import date_fr
from ...core.validation import clean_text, parse_decimal, parse_int
from ...resources.models import Location, Trainer
from ..models import SESSION_FORMATS, Slot, SlotModality, TrainingSession
from .access import load_choice
from .seats import seats_taken
from .slots import check_slot_conflicts, check_trainer_available


@dataclass
class SessionSettings:
    """Settings checked by clean_settings, ready for apply_settings."""

    format: str
    delivery_mode: str
    location: Location | None
    trainers: list[Trainer]
    capacity: int
    min_trainees: int
    price_per_trainee: Decimal | None
    intra_price: Decimal | None
    client_company: Company | None
    notes: str = ""


def clean_settings(data: dict, version: CourseVersion, session: TrainingSession | None) -> SessionSettings:
    """Validate session settings against the course version and the rooms; defaults come from the course."""
    errors = ErrorCollector()
    value = partial(_given, data, session)
    fmt = _clean_format(value, version, errors)
    delivery = value("delivery_mode") or version.delivery_mode
    if delivery not in DELIVERY_MODES:
        errors.add("delivery_mode", "Modalité inconnue : présentiel, distanciel ou mixte.")
    location = _clean_location(data, session, delivery, errors)
    trainers = _clean_trainers(data, session, errors)
    capacity, min_trainees = _clean_capacity(value, version, location, session, errors)
    price = parse_decimal(value("price_per_trainee", version.price_per_trainee), "price_per_trainee", errors,
                          label="Le prix par stagiaire")
    intra_price = parse_decimal(value("intra_price", version.intra_group_price), "intra_price", errors,
                                label="Le prix intra")
    company = _clean_company(data, session, fmt, errors)
    notes = value("notes", "") or ""
    errors.raise_if_any()
    return SessionSettings(
        format=fmt, delivery_mode=delivery, location=location, trainers=trainers, capacity=capacity,
        min_trainees=min_trainees, price_per_trainee=price, intra_price=intra_price, client_company=company,
        notes=clean_text(notes),
    )


def _given(data: dict, session: TrainingSession | None, key: str, default=None):
    """The value posted for ``key``, else the session's, else ``default``."""
    if key in data:
        return data[key]
    if session is not None:
        return getattr(session, key)
    return default


def _clean_format(value, version: CourseVersion, errors: ErrorCollector) -> str:
    fmt = value("format") or ("intra" if version.audience_format == "intra" else "inter")
    if fmt not in SESSION_FORMATS:
        errors.add("format", "Format inconnu : inter ou intra.")
    elif version.audience_format != "inter_intra" and fmt != version.audience_format:
        errors.add("format", f"Cette formation est proposée en {AUDIENCE_FORMATS[version.audience_format].lower()} "
                             "uniquement.")
    return fmt


def _clean_location(data: dict, session: TrainingSession | None, delivery: str,
                    errors: ErrorCollector) -> Location | None:
    location = load_choice(Location, data["location_id"] if "location_id" in data
                           else (session.location if session else None), "location_id", errors, "Lieu")
    if location is not None and not location.active and (session is None or session.location_id != location.id):
        errors.add("location_id", "Ce lieu est archivé.")
    if location is not None and delivery == "presentiel" and location.is_remote:
        errors.add("location_id", "Une session en présentiel a besoin d'un lieu physique.")
    if location is not None and delivery == "distanciel" and not location.is_remote:
        errors.add("location_id", "Une session à distance a besoin d'un lieu à distance (lien de réunion).")
    return location


def _clean_trainers(data: dict, session: TrainingSession | None, errors: ErrorCollector) -> list[Trainer]:
    if "trainer_ids" not in data:
        return list(session.trainers) if session else []
    trainers = []
    for raw in data["trainer_ids"] or []:
        trainer = load_choice(Trainer, raw, "trainer_ids", errors, "Formateur")
        if trainer is not None and trainer not in trainers:
            if not trainer.active and (session is None or trainer not in session.trainers):
                errors.add("trainer_ids", f"{trainer.full_name} est archivé(e).")
            trainers.append(trainer)
    return trainers


def _clean_capacity(value, version: CourseVersion, location: Location | None, session: TrainingSession | None,
                    errors: ErrorCollector) -> tuple[int | None, int | None]:
    """(capacity, min_trainees), within the course's maximum, the rooms and the seats already taken."""
    default_capacity = version.max_trainees
    if location is not None and location.capacity and not location.is_remote:
        default_capacity = min(default_capacity, location.capacity)
    capacity = parse_int(value("capacity", default_capacity), "capacity", errors,
                         label="La capacité", minimum=1, maximum=1000)
    min_trainees = parse_int(value("min_trainees", version.min_trainees), "min_trainees", errors,
                             label="Le nombre minimum de stagiaires", minimum=1, maximum=1000)
    if capacity is not None:
        _check_capacity(capacity, version, location, session, errors)
    if capacity is not None and min_trainees is not None and min_trainees > capacity:
        errors.add("min_trainees", "Le minimum de stagiaires doit être inférieur ou égal à la capacité.")
    return capacity, min_trainees


def _check_capacity(capacity: int, version: CourseVersion, location: Location | None,
                    session: TrainingSession | None, errors: ErrorCollector) -> None:
    if capacity > version.max_trainees:
        errors.add("capacity", f"La capacité ({capacity}) dépasse le maximum de la formation "
                               f"({version.max_trainees} stagiaires).")
    rooms = [location] if location is not None else []
    if session is not None:
        # Slots held in the session's current location follow it to ``location`` (see apply_settings):
        # only the rooms of the other slots still count.
        rooms += [slot.location for slot in session.slots
                  if slot.location is not None and slot.location is not session.location]
    for room in rooms:
        if room.capacity and not room.is_remote and capacity > room.capacity:
            errors.add("capacity", f"La capacité ({capacity}) dépasse celle de la salle « {room.name} » "
                                   f"({room.capacity} places).")
            break
    if session is not None:
        taken = seats_taken([session.id])[session.id]
        if capacity < taken:
            errors.add("capacity", f"{taken} stagiaires sont déjà inscrits : la capacité ne peut être inférieure.")


def _clean_company(data: dict, session: TrainingSession | None, fmt: str, errors: ErrorCollector) -> Company | None:
    company = load_choice(Company, data["client_company_id"] if "client_company_id" in data
                          else (session.client_company if session else None), "client_company_id", errors,
                          "Entreprise")
    if fmt == "intra" and company is None and "client_company_id" not in errors.fields:
        errors.add("client_company_id", "Une session intra doit avoir une entreprise cliente.")
    return None if fmt == "inter" else company


def apply_settings(session: TrainingSession, settings: SessionSettings) -> None:
    old_location = session.location
    old_trainers = list(session.trainers)
    session.format = settings.format
    session.delivery_mode = settings.delivery_mode
    session.location = settings.location
    session.trainers = settings.trainers
    session.capacity = settings.capacity
    session.min_trainees = settings.min_trainees
    session.price_per_trainee = settings.price_per_trainee
    session.intra_price = settings.intra_price
    session.client_company = settings.client_company
    session.notes = settings.notes
    # Slots held where the session was held follow it; slots whose trainer leaves the team (or that had
    # none while the team was empty) get the first trainer of the new team. Other choices stay.
    for slot in session.slots:
        if slot.location is old_location and settings.location is not old_location:
            _follow(slot, settings.location)
        if (slot.trainer is None and not old_trainers) or (
            slot.trainer is not None and slot.trainer not in settings.trainers
        ):
            slot.trainer = settings.trainers[0] if settings.trainers else None
            check_trainer_available(slot.trainer, slot.date)
    for slot in session.slots:
        check_slot_conflicts(session, slot.date, slot.start_time, slot.end_time, slot.location, slot.trainer,
                             exclude=slot)
    check_modalities(session)


def _follow(slot: Slot, location: Location | None) -> None:
    """A slot held where its session was follows it to ``location``, and its modality follows the kind of place:
    a remote place makes a room half-day a virtual classroom, a room makes a virtual classroom without a link of its
    own an in-room half-day. A virtual classroom with its own link, or an asynchronous activity, stays at a distance
    (and keeps its place) when the session moves to a room."""
    modality = slot.modality
    if location is not None and location.is_remote and modality == SlotModality.ROOM.value:
        modality = SlotModality.VIRTUAL.value
    elif location is not None and not location.is_remote and modality != SlotModality.ROOM.value:
        if modality == SlotModality.ASYNC.value or slot.meeting_url:
            return
        modality = SlotModality.ROOM.value
    slot.location, slot.modality = location, modality
    slot.sequence = (slot.sequence or 0) + 1  # the slot moves with its session: calendars follow


def check_modalities(session: TrainingSession) -> None:
    """The delivery mode and the half-days agree: « présentiel » only in the room, « distanciel » only at a
    distance, « mixte » anything (docs/distance.md)."""
    mode = session.delivery_mode
    wrong = [slot for slot in session.slots if (mode == "presentiel" and slot.is_remote)
             or (mode == "distanciel" and not slot.is_remote)]
    if not wrong:
        return
    days = ", ".join(f"{slot.modality_label.lower()} le {date_fr(slot.date)}, {slot.half_day_label.lower()}"
                     for slot in sorted(wrong, key=lambda s: (s.date, s.start_time)))
    if mode == "presentiel":
        message = (f"Des demi-journées de cette session sont à distance ({days}) : choisissez la modalité « mixte », "
                   "ou repassez-les en salle.")
    else:
        message = (f"Des demi-journées de cette session sont en salle ({days}) : choisissez la modalité « mixte », "
                   "ou passez-les à distance.")
    raise ValidationError(message, field="delivery_mode")
