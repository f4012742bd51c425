"""``flask --app app signing init`` (a self-signed sealing certificate for a trial) and ``flask --app app signing
verify FILE`` (the signatures of a PDF, checked offline)."""
from __future__ import annotations

from pathlib import Path

import click
from flask import current_app

from ..core.cli import CommandError, CommandGroup
from ..core.formatting import datetime_fr

signing_cli = CommandGroup("signing", help="Signature électronique des documents (PAdES).")

MAX_PDF = 50 * 1024 * 1024  # as the stored documents (files/services.py KINDS["document"])


@signing_cli.command("init")
@click.option("--days", type=click.IntRange(1, 3650), default=1095, show_default=True,
              help="Durée de validité du certificat, en jours.")
def init(days: int):
    """Créer un certificat de signature autosigné et sa clé (SIGNING_DIR), pour un essai : il prouve l'intégrité et
    l'organisme signataire à qui lui fait confiance, pas une signature qualifiée."""
    from ..organisation.services import get_organisation
    from . import pades

    name = get_organisation().name or "Organisme de formation"
    directory = Path(current_app.config["SIGNING_DIR"])
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
    """Vérifier hors ligne les signatures d'un PDF : intactes, faites par le certificat de l'organisme, couvrant
    tout le fichier, horodatées ; code de sortie 1 sinon."""
    from ..core.timestamps import TimestampError, configured_roots
    from . import pades

    try:
        with open(file, "rb") as handle:
            pdf = handle.read(MAX_PDF + 1)
    except OSError as exc:
        raise CommandError(f"Fichier {file} illisible : {exc.strerror or exc}.") from None
    if len(pdf) > MAX_PDF:
        raise CommandError(f"Le fichier {file} dépasse {MAX_PDF // (1024 * 1024)} Mo.")
    try:
        roots = pades.trust_certificates(directory=current_app.config["SIGNING_DIR"],
                                         p12_file=current_app.config["SIGNING_P12_FILE"],
                                         p12_passphrase=current_app.config["SIGNING_P12_PASSPHRASE"])
        tsa_roots = configured_roots()
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
    if not report.ok:
        click.echo("Vérification échouée.", err=True)
        raise SystemExit(1)
    click.echo("Toutes les signatures sont intactes et faites par le certificat de l'organisme.")
