"""Quotes (devis): requested by a company contact or written by the advisor, numbered without gaps each year,
sent, then accepted (seats become enrolments, an intra request becomes a session), refused or expired; and the
sales pipeline they make. See docs/quotes.md."""
