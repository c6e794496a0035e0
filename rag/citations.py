"""Checks every cited sentence against its passage after generation, and moves or flags what does not hold.

Support of a sentence by a passage mixes a lexical score (content words and, strictly, numbers that
the passage contains) with the embedding similarity of the sentence to the passage's closest sentence.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import Stemmer

from rag.dates import date_labels
from rag.embeddings import MiniLMEmbeddings
from rag.types import Citation, Passage

_MARKER = re.compile(r"\[(\d+(?:\s*[,;]\s*\d+)*)\]")
_SENTENCE_END = re.compile(r"""[.!?]["'”’)]*(?:\s*\[\d+\])*(?=\s+[A-Z0-9"'“(\[]|\s*$)""")
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]+|\d[\d,.]*")
_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")
_STOP = frozenset(
    "a an the and or but of to in on at by for from with as is are was were be been being it its this that these "
    "those there their they them he she his her we our you your i not no do does did has have had will would can "
    "could should may might also than then so such which who whom whose what when where why how into over after "
    "before about said says say according passage passages article articles report reported first second third".split()
)
_stemmer = Stemmer.Stemmer("english")

# Small models narrate their sources ("as stated in passage 2", "This is stated in the passage."): the
# markers already say it, so such phrases are cut and sentences that only narrate are dropped.
_META_PHRASE = re.compile(
    r",?\s*\b(?:as (?:stated|mentioned|reported|shown|seen|noted|indicated|described) in|according to|based on)"
    r"(?:\s+the)?(?:\s+(?:first|second|third|fourth|fifth|sixth|given|provided|above))?"
    r"(?:\s+(?:passages?|articles?)(?:\s*\d+)?(?:\s*(?:,|and)\s*(?:passages?\s*)?\d+)*(?:\s+in\b(?=\s*,))?|(?=\s*(?:[.\[]|$)))",
    re.IGNORECASE,
)
_META_SENTENCE = re.compile(r"^(?:this|that|it|these|which)\b[^.]*\b(?:passages?|articles?)\b", re.IGNORECASE)
SUPPORT_THRESHOLD = 0.45  # calibrated on the sample corpus; below it a citation does not hold


@dataclass(frozen=True)
class CheckedSentence:
    text: str  # without markers
    cited: tuple[int, ...]  # passage numbers after verification (1-based)
    supported: bool


def normalize_markers(answer: str, n_passages: int) -> str:
    """[1, 2] → [1][2]; markers that point to no passage are removed."""

    def fix(match: re.Match) -> str:
        numbers = [int(x) for x in re.split(r"\s*[,;]\s*", match.group(1))]
        return "".join(f"[{n}]" for n in numbers if 1 <= n <= n_passages)

    return re.sub(r"\s+(?=\[\d)", " ", _MARKER.sub(fix, answer)).strip()


def strip_narration(answer: str) -> str:
    """Remove "according to the passage"-style narration; the citation markers carry that information."""
    sentences = [_META_PHRASE.sub("", s) for s in split_sentences(answer)]
    kept = [s for s in sentences if not _META_SENTENCE.match(strip_markers(s))]
    tidy = [re.sub(r"^[,\s]+", "", s) for s in kept]
    return " ".join(t[:1].upper() + t[1:] for t in tidy if strip_markers(t).strip(" .,;:'\"“”‘’"))


def split_sentences(text: str) -> list[str]:
    """Sentences with their trailing [n] markers attached (models put them before or after the period)."""
    text, out, start = text.strip(), [], 0
    for match in _SENTENCE_END.finditer(text):
        out.append(text[start : match.end()].strip())
        start = match.end()
    out.append(text[start:].strip())
    return [s for s in out if s]


def markers_of(sentence: str) -> tuple[int, ...]:
    return tuple(dict.fromkeys(int(n) for n in re.findall(r"\[(\d+)\]", sentence)))


def strip_markers(sentence: str) -> str:
    return re.sub(r"\s*\[\d+\]", "", sentence).strip()


def _terms(text: str) -> set[str]:
    words = [w.lower().strip(".,") for w in _WORD.findall(text)]
    return set(_stemmer.stemWords([w for w in words if w not in _STOP and len(w) > 1]))


def _numbers(text: str) -> set[str]:
    return {n.replace(",", "").rstrip(".") for n in _NUMBER.findall(text)}


