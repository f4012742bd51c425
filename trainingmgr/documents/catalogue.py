"""The document types and the variables each template may use (the tag catalogue).

This is the contract between the context builders (context.py) and the Word templates (documents/*.docx):
every variable a builder provides is listed here with a French description and an example, and the
``mandatory`` ones must appear in any template uploaded for that type (e.g. the NDA on a convention).
Lists are iterated in templates with ``{% for x in list %}`` (or ``{%tr for … %}`` for table rows).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class Var:
    name: str  # dotted path, e.g. "org.nda"; items of a list as "trainees[].full_name"
    label: str
    example: str
    mandatory: bool = False


@dataclass(frozen=True)
class DocType:
    code: str
    label: str
    scope: str  # "session" (one per session), "enrolment" (one per trainee), "client" (one per paying company),
    # "invoice" (one per issued invoice or credit note, made by billing only), "trainer" (one per subcontracting
    # trainer of a session)
    filename: str  # default template in documents/
    variables: tuple[Var, ...] = field(default_factory=tuple)
    feminine: bool = False  # the label's grammatical gender: messages agree with it (« Convention générée »)

    @property
    def mandatory(self) -> list[str]:
        return mandatory_of(self.code)

    def agree(self, participle: str) -> str:
        """A masculine singular participle agreed with the label: « généré » → « générée » for a convention."""
        return participle + "e" if self.feminine else participle


ORG = (
    Var("org.name", "Raison sociale de l'organisme", "Formaction Sud-Ouest", True),
    Var("org.legal_form", "Forme juridique", "SARL"),
    Var("org.address", "Adresse complète", "12 rue des Lois, 31000 Toulouse"),
    Var("org.siret", "SIRET (formaté)", "443 061 841 00021"),
    Var("org.nda", "Numéro de déclaration d'activité", "76 31 12345 31"),
    Var("org.nda_mention", "Mention légale de la déclaration d'activité",
        "Déclaration d'activité enregistrée sous le numéro 76 31 12345 31 auprès du préfet de région "
        "Occitanie. Cet enregistrement ne vaut pas agrément de l'État."),
    Var("org.vat_mention", "Régime de TVA", "Exonération de TVA, article 261-4-4°-a du CGI"),
    Var("org.qualiopi", "Certification Qualiopi", "Certifié Qualiopi n° QUA-2025-001 au titre des actions de formation"),
    Var("org.email", "E-mail", "contact@formaction.example"),
    Var("org.phone", "Téléphone", "05 61 00 00 00"),
    Var("org.signatory_name", "Nom du représentant légal signataire", "Camille Bernard"),
    Var("org.signatory_title", "Qualité du signataire", "Gérante"),
    Var("org.city", "Ville (lieu de signature)", "Toulouse"),
    Var("org.quality_contact", "Contact qualité et médiation", "Camille Bernard, conseillère formation – 05 61 00 00 00"),
    Var("org.disability_contact", "Référent handicap", "Léa Martin – handicap@formaction.example"),
    Var("org.mediator", "Médiateur de la consommation", "CM2C, 49 rue de Ponthieu, 75008 Paris – www.cm2c.net"),
    Var("org.internal_rules", "Règlement intérieur (référence ou lien)",
        "Règlement intérieur remis avec la convocation et consultable sur https://formaction.example/reglement"),
    Var("org.payment_terms", "Conditions de règlement", "Paiement à 30 jours à réception de la facture, par virement."),
    Var("org.cancellation_terms", "Conditions d'annulation et de dédit",
        "Annulation par le client moins de 10 jours ouvrés avant le début : 30 % du prix restent dus à titre de dédit."),
    Var("org.logo", "Logo (image)", "[image]"),
)
COURSE = (
    Var("course.title", "Intitulé de la formation", "Marchés publics : DUME et Chorus Pro", True),
    Var("course.objectives", "Objectifs opérationnels (liste de textes)", "Utiliser toutes les fonctionnalités de l'utilitaire DUME"),
    Var("course.programme", "Programme : liste de parties {title, when, points}", "Matin — Le DUME : …"),
    Var("course.programme[].title", "Titre d'une partie du programme", "Le DUME"),
    Var("course.programme[].when", "Jour et demi-journée d'une partie", "Jour 1, matin"),
    Var("course.programme[].points", "Points d'une partie (liste de textes)", "Présentation de l'utilitaire"),
    Var("course.duration", "Durée", "8 h"),
    Var("course.audience", "Public visé", "Assistants de direction, chargés d'affaires"),
    Var("course.prerequisites", "Prérequis", "Aucun"),
    Var("course.teaching_methods", "Méthodes et moyens pédagogiques", "Apports théoriques, démonstrations, cas pratiques"),
    Var("course.assessment_methods", "Modalités d'évaluation et de sanction", "Quiz final ; attestation de fin de formation"),
    Var("course.trainer_competences", "Profil du formateur", "Consultant en marchés publics, 15 ans d'expérience"),
    Var("course.material_resources", "Moyens matériels", "Salle équipée, vidéoprojecteur"),
    Var("course.what_to_bring", "À apporter", "Un ordinateur portable"),
    Var("course.accessibility", "Accessibilité aux personnes en situation de handicap", "Locaux accessibles PMR"),
    Var("course.access_delay", "Modalités et délai d'accès", "Inscription jusqu'à 5 jours avant la session"),
    Var("course.delivery_mode", "Modalité (présentiel, distanciel, mixte)", "Présentiel"),
    Var("course.version", "Version et date du programme", "version 1 du 25/11/2026"),
    Var("course.price", "Tarif du catalogue", "600,00 € HT par stagiaire"),
)
SESSION = (
    Var("session.reference", "Référence de la session", "S-2026-0003", True),
    Var("session.dates", "Dates en toutes lettres", "le 19/11/2026", True),
    Var("session.first_date", "Premier jour", "19/11/2026"),
    Var("session.last_date", "Dernier jour", "19/11/2026"),
    Var("session.place", "Lieu (nom et adresse, ou « à distance »)", "Salle Capitole, 12 rue des Lois, 31000 Toulouse", True),
    Var("session.access_notes", "Accès au lieu", "Métro Capitole, parking Victor-Hugo"),
    Var("session.hours", "Durée totale prévue", "8 h", True),
    Var("session.slots", "Demi-journées : liste {date, half_day, start, end, hours, modality, modality_label, "
                         "meeting_url, activity}", "19/11/2026 matin 08:30–12:30"),
    Var("session.slots[].date", "Date d'une demi-journée", "19/11/2026"),
    Var("session.slots[].half_day", "Matin ou après-midi", "Matin"),
    Var("session.slots[].start", "Heure de début", "08:30"),
    Var("session.slots[].end", "Heure de fin", "12:30"),
    Var("session.slots[].hours", "Durée", "4 h"),
    Var("session.slots[].modality", "Modalité (code) : room, virtual ou async", "room"),
    Var("session.slots[].modality_label", "Modalité : en salle, classe virtuelle ou activité asynchrone", "En salle"),
    Var("session.slots[].meeting_url", "Lien de réunion d'une classe virtuelle (vide sinon)",
        "https://visio.example/abc"),
    Var("session.slots[].activity", "Activité d'une demi-journée asynchrone (vide sinon)",
        "Lire le guide de dépôt et répondre au quiz"),
    Var("session.trainers", "Noms des formateurs", "Pierre Lefèvre"),
    Var("session.trainer_details", "Formateurs : liste {name, competences}", "Pierre Lefèvre – consultant…"),
    Var("session.trainer_details[].name", "Nom d'un formateur", "Pierre Lefèvre"),
    Var("session.trainer_details[].competences", "Titres, diplômes et références d'un formateur",
        "Consultant en marchés publics, 15 ans d'expérience"),
    Var("session.material_resources", "Moyens matériels (équipement de la salle et de la formation)",
        "Salle de 10 places, vidéoprojecteur, Wi-Fi"),
    Var("session.trainees_count", "Nombre de stagiaires", "3"),
)
COMMON = (
    Var("today", "Date du jour", "26/11/2026"),
    Var("document.number", "Numéro du document", "CONV-2026-0003-1"),
)
CLIENT = (
    Var("client.name", "Entreprise cliente", "Cabinet d'architecture Dupont", True),
    Var("client.siret", "SIRET du client", "443 061 841 00021", True),
    Var("client.address", "Adresse du client", "3 allée des Arts, 31000 Toulouse"),
    Var("client.signatory", "Signataire pour le client (nom et fonction)", "Marie Dupont, gérante"),
    Var("client.opco", "OPCO du client", "OPCO EP"),
)
PRICE = (
    Var("price.unit_excl_vat", "Prix par stagiaire HT", "600,00 €", True),
    Var("price.total_excl_vat", "Total HT", "1 200,00 €", True),
    Var("price.vat", "Montant de TVA", "0,00 €"),
    Var("price.total_incl_vat", "Total TTC", "1 200,00 €", True),
    Var("price.vat_mention", "Mention de TVA ou d'exonération", "Exonération de TVA, article 261-4-4°-a du CGI", True),
    Var("funding", "Financements : liste {payer, amount, details}", "OPCO EP (subrogation, dossier 2026-123) : 420,00 €"),
    Var("funding[].payer", "Payeur", "OPCO EP"),
    Var("funding[].amount", "Montant", "420,00 €"),
    Var("funding[].details", "Précisions (subrogation, n° de dossier, n° d'engagement)", "subrogation, dossier n° 2026-123"),
)
TRAINEES = (
    Var("trainees", "Stagiaires : liste {full_name, job_title, company}", "Julie Martin, assistante"),
    Var("trainees[].full_name", "Nom du stagiaire", "Julie Martin"),
    Var("trainees[].job_title", "Fonction", "Assistante de direction"),
    Var("trainees[].company", "Entreprise", "Cabinet d'architecture Dupont"),
)
TRAINEE = (
    Var("trainee.full_name", "Stagiaire (civilité, prénom, nom)", "Mme Julie Martin", True),
    Var("trainee.first_name", "Prénom", "Julie"),
    Var("trainee.last_name", "Nom", "Martin"),
    Var("trainee.email", "E-mail", "julie.martin@exemple.fr"),
    Var("trainee.company", "Entreprise (employeur) ou « — »", "Cabinet d'architecture Dupont"),
    Var("trainee.job_title", "Fonction", "Assistante de direction"),
)
# A quote (quotes/document.py, or a session's client in the documents page): seats in a session or an intra session
# at a wished period (no session yet), so the session and the price per trainee are offered but not mandatory; what it
# must show is under « quote ».
QUOTE_SESSION = tuple(replace(v, mandatory=False) for v in SESSION)
QUOTE_PRICE = tuple(replace(v, mandatory=False) for v in PRICE)
QUOTE = (
    Var("quote.number", "Numéro du devis", "DEV-2026-0003", True),
    Var("quote.date", "Date du devis", "26/11/2026", True),
    Var("quote.valid_until", "Valable jusqu'au", "26/12/2026", True),
    Var("quote.validity", "Validité du devis (durée et date)", "30 jours, jusqu'au 26/12/2026"),
    Var("quote.kind", "Nature de la demande", "Places en session inter-entreprises"),
    Var("quote.contact.name", "Contact du client", "Marie Dupont"),
    Var("quote.contact.email", "E-mail du contact", "marie.dupont@exemple.fr"),
    Var("quote.contact.phone", "Téléphone du contact", "05 61 00 00 01"),
    Var("quote.details", "Objet : liste {label, value} (session, dates, horaires et lieu ; ou période, lieu et "
        "effectif souhaités)", "Dates : le 19/11/2026", True),
    Var("quote.details[].label", "Intitulé", "Dates"),
    Var("quote.details[].value", "Valeur", "le 19/11/2026"),
    Var("quote.lines", "Lignes : {label, quantity, unit, total} (places, forfait intra, frais annexes)",
        "Formation … × 2", True),
    Var("quote.lines[].label", "Désignation", "Marchés publics : DUME et Chorus Pro – session du 19/11/2026"),
    Var("quote.lines[].quantity", "Quantité", "2"),
    Var("quote.lines[].unit", "Prix unitaire HT", "600,00 €"),
    Var("quote.lines[].total", "Total HT", "1 200,00 €"),
    Var("quote.totals.excl_vat", "Total HT", "1 200,00 €", True),
    Var("quote.totals.vat", "Montant de TVA", "0,00 €", True),
    Var("quote.totals.incl_vat", "Total TTC", "1 200,00 €", True),
    Var("quote.vat_mention", "Mention de TVA ou d'exonération", "Exonération de TVA, article 261-4-4°-a du CGI", True),
    Var("quote.conditions", "Conditions particulières du devis", "Tarif valable pour un groupe de 3 stagiaires."),
)
# The règlement intérieur (L6352-3, L6352-4, R6352-1 to R6352-15) is the organisation's: a replacement template
# need not name the session, so its session variables are offered but none is mandatory.
INTERNAL_RULES = tuple(Var(v.name, v.label, v.example) for v in COURSE + SESSION) + (
    Var("rules.representation", "Représentation des stagiaires : ce qui vaut pour cette action",
        "L'action « Marchés publics : DUME et Chorus Pro » dure 8 h, soit 500 heures ou moins : les articles "
        "R6352-9 à R6352-15 du Code du travail (élection de délégués des stagiaires) ne s'appliquent pas."),
)

# An action carried out wholly or partly at a distance (Code du travail D6313-3-1; L6353-4, 3°): the convention, the
# contract and the programme of a session with virtual or asynchronous half-days (context.distance_context). Absent
# for a session held wholly in the room, whose documents read as before.
DISTANCE = (
    Var("distance.applies", "Action réalisée en tout ou partie à distance (vrai ou faux)", "oui"),
    Var("distance.wording", "« Action réalisée à distance » ou « Action réalisée en partie à distance »",
        "Action réalisée en partie à distance"),
    Var("distance.assistance", "Assistance technique et pédagogique du stagiaire à distance : qui, comment le "
                               "joindre, quand, sous quel délai (paramètres de l'organisme)",
        "Camille Bernard, conseillère formation : conseil@formaction.example, 05 61 00 00 01, du lundi au vendredi "
        "de 9 h à 17 h ; réponse sous 24 heures ouvrées. Pendant les classes virtuelles, le formateur."),
    Var("distance.activities", "Demi-journées à distance : liste {date, half_day, modality_label, start, end, hours, "
                               "description}", "20/11/2026 matin : activité asynchrone, 1 h"),
    Var("distance.activities[].date", "Date d'une demi-journée à distance", "19/11/2026"),
    Var("distance.activities[].half_day", "Matin ou après-midi", "Après-midi"),
    Var("distance.activities[].modality_label", "Modalité : classe virtuelle ou activité asynchrone",
        "Classe virtuelle"),
    Var("distance.activities[].start", "Heure de début", "13:30"),
    Var("distance.activities[].end", "Heure de fin", "16:30"),
    Var("distance.activities[].hours", "Durée moyenne estimée", "3 h"),
    Var("distance.activities[].description", "Activité pédagogique : ce que fait le stagiaire (activité "
                                             "asynchrone), ou la classe virtuelle et ses horaires (jamais son lien)",
        "classe virtuelle de 13:30 à 16:30, animée par Pierre Lefèvre"),
    Var("distance.total", "Durée estimée de la formation à distance", "4 h"),
    Var("distance.evaluations", "Évaluations qui jalonnent ou concluent l'action (liste de textes)",
        "Quiz final de validation des acquis"),
)


def _by_modality(root: str) -> tuple[Var, ...]:
    """The hours attended per modality under ``root`` (context.by_modality; sessions/modality.py): empty when every
    hour attended was in the room."""
    return tuple(Var(v.name.replace("attendance.", f"{root}.", 1), v.label, v.example) for v in _BY_MODALITY)


_BY_MODALITY = (
    Var("attendance.modalities", "Heures suivies par modalité : liste {label, hours, text} (vide si tout en salle)",
        "3,5 h en salle ; 3,5 h en classe virtuelle"),
    Var("attendance.modalities[].label", "Modalité", "Classe virtuelle"),
    Var("attendance.modalities[].hours", "Heures suivies dans cette modalité", "3,5 h"),
    Var("attendance.modalities[].text", "Heures et modalité en toutes lettres", "3,5 h en classe virtuelle"),
    Var("attendance.by_modality", "Heures suivies par modalité, en une phrase (vide si tout en salle)",
        "3,5 h en salle et 3,5 h en classe virtuelle"),
    Var("attendance.distance", "Mention « Action réalisée à distance » ou « … en partie à distance » (vide si "
                               "tout en salle)", "Action réalisée en partie à distance"),
)
ATTENDED = (
    Var("attendance.hours", "Heures réellement suivies", "8 h", True),
    Var("attendance.first_date", "Premier jour suivi", "19/11/2026", True),
    Var("attendance.last_date", "Dernier jour suivi", "19/11/2026", True),
) + _BY_MODALITY

# Invoices and credit notes (billing/invoices.py): made only when one is issued, never from a session's documents
# page. The seller ("org.*") is the organisation's identity frozen at issue.
INVOICE = (
    Var("org.siren", "SIREN de l'organisme", "812 345 676", True),
    Var("org.siret", "SIRET (formaté)", "812 345 676 00017", True),
    Var("org.nda_mention", "Mention légale de la déclaration d'activité",
        "Déclaration d'activité enregistrée sous le n° 76 31 09999 31 auprès du préfet de région Occitanie "
        "(cet enregistrement ne vaut pas agrément de l'État)", True),
    Var("org.vat_number", "Numéro de TVA intracommunautaire (vide si exonéré sans numéro)", "FR12812345676"),
    Var("invoice.title", "Nature du document (FACTURE ou AVOIR)", "FACTURE", True),
    Var("invoice.number", "Numéro (chronologique, sans rupture)", "F2026-0001", True),
    Var("invoice.issue_date", "Date d'émission", "25/11/2026", True),
    Var("invoice.due_date", "Date d'échéance (« — » pour un avoir)", "25/12/2026", True),
    Var("invoice.service_period", "Période d'exécution de la prestation", "du 19/11/2026 au 20/11/2026", True),
    Var("invoice.operation_category", "Catégorie de l'opération", "Prestation de services", True),
    Var("invoice.credited", "Avoir : facture annulée (numéro et date)", "Avoir sur la facture n° F2026-0001 du 20/11/2026"),
    Var("invoice.reason", "Avoir : motif", "Annulation partielle : un stagiaire absent"),
    Var("invoice.notes", "Observations", "Règlement par virement, référence à rappeler : F2026-0001"),
    Var("invoice.opco", "Financeur : OPCO en subrogation (dossier, entreprise bénéficiaire), fonds des non-salariés "
        "(dossier), France Travail (accord AIF) ou financeur public (convention)",
        "Subrogation de paiement – OPCO EP, dossier n° EP-2026-004217 – entreprise bénéficiaire : Atelier Garonne"),
    Var("invoice.public", "Acheteur public : code service et numéro d'engagement",
        "Code service : FACTURES – N° d'engagement : EJ-2026-0042"),
    Var("invoice.buyer_reference", "Référence de l'acheteur", "Commande du 02/11/2026"),
    Var("buyer.name", "Client facturé (entreprise, OPCO, acheteur public ou particulier)", "Atelier d'architecture Garonne", True),
    Var("buyer.address", "Adresse du client", "8 quai de la Daurade, 31000 Toulouse", True),
    Var("buyer.siren", "SIREN du client (mention 2026–2027)", "443 061 841", True),
    Var("buyer.siret", "SIRET du client", "443 061 841 00021"),
    Var("buyer.vat_number", "N° de TVA intracommunautaire du client", "FR45443061841"),
    Var("buyer.email", "E-mail de facturation du client", "comptabilite@garonne-archi.example"),
    Var("lines", "Lignes : liste {description, quantity, unit, unit_price, vat_rate, vat_amount, total}", "…", True),
    Var("lines[].description", "Désignation", "Formation « Chorus Pro » du 19/11/2026 – Julie Martin"),
    Var("lines[].quantity", "Quantité", "1"),
    Var("lines[].unit", "Unité", "stagiaire"),
    Var("lines[].unit_price", "Prix unitaire HT", "600,00 €"),
    Var("lines[].vat_rate", "Taux de TVA", "0 %"),
    Var("lines[].vat_amount", "Montant de TVA", "0,00 €"),
    Var("lines[].total", "Total HT de la ligne", "600,00 €"),
    Var("totals.excl_vat", "Total HT", "600,00 €", True),
    Var("totals.vat", "Total TVA", "0,00 €", True),
    Var("totals.incl_vat", "Total TTC (net à payer)", "600,00 €", True),
    Var("vat.mention", "Mention de TVA ou d'exonération", "Exonération de TVA, article 261-4-4°-a du CGI", True),
    Var("terms.payment", "Conditions de paiement", "Paiement à 30 jours, par virement bancaire.", True),
    Var("terms.late_penalties", "Pénalités de retard (acheteur public : intérêts moratoires, BCE + 8 points)",
        "Pénalités de retard : trois fois le taux d'intérêt légal, exigibles dès le lendemain de l'échéance.", True),
    Var("terms.recovery_indemnity", "Indemnité forfaitaire de recouvrement de 40 € (vide pour un particulier)",
        "Indemnité forfaitaire pour frais de recouvrement : 40 €.", True),
    Var("terms.discount", "Conditions d'escompte", "Pas d'escompte pour paiement anticipé.", True),
    # Payable by transfer (billing/transfer.py): empty for a credit note, nothing due, or no IBAN in the settings.
    Var("transfer.iban", "IBAN du compte à créditer (vide si la facture ne se paie pas par virement)",
        "FR76 3000 6000 0112 3456 7890 189"),
    Var("transfer.bic", "BIC de la banque", "AGRIFRPP"),
    Var("transfer.holder", "Bénéficiaire du virement", "Formaction Sud-Ouest"),
    Var("transfer.reference", "Référence à indiquer avec le virement (numéro de facture)", "F2026-0001"),
    Var("transfer.amount", "Montant du virement", "600,00 €"),
    Var("transfer.qr", "QR code de virement SEPA (norme EPC, image) : l'application bancaire le lit", "[image]"),
)

# The contract of a subcontracting trainer for a session (contrat de sous-traitance with an organisation, lettre de
# mission with an independent trainer): the parties with their SIRET and NDA, the trainer's half-days and hours, the
# rate and the total, the payment terms and the subcontractor's obligations.
TRAINER_CONTRACT = (
    Var("org.siret", "SIRET (formaté)", "443 061 841 00021", True),
    Var("org.nda", "Numéro de déclaration d'activité", "76 31 12345 31", True),
    Var("org.signatory_name", "Nom du représentant légal signataire", "Camille Bernard", True),
    Var("contract.title", "Intitulé : contrat de sous-traitance (organisme) ou lettre de mission (indépendant)",
        "Contrat de sous-traitance", True),
    Var("subcontractor.name", "Sous-traitant : raison sociale de l'organisme, ou nom du formateur indépendant",
        "Formations Garonne SARL", True),
    Var("subcontractor.status", "Statut du sous-traitant", "Organisme de formation sous-traitant"),
    Var("subcontractor.siret", "SIRET du sous-traitant (formaté)", "812 345 676 00017", True),
    Var("subcontractor.nda", "Numéro de déclaration d'activité du sous-traitant", "76 31 09876 31", True),
    Var("subcontractor.address", "Adresse du sous-traitant", "5 allée des Demoiselles, 31400 Toulouse"),
    Var("subcontractor.trainer", "Formateur qui intervient (prénom et nom)", "Paula Formatrice", True),
    Var("subcontractor.email", "E-mail du formateur", "paula@formations-garonne.example"),
    Var("subcontractor.competences", "Titres, diplômes et références du formateur",
        "Juriste en commande publique, 12 ans d'expérience"),
    Var("mission.dates", "Dates des interventions du formateur", "le 19/11/2026", True),
    Var("mission.slots", "Demi-journées du formateur : liste {date, half_day, start, end, hours}",
        "19/11/2026 matin 08:30–12:30"),
    Var("mission.slots[].date", "Date d'une demi-journée", "19/11/2026"),
    Var("mission.slots[].half_day", "Matin ou après-midi", "Matin"),
    Var("mission.slots[].start", "Heure de début", "08:30"),
    Var("mission.slots[].end", "Heure de fin", "12:30"),
    Var("mission.slots[].hours", "Durée", "4 h"),
    Var("mission.hours", "Heures d'intervention du formateur", "8 h", True),
    Var("mission.rate", "Tarif convenu (HT, de l'heure ou par jour)", "60,00 € HT de l'heure", True),
    Var("mission.quantity", "Base du calcul (heures ou journées)", "8 heures"),
    Var("mission.total", "Montant total HT de la mission", "480,00 €", True),
    Var("mission.total_value", "Montant total HT, en chiffres (rapprochement des factures)", "480.00"),
    Var("mission.payment_terms", "Conditions de facturation et de paiement du sous-traitant",
        "Facture à l'issue de la mission, payée par virement à 30 jours de sa réception.", True),
    Var("clauses.attendance", "Obligation du sous-traitant : feuilles d'émargement", "Le sous-traitant fait signer…",
        True),
    Var("clauses.quality", "Obligation du sous-traitant : preuves pour la certification Qualiopi",
        "Le sous-traitant transmet…", True),
    Var("clauses.confidentiality", "Obligation du sous-traitant : confidentialité et données personnelles (RGPD)",
        "Le sous-traitant garde confidentielles…", True),
    Var("clauses.responsibility", "L'organisme reste seul responsable de l'action envers le client",
        "L'organisme de formation demeure seul responsable…", True),
    Var("clauses.vat", "Mention de TVA des montants", "Montants hors taxes ; TVA selon le régime du sous-traitant."),
)

# What France Travail asks of a trainee it funds by an AIF (aide individuelle à la formation): the entry attestation
# and the attendance attestation, with the reference of its agreement (funders.py).
SIGNATORY = Var("org.signatory_name", "Nom du représentant légal signataire", "Camille Bernard", True)
FRANCE_TRAVAIL = (
    Var("funder.name", "Financeur", "France Travail", True),
    Var("funder.reference", "Référence de l'accord France Travail (devis AIF)", "AIF-31-2026-000123", True),
    Var("funder.trainee_number", "Identifiant France Travail du stagiaire (n° d'adhérent de la ligne de financement)",
        "1234567A"),
    Var("funder.adviser", "Conseiller France Travail (e-mail)", "conseiller.toulouse@francetravail.example"),
    Var("funder.agreed_hours", "Heures prises en charge par France Travail", "8 h"),
    Var("funder.agreed_amount", "Montant pris en charge par France Travail", "600,00 €"),
    SIGNATORY,
)
PRESENCE = (
    Var("presence.period", "Période couverte (demi-journées commencées de la session)", "le 19/11/2026", True),
    Var("presence.hours", "Heures de présence sur la période", "7 h", True),
    Var("presence.planned_hours", "Heures prévues sur la période", "8 h", True),
    Var("presence.absent_hours", "Heures d'absence, retards et départs anticipés compris", "1 h", True),
    Var("presence.slots", "Par demi-journée : liste {date, half_day, times, planned, hours, status}", "…", True),
    Var("presence.slots[].date", "Date d'une demi-journée", "19/11/2026"),
    Var("presence.slots[].half_day", "Matin ou après-midi", "Matin"),
    Var("presence.slots[].times", "Horaires prévus", "08:30–12:30"),
    Var("presence.slots[].planned", "Durée prévue", "4 h"),
    Var("presence.slots[].hours", "Heures de présence", "3 h"),
    Var("presence.slots[].status", "Présence (absence, retard, départ anticipé)", "Présent(e), arrivé(e) à 09:30"),
    Var("presence.months", "Par mois : liste {month, planned, hours, absent}", "…"),
    Var("presence.months[].month", "Mois", "novembre 2026"),
    Var("presence.months[].planned", "Heures prévues dans le mois", "8 h"),
    Var("presence.months[].hours", "Heures de présence dans le mois", "7 h"),
    Var("presence.months[].absent", "Heures d'absence dans le mois", "1 h"),
) + _by_modality("presence")
# The facture acquittée a fund of the self-employed (FIF PL, AGEFICE…) asks for a refund: the enrolment's invoices
# to the trainee or to the fund, with their payments (funding/receipt.py, funding/packs.py).
RECEIPT = (
    Var("fund.name", "Fonds d'assurance formation des non-salariés", "FIF PL", True),
    Var("fund.file_number", "N° du dossier de prise en charge du fonds", "FIFPL-2026-004321"),
    Var("fund.member_number", "N° d'adhérent du stagiaire au fonds", "A-778899"),
    Var("receipt.payer", "Qui a réglé : le stagiaire (à titre professionnel) ou le fonds", "Mme Julie Martin",
        True),
    Var("receipt.total_paid", "Montant total réglé", "600,00 €", True),
    Var("receipt.paid_on", "Date d'acquittement (dernier paiement reçu)", "15/12/2026", True),
    Var("receipt.invoices", "Factures acquittées : liste {number, issue_date, total, statement}", "…", True),
    Var("receipt.invoices[].number", "N° de la facture", "F2026-0003"),
    Var("receipt.invoices[].issue_date", "Date de la facture", "20/11/2026"),
    Var("receipt.invoices[].total", "Montant TTC de la facture", "600,00 €"),
    Var("receipt.invoices[].statement", "Mention d'acquit",
        "Facture n° F2026-0003 acquittée le 15/12/2026 par virement, montant 600,00 €"),
    Var("receipt.payments", "Paiements reçus : liste {invoice, date, method, reference, amount}", "…"),
    Var("receipt.payments[].invoice", "Facture réglée", "F2026-0003"),
    Var("receipt.payments[].date", "Date du paiement", "15/12/2026"),
    Var("receipt.payments[].method", "Mode de paiement", "Virement"),
    Var("receipt.payments[].reference", "Référence du paiement", "VIR-20261215-PE"),
    Var("receipt.payments[].amount", "Montant du paiement", "600,00 €"),
    SIGNATORY,
)

DOC_TYPES: dict[str, DocType] = {d.code: d for d in (
    DocType("convention", "Convention de formation professionnelle", "client", "convention.docx",
            COMMON + ORG + COURSE + SESSION + CLIENT + PRICE + TRAINEES + DISTANCE + (
                Var("org.nda", "Numéro de déclaration d'activité", "76 31 12345 31", True),
                Var("org.siret", "SIRET (formaté)", "443 061 841 00021", True),
            ), feminine=True),
    DocType("contract", "Contrat de formation professionnelle (particulier)", "enrolment", "contrat.docx",
            COMMON + ORG + COURSE + SESSION + TRAINEE + PRICE + DISTANCE + (
                Var("contract.withdrawal_days", "Délai de rétractation (jours)", "10", True),
                Var("contract.max_advance_percent", "Acompte maximal après rétractation (%)", "30", True),
                Var("contract.advance", "Montant maximal de l'acompte", "180,00 €"),
                Var("contract.sanction", "Sanction de la formation (documents remis)",
                    "une attestation de fin de formation et un certificat de réalisation"),
                Var("org.nda", "Numéro de déclaration d'activité", "76 31 12345 31", True),
                Var("org.mediator", "Médiateur de la consommation", "CM2C", True),
            )),
    DocType("convocation", "Convocation", "enrolment", "convocation.docx",
            COMMON + ORG + COURSE + SESSION + TRAINEE + (
                Var("org.internal_rules", "Règlement intérieur (référence ou lien)", "…", True),
                Var("org.disability_contact", "Référent handicap", "…", True),
            ), feminine=True),
    DocType("programme", "Programme de formation", "session", "programme.docx",
            COMMON + ORG + COURSE + SESSION + DISTANCE),
    DocType("internal_rules", "Règlement intérieur", "session", "reglement.docx",
            COMMON + ORG + INTERNAL_RULES),
    DocType("attendance_sheet", "Feuille d'émargement", "session", "emargement.docx",
            COMMON + ORG + COURSE + SESSION + (
                Var("sheet.slots", "Par demi-journée : {label, date, half_day, start, end, modality_label, "
                                   "evidence, rows, trainer}", "…", True),
                Var("sheet.slots[].label", "Demi-journée, et sa modalité si la session n'est pas entièrement en salle",
                    "Jeudi 19/11/2026, matin (08:30–12:30)"),
                # Distance half-days (issue 27): nothing changes on the sheet of a session held in the room.
                Var("sheet.slots[].modality_label", "Modalité : en salle, classe virtuelle ou activité asynchrone "
                                                    "(vide si toute la session est en salle)", "En salle"),
                Var("sheet.slots[].evidence", "Preuves d'une demi-journée à distance : double signature et rapport "
                                              "de connexion (empreinte SHA-256), ou temps déclaré (vide en salle)",
                    "Classe virtuelle : chaque stagiaire signe au début puis à partir du milieu de la demi-journée"),
                Var("sheet.slots[].rows", "Stagiaires : {name, status, signature, second_signature, signed_at, "
                                          "method, note}", "…"),
                Var("sheet.slots[].rows[].name", "Stagiaire", "Camille Roux"),
                Var("sheet.slots[].rows[].status", "État (Signé, Absent, Corrigé, Signature manquante…)", "Signé"),
                Var("sheet.slots[].rows[].signature", "Signature dessinée (image) ou nom saisi ; temps déclaré "
                                                      "d'une activité asynchrone", "[image]"),
                Var("sheet.slots[].rows[].second_signature", "Seconde signature d'une classe virtuelle (image ou nom "
                                                             "saisi ; vide sinon)", "[image]"),
                Var("sheet.slots[].rows[].signed_at", "Date et heure de signature (Paris)", "19/11/2026 08:24"),
                Var("sheet.slots[].rows[].method", "Moyen de signature", "lien personnel, signature manuscrite"),
                Var("sheet.slots[].rows[].note", "Retard, départ anticipé, seconde signature, durée de connexion, "
                                                 "correction, justificatif", "arrivé(e) à 09:10"),
                Var("sheet.slots[].trainer", "Formateur", "Pierre Lefèvre"),
                Var("sheet.slots[].trainer_signature", "Signature du formateur (image) ou nom saisi", "[image]"),
                Var("sheet.slots[].trainer_signed_at", "Heure de signature du formateur", "19/11/2026 12:31"),
                Var("sheet.chain", "Intégrité du registre",
                    "intègre (9 enregistrements), scellé jusqu'à l'enregistrement n° 9 (2 scellements, "
                    "2 horodatés)", True),
                Var("sheet.seal.head", "Empreinte SHA-256 de la tête du registre scellée",
                    "310a642c9f5e0b7d8a41c26e93f07d5b18ac4e2f6d90b3a7c5e18f24d6b09a3e", True),
                Var("sheet.seal.summary", "Scellement : date, enregistrements couverts, clé",
                    "registre scellé le 19/11/2026 17:32 (signature du formateur) : enregistrements n° 1 à 9, "
                    "clé 3f9a1c0b7d2e4a51", True),
                Var("sheet.seal.key_id", "Identifiant de la clé de scellement", "3f9a1c0b7d2e4a51"),
                Var("sheet.seal.public_key", "Clé publique Ed25519 de l'organisme (base64)",
                    "Nq6n2cA8mYqH0t1Rk3e5XyV7Zb9PdLf4Ws2Uj6Ho8Gc=", True),
                Var("sheet.seal.timestamp", "Horodatage du scellement (autorité RFC 3161)",
                    "horodaté le 19/11/2026 17:32 par une autorité d'horodatage (RFC 3161)"),
                Var("verification.code", "Code de vérification", "7KQ4-M2XD-9TPA", True),
                Var("verification.url", "Adresse de vérification", "https://…/verification/7KQ4M2XD9TPA", True),
                Var("verification.qr", "QR code de vérification (image)", "[image]"),
            ), feminine=True),
    DocType("attestation", "Attestation de fin de formation", "enrolment", "attestation.docx",
            COMMON + ORG + COURSE + SESSION + TRAINEE + ATTENDED + (
                Var("nature", "Nature de l'action", "Action de formation", True),
                Var("results", "Résultats de l'évaluation des acquis (si prévue)", "Objectifs atteints"),
            ), feminine=True),
    DocType("certificate", "Certificat de réalisation", "enrolment", "certificat.docx",
            COMMON + ORG + COURSE + SESSION + TRAINEE + ATTENDED + (
                Var("org.nda", "Numéro de déclaration d'activité", "76 31 12345 31", True),
                Var("org.signatory_name", "Nom du représentant légal signataire", "Camille Bernard", True),
                Var("nature", "Nature de l'action (case cochée)", "Action de formation", True),
                Var("nature_boxes", "Cases de nature : liste {label, checked} (☒ / ☐)", "☒ Action de formation"),
                Var("nature_boxes[].label", "Nature", "Action de formation"),
                Var("nature_boxes[].box", "Case (☒ ou ☐)", "☒"),
                Var("verification.code", "Code de vérification", "7KQ4-M2XD-9TPA", True),
                Var("verification.url", "Adresse de vérification", "https://…/verification/7KQ4M2XD9TPA", True),
                Var("verification.qr", "QR code de vérification (image)", "[image]"),
                Var("retention", "Engagement de conservation des pièces",
                    "…conserver les documents justificatifs pendant 3 ans à compter de la fin de l'année du dernier "
                    "paiement."),
            )),
    DocType("quote", "Devis", "client", "devis.docx", COMMON + ORG + COURSE + QUOTE_SESSION + CLIENT + QUOTE_PRICE + QUOTE
            + TRAINEES),
    DocType("invoice", "Facture et avoir", "invoice", "facture.docx", COMMON + ORG + COURSE + SESSION + INVOICE,
            feminine=True),
    DocType("trainer_contract", "Contrat de sous-traitance / lettre de mission", "trainer", "contrat_sous_traitance.docx",
            COMMON + ORG + COURSE + SESSION + TRAINER_CONTRACT),
    DocType("ft_entry", "Attestation d'entrée en formation (France Travail)", "enrolment",
            "attestation_entree_france_travail.docx", COMMON + ORG + COURSE + SESSION + TRAINEE + FRANCE_TRAVAIL + (
                Var("entry.date", "Date d'entrée en formation (première demi-journée suivie)", "19/11/2026", True),
            ), feminine=True),
    DocType("ft_attendance", "Attestation de présence (France Travail)", "enrolment",
            "attestation_presence_france_travail.docx", COMMON + ORG + COURSE + SESSION + TRAINEE + FRANCE_TRAVAIL
            + PRESENCE, feminine=True),
    DocType("receipt", "Facture acquittée", "enrolment", "facture_acquittee.docx",
            COMMON + ORG + COURSE + SESSION + TRAINEE + RECEIPT, feminine=True),
)}


# The mentions a type requires besides the variables flagged ``mandatory`` (a shared variable such as
# course.objectives is mandatory on some types only). The regulated content: the convention's D6353-1 items
# (objectives, programme, price and payment terms, dédit; the NDA with "cet enregistrement ne vaut pas agrément de
# l'État"), the contract's L6353-4 1° to 5°, the fields of the ministry's model of certificat de réalisation.
MENTIONS: dict[str, tuple[str, ...]] = {
    "convention": ("course.objectives", "course.programme[].title", "org.payment_terms", "org.cancellation_terms",
                   "org.nda_mention", "session.trainer_details[].competences", "session.material_resources",
                   "course.teaching_methods", "course.assessment_methods"),
    "contract": ("course.objectives", "course.programme[].title", "session.trainees_count", "course.prerequisites",
                 "course.delivery_mode", "course.teaching_methods", "course.assessment_methods", "contract.sanction",
                 "session.trainer_details[].competences", "contract.advance"),
    "certificate": ("trainee.company", "retention"),
    "trainer_contract": ("course.programme[].title",),
}


def variables_of(code: str) -> list[Var]:
    """The variables of a type, once each (a type may restate a common one as mandatory; MENTIONS makes
    others mandatory for the type)."""
    seen: dict[str, Var] = {}
    for var in DOC_TYPES[code].variables:
        if var.name not in seen or var.mandatory:
            seen[var.name] = var
    required = MENTIONS.get(code, ())
    return [replace(var, mandatory=True) if var.name in required else var for var in seen.values()]


def mandatory_of(code: str) -> list[str]:
    return [v.name for v in variables_of(code) if v.mandatory]
