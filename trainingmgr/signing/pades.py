"""PAdES signatures of generated documents (quotes, conventions, contracts): the PDF and cryptographic layer.

No database and no request here, bytes in and bytes out: ``prepare`` when the document is sent, ``sign`` once per
signatory, ``verify`` for anyone holding the file, ``render_pages`` for the signatory's phone. pyHanko takes about
half a second to import: import this module where it is used, not when the application starts.
See docs/signing.md."""
from __future__ import annotations

import datetime as dt
import functools
import hashlib
import io
import logging
import os
import re
import textwrap
import threading
from dataclasses import dataclass, field
from pathlib import Path

from asn1crypto import keys as asn1_keys
from asn1crypto import pem
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from PIL import Image, UnidentifiedImageError
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.content import ResourceType
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.images import PdfImage
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.layout import BoxConstraints
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.writer import PageObject
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.fields import SigFieldSpec, SigSeedSubFilter, append_signature_field, enumerate_sig_fields
from pyhanko.sign.signers import PdfSignatureMetadata, PdfSigner, SimpleSigner
from pyhanko.sign.signers.pdf_cms import Signer
from pyhanko.sign.timestamps.api import TimeStamper
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko.sign.validation.settings import KeyUsageConstraints
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko.stamp.base import BaseStamp, BaseStampStyle
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.errors import InvalidCertificateError
from pyhanko_certvalidator.policy_decl import NO_REVOCATION, CertRevTrustPolicy
from pyhanko_certvalidator.registry import SimpleCertificateStore
from text_unidecode import unidecode

from ..core import timestamps
from ..core.timeutil import PARIS, UTC, utcnow

log = logging.getLogger(__name__)

KEY_FILE = "signing.key"
CERT_FILE = "signing.crt"
RSA_BITS = 3072
DIGEST = "sha256"
TSA_TIMEOUT = 10.0  # seconds

# A signatory's certificate must allow signing; a purchased seal certificate may carry either usage.
KEY_USAGE = KeyUsageConstraints(key_usage={"non_repudiation", "digital_signature"}, match_all_key_usages=False)
COVERS = {SignatureCoverageLevel.ENTIRE_FILE: "tout le fichier",
          SignatureCoverageLevel.ENTIRE_REVISION: "sa révision"}
PARTIAL = "partiellement"
EXPIRY_INDICATIONS = ("OUT_OF_BOUNDS_NO_POE", "OUT_OF_BOUNDS_NOT_REVOKED", "EXPIRED", "NOT_YET_VALID")

# render_pages: a phone needs no more; beyond, a hostile PDF could ask for gigabytes of pixels.
MAX_RENDER_PIXELS = 120_000_000  # all pages together
MAX_PAGE_ASPECT = 4  # a page more than 4 times taller than wide is refused
RENDER_LOCK = threading.Lock()
MAX_DRAWING_PIXELS = 4_000_000
DRAWING_WIDTH = 1000  # a drawn signature is scaled down to this many pixels across
MIN_DRAWING_SIDE = 10  # pixels
MAX_DRAWING_ASPECT = 12  # a drawing at most 12 times wider than high (or the reverse): a phone's pad is about 2:1


