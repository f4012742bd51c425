"""How the audit page shows an entry: each field under its French label and each value as the other pages show
it (statuses by their label, 25/11/2026, 1 234,56 €, Paris times, Oui/Non, a company or a person by name).

The log stores raw values (``tracking.plain``: codes, ISO dates in UTC, ids): this module turns them into text when
the page is read, so that a label fixed later applies to the whole history. ``FIELDS`` holds one mapping per
audited table, in the order the page lists the fields; tests/audit/test_audit_french.py fails when an audited
column has no French label here. Names behind foreign keys are read in one query per table for the whole page.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from sqlalchemy import select

from ..accounts.models import User
from ..attendance.models import PRESENCE, RECORD_KINDS
from ..billing.invoices.amounts import OPERATION_CATEGORIES
from ..billing.models import INVOICE_KINDS, INVOICE_STATUSES, LINE_UNITS, PAYER_KINDS, PAYMENT_METHODS, Invoice
from ..catalogue.models import DELIVERY_MODES, CourseVersion
from ..companies.models import Company
from ..core.formatting import date_fr, datetime_fr, hours_fr, money_fr, number_fr
from ..core.timeutil import UTC
from ..documents.catalogue import DOC_TYPES
from ..enrolments.models import (
    BILLING_BASES,
    ENROLMENT_STATUS_LABELS,
    FUNDING_KINDS,
    OPCO_STATUSES,
    POSITIONING_DECISIONS,
    PUBLIC_FUNDER_CATEGORIES,
)
from ..extensions import db
from ..quality.models import (
    ACTION_SOURCES,
    ACTION_STATUSES,
    REQUEST_CHANNELS,
    REQUEST_KINDS,
    REQUEST_STATUSES,
    REQUESTER_ROLES,
    QualityRequest,
)
from ..resources.models import Location, Trainer
from ..sessions.models import SESSION_FORMATS, SESSION_STATUS_LABELS, SLOT_MODALITIES
from ..trainees.models import Trainee
from .models import HIDDEN

# Value formats (besides a dict of labels, and ("fk", table) for a foreign key).
TEXT, MONEY, NUMBER, HOURS, PERCENT, DATE, DATETIME, TIME, BOOL, HASH = (
    "text", "money", "number", "hours", "percent", "date", "datetime", "time", "bool", "hash")
HASH_SHOWN = 10  # characters of a fingerprint shown in the list; the whole one on demand

# Which table's fields an entry of each object type holds; children folded into a parent's entry are
# recognised by the first word of their prefix ("créneau du 25/11/2026 · date", "ligne 2 · quantity").
OBJECT_TABLES = {
    "session": "training_session", "enrolment": "enrolment", "funding_line": "funding_line",
    "attendance": "attendance_record", "document": "generated_document", "invoice": "invoice",
    "payment": "payment", "quality_request": "quality_request", "improvement_action": "improvement_action",
}
CHILD_TABLES = {"créneau": "slot", "ligne": "invoice_line"}
CHILD_SEPARATOR = " · "

# decision: enrolments keep their origin as a code with no label in the model; the page says it this way.
ENROLMENT_SOURCES = {"advisor": "Saisie par le conseiller", "public": "Demande en ligne", "api": "API"}


def _fk(table: str) -> tuple[str, str]:
    return ("fk", table)


def _session_fields() -> dict[str, dict[str, tuple[str, object]]]:
    """Sessions and their slots."""
    return {
        "training_session": {
            "status": ("Statut", SESSION_STATUS_LABELS), "course_id": ("Formation", _fk("course")),
            "course_version_id": ("Version du programme", _fk("course_version")),
            "format": ("Format", SESSION_FORMATS), "delivery_mode": ("Modalité", DELIVERY_MODES),
            "location_id": ("Lieu", _fk("location")), "client_company_id": ("Entreprise cliente (intra)",
                                                                          _fk("company")),
            "trainers": ("Formateurs", TEXT), "capacity": ("Capacité (places)", NUMBER),
            "min_trainees": ("Minimum de stagiaires", NUMBER), "price_per_trainee": ("Prix par stagiaire HT", MONEY),
            "intra_price": ("Prix intra du groupe HT", MONEY), "cancel_reason": ("Motif de l'annulation", TEXT),
            "cancelled_at": ("Annulée le", DATETIME), "notes": ("Notes internes", TEXT),
        },
        "slot": {
            "date": ("Date", DATE), "start_time": ("Début", TIME), "end_time": ("Fin", TIME),
            "location_id": ("Lieu", _fk("location")), "trainer_id": ("Formateur", _fk("trainer")),
            "session_id": ("Session", _fk("training_session")),
            "modality": ("Modalité", SLOT_MODALITIES), "meeting_url": ("Lien de réunion", TEXT),
            "activity": ("Activité à distance", TEXT), "quiz_id": ("Quiz de l'activité", _fk("questionnaire")),
        },
    }


def _enrolment_fields() -> dict[str, dict[str, tuple[str, object]]]:
    """Enrolments and their funding lines."""
    return {
        "enrolment": {
            "status": ("Statut", ENROLMENT_STATUS_LABELS), "session_id": ("Session", _fk("training_session")),
            "trainee_id": ("Stagiaire", _fk("trainee")), "company_id": ("Entreprise", _fk("company")),
            "waitlist_position": ("Rang en liste d'attente", NUMBER), "source": ("Origine", ENROLMENT_SOURCES),
            "price_excl_vat": ("Prix HT", MONEY), "vat_rate": ("Taux de TVA", PERCENT),
            "requested_company_name": ("Entreprise indiquée dans la demande", TEXT),
            "requested_company_siret": ("SIRET indiqué dans la demande", TEXT),
            "request_message": ("Message de la demande", TEXT),
            "prerequisite_confirmed_at": ("Prérequis validés le", DATETIME),
            "positioning_decision": ("Décision de positionnement", POSITIONING_DECISIONS),
            "positioning_comment": ("Commentaire du positionnement", TEXT),
            "positioning_decided_at": ("Positionnement décidé le", DATETIME),
            "positioning_decided_by_id": ("Positionnement décidé par", _fk("user_account")),
            "convocation_sent_at": ("Convocation envoyée le", DATETIME),
            "contract_signed_on": ("Contrat signé le", DATE), "hours_attended": ("Heures suivies", HOURS),
            "confirmed_at": ("Confirmée le", DATETIME), "cancelled_at": ("Annulée le", DATETIME),
            "cancelled_by_id": ("Annulée par", _fk("user_account")), "cancel_reason": ("Motif de l'annulation", TEXT),
        },
        "funding_line": {
            "enrolment_id": ("Inscription", _fk("enrolment")), "kind": ("Financeur", FUNDING_KINDS),
            "amount": ("Montant pris en charge TTC", MONEY), "payer_company_id": ("Entreprise qui paie",
                                                                                 _fk("company")),
            "opco_name": ("OPCO ou fonds", TEXT), "opco_file_number": ("N° de dossier", TEXT),
            "opco_member_number": ("N° d'adhérent", TEXT),
            "opco_contact_email": ("E-mail du conseiller du financeur", TEXT),
            "requested_amount": ("Montant demandé", MONEY), "agreed_amount": ("Montant accordé", MONEY),
            "subrogation": ("Subrogation de paiement", BOOL), "billing_basis": ("Facturation au financeur",
                                                                               BILLING_BASES),
            "hourly_rate": ("Taux horaire HT", MONEY), "opco_status": ("État de la demande", OPCO_STATUSES),
            "requested_on": ("Demandée le", DATE), "agreed_on": ("Accordée le", DATE),
            "refused_on": ("Refusée le", DATE), "agreed_hours": ("Heures prises en charge", HOURS),
            "funder_category": ("Catégorie (ligne du BPF)", PUBLIC_FUNDER_CATEGORIES),
            "buyer_siret": ("SIRET de l'acheteur ou du financeur public", TEXT),
            "service_code": ("Code service Chorus Pro", TEXT),
            "engagement_number": ("N° d'engagement / bon de commande", TEXT), "notes": ("Notes", TEXT),
        },
    }


def _attendance_fields() -> dict[str, dict[str, tuple[str, object]]]:
    """The attendance register's records."""
    return {
        "attendance_record": {
            "kind": ("Nature", RECORD_KINDS), "session_id": ("Session", _fk("training_session")),
            "slot_id": ("Créneau", _fk("slot")), "enrolment_id": ("Inscription", _fk("enrolment")),
            "trainer_id": ("Formateur", _fk("trainer")), "author_id": ("Saisi par", _fk("user_account")),
            "signer_name": ("Nom du stagiaire", TEXT), "presence": ("Présence", PRESENCE),
            "arrived_at": ("Arrivée", TIME), "left_at": ("Départ", TIME), "reason": ("Motif", TEXT),
            "minutes": ("Minutes (connexion ou temps déclaré)", NUMBER),
            "file_sha256": ("Empreinte SHA-256 du rapport de connexion", TEXT),
        },
    }


