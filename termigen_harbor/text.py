"""Text normalised to words, for comparing instructions and seeds (pure)."""

from __future__ import annotations

import re

WORD_RE = re.compile(r"[a-z0-9]+")


def words(text: str) -> list[str]:
    """Lower-case runs of letters and digits; everything else (punctuation, `_`, `-`) separates."""
    return WORD_RE.findall(text.lower())
