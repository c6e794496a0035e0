"""Eval metrics: plain, deterministic functions over a gold item (a dict from gold.jsonl) and an Answer.

No LLM judges anything here, so a score changes only when the system's output changes. A metric that
does not apply to an item (retrieval for a question with no evidence, correctness for an unanswerable
one, citation precision for an answer without citations) returns None and is left out of the means.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import PurePath

from rag.text import MARKER_PATTERN, ONE_MARKER, markers_of, normalize_markers, split_sentences, strip_markers
from rag.types import Answer, Citation, Passage

MIN_SHARED_WORDS = 8  # consecutive words a passage must share with a span that a chunk boundary cut
LATENCY_KEYS = ("until_passages", "until_first_token", "total")  # of Answer.timings (rag.types.Timings)

_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
                         "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
                         "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-",
                         "\u2015": "-", "\u2212": "-"})
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_WORD = re.compile(r"\w+")
# words that cannot start a clause before a comma ("In, up to 7,000 ...") or end a sentence ("... invasion from.")
_DANGLING = ("a", "an", "the", "and", "or", "but", "as", "than", "of", "in", "on", "at", "by", "for", "from", "with",
             "to", "into", "about", "after", "before", "since", "during", "until", "between", "among")
# a verb and its particle end a sentence well: "the mission is still going on."
_PHRASAL_ENDS = {("going", "on"), ("goes", "on"), ("went", "on"), ("carry", "on"), ("carried", "on"),
                 ("carrying", "on"), ("later", "on"), ("so", "on")}
_STARTS_BROKEN = re.compile(r"^(?:[,;:.!?)\]}]|(?:" + "|".join(_DANGLING) + r")\s*[,;:])", re.IGNORECASE)
# a sentence end, then only markers and another end: "... moved [1]. [2]." or "... moved [1]. . [2]"
_EMPTY_SENTENCE = re.compile(rf"[.!?;,]\s*(?:{MARKER_PATTERN}\s*)*[.!?;,]\s*{MARKER_PATTERN}"
                             rf"|[.!?]\s*(?:{MARKER_PATTERN}\s*)+[.!?;,]")
# the model retelling its sources instead of answering: "The passage states: ...", "According to passage 2, ..."
_NARRATION = re.compile(
    r"\b(?:passages?|excerpts?)\b"
    r"|\b(?:according to|based on) the (?:(?:provided|given|retrieved|above|first|second|third|fourth|last) )*"
    r"(?:context|texts?|articles?|information)\b"
    r"|\bcontext (?:pieces?\b|\[?\d)"
    r"|\b(?:the|this) (?:context|text|article)s? (?:states?|says?|mentions?|notes?|reports?|indicates?)\b",
    re.IGNORECASE,
)


def normalize(text: str) -> str:
    """Lowercase, 7,000 → 7000, one kind of quote and dash, single spaces: so formatting never decides a match."""
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES).lower()
    return " ".join(_THOUSANDS.sub("", text).split())


def is_answerable(item: Mapping) -> bool:
    """unanswerable_on_topic and unanswerable_off_topic (and the old "unanswerable") expect an abstention."""
    return not str(item.get("category", "")).startswith("unanswerable")


def _occurs(alternative: str, text: str) -> bool:
    """Substring match, except that a number must not be part of a longer one (150 is not in 1500)."""
    needle = normalize(alternative)
    if not needle:
        return False
    before = r"(?<!\d)" if needle[0].isdigit() else ""
    after = r"(?!\d)" if needle[-1].isdigit() else ""
    return re.search(before + re.escape(needle) + after, text) is not None


def answer_correct(item: Mapping, answer: Answer) -> bool | None:
    """Every must_include group has an alternative in the answer and no must_not string occurs in it.

    must_not is what makes a plausible answer wrong (the other year, "yes" to a "no longer" fact): without
    it an answer that names both the right and the wrong figure would pass. None for unanswerable items.
    """
    if not is_answerable(item):
        return None
    if answer.abstained:
        return False
    text = normalize(ONE_MARKER.sub(" ", answer.answer))  # a marker's number is not a fact of the answer
    if any(_occurs(wrong, text) for wrong in item.get("must_not") or []):
        return False
    return all(any(_occurs(alt, text) for alt in group) for group in item.get("must_include", []))


# --- evidence and retrieval ---------------------------------------------------------------------------------


def source_name(source: str) -> str:
    """The name gold evidence uses for a source: the file name, with ':N' kept for a JSONL line."""
    return PurePath(source).name if source else ""


def _words(text: str) -> list[str]:
    return _WORD.findall(normalize(text))


def _shares_run(span: list[str], text: list[str], n: int) -> bool:
    grams = {tuple(span[i : i + n]) for i in range(len(span) - n + 1)}
    return any(tuple(text[i : i + n]) in grams for i in range(len(text) - n + 1))


def span_overlaps(span: str, text: str) -> bool:
    """The span is in the text, the text in the span, or they share a run of words (a span cut by a chunk edge)."""
    span_n, text_n = normalize(span), normalize(text)
    if not span_n or not text_n:
        return False
    if span_n in text_n or text_n in span_n:
        return True
    span_words, text_words = _words(span), _words(text)
    n = min(MIN_SHARED_WORDS, len(span_words))
    return n > 0 and _shares_run(span_words, text_words, n)


def contains_evidence(evidence: Mapping, passage: Passage) -> bool:
    return source_name(passage.source) == evidence["article"] and span_overlaps(evidence["span"], passage.text)


def _first_rank(evidence: Mapping, passages: Sequence[Passage]) -> int | None:
    return next((rank for rank, p in enumerate(passages, start=1) if contains_evidence(evidence, p)), None)


def retrieval_recall(item: Mapping, passages: Sequence[Passage], k: int) -> float | None:
    """Share of the item's evidence found in the top k passages; None when it has no evidence."""
    evidence = item.get("evidence") or []
    if not evidence:
        return None
    top = list(passages)[:k]
    return sum(_first_rank(e, top) is not None for e in evidence) / len(evidence)