def _document_fields() -> dict[str, dict[str, tuple[str, object]]]:
    """Generated documents."""
    doc_types = {code: doc_type.label for code, doc_type in DOC_TYPES.items()}

    return {
        "generated_document": {
            "doc_type": ("Type de document", doc_types), "version": ("Version", NUMBER),
            "number": ("Numéro", TEXT), "session_id": ("Session", _fk("training_session")),
            "enrolment_id": ("Inscription", _fk("enrolment")), "company_id": ("Entreprise", _fk("company")),
            "trainer_id": ("Formateur", _fk("trainer")), "template_id": ("Modèle", _fk("document_template")),
            "template_label": ("Modèle utilisé", TEXT), "template_sha256": ("Empreinte du modèle", HASH),
            "docx_sha256": ("Empreinte du fichier Word", HASH), "pdf_sha256": ("Empreinte du PDF", HASH),
            "verify_code": ("Code de vérification", TEXT), "reason": ("Motif de la nouvelle version", TEXT),
            "author_id": ("Généré par", _fk("user_account")),
        },
    }


def _billing_fields() -> dict[str, dict[str, tuple[str, object]]]:
    """Invoices, their lines and payments."""
    return {
        "invoice": {
            "kind": ("Nature", INVOICE_KINDS), "status": ("Statut", INVOICE_STATUSES), "number": ("Numéro", TEXT),
            "year": ("Année de numérotation", TEXT), "sequence": ("Rang dans l'année", NUMBER),
            "session_id": ("Session", _fk("training_session")), "credited_invoice_id": ("Facture annulée par l'avoir",
                                                                                      _fk("invoice")),
            "reason": ("Motif de l'avoir", TEXT), "payer_kind": ("Payeur", PAYER_KINDS),
            "payer_company_id": ("Entreprise, acheteur ou financeur", _fk("company")),
            "payer_trainee_id": ("Stagiaire qui règle", _fk("trainee")), "buyer_name": ("Client", TEXT),
            "buyer_address": ("Adresse du client", TEXT), "buyer_postal_code": ("Code postal du client", TEXT),
            "buyer_city": ("Ville du client", TEXT), "buyer_country": ("Pays du client", TEXT),
            "buyer_siret": ("SIRET du client", TEXT), "buyer_vat_number": ("N° de TVA du client", TEXT),
            "buyer_email": ("E-mail de facturation", TEXT), "opco_name": ("OPCO ou fonds", TEXT),
            "opco_file_number": ("N° de dossier", TEXT), "beneficiary_company_id": ("Entreprise bénéficiaire",
                                                                                   _fk("company")),
            "funder_category": ("Catégorie (financeur public)", PUBLIC_FUNDER_CATEGORIES),
            "service_code": ("Code service Chorus Pro", TEXT),
            "engagement_number": ("N° d'engagement / bon de commande", TEXT),
            "buyer_reference": ("Référence du client", TEXT), "issue_date": ("Date d'émission", DATE),
            "due_date": ("Échéance", DATE), "service_start": ("Début de la prestation", DATE),
            "service_end": ("Fin de la prestation", DATE), "payment_terms": ("Conditions de paiement", TEXT),
            "operation_category": ("Nature de l'opération", OPERATION_CATEGORIES),
            "vat_exemption": ("Mention d'exonération de TVA", TEXT), "notes": ("Observations", TEXT),
            "total_excl_vat": ("Total HT", MONEY), "total_vat": ("TVA", MONEY), "total_incl_vat": ("Total TTC", MONEY),
            "docx_file_id": ("Fichier Word", _fk("stored_file")), "pdf_file_id": ("PDF Factur-X", _fk("stored_file")),
            "xml_file_id": ("XML Factur-X", _fk("stored_file")),
            "facturx_xml_sha256": ("Empreinte du XML Factur-X", HASH), "reminder_count": ("Relances envoyées", NUMBER),
            "last_reminder_at": ("Dernière relance le", DATETIME), "created_by_id": ("Créée par", _fk("user_account")),
            "issued_at": ("Émise le", DATETIME), "issued_by_id": ("Émise par", _fk("user_account")),
        },
        "invoice_line": {
            "invoice_id": ("Facture", _fk("invoice")), "position": ("Rang", NUMBER),
            "enrolment_id": ("Inscription", _fk("enrolment")), "funding_line_id": ("Ligne de financement",
                                                                                 _fk("funding_line")),
            "description": ("Désignation", TEXT), "quantity": ("Quantité", NUMBER), "unit": ("Unité", LINE_UNITS),
            "unit_price_excl_vat": ("Prix unitaire HT", MONEY), "vat_rate": ("Taux de TVA", PERCENT),
            "total_excl_vat": ("Total HT", MONEY), "vat_amount": ("TVA", MONEY), "hours": ("Heures", HOURS),
        },
        "payment": {
            "invoice_id": ("Facture", _fk("invoice")), "paid_on": ("Payé le", DATE), "amount": ("Montant", MONEY),
            "method": ("Mode de paiement", PAYMENT_METHODS), "reference": ("Référence", TEXT),
            "created_by_id": ("Saisi par", _fk("user_account")), "cancelled_at": ("Annulé le", DATETIME),
            "cancelled_by_id": ("Annulé par", _fk("user_account")), "cancel_reason": ("Motif de l'annulation", TEXT),
        },
    }


