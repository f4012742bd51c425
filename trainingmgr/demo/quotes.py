"""Quotes for the demo, made through the real services (quotes/services.py, quotes/acceptance.py):

- Agence Canal du Midi Paysage's quote for two seats in the upcoming DUME session, sent, then accepted online by
  its contact from her personal page (« Bon pour accord », the evidence kept): the two named trainees are enrolled
  at the quoted price, the company's convention is proposed, OPCO EP funding lines wait « à demander », and the
  lunches quoted as extra costs will go on the company's invoice;
- Charpentes du Lauragais' quote for three seats in the upcoming Chorus Pro session, sent and awaiting the answer:
  its validity ends within the week, so the pipeline shows it under « expire cette semaine »;
- an intra-company request for Chorus Pro (sold inter and intra, « sur devis »), made from the public course page:
  a draft for the advisor to price.

Loaded once (skipped when any quote exists). The numbers and dates are the day's: a quote is dated when it is made.
Decision: the accepted quote is accepted online rather than recorded, so that the demo needs no signed file and shows
the acceptance evidence (IP address, browser, SHA-256 of the document accepted)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from ..accounts.models import User
from ..catalogue.models import Course
from ..companies.services import save_contact
from ..core.formatting import month_fr
from ..core.timeutil import paris_today
from ..extensions import db
from ..quotes import acceptance
from ..quotes import services as quotes
from ..quotes.models import Quote
from ..sessions.models import TrainingSession
from .seeds import SEED_COURSES

CHORUS_SLUG, DUME_SLUG = SEED_COURSES[0]["slug"], SEED_COURSES[1]["slug"]

ACCEPTED = {
    "kind": "seats", "seats": 2,
    "company": {"name": "Agence Canal du Midi Paysage", "siret": "85312749600018", "naf_code": "7111Z",
                "headcount_band": "11-49", "opco": "OPCO EP", "address": "4 allée Paul Riquet", "postal_code": "31400",
                "city": "Toulouse"},
    "contact_name": "Isabelle Fabre", "contact_email": "i.fabre@canal-paysage.example",
    "contact_phone": "05 61 00 20 20",
    "trainees": [{"first_name": "Margaux", "last_name": "Delmas", "email": "margaux.delmas@canal-paysage.example"},
                 {"first_name": "Bastien", "last_name": "Roques", "email": "bastien.roques@canal-paysage.example"}],
    "extras": [{"label": "Déjeuner sur place", "quantity": "2", "unit_price": "18"}],
    "conditions": "Tarif inter-entreprises par stagiaire ; déjeuners facturés en sus.",
}
# The contact accepts from her phone (documentation addresses, RFC 5737).
ACCEPTED_ONLINE = {"ip": "192.0.2.41", "user_agent": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 "
                                                    "(KHTML, like Gecko) Chrome/131.0 Mobile Safari/537.36"}
AWAITING = {
    "kind": "seats", "seats": 3,
    "company": {"name": "Charpentes du Lauragais", "siret": "49172638600015", "naf_code": "4391A",
                "headcount_band": "11-49", "opco": "Constructys", "address": "Zone artisanale du Ségala",
                "postal_code": "31290", "city": "Villefranche-de-Lauragais"},
    "contact_name": "Nicolas Bonnet", "contact_email": "n.bonnet@charpentes-lauragais.example",
    "request_message": "Trois personnes de l'administration des ventes doivent déposer nos factures aux "
                       "collectivités.",
    "conditions": "Les noms des trois stagiaires sont à nous communiquer avec l'accord.",
}
AWAITING_VALID_DAYS = 5  # within the week: the pipeline's « expire cette semaine »
INTRA_REQUEST = {
    "kind": "intra", "headcount": 6, "wished_place": "Nos locaux, 15 rue Peyrolières, Toulouse",
    "company": {"name": "Groupe Immobilier Saint-Cyprien", "siret": "32684159000010"},
    "contact_name": "Laure Mercier", "contact_email": "l.mercier@gi-saint-cyprien.example",
    "contact_phone": "06 00 30 30 30",
    "request_message": "Nous facturons des collectivités depuis cette année : six gestionnaires à former au dépôt de "
                       "nos factures sur Chorus Pro.",
}
INTRA_MONTHS_AHEAD = 3
# Each company's contact is on its sheet too: the advisor keeps who asked and who signs.
CONTACT_ROLES = {
    ACCEPTED["contact_email"]: ("signatory", "Gérante"),
    AWAITING["contact_email"]: ("hr", "Responsable administratif"),
    INTRA_REQUEST["contact_email"]: ("hr", "Responsable formation"),
}


def load_quotes(sessions: dict[str, TrainingSession], advisor: User) -> list[str]:
    """Once: the accepted quote in the upcoming DUME session, the quote awaiting an answer in the upcoming Chorus Pro
    session, the intra request in draft. ``sessions``: the upcoming sessions by course slug."""
    dume, chorus = sessions.get(DUME_SLUG), sessions.get(CHORUS_SLUG)
    if dume is None or chorus is None or db.session.scalar(select(Quote.id).limit(1)) is not None:
        return []
    return [_accepted(dume, advisor), _awaiting(chorus, advisor), _intra_request(chorus.course)]


def _keep_contact(quote: Quote) -> None:
    """The quote's contact on the company's sheet, unless already there."""
    if any(contact.email == quote.contact_email for contact in quote.company.contacts):
        return
    role, job_title = CONTACT_ROLES[quote.contact_email]
    save_contact(quote.company, None, {"role": role, "name": quote.contact_name, "job_title": job_title,
                                       "email": quote.contact_email, "phone": quote.contact_phone})


def _accepted(session: TrainingSession, advisor: User) -> str:
    quote = quotes.create_quote({**ACCEPTED, "course_id": session.course_id, "session_id": session.id}, advisor)
    _keep_contact(quote)
    quotes.send_quote(quote, advisor)
    result = acceptance.accept_online(quote, quote.contact_name, **ACCEPTED_ONLINE)
    made = [f"{len(result.enrolments)} inscriptions au prix du devis"]
    if result.waitlisted:
        made.append(f"{len(result.waitlisted)} en liste d'attente")
    if result.convention is not None:
        made.append(f"convention {result.convention.number} proposée")
    if any(line.is_opco for enrolment in result.enrolments for line in enrolment.funding_lines):
        made.append(f"financements {quote.company.opco} « à demander »")
    return (f"Devis {quote.number} (« {quote.company.name} », {quote.seats} places, session {session.label}) envoyé "
            f"puis accepté en ligne par {quote.accepted_by_name} : {', '.join(made)}.")


def _awaiting(session: TrainingSession, advisor: User) -> str:
    valid_until = paris_today() + dt.timedelta(days=AWAITING_VALID_DAYS)
    quote = quotes.create_quote({**AWAITING, "course_id": session.course_id, "session_id": session.id,
                                 "valid_until": valid_until}, advisor)
    _keep_contact(quote)
    quotes.send_quote(quote, advisor)
    return (f"Devis {quote.number} (« {quote.company.name} », {quote.seats} places, session {session.label}) envoyé, "
            f"en attente de réponse jusqu'au {valid_until:%d/%m/%Y}.")


def _intra_request(course: Course) -> str:
    period = month_fr(paris_today().replace(day=1) + dt.timedelta(days=31 * INTRA_MONTHS_AHEAD))
    quote = quotes.request_quote(course, {**INTRA_REQUEST, "wished_period": period})
    _keep_contact(quote)
    return (f"Demande de devis intra {quote.number} (« {quote.company.name} », {quote.headcount} personnes, "
            f"{period}) reçue du catalogue : brouillon à chiffrer.")
