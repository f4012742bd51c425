"""One warm PDF converter shared by every process of the application (``flask pdf serve``): pdf.py's converter
hosted in a process of its own behind a small XML-RPC server on PDF_SERVER, supervised and restarted. See
docs/pdf-pipeline.md."""
from __future__ import annotations

import http.client
import io
import logging
import os
import socket
import socketserver
import threading
import time
import xmlrpc.client
import xmlrpc.server

from . import pdf

log = logging.getLogger(__name__)

SERVICE = "trainingmgr-pdf"
API = "1"
DEFAULT_ADDRESS = "127.0.0.1:2003"
SUPERVISE_EVERY = 0.5  # seconds between two checks that LibreOffice still runs
RETRY_AFTER = 5  # seconds before starting LibreOffice again after a failed start
PROBE_TIMEOUT = 2  # seconds for info() to answer
FAULT_PDF = 1  # the fault code of a PdfUnavailable: its text is the French message

MSG_ADDRESS = "PDF_SERVER doit être de la forme hôte:port (par exemple 127.0.0.1:2003) : « {value} » ne l'est pas."


class Unreachable(Exception):
    """No shared converter answers at that address (an English reason, for the log)."""


def parse_address(value: str) -> tuple[str, int]:
    """(host, port) of ``host:port`` (or a bare port, on 127.0.0.1); ValueError with a French message."""
    text = str(value or "").strip()
    if text.startswith("http://"):
        text = text[len("http://"):].rstrip("/")
    host, _, port = text.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    if not port.isdigit() or not 0 < int(port) < 65536 or any(c.isspace() or c == "/" for c in host):
        raise ValueError(MSG_ADDRESS.format(value=value))
    return host, int(port)


def _proxy(address: str, timeout: float) -> xmlrpc.client.ServerProxy:
    host, port = parse_address(address)
    netloc = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return xmlrpc.client.ServerProxy(f"http://{netloc}/", allow_none=True, transport=pdf._TimeoutTransport(timeout))


# --- the clients' side ---------------------------------------------------------------------------------------

_reachable: dict[str, bool] = {}  # address -> whether the last call reached it (a log line on each change)


def _note(address: str, reached: bool, reason: str = "") -> None:
    if _reachable.get(address) != reached:
        _reachable[address] = reached
        if reached:
            log.info("PDF: documents converted by the shared converter on %s.", address)
        else:
            log.warning("PDF: no shared converter on %s (%s): this process converts with its own LibreOffice.",
                        address, reason)


def remote_convert(address: str, docx: bytes, timeout: float = 60, pdf_a3: bool = False) -> bytes:
    """The PDF of ``docx`` made by the shared converter at ``address``. Raises PdfUnavailable (French) when
    it cannot make one, Unreachable when no shared converter answers there."""
    # The conversion may wait behind the other processes' and behind a restart of LibreOffice.
    proxy = _proxy(address, timeout + pdf.START_TIMEOUT)
    try:
        result = proxy.convert(xmlrpc.client.Binary(docx), bool(pdf_a3), float(timeout))
    except xmlrpc.client.Fault as exc:
        if exc.faultCode != FAULT_PDF:  # not ours: another service on that port
            _note(address, False, f"fault {exc.faultCode}: {exc.faultString[:200]}")
            raise Unreachable(exc.faultString) from exc
        _note(address, True)
        raise pdf.PdfUnavailable(exc.faultString) from None
    except TimeoutError as exc:
        raise pdf.PdfUnavailable(pdf.MSG_TIMEOUT.format(timeout=timeout)) from exc
    except (OSError, http.client.HTTPException, xmlrpc.client.ProtocolError) as exc:
        _note(address, False, str(exc) or type(exc).__name__)
        raise Unreachable(str(exc)) from exc
    except ValueError as exc:  # a malformed PDF_SERVER
        _note(address, False, str(exc))
        raise Unreachable(str(exc)) from exc
    _note(address, True)
    return result.data


def remote_info(address: str, timeout: float = PROBE_TIMEOUT) -> dict | None:
    """What the shared converter at ``address`` says of itself, or None when none answers there."""
    try:
        info = _proxy(address, timeout).info()
    except (OSError, http.client.HTTPException, xmlrpc.client.Error, ValueError):
        return None
    return info if isinstance(info, dict) and info.get("service") == SERVICE else None


def wait_ready(address: str, timeout: float, pid: int | None = None) -> dict | None:
    """Poll ``address`` every 50 ms until the shared converter there is ready: its info(), or None at the
    deadline or as soon as process ``pid`` (the converter being started) is gone."""
    deadline = time.monotonic() + timeout
    while True:
        info = remote_info(address, timeout=max(0.1, min(PROBE_TIMEOUT, deadline - time.monotonic())))
        if info is not None and info.get("ready"):
            return info
        if pid is not None and not _process_running(pid):
            return None
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.05)


def _process_running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True


