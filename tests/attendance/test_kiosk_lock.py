"""Kiosk mode (attendance/kiosk.py): the staff member's device handed to the trainees is locked on the kiosk's
pages; every other page, logging out included, leads back to its list, which shows no back-office menu; only the
password of the staff member logged in unlocks it. The signatures taken on it name the device's real holder."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from trainingmgr.attendance.models import AttendanceRecord
from trainingmgr.attendance.views import KIOSK_SESSION_KEY
from trainingmgr.extensions import db, limiter

from tests.attendance.support import drawing, slots
from tests.helpers import PASSWORDS, page

MENU_LINKS = ('href="/sessions/"', 'href="/billing/"', 'href="/trainees/"', "Se déconnecter", "Tableau de bord",
              'href="/account"')


def kiosk(slot) -> str:
    return f"/attendance/slots/{slot.id}/kiosk"


def is_locked_on(client, slot) -> bool:
    response = client.get("/sessions/")
    return response.status_code == 302 and response.headers["Location"].endswith(kiosk(slot))


@pytest.fixture
def morning(klass, clock):
    return slots(klass[0])[0]


@pytest.fixture
def locked(trainer, morning):
    """Pierre's device, in kiosk mode on the morning."""
    response = trainer.post(kiosk(morning))
    assert response.status_code == 302 and response.headers["Location"].endswith(kiosk(morning))
    return trainer


# --------------------------------------------------------------------------- entering


def test_the_kiosk_page_offers_the_mode_and_the_device_is_free_until_then(trainer, morning):
    text = page(trainer.get(kiosk(morning)))
    assert "Passer en mode borne" in text and 'href="/sessions/"' in text  # the menu, as on every staff page
    assert trainer.get("/sessions/").status_code == 200


def test_entering_needs_the_forms_token_and_an_open_sheet(trainer, morning, clock):
    assert trainer.post(kiosk(morning), csrf=False).status_code == 400
    assert trainer.get("/sessions/").status_code == 200
    clock.at("14:00")  # the morning's signing closed at 13:30: nothing left to sign
    response = trainer.post(kiosk(morning))
    assert response.status_code == 409 and "plus rien à faire signer" in page(response)
    assert trainer.get("/sessions/").status_code == 200


def test_another_trainer_cannot_lock_on_a_session_they_do_not_teach(trainer2, morning):
    assert trainer2.post(kiosk(morning)).status_code == 403
    assert trainer2.get("/sessions/").status_code == 200


# --------------------------------------------------------------------------- locked


@pytest.mark.parametrize("url", ["/sessions/", "/billing/", "/trainees/", "/account", "/attendance/missing",
                                 "/", "/catalogue/", "/nowhere"])
def test_the_lock_sends_every_other_page_back_to_the_kiosk(locked, morning, url):
    response = locked.get(url)
    assert response.status_code == 302 and response.headers["Location"].endswith(kiosk(morning)), url


def test_the_lock_refuses_logging_out_and_other_posts(locked, morning, world):
    response = locked.post("/logout")
    assert response.status_code == 403 and "mode borne" in page(response)
    assert is_locked_on(locked, morning)  # still logged in, still locked
    response = locked.post(f"/attendance/slots/{morning.id}/countersign", data={"typed_name": "Pierre Formateur",
                                                                                 "early_ok": "y"})
    assert response.status_code == 403
    assert db.session.scalars(select(AttendanceRecord)).all() == []


def test_another_slots_kiosk_leads_back_to_the_locked_one(locked, morning, klass):
    afternoon = slots(klass[0])[1]
    for url in (kiosk(afternoon), f"{kiosk(afternoon)}/{klass[1][0].id}", f"{kiosk(afternoon)}/unlock"):
        response = locked.get(url)
        assert response.status_code == 302 and response.headers["Location"].endswith(kiosk(morning)), url


