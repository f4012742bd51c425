"""Forms of the quality registers: they only parse; the rules (required fields, dates, steps) live in
quality.registers.services, whose errors land beside the fields."""
from __future__ import annotations

from wtforms import DateField, HiddenField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import Optional

from ...core.forms import Form, choices, max_length
from .models import NEEDS_CHANNELS, PARTNER_KINDS, WATCH_DOMAINS
from .services import MAX_CONTACT, MAX_NAME, MAX_PERSON, MAX_PHONE, MAX_SOURCE, MAX_TEXT


def _text(label: str, rows: int = 3, description: str = "") -> TextAreaField:
    return TextAreaField(label, validators=[max_length(MAX_TEXT)], render_kw={"rows": rows}, description=description)


def _partner_choices(partners) -> list:
    return choices(((p.id, f"{p.name} ({p.kind_label})" + ("" if p.active else " – désactivé")) for p in partners),
                   blank="— aucun —")


class WatchEntryForm(Form):
    # Optional: an empty date is reported by the service (« obligatoire »), an unreadable one by WTForms.
    day = DateField("Date", validators=[Optional()])
    domain = SelectField("Domaine", choices=choices(WATCH_DOMAINS.items(), blank="— choisir —"), validate_choice=False)
    source = StringField("Source", validators=[max_length(MAX_SOURCE)], render_kw={"maxlength": MAX_SOURCE},
                         description="Texte officiel, site, revue, salon, réseau professionnel…")
    summary = _text("Résumé de l'information")
    analysis = _text("Analyse : ce que cela change pour l'organisme")
    action_id = SelectField("Action d'amélioration liée", validate_choice=False)
    submit = SubmitField("Enregistrer")

    def set_action_choices(self, actions) -> None:
        self.action_id.choices = choices(((a.id, f"n° {a.id} : {a.title} ({a.status_label.lower()})")
                                          for a in actions), blank="— aucune —")


class NeedsAnalysisForm(Form):
    day = DateField("Date", validators=[Optional()])
    channel = SelectField("Recueilli par", choices=choices(NEEDS_CHANNELS.items(), blank="— choisir —"),
                          validate_choice=False)
    company_id = SelectField("Entreprise", validate_choice=False)
    session_id = SelectField("Session", validate_choice=False)
    contact = StringField("Interlocuteur", validators=[max_length(MAX_CONTACT)], render_kw={"maxlength": MAX_CONTACT},
                          description="Qui a exprimé le besoin : dirigeant, service RH, financeur…")
    needs = _text("Besoins identifiés", 4)
    outcome = _text("Suite donnée", description="Objectifs adaptés, formation proposée, session intra…")
    submit = SubmitField("Enregistrer")

    def set_choices(self, companies, sessions) -> None:
        self.company_id.choices = choices(((c.id, c.name) for c in companies), blank="— aucune —")
        self.session_id.choices = choices(((s.id, f"{s.title} ({s.dates_label}, n° {s.id})") for s in sessions),
                                          blank="— aucune —")


class PartnerForm(Form):
    name = StringField("Nom", validators=[max_length(MAX_NAME)], render_kw={"maxlength": MAX_NAME})
    kind = SelectField("Type", choices=choices(PARTNER_KINDS.items(), blank="— choisir —"), validate_choice=False)
    contact_name = StringField("Contact", validators=[max_length(MAX_PERSON)], render_kw={"maxlength": MAX_PERSON})
    email = StringField("E-mail", validators=[max_length(254)], render_kw={"maxlength": 254, "type": "email"})
    phone = StringField("Téléphone", validators=[max_length(MAX_PHONE)], render_kw={"maxlength": MAX_PHONE})
    notes = _text("Notes", description="Territoire, modalités de sollicitation, dernier échange…")
    submit = SubmitField("Enregistrer")


class AdaptationRequestForm(Form):
    request = _text("Besoin exprimé", 4)
    requested_on = DateField("Date de la demande", validators=[Optional()])
    partner_id = SelectField("Partenaire sollicité", validate_choice=False)
    submit = SubmitField("Déclarer le besoin")

    def set_partner_choices(self, partners) -> None:
        self.partner_id.choices = _partner_choices(partners)


class AdaptationStepForm(Form):
    step = HiddenField()
    text = _text("Texte", 3)
    day = DateField("Date", validators=[Optional()])
    partner_id = SelectField("Partenaire", validate_choice=False)
    submit = SubmitField("Enregistrer")

    def set_partner_choices(self, partners) -> None:
        self.partner_id.choices = _partner_choices(partners)
