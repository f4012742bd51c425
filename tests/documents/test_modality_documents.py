"""The documents left out by issue 27, for distance half-days: the attendance sheet names each half-day's modality and
prints its evidence (a virtual classroom's second signatures and meeting report, an activity's declared time) as the
grid does; France Travail's attestation de présence gives the hours per modality and « action réalisée (en partie) à
distance »; the public check page of a certificate shows the hours per modality. A session held in the room reads as
before. Also: the default templates' wording agrees with one or several trainers, trainees and invoices."""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest

from trainingmgr.attendance import services as attendance
from trainingmgr.attendance.reports import services as reports
from trainingmgr.core.formatting import date_fr, date_long_fr, hours_fr
from trainingmgr.core.timeutil import PARIS
from trainingmgr.documents import services
from trainingmgr.documents.rendering import fastrender
from trainingmgr.documents.rendering.sample import sample_context
from trainingmgr.extensions import db

from tests.documents.support import docx_images, docx_text
from tests.fixtures.documents import deliver, drawing
from tests.helpers import page

MEETING = "https://visio.example.fr/formaction/classe-virtuelle"
DECLARED = 90  # minutes each trainee declares on an asynchronous half-day


def _slots(session):
    return sorted(session.slots, key=lambda s: (s.date, s.start_time))


def _at(slot, time: dt.time, minutes: int = 0) -> dt.datetime:
    return (dt.datetime.combine(slot.date, time, tzinfo=PARIS) + dt.timedelta(minutes=minutes)).astimezone(dt.UTC)


def _zoom(slot, enrolments) -> bytes:
    """A Zoom participants report: each trainee connected from the start to 20 minutes before the end."""
    day = f"{slot.date:%d/%m/%Y}"
    leave = (dt.datetime.combine(slot.date, slot.end_time) - dt.timedelta(minutes=20)).time()
    lines = ["Name (Original Name),User Email,Join Time,Leave Time,Duration (Minutes),Guest"]
    lines += [f"{e.trainee.full_name},{e.trainee.email},{day} {slot.start_time:%H:%M},{day} {leave:%H:%M},0,No"
              for e in enrolments]
    return ("\r\n".join(lines) + "\r\n").encode()


def _run(demo, session, *modalities: str, second_signers: int = 1):
    """``session`` given ``modalities`` then delivered (demo's ``deliver``, with the distance evidence): on a virtual
    half-day everyone signs, the first ``second_signers`` trainees sign the second part and a Zoom report is
    imported; on an asynchronous one everyone declares DECLARED minutes; the trainer closes each sheet."""
    from trainingmgr.sessions.services import change_status

    for slot, modality in zip(_slots(session), modalities):
        slot.modality = modality
        slot.meeting_url = MEETING if modality == "virtual" else ""
        slot.activity = "Lire le guide de dépôt et répondre au quiz" if modality == "async" else ""
    db.session.commit()
    if session.status == "open":
        change_status(session, "confirmed", demo.advisor)
    slots = _slots(session)
    change_status(session, "in_progress", demo.advisor, now=_at(slots[0], slots[0].start_time))
    enrolments = attendance.expected_enrolments(session)
    for n, slot in enumerate(slots):
        for i, enrolment in enumerate(enrolments):
            if slot.modality == "async":
                attendance.declare_time(slot, enrolment, DECLARED, now=_at(slot, slot.end_time, 30 + i))
                continue
            attendance.sign(slot, enrolment, method="link", drawing=drawing(n * 10 + i),
                            now=_at(slot, slot.start_time, -5 + i), ip="192.0.2.1", user_agent="test")
            if slot.modality == "virtual" and i < second_signers:
                middle = attendance.second_part_opens(slot)
                attendance.sign_check(slot, enrolment, method="link", drawing=drawing(50 + i),
                                      now=middle + dt.timedelta(minutes=5 + i))
        if slot.modality == "virtual":
            reports.import_report(slot, _zoom(slot, enrolments), "zoom.csv", demo.advisor,
                                  now=_at(slot, slot.end_time, -1))
        if slot.modality != "async":
            attendance.countersign(slot, demo.trainer, typed_name=session.trainers[0].full_name,
                                   now=_at(slot, slot.end_time, 1))
    change_status(session, "completed", demo.advisor, now=_at(slots[-1], slots[-1].end_time, 40))
    db.session.commit()
    db.session.expire_all()
    return session, enrolments


def _sheet(demo, session):
    document = services.generate("attendance_sheet", session, demo.advisor, pdf=False)
    db.session.commit()
    data = services.read_file(document, "docx")
    return document, docx_text(data), data


def _heading(slot) -> str:
    return f"{date_long_fr(slot.date).capitalize()}, {slot.half_day_label.lower()} " \
           f"({slot.start_time:%H:%M}–{slot.end_time:%H:%M})"


# --------------------------------------------------------------------------- the attendance sheet


