"""Forms of the invoice screens. They only parse (CSRF, lengths, numbers in French); the rules (required fields,
SIRET, amounts ≥ 0 with two decimals, unknown payer…) live in billing/invoices/drafts.py, whose messages land beside
the fields."""
from __future__ import annotations

from wtforms import DateField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import Optional

from ...companies.models import OPCOS
from ...core.forms import Form, FrenchDecimalField, choices, max_length
from ...enrolments.models import PUBLIC_FUNDER_CATEGORIES, SELF_EMPLOYED_FUNDS
from ..kinds import PayerKind
from ..models import LINE_UNITS, PAYER_KINDS
from .drafts import MAX_DESCRIPTION, TEXT_LIMITS
from .payers import PUBLIC_PAYERS

# The funder's reference on a draft, by payer kind (Invoice.opco_file_number; invoices.FUNDER_PAYERS).
FILE_LABELS = {PayerKind.OPCO.value: "N° de dossier OPCO",
               PayerKind.SELF_EMPLOYED_FUND.value: "N° de dossier du fonds",
               PayerKind.FRANCE_TRAVAIL.value: "Référence de l'accord France Travail (devis AIF)",
               PayerKind.PUBLIC_FUNDER.value: "Référence de la convention ou du bon de commande"}


def _limited_text_field(label: str, name: str, **kwargs) -> StringField:
    """A text field held to the length its column allows (TEXT_LIMITS)."""
    limit = TEXT_LIMITS[name]
    return StringField(label, validators=[max_length(limit)], render_kw={"maxlength": limit}, **kwargs)


class DraftForm(Form):
    """The buyer and the references of a draft."""

    buyer_name = _limited_text_field("Client facturé", "buyer_name")
    buyer_address = _limited_text_field("Adresse", "buyer_address")
    buyer_postal_code = _limited_text_field("Code postal", "buyer_postal_code")
    buyer_city = _limited_text_field("Ville", "buyer_city")
    buyer_country = StringField("Pays (code à deux lettres)", default="FR", validators=[max_length(2)],
                                render_kw={"maxlength": 2})
    buyer_siret = StringField("SIRET (ou SIREN) du client", validators=[max_length(20)],
                              description="Son SIREN est une mention obligatoire des factures aux professionnels.")
    buyer_vat_number = _limited_text_field("N° de TVA intracommunautaire du client", "buyer_vat_number")
    buyer_email = _limited_text_field("E-mail de facturation", "buyer_email")
    opco_file_number = _limited_text_field("N° de dossier OPCO", "opco_file_number")
    service_code = _limited_text_field("Code service (Chorus Pro)", "service_code")
    engagement_number = _limited_text_field("N° d'engagement (bon de commande)", "engagement_number")
    buyer_reference = _limited_text_field("Référence du client", "buyer_reference")
    service_start = DateField("Début de la prestation", validators=[Optional()])
    service_end = DateField("Fin de la prestation", validators=[Optional()])
    notes = TextAreaField("Observations (imprimées sur la facture)", validators=[max_length(TEXT_LIMITS["notes"])],
                          render_kw={"rows": 3})
    submit = SubmitField("Enregistrer le brouillon")

    def for_payer(self, payer_kind: str) -> DraftForm:
        """Only the fields of this kind of payer, the funder's reference named as that funder names it."""
        if payer_kind in FILE_LABELS:
            self.opco_file_number.label.text = FILE_LABELS[payer_kind]
        else:
            del self.opco_file_number
        if payer_kind not in PUBLIC_PAYERS:
            del self.service_code
            del self.engagement_number
        return self



class LineForm(Form):
    description = TextAreaField("Désignation", validators=[max_length(MAX_DESCRIPTION)], render_kw={"rows": 3})
    quantity = FrenchDecimalField("Quantité", default=1)
    unit = SelectField("Unité", choices=choices(LINE_UNITS.items()), default="C62", validate_choice=False)
    unit_price = FrenchDecimalField("Prix unitaire HT (€)")
    submit = SubmitField("Enregistrer la ligne")


class NewDraftForm(Form):
    """A draft for a payer chosen by hand (e.g. a late-cancellation fee)."""

    payer_kind = SelectField("Payeur", choices=choices(PAYER_KINDS.items(), blank="— choisir —"), default="",
                             validate_choice=False)
    payer_company_id = SelectField("Entreprise, acheteur ou financeur public", validate_choice=False, default="")
    funder_category = SelectField("Catégorie (financeur public)",
                                  choices=choices(PUBLIC_FUNDER_CATEGORIES.items(), blank="—"), default="",
                                  validate_choice=False)
    opco_name = SelectField("OPCO ou fonds des non-salariés",
                            choices=choices(((o, o) for o in OPCOS + SELF_EMPLOYED_FUNDS), blank="—"), default="",
                            validate_choice=False)
    payer_trainee_id = SelectField("Stagiaire (qui règle lui-même)", validate_choice=False, default="",
                                   description="Fonds des non-salariés : le stagiaire qui règle et se fait "
                                               "rembourser ; vide, la facture va au fonds (subrogation).")
    submit = SubmitField("Créer le brouillon")

    def set_choices(self, companies, trainees) -> None:
        self.payer_company_id.choices = choices(((c.id, c.name) for c in companies), blank="—")
        self.payer_trainee_id.choices = choices(((t.id, t.full_name) for t in trainees), blank="—")


class CreditForm(Form):
    amount = FrenchDecimalField("Montant TTC à annuler (€)",
                                description="Laissez vide pour annuler tout ce qui reste de la facture.")
    reason = TextAreaField("Motif de l'avoir", validators=[max_length(2000)], render_kw={"rows": 2})
    submit = SubmitField("Émettre l'avoir")


class ActionForm(Form):
    """A button (propose, issue, delete): only the CSRF token."""

    submit = SubmitField("OK")
