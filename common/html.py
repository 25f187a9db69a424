"""Rich text as the minutes keep it: paragraphs, lists and bold, sanitised with nh3."""

from __future__ import annotations

from html import escape

import nh3

ALLOWED_TAGS = {"p", "br", "ul", "ol", "li", "strong", "b", "em"}


def clean_html(text: str) -> str:
    """Minutes text limited to paragraphs, lists and bold, sanitised with nh3.

    Plain text (no tags) is turned into paragraphs, one per line.
    """
    text = (text or "").strip()
    if not text:
        return ""
    if "<" not in text:
        text = "".join(f"<p>{escape(line.strip())}</p>" for line in text.splitlines() if line.strip())
    cleaned = nh3.clean(text, tags=ALLOWED_TAGS, attributes={}, link_rel=None, strip_comments=True)
    return cleaned.strip()
