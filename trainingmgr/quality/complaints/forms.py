"""Forms of the complaints register: the public form, the advisor's recording form, the workflow steps, notes.

The rules (required fields, e-mail, choices, dates) are checked by trainingmgr/quality/complaints/services.py; the forms
only parse and bound the lengths, so that every message shows beside its field."""
from __future__ import annotations

from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    HiddenField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import Optional

from ...core.forms import MAX_TEXT, Form, choices, max_length
from ..models import PUBLIC_REQUEST_KINDS, REQUEST_CHANNELS, REQUEST_KINDS, REQUESTER_ROLES
from .services import session_choice_label

SERVICE_FIELDS = ("kind", "requester_role", "requester_name", "requester_email", "requester_phone",
                  "organisation_name", "session_id", "subject", "description")


class _RequestFields(Form):
    requester_role = SelectField("Vous êtes", choices=choices(REQUESTER_ROLES.items()), default="trainee",
                                 validate_choice=False)
    requester_name = StringField("Nom et prénom", validators=[max_length(200)])
    requester_email = EmailField("E-mail", validators=[max_length(254)])
    requester_phone = StringField("Téléphone", validators=[max_length(40)])
    organisation_name = StringField("Entreprise ou organisme (le cas échéant)", validators=[max_length(200)])
    session_id = SelectField("Formation concernée", validate_choice=False, default="")
    subject = StringField("Objet", validators=[max_length(200)])
    description = TextAreaField("Description", validators=[max_length(MAX_TEXT)], render_kw={"rows": 6})

    def set_sessions(self, sessions, blank: str) -> None:
        self.session_id.choices = choices(((s.id, session_choice_label(s)) for s in sessions), blank=blank)

    def service_data(self) -> dict:
        return {name: getattr(self, name).data for name in SERVICE_FIELDS if name in self._fields}


class PublicRequestForm(_RequestFields):
    """/reclamation: anyone; from the personal page the trainee's session is fixed (no session field shown)."""

    kind = SelectField("Nature de votre demande", default="", validate_choice=False, choices=choices(
        ((k, REQUEST_KINDS[k]) for k in PUBLIC_REQUEST_KINDS), blank="— choisissez —"))
    consent = BooleanField("J'accepte que ces informations soient utilisées pour traiter ma demande et en assurer le "
                           "suivi.")
    # Honeypot: hidden from people, filled by robots.
    website = StringField("Site web (ne pas remplir)")
    submit = SubmitField("Envoyer ma demande")

    def service_data(self) -> dict:
        return {**super().service_data(), "consent": self.consent.data}


class RecordRequestForm(_RequestFields):
    """A request received by phone, e-mail, mail or in person, recorded by the advisor."""

    kind = SelectField("Nature", choices=choices(REQUEST_KINDS.items(), blank="— choisissez —"), default="",
                       validate_choice=False)
    channel = SelectField("Reçue par", choices=choices(REQUEST_CHANNELS.items()), default="phone",
                          validate_choice=False)
    received_on = DateField("Reçue le", validators=[Optional()],
                            description="Laissez vide pour aujourd'hui. Les délais partent de cette date.")
    received_time = TimeField("à", validators=[Optional()])
    submit = SubmitField("Enregistrer la demande")

    def service_data(self) -> dict:
        return {**super().service_data(), "channel": self.channel.data, "received_on": self.received_on.data,
                "received_time": self.received_time.data}


class TransitionForm(Form):
    """One step of the workflow; the page shows the fields each step needs."""

    action = HiddenField()
    note = TextAreaField("Message", validators=[max_length(5000)], render_kw={"rows": 3})
    answer = TextAreaField("Réponse apportée au demandeur", validators=[max_length(MAX_TEXT)], render_kw={"rows": 5})
    analysis = TextAreaField("Analyse (interne : cause identifiée)", validators=[max_length(MAX_TEXT)],
                             render_kw={"rows": 3})
    mediator_name = StringField("Médiateur saisi", validators=[max_length(200)])
    mediation_outcome = TextAreaField("Issue de la médiation", validators=[max_length(MAX_TEXT)],
                                      render_kw={"rows": 3})
    notify = BooleanField("Prévenir le demandeur par e-mail")
    submit = SubmitField("Valider")

    def service_data(self) -> dict:
        return {name: getattr(self, name).data for name in (
            "note", "answer", "analysis", "mediator_name", "mediation_outcome", "notify")}


class NoteForm(Form):
    note = TextAreaField("Note interne (jamais montrée au demandeur)", validators=[max_length(5000)],
                         render_kw={"rows": 2})
    submit = SubmitField("Ajouter la note")
