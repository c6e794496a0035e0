"""Questions that ask two things at once ("How many … and from which city?").

Retrieval for the whole question favours the part with more words, and the number/time check declined the
whole answer when one part was missing. Each part gets its own search, the prompt keeps each part's best
passage, and a part the answer leaves open is said to be missing instead of declining the rest.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import Stemmer

from rag.answer.lexicon import PART_FUNCTION_WORDS
from rag.dates import anchor_dates
from rag.questions import answers_the_question
from rag.text import MARKER_PATTERN, split_sentences, strip_markers
from rag.types import Passage

_WH = r"(?:how|what|which|who|whom|whose|when|where|why)\b"
# "... and from which city?", "...; who ...", "... as well as when ..."; not "What did Iraq and the US agree?"
_JOIN = re.compile(
    rf",?\s*\b(?:and|as well as|plus)\s+(?=(?:(?:from|in|at|on|to|by|for|with|since)\s+)?{_WH})|\s*;\s*(?={_WH})",
    re.IGNORECASE,
)
_YES_NO = re.compile(r"^\W*(?:is|are|was|were|did|does|do|has|have|had|can|could|will|would)\b", re.IGNORECASE)
_ASKS = re.compile(rf"^\W*(?:(?:from|in|at|on|to|by|for|with|since)\s+)?{_WH}|{_YES_NO.pattern}", re.IGNORECASE)
_WH_ANYWHERE = re.compile(rf",\s*{_WH}", re.IGNORECASE)  # "According to the officer, how much …"
_LEADING_WH = re.compile(rf"^\W*(?:(?:from|in|at|on|to|by|for|with|since)\s+)?{_WH}"
                         r"(?:\s+(?:many|much|long|far|old))?\s*", re.IGNORECASE)
_ENUMERATION = re.compile(r"^\s*(?:\(?\d\)|\d\.|[-•*])\s+")  # "(1) 150 fighters": the "1" is no fact to check
_ECHOED_PART = re.compile(rf"\?\s*(?:{MARKER_PATTERN}\s*)*$")
_TRAILING_MARKERS = re.compile(rf"(?:\s*{MARKER_PATTERN})+\s*$")
_QUESTION_END = re.compile(r"(?<=\?)\s+(?=\S)")
MIN_PART_WORDS = 4  # a shorter part ("from which city?") is searched with the first part's topic beside it
_PRONOUN = re.compile(r"\b(?:they|them|their|it|its|he|him|his|she|her|this|that|these|those)\b", re.IGNORECASE)
# "on what date did …", "which country backs …": the wh-word and the kind of thing asked are not what a
# sentence answering the part must repeat
_ASKED_KIND = re.compile(rf"^\W*(?:(?:from|in|at|on|to|by|for|with|since)\s+)?(?:(?:which|what|whose)\s+\w+|{_WH})",
                         re.IGNORECASE)
_NAMED = re.compile(r"\b(?:[A-Z][\w'-]*|\d[\d,.]*)")  # names and numbers: what an answer sentence gives
_POSSESSIVE = re.compile(r"['’]s$")
PART_WORDS_SAID = 0.5  # an answer sentence holding half a part's own words (not the other parts') addresses it
PART_EVIDENCE_WORDS = 2 / 3  # a passage sentence holding two thirds of a part's words, and its kind of answer
_stemmer = Stemmer.Stemmer("english")


def question_parts(question: str) -> list[str]:
    """The questions asked, each ending with "?"; a single question is one part."""
    pieces = [p for chunk in _QUESTION_END.split(question.strip()) for p in _JOIN.split(chunk)]
    parts = [p.strip().rstrip("?").strip() for p in pieces if p and p.strip(" ?")]
    if len(parts) < 2 or not all(_ASKS.search(p) or _WH_ANYWHERE.search(p) for p in parts):
        return [question.strip()]
    return [f"{p}?" for p in parts]


def part_queries(parts: Sequence[str]) -> list[str]:
    """Search text for each part: a later part that is short or says "they" borrows the first part's topic."""
    topic = _LEADING_WH.sub("", parts[0]).rstrip("?")
    return [f"{p} {topic}" if i and (len(p.split()) < MIN_PART_WORDS or _PRONOUN.search(p)) else p
            for i, p in enumerate(parts)]


def merge_for_parts(whole: Sequence[Passage], per_part: Sequence[Sequence[Passage]], k: int) -> list[Passage]:
    """The whole question's top k with the best passage of each other search (a part's, a named outlet's)
    swapped in for the lowest-ranked if absent."""
    def ids(p: Passage) -> set[str]:
        return {p.id, *(copy.id for copy in p.also_reported_by)}

    kept = list(whole[:k])
    protected: set[str] = set()
    for found in per_part:
        if not found:
            continue
        best = found[0]
        present = next((p for p in kept if ids(p) & ids(best)), None)
        if present is not None:
            protected |= ids(present)
            continue
        replaceable = [i for i, p in enumerate(kept) if not ids(p) & protected]
        if len(kept) < k:
            kept.append(best)
        elif replaceable:
            kept[replaceable[-1]] = best
        protected |= ids(best)
    return kept


