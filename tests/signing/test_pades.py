"""PAdES signatures of documents: the organisation's certificate, the evidence page, signatures in order, and
what verification says of signed, tampered and foreign files. No database: bytes and tmp_path only."""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import itertools
import os
import stat

import pytest
from PIL import Image

from trainingmgr.signing import pades
from trainingmgr.signing.pades import Slot, SigningError

from tests.signing.support import (ANDROID, IPHONE, SIGNATORIES, SLOTS, append_page_content, appearance_images,
                                   appearance_text, document, evidence, flip, page_texts, purchased_pkcs12)
from tests.tsa_server import LocalPKI

ORGANISATION = "Organisme de formation Œuvre & Savoir"


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    """The organisation's self-signed certificate (RSA 3072 takes a moment: once for the module)."""
    directory = tmp_path_factory.mktemp("signing") / "keys"
    pades.init_certificate(directory, ORGANISATION)
    return directory


@pytest.fixture(scope="module")
def signer(keys):
    return pades.load_signer(directory=str(keys))


@pytest.fixture(scope="module")
def roots(keys) -> list[bytes]:
    return [(keys / pades.CERT_FILE).read_bytes()]


@pytest.fixture(scope="module")
def prepared() -> bytes:
    return pades.prepare(document(), title="Convention de formation « Excel avancé »", reference="CONV-2026-0042",
                         slots=SLOTS)


def sign_in_order(pdf: bytes, signer, **options) -> list[bytes]:
    """Every version of the file, from ``pdf`` to the one signed by the three signatories in order."""
    versions = [pdf]
    for slot, person in zip(SLOTS, SIGNATORIES):
        versions.append(pades.sign(versions[-1], slot.field_name, evidence(versions[-1], **person), signer,
                                   reason="Signature de la convention", **options))
    return versions


@pytest.fixture(scope="module")
def versions(prepared, signer) -> list[bytes]:
    return sign_in_order(prepared, signer)


@pytest.fixture(scope="module")
def signed(versions) -> bytes:
    return versions[-1]


def refused(call, *args, **kwargs) -> str:
    with pytest.raises(SigningError) as caught:
        call(*args, **kwargs)
    return caught.value.message


# --- The organisation's certificate ---------------------------------------------------------------------------


def test_init_certificate_writes_a_key_only_its_owner_reads(tmp_path):
    now = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.timezone.utc)
    made = pades.init_certificate(tmp_path / "keys", "Formations Dupont", days=30, now=now)
    key = tmp_path / "keys" / pades.KEY_FILE
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    assert key.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")  # PKCS#8, unencrypted
    assert made.subject == made.issuer == "CN=Formations Dupont, O=Formations Dupont"
    assert made.self_signed
    assert made.not_after == now + dt.timedelta(days=30)
    assert made.not_before <= now
    loaded = pades.identity(pades.load_signer(directory=str(tmp_path / "keys"), now=now))
    assert loaded == made
    assert len(made.sha256_fingerprint.split(":")) == 32


def test_init_certificate_never_replaces_existing_files(keys):
    key_before = (keys / pades.KEY_FILE).read_bytes()
    message = refused(pades.init_certificate, keys, "Autre organisme")
    assert "existe déjà" in message
    assert (keys / pades.KEY_FILE).read_bytes() == key_before


def test_load_signer_without_files_says_what_is_missing(tmp_path):
    message = refused(pades.load_signer, directory=str(tmp_path))
    assert "Aucun certificat de signature" in message and "signing.key" in message


def test_load_signer_refuses_a_mismatched_key(tmp_path, keys):
    pades.init_certificate(tmp_path, "Autre organisme")
    (tmp_path / pades.CERT_FILE).write_bytes((keys / pades.CERT_FILE).read_bytes())
    assert "ne correspond pas" in refused(pades.load_signer, directory=str(tmp_path))


def test_load_signer_refuses_an_expired_certificate(tmp_path):
    pades.init_certificate(tmp_path, "Formations Dupont", days=10,
                           now=dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc))
    assert "a expiré le 11/01/2020" in refused(pades.load_signer, directory=str(tmp_path))


