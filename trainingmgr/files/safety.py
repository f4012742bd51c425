"""What an uploaded file may hold, checked before anything reads it (files.services.check_bytes, for every kind),
so that no file can exhaust the server's memory or time. See docs/uploads.md."""
from __future__ import annotations

import codecs
import io
import posixpath
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass

from flask import current_app, has_app_context

from ..core.errors import ValidationError
from ..core.formatting import number_fr, size_fr

CHUNK = 64 * 1024  # bytes of a part read at a time
SNIFF = 512  # first bytes of a part read to recognise XML or an image
RATIO_FLOOR = 1024 * 1024  # a part smaller than this once decompressed may be compressed as much as it likes
MEBI = 1024 * 1024
LIST_MAX = MEBI  # bytes of [Content_Types].xml or of the OpenDocument manifest read as a tree (lxml)

PACKAGE_TYPES = ("application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                 "application/vnd.oasis.opendocument.text")
XML_NAMES = (".xml", ".rels", ".rdf", ".svg", ".vml")
# First bytes of the image formats Pillow reads, and its name for each.
IMAGE_MAGIC = ((b"\x89PNG\r\n\x1a\n", "PNG"), (b"\xff\xd8\xff", "JPEG"), (b"GIF87a", "GIF"), (b"GIF89a", "GIF"),
               (b"BM", "BMP"), (b"II*\x00", "TIFF"), (b"MM\x00*", "TIFF"))
_DTD_BYTES = re.compile(rb"<!(?:doctype|entity)", re.IGNORECASE)
_DTD_TEXT = re.compile(r"<!(?:doctype|entity)", re.IGNORECASE)
OVERLAP = 8  # len("<!ENTITY"): what a chunk keeps of the previous one, so that no declaration hides at the seam
_DECLARED = re.compile(r"\s*<\?xml[^>]*?\bencoding\s*=\s*[\"']([A-Za-z0-9._-]+)")
UTF8_NAMES = {"utf-8", "utf8", "us-ascii", "ascii"}
UTF16_NAMES = {"utf-16", "utf16", "utf-16le", "utf-16be"}

_END = struct.Struct("<4s4H2LH")  # end of central directory record
_END64_LOCATOR = struct.Struct("<4sLQL")
_END64 = struct.Struct("<4sQ2H2L4Q")
# A central directory record is 46 bytes and a name; more than this per allowed entry is not a document's.
DIRECTORY_BYTES_PER_ENTRY = 1024


@dataclass(frozen=True)
class Limits:
    max_entries: int
    max_uncompressed: int
    max_part: int
    max_ratio: int
    max_pixels: int


def limits() -> Limits:
    """The limits of the application's configuration (config.py's defaults outside an application)."""
    if has_app_context():
        config = current_app.config
    else:
        from ..config import DEFAULTS as config
    return Limits(config["UPLOAD_MAX_ENTRIES"], config["UPLOAD_MAX_UNCOMPRESSED"], config["UPLOAD_MAX_PART"],
                  config["UPLOAD_MAX_RATIO"], config["UPLOAD_MAX_IMAGE_PIXELS"])


def check(data: bytes, content_type: str, label: str, field: str = "file") -> None:
    """Refuse ``data``, already recognised as ``content_type`` by its extension and first bytes, if reading it could
    exhaust the server: a package (docx, odt), an image, an XML file. PDF files are stored without being read."""
    if content_type in PACKAGE_TYPES:
        check_package(data, field)
    elif content_type.startswith("image/"):
        check_image(io.BytesIO(data), f"Le {label}", field, _image_format(data[:SNIFF]))
    elif content_type == "application/xml":
        _scan_xml(io.BytesIO(data), "Le fichier", declared=True, field=field)


def _refuse(message: str, field: str):
    raise ValidationError(message, field=field)


# --------------------------------------------------------------------------- zip packages


def check_package(data: bytes, field: str = "file") -> None:
    """Refuse a zip package by its central directory (entries, sizes, ratios, methods), then by what its XML
    parts declare and by the pixel count of its images."""
    bounds = limits()
    _check_directory_end(data, bounds, field)
    # What zipfile and zlib raise on a damaged archive, from its directory to the last byte of a part (its CRC),
    # the lists of content types included; the refusals of the checks are ValidationErrors and pass through.
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = [info for info in archive.infolist() if not info.is_dir()]
            _check_entries(infos, bounds, field)
            types = _declared_types(archive, field)
            for info in infos:
                _check_part(archive, info, types, bounds, field, _stored(data, info))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, struct.error, EOFError, OSError, RuntimeError,
            NotImplementedError, ValueError):
        _refuse("Le fichier n'est pas lisible : son archive zip est endommagée.", field)


