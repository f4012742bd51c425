"""The two seed courses, field by field as written in ``shared/seeds/`` (our reference cases), and the demo's client
companies."""
from __future__ import annotations

from decimal import Decimal

CHORUS_PRO = {
    "slug": "chorus-pro",
    "title": "Chorus Pro",
    "tagline": "",
    "duration_hours": Decimal("7"),
    "duration_days": Decimal("1"),
    "daily_pattern": "09:00-12:30 13:30-17:00",
    "min_trainees": 1,
    "max_trainees": 7,
    "audience": (
        "Architecte, Secrétaire technique, Assistant(e) d'architecte, Assistant(e) technique, Comptable, "
        "Chef de projet, Toutes personnes en charge de déposer et de suivre le traitement des factures sur le "
        "portail CHORUS."
    ),
    "prerequisites_none": False,
    "prerequisites": (
        "Maîtriser les principales règles en matière de finances publiques et de comptabilité publique."
    ),
    "objectives": [
        "Intégrer les nouveautés liées au portail Chorus Pro et comprendre les enjeux des factures dématérialisées.",
        "Déposer ses factures, optimiser son organisation et organiser la gestion de la facturation.",
        "Sécuriser ses pratiques sur la plateforme de facturation CHORUS PRO.",
        "Comprendre les rejets.",
        "Gérer son compte utilisateur.",
    ],
    "teaching_methods": (
        "Alternance entre les phases théoriques et pratiques.\n"
        "Inscription sur la plateforme CHORUS .\n"
        "Saisie et gestion des factures co-traitants, factures sous traitants et factures travaux."
    ),
    "assessment_methods": [
        "Evaluation des acquis durant toute la session.",
        "Evaluation à froid (j+2 mois après la formation)",
    ],
    "material_resources": (
        "Vidéo projecteur fourni par le client - Supports pédagogiques numérisés remis en fin de formation.\n"
        "Formateur équipé de son propre PC et/ou Mac."
    ),
    "trainer_competences": (
        "Formateur expert Chorus depuis 2017.\n"
        "Expert en réglementation des marchés publics, AMO pour les entreprises répondant aux marchés public.\n"
        "Expertise en réponse dématérialisée avec certificat de signature électronique.\n"
        "Formateur certifié\n"
        "Maîtrise de droit du commerce international\n"
        "Maîtrise de science politique\n"
        "D.E.S.S gestion et Management des P.M.E"
    ),
    "audience_format": "inter_intra",
    "delivery_mode": "presentiel",
    "location_text": "",
    "price_per_trainee": None,
    "intra_group_price": None,
    "labels": [
        {
            "name": "Label Branche Architecture",
            "description": (
                "Ce label est décerné par la Branche Architecture. Les conditions de prise en charge de cette "
                "action de formation labellisée sont décidées par la CPNEFP des entreprises d'architecture et "
                "mise en œuvre par Actalians (OPCA PL)."
            ),
        }
    ],
    "funding_notes": "",
    "programme": [
        {"day": 1, "half_day": "morning", "title": "Cas pratiques", "items": [
            "Création du compte et paramétrages sur le portail CHORUS.",
            "Inscription et enregistrement des structures.",
        ]},
        {"day": 1, "half_day": "morning", "title": "Contexte général de la dématérialisation des factures", "items": [
            "Chorus 2009 à Chorus 2020",
            "Echéancier de raccordement à Chorus Pro.",
            "Les différents modes d'accès à Chorus Pro : Mode Portail - Mode Flux (API – EDI).",
        ]},
        {"day": 1, "half_day": "morning", "title": "Les différents modes de transmission", "items": [
            "Mode « Portail »",
            "Mode « Service »",
            "Mode « EDI »",
        ]},
        {"day": 1, "half_day": "morning", "title": "Le portail", "items": [
            "Accès au portail, créer et gérer sa structure.",
            "Création de compte utilisateur.",
            "Paramétrage.",
            "Créer une ou plusieurs fiches structures.",
            "Activité du gestionnaire.",
        ]},
        {"day": 1, "half_day": "afternoon", "title": "Cas pratiques", "items": [
            "Dépôts et traitement et suivi des factures simples.",
            "Dépôts et traitement des factures co-traitants.",
            "Dépôts et traitement et factures sous-traitants.",
            "Dépôts et traitement des factures travaux.",
            "Compréhension et gestion des rejets.",
        ]},
        {"day": 1, "half_day": "afternoon", "title": "Le portail", "items": [
            "Activité du gestionnaire.",
        ]},
        {"day": 1, "half_day": "afternoon", "title": "Les structures publiques", "items": [
            "Obligations et identification.",
        ]},
        {"day": 1, "half_day": "afternoon", "title": "Le circuit de la facture", "items": [
            "La saisie d'une facture simple.",
            "La dépôt d'une facture.",
            "Le cheminement spécifique des factures travaux.",
            "Le dépôt à partir d'un système tiers.",
            "Le cadre de facturation.",
            "Le statut du dépôt d'une facture.",
        ]},
        {"day": 1, "half_day": "afternoon", "title": "Le paiement de la facture", "items": [
            "Le délai global de paiement.",
            "Le suivi du traitement de la facture.",
        ]},
        {"day": 1, "half_day": "afternoon", "title": "Zoom sur la nature des prestations", "items": [
            "La facture hors marché de travaux.",
            "La facture des marchés de travaux.",
        ]},
        {"day": 1, "half_day": "afternoon", "title": "Incidents techniques", "items": [
            "Saisir une sollicitation.",
        ]},
    ],
}