def test_load_signer_reads_a_purchased_pkcs12(tmp_path):
    p12, ca_pem = purchased_pkcs12(b"secret du coffre")
    (tmp_path / "cachet.p12").write_bytes(p12)
    signer = pades.load_signer(directory=str(tmp_path / "absent"), p12_file=str(tmp_path / "cachet.p12"),
                               p12_passphrase="secret du coffre")
    who = pades.identity(signer)
    assert who.subject == "CN=Cachet Organisme acheteur, O=Organisme acheteur"
    assert who.issuer == "CN=Autorité de certification de test" and not who.self_signed
    prepared = pades.prepare(document("Devis"), title="Devis", reference="D-1", slots=SLOTS[:1])
    signed = pades.sign(prepared, "signature-1", evidence(prepared, "Camille Bernard"), signer)
    report = pades.verify(signed, trust_roots=[ca_pem])  # the CA is trusted, not the seal certificate itself
    assert report.ok, report.problems
    assert report.signatures[0].certificate == who.subject


def test_a_wrong_pkcs12_passphrase_is_refused_in_french(tmp_path):
    p12, _ = purchased_pkcs12(b"secret du coffre")
    (tmp_path / "cachet.p12").write_bytes(p12)
    message = refused(pades.load_signer, directory="", p12_file=str(tmp_path / "cachet.p12"),
                      p12_passphrase="mauvais")
    assert "mot de passe incorrect" in message
    assert "illisible" in refused(pades.load_signer, directory="", p12_file=str(tmp_path / "absent.p12"))


# --- Preparing ------------------------------------------------------------------------------------------------


def test_prepare_keeps_the_document_as_sent_and_appends_the_evidence_page(prepared):
    original = document()
    assert prepared.startswith(original)  # the document as sent is the file's first revision, byte for byte
    texts = page_texts(prepared)
    assert len(texts) == 3
    assert "Convention de formation, page 1" in texts[0]
    evidence_page = texts[2]
    assert "Dossier de preuve des signatures électroniques" in evidence_page
    assert "Convention de formation « Excel avancé »" in evidence_page and "CONV-2026-0042" in evidence_page
    assert hashlib.sha256(original).hexdigest() in evidence_page
    labels = [evidence_page.index(slot.label.replace("Ł", "L")) for slot in SLOTS]
    assert labels == sorted(labels)


def test_a_prepared_document_has_empty_fields_and_no_signature_yet(prepared, roots):
    report = pades.verify(prepared, trust_roots=roots)
    assert not report.ok
    assert report.problems == ["Ce document ne porte aucune signature électronique."]
    assert report.unsigned_fields == ["signature-1", "signature-2", "signature-3"]


def test_the_fields_sit_in_their_boxes_on_the_last_page(prepared):
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(prepared))
    last = reader.pages[-1]
    widgets = [annotation.get_object() for annotation in last["/Annots"]]
    assert [widget["/T"] for widget in widgets] == ["signature-1", "signature-2", "signature-3"]
    tops = [float(widget["/Rect"][3]) for widget in widgets]
    assert tops == sorted(tops, reverse=True)  # in the order of the slots, top to bottom


def test_many_signatories_continue_on_another_page():
    slots = [Slot(f"signature-{n}", f"Signataire numéro {n}") for n in range(1, 8)]
    prepared = pades.prepare(document("Contrat"), title="Contrat", reference="C-7", slots=slots)
    texts = page_texts(prepared)
    assert len(texts) == 3
    assert "(suite)" in texts[2] and "Signataire numéro 7" in texts[2]


def test_prepare_refuses_bad_slots_and_a_second_preparation(prepared):
    assert "au moins un signataire" in refused(pades.prepare, document(), title="T", reference="R", slots=[])
    assert "même champ" in refused(pades.prepare, document(), title="T", reference="R",
                                   slots=[Slot("a", "A"), Slot("a", "B")])
    assert "invalide" in refused(pades.prepare, document(), title="T", reference="R", slots=[Slot("a.b", "A")])
    assert "déjà été préparé" in refused(pades.prepare, prepared, title="T", reference="R", slots=[Slot("x", "X")])
    assert "pas un PDF lisible" in refused(pades.prepare, b"%PDF-1.4 rien", title="T", reference="R",
                                           slots=SLOTS)


# --- Signing in order -----------------------------------------------------------------------------------------


