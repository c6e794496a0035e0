"""Who a passage credits with a fact: a Desert Wire story saying "…, Arab News has reported" credits Arab News.
And who an answer quotes: "Iraq's parliament said …" over passages that never name a parliament quotes nobody.

Asked "which outlet reported …", a small model names the outlet whose story it read, or another outlet whose story
is near the fact, when the story that states the fact credits it to a third. The verifier then prefers the
crediting sentence (see `rag.citations`), so the reader sees the outlet the articles name and where they name it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.answer.lexicon import NOT_NAME_WORDS, SPEAKER_ROLES

_NAME = r"[A-Z][\w'’-]*(?:\s+[A-Z][\w'’-]*)*"
# "Arab News has reported", "CNN reported on January 19", "as reported by Shafaq News". Not "according to" and
# not "citing": those credit officials and ministries as often as outlets.
_CREDITS = re.compile(rf"(?P<before>{_NAME})\s+(?:has\s+|had\s+)?(?:reported|reports)\b"
                      rf"|\breported\s+by\s+(?:the\s+)?(?P<after>{_NAME})")
# capitalised words that open a sentence or a date, not a name: "In January CNN reported" credits CNN
_ASKS_REPORTER = re.compile(
    r"\b(?:which|what)\s+(?:news\s+)?(?:outlets?|newspapers?|papers?|agenc(?:y|ies)|networks?|channels?|"
    r"publications?|media|organi[sz]ations?|sites?|websites?)\s+(?:first\s+|originally\s+)?"
    r"(?:reported|reports|broke|published)\b|\bwho\s+(?:first\s+|originally\s+)?reported\b",
    re.IGNORECASE,
)


def asks_reporter(question: str) -> bool:
    """The question asks which outlet reported something ("Which outlet reported …?", "Who first reported …?")."""
    return bool(_ASKS_REPORTER.search(question))


def credited_source(sentence: str) -> str:
    """The name the sentence credits with its report, or "" when it credits none.

    A capitalised word that only starts the sentence ("Officials reported …") is not a name; an acronym is.
    """
    for match in _CREDITS.finditer(sentence):
        group = "before" if match.group("before") else "after"
        words = match.group(group).split()
        lead = next((i for i, word in enumerate(words) if word.lower() not in NOT_NAME_WORDS), len(words))
        words = words[lead:]
        if not words:
            continue
        opens_sentence = match.start(group) == 0 and lead == 0
        if opens_sentence and len(words) == 1 and not words[0].isupper():
            continue
        return " ".join(words)
    return ""



# "Iraq's parliament said that …", "The Kurdistan regional government has said …": the words before a saying verb
# that open the sentence. Conservative: "On Sunday, the cell said" (a comma before the speaker) is not read.
_SPEAKER = re.compile(r"^\W*(?P<speaker>(?:[\w'’.-]+\s+){0,5}?[\w'’.-]+)\s+(?:has\s+|had\s+|have\s+)?"
                      r"(?:said|says|stated|states|announced|told|warned|argued|claimed|declared)\b", re.IGNORECASE)
_NOT_SPEAKER_WORDS = frozenset("the an its their his her our this that these those also later earlier then "
                               "they she it we you".split())
_TEXT_WORD = re.compile(r"[A-Za-z][A-Za-z-]*")


def unnamed_speaker(sentence: str, texts: Sequence[str]) -> str:
    """The word of the sentence's quoted speaker that none of these texts holds ("parliament" in "Iraq's
    parliament said …", "regional" in "The Kurdistan regional government said …"), or "".

    A small model asked "What did X say about Y?" puts a passage's fact in X's mouth; the fact is supported, the
    attribution is not. A plural or singular form counts ("officials" for "official"); an acronym is not checked,
    nor a role any body speaks through ("officials", "a spokesperson"): of "Health officials said" over "the health
    ministry said" only "health" must be held.
    """
    match = _SPEAKER.match(sentence)
    if not match:
        return ""
    held = {word.lower() for text in texts for word in _TEXT_WORD.findall(text)}
    for word in _TEXT_WORD.findall(match.group("speaker")):
        if word.isupper():
            continue  # an acronym may stand for words the passage spells out ("CENTCOM", "US Central Command")
        word = word.lower()
        if len(word) < 3 or word in _NOT_SPEAKER_WORDS or word in SPEAKER_ROLES:
            continue
        if not {word, word + "s", word.removesuffix("s")} & held:
            return word
    return ""
