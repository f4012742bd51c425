"""Factur-X (EN 16931) for issued invoices. TO BE WRITTEN."""
from __future__ import annotations


def produce_files(invoice, docx: bytes) -> None:
    """At issue: store the CII XML and, when a PDF can be made, the Factur-X PDF on ``invoice``."""
    return None
