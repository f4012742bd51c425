"""Invoices and credit notes: who pays what, drafts, issue, credit notes, files. See docs/billing-invoices.md."""