# --- the shared converter's side -----------------------------------------------------------------------------

class _Handler(xmlrpc.server.SimpleXMLRPCRequestHandler):
    rpc_paths = ("/", "/RPC2")

    def log_request(self, *args, **kwargs):  # no line per document
        pass


class _XMLRPCServer(socketserver.ThreadingMixIn, xmlrpc.server.SimpleXMLRPCServer):
    daemon_threads = True  # a conversion in progress does not hold the exit
    allow_reuse_address = True  # the same port again right after a stop

    def __init__(self, host: str, port: int):
        if ":" in host:
            self.address_family = socket.AF_INET6
        super().__init__((host, port), requestHandler=_Handler, allow_none=True, logRequests=False)


def sample_docx() -> bytes:
    """A one-page Word document, converted once at start so that LibreOffice has loaded the Word import and
    the PDF export before the first real document."""
    import docx  # python-docx loads only in the converter's process (0.2 s)

    document = docx.Document()
    document.add_heading("Convertisseur PDF", level=1)
    document.add_paragraph("Document d'essai converti au démarrage : 1 234,56 €, 25/11/2026.")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


class SharedConverter:
    """The XML-RPC server in front of this process's converter (pdf.py), and its supervision."""

    def __init__(self, address: str):
        self.address = address
        host, port = parse_address(address)
        self.httpd = _XMLRPCServer(host, port)  # OSError when the port is taken
        self.httpd.register_function(self.info, "info")
        self.httpd.register_function(self.convert, "convert")
        self.ready = threading.Event()
        self.stopping = threading.Event()
        self.restarts = 0
        self.conversions = 0
        self.failed_at: float | None = None
        self._thread: threading.Thread | None = None
        self._sample: bytes | None = None
        self._known: pdf._Server | None = None  # the LibreOffice server last seen, to count the restarts

    # XML-RPC
    def info(self) -> dict:
        status = pdf.status()
        return {"service": SERVICE, "api": API, "pid": os.getpid(), "ready": self.ready.is_set(),
                "backend": status["backend"], "server_pid": status["server_pid"], "office_pid": status["office_pid"],
                "restarts": self.restarts, "conversions": self.conversions}

    def convert(self, docx, pdf_a3=False, timeout=60):
        data = docx.data if isinstance(docx, xmlrpc.client.Binary) else bytes(docx)
        try:
            result = pdf.convert_here(data, timeout=float(timeout), pdf_a3=bool(pdf_a3))
        except pdf.PdfUnavailable as exc:
            raise xmlrpc.client.Fault(FAULT_PDF, str(exc)) from None
        self.conversions += 1
        return xmlrpc.client.Binary(result)

    # life cycle
    def start(self) -> bool:
        """Open the port, start LibreOffice and warm it: whether the persistent converter runs (else the
        per-document fallback serves, and the start is retried by ``supervise``)."""
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="pdf-xmlrpc", daemon=True)
        self._thread.start()
        return self._start_office(retry=False)

    def _start_office(self, retry: bool) -> bool:
        before = pdf._server
        running = pdf.warm_up(retry=retry)  # under pdf's lock: conversions sent meanwhile wait for it
        self._count_restart()
        if running and pdf._server is not before:  # started here (not by a conversion that found it dead)
            try:
                if self._sample is None:
                    self._sample = sample_docx()
                pdf.convert_here(self._sample)
            except pdf.PdfUnavailable as exc:
                log.warning("PDF: the warm-up document did not convert (%s).", exc)
        self.failed_at = None if running else time.monotonic()
        self.ready.set()  # with the fallback too (a failed start): conversions are answered, only slower
        return running

    def _count_restart(self) -> None:
        server = pdf._server
        if server is not None and server is not self._known:
            if self._known is not None:
                self.restarts += 1
            self._known = server

    def check(self) -> None:
        """One round of supervision: start LibreOffice again if it died, or retry a failed start."""
        if self.failed_at is not None:
            if time.monotonic() - self.failed_at >= RETRY_AFTER and self._start_office(retry=True):
                log.warning("PDF: the shared converter now runs LibreOffice (pid %s).", pdf.status()["office_pid"])
            return
        server = pdf._server
        if server is None or not server.alive():
            log.warning("PDF: LibreOffice of the shared converter is gone: starting it again.")
            self._start_office(retry=False)
        self._count_restart()  # also when a conversion found it dead and started it again

    def supervise(self) -> None:
        """Check every SUPERVISE_EVERY seconds until ``stop`` (or a signal)."""
        while not self.stopping.wait(SUPERVISE_EVERY):
            try:
                self.check()
            except Exception:  # the converter must keep serving: log, and check again next round
                log.exception("PDF: supervision of the shared converter failed")

    def stop(self) -> None:
        self.stopping.set()
        if self._thread is not None:
            self.httpd.shutdown()
            self._thread.join(pdf.STOP_GRACE)
        self.httpd.server_close()
        pdf.shutdown()
