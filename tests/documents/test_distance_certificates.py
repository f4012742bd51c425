"""Distance half-days on the attestation and the certificat de réalisation: the hours attended per modality and the
ministry model's wording (« action réalisée à distance », « … en partie à distance »), from the half-days the trainee
attended; a trainee who attended in the room only gets the document as before.

The half-days' modality is set once the session is delivered (the signing rules of a virtual half-day are
tests/attendance's): the documents read it from the slots when they are generated."""
from __future__ import annotations

import re

from trainingmgr.core.formatting import hours_fr
from trainingmgr.documents import services
from trainingmgr.documents.rendering.context import attestation, certificate
from trainingmgr.extensions import db
from trainingmgr.quality import consistency

from tests.documents.support import docx_text
from tests.fixtures.documents import deliver


def _slots(session):
    return sorted(session.slots, key=lambda s: (s.date, s.start_time))


def _delivered(demo, session, *modalities: str):
    """``session`` delivered, then its half-days given ``modalities`` in order."""
    deliver(session, demo.advisor, demo.trainer)
    for slot, modality in zip(_slots(session), modalities):
        slot.modality = modality
        if modality == "virtual":
            slot.meeting_url = "https://visio.example.fr/formaction/classe-virtuelle"
    db.session.commit()
    return session


def _duration(body: str) -> str:
    """The certificate's « pour une durée de … » sentence."""
    return next(line for line in body.splitlines() if line.startswith("pour une durée de "))


def _certificate(demo, session, first_name: str) -> tuple[str, dict]:
    document = services.generate("certificate", session, demo.advisor, enrolment=demo.enrolments[first_name],
                                 pdf=False)
    return docx_text(services.read_file(document, "docx")), document.context


def test_a_mixed_session_shows_the_hours_per_modality_and_partly_at_a_distance(app, demo):
    session = _delivered(demo, demo.chorus, "room", "virtual")
    morning, afternoon = _slots(session)
    body, context = _certificate(demo, session, "Julie")
    total = hours_fr(morning.hours + afternoon.hours)
    expected = (f"pour une durée de {total}, dont {hours_fr(morning.hours)} en salle et {hours_fr(afternoon.hours)} "
                "en classe virtuelle — action réalisée en partie à distance.")
    assert _duration(body) == expected
    attended = context["attendance"]
    assert attended["distance"] == "Action réalisée en partie à distance"
    assert [(line["label"], line["hours"]) for line in attended["modalities"]] == [
        ("En salle", hours_fr(morning.hours)), ("Classe virtuelle", hours_fr(afternoon.hours))]

    document = services.generate("attestation", session, demo.advisor, enrolment=demo.enrolments["Julie"], pdf=False)
    text = docx_text(services.read_file(document, "docx"))
    assert (f"dont {hours_fr(morning.hours)} en salle et {hours_fr(afternoon.hours)} en classe virtuelle — action "
            "réalisée en partie à distance") in text
    # The documents still agree with the register (quality/consistency.py).
    assert not [m for m in consistency.session_mismatches(session) if m.field == consistency.HOURS]


def test_a_session_wholly_at_a_distance(app, demo):
    session = _delivered(demo, demo.dume, "virtual", "async")
    morning, afternoon = _slots(session)
    body, context = _certificate(demo, session, "Sarah")
    assert _duration(body) == (
        f"pour une durée de {hours_fr(morning.hours + afternoon.hours)}, dont {hours_fr(morning.hours)} en classe "
        f"virtuelle et {hours_fr(afternoon.hours)} en activité asynchrone — action réalisée à distance.")
    assert context["attendance"]["by_modality"].endswith("en activité asynchrone")


def test_the_wording_follows_the_half_days_the_trainee_attended(app, demo):
    """A trainee absent from the only remote half-day attended in the room only: no distance wording for them."""
    from trainingmgr.attendance import services as attendance

    session = _delivered(demo, demo.chorus, "room", "virtual")
    _, afternoon = _slots(session)
    julie = demo.enrolments["Julie"]
    attendance.correct(afternoon, julie, {"presence": "absent", "reason": "Connexion impossible"}, demo.advisor,
                       now=afternoon.ends_at)
    db.session.commit()
    context = certificate(julie, "CERT-TEST", "ABCDEFGHJKMN", "https://exemple.fr/verification/ABCDEFGHJKMN")
    assert context["attendance"] | {"hours": "", "first_date": "", "last_date": ""} == {
        "hours": "", "first_date": "", "last_date": "", "modalities": [], "by_modality": "", "distance": ""}


def test_a_room_only_certificate_reads_as_before(app, demo):
    session = _delivered(demo, demo.dume)
    body, context = _certificate(demo, session, "Sarah")
    assert _duration(body) == f"pour une durée de {hours_fr(session.planned_hours)}."
    assert (context["attendance"]["by_modality"], context["attendance"]["distance"]) == ("", "")
    # No new sentence anywhere: the one « à distance » is the ministry model's own note, as before.
    assert len(re.findall("à distance", body)) == 1
    text = docx_text(services.read_file(
        services.generate("attestation", session, demo.advisor, enrolment=demo.enrolments["Sarah"], pdf=False),
        "docx"))
    assert "à distance" not in text and "dont" not in text.split("Durée suivie", 1)[-1].split("\n")[1]
    assert attestation(demo.enrolments["Sarah"], "ATT-TEST")["attendance"]["modalities"] == []


def test_reissuing_a_room_only_certificate_names_no_new_data(app, demo):
    """A certificate issued before the distance variables existed (its stored context lacks them) is not said to
    have changed data: they are empty for a room-only trainee."""
    from trainingmgr.documents.services import _changed_fields

    session = _delivered(demo, demo.dume)
    _, context = _certificate(demo, session, "Sarah")
    before = {**context, "attendance": {k: v for k, v in context["attendance"].items()
                                        if k not in ("modalities", "by_modality", "distance")}}
    assert _changed_fields(before, context) == []
    mixed = {**context, "attendance": {**context["attendance"], "distance": "Action réalisée à distance"}}
    assert _changed_fields(before, mixed) == ["action réalisée à distance"]
