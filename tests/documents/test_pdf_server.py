"""The PDF converter shared by every process (``flask pdf serve``, trainingmgr/documents/conversion/pdf_server.py), and the
readiness probe that replaced unoserver's fixed pause (pdf._BOOTSTRAP's ReadyClock).

The tests that convert need Debian's LibreOffice and python3-uno (`make office`), as tests/documents/test_pdf.py;
one converter is started for the module (the real command, in a subprocess) and stopped at its end, and no
LibreOffice is left behind. No test is timed: the probe is checked through its mechanism."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import xmlrpc.server

import pytest

from tests.cli_support import FLASK, ROOT, flask_env
from tests.fixtures.pdf import assert_pdf_of, make_docx, wait_group_gone
from trainingmgr.documents.conversion import pdf, pdf_server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def flask_pdf(tmp_path, *args, extra_env: dict | None = None, **popen):
    env = flask_env(f"sqlite:///{tmp_path}/pdf.db", tmp_path / "files")
    env.pop("PDF_CONVERTER", None)
    env.pop("PDF_SERVER", None)
    env.update(extra_env or {})
    return subprocess.Popen([FLASK, "--app", "app", "pdf", *args], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **popen)


def flask_pdf_run(tmp_path, *args, extra_env: dict | None = None) -> tuple[int, str]:
    process = flask_pdf(tmp_path, *args, extra_env=extra_env)
    output, _ = process.communicate(timeout=120)
    return process.returncode, output


@pytest.fixture(scope="module")
def shared(office, tmp_path_factory):  # noqa: F811 - the fixture imported above
    """``flask pdf serve`` on a free port, ready; stopped (SIGTERM) at the end, with every process it started."""
    tmp_path = tmp_path_factory.mktemp("pdf-server")
    address = f"127.0.0.1:{free_port()}"
    process = flask_pdf(tmp_path, "serve", "--address", address)
    try:
        info = pdf_server.wait_ready(address, 120, pid=process.pid)
        assert info is not None, process.communicate(timeout=30)[0] if process.poll() is not None else "not ready"
        groups = [info["server_pid"]]
        yield address, process, groups
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            output, _ = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
    assert process.returncode == 0, output
    assert "Convertisseur PDF partagé prêt sur" in output and "arrêté" in output, output
    for pgid in groups:
        assert wait_group_gone(pgid) == {}, f"LibreOffice of the shared converter (group {pgid}) left behind"


@pytest.fixture
def client_of(shared, monkeypatch):
    address = shared[0]
    monkeypatch.setenv("PDF_SERVER", address)
    pdf.shutdown()
    yield address
    pdf.shutdown()


def office_processes(pgid: int) -> list[int]:
    return [pid for pid, (name, state) in pdf._group_processes(pgid).items() if name == "soffice.bin" and state != "Z"]


def test_the_shared_converter_starts_and_converts(client_of, shared):
    before = pdf_server.remote_info(client_of)
    assert before["ready"] and before["backend"] == "unoserver" and before["office_pid"], before
    assert office_processes(before["server_pid"]) == [before["office_pid"]]
    assert_pdf_of(pdf.convert(make_docx()))
    assert pdf.status()["server_pid"] is None  # no LibreOffice of this process
    after = pdf_server.remote_info(client_of)
    assert after["conversions"] == before["conversions"] + 1
    assert after["office_pid"] == before["office_pid"]


def test_a_bad_document_fails_in_french_through_the_shared_converter(client_of):
    with pytest.raises(pdf.PdfUnavailable, match="La conversion en PDF a échoué"):
        pdf.convert(b"PK\x03\x04 not really a Word document")
    assert pdf.status()["server_pid"] is None
    assert pdf_server.remote_info(client_of)["ready"]


CLIENT = textwrap.dedent("""
    import json, sys
    sys.path.insert(0, sys.argv[1])
    from tests.fixtures.pdf import make_docx
    from trainingmgr.documents.conversion import pdf
    data = pdf.convert(make_docx(sys.argv[2]))
    print(json.dumps({"pdf": data.startswith(b"%PDF"), "own_server": pdf.status()["server_pid"]}))
