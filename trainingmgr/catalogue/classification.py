"""A course's classification for the bilan pédagogique et financier: its F-3 objective (Course.bpf_objective) and its
NSF speciality code (Course.nsf_code), with their French labels. The BPF itself is billing/bpf/."""
from __future__ import annotations

import re

from ..core.errors import ErrorCollector

# F-3, « objectif général des prestations dispensées »: the values of Course.bpf_objective, in the form's order.
# The six RNCP values are the « dont » sub-lines of line a.
BPF_OBJECTIVES = {
    "rncp_6_8": "Diplôme, titre ou CQP enregistré au RNCP — niveaux 6 à 8 (licence, master, ingénieur, doctorat…)",
    "rncp_5": "Diplôme, titre ou CQP enregistré au RNCP — niveau 5 (BTS, DUT, écoles sanitaires et sociales…)",
    "rncp_4": "Diplôme, titre ou CQP enregistré au RNCP — niveau 4 (bac professionnel, BT, BP, BM…)",
    "rncp_3": "Diplôme, titre ou CQP enregistré au RNCP — niveau 3 (BEP, CAP…)",
    "rncp_2": "Diplôme, titre ou CQP enregistré au RNCP — niveau 2",
    "rncp_cqp": "CQP enregistré au RNCP sans niveau de qualification",
    "rs": "Certification ou habilitation enregistrée au répertoire spécifique (RS)",
    "cqp": "CQP non enregistré au RNCP ou au RS",
    "other": "Autre formation professionnelle",
    "skills_assessment": "Bilan de compétences",
    "vae": "Accompagnement à la validation des acquis de l'expérience (VAE)",
}
DEFAULT_OBJECTIVE = "other"

