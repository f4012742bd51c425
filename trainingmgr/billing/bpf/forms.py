"""The BPF figures typed once a year (charges, turnover, distance training, manager): the form only parses; the
rules (amounts ≥ 0, two decimals, the « dont » lines within the total) live in billing.bpf."""
from __future__ import annotations

from wtforms import BooleanField, StringField, SubmitField
from wtforms.validators import Optional

from ...core.forms import Form, FrenchDecimalField, max_length
from .services import MAX_TEXT


class BpfYearForm(Form):
    total_turnover = FrenchDecimalField("Chiffre d'affaires global de l'organisme (€ HT)", validators=[Optional()],
                                        description="Toutes activités confondues : donne la part de la formation "
                                                    "(cadre C).")
    charges_total = FrenchDecimalField("Total des charges liées à l'activité de formation (€)",
                                       validators=[Optional()])
    charges_trainer_salaries = FrenchDecimalField("dont salaires des formateurs (€)", validators=[Optional()])
    charges_purchased_training = FrenchDecimalField(
        "dont achats de prestations de formation et honoraires de formation (€)", validators=[Optional()])
    distance_training = BooleanField("Des formations ont été dispensées en tout ou partie à distance (cadre B)")
    manager_name = StringField("Nom et prénom du dirigeant (cadre H)", validators=[max_length(MAX_TEXT)],
                               description="Laissez vide pour reprendre le signataire de l'organisme.",
                               render_kw={"maxlength": MAX_TEXT})
    manager_title = StringField("Qualité (gérant, président…)", validators=[max_length(MAX_TEXT)],
                                render_kw={"maxlength": MAX_TEXT})
    submit = SubmitField("Enregistrer")
