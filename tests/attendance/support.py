"""Helpers of the attendance tests."""
from __future__ import annotations

import base64
import io

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