def _check_directory_end(data: bytes, bounds: Limits, field: str) -> None:
    """Refuse an archive whose end record announces too many entries, or a central directory too large for them,
    before zipfile reads that directory into memory (one object per entry). Without an end record, zipfile will
    say the file is damaged."""
    at = data.rfind(b"PK\x05\x06", max(0, len(data) - _END.size - 0xFFFF))
    if at < 0 or at + _END.size > len(data):
        return
    _, _, _, _, entries, size, offset, _ = _END.unpack_from(data, at)
    if (entries == 0xFFFF or size == 0xFFFFFFFF or offset == 0xFFFFFFFF) and at >= _END64_LOCATOR.size:
        signature, _, end64, _ = _END64_LOCATOR.unpack_from(data, at - _END64_LOCATOR.size)
        if signature == b"PK\x06\x07" and end64 + _END64.size <= len(data):
            fields = _END64.unpack_from(data, end64)
            if fields[0] == b"PK\x06\x06":
                entries, size = fields[7], fields[8]
    if entries > bounds.max_entries or size > bounds.max_entries * DIRECTORY_BYTES_PER_ENTRY:
        _too_many(entries if entries > bounds.max_entries else size // 46, bounds, field)


def _too_many(count: int, bounds: Limits, field: str) -> None:
    _refuse(f"Le fichier contient trop d'éléments ({number_fr(count)} ; {number_fr(bounds.max_entries)} au plus) : "
            "ce n'est pas un document ordinaire, il est refusé.", field)


def _check_entries(infos: list[zipfile.ZipInfo], bounds: Limits, field: str) -> None:
    """Entries, declared sizes, ratios and methods, from the central directory alone."""
    if len(infos) > bounds.max_entries:
        _too_many(len(infos), bounds, field)
    names = [info.filename for info in infos]
    if len(set(names)) != len(names):
        _refuse("Le fichier n'est pas lisible : son archive contient deux fois la même partie.", field)
    total = 0
    for info in infos:
        name = _shown(info.filename)
        if info.flag_bits & 0x1:
            _refuse(f"La partie « {name} » du fichier est chiffrée : enregistrez le document sans mot de passe.",
                    field)
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            _refuse(f"La partie « {name} » du fichier utilise une compression que Word n'écrit pas : "
                    "enregistrez le document depuis votre traitement de texte.", field)
        if info.file_size > bounds.max_part:
            _refuse(f"La partie « {name} » du fichier se décompresse en {size_fr(info.file_size, 'Mo')}, au-delà de la "
                    f"limite de {size_fr(bounds.max_part, 'Mo')} par partie : le fichier est refusé.", field)
        total += info.file_size
        if total > bounds.max_uncompressed:
            _refuse(f"Le fichier se décompresse en plus de {size_fr(bounds.max_uncompressed, 'Mo')} : au-delà de "
                    "cette limite, il est refusé.", field)
        if info.file_size > RATIO_FLOOR and info.file_size > bounds.max_ratio * max(info.compress_size, 1):
            ratio = info.file_size // max(info.compress_size, 1)
            _refuse(f"La partie « {name} » du fichier est comprimée {number_fr(ratio)} fois (au plus "
                    f"{number_fr(bounds.max_ratio)} fois) : c'est la marque d'une « bombe de décompression », "
                    "le fichier est refusé.", field)


def _shown(name: str) -> str:
    """A part's name for a message (an attacker's may be long)."""
    return name if len(name) <= 80 else name[:77] + "…"


def _declared_types(archive: zipfile.ZipFile, field: str) -> dict[str, str]:
    """Part name (without the leading /) or ``*.ext`` → content type, from [Content_Types].xml (Word) or
    META-INF/manifest.xml (OpenDocument), each checked first like any XML part. A list that cannot be read, or of
    more than LIST_MAX bytes, declares nothing (the parts are still recognised by their names and first bytes)."""
    from lxml import etree

    found: dict[str, str] = {}
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    for name in ("[Content_Types].xml", "META-INF/manifest.xml"):
        try:
            info = archive.getinfo(name)
        except KeyError:
            continue
        with archive.open(info) as stream:
            _scan_xml(stream, f"La partie « {name} »", declared=True, field=field)
        if info.file_size > LIST_MAX:  # a document's list is a few KB: a huge one is not parsed (its parts still are)
            continue
        try:
            root = etree.fromstring(archive.read(info), parser)
        except etree.XMLSyntaxError:
            continue
        for node in root.iter():
            if not isinstance(node.tag, str):
                continue
            local = etree.QName(node).localname
            attributes = {etree.QName(key).localname: value for key, value in node.attrib.items()}
            if local == "Default" and attributes.get("Extension"):
                found["*." + attributes["Extension"].lower()] = attributes.get("ContentType", "")
            elif local == "Override" and attributes.get("PartName"):
                found[attributes["PartName"].lstrip("/")] = attributes.get("ContentType", "")
            elif local == "file-entry" and attributes.get("full-path"):
                found[attributes["full-path"]] = attributes.get("media-type", "")
    return found


def _is_xml_type(content_type: str) -> bool:
    kind = content_type.split(";")[0].strip().lower()
    return kind.endswith(("/xml", "+xml")) or kind.endswith("vmldrawing")


def _stored(data: bytes, info: zipfile.ZipInfo) -> bytes:
    """A part's bytes as stored (compressed), where zipfile reads them: after its local header."""
    name_length, extra_length = struct.unpack_from("<HH", data, info.header_offset + 26)
    begin = info.header_offset + 30 + name_length + extra_length
    return data[begin:begin + info.compress_size]


# XML parts found clean, by what determines the verdict (compression, CRC, size, declared XML, stored bytes): the
# generated documents repeat their template's styles and settings (hundreds of KB to inflate) in every document.
_CLEAN: dict[tuple, None] = {}
_CLEAN_MAX = 256
_CLEAN_BYTES = 64 * 1024  # parts stored in more bytes are scanned every time


def _check_part(archive: zipfile.ZipFile, info: zipfile.ZipInfo, types: dict[str, str], bounds: Limits,
                field: str, stored: bytes) -> None:
    """An XML part is scanned for DTDs, an image bounded by its pixels; the other parts are left as they are."""
    extension = posixpath.splitext(info.filename)[1].lower()
    declared = types.get(info.filename) or types.get("*" + extension, "")
    xml = extension in XML_NAMES or _is_xml_type(declared)
    key = (info.compress_type, info.CRC, info.file_size, xml, stored) if len(stored) <= _CLEAN_BYTES else None
    if key is not None and key in _CLEAN:
        return
    name = _shown(info.filename)
    with archive.open(info) as stream:
        head = stream.read(SNIFF)
        image = _image_format(head)
        if image is None and (xml or _looks_like_xml(head)):
            _scan_xml(stream, f"La partie « {name} »", declared=xml, field=field, head=head)
            if key is not None:
                if len(_CLEAN) >= _CLEAN_MAX:
                    _CLEAN.clear()
                _CLEAN[key] = None
    if image is not None:
        with archive.open(info) as stream:
            check_image(stream, f"L'image « {name} » du fichier", field, image, bounds)


# --------------------------------------------------------------------------- XML


def _encoding(head: bytes) -> str | None:
    """The encoding of an XML document from its first bytes: "utf-8", "utf-16-le" or "utf-16-be"; None for any
    other (UTF-32, EBCDIC, or an XML declaration naming another encoding)."""
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, b"<\x00\x00\x00")):
        return None
    if head.startswith((codecs.BOM_UTF16_LE, b"<\x00")):
        encoding, accepted = "utf-16-le", UTF16_NAMES
    elif head.startswith((codecs.BOM_UTF16_BE, b"\x00<")):
        encoding, accepted = "utf-16-be", UTF16_NAMES
    elif head[:1] == b"\x00" or head.startswith(b"\x4c\x6f\xa7\x94"):  # UTF-32 without a BOM, EBCDIC
        return None
    else:
        encoding, accepted = "utf-8", UTF8_NAMES
    text = head.decode(encoding, "ignore").lstrip("\ufeff")
    declared = _DECLARED.match(text)
    if declared and declared.group(1).lower().replace("_", "-") not in accepted:
        return None
    return encoding


