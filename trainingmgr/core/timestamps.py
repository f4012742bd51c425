"""RFC 3161 timestamps: ask a timestamp authority (TSA) for a token over some bytes, and check a token later.

pyHanko is imported inside the functions that need it (half a second). See docs/evidence-chain.md for what
``request_token`` and ``verify_token`` check."""
from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import functools
import hashlib
import logging
import os
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from asn1crypto import cms, core, pem, tsp, x509

log = logging.getLogger(__name__)

HASH_ALGORITHM = "sha256"
QUERY_TYPE = "application/timestamp-query"
REPLY_TYPE = "application/timestamp-reply"
GRANTED = ("granted", "granted_with_mods")
SHORT_NAMES = {"common_name": "CN", "organizational_unit_name": "OU", "organization_name": "O",
               "locality_name": "L", "state_or_province_name": "ST", "country_name": "C"}

# What asn1crypto raises on bytes that are not the structure asked for (its parsing is lazy: any access may raise).
MALFORMED = (ValueError, TypeError, KeyError, IndexError)


# pyHanko logs each refused token as a WARNING with a traceback; verify_token says the same in its answer.
logging.getLogger("pyhanko.sign.validation.generic_cms").setLevel(logging.ERROR)


class TimeStampResp(tsp.TimeStampResp):
    """asn1crypto 1.5.1 makes the token mandatory, and so cannot read a refusal: RFC 3161 sends it without one."""

    _fields = [("status", tsp.PKIStatusInfo), ("time_stamp_token", cms.ContentInfo, {"optional": True})]


class TimestampError(Exception):
    """No token could be obtained or read; the message is French and meant for the operator."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class TokenCheck:
    ok: bool
    time: dt.datetime | None  # genTime, UTC; None when the token cannot be read
    tsa: str  # subject of the TSA's certificate, "CN=…, O=…, C=FR"; empty when unknown
    problem: str  # French, empty when ok


# --- Asking for a token ---------------------------------------------------------------------------------------


def request_token(data: bytes, url: str, *, timeout: float = 10.0, username: str = "", password: str = "") -> bytes:
    """Ask the TSA at ``url`` for a token over SHA-256(``data``); return the token's DER (a CMS ContentInfo)."""
    digest = hashlib.sha256(data).digest()
    return token_for_digest(digest, url, timeout=timeout, username=username, password=password).dump()


def token_for_digest(digest: bytes, url: str, *, timeout: float = 10.0, username: str = "",
                     password: str = "") -> cms.ContentInfo:
    """The token of the TSA at ``url`` over a SHA-256 ``digest`` already computed (a PAdES signature's, say),
    with a nonce, checked: granted, our imprint, our nonce, the TSA's certificate inside. TimestampError else."""
    from pyhanko.sign.timestamps.api import TimeStamper

    nonce, query = TimeStamper(include_nonce=True).request_cms(digest, HASH_ALGORITHM)
    answer = _post(url, query.dump(), timeout=timeout, auth=(username, password) if username else None)
    token = _granted_token(answer)
    _check_answer(token, digest, nonce)
    return token


def _post(url: str, body: bytes, *, timeout: float, auth: tuple[str, str] | None) -> bytes:
    server = _server_name(url)
    try:
        answer = requests.post(url, data=body, timeout=timeout, auth=auth,
                               headers={"Content-Type": QUERY_TYPE, "Accept": REPLY_TYPE})
    except requests.Timeout:
        raise TimestampError(f"Le serveur d'horodatage ne répond pas ({server}, plus de {timeout:g} s).") from None
    except requests.RequestException as exc:
        raise TimestampError(f"Le serveur d'horodatage est injoignable ({server} : {type(exc).__name__}).") from None
    if answer.status_code in (401, 403):
        raise TimestampError(f"Le serveur d'horodatage refuse l'accès ({server}, HTTP {answer.status_code}) : "
                             "vérifiez l'identifiant et le mot de passe.")
    if answer.status_code != 200:
        raise TimestampError(f"Le serveur d'horodatage a répondu par une erreur ({server}, HTTP {answer.status_code}).")
    return answer.content


def _server_name(url: str) -> str:
    """The host and port of ``url``, for messages: never the credentials or the query string."""
    parts = urlsplit(url)
    return parts.hostname + (f":{parts.port}" if parts.port else "") if parts.hostname else "adresse invalide"


def _granted_token(answer: bytes) -> cms.ContentInfo:
    """The token of a ``TimeStampResp``, once its status says granted."""
    garbage = TimestampError("La réponse du serveur d'horodatage est illisible (ce n'est pas une réponse RFC 3161).")
    try:
        response = TimeStampResp.load(answer)
        status = response["status"]["status"].native
        reasons = "; ".join(response["status"]["status_string"].native or [])
        token = response["time_stamp_token"]
    except MALFORMED:
        raise garbage from None
    if status not in GRANTED:
        detail = f"statut « {status} »" + (f" : {reasons}" if reasons else "")
        raise TimestampError(f"Le serveur d'horodatage a refusé la demande ({detail}).")
    if not isinstance(token, cms.ContentInfo) or token["content_type"].native != "signed_data":
        raise garbage
    return token