def test_the_sheet_of_a_mixed_session_names_each_modality_and_the_virtual_evidence(app, demo):
    session, enrolments = _run(demo, demo.dume, "room", "virtual")
    room, virtual = _slots(session)
    document, body, data = _sheet(demo, session)
    morning, afternoon = document.context["sheet"]["slots"]
    assert morning["label"] == f"{_heading(room)} – En salle" and morning["modality_label"] == "En salle"
    assert afternoon["label"] == f"{_heading(virtual)} – Classe virtuelle"
    assert morning["evidence"] == "" and all(r["second_signature"] == "" and r["note"] == "" for r in morning["rows"])
    [report] = reports.slot_reports(virtual)
    assert afternoon["evidence"].startswith("Classe virtuelle : chaque stagiaire signe au début")
    assert f"rapport Zoom importé le {date_fr(virtual.date)}" in afternoon["evidence"]
    assert f"empreinte SHA-256 {report.sha256}" in afternoon["evidence"]
    first, *others = afternoon["rows"]
    minutes = int(virtual.hours * 60) - 20
    assert "picture_sha256" in first["second_signature"]
    assert re.fullmatch(rf"seconde signature le {date_fr(virtual.date)} \d\d:\d\d ; connecté\(e\) "
                        rf"{re.escape(attendance.duration_fr(minutes))}", first["note"])
    # (« seconde signature manquante » once the signing window has closed by the clock: the demo's session is ahead)
    assert others and all(r["second_signature"] == "" and "seconde signature le" not in r["note"]
                          and "connecté(e)" in r["note"] for r in others)
    # The printed sheet: the headings, the evidence, the second signatures (one more picture per second signer).
    assert f"{_heading(virtual)} – Classe virtuelle" in body and "Seconde signature :" in body
    assert f"empreinte SHA-256 {report.sha256}" in body.replace("\n", " ")
    assert docx_images(data) == 2 * len(enrolments) + 1 + 1  # first signatures, one second signature, the QR code


def test_an_asynchronous_half_day_shows_the_time_declared(app, demo):
    session, enrolments = _run(demo, demo.chorus, "room", "async")
    _, activity = _slots(session)
    document, body, data = _sheet(demo, session)
    afternoon = document.context["sheet"]["slots"][1]
    assert afternoon["label"].endswith(" – Activité asynchrone")
    assert afternoon["evidence"].startswith("Activité asynchrone : temps déclaré par chaque stagiaire")
    for row in afternoon["rows"]:
        assert row["signature"] == "1 h 30 déclarées" and row["status"] == "Signé"
        assert row["signed_at"].startswith(date_fr(activity.date)) and row["method"] == "lien personnel, temps déclaré"
        assert "déclarées" not in row["note"]  # said once, in the signature column
    assert "1 h 30 déclarées" in body and "Activité asynchrone" in body
    assert docx_images(data) == len(enrolments) + 1  # the morning's signatures and the QR code


def test_an_erased_report_is_named_with_its_digest(app, demo):
    session, _ = _run(demo, demo.dume, "room", "virtual", second_signers=0)
    _, virtual = _slots(session)
    [report] = reports.slot_reports(virtual)
    report.file_id, report.erased_at = None, dt.datetime(2030, 3, 12, 9, 0, tzinfo=dt.UTC)
    db.session.commit()
    from trainingmgr.documents.rendering.context import attendance_sheet

    evidence = attendance_sheet(session, "EMARG-TEST", "ABCDEFGHJKMN", "https://exemple.fr/v")["sheet"]["slots"][1][
        "evidence"]
    assert f"fichier effacé le 12/03/2030 à l'échéance de conservation, empreinte SHA-256 {report.sha256}" in evidence


def test_a_room_only_sheet_reads_as_before(app, demo):
    deliver(demo.dume, demo.advisor, demo.trainer)
    document, body, data = _sheet(demo, demo.dume)
    slots = document.context["sheet"]["slots"]
    assert [s["label"] for s in slots] == [_heading(slot) for slot in _slots(demo.dume)]
    assert all(s["modality_label"] == "" and s["evidence"] == "" for s in slots)
    assert all(r["second_signature"] == "" and r["note"] == "" for s in slots for r in s["rows"])
    for text in ("En salle", "Classe virtuelle", "Activité asynchrone", "Seconde signature", "rapport de connexion"):
        assert text not in body
    headings = [line for line in body.splitlines() if line.startswith(_heading(_slots(demo.dume)[0])[:10])]
    assert headings == [_heading(slot) for slot in _slots(demo.dume)]
    rows = [row for slot in slots for row in slot["rows"]]
    assert docx_images(data) == len(rows) + 1  # as before: one picture per signature, and the QR code


# --------------------------------------------------------------------------- France Travail's attestation de présence


def _aif(enrolment):
    line = enrolment.funding_lines[0]
    line.kind, line.opco_name, line.opco_file_number = "france_travail", "France Travail", "AIF-31-2026-000777"
    line.agreed_hours = Decimal("8.00")
    db.session.commit()


