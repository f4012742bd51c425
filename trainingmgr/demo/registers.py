"""The demo's quality registers (quality/registers), kept through their services so that their rules hold:

- the watch log: four entries of the year, one per domain, about our two courses (the Qualiopi reference texts and
  the ministry's certificat de réalisation model; the DUME and Chorus Pro in public procurement; short assessments
  in class; the electronic invoicing reform), the technological one leading to an improvement action, done;
- the needs analysis held by interview with Bureau d'études Occitanie Structures before the upcoming DUME session;
- the disability partner network: Agefiph Occitanie and Cap emploi 31, with their contacts;
- an adaptation for Hugo Lefèvre in the DUME session held last week, requested, decided, carried out and checked
  at the session's end: the Qualiopi board shows no « à documenter hors logiciel » note for indicators 4 and 23–26
  and no adaptation left unchecked.

Each part is loaded once (skipped when its register already holds the entry). Every day is relative to ``today``,
never after it (a register records what happened).
Decision: the registers come with the paperwork (``load_demo(paperwork=False)`` leaves them out), so that the tests
built on the bare demo count register entries from none."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from ..accounts.models import User
from ..companies.models import Company
from ..enrolments.models import Enrolment
from ..extensions import db
from ..quality.actions.services import update_action
from ..quality.registers import services as registers
from ..quality.registers.models import Adaptation, DisabilityPartner, NeedsAnalysis, WatchEntry
from ..sessions.models import TrainingSession
from ..trainees.models import Trainee
from .attendance import PAST_TRAINEES
from .seeds import COMPANIES

# (days before today, entry); the technological one leads to the improvement action below.
WATCH = (
    (190, {"domain": "legal",
           "source": "Ministère du Travail, travail-emploi.gouv.fr : guide de lecture du Référentiel national qualité "
                     "et modèle de certificat de réalisation",
           "summary": "Relecture du guide de lecture du référentiel Qualiopi (décret n° 2019-564 du 6 juin 2019) et "
                      "du modèle de certificat de réalisation publié par le ministère.",
           "analysis": "Nos certificats de réalisation reprennent les mentions du modèle (nature de l'action au sens "
                       "de l'article L. 6313-1 du code du travail, durée réalisée, période) : rien à changer. À "
                       "relire à chaque mise à jour du modèle, avant l'audit de surveillance."}),
    (120, {"domain": "professional",
           "source": "Matinale « Répondre aux marchés publics » de la CCI Toulouse Haute-Garonne",
           "summary": "Les acheteurs publics d'Occitanie acceptent le DUME électronique sur leurs profils "
                      "d'acheteur ; les petites entreprises peinent encore à déposer leurs factures sur Chorus Pro "
                      "(rejets pour numéro d'engagement ou code service manquant).",
           "analysis": "Conforte le contenu de la formation « Marchés publics : DUME et Chorus Pro » ; le formateur "
                       "ajoute au cas pratique une facture rejetée pour code service manquant."}),
    (75, {"domain": "teaching",
          "source": "Webinaire Centre Inffo : évaluer les acquis en formation courte",
          "summary": "Quiz courts en début et en fin de demi-journée pour mesurer la progression des stagiaires dans "
                     "les formations d'une journée.",
          "analysis": "Déjà en place pour la formation DUME (quiz de fin de session) ; le formateur teste un quiz "
                      "d'ouverture dans la session Chorus Pro."}),
    (45, {"domain": "technological",
          "source": "impots.gouv.fr : facturation électronique entre entreprises (loi de finances pour 2024, "
                    "article 91)",
          "summary": "Facturation électronique obligatoire : réception pour toutes les entreprises à partir du 1er "
                     "septembre 2026, émission pour les PME à partir du 1er septembre 2027, par une plateforme "
                     "agréée ; Chorus Pro reste le portail des factures aux acheteurs publics.",
          "analysis": "Nous émettons déjà nos factures au format Factur-X ; il nous faut choisir une plateforme "
                      "agréée pour recevoir nos factures fournisseurs, et la formation Chorus Pro doit situer le "
                      "portail public dans la réforme."}),
)
ACTION_DONE = {
    "description": "Choisir la plateforme agréée de réception, l'indiquer aux fournisseurs et ajouter à la formation "
                   "Chorus Pro une partie « Chorus Pro et la réforme de la facturation électronique ».",
    "effect": "Plateforme agréée retenue et communiquée aux fournisseurs ; support de la formation Chorus Pro mis à "
              "jour et présenté lors de la dernière session.",
}
NEEDS = {
    "days_before": 28, "channel": "interview", "contact": "Marc Vidal, directeur",
    "needs": "Les chargés d'affaires répondent seuls aux consultations des collectivités : deux dossiers écartés "
             "cette année pour un DUME incomplet ; les factures d'honoraires déposées sur Chorus Pro sont rejetées "
             "faute de numéro d'engagement.",
    "outcome": "Inscription de Sarah Benali à la session inter « Marchés publics : DUME et Chorus Pro » ; le "
               "formateur prend une consultation de maîtrise d'œuvre et une facture d'honoraires comme cas pratiques.",
}
NEEDS_COMPANY_SIRET = COMPANIES[1]["siret"]  # Bureau d'études Occitanie Structures
PARTNERS = (
    {"name": "Agefiph Occitanie", "kind": "agefiph", "contact_name": "Nathalie Rouquette, chargée d'études",
     "email": "occitanie@agefiph.example", "phone": "05 61 00 40 40",
     "notes": "Ressource Handicap Formation (RHF) : appui à l'analyse du besoin et aux adaptations pédagogiques, "
              "aides à la compensation du handicap en formation."},
    {"name": "Cap emploi 31", "kind": "cap_emploi", "contact_name": "Karim Benhamou, conseiller maintien dans "
                                                                    "l'emploi",
     "email": "contact@capemploi31.example.fr", "phone": "05 61 00 50 50",
     "notes": "Accompagne les salariés et demandeurs d'emploi bénéficiaires de l'obligation d'emploi (BOETH) : "
              "aménagement du poste et de la formation."},
)
ADAPTED_TRAINEE = PAST_TRAINEES[1]  # Hugo Lefèvre, in the DUME session held last week
# (step, days from the session's first day, text); the request 12 days before it.
ADAPTATION_REQUEST = ("Malentendant appareillé : demande à être placé près du formateur et à recevoir les supports "
                      "avant la session.")
ADAPTATION_STEPS = (
    ("decide", -10, ("Place au premier rang face au formateur, supports PDF envoyés trois jours avant, consignes des "
                     "exercices écrites au tableau ; conseil pris auprès de Cap emploi 31.")),
    ("carry_out", -3, "Supports envoyés par e-mail, salle disposée en U avec sa place face au formateur."),
    ("check", 0, ("Bilan avec le stagiaire en fin de session : a suivi sans difficulté ; souhaite les mêmes "
                  "dispositions pour une prochaine formation.")),
)


def load_registers(advisor: User, past_session: TrainingSession | None, upcoming_dume: TrainingSession | None,
                   today: dt.date) -> list[str]:
    """The watch log, the needs analysis, the partner network and Hugo Lefèvre's adaptation, each once."""
    done = _load_watch(advisor, today)
    done.extend(_load_needs(advisor, upcoming_dume, today))
    partners = _load_partners(advisor, done)
    done.extend(_load_adaptation(advisor, past_session, partners.get("Cap emploi 31")))
    return done


