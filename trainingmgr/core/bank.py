"""Checks of bank details with schwifty: the IBAN (checksum, length and format of its country, the national key such
as the French clé RIB, SEPA zone) and the BIC (format, consistent with the IBAN's country)."""
from __future__ import annotations

from schwifty import BIC, IBAN
from schwifty import exceptions as bank_errors

from .errors import ValidationError

IBAN_MESSAGES = (
    (bank_errors.InvalidChecksumDigits, ("Cet IBAN n'est pas valide : sa clé de contrôle (les deux chiffres après le "
                                        "code pays) ne correspond pas au numéro ; vérifiez la saisie.")),
    (bank_errors.InvalidCountryCode, "Cet IBAN ne commence pas par un code pays connu (par exemple FR76…)."),
    (bank_errors.InvalidLength, "Cet IBAN n'a pas la longueur prévue pour son pays (27 caractères pour la France)."),
    (bank_errors.InvalidBBANChecksum, ("Cet IBAN n'est pas valide : la clé du compte (clé RIB en France) est "
                                      "incorrecte ; vérifiez la saisie.")),
)
IBAN_FORMAT = "Cet IBAN ne respecte pas le format des comptes de son pays ; vérifiez la saisie."


def compact(value: str | None) -> str:
    """Without spaces, dashes or dots, in capitals."""
    return "".join(ch for ch in (value or "") if ch not in " \t\u00a0\u202f-.").upper()


def clean_iban(value: str | None, field: str = "iban") -> str:
    """The IBAN in its compact form (FR7630006000011234567890189), "" when empty, or a French ValidationError. Only
    an account of the SEPA zone is accepted: it is paid by SEPA transfer (and its EPC QR code)."""
    text = compact(value)
    if not text:
        return ""
    try:
        iban = IBAN(text, validate_bban=True)
    except bank_errors.SchwiftyException as exc:
        message = next((m for kind, m in IBAN_MESSAGES if isinstance(exc, kind)), IBAN_FORMAT)
        raise ValidationError(message, field=field) from None
    if not iban.in_sepa_zone:
        raise ValidationError(f"Cet IBAN est celui d'un compte hors de la zone SEPA ({iban.country_code}) : les "
                              "virements SEPA et leur QR code ne s'y appliquent pas.", field=field)
    return iban.compact


def format_iban(value: str | None) -> str:
    """FR76 3000 6000 0112 3456 7890 189 (groups of four), "" when none."""
    text = compact(value)
    return " ".join(text[i:i + 4] for i in range(0, len(text), 4))


def clean_bic(value: str | None, iban: str = "", field: str = "bic") -> str:
    """The BIC (8 or 11 characters, capitals), "" when empty, or a French ValidationError; with ``iban``, the bank's
    country must be the account's."""
    text = compact(value)
    if not text:
        return ""
    try:
        bic = BIC(text)
    except bank_errors.InvalidLength:
        raise ValidationError("Le BIC compte 8 ou 11 caractères (par exemple AGRIFRPP ou AGRIFRPPXXX).",
                              field=field) from None
    except bank_errors.SchwiftyException:
        raise ValidationError("Ce BIC n'est pas valide : 4 lettres pour la banque, 2 pour le pays, 2 caractères "
                              "pour la place et éventuellement 3 pour l'agence.", field=field) from None
    if not iban:
        raise ValidationError("Indiquez l'IBAN du compte auquel ce BIC se rapporte.", field=field)
    if bic.country_code != iban[:2]:
        raise ValidationError(f"Ce BIC est celui d'une banque d'un autre pays ({bic.country_code}) que le compte de "
                              f"l'IBAN ({iban[:2]}) : vérifiez l'un et l'autre.", field=field)
    return str(bic.compact)
