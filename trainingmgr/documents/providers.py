"""Documents that a higher package builds, registered here so that documents never imports that package: billing's
invoice preview (``register_preview``), funding's facture acquittée (``register_enrolment_document``) and the files a
funding pack takes as they are instead of generating them (``register_pack_files``: an accepted quote's own file)."""
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


_pack_files: dict[str, Callable[[Enrolment], list[tuple[str, bytes]] | None]] = {}


def register_pack_files(doc_type: str, provider: Callable[[Enrolment], list[tuple[str, bytes]] | None]) -> None:
    """Let ``provider(enrolment)`` give the files [(name, content)] that an enrolment's funding pack holds in place
    of a generated ``doc_type``, or None to generate it as usual."""
    _pack_files[doc_type] = provider


def pack_files(doc_type: str, enrolment: Enrolment) -> list[tuple[str, bytes]] | None:
    """The files registered for ``doc_type`` in ``enrolment``'s funding pack, or None (generate it)."""
    provider = _pack_files.get(doc_type)
    return provider(enrolment) if provider is not None else None
