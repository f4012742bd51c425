"""The QR code path, the kiosk, the evidence (hash chain, verify command, append-only table), the board,
the opening e-mails, the API and the permissions."""
from __future__ import annotations

import logging
import re

import pytest
from sqlalchemy import select, text

from trainingmgr.attendance import access
from trainingmgr.attendance.chain import verify_chain
from trainingmgr.attendance.models import AttendanceRecord
from trainingmgr.extensions import db
from trainingmgr.messaging.services import tick

from tests.attendance.support import drawing, link, slots
from tests.enrolments.support import outbox
from tests.fixtures.attendance import bypass_guard, qr_url
from tests.helpers import page


def code_from_mail(enrolment) -> str:
    (message,) = [m for m in outbox("attendance_code", enrolment)][-1:]
    return re.search(r"\b(\d{6})\b", message.body_text).group(1)


# --------------------------------------------------------------------------- the rotating QR code


def test_the_qr_code_changes_every_30_seconds_and_lives_two_periods(app, klass, clock):
    session, _ = klass
    morning = slots(session)[0]
    clock.at("09:00")
    start = clock.now
    code = access.qr_code(morning)
    clock.advance(seconds=access.seconds_to_next_code(start))  # the next period begins
    assert access.qr_code(morning) != code
    access.check_qr_code(morning, code)  # the previous period's code still works
    clock.advance(seconds=29)
    access.check_qr_code(morning, code)
    clock.advance(seconds=1)  # two periods later: stale
    with pytest.raises(Exception) as refused:
        access.check_qr_code(morning, code)
    assert refused.value.status_code == 410
    # Another slot's code, or a forged one, is refused (403).
    afternoon = slots(session)[1]
    for forged in (access.qr_code(afternoon), code.split(".")[0] + ".deadbeef", "x", "99999999999999.00"):
        with pytest.raises(Exception) as refused:
            access.check_qr_code(morning, forged)
        assert refused.value.status_code == 403


def test_a_stale_qr_code_is_refused_and_logged(client, klass, clock, caplog):
    session, _ = klass
    morning = slots(session)[0]
    url = qr_url(morning)
    clock.advance(seconds=61)
    with caplog.at_level(logging.WARNING, logger="trainingmgr.attendance"):
        response = client.get(url)
    assert response.status_code == 410 and "a expiré" in page(response)
    assert "QR code périmé" in caplog.text


def test_qr_name_then_one_time_code_then_signature(client, klass, clock):
    session, (julie, paul, _) = klass
    morning = slots(session)[0]
    response = client.get(qr_url(morning))
    assert response.status_code == 200
    assert f"{julie.trainee.first_name} {julie.trainee.last_name[0]}." in page(response)
    assert julie.trainee.email not in page(response)
    response = client.post(f"/emargement/qr/{morning.id}/identifier", data={"enrolment_id": julie.id})
    assert response.status_code == 302
    code = code_from_mail(julie)
    assert outbox("attendance_code", julie)[0].status == "sent"  # sent at once, not at the worker's next pass
    # Before the code, the signing page stays shut.
    assert client.post(f"/emargement/qr/{morning.id}/signer", data={"typed_name": "x"}).status_code == 403
    response = client.post(f"/emargement/qr/{morning.id}/code", data={"code": code})
    assert response.status_code == 302
    response = client.post(f"/emargement/qr/{morning.id}/signer", data={"signature": drawing()})
    assert response.status_code == 302, page(response)
    (record,) = db.session.scalars(select(AttendanceRecord)).all()
    assert (record.enrolment_id, record.method, record.mode) == (julie.id, "qr", "drawn")
    # The code is used: it cannot identify anybody again.
    assert client.post(f"/emargement/qr/{morning.id}/code", data={"code": code}).status_code == 403


def test_a_wrong_code_counts_and_five_end_it(client, klass, clock, caplog):
    session, (julie, *_) = klass
    morning = slots(session)[0]
    client.get(qr_url(morning))
    client.post(f"/emargement/qr/{morning.id}/identifier", data={"enrolment_id": julie.id})
    code = code_from_mail(julie)
    wrong = f"{(int(code) + 1) % 1000000:06d}"
    with caplog.at_level(logging.WARNING, logger="trainingmgr.attendance"):
        for left in (4, 3, 2, 1):
            response = client.post(f"/emargement/qr/{morning.id}/code", data={"code": wrong})
            assert response.status_code == 422 and f"Il vous reste {left} essai" in page(response)
        assert client.post(f"/emargement/qr/{morning.id}/code", data={"code": wrong}).status_code == 403
    assert "code à usage unique erroné" in caplog.text
    response = client.post(f"/emargement/qr/{morning.id}/code", data={"code": code})
    assert response.status_code == 409  # no code running any more: ask for a new one


