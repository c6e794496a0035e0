"""A passage that asks the question itself and answers it: the Q&A explainer ("Is this the first time US troops
have left Iraq? No. After the 2003 invasion, …").

Its Yes or No is the article's own verdict, and the small model often says the opposite: it reads the passage's
question as a statement and writes "Yes, the US departure in January 2026 was the first time …", citing that
very question. So when a shown passage asks the same yes/no question and answers it, an answer that does not open
with that verdict, or says only the verdict ("No. [1]", which has nothing left to verify), is replaced by the
passage's answer.

Embeddings do not see polarity ("want the Americans to leave?" is 0.96 close to "… to stay?", and "Has the
coalition left its bases?" 0.89 to "Are coalition troops still at bases?"), so the two questions must also
carry the same polarity cues: a negation, a leaving, a staying.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rag.claims import asks_yes_or_no, polarity_cues
from rag.embeddings import NewsEmbeddings
from rag.text import split_sentences, strip_markers
from rag.types import Passage

# MiniLM cosine of the asked question to the passage's: "Was the US departure in January 2026 the first time
# American troops had left Iraq?" / "Is this the first time US troops have left Iraq?" 0.83; "Have all US troops
# left the Kurdistan Region?" / "Have US forces left Iraq?" (another place) 0.77
SAME_QUESTION = 0.8
# "No.", "No longer.", "Yes, partly.": a verdict, not a sentence that goes on to say something itself
_VERDICT = re.compile(r"^\W*(?P<word>yes|no)\b(?:[,\s]+\w+){0,2}\W*$", re.IGNORECASE)
_OPENING = re.compile(r"^\W*(yes|no)\b", re.IGNORECASE)


@dataclass(frozen=True)
class PassageAnswer:
    n: int  # the passage's number in the prompt
    verdict: str  # "Yes" or "No"
    explanation: str  # the sentence after the verdict

    @property
    def text(self) -> str:
        """ "No: After the 2003 invasion, US forces stayed for eight years and left in 2011. [1]" """
        return f"{self.verdict}: {self.explanation} [{self.n}]"


def passage_answer(question: str, shown: Sequence[Passage], embeddings: NewsEmbeddings) -> PassageAnswer | None:
    """The closest shown passage's own answer to this yes/no question, when one asks it and answers Yes or No."""
    if not asks_yes_or_no(question):
        return None
    candidates: list[tuple[int, str, PassageAnswer]] = []
    for n, passage in enumerate(shown, start=1):
        sentences = split_sentences(passage.text)
        for asked, verdict, explanation in zip(sentences, sentences[1:], sentences[2:]):
            said = _VERDICT.match(verdict)
            if not asked.rstrip().endswith("?") or not said or polarity_cues(asked) != polarity_cues(question):
                continue
            candidates.append((n, asked, PassageAnswer(n, said.group("word").capitalize(), explanation.strip())))
    if not candidates:
        return None
    vectors = embeddings.embed([question, *(asked for _, asked, _ in candidates)])
    scores = vectors[1:] @ vectors[0]
    best = int(scores.argmax())
    return candidates[best][2] if scores[best] >= SAME_QUESTION else None


def says_only_the_verdict(answer: str) -> bool:
    """ "No. [1]": a Yes or No and nothing the verifier could check, so the answer would be declined though the
    passage says why."""
    return _VERDICT.match(strip_markers(answer)) is not None


def opens_with(answer: str, verdict: str) -> bool:
    """The answer's first word is this Yes or No."""
    opening = _OPENING.match(strip_markers(answer))
    return opening is not None and opening.group(1).lower() == verdict.lower()
