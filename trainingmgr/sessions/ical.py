"""A session's slots as an iCalendar file (RFC 5545), with Europe/Paris times."""
from __future__ import annotations

import datetime as dt

from icalendar import Calendar, Event, Timezone, TimezoneDaylight, TimezoneStandard, vRecur, vText

from ..core.timeutil import utcnow
from ..organisation.models import Organisation
from ..resources.models import Location
from .models import Slot, SlotModality, TrainingSession


def new_calendar(name: str) -> Calendar:
    """An empty calendar named ``name``, holding the Europe/Paris time zone its events use."""
    cal = Calendar()
    cal.add("prodid", "-//trainingmgr//Sessions de formation//FR")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    cal.add_component(paris_timezone())
    return cal


def slot_uid(slot: Slot, domain: str = "trainingmgr") -> str:
    """The slot's event UID, the same in every calendar that holds it (convocation, trainer's subscription)."""
    return f"session-{slot.session_id}-slot-{slot.id}@{domain}"


def place(location: Location | None) -> str:
    """The LOCATION of an event held at ``location``: the meeting link when remote, the address otherwise."""
    if location is None:
        return ""
    return location.meeting_url if location.is_remote else f"{location.name}, {location.full_address}"


def slot_place(slot: Slot) -> tuple[str, str]:
    """(LOCATION, URL) of a half-day's event: a virtual classroom is held at its meeting link (both); an asynchronous
    activity « à distance » (no URL); a half-day in the room at its place, else its session's."""
    if slot.modality == SlotModality.VIRTUAL.value:
        link = slot.meeting_link
        return link or "Classe virtuelle", link
    if slot.modality == SlotModality.ASYNC.value:
        return "À distance (activité asynchrone)", ""
    return place(slot.location or slot.session.location), ""


def add_place(event: Event, slot: Slot) -> None:
    """LOCATION and URL of ``slot``'s event (slot_place); what the trainee does in an asynchronous half-day is in
    the description."""
    location, url = slot_place(slot)
    if location:
        event["location"] = vText(location)
    if url:
        event.add("url", url)


def modality_lines(slot: Slot) -> list[str]:
    """The description's lines about a half-day at a distance: its modality, its link or its activity."""
    if slot.modality == SlotModality.VIRTUAL.value:
        return [f"Classe virtuelle : {slot.meeting_link}" if slot.meeting_link else "Classe virtuelle"]
    if slot.modality == SlotModality.ASYNC.value:
        return ["Activité asynchrone" + (f" : {slot.activity}" if slot.activity else "")]
    return []


def event_status(session: TrainingSession) -> str:
    """STATUS of the session's events: only a confirmed session is sure to take place. When it changes, the slots'
    SEQUENCE grows (``Slot.sequence``, sessions.services.workflow), as it does when a slot moves."""
    return {"cancelled": "CANCELLED", "open": "TENTATIVE", "draft": "TENTATIVE"}.get(session.status, "CONFIRMED")


def session_calendar(session: TrainingSession, org: Organisation, domain: str = "trainingmgr") -> bytes:
    cal = new_calendar(f"{session.title} ({org.name})")
    stamp = utcnow()
    for slot in session.slots:
        event = Event()
        event.add("uid", slot_uid(slot, domain))
        event.add("dtstamp", stamp)
        event.add("sequence", slot.sequence or 0)
        event.add("dtstart", slot.starts_at)
        event.add("dtend", slot.ends_at)
        event.add("summary", f"{session.title} – {slot.half_day_label.lower()}")
        add_place(event, slot)
        lines = [f"Formation : {session.title}", *modality_lines(slot), f"Organisme : {org.name}"]
        if slot.trainer is not None:
            lines.append(f"Formateur : {slot.trainer.full_name}")
        if org.quality_contact_email or org.quality_contact_phone:
            contact = " ".join(p for p in (org.quality_contact_name, org.quality_contact_email,
                                           org.quality_contact_phone) if p)
            lines.append(f"Contact : {contact}")
        event.add("description", "\n".join(lines))
        event.add("status", event_status(session))
        cal.add_component(event)
    return cal.to_ical()


def paris_timezone() -> Timezone:
    """Europe/Paris as calendar programs expect it: the EU summer-time rule, not a list of dates."""
    tz = Timezone()
    tz.add("tzid", "Europe/Paris")
    summer = TimezoneDaylight()
    summer.add("tzname", "CEST")
    summer.add("dtstart", dt.datetime(1970, 3, 29, 2, 0))
    summer.add("tzoffsetfrom", dt.timedelta(hours=1))
    summer.add("tzoffsetto", dt.timedelta(hours=2))
    summer.add("rrule", vRecur(freq="YEARLY", bymonth=3, byday="-1SU"))
    winter = TimezoneStandard()
    winter.add("tzname", "CET")
    winter.add("dtstart", dt.datetime(1970, 10, 25, 3, 0))
    winter.add("tzoffsetfrom", dt.timedelta(hours=2))
    winter.add("tzoffsetto", dt.timedelta(hours=1))
    winter.add("rrule", vRecur(freq="YEARLY", bymonth=10, byday="-1SU"))
    tz.add_component(summer)
    tz.add_component(winter)
    return tz