def test_an_expired_code_is_refused(client, klass, clock):
    session, (julie, *_) = klass
    morning = slots(session)[0]
    client.get(qr_url(morning))
    client.post(f"/emargement/qr/{morning.id}/identifier", data={"enrolment_id": julie.id})
    code = code_from_mail(julie)
    clock.advance(minutes=11)
    assert client.post(f"/emargement/qr/{morning.id}/code", data={"code": code}).status_code == 410


def test_one_cannot_sign_for_another_trainee_through_the_qr_path(app, client, klass, clock):
    session, (julie, paul, _) = klass
    morning = slots(session)[0]
    client.get(qr_url(morning))
    client.post(f"/emargement/qr/{morning.id}/identifier", data={"enrolment_id": paul.id})
    # Julie's phone asked for Paul's code: it went to Paul's mailbox, and guessing fails.
    assert outbox("attendance_code", paul)[0].recipient == paul.trainee.email
    assert client.post(f"/emargement/qr/{morning.id}/code", data={"code": "000000"}).status_code in (403, 422)
    # Choosing a name without having scanned the room's code is refused.
    other = app.test_client()
    assert other.post(f"/emargement/qr/{morning.id}/identifier", data={"enrolment_id": julie.id}).status_code == 403
    # A trainee of another session is not in the list.
    assert client.post(f"/emargement/qr/{morning.id}/identifier", data={"enrolment_id": 999}).status_code == 422
    assert db.session.scalars(select(AttendanceRecord)).all() == []


def test_a_phone_that_opened_its_personal_link_skips_the_code(client, klass, clock):
    session, (julie, *_) = klass
    morning, afternoon = slots(session)
    client.get(link(julie, morning))  # earlier, from the e-mail: the phone now knows Julie
    clock.at("13:25")
    response = client.get(qr_url(afternoon))
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/emargement/qr/{afternoon.id}/signer")
    response = client.post(f"/emargement/qr/{afternoon.id}/signer", data={"typed_name": julie.trainee.full_name})
    assert response.status_code == 302
    assert outbox("attendance_code") == []
    record = db.session.scalars(select(AttendanceRecord)).one()
    assert (record.enrolment_id, record.slot_id, record.method) == (julie.id, afternoon.id, "qr")


def test_the_trainer_shows_the_qr_code(trainer, trainer2, klass, clock):
    session, _ = klass
    morning = slots(session)[0]
    assert "Scannez ce code" in page(trainer.get(f"/attendance/slots/{morning.id}/qr"))
    svg = trainer.get(f"/attendance/slots/{morning.id}/qr.svg")
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml" and b"<svg" in svg.data
    assert svg.headers["Cache-Control"] == "no-store"
    assert trainer2.get(f"/attendance/slots/{morning.id}/qr.svg").status_code == 403
    clock.at("14:00")
    assert trainer.get(f"/attendance/slots/{morning.id}/qr.svg").status_code == 409


# --------------------------------------------------------------------------- kiosk


def test_trainees_sign_in_turn_on_the_trainers_device(trainer, trainer2, klass, clock, world):
    session, (julie, paul, _) = klass
    morning = slots(session)[0]
    # Unlocked, the page offers the kiosk mode; its signing pages wait for it (tests/attendance/test_kiosk_lock.py).
    assert "Passer en mode borne" in page(trainer.get(f"/attendance/slots/{morning.id}/kiosk"))
    assert trainer.post(f"/attendance/slots/{morning.id}/kiosk/{julie.id}",
                        data={"signature": drawing()}).status_code == 302
    assert db.session.scalars(select(AttendanceRecord)).all() == []
    assert trainer.post(f"/attendance/slots/{morning.id}/kiosk").status_code == 302
    listing = page(trainer.get(f"/attendance/slots/{morning.id}/kiosk"))
    assert julie.trainee.full_name in listing and "Signer" in listing
    response = trainer.post(f"/attendance/slots/{morning.id}/kiosk/{julie.id}", data={"signature": drawing()})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/attendance/slots/{morning.id}/kiosk")
    record = db.session.scalars(select(AttendanceRecord)).one()
    assert (record.method, record.author_id) == ("kiosk", world.users["trainer"].id)
    assert trainer2.get(f"/attendance/slots/{morning.id}/kiosk").status_code == 403
    assert trainer2.post(f"/attendance/slots/{morning.id}/kiosk/{paul.id}",
                         data={"typed_name": paul.trainee.full_name}).status_code == 403


