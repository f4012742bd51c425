"""Hostile files posted through the real pages (template upload, organisation logo, trainer CV): each is refused
with a 422 and its French message, nothing is stored, and the server's memory stays bounded while it refuses them.
The checks themselves (files/safety.py) are tested below on the packages directly."""
from __future__ import annotations

import hashlib
import io
import zipfile
import zlib
from pathlib import Path

import pytest
from flask import current_app
from sqlalchemy import func, select

from tests.documents.support import convention_template, make_template
from tests.files.support import (BILLION_LAUGHS, RawEntry, build_zip, deflated, gibibyte_bomb, many_entries,
                                 peak_growth, png, raw_entries, real_png, reset_peak, with_entry, with_xml,
                                 zeros_entry)
from tests.helpers import page
from trainingmgr.core.errors import ValidationError
from trainingmgr.demo.services import ORGANISATION
from trainingmgr.documents.models import DocumentTemplate
from trainingmgr.extensions import db
from trainingmgr.files import safety
from trainingmgr.files.models import StoredFile
from trainingmgr.organisation.services import get_organisation
from trainingmgr.resources.models import Trainer

ODT = "application/vnd.oasis.opendocument.text"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
# The server's resident memory may grow by this much while it refuses a hostile file (the attacks grew it by 2.3
# and 2.4 GB); what accepting a template costs is measured beside it.
PEAK_BOUND = 96 * 1024 * 1024


@pytest.fixture(scope="session")
def bomb(tmp_path_factory) -> RawEntry:
    """1 GiB of zeros deflated into about 1 MB, built once per test session."""
    return gibibyte_bomb(tmp_path_factory.mktemp("bombs"))


def cv() -> bytes:
    return make_template("Jean Dupont", "Formateur en commande publique depuis 2012.")


def organisation_form(**changes) -> dict:
    data = {key: "" if value is None else value.isoformat() if hasattr(value, "isoformat") else str(value)
            for key, value in ORGANISATION.items()}
    data.update(changes)
    return data


def upload_template(client, data: bytes, filename: str = "modele.docx"):
    return client.post("/admin/templates/convention", data={"file": (io.BytesIO(data), filename), "comment": ""},
                       content_type="multipart/form-data")


def upload_logo(client, data: bytes, filename: str = "logo.png"):
    return client.post("/admin/organisation/", data=organisation_form(logo=(io.BytesIO(data), filename)),
                       content_type="multipart/form-data")


