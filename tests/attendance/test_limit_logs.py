"""No token or code reaches a log: the rate limiter logs its key when a limit trips, and the keys of the signing
limits name a personal link or the room's code by a digest only."""
from __future__ import annotations

import logging

from tests.attendance.support import link, slots
from tests.fixtures.attendance import qr_url


def test_tripping_the_per_link_limit_logs_no_token(client, klass, clock, caplog):
    caplog.set_level(logging.DEBUG)
    session, (julie, *_) = klass
    url = link(julie, slots(session)[0])
    token = url.rstrip("/").rsplit("/", 1)[-1]
    statuses = [client.post(url, data={"typed_name": "Mauvais Nom"}).status_code for _ in range(11)]
    assert statuses[-1] == 429
    assert "exceeded" in caplog.text  # the limiter did log the trip
    assert token not in caplog.text
    assert token[:16] not in caplog.text


def test_tripping_the_room_code_limits_logs_no_code(make_app, klass, clock, caplog):
    caplog.set_level(logging.DEBUG)
    session, (julie, *_) = klass
    morning = slots(session)[0]
    limited = make_app(ATTENDANCE_QR_RATE_LIMIT="2 per minute", ATTENDANCE_CODE_RATE_LIMIT="1 per minute")
    with limited.app_context():
        client = limited.test_client()
        url = qr_url(morning)
        assert [client.get(url).status_code for _ in range(3)][-1] == 429
        code = url.rsplit("/", 1)[-1]
        assert "exceeded" in caplog.text
        assert f"/{code}" not in caplog.text
