from __future__ import annotations

from flask_wtf.file import FileField
from wtforms import StringField, SubmitField

from ..core.forms import Form, max_length


class UploadForm(Form):
    file = FileField("Modèle Word (.docx)")
    comment = StringField("Commentaire (ce qui change)", validators=[max_length(2000)])
    submit = SubmitField("Valider et activer")


class ActionForm(Form):
    submit = SubmitField("OK")


class VerifyUploadForm(Form):
    """The public check of a signed PDF (/verification): the file only."""

    file = FileField("Document PDF signé")
    submit = SubmitField("Vérifier le fichier")
