"""The retention policy (RGPD): how long each kind of personal data is kept, from when, what the purge does
once it is past, and why. ``flask --app app gdpr purge`` applies it (services.py); the staff page
/privacy/retention shows it.

Periods are in months; the configuration key RETENTION_MONTHS overrides them per kind, e.g.
``{"survey_text": 24}``. Data is past retention the day after the period has fully elapsed (a session that
ended on 19/11/2026 is purged from 20/11/2031 with 60 months).
"""
from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

from flask import current_app

from ..core.errors import ValidationError


@dataclass(frozen=True)
class Rule:
    kind: str
    label: str  # the data concerned, in French
    months: int  # the default period
    start: str  # from when the period runs
    action: str  # what the purge does
    reason: str  # why that period


POLICY: tuple[Rule, ...] = (
    Rule("trainee", "Identité et coordonnées des stagiaires", 60,
         "après la fin de leur dernière session",
         "Fiche anonymisée : nom « Anonyme », e-mail remplacé par anonyme-<n°>@invalid, civilité, téléphone, "
         "fonction, besoins d'adaptation et accord effacés ; dans ses inscriptions, message de demande, "
         "commentaires de positionnement et d'annulation, messages de l'historique effacés ; courriels reçus, "
         "invitations aux enquêtes, réponses en texte libre, commentaires d'évaluation des acquis et traces de "
         "fusion effacés. Restent l'entreprise, le statut BPF, les inscriptions (statuts, dates, heures, "
         "financements), les notes et les choix : bilan pédagogique et financier, résultats et indicateurs "
         "inchangés.",
         "Contrôles des financeurs (OPCO, DREETS) : pièces justificatives à garder au moins 3 ans après la fin de "
         "l'année du dernier paiement, 6 ans conseillés ; 5 ans couvrent aussi un cycle de certification "
         "Qualiopi (3 ans) et son renouvellement."),
    Rule("prospect", "Demandes de pré-inscription non abouties", 12,
         "après la dernière activité (demande, annulation ou fin de la session visée)",
         "Même anonymisation que ci-dessus, pour une personne dont toutes les inscriptions sont restées des "
         "demandes ou ont été annulées, sans aucun émargement.",
         "Sans formation suivie ni contrat, il n'y a rien à justifier : un an laisse le temps de proposer une "
         "autre session."),
    Rule("attendance", "Émargement : noms, signatures dessinées ou saisies, adresses IP et navigateurs, rapports de "
         "connexion des classes virtuelles", 60,
         "après la fin de la session",
         "Champs personnels effacés de chaque enregistrement ; leurs empreintes SHA-256 restent dans "
         "l'enregistrement, si bien que la chaîne reste vérifiable (flask attendance verify) ; les feuilles "
         "affichent « signature effacée (RGPD) ». Les codes de signature à usage unique de la session sont "
         "supprimés, ainsi que les fichiers des rapports de connexion importés (ils nomment chaque participant) ; "
         "l'empreinte de chaque rapport reste au registre, qui le dit effacé. Présences, heures, minutes et "
         "horaires restent.",
         "La feuille d'émargement est la première pièce demandée lors d'un contrôle : même durée que "
         "l'identité des stagiaires."),
    Rule("survey_text", "Réponses en texte libre des questionnaires (positionnement, enquêtes, évaluations)", 36,
         "après la réponse (envoi, ou dernier enregistrement d'un brouillon)",
         "Texte remplacé par « [réponse effacée (RGPD)] » ; notes, choix et oui/non gardés, si bien que "
         "moyennes, répartitions et nombre de réponses ne changent pas.",
         "Le texte libre peut nommer des personnes ou dire des choses sensibles ; les indicateurs de résultats "
         "(Qualiopi 2 et 30) ne reposent que sur les réponses chiffrées."),
    Rule("quality_request", "Réclamations, difficultés et demandes de médiation : coordonnées et description", 60,
         "après leur clôture",
         "Nom « Anonyme », e-mail, téléphone, organisme et description effacés ; référence, nature, dates, "
         "analyse, réponse, médiation et suites gardées pour le registre (Qualiopi 31 et 32).",
         "Le registre des réclamations sert aux audits de surveillance et de renouvellement."),
    Rule("outbox", "Courriels envoyés : destinataire, contenu et pièces jointes", 12,
         "après l'envoi (ou l'échec définitif)",
         "Destinataire, texte et pièces jointes effacés ; objet, nature (convocation…), dates et inscription "
         "gardés : la preuve qu'une convocation est partie demeure.",
         "Les documents envoyés restent dans l'archive des documents ; le courriel n'est qu'une copie."),
)
RULES = {rule.kind: rule for rule in POLICY}

# Data the purge leaves alone, and why.
KEPT = (
    ("Documents générés (conventions, devis, convocations, contrats, attestations, certificats, feuilles "
     "d'émargement)",
     "Conservés tels quels : ce sont les pièces contractuelles, comptables et justificatives (conventions et devis : "
     "10 ans, article L123-22 du Code de commerce ; certificats de réalisation et feuilles : jusqu'à 6 à 10 ans "
     "selon les financeurs). L'archive est en ajout seul, chaque fichier vérifié par son empreinte SHA-256 ; "
     "leur suppression au-delà se fait à la main, pas par la purge."),
    ("Empreintes de l'émargement", "Gardées avec la chaîne : elles prouvent l'intégrité du registre et ne "
                                   "permettent pas de relire les données effacées."),
    ("Entreprises clientes", "Personnes morales : conservées. Leurs contacts se gèrent depuis la fiche entreprise."),
    ("Formateurs et comptes du personnel", "Hors du champ de cette politique : gérés par l'administrateur."),
)

ERASED_TEXT = "[réponse effacée (RGPD)]"
ANONYMOUS_NAME = "Anonyme"


def months_for(kind: str) -> int:
    """The period of ``kind``, RETENTION_MONTHS overriding the policy's default."""
    overrides = current_app.config.get("RETENTION_MONTHS") or {}
    unknown = sorted(set(overrides) - set(RULES))
    if unknown:
        raise ValidationError(f"RETENTION_MONTHS : nature de données inconnue ({', '.join(unknown)}) ; natures "
                              f"possibles : {', '.join(RULES)}.")
    value = overrides.get(kind, RULES[kind].months)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError(f"RETENTION_MONTHS[{kind!r}] doit être un nombre entier de mois, au moins 1.")
    return value


def months_before(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` months earlier (the last day of the month when it is shorter)."""
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    month += 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def cutoff(kind: str, today: dt.date) -> dt.date:
    """Data of ``kind`` whose period started before this day is past retention."""
    return months_before(today, months_for(kind))


def period_label(months: int) -> str:
    if months % 12 == 0:
        years = months // 12
        return f"{years} an{'s' if years > 1 else ''}"
    return f"{months} mois"


def policy() -> list[tuple[Rule, int]]:
    """Each rule with the period in force."""
    return [(rule, months_for(rule.kind)) for rule in POLICY]
