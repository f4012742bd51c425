"""The contact's personal link to their quote (/devis/<token>: read, download, accept online, refuse): a revocable
personal link (core/personal_links.py, purpose "quote"), renewed at each sending so that only the last version sent
can be answered, valid QUOTE_LINK_MAX_AGE_DAYS (60) days. No account is needed."""
from __future__ import annotations

from flask import current_app

from ..core import personal_links
from ..core.links import external_url
from .models import Quote

LINK_PURPOSE = "quote"
QUOTE_LINK_MAX_AGE_DAYS = 60


def max_age_days() -> int:
    return int(current_app.config.get("QUOTE_LINK_MAX_AGE_DAYS", QUOTE_LINK_MAX_AGE_DAYS))


def quote_token(quote: Quote) -> str:
    """The token of the quote's current link (a first one is made when there is none: flush and commit after)."""
    return personal_links.token_for(LINK_PURPOSE, quote)


def quote_from_token(token: str) -> Quote:
    """The quote a link opens: 403 tampered with or made for something else, 410 expired or replaced."""
    return personal_links.row_from_token(LINK_PURPOSE, Quote, token, max_age_days())


def renew_link(quote: Quote) -> str:
    """A new link (the earlier ones answer 410 from now on); its token."""
    personal_links.renew(quote)
    return quote_token(quote)


def quote_url(quote: Quote) -> str:
    """The absolute address of the contact's page, /devis/<token>, on PUBLIC_URL."""
    return external_url("quote_public.page", token=quote_token(quote))