def _quality_fields() -> dict[str, dict[str, tuple[str, object]]]:
    """Complaints and improvement actions."""
    return {
        "quality_request": {
            "reference": ("Référence", TEXT), "kind": ("Nature", REQUEST_KINDS), "channel": ("Canal", REQUEST_CHANNELS),
            "requester_role": ("Demandeur", REQUESTER_ROLES), "requester_name": ("Nom du demandeur", TEXT),
            "requester_email": ("E-mail du demandeur", TEXT), "requester_phone": ("Téléphone du demandeur", TEXT),
            "organisation_name": ("Organisme ou entreprise", TEXT), "session_id": ("Session", _fk("training_session")),
            "enrolment_id": ("Inscription", _fk("enrolment")), "trainee_id": ("Stagiaire", _fk("trainee")),
            "subject": ("Objet", TEXT), "description": ("Description", TEXT), "consent_at": ("Consentement le",
                                                                                         DATETIME),
            "status": ("Statut", REQUEST_STATUSES), "received_at": ("Reçue le", DATETIME),
            "acknowledge_due": ("Accusé de réception attendu le", DATE), "answer_due": ("Réponse attendue le", DATE),
            "acknowledged_at": ("Accusé de réception le", DATETIME),
            "analysis_started_at": ("Analyse commencée le", DATETIME), "analysis": ("Analyse", TEXT),
            "answered_at": ("Réponse le", DATETIME), "answer": ("Réponse", TEXT),
            "escalated_at": ("Transmise au médiateur le", DATETIME), "mediator_name": ("Médiateur", TEXT),
            "mediation_outcome": ("Issue de la médiation", TEXT), "closed_at": ("Clôturée le", DATETIME),
            "closing_note": ("Note de clôture", TEXT), "created_by_id": ("Enregistrée par", _fk("user_account")),
            "anonymised_at": ("Anonymisée le", DATETIME),
        },
        "improvement_action": {
            "title": ("Intitulé", TEXT), "status": ("Statut", ACTION_STATUSES), "source": ("Origine", ACTION_SOURCES),
            "request_id": ("Réclamation", _fk("quality_request")), "survey_alert_id": ("Alerte d'enquête",
                                                                                     _fk("survey_alert")),
            "session_id": ("Session", _fk("training_session")), "analysis": ("Analyse (cause constatée)", TEXT),
            "description": ("Mesure décidée", TEXT), "owner_id": ("Responsable", _fk("user_account")),
            "due_date": ("Échéance", DATE), "effect": ("Effet observé", TEXT), "done_at": ("Réalisée le", DATETIME),
            "created_by_id": ("Créée par", _fk("user_account")),
        },
    }