def test_the_france_travail_attestation_gives_the_hours_per_modality(app, demo):
    session, enrolments = _run(demo, demo.dume, "room", "virtual")
    room, virtual = _slots(session)
    enrolment = enrolments[0]
    _aif(enrolment)
    document = services.generate("ft_attendance", session, demo.advisor, enrolment=enrolment, pdf=False)
    body = docx_text(services.read_file(document, "docx"))
    presence = document.context["presence"]
    expected = f"{hours_fr(room.hours)} en salle et {hours_fr(virtual.hours)} en classe virtuelle"
    assert presence["by_modality"] == expected and presence["distance"] == "Action réalisée en partie à distance"
    assert [(m["label"], m["hours"]) for m in presence["modalities"]] == [
        ("En salle", hours_fr(room.hours)), ("Classe virtuelle", hours_fr(virtual.hours))]
    assert f"Heures de présence\n{presence['hours']}, dont {expected} — action réalisée en partie à distance" in body
    assert "à distance, d'après la double signature et le rapport de connexion" in body


def test_a_room_only_france_travail_attestation_reads_as_before(app, demo):
    deliver(demo.dume, demo.advisor, demo.trainer)
    enrolment = attendance.expected_enrolments(demo.dume)[0]
    _aif(enrolment)
    document = services.generate("ft_attendance", demo.dume, demo.advisor, enrolment=enrolment, pdf=False)
    body = docx_text(services.read_file(document, "docx"))
    presence = document.context["presence"]
    assert (presence["modalities"], presence["by_modality"], presence["distance"]) == ([], "", "")
    assert f"Heures de présence\n{presence['hours']}\n" in body and "distance" not in body and "dont" not in body


# --------------------------------------------------------------------------- the public check page


def test_the_check_page_of_a_certificate_shows_the_hours_per_modality(app, demo, client):
    session, enrolments = _run(demo, demo.dume, "room", "virtual")
    room, virtual = _slots(session)
    document = services.generate("certificate", session, demo.advisor, enrolment=enrolments[0], pdf=False)
    db.session.commit()
    body = page(client.get(f"/verification/{document.context['verification']['code']}"))
    assert 'data-field="modalities"' in body
    assert f"{hours_fr(room.hours)} en salle" in body and f"{hours_fr(virtual.hours)} en classe virtuelle" in body
    assert "Action réalisée en partie à distance" in body


def test_the_check_page_of_a_room_only_certificate_shows_the_total_only(app, demo, client):
    deliver(demo.dume, demo.advisor, demo.trainer)
    enrolment = attendance.expected_enrolments(demo.dume)[0]
    document = services.generate("certificate", demo.dume, demo.advisor, enrolment=enrolment, pdf=False)
    db.session.commit()
    body = page(client.get(f"/verification/{document.context['verification']['code']}"))
    assert 'data-field="hours"' in body and 'data-field="modalities"' not in body and "à distance" not in body


# --------------------------------------------------------------------------- wording for one or several


def _text(code: str, context: dict) -> str:
    path = f"documents/{services.DOC_TYPES[code].filename}"
    with open(path, "rb") as handle:
        return docx_text(fastrender.render(handle.read(), context).docx)


@pytest.mark.parametrize("count", [1, 2, 3])
def test_the_default_templates_read_right_for_one_or_several(app, count):
    """No « (s) » left: each count is said by wording that needs no plural, for one as for several."""
    convention = sample_context("convention")
    convention["trainees"] = (convention["trainees"] * 2)[:count]
    text = _text("convention", convention)
    assert ("Nombre de stagiaires inscrits par le client, admis après vérification des prérequis : "
            f"{count}.") in text
    assert "Titres et qualifications de l'équipe pédagogique :" in text
    contract = sample_context("contract")
    contract["session"]["trainees_count"] = str(count)
    text = _text("contract", contract)
    assert f"Effectif prévu de la session (nombre de stagiaires) : {count}" in text
    assert "Article 4 – Titres et qualifications de l'équipe pédagogique (L6353-4, 4°)" in text
    names = ", ".join(["Pierre Lefèvre", "Claire Dubois", "Marc Petit"][:count])
    for code in ("convocation", "attendance_sheet"):
        context = sample_context(code)
        context["session"]["trainers"] = names
        text = _text(code, context)
        assert (f"Équipe pédagogique : {names}" if code == "convocation" else f"Équipe pédagogique\n{names}") in text
    receipt = sample_context("receipt")
    receipt["receipt"]["invoices"] = (receipt["receipt"]["invoices"] * 2)[:count]
    text = _text("receipt", receipt)
    assert f"Total réglé : {receipt['receipt']['total_paid']} – paiement intégral reçu le 15/12/2026." in text
    for code in ("convention", "contract", "convocation", "programme", "attendance_sheet", "receipt"):
        assert not re.search(r"\w\((s|es|x)\)", _text(code, sample_context(code))), code
