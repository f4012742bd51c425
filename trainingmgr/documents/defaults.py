"""The default Word templates (documents/*.docx), built with python-docx.

    python -m trainingmgr.documents.defaults [DIR]      (DIR: the project's documents/ by default)

rebuilds the templates named in catalogue.DOC_TYPES. They use docxtpl's syntax: ``{{ var }}``,
``{%p for … %}`` / ``{%p endfor %}`` alone in a paragraph, ``{%tr for … %}`` / ``{%tr endfor %}`` alone in
a table row, and every tag is written inside a single run. The output is reproducible (fixed dates in the
document properties and in the zip entries), so an unchanged build leaves the committed files unchanged.
"""
from __future__ import annotations

import datetime as dt
import io
import os
import re
import sys
import zipfile
from dataclasses import dataclass

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_ROW_HEIGHT_RULE, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor

from .catalogue import DOC_TYPES

DEFAULT_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "documents")
FONT = "Arial"
SYMBOL_FONT = "Segoe UI Symbol"  # ☒ ☐ (Word); LibreOffice falls back to a font that has them
ACCENT = RGBColor(0x1F, 0x38, 0x64)
GREY = RGBColor(0x59, 0x59, 0x59)
SHADE = "DCE3EE"
BUILT_AT = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
LEFT, CENTER, RIGHT, JUSTIFY = (WD_ALIGN_PARAGRAPH.LEFT, WD_ALIGN_PARAGRAPH.CENTER, WD_ALIGN_PARAGRAPH.RIGHT,
                                WD_ALIGN_PARAGRAPH.JUSTIFY)


# --------------------------------------------------------------------------- building blocks


@dataclass
class R:
    """A run: text (tags included, never split) and its formatting."""

    text: str
    bold: bool = False
    italic: bool = False
    size: float | None = None
    color: RGBColor | None = None
    font: str | None = None


class P:
    """A paragraph of runs (plain strings are runs without formatting)."""

    def __init__(self, *runs, style=None, align=None, size=None, after=None, before=None, keep_next=False):
        self.runs, self.style, self.align, self.size = runs, style, align, size
        self.after, self.before, self.keep_next = after, before, keep_next


def B(text: str, **kw) -> R:
    return R(text, bold=True, **kw)


def I(text: str, **kw) -> R:  # noqa: E743
    return R(text, italic=True, **kw)


def _typography(text: str) -> str:
    """French spacing in the fixed text (never inside tags): no line break before « : ; ! ? % » or inside
    guillemets."""
    parts = re.split(r"({{.*?}}|{%.*?%})", text)
    for i in range(0, len(parts), 2):
        part = re.sub(r" (?=[:;!?](\s|$))", "\u00a0", parts[i])
        part = re.sub(r" (?=%)", "\u00a0", part)
        parts[i] = part.replace("« ", "«\u00a0").replace(" »", "\u00a0»")
    return "".join(parts)


def _add_runs(paragraph, runs, size=None) -> None:
    for spec in runs:
        spec = R(spec) if isinstance(spec, str) else spec
        run = paragraph.add_run(_typography(spec.text))
        run.bold = spec.bold or None
        run.italic = spec.italic or None
        if spec.size or size:
            run.font.size = Pt(spec.size or size)
        if spec.color is not None:
            run.font.color.rgb = spec.color
        if spec.font:
            _set_font(run._r.get_or_add_rPr(), spec.font)


def _format(paragraph, spec: P) -> None:
    if spec.style:
        paragraph.style = spec.style
    fmt = paragraph.paragraph_format
    if spec.align is not None:
        paragraph.alignment = spec.align
    if spec.after is not None:
        fmt.space_after = Pt(spec.after)
    if spec.before is not None:
        fmt.space_before = Pt(spec.before)
    if spec.keep_next:
        fmt.keep_with_next = True
    _add_runs(paragraph, spec.runs, spec.size)


def _as_paragraphs(value) -> list[P]:
    if isinstance(value, P):
        return [value]
    if isinstance(value, (str, R)):
        return [P(value)]
    return [p for item in value for p in _as_paragraphs(item)]


def _set_font(rpr, name: str) -> None:
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attribute in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(attribute), None)
    for attribute in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        fonts.set(qn(attribute), name)


def _shade(cell, fill: str) -> None:
    tcpr = cell._tc.get_or_add_tcPr()
    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), fill)
    tcpr.append(shd)


def _row_flag(row, tag: str) -> None:
    trpr = row._tr.get_or_add_trPr()
    trpr.append(OxmlElement(tag))


def _border(paragraph, side: str, color: str = "1F3864", size: int = 6) -> None:
    ppr = paragraph._p.get_or_add_pPr()
    borders = OxmlElement("w:pBdr")
    line = OxmlElement(f"w:{side}")
    for key, value in (("w:val", "single"), ("w:sz", str(size)), ("w:space", "1"), ("w:color", color)):
        line.set(qn(key), value)
    borders.append(line)
    ppr.append(borders)


def _field(paragraph, instruction: str) -> None:
    simple = OxmlElement("w:fldSimple")
    simple.set(qn("w:instr"), instruction)
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "1"
    run.append(text)
    simple.append(run)
    paragraph._p.append(simple)


