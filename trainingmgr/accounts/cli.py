from __future__ import annotations

import sys

import click
from sqlalchemy import select

from ..core.cli import CommandError, CommandGroup
from ..core.errors import DomainError
from ..core.formatting import count_fr
from ..extensions import db
from . import services
from .models import ApiToken, Role, User

user_cli = CommandGroup("user", help="Comptes utilisateurs.")
token_cli = CommandGroup("token", help="Jetons d'accès à l'API.")


def _fail(exc: DomainError):
    db.session.rollback()
    messages = [exc.message] + [m for msgs in exc.fields.values() for m in msgs if m != exc.message]
    raise CommandError(" ".join(dict.fromkeys(messages)))


@user_cli.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True, help="admin, advisor ou trainer")
@click.option("--name", default="", help="Nom affiché.")
@click.option("--password-stdin", is_flag=True, help="Lire le mot de passe sur l'entrée standard.")
def create_user(email: str, role: str, name: str, password_stdin: bool):
    """Créer un compte (le mot de passe est demandé)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        try:
            password = click.prompt("Mot de passe", hide_input=True, confirmation_prompt="Confirmez le mot de passe")
        except click.Abort:
            if sys.stdin.isatty():
                raise  # Ctrl-C at the prompt
            raise CommandError("Aucun mot de passe lu : lancez la commande dans un terminal, ou donnez le mot de "
                               "passe sur l'entrée standard avec --password-stdin.") from None
    try:
        user = services.create_user(email, password, role, name)
    except DomainError as exc:
        _fail(exc)
    db.session.commit()
    click.echo(f"Compte créé : {user.email} ({user.role_label}).")


@user_cli.command("list")
def list_users():
    """Lister les comptes."""
    for user in db.session.scalars(select(User).order_by(User.email)):
        state = "" if user.active else " (désactivé)"
        click.echo(f"{user.email}\t{user.role}{state}")


@token_cli.command("create")
@click.argument("email")
@click.option("--name", default="", help="À quoi sert ce jeton.")
def create_token(email: str, name: str):
    """Créer un jeton d'API pour EMAIL et l'afficher (une seule fois)."""
    try:
        _, raw = services.create_api_token(email, name)
    except DomainError as exc:
        _fail(exc)
    db.session.commit()
    click.echo(raw)


@token_cli.command("revoke")
@click.argument("prefix")
def revoke_token(prefix: str):
    """Révoquer les jetons qui commencent par PREFIX (10 premiers caractères)."""
    tokens = db.session.scalars(select(ApiToken).where(ApiToken.prefix == prefix[:10])).all()
    if not tokens:
        raise CommandError("Aucun jeton avec ce préfixe.")
    for token in tokens:
        services.revoke_api_token(token)
    db.session.commit()
    click.echo(f"{count_fr(len(tokens), 'jeton révoqué')}.")


def staff_actor(email: str | None, what: str) -> User:
    """The account a command acts as: ``--as EMAIL`` (an active advisor or administrator), or else the first active
    administrator. ``what`` names the work in the refusal (« générer un dossier », « lancer un export »)."""
    if email:
        user = services.get_user_by_email(email)
        if user is None or not user.active:
            raise CommandError(f"Aucun compte actif pour {email}.")
        if not user.is_staff:
            raise CommandError(f"{email} n'est ni conseiller ni administrateur : il ne peut pas {what}.")
        return user
    user = db.session.scalar(select(User).where(User.role == Role.ADMIN.value, User.active.is_(True))
                             .order_by(User.id).limit(1))
    if user is None:
        raise CommandError("Aucun administrateur actif : indiquez le compte avec --as EMAIL.")
    return user
