"""Demo positioning questionnaires (Qualiopi indicators 4 and 8), one per seed course.

Chorus Pro states a prerequisite: the trainee confirms it, then answers four short scored questions on
public finance and e-invoicing basics. Both courses ask for a self-assessment per objective, the trainee's
expectations and any adaptation need."""
from __future__ import annotations

from sqlalchemy import select

from ..catalogue.models import Course
from ..evaluations.models import Questionnaire
from ..evaluations.questionnaires.services import create_questionnaire
from ..extensions import db
from .seeds import CHORUS_PRO, DUME_CHORUS_PRO

SELF_ASSESSMENT_HELP = "1 : je ne sais pas le faire · 3 : je le fais avec de l'aide · 5 : je le maîtrise."


def _self_assessment(objectives: list[str]) -> list[dict]:
    return [{"kind": "scale", "text": f"Où en êtes-vous aujourd'hui pour : « {objective.rstrip('.')} » ?",
             "help": SELF_ASSESSMENT_HELP, "required": True} for objective in objectives]


def _closing_questions() -> list[dict]:
    return [
        {"kind": "text", "role": "expectations", "required": True,
         "text": "Qu'attendez-vous de cette formation ?",
         "help": "Votre situation, les difficultés rencontrées, les points que vous souhaitez travailler."},
        {"kind": "text", "role": "accessibility", "required": False,
         "text": "Avez-vous besoin d'une adaptation pour suivre la formation (situation de handicap, accessibilité, "
                 "rythme, supports) ?",
         "help": "Facultatif. Ces informations sont transmises uniquement à votre conseiller formation et à votre "
                 "formateur ; notre référente handicap vous contactera si besoin."},
    ]


CHORUS_QUESTIONNAIRE = {
    "kind": "positioning",
    "title": "Questionnaire de positionnement – Chorus Pro",
    "intro": ("Ce questionnaire nous aide à vérifier le prérequis de la formation et à l'adapter à votre niveau. "
              "Il n'y a pas de piège : répondez sans chercher la réponse ailleurs. Comptez 5 minutes."),
    "questions": [
        {"kind": "yes_no", "role": "prerequisite", "required": True,
         "text": f"Cette formation demande le prérequis suivant : « {CHORUS_PRO['prerequisites'].rstrip('.')} ». "
                 "Confirmez-vous le maîtriser ?",
         "help": "Si vous répondez non, votre conseiller formation vous contactera pour trouver la solution "
                 "adaptée."},
        {"kind": "yes_no", "required": True, "text": "Avez-vous déjà déposé une facture sur Chorus Pro ?"},
        {"kind": "multiple", "required": True,
         "text": "Quelles factures se déposent sur Chorus Pro ?",
         "choices": [
             {"text": "Les factures adressées à un particulier", "correct": False},
             {"text": "Les factures adressées à l'État et à ses établissements publics", "correct": True,
              "points": 1},
             {"text": "Les factures entre deux entreprises privées", "correct": False},
             {"text": "Les factures adressées aux collectivités territoriales (communes, départements, régions)",
              "correct": True, "points": 1},
         ]},
        {"kind": "single", "required": True,
         "text": "Que permet d'identifier un numéro SIRET ?",
         "choices": [
             {"text": "L'entreprise dans son ensemble, tous établissements confondus (9 chiffres)",
              "correct": False},
             {"text": "Un établissement d'une entreprise ou d'une entité publique (14 chiffres)", "correct": True,
              "points": 1},
             {"text": "Le numéro de TVA intracommunautaire", "correct": False},
             {"text": "Un compte bancaire", "correct": False},
         ]},
        {"kind": "single", "required": True,
         "text": "Que signifie la « constatation du service fait » ?",
         "choices": [
             {"text": "Le comptable public a payé la facture", "correct": False},
             {"text": "Le bon de commande a été envoyé au fournisseur", "correct": False},
             {"text": "L'acheteur public vérifie que la prestation a été réalisée ou la livraison effectuée, "
                      "avant le paiement", "correct": True, "points": 1},
             {"text": "Le marché public a été signé", "correct": False},
         ]},
        {"kind": "single", "required": True,
         "text": "Quel est le délai global de paiement maximal d'une facture adressée à l'État ?",
         "choices": [
             {"text": "30 jours", "correct": True, "points": 1},
             {"text": "45 jours", "correct": False},
             {"text": "60 jours", "correct": False},
             {"text": "90 jours", "correct": False},
         ]},
        *_self_assessment(CHORUS_PRO["objectives"]),
        *_closing_questions(),
    ],
}

DUME_QUESTIONNAIRE = {
    "kind": "positioning",
    "title": "Questionnaire de positionnement – Marchés publics : DUME et Chorus Pro",
    "intro": ("Cette formation ne demande aucun prérequis. Ce questionnaire nous aide à l'adapter à votre "
              "niveau et à vos attentes. Comptez 5 minutes."),
    "questions": [
        {"kind": "yes_no", "required": True,
         "text": "Avez-vous déjà répondu à un marché public avec un DUME (document unique de marché européen) ?"},
        {"kind": "yes_no", "required": True, "text": "Avez-vous déjà déposé une facture sur Chorus Pro ?"},
        *_self_assessment(DUME_CHORUS_PRO["objectives"]),
        *_closing_questions(),
    ],
}

DEMO_QUESTIONNAIRES = ((CHORUS_PRO["slug"], CHORUS_QUESTIONNAIRE), (DUME_CHORUS_PRO["slug"], DUME_QUESTIONNAIRE))


def load_positioning_questionnaires() -> list[str]:
    """Create the active positioning questionnaire of each seed course that has none (a course missing from
    the database is skipped). Loading twice creates nothing. Returns what was done, in French; flushes
    without committing (the demo loader commits)."""
    done: list[str] = []
    for slug, spec in DEMO_QUESTIONNAIRES:
        course = db.session.scalar(select(Course).where(Course.slug == slug))
        if course is None:
            continue
        existing = db.session.scalar(select(Questionnaire.id).where(
            Questionnaire.kind == "positioning", Questionnaire.course_id == course.id,
            Questionnaire.active.is_(True)).limit(1))
        if existing is not None:
            continue
        questionnaire = create_questionnaire({**spec, "course": course})
        done.append(f"Questionnaire « {questionnaire.title} » créé ({len(questionnaire.questions)} questions).")
    return done