class Builder:
    """A document under construction: A4, the organisation's header and footer, French styles."""

    def __init__(self, title: str, landscape: bool = False):
        self.document = Document()
        self.landscape = landscape
        self._styles()
        section = self.document.sections[0]
        if landscape:
            section.orientation = WD_ORIENT.LANDSCAPE
            section.page_width, section.page_height = Mm(297), Mm(210)
            margin = Mm(15)
        else:
            section.page_width, section.page_height = Mm(210), Mm(297)
            margin = Mm(20)
        section.left_margin = section.right_margin = margin
        section.top_margin, section.bottom_margin = Mm(15), Mm(15)
        section.header_distance, section.footer_distance = Mm(8), Mm(8)
        self.width = (297 if landscape else 210) - 2 * margin.mm
        properties = self.document.core_properties
        properties.title, properties.author, properties.last_modified_by = title, "trainingmgr", "trainingmgr"
        properties.language, properties.revision = "fr-FR", 1
        properties.created = properties.modified = BUILT_AT.replace(tzinfo=None)
        properties.comments = "Modèle docxtpl : voir le catalogue des variables dans l'application."
        self._header()
        self._footer()
        # Use the template's empty first paragraph, if it has one, for the first line.
        self._first = self.document.paragraphs[0] if self.document.paragraphs else None

    # ----------------------------------------------------------------- styles, header, footer

    def _styles(self) -> None:
        styles = self.document.styles
        defaults = styles.element.find(qn("w:docDefaults"))
        rpr = defaults.find(qn("w:rPrDefault")).find(qn("w:rPr"))
        _set_font(rpr, FONT)
        rpr.find(qn("w:sz")).set(qn("w:val"), "19")
        rpr.find(qn("w:szCs")).set(qn("w:val"), "19")
        lang = rpr.find(qn("w:lang"))
        lang.set(qn("w:val"), "fr-FR")
        lang.set(qn("w:eastAsia"), "fr-FR")
        spacing = defaults.find(qn("w:pPrDefault")).find(qn("w:pPr")).find(qn("w:spacing"))
        spacing.set(qn("w:after"), "60")
        spacing.set(qn("w:line"), "259")

        def style(name, size=None, bold=None, italic=None, color=None, before=None, after=None, align=None):
            st = styles[name]
            _set_font(st.element.get_or_add_rPr(), FONT)
            for child in list(st.element.rPr):
                if child.tag in (qn("w:color"), qn("w:spacing"), qn("w:kern")):
                    st.element.rPr.remove(child)
            if st.element.pPr is not None:
                for child in list(st.element.pPr):
                    if child.tag == qn("w:pBdr"):
                        st.element.pPr.remove(child)
            if size:
                st.font.size = Pt(size)
            st.font.bold, st.font.italic = bold, italic
            if color is not None:
                st.font.color.rgb = color
            fmt = st.paragraph_format
            if before is not None:
                fmt.space_before = Pt(before)
            if after is not None:
                fmt.space_after = Pt(after)
            if align is not None:
                fmt.alignment = align
            return st

        style("Title", 16, True, color=ACCENT, before=6, after=2, align=CENTER)
        style("Subtitle", 8.5, False, True, GREY, after=8, align=CENTER)
        style("Heading 1", 10.5, True, color=ACCENT, before=9, after=3)
        style("Heading 2", 9.5, True, color=ACCENT, before=6, after=2)
        style("Header", 8, color=GREY)
        style("Footer", 7, color=GREY, align=CENTER)
        style("List Bullet", 9.5, after=1)
        style("List Bullet 2", 9, after=0)
        style("Caption", 7.5, False, True, GREY, after=2)

    def _header(self) -> None:
        header = self.document.sections[0].header
        left = self.width - 60
        table = header.add_table(rows=1, cols=2, width=Mm(self.width))
        self._widths(table, [left, 60])
        name, logo = table.rows[0].cells
        name.paragraphs[0].style = "Header"
        _add_runs(name.paragraphs[0], [B("{{ org.name }}", size=11, color=ACCENT)])
        for text in ("{% if org.legal_form %}{{ org.legal_form }} – {% endif %}{{ org.address }}",
                     "SIRET {{ org.siret }}{% if org.email %} – {{ org.email }}{% endif %}"
                     "{% if org.phone %} – {{ org.phone }}{% endif %}"):
            paragraph = name.add_paragraph(style="Header")
            _add_runs(paragraph, [text])
        logo.paragraphs[0].style = "Header"
        logo.paragraphs[0].alignment = RIGHT
        _add_runs(logo.paragraphs[0], ["{% if org.logo %}{{ org.logo }}{% endif %}"])
        rule = header.paragraphs[0]
        header._element.append(rule._p)  # a story ends with a paragraph: the rule under the header
        rule.paragraph_format.space_after = Pt(4)
        _border(rule, "bottom")

    def _footer(self) -> None:
        footer = self.document.sections[0].footer
        first = footer.paragraphs[0]
        first.style = "Footer"
        _border(first, "top", "A6A6A6", 4)
        first.paragraph_format.space_before = Pt(2)
        _add_runs(first, ["{{ org.nda_mention }}"])
        second = footer.add_paragraph(style="Footer")
        _add_runs(second, ["{{ org.name }} – SIRET {{ org.siret }}"
                           "{% if org.qualiopi %} – {{ org.qualiopi }}{% endif %}"])
        third = footer.add_paragraph(style="Footer")
        _add_runs(third, ["Page "])
        _field(third, "PAGE")
        _add_runs(third, [" / "])
        _field(third, "NUMPAGES")

    # ----------------------------------------------------------------- content

    def p(self, *runs, **options):
        spec = P(*runs, **options)
        if self._first is not None:
            paragraph, self._first = self._first, None
        else:
            paragraph = self.document.add_paragraph()
        _format(paragraph, spec)
        return paragraph

    def title(self, text: str, subtitle: str | None = None) -> None:
        self.p(text, style="Title")
        if subtitle:
            self.p(subtitle, style="Subtitle")

    def h1(self, text: str) -> None:
        self.p(text, style="Heading 1")

    def h2(self, *runs) -> None:
        self.p(*runs, style="Heading 2")

    def field(self, label: str, *value, **options) -> None:
        """A « Label : value » line."""
        self.p(B(f"{label} : "), *value, **options)

    def tag(self, text: str) -> None:
        """A paragraph holding only a {%p … %} tag (removed by the rendering)."""
        self.p(text)

    def bullets(self, loop: str, *item, style: str = "List Bullet") -> None:
        """One bullet per item of a list: ``loop`` is "x in list"."""
        self.tag(f"{{%p for {loop} %}}")
        self.p(*item, style=style)
        self.tag("{%p endfor %}")

    def table(self, widths, header=None, rows=(), loop: str | None = None, style="Table Grid", size=8.5,
              header_repeat=True, first_column_shaded=False, min_height: float | None = None, gap: float = 4):
        """A table: ``header`` (shaded) and ``rows``; with ``loop`` ("x in list"), the last row is repeated for
        each item of the list ({%tr for %} / {%tr endfor %} rows around it). A small empty paragraph (``gap``
        points) follows it."""
        rows = list(rows)
        if self._first is not None:  # a table cannot be the first element: keep the empty paragraph
            self.p("", after=0)
        table = self.document.add_table(rows=0, cols=len(widths))
        table.style = style
        table.alignment = WD_TABLE_ALIGNMENT.CENTER
        table.autofit = False

        def add(cells, bold=False, shaded=False):
            row = table.add_row()
            for index, (cell, value) in enumerate(zip(row.cells, cells)):
                paragraphs = _as_paragraphs(value if value is not None else "")
                for number, spec in enumerate(paragraphs):
                    paragraph = cell.paragraphs[0] if number == 0 else cell.add_paragraph()
                    paragraph.paragraph_format.space_after = Pt(1)
                    if bold:
                        spec = P(*[B(r) if isinstance(r, str) else r for r in spec.runs], align=spec.align)
                    _format(paragraph, P(*spec.runs, style=spec.style, align=spec.align, size=spec.size or size,
                                         after=spec.after if spec.after is not None else 1))
                if shaded or (first_column_shaded and index == 0):
                    _shade(cell, SHADE)
            _row_flag(row, "w:cantSplit")
            return row

        if header:
            header_row = add(header, bold=True, shaded=True)
            if header_repeat:
                _row_flag(header_row, "w:tblHeader")
        body = rows[:-1] if loop else rows
        for cells in body:
            add(cells)
        if loop:
            add([f"{{%tr for {loop} %}}"] + [""] * (len(widths) - 1))
            last = add(rows[-1])
            if min_height:
                last.height, last.height_rule = Mm(min_height), WD_ROW_HEIGHT_RULE.AT_LEAST
            add(["{%tr endfor %}"] + [""] * (len(widths) - 1))
        elif min_height:
            for row in table.rows[1 if header else 0:]:
                row.height, row.height_rule = Mm(min_height), WD_ROW_HEIGHT_RULE.AT_LEAST
        self._widths(table, widths)
        if gap:
            self.p("", after=0, size=gap)
        return table

    @staticmethod
    def _widths(table, widths) -> None:
        for column, width in zip(table.columns, widths):
            column.width = Mm(width)
        for row in table.rows:
            for cell, width in zip(row.cells, widths):
                cell.width = Mm(width)

    def signatures(self, left: list, right: list, height: float = 32) -> None:
        """Two signature boxes side by side: a caption list each, then room to sign."""
        half = self.width / 2
        self.table([half, half], rows=[[left, right]], size=9, min_height=height)

    def save(self, path: str) -> None:
        buffer = io.BytesIO()
        self.document.save(buffer)
        _write_reproducibly(buffer.getvalue(), path)


def _write_reproducibly(data: bytes, path: str) -> None:
    """Rewrite the zip with fixed entry dates and order, so that an unchanged build gives the same bytes."""
    source = zipfile.ZipFile(io.BytesIO(data))
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as target:
        for name in source.namelist():
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            target.writestr(info, source.read(name))
    with open(path, "wb") as handle:
        handle.write(output.getvalue())


# --------------------------------------------------------------------------- shared sections


def _session_slots(doc: Builder) -> None:
    doc.table([40, 45, 55, 30], ["Date", "Demi-journée", "Horaires", "Durée"],
              [["{{ s.date }}", "{{ s.half_day }}", "{{ s.start }} – {{ s.end }}", "{{ s.hours }}"]],
              loop="s in session.slots")


def _convocation_slots(doc: Builder) -> None:
    """The half-days with their modality: the meeting link of a virtual classroom, the activity of an asynchronous
    one (issue 27: the link is sent in the convocation)."""
    doc.table([27, 25, 28, 15, 75], ["Date", "Demi-journée", "Horaires", "Durée", "Modalité"],
              [["{{ s.date }}", "{{ s.half_day }}", "{{ s.start }} – {{ s.end }}", "{{ s.hours }}",
                ["{{ s.modality_label }}",
                 "{% if s.meeting_url %}Lien de connexion : {{ s.meeting_url }}{% endif %}"
                 "{% if s.activity %}{{ s.activity }}{% endif %}"]]],
              loop="s in session.slots")


def _distance(doc: Builder, heading) -> None:
    """An action carried out wholly or partly at a distance (Code du travail D6313-3-1): the assistance of the trainee,
    each activity at a distance with its estimated duration, the evaluations. Only when ``distance.applies``: a
    room-only session's document reads as before. ``heading``: Builder.h1 or Builder.h2."""
    doc.tag("{%p if distance.applies %}")
    heading("Formation à distance (article D6313-3-1 du Code du travail)")
    doc.p("{{ distance.wording }} ; durée estimée des activités à distance : {{ distance.total }}.", align=JUSTIFY)
    doc.field("Assistance technique et pédagogique du stagiaire", "{{ distance.assistance }}", align=JUSTIFY)
    doc.p(B("Activités pédagogiques à distance et leur durée moyenne estimée :"), keep_next=True)
    doc.table([25, 22, 30, 75, 18], ["Date", "Demi-journée", "Modalité", "Activité", "Durée estimée"],
              [["{{ a.date }}", "{{ a.half_day }}", "{{ a.modality_label }}", "{{ a.description }}", "{{ a.hours }}"]],
              loop="a in distance.activities", size=8.5)
    doc.p(B("Évaluations qui jalonnent ou concluent l'action :"), keep_next=True)
    doc.bullets("e in distance.evaluations", "{{ e }}")
    doc.tag("{%p endif %}")


def _objectives(doc: Builder) -> None:
    doc.bullets("o in course.objectives", "{{ o }}")


def _programme_parts(doc: Builder, with_points: bool = True) -> None:
    doc.tag("{%p for part in course.programme %}")
    if with_points:
        doc.p(B("{{ part.title }}"), I("{% if part.when %} – {{ part.when }}{% endif %}"), after=1, keep_next=True)
        doc.bullets("point in part.points", "{{ point }}", style="List Bullet 2")
    else:
        doc.p("{{ part.title }}", I("{% if part.when %} ({{ part.when }}){% endif %}"), style="List Bullet")
    doc.tag("{%p endfor %}")


def _place_line(doc: Builder) -> None:
    doc.field("Lieu", "{{ session.place }}")
    doc.tag("{%p if session.access_notes %}")
    doc.field("Accès", "{{ session.access_notes }}")
    doc.tag("{%p endif %}")


def _price_table(doc: Builder, count: str = "{{ trainees|length }}") -> None:
    doc.table([120, 50], ["Désignation", "Montant"], [
        ["Prix par stagiaire (HT)", P("{{ price.unit_excl_vat }}", align=RIGHT)],
        ["Nombre de stagiaires", P(count, align=RIGHT)],
        ["Total HT", P("{{ price.total_excl_vat }}", align=RIGHT)],
        ["TVA", P("{{ price.vat }}", align=RIGHT)],
        [B("Total TTC"), P(B("{{ price.total_incl_vat }}"), align=RIGHT)],
    ], size=9, gap=0)
    doc.p(I("{{ price.vat_mention }}", size=8.5), before=2)


def _funding(doc: Builder, intro: str) -> None:
    doc.tag("{%p if funding %}")
    doc.p(intro, keep_next=True)
    doc.table([65, 35, 70], ["Payeur", "Montant", "Précisions"],
              [["{{ f.payer }}", P("{{ f.amount }}", align=RIGHT), "{{ f.details }}"]], loop="f in funding", size=9)
    doc.tag("{%p endif %}")


def _trainers(doc: Builder) -> None:
    """Each trainer with the titles, diplomas and references of their record (L6353-4, 4°)."""
    doc.bullets("t in session.trainer_details", B("{{ t.name }}"), " – {{ t.competences }}")