DUME_CHORUS_PRO = {
    "slug": "marches-publics-dume-et-chorus-pro",
    "title": "Marchés publics : DUME et Chorus Pro",
    "tagline": "Vous permettre de déposer vos factures sur Chorus Pro et d’en suivre le traitement.",
    "duration_hours": Decimal("8"),
    "duration_days": None,
    "daily_pattern": "08:30-12:30 13:30-17:30",
    "min_trainees": 1,
    "max_trainees": 8,
    "audience": "",
    "prerequisites_none": True,
    "prerequisites": "",
    "objectives": [
        "Utiliser toutes les fonctionnalités de l’utilitaire DUME",
        "Se connecter sur CHORUS PRO et gérer leur compte",
        "Déposer une facture",
        "Suivre le parcours de la facture dans Chorus Pro",
        "Valider les factures des partenaires (co-traitants ou sous-traitants)",
    ],
    "teaching_methods": "active, différenciée et expérientielle",
    "assessment_methods": ["évaluation continue"],
    "material_resources": "",
    "trainer_competences": "",
    "audience_format": "inter",
    "delivery_mode": "presentiel",
    "location_text": "Toulouse et sa périphérie",
    "price_per_trainee": Decimal("600.00"),
    "intra_group_price": None,
    "labels": [],
    "funding_notes": "",
    "programme": [
        {"title": "Introduction", "items": ["Comprendre les besoins et les attentes des stagiaires"]},
        {"title": "1/ Candidater avec un DUME", "items": [
            "Point sur la réglementation 2019-2020",
            "Créer un DUME",
            "Répondre à un DUME",
            "Réutiliser, fusionner",
        ]},
        {"title": "2/ Plateforme Chorus Pro, découverte et inscription", "items": [
            "Prise en main de la plateforme",
            "Créer un compte sur la plateforme",
            "Rattacher ses structures",
            "Gérer son compte gestionnaire",
            "Organiser la gestion des droits",
        ]},
        {"title": "3/ Déposer et valider une facture standard au format pdf", "items": [
            "Les différentes étapes du dépôt",
            "La validation de la facture pour transmission définitive",
            "Visualiser le parcours de la facture",
            "Gérer les factures des sous-traitants et co-traitants",
            "Repérer les étapes essentielles de la facturation",
        ]},
        {"title": "4/ Déposer et valider les factures de travaux au format pdf", "items": [
            "Les différents types de factures de travaux",
            "Les différents types de dépôt : par l’entreprise, par la MOE, par la MOA",
            "Les différentes validations de la facture pour transmission définitive",
            "Gérer les factures des sous-traitants et co-traitants",
            "Visualiser le parcours de la facture",
        ]},
    ],
}

SEED_COURSES = (CHORUS_PRO, DUME_CHORUS_PRO)

COMPANIES = (
    {"name": "Atelier d'architecture Garonne", "siret": "44306184100021", "naf_code": "7111Z",
     "headcount_band": "0-10", "opco": "OPCO EP", "address": "8 quai de la Daurade", "postal_code": "31000",
     "city": "Toulouse"},
    {"name": "Bureau d'études Occitanie Structures", "siret": "52151247500018", "naf_code": "7112B",
     "headcount_band": "11-49", "opco": "OPCO EP", "address": "25 avenue de Lombez", "postal_code": "31300",
     "city": "Toulouse"},
    # A liberal architect's own practice: no OPCO, his training is funded by the FIF PL.
    {"name": "Julien Carrère Architecte", "siret": "79245813500029", "naf_code": "7111Z",
     "headcount_band": "0-10", "opco": "", "address": "12 rue des Filatiers", "postal_code": "31000",
     "city": "Toulouse"},
)