def test_three_signatures_in_order_all_verify(signed, roots):
    report = pades.verify(signed, trust_roots=roots)
    assert report.ok, report.problems
    assert report.sha256 == hashlib.sha256(signed).hexdigest()
    assert [s.field_name for s in report.signatures] == ["signature-1", "signature-2", "signature-3"]
    assert [s.signer for s in report.signatures] == ["Camille Bernard", "Łukasz Nowak", "Jean Dupont"]
    assert all(s.intact and s.valid and s.trusted and s.modifications_ok and not s.problem
               for s in report.signatures)
    assert [s.covers for s in report.signatures] == ["sa révision", "sa révision", "tout le fichier"]
    assert report.signatures[0].certificate == f"CN={ORGANISATION}, O={ORGANISATION}"
    assert report.unsigned_fields == []


def test_each_signature_is_an_incremental_update(versions):
    for before, after in itertools.pairwise(versions):
        assert after.startswith(before)


def test_a_partly_signed_document_verifies_with_its_pending_fields(versions, roots):
    report = pades.verify(versions[2], trust_roots=roots)
    assert report.ok, report.problems
    assert [s.covers for s in report.signatures] == ["sa révision", "tout le fichier"]
    assert report.unsigned_fields == ["signature-3"]


def test_the_appearance_shows_the_evidence(versions, signed):
    shown = appearance_text(signed, "signature-2")
    assert "Signé électroniquement par Lukasz Nowak" in shown  # Ł has no WinAnsi glyph: transliterated
    assert "E-mail : lukasz@example.fr" in shown
    assert "Stagiaire" in shown
    assert "Code à usage unique vérifié le 25/11/2026 à 14:05:09 (heure de Paris)" in shown
    assert "Adresse IP : 198.51.100.7 ; navigateur : Chrome 120 sur Android" in shown
    assert f"document avant signature :\n{hashlib.sha256(versions[1]).hexdigest()}" in shown
    assert "Signé le 25/11/2026 à 14:06:00 (heure de Paris)" in shown
    assert appearance_images(signed, "signature-1") == 1  # the drawing
    assert appearance_images(signed, "signature-2") == 0
    assert shown.count("Lukasz Nowak") == 2  # the typed name, and the evidence


def test_signing_a_field_twice_or_an_unknown_field_is_refused(versions, signer):
    once = versions[1]
    assert "déjà signé" in refused(pades.sign, once, "signature-1", evidence(once, "Camille Bernard"), signer)
    assert "n'existe pas" in refused(pades.sign, once, "signature-9", evidence(once, "Camille Bernard"), signer)


def test_signing_a_document_changed_since_it_was_shown_is_refused(versions, signer):
    shown = evidence(versions[0], "Łukasz Nowak")  # the signatory read the file before the first signature
    assert "a changé" in refused(pades.sign, versions[1], "signature-2", shown, signer)


def test_an_unreadable_drawing_is_refused(prepared, signer):
    bad = evidence(prepared, "Camille Bernard", drawn=True)
    bad = pades.Evidence(**{**bad.__dict__, "drawing_png": b"\x89PNG pas vraiment"})
    assert "dessin" in refused(pades.sign, prepared, "signature-1", bad, signer)


def test_a_signature_by_another_organisation_is_not_trusted(tmp_path, prepared, roots):
    pades.init_certificate(tmp_path, "Organisme concurrent")
    other = pades.load_signer(directory=str(tmp_path))
    signed = pades.sign(prepared, "signature-1", evidence(prepared, "Camille Bernard"), other)
    report = pades.verify(signed, trust_roots=roots)
    signature = report.signatures[0]
    assert signature.intact and signature.valid and not signature.trusted
    assert not report.ok
    assert "n'est pas reconnu" in report.problems[0] and "signature-1" in report.problems[0]


# --- Timestamps -----------------------------------------------------------------------------------------------


def test_a_timestamp_authority_dates_each_signature(local_tsa, prepared, signer, roots):
    moment = pades.identity(signer).not_before + dt.timedelta(days=1)
    local_tsa.clock(moment)
    signed = sign_in_order(prepared, signer, tsa_url=local_tsa.url)[-1]
    report = pades.verify(signed, trust_roots=roots, tsa_roots=[local_tsa.ca_pem])
    assert report.ok, report.problems
    assert [s.timestamp for s in report.signatures] == [moment] * 3
    assert local_tsa.requests <= 4  # one token per signature, and one first token to measure (not one each)
    unjudged = pades.verify(signed, trust_roots=roots)  # no TSA roots: timestamps neither shown nor held against
    assert unjudged.ok and [s.timestamp for s in unjudged.signatures] == [None] * 3
    foreign = pades.verify(signed, trust_roots=roots, tsa_roots=[LocalPKI("Autre autorité").ca_pem])
    assert not foreign.ok
    assert all("horodatage" in s.problem and s.timestamp is None for s in foreign.signatures)


