"""Fixtures shared by the sessions tests."""
from __future__ import annotations

import html

from trainingmgr.extensions import db
from trainingmgr.sessions.models import Slot, TrainingSession



def page(response) -> str:
    """The response body with HTML entities decoded, to look for French messages in it."""
    return html.unescape(response.get_data(as_text=True))


def counts() -> tuple[int, int]:
    """(sessions, slots) in the database, read afresh."""
    db.session.expire_all()
    return db.session.query(TrainingSession).count(), db.session.query(Slot).count()


# The logged-in clients (as_user, advisor, admin, trainer = Pierre, trainer2 = Paula) are the enrolment tests' ones.
from tests.enrolments.fixtures import (  # noqa: E402,F401
    admin, advisor, as_user, new_trainee, open_session, trainer, trainer2)
