"""The signing rules, through the personal link: window, replay, tampering, lock, corrections, hours."""
from __future__ import annotations

import logging

import pytest
from sqlalchemy import func, select

from trainingmgr.attendance import services
from trainingmgr.attendance.chain import verify_chain
from trainingmgr.attendance.models import AttendanceRecord
from trainingmgr.core.errors import ConflictError, PermissionDenied, ValidationError
from trainingmgr.extensions import db

from tests.attendance.support import drawing, link, slots
from tests.helpers import page


def records(session) -> list[AttendanceRecord]:
    db.session.expire_all()
    return list(db.session.scalars(select(AttendanceRecord).where(AttendanceRecord.session_id == session.id)
                                   .order_by(AttendanceRecord.seq)))


# --------------------------------------------------------------------------- the window


@pytest.mark.parametrize("hhmm, expected", [
    ("08:14", 409),   # 16 min before 08:30: not open yet
    ("08:15", 302),   # opens 15 min before the start
    ("13:30", 302),   # 60 min after 12:30: still open
    ("13:31", 410),   # closed
])
def test_a_slot_can_be_signed_from_15_min_before_to_60_min_after(client, klass, clock, hhmm, expected):
    session, (julie, *_) = klass
    morning = slots(session)[0]
    clock.at(hhmm)
    response = client.post(link(julie, morning), data={"typed_name": julie.trainee.full_name})
    assert response.status_code == expected, page(response)
    if expected == 409:
        assert "n'est pas encore ouvert" in page(response) and "08:15" in page(response)
    if expected == 410:
        assert "est clos depuis 13:30" in page(response)
    assert len(records(session)) == (1 if expected == 302 else 0)


def test_the_window_is_configurable(make_app, klass, clock):
    app = make_app(ATTENDANCE_OPENS_BEFORE_MINUTES=30, ATTENDANCE_CLOSES_AFTER_MINUTES=10)
    session, (julie, *_) = klass
    morning = slots(session)[0]
    with app.test_request_context():
        clock.at("08:00")
        assert services.window_state(morning) == "open"
        clock.at("12:41")
        assert services.window_state(morning) == "closed"


def test_the_signing_page_explains_when_the_window_opens(client, klass, clock):
    session, (julie, *_) = klass
    afternoon = slots(session)[1]
    clock.at("10:00")
    response = client.get(link(julie, afternoon))
    assert response.status_code == 200
    assert "L'émargement ouvre le" in page(response) and "13:15" in page(response)
    assert 'id="sign-form"' not in page(response)


# --------------------------------------------------------------------------- signing through the link


def test_a_drawn_signature_is_recorded_with_its_evidence(client, klass, clock):
    session, (julie, *_) = klass
    morning = slots(session)[0]
    response = client.post(link(julie, morning), data={"signature": drawing()},
                           headers={"User-Agent": "Mozilla/5.0 (iPhone) Test"})
    assert response.status_code == 302
    assert "Vous avez signé ce créneau" in page(client.get(response.headers["Location"]))
    (record,) = records(session)
    assert (record.kind, record.method, record.mode, record.seq) == ("signature", "link", "drawn", 1)
    assert record.enrolment_id == julie.id and record.slot_id == morning.id
    assert record.image.startswith(b"\x89PNG") and record.typed_name == ""
    assert record.user_agent == "Mozilla/5.0 (iPhone) Test" and record.ip == "127.0.0.1"
    assert record.created_at == clock.now and record.signer_name == julie.trainee.full_name
    assert len(record.hash) == 64 and record.prev_hash == "0" * 64
    assert verify_chain(session.id).ok


def test_a_typed_name_must_be_the_trainees_own(client, klass, clock):
    session, (julie, paul, _) = klass
    morning = slots(session)[0]
    response = client.post(link(julie, morning), data={"typed_name": paul.trainee.full_name})
    assert response.status_code == 422
    assert f"« {julie.trainee.full_name} »" in page(response)
    # Case, accents and word order do not matter.
    last, first = julie.trainee.last_name.upper(), julie.trainee.first_name.lower()
    assert client.post(link(julie, morning), data={"typed_name": f"  {last}   {first} "}).status_code == 302
    (record,) = records(session)
    assert (record.mode, record.typed_name, record.image) == ("typed", f"{last} {first}", None)


@pytest.mark.parametrize("signature, message", [
    (drawing(blank=True), "La signature est vide"),
    ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAA", "n'a pas pu être lue"),
    ("data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=", "n'a pas pu être lue"),
    ("", "Signez dans le cadre"),
])
def test_a_blank_or_broken_drawing_is_refused(client, klass, clock, signature, message):
    session, (julie, *_) = klass
    response = client.post(link(julie, slots(session)[0]), data={"signature": signature})
    assert response.status_code == 422
    assert message in page(response)
    assert records(session) == []