def _org_party(doc: Builder) -> None:
    doc.p(B("Entre les soussignés :"))
    doc.p(B("{{ org.name }}"), "{% if org.legal_form %}, {{ org.legal_form }}{% endif %}, {{ org.address }}, "
          "SIRET {{ org.siret }}{% if org.nda %}, déclaration d'activité n° {{ org.nda }}{% endif %}, "
          "représenté(e) par {{ org.signatory_name }}, {{ org.signatory_title }}, ci-après « l'organisme de "
          "formation »,", align=JUSTIFY)


def _done_at(doc: Builder, copies: str = "") -> None:
    doc.p(f"Fait{copies} à {{{{ org.city }}}}, le {{{{ today }}}}.", before=8, keep_next=True)


# --------------------------------------------------------------------------- the eight templates


def convention() -> Builder:
    doc = Builder("Convention de formation professionnelle")
    doc.title("CONVENTION DE FORMATION PROFESSIONNELLE",
              "Articles L6353-1 et D6353-1 du Code du travail")
    doc.p(B("N° {{ document.number }}"), " – session {{ session.reference }}", align=CENTER, after=8)

    _org_party(doc)
    doc.p(B("et {{ client.name }}"), ", SIRET {{ client.siret }}, {{ client.address }}"
          "{% if client.signatory %}, représenté(e) par {{ client.signatory }}{% endif %}, ci-après « le client »,",
          align=JUSTIFY)
    doc.p("est conclue la présente convention, en application des dispositions du livre III de la sixième "
          "partie du Code du travail relatives à la formation professionnelle.", align=JUSTIFY)

    doc.h1("Article 1 – Objet, nature et contenu de l'action")
    doc.p("L'organisme de formation organise pour le client l'action de formation (article L6313-1 du Code du "
          "travail) intitulée :")
    doc.p(B("« {{ course.title }} »", size=10.5), align=CENTER)
    doc.p(B("Objectifs opérationnels :"), keep_next=True)
    _objectives(doc)
    doc.field("Public visé", "{{ course.audience }}")
    doc.field("Prérequis", "{{ course.prerequisites }}")
    doc.p(B("Contenu : "), "le programme détaillé ({{ course.version }}) est annexé à la présente convention ; "
          "il comprend les parties suivantes :", keep_next=True)
    _programme_parts(doc, with_points=False)

    doc.h1("Article 2 – Moyens et modalités pédagogiques")
    doc.field("Modalité", "{{ course.delivery_mode }}")
    doc.field("Méthodes et moyens pédagogiques", "{{ course.teaching_methods }}")
    doc.field("Moyens matériels", "{{ session.material_resources }}")
    doc.p(B("Titres et qualifications de l'équipe pédagogique :"), keep_next=True)
    _trainers(doc)
    doc.field("Accessibilité", "{{ course.accessibility }} – référent handicap : {{ org.disability_contact }}")
    _distance(doc, doc.h2)

    doc.h1("Article 3 – Suivi de l'exécution, évaluation et sanction")
    doc.p("L'exécution de l'action est justifiée par des feuilles d'émargement signées par demi-journée par "
          "chaque stagiaire et par le formateur (signature électronique horodatée).", align=JUSTIFY)
    doc.field("Modalités d'évaluation et de sanction", "{{ course.assessment_methods }}")
    doc.p("À l'issue de l'action, l'organisme remet à chaque stagiaire une attestation de fin de formation "
          "(article L6353-1) et adresse au client un certificat de réalisation par stagiaire.", align=JUSTIFY)

    doc.h1("Article 4 – Durée, dates et lieu")
    doc.p("L'action se déroule {{ session.dates }}, pour une durée de {{ session.hours }} par stagiaire "
          "(durée au programme : {{ course.duration }}), selon le calendrier suivant :", keep_next=True)
    _session_slots(doc)
    _place_line(doc)

    doc.h1("Article 5 – Stagiaires")
    doc.p("Nombre de stagiaires inscrits par le client, admis après vérification des prérequis : "
          "{{ trainees|length }}.", keep_next=True)
    doc.table([60, 55, 55], ["Nom", "Fonction", "Entreprise"],
              [["{{ t.full_name }}", "{{ t.job_title }}", "{{ t.company }}"]], loop="t in trainees", size=9)

    doc.h1("Article 6 – Prix et modalités de règlement")
    _price_table(doc)
    _funding(doc, "Financement prévu :")
    doc.p("En cas de prise en charge par un OPCO, le client s'assure de l'accord de prise en charge avant le "
          "début de l'action ; la part non prise en charge, quel qu'en soit le motif, reste due par le client.",
          align=JUSTIFY)
    doc.field("Modalités de règlement", "{{ org.payment_terms }}")

    doc.h1("Article 7 – Abandon, annulation, dédit et report")
    doc.p(B("Abandon en cours de formation. "), "Si un stagiaire abandonne la formation ou ne la suit qu'en partie, "
          "seules les heures effectivement suivies, attestées par les feuilles d'émargement, sont facturées, au "
          "prorata temporis du prix convenu ; il en va de même de la part demandée à l'OPCO.", align=JUSTIFY)
    doc.p(B("Annulation et dédit. "), "{{ org.cancellation_terms }}", align=JUSTIFY)
    doc.p("Un dédit éventuel est facturé au client sur une ligne distincte. Les sommes dues à titre de dédit ne "
          "peuvent être imputées sur la participation du client au financement de la formation professionnelle, "
          "ni faire l'objet d'une demande de prise en charge par un OPCO. En cas d'annulation ou de report par "
          "l'organisme de formation, les sommes versées sont intégralement remboursées ou reportées, au choix du "
          "client.", align=JUSTIFY)

    doc.h1("Article 8 – Inexécution totale ou partielle")
    doc.p("En cas d'inexécution totale ou partielle de l'action de formation du fait de l'organisme de "
          "formation, l'organisme rembourse au client les sommes perçues correspondant aux prestations non "
          "réalisées (article L6354-1 du Code du travail).", align=JUSTIFY)

    doc.h1("Article 9 – Règlement intérieur, réclamations et litiges")
    doc.p("Les stagiaires sont tenus de respecter le règlement intérieur de l'organisme de formation : "
          "{{ org.internal_rules }}", align=JUSTIFY)
    doc.field("Réclamations", "{{ org.quality_contact }}")
    doc.p("À défaut de règlement amiable, tout litige relatif à la présente convention relève des tribunaux "
          "compétents du ressort du siège de l'organisme de formation.", align=JUSTIFY)

    _done_at(doc, " en deux exemplaires")
    doc.signatures(
        [B("Pour le client"), "{{ client.name }}", "{{ client.signatory }}",
         I("Date, signature et cachet, précédés de la mention « Bon pour accord »", size=7.5)],
        [B("Pour l'organisme de formation"), "{{ org.name }}", "{{ org.signatory_name }}, {{ org.signatory_title }}",
         I("Signature et cachet", size=7.5)])
    doc.p(I("Annexe : programme de la formation ({{ course.version }}).", size=8), before=6)
    return doc


def contract() -> Builder:
    doc = Builder("Contrat de formation professionnelle")
    doc.title("CONTRAT DE FORMATION PROFESSIONNELLE",
              "Articles L6353-3 à L6353-7 du Code du travail – stagiaire finançant lui-même sa formation")
    doc.p(B("N° {{ document.number }}"), " – session {{ session.reference }}", align=CENTER, after=8)

    _org_party(doc)
    doc.p(B("et {{ trainee.full_name }}"), " ({{ trainee.email }}), agissant à titre personnel, ci-après "
          "« le stagiaire ».", align=JUSTIFY)
    doc.p("Le présent contrat est conclu avant l'inscription définitive du stagiaire et avant tout règlement "
          "de frais (article L6353-3 du Code du travail).", align=JUSTIFY)

    doc.h1("Article 1 – Nature, objet, durée, programme et effectif (L6353-4, 1°)")
    doc.p("L'organisme de formation organise l'action de formation (article L6313-1 du Code du travail) "
          "intitulée :")
    doc.p(B("« {{ course.title }} »", size=10.5), align=CENTER)
    doc.p(B("Objet – objectifs opérationnels :"), keep_next=True)
    _objectives(doc)
    doc.p("L'action se déroule {{ session.dates }}, pour une durée de {{ session.hours }} "
          "(durée au programme : {{ course.duration }}), selon le calendrier suivant :", keep_next=True)
    _session_slots(doc)
    _place_line(doc)
    doc.field("Effectif prévu de la session (nombre de stagiaires)", "{{ session.trainees_count }}")
    doc.p(B("Programme ({{ course.version }}) :"), keep_next=True)
    _programme_parts(doc)

    doc.h1("Article 2 – Niveau de connaissances préalables (L6353-4, 2°)")
    doc.field("Prérequis", "{{ course.prerequisites }}")
    doc.field("Public visé", "{{ course.audience }}")

    doc.h1("Article 3 – Conditions de déroulement (L6353-4, 3°)")
    doc.field("Modalité", "{{ course.delivery_mode }}")
    doc.field("Moyens pédagogiques et techniques", "{{ course.teaching_methods }} ; {{ course.material_resources }}")
    doc.field("Contrôle des connaissances", "{{ course.assessment_methods }}")
    doc.field("Sanction de la formation", "le stagiaire reçoit {{ contract.sanction }}.")
    doc.field("Accessibilité", "{{ course.accessibility }} – référent handicap : {{ org.disability_contact }}")
    _distance(doc, doc.h2)

    doc.h1("Article 4 – Titres et qualifications de l'équipe pédagogique (L6353-4, 4°)")
    _trainers(doc)

    doc.h1("Article 5 – Délai de rétractation (L6353-5)")
    doc.p("À compter de la date de signature du présent contrat, le stagiaire dispose d'un délai de "
          "{{ contract.withdrawal_days }} jours pour se rétracter, par lettre recommandée avec avis de "
          "réception adressée à l'organisme de formation. Dans ce cas, aucune somme ne peut être exigée "
          "du stagiaire.", align=JUSTIFY)

    doc.h1("Article 6 – Dispositions financières (L6353-4, 5° et L6353-6)")
    _price_table(doc, count="1")
    doc.p("Aucune somme ne peut être exigée du stagiaire avant l'expiration du délai de rétractation. "
          "À son expiration, le stagiaire verse un premier paiement qui ne peut excéder "
          "{{ contract.max_advance_percent }} % du prix convenu, soit au plus {{ contract.advance }}. Le solde "
          "est échelonné au fur et à mesure du déroulement de l'action de formation : il est facturé à mesure "
          "des heures réalisées, et au plus tard à la fin de l'action.", align=JUSTIFY)

    doc.h1("Article 7 – Interruption, abandon et force majeure (L6353-4, 5° et L6353-7)")
    doc.p("Si, par suite de force majeure dûment reconnue, le stagiaire est empêché de suivre la formation, "
          "il peut rompre le contrat ; seules les prestations effectivement dispensées sont alors dues, au "
          "prorata temporis de leur valeur prévue au contrat.", align=JUSTIFY)
    doc.p("En cas d'abandon ou de cessation anticipée de la formation pour un autre motif, seules les prestations "
          "effectivement dispensées sont dues, au prorata temporis de leur valeur prévue au contrat.",
          align=JUSTIFY)
    doc.p("En cas d'inexécution totale ou partielle de l'action du fait de l'organisme de formation, celui-ci "
          "rembourse au stagiaire les sommes perçues correspondant aux prestations non réalisées "
          "(article L6354-1 du Code du travail).", align=JUSTIFY)

    doc.h1("Article 8 – Règlement intérieur, réclamations et médiation")
    doc.p("Le stagiaire s'engage à respecter le règlement intérieur : {{ org.internal_rules }}", align=JUSTIFY)
    doc.field("Réclamations", "{{ org.quality_contact }}")
    doc.p("En cas de litige non résolu, le stagiaire peut recourir gratuitement au médiateur de la "
          "consommation (article L612-1 du Code de la consommation) : {{ org.mediator }}.",
          align=JUSTIFY)

    _done_at(doc, " en deux exemplaires")
    doc.signatures(
        [B("Le stagiaire"), "{{ trainee.full_name }}",
         I("Date et signature, précédées de la mention « Lu et approuvé »", size=7.5)],
        [B("Pour l'organisme de formation"), "{{ org.signatory_name }}, {{ org.signatory_title }}",
         I("Signature et cachet", size=7.5)])
    return doc


