"""Narration clean-up: what small models write about their sources ("According to the passage [1], …") goes, its
markers kept, so only the claims are verified and shown."""

from __future__ import annotations

import re

from rag.dates import STATED_DATE
from rag.text import MARKER_PATTERN, markers_in, split_sentences, strip_markers

# Small models narrate their sources ("According to the passage in [1], ...", "... from [2].", "The passage
# states: ..."): the markers already say it, so the narration is cut, its markers move to the sentence's end,
# and sentences that only narrate are dropped. A clean-up that would not leave a well-formed sentence is not made.
_SOURCE = (
    r"(?:(?:the|this|that)\s+)?(?:(?:first|second|third|fourth|fifth|sixth|given|provided|above|same|cited)\s+)?"
    r"(?:passages?|articles?|excerpts?|text|context(?:\s+piece)?|information(?=\s+(?:provided|given|above)))"
    r"(?:\s+(?:provided|given|above))?(?:\s*\d+(?:\s*(?:,|and)\s*(?:passages?\s*)?\d+)*)?(?!\s+(?:of|from|by)\b)"
)
_NARRATING_LEAD = (
    r"(?:according to|based on|as (?:stated|mentioned|reported|shown|seen|noted|indicated|described|said) in)"
)
_MARKERS = rf"(?:\s*{MARKER_PATTERN})+"
# "passage [3] from January 18, 2026", "[2] dated 2025-10-07": the passage's own date, narration like the rest
_PASSAGE_DATE = rf"(?:,?\s*(?:from|dated|published(?:\s+on)?)\s+(?:\d{{4}}-\d\d-\d\d|{STATED_DATE.pattern}))?"
# "according to the passage in [1]", "from [2]", "in passage [1]", "(see [3])": a preposition whose object is a marker
_SOURCE_REFERENCE = re.compile(
    rf"\(?\b(?:{_NARRATING_LEAD}|in|from|per|see|of)\s*(?:{_SOURCE}\s*(?:(?:in|from|of)\s*)?)?(?P<markers>{_MARKERS})"
    rf"{_PASSAGE_DATE}\)?",
    re.IGNORECASE,
)
# "according to the articles", "as stated in passage 2 and 3", "based on the text", a dangling "as stated in."
_SOURCE_PHRASE = re.compile(
    rf",?\s*\b(?:{_NARRATING_LEAD}\s+{_SOURCE}|{_NARRATING_LEAD}(?=\s*(?:[.,\[]|$))"
    r"|(?:in|from) the (?:passages?|articles?)\b)",
    re.IGNORECASE,
)
# "The passage states: ...", "Passage [2] says that ...", "The first article mentions ..."
_SOURCE_SAYS = re.compile(
    rf"^{_SOURCE}(?P<markers>{_MARKERS})?\s+(?:states?|says?|mentions?|notes?|indicates?|reports?|explains?|shows?|"
    r"confirms?|suggests?|tells? us)(?:\s+that)?\s*[:,]?\s*",
    re.IGNORECASE,
)
_META_SENTENCE = re.compile(
    r"^(?:this|that|it|these|which)\b[^.]*(?:\b(?:passages?|articles?)\b|\b(?:from|in)\s*\[\d)", re.IGNORECASE
)
# ", as evidenced by the passage from the Defense Ministry that reported …": the rest of the sentence is its source
_EVIDENCE_CLAUSE = re.compile(
    r",\s*as (?:evidenced|shown|seen|stated|indicated|suggested|noted|mentioned|described) (?:by|in)\s+"
    r"(?:the|this|that|a)\s+(?:passages?|articles?|excerpts?|text)\b[^.!?\[]*",
    re.IGNORECASE,
)
# "… coalition. " The passage [4] states …": a closing quote the model set apart from its sentence's stop starts the
# next sentence (an opening quote is never followed by a space)
_DETACHED_CLOSING_QUOTE = re.compile(r"""^\s*["”]\s+""")
# "- by 3 days.": a list item that goes on with the item before it, not a sentence
_CONTINUATION = re.compile(r"^(?:[-*•]\s+)?(?=(?:by|and|but|with|for|from|of|at|to|or)\s+\S)")  # lower case only
_DANGLING_START = re.compile(rf"^(?:\W*\b(?:{_NARRATING_LEAD}|in|from|per|see|of)\b)?[\s,;:.)\]-]+", re.IGNORECASE)
_QUOTED = re.compile(r"""^["“](?P<inner>[^"“”]+?)[.,]?["”](?P<end>[.!?]?)$""")
_QUOTE_IN_META = re.compile(r"""["“](?P<inner>[^"“”]{20,}?)\s*(?:["”]|$)""")
# "… which states that he "met the forces …"": a quote after its subject is a predicate, not a sentence
_SUBJECT_BEFORE = re.compile(r"\b(?:he|she|they|it|we|i)\s*$", re.IGNORECASE)
_WORDLIKE = re.compile(r"\w")
_PREPOSITION_END = re.compile(r"\b(?:in|from|of|per|see|to|by|at|on|with|for|according)\s*[.!?]$", re.IGNORECASE)
_WELL_FORMED_START = re.compile(r"""^[A-Z0-9"“‘'$(]""")

