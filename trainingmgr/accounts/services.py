"""Accounts: users, passwords, reset links and API tokens."""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from email_validator import EmailNotValidError, validate_email
from flask import current_app, render_template
from sqlalchemy import delete, func, or_, select
from werkzeug.security import check_password_hash, generate_password_hash

from ..core.errors import ConflictError, NotFoundError, ValidationError
from ..core.timeutil import utcnow
from ..extensions import db
from .models import ApiToken, LoginSession, PasswordResetToken, Role, User

MIN_PASSWORD_LENGTH = 10
RESET_TOKEN_LIFETIME = dt.timedelta(hours=1)
# Ended or expired login sessions are deleted this long after, at the user's next login.
LOGIN_SESSION_KEPT = dt.timedelta(days=30)
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
    if user.active and not active:
        end_login_sessions(user)  # a deactivated account is logged out everywhere at once
    user.name = (name or "").strip()
    user.role = role_value
    user.active = active
    return user


def set_password(user: User, password: str) -> None:
    """A new password ends every login session of the user (a stolen cookie dies with the old password)."""
    check_password_strength(password)
    user.password_hash = hash_password(password)
    end_login_sessions(user)


def password_matches(user: User, password: str) -> bool:
    """Whether ``password`` is ``user``'s (asked again of a logged-in user, e.g. to leave a kiosk)."""
    return user.active and check_password_hash(user.password_hash, password or "")


def change_password(user: User, current: str, new: str) -> None:
    """The user changes their own password: the current one is asked first. Every login session ends, this one
    too; the view opens a new one for the browser that made the change."""
    if not check_password_hash(user.password_hash, current or ""):
        raise ValidationError("Mot de passe actuel incorrect.", field="current")
    if current == new:
        raise ValidationError("Choisissez un mot de passe différent de l'actuel.", field="password")
    set_password(user, new)


# --------------------------------------------------------------------------- login sessions


def start_login_session(user: User, *, user_agent: str = "", ip: str = "") -> LoginSession:
    """A new login session for ``user``; its raw token is set on ``user.login_token`` for Flask-Login (its id in
    the session and remember-me cookies) and is never stored."""
    now = utcnow()
    # The user's sessions ended or expired a while ago go (browser and address are personal data).
    db.session.execute(delete(LoginSession).where(
        LoginSession.user_id == user.id,
        or_(LoginSession.ended_at < now - LOGIN_SESSION_KEPT, LoginSession.created_at < now - login_session_lifetime()
            - LOGIN_SESSION_KEPT)))
    token = secrets.token_urlsafe(32)
    row = LoginSession(user=user, token_hash=_sha256(token), user_agent=(user_agent or "")[:200], ip=(ip or "")[:45])
    db.session.add(row)
    db.session.flush()
    user.login_token = token
    return row


def login_session_lifetime() -> dt.timedelta:
    """A login session ends by itself after REMEMBER_COOKIE_DURATION (the remember-me cookie's life)."""
    return current_app.config["REMEMBER_COOKIE_DURATION"]


def _split_login_id(login_id: str) -> tuple[int, str] | None:
    user_id, _, token = (login_id or "").partition(":")
    if not user_id.isdigit() or not token or len(user_id) > 12:
        return None
    return int(user_id), token


def login_session_for(login_id: str) -> LoginSession | None:
    """The live login session named by a cookie's id ("<user id>:<token>"), its user active; else ``None``."""
    parts = _split_login_id(login_id)
    if parts is None:
        return None
    user_id, token = parts
    row = db.session.scalar(select(LoginSession).where(LoginSession.token_hash == _sha256(token)))
    if row is None or row.user_id != user_id or row.ended_at is not None or not row.user.active:
        return None
    if row.created_at <= utcnow() - login_session_lifetime():  # as long as the remember-me cookie, no longer
        return None
    row.user.login_token = token
    return row


def end_login_session(login_id: str) -> None:
    """Logging out ends this browser's login session: a copy of its cookies no longer opens anything."""
    row = login_session_for(login_id)
    if row is not None:
        row.ended_at = utcnow()


def end_login_sessions(user: User) -> int:
    """End every login session of ``user`` (log out everywhere); returns how many were live."""
    now = utcnow()
    rows = db.session.scalars(select(LoginSession).where(LoginSession.user_id == user.id,
                                                         LoginSession.ended_at.is_(None))).all()
    for row in rows:
        row.ended_at = now
    return len(rows)


def live_login_sessions(user: User) -> list[LoginSession]:
    return list(db.session.scalars(select(LoginSession).where(
        LoginSession.user_id == user.id, LoginSession.ended_at.is_(None)).order_by(LoginSession.created_at.desc())))


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
