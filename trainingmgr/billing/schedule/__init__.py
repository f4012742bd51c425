"""The payment schedule of a contrat de formation (L6353-5, L6353-6). See docs/payments.md."""