def _check_answer(token: cms.ContentInfo, digest: bytes, nonce: int) -> None:
    """The token answers our request: our imprint, our nonce, and the TSA's certificate to check it later.

    pyHanko's ``handle_tsp_response`` makes the nonce check too, but in 0.38 its refusal message formats the
    nonce with ``.hex()`` and raises AttributeError instead (the nonce is an int).
    """
    from pyhanko.sign.general import extract_certificate_info

    try:
        info = _tst_info(token["content"])
        imprint = _imprint(info)
        received_nonce = info["nonce"].native
        extract_certificate_info(token["content"])
    except MALFORMED:
        raise TimestampError("Le jeton renvoyé par le serveur d'horodatage est illisible "
                             "ou ne contient pas le certificat de l'autorité.") from None
    if imprint != (HASH_ALGORITHM, digest):
        raise TimestampError("Le serveur d'horodatage a horodaté une autre empreinte que celle demandée.")
    if received_nonce != nonce:
        raise TimestampError("Le serveur d'horodatage a renvoyé un nonce différent de celui de la demande "
                             "(réponse rejouée ou mélangée).")


# --- Reading and checking a token -----------------------------------------------------------------------------


def token_time(token: bytes) -> dt.datetime | None:
    """The token's genTime (UTC), without any verification: for display only."""
    try:
        return _gen_time(_tst_info(_signed_data(token)))
    except MALFORMED:
        return None


def verify_token(token: bytes, data: bytes, trust_roots: list[bytes]) -> TokenCheck:
    """Check that ``token`` is a valid timestamp of ``data`` by a TSA chaining to ``trust_roots`` (PEM or DER).

    Never raises on bad input: the answer says what is wrong, in French.
    """
    try:
        signed_data = _signed_data(token)
        info = _tst_info(signed_data)
        time, imprint = _gen_time(info), _imprint(info)
    except MALFORMED:
        return TokenCheck(False, None, "", "jeton d'horodatage illisible")
    tsa = _signer_subject(signed_data)

    def refused(problem: str) -> TokenCheck:
        return TokenCheck(False, time, tsa, problem)

    digest = hashlib.sha256(data).digest()
    if imprint != (HASH_ALGORITHM, digest):
        return refused("l'empreinte horodatée ne correspond pas aux données")
    try:
        roots = [_certificate(root) for root in trust_roots]
    except MALFORMED:
        return refused("un certificat des autorités d'horodatage de confiance est illisible")
    if not roots:
        return refused("aucune autorité d'horodatage de confiance n'est configurée")
    problem = _validate(signed_data, digest, roots, time)
    return refused(problem) if problem else TokenCheck(True, time, tsa, "")


def _validate(signed_data: cms.SignedData, digest: bytes, roots: list[x509.Certificate],
              moment: dt.datetime) -> str | None:
    """pyHanko's checks of the token's signature and of its signer's certificate; the problem, or None."""
    from pyhanko.sign.validation.generic_cms import validate_tst_signed_data
    from pyhanko.sign.validation.status import TimestampSignatureStatus
    from pyhanko_certvalidator import ValidationContext
    from pyhanko_certvalidator.policy_decl import NO_REVOCATION, CertRevTrustPolicy

    context = ValidationContext(trust_roots=roots, moment=moment, allow_fetching=False,
                                revinfo_policy=CertRevTrustPolicy(NO_REVOCATION))
    try:
        # The imprint's algorithm was checked before: it is SHA-256.
        status = TimestampSignatureStatus(**run_coroutine(validate_tst_signed_data(signed_data, context, lambda _: digest)))
        signer_ekus = status.signing_cert.extended_key_usage_value
    except (*MALFORMED, AttributeError) as exc:
        # pyHanko's SignatureValidationError is a ValueError; an unknown digest algorithm is an AttributeError
        # (pyhanko_certvalidator.util.get_pyca_cryptography_hash looks its name up on cryptography's hashes).
        log.info("Jeton d'horodatage refusé : %s", exc)
        return "signature du jeton invalide (structure CMS incorrecte)"
    if not status.valid:
        return "signature du jeton invalide"
    if not status.intact:
        return "signature du jeton invalide (contenu modifié après signature)"
    if status.trust_problem_indic is not None:
        return _trust_problem(status.trust_problem_indic.name)
    # pyHanko waives the usage check when the signer's certificate is itself a trust root.
    if signer_ekus is None or "time_stamping" not in signer_ekus.native:
        return "le certificat de l'autorité n'est pas un certificat d'horodatage"
    return None