def retrieval_hit(item: Mapping, passages: Sequence[Passage], k: int) -> bool | None:
    """At least one evidence item is in the top k passages; None when the item has no evidence."""
    recall = retrieval_recall(item, passages, k)
    return None if recall is None else recall > 0


def reciprocal_rank(item: Mapping, passages: Sequence[Passage]) -> float | None:
    """1/rank of the first passage holding any evidence, 0 when none does; None when the item has no evidence."""
    evidence = item.get("evidence") or []
    if not evidence:
        return None
    ranks = [r for r in (_first_rank(e, passages) for e in evidence) if r is not None]
    return 1 / min(ranks) if ranks else 0.0


# --- citations ------------------------------------------------------------------------------------------------


def _cited_passage(citation: Citation, answer: Answer) -> Passage:
    """The retrieved passage a citation points at (for its source); a bare one from the citation if it is missing."""
    found = next((p for p in answer.passages if p.id == citation.passage_id), None)
    return found or Passage(id=citation.passage_id, article_id="", text=citation.text)


def citation_is_precise(item: Mapping, answer: Answer, citation: Citation) -> bool:
    """The cited passage holds a gold evidence span. The evidence lists every place a fact is stated, so
    citing another article that states it is right, and nothing the system computed can vouch for itself."""
    passage = _cited_passage(citation, answer)
    return any(contains_evidence(e, passage) for e in item.get("evidence") or [])


def citation_precision(item: Mapping, answer: Answer) -> float | None:
    """Share of citations that point at gold evidence (so every citation on an unanswerable question is wrong)."""
    if not answer.citations:
        return None
    return sum(citation_is_precise(item, answer, c) for c in answer.citations) / len(answer.citations)


def _share_cited(sentences: Sequence[str], cited: Callable[[str], bool]) -> float | None:
    """Share of the sentences with words in them (a lone "[2]." is no sentence) for which `cited` holds."""
    worded = [s for s in sentences if _WORD.search(strip_markers(s))]
    return sum(cited(s) for s in worded) / len(worded) if worded else None


def citation_recall(answer: Answer) -> float | None:
    """Share of the model's own sentences (raw_answer, before re-attribution) carrying a valid passage marker.

    Valid: a number from 1 to the count of retrieved passages. This is the model citing by itself; the
    verifier's later repairs are in citation_recall_verified. None when abstained or without raw text.
    """
    if answer.abstained:
        return None
    text = normalize_markers(answer.raw_answer, len(answer.passages))  # [1, 2] → [1][2]; [9] of 4 dropped
    return _share_cited(split_sentences(text), lambda s: bool(markers_of(s)))


def citation_recall_verified(answer: Answer) -> float | None:
    """Share of the shown answer's sentences with a marker that resolves to a citation; None when abstained."""
    if answer.abstained:
        return None
    known = {c.n for c in answer.citations}
    return _share_cited(split_sentences(answer.answer), lambda s: any(n in known for n in markers_of(s)))


# --- text quality -----------------------------------------------------------------------------------------------


def malformed_reason(text: str) -> str | None:
    """Why an answer reads broken, or None: what clean-up leftovers and narrating small models produce.

    Flags a sentence that starts with punctuation or a dangling word ("In, up to ..."), a sentence ending on
    a preposition or article ("... from."), an empty sentence between markers ("[1]. [2]."), a stray quote mark
    left as a sentence, and narration of the sources ("The passage states: ...", "According to passage 2, ...").
    """
    if narration := _NARRATION.search(text):
        return f"narrates its sources ('{narration.group(0)}')"
    if _EMPTY_SENTENCE.search(text):
        return "an empty sentence between markers"
    for sentence in split_sentences(text):
        bare = strip_markers(sentence).strip()
        if bare and not re.search(r"\w", bare):
            return f"a sentence of punctuation only ('{bare}')"
        if start := _STARTS_BROKEN.match(bare):
            return f"a sentence starts with '{start.group(0)}'"
        words = _WORD.findall(bare)
        if words and words[-1].lower() in _DANGLING and tuple(w.lower() for w in words[-2:]) not in _PHRASAL_ENDS:
            return f"a sentence ends on '{words[-1]}'"
    return None