def convocation() -> Builder:
    doc = Builder("Convocation")
    doc.table([95, 75], rows=[[
        [I("Réf. {{ document.number }}", size=8), I("Session {{ session.reference }}", size=8)],
        [B("{{ trainee.full_name }}"), "{% if trainee.job_title %}{{ trainee.job_title }}{% endif %}",
         "{% if trainee.company != '—' %}{{ trainee.company }}{% endif %}", "{{ trainee.email }}"],
    ]], style=None, size=9.5)
    doc.p("{{ org.city }}, le {{ today }}", align=RIGHT, before=6)
    doc.title("CONVOCATION À LA FORMATION")
    doc.p(B("« {{ course.title }} »", size=11), align=CENTER, after=8)
    doc.p("Madame, Monsieur,")
    doc.p("Nous avons le plaisir de vous confirmer votre participation à la formation "
          "« {{ course.title }} », qui se déroulera {{ session.dates }} ({{ session.hours }}).", align=JUSTIFY)

    doc.h1("Horaires")
    _convocation_slots(doc)
    doc.p(I("Merci de vous présenter quelques minutes avant le début : la feuille d'émargement est signée à "
            "chaque demi-journée.", size=8.5), before=2)

    doc.h1("Lieu et accès")
    _place_line(doc)
    doc.field("Modalité", "{{ course.delivery_mode }}")

    doc.h1("Déroulement")
    doc.field("Équipe pédagogique", "{{ session.trainers }}")
    doc.p(B("Objectifs :"), keep_next=True)
    _objectives(doc)
    doc.tag("{%p if course.what_to_bring %}")
    doc.field("À apporter", "{{ course.what_to_bring }}")
    doc.tag("{%p endif %}")
    doc.p(B("Programme et règlement intérieur : "), "le programme de la formation ({{ course.version }}) et le "
          "règlement intérieur de l'organisme de formation, que chaque stagiaire s'engage à respecter, sont remis "
          "à chaque stagiaire avant la formation.", align=JUSTIFY)
    doc.tag("{%p if org.internal_rules %}")
    doc.field("Règlement intérieur", "{{ org.internal_rules }}")
    doc.tag("{%p endif %}")

    doc.h1("Accessibilité et contacts")
    doc.field("Accessibilité", "{{ course.accessibility }}")
    doc.p("Si vous êtes en situation de handicap ou avez besoin d'un aménagement, contactez notre référent "
          "handicap : {{ org.disability_contact }}.", align=JUSTIFY)
    doc.field("Pour toute question ou réclamation", "{{ org.quality_contact }}")

    doc.p("Nous vous souhaitons une excellente formation.", before=6)
    doc.p("{{ org.signatory_name }}", before=10, after=0, align=RIGHT)
    doc.p(I("{{ org.signatory_title }}, {{ org.name }}"), align=RIGHT)
    return doc


def programme() -> Builder:
    doc = Builder("Programme de formation")
    doc.title("PROGRAMME DE FORMATION")
    doc.p(B("{{ course.title }}", size=13, color=ACCENT), align=CENTER, after=2)
    doc.p(I("{{ course.version }}", size=8.5, color=GREY), align=CENTER, after=8)
    doc.table([50, 120], rows=[
        [B("Durée"), "{{ course.duration }}"],
        [B("Modalité"), "{{ course.delivery_mode }}"],
        [B("Public visé"), "{{ course.audience }}"],
        [B("Prérequis"), "{{ course.prerequisites }}"],
        [B("Tarif"), "{{ course.price }}"],
        [B("Modalités et délai d'accès"), "{{ course.access_delay }}"],
        [B("Accessibilité"), ["{{ course.accessibility }}", "Référent handicap : {{ org.disability_contact }}"]],
    ], first_column_shaded=True, size=9)

    doc.h1("Objectifs opérationnels")
    doc.p("À l'issue de la formation, le stagiaire sera capable de :", keep_next=True)
    _objectives(doc)

    doc.h1("Contenu")
    _programme_parts(doc)

    doc.h1("Méthodes et moyens")
    doc.field("Méthodes et moyens pédagogiques", "{{ course.teaching_methods }}")
    doc.field("Moyens matériels", "{{ session.material_resources or course.material_resources }}")
    doc.tag("{%p if course.what_to_bring %}")
    doc.field("À apporter", "{{ course.what_to_bring }}")
    doc.tag("{%p endif %}")
    doc.tag("{%p if course.trainer_competences %}")
    doc.field("Profil du formateur", "{{ course.trainer_competences }}")
    doc.tag("{%p endif %}")

    doc.h1("Évaluation et sanction")
    doc.p("{{ course.assessment_methods }}")

    doc.h1("Session {{ session.reference }}")
    doc.p(B("Dates : "), "{{ session.dates }} – {{ session.hours }}", keep_next=True)
    _session_slots(doc)
    _place_line(doc)
    doc.p(B("Équipe pédagogique :"), keep_next=True)
    _trainers(doc)
    _distance(doc, doc.h1)

    doc.h1("Contact")
    doc.p("{{ org.quality_contact }}{% if org.email %} – {{ org.email }}{% endif %}")
    doc.p(I("Programme {{ course.version }}, édité le {{ today }}.", size=8), before=6)
    return doc


def _article(doc: Builder, number: int, title: str, *paragraphs) -> None:
    doc.h2(f"Article {number} – {title}")
    for text in paragraphs:
        if isinstance(text, (list, tuple)):
            for item in text:
                doc.p(item, style="List Bullet", align=JUSTIFY)
        else:
            doc.p(text, align=JUSTIFY)