# --------------------------------------------------------------------------- evidence


def test_verify_passes_then_fails_after_a_row_is_altered(app, client, trainer, klass, clock, backend):
    session, (julie, paul, _) = klass
    morning = slots(session)[0]
    client.post(link(julie, morning), data={"signature": drawing()})
    client.post(link(paul, morning), data={"typed_name": paul.trainee.full_name})
    trainer.post(f"/attendance/slots/{morning.id}/countersign", data={"typed_name": "Pierre Formateur",
                                                                      "early_ok": "y"})
    runner = app.test_cli_runner()
    result = runner.invoke(args=["attendance", "verify", str(session.id)])
    assert result.exit_code == 0 and "intègre (3 enregistrements)" in result.output
    assert runner.invoke(args=["attendance", "verify"]).exit_code == 0
    assert 'data-field="chain" class="badge text-bg-success">intègre' in page(trainer.get(f"/sessions/{session.id}"))
    # Paul's signature time is moved by a minute, straight in the database.
    bypass_guard(backend)
    if backend == "postgresql":
        db.session.execute(text("UPDATE attendance_record SET created_at = created_at + interval '1 minute' "
                                "WHERE seq = 2"))
    else:
        db.session.execute(text("UPDATE attendance_record SET created_at = datetime(created_at, '+1 minute') "
                                "WHERE seq = 2"))
    db.session.commit()
    result = runner.invoke(args=["attendance", "verify", str(session.id)])
    assert result.exit_code == 1
    assert "ALTÉRÉE – enregistrement n° 2" in result.output and "empreinte" in result.output
    assert runner.invoke(args=["attendance", "verify"]).exit_code == 1
    assert 'data-field="chain" class="badge text-bg-danger">altéré' in page(trainer.get(f"/sessions/{session.id}"))


def test_verify_notices_a_removed_last_row(app, client, klass, clock, backend):
    session, (julie, paul, _) = klass
    morning = slots(session)[0]
    client.post(link(julie, morning), data={"typed_name": julie.trainee.full_name})
    client.post(link(paul, morning), data={"typed_name": paul.trainee.full_name})
    bypass_guard(backend)
    db.session.execute(text("DELETE FROM attendance_record WHERE seq = 2"))
    db.session.commit()
    check = verify_chain(session.id)
    assert not check.ok and "tête de chaîne" in check.problem
    assert app.test_cli_runner().invoke(args=["attendance", "verify", str(session.id)]).exit_code == 1


def test_the_database_refuses_to_update_or_delete_a_record(client, klass, clock):
    session, (julie, *_) = klass
    client.post(link(julie, slots(session)[0]), data={"typed_name": julie.trainee.full_name})
    for statement in ("UPDATE attendance_record SET typed_name = 'x'", "DELETE FROM attendance_record"):
        with pytest.raises(Exception, match="append-only"):
            db.session.execute(text(statement))
            db.session.flush()
        db.session.rollback()
    assert verify_chain(session.id).ok


def test_the_register_page_lists_every_record(advisor, client, klass, clock):
    session, (julie, *_) = klass
    client.post(link(julie, slots(session)[0]), data={"typed_name": julie.trainee.full_name})
    body = page(advisor.get(f"/attendance/sessions/{session.id}/verify"))
    assert "Registre d'émargement : " in body and "intègre" in body and "Signature du stagiaire" in body


# --------------------------------------------------------------------------- opening e-mails, board, reminders


def test_each_trainee_gets_a_link_when_the_slot_opens_once(app, klass, clock):
    session, enrolments = klass
    morning = slots(session)[0]
    tick(clock.at("08:00"))
    assert outbox("attendance_link") == []
    tick(clock.at("08:16"))
    messages = outbox("attendance_link")
    assert sorted(m.recipient for m in messages) == sorted(e.trainee.email for e in enrolments)
    assert f"/emargement/{access.signing_token(enrolments[0], morning)[:20]}" in \
        next(m for m in messages if m.recipient == enrolments[0].trainee.email).body_text
    tick(clock.at("08:30"))
    assert len(outbox("attendance_link")) == 3