""")


def test_two_client_processes_share_one_libreoffice(client_of):
    before = pdf_server.remote_info(client_of)
    env = {**os.environ, "PDF_SERVER": client_of}
    env.pop("PDF_CONVERTER", None)
    clients = [subprocess.Popen([sys.executable, "-c", CLIENT, str(ROOT), f"Client {n}"], env=env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE) for n in range(2)]
    results = []
    for client in clients:
        output, errors = client.communicate(timeout=120)
        assert client.returncode == 0, errors
        results.append(json.loads(output.strip().splitlines()[-1]))
    assert results == [{"pdf": True, "own_server": None}] * 2
    after = pdf_server.remote_info(client_of)
    assert after["conversions"] == before["conversions"] + 2
    assert after["office_pid"] == before["office_pid"]
    assert office_processes(after["server_pid"]) == [after["office_pid"]]  # one LibreOffice for all


def test_the_next_conversion_succeeds_after_libreoffice_was_killed(client_of, shared):
    before = pdf_server.remote_info(client_of)
    os.kill(before["office_pid"], signal.SIGKILL)
    assert_pdf_of(pdf.convert(make_docx()))  # sent at once: it waits for the restart, it does not fail
    assert pdf.status()["server_pid"] is None
    after = pdf_server.remote_info(client_of)
    shared[2].append(after["server_pid"])
    assert after["ready"] and after["office_pid"] not in (None, before["office_pid"]), (before, after)
    assert wait_group_gone(before["server_pid"]) == {}
    # The supervisor notices a death between two conversions too.
    os.kill(after["office_pid"], signal.SIGKILL)
    info = None
    for _ in range(600):
        info = pdf_server.remote_info(client_of)
        if info["office_pid"] not in (None, after["office_pid"]) and info["restarts"] >= before["restarts"] + 2:
            break
        threading.Event().wait(0.1)
    shared[2].append(info["server_pid"])
    assert info["restarts"] >= before["restarts"] + 2, info
    assert_pdf_of(pdf.convert(make_docx()))


def test_without_the_shared_converter_each_process_converts_itself(office, monkeypatch):  # noqa: F811
    monkeypatch.setenv("PDF_SERVER", f"127.0.0.1:{free_port()}")  # nothing listens there
    pdf.shutdown()
    try:
        assert_pdf_of(pdf.convert(make_docx()))
        status = pdf.status()
        assert status["server_pid"] and status["backend"] == "unoserver"
        office.append(status["server_pid"])
    finally:
        pdf.shutdown()


def test_a_second_serve_on_the_same_port_uses_the_running_one(shared, tmp_path):
    code, output = flask_pdf_run(tmp_path, "serve", "--address", shared[0])
    assert code == 0 and "tourne déjà" in output, output


# --- the readiness probe ----------------------------------------------------------------------------------------

class FakeTime:
    """time for the bootstrap's ReadyClock: sleeping only advances the clock, and is recorded."""

    def __init__(self):
        self.now, self.slept = 0.0, []

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


def ready_clock(fake: FakeTime):
    """The ReadyClock class of pdf._BOOTSTRAP, run with ``fake`` as its ``time``."""
    source = pdf._BOOTSTRAP
    start = source.index("# Whether LibreOffice's --accept socket")
    end = source.index("threading.Thread(target=watch_parent")
    namespace = {"time": fake, "threading": threading}
    exec(compile(source[start:end], "pdf._BOOTSTRAP", "exec"), namespace)
    return namespace["ReadyClock"]


def test_the_fixed_pause_of_unoserver_is_still_the_one_replaced():
    server = (pdf._unoserver_files()[0] / "server.py").read_text()
    start = server[server.index("    def start(self"):server.index("    def serve(self")]
    assert "time.sleep(5)" in start and "self.xmlrcp_thread.start()" in start
    assert start.index("time.sleep(5)") < start.index("self.xmlrcp_thread.start()")
    assert "unoserver.server.time = ReadyClock(" in pdf._BOOTSTRAP


def test_the_pause_ends_as_soon_as_libreoffice_listens():
    fake = FakeTime()
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        clock = ready_clock(fake)(listening.getsockname()[1])
        clock.sleep(5)  # unoserver's pause after starting LibreOffice: over, LibreOffice listens
        assert fake.slept == []
        clock.sleep(2)  # every other pause of unoserver is unchanged
        assert fake.slept == [2]