def internal_rules() -> Builder:
    """The règlement intérieur (L6352-3, L6352-4, R6352-1 to R6352-15): health and safety, discipline, sanctions and
    the procedure before one, the representation of trainees (actions of more than 500 hours only)."""
    doc = Builder("Règlement intérieur")
    doc.title("RÈGLEMENT INTÉRIEUR APPLICABLE AUX STAGIAIRES",
              "Articles L6352-3, L6352-4 et R6352-1 à R6352-15 du Code du travail")
    doc.p(B("{{ org.name }}"), " – formation « {{ course.title }} », session {{ session.reference }} "
          "({{ session.dates }})", align=CENTER, after=8)

    doc.h1("Préambule")
    _article(doc, 1, "Objet et champ d'application",
             "Le présent règlement est établi conformément aux articles L6352-3, L6352-4 et R6352-1 à R6352-15 du "
             "Code du travail. Il s'applique à toute personne qui suit une action de formation organisée par "
             "{{ org.name }} (ci-après « le stagiaire »), pour toute la durée de la formation, dans les locaux de "
             "l'organisme comme en tout autre lieu où la formation se déroule, y compris à distance pour ce qui la "
             "concerne.",
             "Il définit les règles d'hygiène et de sécurité, les règles de discipline, la nature et l'échelle des "
             "sanctions applicables aux stagiaires, les garanties de procédure dont ils bénéficient ainsi que, pour "
             "les actions de plus de 500 heures, les modalités de leur représentation. Chaque stagiaire est "
             "réputé l'accepter lorsqu'il suit une formation dispensée par l'organisme.")

    doc.h1("Section 1 – Santé et sécurité")
    _article(doc, 2, "Règles générales",
             "Chaque stagiaire veille à sa sécurité personnelle et à celle des autres en respectant les consignes "
             "générales et particulières de santé et de sécurité en vigueur sur le lieu de formation, ainsi que "
             "les consignes données par le formateur.",
             "Lorsque la formation se déroule dans une entreprise ou un établissement déjà doté d'un règlement "
             "intérieur, les mesures de santé et de sécurité applicables aux stagiaires sont celles de ce dernier "
             "règlement (article R6352-1 du Code du travail).")
    _article(doc, 3, "Consignes particulières",
             ["Il est interdit d'entrer ou de demeurer sur le lieu de formation en état d'ivresse ou sous l'emprise "
              "de stupéfiants, et d'y introduire des boissons alcoolisées ou des substances illicites.",
              "Il est interdit de fumer et de vapoter dans les locaux de formation (articles L3512-8 et R3512-2 du "
              "Code de la santé publique).",
              "Les consignes d'incendie et d'évacuation, le plan des locaux et les numéros d'urgence sont affichés : "
              "chaque stagiaire en prend connaissance et les respecte, notamment lors des exercices.",
              "Le matériel mis à disposition est utilisé conformément à son objet et aux instructions données ; "
              "toute anomalie est signalée au formateur.",
              "Tout accident ou incident, même bénin, survenu pendant la formation ou sur le trajet est signalé sans "
              "délai au formateur ou à la direction de l'organisme, qui effectue les déclarations nécessaires."])

    doc.h1("Section 2 – Discipline")
    _article(doc, 4, "Règles de discipline",
             ["Horaires : le stagiaire respecte les horaires qui lui ont été communiqués par la convocation. En cas "
              "d'absence, de retard ou de départ anticipé, il prévient l'organisme au plus tôt et en justifie ; "
              "l'employeur ou le financeur en est informé.",
              "Émargement : le stagiaire signe la feuille d'émargement à chaque demi-journée de formation ; il ne "
              "signe jamais pour un autre.",
              "Comportement : le stagiaire adopte un comportement courtois envers toute personne présente et "
              "respecte les règles de vie collective ; toute forme de harcèlement, de discrimination ou de violence "
              "est proscrite.",
              "Matériel et documents : le stagiaire conserve en bon état le matériel qui lui est confié. Les "
              "supports pédagogiques sont protégés par le droit d'auteur et réservés à son usage personnel. "
              "L'enregistrement des séances est interdit sans l'accord du formateur.",
              "Téléphones et ordinateurs sont utilisés pendant les séances aux seules fins de la formation."])

    doc.h1("Section 3 – Sanctions et garanties de procédure")
    _article(doc, 5, "Nature et échelle des sanctions",
             "Constitue une sanction toute mesure, autre que les observations verbales, prise par le directeur de "
             "l'organisme de formation ou son représentant à la suite d'un agissement du stagiaire considéré par "
             "lui comme fautif, que cette mesure soit de nature à affecter immédiatement ou non la présence de "
             "l'intéressé dans la formation ou à mettre en cause la continuité de la formation qu'il reçoit "
             "(article R6352-3).",
             "Selon la gravité de l'agissement, et dans l'ordre croissant :",
             ["un avertissement écrit ;",
              "un blâme ;",
              "une exclusion temporaire de la formation ;",
              "une exclusion définitive de la formation."],
             "Les amendes et autres sanctions pécuniaires sont interdites.")
    _article(doc, 6, "Garanties de procédure",
             "Aucune sanction ne peut être infligée au stagiaire sans qu'il ait été informé au préalable des griefs "
             "retenus contre lui (article R6352-4).",
             ["Convocation à un entretien : lorsque le directeur de l'organisme envisage une sanction ayant une "
              "incidence, immédiate ou non, sur la présence du stagiaire dans la formation, il le convoque par "
              "lettre recommandée ou remise en main propre contre décharge, en indiquant l'objet de la convocation "
              "et le motif envisagé, ainsi que la date, l'heure et le lieu de l'entretien (article R6352-5).",
              "Droit d'être assisté : la convocation rappelle au stagiaire qu'il peut se faire assister par la "
              "personne de son choix, stagiaire ou salarié de l'organisme de formation.",
              "Entretien : le directeur ou son représentant indique le motif de la sanction envisagée et recueille "
              "les explications du stagiaire.",
              "Notification écrite : la sanction ne peut intervenir moins d'un jour franc ni plus de quinze jours "
              "après l'entretien ; elle est motivée et notifiée par écrit au stagiaire, par lettre recommandée ou "
              "remise contre récépissé (article R6352-6).",
              "Exclusion à titre conservatoire : lorsque l'agissement a rendu indispensable une mesure "
              "conservatoire d'exclusion temporaire à effet immédiat, aucune sanction définitive ne peut être "
              "prise sans que la procédure ci-dessus ait été respectée (article R6352-7).",
              "Information de l'employeur et du financeur : le directeur de l'organisme informe de la sanction "
              "prise l'employeur du stagiaire et, le cas échéant, l'organisme financeur de la formation (OPCO, "
              "financeur public…) (article R6352-8)."])

    doc.h1("Section 4 – Représentation des stagiaires")
    _article(doc, 7, "Délégués des stagiaires (actions de plus de 500 heures)",
             "Pour les actions de formation d'une durée supérieure à 500 heures, il est procédé simultanément à "
             "l'élection d'un délégué titulaire et d'un délégué suppléant au scrutin uninominal à deux tours ; tous "
             "les stagiaires sont électeurs et éligibles. Le scrutin a lieu pendant les heures de formation, au plus "
             "tôt 20 heures et au plus tard 40 heures après le début de la première session collective. Le "
             "directeur de l'organisme en assure l'organisation ; lorsque la représentation ne peut être assurée, il "
             "dresse un procès-verbal de carence. Les délégués sont élus pour la durée de la formation et leurs "
             "fonctions prennent fin lorsqu'ils cessent de la suivre. Ils font toute suggestion pour améliorer le "
             "déroulement des formations et les conditions de vie des stagiaires, et présentent les réclamations "
             "relatives aux conditions de formation, de santé et de sécurité et à l'application du présent "
             "règlement (articles R6352-9 à R6352-15).",
             "Ces dispositions ne s'appliquent pas aux actions d'une durée de 500 heures ou moins.",
             B("{{ rules.representation }}"))

    doc.h1("Section 5 – Dispositions finales")
    _article(doc, 8, "Publicité",
             "Le présent règlement est remis à chaque stagiaire avant son entrée en formation, avec sa convocation. "
             "Il est également consultable sur demande auprès de l'organisme.")
    doc.p(I("{{ org.nda_mention }}", size=8.5), before=6)
    doc.p("Fait à {{ org.city }}, le {{ today }}.", before=6, keep_next=True)
    doc.p("{{ org.signatory_name }}", before=8, after=0, align=RIGHT)
    doc.p(I("{{ org.signatory_title }}, {{ org.name }}"), align=RIGHT)
    return doc


def attendance_sheet() -> Builder:
    doc = Builder("Feuille d'émargement", landscape=True)
    doc.title("FEUILLE D'ÉMARGEMENT")
    doc.p(B("{{ course.title }}", size=11.5, color=ACCENT), align=CENTER, after=6)
    doc.table([45, 88.5, 45, 88.5], rows=[
        [B("Session"), "{{ session.reference }} – {{ session.dates }}", B("Durée prévue"), "{{ session.hours }}"],
        [B("Lieu"), "{{ session.place }}", B("Équipe pédagogique"), "{{ session.trainers }}"],
        [B("Organisme"), "{{ org.name }} – NDA {{ org.nda }}", B("Document"), "{{ document.number }}"],
    ], size=9)
    doc.tag("{%p for s in sheet.slots %}")
    doc.p("{{ s.label }}", style="Heading 1", before=10)
    # A distance half-day (issue 27): how it is proven, and a virtual one's second signatures; nothing in the room.
    doc.tag("{%p if s.evidence %}")
    doc.p(I("{{ s.evidence }}", size=8), align=JUSTIFY, keep_next=True)
    doc.tag("{%p endif %}")
    doc.table([55, 25, 45, 32, 50, 60],
              ["Stagiaire", "État", "Signature", "Signé le", "Moyen de signature", "Observations"],
              [["{{ r.name }}", "{{ r.status }}",
                ["{{ r.signature }}", "{%p if r.second_signature %}", I("Seconde signature :", size=7),
                 "{{ r.second_signature }}", "{%p endif %}"],
                "{{ r.signed_at }}", "{{ r.method }}", "{{ r.note }}"]], loop="r in s.rows", size=8.5, min_height=13)
    doc.table([55, 25, 45, 32, 110], rows=[[
        B("Formateur"), "{{ s.trainer }}", "{{ s.trainer_signature }}", "{{ s.trainer_signed_at }}",
        I("Le formateur atteste la présence des stagiaires signataires pour cette demi-journée."),
    ]], first_column_shaded=True, size=8.5, min_height=13)
    doc.tag("{%p endfor %}")

    doc.h1("Intégrité du registre des signatures")
    doc.table([42, 225.5], rows=[[
        [P("{% if verification.qr %}{{ verification.qr }}{% endif %}", align=CENTER),
         P(R("Code de vérification : "), B("{{ verification.code }}"), align=CENTER, size=8),
         P(R("{{ verification.url }}", size=6.5), align=CENTER)],
        [P(B("État du registre : "), "{{ sheet.chain }}", size=8.5),
         P(B("Scellement : "), "{{ sheet.seal.summary }}", size=8.5),
         P(B("Empreinte SHA-256 de la tête scellée : "), "{{ sheet.seal.head }}", size=8),
         P(B("Clé publique Ed25519 de l'organisme (base64) : "), "{{ sheet.seal.public_key }}", size=8),
         P(B("Horodatage : "), "{{ sheet.seal.timestamp }}", size=8.5)],
    ]], size=8.5)
    doc.p("Les signatures ont été recueillies électroniquement (signature électronique simple) : chaque signataire "
          "s'est authentifié par un lien personnel, par un QR code affiché en salle suivi d'un code reçu par "
          "e-mail, ou sur le poste du formateur ; chaque signature est datée par le serveur et enregistrée avec "
          "l'adresse IP et le moyen utilisé. Les enregistrements forment une chaîne d'empreintes SHA-256, scellée "
          "par l'organisme d'une signature Ed25519 dont la clé privée est conservée hors de la base de données. "
          "Ce que cela prouve : une modification des enregistrements scellés, faite sans cette clé, est détectée "
          "à la vérification ; l'horodatage RFC 3161, lorsqu'il figure, prouve que le scellement existait à la "
          "date indiquée. Cela ne prouve rien de plus : les enregistrements postérieurs au dernier scellement ne "
          "sont pas couverts, et la présence est attestée par les signatures et le contreseing du formateur, non "
          "par le scellement. Pour vérifier cette feuille, saisissez son code à l'adresse indiquée ; la clé "
          "publique permet aussi de vérifier le scellement hors ligne.", align=JUSTIFY, size=8, keep_next=True)
    doc.p(I("Édité le {{ today }}.", size=8))
    return doc