def lexical_support(sentence: str, passage_text: str) -> float:
    """Share of the sentence's content words found in the passage; 0 if it states a number the passage lacks."""
    claim = _terms(sentence)
    if not claim:
        return 0.0
    if not _numbers(sentence) <= _numbers(passage_text):
        return 0.0
    return len(claim & _terms(passage_text)) / len(claim)


def support_text(passage: Passage) -> str:
    """The passage as evidence: its text plus the title, publication date and resolved relative dates the prompt shows."""
    date = ""
    if passage.date:
        try:
            day = datetime.date.fromisoformat(passage.date)
            date = f"{passage.date} {day:%B} {day.day}, {day.year} {day:%b}"
        except ValueError:
            date = passage.date
    return f"{passage.title}. {date}. {passage.text} {' '.join(date_labels(passage.text, passage.date))}"


class CitationVerifier:
    """Scores, re-attributes and flags the sentences of an answer; finds the quote that supports each citation."""

    def __init__(self, embeddings: MiniLMEmbeddings, threshold: float = SUPPORT_THRESHOLD) -> None:
        self.embeddings = embeddings
        self.threshold = threshold

    def _passage_sentences(self, passages: Sequence[Passage]) -> tuple[list[list[str]], list[np.ndarray]]:
        sentences = [split_sentences(p.text) or [p.text] for p in passages]
        flat = [s for group in sentences for s in group]
        vectors = self.embeddings.embed(flat)
        out, offset = [], 0
        for group in sentences:
            out.append(vectors[offset : offset + len(group)])
            offset += len(group)
        return sentences, out

    def support_matrix(self, claims: Sequence[str], passages: Sequence[Passage]) -> tuple[np.ndarray, np.ndarray, list[list[str]]]:
        """support[i, j] of claim i by passage j, and the index of passage j's best sentence for claim i."""
        passage_sentences, passage_vectors = self._passage_sentences(passages)
        claim_vectors = self.embeddings.embed(list(claims))
        support = np.zeros((len(claims), len(passages)))
        best = np.zeros((len(claims), len(passages)), dtype=int)
        for j, passage in enumerate(passages):
            similarities = claim_vectors @ passage_vectors[j].T
            best[:, j] = similarities.argmax(axis=1)
            for i, claim in enumerate(claims):
                lexical = lexical_support(claim, support_text(passage))
                semantic = float(similarities[i].max())
                support[i, j] = 0.0 if lexical == 0.0 else 0.5 * lexical + 0.5 * semantic
        return support, best, passage_sentences

    def verify(self, answer: str, passages: Sequence[Passage]) -> tuple[str, list[Citation], list[str]]:
        """The answer with verified markers, its citations, and the sentences no passage supports."""
        answer = strip_narration(normalize_markers(answer, len(passages)))
        sentences = split_sentences(answer)
        if not sentences or not passages:
            return answer, [], []
        claims = [strip_markers(s) for s in sentences]
        support, best, passage_sentences = self.support_matrix(claims, passages)
        checked: list[CheckedSentence] = []
        for i, claim in enumerate(claims):
            holding = [n for n in markers_of(sentences[i]) if support[i, n - 1] >= self.threshold]
            top = int(support[i].argmax()) + 1
            if not holding and support[i, top - 1] >= self.threshold:
                holding = [top]  # a right fact under a wrong (or no) marker: cite the passage that holds it
            checked.append(CheckedSentence(claim, tuple(holding), bool(holding)))

        text = " ".join(_attach(s.text, s.cited) for s in checked)
        used = sorted({n for s in checked for n in s.cited})
        citations = []
        for n in used:
            passage = passages[n - 1]
            claim_rows = [i for i, s in enumerate(checked) if n in s.cited]
            row = max(claim_rows, key=lambda i: support[i, n - 1])
            quote = passage_sentences[n - 1][best[row, n - 1]]
            citations.append(Citation(
                n=n, passage_id=passage.id, title=passage.title, outlet=passage.outlet, date=passage.date,
                url=passage.url, text=passage.text, quote=quote,
            ))
        unsupported = [s.text for s in checked if not s.supported]
        return text, citations, unsupported


def _attach(sentence: str, cited: Sequence[int]) -> str:
    return f"{sentence} " + "".join(f"[{n}]" for n in cited) if cited else sentence