def strip_narration(answer: str) -> str:
    """Remove "according to the passage"-style narration; the citation markers carry that information."""
    cleaned = [_unpaired_quote_dropped(_without_narration(_DETACHED_CLOSING_QUOTE.sub("", s)))
               for s in split_sentences(answer)]
    return " ".join(_joined_continuations([s for s in cleaned if _WORDLIKE.search(s)]))  # a lone quote mark goes


def _unpaired_quote_dropped(sentence: str) -> str:
    """Without a quote mark that opens or closes nothing at the sentence's start or end: the other half was in a
    sentence that narrated, or the model's quote ran over several sentences ("continues." [2])."""
    for opening, closing in (('"', '"'), ("“", "”")):
        paired = sentence.count(opening) == sentence.count(closing) if opening != closing \
            else sentence.count(opening) % 2 == 0
        if paired:
            continue
        bare = strip_markers(sentence)
        if sentence.startswith(opening) and well_formed(bare[1:].lstrip()):
            return sentence[1:].lstrip()
        if bare.endswith(closing) and well_formed(bare[:-1]):
            return f"{bare[:-1]} {''.join(markers_in(sentence))}".strip()
    return sentence


def _joined_continuations(sentences: list[str]) -> list[str]:
    """A fragment that goes on with the sentence before it ("… began. [3]" "by 3 days.") joined to it, the
    markers of both at the end: "… began, by 3 days. [3]"."""
    joined: list[str] = []
    for sentence in sentences:
        fragment = _CONTINUATION.match(sentence)
        if joined and fragment and (before := strip_markers(joined[-1])).endswith("."):
            markers = "".join(dict.fromkeys(markers_in(joined[-1] + sentence)))
            joined[-1] = f"{before[:-1]}, {strip_markers(sentence[fragment.end():])} {markers}".strip()
        else:
            joined.append(sentence)
    return joined


def _without_narration(sentence: str) -> str:
    """The sentence without narration ("" if it only narrated), or unchanged if cutting would garble it."""
    if _META_SENTENCE.match(sentence):
        return _quoted_evidence(sentence)
    moved: list[str] = []

    def keep_markers(match: re.Match) -> str:
        moved.append(match.group("markers") or "")
        return ""

    text = _EVIDENCE_CLAUSE.sub("", sentence.strip())
    text = _SOURCE_SAYS.sub(keep_markers, text, count=1)
    text = _SOURCE_REFERENCE.sub(keep_markers, text)
    text = _SOURCE_PHRASE.sub("", text)
    text = _SOURCE_SAYS.sub(keep_markers, text.strip(), count=1)  # "The article [from passage 1] states that"
    if text == sentence.strip():
        return sentence.strip()
    markers = "".join(markers_in("".join(moved) + text))
    bare = _DANGLING_START.sub("", strip_markers(text))
    bare = re.sub(r",\s*,|,\s*(?=[.!?]$)", "", bare)  # "X, according to [1], is" → "X is"
    bare = re.sub(r"\s+([,.;:!?])", r"\1", bare)
    bare = re.sub(r"\s{2,}", " ", bare).strip()
    quoted = _QUOTED.match(bare)
    if quoted:
        bare = quoted.group("inner").strip() + (quoted.group("end") or ".")
    bare = bare[:1].upper() + bare[1:]
    if not bare.strip(" .,;:'\"“”‘’"):
        return ""
    if not all(well_formed(piece) for piece in split_sentences(bare)):
        return sentence.strip()
    return f"{bare} {markers}".strip()


def _quoted_evidence(sentence: str) -> str:
    """What a "This is stated in [2], where it says "…"" sentence quotes, as a sentence of its own with the
    sentence's markers ("" when it quotes nothing): the quote is often the very evidence the answer needs."""
    quoted = _QUOTE_IN_META.search(sentence)
    if not quoted or _SUBJECT_BEFORE.search(sentence[: quoted.start()]):
        return ""
    inner = quoted.group("inner").strip()
    inner = inner[:1].upper() + inner[1:] + ("" if inner[-1:] in ".!?" else ".")
    if not well_formed(inner):
        return ""
    return f"{inner} {''.join(markers_in(sentence[: quoted.start()]))}".strip()


def well_formed(sentence: str) -> bool:
    """Starts like a sentence (capital, digit, quote) and does not end on a dangling preposition."""
    return bool(_WELL_FORMED_START.match(sentence)) and not _PREPOSITION_END.search(sentence)
