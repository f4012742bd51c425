"""The quotes' forms: the advisor's quote, the acceptance and the refusal (back office); the public request from a
course page and the contact's answer on the personal page. Fields and choices only: the rules are the services'."""
from __future__ import annotations

from flask_wtf.file import FileField
from wtforms import BooleanField, EmailField, RadioField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired

from ..core.forms import Form, FrenchDecimalField, FrenchIntegerField, choices, max_length
from .models import QUOTE_KINDS

SEATS_HELP = "Un par ligne : Prénom ; Nom ; e-mail (l'e-mail est facultatif)."
EXTRAS_HELP = "Un par ligne : libellé ; quantité ; prix unitaire HT. Par exemple : Frais de déplacement ; 1 ; 120"


def _parts(line: str) -> list[str]:
    return [part.strip() for part in line.split(";")]


def parse_trainees(text: str | None) -> list[dict]:
    """« Prénom ; Nom ; e-mail » per line (or « Prénom Nom e-mail »): the people a seats quote names."""
    found = []
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        parts = _parts(line) if ";" in line else line.split()
        email = next((p for p in parts if "@" in p), "")
        names = [p for p in parts if p and p != email]
        if ";" in line:
            first, last = (names + ["", ""])[:2]
        else:
            first, last = (names[0] if names else ""), " ".join(names[1:])
        found.append({"first_name": first, "last_name": last, "email": email})
    return found


def trainees_text(trainees) -> str:
    return "\n".join(" ; ".join(p for p in (t.first_name, t.last_name, t.email) if p) for t in trainees)


def parse_extras(text: str | None) -> list[dict]:
    """« libellé ; quantité ; prix unitaire » per line: the extra costs (the service checks the numbers)."""
    found = []
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        label, quantity, unit_price = (_parts(line) + ["", ""])[:3]
        found.append({"label": label, "quantity": quantity or "1", "unit_price": unit_price})
    return found


def extras_text(lines) -> str:
    def number(value) -> str:
        return format(value.normalize(), "f").replace(".", ",")

    return "\n".join(f"{line.label} ; {number(line.quantity)} ; {number(line.unit_price)}" for line in lines
                     if line.is_extra)


class QuoteForm(Form):
    """The advisor's quote: seats in a session or an intra session, the client, the price, the conditions."""

    kind = RadioField("Nature du devis", choices=choices(QUOTE_KINDS.items()), default="seats")
    course_id = SelectField("Formation", choices=[], validate_choice=False)
    session_id = SelectField("Session (places en inter-entreprises)", choices=[], validate_choice=False)
    company_name = StringField("Entreprise", validators=[DataRequired(), max_length(200)])
    company_siret = StringField("SIRET", validators=[max_length(20)])
    contact_name = StringField("Nom du contact", validators=[max_length(120)])
    contact_email = EmailField("E-mail du contact", validators=[max_length(254)])
    contact_phone = StringField("Téléphone du contact", validators=[max_length(40)])
    seats = FrenchIntegerField("Nombre de places")
    seat_price = FrenchDecimalField("Prix d'une place HT (par défaut, celui de la session)")
    trainees = TextAreaField("Stagiaires nommés", description=SEATS_HELP, validators=[max_length(20000)])
    headcount = FrenchIntegerField("Nombre de personnes (intra)")
    wished_period = StringField("Période souhaitée (intra)", validators=[max_length(120)])
    wished_place = StringField("Lieu souhaité (intra)", validators=[max_length(200)])
    intra_price = FrenchDecimalField("Prix forfaitaire HT (intra)")
    extras = TextAreaField("Frais annexes", description=EXTRAS_HELP, validators=[max_length(20000)])
    valid_until = StringField("Valable jusqu'au (JJ/MM/AAAA)", validators=[max_length(10)])
    conditions = TextAreaField("Conditions", validators=[max_length(20000)])
    notes = TextAreaField("Notes internes (jamais imprimées)", validators=[max_length(20000)])
    request_message = TextAreaField("Message de la demande", validators=[max_length(20000)])
    submit = SubmitField("Enregistrer le brouillon")

    def set_choices(self, courses, sessions) -> None:
        self.course_id.choices = choices(((c.id, c.title) for c in courses), blank="— choisir —")
        self.session_id.choices = choices(((s.id, f"{s.title} — {s.dates_label}") for s in sessions),
                                          blank="— aucune (intra) —")

    def data_for_service(self) -> dict:
        data = super().data_for_service()
        data["company"] = {"name": data.pop("company_name") or "", "siret": data.pop("company_siret") or ""}
        data["trainees"] = parse_trainees(data["trainees"])
        data["extras"] = parse_extras(data["extras"])
        for name in ("course_id", "session_id"):
            data[name] = data[name] or None
        return data


