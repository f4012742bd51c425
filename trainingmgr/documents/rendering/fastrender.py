"""Rendering a Word template without reloading it: the template is prepared once (cached by its bytes), each render
only runs Jinja and writes the zip; what the structure check (``_check``) cannot vouch for raises ``Unsupported``
and engine.render uses docxtpl instead. See docs/templates-sandbox.md."""
from __future__ import annotations

import contextvars
import io
import logging
import posixpath
import re
import struct
import threading
import zipfile
import zlib
from collections import OrderedDict

from jinja2 import TemplateSyntaxError
from lxml import etree

from . import limits, sandbox
from .context import Picture

CACHE_SIZE = 32  # prepared templates kept (a few hundred KB each)
NUMBERED_MAX = 2_000_000  # characters of a part's source up to which its paragraphs are numbered (_numbered)
LEVEL = 1  # zlib level of the rendered parts: the fastest (a few per cent larger than level 6)
DECLARATION = b"<?xml version='1.0' encoding='UTF-8' standalone='yes'?>\n"  # python-docx's, for the parts it writes
W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
W = f"{{{W_NS}}}"  # the namespace as ElementTree spells it in a tag
WP_NS = "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing"
RELS_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
TYPES_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
IMAGE_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/image"
FOOTNOTES_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.footnotes+xml"
DELIMITERS = ("{{", "{%", "{#")
# Filters whose output is not escaped: the rendered XML could then be anything.
UNESCAPED = {"safe", "urlize", "xmlattr"}

# The run XML of a picture, as docxtpl's InlineImage writes it (python-docx's CT_Inline.new_pic_inline, not
# pretty-printed: whitespace between DrawingML elements means nothing).
DRAWING = (
    '</w:t></w:r><w:r><w:drawing><wp:inline xmlns:wp="' + WP_NS + '" '
    'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
    'xmlns:pic="http://schemas.openxmlformats.org/drawingml/2006/picture" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<wp:extent cx="{cx}" cy="{cy}"/><wp:docPr id="{id}" name="Picture {id}"/>'
    '<wp:cNvGraphicFramePr><a:graphicFrameLocks noChangeAspect="1"/></wp:cNvGraphicFramePr>'
    '<a:graphic><a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/picture">'
    '<pic:pic><pic:nvPicPr><pic:cNvPr id="0" name="{filename}"/><pic:cNvPicPr/></pic:nvPicPr>'
    '<pic:blipFill><a:blip r:embed="{rid}"/><a:stretch><a:fillRect/></a:stretch></pic:blipFill>'
    '<pic:spPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="{cx}" cy="{cy}"/></a:xfrm>'
    '<a:prstGeom prst="rect"/></pic:spPr></pic:pic></a:graphicData></a:graphic></wp:inline></w:drawing></w:r>'
    '<w:r><w:t xml:space="preserve">')

