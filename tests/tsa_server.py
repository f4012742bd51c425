"""A local RFC 3161 timestamp authority for the tests, on 127.0.0.1.

``LocalPKI`` makes a root CA and a TSA certificate under it (RSA, with ``cryptography``); ``LocalTSA`` serves
``application/timestamp-query`` POSTs in a background thread and answers with tokens signed by the TSA key
(pyHanko's ``DummyTimeStamper`` builds them: nonce copied, TSA certificate embedded). Switches make it misbehave::

    with LocalTSA() as tsa:
        token = request_token(b"...", tsa.url)
        tsa.fail_with(503)        # HTTP error
        tsa.reject()              # TimeStampResp with status rejection
        tsa.clock(datetime(...))  # fixed genTime
        tsa.wrong_nonce()         # token over another nonce than the request's
        tsa.garble()              # 200 with bytes that are no TimeStampResp
        tsa.stall(2)              # answers after 2 s
        tsa.require_login("u", "p")
        tsa.behave()              # back to normal

A second ``LocalPKI()`` is an unrelated CA: its ``ca_pem`` must not make the first TSA's tokens trusted.
"""
from __future__ import annotations

import base64
import datetime as dt
import shutil
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from asn1crypto import core, keys, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALID_FROM = dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)
VALID_UNTIL = dt.datetime(2099, 12, 31, tzinfo=dt.timezone.utc)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Organisme de test"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class LocalPKI:
    """A root CA and a TSA certificate it issued (extendedKeyUsage timeStamping, critical, unless told otherwise)."""

    def __init__(self, name: str = "Autorité de test", *, time_stamping: bool = True,
                 valid_from: dt.datetime = VALID_FROM, valid_until: dt.datetime = VALID_UNTIL):
        self.ca_key, self.tsa_key = _key(), _key()
        self.ca_cert = self._ca_certificate(name, valid_from, valid_until)
        self.tsa_cert = self._tsa_certificate(f"Horodatage — {name}", time_stamping, valid_from, valid_until)

    def _ca_certificate(self, name: str, valid_from: dt.datetime, valid_until: dt.datetime) -> x509.Certificate:
        public = self.ca_key.public_key()
        return (self._builder(_name(name), _name(name), public, valid_from, valid_until)
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                             data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                             crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
                .sign(self.ca_key, hashes.SHA256()))

    def _tsa_certificate(self, name: str, time_stamping: bool, valid_from: dt.datetime,
                         valid_until: dt.datetime) -> x509.Certificate:
        public = self.tsa_key.public_key()
        builder = (self._builder(_name(name), self.ca_cert.subject, public, valid_from, valid_until)
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                   .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True,
                                                key_encipherment=False, data_encipherment=False, key_agreement=False,
                                                key_cert_sign=False, crl_sign=False, encipher_only=False,
                                                decipher_only=False), critical=True)
                   .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.ca_key.public_key()),
                                  critical=False))
        if time_stamping:
            builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        return builder.sign(self.ca_key, hashes.SHA256())

    @staticmethod
    def _builder(subject: x509.Name, issuer: x509.Name, public_key, valid_from: dt.datetime,
                 valid_until: dt.datetime) -> x509.CertificateBuilder:
        return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(public_key)
                .serial_number(x509.random_serial_number()).not_valid_before(valid_from)
                .not_valid_after(valid_until))

    @property
    def ca_pem(self) -> bytes:
        return self.ca_cert.public_bytes(serialization.Encoding.PEM)

    @property
    def ca_der(self) -> bytes:
        return self.ca_cert.public_bytes(serialization.Encoding.DER)

    @property
    def tsa_pem(self) -> bytes:
        return self.tsa_cert.public_bytes(serialization.Encoding.PEM)

    def stamper(self, fixed_dt: dt.datetime | None = None):
        """pyHanko's DummyTimeStamper signing with this PKI's TSA key."""
        from pyhanko.sign.timestamps import DummyTimeStamper

        key_der = self.tsa_key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                             serialization.NoEncryption())
        return DummyTimeStamper(tsa_cert=asn1_x509.Certificate.load(self.tsa_cert.public_bytes(
            serialization.Encoding.DER)), tsa_key=keys.PrivateKeyInfo.load(key_der), fixed_dt=fixed_dt)


