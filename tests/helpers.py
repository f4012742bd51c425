"""Helpers shared by the tests (fixtures live in conftest.py)."""
from __future__ import annotations

import datetime as dt

# A Monday far enough ahead that no test date is in the past; none of its week is a public holiday.
MONDAY = dt.date(2031, 3, 3)

PASSWORDS = {
    "admin@test.example": "admin-password-1",
    "conseil@test.example": "advisor-password-1",
    "formateur@test.example": "trainer-password-1",
    "formateur2@test.example": "trainer2-password-1",
}


def login(client, email: str) -> None:
    response = client.post("/login", data={"email": email, "password": PASSWORDS[email]})
    assert response.status_code == 302, response.get_data(as_text=True)


def page(response) -> str:
    """The response body with HTML entities decoded (Jinja escapes apostrophes as &#39;)."""
    import html

    return html.unescape(response.get_data(as_text=True))
