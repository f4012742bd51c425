"""Fixtures of the trainee portal tests (shared with tests/evaluations, see support.py)."""
from __future__ import annotations

import pytest

pytest.register_assert_rewrite("tests.evaluations.support")

from tests.evaluations.support import chorus_session, enrolment, q, questionnaire  # noqa: E402,F401
