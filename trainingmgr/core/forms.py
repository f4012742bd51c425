"""Form base classes: French WTForms messages, French number input, service errors shown beside fields."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask_wtf import FlaskForm
from wtforms import DecimalField, IntegerField
from wtforms import Form as WTFormsBaseForm
from wtforms.fields.choices import SelectChoice
from wtforms.validators import ValidationError as WTFormsValidationError
from wtforms.widgets import TextInput

from .errors import DomainError
from .validation import french_decimal

MAX_TEXT = 20000


class Form(FlaskForm):
    class Meta:
        locales = ["fr_FR", "fr"]

    def data_for_service(self) -> dict:
        """Field data without the CSRF token and the submit buttons."""
        return {name: field.data for name, field in self._fields.items()
                if name != "csrf_token" and field.type not in ("SubmitField",)}

    def apply_errors(self, error: DomainError, keep_existing: bool = False) -> None:
        """Show a service's errors beside their fields and the rest at the top of the form.

        With ``keep_existing``, a field that already shows a parsing error keeps only that one."""
        self.form_errors = list(getattr(self, "form_errors", []) or [])
        for name, messages in error.fields.items():
            field = self._find_field(name)
            if field is None:
                self.form_errors.extend(m for m in messages if m not in self.form_errors)
            elif not (keep_existing and field.errors):
                field.errors = list(field.errors or []) + [m for m in messages if m not in (field.errors or [])]
        if not error.fields and error.message not in self.form_errors:
            self.form_errors.append(error.message)
        # WTForms computes a FieldList's errors once, in validate(): count the rows' new errors too.
        for field in self._fields.values():
            if field.type == "FieldList":
                rows = [entry.errors for entry in field.entries]
                if any(rows):
                    field.errors = rows
        self.error_status = error.status_code

    def _find_field(self, name: str):
        if name in self._fields:
            return self._fields[name]
        # FieldList entries are named "programme-0-title".
        for field in self._fields.values():
            if field.type == "FieldList":
                for entry in field.entries:
                    if name == entry.name:
                        return entry
                    sub = getattr(entry, "form", None)
                    if sub is not None:
                        for subfield in sub:
                            if subfield.name == name:
                                return subfield
        return None


class FrenchDecimalField(DecimalField):
    """Accepts "1 234,56", "600", "600.00"; shows values with a comma.

    A text input, not ``<input type="number">``: browsers drop a value shown as "600,00" from a number
    input and refuse "1 234,56"."""

    widget = TextInput()

    def __init__(self, *args, places: int = 2, **kwargs):
        kwargs.setdefault("render_kw", {}).setdefault("inputmode", "decimal")
        super().__init__(*args, places=places, **kwargs)

    def process_formdata(self, valuelist):
        _parse_number(self, valuelist, _french_decimal, "Saisissez un nombre, par exemple 600 ou 1 234,56.")

    def _value(self):
        if self.raw_data is not None and self.raw_data:
            return self.raw_data[0]
        if self.data is None:
            return ""
        text = f"{self.data:.{self.places}f}" if self.places is not None else str(self.data)
        return text.replace(".", ",")


class FrenchIntegerField(IntegerField):
    def process_formdata(self, valuelist):
        _parse_number(self, valuelist, int, "Saisissez un nombre entier.")


def _french_decimal(raw: str) -> Decimal:
    number = french_decimal(raw)
    if not number.is_finite():
        raise ValueError
    return number


def _parse_number(field, valuelist, parse, message: str) -> None:
    """Empty input is None (the validators decide if that is allowed); unreadable input is ``message``."""
    if not valuelist:
        return
    raw = (valuelist[0] or "").strip()
    field.data = None
    if raw:
        try:
            field.data = parse(raw)
        except (InvalidOperation, ValueError):
            raise ValueError(message) from None


def max_length(limit: int):
    def _check(form, field):
        if field.data and isinstance(field.data, str) and len(field.data) > limit:
            raise WTFormsValidationError(f"Ce champ ne doit pas dépasser {limit} caractères.")

    return _check


class SubForm(WTFormsBaseForm):
    """A form nested in a FieldList: no CSRF token of its own, French messages."""

    class Meta:
        locales = ["fr_FR", "fr"]


def choices(pairs, blank: str | None = None) -> list[SelectChoice]:
    """Select options from (value, label) pairs, optionally after a blank first option."""
    options = [SelectChoice("", blank)] if blank is not None else []
    return options + [SelectChoice(str(value), label) for value, label in pairs]
