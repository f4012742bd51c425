"""The headers of the API's paged lists: X-Total-Count, and Link to the neighbouring pages (RFC 8288)."""
from __future__ import annotations

from urllib.parse import urlencode

from flask import request

from ..core.paging import Page

PAGE_HEADERS = {
    "X-Total-Count": {"description": "Nombre de lignes de toute la sélection (toutes pages comprises)",
                      "required": True, "schema": {"type": "integer", "minimum": 0}},
    "Link": {"description": 'Pages voisines : <url>; rel="prev", <url>; rel="next" (absent sur une page seule)',
             "schema": {"type": "string"}},
}


def page_headers(listing: Page) -> dict[str, str]:
    """X-Total-Count and Link for ``listing``: the same URL, its other arguments kept, at the page before (the last
    one from past the end) and after (while rows remain)."""
    links = []
    if listing.page > 1:  # past the end, the last page
        links.append((min(listing.page - 1, listing.pages), "prev"))
    if listing.page < listing.pages:
        links.append((listing.page + 1, "next"))
    headers = {"X-Total-Count": str(listing.total)}
    if links:
        headers["Link"] = ", ".join(f'<{_page_url(number)}>; rel="{rel}"' for number, rel in links)
    return headers


def _page_url(number: int) -> str:
    args = [(key, value) for key, value in request.args.items(multi=True) if key != "page"]
    return f"{request.base_url}?{urlencode([*args, ('page', str(number))])}"