# One builder per package whose tables are audited, in the page's order of tables.
_TABLE_BUILDERS = (_session_fields, _enrolment_fields, _attendance_fields, _document_fields, _billing_fields,
                   _quality_fields)


def _fields() -> dict[str, dict[str, tuple[str, object]]]:
    """{table: {column: (French label, format)}}; built on first use (the labels live in each package)."""
    tables: dict[str, dict[str, tuple[str, object]]] = {}
    for build in _TABLE_BUILDERS:
        tables.update(build())
    return tables


_FIELDS: dict | None = None


def fields() -> dict[str, dict[str, tuple[str, object]]]:
    global _FIELDS
    if _FIELDS is None:
        _FIELDS = _fields()
    return _FIELDS


def humanise(name: str) -> str:
    """The fallback label of a field without one: « cancel_reason » → « Cancel reason »."""
    name = name.removesuffix("_id")
    return name.replace("_", " ").capitalize() or name


def field_label(table: str, name: str) -> str:
    """The French label of a column of an audited table (a humanised name when it has none)."""
    return fields().get(table, {}).get(name, (humanise(name), TEXT))[0]


def field_names(table: str, names) -> str:
    """« Capacité (places), Notes internes »: the changed fields of a summary, in the page's order."""
    order = list(fields().get(table, {}))
    ranked = sorted(names, key=lambda n: (order.index(n) if n in order else len(order), n))
    return ", ".join(field_label(table, name) for name in ranked)