_XML_TAG = re.compile(r"<(/?)([A-Za-z_][\w.:-]*)[^<>]*?(/?)>|<")
_SPECIALS = re.compile(r"[\t\a\n\f]")  # what docxtpl's resolve_listing turns into tabs and breaks
# Either of those, or a character XML 1.0 forbids (below): an output value that has one flags its render
# (_finalize), so that the rendered XML is searched only then.
_ODD = re.compile("[\x00-\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_PARAGRAPH = re.compile(r"<w:p(?: [^>]*)?>.*?</w:p>", re.DOTALL)  # resolve_listing's paragraphs
_DOCPR = re.compile(rb'(<wp:docPr\b[^>]*?\sid=")[^"]*(")')
# Characters XML 1.0 forbids (a vertical tab pasted from Word, say); docxtpl would give a body that lxml
# "recovers" (text cut) or a header that python-docx refuses: they are dropped.
_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_MEDIA = re.compile(r"word/media/image(\d+)\.[^/]*$")


logger = logging.getLogger(__name__)


class Unsupported(Exception):
    """The template uses something the fast path does not reproduce: render it with docxtpl."""


# --------------------------------------------------------------------------- environment and pictures


_STATE: contextvars.ContextVar[_Render | None] = contextvars.ContextVar("fastrender_state", default=None)


class _Undefined(sandbox.RecordingUndefined):
    """RecordingUndefined whose recorder is the current render's."""

    def _recorder(self):
        state = _STATE.get()
        return state.recorder if state is not None else None


def _finalize(value):
    """Every value a template outputs ({{ }}) passes here (Jinja's finalize), and is returned unchanged: a
    text with a tab, a line break, a page break or a character XML forbids flags the render. While a template
    is compiled, the state is the part's (constant expressions are output at compile time). A large value counts
    in the render's budget (limits.charge_output)."""
    if isinstance(value, str):
        if _ODD.search(value):
            state = _STATE.get()
            if state is not None:
                state.odd = True
        if len(value) > limits.LARGE_OUTPUT:
            limits.charge_output(value, limits.LARGE_OUTPUT)
    elif isinstance(value, limits.CONTAINERS):
        limits.charge_output(value, limits.LARGE_OUTPUT)
    return value


class _PictureValue:
    """A picture of the context: renders as the run XML of an inline picture; exposes no attribute."""

    __slots__ = ("_picture",)

    def __init__(self, picture: Picture):
        self._picture = picture

    def __html__(self) -> str:
        return _STATE.get().picture_xml(self._picture)

    __str__ = __html__


_ENV = None
_ENV_LOCK = threading.Lock()


def _environment():
    global _ENV
    if _ENV is None:
        with _ENV_LOCK:
            if _ENV is None:
                env = sandbox.Sandbox(undefined=_Undefined, autoescape=True, finalize=_finalize)
                env.opaque = (_PictureValue, Picture)
                _ENV = env
    return _ENV


_LEAVES = frozenset({str, int, float, bool, type(None)})


def _wrap(value, path: str = ""):
    """sandbox.with_pictures(sandbox.tracked(value)) in one pass: dicts become _Node carrying their dotted path,
    pictures _PictureValue (leaves, most of the values, are copied with their dict)."""
    if isinstance(value, dict):
        node = sandbox.Node(value)
        node._path = path
        for key, item in value.items():
            if type(item) not in _LEAVES:
                node[key] = _wrap(item, f"{path}.{key}" if path else key)
        return node
    if isinstance(value, list):
        path = f"{path}[]"
        return [item if type(item) in _LEAVES else _wrap(item, path) for item in value]
    if isinstance(value, Picture):
        return _PictureValue(value)
    return value


class _Image:
    __slots__ = ("ext", "content_type", "filename", "cx", "cy", "crc")


_IMAGES: dict[tuple[bytes, float], _Image] = {}
_IMAGES_MAX = 512


def _image(data: bytes, width_mm: float) -> _Image:
    """Format and size of a picture, as python-docx computes them (cached: signatures recur)."""
    key = (data, width_mm)
    info = _IMAGES.get(key)
    if info is None:
        from docx.image.image import Image  # python-docx loads only when a template renders
        from docx.shared import Mm

        image = Image.from_blob(data)
        cx, cy = image.scaled_dimensions(Mm(width_mm), None)
        info = _Image()
        info.ext, info.content_type, info.filename = image.ext, image.content_type, image.filename
        info.cx, info.cy, info.crc = int(cx), int(cy), zlib.crc32(data)
        if len(_IMAGES) >= _IMAGES_MAX:
            _IMAGES.clear()
        _IMAGES[key] = info
    return info


# --------------------------------------------------------------------------- zip entries


_LOCAL = struct.Struct("<IHHHHHIIIHH")
_RECORD = struct.Struct("<IHHHHHHIIIHHHHHII")
_END = struct.Struct("<IHHHHIIH")
_DEFLATED: dict[bytes, tuple[int, bytes]] = {}  # small payloads (headers, footers, rels) → (CRC, deflated)
_DEFLATED_MAX = 256


def _deflate(payload: bytes) -> tuple[int, bytes]:
    """(CRC-32, raw deflate) of ``payload``; small ones are remembered, as headers, footers and relationships
    render the same for many documents."""
    if len(payload) > 8192:
        return zlib.crc32(payload), zlib.compress(payload, LEVEL, -15)
    found = _DEFLATED.get(payload)
    if found is None:
        found = zlib.crc32(payload), zlib.compress(payload, LEVEL, -15)
        if len(_DEFLATED) >= _DEFLATED_MAX:
            _DEFLATED.clear()
        _DEFLATED[payload] = found
    return found


class _Entry:
    """A zip entry ready to be written: name, compression, CRC, sizes and the compressed bytes."""

    __slots__ = ("name", "flag", "method", "dostime", "dosdate", "crc", "usize", "data", "made_by", "attr", "_local")

    def __init__(self, name: str, method: int, crc: int, usize: int, data: bytes, dostime: int, dosdate: int,
                 made_by: int = 20, attr: int = 0):
        self.name = name.encode("utf-8")
        self.flag = 0 if name.isascii() else 0x800
        self.method, self.crc, self.usize, self.data = method, crc, usize, data
        self.dostime, self.dosdate, self.made_by, self.attr = dostime, dosdate, made_by, attr
        self._local = None

    def like(self, name: str, payload: bytes) -> _Entry:
        """A new entry with this one's date and attributes: ``payload`` deflated."""
        crc, data = _deflate(payload)
        return _Entry(name, zipfile.ZIP_DEFLATED, crc, len(payload), data, self.dostime, self.dosdate,
                      self.made_by, self.attr)

    def local(self) -> bytes:
        """The local header and the data."""
        if self._local is None:
            self._local = _LOCAL.pack(0x04034B50, 20, self.flag, self.method, self.dostime, self.dosdate, self.crc,
                                      len(self.data), self.usize, len(self.name), 0) + self.name + self.data
        return self._local

    def record(self, offset: int) -> bytes:
        """The central directory record, for a local header at ``offset``."""
        return _RECORD.pack(0x02014B50, self.made_by, 20, self.flag, self.method, self.dostime, self.dosdate,
                            self.crc, len(self.data), self.usize, len(self.name), 0, 0, 0, 0, self.attr,
                            offset) + self.name


class _Head:
    """The first entries of every output, written once: [Content_Types].xml (one variant) and the entries
    rendering never changes (styles, settings, theme…), with their central directory records."""

    __slots__ = ("local", "records", "count")

    def __init__(self, types: _Entry, static: list[_Entry]):
        chunks, records, offset = [], [], 0
        for entry in [types] + static:
            records.append(entry.record(offset))
            chunks.append(entry.local())
            offset += len(chunks[-1])
        self.local, self.records, self.count = b"".join(chunks), b"".join(records), len(records)


def _zip(head: _Head, entries: list[_Entry]) -> bytes:
    chunks, records, offset = [head.local], [head.records], len(head.local)
    for entry in entries:
        records.append(entry.record(offset))
        chunks.append(entry.local())
        offset += len(chunks[-1])
    directory = b"".join(records)
    count = head.count + len(entries)
    chunks.append(directory)
    chunks.append(_END.pack(0x06054B50, 0, 0, count, count, len(directory), offset, 0))
    return b"".join(chunks)


def _raw_entries(template: bytes) -> tuple[list[_Entry], dict[str, bytes]]:
    """The template's zip entries with their compressed bytes (recompressed only if neither stored nor
    deflated), and the uncompressed bytes of the few the preparation reads."""
    entries, texts = [], {}
    with zipfile.ZipFile(io.BytesIO(template)) as archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            y, mo, d, h, mi, s = info.date_time
            dostime, dosdate = (h << 11) | (mi << 5) | (s // 2), ((max(y, 1980) - 1980) << 9) | (mo << 5) | d
            payload = archive.read(info)  # checks the CRC
            if info.compress_type in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                start = info.header_offset
                name_length, extra_length = struct.unpack("<HH", template[start + 26:start + 30])
                begin = start + 30 + name_length + extra_length
                data, method = template[begin:begin + info.compress_size], info.compress_type
            else:
                data, method = zlib.compress(payload, 6, -15), zipfile.ZIP_DEFLATED
            entries.append(_Entry(info.filename, method, info.CRC, info.file_size, data, dostime, dosdate,
                                  (info.create_system << 8) | 20, info.external_attr))
            texts[info.filename] = payload
    return entries, texts


# --------------------------------------------------------------------------- preparation


class _Part:
    """A story part (body, header, footer): its compiled template and its relationships."""

    __slots__ = ("name", "body", "template", "error", "prefix", "suffix", "rels_name", "rels_xml", "rids",
                 "image_rids", "next_id", "directory", "odd", "drawings", "may_empty", "missing")

    def __init__(self, name: str, body: bool):
        self.name, self.body = name, body
        self.template = self.error = None
        self.prefix, self.suffix = DECLARATION, b""
        self.rels_name = posixpath.join(posixpath.dirname(name), "_rels", posixpath.basename(name) + ".rels")
        self.rels_xml: str | None = None
        self.rids: set[str] = set()
        self.image_rids: dict[str, str] = {}  # zip name of an image already related → its rId
        self.next_id = 1
        self.directory = posixpath.dirname(name)
        self.odd = False  # the template's own text has what _ODD finds
        self.drawings = False  # the template has pictures of its own (wp:docPr)
        self.may_empty = False  # a table of the body has all its rows in loops or conditions
        self.missing: list[str] = []  # names recorded while compiling

    def finish(self, xml: str, odd: bool, pictures: bool) -> bytes:
        """What docxtpl does to the rendered XML (render_xml_part), then fix_docpr_ids for the body; encoded.

        docxtpl puts a line break before each paragraph of the source and removes them from the output (for
        the line numbers of its error messages): not done, the output is the same. ``odd``: a value had a
        tab, a break or a forbidden character (_finalize); ``pictures``: pictures were rendered in this part.
        Searching a 25 KB string for two characters takes 20 µs, for one 0.5 µs: hence the flags, and the
        braces looked for one by one before docxtpl's {_{ and the like."""
        if odd or self.odd:
            xml = _resolve_listing(xml)
            if _INVALID.search(xml):
                xml = _INVALID.sub("", xml)
        data = xml.encode("utf-8")
        if b"{" in data or b"}" in data:
            data = data.replace(b"{_{", b"{{").replace(b"}_}", b"}}").replace(b"{_%", b"{%").replace(b"%_}", b"%}")
        if self.body:
            if pictures or self.drawings:
                ids = iter(range(1001, 1 << 31))
                data = _DOCPR.sub(lambda m: b"%s%d%s" % (m.group(1), next(ids), m.group(2)), data)
            if self.may_empty and b"</w:tblGrid></w:tbl>" in data:
                raise Unsupported("a table lost all its rows: docxtpl's fix_tables removes its grid")
        return self.prefix + data + self.suffix


def _resolve_listing(xml: str) -> str:
    """docxtpl's resolve_listing, applied only to the paragraphs that have something to resolve (the same
    paragraphs its regex finds; the others it leaves unchanged)."""
    if not _SPECIALS.search(xml):
        return xml
    from docxtpl import DocxTemplate  # loaded only when a template renders (0.4 s)

    pieces, last = [], 0
    for match in _PARAGRAPH.finditer(xml):
        if _SPECIALS.search(xml, match.start(), match.end()):
            pieces.append(xml[last:match.start()])
            pieces.append(DocxTemplate.resolve_listing(None, match.group(0)))
            last = match.end()
    pieces.append(xml[last:])
    return "".join(pieces)


class _Prepared:
    __slots__ = ("parts", "entries", "types_xml", "defaults", "media_numbers", "media_by_data",
                 "header_next_id", "heads", "head", "head_static", "types_entry", "date")


def _prepare(template: bytes) -> _Prepared:
    from docxtpl import DocxTemplate  # loaded only when a template renders (0.4 s)

    sandbox.check_package(template)  # a template stored before those checks is prepared here too
    try:
        tpl = DocxTemplate(io.BytesIO(template))
        tpl.init_docx()
    except Exception:
        raise sandbox.TemplateProblem("Ce fichier n'est pas un document Word (.docx) lisible.", field="file") from None
    try:
        return _prepare_docx(template, tpl)
    except Unsupported:
        raise
    except Exception as exc:  # a .docx python-docx reads but this code does not expect: docxtpl will do
        raise Unsupported(f"preparation failed: {exc!r}") from exc


def _prepare_docx(template: bytes, tpl) -> _Prepared:
    entries, texts = _raw_entries(template)
    _refuse_tags_outside_parts(tpl.docx)
    env = _environment()
    names = {e.name.decode("utf-8") for e in entries}
    prepared = _Prepared()
    prepared.parts = []
    for story, xml in _stories(tpl):
        if story.name not in names:
            raise Unsupported(f"{story.name} not in the zip")
        _compile(env, story, xml, tpl)
        if story.rels_name in names:
            _read_relationships(story, texts[story.rels_name])
        prepared.parts.append(story)
    _prepare_package(prepared, entries, texts, names)
    return prepared


def _refuse_tags_outside_parts(docx) -> None:
    """Unsupported when the document properties or the footnotes hold tags (docxtpl's render_properties and
    render_footnotes)."""
    for prop in ("author", "comments", "identifier", "language", "subject", "title"):
        if any(d in (getattr(docx.core_properties, prop) or "") for d in DELIMITERS):
            raise Unsupported(f"tag in the document property {prop}")
    for part in docx.part.package.parts:
        if part.content_type == FOOTNOTES_TYPE and any(d.encode() in part.blob for d in DELIMITERS):
            raise Unsupported("tags in the footnotes")


def _stories(tpl) -> list[tuple[_Part, str]]:
    """The body, then each header and footer, with the XML docxtpl would render of each."""
    docx = tpl.docx
    body = _Part(docx.part.partname.lstrip("/"), True)
    body.prefix, body.suffix = _around_body(docx.element)
    sources = [(body, tpl.get_xml())]
    seen = {body.name}
    for uri in (tpl.HEADER_URI, tpl.FOOTER_URI):
        for _, part in tpl.get_headers_footers(uri):
            story = _Part(part.partname.lstrip("/"), False)
            if story.name in seen:
                raise Unsupported(f"{story.name} related twice")
            seen.add(story.name)
            sources.append((story, tpl.get_part_xml(part)))
    return sources


def _compile(env, story: _Part, xml: str, tpl) -> None:
    """Compile one part once (a syntax error is kept for its renders to raise), then check its structure."""
    source = _numbered(env, tpl.patch_xml(xml))
    story.next_id = max([int(v) for v in re.findall(r'\sid="(\d+)"', xml)] + [0]) + 1
    compiling = _Compiling()
    token = _STATE.set(compiling)
    try:
        story.template = env.from_string(source)
        # Its globals are a ChainMap over the environment's, merged into a dict on every render: once.
        story.template.globals = dict(story.template.globals)
    except TemplateSyntaxError as exc:
        story.error = exc
        story.missing = compiling.recorder.missing
    else:
        story.missing = compiling.recorder.missing
        odd, story.may_empty = _check(env, source, story.body)
        story.odd = odd or compiling.odd
        story.drawings = "docPr" in source
        if story.drawings and story.body and (
                f'xmlns:wp="{WP_NS}"' not in source or set(re.findall(r"<(\w+:)?docPr\b", source)) != {"wp:"}):
            raise Unsupported("pictures of the template under another prefix than wp")
    finally:
        _STATE.reset(token)


def _read_relationships(story: _Part, data: bytes) -> None:
    """The part's relationships: their ids, and the id of each picture it already relates."""
    rels = data.decode("utf-8")
    if "</Relationships>" not in rels:
        raise Unsupported(f"{story.rels_name}: unexpected form")
    story.rels_xml = rels
    for rel in etree.fromstring(data).iter(f"{{{RELS_NS}}}Relationship"):
        story.rids.add(rel.get("Id"))
        if rel.get("Type") == IMAGE_REL and rel.get("TargetMode") != "External":
            target = posixpath.normpath(posixpath.join(story.directory, rel.get("Target", "")))
            story.image_rids.setdefault(target, rel.get("Id"))


def _prepare_package(prepared: _Prepared, entries: list, texts: dict, names: set[str]) -> None:
    """The content types, the pictures already there, and the entries of the zip written once per template."""
    types_name = "[Content_Types].xml"
    if types_name not in names or "</Types>" not in texts[types_name].decode("utf-8"):
        raise Unsupported("no [Content_Types].xml")
    prepared.types_xml = texts[types_name].decode("utf-8")
    prepared.defaults = {d.get("Extension", "").lower(): d.get("ContentType")
                         for d in etree.fromstring(texts[types_name]).iter(f"{{{TYPES_NS}}}Default")}
    prepared.media_numbers = {int(m.group(1)) for n in names if (m := _MEDIA.match(n))}
    prepared.media_by_data = {texts[n]: n for n in names if n.startswith("word/media/")}
    prepared.header_next_id = max([p.next_id for p in prepared.parts if not p.body] + [1])
    # Every output: [Content_Types].xml, the entries rendering never changes, then the parts, their
    # relationships and the pictures (the order of the entries of a zip means nothing to Word).
    by_name = {e.name.decode("utf-8"): e for e in entries}
    variable = {types_name} | {p.name for p in prepared.parts} | {p.rels_name for p in prepared.parts}
    prepared.entries = {name: by_name[name] for name in by_name if name in variable and name != types_name}
    prepared.types_entry = by_name[types_name]
    prepared.head_static = [e for n, e in by_name.items() if n not in variable]
    prepared.head = _Head(prepared.types_entry, prepared.head_static)
    prepared.heads = {}
    prepared.date = by_name[prepared.parts[0].name]  # the body's


def _around_body(root) -> tuple[bytes, bytes]:
    """The document part's XML before and after its body (python-docx's declaration included). Two markers are
    put inside the body while the part is serialised: taking the body out of the tree and back (lxml's replace)
    reconciles the namespaces of every node of it, which takes minutes for a body of a few hundred thousand
    paragraphs."""
    element = root.body
    first, last = etree.Element("fastrender-first"), etree.Element("fastrender-last")
    element.insert(0, first)
    element.append(last)
    try:
        whole = etree.tostring(root, encoding="UTF-8", standalone=True)
    finally:
        element.remove(first)
        element.remove(last)
    opened, closed = re.search(rb"<fastrender-first\b[^>]*>", whole), re.search(rb"<fastrender-last\b[^>]*>", whole)
    start = whole.rindex(b"<", 0, opened.start())  # the body's start tag
    end = whole.index(b">", closed.end()) + 1  # the end of its end tag
    return whole[:start], whole[end:]


def _numbered(env, source: str) -> str:
    """``source`` whose line numbers are paragraph numbers, as with docxtpl (limits.numbered); unchanged when it
    does not tokenise (its compilation will say why), or beyond NUMBERED_MAX characters (a few hundred pages:
    the comments would cost a second more to compile; the messages then name the part only)."""
    if len(source) > NUMBERED_MAX:
        return source
    try:
        tokens = list(env.lexer.tokeniter(source, None))
    except TemplateSyntaxError:
        return source
    if "".join(token[2] for token in tokens) != source:
        return source
    return limits.numbered(tokens)


class _Compiling:
    """The state while a part compiles: Jinja outputs constant expressions then (``''.__class__``, say: the
    names it records are the part's, added to each render's, as docxtpl, which compiles on each render, does)."""

    def __init__(self):
        self.odd = False
        self.recorder = sandbox.Recorder()


class _Walk:
    """The state of _check's walk through a part's tokens: the open XML elements, the open blocks, the tables."""

    def __init__(self):
        self.stack: list[tuple[str, int]] = []
        self.serial = 0
        self.blocks: list[tuple[str, tuple, int]] = []  # open blocks: keyword, where, the element they are in
        self.tables: set[int] = set()
        self.fixed: set[int] = set()  # tables with a row outside any block
        self.skeleton: list[str] = []

    def data(self, text: str) -> None:
        """The XML between two Jinja tags: the elements it opens and closes, its tables and their fixed rows."""
        self.skeleton.append(text)
        stack = self.stack
        for match in _XML_TAG.finditer(text):
            name = match.group(2)
            if name is None:
                raise Unsupported("tag inside an XML tag, or XML comment")
            if match.group(1):
                if not stack or stack[-1][0] != name:
                    raise Unsupported("unbalanced XML")
                stack.pop()
            elif not match.group(3):
                self.serial += 1
                if name == "w:tbl":
                    self.tables.add(self.serial)
                elif name == "w:tr" and stack and stack[-1][0] == "w:tbl":
                    if not any(block[2] == stack[-1][1] for block in self.blocks):
                        self.fixed.add(stack[-1][1])
                stack.append((name, self.serial))

    def tag(self, kind: str, inner: list) -> None:
        """A value ({{ }}, ``kind`` variable_begin) or a statement ({% %}) with its tokens: where it stands."""
        words = [value for _, token, value in inner if token == "name"]
        strings = {value.strip("'\"") for _, token, value in inner if token == "string"}
        if UNESCAPED & (set(words) | strings):
            raise Unsupported("unescaped output")
        names = tuple(name for name, _ in self.stack)
        cell = next((number for name, number in reversed(self.stack) if name == "w:tc"), None)
        where = (names, cell)
        if kind == "variable_begin":
            if names[-2:] != ("w:r", "w:t"):
                raise Unsupported("value outside the text of a run")
            return
        keyword = words[0] if words else ""
        if keyword in ("for", "if", "with"):
            if keyword == "for" and "recursive" in words:
                raise Unsupported("recursive loop")
            if names and names[-1] == "w:tr":
                raise Unsupported("block between the cells of a row")
            self.blocks.append((keyword, where, self.stack[-1][1] if self.stack else 0))
        elif keyword in ("elif", "else", "endfor", "endif", "endwith"):
            if not self.blocks or self.blocks[-1][1] != where:
                raise Unsupported(f"{keyword} elsewhere than its block's start")
            if keyword.startswith("end"):
                self.blocks.pop()
        elif keyword == "set":
            if not any(token == "assign" for _, token, _ in inner):
                raise Unsupported("set block")
        else:  # macro, call, filter, include, import, block, autoescape…: output the check cannot follow
            raise Unsupported(f"statement {keyword}")


def _check(env, source: str, body: bool) -> tuple[bool, bool]:
    """Raise Unsupported unless every render of ``source`` is well-formed XML with the tables of the template;
    whether the template's own text has what _ODD finds, and whether a table may lose all its rows. The rules
    are in docs/templates-sandbox.md (What the fast renderer vouches for)."""
    tokens = list(env.lexer.tokeniter(source, None))
    if "".join(t[2] for t in tokens) != source:
        raise Unsupported("tokens")
    walk = _Walk()
    index = 0
    while index < len(tokens):
        kind = tokens[index][1]
        if kind == "data":
            walk.data(tokens[index][2])
        elif kind in ("block_begin", "variable_begin"):
            end = "block_end" if kind == "block_begin" else "variable_end"
            inner = []
            index += 1
            while tokens[index][1] != end:
                inner.append(tokens[index])
                index += 1
            walk.tag(kind, inner)
        elif kind == "comment_begin":
            while tokens[index][1] != "comment_end":
                index += 1
        index += 1  # past the data, the tag's end, comment_end, raw_begin or raw_end
    if walk.stack or walk.blocks:
        raise Unsupported("unbalanced")
    skeleton_xml = "".join(walk.skeleton)
    odd = bool(_ODD.search(skeleton_xml))
    if not body or "<w:tbl" not in skeleton_xml:
        return odd, False
    _check_tables(skeleton_xml)
    return odd, bool(walk.tables - walk.fixed)


def _check_tables(skeleton_xml: str) -> None:
    """Raise Unsupported unless fix_tables leaves every table of the template (its tags removed) unchanged."""
    try:
        root = etree.fromstring(skeleton_xml.encode("utf-8"))
    except etree.XMLSyntaxError:
        raise Unsupported("skeleton") from None
    for table in root.iter(W + "tbl"):
        grid = table.find(W + "tblGrid")
        if grid is None:
            raise Unsupported("table without a grid")
        columns = len(grid.findall(W + "gridCol"))
        own = 0
        for row in table.iter(W + "tr"):
            span = _row_span(row, columns)
            if next(row.iterancestors(W + "tbl")) is table:
                own += 1
                if span != columns:
                    raise Unsupported("row narrower than its grid")
        if not own:
            raise Unsupported("table without rows")


def _row_span(row, columns: int) -> int:
    """The columns a table row spans; Unsupported when it has more cells or columns than its grid."""
    cells = row.findall(W + "tc")
    span = 0
    for cell in cells:
        spans = cell.find(f"{W}tcPr/{W}gridSpan")
        try:
            span += 1 if spans is None else int(spans.get(W + "val"))
        except (TypeError, ValueError):
            raise Unsupported("gridSpan") from None
    if len(cells) > columns or span > columns:
        raise Unsupported("row wider than its grid")
    return span


# --------------------------------------------------------------------------- cache


_CACHE: OrderedDict[bytes, _Prepared | Unsupported] = OrderedDict()
_CACHE_LOCK = threading.Lock()


def prepared(template: bytes) -> _Prepared:
    """The prepared template (cached); Unsupported, or TemplateProblem for a file that is no .docx.

    The cache is keyed by the template's bytes themselves: a dict finds them by Python's hash and compares
    them whole, which costs less than a SHA-256 (10 µs against 25 for 40 KB) and cannot collide."""
    key = bytes(template)
    with _CACHE_LOCK:
        found = _CACHE.get(key)
        if found is not None:
            _CACHE.move_to_end(key)
    if found is None:
        try:
            found = _prepare(key)
        except Unsupported as exc:
            logger.info("Template rendered with docxtpl, not prepared: %s", exc)
            found = exc
        with _CACHE_LOCK:
            _CACHE[key] = found
            _CACHE.move_to_end(key)
            while len(_CACHE) > CACHE_SIZE:
                _CACHE.popitem(last=False)
    if isinstance(found, Unsupported):
        raise Unsupported(*found.args)
    return found


def clear_cache() -> None:
    with _CACHE_LOCK:
        _CACHE.clear()


# --------------------------------------------------------------------------- rendering


class _Render:
    """The state of one render: the recorder of missing names, the part being rendered, the pictures."""

    __slots__ = ("prepared", "recorder", "part", "odd", "pictures", "media", "new_media", "numbers", "rels",
                 "header_id")

    def __init__(self, prepared: _Prepared):
        self.prepared = prepared
        self.recorder = sandbox.Recorder()
        self.part: _Part | None = None
        self.odd = self.pictures = False
        self.media: dict[bytes, str] = {}  # image bytes → zip name (new or the template's)
        self.new_media: list[tuple[str, bytes, _Image]] = []
        self.numbers = prepared.media_numbers  # copied before the first new picture
        self.rels: dict[str, dict[str, str]] = {}  # part name → {zip name of the image: new rId}
        self.header_id = prepared.header_next_id

    def picture_xml(self, picture: Picture) -> str:
        part = self.part
        info = _image(picture.data, picture.width_mm)
        name = self.media.get(picture.data)
        if name is None:
            name = self.prepared.media_by_data.get(picture.data)
            if name is None:
                if self.numbers is self.prepared.media_numbers:
                    self.numbers = set(self.numbers)
                number = 1
                while number in self.numbers:
                    number += 1
                self.numbers.add(number)
                name = f"word/media/image{number}.{info.ext}"
                self.new_media.append((name, picture.data, info))
            self.media[picture.data] = name
        rid = part.image_rids.get(name)
        if rid is None:
            added = self.rels.setdefault(part.name, {})
            rid = added.get(name)
            if rid is None:
                taken = part.rids
                number = 1
                while f"rId{number}" in taken or f"rId{number}" in added.values():
                    number += 1
                rid = added[name] = f"rId{number}"
        self.pictures = True
        if part.body:
            shape = part.next_id  # renumbered by fix_docpr_ids, as with docxtpl
        else:
            shape = self.header_id
            self.header_id += 1
        return DRAWING.format(cx=info.cx, cy=info.cy, id=shape, filename=info.filename, rid=rid)

    def write(self, outputs: dict[str, bytes]) -> bytes:
        prepared = self.prepared
        entries = dict(prepared.entries)
        dated = prepared.date  # the document part's entry: date and attributes of the new entries
        for name, payload in outputs.items():
            entries[name] = dated.like(name, payload)
        head = prepared.head
        for part in prepared.parts:
            added = self.rels.get(part.name)
            if not added:
                continue
            lines = "".join(f'<Relationship Id="{rid}" Type="{IMAGE_REL}" '
                            f'Target="{posixpath.relpath(name, part.directory)}"/>' for name, rid in added.items())
            if part.rels_xml is None:
                xml = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                       f'<Relationships xmlns="{RELS_NS}">{lines}</Relationships>')
            else:
                start, _, end = part.rels_xml.rpartition("</Relationships>")
                xml = start + lines + "</Relationships>" + end
            entries[part.rels_name] = dated.like(part.rels_name, xml.encode("utf-8"))
        if self.new_media:
            defaults = prepared.defaults
            added_defaults = tuple(sorted({(info.ext.lower(), info.content_type) for _, _, info in self.new_media
                                           if info.ext.lower() not in defaults}))
            overrides = tuple(sorted({(name, info.content_type) for name, _, info in self.new_media
                                      if defaults.get(info.ext.lower(), info.content_type) != info.content_type}))
            if added_defaults or overrides:
                key = (added_defaults, overrides)
                head = prepared.heads.get(key)
                if head is None:
                    extra = [f'<Default Extension="{ext}" ContentType="{content_type}"/>'
                             for ext, content_type in dict(added_defaults).items()]
                    extra += [f'<Override PartName="/{name}" ContentType="{content_type}"/>'
                              for name, content_type in overrides]
                    start, _, end = prepared.types_xml.rpartition("</Types>")
                    types = prepared.types_entry.like("[Content_Types].xml",
                                                      (start + "".join(extra) + "</Types>" + end).encode("utf-8"))
                    head = _Head(types, prepared.head_static)
                    if len(prepared.heads) < 8:
                        prepared.heads[key] = head
            for name, data, info in self.new_media:
                entries[name] = _Entry(name, zipfile.ZIP_STORED, info.crc, len(data), data, dated.dostime,
                                       dated.dosdate, dated.made_by, dated.attr)
        return _zip(head, list(entries.values()))


def render(template: bytes, context: dict) -> sandbox.Rendered:
    """Render like engine.render's docxtpl path; Unsupported when the template needs docxtpl. Jinja's
    errors propagate, and the template's own errors as limits.RenderFailure (engine.render turns both into
    TemplateProblem); engine.render also bounds the render (limits.bounded)."""
    prepared_template = prepared(template)
    state = _Render(prepared_template)
    token = _STATE.set(state)
    outputs: dict[str, bytes] = {}
    try:
        values = _wrap(context)
        missing = state.recorder.missing
        for part in prepared_template.parts:
            missing += [name for name in part.missing if name not in missing]
            if part.error is not None:
                raise part.error.with_traceback(None)
            state.part, state.odd, state.pictures = part, False, False
            try:
                xml = part.template.render(values)
            except limits.TEMPLATE_ERRORS as exc:  # the template's own error (or a bound: limits.TemplateLimit)
                raise limits.RenderFailure.of(exc, part.name) from None
            outputs[part.name] = part.finish(xml, state.odd, state.pictures)
    finally:
        _STATE.reset(token)
    return sandbox.Rendered(state.write(outputs), state.recorder.missing)

