"""Billing: invoices and credit notes, Factur-X, payments, accounting export, the yearly BPF."""
