"""The organisation's default surveys (Qualiopi indicators 4, 11 and 30): the company's needs analysis before the
session, hot satisfaction at the end of the session, cold evaluation at J+2 months (the seed brochures' "évaluation
à froid J+2 mois"), the client company's satisfaction at J+7, and the trainer's end-of-session report."""
from __future__ import annotations

from sqlalchemy import select

from ..catalogue.models import Course
from ..evaluations.models import QUESTIONNAIRE_KINDS, Questionnaire
from ..evaluations.questionnaires.services import create_questionnaire
from ..extensions import db

# No help on satisfaction notes: the caption under the buttons says what 1 and 5 mean (evaluations.forms.SCALE_ENDS).
SCALE_HELP = ""

DEFAULT_SURVEYS = [
    {"kind": "needs", "title": "Analyse des besoins de l'entreprise", "anonymous": False,
     "intro": "Vos collaborateurs vont suivre une de nos formations. Quelques questions pour l'adapter à votre contexte "
              "et à vos attentes : vos réponses sont lues par votre conseiller formation et par le formateur.",
     "questions": [
         {"kind": "text", "text": "Pourquoi cette formation ? Le contexte de la demande (projet, nouvel outil, "
                                  "obligation, difficulté rencontrée…)"},
         {"kind": "text", "text": "Qu'attendez-vous de vos collaborateurs à l'issue de la formation ?"},
         {"kind": "multiple", "text": "Sur quels points souhaitez-vous que la formation insiste ?",
          "choices": ["La réglementation et ses évolutions", "La pratique sur des cas concrets",
                      "Les outils et plateformes", "L'organisation interne et les procédures"], "required": False},
         {"kind": "single", "text": "Comment évaluez-vous le niveau actuel de vos collaborateurs sur le sujet ?",
          "choices": ["Débutant", "Intermédiaire", "Confirmé", "Hétérogène selon les personnes"]},
         {"kind": "yes_no", "text": "Des collaborateurs ont-ils besoin d'une adaptation (handicap, horaires, "
                                    "accessibilité) ?"},
         {"kind": "text", "text": "Contraintes, documents ou exemples à prendre en compte", "required": False},
     ]},
    {"kind": "hot", "title": "Votre avis sur la formation", "anonymous": False,
     "intro": "Quelques minutes pour nous dire comment s'est passée la formation. Merci !",
     "questions": [
         {"kind": "scale", "text": "Organisation (convocation, accueil, salle, horaires)", "help": SCALE_HELP},
         {"kind": "scale", "text": "Contenu de la formation", "help": SCALE_HELP},
         {"kind": "scale", "text": "Le formateur (clarté, disponibilité, maîtrise du sujet)", "help": SCALE_HELP},
         {"kind": "scale", "text": "Rythme de la formation", "help": SCALE_HELP},
         {"kind": "scale", "text": "Supports et matériel pédagogiques", "help": SCALE_HELP},
         {"kind": "scale", "text": "Appréciation globale", "help": SCALE_HELP},
         {"kind": "single", "text": "Recommanderiez-vous cette formation à un collègue ? (0 : pas du tout, 10 : "
                                    "certainement)", "choices": [str(n) for n in range(11)]},
         {"kind": "text", "text": "Vos commentaires et suggestions", "required": False},
     ]},
    {"kind": "cold", "title": "Deux mois après la formation", "anonymous": False,
     "intro": "Votre formation date de deux mois : qu'en avez-vous fait ? Vos réponses nous aident à mesurer "
              "l'utilité de nos formations.",
     "questions": [
         {"kind": "scale", "text": "Avez-vous pu mettre en pratique ce que vous avez appris ?",
          "help": "1 : pas du tout · 5 : tous les jours."},
         {"kind": "text", "text": "Qu'avez-vous appliqué dans votre travail ?", "required": False},
         {"kind": "scale", "text": "Quel impact la formation a-t-elle eu sur votre travail ?",
          "help": "1 : aucun · 5 : très important."},
         {"kind": "yes_no", "text": "Avez-vous de nouveaux besoins de formation sur ce sujet ou un autre ?"},
         {"kind": "text", "text": "Lesquels ?", "required": False},
     ]},
    {"kind": "client", "title": "Satisfaction de l'entreprise", "anonymous": False,
     "intro": "Votre collaborateur a suivi une de nos formations : votre regard d'employeur nous est précieux.",
     "questions": [
         {"kind": "scale", "text": "Qualité des échanges avec l'organisme (devis, convention, suivi)",
          "help": SCALE_HELP},
         {"kind": "scale", "text": "La formation a-t-elle répondu au besoin exprimé ?", "help": SCALE_HELP},
         {"kind": "scale", "text": "Appréciation globale", "help": SCALE_HELP},
         {"kind": "yes_no", "text": "Feriez-vous de nouveau appel à nous ?"},
         {"kind": "text", "text": "Vos remarques", "required": False},
     ]},
    {"kind": "funder", "title": "Retour du financeur", "anonymous": False,
     "intro": "Vous avez financé cette formation : votre retour nous aide à améliorer nos dossiers et nos actions.",
     "questions": [
         {"kind": "scale", "text": "Qualité et complétude du dossier transmis (convention, programme, devis)",
          "help": SCALE_HELP},
         {"kind": "scale", "text": "Délai et qualité des justificatifs après la formation (émargement, certificat)",
          "help": SCALE_HELP},
         {"kind": "text", "text": "Vos remarques", "required": False},
     ]},
    {"kind": "trainer_report", "title": "Bilan du formateur", "anonymous": False,
     "intro": "Votre bilan de la session, pour le suivi qualité.",
     "questions": [
         {"kind": "scale", "text": "Dynamique et niveau du groupe", "help": "1 : difficile · 5 : excellent."},
         {"kind": "text", "text": "Incidents ou difficultés rencontrés", "required": False},
         {"kind": "text", "text": "Améliorations proposées (contenu, organisation, supports)", "required": False},
     ]},
]