def _trust_problem(indication: str) -> str:
    """French for pyHanko's AdES indications about the signer's certificate."""
    if indication == "NO_CERTIFICATE_CHAIN_FOUND":
        return "autorité d'horodatage non reconnue"
    if indication == "CHAIN_CONSTRAINTS_FAILURE":
        return "le certificat de l'autorité n'est pas un certificat d'horodatage"
    if indication in ("OUT_OF_BOUNDS_NO_POE", "NOT_YET_VALID", "EXPIRED"):
        return "le certificat de l'autorité d'horodatage n'était pas valide à la date du jeton"
    return f"chaîne de certificats de l'autorité d'horodatage invalide ({indication})"


def run_coroutine(coroutine):
    """Run one of pyHanko's coroutines to its end, from plain code (Flask request, CLI) or from inside a loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


# --- Certificates ---------------------------------------------------------------------------------------------


def configured_roots() -> list[bytes] | None:
    """The certificates of the application's TSA_CA_FILE (None when it is not set), read again only when the file
    changes: every page that verifies a register asks for them. TimestampError when the file cannot be used."""
    from flask import current_app

    path = current_app.config.get("TSA_CA_FILE")
    if not path:
        return None
    try:
        stat = os.stat(path)
    except OSError:
        return load_certificates(path)  # which says, in French, why the file cannot be read
    return list(_roots_of(path, stat.st_mtime_ns, stat.st_size))


@functools.lru_cache(maxsize=8)
def _roots_of(path: str, mtime_ns: int, size: int) -> tuple[bytes, ...]:
    return tuple(load_certificates(path))


def load_certificates(path: str) -> list[bytes]:
    """The DER of every certificate in the file at ``path`` (a PEM bundle, or one DER certificate)."""
    try:
        with open(path, "rb") as file:
            content = file.read()
    except OSError as exc:
        raise TimestampError(f"Le fichier des autorités d'horodatage {path} est illisible ({exc.strerror}).") from None
    try:
        if not content.strip():
            found = []
        elif pem.detect(content):
            found = [der for kind, _, der in pem.unarmor(content, multiple=True) if kind == "CERTIFICATE"]
        else:
            found = [content]
        for der in found:
            _certificate(der)
    except MALFORMED:
        raise TimestampError(f"Le fichier des autorités d'horodatage {path} contient un certificat illisible.") from None
    if not found:
        raise TimestampError(f"Le fichier des autorités d'horodatage {path} ne contient aucun certificat.")
    return found


def _certificate(encoded: bytes) -> x509.Certificate:
    """A certificate from its PEM or DER, fully parsed (asn1crypto parses lazily: force it here)."""
    if pem.detect(encoded):
        _, _, encoded = pem.unarmor(encoded)
    certificate = x509.Certificate.load(encoded)
    certificate.native  # parses every field, raising ValueError on garbage
    return certificate


# --- Token structure ------------------------------------------------------------------------------------------


def _signed_data(token: bytes) -> cms.SignedData:
    info = cms.ContentInfo.load(token)
    if info["content_type"].native != "signed_data":
        raise ValueError("not a SignedData")
    return info["content"]


def _tst_info(signed_data: cms.SignedData) -> tsp.TSTInfo:
    content = signed_data["encap_content_info"]
    if content["content_type"].native != "tst_info":
        raise ValueError("not a TSTInfo")
    encapsulated = content["content"]
    info = encapsulated.parsed if isinstance(encapsulated, core.ParsableOctetString) else None
    if not isinstance(info, tsp.TSTInfo):
        raise ValueError("not a TSTInfo")
    return info


def _gen_time(info: tsp.TSTInfo) -> dt.datetime:
    moment = info["gen_time"].native
    if not isinstance(moment, dt.datetime):  # asn1crypto's extended_datetime, for the year 0
        raise ValueError("genTime out of range")
    return moment.astimezone(dt.timezone.utc)


def _imprint(info: tsp.TSTInfo) -> tuple[str, bytes]:
    imprint = info["message_imprint"]
    return imprint["hash_algorithm"]["algorithm"].native, imprint["hashed_message"].native


def _signer_subject(signed_data: cms.SignedData) -> str:
    """The subject of the certificate that signed the token ("CN=…, O=…, C=FR"), or "" when it is not there."""
    from pyhanko.sign.general import extract_certificate_info

    try:
        rdns = extract_certificate_info(signed_data).signer_cert.subject.chosen
        return ", ".join(f"{SHORT_NAMES.get(attribute['type'].native, attribute['type'].dotted)}="
                         f"{attribute['value'].native}" for rdn in reversed(rdns) for attribute in rdn)
    except MALFORMED:
        return ""
