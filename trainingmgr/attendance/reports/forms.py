"""The import form of an attendance report: the file, then, for a tool not recognised, which column holds what (the
file comes back with it, in a hidden field, so that it need not be chosen again)."""
from __future__ import annotations

import base64
import binascii

from flask_wtf.file import FileField
from wtforms import HiddenField, SelectField, SubmitField

from ...core.errors import ValidationError
from ...core.forms import Form
from .formats import ROLES


class ReportForm(Form):
    file = FileField("Rapport de présence exporté de l'outil (CSV)")
    content = HiddenField()  # the file, base64, at the mapping step
    filename = HiddenField()
    email = SelectField(ROLES["email"], choices=[], validate_choice=False)
    name = SelectField(ROLES["name"], choices=[], validate_choice=False)
    join = SelectField(ROLES["join"], choices=[], validate_choice=False)
    leave = SelectField(ROLES["leave"], choices=[], validate_choice=False)
    duration = SelectField(ROLES["duration"], choices=[], validate_choice=False)
    submit = SubmitField("Importer le rapport")

    role_names = tuple(ROLES)

    @property
    def is_mapping_step(self) -> bool:
        return bool(self.content.data)

    def role_fields(self):
        return [self[name] for name in self.role_names]

    def offer_columns(self, columns: list[str], data: bytes | None = None, filename: str | None = None) -> None:
        """Turn the form into its mapping step: the file's columns to choose from, the file kept."""
        for field in self.role_fields():
            field.choices = [("", "— aucune —")] + [(column, column) for column in columns]
        if data is not None:
            self.content.data = base64.b64encode(data).decode("ascii")
            self.filename.data = filename or "rapport.csv"

    def upload(self) -> tuple[bytes, str]:
        """The file's bytes and name: the upload, else the file kept by the mapping step."""
        upload = self.file.data
        if upload is not None and getattr(upload, "filename", ""):
            return upload.read(), upload.filename
        if self.content.data:
            try:
                return base64.b64decode(self.content.data, validate=True), (self.filename.data or "rapport.csv")[:255]
            except (binascii.Error, ValueError):
                raise ValidationError("Le fichier transmis est illisible : déposez-le de nouveau.",
                                      field="file") from None
        raise ValidationError("Choisissez le fichier du rapport de présence (CSV).", field="file")

    def mapping(self) -> dict[str, str] | None:
        """{column: role} chosen at the mapping step; None at the first step."""
        if not self.is_mapping_step:
            return None
        mapping: dict[str, str] = {}
        for name, field in zip(self.role_names, self.role_fields()):
            if field.data in mapping:
                raise ValidationError(f"La colonne « {field.data} » est déjà choisie pour « {ROLES[mapping[field.data]]} ».",
                                      field=name)
            if field.data:
                mapping[field.data] = name
        return mapping