def test_a_huge_drawing_is_refused(client, klass, clock):
    import base64

    session, (julie, *_) = klass
    data = "data:image/png;base64," + base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"0" * 310_000).decode()
    response = client.post(link(julie, slots(session)[0]), data={"signature": data})
    assert response.status_code in (413, 422)
    assert records(session) == []


def test_replaying_a_used_link_is_refused_and_logged(client, klass, clock, caplog):
    session, (julie, *_) = klass
    url = link(julie, slots(session)[0])
    assert client.post(url, data={"typed_name": julie.trainee.full_name}).status_code == 302
    clock.advance(minutes=5)
    with caplog.at_level(logging.WARNING, logger="trainingmgr.attendance"):
        response = client.post(url, data={"signature": drawing()})
    assert response.status_code == 409
    assert "Vous avez déjà signé" in page(response)
    assert "signature rejouée" in caplog.text
    assert len(records(session)) == 1


def test_a_tampered_link_is_refused_and_logged(client, klass, clock, caplog):
    session, (julie, *_) = klass
    url = link(julie, slots(session)[0])
    with caplog.at_level(logging.WARNING, logger="trainingmgr.attendance"):
        tampered = url[:-3] + ("AAA" if not url.endswith("AAA") else "BBB")
        assert client.post(tampered, data={"typed_name": julie.trainee.full_name}).status_code == 403
        assert client.get("/emargement/not-a-token").status_code == 403
    assert "lien falsifié" in caplog.text
    assert records(session) == []


def test_an_expired_link_is_refused(client, klass, clock, monkeypatch):
    import time

    from itsdangerous.timed import TimestampSigner

    session, (julie, *_) = klass
    eight_days_ago = int(time.time()) - 8 * 86400
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: eight_days_ago)
    url = link(julie, slots(session)[0])
    monkeypatch.undo()
    response = client.post(url, data={"typed_name": julie.trainee.full_name})
    assert response.status_code == 410
    assert records(session) == []


def test_a_link_signs_only_its_own_trainee_and_slot(app, klass, make_class, clock):
    session, (julie, paul, _) = klass
    other_session, (stranger, *_) = make_class(1)  # another session
    morning = slots(session)[0]
    with pytest.raises(PermissionDenied):
        services.sign(morning, stranger, method="link", typed_name=stranger.trainee.full_name)
    db.session.rollback()
    # A link names one enrolment and one slot: nothing in the request can point it elsewhere.
    client = app.test_client()
    response = client.post(link(julie, morning), data={"typed_name": paul.trainee.full_name,
                                                       "enrolment_id": paul.id})
    assert response.status_code == 422
    assert records(session) == [] and records(other_session) == []


def test_a_cancelled_enrolment_cannot_sign(client, klass, clock, world):
    from trainingmgr.enrolments.services import cancel

    session, (julie, *_) = klass
    cancel(julie, world.users["advisor"], "Empêchement")
    db.session.commit()
    response = client.post(link(julie, slots(session)[0]), data={"typed_name": julie.trainee.full_name})
    assert response.status_code == 409
    assert "n'est pas confirmée" in page(response)


# --------------------------------------------------------------------------- countersignature and lock


def test_the_countersignature_locks_the_slot(client, trainer, klass, clock, world):
    session, (julie, paul, _) = klass
    morning = slots(session)[0]
    assert client.post(link(julie, morning), data={"signature": drawing()}).status_code == 302
    clock.at("12:35")
    response = trainer.post(f"/attendance/slots/{morning.id}/countersign", data={"signature": drawing()})
    assert response.status_code == 302, page(response)
    (first, counter) = records(session)
    assert (counter.kind, counter.method, counter.trainer_id, counter.seq) == ("countersignature", "trainer",
                                                                               world.pierre.id, 2)
    assert counter.prev_hash == first.hash
    # Paul is still inside the window, but the sheet is closed.
    response = client.post(link(paul, morning), data={"typed_name": paul.trainee.full_name})
    assert response.status_code == 409
    assert "clos" in page(response)
    assert "Le formateur a clos la feuille" in page(client.get(link(paul, morning)))
    # The trainer cannot mark anyone any more, nor sign twice.
    assert trainer.post(f"/attendance/slots/{morning.id}/marks/{paul.id}",
                        data={"presence": "absent"}).status_code == 409
    assert trainer.post(f"/attendance/slots/{morning.id}/countersign",
                        data={"typed_name": "Pierre Formateur"}).status_code == 409
    grid = services.session_grid(session)
    assert grid.cell(paul.id, morning.id).status == "missing"
    assert len(records(session)) == 2


