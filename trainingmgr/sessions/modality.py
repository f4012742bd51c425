"""What depends on a half-day's modality (room, virtual classroom, asynchronous activity): hours per modality, and
how documents word an action delivered wholly or partly at a distance (R6313-3, the certificat de réalisation)."""
from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from ..core.formatting import hours_fr
from .models import REMOTE_MODALITIES, SLOT_MODALITIES, Slot, SlotModality

__all__ = ["delivery_fields", "SLOT_MODALITIES", "REMOTE_MODALITIES", "SlotModality", "minutes_by_modality", "hours_by_modality",
           "modality_lines", "distance_wording", "session_modalities", "is_remote_action"]

# How each modality reads in a sentence: « 3,5 h en salle, 3,5 h en classe virtuelle ».
IN_SENTENCE = {"room": "en salle", "virtual": "en classe virtuelle", "async": "en activité asynchrone"}

DISTANCE_ALL = "Action réalisée à distance"
DISTANCE_PART = "Action réalisée en partie à distance"


def minutes_by_modality(pairs: Iterable[tuple[Slot, int]]) -> dict[str, int]:
    """Minutes per modality from (slot, minutes) pairs, in SLOT_MODALITIES' order, modalities with none left out."""
    totals = dict.fromkeys(SLOT_MODALITIES, 0)
    for slot, minutes in pairs:
        totals[slot.modality if slot.modality in totals else SlotModality.ROOM.value] += minutes
    return {modality: minutes for modality, minutes in totals.items() if minutes}


def hours_by_modality(minutes: dict[str, int]) -> dict[str, Decimal]:
    return {modality: (Decimal(value) / Decimal(60)).quantize(Decimal("0.01")) for modality, value in minutes.items()}


def modality_lines(minutes: dict[str, int]) -> list[dict]:
    """For documents and pages: [{"modality", "label", "hours" (Decimal), "text" (« 3,5 h en salle »)}]."""
    return [{"modality": modality, "label": SLOT_MODALITIES[modality], "hours": hours,
             "text": f"{hours_fr(hours)} {IN_SENTENCE[modality]}"}
            for modality, hours in hours_by_modality(minutes).items()]


def distance_wording(modalities: Iterable[str]) -> str:
    """« Action réalisée à distance » when every half-day is remote, « … en partie à distance » when some are,
    "" when none is."""
    modalities = set(modalities)
    remote = modalities & set(REMOTE_MODALITIES)
    if not remote:
        return ""
    return DISTANCE_ALL if remote == modalities else DISTANCE_PART


def session_modalities(slots: Iterable[Slot]) -> list[str]:
    """The modalities of a session's half-days, in SLOT_MODALITIES' order."""
    present = {slot.modality for slot in slots}
    return [modality for modality in SLOT_MODALITIES if modality in present]


def is_remote_action(slots: Iterable[Slot]) -> bool:
    """Whether any half-day is delivered at a distance (the BPF's « formation à distance »)."""
    return any(slot.modality in REMOTE_MODALITIES for slot in slots)


def delivery_fields(slot: Slot) -> dict:
    """How a half-day is delivered, for the documents' and the e-mails' ``session.slots[]``: its modality (code and
    label), the link of a virtual classroom and what the trainee does in an asynchronous activity ("" otherwise)."""
    return {"modality": slot.modality, "modality_label": slot.modality_label, "meeting_url": slot.meeting_link,
            "activity": slot.activity if slot.modality == SlotModality.ASYNC.value else ""}