def upload_cv(client, data: bytes, filename: str = "cv.docx"):
    return client.post("/trainers/new", data={"first_name": "Jean", "last_name": "Dupont",
                                              "cv": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data")


def text(response) -> str:
    """The page's text, its French thousands separators as plain spaces."""
    return page(response).replace("\u202f", " ").replace("\xa0", " ")


def refused(response, *messages: str) -> None:
    assert response.status_code == 422, response.status_code
    body = text(response)
    for message in messages:
        assert message in body


def nothing_stored(data: bytes) -> None:
    """No file row, template, trainer nor logo, and the bytes never reached the disk."""
    assert db.session.scalar(select(func.count()).select_from(StoredFile)) == 0
    assert db.session.scalar(select(func.count()).select_from(DocumentTemplate)) == 0
    assert db.session.scalar(select(func.count()).select_from(Trainer)) == 0
    digest = hashlib.sha256(data).hexdigest()
    assert not (Path(current_app.config["FILES_DIR"]) / digest[:2] / digest).exists()


# --------------------------------------------------------------------------- through the pages


def test_a_template_hiding_a_gibibyte_part_is_refused(admin, bomb):
    data = with_entry(convention_template(), bomb, "word/bomb.bin")
    assert len(data) < 2 * 1024 * 1024
    refused(upload_template(admin, data), "La partie « word/bomb.bin » du fichier se décompresse en 1 024 Mo",
            "au-delà de la limite de 20 Mo par partie")
    nothing_stored(data)


def test_the_same_bomb_as_the_document_body_is_refused_before_it_is_read(admin, bomb):
    data = with_entry(convention_template(), bomb, "word/document.xml")
    refused(upload_template(admin, data), "La partie « word/document.xml » du fichier se décompresse en 1 024 Mo")
    nothing_stored(data)


def test_a_part_compressed_a_thousand_times_is_refused(admin):
    data = with_entry(convention_template(), zeros_entry("word/padding.bin", 5 * 1024 * 1024))
    refused(upload_template(admin, data), "La partie « word/padding.bin » du fichier est comprimée",
            "(au plus 100 fois) : c'est la marque d'une « bombe de décompression »")
    nothing_stored(data)


def test_a_template_of_too_many_parts_is_refused(admin):
    data = many_entries(convention_template(), 1001)
    refused(upload_template(admin, data), "Le fichier contient trop d'éléments (1 001 ; 1 000 au plus)")
    nothing_stored(data)


def test_billion_laughs_is_refused(admin):
    data = with_xml(convention_template(), "word/document.xml", BILLION_LAUGHS)
    refused(upload_template(admin, data), "La partie « word/document.xml » du fichier contient une déclaration "
                                          "DOCTYPE ou ENTITY")
    nothing_stored(data)


def test_an_external_entity_in_any_part_is_refused(admin):
    template = convention_template()
    styles = zipfile.ZipFile(io.BytesIO(template)).read("word/styles.xml")
    declaration, _, rest = styles.partition(b"\n")
    xxe = declaration + b'\n<!DOCTYPE w:styles [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>' + rest
    data = with_xml(template, "word/styles.xml", xxe)
    refused(upload_template(admin, data), "La partie « word/styles.xml » du fichier contient une déclaration DOCTYPE")
    nothing_stored(data)


def test_a_pixel_bomb_logo_is_refused(admin):
    data = png(100_000, 100_000)  # 10 billion pixels in a few hundred bytes
    assert len(data) < 1024
    refused(upload_logo(admin, data), "Le logo compte plus de 178 956 970 pixels (50 000 000 au plus)")
    assert get_organisation().logo is None
    assert db.session.scalar(select(func.count()).select_from(StoredFile)) == 0


def test_a_logo_over_the_pixel_limit_is_refused_and_a_real_one_accepted(admin):
    refused(upload_logo(admin, png(8000, 8000)), "Le logo compte 8 000 × 8 000 pixels, plus que les 50 000 000 permis")
    refused(upload_logo(admin, b"\x89PNG\r\n\x1a\n" + bytes(64)), "Le logo n'est pas une image lisible.")
    assert db.session.scalar(select(func.count()).select_from(StoredFile)) == 0
    logo = real_png()
    assert upload_logo(admin, logo).status_code == 302
    assert get_organisation().logo.sha256 == hashlib.sha256(logo).hexdigest()


def test_a_cv_hiding_a_gibibyte_part_is_refused(admin, bomb):
    data = with_entry(cv(), bomb, "word/media/photo.bin")
    refused(upload_cv(admin, data), "La partie « word/media/photo.bin » du fichier se décompresse en 1 024 Mo")
    nothing_stored(data)


def test_a_cv_with_a_pixel_bomb_picture_is_refused(admin):
    data = with_entry(cv(), deflated("word/media/image1.png", png(100_000, 100_000)))
    refused(upload_cv(admin, data), "L'image « word/media/image1.png » du fichier compte plus de 178 956 970 pixels")
    nothing_stored(data)


def test_ordinary_files_are_still_accepted(admin):
    assert upload_cv(admin, cv()).status_code == 302
    assert upload_template(admin, convention_template("Avec une image", "{{ org.logo }}")).status_code == 302
    assert db.session.scalar(select(func.count()).select_from(DocumentTemplate)) == 1


# --------------------------------------------------------------------------- memory while refusing


def _hostile_posts(bomb):
    template, cv_data = convention_template(), cv()
    return {
        "template with a 1 GiB part": (upload_template, with_entry(template, bomb, "word/bomb.bin")),
        "template whose body is the bomb": (upload_template, with_entry(template, bomb, "word/document.xml")),
        "template of 1,001 parts": (upload_template, many_entries(template, 1001)),
        "billion laughs": (upload_template, with_xml(template, "word/document.xml", BILLION_LAUGHS)),
        "template building 'A' * 100,000,000": (upload_template, convention_template("{{ 'A' * 100000000 }}")),
        "pixel-bomb logo": (upload_logo, png(100_000, 100_000)),
        "CV with a 1 GiB part": (upload_cv, with_entry(cv_data, bomb, "word/media/photo.bin")),
    }


def test_refusing_hostile_files_keeps_the_memory_bounded(admin, bomb):
    if not reset_peak():
        pytest.skip("/proc/self/clear_refs is not writable here: the peak resident memory cannot be reset")
    accepted = peak_growth(lambda: upload_template(admin, convention_template("Accepté")))  # warms the imports
    accepted = peak_growth(lambda: upload_template(admin, convention_template("Accepté encore")))
    for label, (post, data) in _hostile_posts(bomb).items():
        responses = []
        growth = peak_growth(lambda: responses.append(post(admin, data)))
        assert responses[0].status_code == 422, label
        assert growth < PEAK_BOUND, f"{label}: {growth / 2**20:.0f} MiB (accepting a template: {accepted / 2**20:.0f})"


# --------------------------------------------------------------------------- the checks (files/safety.py)


def _refusal(data: bytes) -> str:
    with pytest.raises(ValidationError) as refusal:
        safety.check(data, DOCX, "fichier")
    return refusal.value.message.replace("\u202f", " ")


def test_zipfile_stops_a_part_at_its_declared_size():
    """What the checks rely on: whatever a part's deflated data holds, Python's zipfile gives at most the size the
    central directory declares, then fails the CRC (or gives exactly that much if the CRC matches it)."""
    ten_mebibytes = zeros_entry("word/document.xml", 10 * 1024 * 1024)
    for crc, fails in ((zlib.crc32(bytes(1000)), False), (ten_mebibytes.crc, True)):
        lying = RawEntry("word/document.xml", zipfile.ZIP_DEFLATED, crc, 1000, ten_mebibytes.data)
        read, failed = 0, False
        with zipfile.ZipFile(io.BytesIO(build_zip([lying]))) as archive, archive.open("word/document.xml") as stream:
            try:
                while chunk := stream.read(65536):
                    read += len(chunk)
            except zipfile.BadZipFile:
                failed = True
        assert read <= 1000 and failed is fails


def test_a_part_lying_about_its_size_is_read_only_as_far_as_it_says(app):
    """Declared small, holding 10 MiB: the checks read 1,000 bytes of it at most, and pass it (every reader stops
    there too)."""
    ten_mebibytes = zeros_entry("word/filler.bin", 10 * 1024 * 1024)
    lying = RawEntry("word/filler.bin", zipfile.ZIP_DEFLATED, zlib.crc32(bytes(1000)), 1000, ten_mebibytes.data)
    safety.check(with_entry(cv(), lying), DOCX, "fichier")


def test_a_dtd_split_across_two_chunks_is_found(app):
    xml = b'<?xml version="1.0"?>' + b" " * (safety.CHUNK - 25) + b"<!DOCTYPE x []><x/>"
    assert xml.index(b"<!DOCTYPE") < safety.CHUNK < xml.index(b"<!DOCTYPE") + 9
    assert "contient une déclaration DOCTYPE" in _refusal(with_xml(cv(), "word/settings.xml", xml))


def test_utf16_parts_are_read_as_utf16(app):
    declared = '<?xml version="1.0" encoding="UTF-16"?>'
    clean = (declared + "<x>été</x>").encode("utf-16")
    safety.check(with_xml(cv(), "customXml/item9.xml", clean), DOCX, "fichier")
    for encoding in ("utf-16", "utf-16-le", "utf-16-be"):  # with a BOM, and without one either way
        hostile = (declared + "<!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>").encode(encoding)
        assert "contient une déclaration DOCTYPE" in _refusal(with_xml(cv(), "customXml/item9.xml", hostile))


def test_xml_in_another_encoding_is_refused(app):
    utf32 = '<?xml version="1.0" encoding="UTF-32"?><x/>'.encode("utf-32")
    assert "ni en UTF-8 ni en UTF-16" in _refusal(with_xml(cv(), "customXml/item9.xml", utf32))
    latin = '<?xml version="1.0" encoding="ISO-8859-1"?><x/>'.encode("latin-1")
    assert "ni en UTF-8 ni en UTF-16" in _refusal(with_xml(cv(), "customXml/item9.xml", latin))


def test_parts_are_xml_by_content_type_or_by_content(app):
    package = cv()
    types = zipfile.ZipFile(io.BytesIO(package)).read("[Content_Types].xml")
    types = types.replace(b"</Types>", b'<Override PartName="/word/data.bin" ContentType="application/xml"/></Types>')
    declared = with_xml(package, "[Content_Types].xml", types)
    hostile = b"\x00\x00<!DOCTYPE x><x/>"  # not like XML at first sight: refused as declared XML all the same
    assert "ni en UTF-8 ni en UTF-16" in _refusal(with_xml(declared, "word/data.bin", hostile))
    sniffed = b"<?xml version='1.0'?><!DOCTYPE x><x/>"  # undeclared, but XML by its first bytes
    assert "contient une déclaration DOCTYPE" in _refusal(with_xml(package, "word/other.dat", sniffed))
    safety.check(with_xml(package, "word/other.dat", b"\x00\x01 binary <!DOCTYPE"), DOCX, "fichier")


def test_opendocument_manifest_and_parts_are_checked(app):
    manifest = (b'<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
                b'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0">'
                b'<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
                b'<manifest:file-entry manifest:full-path="extra.dat" manifest:media-type="text/xml"/>'
                b'</manifest:manifest>')
    entries = [RawEntry("mimetype", zipfile.ZIP_STORED, zlib.crc32(ODT.encode()), len(ODT), ODT.encode()),
               deflated("META-INF/manifest.xml", manifest),
               deflated("content.xml", b'<?xml version="1.0" encoding="UTF-8"?><office:document-content/>')]
    safety.check(build_zip(entries), ODT, "CV")
    hostile = build_zip(entries + [deflated("extra.dat", "<!DOCTYPE x><x/>".encode("utf-32"))])
    with pytest.raises(ValidationError, match="ni en UTF-8 ni en UTF-16"):
        safety.check(hostile, ODT, "CV")


def test_encrypted_other_methods_and_duplicates_are_refused(app):
    entries = raw_entries(cv())
    assert "chiffrée" in _refusal(build_zip(entries, flags=0x1))
    bzip = RawEntry("word/extra.bin", zipfile.ZIP_BZIP2, 0, 10, b"BZh9")
    assert "compression que Word n'écrit pas" in _refusal(build_zip(entries + [bzip]))
    assert "deux fois la même partie" in _refusal(build_zip(entries + [entries[0]]))
    assert "archive zip est endommagée" in _refusal(b"PK\x03\x04" + b"\x00" * 100)


def test_the_limits_are_settings(app, monkeypatch):
    noise = bytes(600_000)
    package = with_entry(cv(), RawEntry("word/media/noise.bin", zipfile.ZIP_STORED, zlib.crc32(noise), len(noise),
                                        noise))
    safety.check(cv(), DOCX, "fichier")
    monkeypatch.setitem(app.config, "UPLOAD_MAX_UNCOMPRESSED", 500_000)
    assert "se décompresse en plus de 0,5 Mo" in _refusal(package)
    monkeypatch.setitem(app.config, "UPLOAD_MAX_UNCOMPRESSED", 50 * 1024 * 1024)
    monkeypatch.setitem(app.config, "UPLOAD_MAX_PART", 500_000)
    assert "« word/media/noise.bin » du fichier se décompresse en 0,6 Mo" in _refusal(package)
    monkeypatch.setitem(app.config, "UPLOAD_MAX_ENTRIES", 5)
    assert "trop d'éléments" in _refusal(package)
    monkeypatch.setitem(app.config, "UPLOAD_MAX_IMAGE_PIXELS", 100)
    with pytest.raises(ValidationError, match="20 × 20 pixels, plus que les 100 permis"):
        safety.check(real_png(20, 20), "image/png", "logo")


def test_a_pixel_bomb_drawn_signature_is_refused(app):
    """The drawn signatures are checked by attendance.services._png: a header of billions of pixels is a refusal,
    not Pillow's DecompressionBombError."""
    import base64

    from trainingmgr.attendance.services import _png

    with pytest.raises(ValidationError, match="La taille de la signature dessinée n'est pas acceptée"):
        _png("data:image/png;base64," + base64.b64encode(png(100_000, 100_000)).decode())


def test_a_damaged_list_of_content_types_is_a_refusal_not_a_crash(app):
    """The list of content types is read before the parts: a CRC that fails there is a damaged archive too."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("[Content_Types].xml", "<?xml version='1.0'?><Types/>")
        archive.writestr("word/document.xml", "<?xml version='1.0'?><w:document/>")
    data = buffer.getvalue().replace(b"<Types/>", b"<Typos/>", 1)  # same length: only the CRC disagrees
    with pytest.raises(ValidationError, match="son archive zip est endommagée"):
        safety.check_package(data)
