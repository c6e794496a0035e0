"""What of the retrieved passages goes into the prompt: on 2 cores every prompt token costs ~20 ms.

Each passage is focused on the sentences closest to the question (keeping its number, so citations
still map), and whole passages are dropped from the end when the window is full; none is cut mid-sentence.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import numpy as np

from rag.config import Settings
from rag.embeddings import NewsEmbeddings
from rag.multipart import part_queries, question_parts
from rag.prompts import answer_messages, format_passage
from rag.questions import counts_asked_thing, offers_what_is_asked
from rag.text import split_sentences
from rag.tokens import count_tokens
from rag.types import Passage

ASKED_KIND_BOOST = 0.25  # cosine units; measured with `newsrag eval --ablation` (evidence in prompt), evals/README.md
MAX_ANTECEDENTS = 2  # question, fragment, sentence: "What is the main worry? A breakout. ... to avoid one."
FRAGMENT_WORDS = 4  # "A breakout." names what the next sentence calls "one"
_ANAPHOR = re.compile(
    r"^\W*(?:this|that|these|those|it|its|they|them|their|he|him|his|she|her|one(?! of)|such|the latter|the former)\b",
    re.IGNORECASE,
)
# "That figure was wrong.", "A brief … incorrectly reported …": a report judged wrong; what was right comes next
_JUDGED_WRONG = re.compile(
    r"\b(?:incorrectly|wrongly|mistakenly|erroneously)\b|\b(?:was|were) (?:wrong|incorrect|inaccurate|mistaken)\b",
    re.IGNORECASE,
)
PROMPT_MARGIN = 1.25  # the model's tokenizer counts more tokens than cl100k on some text: keep headroom


def focus_passages(
    question: str, passages: Sequence[Passage], embeddings: NewsEmbeddings, keep: int, budget: int = 0
) -> list[Passage]:
    """Each passage cut to its `keep` sentences most similar to the question (or one of its parts), in order.

    For a "when" or "how many" question a sentence holding a date or a number gets ASKED_KIND_BOOST: the
    answer is often in the sentence beside the one that sounds most like the question. A sentence counting
    the very thing asked ("85 prisoners" for "how many prisoners") gets it twice: a year or another count
    must not push it out ("The first group of 85 prisoners was taken by a convoy of secure buses" reads
    little like the question). With a `budget` (cl100k tokens of passage text in all), the kept sentence least
    like the question goes next while the texts exceed it; each passage keeps its best sentence.
    """
    if keep <= 0 and budget <= 0:
        return list(passages)
    groups = [split_sentences(p.text) or [p.text] for p in passages]
    flat = [s for group in groups for s in group]
    if not flat:
        return list(passages)
    parts = question_parts(question)
    queries = [question, *part_queries(parts)] if len(parts) > 1 else [question]  # each part finds its sentences
    vectors = embeddings.embed([*queries, *flat])
    asked = [ASKED_KIND_BOOST * (any(offers_what_is_asked(part, s) for part in parts)
                                 + any(counts_asked_thing(part, s) for part in parts)) for s in flat]
    similarity = (vectors[len(queries) :] @ vectors[: len(queries)].T).max(axis=1) + np.array(asked)
    scores, ranked, offset = [], [], 0
    for group in groups:
        scores.append(similarity[offset : offset + len(group)])
        offset += len(group)
        best_first = [int(i) for i in np.argsort(-scores[-1])]
        ranked.append(best_first[:keep] if keep > 0 else best_first)
    if budget > 0:
        _fit_budget(groups, scores, ranked, budget)
    return [passage if len(chosen) == len(group) else passage.model_copy(update={"text": _excerpt(group, chosen)})
            for passage, group, chosen in zip(passages, groups, ranked)]


def _excerpt(sentences: Sequence[str], chosen: Iterable[int]) -> str:
    """The chosen sentences with those they lean on, in order; "…" where sentences were left out between them."""
    pieces: list[str] = []
    previous = -1
    for i in with_antecedents(sentences, chosen):
        if previous >= 0 and i != previous + 1:
            pieces.append("…")
        pieces.append(sentences[i])
        previous = i
    return " ".join(pieces)


def _fit_budget(groups: Sequence[Sequence[str]], scores: Sequence[np.ndarray], ranked: list[list[int]],
                budget: int) -> None:
    """Drop (in place) the weakest kept sentence of any passage, one at a time, until the excerpts fit `budget`."""
    def cost() -> int:
        return sum(count_tokens(_excerpt(group, chosen)) for group, chosen in zip(groups, ranked))

    while cost() > budget:
        droppable = [(float(scores[n][chosen[-1]]), n) for n, chosen in enumerate(ranked) if len(chosen) > 1]
        if not droppable:
            return
        ranked[min(droppable)[1]].pop()


def with_antecedents(sentences: Sequence[str], chosen: Iterable[int]) -> list[int]:
    """The chosen sentence indices plus the sentences before each that it leans on, and the sentence after a
    chosen question sentence (its answer) or a sentence judging a report wrong (the correction), in order.

    Without them "precisely to avoid one" reaches the model with no "breakout" for "one" to stand for, an
    explainer's "What is the main worry?" (the sentence most like the user's question) without its answer, and
    a correction's "That figure was wrong." without the figure that replaced it.
    """
    kept = {int(i) for i in chosen}
    for i in sorted(kept):
        if (sentences[i].rstrip().endswith("?") or _JUDGED_WRONG.search(sentences[i])) and i + 1 < len(sentences):
            kept.add(i + 1)
        for back in range(i, max(i - MAX_ANTECEDENTS, 0), -1):
            if not leans_on_previous(sentences[back], sentences[back - 1]):
                break
            kept.add(back - 1)
    return sorted(kept)


def leans_on_previous(sentence: str, previous: str) -> bool:
    """It starts with a pronoun, answers the question before it, or follows a fragment that names its subject."""
    return (bool(_ANAPHOR.match(sentence)) or previous.rstrip().endswith("?")
            or len(previous.split()) <= FRAGMENT_WORDS)


def fit_passages(question: str, passages: Sequence[Passage], settings: Settings) -> list[Passage]:
    """The leading passages whose whole text fits the context window; a passage is never cut in half."""
    budget = settings.llm_context_tokens - settings.llm_max_tokens
    used = count_tokens(answer_messages(question, [])[0].text + question) + 64
    kept: list[Passage] = []
    for n, passage in enumerate(passages, start=1):
        cost = count_tokens(format_passage(n, passage)) + 4
        if (used + cost) * PROMPT_MARGIN > budget:
            break
        kept.append(passage)
        used += cost
    return kept
