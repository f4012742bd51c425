"""Checks of French business identifiers with python-stdnum."""
from __future__ import annotations

from stdnum import exceptions as stdnum_exceptions
from stdnum.eu import vat as stdnum_vat
from stdnum.fr import siret as stdnum_siret

from .errors import ValidationError


def clean_siret(value: str | None, field: str = "siret", required: bool = False) -> str | None:
    """Return the compact SIRET (14 digits) or raise a French ValidationError."""
    value = (value or "").strip()
    if not value:
        if required:
            raise ValidationError("Le SIRET est obligatoire.", field=field)
        return None
    try:
        return stdnum_siret.validate(value)
    except stdnum_exceptions.InvalidLength:
        raise ValidationError("Le SIRET doit comporter 14 chiffres.", field=field) from None
    except stdnum_exceptions.InvalidFormat:
        raise ValidationError("Le SIRET ne doit contenir que des chiffres.", field=field) from None
    except stdnum_exceptions.InvalidChecksum:
        raise ValidationError("Ce SIRET n'est pas valide (clé de contrôle incorrecte).", field=field) from None
    except stdnum_exceptions.ValidationError:
        raise ValidationError("Ce SIRET n'est pas valide.", field=field) from None


def format_siret(value: str | None) -> str:
    """732 829 320 00074"""
    if not value:
        return ""
    return stdnum_siret.format(value)


def clean_vat_number(value: str | None, field: str = "vat_number") -> str:
    """Return the compact intra-EU VAT number (FR19812345676), "" when none, or raise a French ValidationError."""
    value = (value or "").strip()
    if not value:
        return ""
    try:
        return stdnum_vat.validate(value)
    except stdnum_exceptions.InvalidChecksum:
        raise ValidationError("Ce numéro de TVA n'est pas valide (clé de contrôle incorrecte).", field=field) from None
    except stdnum_exceptions.ValidationError:
        raise ValidationError("Ce numéro de TVA intracommunautaire n'est pas valide (ex. FR19812345676).",
                              field=field) from None


def clean_nda(value: str | None, field: str = "nda") -> str:
    """The numéro de déclaration d'activité of a training organisation as its 11 digits (two of the region, two of
    the department, five, two: « 76 31 12345 31 »), "" when none, or a French ValidationError."""
    digits = "".join((value or "").split())
    if not digits:
        return ""
    if not digits.isdigit() or len(digits) != 11:
        raise ValidationError("Le numéro de déclaration d'activité compte 11 chiffres (par exemple 76 31 12345 31).",
                              field=field)
    return digits


def format_nda(value: str | None) -> str:
    """76 31 12345 31"""
    if not value or len(value) != 11:
        return value or ""
    return f"{value[:2]} {value[2:4]} {value[4:9]} {value[9:]}"
