"""Fixtures of the end-to-end browser tests: the attendance clock (Monday 09:00 in Paris, frozen)."""
from __future__ import annotations

import pytest

from tests.attendance.conftest import Clock


@pytest.fixture
def clock(app, monkeypatch):
    """The attendance code's clock (signing windows), frozen on MONDAY 09:00 Paris; ``clock.at("13:40")``."""
    return Clock(monkeypatch)