class LocalTSA:
    """An RFC 3161 server on a free port of 127.0.0.1; a context manager (``start``/``stop`` otherwise)."""

    def __init__(self, pki: LocalPKI | None = None):
        self.pki = pki or LocalPKI()
        self.requests = 0
        self.queries: list[tsp.TimeStampReq] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._dir: str | None = None
        self.behave()

    # --- switches

    def behave(self) -> None:
        """Answer every well-formed query with a granted token, at the real time."""
        self._status: int | None = None
        self._rejected = ""
        self._fixed_time: dt.datetime | None = None
        self._nonce_shift = 0
        self._garbled = False
        self._delay = 0.0
        self._login: tuple[str, str] | None = None

    def fail_with(self, status: int) -> None:
        self._status = status

    def reject(self, reason: str = "demande refusée par l'autorité de test") -> None:
        self._rejected = reason

    def clock(self, moment: dt.datetime) -> None:
        self._fixed_time = moment

    def wrong_nonce(self) -> None:
        self._nonce_shift = 1

    def garble(self) -> None:
        self._garbled = True

    def stall(self, seconds: float) -> None:
        self._delay = seconds

    def require_login(self, username: str, password: str) -> None:
        self._login = (username, password)

    # --- life

    @property
    def url(self) -> str:
        assert self._server is not None, "LocalTSA not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}/tsa"

    @property
    def ca_pem(self) -> bytes:
        return self.pki.ca_pem

    @property
    def ca_der(self) -> bytes:
        return self.pki.ca_der

    @property
    def ca_file(self) -> str:
        assert self._dir is not None, "LocalTSA not started"
        return str(Path(self._dir) / "tsa-ca.pem")

    def start(self) -> LocalTSA:
        self._dir = tempfile.mkdtemp(prefix="local-tsa-")
        Path(self.ca_file).write_bytes(self.ca_pem)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.handle_error = lambda request, address: None  # a client gone after its timeout
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="local-tsa", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
            self._server = self._thread = None
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def __enter__(self) -> LocalTSA:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    # --- answering

    def answer(self, body: bytes, authorization: str | None) -> tuple[int, str, bytes]:
        """(HTTP status, content type, body) for one POSTed query."""
        with self._lock:
            self.requests += 1
        if self._delay:
            time.sleep(self._delay)
        if self._login and authorization != _basic(*self._login):
            return 401, "text/plain", b"identifiants requis"
        if self._status:
            return self._status, "text/plain", b"erreur simulee"
        if self._garbled:
            return 200, "application/timestamp-reply", b"ceci n'est pas une reponse RFC 3161"
        query = tsp.TimeStampReq.load(body)
        self.queries.append(query)
        return 200, "application/timestamp-reply", self._response(query).dump()

    def _response(self, query: tsp.TimeStampReq) -> core.Asn1Value:
        if self._rejected:
            # A TimeStampResp holding only its status (asn1crypto's class insists on a token).
            status = tsp.PKIStatusInfo({"status": "rejection", "status_string": [self._rejected],
                                        "fail_info": {"bad_request"}})
            return core.Sequence(contents=status.dump())
        if self._nonce_shift:
            query = tsp.TimeStampReq({"version": 1, "message_imprint": query["message_imprint"], "cert_req": True,
                                      "nonce": (query["nonce"].native or 0) + self._nonce_shift})
        return self.pki.stamper(self._fixed_time).request_tsa_response(query)


def _basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode("ascii")


def _handler(tsa: LocalTSA) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.headers.get("Content-Type") != "application/timestamp-query":
                status, kind, answer = 415, "text/plain", b"application/timestamp-query attendu"
            else:
                status, kind, answer = tsa.answer(body, self.headers.get("Authorization"))
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format, *args):  # quiet
            pass

    return Handler
