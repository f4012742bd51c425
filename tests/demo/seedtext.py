"""Read the two original seed brochures (copied verbatim from shared/seeds/ into seed_files/) into plain
fields, independently of trainingmgr.demo.seeds, so that the demo data can be compared with the text."""
from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

SEED_DIR = Path(__file__).parent / "seed_files"
CHORUS_FILE = SEED_DIR / "course-chorus-pro-7h.txt"
DUME_FILE = SEED_DIR / "course-dume-chorus-pro-8h.txt"


def squash(text: str) -> str:
    """Join wrapped lines: every run of whitespace becomes one space."""
    return re.sub(r"\s+", " ", text).strip()


def _paragraphs(text: str) -> list[str]:
    return [p for p in re.split(r"\n\s*\n", text) if p.strip()]


def _sentences_by_line_end(body: str) -> list[str]:
    """Lines wrapped anywhere; an entry ends with a line ending in a full stop."""
    entries, current = [], []
    for line in body.splitlines():
        line = line.strip()
        if not line:
            continue
        current.append(line)
        if line.endswith("."):
            entries.append(" ".join(current))
            current = []
    if current:
        entries.append(" ".join(current))
    return entries


def _chorus_items(body: str) -> list[str]:
    """Items are separated by blank lines or start with "-"; other line breaks are wrapping."""
    items = []
    for paragraph in _paragraphs(body):
        current: list[str] = []
        for line in paragraph.splitlines():
            line = line.strip()
            if not line:
                continue
            if line.startswith("-"):
                if current:
                    items.append(" ".join(current))
                current = [line[1:].strip()]
            else:
                current.append(line)
        if current:
            items.append(" ".join(current))
    return items


def chorus() -> dict:
    """The Chorus Pro brochure (a markdown export: **bold** headings, "  " line breaks)."""
    text = CHORUS_FILE.read_text(encoding="utf-8")
    chunks = re.split(r"\*\*(.+?)\*\*", text)
    assert not chunks[0].strip(), "the brochure starts with a heading"
    sections = list(zip(chunks[1::2], chunks[2::2]))
    out: dict = {"programme": [], "labels": []}
    day = half = None
    in_programme = False
    for heading, body in sections:
        heading = heading.strip()
        if heading == "Durée :":
            match = re.search(r"(\d+) jour soit (\d+) heures", body)
            out["duration_days"], out["duration_hours"] = Decimal(match.group(1)), Decimal(match.group(2))
            match = re.search(r"groupe de (\d+) à (\d+) stagiaires maximum", body)
            out["min_trainees"], out["max_trainees"] = int(match.group(1)), int(match.group(2))
        elif heading == "Public :":
            out["audience"] = squash(body)
        elif heading == "Pré requis :":
            out["prerequisites"] = squash(body)
        elif heading == "Objectifs et compétences visées :":
            out["objectives"] = _sentences_by_line_end(body)
        elif heading == "Méthode pédagogique et suivi qualité :":
            out["methods_and_quality"] = squash(body)
        elif heading == "Compétences formateurs :":
            out["trainer_competences"] = squash(body)
        elif heading == "Programme de formation :":
            in_programme = True
        elif in_programme and re.fullmatch(r"Jour \d+", heading):
            day = int(heading.split()[1])
        elif in_programme and heading in ("Matin", "Après midi", "Après-midi"):
            half = "morning" if heading == "Matin" else "afternoon"
            out.setdefault("half_day_headings", []).append(heading)
        elif heading.startswith("Label "):
            out["labels"].append({"name": heading, "description": squash(body)})
        elif in_programme:
            out["programme"].append({"title": heading, "day": day, "half_day": half, "items": _chorus_items(body)})
        else:  # pragma: no cover - a heading this reader does not know
            raise AssertionError(f"unknown heading in the Chorus Pro brochure: {heading!r}")
    return out


def dume() -> dict:
    """The DUME / Chorus Pro brochure (a PDF export: "Label : value" lines, "•" bullets)."""
    text = DUME_FILE.read_text(encoding="utf-8")
    paragraphs = _paragraphs(text)
    out: dict = {"title": squash(paragraphs[0]), "tagline": squash(paragraphs[1])}
    head, rest = text.split("\nObjectifs\n", 1)
    flat = squash(head)
    out["duration_hours"] = Decimal(re.search(r"Durée : (\d+) heures", flat).group(1))
    match = re.search(r"Organisation : en (\S+), en (\S+) Prérequis", flat)
    out["audience_format_text"], out["delivery_mode_text"] = match.group(1), match.group(2)
    out["prerequisites_text"] = re.search(r"Prérequis : (\S+)", flat).group(1)
    out["teaching_methods"] = re.search(r"Méthode pédagogique : (.+?) Validation des acquis", flat).group(1)
    out["assessment"] = re.search(r"Validation des acquis : (.+?) Maximum de participants", flat).group(1)
    out["max_trainees"] = int(re.search(r"Maximum de participants : (\d+)", flat).group(1))
    match = re.search(r"Tarif : (\d+) € HT", flat)
    out["price_per_trainee"] = Decimal(match.group(1))
    out["next_session"] = re.search(r"Prochaine session (.+?) Lieu", flat).group(1)
    out["location_text"] = re.search(r"Lieu : (.+)$", flat).group(1)
    objectives_text, programme_text = rest.split("\nProgramme détaillé\n", 1)
    out["objectives"] = [squash(o) for o in objectives_text.split("•") if o.strip()]
    out["programme"] = []
    for paragraph in _paragraphs(programme_text):
        title, _, body = paragraph.strip().partition("\n")
        items = [squash(i) for i in body.split("•") if i.strip()]
        out["programme"].append({"title": title.strip(), "day": None, "half_day": None, "items": items})
    out["raw"] = text
    return out
