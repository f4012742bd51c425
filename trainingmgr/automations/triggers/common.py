"""What every context says about the organisation: one catalogue and one builder, so that « {{ org.signature }} »
or « {{ org.iban }} » means the same in a convocation, a survey reminder and an invoice reminder."""
from __future__ import annotations

from flask import render_template

from ...core.bank import format_iban
from ...documents.catalogue import Var
from ...organisation.services import get_organisation

ORG_VARIABLES = (
    Var("org.name", "Nom de l'organisme", "Formaction Sud-Ouest"),
    Var("org.email", "E-mail de l'organisme", "contact@formaction.example"),
    Var("org.phone", "Téléphone de l'organisme", "05 61 00 00 00"),
    Var("org.address", "Adresse de l'organisme", "12 rue des Lois, 31000 Toulouse"),
    Var("org.iban", "IBAN de l'organisme (vide s'il n'en a pas)", "FR76 3000 6000 0112 3456 7890 189"),
    Var("org.bic", "BIC de l'organisme", "AGRIFRPP"),
    Var("org.disability_contact", "Référent handicap (nom, e-mail, téléphone), ou « votre conseiller formation »",
        "Anne Roux, handicap@formaction.example, 05 61 00 00 01"),
    Var("org.quality_contact", "Contact qualité et médiation (nom, e-mail, téléphone)",
        "Claire Martin, qualite@formaction.example"),
    Var("org.signature", "Signature des e-mails (contact qualité, organisme, téléphone)",
        "Claire Martin, conseillère formation\nFormaction Sud-Ouest – 05 61 00 00 00"),
)


def _contact_line(name: str, email: str, phone: str, fallback: str) -> str:
    return ", ".join(part for part in (name, email, phone) if part) if name else fallback


def org_variables() -> dict:
    """The ``org`` of every context (ORG_VARIABLES), the signature as the application's other e-mails sign."""
    org = get_organisation()
    return {
        "name": org.name or "", "email": org.email or "", "phone": org.phone or "",
        "address": org.full_address or "", "iban": format_iban(org.iban) if org.iban else "", "bic": org.bic or "",
        "disability_contact": _contact_line(org.disability_contact_name, org.disability_contact_email,
                                            org.disability_contact_phone, "votre conseiller formation"),
        "quality_contact": _contact_line(org.quality_contact_name or "votre conseiller formation",
                                         org.quality_contact_email, org.quality_contact_phone, ""),
        "signature": render_template("mail/_signature.txt", org=org).strip("\n"),
    }
