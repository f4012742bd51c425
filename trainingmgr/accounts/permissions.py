"""The one way to check permissions: ``roles_required`` on the view, an ``is_…``/``ensure_…`` pair in the service
(here the rules several packages share: ``ensure_staff``, ``ensure_staff_or_system``).

For HTML pages the principal is the logged-in user; for the JSON API it is the owner of the bearer
token (cookies never authenticate an API call, so the API needs no CSRF token).
"""
from __future__ import annotations

from functools import wraps

from flask import abort, g, has_request_context
from flask_login import current_user

from ..core.errors import PermissionDenied
from ..core.responses import is_api_request
from ..extensions import login_manager
from .models import Role, User


def is_staff(actor: User | None) -> bool:
    """An advisor or an admin; no actor is not staff."""
    return actor is not None and actor.is_staff


def ensure_staff(actor: User | None, message: str) -> None:
    """Refuse with ``message`` anyone but an advisor or an admin, and no actor too."""
    if not is_staff(actor):
        raise PermissionDenied(message)


def is_staff_or_system(actor: User | None) -> bool:
    """An advisor, an admin, or the application itself (no actor: the CLI, the worker, a signal's receiver)."""
    return actor is None or actor.is_staff


def ensure_staff_or_system(actor: User | None, message: str) -> None:
    """Refuse with ``message`` a user who is neither advisor nor admin; no actor (the application) may."""
    if not is_staff_or_system(actor):
        raise PermissionDenied(message)


def is_admin(actor: User | None) -> bool:
    """An admin; no actor is not."""
    return actor is not None and actor.has_role(Role.ADMIN)


def principal_context() -> dict:
    """What every page asks of whoever is signed in (base.html's menu, the error page), from the rules above."""
    user = current_principal() if has_request_context() else None  # no user for an e-mail the worker renders
    return {"user_signed_in": user is not None, "user_is_staff": is_staff(user), "user_is_admin": is_admin(user)}


def current_principal() -> User | None:
    if is_api_request():
        return g.get("api_user")
    if current_user.is_authenticated:
        return current_user._get_current_object()
    return None


def roles_required(*roles: Role):
    """Let the view run only for an authenticated principal holding one of ``roles`` (admins hold all)."""

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            user = current_principal()
            if user is None:
                if is_api_request():
                    abort(401)
                return login_manager.unauthorized()
            if not user.has_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        wrapper.required_roles = tuple(roles)  # read by the permission-matrix tests
        return wrapper

    return decorator


staff_required = roles_required(Role.ADVISOR)
admin_required = roles_required(Role.ADMIN)
any_role_required = roles_required(Role.ADVISOR, Role.TRAINER)
