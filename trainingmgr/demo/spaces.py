"""People without an account, for the demo: an independent trainer, Claire Moreau, who co-teaches the upcoming Chorus
Pro session (its afternoon) and has declared a period of unavailability, and the HR contact of Atelier d'architecture
Garonne (demo/services.py CONTACTS). Each gets the personal link to their space; ``space_links`` gives the lines
`flask demo load` prints (without making a link: a link revoked since is said so, not renewed behind the advisor's
back)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from ..accounts.models import User
from ..companies import links as company_links
from ..companies.models import CompanyContact
from ..extensions import db
from ..portals.trainer import agenda
from ..resources import links as trainer_links
from ..resources.models import Trainer
from ..resources.services import save_trainer
from ..resources.unavailability import add_unavailability
from ..sessions.models import TrainingSession
from ..sessions.services import update_slot

INDEPENDENT_TRAINER = {
    "first_name": "Claire", "last_name": "Moreau", "email": "claire.moreau@moreau-conseil.example",
    "phone": "06 12 34 56 78", "status": "independent", "is_external": True,
    "company_name": "Claire Moreau Conseil", "company_siret": "88312345700003",
    # her numéro de déclaration d'activité and day rate: her lettre de mission can be made (subcontracting)
    "nda": "76 31 07654 31", "rate": "480", "rate_unit": "day", "address": "14 rue Pharaon, 31000 Toulouse",
    "competences": "Consultante en dématérialisation des factures publiques, ancienne gestionnaire Chorus Pro "
                   "dans une collectivité ; 8 ans de formation d'adultes.",
}
HR_CONTACT_EMAIL = "direction@garonne-archi.example"
# Claire's period of unavailability, in days from the day the demo is loaded.
AWAY = (28, 32, "Mission chez un autre client")


def load_spaces(chorus_session: TrainingSession | None, advisor: User, today: dt.date) -> list[str]:
    """Once: Claire Moreau, given the afternoon of ``chorus_session`` and a period of unavailability, and the first
    personal links of Claire and of the HR contact."""
    if db.session.scalar(select(Trainer.id).where(Trainer.email == INDEPENDENT_TRAINER["email"])) is not None:
        return []
    claire = save_trainer(None, INDEPENDENT_TRAINER)
    db.session.flush()
    done = [f"Formatrice indépendante {claire.full_name} créée, sans compte : son espace s'ouvre par son lien."]
    if chorus_session is not None and len(chorus_session.slots) > 1:
        afternoon = chorus_session.slots[-1]
        update_slot(afternoon, {"trainer_id": claire.id}, advisor)
        done.append(f"{claire.full_name} anime l'après-midi du {afternoon.date:%d/%m/%Y} de la session "
                    f"{chorus_session.label}.")
    first, last, reason = AWAY
    period, _ = add_unavailability(claire, {"starts_on": today + dt.timedelta(days=first),
                                            "ends_on": today + dt.timedelta(days=last), "reason": reason})
    done.append(f"Indisponibilité de {claire.full_name} déclarée {period.starts_on:%d/%m/%Y} – "
                f"{period.ends_on:%d/%m/%Y}.")
    trainer_links.token(claire)
    contact = _hr_contact()
    if contact is not None:
        company_links.link_token(contact)
    return done


def _hr_contact() -> CompanyContact | None:
    return db.session.scalar(select(CompanyContact).where(CompanyContact.email == HR_CONTACT_EMAIL))


def space_links() -> list[str]:
    """The personal links of the demo's trainer and company contact, as `flask demo load` prints them."""
    lines = []
    claire = db.session.scalar(select(Trainer).where(Trainer.email == INDEPENDENT_TRAINER["email"]))
    if claire is not None:
        if claire.link_nonce:
            token = trainer_links.token(claire)
            lines.append(f"  Espace formateur de {claire.full_name} (indépendante) : {trainer_links.space_url(claire)}")
            lines.append(f"    son agenda (abonnement iCal) : {agenda.feed_url(token)}")
        else:
            lines.append(f"  Espace formateur de {claire.full_name} : lien révoqué, à renvoyer depuis sa fiche.")
    contact = _hr_contact()
    if contact is not None:
        who = f"{contact.name} ({contact.company.name})"
        if contact.link_nonce:
            lines.append(f"  Espace entreprise de {who} : {company_links.space_url(contact)}")
        else:
            lines.append(f"  Espace entreprise de {who} : lien révoqué, à renvoyer depuis la fiche de l'entreprise.")
    return lines
