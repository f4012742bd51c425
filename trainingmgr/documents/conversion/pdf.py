"""PDF copies of the generated Word documents, through a LibreOffice kept running for the life of the process
(driven by unoserver), or through the shared converter on PDF_SERVER when one answers; one ``soffice`` per document
as the fallback. See docs/pdf-pipeline.md."""
from __future__ import annotations

import atexit
import http.client
import importlib.metadata
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import xmlrpc.client
from functools import lru_cache
from pathlib import Path

from flask import current_app, has_app_context

log = logging.getLogger(__name__)

START_TIMEOUT = 60  # seconds for LibreOffice and the server to come up (about 6 s here)
STOP_GRACE = 10  # seconds for the server to stop LibreOffice and exit before the group is killed
DOCX_FILTER = "MS Word 2007 XML"  # LibreOffice's import filter for .docx: anything else is refused, not guessed
PDF_FILTER = "writer_pdf_Export"
# writer_pdf_Export's option for PDF/A-3b (SelectPdfVersion: 0 plain PDF, 1 PDF/A-1b, 2 PDF/A-2b, 3 PDF/A-3b), the
# base of a Factur-X invoice (an XML file may only be embedded in PDF/A-3). Other documents stay plain PDF.
PDF_A3_OPTIONS = ("SelectPdfVersion=3",)
BACKEND = "unoserver"
FALLBACK = "soffice-per-document (fallback)"

MSG_DISABLED = ("La conversion en PDF est désactivée sur ce serveur (PDF_CONVERTER=none) : "
                "le document reste disponible au format Word (DOCX).")
MSG_MISSING = ("La conversion en PDF est indisponible : LibreOffice n'est pas installé sur ce serveur. "
               "Le document reste disponible au format Word (DOCX).")
MSG_FAILED = ("La conversion en PDF a échoué : LibreOffice n'a pas pu convertir ce document. "
              "Le document reste disponible au format Word (DOCX).")
MSG_TIMEOUT = ("La conversion en PDF n'a pas abouti dans le délai de {timeout} s. "
               "Le document reste disponible au format Word (DOCX).")


class PdfUnavailable(RuntimeError):
    """No PDF for this document; ``str(error)`` is a French sentence that can be shown as it is."""


class _StartFailed(Exception):
    """The persistent server could not start (an English reason, for the log)."""


# The server is spawned by the stdlib-only snippet below, run as ``python3 -I -c SNIPPET LIB PARENT ARGS…``.
_BOOTSTRAP = r"""
import logging, os, shutil, signal, sys, threading, time, xmlrpc.server
lib, parent = sys.argv[1], int(sys.argv[2])
sys.path.insert(0, lib)
sys.argv = ["unoserver"] + sys.argv[3:]
# Warnings and errors only (unoserver's main() calls basicConfig too, which then does nothing), and no line per
# XML-RPC request: the log would grow with every document.
logging.basicConfig(level=logging.WARNING, format="%(asctime)s unoserver %(levelname)s %(message)s")
xmlrpc.server.SimpleXMLRPCRequestHandler.log_request = lambda *args, **kwargs: None


def watch_parent():
    while os.getppid() == parent:
        time.sleep(1)
    # The application is gone: stop LibreOffice through unoserver's own handler, or kill the whole group.
    if signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, signal.SIG_IGN, None):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(15)
    os.killpg(0, signal.SIGKILL)


# Whether LibreOffice's --accept socket takes a connection (closed at once: LibreOffice drops a bridge that
# never spoke). Reading /proc/net/tcp instead costs more CPU, which LibreOffice is short of while it starts.
def office_listens(port):
    import socket
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


# unoserver.server's ``time``: its start() sleeps a fixed 5 s after starting LibreOffice before it serves
# anything (and its UnoConverter then retries every 2 s while LibreOffice refuses). That first pause ends here as
# soon as LibreOffice listens on its port, polled every 20 ms; every other pause is unchanged.
class ReadyClock:
    def __init__(self, port):
        self.port, self.first = port, True

    def sleep(self, seconds):
        if self.first and threading.current_thread() is threading.main_thread():
            self.first = False
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline and not office_listens(self.port):
                time.sleep(0.02)
            return
        time.sleep(seconds)

    def __getattr__(self, name):
        return getattr(time, name)


threading.Thread(target=watch_parent, daemon=True).start()
import unoserver.server
from unoserver.server import main
if "--uno-port" in sys.argv:
    unoserver.server.time = ReadyClock(int(sys.argv[sys.argv.index("--uno-port") + 1]))
code = main()
if os.getppid() != parent:  # orphaned: nobody else will remove the server's folder and LibreOffice's sockets
    folder = os.path.dirname(lib)
    try:
        with open(os.path.join(folder, "pipes")) as pipes:
            for path in pipes.read().split():
                os.unlink(path)
    except OSError:
        pass
    shutil.rmtree(folder, ignore_errors=True)
sys.exit(code)
"""


