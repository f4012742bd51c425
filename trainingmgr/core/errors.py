"""Domain exceptions raised by services and turned into 4xx answers by views and the API.

Every message is French: it is shown to the user as it is.
"""
from __future__ import annotations


class DomainError(Exception):
    """A business rule refused the operation."""

    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, field: str | None = None, fields: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.message = message
        self.fields: dict[str, list[str]] = dict(fields or {})
        if field:
            self.fields.setdefault(field, []).append(message)

    def __str__(self) -> str:  # pragma: no cover - trivial
        return self.message


class ValidationError(DomainError):
    """The input breaks a rule (422)."""

    status_code = 422
    code = "validation_error"


class ConflictError(DomainError):
    """The input conflicts with existing data, e.g. a double-booked trainer (409)."""

    status_code = 409
    code = "conflict"


class NotFoundError(DomainError):
    status_code = 404
    code = "not_found"


class PermissionDenied(DomainError):
    status_code = 403
    code = "forbidden"

    def __init__(self, message: str = "Vous n'avez pas accès à cette ressource.", **kwargs):
        super().__init__(message, **kwargs)


class ErrorCollector:
    """Collects field errors so that a form shows all of them at once."""

    def __init__(self):
        self.fields: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.fields.setdefault(field, []).append(message)

    def run(self, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except ValidationError as exc:
            for field, messages in exc.fields.items():
                self.fields.setdefault(field, []).extend(messages)
            if not exc.fields:
                self.add("__all__", exc.message)
            return None

    def raise_if_any(self) -> None:
        if self.fields:
            raise ValidationError("Certains champs sont invalides.", fields=self.fields)
