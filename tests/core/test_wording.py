"""Wording: participles agree with what they describe, counts say « 1 réponse » / « 3 réponses » rather than
« réponse(s) », and the survey charts keep a sensible size."""
from __future__ import annotations

import io
import pathlib
import re
import tokenize

from trainingmgr.core.formatting import FILTERS, count_fr, plural_fr
from trainingmgr.documents.catalogue import DOC_TYPES

ROOT = pathlib.Path(__file__).resolve().parents[2]

# The head noun of each document type's label and its gender: a new type fails here until its gender is set.
HEAD_NOUNS = {"Convention": True, "Contrat": False, "Convocation": True, "Programme": False, "Règlement": False,
              "Feuille": True, "Attestation": True, "Certificat": False, "Devis": False, "Facture": True}


def test_every_document_type_has_the_gender_of_its_label():
    for code, doc_type in DOC_TYPES.items():
        head = doc_type.label.split(" ", 1)[0]
        assert head in HEAD_NOUNS, f"{code}: say whether « {head} » is feminine (DocType.feminine)"
        assert doc_type.feminine is HEAD_NOUNS[head], code
    assert DOC_TYPES["certificate"].agree("généré") == "généré"
    assert DOC_TYPES["convention"].agree("généré") == "générée" and DOC_TYPES["convention"].agree("mis") == "mise"


def _sources():
    for folder, suffixes in (("trainingmgr", (".py",)), ("templates", (".html", ".txt"))):
        for path in (ROOT / folder).rglob("*"):
            if path.suffix in suffixes:
                yield path, path.read_text(encoding="utf-8")


# Participles about things whose gender the code knows (documents, slots, lines…): « (e) » is a slip there. About
# people, whose gender the application does not record (« inscrit(e) », « présent(e) »), it stays.
THING_PARTICIPLES = re.compile(r"\b(mis|généré|envoyé|ajouté|supprimé|modifié|créé|émis|signé)\(e\)")


def test_no_undecided_participle_about_a_thing():
    found = [f"{path.relative_to(ROOT)}: {match[0]}" for path, text in _sources()
             for match in THING_PARTICIPLES.finditer(text)]
    assert not found, found


def test_a_document_label_is_never_followed_by_a_fixed_feminine():
    pattern = re.compile(r"document\.label\}[^\"'\n]{0,40}\b(générée|envoyée|mise|signée)\b")
    found = [f"{path.relative_to(ROOT)}" for path, text in _sources() if pattern.search(text)]
    assert not found, found


def test_counts_agree_with_their_number():
    assert count_fr(0, "réponse envoyée") == "0 réponse envoyée"
    assert count_fr(1, "réponse envoyée") == "1 réponse envoyée"
    assert count_fr(3, "réponse envoyée") == "3 réponses envoyées"
    assert count_fr(2, "passif") == "2 passifs" and count_fr(None, "entrée") == "0 entrée"
    assert count_fr(2, "travail", "travaux") == "2 travaux"


def test_a_count_agrees_from_two_and_groups_thousands_as_babel():
    """French: 0 and 1 take the singular; thousands are grouped by a narrow no-break space, as number_fr does."""
    assert [count_fr(n, "e-mail envoyé") for n in (0, 1, 2)] == ["0 e-mail envoyé", "1 e-mail envoyé",
                                                                "2 e-mails envoyés"]
    assert count_fr(1234, "e-mail") == "1\u202f234 e-mails"
    assert count_fr(1_234_567, "ligne") == "1\u202f234\u202f567 lignes"
    assert count_fr(0, "e-mail", zero="aucun e-mail") == "aucun e-mail"
    assert count_fr(1, "e-mail", zero="aucun e-mail") == "1 e-mail"
    assert count_fr(-3, "jour") == "-3 jours"
    assert plural_fr(1, "déjà partie", "déjà parties") == "déjà partie"
    assert plural_fr(2, "déjà partie", "déjà parties") == "déjà parties"
    assert plural_fr(5, "clé de scellement", "clés de scellement") == "clés de scellement"


def test_the_templates_have_the_count_filters(app):
    env = app.jinja_env
    assert FILTERS["plural_fr"] is plural_fr
    rendered = env.from_string("{{ n|count_fr('stagiaire trouvé') }} · {{ n|plural_fr('terminé') }}")
    assert rendered.render(n=1) == "1 stagiaire trouvé · terminé"
    assert rendered.render(n=1500) == "1\u202f500 stagiaires trouvés · terminés"


# Plurals still written « (s) », left to their owners: the worker loop's long-task line (messaging/cli.py). Remove an
# entry once its text says the count properly.
PENDING_BRACKET_PLURALS = {
    "trainingmgr/messaging/cli.py": "Traitements longs : {done} terminé(s)",
    "trainingmgr/signing/pades.py": "evidence page(s)",  # English docstrings
}
BRACKET_PLURAL = re.compile(r"[a-zàâçéèêëîïôûù]\((?:s|es|x)\)")


def _texts(path: pathlib.Path, text: str):
    """The lines a user may read: a template's whole text, a module's string literals (f-strings included)."""
    if path.suffix != ".py":
        yield from text.splitlines()
        return
    kinds = {tokenize.STRING} | {getattr(tokenize, "FSTRING_MIDDLE", tokenize.STRING)}
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        if token.type in kinds:
            yield token.string


def test_no_count_says_s_in_brackets():
    """A French plural is never written « e-mail(s) »: count_fr / plural_fr (or the Jinja filters) agree it."""
    found = []
    for path, text in _sources():
        name = str(path.relative_to(ROOT))
        pending = PENDING_BRACKET_PLURALS.get(name, "")
        found += [f"{name}: {line.strip()}" for line in _texts(path, text) if BRACKET_PLURAL.search(line)
                  and not (name in PENDING_BRACKET_PLURALS and (pending is None or pending in line))]
    assert not found, found


def test_the_survey_results_say_no_s_in_brackets():
    for name in ("results_detail.html", "results_macros.html"):
        text = (ROOT / "templates" / "evaluations" / name).read_text(encoding="utf-8")
        assert "(s)" not in text, name
    assert "(s)" not in (ROOT / "templates" / "audit" / "index.html").read_text(encoding="utf-8")


def test_the_distribution_chart_keeps_its_drawing_size():
    """pygal draws 420 × 240 with a viewBox and no size: without a bound it would fill the whole table width
    (about 700 px high on a desktop). The figure is bounded and the SVG scales down on a phone."""
    css = (ROOT / "static" / "app.css").read_text(encoding="utf-8")
    detail = (ROOT / "templates" / "evaluations" / "results_detail.html").read_text(encoding="utf-8")
    assert 'class="chart chart-distribution' in detail and 'class="mb-4 chart chart-averages"' in detail
    rules = dict(re.findall(r"(\.chart[\w-]*(?: svg)?) \{([^}]*)\}", css))
    assert "max-width: 26.25rem" in rules[".chart-distribution"]  # 420 px at 16 px/rem
    assert "width: 100%" in rules[".chart svg"] and "height: auto" in rules[".chart svg"]
