"""A sample context for each document type, built from the tag catalogue's examples.

Used to validate an uploaded template (render it once with plausible data), to preview a template and to
show example values on the tag catalogue page. Pure and deterministic: no database, no clock, no randomness;
each call returns fresh objects, so a caller may change them.

Dotted names become nested dicts (``org.name`` → ``{"org": {"name": …}}``); a name with ``[]`` items
(``session.slots[].start``) becomes a list of two dicts, and a variable whose label says "liste de textes"
(``course.objectives``) a list of two strings. The first item carries the catalogue's example, the second a
plausible variant (``_VARIANTS``), so that a template's loops show more than one row. ``[image]`` examples
(a generated signature stroke, logo or QR code) become docxtpl ``InlineImage`` objects of the template given,
which must then be the one rendered; without a template, ``context.Picture`` values, as in real contexts.
"""
from __future__ import annotations

import functools
import math
from io import BytesIO
from typing import Any

import segno
import segno.helpers

from ..catalogue import DOC_TYPES, Var
from .context import Picture

IMAGE = "[image]"
ITEMS = 2  # items of each sample list, unless _LENGTHS says otherwise
PLACEHOLDERS = {"", "…", "...", IMAGE}

# Values that replace the catalogue's example. A tuple is indexed by the innermost list indices (a tuple of
# tuples by the two innermost ones); anything else (a string, a list of texts) is used as it is.
_VARIANTS: dict[str, Any] = {
    "course.objectives": [
        "Utiliser toutes les fonctionnalités de l'utilitaire DUME",
        "Déposer et suivre une facture sur Chorus Pro",
    ],
    "course.programme[].title": ("Le DUME", "Chorus Pro"),
    "course.programme[].when": ("Jour 1, matin", "Jour 1, après-midi"),
    "course.programme[].points": (
        ["Présentation de l'utilitaire", "Compléter et exporter un DUME"],
        ["Créer son compte et ses structures", "Déposer et suivre une facture"],
    ),
    "session.slots[].half_day": ("Matin", "Après-midi"),
    "session.slots[].start": ("08:30", "13:30"),
    "session.slots[].end": ("12:30", "17:30"),
    "session.slots[].modality": ("room", "virtual"),
    "session.slots[].modality_label": ("En salle", "Classe virtuelle"),
    "session.slots[].meeting_url": ("", "https://visio.example/abc"),
    "session.slots[].activity": ("", ""),
    # A mixed session's half-days at a distance (D6313-3-1): a virtual afternoon, an asynchronous hour the next day.
    "distance.applies": True,
    "distance.activities[].date": ("19/11/2026", "20/11/2026"),
    "distance.activities[].half_day": ("Après-midi", "Matin"),
    "distance.activities[].modality_label": ("Classe virtuelle", "Activité asynchrone"),
    "distance.activities[].start": ("13:30", "09:00"),
    "distance.activities[].end": ("16:30", "10:00"),
    "distance.activities[].hours": ("3 h", "1 h"),
    "distance.activities[].description": ("classe virtuelle de 13:30 à 16:30, animée par Pierre Lefèvre",
                                          "Compléter le DUME d'exercice fourni avec l'utilitaire en ligne et le "
                                          "déposer dans l'espace du stagiaire"),
    "distance.evaluations": ["Quiz final de validation des acquis",
                             "Quiz d'évaluation des acquis « Chorus Pro » (activité asynchrone du 20/11/2026)"],
    "mission.slots[].half_day": ("Matin", "Après-midi"),
    "mission.slots[].start": ("08:30", "13:30"),
    "mission.slots[].end": ("12:30", "17:30"),
    "funding[].payer": ("OPCO EP", "Cabinet d'architecture Dupont"),
    "funding[].amount": ("420,00 €", "780,00 €"),
    "funding[].details": ("subrogation, dossier n° 2026-123", "reste à charge, réglé par le client"),
    "trainees[].full_name": ("Julie Martin", "Thomas Durand"),
    "trainees[].job_title": ("Assistante de direction", "Chargé d'affaires"),
    # A mixed session: a morning in the room, an afternoon in a virtual classroom (its second signatures, its report).
    "sheet.slots[].label": ("Jeudi 19/11/2026, matin (08:30–12:30) – En salle",
                            "Jeudi 19/11/2026, après-midi (13:30–17:30) – Classe virtuelle"),
    "sheet.slots[].modality_label": ("En salle", "Classe virtuelle"),
    "sheet.slots[].evidence": ("", "Classe virtuelle : chaque stagiaire signe au début de la demi-journée puis à "
                                   "partir de son milieu (seconde signature) ; durée de connexion d'après le rapport "
                                   "de connexion (rapport Microsoft Teams importé le 19/11/2026 17:45, empreinte "
                                   "SHA-256 9b1f0c3e5a7d2b4f6e8a0c1d3f5b7e9a2c4e6f8b0d1a3c5e7f9b2d4a6c8e0f1b)."),
    "sheet.slots[].rows[].second_signature": (("", ""), ("", "« Hugo Petit » (nom saisi)")),
    "sheet.slots[].trainer_signed_at": ("19/11/2026 12:31", "19/11/2026 17:32"),
    "sheet.slots[].rows[].name": ("Camille Roux", "Hugo Petit"),
    "sheet.slots[].rows[].signature": (IMAGE, "« Hugo Petit » (nom saisi)"),  # drawn, then typed
    "sheet.slots[].rows[].signed_at": (("19/11/2026 08:24", "19/11/2026 09:10"),
                                       ("19/11/2026 13:28", "19/11/2026 13:31")),
    "sheet.slots[].rows[].method": ("lien personnel, signature manuscrite", "code affiché en salle, nom saisi"),
    "sheet.slots[].rows[].note": (("", "arrivé(e) à 09:10"),
                                  ("connecté(e) 3 h 58 ; seconde signature manquante",
                                   "seconde signature le 19/11/2026 15:34 ; connecté(e) 4 h")),
    "attendance.modalities[].label": ("En salle", "Classe virtuelle"),
    "attendance.modalities[].text": ("3,5 h en salle", "3,5 h en classe virtuelle"),
    "presence.modalities[].label": ("En salle", "Classe virtuelle"),
    "presence.modalities[].hours": ("3 h", "4 h"),
    "presence.modalities[].text": ("3 h en salle", "4 h en classe virtuelle"),
    "presence.by_modality": "3 h en salle et 4 h en classe virtuelle",
    "nature_boxes[].label": ("Action de formation", "Bilan de compétences", "Action de VAE",
                             "Action de formation par apprentissage"),
    "nature_boxes[].box": ("☒", "☐", "☐", "☐"),
    "quote.lines[].label": ("Marchés publics : DUME et Chorus Pro – session du 19/11/2026",
                            "Supports pédagogiques et accès à la plateforme (inclus)"),
    "quote.lines[].unit": ("600,00 €", "0,00 €"),
    "quote.lines[].total": ("1 200,00 €", "0,00 €"),
    "quote.details[].label": ("Dates", "Lieu"),
    "quote.details[].value": ("le 19/11/2026", "Salle Capitole, 12 rue des Lois, 31000 Toulouse"),
    "presence.slots[].half_day": ("Matin", "Après-midi"),
    "presence.slots[].times": ("08:30–12:30", "13:30–17:30"),
    "presence.slots[].hours": ("3 h", "4 h"),
    "presence.slots[].status": ("Présent(e), arrivé(e) à 09:30", "Présent(e)"),
    "receipt.invoices[].number": ("F2026-0003", "F2026-0011"),
    "receipt.invoices[].statement": ("Facture n° F2026-0003 acquittée le 15/12/2026 par virement, montant 600,00 €",
                                     "Facture n° F2026-0011 acquittée le 20/12/2026 par chèque, montant 120,00 €"),
    "receipt.payments[].invoice": ("F2026-0003", "F2026-0011"),
    "receipt.payments[].method": ("Virement", "Chèque"),
    "verification.url": "https://formaction.example/verification/7KQ4M2XD9TPA",
    "retention": (
        "Le dispensateur de l'action s'engage à conserver l'ensemble des pièces justificatives qui ont permis "
        "d'établir le présent certificat pendant une durée de 3 ans à compter de la fin de l'année du dernier "
        "paiement. En cas de cofinancement des fonds européens, la durée de conservation est étendue "
        "conformément aux obligations conventionnelles spécifiques."
    ),
}
# Per type: a contract is for one trainee paying personally; a quote has a number of its own.
_TYPE_VARIANTS: dict[str, dict[str, Any]] = {
    "contract": {"price.total_excl_vat": "600,00 €", "price.total_incl_vat": "600,00 €"},
    "quote": {"document.number": "DEV-2026-0003-1"},
    "trainer_contract": {"document.number": "STT-0003-5-1"},
}
_LENGTHS = {"nature_boxes": 4}


