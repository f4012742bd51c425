"""``flask --app app signing init`` (a self-signed sealing certificate for a trial) and ``flask --app app signing
verify FILE`` (the signatures of a PDF, checked offline, and its place in the archive when the database answers)."""
from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from sqlalchemy.exc import DBAPIError

from ..core.cli import CommandError, CommandGroup, database_problem
from ..core.formatting import datetime_fr
from ..core.timestamps import TimestampError
from ..extensions import db
from ..organisation.services import get_organisation
from . import archive

signing_cli = CommandGroup("signing", help="Signature électronique des documents (PAdES).")

MAX_PDF = 50 * 1024 * 1024  # as the stored documents (files/services.py KINDS["document"])


@signing_cli.command("init")
@click.option("--days", type=click.IntRange(1, 3650), default=1095, show_default=True,
              help="Durée de validité du certificat, en jours.")
@click.option("--if-missing", is_flag=True,
              help="Ne rien faire (code de sortie 0) quand le certificat existe déjà, comme le fait `make run`.")
def init(days: int, if_missing: bool):
    """Créer un certificat de signature autosigné et sa clé (SIGNING_DIR), pour un essai : il prouve l'intégrité et
    l'organisme signataire à qui lui fait confiance, pas une signature qualifiée."""
    from . import pades  # pyHanko loads at the first signature, not at start-up

    name = get_organisation().name or "Organisme de formation"
    directory = Path(current_app.config["SIGNING_DIR"])
    if if_missing and all((directory / file).is_file() for file in (pades.KEY_FILE, pades.CERT_FILE)):
        click.echo(f"Le certificat de signature existe déjà dans {directory} : il est conservé.")
        return
    try:
        made = pades.init_certificate(directory, name, days=days)
    except pades.SigningError as exc:
        raise CommandError(exc.message) from None
    click.echo(f"Certificat de signature créé dans {directory} : {made.subject}, valable jusqu'au "
               f"{datetime_fr(made.not_after)}.")
    click.echo(f"Empreinte SHA-256 : {made.sha256_fingerprint}")
    click.echo("Sauvegardez ce répertoire à part de la base, comme les clés de scellement.")


@signing_cli.command("verify")
@click.argument("file", type=click.Path(dir_okay=False))
def verify(file: str):
    """Vérifier hors ligne les signatures d'un PDF (intactes, faites par le certificat de l'organisme, couvrant tout
    le fichier, horodatées), puis dire s'il est l'une des révisions conservées dans les archives.

    Code de sortie 1 quand une signature ne l'est pas ou qu'il n'y en a aucune ; 0 sinon, que le fichier soit ou non
    dans les archives (décision : signé par le certificat de l'organisme, il est authentique même venu d'ailleurs,
    une copie de sauvegarde par exemple ; la ligne des archives informe). Sans base de données utilisable, une ligne
    le dit et seules les signatures comptent."""
    from . import pades  # pyHanko loads at the first signature, not at start-up

    pdf = _read_pdf(file)
    try:
        roots, tsa_roots = archive.verification_roots()
    except (pades.SigningError, TimestampError) as exc:
        raise CommandError(exc.message) from None
    report = pades.verify(pdf, trust_roots=roots, tsa_roots=tsa_roots)
    click.echo(f"{file} (SHA-256 {report.sha256})")
    for number, signature in enumerate(report.signatures, start=1):
        when = f" le {datetime_fr(signature.signed_at)}" if signature.signed_at else ""
        stamp = f", horodatée le {datetime_fr(signature.timestamp)}" if signature.timestamp else ""
        state = "valide" if not signature.problem else f"NON VALIDE : {signature.problem}"
        click.echo(f"  signature {number} ({signature.field_name}) par {signature.signer}{when}{stamp}, couvre "
                   f"{signature.covers} : {state}")
    for problem in report.problems:
        click.echo(f"  {problem}", err=True)
    _echo_archive(report.sha256)
    if not report.ok:
        click.echo("Vérification échouée.", err=True)
        raise SystemExit(1)
    click.echo("Toutes les signatures sont intactes et faites par le certificat de l'organisme.")


def _read_pdf(file: str) -> bytes:
    try:
        with open(file, "rb") as handle:
            pdf = handle.read(MAX_PDF + 1)
    except OSError as exc:
        raise CommandError(f"Fichier {file} illisible : {exc.strerror or exc}.") from None
    if len(pdf) > MAX_PDF:
        raise CommandError(f"Le fichier {file} dépasse {MAX_PDF // (1024 * 1024)} Mo.")
    return pdf


def _echo_archive(sha256: str) -> None:
    """Where the file is in the archive; when the database cannot be used, one line saying so instead (the
    signatures were checked without it)."""
    try:
        lines = archive.describe(archive.find_archived(sha256))
    except DBAPIError as exc:
        problem = database_problem(exc)
        if problem is None:
            raise
        db.session.rollback()
        click.echo(f"Archives non consultées : {problem}", err=True)
        return
    for line in lines:
        click.echo(line)