def test_a_refusing_timestamp_authority_stops_the_signature(local_tsa, prepared, signer):
    local_tsa.reject()
    message = refused(pades.sign, prepared, "signature-1", evidence(prepared, "Camille Bernard"), signer,
                      tsa_url=local_tsa.url)
    assert "horodatage a refusé" in message


def test_an_expired_certificate_is_judged_at_its_timestamp(tmp_path, local_tsa, prepared):
    start = dt.datetime(2021, 3, 1, tzinfo=dt.timezone.utc)
    pades.init_certificate(tmp_path, ORGANISATION, days=365, now=start)
    old = pades.load_signer(directory=str(tmp_path), now=start + dt.timedelta(days=10))
    roots = [(tmp_path / pades.CERT_FILE).read_bytes()]
    local_tsa.clock(start + dt.timedelta(days=10))  # the signature existed while the certificate was valid
    stamped = pades.sign(prepared, "signature-1", evidence(prepared, "Camille Bernard"), old, tsa_url=local_tsa.url)
    report = pades.verify(stamped, trust_roots=roots, tsa_roots=[local_tsa.ca_pem])
    assert report.ok, report.problems
    unstamped = pades.sign(prepared, "signature-1", evidence(prepared, "Camille Bernard"), old)
    report = pades.verify(unstamped, trust_roots=roots, tsa_roots=[local_tsa.ca_pem])
    assert not report.ok and not report.signatures[0].trusted
    assert "aucun horodatage reconnu" in report.problems[0]


def test_an_expired_purchased_certificate_is_judged_at_its_timestamp(tmp_path, local_tsa, prepared):
    start = dt.datetime(2021, 3, 1, tzinfo=dt.timezone.utc)
    p12, ca_pem = purchased_pkcs12(b"coffre", valid_from=start, days=365)
    (tmp_path / "cachet.p12").write_bytes(p12)
    old = pades.load_signer(directory="", p12_file=str(tmp_path / "cachet.p12"), p12_passphrase="coffre",
                            now=start + dt.timedelta(days=10))
    local_tsa.clock(start + dt.timedelta(days=10))
    stamped = pades.sign(prepared, "signature-1", evidence(prepared, "Camille Bernard"), old, tsa_url=local_tsa.url)
    report = pades.verify(stamped, trust_roots=[ca_pem], tsa_roots=[local_tsa.ca_pem])
    assert report.ok, report.problems  # pyHanko judged the chain again at the timestamp's time
    assert report.signatures[0].timestamp == start + dt.timedelta(days=10)
    unstamped = pades.sign(prepared, "signature-1", evidence(prepared, "Camille Bernard"), old)
    report = pades.verify(unstamped, trust_roots=[ca_pem], tsa_roots=[local_tsa.ca_pem])
    assert not report.ok and "aucun horodatage reconnu" in report.problems[0]


def test_a_timestamp_outside_the_certificate_period_is_flagged(local_tsa, prepared, signer, roots):
    local_tsa.clock(pades.identity(signer).not_before - dt.timedelta(days=1))
    signed = pades.sign(prepared, "signature-1", evidence(prepared, "Camille Bernard"), signer, tsa_url=local_tsa.url)
    report = pades.verify(signed, trust_roots=roots, tsa_roots=[local_tsa.ca_pem])
    assert not report.ok and not report.signatures[0].trusted
    assert "ne l'était pas à la date de l'horodatage" in report.problems[0]


# --- Tampering and foreign files ------------------------------------------------------------------------------


def test_flipping_a_byte_of_the_signed_content_breaks_every_signature(signed, roots):
    forged = flip(signed, b"(Convention de formation, page 1)", b"(Convention de formation, page 7)")
    report = pades.verify(forged, trust_roots=roots)
    assert not report.ok
    assert [s.intact for s in report.signatures] == [False, False, False]
    assert all("modifié" in problem for problem in report.problems)
    assert [p.split(" »")[0] for p in report.problems] == [f"Signature « {slot.field_name}" for slot in SLOTS]