class AcceptForm(Form):
    accepted_by_name = StringField("Signataire pour le client (nom et fonction)",
                                   validators=[DataRequired(), max_length(120)])
    signed_file = FileField("Devis signé (PDF ou Word)")
    submit = SubmitField("Enregistrer l'acceptation")


class RefuseForm(Form):
    reason = TextAreaField("Motif du refus", validators=[DataRequired(), max_length(2000)],
                           description="Par exemple : « Sans suite », « Budget insuffisant », « Autre organisme ».")
    submit = SubmitField("Refuser le devis")


class PublicQuoteForm(Form):
    """A company contact's request from a course page, made for a phone: seats in a listed session, or an intra
    session."""

    kind = RadioField("Votre besoin", choices=choices((("seats", "Des places dans une session programmée"),
                                                       ("intra", "Une session pour notre entreprise (intra)"))),
                      default="seats")
    session_id = SelectField("Session", choices=[], validate_choice=False)
    seats = FrenchIntegerField("Nombre de places", render_kw={"inputmode": "numeric"})
    trainees = TextAreaField("Noms des participants (facultatif)", description=SEATS_HELP,
                             validators=[max_length(5000)])
    headcount = FrenchIntegerField("Nombre de personnes", render_kw={"inputmode": "numeric"})
    wished_period = StringField("Période souhaitée", validators=[max_length(120)],
                                description="Par exemple : mars 2027, semaine 12.")
    wished_place = StringField("Lieu souhaité", validators=[max_length(200)],
                               description="Dans vos locaux (adresse), chez nous, à distance…")
    company_name = StringField("Entreprise", validators=[DataRequired(), max_length(200)])
    company_siret = StringField("SIRET", validators=[max_length(20)], render_kw={"inputmode": "numeric"})
    contact_name = StringField("Votre nom", validators=[DataRequired(), max_length(120)],
                               render_kw={"autocomplete": "name"})
    contact_email = EmailField("Votre e-mail", validators=[DataRequired(), max_length(254)],
                               render_kw={"autocomplete": "email"})
    contact_phone = StringField("Votre téléphone", validators=[max_length(40)],
                                render_kw={"autocomplete": "tel", "type": "tel"})
    request_message = TextAreaField("Message (besoins, questions, adaptation nécessaire)",
                                    validators=[max_length(5000)])
    consent = BooleanField("J'accepte que ces données soient utilisées pour établir et suivre ce devis.",
                           validators=[DataRequired("Cochez la case pour que nous puissions traiter votre demande.")])
    # Honeypot: hidden from people, filled by robots.
    website = StringField("Site web (ne pas remplir)")
    submit = SubmitField("Demander mon devis")

    def set_sessions(self, sessions) -> None:
        self.session_id.choices = choices(((s.id, s.dates_label.capitalize()) for s in sessions),
                                          blank="— choisir —")

    def data_for_service(self) -> dict:
        data = super().data_for_service()
        for name in ("consent", "website"):
            data.pop(name, None)
        data["company"] = {"name": data.pop("company_name") or "", "siret": data.pop("company_siret") or ""}
        data["trainees"] = parse_trainees(data["trainees"])
        data["session_id"] = data["session_id"] or None
        if data["kind"] == "seats":
            data.update(headcount=None, wished_period="", wished_place="")
        else:
            data.update(session_id=None, seats=None, trainees=[])
        return data


class OnlineAcceptForm(Form):
    name = StringField("Votre nom (signataire pour l'entreprise)", validators=[DataRequired(), max_length(120)],
                       render_kw={"autocomplete": "name"})
    agreed = BooleanField("Bon pour accord",
                          validators=[DataRequired("Cochez « Bon pour accord » pour accepter le devis.")])
    submit = SubmitField("Accepter le devis")


class OnlineRefuseForm(Form):
    reason = TextAreaField("Motif du refus", validators=[DataRequired(), max_length(2000)])
    submit = SubmitField("Refuser le devis")
