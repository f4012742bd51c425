"""Forms of a trainer's file: they only parse; resources.dossier and subcontracting.services check."""
from __future__ import annotations

from flask_wtf.file import FileField
from wtforms import DateField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import Optional

from ..core.forms import Form, FrenchDecimalField, choices, max_length
from ..resources.models import DEVELOPMENT_KINDS, TRAINER_DOCUMENT_KINDS


class TrainerDocumentForm(Form):
    kind = SelectField("Type de document", choices=choices(TRAINER_DOCUMENT_KINDS.items(), blank="— choisir —"),
                       validate_choice=False)
    title = StringField("Intitulé (facultatif)", validators=[max_length(200)])
    valid_until = DateField("Valable jusqu'au (facultatif)", validators=[Optional()])
    file = FileField("Fichier (PDF, image, DOCX ou ODT, 10 Mo au plus)")
    submit = SubmitField("Déposer le document")


class DevelopmentForm(Form):
    day = DateField("Date", validators=[Optional()])
    title = StringField("Intitulé", validators=[max_length(200)])
    kind = SelectField("Type d'action", choices=choices(DEVELOPMENT_KINDS.items(), blank="— choisir —"),
                       validate_choice=False)
    hours = FrenchDecimalField("Durée (heures, facultatif)", validators=[Optional()])
    note = TextAreaField("Ce qui a été acquis, ce qui change dans les formations (facultatif)",
                         validators=[max_length(5000)])
    evidence = FileField("Justificatif (facultatif : attestation, programme…)")
    submit = SubmitField("Ajouter au journal")


class TrainerInvoiceForm(Form):
    number = StringField("N° de la facture", validators=[max_length(60)])
    issued_on = DateField("Date de la facture", validators=[Optional()])
    amount_excl_vat = FrenchDecimalField("Montant HT (€)", validators=[Optional()])
    vat_amount = FrenchDecimalField("TVA (€)", validators=[Optional()])
    file = FileField("Facture (PDF)")
    submit = SubmitField("Enregistrer la facture")


class RemoveForm(Form):
    """A button (CSRF only): remove a document or an entry of the log."""

    submit = SubmitField("Retirer")
