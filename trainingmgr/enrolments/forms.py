from __future__ import annotations

from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    HiddenField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Optional

from ..companies.models import OPCOS
from ..companies.services import company_label
from ..core.forms import Form, FrenchDecimalField, choices, max_length
from ..trainees.models import BPF_STATUSES, CIVILITIES
from .funders import FUNDERS
from .models import (
    BILLING_BASES,
    FUNDING_KINDS,
    OPCO_STATUSES,
    POSITIONING_DECISIONS,
    PUBLIC_FUNDER_CATEGORIES,
    SELF_EMPLOYED_FUNDS,
)


class EnrolForm(Form):
    """Enrol an existing trainee, or a new one typed in (same e-mail, same person)."""

    trainee_search = StringField(
        "Stagiaire déjà connu", validators=[max_length(200)],
        description="Son nom, son e-mail ou son entreprise ; laissez vide pour un nouveau stagiaire (ci-dessous).",
        render_kw={"list": "trainee-suggestions", "autocomplete": "off", "data-trainee-search": ""})
    trainee_id = RadioField("Stagiaires trouvés", validate_choice=False, choices=[])
    civility = SelectField("Civilité", choices=choices(CIVILITIES.items()), default="")
    first_name = StringField("Prénom", validators=[max_length(80)])
    last_name = StringField("Nom", validators=[max_length(80)])
    email = EmailField("E-mail", validators=[max_length(254)])
    phone = StringField("Téléphone", validators=[max_length(40)])
    job_title = StringField("Fonction", validators=[max_length(120)])
    bpf_status = SelectField("Statut", choices=choices(BPF_STATUSES.items()), default="employee")
    company_search = StringField(
        "Entreprise (employeur)", validators=[max_length(200)],
        description="Son nom, son SIRET ou sa ville ; laissez vide pour l'entreprise du stagiaire.",
        render_kw={"list": "company-suggestions", "autocomplete": "off", "data-company-search": ""})
    company_id = RadioField("Entreprises trouvées", validate_choice=False, choices=[])
    submit = SubmitField("Inscrire")

    def _find_field(self, name: str):
        # The service names the fields of a new trainee "trainee.email" (as the API sends them): here they are
        # this form's own fields, so that each message shows beside its field.
        if name.startswith("trainee."):
            name = name[len("trainee."):]
        elif name in ("trainee", "trainee_id"):  # already enrolled, or unknown: beside the trainee search
            name = "trainee_search"
        elif name == "company_id":  # unknown: beside the company search
            name = "company_search"
        return super()._find_field(name)

    def offer(self, trainees) -> None:
        """The trainees the search found, to choose from (each « Nom Prénom <e-mail> — entreprise »)."""
        self.trainee_id.choices = [(str(t.id), f"{t.last_name} {t.first_name} <{t.email}>"
                                    + (f" — {t.company.name}" if t.company else "")) for t in trainees]

    def offer_companies(self, companies) -> None:
        """The companies the search found, to choose from (each « Nom (SIRET) — ville »)."""
        self.company_id.choices = [(str(c.id), company_label(c) + (f" — {c.city}" if c.city else ""))
                                   for c in companies]

    def enrol_data(self) -> dict:
        data: dict = {}
        if self.trainee_id.data:
            data["trainee_id"] = self.trainee_id.data
        elif (self.trainee_search.data or "").strip():
            data["trainee_search"] = self.trainee_search.data
        else:
            data["trainee"] = {key: getattr(self, key).data for key in (
                "civility", "first_name", "last_name", "email", "phone", "job_title", "bpf_status")}
            if self.company_id.data:
                data["trainee"]["company_id"] = self.company_id.data
        if self.company_id.data:  # one of the companies offered
            data["company_id"] = self.company_id.data
        elif (self.company_search.data or "").strip():
            data["company_search"] = self.company_search.data
        return data


class AcceptForm(Form):
    company_name = StringField("Entreprise", validators=[max_length(200)])
    company_siret = StringField("SIRET", validators=[max_length(20)])
    submit = SubmitField("Valider la demande")


class DecisionForm(Form):
    decision = SelectField("Décision", choices=choices(POSITIONING_DECISIONS.items()))
    comment = TextAreaField("Commentaire (adaptation prévue, réorientation proposée)", validators=[max_length(5000)])
    submit = SubmitField("Enregistrer la décision")


class ContractSignatureForm(Form):
    signed_on = DateField("Contrat signé par le stagiaire le", validators=[Optional()])
    submit = SubmitField("Enregistrer la signature")


class CancelForm(Form):
    reason = TextAreaField("Motif de l'annulation", validators=[DataRequired(), max_length(5000)])
    submit = SubmitField("Annuler l'inscription")


class OutcomeForm(Form):
    status = HiddenField(validators=[DataRequired()])
    submit = SubmitField("Valider")


# The fields of one kind that fill a column shared by several kinds: each funder's name, reference and subrogation
# have their own field (and label) on the form, and the service receives them under the column's name.
KIND_FIELDS = {
    "self_employed_fund": {"fund_name": "opco_name", "fund_file_number": "opco_file_number",
                           "fund_subrogation": "subrogation"},
    "france_travail": {"aif_reference": "opco_file_number", "ft_identifier": "opco_member_number"},
    "public_funder": {"public_funder_name": "opco_name", "convention_reference": "opco_file_number"},
}