class SigningError(Exception):
    """The document cannot be prepared, signed or drawn; the message is French, for the operator or the page."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# --- The organisation's sealing certificate -------------------------------------------------------------------


@dataclass(frozen=True)
class Identity:
    subject: str  # "CN=…, O=…"
    issuer: str
    not_before: dt.datetime
    not_after: dt.datetime
    self_signed: bool
    sha256_fingerprint: str  # "AB:CD:…", as browsers and Acrobat show it


def init_certificate(directory: Path, organisation: str, *, days: int = 1095,
                     now: dt.datetime | None = None) -> Identity:
    """Create a self-signed sealing certificate for a trial: ``signing.key`` (PKCS#8 PEM, 0600) and
    ``signing.crt`` in ``directory``. Refuses to replace existing files."""
    directory = Path(directory)
    organisation = " ".join(organisation.split())
    if not organisation:
        raise SigningError("Le nom de l'organisme est nécessaire pour créer le certificat de signature.")
    if days < 1:
        raise SigningError("La durée de validité du certificat doit être d'au moins un jour.")
    for name in (KEY_FILE, CERT_FILE):
        if (directory / name).exists():
            raise SigningError(f"Un certificat de signature existe déjà ({directory / name}) : il n'est pas "
                               "remplacé. Déplacez-le d'abord s'il doit vraiment l'être.")
    now = now or utcnow()
    key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation[:64]),
                      x509.NameAttribute(NameOID.COMMON_NAME, organisation[:64])])
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))  # a reader whose clock is a little behind
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256()))
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    _write_new(directory / KEY_FILE, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()), 0o600)
    _write_new(directory / CERT_FILE, certificate.public_bytes(serialization.Encoding.PEM), 0o644)
    return _identity(_asn1_certificate(certificate))


def _write_new(path: Path, content: bytes, mode: int) -> None:
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        raise SigningError(f"Le fichier {path} existe déjà : il n'est pas remplacé.") from None
    except OSError as exc:
        raise SigningError(f"Le fichier {path} ne peut pas être créé ({exc.strerror}).") from None
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(content)


def load_signer(*, directory: str, p12_file: str = "", p12_passphrase: str = "",
                now: dt.datetime | None = None) -> Signer:
    """The organisation's signer: the purchased PKCS#12 ``p12_file`` when given, else the self-signed files of
    ``directory``. Refuses a missing, unreadable, mismatched, expired or not yet valid (at ``now``) certificate."""
    if p12_file:
        key, certificate, chain = _read_pkcs12(p12_file, p12_passphrase)
        where = p12_file
    else:
        key, certificate = _read_files(Path(directory))
        chain, where = [], str(Path(directory) / CERT_FILE)
    if key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo) \
            != certificate.public_key().public_bytes(serialization.Encoding.DER,
                                                     serialization.PublicFormat.SubjectPublicKeyInfo):
        raise SigningError(f"La clé privée ne correspond pas au certificat de signature ({where}).")
    _check_validity(certificate, where, now or utcnow())
    signing_cert = _asn1_certificate(certificate)
    key_info = asn1_keys.PrivateKeyInfo.load(key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    registry = SimpleCertificateStore.from_certs([signing_cert, *map(_asn1_certificate, chain)])
    return SimpleSigner(signing_cert=signing_cert, signing_key=key_info, cert_registry=registry)


def _read_pkcs12(path: str, passphrase: str):
    try:
        content = Path(path).read_bytes()
    except OSError as exc:
        raise SigningError(f"Le certificat de signature {path} est illisible ({exc.strerror}).") from None
    try:
        key, certificate, chain = pkcs12.load_key_and_certificates(content, passphrase.encode() or None)
    except ValueError:
        # cryptography says the same for a wrong passphrase and for a file that is no PKCS#12.
        raise SigningError(f"Le certificat de signature {path} ne s'ouvre pas : mot de passe incorrect, "
                           "ou ce n'est pas un fichier PKCS#12 (.p12, .pfx).") from None
    if key is None or certificate is None:
        raise SigningError(f"Le fichier {path} ne contient pas à la fois la clé privée et le certificat de "
                           "signature : exportez-le de nouveau avec sa clé privée.")
    return key, certificate, chain


def _read_files(directory: Path):
    key_path, cert_path = directory / KEY_FILE, directory / CERT_FILE
    missing = [str(path) for path in (key_path, cert_path) if not path.is_file()]
    if missing:
        raise SigningError(f"Aucun certificat de signature électronique n'est installé ({', '.join(missing)} "
                           "introuvable) : créez le certificat de l'organisme, ou indiquez le certificat acheté.")
    try:
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise SigningError(f"La clé privée de signature {key_path} est illisible "
                           f"({getattr(exc, 'strerror', None) or 'format PEM attendu'}).") from None
    try:
        certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
    except (OSError, ValueError) as exc:
        raise SigningError(f"Le certificat de signature {cert_path} est illisible "
                           f"({getattr(exc, 'strerror', None) or 'format PEM attendu'}).") from None
    return key, certificate


def _check_validity(certificate: x509.Certificate, where: str, now: dt.datetime) -> None:
    if now < certificate.not_valid_before_utc:
        raise SigningError(f"Le certificat de signature ({where}) n'est valide qu'à partir du "
                           f"{_moment(certificate.not_valid_before_utc)}.")
    if now > certificate.not_valid_after_utc:
        raise SigningError(f"Le certificat de signature ({where}) a expiré le "
                           f"{_moment(certificate.not_valid_after_utc)} : installez-en un nouveau.")


def identity(signer: Signer) -> Identity:
    """Who signs: the signer's certificate, for the settings page and the CLI."""
    return _identity(signer.signing_cert)


def _identity(certificate: asn1_x509.Certificate) -> Identity:
    fingerprint = hashlib.sha256(certificate.dump()).hexdigest().upper()
    return Identity(subject=_name(certificate.subject), issuer=_name(certificate.issuer),
                    not_before=certificate.not_valid_before, not_after=certificate.not_valid_after,
                    self_signed=certificate.self_signed != "no",
                    sha256_fingerprint=":".join(fingerprint[i:i + 2] for i in range(0, len(fingerprint), 2)))


def _asn1_certificate(certificate: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))


def _name(name: asn1_x509.Name) -> str:
    """"CN=…, O=…", most specific first."""
    return ", ".join(f"{timestamps.SHORT_NAMES.get(attribute['type'].native, attribute['type'].dotted)}="
                     f"{attribute['value'].native}" for rdn in reversed(name.chosen) for attribute in rdn)


# --- Text in Courier ------------------------------------------------------------------------------------------

