"""Accounts: users, passwords, reset links and API tokens."""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from email_validator import EmailNotValidError, validate_email
from flask import current_app, render_template
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from ..core.errors import ConflictError, NotFoundError, ValidationError
from ..core.timeutil import utcnow
from ..extensions import db
from .models import ApiToken, PasswordResetToken, Role, User

MIN_PASSWORD_LENGTH = 10
RESET_TOKEN_LIFETIME = dt.timedelta(hours=1)
# Hash checked when the e-mail is unknown, so that timing does not reveal which accounts exist.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


def hash_password(password: str) -> str:
    """werkzeug's default hash; tests may name a cheaper method in PASSWORD_HASH_METHOD."""
    method = current_app.config.get("PASSWORD_HASH_METHOD")
    return generate_password_hash(password, method=method) if method else generate_password_hash(password)


def _sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def normalise_email(email: str, field: str = "email") -> str:
    email = (email or "").strip()
    if not email:
        raise ValidationError("L'adresse e-mail est obligatoire.", field=field)
    try:
        return validate_email(email, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        raise ValidationError("Cette adresse e-mail n'est pas valide.", field=field) from None


def check_password_strength(password: str, field: str = "password") -> None:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise ValidationError(
            f"Le mot de passe doit comporter au moins {MIN_PASSWORD_LENGTH} caractères.", field=field
        )


def parse_role(role: str, field: str = "role") -> Role:
    try:
        return Role(role)
    except ValueError:
        raise ValidationError(
            "Rôle inconnu : choisissez admin, advisor ou trainer.", field=field
        ) from None


def get_user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


def create_user(email: str, password: str, role: str, name: str = "") -> User:
    email = normalise_email(email)
    role_value = parse_role(role).value
    check_password_strength(password)
    if get_user_by_email(email):
        raise ConflictError("Un compte existe déjà avec cette adresse e-mail.", field="email")
    user = User(email=email, name=(name or "").strip(), role=role_value, password_hash=hash_password(password))
    db.session.add(user)
    db.session.flush()
    return user


def update_user(user: User, *, name: str, role: str, active: bool, actor: User) -> User:
    role_value = parse_role(role).value
    if user.id == actor.id and (role_value != user.role or not active):
        raise ValidationError("Vous ne pouvez pas retirer vos propres droits ni désactiver votre compte.", field="role")
    user.name = (name or "").strip()
    user.role = role_value
    user.active = active
    return user


def set_password(user: User, password: str) -> None:
    check_password_strength(password)
    user.password_hash = hash_password(password)


def authenticate(email: str, password: str) -> User | None:
    user = get_user_by_email(email or "")
    if user is None:
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    if not check_password_hash(user.password_hash, password or "") or not user.active:
        return None
    user.last_login_at = utcnow()
    return user


def create_password_reset(email: str) -> str | None:
    """Create a reset link token for an active account; ``None`` when there is none (say nothing)."""
    user = get_user_by_email(email or "")
    if user is None or not user.active:
        return None
    token = secrets.token_urlsafe(32)
    db.session.add(
        PasswordResetToken(user=user, token_hash=_sha256(token), expires_at=utcnow() + RESET_TOKEN_LIFETIME)
    )
    return token


def _usable_reset(token: str) -> PasswordResetToken:
    row = db.session.scalar(select(PasswordResetToken).where(PasswordResetToken.token_hash == _sha256(token or "")))
    if row is None or row.used_at is not None or row.expires_at <= utcnow() or not row.user.active:
        raise ValidationError("Ce lien de réinitialisation est invalide, expiré ou déjà utilisé.")
    return row


def check_password_reset(token: str) -> User:
    return _usable_reset(token).user


def reset_password(token: str, password: str) -> User:
    row = _usable_reset(token)
    set_password(row.user, password)
    now = utcnow()
    row.used_at = now
    # One link at a time: the others sent before it die with it.
    for other in db.session.scalars(
        select(PasswordResetToken).where(PasswordResetToken.user_id == row.user_id, PasswordResetToken.used_at.is_(None))
    ):
        other.used_at = now
    return row.user


def create_api_token(email: str, name: str = "") -> tuple[ApiToken, str]:
    user = get_user_by_email(email)
    if user is None:
        raise NotFoundError(f"Aucun compte pour {email}.")
    raw = "tm_" + secrets.token_urlsafe(32)
    token = ApiToken(user=user, name=name or "", prefix=raw[:10], token_hash=_sha256(raw))
    db.session.add(token)
    db.session.flush()
    return token, raw


def revoke_api_token(token: ApiToken) -> None:
    token.revoked_at = token.revoked_at or utcnow()


def user_for_api_token(raw: str) -> User | None:
    if not raw:
        return None
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == _sha256(raw)))
    if token is None or token.revoked_at is not None or not token.user.active:
        return None
    now = utcnow()
    # Write at most once a minute, so reads do not each become writes.
    if token.last_used_at is None or now - token.last_used_at > dt.timedelta(minutes=1):
        token.last_used_at = now
        db.session.commit()
    return token.user


def send_reset_link(email: str, url: str) -> None:
    """The reset link leaves by e-mail, through the outbox."""
    from ..messaging.services import queue_email

    text = render_template("mail/password_reset.txt", url=url, minutes=int(RESET_TOKEN_LIFETIME.total_seconds() // 60))
    queue_email(email, "Réinitialisation de votre mot de passe", text, topic="password_reset")
