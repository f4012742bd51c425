"""Closing a half-day's sheet before its end (Europe/Paris) asks first: « Le créneau se termine à 12:30 : il est
09:21. Clôturer maintenant ? ». Only a confirmed post closes it early; after the end it closes without a question.
The rule is the service's (``countersign(..., early_ok=False)``), the back office's sheet and the trainer space ask
it the same way, the drawing kept for the confirmation."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from trainingmgr.attendance import services as attendance
from trainingmgr.attendance.models import AttendanceRecord
from trainingmgr.extensions import db
from trainingmgr.resources import links

from tests.attendance.support import drawing, slots
from tests.helpers import page

QUESTION = "Le créneau se termine à 12:30 : il est 09:21. Clôturer maintenant ?"


def countersignatures(slot) -> list[AttendanceRecord]:
    db.session.expire_all()
    return list(db.session.scalars(select(AttendanceRecord).where(AttendanceRecord.kind == "countersignature",
                                                                  AttendanceRecord.slot_id == slot.id)))


def space_sheet(slot) -> str:
    """The slot's sheet in the trainer space, by the personal link of its trainer (committed: views roll back)."""
    token = links.token(slot.session.trainers[0])
    db.session.commit()
    return f"/formateur/{token}/creneaux/{slot.id}"


@pytest.fixture
def morning(klass, clock, monkeypatch):
    """The morning of Pierre's class (08:30–12:30), at 09:21; the trainer space reads the same clock."""
    monkeypatch.setattr("trainingmgr.portals.trainer.space.utcnow", clock)
    clock.at("09:21")
    return slots(klass[0])[0]


# --------------------------------------------------------------------------- the rule


def test_the_service_asks_before_the_end_and_closes_once_confirmed(world, morning, clock):
    pierre = world.users["trainer"]
    with pytest.raises(attendance.EarlyCountersignature) as asked:
        attendance.countersign(morning, pierre, typed_name="Pierre Formateur")
    assert asked.value.message == QUESTION and asked.value.status_code == 409
    db.session.rollback()
    assert countersignatures(morning) == []
    record = attendance.countersign(morning, pierre, typed_name="Pierre Formateur", early_ok=True)
    db.session.commit()
    assert countersignatures(morning) == [record]


def test_the_trainer_space_asks_the_same_question(world, morning):
    trainer = morning.session.trainers[0]
    with pytest.raises(attendance.EarlyCountersignature) as asked:
        attendance.countersign_as(morning, trainer, typed_name=trainer.full_name)
    assert asked.value.message == QUESTION


def test_after_the_end_the_sheet_closes_without_a_question(world, morning, clock):
    clock.at("12:31")
    attendance.countersign(morning, world.users["trainer"], typed_name="Pierre Formateur")
    db.session.commit()
    assert len(countersignatures(morning)) == 1


def test_the_question_comes_in_paris_time_on_a_summer_day(world, make_class, clock):
    session, _ = make_class(start=dt.date(2031, 6, 2))  # a Monday, UTC+2
    summer_morning = slots(session)[0]
    clock.at("09:21", day=summer_morning.date)
    with pytest.raises(attendance.EarlyCountersignature) as asked:
        attendance.countersign(summer_morning, world.users["trainer"], typed_name="Pierre Formateur")
    assert asked.value.message == QUESTION


# --------------------------------------------------------------------------- the back office's sheet


def test_the_sheet_asks_keeps_the_drawing_and_closes_when_confirmed(trainer, morning):
    url = f"/attendance/slots/{morning.id}/countersign"
    signature = drawing()
    asked = trainer.post(url, data={"signature": signature})
    text = page(asked)
    assert asked.status_code == 409
    assert 'data-field="early-question"' in text and QUESTION in text
    assert 'name="early_ok"' in text and 'type="checkbox"' in text and "Clôturer maintenant" in text
    assert f'value="{signature}"' in text  # the drawing, sent again with the confirmation
    assert countersignatures(morning) == []
    # sent again without ticking the box: asked again, still open
    assert trainer.post(url, data={"signature": signature}).status_code == 409
    assert countersignatures(morning) == []

    response = trainer.post(url, data={"signature": signature, "early_ok": "y"})
    assert response.status_code == 302
    (record,) = countersignatures(morning)
    assert record.mode == "drawn" and record.image.startswith(b"\x89PNG")
    assert 'data-field="locked"' in page(trainer.get(f"/attendance/slots/{morning.id}"))


def test_the_sheet_closes_at_12_31_without_a_question(trainer, morning, clock):
    clock.at("12:31")
    response = trainer.post(f"/attendance/slots/{morning.id}/countersign", data={"typed_name": "Pierre Formateur"})
    assert response.status_code == 302
    assert len(countersignatures(morning)) == 1


def test_the_sheet_page_asks_nothing_before_the_trainer_signs(trainer, morning):
    text = page(trainer.get(f"/attendance/slots/{morning.id}"))
    assert "Signer et clore la feuille" in text and 'data-field="early-question"' not in text


# --------------------------------------------------------------------------- the trainer space


def test_the_trainer_space_asks_then_closes_when_confirmed(client, morning, clock):
    sheet = space_sheet(morning)
    signature = drawing()
    asked = client.post(f"{sheet}/signature", data={"signature": signature})
    text = page(asked)
    assert asked.status_code == 409 and QUESTION in text and 'name="early_ok"' in text
    assert f'value="{signature}"' in text
    assert countersignatures(morning) == []
    response = client.post(f"{sheet}/signature", data={"signature": signature, "early_ok": "y"})
    assert response.status_code == 302 and response.headers["Location"].endswith(sheet)
    assert len(countersignatures(morning)) == 1


def test_the_trainer_space_closes_at_12_31_without_a_question(client, morning, clock):
    clock.at("12:31")
    sheet = space_sheet(morning)
    response = client.post(f"{sheet}/signature", data={"typed_name": morning.session.trainers[0].full_name})
    assert response.status_code == 302
    assert len(countersignatures(morning)) == 1
