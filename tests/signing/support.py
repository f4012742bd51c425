"""Documents, signatories and certificates for the PAdES tests."""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import re

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from PIL import Image, ImageDraw
from pypdf import PdfReader, PdfWriter
from pypdf.generic import ContentStream, DictionaryObject, NameObject

from trainingmgr.signing.pades import Evidence, Slot

SLOTS = [Slot("signature-1", "Pour l'entreprise : Camille Bernard, gérante"),
         Slot("signature-2", "Le stagiaire : Łukasz Nowak"),
         Slot("signature-3", "Le formateur : Jean Dupont")]
IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
          "Version/17.1 Mobile/15E148 Safari/604.1")
ANDROID = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
           "Chrome/120.0.6099.144 Mobile Safari/537.36")
CODE_CHECKED = dt.datetime(2026, 11, 25, 13, 5, 9, tzinfo=dt.timezone.utc)  # 14:05:09 in Paris
SIGNED = dt.datetime(2026, 11, 25, 13, 6, 0, tzinfo=dt.timezone.utc)


def document(*texts: str) -> bytes:
    """A PDF made by pypdf (not by pyHanko), one A4 page per text, the text in Helvetica, streams uncompressed."""
    writer = PdfWriter()
    font = DictionaryObject({NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
                             NameObject("/BaseFont"): NameObject("/Helvetica")})
    for text in texts or ("Convention de formation, page 1", "Conditions générales, page 2"):
        page = writer.add_blank_page(595, 842)
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})})
        content = ContentStream(None, writer)
        content.set_data(b"BT /F1 14 Tf 72 760 Td (" + text.encode("cp1252") + b") Tj ET")
        page.replace_contents(content)
    output = io.BytesIO()
    writer.write(output)
    return output.getvalue()


def drawing() -> bytes:
    """A drawn signature as the phone sends it: a PNG, dark strokes on a transparent background."""
    image = Image.new("RGBA", (600, 200), (255, 255, 255, 0))
    ImageDraw.Draw(image).line([(20, 150), (200, 40), (350, 160), (580, 30)], fill=(10, 10, 90, 255), width=8)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def evidence(pdf: bytes, name: str, *, email: str = "", role: str = "", drawn: bool = False,
             user_agent: str = IPHONE, ip: str = "192.0.2.10") -> Evidence:
    """What the workflow records for ``name`` signing ``pdf``: the typed name, or a drawing when ``drawn``."""
    return Evidence(signer_name=name, signer_email=email or f"{name.split()[0].lower()}@example.fr",
                    role=role or "Signataire", code_checked_at=CODE_CHECKED, ip=ip, user_agent=user_agent,
                    sha256_before=hashlib.sha256(pdf).hexdigest(), signed_at=SIGNED,
                    drawing_png=drawing() if drawn else None, typed_name="" if drawn else name)


SIGNATORIES = [{"name": "Camille Bernard", "role": "Pour l'entreprise, gérante", "drawn": True},
               {"name": "Łukasz Nowak", "role": "Stagiaire", "user_agent": ANDROID, "ip": "198.51.100.7"},
               {"name": "Jean Dupont", "role": "Formateur", "ip": "2001:db8::1"}]


def append_page_content(pdf: bytes, text: bytes = b"ANNULE") -> bytes:
    """``pdf`` with an incremental update that writes ``text`` over its first page (what a forger would do)."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    stream = generic.StreamObject(stream_data=b"BT /F1 40 Tf 100 400 Td (" + text + b") Tj ET")
    writer.add_stream_to_page(0, writer.add_object(stream))
    output = io.BytesIO()
    writer.write(output)
    return output.getvalue()


def flip(pdf: bytes, old: bytes, new: bytes) -> bytes:
    """``pdf`` with the only occurrence of ``old`` replaced by ``new`` (same length: the file stays readable)."""
    assert len(old) == len(new) and pdf.count(old) == 1
    return pdf.replace(old, new)


def appearance_text(pdf: bytes, field_name: str) -> str:
    """The text a signed field shows: its appearance stream's strings, decoded (WinAnsi)."""
    stream = _widget(pdf, field_name)["/AP"]["/N"].get_object()
    strings = re.findall(rb"<([0-9a-f]*)> Tj", stream.get_data())
    return "\n".join(bytes.fromhex(hexa.decode()).decode("cp1252") for hexa in strings)


def appearance_images(pdf: bytes, field_name: str) -> int:
    """How many images a signed field's appearance draws."""
    stream = _widget(pdf, field_name)["/AP"]["/N"].get_object()
    xobjects = stream["/Resources"].get("/XObject", {})
    return sum(1 for ref in xobjects.values() if ref.get_object().get("/Subtype") == "/Image")


def _widget(pdf: bytes, field_name: str):
    fields = PdfReader(io.BytesIO(pdf)).trailer["/Root"]["/AcroForm"]["/Fields"]
    return next(ref.get_object() for ref in fields if ref.get_object()["/T"] == field_name)


def page_texts(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def purchased_pkcs12(passphrase: bytes, *, organisation: str = "Organisme acheteur",
                     valid_from: dt.datetime | None = None, days: int = 365) -> tuple[bytes, bytes]:
    """(PKCS#12 of a seal certificate issued by a CA, with the CA in its chain; the CA's PEM). The CA is valid
    from the day before ``valid_from`` (default: now) for ten years, the seal certificate for ``days``."""
    now = valid_from or dt.datetime.now(dt.timezone.utc)
    ca_key, key = (rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(2))
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Autorité de certification de test")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
          .not_valid_after(now + dt.timedelta(days=3650))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                       crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    seal = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
                                     x509.NameAttribute(NameOID.COMMON_NAME, f"Cachet {organisation}")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + dt.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .sign(ca_key, hashes.SHA256()))
    p12 = pkcs12.serialize_key_and_certificates(b"cachet", key, seal, [ca],
                                                serialization.BestAvailableEncryption(passphrase))
    return p12, ca.public_bytes(serialization.Encoding.PEM)
