from __future__ import annotations

from flask_wtf.file import FileField
from wtforms import DateField, EmailField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Optional

from ..core.forms import Form, choices, max_length
from .models import VAT_CHOICES
from .services import REMOTE_ASSISTANCE_MAX


class OrganisationForm(Form):
    name = StringField("Nom de l'organisme", validators=[DataRequired(), max_length(200)])
    legal_form = StringField("Forme juridique", validators=[max_length(80)])
    siret = StringField("SIRET", validators=[DataRequired(), max_length(20)])
    nda = StringField("Numéro de déclaration d'activité (NDA)", validators=[max_length(40)])
    nda_region = StringField("Région de la déclaration (préfet de région)", validators=[max_length(80)])
    address = StringField("Adresse", validators=[max_length(255)])
    postal_code = StringField("Code postal", validators=[max_length(10)])
    city = StringField("Ville", validators=[max_length(120)])
    phone = StringField("Téléphone", validators=[max_length(40)])
    email = EmailField("E-mail", validators=[Optional(), max_length(254)])
    website = StringField("Site web", validators=[max_length(255)])
    vat_status = SelectField("TVA", choices=choices(VAT_CHOICES.items()))
    vat_number = StringField("Numéro de TVA intracommunautaire", validators=[max_length(20)])
    qualiopi_number = StringField("Numéro du certificat Qualiopi", validators=[max_length(80)])
    qualiopi_date = DateField("Date du certificat Qualiopi", validators=[Optional()])
    qualiopi_body = StringField("Organisme certificateur", validators=[max_length(120)])
    logo = FileField("Logo (PNG ou JPEG, 2 Mo au plus)")
    signatory_name = StringField("Signataire des documents", validators=[max_length(120)])
    signatory_title = StringField("Qualité du signataire", validators=[max_length(120)])
    quality_contact_name = StringField("Contact qualité et médiation", validators=[max_length(120)])
    quality_contact_title = StringField("Fonction du contact qualité", validators=[max_length(120)])
    quality_contact_email = EmailField("E-mail du contact qualité", validators=[Optional(), max_length(254)])
    quality_contact_phone = StringField("Téléphone du contact qualité", validators=[max_length(40)])
    disability_contact_name = StringField("Référent handicap", validators=[max_length(120)])
    disability_contact_email = EmailField("E-mail du référent handicap", validators=[Optional(), max_length(254)])
    disability_contact_phone = StringField("Téléphone du référent handicap", validators=[max_length(40)])
    accessibility_policy = TextAreaField(
        "Accessibilité aux personnes en situation de handicap (texte par défaut des formations)",
        validators=[max_length(5000)],
    )
    access_delay_policy = TextAreaField(
        "Modalités et délais d'accès (texte par défaut des formations)", validators=[max_length(5000)]
    )
    payment_terms = TextAreaField("Conditions de règlement (conventions, devis)", validators=[max_length(5000)])
    iban = StringField("IBAN du compte qui reçoit les virements", validators=[max_length(50)],
                       render_kw={"autocomplete": "off", "placeholder": "FR76 3000 6000 0112 3456 7890 189"})
    bic = StringField("BIC", validators=[max_length(15)], render_kw={"autocomplete": "off", "placeholder": "AGRIFRPP"})
    cancellation_terms = TextAreaField("Conditions d'annulation et de dédit (conventions)",
                                       validators=[max_length(5000)])
    consumer_mediator = TextAreaField("Médiateur de la consommation (contrats avec les particuliers)",
                                      validators=[max_length(2000)])
    internal_rules = TextAreaField("Règlement intérieur : où le trouver (convocations)", validators=[max_length(2000)])
    remote_assistance = TextAreaField(
        "Assistance technique et pédagogique à distance",
        description="Imprimée sur la convention, le contrat et le programme d'une session qui a des demi-journées à "
                    "distance (article D6313-3-1 du Code du travail) : qui assiste le stagiaire, comment le joindre "
                    "(e-mail, téléphone), quand, et sous quel délai il répond.",
        validators=[max_length(REMOTE_ASSISTANCE_MAX)], render_kw={"rows": 4},
    )
    submit = SubmitField("Enregistrer")
