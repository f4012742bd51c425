"""Fixtures: see tests/enrolments/fixtures.py."""
from tests.enrolments.fixtures import *  # noqa: F401,F403
