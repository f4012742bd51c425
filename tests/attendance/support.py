"""Helpers of the attendance tests."""
from __future__ import annotations

import base64
import io
import re

from PIL import Image, ImageDraw

from trainingmgr.attendance.access import signing_token


def drawing(blank: bool = False, size=(300, 150)) -> str:
    """A canvas-like PNG data URL: transparent, with a stroke unless ``blank``."""
    image = Image.new("RGBA", size, (0, 0, 0, 0))
    if not blank:
        ImageDraw.Draw(image).line([(20, 100), (80, 40), (140, 110), (260, 30)], fill=(11, 31, 102, 255), width=3)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def link(enrolment, slot) -> str:
    return f"/emargement/{signing_token(enrolment, slot)}"


def slots(session):
    return sorted(session.slots, key=lambda s: (s.date, s.start_time))


def code_from_mail(enrolment) -> str:
    """The one-time code last e-mailed to ``enrolment``'s trainee."""
    from tests.enrolments.support import outbox

    message = outbox("attendance_code", enrolment)[-1]
    return re.search(r"\b(\d{6})\b", message.body_text).group(1)


def sign_by_link(client, enrolment, slot, name=None, **data):
    """Ask for the code, type it, sign: the three steps of a virtual half-day by personal link (a drawing when
    ``data`` gives one, else the typed name)."""
    url = link(enrolment, slot)
    assert client.post(f"{url}/code").status_code == 302
    assert client.post(f"{url}/verifier", data={"code": code_from_mail(enrolment)}).status_code == 302
    return client.post(url, data=data or {"typed_name": name or enrolment.trainee.full_name})
