"""Fixtures of the API tests: bearer tokens of each role."""
from __future__ import annotations

import pytest

pytest.register_assert_rewrite("tests.api.support")

from trainingmgr.extensions import db  # noqa: E402

from tests.api.support import bearer  # noqa: E402


@pytest.fixture
def tokens(world):
    """Raw API tokens of the advisor, the admin and the two trainers (only their hashes are stored)."""
    from trainingmgr.accounts.services import create_api_token

    emails = {"advisor": "conseil@test.example", "admin": "admin@test.example",
              "trainer": "formateur@test.example", "trainer2": "formateur2@test.example"}
    raws = {role: create_api_token(email, name=f"tests {role}")[1] for role, email in emails.items()}
    db.session.commit()
    return raws


@pytest.fixture
def staff(tokens) -> dict:
    """Headers of the advisor's token."""
    return bearer(tokens["advisor"])


@pytest.fixture
def trainer_auth(tokens) -> dict:
    """Headers of Pierre's (trainer role) token."""
    return bearer(tokens["trainer"])
