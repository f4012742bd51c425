"""The audit log: who created, changed or cancelled what, with the before/after values."""