# --- settings and discovery -------------------------------------------------------------------------------

def _setting() -> str:
    value = current_app.config.get("PDF_CONVERTER") if has_app_context() else None
    if value is None:
        value = os.environ.get("PDF_CONVERTER")
    value = str(value or "auto").strip().lower()
    if value not in ("auto", "none"):
        log.warning("PDF_CONVERTER=%r is neither 'auto' nor 'none': taken as 'auto'.", value)
        value = "auto"
    return value


@lru_cache(maxsize=1)
def _find_soffice() -> str | None:
    for candidate in (shutil.which("soffice"), shutil.which("libreoffice"), "/usr/lib/libreoffice/program/soffice"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


@lru_cache(maxsize=1)
def _uno_python() -> str | None:
    """The first Python that can ``import uno``: PDF_UNO_PYTHON, Debian's, then the one on PATH."""
    candidates = [os.environ.get("PDF_UNO_PYTHON"), "/usr/bin/python3", shutil.which("python3")]
    for python in dict.fromkeys(c for c in candidates if c):
        try:
            subprocess.run([python, "-I", "-c", "import uno"], check=True, timeout=30,
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        except (OSError, subprocess.SubprocessError):
            continue
        return python
    return None


def _unoserver_files() -> list[Path]:
    """The virtualenv's ``unoserver`` package folder and its ``.dist-info`` folder."""
    try:
        dist = importlib.metadata.distribution("unoserver")
        metadata = next(f for f in dist.files or () if f.name == "METADATA")
    except (importlib.metadata.PackageNotFoundError, StopIteration):
        raise _StartFailed("unoserver is not installed in this Python (pip install -r requirements.txt)") from None
    return [Path(dist.locate_file("unoserver")), Path(dist.locate_file(metadata)).parent]


def available() -> bool:
    """Whether PDF copies can be made here: not disabled, and LibreOffice installed."""
    return unavailable_reason() is None


def unavailable_reason() -> str | None:
    """Why there is no PDF (a French sentence for the screen), or None when there is."""
    if _setting() == "none":
        return MSG_DISABLED
    if _find_soffice() is None:
        return MSG_MISSING
    return None


# --- processes ----------------------------------------------------------------------------------------------

def _group_processes(pgid: int) -> dict[int, tuple[str, str]]:
    """pid -> (name, state) of the processes of a process group, from /proc ({} where there is none)."""
    found = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return found
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                stat = handle.read()
        except OSError:
            continue
        name = stat[stat.find("(") + 1:stat.rfind(")")]
        fields = stat[stat.rfind(")") + 2:].split()
        if len(fields) > 2 and fields[2] == str(pgid):
            found[int(entry)] = (name, fields[0])
    return found


def _office_pipes(pids) -> list[str]:
    """The paths of LibreOffice's single-instance sockets (/tmp/OSL_PIPE_…) held by ``pids``: LibreOffice
    leaves them behind when it is stopped by a signal."""
    inodes = set()
    for pid in pids:
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        except OSError:
            continue
    paths = []
    try:
        with open("/proc/net/unix") as handle:
            for line in handle:
                parts = line.split()
                if len(parts) >= 8 and parts[6] in inodes and "/OSL_PIPE_" in parts[7]:
                    paths.append(parts[7])
    except OSError:
        pass
    return paths


def _kill_group(process: subprocess.Popen) -> None:
    """SIGKILL whatever is left of the process group that ``process`` leads, and reap ``process``."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        process.wait(STOP_GRACE)
    except subprocess.TimeoutExpired:
        log.error("PDF: process %s did not die after SIGKILL.", process.pid)


def _free_ports(count: int) -> list[int]:
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _environment(tmp: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["TMPDIR"] = str(tmp)
    return env


class _TimeoutTransport(xmlrpc.client.Transport):
    def __init__(self, timeout: float):
        super().__init__()
        self._timeout = timeout

    def make_connection(self, host):
        connection = super().make_connection(host)
        connection.timeout = self._timeout
        return connection


_CONNECTION_ERRORS = (OSError, http.client.HTTPException, xmlrpc.client.ProtocolError)


class _Server:
    """One unoserver process (and its LibreOffice), owned by the process that started it."""

    def __init__(self, python: str, soffice: str):
        self.owner = os.getpid()
        self.pipes: list[str] = []
        self.folder = Path(tempfile.mkdtemp(prefix="trainingmgr-pdf-"))
        self.log_path = self.folder / "server.log"
        try:
            self.port, uno_port = _free_ports(2)
            lib, tmp = self.folder / "lib", self.folder / "tmp"
            lib.mkdir()
            tmp.mkdir()
            for source in _unoserver_files():
                (lib / source.name).symlink_to(source, target_is_directory=True)
            command = [python, "-I", "-c", _BOOTSTRAP, str(lib), str(os.getpid()),
                       "--interface", "127.0.0.1", "--port", str(self.port),
                       "--uno-interface", "127.0.0.1", "--uno-port", str(uno_port),
                       "--executable", soffice, "--user-installation", str(self.folder / "profile"),
                       "--temp-dir", str(tmp)]
            with open(self.log_path, "ab") as server_log:
                self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=server_log,
                                                stderr=server_log, env=_environment(tmp), cwd=self.folder,
                                                start_new_session=True)
        except BaseException:
            shutil.rmtree(self.folder, ignore_errors=True)
            raise

    @classmethod
    def start(cls, python: str, soffice: str) -> _Server:
        server = cls(python, soffice)
        try:
            server._wait_ready()
        except BaseException:
            server.stop()
            raise
        return server

    def _proxy(self, timeout: float) -> xmlrpc.client.ServerProxy:
        return xmlrpc.client.ServerProxy(f"http://127.0.0.1:{self.port}", allow_none=True,
                                         transport=_TimeoutTransport(timeout))

    def _wait_ready(self) -> None:
        from unoserver.client import API_VERSION  # LibreOffice's client loads only when a converter starts

        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.process.poll() is not None:
                raise _StartFailed(f"the server exited with code {self.process.returncode}: {self.log_tail()}")
            try:
                info = self._proxy(5).info()
                break
            except (*_CONNECTION_ERRORS, xmlrpc.client.Fault):
                pass
            if time.monotonic() > deadline:
                raise _StartFailed(f"not ready after {START_TIMEOUT} s: {self.log_tail()}")
            time.sleep(0.1)
        if info.get("api") != API_VERSION:
            raise _StartFailed(f"unoserver API {info.get('api')} where the client speaks {API_VERSION}")
        self.pipes = _office_pipes(_group_processes(self.process.pid))
        (self.folder / "pipes").write_text("\n".join(self.pipes))  # for the server, should it be orphaned
        log.info("PDF: LibreOffice %s ready behind unoserver %s (pid %s, port %s).",
                 info.get("libreoffice_version"), info.get("unoserver"), self.process.pid, self.port)

    def log_tail(self, size: int = 2000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-size:].strip() or "(no output)"
        except OSError:
            return "(no log)"

    def office_pid(self) -> int | None:
        for pid, (name, state) in _group_processes(self.process.pid).items():
            if name == "soffice.bin" and state != "Z":
                return pid
        return None

    def alive(self) -> bool:
        if self.process.poll() is not None:
            return False
        return not os.path.isdir("/proc") or self.office_pid() is not None

    def convert(self, docx: bytes, timeout: float, options: tuple[str, ...] = ()) -> bytes:
        result = self._proxy(timeout).convert(None, xmlrpc.client.Binary(docx), None, "pdf", PDF_FILTER,
                                              list(options), True, DOCX_FILTER, None)
        return result.data

    def stop(self, graceful: bool = True) -> None:
        """Stop the server and LibreOffice; ``graceful=False`` (LibreOffice already dead): kill what is left at
        once rather than wait for unoserver to notice."""
        if self.owner != os.getpid():  # inherited through fork: the parent's to stop
            return
        if graceful and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # unoserver stops LibreOffice, which reaps its children
            try:
                self.process.wait(STOP_GRACE)
            except subprocess.TimeoutExpired:
                log.warning("PDF: the server (pid %s) did not stop within %s s: killed.", self.process.pid,
                            STOP_GRACE)
        _kill_group(self.process)  # e.g. an oosplash that did not follow
        for path in self.pipes:
            try:
                os.unlink(path)
            except OSError:
                pass
        shutil.rmtree(self.folder, ignore_errors=True)


# --- the process-wide converter ---------------------------------------------------------------------------

_lock = threading.Lock()
_server: _Server | None = None
_persistent_failure: str | None = None  # why the persistent server could not start: the fallback is used


def _cli_filter(options: tuple[str, ...]) -> str:
    """The ``--convert-to`` argument: filter options as LibreOffice's JSON (7.4+), e.g. for PDF/A-3b
    ``pdf:writer_pdf_Export:{"SelectPdfVersion":{"type":"long","value":"3"}}``."""
    if not options:
        return f"pdf:{PDF_FILTER}"
    data = {}
    for option in options:
        name, _, value = option.partition("=")
        data[name] = {"type": "long", "value": value} if value.isdecimal() else {"type": "string", "value": value}
    return f"pdf:{PDF_FILTER}:{json.dumps(data, separators=(',', ':'))}"


def _convert_per_document(docx: bytes, timeout: float, options: tuple[str, ...] = ()) -> bytes:
    """FALLBACK ONLY: a LibreOffice started for this one document (seconds), when the server cannot run."""
    soffice = _find_soffice()
    if soffice is None:
        raise PdfUnavailable(MSG_MISSING)
    with tempfile.TemporaryDirectory(prefix="trainingmgr-pdf-once-") as work:
        folder = Path(work)
        (folder / "tmp").mkdir()
        (folder / "document.docx").write_bytes(docx)
        command = [soffice, "--headless", "--invisible", "--nocrashreport", "--nodefault", "--nologo",
                   "--nofirststartwizard", "--norestore", f"-env:UserInstallation={(folder / 'profile').as_uri()}",
                   f"--infilter={DOCX_FILTER}", "--convert-to", _cli_filter(options), "--outdir", str(folder),
                   str(folder / "document.docx")]
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, env=_environment(folder / "tmp"), cwd=folder,
                                   start_new_session=True)
        try:
            output, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise PdfUnavailable(MSG_TIMEOUT.format(timeout=timeout)) from None
        finally:
            _kill_group(process)
        pdf = folder / "document.pdf"
        if not pdf.is_file():
            log.warning("PDF: soffice --convert-to produced no PDF (exit %s): %s", process.returncode,
                        output.decode(errors="replace")[-2000:])
            raise PdfUnavailable(MSG_FAILED)
        return pdf.read_bytes()


def _start_server() -> _Server | None:
    """A new server, or None (and the fallback from now on) when it cannot start."""
    global _persistent_failure
    python = _uno_python()
    try:
        if python is None:
            raise _StartFailed("no Python can import uno (Debian: apt-get install python3-uno, or `make office`)")
        return _Server.start(python, _find_soffice())
    except (_StartFailed, OSError) as exc:
        _persistent_failure = str(exc) or type(exc).__name__
        log.warning("PDF: the persistent LibreOffice server cannot start (%s); falling back to one soffice "
                    "per document, which takes seconds each.", _persistent_failure)
        return None


def _convert_locked(docx: bytes, timeout: float, options: tuple[str, ...] = ()) -> bytes:
    global _server
    for attempt in range(2):
        if _server is not None and not _server.alive():
            log.warning("PDF: the LibreOffice server (pid %s) died: restarting it. %s", _server.process.pid,
                        _server.log_tail(500))
            _server.stop(graceful=False)
            _server = None
        if _server is None:
            if _persistent_failure is None:
                _server = _start_server()
            if _server is None:
                return _convert_per_document(docx, timeout, options)
        try:
            return _server.convert(docx, timeout, options)
        except xmlrpc.client.Fault as exc:
            if _server.alive():  # LibreOffice refused this document
                log.warning("PDF: conversion failed: %s", exc.faultString)
                raise PdfUnavailable(MSG_FAILED) from exc
            failure = exc  # LibreOffice died during the conversion
        except TimeoutError as exc:  # LibreOffice hangs on this document: start afresh next time
            log.warning("PDF: no answer within %s s; stopping the server.", timeout)
            _server.stop()
            _server = None
            raise PdfUnavailable(MSG_TIMEOUT.format(timeout=timeout)) from exc
        except _CONNECTION_ERRORS as exc:
            failure = exc
        log.warning("PDF: the server failed (%s)%s.", failure, ", restarting it" if attempt == 0 else "")
        _server.stop()
        _server = None
    raise PdfUnavailable(MSG_FAILED)


def convert(docx: bytes, timeout: float = 60, pdf_a3: bool = False) -> bytes:
    """The PDF of a .docx document. Starts the converter on first use (seconds), then reuses it (a tenth of
    a second for a page or two). Raises PdfUnavailable, with a French message, when there is no PDF.
    ``pdf_a3``: a PDF/A-3b (fonts embedded, XMP metadata), which a Factur-X invoice is built on; plain PDF
    otherwise."""
    reason = unavailable_reason()
    if reason is not None:
        raise PdfUnavailable(reason)
    address = shared_address()
    if address is not None:
        from . import pdf_server  # pdf_server builds on this module

        try:
            data = pdf_server.remote_convert(address, bytes(docx), timeout, pdf_a3)
        except pdf_server.Unreachable:
            pass  # no shared converter there: this process's own, as without PDF_SERVER
        else:
            if _server is not None:  # started while the shared converter was away: no longer needed
                shutdown()
            return data
    return convert_here(docx, timeout, pdf_a3)


def convert_here(docx: bytes, timeout: float = 60, pdf_a3: bool = False) -> bytes:
    """``convert`` through this process's own converter, whatever PDF_SERVER says (the shared converter's
    process converts with this)."""
    with _lock:
        return _convert_locked(bytes(docx), timeout, PDF_A3_OPTIONS if pdf_a3 else ())


def shared_address() -> str | None:
    """PDF_SERVER, the address (``host:port``) of the converter shared by every process (``flask pdf serve``,
    documents/conversion/pdf_server.py): from the application's config when there is an application context and it
    sets the key (an empty value: none), else from the environment; None when there is none."""
    value = current_app.config.get("PDF_SERVER") if has_app_context() else None
    if value is None:
        value = os.environ.get("PDF_SERVER")
    return str(value or "").strip() or None


def warm_up(retry: bool = False) -> bool:
    """Start this process's converter now rather than on the first document (the shared converter does, at
    its start and after LibreOffice died). Whether the persistent server is running. ``retry``: try the
    persistent server again even if it failed to start before (the fallback was in use meanwhile)."""
    global _server, _persistent_failure
    if not available():
        return False
    with _lock:
        if retry:
            _persistent_failure = None
        if _server is not None and not _server.alive():
            _server.stop(graceful=False)
            _server = None
        if _server is None and _persistent_failure is None:
            _server = _start_server()
        return _server is not None


def status() -> dict:
    """What converts the documents, for diagnostics and tests."""
    server = _server
    running = server is not None and server.owner == os.getpid() and server.alive()
    backend = None
    if available():
        backend = FALLBACK if _persistent_failure is not None else BACKEND
    return {
        "available": available(),
        "backend": backend,
        "server_pid": server.process.pid if running else None,
        "office_pid": server.office_pid() if running else None,
        "persistent_failure": _persistent_failure,
    }


def shutdown() -> None:
    """Stop the converter (LibreOffice included); the next conversion starts a new one. Runs at exit."""
    global _server, _persistent_failure
    locked = _lock.acquire(timeout=STOP_GRACE)  # a conversion stuck in another thread does not block the exit
    try:
        server, _server = _server, None
        _persistent_failure = None
        if server is not None:
            server.stop()
    finally:
        if locked:
            _lock.release()


def _after_fork_in_child() -> None:
    # The parent's server and lock are the parent's: a forked worker starts its own converter when needed.
    global _server, _lock, _persistent_failure
    _server, _lock, _persistent_failure = None, threading.Lock(), None


atexit.register(shutdown)
os.register_at_fork(after_in_child=_after_fork_in_child)