def open_parts(parts: Sequence[str], answer: str, declines: Callable[[str], bool]) -> tuple[str, list[str]]:
    """The answer without the sentences that decline a part, the parts it echoes or their list marks, and the
    parts it leaves open.

    A part is open when it asks for a number or a time and the answer gives none, or when a sentence declines
    it ("The passages do not say which city"): that one is the part sharing most words with the decline. A
    single question keeps its whole answer, so one decline still declines it.
    """
    if len(parts) < 2:
        return answer, [p for p in parts if not answers_the_question(p, answer)]
    sentences = [_full_stop(_ENUMERATION.sub("", s)) for line in answer.splitlines() for s in split_sentences(line)]
    sentences = [s for s in sentences if not _ECHOED_PART.search(s)]  # "How many …? - 150 fighters": the part, echoed
    declined = [s for s in sentences if declines(s)]
    answering = [s for s in sentences if not declines(s)]
    missing = [p for p in parts if not any(answers_the_question(p, s) for s in answering)]  # one sentence per part
    if declined and not missing:
        words = content_words(" ".join(declined))
        missing = [max(reversed(parts), key=lambda p: len(content_words(p) & words))]
    return " ".join(answering), missing


def _full_stop(sentence: str) -> str:
    """ "150 fighters [3]" → "150 fighters. [3]": a list item becomes a sentence the verifier can split.

    "… Governorate. [2]" already has its stop before the marker and stays as it is (not "[2].").
    """
    sentence = sentence.strip()
    body = _TRAILING_MARKERS.sub("", sentence)
    if not body or body.rstrip("\"'”’)").endswith((".", "!", "?", "…")):
        return sentence
    return f"{body}.{sentence[len(body):]}"


def with_part_evidence(parts: Sequence[str], answer: str, passages: Sequence[Passage], open_: Sequence[str] = ()
                       ) -> tuple[str, list[str]]:
    """The answer with a cited passage sentence for its last part when it does not address it (or leaves it
    open), and the parts so answered.

    "Why …, and who will control the facilities?" answered on the why alone: the passage sentence that names
    the facilities and who controls them ("… to facilities under Iraqi control") answers the other part, with
    its citation. The model answers parts in order, so the part it drops is the last; a yes/no part ("Do
    reports agree?") is the conflict note's. A part no passage sentence answers is left as it was.
    """
    if len(parts) < 2 or _YES_NO.match(parts[-1]):
        return answer, []
    part = parts[-1]
    said = [content_words(s) for s in split_sentences(strip_markers(answer))]
    own = _part_words(part) - set().union(*(_part_words(p) for p in parts[:-1]))
    if not own or part not in open_ and any(len(own & words) >= PART_WORDS_SAID * len(own) for words in said):
        return answer, []
    found = _part_evidence(part, own, passages)
    if not found or _already_said(found, part, answer):
        return answer, []
    return f"{answer} {found}".strip(), [part]


def _already_said(evidence: str, part: str, answer: str) -> bool:
    """Every name and number the evidence adds to the part is in the answer already: the answer gave it in
    other words ("Al Anbar Governorate, to facilities in Iraq's autonomous Kurdistan Region")."""
    def named(text: str) -> set[str]:
        return {_POSSESSIVE.sub("", w.lower().rstrip(".,")) for w in _NAMED.findall(strip_markers(text))[1:]}

    def words(text: str) -> set[str]:
        return {_POSSESSIVE.sub("", w.lower()) for w in re.findall(r"[\w'-]+", text)}

    return named(evidence) - words(part) <= words(answer)


def _part_evidence(part: str, own: set[str], passages: Sequence[Passage]) -> str | None:
    """The passage sentence, with its marker, holding most of the part's words (and half its own), of the kind
    of answer the part asks for; the earlier passage on a tie."""
    words = _part_words(part)
    best, best_share = None, 0.0
    for n, passage in enumerate(passages, start=1):
        for sentence in split_sentences(anchor_dates(passage.text, passage.date)):
            found = content_words(sentence)
            share = len(words & found) / len(words)
            if share > best_share and share >= PART_EVIDENCE_WORDS and len(own & found) >= PART_WORDS_SAID * len(own) \
                    and answers_the_question(part, sentence):
                best, best_share = f"{sentence.strip()} [{n}]", share
    return best


def _part_words(part: str) -> set[str]:
    return content_words(_ASKED_KIND.sub("", part))


def missing_note(parts: Sequence[str]) -> str:
    """Said after the answer for each part left open: "The articles do not say from which city."."""
    return " ".join(f"The articles do not say {p.rstrip('?')[:1].lower()}{p.rstrip('?')[1:]}." for p in parts)


def content_words(text: str) -> set[str]:
    """Stemmed: "backs" is "backed", "moved" is "moving"."""
    return set(_stemmer.stemWords([w for w in re.findall(r"[a-z]{3,}", text.lower()) if w not in PART_FUNCTION_WORDS]))