def test_the_kiosk_pages_show_no_menu_to_the_trainee(locked, morning, klass):
    julie = klass[1][0]
    for url in (kiosk(morning), f"{kiosk(morning)}/{julie.id}", f"{kiosk(morning)}/unlock"):
        response = locked.get(url)
        text = page(response)
        assert response.status_code == 200, url
        assert 'data-bar="kiosk"' in text, url
        assert not [link for link in MENU_LINKS if link in text], (url, [link for link in MENU_LINKS if link in text])
    listing = page(locked.get(kiosk(morning)))
    assert julie.trainee.full_name in listing and "Quitter le mode borne" in listing
    assert locked.get("/static/app.css").status_code == 200  # the page's own files


def test_trainees_sign_in_turn_on_the_locked_device(locked, morning, klass, world):
    julie, paul, _ = klass[1]
    response = locked.post(f"{kiosk(morning)}/{julie.id}", data={"signature": drawing()})
    assert response.status_code == 302 and response.headers["Location"].endswith(kiosk(morning))
    assert locked.post(f"{kiosk(morning)}/{paul.id}", data={"typed_name": paul.trainee.full_name}).status_code == 302
    signed = db.session.scalars(select(AttendanceRecord).order_by(AttendanceRecord.seq)).all()
    assert [(r.enrolment_id, r.method, r.author_id) for r in signed] == [
        (julie.id, "kiosk", world.users["trainer"].id), (paul.id, "kiosk", world.users["trainer"].id)]


def test_the_hot_survey_after_the_last_half_day_opens_on_the_locked_device(trainer, klass, clock, surveys):  # noqa: F811
    """The end of the session: the signing page offers the hot survey, which the trainee answers on the device,
    still without the menu; the bar leads back to the list."""
    afternoon = slots(klass[0])[1]
    julie = klass[1][0]
    clock.at("13:40")
    assert trainer.post(kiosk(afternoon)).status_code == 302
    response = trainer.post(f"{kiosk(afternoon)}/{julie.id}", data={"signature": drawing()})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"{kiosk(afternoon)}/{julie.id}")
    signed = page(trainer.get(f"{kiosk(afternoon)}/{julie.id}"))
    survey = re.search(r'href="https?://[^/"]+(/s/[^"]+)" data-action="hot-survey"', signed).group(1)
    response = trainer.get(survey)
    text = page(response)
    assert response.status_code == 200 and 'data-bar="kiosk"' in text
    assert not [link for link in MENU_LINKS if link in text]
    assert f'href="{kiosk(afternoon)}"' in text
    assert is_locked_on(trainer, afternoon)


# --------------------------------------------------------------------------- leaving


def test_a_wrong_password_keeps_the_device_locked(locked, morning):
    url = f"{kiosk(morning)}/unlock"
    for wrong in ("", "advisor-password-1", PASSWORDS["formateur@test.example"].upper(), "x" * 500):
        response = locked.post(url, data={"password": wrong})
        assert response.status_code == 422, (wrong, page(response))
        assert "Mot de passe incorrect" in page(response) or "200 caractères" in page(response), wrong
        assert 'data-bar="kiosk"' in page(response)
    assert locked.post(url, data={"password": PASSWORDS["formateur@test.example"]}, csrf=False).status_code == 400
    assert is_locked_on(locked, morning)


def test_the_right_password_unlocks_the_device(locked, morning):
    response = locked.post(f"{kiosk(morning)}/unlock", data={"password": PASSWORDS["formateur@test.example"]})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/attendance/slots/{morning.id}")
    assert locked.get("/sessions/").status_code == 200
    assert "Passer en mode borne" in page(locked.get(kiosk(morning)))
    assert locked.post("/logout").status_code == 302


def test_the_password_is_the_device_holders_not_the_trainees_guess(app, advisor, morning, world):
    """The advisor's device: Pierre's password does not open it, hers does."""
    assert advisor.post(kiosk(morning)).status_code == 302
    url = f"{kiosk(morning)}/unlock"
    assert advisor.post(url, data={"password": PASSWORDS["formateur@test.example"]}).status_code == 422
    assert is_locked_on(advisor, morning)
    assert advisor.post(url, data={"password": PASSWORDS["conseil@test.example"]}).status_code == 302
    assert advisor.get("/sessions/").status_code == 200


