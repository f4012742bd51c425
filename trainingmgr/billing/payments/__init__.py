"""Payments, balances, overdue invoices and reminders, the accounting export, payment by transfer.
See docs/payments.md."""