# --- abstention -------------------------------------------------------------------------------------------------


def abstention_outcome(item: Mapping, answer: Answer) -> str:
    """true_abstain / missed_abstain for unanswerable items, false_abstain / answered for answerable ones."""
    if is_answerable(item):
        return "false_abstain" if answer.abstained else "answered"
    return "true_abstain" if answer.abstained else "missed_abstain"


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def abstention_scores(outcomes: Iterable[str]) -> dict[str, float | None]:
    """precision: abstentions that were right; recall: unanswerable items abstained on; accuracy: right decisions.

    Any other outcome (a question that raised an error) counts only in accuracy's denominator, as a wrong decision.
    """
    counts = Counter(outcomes)
    true, false, missed = counts["true_abstain"], counts["false_abstain"], counts["missed_abstain"]
    return {
        "precision": _ratio(true, true + false),
        "recall": _ratio(true, true + missed),
        "accuracy": _ratio(true + counts["answered"], sum(counts.values())),
    }


# --- one item, and the whole run ----------------------------------------------------------------------------


def score_item(item: Mapping, answer: Answer, k: int) -> dict:
    """Every per-question score, as stored in results.json and read by summarize."""
    reason = None if answer.abstained else malformed_reason(answer.answer)
    return {
        "answer_correct": answer_correct(item, answer),
        "citation_precision": citation_precision(item, answer),
        "citation_recall": citation_recall(answer),
        "citation_recall_verified": citation_recall_verified(answer),
        "malformed": None if answer.abstained else reason is not None,
        "malformed_reason": reason,
        "hit_at_k": retrieval_hit(item, answer.passages, k),
        "recall_at_k": retrieval_recall(item, answer.passages, k),
        "reciprocal_rank": reciprocal_rank(item, answer.passages),
        "abstention": abstention_outcome(item, answer),
    }


def failed_scores(item: Mapping, passages: Sequence[Passage], k: int) -> dict:
    """Scores for a question that raised: wrong where a right answer was expected, retrieval as far as it got."""
    return {
        "answer_correct": False if is_answerable(item) else None,
        "citation_precision": None,
        "citation_recall": None,
        "citation_recall_verified": None,
        "malformed": None,
        "malformed_reason": None,
        "hit_at_k": retrieval_hit(item, passages, k),
        "recall_at_k": retrieval_recall(item, passages, k),
        "reciprocal_rank": reciprocal_rank(item, passages),
        "abstention": "error",
    }


def percentile(values: Iterable[float], p: float) -> float | None:
    """The p-th percentile (0-100) with linear interpolation between ranks; None for no values."""
    ordered = sorted(values)
    if not ordered:
        return None
    position = (len(ordered) - 1) * p / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def mean(values: Iterable[float | bool | None]) -> float | None:
    """Mean of the values that apply (None is left out); None when none does."""
    present = [float(v) for v in values if v is not None]
    return sum(present) / len(present) if present else None


def _headline(rows: Sequence[Mapping]) -> dict:
    scores = [row["scores"] for row in rows]
    abstention = abstention_scores(s["abstention"] for s in scores)
    out = {
        "n": len(rows),
        "errors": sum(1 for row in rows if row.get("error")),
        "answer_correctness": mean(s["answer_correct"] for s in scores),
        "citation_precision": mean(s["citation_precision"] for s in scores),
        "citation_recall": mean(s["citation_recall"] for s in scores),
        "citation_recall_verified": mean(s["citation_recall_verified"] for s in scores),
        "malformed_rate": mean(s["malformed"] for s in scores),
        "hit_at_k": mean(s["hit_at_k"] for s in scores),
        "recall_at_k": mean(s["recall_at_k"] for s in scores),
        "mrr": mean(s["reciprocal_rank"] for s in scores),
        "abstention_precision": abstention["precision"],
        "abstention_recall": abstention["recall"],
        "abstention_accuracy": abstention["accuracy"],
    }
    for key in LATENCY_KEYS:
        values = [row["timings"][key] for row in rows if key in (row.get("timings") or {})]
        out[f"{key}_p50"] = percentile(values, 50)
        out[f"{key}_p95"] = percentile(values, 95)
    return out


def summarize(rows: Sequence[Mapping]) -> dict:
    """Headline metrics over all rows and per category; a row is {"category", "scores", "timings", "error"}."""
    categories = sorted({row["category"] for row in rows})
    return {
        "overall": _headline(rows),
        "by_category": {c: _headline([row for row in rows if row["category"] == c]) for c in categories},
    }