def _looks_like_xml(head: bytes) -> bool:
    encoding = _encoding(head)
    return encoding is not None and head.decode(encoding, "ignore").lstrip("\ufeff \t\r\n").startswith("<")


def _scan_xml(stream, what: str, declared: bool, field: str, head: bytes = b"") -> None:
    """Read an XML document CHUNK bytes at a time (after ``head``, its first bytes already read) and refuse it if
    it declares a DOCTYPE or an ENTITY (or, when it is declared XML, if it is in another encoding than UTF-8 or
    UTF-16)."""
    chunk = head + stream.read(CHUNK - len(head))
    encoding = _encoding(chunk)
    if encoding is None:
        if declared:
            _refuse(f"{what} du fichier n'est ni en UTF-8 ni en UTF-16, les seuls encodages d'un document Word : "
                    "le fichier est refusé.", field)
        return
    if encoding == "utf-8":
        pattern, tail, opening, decode = _DTD_BYTES, b"", b"<!", None
    else:
        pattern, tail, opening, decode = _DTD_TEXT, "", "<!", codecs.getincrementaldecoder(encoding)("replace").decode
    while chunk:
        window = tail + (decode(chunk) if decode else chunk)
        if opening in window and pattern.search(window):  # "<!" (a comment, CDATA…) is rare: looked for first
            _refuse(f"{what} du fichier contient une déclaration DOCTYPE ou ENTITY (définition de type de document), "
                    "interdite dans un document Word : le fichier est refusé.", field)
        tail = window[-OVERLAP:]
        chunk = stream.read(CHUNK)


