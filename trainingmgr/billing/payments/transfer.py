"""Payment by SEPA credit transfer: the EPC QR code (European Payments Council, EPC069-12 version 002) of an invoice,
made with segno, that a phone banking app reads to fill in the beneficiary, the IBAN, the amount and the reference.

- An invoice is payable by transfer when it is an issued invoice (not a credit note) for an amount above 0 and the
  organisation has an IBAN (Administration → Organisme; checked with schwifty, core/bank.py).
- The bank details are those frozen with the invoice at issue (``Invoice.seller``), else, for an invoice issued
  before an IBAN was set, the organisation's current ones (*decision*).
- The code carries: the beneficiary (the organisation's name, cut to the standard's 70 characters), its IBAN and
  BIC, the amount in euros, and the invoice number as unstructured remittance information.
- The standard allows an amount from 0,01 € to 999 999 999,99 €, in euros only, and a text of 140 characters at
  most: an invoice outside those limits gets no code (``TransferRefused``, a French reason).
"""
from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from decimal import Decimal

import segno.helpers

from ...core.bank import format_iban
from ...core.errors import ConflictError
from ...core.formatting import money_fr
from ...documents.rendering.context import Picture
from ...organisation.services import get_organisation
from ..models import Invoice, InvoiceKind

EPC_MIN_AMOUNT = Decimal("0.01")
EPC_MAX_AMOUNT = Decimal("999999999.99")
EPC_MAX_NAME = 70
EPC_MAX_TEXT = 140
QR_WIDTH_MM = 32  # printed size: scanned from paper or a screen


class TransferRefused(ConflictError):
    """The invoice is not payable by transfer, or the EPC standard does not allow its code."""


@dataclass(frozen=True)
class Transfer:
    """What a transfer paying an invoice says: to whom (name, IBAN, BIC), how much and with which reference."""

    name: str
    iban: str  # compact
    bic: str
    amount: Decimal
    reference: str

    @property
    def iban_formatted(self) -> str:
        return format_iban(self.iban)

    @property
    def amount_label(self) -> str:
        return money_fr(self.amount)

    def qr(self):
        return segno.helpers.make_epc_qr(name=self.name, iban=self.iban, amount=self.amount, text=self.reference,
                                         bic=self.bic or None)

    def png(self, scale: int = 6) -> bytes:
        buffer = io.BytesIO()
        self.qr().save(buffer, kind="png", scale=scale, border=4)
        return buffer.getvalue()


def bank_details(invoice: Invoice) -> tuple[str, str]:
    """(IBAN, BIC) that pay ``invoice``: frozen with it at issue, else the organisation's current ones."""
    seller = invoice.seller or {}
    if seller.get("iban"):
        return seller["iban"], seller.get("bic", "")
    org = get_organisation()
    return org.iban or "", org.bic or ""


def transfer_for(invoice: Invoice, amount: Decimal | None = None) -> Transfer:
    """The transfer that pays ``invoice`` (``amount``: what remains due, the invoice's total by default), or
    ``TransferRefused`` saying why it is not payable by transfer."""
    if invoice.kind != InvoiceKind.INVOICE.value:
        raise TransferRefused("Un avoir ne se paie pas : pas de QR code de virement.")
    if not invoice.is_issued or not invoice.number:
        raise TransferRefused("Le QR code de virement est produit à l'émission de la facture (il porte son numéro).")
    amount = invoice.total_incl_vat if amount is None else amount
    if amount <= 0:
        raise TransferRefused("Rien n'est dû sur cette facture : pas de QR code de virement.")
    if amount < EPC_MIN_AMOUNT or amount > EPC_MAX_AMOUNT or amount != amount.quantize(EPC_MIN_AMOUNT):
        raise TransferRefused(f"Le QR code de virement SEPA (norme EPC) porte un montant en euros de 0,01 € à "
                              f"999 999 999,99 € : {money_fr(amount)} n'y entre pas.")
    iban, bic = bank_details(invoice)
    if not iban:
        raise TransferRefused("Aucun IBAN n'est enregistré pour l'organisme (Administration → Organisme) : la "
                              "facture ne porte ni coordonnées bancaires ni QR code de virement.")
    reference = invoice.number
    if len(reference) > EPC_MAX_TEXT:
        raise TransferRefused(f"La référence du virement compte {EPC_MAX_TEXT} caractères au plus (norme EPC).")
    name = ((invoice.seller or {}).get("name") or get_organisation().name or "").strip()[:EPC_MAX_NAME].strip()
    if not name:
        raise TransferRefused("Le nom de l'organisme (bénéficiaire du virement) manque : Administration → Organisme.")
    return Transfer(name=name, iban=iban, bic=bic, amount=amount, reference=reference)


def transfer_or_none(invoice: Invoice, amount: Decimal | None = None) -> tuple[Transfer | None, str]:
    """(the transfer, "") when ``invoice`` is payable by transfer, else (None, why not)."""
    try:
        return transfer_for(invoice, amount), ""
    except TransferRefused as exc:
        return None, exc.message


def qr_attachment(invoice: Invoice, amount: Decimal | None = None) -> tuple[str, str, bytes] | None:
    """The EPC QR code as an e-mail attachment (file name, type, PNG), or None when not payable by transfer."""
    transfer, _ = transfer_or_none(invoice, amount)
    if transfer is None:
        return None
    return f"virement-{invoice.number}.png", "image/png", transfer.png()


def document_part(invoice: Invoice) -> dict:
    """The invoice document's ``transfer`` variables: bank details as text and the QR code as a picture; every value
    empty when the invoice is not payable by transfer (a credit note, nothing due, no IBAN)."""
    transfer, _ = transfer_or_none(invoice)
    if transfer is None:
        return {"iban": "", "bic": "", "holder": "", "reference": "", "amount": "", "qr": ""}
    return {"iban": transfer.iban_formatted, "bic": transfer.bic, "holder": transfer.name,
            "reference": transfer.reference, "amount": transfer.amount_label,
            "qr": Picture(transfer.png(scale=5), QR_WIDTH_MM)}


def page_panel(invoice: Invoice, balance: Decimal | None = None) -> dict:
    """The invoice page's transfer panel: ``transfer`` (or None), its QR code as a data URI for the ``img`` tag, and
    ``transfer_note``, why there is no code (no IBAN in the settings, a credit note, nothing left to pay…)."""
    if invoice.kind == InvoiceKind.INVOICE.value and invoice.is_issued and balance is not None and balance <= 0:
        return {"transfer": None, "transfer_qr": "", "transfer_note": "Facture soldée : plus rien à payer par virement."}
    transfer, note = transfer_or_none(invoice, balance if balance is not None and balance > 0 else None)
    if transfer is None:
        return {"transfer": None, "transfer_qr": "", "transfer_note": note}
    data = base64.b64encode(transfer.png(scale=5)).decode("ascii")
    return {"transfer": transfer, "transfer_qr": f"data:image/png;base64,{data}", "transfer_note": ""}
