"""``flask pdf …``: the PDF converter shared by every process of the application (documents/conversion/pdf_server.py)."""
from __future__ import annotations

import signal
import time

import click

from ...core.cli import CommandError, CommandGroup
from . import pdf
from .pdf_server import DEFAULT_ADDRESS, RETRY_AFTER, SharedConverter, parse_address, remote_info, wait_ready

pdf_cli = CommandGroup("pdf", help="Conversion des documents en PDF.")


def _address(given: str | None) -> str:
    address = given or pdf.shared_address() or DEFAULT_ADDRESS
    try:
        parse_address(address)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    return address


def _seconds(value: float) -> str:
    return f"{value:.1f}".replace(".", ",")


@pdf_cli.command("serve")
@click.option("--address", default=None, metavar="HÔTE:PORT",
              help=f"Adresse d'écoute (défaut : PDF_SERVER, sinon {DEFAULT_ADDRESS}).")
def serve(address):
    """Convertisseur PDF partagé : un seul LibreOffice, chaud, pour tous les processus qui ont PDF_SERVER.

    Il démarre LibreOffice, le relance s'il s'arrête, et tourne jusqu'à SIGTERM ou Ctrl-C."""
    address = _address(address)
    reason = pdf.unavailable_reason()
    if reason is not None:
        click.echo(f"Pas de convertisseur PDF partagé : {reason}")
        return
    existing = remote_info(address)
    if existing is not None:
        click.echo(f"Un convertisseur PDF partagé tourne déjà sur {address} (processus {existing['pid']}) : "
                   "il sert aussi ces processus.")
        return
    try:
        converter = SharedConverter(address)
    except OSError as exc:
        raise CommandError(f"Le port de {address} est pris ou interdit ({exc.strerror or exc}) : choisissez-en un "
                           "autre avec PDF_SERVER=127.0.0.1:<port>.") from None

    def stop(signum, frame):
        converter.stopping.set()

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, stop)
    try:
        started = time.monotonic()
        if converter.start():
            info = converter.info()
            click.echo(f"Convertisseur PDF partagé prêt sur {address} en {_seconds(time.monotonic() - started)} s "
                       f"(LibreOffice : processus {info['office_pid']}).")
        else:
            click.echo(f"LibreOffice n'a pas démarré ({pdf.status()['persistent_failure']}) : un LibreOffice par "
                       f"document en attendant, nouvel essai toutes les {RETRY_AFTER} s.", err=True)
        converter.supervise()
    finally:
        converter.stop()
    click.echo("Convertisseur PDF partagé arrêté.")


@pdf_cli.command("wait")
@click.option("--timeout", type=click.FloatRange(0, 3600), default=60, show_default=True,
              help="Secondes d'attente au plus.")
@click.option("--pid", type=click.IntRange(1), default=None,
              help="Processus du convertisseur qui démarre : inutile d'attendre s'il s'est arrêté.")
def wait(timeout, pid):
    """Attendre que le convertisseur PDF partagé (PDF_SERVER) réponde, prêt à convertir."""
    address = _address(None)
    info = wait_ready(address, timeout, pid)
    if info is not None:
        click.echo(f"Convertisseur PDF partagé prêt sur {address} (processus {info['pid']}).")
        return
    message = (f"Pas de convertisseur PDF partagé sur {address} : chaque processus lancera son propre LibreOffice "
               "au premier PDF.")
    if pid is not None:  # the converter stopped and said why: the servers start without it
        click.echo(message)
        return
    raise CommandError(message)
