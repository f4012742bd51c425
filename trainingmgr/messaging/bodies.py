"""The HTML part of the e-mails the packages queue: their plain text, paragraph by paragraph, in the mail layout."""
from __future__ import annotations

from flask import render_template
from markupsafe import Markup, escape


def html_body(text: str) -> str:
    """The HTML part: the text's paragraphs, links made clickable."""
    paragraphs = []
    for block in text.strip().split("\n\n"):
        lines = []
        for line in block.splitlines():
            words = [Markup(f'<a href="{escape(w)}">{escape(w)}</a>') if w.startswith(("http://", "https://"))
                     else escape(w) for w in line.split(" ")]
            lines.append(Markup(" ").join(words))
        paragraphs.append(Markup("<br>").join(lines))
    return render_template("mail/base.html", paragraphs=paragraphs)