def sample_context(code: str, tpl=None) -> dict:
    """The sample context of a document type. ``tpl``: the ``DocxTemplate`` that will render it, for the
    images (``None``: images are ``context.Picture`` values)."""
    variants = {**_VARIANTS, **_TYPE_VARIANTS.get(code, {})}
    return _build(_tree(sample_variables(code)), "", (), variants, tpl)


def sample_variables(code: str) -> dict[str, Var]:
    """The variables the sample context of a type provides, by name, once each: a name restated by the type
    (to make it mandatory, often with a placeholder example such as "…") keeps the most informative example
    given for it; a list announced with fields ("liste {full_name, …}") but without its ``[]`` variables in
    this type borrows them from another type that lists them (the quote's ``trainees``)."""
    merged: dict[str, Var] = {}
    for var in DOC_TYPES[code].variables:
        previous = merged.get(var.name)
        if previous is None:
            merged[var.name] = var
            continue
        example = previous.example if var.example in PLACEHOLDERS or len(previous.example) > len(var.example) \
            else var.example
        merged[var.name] = Var(var.name, previous.label, example, previous.mandatory or var.mandatory)
    for name, var in list(merged.items()):
        prefix = f"{name}[]."
        if "liste {" in var.label and not any(other.startswith(prefix) for other in merged):
            for other_type in DOC_TYPES.values():
                for item in other_type.variables:
                    if item.name.startswith(prefix):
                        merged.setdefault(item.name, Var(item.name, item.label, item.example))
    return merged


