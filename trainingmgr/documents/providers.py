"""Documents that a higher package builds, registered here so that documents never imports that package: billing's
invoice preview (``register_preview``) and funding's facture acquittée (``register_enrolment_document``)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..enrolments.models import Enrolment


@dataclass(frozen=True)
class EnrolmentDocument:
    context: Callable[[Enrolment, str], dict]  # (enrolment, number) -> the document's context
    problem: Callable[[Enrolment], str | None]  # why it cannot be made now (French), or None


_previews: dict[str, Callable[[], dict | None]] = {}
_enrolment_documents: dict[str, EnrolmentDocument] = {}


def register_preview(doc_type: str, provider: Callable[[], dict | None]) -> None:
    """Let ``provider()`` give the context of a template's preview of ``doc_type`` (None: no subject suits yet)."""
    _previews[doc_type] = provider


def preview_provider(doc_type: str) -> Callable[[], dict | None] | None:
    return _previews.get(doc_type)


def register_enrolment_document(doc_type: str, context: Callable[[Enrolment, str], dict],
                                problem: Callable[[Enrolment], str | None]) -> None:
    """Let a higher package make the context of an enrolment's document and say when it cannot be made."""
    _enrolment_documents[doc_type] = EnrolmentDocument(context, problem)


def enrolment_document(doc_type: str) -> EnrolmentDocument:
    """The registered builder of ``doc_type``; LookupError when its package was not imported (create_app does)."""
    try:
        return _enrolment_documents[doc_type]
    except KeyError:
        raise LookupError(f"No builder registered for the document type {doc_type!r}.") from None
