"""Outlets as questions and answers name them: which stored outlets a text names, and by what name."""

from __future__ import annotations

import re
from collections.abc import Sequence

_OUTLET_NOTE = re.compile(r"\s*\([^)]*\)\s*$|^the\s+", re.IGNORECASE)  # "Levant Ledger (sample)", "The Times"
_SETTING_ASIDE = r"\b(?:besides|other than|apart from|except(?: for)?|unlike|not|beyond)\s+(?:the\s+)?"


def names(text: str, name: str) -> bool:
    """The text names it, in any case ("Arab News" in "… arab news reported …")."""
    return re.search(rf"(?<!\w){re.escape(name)}(?!\w)", text, re.IGNORECASE) is not None


def outlet_name(outlet: str) -> str:
    """The name an outlet goes by in text: "Levant Ledger (sample)" → "Levant Ledger", "The Times" → "Times"."""
    return _OUTLET_NOTE.sub("", outlet.strip()).strip()


def asked_outlets(question: str, outlets: Sequence[str]) -> list[str]:
    """The outlets named whose reporting the question asks about: not one it sets aside ("which outlets besides
    the Levant Ledger reported it?")."""
    return [o for o in named_outlets(question, outlets)
            if not re.search(rf"{_SETTING_ASIDE}{re.escape(outlet_name(o))}", question, re.IGNORECASE)]


def named_outlets(question: str, outlets: Sequence[str]) -> list[str]:
    """The stored outlets the question names ("what did the levant ledger say"), as stored; a name in
    parentheses after an outlet and a leading "The" are not needed to name it. A one-word name must be written
    as stored: "times" in "how many times" does not name The Times."""
    named = []
    for outlet in outlets:
        name = outlet_name(outlet)
        flags = re.IGNORECASE if " " in name else 0
        if len(name) > 2 and re.search(rf"(?<!\w){re.escape(name)}(?!\w)", question, flags):
            named.append(outlet)
    return named