def attestation() -> Builder:
    doc = Builder("Attestation de fin de formation")
    doc.title("ATTESTATION DE FIN DE FORMATION", "Article L6353-1 du Code du travail")
    doc.p(I("N° {{ document.number }}", size=8.5), align=CENTER, after=10)
    doc.p("Je soussigné(e) {{ org.signatory_name }}, {{ org.signatory_title }} de {{ org.name }}, atteste que",
          align=JUSTIFY)
    doc.p(B("{{ trainee.full_name }}", size=11), align=CENTER, before=4, after=4)
    doc.p("a suivi l'action de formation suivante :")
    doc.table([50, 120], rows=[
        [B("Intitulé"), B("{{ course.title }}")],
        [B("Nature de l'action"), "{{ nature }}"],
        [B("Session"), "{{ session.reference }}, {{ session.dates }}"],
        [B("Présence"), "du {{ attendance.first_date }} au {{ attendance.last_date }}"],
        [B("Durée suivie"), "{{ attendance.hours }} (durée prévue : {{ session.hours }})"
                            "{% if attendance.by_modality %}, dont {{ attendance.by_modality }}{% endif %}"
                            "{% if attendance.distance %} — {{ attendance.distance|lower }}{% endif %}"],
        [B("Lieu"), "{{ session.place }}"],
    ], first_column_shaded=True, size=9.5)

    doc.h1("Objectifs de la formation")
    _objectives(doc)

    doc.h1("Évaluation des acquis")
    doc.field("Modalités", "{{ course.assessment_methods }}")
    doc.tag("{%p if results %}")
    doc.field("Résultats", "{{ results }}")
    doc.tag("{%p endif %}")

    _done_at(doc)
    doc.table([85, 85], rows=[["", [
        B("{{ org.signatory_name }}"), "{{ org.signatory_title }}, {{ org.name }}",
        I("Signature et cachet", size=7.5)]]], style=None, size=9.5, min_height=30)
    return doc


def certificate() -> Builder:
    doc = Builder("Certificat de réalisation")
    doc.title("CERTIFICAT DE RÉALISATION",
              "Modèle du ministère chargé de la formation professionnelle")
    doc.p(I("N° {{ document.number }}", size=8.5), align=CENTER, after=10)
    body = dict(align=JUSTIFY, after=6)
    doc.p("Je soussigné(e) ", B("{{ org.signatory_name }}"), ", représentant légal du dispensateur de l'action "
          "concourant au développement des compétences ", B("{{ org.name }}"),
          "{% if org.nda %} (déclaration d'activité n° {{ org.nda }}){% endif %},", **body)
    doc.p("atteste que : ", B("{{ trainee.full_name }}"), **body)
    doc.p("salarié(e) de l'entreprise ", B("{{ trainee.company }}"), **body)
    doc.p("a suivi l'action ", B("{{ course.title }}"), **body)
    doc.p("Nature de l'action concourant au développement des compétences :", keep_next=True, after=2)
    doc.tag("{%p for b in nature_boxes %}")
    doc.p(R("{{ b.box }}", font=SYMBOL_FONT, size=11), "  {{ b.label }}", after=1)
    doc.tag("{%p endfor %}")
    doc.p("qui s'est déroulée du ", B("{{ attendance.first_date }}"), " au ", B("{{ attendance.last_date }}"),
          ",", before=6, **body)
    # Distance half-days: « , dont 3,5 h en salle et 3,5 h en classe virtuelle — action réalisée en partie à
    # distance »; nothing for a trainee who attended in the room only.
    doc.p("pour une durée de ", B("{{ attendance.hours }}"),
          "{% if attendance.by_modality %}, dont {{ attendance.by_modality }}{% endif %}"
          "{% if attendance.distance %} — {{ attendance.distance|lower }}{% endif %}.", **body)
    doc.p(I("Durée réellement suivie, pour une durée prévue de {{ session.hours }} (session {{ session.reference }}, "
            "{{ session.dates }}, {{ session.place }}). Pour une action réalisée à distance, sont prises en compte "
            "la réalisation des activités et le temps estimé pour les réaliser.", size=7.5), after=8)
    doc.p("{{ retention }}", align=JUSTIFY, size=9)
    _done_at(doc)
    doc.table([100, 70], rows=[[
        [B("Cachet et signature du responsable du dispensateur de l'action"),
         "{{ org.signatory_name }}, {{ org.signatory_title }}"],
        [P("{% if verification.qr %}{{ verification.qr }}{% endif %}", align=CENTER),
         P(R("Code de vérification : "), B("{{ verification.code }}"), align=CENTER, size=8),
         P(R("{{ verification.url }}", size=7), align=CENTER)],
    ]], size=9, min_height=38)
    doc.p(I("Nature de l'action certifiée : {{ nature }}. L'authenticité de ce certificat peut être vérifiée à "
            "l'adresse ci-dessus avec le code de vérification.", size=7.5), before=4)
    return doc


def quote() -> Builder:
    """A quote: seats in an inter-company session or an intra session at a wished period (quote.details says
    which), its lines with the extra costs, the totals with the VAT or the exemption mention as invoices print it,
    the conditions and the « Bon pour accord » block."""
    doc = Builder("Devis")
    doc.table([95, 75], rows=[[
        [P(B("DEVIS", size=16, color=ACCENT)), P(B("N° {{ quote.number }}")), "Date : {{ quote.date }}",
         P(B("Valable jusqu'au {{ quote.valid_until }}"))],
        [B("{{ client.name }}"), "{{ client.address }}", "SIRET {{ client.siret }}",
         "{% if quote.contact.name %}À l'attention de {{ quote.contact.name }}{% endif %}",
         "{% if quote.contact.email %}{{ quote.contact.email }}{% endif %}"
         "{% if quote.contact.phone %} – {{ quote.contact.phone }}{% endif %}"],
    ]], style=None, size=9.5)
    doc.p(B("Émetteur : "), "{{ org.name }}, {{ org.address }}{% if org.siret %} – SIRET {{ org.siret }}{% endif %}",
          size=8.5)
    doc.p(I("{{ org.nda_mention }}", size=8))

    doc.h1("Objet")
    doc.p("Formation ", B("« {{ course.title }} »"), " – {{ quote.kind }} ({{ course.delivery_mode }}, durée "
          "{{ course.duration }}).", align=JUSTIFY)
    doc.table([50, 120], rows=[[B("{{ d.label }}"), "{{ d.value }}"]], loop="d in quote.details",
              first_column_shaded=True, size=9.5)
    doc.p(B("Objectifs :"), keep_next=True)
    _objectives(doc)
    doc.p(I("Programme détaillé ({{ course.version }}) joint au devis. Prérequis : {{ course.prerequisites }}.",
            size=8.5))

    doc.h1("Détail")
    doc.table([86, 20, 32, 32], ["Désignation", "Quantité", "Prix unitaire HT", "Total HT"],
              [["{{ line.label }}", P("{{ line.quantity }}", align=CENTER), P("{{ line.unit }}", align=RIGHT),
                P("{{ line.total }}", align=RIGHT)]], loop="line in quote.lines", size=9)
    doc.table([95, 75], rows=[[
        "",
        [P("Total HT : {{ quote.totals.excl_vat }}", align=RIGHT),
         P("TVA : {{ quote.totals.vat }}", align=RIGHT),
         P(B("Total TTC : {{ quote.totals.incl_vat }}", size=10.5), align=RIGHT)],
    ]], style=None, size=9.5, gap=0)
    doc.p(I("{{ quote.vat_mention }}", size=8.5), align=RIGHT)
    _funding(doc, "Prise en charge prévue :")

    doc.tag("{%p if trainees %}")
    doc.h1("Stagiaires")
    doc.bullets("t in trainees", "{{ t.full_name }}{% if t.job_title %} – {{ t.job_title }}{% endif %}")
    doc.tag("{%p endif %}")

    doc.h1("Conditions")
    doc.tag("{%p if quote.conditions %}")
    doc.p("{{ quote.conditions }}", align=JUSTIFY)
    doc.tag("{%p endif %}")
    doc.field("Validité", "{{ quote.validity }}")
    doc.field("Règlement", "{{ org.payment_terms }}")
    doc.field("Annulation", "{{ org.cancellation_terms }}")
    doc.p("Une convention de formation sera établie à l'acceptation du devis. En cas d'inexécution totale ou "
          "partielle de l'action du fait de l'organisme, les sommes perçues correspondant aux prestations non "
          "réalisées sont remboursées (article L6354-1 du Code du travail).", align=JUSTIFY, size=8.5)

    _done_at(doc)
    doc.signatures(
        [B("Bon pour accord – le client"), "{{ client.name }}",
         I("Date, nom, qualité, signature et cachet, précédés de la mention « Bon pour accord »", size=7.5)],
        [B("Pour l'organisme de formation"), "{{ org.signatory_name }}, {{ org.signatory_title }}"])
    return doc