def test_the_pause_polls_until_libreoffice_listens_and_never_longer_than_unoservers():
    fake = FakeTime()
    clock = ready_clock(fake)(free_port())  # nothing listens
    clock.sleep(5)
    assert fake.slept and set(fake.slept) == {0.02}
    assert 4.9 < sum(fake.slept) < 5.1


def test_a_pause_in_another_thread_is_unchanged():
    fake = FakeTime()
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        clock = ready_clock(fake)(listening.getsockname()[1])
        thread = threading.Thread(target=clock.sleep, args=(2,))
        thread.start()
        thread.join()
        assert fake.slept == [2]


class FakeConverter:
    """An XML-RPC server that says it is not ready for its first ``not_ready`` info() calls."""

    def __init__(self, not_ready: int, service: str = pdf_server.SERVICE):
        self.calls, self.not_ready, self.service = 0, not_ready, service
        self.httpd = xmlrpc.server.SimpleXMLRPCServer(("127.0.0.1", 0), logRequests=False, allow_none=True)
        self.httpd.register_function(self.info, "info")
        self.address = f"127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def info(self):
        self.calls += 1
        return {"service": self.service, "pid": 1, "ready": self.calls > self.not_ready}

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_wait_returns_once_the_converter_answers_ready():
    with FakeConverter(not_ready=3) as fake:
        info = pdf_server.wait_ready(fake.address, 60)
        assert info["ready"] and fake.calls == 4  # returned at the first real call that said ready


def test_wait_ignores_another_service_and_gives_up_when_the_converter_is_gone():
    with FakeConverter(not_ready=0, service="something-else") as fake:
        assert pdf_server.wait_ready(fake.address, 0) is None
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    assert pdf_server.wait_ready(f"127.0.0.1:{free_port()}", 60, pid=gone.pid) is None  # at once, not in 60 s


# --- the commands -----------------------------------------------------------------------------------------------

def test_serve_refuses_a_bad_address_and_a_taken_port(tmp_path):
    code, output = flask_pdf_run(tmp_path, "serve", "--address", "127.0.0.1:http")
    assert code == 1 and output.startswith("Erreur : PDF_SERVER doit être de la forme hôte:port"), output
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        code, output = flask_pdf_run(tmp_path, "serve", "--address", f"127.0.0.1:{taken.getsockname()[1]}")
    assert code == 1 and "Erreur : Le port de 127.0.0.1:" in output and "est pris" in output, output
    assert "Traceback" not in output


def test_serve_without_pdf_says_so_and_wait_does_not_block(tmp_path):
    code, output = flask_pdf_run(tmp_path, "serve", extra_env={"PDF_CONVERTER": "none"})
    assert code == 0 and "Pas de convertisseur PDF partagé : La conversion en PDF est désactivée" in output, output
    address = f"127.0.0.1:{free_port()}"
    code, output = flask_pdf_run(tmp_path, "wait", "--timeout", "0", extra_env={"PDF_SERVER": address})
    assert code == 1 and output.startswith(f"Erreur : Pas de convertisseur PDF partagé sur {address}"), output


def test_parse_address():
    assert pdf_server.parse_address("127.0.0.1:2003") == ("127.0.0.1", 2003)
    assert pdf_server.parse_address("2003") == ("127.0.0.1", 2003)
    assert pdf_server.parse_address("http://localhost:2003/") == ("localhost", 2003)
    for bad in ("", "127.0.0.1", "127.0.0.1:0", "127.0.0.1:70000", "a b:1"):
        with pytest.raises(ValueError, match="hôte:port"):
            pdf_server.parse_address(bad)


def test_the_application_reads_pdf_server_from_its_config(monkeypatch):
    from flask import Flask

    monkeypatch.setenv("PDF_SERVER", "127.0.0.1:2003")
    assert pdf.shared_address() == "127.0.0.1:2003"
    app = Flask(__name__)
    app.config["PDF_SERVER"] = ""  # the tests' configuration: none, whatever the environment says
    with app.app_context():
        assert pdf.shared_address() is None
