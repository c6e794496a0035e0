"""Qualifiers of numbers: "about 150" and "more than 150" are different claims, and a dropped "about" goes back."""

from __future__ import annotations

import re

_QUALIFIER_KINDS = {
    "approximately": ("about", "around", "roughly", "approximately", "some", "an estimated", "estimated"),
    "at most": ("up to", "as many as", "as much as", "at most", "no more than"),
    "just below": ("nearly", "almost", "close to", "just under", "fewer than", "less than"),
    "at least": ("at least", "more than", "over", "upwards of", "in excess of"),
}
_KIND_OF = {q: kind for kind, words in _QUALIFIER_KINDS.items() for q in words}
_QUALIFIED_NUMBER = re.compile(
    r"(?:\b(?P<qualifier>" + "|".join(sorted(map(re.escape, _KIND_OF), key=len, reverse=True)) + r")\s+)?"
    r"(?P<number>\$?\d[\d,]*(?:\.\d+)?)(?![\d,]*\d)",
    re.IGNORECASE,
)
_YEAR = re.compile(r"(?:1[89]|20)\d\d")


def _qualified_numbers(text: str) -> list[tuple[str | None, str, re.Match]]:
    """(qualifier kind or None, number without commas or $, match) for each number that is not a year."""
    out = []
    for match in _QUALIFIED_NUMBER.finditer(text):
        number = match.group("number").lstrip("$").replace(",", "").rstrip(".")
        if _YEAR.fullmatch(number):
            continue
        qualifier = match.group("qualifier")
        out.append((_KIND_OF[qualifier.lower()] if qualifier else None, number, match))
    return out


def match_qualifiers(claim: str, source: str) -> str | None:
    """The claim with the qualifiers it dropped restored from the source ("62,000" → "about 62,000"), or None
    if it gives a number another kind of qualifier than every place the source states it ("more than" for
    "up to"). Restoring, rather than rejecting, keeps a right figure and shows it the way the article hedges it.
    """
    stated: dict[str, list[tuple[str | None, str]]] = {}
    for kind, number, match in _qualified_numbers(source):
        stated.setdefault(number, []).append((kind, match.group("qualifier") or ""))
    out, offset = claim, 0
    for kind, number, match in _qualified_numbers(claim):
        kinds = {k for k, _ in stated.get(number, [])}
        if not kinds:
            continue  # a number the source lacks is the lexical check's business
        if kind is not None:
            if None not in kinds and kind not in kinds:
                return None
            continue
        if None in kinds or len(kinds) != 1 or claim[match.end("number") :].startswith("-"):
            continue  # "the 250-mile estimate" takes no "about" in front of its compound
        qualifier = next(words for _, words in stated[number]).lower()
        at = match.start("number") + offset
        out = f"{out[:at]}{qualifier} {out[at:]}"
        offset += len(qualifier) + 1
    return out[:1].upper() + out[1:] if out != claim else claim