def _load_watch(advisor: User, today: dt.date) -> list[str]:
    if db.session.scalar(select(WatchEntry.id).limit(1)) is not None:
        return []
    entries = [registers.save_watch_entry(None, {**data, "day": today - dt.timedelta(days=days)}, advisor)
               for days, data in WATCH]
    action = registers.create_action_from_watch(entries[-1], advisor)
    update_action(action, advisor, {**ACTION_DONE, "status": "done", "title": action.title,
                                    "analysis": action.analysis, "owner_id": advisor.id,
                                    "due_date": action.due_date.isoformat()})
    db.session.flush()
    return [(f"Journal de veille : {len(entries)} entrées, dont une à l'origine de l'action d'amélioration "
            f"n° {action.id}, réalisée.")]


def _load_needs(advisor: User, session: TrainingSession | None, today: dt.date) -> list[str]:
    if db.session.scalar(select(NeedsAnalysis.id).limit(1)) is not None:
        return []
    company = db.session.scalar(select(Company).where(Company.siret == NEEDS_COMPANY_SIRET))
    if company is None:
        return []
    data = {key: value for key, value in NEEDS.items() if key != "days_before"}
    registers.save_needs_analysis(None, {**data, "day": today - dt.timedelta(days=NEEDS["days_before"]),
                                         "company_id": company.id, "session_id": session.id if session else None},
                                  advisor)
    return [f"Analyse des besoins par entretien avec « {company.name} » consignée."]


def _load_partners(advisor: User, done: list[str]) -> dict[str, DisabilityPartner]:
    partners = {}
    for data in PARTNERS:
        partner = db.session.scalar(select(DisabilityPartner).where(DisabilityPartner.name == data["name"]))
        if partner is None:
            partner = registers.save_partner(None, data, advisor)
            done.append(f"Partenaire du réseau handicap « {partner.name} » ajouté.")
        partners[data["name"]] = partner
    return partners


def _load_adaptation(advisor: User, session: TrainingSession | None,
                     partner: DisabilityPartner | None) -> list[str]:
    if session is None or session.first_date is None:
        return []
    enrolment = db.session.scalar(select(Enrolment).join(Trainee, Trainee.id == Enrolment.trainee_id).where(
        Enrolment.session_id == session.id, Trainee.email == ADAPTED_TRAINEE["email"]))
    if enrolment is None or db.session.scalar(select(Adaptation.id).where(
            Adaptation.enrolment_id == enrolment.id).limit(1)) is not None:
        return []
    first, last = session.first_date, session.last_date or session.first_date
    adaptation = registers.request_adaptation(enrolment, {
        "request": ADAPTATION_REQUEST, "requested_on": first - dt.timedelta(days=12),
        "partner_id": partner.id if partner else None}, advisor)
    for step, days, text in ADAPTATION_STEPS:
        day = last if step == "check" else first + dt.timedelta(days=days)
        registers.advance_adaptation(adaptation, step, {"text": text, "day": day}, advisor)
    return [(f"Adaptation pour {enrolment.trainee.full_name} (« {session.title} ») décidée, mise en œuvre et "
            "vérifiée en fin de session.")]