def invoice() -> Builder:
    """Invoices and credit notes (billing/invoices.py): the mentions of CGI ann. II art. 242 nonies A, of the
    2026–2027 e-invoicing rules (buyer's SIREN, category of operation) and, for public buyers, of CCP D2192-2."""
    doc = Builder("Facture")
    doc.table([95, 75], rows=[[
        [P(B("{{ invoice.title }}", size=16, color=ACCENT)), P(B("N° {{ invoice.number }}")),
         "Date d'émission : {{ invoice.issue_date }}", "Échéance : {{ invoice.due_date }}",
         "{% if invoice.credited %}{{ invoice.credited }}{% endif %}"],
        [I("Facturé à", size=8), B("{{ buyer.name }}"), "{{ buyer.address }}",
         "{% if buyer.siren %}SIREN {{ buyer.siren }}{% if buyer.siret %} – SIRET {{ buyer.siret }}{% endif %}"
         "{% endif %}",
         "{% if buyer.vat_number %}TVA intracommunautaire {{ buyer.vat_number }}{% endif %}",
         "{% if buyer.email %}{{ buyer.email }}{% endif %}"],
    ]], style=None, size=9.5)
    doc.p(B("Émetteur : "), "{{ org.name }}{% if org.legal_form %}, {{ org.legal_form }}{% endif %}, {{ org.address }}"
          " – SIREN {{ org.siren }} – SIRET {{ org.siret }}"
          "{% if org.vat_number %} – TVA intracommunautaire {{ org.vat_number }}{% endif %}", size=8.5)
    doc.p(I("{{ org.nda_mention }}", size=8))

    doc.h1("Objet")
    doc.p("Action de formation ", B("« {{ course.title }} »"), " – session {{ session.reference }} "
          "{{ session.dates }} ({{ session.hours }}), {{ session.place }}.", align=JUSTIFY)
    doc.field("Catégorie de l'opération", "{{ invoice.operation_category }}")
    doc.field("Date d'exécution de la prestation", "{{ invoice.service_period }}")
    doc.tag("{%p if invoice.opco %}")
    doc.p("{{ invoice.opco }}")
    doc.tag("{%p endif %}")
    doc.tag("{%p if invoice.public %}")
    doc.p("{{ invoice.public }}")
    doc.tag("{%p endif %}")
    doc.tag("{%p if invoice.buyer_reference %}")
    doc.field("Votre référence", "{{ invoice.buyer_reference }}")
    doc.tag("{%p endif %}")
    doc.tag("{%p if invoice.reason %}")
    doc.field("Motif de l'avoir", "{{ invoice.reason }}")
    doc.tag("{%p endif %}")

    doc.h1("Détail")
    doc.table([66, 14, 18, 22, 14, 16, 20],
              ["Désignation", "Qté", "Unité", "Prix unitaire HT", "TVA", "Montant TVA", "Total HT"],
              [["{{ l.description }}", P("{{ l.quantity }}", align=RIGHT), "{{ l.unit }}",
                P("{{ l.unit_price }}", align=RIGHT), P("{{ l.vat_rate }}", align=RIGHT),
                P("{{ l.vat_amount }}", align=RIGHT), P("{{ l.total }}", align=RIGHT)]],
              loop="l in lines", size=8.5)
    doc.table([95, 75], rows=[[
        "",
        [P("Total HT : {{ totals.excl_vat }}", align=RIGHT),
         P("Total TVA : {{ totals.vat }}", align=RIGHT),
         P(B("Total TTC : {{ totals.incl_vat }}", size=10.5), align=RIGHT)],
    ]], style=None, size=9.5, gap=0)
    doc.p(I("{{ vat.mention }}", size=8.5), align=RIGHT)

    doc.h1("Conditions de règlement")
    doc.p("{{ terms.payment }}", align=JUSTIFY)
    doc.tag("{%p if invoice.due_date != '—' %}")
    doc.field("Échéance", "{{ invoice.due_date }}")
    doc.tag("{%p endif %}")
    doc.p("{{ terms.late_penalties }} {{ terms.discount }}", align=JUSTIFY, size=8.5)
    doc.tag("{%p if terms.recovery_indemnity %}")
    doc.p("{{ terms.recovery_indemnity }}", align=JUSTIFY, size=8.5)
    doc.tag("{%p endif %}")
    # Payable by transfer: the bank details and the EPC QR code a banking app reads (billing/transfer.py).
    doc.tag("{%p if transfer.iban %}")
    doc.table([125, 45], rows=[[
        [B("Règlement par virement"), "Bénéficiaire : {{ transfer.holder }}", "IBAN : {{ transfer.iban }}",
         "{% if transfer.bic %}BIC : {{ transfer.bic }}{% endif %}",
         P("Référence à rappeler : ", B("{{ transfer.reference }}")), "Montant : {{ transfer.amount }}",
         I("Scannez le QR code avec l'application de votre banque : le bénéficiaire, l'IBAN, le montant et la "
           "référence sont préremplis (virement SEPA, norme EPC).", size=7.5)],
        P("{% if transfer.qr %}{{ transfer.qr }}{% endif %}", align=CENTER),
    ]], size=9)
    doc.tag("{%p endif %}")
    doc.tag("{%p if invoice.notes %}")
    doc.field("Observations", "{{ invoice.notes }}")
    doc.tag("{%p endif %}")
    return doc


def trainer_contract() -> Builder:
    """The contrat de sous-traitance (an organisation) or lettre de mission (an independent trainer) of a trainer
    for a session."""
    doc = Builder("Contrat de sous-traitance / lettre de mission")
    doc.title("{{ contract.title }}", "Sous-traitance d'une action de formation professionnelle")
    doc.p(B("N° {{ document.number }}"), " – session {{ session.reference }}", align=CENTER, after=8)

    _org_party(doc)
    doc.p(B("et {{ subcontractor.name }}"), " ({{ subcontractor.status|lower }})"
          "{% if subcontractor.address %}, {{ subcontractor.address }}{% endif %}, SIRET {{ subcontractor.siret }}, "
          "déclaration d'activité n° {{ subcontractor.nda }}, ci-après « le sous-traitant », pour qui intervient "
          "{{ subcontractor.trainer }} ({{ subcontractor.email }}),", align=JUSTIFY)
    doc.p("il est convenu ce qui suit.")

    doc.h1("Article 1 – Objet")
    doc.p("L'organisme de formation confie au sous-traitant, qui l'accepte, l'animation de tout ou partie de "
          "l'action de formation suivante, qu'il a conçue et qu'il vend à ses clients :", align=JUSTIFY)
    doc.p(B("« {{ course.title }} »", size=10.5), align=CENTER)
    doc.field("Session", "{{ session.reference }}, {{ session.dates }} ({{ session.hours }} au total)")
    doc.p(B("Objectifs opérationnels :"), keep_next=True)
    _objectives(doc)
    doc.p(B("Programme ({{ course.version }}), que le sous-traitant s'engage à suivre :"), keep_next=True)
    _programme_parts(doc, with_points=False)
    doc.field("Méthodes pédagogiques", "{{ course.teaching_methods }}")
    doc.field("Modalités d'évaluation", "{{ course.assessment_methods }}")

    doc.h1("Article 2 – Dates, horaires et lieu des interventions")
    doc.p("Le formateur intervient {{ mission.dates }}, pour {{ mission.hours }}, selon le calendrier suivant :",
          keep_next=True)
    doc.table([40, 45, 55, 30], ["Date", "Demi-journée", "Horaires", "Durée"],
              [["{{ s.date }}", "{{ s.half_day }}", "{{ s.start }} – {{ s.end }}", "{{ s.hours }}"]],
              loop="s in mission.slots")
    _place_line(doc)
    doc.field("Titres et qualifications du formateur", "{{ subcontractor.competences }}")

    doc.h1("Article 3 – Prix et modalités de paiement")
    doc.table([120, 50], ["Désignation", "Montant"], [
        ["Tarif convenu", P("{{ mission.rate }}", align=RIGHT)],
        ["Base du calcul", P("{{ mission.quantity }}", align=RIGHT)],
        [B("Total HT de la mission"), P(B("{{ mission.total }}"), align=RIGHT)],
    ], size=9, gap=0)
    doc.p(I("{{ clauses.vat }}", size=8.5), before=2)
    doc.p("Ce prix comprend la préparation, l'animation, l'évaluation des acquis et le suivi administratif des "
          "interventions ; les frais de déplacement ne sont remboursés que sur accord écrit préalable de "
          "l'organisme.", align=JUSTIFY)
    doc.field("Facturation et paiement", "{{ mission.payment_terms }}")

    doc.h1("Article 4 – Émargement et justification de l'exécution")
    doc.p("{{ clauses.attendance }}", align=JUSTIFY)

    doc.h1("Article 5 – Qualité (Qualiopi)")
    doc.p("{{ clauses.quality }}", align=JUSTIFY)

    doc.h1("Article 6 – Confidentialité et protection des données personnelles")
    doc.p("{{ clauses.confidentiality }}", align=JUSTIFY)

    doc.h1("Article 7 – Responsabilité à l'égard du client")
    doc.p("{{ clauses.responsibility }}", align=JUSTIFY)

    doc.h1("Article 8 – Obligations sociales et fiscales")
    doc.p("Le sous-traitant déclare être en règle de ses obligations sociales et fiscales et disposer d'une "
          "assurance de responsabilité civile professionnelle couvrant ses interventions. Il remet à l'organisme, "
          "à la signature puis tous les six mois jusqu'à la fin de la mission lorsque son montant atteint 5 000 € "
          "HT, une attestation de vigilance de l'URSSAF et un extrait K ou K bis, ou un avis de situation au "
          "répertoire SIRENE (articles L8222-1 et D8222-5 du Code du travail).", align=JUSTIFY)

    doc.h1("Article 9 – Annulation, résiliation et litiges")
    doc.p("Si la session est annulée ou reportée, l'organisme en informe le sous-traitant sans délai ; seules les "
          "demi-journées réalisées sont dues. En cas de manquement grave de l'une des parties à ses obligations, "
          "l'autre peut résilier le présent contrat par lettre recommandée avec avis de réception. À défaut de "
          "règlement amiable, tout litige relève des tribunaux compétents du ressort du siège de l'organisme de "
          "formation.", align=JUSTIFY)

    _done_at(doc, " en deux exemplaires")
    doc.signatures(
        [B("Pour le sous-traitant"), "{{ subcontractor.name }}", "{{ subcontractor.trainer }}",
         I("Date et signature, précédées de la mention « Lu et approuvé »", size=7.5)],
        [B("Pour l'organisme de formation"), "{{ org.name }}", "{{ org.signatory_name }}, {{ org.signatory_title }}",
         I("Signature et cachet", size=7.5)])
    return doc


