"""What a funder other than an OPCO asks for and that needs the invoices: the facture acquittée (receipt.py), the
refund pack of a fund of the self-employed (packs.py), the funding packs made as tasks (tasks.py) and their buttons
(views.py). It sits above documents and billing: documents never imports it, it registers with documents/providers.py."""
