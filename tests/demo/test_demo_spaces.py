"""The demo's people without an account (demo/spaces.py): `flask demo load` prints the personal links of an
independent trainer and of a company's HR contact, and each link opens its space; the trainer teaches a half-day of
the upcoming Chorus Pro session, which her iCal subscription holds, and has declared a period of unavailability."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from icalendar import Calendar
from sqlalchemy import func, select

from tests.helpers import page
from trainingmgr.demo.spaces import HR_CONTACT_EMAIL, INDEPENDENT_TRAINER
from trainingmgr.extensions import db
from trainingmgr.resources.models import Trainer, TrainerUnavailability
from trainingmgr.sessions.models import Slot


@pytest.fixture
def printed(app):
    """What `flask demo load` prints, run twice: the links of the second run (nothing loaded again)."""
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo", "load"])
    assert first.exit_code == 0, first.output
    second = runner.invoke(args=["demo", "load"])
    assert second.exit_code == 0, second.output
    assert "Les données de démonstration sont déjà chargées." in second.output
    db.session.expire_all()
    return first.output, second.output


def links(output: str) -> dict[str, str]:
    """The printed links by what they open: "trainer", "calendar", "company" (paths only)."""
    found = {}
    for line in output.split("Espaces sans mot de passe (liens personnels) :", 1)[1].splitlines():
        match = re.search(r"(https?://\S+)", line)
        if match:
            kind = ("calendar" if "iCal" in line else "trainer" if "Espace formateur" in line
                    else "company" if "Espace entreprise" in line else line)
            found[kind] = urlsplit(match.group(1)).path
    return found


def claire() -> Trainer:
    return db.session.scalar(select(Trainer).where(Trainer.email == INDEPENDENT_TRAINER["email"]))


def test_the_demo_has_an_independent_trainer_without_account(printed):
    first, _ = printed
    trainer = claire()
    assert trainer is not None and trainer.user_id is None and trainer.is_external
    assert "Formatrice indépendante Claire Moreau créée, sans compte : son espace s'ouvre par son lien." in first
    slots = db.session.scalars(select(Slot).where(Slot.trainer_id == trainer.id)).all()
    assert len(slots) == 1 and slots[0].session.title == "Chorus Pro" and slots[0].half_day == "afternoon"
    assert trainer in slots[0].session.trainers
    period = db.session.scalar(select(TrainerUnavailability).where(TrainerUnavailability.trainer_id == trainer.id))
    assert period.reason == "Mission chez un autre client" and period.starts_on > slots[0].date
    assert db.session.scalar(select(func.count()).select_from(Trainer)) == 2  # loaded once


def test_the_printed_links_open_the_spaces_each_time(client, printed):
    for output in printed:
        found = links(output)
        assert set(found) == {"trainer", "calendar", "company"}, output
        trainer_page = page(client.get(found["trainer"]))
        assert "Bonjour Claire Moreau" in trainer_page and "Chorus Pro" in trainer_page
        response = client.get(found["calendar"])
        assert response.status_code == 200 and response.mimetype == "text/calendar"
        events = Calendar.from_ical(response.data).walk("VEVENT")
        assert [str(e["SUMMARY"]) for e in events] == ["Chorus Pro – après-midi"]
        response = client.get(found["company"])
        assert response.status_code == 200 and "Atelier d'architecture Garonne" in page(response)
    # the same link (its signed payload names the same nonce; only its timestamp differs): loading again renews nothing
    assert {k: v.split(".")[0] for k, v in links(printed[0]).items()} == {
        k: v.split(".")[0] for k, v in links(printed[1]).items()}


def test_a_revoked_link_is_said_not_renewed(app, printed):
    from trainingmgr.companies.models import CompanyContact
    from trainingmgr.core import personal_links

    personal_links.revoke(claire())
    personal_links.revoke(db.session.scalar(select(CompanyContact).where(CompanyContact.email == HR_CONTACT_EMAIL)))
    db.session.commit()
    output = app.test_cli_runner().invoke(args=["demo", "load"]).output
    assert "Espace formateur de Claire Moreau : lien révoqué, à renvoyer depuis sa fiche." in output
    assert "lien révoqué, à renvoyer depuis la fiche de l'entreprise." in output
    assert not links(output)
    db.session.expire_all()
    assert claire().link_nonce == ""
