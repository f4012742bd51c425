"""`flask --app app attendance verify [SESSION_ID]`: an unknown session or an id that cannot name one is an error
(one French line, non-zero exit), never an intact register."""
from __future__ import annotations

import pytest

from trainingmgr.core.validation import MAX_ID


def test_verify_refuses_an_unknown_session(app):
    result = app.test_cli_runner().invoke(args=["attendance", "verify", "999999"])
    assert result.exit_code == 1
    assert result.output == "Erreur : Session 999999 introuvable.\n"


def test_verify_of_a_session_without_signatures_says_it_is_intact(app, make_session):
    session = make_session()
    result = app.test_cli_runner().invoke(args=["attendance", "verify", str(session.id)])
    assert result.exit_code == 0, result.output
    assert f"Session {session.id} : intègre (0 enregistrement)." in result.output


@pytest.mark.parametrize("value", ["0", "-1", "abc", "1.5", "+3", str(MAX_ID + 1), "9" * 20, "9" * 5000],
                         ids=["zero", "negative", "text", "decimal", "plus", "max+1", "huge", "5000-digits"])
def test_verify_refuses_what_cannot_be_a_session_id(app, value):
    result = app.test_cli_runner().invoke(args=["attendance", "verify", "--", value])
    assert result.exit_code == 2
    assert f"Erreur : L'identifiant doit être un nombre entier entre 1 et {MAX_ID}" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert isinstance(result.exception, SystemExit)  # no traceback


def test_verify_accepts_the_largest_id(app):
    result = app.test_cli_runner().invoke(args=["attendance", "verify", str(MAX_ID)])
    assert result.exit_code == 1
    assert f"Session {MAX_ID} introuvable." in result.output