FONTS = {"/F1": "Courier", "/F2": "Courier-Bold", "/F3": "Courier-Oblique"}
REGULAR, BOLD, ITALIC = FONTS
CHAR_WIDTH = 0.6  # Courier: every glyph is 0.6 em wide


def _latin(text: str) -> str:
    """``text`` on one line, in characters that WinAnsiEncoding has (others transliterated: Ł → L)."""
    text = " ".join(str(text).split())
    out = []
    for char in text:
        try:
            char.encode("cp1252")
            out.append(char)
        except UnicodeEncodeError:
            out.append(unidecode(char).encode("cp1252", "replace").decode("cp1252") or "?")
    return "".join(out)


def _fit(text: str, size: float, width: float) -> list[str]:
    """``text`` cut into lines of at most ``width`` points in Courier of ``size`` points."""
    return textwrap.wrap(_latin(text), max(1, int(width / (CHAR_WIDTH * size)))) or [""]


def _shorten(line: str, size: float, width: float) -> str:
    room = max(1, int(width / (CHAR_WIDTH * size)))
    return line if len(line) <= room else line[:room - 1] + "…"


def _show(font: str, size: float, x: float, y: float, line: str) -> bytes:
    """The operators that write ``line`` (already _latin) with its baseline at (x, y)."""
    return b"BT %s %g Tf %g %g Td <%s> Tj ET" % (font.encode(), size, x, y, line.encode("cp1252").hex().encode())


def _font_resources(writer) -> generic.DictionaryObject:
    return generic.DictionaryObject({
        pdf_name(name): writer.add_object(generic.DictionaryObject({
            pdf_name("/Type"): pdf_name("/Font"), pdf_name("/Subtype"): pdf_name("/Type1"),
            pdf_name("/BaseFont"): pdf_name("/" + base), pdf_name("/Encoding"): pdf_name("/WinAnsiEncoding")}))
        for name, base in FONTS.items()})


