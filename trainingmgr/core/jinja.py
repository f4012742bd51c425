"""Template filters and globals shared by every page (the ``organisation`` comes from organisation/views.py)."""
from __future__ import annotations

from flask import Flask

from .formatting import FILTERS
from .identifiers import format_nda, format_siret
from .links import external_url


def init_jinja(app: Flask) -> None:
    app.jinja_env.filters.update(FILTERS)
    app.jinja_env.filters["siret"] = format_siret
    app.jinja_env.filters["nda"] = format_nda
    app.jinja_env.globals["external_url"] = external_url