def test_unlocking_is_rate_limited_like_the_login(app, locked, morning):
    app.config["LOGIN_ACCOUNT_RATE_LIMIT"] = "3 per minute"
    limiter.reset()
    try:
        url = f"{kiosk(morning)}/unlock"
        statuses = [locked.post(url, data={"password": "devine"}).status_code for _ in range(4)]
        assert statuses == [422, 422, 422, 429]
        assert locked.post(url, data={"password": PASSWORDS["formateur@test.example"]}).status_code == 429
        assert is_locked_on(locked, morning)
    finally:
        limiter.reset()


def test_a_lock_left_by_another_login_is_dropped(trainer, morning, world):
    """The login under the lock ended (another account logged in on the browser): no lock to keep."""
    with trainer.session_transaction() as flask_session:
        flask_session[KIOSK_SESSION_KEY] = {"slot": morning.id, "user": world.users["advisor"].id}
    assert trainer.get("/sessions/").status_code == 200
    with trainer.session_transaction() as flask_session:
        assert KIOSK_SESSION_KEY not in flask_session


def test_the_unlock_page_of_a_free_device_leads_to_the_sheet(trainer, morning):
    response = trainer.get(f"{kiosk(morning)}/unlock")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/attendance/slots/{morning.id}")


def test_signing_pages_wait_for_the_lock(trainer, morning, klass):
    julie = klass[1][0]
    response = trainer.post(f"{kiosk(morning)}/{julie.id}", data={"signature": drawing()})
    assert response.status_code == 302 and response.headers["Location"].endswith(kiosk(morning))
    assert db.session.scalars(select(AttendanceRecord)).all() == []


# --------------------------------------------------------------------------- the device's holder


def test_signatures_name_the_device_holder_wherever_the_method_shows(advisor, morning, klass, world):
    julie = klass[1][0]
    assert advisor.post(kiosk(morning)).status_code == 302
    assert advisor.post(f"{kiosk(morning)}/{julie.id}", data={"signature": drawing()}).status_code == 302
    (record,) = db.session.scalars(select(AttendanceRecord)).all()
    assert record.method_label == "poste de Camille Conseil (conseiller formation)"
    assert advisor.post(f"{kiosk(morning)}/unlock", data={"password": PASSWORDS["conseil@test.example"]}
                        ).status_code == 302
    assert "poste de Camille Conseil (conseiller formation)" in page(advisor.get(f"/attendance/slots/{morning.id}"))
    verify = page(advisor.get(f"/attendance/sessions/{klass[0].id}/verify"))
    assert "poste de Camille Conseil (conseiller formation)" in verify and "poste du formateur" not in verify


def test_a_trainers_kiosk_names_the_trainer(locked, morning, klass):
    julie = klass[1][0]
    assert locked.post(f"{kiosk(morning)}/{julie.id}", data={"typed_name": julie.trainee.full_name}
                       ).status_code == 302
    (record,) = db.session.scalars(select(AttendanceRecord)).all()
    assert record.method_label == "poste de Pierre Formateur (formateur)"


def test_the_attendance_sheet_document_prints_the_holder(advisor, morning, klass):
    from trainingmgr.documents.rendering.context import attendance_sheet

    julie = klass[1][0]
    assert advisor.post(kiosk(morning)).status_code == 302
    assert advisor.post(f"{kiosk(morning)}/{julie.id}", data={"signature": drawing()}).status_code == 302
    context = attendance_sheet(klass[0], "E-1", "code", "https://example.test")
    methods = [row["method"] for slot in context["sheet"]["slots"] for row in slot["rows"] if row["method"]]
    assert methods == ["poste de Camille Conseil (conseiller formation), signature manuscrite"]