class _Node:
    __slots__ = ("children", "is_list", "var")

    def __init__(self):
        self.children: dict[str, _Node] = {}
        self.is_list = False
        self.var: Var | None = None


def _tree(variables: dict[str, Var]) -> _Node:
    root = _Node()
    for name, var in variables.items():
        node = root
        for segment in name.split("."):
            key = segment.removesuffix("[]")
            node = node.children.setdefault(key, _Node())
            if segment.endswith("[]"):
                node.is_list = True
        node.var = var
    return root


def _build(node: _Node, path: str, index: tuple[int, ...], variants: dict, tpl) -> Any:
    if node.children:
        def item(prefix: str, idx: tuple[int, ...]) -> dict:
            return {key: _build(child, f"{prefix}.{key}" if prefix else key, idx, variants, tpl)
                    for key, child in node.children.items()}
        if node.is_list:
            return [item(f"{path}[]", index + (i,)) for i in range(_LENGTHS.get(path, ITEMS))]
        return item(path, index)
    var = node.var
    assert var is not None
    if path in variants:
        value = _pick(variants[path], index)
    elif "liste de textes" in var.label:
        value = [var.example, f"{var.example} (suite)"]
    else:
        value = var.example
    if value == IMAGE:
        return _image(path, tpl)
    return list(value) if isinstance(value, list) else value