# --------------------------------------------------------------------------- names behind foreign keys


def _name_queries():
    def person(model):
        return (select(model.id, model.first_name, model.last_name), lambda r: f"{r[1]} {r[2]}".strip())

    return {
        "user_account": (select(User.id, User.name, User.email), lambda r: r[1] or r[2]),
        "company": (select(Company.id, Company.name), lambda r: r[1]),
        "location": (select(Location.id, Location.name), lambda r: r[1]),
        "trainee": person(Trainee),
        "trainer": person(Trainer),
        "course_version": (select(CourseVersion.id, CourseVersion.title), lambda r: r[1]),
        "invoice": (select(Invoice.id, Invoice.number), lambda r: r[1] or f"brouillon n° {r[0]}"),
        "quality_request": (select(QualityRequest.id, QualityRequest.reference), lambda r: r[1] or f"n° {r[0]}"),
    }


def load_names(wanted: dict[str, set[int]]) -> dict[tuple[str, int], str]:
    """{(table, id): name} for the ids of each table a page shows: one query per table, whatever the count."""
    names: dict[tuple[str, int], str] = {}
    queries = _name_queries()
    for table, ids in wanted.items():
        if table not in queries or not ids:
            continue
        query, name_of = queries[table]
        key = query.selected_columns[0]
        for row in db.session.execute(query.where(key.in_(sorted(ids)))):
            names[(table, row[0])] = name_of(row)
    return names


# --------------------------------------------------------------------------- values


@dataclass(frozen=True)
class Shown:
    """One value as the page shows it; ``full`` is a whole fingerprint, shown on demand."""

    text: str
    full: str = ""


@dataclass(frozen=True)
class Change:
    label: str
    before: Shown
    after: Shown


EMPTY = Shown("—")