def test_only_a_trainer_of_the_session_countersigns_after_the_start(klass, clock, world, trainer2, advisor, trainer):
    session, _ = klass
    morning = slots(session)[0]
    assert trainer2.post(f"/attendance/slots/{morning.id}/countersign",
                         data={"typed_name": "Paula Formatrice"}).status_code == 403
    assert advisor.post(f"/attendance/slots/{morning.id}/countersign",
                        data={"typed_name": "Conseil"}).status_code == 403
    clock.at("08:20")
    response = trainer.post(f"/attendance/slots/{morning.id}/countersign", data={"typed_name": "Pierre Formateur"})
    assert response.status_code == 409 and "n'a pas encore commencé" in page(response)
    clock.at("09:00")
    response = trainer.post(f"/attendance/slots/{morning.id}/countersign", data={"typed_name": "Jean Dupont"})
    assert response.status_code == 422 and "« Pierre Formateur »" in page(response)
    assert records(session) == []


# --------------------------------------------------------------------------- corrections


def test_a_correction_keeps_the_original_and_needs_a_reason(client, advisor, trainer, klass, clock, world):
    session, (julie, paul, _) = klass
    morning = slots(session)[0]
    client.post(link(julie, morning), data={"signature": drawing()})
    clock.at("12:40")
    trainer.post(f"/attendance/slots/{morning.id}/countersign", data={"typed_name": "Pierre Formateur"})
    # Paul was there but could not sign: the advisor corrects, with a reason.
    url = f"/attendance/slots/{morning.id}/corrections/{paul.id}"
    response = advisor.post(url, data={"presence": "present", "reason": ""})
    assert response.status_code == 422 and "Indiquez le motif" in page(response)
    response = advisor.post(url, data={"presence": "present", "reason": "Téléphone déchargé, présent toute la matinée"})
    assert response.status_code == 302
    # Julie signed, but left at 11:00: the correction is appended, her signature stays.
    response = advisor.post(f"/attendance/slots/{morning.id}/corrections/{julie.id}",
                            data={"presence": "present", "left_at": "11:00", "reason": "Départ anticipé signalé"})
    assert response.status_code == 302
    kinds = [(r.kind, r.enrolment_id) for r in records(session)]
    assert kinds == [("signature", julie.id), ("countersignature", None), ("correction", paul.id),
                     ("correction", julie.id)]
    correction = records(session)[2]
    assert correction.author_id == world.users["advisor"].id and correction.reason.startswith("Téléphone")
    grid = services.session_grid(session)
    assert grid.cell(paul.id, morning.id).status == "corrected" and grid.cell(paul.id, morning.id).hours == 4
    julie_cell = grid.cell(julie.id, morning.id)
    assert julie_cell.signature is not None and julie_cell.signature.mode == "drawn"
    assert julie_cell.status == "corrected" and str(julie_cell.hours) == "2.50"
    assert verify_chain(session.id).ok
    # The trainer does not correct; the advisor cannot correct a trainee of another session.
    assert trainer.post(url, data={"presence": "absent", "reason": "xxx"}).status_code == 403


def test_an_absence_is_justified_by_the_advisor(advisor, trainer, klass, clock):
    session, (julie, *_) = klass
    morning = slots(session)[0]
    assert trainer.post(f"/attendance/slots/{morning.id}/marks/{julie.id}", data={"presence": "absent"}).status_code == 302
    response = advisor.post(f"/attendance/slots/{morning.id}/justifications/{julie.id}", data={"reason": ""})
    assert response.status_code == 422
    response = advisor.post(f"/attendance/slots/{morning.id}/justifications/{julie.id}", data={"reason": "<b"})
    # the message under the field of Julie's row, the field flagged, what was typed kept (escaped)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert '<div class="invalid-feedback d-block" data-error="reason">Indiquez le justificatif' in page(response)
    assert "is-invalid\" name=\"reason\"" in html and "&lt;b</textarea>" in html and "<b</" not in html
    response = advisor.post(f"/attendance/slots/{morning.id}/justifications/{julie.id}",
                            data={"reason": "Arrêt maladie du 3 mars"})
    assert response.status_code == 302
    cell = services.session_grid(session).cell(julie.id, morning.id)
    assert (cell.status, cell.justification, cell.hours) == ("absent", "Arrêt maladie du 3 mars", 0)
    assert "(justifiée)" in page(advisor.get(f"/attendance/slots/{morning.id}"))


# --------------------------------------------------------------------------- hours


