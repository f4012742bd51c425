"""The fixtures of every test, one module per subject under tests/fixtures/ (the application and its databases in
tests/fixtures/app.py). Test files import helpers from those modules or tests/helpers.py, never from a conftest."""
import sys

import pygal  # noqa: F401 - see below
import pytest

# pygal puts on sys.meta_path a finder without find_spec (for external map plugins, which we do not use); pytest's
# importlib mode calls find_spec on every finder when it first imports a test package, and fails on that one.
sys.meta_path[:] = [finder for finder in sys.meta_path if type(finder).__name__ != "PluginImportFixer"]

pytest.register_assert_rewrite("tests.api.support", "tests.evaluations.support")

pytest_plugins = [
    "tests.fixtures.app",
    "tests.fixtures.world",
    "tests.fixtures.enrolments",
    "tests.fixtures.attendance",
    "tests.fixtures.demo",
    "tests.fixtures.documents",
    "tests.fixtures.billing",
    "tests.fixtures.signing",
    "tests.fixtures.companies",
    "tests.fixtures.messaging",
    "tests.fixtures.privacy",
    "tests.fixtures.api",
    "tests.fixtures.evaluations",
    "tests.fixtures.pdf",
    "tests.fixtures.quotes",
    "tests.fixtures.permissions",
    "tests.fixtures.automations",
]
