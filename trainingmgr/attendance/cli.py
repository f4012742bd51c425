from __future__ import annotations

from pathlib import Path

import click
from sqlalchemy import select

from ..core import sealkeys
from ..core.cli import DATABASE_ID, CommandError, CommandGroup
from ..core.errors import DomainError
from ..core.formatting import count_fr, datetime_fr
from ..core.timestamps import TimestampError, configured_roots
from ..extensions import db
from ..sessions.models import Slot, TrainingSession
from . import seals
from .chain import verify_chain
from .models import AttendanceChain, AttendanceRecord, AttendanceSeal
from .reports import formats as report_formats
from .reports import services as reports

attendance_cli = CommandGroup("attendance", help="Émargement.")


@attendance_cli.command("verify")
@click.argument("session_id", type=DATABASE_ID, required=False)
def verify(session_id: int | None):
    """Vérifier les registres d'émargement (d'une session, ou de tous) : empreintes, scellements et horodatages ;
    code de sortie 1 au premier registre altéré, avec l'enregistrement ou le scellement en cause."""
    if session_id is not None:
        if db.session.get(TrainingSession, session_id) is None:
            raise CommandError(f"Session {session_id} introuvable.")
        ids = [session_id]
    else:
        ids = sorted(set(db.session.scalars(select(AttendanceRecord.session_id).distinct()))
                     | set(db.session.scalars(select(AttendanceChain.session_id)))
                     | set(db.session.scalars(select(AttendanceSeal.session_id).distinct())))
    try:
        keys = sealkeys.load_keyring()
    except sealkeys.KeyringError as exc:
        raise CommandError(exc.message) from None
    roots = None
    try:
        roots = configured_roots()
    except TimestampError as exc:  # the check goes on; each token then says it could not be checked
        click.echo(f"Attention : {exc.message}", err=True)
    for sid in ids:
        check = verify_chain(sid, keys=keys, roots=roots)
        if not check.ok:
            where = ""
            if check.broken_seq:
                where = f"enregistrement n° {check.broken_seq}" + (f" (id {check.broken_id})" if check.broken_id
                                                                    else "") + " : "
            click.echo(f"Session {sid} : ALTÉRÉE – {where}{check.problem}.", err=True)
            raise SystemExit(1)
        line = f"Session {sid} : intègre ({count_fr(check.length, 'enregistrement')})"
        click.echo(line + (f" ; {check.seal_summary}." if check.seal_summary else "."))
        for warning in check.warnings:
            click.echo(f"  attention : {warning}.")
    if not ids:
        click.echo("Aucune feuille d'émargement à vérifier.")


def _key_problem(exc: Exception) -> str:
    if isinstance(exc, sealkeys.KeyringError):
        return exc.message
    return (f"Le répertoire des clés de scellement ({sealkeys.key_dir()}) n'est pas accessible en écriture : "
            f"{getattr(exc, 'strerror', None) or exc}.")


@attendance_cli.command("keygen")
def keygen():
    """Créer la clé de scellement des registres (Ed25519, dans SEAL_KEY_DIR), si aucune n'est active."""
    try:
        key, created = sealkeys.create_key()
    except (sealkeys.KeyringError, OSError) as exc:
        raise CommandError(_key_problem(exc)) from None
    if created:
        click.echo(f"Clé de scellement créée : {key.id} (dans {sealkeys.key_dir()}).")
        click.echo("Sauvegardez ce répertoire à part de la base : sans lui, les registres restaurés ne se vérifient "
                   "pas.")
    else:
        click.echo(f"Clé de scellement active : {key.id}, en service depuis le {datetime_fr(key.valid_from)}.")
    click.echo(f"Clé publique : {key.text}")


@attendance_cli.command("rotate-key")
def rotate_key():
    """Remplacer la clé de scellement : la nouvelle scelle désormais ; l'ancienne est close à cet instant et sa
    partie privée détruite ; ses scellements restent vérifiables par sa clé publique."""
    try:
        key, closed = sealkeys.rotate_key()
    except (sealkeys.KeyringError, OSError) as exc:
        raise CommandError(_key_problem(exc)) from None
    for old in closed:
        click.echo(f"Clé {old.id} close ; sa clé privée est détruite, sa clé publique reste dans le trousseau.")
    click.echo(f"Nouvelle clé de scellement : {key.id}.")
    click.echo(f"Clé publique : {key.text}")