# --------------------------------------------------------------------------- images


def _image_format(head: bytes) -> str | None:
    for magic, name in IMAGE_MAGIC:
        if head.startswith(magic):
            return name
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    return None


def check_image(stream, what: str, field: str = "file", image_format: str | None = None,
                bounds: Limits | None = None) -> None:
    """Refuse an image of more than UPLOAD_MAX_IMAGE_PIXELS pixels (all the frames of an animated PNG), or one whose
    header Pillow cannot read. Only the header is read: nothing is decoded."""
    from PIL import Image, UnidentifiedImageError

    bounds = bounds or limits()
    formats = [image_format] if image_format else None
    try:
        with Image.open(stream, formats=formats) as image:
            width, height = image.size
            frames = getattr(image, "n_frames", 1) if image.format == "PNG" else 1
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        _refuse(f"{what} compte plus de {number_fr(2 * (Image.MAX_IMAGE_PIXELS or 0))} pixels "
                f"({number_fr(bounds.max_pixels)} au plus) : réduisez sa taille.", field)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error,
            zipfile.BadZipFile):
        _refuse(f"{what} n'est pas une image lisible.", field)
    pixels = width * height * max(frames, 1)
    if pixels > bounds.max_pixels:
        images = f" sur {number_fr(frames)} images" if frames > 1 else ""
        _refuse(f"{what} compte {number_fr(width)} × {number_fr(height)} pixels{images}, plus que les "
                f"{number_fr(bounds.max_pixels)} permis : réduisez sa taille.", field)
