"""User text written into Markdown that the project writes (the report, a class's README)."""

from __future__ import annotations

import re

# Every ASCII punctuation mark may be escaped in Markdown; these could start markup, a link,
# HTML or math in user text (`<script>`, `[x](javascript:…)`, `$…$`).
_MARKUP = re.compile(r"([\\`*_{}\[\]<>()#+\-.!|$~&])")


def markdown_text(text: str) -> str:
    """User text as Markdown that shows it exactly."""
    return _MARKUP.sub(r"\\\1", text)


__all__ = ["markdown_text"]