def test_the_board_lists_missing_signatures_and_sends_reminders(advisor, client, trainer, klass, clock):
    session, (julie, paul, sarah) = klass
    morning = slots(session)[0]
    client.post(link(julie, morning), data={"typed_name": julie.trainee.full_name})
    body = page(advisor.get("/attendance/missing"))
    assert f"{paul.trainee.full_name}, {sarah.trainee.full_name}" in body and julie.trainee.full_name not in body
    response = advisor.post(f"/attendance/slots/{morning.id}/remind", data={"next": "/attendance/missing"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/attendance/missing")
    assert sorted(m.recipient for m in outbox("attendance_link")) == sorted([paul.trainee.email, sarah.trainee.email])
    assert all("Rappel" in m.subject for m in outbox("attendance_link"))
    response = advisor.post(f"/attendance/slots/{morning.id}/remind", data={"enrolment_id": paul.id},
                            follow_redirects=True)
    assert len(outbox("attendance_link", paul)) == 2
    # The reminder is queued, and with the tests' console backend nobody receives it: the message says so.
    assert "Rappel mis en file pour 1 stagiaire." in page(response) and "personne ne les reçoit" in page(response)
    # The trainer has not signed the sheet: one click reminds them.
    assert advisor.post(f"/attendance/slots/{morning.id}/remind-trainer").status_code == 302
    (mail,) = outbox("attendance_trainer")
    assert mail.recipient == "formateur@test.example" and f"/attendance/slots/{morning.id}" in mail.body_text
    # Once the window has closed, a reminder would not let them sign: the advisor corrects instead.
    clock.at("13:45")
    response = advisor.post(f"/attendance/slots/{morning.id}/remind")
    assert response.status_code == 409 and "correction" in page(response)
    body = page(advisor.get("/attendance/missing"))
    assert "signature close" in body and "à corriger par le conseiller" in body
    assert trainer.get("/attendance/missing").status_code == 403


# --------------------------------------------------------------------------- API


def test_api_attendance(app, client, trainer, klass, clock):
    from trainingmgr.accounts.services import create_api_token

    session, (julie, paul, sarah) = klass
    morning = slots(session)[0]
    client.post(link(julie, morning), data={"signature": drawing()})
    trainer.post(f"/attendance/slots/{morning.id}/marks/{paul.id}", data={"presence": "present", "arrived_at": "09:30"})
    trainer.post(f"/attendance/slots/{morning.id}/marks/{sarah.id}", data={"presence": "absent"})
    advisor_token = create_api_token("conseil@test.example", name="t")[1]
    trainer_token = create_api_token("formateur@test.example", name="t")[1]
    db.session.commit()
    api = app.test_client()
    response = api.get(f"/api/v1/sessions/{session.id}/attendance", headers={"Authorization": f"Bearer {advisor_token}"})
    assert response.status_code == 200
    data = response.get_json()
    assert data["chain"] == {"status": "intact", "label": "intègre", "length": 3, "broken_seq": None, "problem": "",
                             "sealed_length": 0, "seals": 0, "timestamped": 0}  # no countersignature yet
    assert [s["locked"] for s in data["slots"]] == [False, False] and data["slots"][0]["hours"] == "4.00"
    rows = {row["enrolment_id"]: row for row in data["trainees"]}
    julie_morning = rows[julie.id]["slots"][0]
    assert (julie_morning["status"], julie_morning["method"], julie_morning["mode"], julie_morning["hours"]) == \
        ("signed", "link", "drawn", "4.00")
    assert julie_morning["signed_at"].startswith("2031-03-03T08:00:00")  # 09:00 in Paris
    assert rows[paul.id]["slots"][0]["status"] == "pending" and rows[paul.id]["slots"][0]["arrived_at"] == "09:30"
    assert rows[sarah.id]["slots"][0]["status"] == "absent" and rows[sarah.id]["hours"] == "0.00"
    assert rows[julie.id]["slots"][1]["status"] == "upcoming"
    assert api.get(f"/api/v1/sessions/{session.id}/attendance",
                   headers={"Authorization": f"Bearer {trainer_token}"}).status_code == 403
    missing = api.get("/api/v1/sessions/99999/attendance", headers={"Authorization": f"Bearer {advisor_token}"})
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"
    assert api.get(f"/api/v1/sessions/{session.id}/attendance").status_code == 401


# --------------------------------------------------------------------------- permissions and limits


def test_the_trainer_sees_only_their_sessions(trainer, trainer2, client, klass, clock):
    session, (julie, *_) = klass
    morning = slots(session)[0]
    client.post(link(julie, morning), data={"signature": drawing()})
    record = db.session.scalars(select(AttendanceRecord)).one()
    assert trainer.get(f"/attendance/slots/{morning.id}").status_code == 200
    assert trainer.get(f"/attendance/records/{record.id}.png").mimetype == "image/png"
    for url in (f"/attendance/slots/{morning.id}", f"/attendance/records/{record.id}.png",
                f"/attendance/sessions/{session.id}/verify"):
        assert trainer2.get(url).status_code == 403, url
    assert trainer2.post(f"/attendance/slots/{morning.id}/marks/{julie.id}", data={"presence": "absent"}).status_code == 403
    anonymous = client.get(f"/attendance/slots/{morning.id}")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    assert client.get(f"/attendance/records/{record.id}.png").status_code == 302


def test_signing_posts_are_rate_limited_per_link(client, klass, clock):
    session, (julie, paul, _) = klass
    morning = slots(session)[0]
    # One link for all the posts: a link made a second later is another link (its token carries the time).
    url = link(julie, morning)
    statuses = [client.post(url, data={"typed_name": "Mauvais Nom"}).status_code for _ in range(11)]
    assert statuses == [422] * 10 + [429]  # ATTENDANCE_SIGN_RATE_LIMIT: 10 per minute
    # Another trainee on the same Wi-Fi is not held back.
    assert client.post(link(paul, morning), data={"typed_name": paul.trainee.full_name}).status_code == 302


def test_code_requests_are_rate_limited_per_trainee(client, klass, clock):
    session, (julie, *_) = klass
    morning = slots(session)[0]
    client.get(qr_url(morning))
    statuses = [client.post(f"/emargement/qr/{morning.id}/identifier", data={"enrolment_id": julie.id}).status_code
                for _ in range(4)]
    assert statuses == [302, 302, 302, 429]


def test_the_personal_page_offers_the_open_slot_and_shows_signatures(client, klass, clock):
    from trainingmgr.enrolments.links import trainee_token

    session, (julie, *_) = klass
    morning, afternoon = slots(session)
    home = f"/t/{trainee_token(julie)}"
    body = page(client.get(home))
    assert 'data-card="attendance"' in body and "/emargement/" in body and "À venir" in body
    client.post(link(julie, morning), data={"typed_name": julie.trainee.full_name})
    body = page(client.get(home))
    assert "Signé le 03/03/2031 09:00" in body


def test_the_worker_ends_the_session_and_records_outcomes(app, client, klass, clock):
    session, (julie, paul, sarah) = klass
    morning, afternoon = slots(session)
    for enrolment in (julie, paul):
        client.post(link(enrolment, morning), data={"typed_name": enrolment.trainee.full_name})
    clock.at("13:40")
    client.post(link(julie, afternoon), data={"typed_name": julie.trainee.full_name})
    tick(clock.at("17:45"))
    db.session.expire_all()
    assert session.status == "completed"
    assert [(e.status, str(e.hours_attended)) for e in (julie, paul, sarah)] == [
        ("completed", "8.00"), ("abandoned", "4.00"), ("no_show", "0.00")]


def test_a_lent_phone_can_forget_its_owner(client, klass, clock):
    session, (julie, paul, _) = klass
    morning = slots(session)[0]
    client.get(link(julie, morning))  # Julie's phone
    response = client.get(qr_url(morning), follow_redirects=True)
    assert julie.trainee.full_name in page(response) and "Vous n'êtes pas" in page(response)
    assert client.post(f"/emargement/qr/{morning.id}/pas-moi").status_code == 200
    # Paul, on Julie's phone, now has to pick his name and type his code.
    assert client.post(f"/emargement/qr/{morning.id}/signer", data={"typed_name": "x"}).status_code == 403
    response = client.get(qr_url(morning))
    assert response.status_code == 200 and 'data-page="identify"' in page(response)


def test_the_trainer_is_warned_of_unsigned_trainees_before_closing(trainer, client, klass, clock):
    session, (julie, *_) = klass
    morning = slots(session)[0]
    client.post(link(julie, morning), data={"typed_name": julie.trainee.full_name})
    body = page(trainer.get(f"/attendance/slots/{morning.id}"))
    assert "2 stagiaires n’ont pas encore signé" in body
