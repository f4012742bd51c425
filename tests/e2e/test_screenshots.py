"""`make screenshots` (tests/e2e/screenshots.py) on two journeys: one full-page PNG per screen and size, named
NN-journey-screen-size.png, as wide as the size's viewport (the phone at its device scale factor of 3), on the
demo built on a throw-away database (SQLite, and the PostgreSQL server of TEST_DATABASE_URL when it is set)."""
from __future__ import annotations

import os
import re

import pytest
from PIL import Image

from tests.e2e.screenshots import SIZES, run
from tests.fixtures.browser import PHONE

SERVERS = [None] + ([os.environ["TEST_DATABASE_URL"]] if os.environ.get("TEST_DATABASE_URL") else [])
WIDTHS = {"desktop": SIZES["desktop"]["width"], "phone": SIZES["phone"]["width"] * PHONE["device_scale_factor"]}


@pytest.mark.parametrize("database_url", SERVERS, ids=["sqlite", "postgresql"][:len(SERVERS)])
def test_screenshots_of_the_trainee_and_the_company_contact(tmp_path, database_url):
    out = tmp_path / "shots"
    out.mkdir()
    (out / "00-stale.png").write_bytes(b"old")  # a previous run's file is removed

    files = run(out, journeys=("trainee", "company"), database_url=database_url, pdf=False)

    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(p.name for p in files)
    screens = sorted({re.sub(r"-(desktop|phone)\.png$", "", name) for name in names})
    assert [s.split("-", 1)[1] for s in screens] == [
        "trainee-personal-page", "trainee-sign", "trainee-positioning", "trainee-questionnaire",
        "company-space", "company-employee", "company-session"]
    assert len(names) == 2 * len(screens)
    for path in files:
        size = re.search(r"-(desktop|phone)\.png$", path.name).group(1)
        assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n"), path.name
        with Image.open(path) as image:
            width, height = image.size
        assert width == WIDTHS[size], (path.name, width)
        assert height >= SIZES[size]["height"] * (PHONE["device_scale_factor"] if size == "phone" else 1), path.name
