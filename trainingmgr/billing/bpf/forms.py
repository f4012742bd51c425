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
    # B is computed from the half-days' modality (billing.bpf.compute_bpf); the box only adds distance training they
    # do not show (e.g. delivered outside the sessions recorded here).
    distance_training = BooleanField("Déclarer aussi des formations à distance que les demi-journées ne montrent pas "
                                     "(cadre B)",
                                     description="Le cadre B est calculé d'après les demi-journées des sessions de "
                                                 "l'année (classe virtuelle ou activité asynchrone) : cochez "
                                                 "seulement pour des formations à distance réalisées hors des "
                                                 "sessions enregistrées ici.")
    manager_name = StringField("Nom et prénom du dirigeant (cadre H)", validators=[max_length(MAX_TEXT)],
                               description="Laissez vide pour reprendre le signataire de l'organisme.",
                               render_kw={"maxlength": MAX_TEXT})
    manager_title = StringField("Qualité (gérant, président…)", validators=[max_length(MAX_TEXT)],
                                render_kw={"maxlength": MAX_TEXT})
    submit = SubmitField("Enregistrer")