# --------------------------------------------------------------------------- funders' paperwork (funders.py)


def _france_travail_box(doc: Builder) -> None:
    doc.table([60, 110], rows=[
        [B("Financeur"), "{{ funder.name }} – aide individuelle à la formation (AIF)"],
        [B("Référence de l'accord (devis AIF)"), B("{{ funder.reference }}")],
        [B("Identifiant France Travail du stagiaire"),
         "{% if funder.trainee_number %}{{ funder.trainee_number }}{% else %}…………………………{% endif %}"],
        [B("Prise en charge"), "{% if funder.agreed_hours %}{{ funder.agreed_hours }}{% endif %}"
                               "{% if funder.agreed_hours and funder.agreed_amount %} – {% endif %}"
                               "{% if funder.agreed_amount %}{{ funder.agreed_amount }}{% endif %}"
                               "{% if not funder.agreed_hours and not funder.agreed_amount %}selon l'accord{% endif %}"],
        [B("Conseiller France Travail"), "{% if funder.adviser %}{{ funder.adviser }}{% else %}—{% endif %}"],
    ], first_column_shaded=True, size=9)


def _organisation_signature(doc: Builder) -> None:
    doc.table([85, 85], rows=[["", [
        B("{{ org.signatory_name }}"), "{{ org.signatory_title }}, {{ org.name }}",
        I("Signature et cachet de l'organisme", size=7.5)]]], style=None, size=9.5, min_height=30)


def ft_entry() -> Builder:
    doc = Builder("Attestation d'entrée en formation")
    doc.title("ATTESTATION D'ENTRÉE EN FORMATION", "Aide individuelle à la formation – France Travail")
    doc.p(I("N° {{ document.number }}", size=8.5), align=CENTER, after=8)
    _france_travail_box(doc)

    doc.h1("Le stagiaire")
    doc.table([60, 110], rows=[
        [B("Nom et prénom"), B("{{ trainee.full_name }}")],
        [B("E-mail"), "{{ trainee.email }}"],
    ], first_column_shaded=True, size=9)

    doc.h1("La formation")
    doc.table([60, 110], rows=[
        [B("Intitulé"), B("{{ course.title }}")],
        [B("Organisme de formation"), "{{ org.name }}, SIRET {{ org.siret }}"
                                      "{% if org.nda %}, déclaration d'activité n° {{ org.nda }}{% endif %}"],
        [B("Session"), "{{ session.reference }}, {{ session.dates }}"],
        [B("Durée prévue"), "{{ session.hours }}"],
        [B("Lieu"), "{{ session.place }}"],
        [B("Modalité"), "{{ course.delivery_mode }}"],
    ], first_column_shaded=True, size=9)

    doc.p("Je soussigné(e) ", B("{{ org.signatory_name }}"), ", {{ org.signatory_title }} de ", B("{{ org.name }}"),
          ", atteste que ", B("{{ trainee.full_name }}"), " est entré(e) en formation le ", B("{{ entry.date }}"),
          " pour suivre l'action « {{ course.title }} », d'une durée prévue de {{ session.hours }}, "
          "au titre de l'accord France Travail n° {{ funder.reference }}.", align=JUSTIFY, before=8)
    _done_at(doc, " en deux exemplaires")
    doc.signatures([B("Pour l'organisme de formation"), "{{ org.signatory_name }}, {{ org.signatory_title }}",
                    I("Signature et cachet", size=7.5)],
                   [B("Le stagiaire"), "{{ trainee.full_name }}", I("Signature", size=7.5)])
    return doc


def ft_attendance() -> Builder:
    doc = Builder("Attestation de présence")
    doc.title("ATTESTATION DE PRÉSENCE", "Aide individuelle à la formation – France Travail")
    doc.p(I("N° {{ document.number }}", size=8.5), align=CENTER, after=8)
    doc.p("Je soussigné(e) ", B("{{ org.signatory_name }}"), ", {{ org.signatory_title }} de ", B("{{ org.name }}"),
          "{% if org.nda %} (déclaration d'activité n° {{ org.nda }}){% endif %}, atteste que ",
          B("{{ trainee.full_name }}"), " a suivi la formation « {{ course.title }} » (session {{ session.reference }}, "
          "{{ session.dates }}, {{ session.place }}) selon le détail ci-dessous.", align=JUSTIFY)
    _france_travail_box(doc)
    doc.table([60, 110], rows=[
        [B("Période"), "{{ presence.period }}"],
        [B("Heures de présence"), P(B("{{ presence.hours }}"),
                                    "{% if presence.by_modality %}, dont {{ presence.by_modality }}{% endif %}"
                                    "{% if presence.distance %} — {{ presence.distance|lower }}{% endif %}")],
        [B("Heures prévues sur la période"), "{{ presence.planned_hours }} (durée totale de la formation : "
                                             "{{ session.hours }})"],
        [B("Heures d'absence"), "{{ presence.absent_hours }}"],
    ], first_column_shaded=True, size=9)

    doc.h1("Présence par demi-journée")
    doc.table([24, 24, 28, 18, 22, 54], ["Date", "Demi-journée", "Horaires", "Prévu", "Présence", "Observation"],
              [["{{ s.date }}", "{{ s.half_day }}", "{{ s.times }}", P("{{ s.planned }}", align=RIGHT),
                P("{{ s.hours }}", align=RIGHT), "{{ s.status }}"]], loop="s in presence.slots", size=8.5)
    doc.tag("{%p if presence.months %}")
    doc.h1("Récapitulatif par mois")
    doc.table([68, 34, 34, 34], ["Mois", "Heures prévues", "Heures de présence", "Heures d'absence"],
              [["{{ m.month }}", P("{{ m.planned }}", align=RIGHT), P("{{ m.hours }}", align=RIGHT),
                P("{{ m.absent }}", align=RIGHT)]], loop="m in presence.months", size=8.5)
    doc.tag("{%p endif %}")
    doc.p(I("Heures établies d'après la feuille d'émargement signée par demi-journée (retards et départs anticipés "
            "déduits){% if presence.distance %} ; à distance, d'après la double signature et le rapport de connexion "
            "d'une classe virtuelle, ou le temps déclaré pour une activité asynchrone{% endif %}.", size=7.5))
    _done_at(doc)
    _organisation_signature(doc)
    return doc


def receipt() -> Builder:
    doc = Builder("Facture acquittée")
    doc.title("FACTURE ACQUITTÉE", "Attestation de paiement – dossier de remboursement {{ fund.name }}")
    doc.p(I("N° {{ document.number }}", size=8.5), align=CENTER, after=8)
    doc.p("Je soussigné(e) ", B("{{ org.signatory_name }}"), ", {{ org.signatory_title }} de ", B("{{ org.name }}"),
          ", certifie avoir reçu de ", B("{{ receipt.payer }}"), " le paiement intégral de la formation suivante :",
          align=JUSTIFY)
    doc.table([60, 110], rows=[
        [B("Stagiaire"), B("{{ trainee.full_name }}")],
        [B("Formation"), "{{ course.title }}"],
        [B("Session"), "{{ session.reference }}, {{ session.dates }} ({{ session.hours }})"],
        [B("Lieu"), "{{ session.place }}"],
        [B("Fonds"), "{{ fund.name }}{% if fund.file_number %}, dossier n° {{ fund.file_number }}{% endif %}"
                     "{% if fund.member_number %}, adhérent n° {{ fund.member_number }}{% endif %}"],
    ], first_column_shaded=True, size=9)

    doc.h1("Factures acquittées")
    doc.table([28, 24, 28, 90], ["Facture", "Date", "Montant TTC", "Acquit"],
              [["{{ i.number }}", "{{ i.issue_date }}", P("{{ i.total }}", align=RIGHT), "{{ i.statement }}"]],
              loop="i in receipt.invoices", size=8.5)
    doc.tag("{%p if receipt.payments %}")
    doc.h1("Paiements reçus")
    doc.table([28, 24, 34, 54, 30], ["Facture", "Date", "Mode", "Référence", "Montant"],
              [["{{ p.invoice }}", "{{ p.date }}", "{{ p.method }}", "{{ p.reference }}",
                P("{{ p.amount }}", align=RIGHT)]], loop="p in receipt.payments", size=8.5)
    doc.tag("{%p endif %}")
    doc.p(B("Total réglé : {{ receipt.total_paid }}"), " – paiement intégral reçu le ", B("{{ receipt.paid_on }}"),
          ".", before=4)
    _done_at(doc)
    _organisation_signature(doc)
    return doc


BUILDERS = {
    "convention": convention, "contract": contract, "convocation": convocation, "programme": programme,
    "internal_rules": internal_rules,
    "attendance_sheet": attendance_sheet, "attestation": attestation, "certificate": certificate, "quote": quote,
    "invoice": invoice, "trainer_contract": trainer_contract, "ft_entry": ft_entry, "ft_attendance": ft_attendance,
    "receipt": receipt,
}


def build(code: str, directory: str = DEFAULT_DIR) -> str:
    path = os.path.join(directory, DOC_TYPES[code].filename)
    BUILDERS[code]().save(path)
    return path


def build_all(directory: str = DEFAULT_DIR) -> list[str]:
    """Write the default templates into ``directory`` (created if needed); their paths."""
    os.makedirs(directory, exist_ok=True)
    return [build(code, directory) for code in DOC_TYPES]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    for path in build_all(args[0] if args else DEFAULT_DIR):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