# The three-digit groups of the Nomenclature des spécialités de formation (NSF, décret n° 94-522 of 26 June 1994,
# INSEE / CNIS), with their French labels: the 92 groups of the 17 sub-domains found in the published lists
# (checked against the list Agefodd ships for the same BPF). A course's code may add the letter of a field
# (« 326t »; the letter is not checked against the nomenclature's fields); the BPF (F-4) counts by group.
NSF_GROUPS = {
    "100": "Formations générales",
    "110": "Spécialités pluriscientifiques",
    "111": "Physique-chimie",
    "112": "Chimie-biologie, biochimie",
    "113": "Sciences naturelles (biologie-géologie)",
    "114": "Mathématiques",
    "115": "Physique",
    "116": "Chimie",
    "117": "Sciences de la terre",
    "118": "Sciences de la vie",
    "120": "Spécialités pluridisciplinaires, sciences humaines et droit",
    "121": "Géographie",
    "122": "Économie",
    "123": "Sciences sociales (y compris démographie, anthropologie)",
    "124": "Psychologie",
    "125": "Linguistique",
    "126": "Histoire",
    "127": "Philosophie, éthique et théologie",
    "128": "Droit, sciences politiques",
    "130": "Spécialités littéraires et artistiques plurivalentes",
    "131": "Français, littérature et civilisation française",
    "132": "Arts plastiques",
    "133": "Musique, arts du spectacle",
    "134": "Autres disciplines artistiques et spécialités artistiques plurivalentes",
    "135": "Langues et civilisations anciennes",
    "136": "Langues vivantes, civilisations étrangères et régionales",
    "200": "Technologies industrielles fondamentales (génie industriel et procédés de transformation, spécialités "
           "à dominante fonctionnelle)",
    "201": "Technologies de commandes des transformations industrielles (automatismes et robotique industriels, "
           "informatique industrielle)",
    "210": "Spécialités plurivalentes de l'agronomie et de l'agriculture",
    "211": "Productions végétales, cultures spécialisées (horticulture, viticulture, arboriculture fruitière…)",
    "212": "Productions animales, élevage spécialisé, aquaculture, soins aux animaux, y compris vétérinaire",
    "213": "Forêts, espaces naturels, faune sauvage, pêche",
    "214": "Aménagement paysager (parcs, jardins, espaces verts, terrains de sport)",
    "220": "Spécialités pluritechnologiques des transformations",
    "221": "Agro-alimentaire, alimentation, cuisine",
    "222": "Transformations chimiques et apparentées (y compris industrie pharmaceutique)",
    "223": "Métallurgie (y compris sidérurgie, fonderie, non ferreux…)",
    "224": "Matériaux de construction, verre, céramique",
    "225": "Plasturgie, matériaux composites",
    "226": "Papier, carton",
    "227": "Énergie, génie climatique (y compris énergie nucléaire, thermique, hydraulique ; utilités : froid, "
           "climatisation, chauffage)",
    "230": "Spécialités pluritechnologiques génie civil, construction, bois",
    "231": "Mines et carrières, génie civil, topographie",
    "232": "Bâtiment : construction et couverture",
    "233": "Bâtiment : finitions",
    "234": "Travail du bois et de l'ameublement",
    "240": "Spécialités pluritechnologiques matériaux souples",
    "241": "Textile",
    "242": "Habillement (y compris mode, couture)",
    "243": "Cuirs et peaux",
    "250": "Spécialités pluritechnologiques mécanique-électricité (y compris maintenance mécano-électrique)",
    "251": "Mécanique générale et de précision, usinage",
    "252": "Moteurs et mécanique auto",
    "253": "Mécanique aéronautique et spatiale",
    "254": "Structures métalliques (y compris soudure, carrosserie, coque bateau, cellule avion)",
    "255": "Électricité, électronique (non compris automatismes, productique)",
    "300": "Spécialités plurivalentes des services",
    "310": "Spécialités plurivalentes des échanges et de la gestion (y compris administration générale des "
           "entreprises et des collectivités)",
    "311": "Transports, manutention, magasinage",
    "312": "Commerce, vente",
    "313": "Finances, banque, assurances, immobilier",
    "314": "Comptabilité, gestion",
    "315": "Ressources humaines, gestion du personnel, gestion de l'emploi",
    "320": "Spécialités plurivalentes de la communication",
    "321": "Journalisme et communication (y compris communication graphique et publicité)",
    "322": "Techniques de l'imprimerie et de l'édition",
    "323": "Techniques de l'image et du son, métiers connexes du spectacle",
    "324": "Secrétariat, bureautique",
    "325": "Documentation, bibliothèques, administration des données",
    "326": "Informatique, traitement de l'information, réseaux de transmission des données",
    "330": "Spécialités plurivalentes sanitaires et sociales",
    "331": "Santé",
    "332": "Travail social",
    "333": "Enseignement, formation",
    "334": "Accueil, hôtellerie, tourisme",
    "335": "Animation culturelle, sportive et de loisirs",
    "336": "Coiffure, esthétique et autres spécialités des services aux personnes",
    "341": "Aménagement du territoire, développement, urbanisme",
    "342": "Protection et développement du patrimoine",
    "343": "Nettoyage, assainissement, protection de l'environnement",
    "344": "Sécurité des biens et des personnes, police, surveillance (y compris hygiène et sécurité)",
    "345": "Application des droits et statut des personnes",
    "346": "Spécialités militaires",
    "410": "Spécialités concernant plusieurs capacités",
    "411": "Pratiques sportives (y compris arts martiaux)",
    "412": "Développement des capacités mentales et apprentissages de base",
    "413": "Développement des capacités comportementales et relationnelles",
    "414": "Développement des capacités individuelles d'organisation",
    "415": "Développement des capacités d'orientation, d'insertion ou de réinsertion sociales et professionnelles",
    "421": "Jeux et activités spécifiques de loisirs",
    "422": "Économie et activités domestiques",
    "423": "Vie familiale, vie sociale et autres formations au développement personnel",
}
NSF_CODE_RE = re.compile(r"^(\d{3})([a-z]?)$")


def clean_bpf_classification(objective, nsf_code) -> tuple[str, str]:
    """A course's F-3 objective (one of BPF_OBJECTIVES; empty: « other ») and NSF code (a known three-digit group,
    optionally followed by the letter of a field, stored in lower case; empty allowed)."""
    errors = ErrorCollector()
    objective = str(objective or "").strip() or DEFAULT_OBJECTIVE
    if objective not in BPF_OBJECTIVES:
        errors.add("bpf_objective", "Objectif BPF inconnu : choisissez une ligne du cadre F-3.")
    code = "".join(str(nsf_code or "").split()).lower()
    if code:
        match = NSF_CODE_RE.match(code)
        if match is None:
            errors.add("nsf_code", "Le code NSF s'écrit avec trois chiffres, éventuellement suivis d'une lettre "
                                   "(par exemple 314 ou 326t).")
        elif match.group(1) not in NSF_GROUPS:
            errors.add("nsf_code", f"Le groupe {match.group(1)} n'existe pas dans la nomenclature des spécialités "
                                   "de formation (NSF).")
    errors.raise_if_any()
    return objective, code


def nsf_group(code: str | None) -> str | None:
    match = NSF_CODE_RE.match(code or "")
    return match.group(1) if match and match.group(1) in NSF_GROUPS else None


def nsf_label(code: str | None) -> str:
    group = nsf_group(code)
    return NSF_GROUPS[group] if group else ""


def objective_label(value: str | None) -> str:
    return BPF_OBJECTIVES.get(value or "", "")