class FundingForm(Form):
    """A funding line. Each funder has its fieldset (templates/enrolments/funding.html): the page shows the chosen
    kind's only with JavaScript, all of them without; the service reads only the chosen kind's fields."""

    kind = SelectField("Financeur", choices=choices(FUNDING_KINDS.items()))
    amount = FrenchDecimalField("Montant pris en charge (€ TTC)", validators=[Optional()])
    opco_name = SelectField("OPCO", choices=choices(((o, o) for o in OPCOS), blank="—"), default="")
    opco_file_number = StringField(FUNDERS["opco"].reference_label, validators=[max_length(60)])
    opco_member_number = StringField("N° d'adhérent", validators=[max_length(60)])
    subrogation = BooleanField("Subrogation de paiement (l'OPCO paie l'organisme)")
    # Checked by the service (an unknown basis, a basis per hour without its rate: French messages beside them).
    billing_basis = SelectField("Facturation à l'OPCO", choices=choices(BILLING_BASES.items()), default="flat",
                                validate_choice=False)
    hourly_rate = FrenchDecimalField("Taux horaire (€ HT par heure suivie)", validators=[Optional()])
    # A fund of the self-employed (checked by the service, which names the funds).
    fund_name = SelectField("Fonds", choices=choices(((f, f) for f in SELF_EMPLOYED_FUNDS), blank="—"), default="",
                            validate_choice=False)
    fund_file_number = StringField(FUNDERS["self_employed_fund"].reference_label, validators=[max_length(60)])
    fund_subrogation = BooleanField("Le fonds paie l'organisme (subrogation) ; sinon, le stagiaire paie et se fait "
                                    "rembourser")
    # France Travail (AIF)
    aif_reference = StringField(FUNDERS["france_travail"].reference_label, validators=[max_length(60)])
    ft_identifier = StringField("Identifiant France Travail du stagiaire", validators=[max_length(60)])
    # A region or another public funder
    funder_category = SelectField("Catégorie (ligne du BPF)", choices=choices(PUBLIC_FUNDER_CATEGORIES.items(),
                                                                            blank="—"),
                                  default="", validate_choice=False)
    public_funder_name = StringField("Nom du financeur (ex. Région Occitanie)", validators=[max_length(60)])
    convention_reference = StringField(FUNDERS["public_funder"].reference_label, validators=[max_length(60)])
    # The funder's decision (every kind of AGREEMENT_KINDS)
    opco_status = SelectField("État de la demande", choices=choices(OPCO_STATUSES.items(), blank="—"), default="")
    opco_contact_email = EmailField("E-mail du conseiller du financeur (retour du financeur)",
                                    validators=[max_length(254)])
    requested_amount = FrenchDecimalField("Montant demandé", validators=[Optional()])
    agreed_amount = FrenchDecimalField("Montant accordé", validators=[Optional()])
    agreed_hours = FrenchDecimalField("Heures prises en charge", validators=[Optional()])
    requested_on = DateField("Demandée le", validators=[Optional()])
    agreed_on = DateField("Accordée le", validators=[Optional()])
    refused_on = DateField("Refusée le", validators=[Optional()])
    # Public buyer or public funder (Chorus Pro)
    buyer_siret = StringField("SIRET de l'acheteur ou du financeur public", validators=[max_length(20)])
    service_code = StringField("Code service Chorus Pro", validators=[max_length(100)])
    engagement_number = StringField("N° d'engagement / bon de commande", validators=[max_length(100)])
    notes = TextAreaField("Notes", validators=[max_length(5000)])
    submit = SubmitField("Enregistrer le financement")

    @classmethod
    def of_line(cls, line) -> FundingForm:
        """The form showing a saved line, each shared column in its kind's field."""
        form = cls(obj=line)
        aliases = KIND_FIELDS.get(line.kind, {})
        for name, column in aliases.items():
            getattr(form, name).data = getattr(line, column)
        if aliases:  # the OPCO's fields stay empty
            form.opco_name.data, form.opco_file_number.data, form.subrogation.data = "", "", False
            form.opco_member_number.data = ""
        return form

    def _aliases(self) -> dict[str, str]:
        return KIND_FIELDS.get(self.kind.data or "", {})

    def data_for_service(self) -> dict:
        data = super().data_for_service()
        for name, column in self._aliases().items():
            data[column] = data[name]
        for aliases in KIND_FIELDS.values():
            for name in aliases:
                data.pop(name, None)
        return data

    def _find_field(self, name: str):
        # The service's "opco_file_number" of a France Travail line is this form's "aif_reference"…
        for alias, column in self._aliases().items():
            if column == name:
                return self._fields[alias]
        return super()._find_field(name)


class PublicRequestForm(Form):
    civility = SelectField("Civilité", choices=choices(CIVILITIES.items()), default="")
    first_name = StringField("Prénom", validators=[DataRequired(), max_length(80)])
    last_name = StringField("Nom", validators=[DataRequired(), max_length(80)])
    email = EmailField("E-mail", validators=[DataRequired(), max_length(254)])
    phone = StringField("Téléphone", validators=[max_length(40)])
    job_title = StringField("Fonction", validators=[max_length(120)])
    company_name = StringField("Entreprise (laissez vide si vous financez vous-même)", validators=[max_length(200)])
    company_siret = StringField("SIRET de l'entreprise", validators=[max_length(20)])
    message = TextAreaField("Message (besoins, questions, adaptation nécessaire)", validators=[max_length(5000)])
    consent = BooleanField("J'accepte que mes données soient utilisées pour traiter ma demande et organiser ma "
                           "formation.")
    # Honeypot: hidden from people, filled by robots.
    website = StringField("Site web (ne pas remplir)")
    submit = SubmitField("Envoyer ma demande")
