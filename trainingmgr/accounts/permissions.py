"""The one way to check permissions: ``roles_required`` on the view, an object check in the service.

For HTML pages the principal is the logged-in user; for the JSON API it is the owner of the bearer
token (cookies never authenticate an API call, so the API needs no CSRF token).
"""
from __future__ import annotations

from functools import wraps

from flask import abort, g, request
from flask_login import current_user

from ..extensions import login_manager
from .models import Role, User

API_PREFIX = "/api/"


def is_api_request() -> bool:
    return request.path.startswith(API_PREFIX)


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