@attendance_cli.command("keys")
def keys():
    """Lister les clés de scellement (publiques) avec leur période de validité."""
    try:
        ring = sealkeys.load_keyring()
        active = sealkeys.active_key()
    except sealkeys.KeyringError as exc:
        raise CommandError(exc.message) from None
    if not ring:
        click.echo(f"Aucune clé de scellement dans {sealkeys.key_dir()} : « flask attendance keygen » la crée.")
    for key in ring:
        until = f"au {datetime_fr(key.valid_until)}" if key.valid_until else "à ce jour"
        state = " (active)" if active is not None and key.id == active.id else ""
        click.echo(f"{key.id}{state} : du {datetime_fr(key.valid_from)} {until} ; clé publique {key.text}")


@attendance_cli.command("seal")
def seal():
    """Sceller la tête de chaque registre qui a des enregistrements non scellés (registres tenus avant les
    scellements, ou quand la clé manquait) : ces scellements de rattrapage disent leur date."""
    try:
        if sealkeys.active_key() is None:
            raise CommandError(f"Aucune clé de scellement dans {sealkeys.key_dir()} : créez-la avec "
                               "« flask attendance keygen ».")
    except sealkeys.KeyringError as exc:
        raise CommandError(exc.message) from None
    done = seals.seal_unsealed()
    db.session.commit()
    for session_id, row in done:
        if row is None:
            click.echo(f"Session {session_id} : NON SCELLÉE, son registre ne se vérifie pas (flask attendance "
                       f"verify {session_id}).", err=True)
        else:
            click.echo(f"Session {session_id} : scellée jusqu'à l'enregistrement n° {row.length}.")
    if not done:
        click.echo("Rien à sceller : chaque registre l'est déjà.")
    if any(row is None for _, row in done):
        raise SystemExit(1)


@attendance_cli.command("import-report")
@click.argument("slot_id", type=DATABASE_ID)
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--mapping", "columns", multiple=True, metavar="COLONNE=RÔLE",
              help="Pour un CSV d'un autre outil que Teams, Zoom ou Google Meet : une colonne et ce qu'elle contient "
                   "(email, name, join, leave, duration), à répéter : --mapping Adresse=email --mapping Connexion=join.")
def import_report(slot_id: int, path: str, columns: tuple[str, ...]):
    """Importer le rapport de connexion (CSV) d'une demi-journée en classe virtuelle : chaque stagiaire retrouvé par
    son adresse e-mail reçoit ses minutes de connexion au registre d'émargement."""
    slot = db.session.get(Slot, slot_id)
    if slot is None:
        raise CommandError(f"Créneau {slot_id} introuvable.")
    mapping = None
    if columns:
        pairs = [column.rpartition("=") for column in columns]
        if any(not name.strip() or not sep for name, sep, _ in pairs):
            raise CommandError("--mapping attend COLONNE=RÔLE, par exemple --mapping Adresse=email.")
        mapping = {name.strip(): role.strip() for name, _, role in pairs}
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise CommandError(f"Fichier illisible : {path} ({exc.strerror or exc}).") from None
    try:
        report = reports.import_report(slot, data, Path(path).name, None, mapping=mapping)
    except report_formats.NeedsMapping as exc:
        raise CommandError(f"{exc.message} Colonnes du fichier : {', '.join(exc.columns) or 'aucune'} "
                           "(option --mapping).") from None
    except DomainError as exc:
        raise CommandError(exc.message) from None
    db.session.commit()
    found = sum(line.in_report for line in reports.report_result(report))
    click.echo(f"Rapport n° {report.id} importé ({report_formats.SOURCES[report.source]}) : "
               f"{count_fr(found, 'stagiaire')} dans le rapport, {count_fr(len(report.unmatched), 'ligne')} sans "
               "stagiaire correspondant.")
