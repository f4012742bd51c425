"""Helpers of the transfer tests (test_transfer_qr, test_schedule): the test organisation's bank details and a QR
code read back as a phone would read it."""
from __future__ import annotations

import io

IBAN = "FR7630006000011234567890189"
IBAN_GROUPED = "FR76 3000 6000 0112 3456 7890 189"
BIC = "AGRIFRPP"


def decode(png: bytes) -> list[str]:
    """The lines of the QR code in ``png`` (zxing-cpp)."""
    import zxingcpp
    from PIL import Image

    [code] = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    return code.text.split("\n")


def epc(number: str, amount: str, bic: str = BIC, iban: str = IBAN) -> list[str]:
    """The EPC069-12 payload (version 002, SEPA credit transfer, ISO 8859-1) of a transfer to the test
    organisation: beneficiary, IBAN, amount in euros, the invoice number as unstructured remittance text."""
    return ["BCD", "002", "2", "SCT", bic, "Formaction Sud-Ouest", iban, f"EUR{amount}", "", "", number]