def _as_id(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit() and len(value) <= 12:
        return int(value)
    return None


def _decimal(value) -> Decimal:
    return Decimal(str(value))


def _datetime(value) -> str:
    moment = dt.datetime.fromisoformat(str(value))
    if moment.tzinfo is None:  # stored in UTC
        moment = moment.replace(tzinfo=UTC)
    return datetime_fr(moment)


def show_value(fmt, value, names: dict[tuple[str, int], str] | None = None) -> Shown:
    """``value`` as stored by ``tracking.plain`` → its text on the page, in format ``fmt``."""
    if value is None or value == "" or value == []:
        return EMPTY
    if isinstance(value, list):
        return Shown(", ".join(str(v) for v in value))
    if value == HIDDEN:
        return Shown(HIDDEN)
    try:
        if isinstance(fmt, dict):
            return Shown(str(fmt.get(value, value)))
        if isinstance(fmt, tuple):  # ("fk", table)
            target = _as_id(value)
            name = (names or {}).get((fmt[1], target)) if target is not None else None
            return Shown(name or f"n° {value}")
        if fmt == BOOL:
            return Shown("Oui" if value in (True, "true", 1) else "Non")
        if fmt == MONEY:
            return Shown(money_fr(_decimal(value)))
        if fmt == NUMBER:
            return Shown(number_fr(_decimal(value)))
        if fmt == HOURS:
            return Shown(hours_fr(_decimal(value)))
        if fmt == PERCENT:
            return Shown(f"{number_fr(_decimal(value))} %")
        if fmt == DATE:
            return Shown(date_fr(dt.date.fromisoformat(str(value)[:10])))
        if fmt == DATETIME:
            return Shown(_datetime(value))
        if fmt == TIME:
            return Shown(dt.time.fromisoformat(str(value)).strftime("%H:%M"))
        if fmt == HASH:
            text = str(value)
            return Shown(f"{text[:HASH_SHOWN]}…", full=text) if len(text) > HASH_SHOWN else Shown(text)
    except (ValueError, TypeError, InvalidOperation):
        pass
    return Shown(str(value))


# --------------------------------------------------------------------------- entries

_ISO_DAY = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")


def _split(table: str, key: str) -> tuple[str, str, str]:
    """(table of the field, field name, prefix shown before its label) of a key of ``changes``."""
    if CHILD_SEPARATOR in key:
        prefix, name = key.rsplit(CHILD_SEPARATOR, 1)
        child = CHILD_TABLES.get(prefix.split(" ", 1)[0])
        if child is not None:
            # entries written before the French prefixes said « créneau 2026-11-25 »
            prefix = _ISO_DAY.sub(lambda m: f"du {m[3]}/{m[2]}/{m[1]}", prefix)
            return child, name, prefix[:1].upper() + prefix[1:] + CHILD_SEPARATOR
    return table, key, ""


def _format(table: str, name: str):
    return fields().get(table, {}).get(name, (None, TEXT))[1]


@dataclass
class EntryView:
    """An entry of the log and its changes as the page shows them."""

    entry: object
    changes: list[Change]

    def __getattr__(self, name):  # the entry's own columns (at, actor_label, summary…)
        return getattr(self.entry, name)


def present(entries) -> list[EntryView]:
    """The page's entries with French labels and values; the names behind their foreign keys in one query
    per table."""
    parsed = []
    wanted: dict[str, set[int]] = {}
    for entry in entries:
        table = OBJECT_TABLES.get(entry.object_type, "")
        rows = []
        for key, values in (entry.changes or {}).items():
            field_table, name, prefix = _split(table, key)
            fmt = _format(field_table, name)
            if isinstance(fmt, tuple):
                for value in values:
                    if (target := _as_id(value)) is not None:
                        wanted.setdefault(fmt[1], set()).add(target)
            order = list(fields().get(field_table, {}))
            rank = (prefix, order.index(name) if name in order else len(order), name)
            rows.append((rank, prefix + field_label(field_table, name), fmt, values))
        parsed.append((entry, sorted(rows, key=lambda row: row[0])))
    names = load_names(wanted)
    views = []
    for entry, rows in parsed:
        changes = []
        for _, label, fmt, values in rows:
            before, after = (list(values) + [None, None])[:2] if isinstance(values, (list, tuple)) else (None, values)
            changes.append(Change(label, show_value(fmt, before, names), show_value(fmt, after, names)))
        views.append(EntryView(entry, changes))
    return views
