"""Near-copies among retrieved passages (a wire story and its rewrite by another outlet) folded into one.

Two copies of one fact take two of the k prompt slots; folded, the slots hold different evidence and the copy
stays visible as `also_reported_by`. Copies are told by shared word trigrams: measured on the sample corpus's
retrieved candidates, the four wire copies share 71-93 % of the smaller passage's trigrams and every other
pair of different articles at most 64 %, those only in short tail chunks (hence the minimum size). Passages
that state different numbers are never folded: an early report and its correction are a conflict to show.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

from rag.types import Passage

COPY_THRESHOLD = 0.68  # share of the smaller passage's word trigrams found in the other
MIN_TRIGRAMS = 60  # below this (~60 words) chance overlap of stock phrases is too high to call a copy
_WORD = re.compile(r"[a-z0-9]+")
_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")


@functools.lru_cache(maxsize=1024)  # each candidate is compared with every passage kept before it
def trigrams(text: str) -> frozenset[tuple[str, ...]]:
    words = _WORD.findall(text.lower())
    return frozenset(zip(words, words[1:], words[2:]))


def _numbers(text: str) -> set[str]:
    return {n.replace(",", "") for n in _NUMBER.findall(text)}


def is_near_copy(a: Passage, b: Passage) -> bool:
    """Passages of two articles that repeat each other's wording and no number of one is missing from the other."""
    if a.article_id == b.article_id:
        return False
    (small, small_grams), (large, large_grams) = sorted(
        [(a, trigrams(a.text)), (b, trigrams(b.text))], key=lambda pair: len(pair[1]))
    if len(small_grams) < MIN_TRIGRAMS or len(small_grams & large_grams) / len(small_grams) < COPY_THRESHOLD:
        return False
    return _numbers(small.text) <= _numbers(large.text)


def collapse_near_copies(ranked: Sequence[Passage], k: int) -> list[Passage]:
    """The first k passages of `ranked` that are not near-copies of one already kept; each copy is listed in
    `also_reported_by` of the passage kept, which is the one with a known date and outlet, else the higher ranked.
    """
    kept: list[Passage] = []
    for passage in ranked:
        twin = next((i for i, other in enumerate(kept) if is_near_copy(passage, other)), None)
        if twin is None:
            if len(kept) == k:
                break
            kept.append(passage)
            continue
        holder, copy = kept[twin], passage
        if _metadata_rank(copy) > _metadata_rank(holder):
            holder, copy = copy.model_copy(update={"score": holder.score}), holder  # it takes the slot's rank
        copies = [*holder.also_reported_by, copy.model_copy(update={"also_reported_by": []}), *copy.also_reported_by]
        kept[twin] = holder.model_copy(update={"also_reported_by": copies})
    return kept


def _metadata_rank(passage: Passage) -> int:
    return bool(passage.date) + bool(passage.outlet)