def test_hours_attended_with_a_late_arrival(client, trainer, klass, clock):
    session, (julie, paul, sarah) = klass
    morning, afternoon = slots(session)
    for enrolment in (julie, paul):
        client.post(link(enrolment, morning), data={"typed_name": enrolment.trainee.full_name})
    # Julie arrived at 09:45 (the slot starts at 08:30): the trainer records it.
    response = trainer.post(f"/attendance/slots/{morning.id}/marks/{julie.id}",
                            data={"presence": "present", "arrived_at": "09:45"})
    assert response.status_code == 302, page(response)
    # Sarah is absent in the morning.
    trainer.post(f"/attendance/slots/{morning.id}/marks/{sarah.id}", data={"presence": "absent"})
    clock.at("13:40")
    for enrolment in (julie, paul, sarah):
        client.post(link(enrolment, afternoon), data={"typed_name": enrolment.trainee.full_name})
    trainer.post(f"/attendance/slots/{afternoon.id}/marks/{paul.id}", data={"presence": "present", "left_at": "16:00"})
    grid = services.session_grid(session)
    hours = {row.enrolment.id: str(row.hours) for row in grid.rows}
    assert hours == {julie.id: "6.75", paul.id: "6.50", sarah.id: "4.00"}
    assert grid.cell(julie.id, morning.id).late and grid.cell(julie.id, morning.id).status == "signed"
    assert grid.cell(sarah.id, morning.id).status == "absent"


def test_a_mark_must_hold_times_inside_the_slot(trainer, klass, clock):
    session, (julie, *_) = klass
    morning = slots(session)[0]
    url = f"/attendance/slots/{morning.id}/marks/{julie.id}"
    for data, message in [({"presence": "present", "arrived_at": "13:00"}, "entre 08:30 et 12:30"),
                          ({"presence": "present", "arrived_at": "10:00", "left_at": "09:00"}, "doit suivre"),
                          ({"presence": "present"}, "Indiquez l'heure"),
                          ({"presence": "peut-être"}, "présent ou absent"),
                          ({"presence": "present", "arrived_at": "25:99"}, "Heure")]:
        response = trainer.post(url, data=data)
        assert response.status_code == 422, data
        assert message in page(response), (data, page(response))
        # beside the fields of Julie's row, the times typed kept
        assert 'class="invalid-feedback d-block"' in page(response)
        for name in ("arrived_at", "left_at"):
            if data.get(name):
                assert f'name="{name}" value="{data[name]}"' in page(response), (data, name)
        if data["presence"] == "present":  # not reset to "absent", which a second click would record
            assert 'name="presence" value="present" checked' in page(response)
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(AttendanceRecord)) == 0


def test_a_signature_after_an_absent_mark_means_the_trainee_came(client, trainer, klass, clock):
    session, (julie, *_) = klass
    morning = slots(session)[0]
    trainer.post(f"/attendance/slots/{morning.id}/marks/{julie.id}", data={"presence": "absent"})
    clock.at("09:30")
    client.post(link(julie, morning), data={"typed_name": julie.trainee.full_name})
    assert services.session_grid(session).cell(julie.id, morning.id).status == "signed"


# --------------------------------------------------------------------------- end of the session


def test_the_end_of_the_session_sets_outcomes_and_hours(client, advisor, klass, clock, world):
    from trainingmgr.sessions.services import change_status

    session, (julie, paul, sarah) = klass
    morning, afternoon = slots(session)
    client.post(link(julie, morning), data={"typed_name": julie.trainee.full_name})
    client.post(link(paul, morning), data={"typed_name": paul.trainee.full_name})
    clock.at("14:00")
    client.post(link(julie, afternoon), data={"typed_name": julie.trainee.full_name})
    change_status(session, "in_progress", world.users["advisor"], now=clock.now)
    change_status(session, "completed", world.users["advisor"], now=clock.at("17:31"))
    db.session.commit()
    db.session.expire_all()
    assert (julie.status, str(julie.hours_attended)) == ("completed", "8.00")
    assert (paul.status, str(paul.hours_attended)) == ("abandoned", "4.00")
    assert (sarah.status, str(sarah.hours_attended)) == ("no_show", "0.00")
    # A late correction (Sarah was there in the afternoon) updates her outcome and hours at once.
    response = advisor.post(f"/attendance/slots/{afternoon.id}/corrections/{sarah.id}",
                            data={"presence": "present", "reason": "Présente, feuille papier signée"})
    assert response.status_code == 302
    db.session.expire_all()
    assert (sarah.status, str(sarah.hours_attended)) == ("completed", "4.00")


def test_a_slot_with_signatures_keeps_its_times(client, klass, clock, world):
    from trainingmgr.sessions.services import update_slot

    session, (julie, *_) = klass
    morning = slots(session)[0]
    client.post(link(julie, morning), data={"typed_name": julie.trainee.full_name})
    with pytest.raises(ConflictError, match="porte déjà des signatures"):
        update_slot(morning, {"date": morning.date, "start_time": "09:00", "end_time": "12:30"},
                    world.users["advisor"])
    db.session.rollback()


def test_signature_input_needs_something(app):
    with pytest.raises(ValidationError):
        services.signature_input("", "  ", "Julie Martin")