def test_flipping_a_byte_of_the_last_revision_breaks_only_the_last_signature(signed, roots):
    forged = flip(signed, b"/Name (Jean Dupont)", b"/Name (Jeun Dupont)")  # in the last signature's dictionary
    report = pades.verify(forged, trust_roots=roots)
    assert [s.intact for s in report.signatures] == [True, True, False]
    assert len(report.problems) == 1 and "signature-3" in report.problems[0]


def test_changing_a_page_after_the_signatures_is_flagged(signed, roots):
    forged = append_page_content(signed)
    report = pades.verify(forged, trust_roots=roots)
    assert not report.ok
    assert all(s.intact and s.valid and s.trusted for s in report.signatures)  # the signed bytes are untouched
    assert [s.modifications_ok for s in report.signatures] == [False, False, False]
    assert report.signatures[-1].covers == "sa révision"
    assert all("modifications non autorisées" in problem for problem in report.problems)


def test_garbage_after_the_last_signature_is_flagged(signed, roots):
    report = pades.verify(signed + b"\n% ajout\n" * 20, trust_roots=roots)
    assert not report.ok
    assert report.signatures[-1].covers == "sa révision"
    assert report.problems == [
        "Signature « signature-3 » (Jean Dupont) : le fichier a été complété après la dernière signature"]


@pytest.mark.parametrize("upload, problem", [
    (b"", "Le fichier est vide."),
    (os.urandom(4096), "Ce fichier n'est pas un PDF lisible."),
    (b"%PDF-1.7\n" + b"\x00" * 500, "Ce fichier n'est pas un PDF lisible."),
    (document("Un autre document"), "Ce document ne porte aucune signature électronique."),
])
def test_foreign_uploads_are_refused_without_an_exception(upload, problem, roots):
    report = pades.verify(upload, trust_roots=roots)
    assert not report.ok and report.signatures == []
    assert report.problems == [problem]


def test_a_truncated_signed_file_is_refused(signed, roots):
    report = pades.verify(signed[: len(signed) - 2000], trust_roots=roots)
    assert not report.ok and report.problems


def test_unreadable_trust_roots_are_reported(signed):
    report = pades.verify(signed, trust_roots=[b"pas un certificat"])
    assert not report.ok and "certificat de confiance" in report.problems[0]


# --- Pages for the phone and the browser's name ---------------------------------------------------------------


def test_render_pages_draws_every_page_at_the_width_asked(signed):
    pages = pades.render_pages(signed, width=600)
    assert len(pages) == 3
    images = [Image.open(io.BytesIO(png)) for png in pages]
    assert all(image.format == "PNG" and image.width == 600 for image in images)
    assert images[0].height == pytest.approx(600 * 842 / 595, abs=2)


def test_render_pages_shows_the_signatures_already_made(prepared, signed):
    def inked(png: bytes) -> int:
        return Image.open(io.BytesIO(png)).convert("L").point(lambda value: 255 if value < 128 else 0).histogram()[255]

    before, after = (pades.render_pages(pdf, width=600)[-1] for pdf in (prepared, signed))
    assert inked(after) > inked(before) + 2000  # three boxes of evidence text, a drawing and two typed names


def test_render_pages_refuses_broken_and_oversized_documents(signed):
    assert "pas un PDF lisible" in refused(pades.render_pages, b"%PDF-1.4 abime")
    assert "trop de pages" in refused(pades.render_pages, signed, max_pages=2)
    assert "trop grand" in refused(pades.render_pages, signed, width=6000)  # 3 pages of 6000 × 8490 pixels


@pytest.mark.parametrize("user_agent, shown", [
    (IPHONE, "Safari 17 sur iPhone"),
    (ANDROID, "Chrome 120 sur Android"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0", "Firefox 121 sur Windows"),
    ("", "inconnu"),
    ("curl/8.5.0 " + "x" * 80, "curl/8.5.0 " + "x" * 48 + "…"),
])
def test_the_browser_is_named_shortly(user_agent, shown):
    assert pades.browser(user_agent) == shown