def _pick(value: Any, index: tuple[int, ...]) -> Any:
    depth, probe = 0, value
    while isinstance(probe, tuple):
        depth, probe = depth + 1, probe[0]
    for i in index[len(index) - depth:] if depth else ():
        value = value[i % len(value)]
    return value


def _image(path: str, tpl):
    """A docxtpl InlineImage for ``tpl``; without a template, a ``context.Picture`` (which
    ``engine.render`` turns into an InlineImage of the template it renders)."""
    name = path.rsplit(".", 1)[-1]
    if path == "transfer.qr":
        data, width = _epc_png(), 32
    elif name == "qr":
        data, width = _qr_png(_VARIANTS["verification.url"]), 25
    elif name == "logo":
        data, width = _logo_png(), 35
    else:
        data, width = _signature_png(), 35
    if tpl is None:
        return Picture(data, width)
    from docx.shared import Mm  # python-docx and docxtpl load only when a template renders (0.4 s)
    from docxtpl import InlineImage

    return InlineImage(tpl, BytesIO(data), width=Mm(width))


@functools.cache
def _signature_png() -> bytes:
    """A handwritten-looking signature (an initial, a looped stroke, an underline), 300 × 100 px, transparent."""
    from PIL import Image, ImageDraw  # Pillow loads only when a sample is drawn

    image = Image.new("RGBA", (300, 100), (255, 255, 255, 0))
    draw = ImageDraw.Draw(image)
    ink = (22, 40, 110, 255)
    draw.line([(30, 78), (42, 20), (50, 16), (52, 26), (40, 60), (58, 58)], fill=ink, width=3, joint="curve")
    points = []
    for step in range(400):
        t = step / 399
        turn = 2 * math.pi * 6 * t
        y = 56 - (14 + 10 * math.sin(math.pi * t)) * (0.5 - 0.5 * math.cos(turn)) + 6 * t
        x = 58 + 200 * t - 9 * math.sin(turn) + 0.3 * (56 - y)
        points.append((round(x, 1), round(y, 1)))
    draw.line(points, fill=ink, width=3, joint="curve")
    draw.line([(24, 86), (120, 80), (210, 79), (276, 70)], fill=ink, width=2, joint="curve")
    return _png(image)


@functools.cache
def _logo_png() -> bytes:
    """A plain geometric mark, 420 × 140 px."""
    from PIL import Image, ImageDraw  # Pillow loads only when a sample is drawn

    image = Image.new("RGBA", (420, 140), (255, 255, 255, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((4, 4, 136, 136), radius=24, fill=(31, 56, 100, 255))
    draw.ellipse((34, 34, 106, 106), outline=(255, 255, 255, 255), width=10)
    draw.rectangle((66, 20, 74, 120), fill=(255, 255, 255, 255))
    for row, width in enumerate((250, 200, 150)):
        top = 30 + row * 32
        draw.rounded_rectangle((160, top, 160 + width, top + 18), radius=9, fill=(31, 56, 100, 200 - 50 * row))
    return _png(image)


@functools.cache
def _qr_png(url: str) -> bytes:
    buffer = BytesIO()
    segno.make(url, error="m").save(buffer, kind="png", scale=6, border=2)
    return buffer.getvalue()


@functools.cache
def _epc_png() -> bytes:
    """A SEPA transfer's EPC QR code with the catalogue's example bank details (billing/transfer.py)."""
    buffer = BytesIO()
    segno.helpers.make_epc_qr(name="Formaction Sud-Ouest", iban="FR7630006000011234567890189", amount=600,
                              text="F2026-0001", bic="AGRIFRPP").save(buffer, kind="png", scale=5, border=4)
    return buffer.getvalue()


def _png(image) -> bytes:
    buffer = BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