class _Column:
    """Lines of text laid out downwards from (x, top), ``width`` points wide."""

    def __init__(self, x: float, top: float, width: float):
        self.x, self.y, self.width = x, top, width
        self.ops: list[bytes] = []

    def add(self, text: str, *, size: float = 9, font: str = REGULAR, before: float = 0.0,
            bottom: float | None = None) -> None:
        """Wrap ``text``; with ``bottom``, the lines that would go below it are left out, the last shown ending
        in « … »."""
        self.y -= before
        lines = _fit(text, size, self.width)
        if bottom is not None:
            room = int((self.y - bottom) // (size * 1.2))
            if len(lines) > room:
                lines = lines[:room]
                if lines:
                    lines[-1] = _shorten(lines[-1] + " …", size, self.width)
        for line in lines:
            self.y -= size * 1.2
            self.ops.append(_show(font, size, self.x, self.y, line))


# --- Preparing a document -------------------------------------------------------------------------------------

A4 = (595.28, 841.89)
MARGIN = 56.0
BOX_HEIGHT = 118.0
LABEL_SPACE = 16.0  # the slot's label, above its box
BOX_GAP = 14.0
EVIDENCE_TITLE = "Dossier de preuve des signatures électroniques"
FIELD_NAME = re.compile(r"^[A-Za-z0-9_-]{1,60}$")
EXPLANATION = ("Chaque signataire reçoit un code à usage unique par e-mail avant de signer. Chaque signature est "
               "apposée par l'organisme dans une mise à jour incrémentale du fichier (signature PAdES) : les "
               "versions successives restent vérifiables dans un lecteur PDF (panneau « Signatures »).")


@dataclass(frozen=True)
class Slot:
    field_name: str  # "signature-1"
    label: str  # "Pour l'entreprise : Camille Bernard, gérante"


def prepare(pdf: bytes, *, title: str, reference: str, slots: list[Slot]) -> bytes:
    """``pdf`` with the evidence page(s) appended, one empty signature field per slot in its box, in order.

    An incremental update: the bytes of ``pdf`` stay the file's first revision, and their SHA-256 is printed."""
    _check_slots(slots)
    reader = _reader(pdf)
    existing = {name for name, _, _ in enumerate_sig_fields(reader)}
    if existing:
        raise SigningError("Ce document contient déjà des champs de signature : il a déjà été préparé.")
    writer = IncrementalPdfFileWriter.from_reader(reader)
    fonts = _font_resources(writer)
    header = [(f"Document : {title}", 10, BOLD), (f"Référence : {reference}", 10, REGULAR),
              ("Empreinte SHA-256 du document transmis (première révision de ce fichier) :", 8, REGULAR),
              (hashlib.sha256(pdf).hexdigest(), 8, REGULAR),
              (EXPLANATION, 8, REGULAR)]
    remaining = list(slots)
    while remaining:
        page, placed = _evidence_page(header if len(remaining) == len(slots) else None, remaining)
        page_index = writer.root["/Pages"]["/Count"]
        writer.insert_page(PageObject(contents=writer.add_object(generic.StreamObject(stream_data=page)),
                                      media_box=(0, 0, *A4), resources=generic.DictionaryObject(
                                          {pdf_name("/Font"): fonts})))
        for slot, box in placed:
            append_signature_field(writer, SigFieldSpec(sig_field_name=slot.field_name, on_page=page_index, box=box,
                                                        readable_field_name=_latin(slot.label)))
        remaining = remaining[len(placed):]
    output = io.BytesIO()
    writer.write(output)
    return output.getvalue()


def _check_slots(slots: list[Slot]) -> None:
    if not slots:
        raise SigningError("Il faut au moins un signataire pour préparer le document.")
    names = [slot.field_name for slot in slots]
    bad = [name for name in names if not FIELD_NAME.match(name)]
    if bad:
        raise SigningError(f"Nom de champ de signature invalide : « {bad[0]} » (lettres, chiffres, - et _).")
    if len(set(names)) != len(names):
        raise SigningError("Deux signataires ont le même champ de signature.")


def _evidence_page(header: list[tuple[str, float, str]] | None,
                   slots: list[Slot]) -> tuple[bytes, list[tuple[Slot, tuple[float, float, float, float]]]]:
    """The content of one evidence page and the slots it holds with their boxes (as many as fit)."""
    width = A4[0] - 2 * MARGIN
    column = _Column(MARGIN, A4[1] - MARGIN, width)
    column.add(EVIDENCE_TITLE if header else f"{EVIDENCE_TITLE} (suite)", size=13, font=BOLD)
    for text, size, font in header or ():
        column.add(text, size=size, font=font, before=6)
    ops = [b"0 g"] + column.ops
    top = column.y - 18
    placed = []
    for slot in slots:
        box_top = top - LABEL_SPACE
        if box_top - BOX_HEIGHT < MARGIN and placed:
            break
        label = _Column(MARGIN, top, width)
        label.add(slot.label, size=9, font=BOLD, bottom=box_top)
        ops += label.ops
        box = (MARGIN, box_top - BOX_HEIGHT, MARGIN + width, box_top)
        ops.append(b"q 0.6 G 0.5 w %g %g %g %g re S Q" % (box[0], box[1], width, BOX_HEIGHT))
        placed.append((slot, box))
        top = box[1] - BOX_GAP
    return b"\n".join(ops), placed


def _reader(pdf: bytes) -> PdfFileReader:
    """A reader of a PDF this module writes to: not encrypted, and readable."""
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        reader.root["/Pages"]["/Count"]
    except Exception:  # pyHanko's parser raises many kinds of errors on a broken file
        log.info("PDF illisible", exc_info=True)
        raise SigningError("Le document n'est pas un PDF lisible.") from None
    if reader.encrypted:
        raise SigningError("Le document PDF est chiffré : il ne peut pas être signé.")
    return reader


# --- Signing --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Evidence:
    signer_name: str
    signer_email: str
    role: str  # "Pour l'entreprise : gérante"
    code_checked_at: dt.datetime
    ip: str
    user_agent: str
    sha256_before: str  # of the file the signatory was shown, which this signature must be applied to
    signed_at: dt.datetime
    drawing_png: bytes | None
    typed_name: str


def sign(pdf: bytes, field_name: str, evidence: Evidence, signer: Signer, *, tsa_url: str = "",
         tsa_username: str = "", tsa_password: str = "", reason: str = "", location: str = "") -> bytes:
    """``pdf`` with ``field_name`` signed in a new incremental update (PAdES-B-B; B-T with ``tsa_url``)."""
    if hashlib.sha256(pdf).hexdigest() != evidence.sha256_before.lower():
        raise SigningError("Le document a changé depuis qu'il a été présenté au signataire : la signature "
                           "n'est pas apposée. Présentez-lui la version actuelle.")
    reader = _reader(pdf)
    fields = {name: value for name, value, _ in enumerate_sig_fields(reader)}
    if field_name not in fields:
        raise SigningError(f"Le champ de signature « {field_name} » n'existe pas dans ce document.")
    if fields[field_name] is not None:
        raise SigningError(f"Le champ de signature « {field_name} » est déjà signé.")
    drawing = _drawing(evidence.drawing_png)
    if drawing is None and not evidence.typed_name.strip():
        raise SigningError("La signature n'a ni dessin ni nom saisi.")
    metadata = PdfSignatureMetadata(
        field_name=field_name, md_algorithm=DIGEST, subfilter=SigSeedSubFilter.PADES,
        name=evidence.signer_name, contact_info=evidence.signer_email, reason=reason or None,
        location=location or None)
    stamper = _timestamper(tsa_url, tsa_username, tsa_password) if tsa_url else None
    style = _EvidenceStyle(evidence=evidence, drawing=drawing)
    output = io.BytesIO()
    try:
        timestamps.run_coroutine(PdfSigner(metadata, signer, timestamper=stamper, stamp_style=style).async_sign_pdf(
            IncrementalPdfFileWriter.from_reader(reader), existing_fields_only=True, output=output))
    except timestamps.TimestampError as exc:
        raise SigningError(f"La signature n'est pas apposée : {exc.message}") from None
    except Exception:  # pyHanko's errors (SigningError, PdfWriteError, ValueError…) are not for the signatory
        log.exception("Signature PAdES impossible (champ %s)", field_name)
        raise SigningError("La signature électronique n'a pas pu être apposée sur le document (erreur "
                           "technique, détaillée dans le journal du serveur).") from None
    return output.getvalue()


def check_drawing(png: bytes | None) -> None:
    """Refuse (SigningError) a drawing ``sign`` could not place: unreadable, too big, or of an impossible shape."""
    _drawing(png)


def _drawing(png: bytes | None) -> Image.Image | None:
    """The drawn signature, ready for the PDF (RGB, with its transparency as a mask), or None."""
    if not png:
        return None
    try:
        image = Image.open(io.BytesIO(png))
        if image.width * image.height > MAX_DRAWING_PIXELS:
            raise SigningError("Le dessin de la signature est trop grand.")
        if min(image.width, image.height) < MIN_DRAWING_SIDE or max(image.width, image.height) > \
                MAX_DRAWING_ASPECT * min(image.width, image.height):
            raise SigningError("Le dessin de la signature n'a pas un format accepté : recommencez dans le cadre.")
        image.load()
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise SigningError("Le dessin de la signature est illisible (image PNG attendue).") from None
    has_alpha = "A" in image.getbands() or "transparency" in image.info
    image = image.convert("RGBA" if has_alpha else "RGB")
    if image.width > DRAWING_WIDTH:
        image.thumbnail((DRAWING_WIDTH, DRAWING_WIDTH))
    return image


def _evidence_lines(evidence: Evidence) -> list[str]:
    return [f"Signé électroniquement par {evidence.signer_name}",
            evidence.role,
            f"E-mail : {evidence.signer_email}",
            f"Code à usage unique vérifié le {_moment(evidence.code_checked_at)}",
            f"Adresse IP : {evidence.ip or 'inconnue'} ; navigateur : {browser(evidence.user_agent)}",
            f"Empreinte SHA-256 du document avant signature : {evidence.sha256_before.lower()}",
            f"Signé le {_moment(evidence.signed_at)}"]


@dataclass(frozen=True)
class _EvidenceStyle(BaseStampStyle):
    """The appearance of a signed field: the drawing (or typed name) on the left, the evidence on the right."""

    evidence: Evidence | None = None
    drawing: Image.Image | None = field(default=None, compare=False)
    border_width: int = 1
    border_color: tuple[float, float, float] | None = (0.6, 0.6, 0.6)

    def create_stamp(self, writer, box: BoxConstraints, text_params: dict) -> _EvidenceStamp:
        return _EvidenceStamp(writer=writer, style=self, box=box)


class _EvidenceStamp(BaseStamp):
    PADDING = 6.0

    def _render_inner_content(self) -> list[bytes]:
        width, height, pad = self.box.width, self.box.height, self.PADDING
        left = min(width * 0.34, 200.0)
        for name, reference in _font_resources(self.writer).items():
            self.set_resource(ResourceType.FONT, name, reference)
        ops = [b"q 0 g"]
        if self.style.drawing is not None:
            ops.append(self._drawing(pad, pad, left - 2 * pad, height - 2 * pad))
        else:
            ops.append(self._typed_name(pad, height, left - 2 * pad))
        ops.append(b"q 0.75 G 0.5 w %g %g m %g %g l S Q" % (left, pad, left, height - pad))
        column = _Column(left + pad, height - pad + 2, width - left - 2 * pad)
        for index, line in enumerate(_evidence_lines(self.style.evidence)):
            column.add(line, size=7, font=BOLD if index == 0 else REGULAR, bottom=pad)
        ops += column.ops
        ops.append(b"Q")
        return ops

    def _drawing(self, x: float, y: float, room_width: float, room_height: float) -> bytes:
        image = self.style.drawing
        scale = min(room_width / image.width, room_height / image.height)
        width, height = image.width * scale, image.height * scale
        content = PdfImage(image, writer=self.writer, box=BoxConstraints(width=width, height=height))
        drawn = content.render()
        self.import_resources(content.resources)
        return b"q 1 0 0 1 %g %g cm %s Q" % (x + (room_width - width) / 2, y + (room_height - height) / 2, drawn)

    def _typed_name(self, x: float, height: float, room_width: float) -> bytes:
        name = _latin(self.style.evidence.typed_name)
        size = max(8.0, min(16.0, room_width / (CHAR_WIDTH * max(len(name), 1))))
        lines = _fit(name, size, room_width)[:3]
        top = height / 2 + len(lines) * size * 0.6
        return b" ".join(_show(ITALIC, size, x, top - (index + 1) * size * 1.2, line)
                         for index, line in enumerate(lines))


@functools.lru_cache(maxsize=4)
def _timestamper(url: str, username: str, password: str) -> _TimeStamper:
    """One timestamper per TSA for the life of the process: pyHanko asks for a first token only to measure its
    size, and keeps it; a new timestamper per signature would pay for two tokens each time."""
    return _TimeStamper(url, username, password)


class _TimeStamper(TimeStamper):
    """pyHanko's TimeStamper through core/timestamps.py's client: its checks and its French errors (pyHanko's
    own handle_tsp_response crashes on a wrong nonce in 0.38, and asn1crypto cannot read a refusal)."""

    def __init__(self, url: str, username: str, password: str):
        super().__init__(include_nonce=True)
        self.url, self.auth = url, (username, password) if username else None

    async def async_timestamp(self, message_digest: bytes, md_algorithm: str):
        if md_algorithm != timestamps.HASH_ALGORITHM:
            raise timestamps.TimestampError(f"Empreinte {md_algorithm} non prise en charge pour l'horodatage.")
        username, password = self.auth or ("", "")
        return timestamps.token_for_digest(message_digest, self.url, timeout=TSA_TIMEOUT, username=username,
                                           password=password)


BROWSERS = (("Edg/", "Edge"), ("EdgA/", "Edge"), ("EdgiOS/", "Edge"), ("OPR/", "Opera"),
            ("SamsungBrowser/", "Samsung Internet"), ("Firefox/", "Firefox"), ("FxiOS/", "Firefox"),
            ("CriOS/", "Chrome"), ("Chrome/", "Chrome"), ("Version/", "Safari"))
SYSTEMS = (("iPhone", "iPhone"), ("iPad", "iPad"), ("Android", "Android"), ("Windows", "Windows"),
           ("CrOS", "ChromeOS"), ("Mac OS X", "macOS"), ("Linux", "Linux"))


def browser(user_agent: str) -> str:
    """"Safari 17 sur iPhone" from a User-Agent header; the header cut to 60 characters when not recognised."""
    user_agent = " ".join((user_agent or "").split())
    name = next(((label, token) for token, label in BROWSERS if token in user_agent), None)
    system = next((label for token, label in SYSTEMS if token in user_agent), None)
    if name is None or system is None:
        return (user_agent[:59] + "…" if len(user_agent) > 60 else user_agent) or "inconnu"
    label, token = name
    version = user_agent.split(token, 1)[1].split(".", 1)[0].split(" ", 1)[0]
    return f"{label} {version} sur {system}" if version.isdigit() else f"{label} sur {system}"


def _moment(moment: dt.datetime) -> str:
    """25/11/2026 à 14:05:09 (heure de Paris); a naive value is taken as UTC."""
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.astimezone(PARIS).strftime("%d/%m/%Y à %H:%M:%S (heure de Paris)")


# --- Verification ---------------------------------------------------------------------------------------------


@dataclass
class SignatureReport:
    field_name: str
    signer: str  # the signatory's name (/Name), else the certificate's common name
    signed_at: dt.datetime | None  # as the signature claims it (/M)
    intact: bool  # the signed bytes are those the signature was made on
    valid: bool  # the cryptographic signature is correct
    trusted: bool  # made by a certificate chaining to the trust roots, valid at the time it is judged at
    covers: str  # "tout le fichier", "sa révision" (an earlier one) or "partiellement"
    modifications_ok: bool  # what came after this signature is only signature fields being filled
    timestamp: dt.datetime | None  # the signature timestamp's genTime, when checked against tsa_roots
    problem: str  # French, empty when fine
    certificate: str = ""  # subject of the signing certificate, "CN=…, O=…"


@dataclass
class Report:
    ok: bool
    signatures: list[SignatureReport]
    problems: list[str]  # French; empty when ok
    sha256: str  # of the file checked
    # Signature fields still empty: ``ok`` judges the signatures present, not whether everyone has signed.
    unsigned_fields: list[str] = field(default_factory=list)


def verify(pdf: bytes, *, trust_roots: list[bytes], tsa_roots: list[bytes] | None = None) -> Report:
    """Check every signature of ``pdf`` with pyHanko's validator; never raises on bad input.

    The file is ok when it has signatures, each intact, valid and trusted (its certificate chains to one of
    ``trust_roots``, PEM or DER), the last one covering the whole file and each earlier one its own revision,
    with nothing after it but signature fields being filled (pyHanko's ``FORM_FILLING`` level or less). A
    signature timestamp is checked against ``tsa_roots``; when it is valid, the certificate is judged at its
    time, else now. Without ``tsa_roots`` timestamps are not judged. Nothing is fetched from the network and
    revocation is not checked (no CRL or OCSP): a revoked certificate still counts as trusted.
    """
    digest = hashlib.sha256(pdf).hexdigest()

    def refused(problem: str) -> Report:
        return Report(False, [], [problem], digest)

    if not pdf:
        return refused("Le fichier est vide.")
    try:
        roots = _certificates(trust_roots)
        tsa = _certificates(tsa_roots) if tsa_roots is not None else None
    except ValueError:
        return refused("Un certificat de confiance configuré est illisible : la vérification est impossible.")
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        embedded = reader.embedded_regular_signatures
        unsigned = [name for name, value, _ in enumerate_sig_fields(reader) if value is None]
    except Exception:  # a random upload: pyHanko's parser raises anything
        log.info("PDF illisible à la vérification", exc_info=True)
        return refused("Ce fichier n'est pas un PDF lisible.")
    if not embedded:
        return Report(False, [], ["Ce document ne porte aucune signature électronique."], digest, unsigned)
    signatures = [_check(signature, index == len(embedded) - 1, roots, tsa)
                  for index, signature in enumerate(embedded)]
    problems = [f"Signature « {report.field_name} » ({report.signer}) : {report.problem}"
                for report in signatures if report.problem]
    return Report(not problems, signatures, problems, digest, unsigned)


def _certificates(blobs: list[bytes]) -> list[asn1_x509.Certificate]:
    """Every certificate of ``blobs`` (each a PEM bundle or one DER certificate); ValueError on garbage."""
    found = []
    for blob in blobs:
        ders = ([der for kind, _, der in pem.unarmor(blob, multiple=True) if kind == "CERTIFICATE"]
                if pem.detect(blob) else [blob])
        for der in ders:
            try:
                certificate = asn1_x509.Certificate.load(der)
                certificate.native  # asn1crypto parses lazily
            except (ValueError, TypeError, KeyError, IndexError) as exc:
                raise ValueError("unreadable certificate") from exc
            found.append(certificate)
    return found


def _context(roots: list[asn1_x509.Certificate], moment: dt.datetime | None = None) -> ValidationContext:
    return ValidationContext(trust_roots=roots, moment=moment, allow_fetching=False,
                             revinfo_policy=CertRevTrustPolicy(NO_REVOCATION))


def _check(embedded, last: bool, roots, tsa_roots) -> SignatureReport:
    """One signature's report; the earlier ones (``last`` False) may be followed by form filling only."""
    name = embedded.field_name
    try:
        status, moment = _validate(embedded, roots, tsa_roots)
    except Exception:  # a broken CMS blob, an unknown algorithm…: pyHanko raises various errors
        log.info("Signature %s illisible", name, exc_info=True)
        return SignatureReport(name, _signer_name(embedded), None, False, False, False, PARTIAL, False, None,
                               "signature illisible ou d'un format non reconnu")
    stamp = status.timestamp_validity
    timestamp = stamp.timestamp if tsa_roots is not None and stamp is not None and stamp.trusted else None
    certificate = status.signing_cert
    in_period = certificate.not_valid_before <= moment <= certificate.not_valid_after
    trusted = status.trusted and in_period
    level = status.modification_level
    modifications_ok = bool(status.docmdp_ok) and level is not None and level <= ModificationLevel.FORM_FILLING
    problems = []
    if not status.intact:
        problems.append("le contenu signé a été modifié (empreinte différente)")
    elif not status.valid:
        problems.append("la signature cryptographique est invalide")
    elif not trusted:
        problems.append(_trust_problem(status, in_period, timestamp))
    if tsa_roots is not None and stamp is not None and not stamp.trusted:
        problems.append("l'horodatage est invalide ou vient d'une autorité non reconnue")
    if status.coverage < SignatureCoverageLevel.ENTIRE_REVISION:
        problems.append("la signature ne couvre qu'une partie de sa version du fichier")
    elif not modifications_ok:
        problems.append("des modifications non autorisées (contenu des pages, annotations…) ont été apportées "
                        "après cette signature")
    elif last and status.coverage != SignatureCoverageLevel.ENTIRE_FILE:
        problems.append("le fichier a été complété après la dernière signature")
    return SignatureReport(name, _signer_name(embedded), status.signer_reported_dt, status.intact, status.valid,
                           trusted, COVERS.get(status.coverage, PARTIAL), modifications_ok, timestamp,
                           " ; ".join(problems), _name(certificate.subject))


def _validate(embedded, roots, tsa_roots):
    """pyHanko's status and the moment the certificate is judged at: the signature timestamp's time when the
    timestamp is valid, else now.

    pyHanko does not judge the validity period of a trust root (RFC 5280 leaves trust anchors out of path
    validation), so a self-signed certificate trusted as its own root never expires for it: the caller checks
    the period against the moment returned."""

    def at(moment: dt.datetime | None):
        return timestamps.run_coroutine(async_validate_pdf_signature(
            embedded, signer_validation_context=_context(roots, moment),
            ts_validation_context=_context(tsa_roots if tsa_roots is not None else [], moment),
            key_usage_settings=KEY_USAGE))

    status = at(None)
    stamp = status.timestamp_validity
    if tsa_roots is None or stamp is None or not stamp.trusted:
        return status, utcnow()
    if status.trust_problem_indic is not None and status.trust_problem_indic.name in EXPIRY_INDICATIONS:
        status = at(stamp.timestamp)
    return status, stamp.timestamp


def _trust_problem(status, in_period: bool, timestamp: dt.datetime | None) -> str:
    certificate = status.signing_cert
    indication = status.trust_problem_indic.name if status.trust_problem_indic is not None else ""
    if not in_period or indication in EXPIRY_INDICATIONS:
        period = f"du {_moment(certificate.not_valid_before)} au {_moment(certificate.not_valid_after)}"
        if timestamp is not None:
            return f"le certificat de signature, valide {period}, ne l'était pas à la date de l'horodatage"
        return f"le certificat de signature n'est valide que {period}, et aucun horodatage reconnu ne date la signature"
    try:
        KEY_USAGE.validate(certificate)
    except InvalidCertificateError:
        return "le certificat n'est pas prévu pour signer des documents"
    # Also pyHanko's CHAIN_CONSTRAINTS_FAILURE for a self-signed certificate that is not a trust root.
    return "le certificat de signature n'est pas reconnu (ce n'est pas celui de l'organisme)"


def _signer_name(embedded) -> str:
    try:
        name = embedded.sig_object.get("/Name")
        if name:
            return str(name)
        return embedded.signer_cert.subject.native.get("common_name") or _name(embedded.signer_cert.subject)
    except Exception:  # an unreadable signature: nothing to name it by
        return "signataire inconnu"


# --- Pages for the phone --------------------------------------------------------------------------------------


def render_pages(pdf: bytes, *, width: int = 900, max_pages: int = 40) -> list[bytes]:
    """Each page as a PNG ``width`` pixels wide (at most ``max_pages`` pages, and MAX_RENDER_PIXELS in all)."""
    images = _render(pdf, width, max_pages)
    pages = []
    for image in images:
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        pages.append(buffer.getvalue())
    return pages


def _render(pdf: bytes, width: int, max_pages: int) -> list[Image.Image]:
    """PDFium is not thread-safe, even across documents: one rendering at a time in the process, and every
    PDFium object closed before the lock is released (a finaliser running later would call PDFium unlocked)."""
    import pypdfium2  # the native PDFium library loads when a page is first shown

    with RENDER_LOCK:
        try:
            document = pypdfium2.PdfDocument(pdf)
            document.init_forms()  # else PDFium leaves out the form fields' appearances: the signatures
        except pypdfium2.PdfiumError:
            raise SigningError("Le document n'est pas un PDF lisible : il ne peut pas être affiché.") from None
        try:
            count = len(document)
            if count == 0:
                raise SigningError("Le document n'a aucune page.")
            if count > max_pages:
                raise SigningError(f"Le document a trop de pages pour être affiché ({count}, au plus {max_pages}).")
            budget, images = MAX_RENDER_PIXELS, []
            for index in range(count):
                page = document[index]
                try:
                    page_width, page_height = page.get_size()
                    if page_width <= 0 or page_height <= 0 or page_height > MAX_PAGE_ASPECT * page_width:
                        raise SigningError(f"La page {index + 1} du document a un format impossible à afficher.")
                    scale = width / page_width
                    budget -= int(width * page_height * scale)
                    if budget < 0:
                        raise SigningError("Le document est trop grand pour être affiché.")
                    bitmap = page.render(scale=scale)
                    try:
                        images.append(bitmap.to_pil().copy())
                    finally:
                        bitmap.close()
                finally:
                    page.close()
            return images
        finally:
            document.close()


def trust_certificates(*, directory: str, p12_file: str = "", p12_passphrase: str = "") -> list[bytes]:
    """The certificates a verification trusts (DER): the purchased PKCS#12's certificate and chain, else the
    self-signed ``signing.crt`` of ``directory``. Their validity dates are not judged here (``verify`` does, at
    the signature's time): an old document stays verifiable after its certificate expired."""
    if p12_file:
        _key, certificate, chain = _read_pkcs12(p12_file, p12_passphrase)
        return [c.public_bytes(serialization.Encoding.DER) for c in (certificate, *chain)]
    path = Path(directory) / CERT_FILE
    try:
        return [x509.load_pem_x509_certificate(path.read_bytes()).public_bytes(serialization.Encoding.DER)]
    except FileNotFoundError:
        raise SigningError(f"Aucun certificat de signature ({path}) : créez-le avec « flask --app app signing "
                           "init » ou indiquez SIGNING_P12_FILE.") from None
    except (OSError, ValueError):
        raise SigningError(f"Le certificat de signature {path} est illisible.") from None
