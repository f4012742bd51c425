"""The « Dossier d'audit » (Qualiopi audit pack): the sessions sampled for a period (selection.py), what the archive
holds and how its files are named (archive.py), each sampled session's chain of evidence (chain.py), the indicators'
files from the quality registers (indicators.py), the index document (index.py) and the page that starts it
(views.py). The builder and its task are quality/audit_pack.py."""