DUME_QUIZ = {
    "kind": "acquis", "title": "Quiz de fin de formation – DUME et Chorus Pro", "anonymous": False,
    "intro": "Cinq minutes pour vérifier ce que vous avez retenu. Ce n'est pas un examen : vos résultats aident votre "
             "formateur à mesurer l'atteinte des objectifs.",
    "questions": [
        {"kind": "single", "text": "Le DUME (document unique de marché européen) remplace…",
         "choices": [{"text": "les formulaires DC1 et DC2", "correct": True, "points": 1},
                     {"text": "l'extrait Kbis", "correct": False}, {"text": "l'acte d'engagement", "correct": False}]},
        {"kind": "multiple", "text": "Quelles factures se déposent sur Chorus Pro ?",
         "choices": [{"text": "Celles adressées à l'État", "correct": True, "points": 1},
                     {"text": "Celles adressées aux collectivités territoriales", "correct": True, "points": 1},
                     {"text": "Celles adressées à un particulier", "correct": False}]},
        {"kind": "single", "text": "Un sous-traitant payé directement dépose sa facture…",
         "choices": [{"text": "sur Chorus Pro, pour validation par le titulaire", "correct": True, "points": 1},
                     {"text": "par courrier au comptable public", "correct": False}]},
    ],
}


def load_default_surveys() -> list[str]:
    done = []
    dume = db.session.scalar(select(Course).where(Course.slug == "marches-publics-dume-et-chorus-pro"))
    if dume is not None and db.session.scalar(select(Questionnaire.id).where(
            Questionnaire.kind == "acquis", Questionnaire.course_id == dume.id).limit(1)) is None:
        create_questionnaire({**DUME_QUIZ, "course": dume})
        done.append(f"Enquête « {DUME_QUIZ['title']} » créée (évaluation des acquis).")
    for spec in DEFAULT_SURVEYS:
        exists = db.session.scalar(select(Questionnaire.id).where(Questionnaire.kind == spec["kind"],
                                                                 Questionnaire.course_id.is_(None)).limit(1))
        if exists is None:
            create_questionnaire(spec)
            done.append(f"Enquête « {spec['title']} » créée ({QUESTIONNAIRE_KINDS[spec['kind']].lower()}).")
    return done
