"""Checks every cited sentence against its passage after generation, and moves or flags what does not hold.

Support of a sentence by a passage mixes a lexical score (content words and, strictly, numbers that
the passage contains) with the embedding similarity of the sentence to the passage's closest sentence.
"""

from __future__ import annotations

import dataclasses
import datetime
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import Stemmer

from rag.answer.lexicon import STOP_WORDS
from rag.attribution import asks_reporter, credited_source, unnamed_speaker
from rag.claims import (
    corrected_by_source,
    denies_the_asked,
    echoes_question,
    match_qualifiers,
    polarity_conflict,
    says_yes,
    without_yes_no,
)
from rag.dates import date_labels
from rag.embeddings import NewsEmbeddings
from rag.narration import strip_narration
from rag.questions import DURATION_PHRASE, asks_duration, named_outlets, names, outlet_name
from rag.quotes import quote_across, quote_holding, without_dates, without_worked_out_spans
from rag.text import markers_of, normalize_markers, split_sentences, strip_markers
from rag.types import Citation, Passage

_WORD = re.compile(r"[A-Za-z][A-Za-z'-]+|\d[\d,.]*")
_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")
_stemmer = Stemmer.Stemmer("english")

SAME_STATEMENT = 0.55  # MiniLM cosine: "still sees it as a strategic threat" vs its "no longer" source 0.64-0.89
RESTATED_TERMS = 0.5  # share of an echoing answer's content words its evidence sentence must hold (8 of 15 in one yes)
SUPPORT_THRESHOLD = 0.45  # calibrated on the sample corpus; below it a citation does not hold


@dataclass(frozen=True)
class CheckedSentence:
    text: str  # without markers
    cited: tuple[int, ...]  # passage numbers after verification (1-based)
    supported: bool
    quote: str = ""  # the source sentence the text was corrected from, when it was


def _terms(text: str) -> set[str]:
    words = [w.lower().strip(".,") for w in _WORD.findall(text)]
    return set(_stemmer.stemWords([w for w in words if w not in STOP_WORDS and len(w) > 1]))


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
    """The passage as evidence: its text plus the title, publication date and resolved relative dates the prompt
    shows."""
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

    def __init__(self, embeddings: NewsEmbeddings, threshold: float = SUPPORT_THRESHOLD) -> None:
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

    def support_matrix(
        self, claims: Sequence[str], passages: Sequence[Passage]
    ) -> tuple[np.ndarray, list[np.ndarray], list[list[str]]]:
        """support[i, j] of claim i by passage j, and each passage's claim-by-sentence cosine similarities."""
        passage_sentences, passage_vectors = self._passage_sentences(passages)
        claim_vectors = self.embeddings.embed(list(claims))
        support = np.zeros((len(claims), len(passages)))
        similarities = [claim_vectors @ vectors.T for vectors in passage_vectors]
        for j, passage in enumerate(passages):
            for i, claim in enumerate(claims):
                lexical = lexical_support(claim, support_text(passage))
                semantic = float(similarities[j][i].max())
                support[i, j] = 0.0 if lexical == 0.0 else 0.5 * lexical + 0.5 * semantic
        return support, similarities, passage_sentences

    def verify(
        self, answer: str, passages: Sequence[Passage], question: str = ""
    ) -> tuple[str, list[Citation], list[str]]:
        """The answer with verified markers, its citations, and the sentences no passage supports.

        A supported sentence that reverses its source's polarity is replaced by the source sentence, and a
        number that lost its qualifier gets it back; a number with a contradicting qualifier does not hold.
        """
        answer = strip_narration(normalize_markers(answer, len(passages)))
        sentences = _once_each(split_sentences(answer))
        if not sentences or not passages:
            return answer, [], []
        claims = [strip_markers(s) for s in sentences]
        # a span the model worked out ("3 days after …") is in no passage: the rest of the sentence must hold
        checked_claims = [DURATION_PHRASE.sub("", c) for c in claims] if asks_duration(question) else claims
        # … and so does a span that lies between two dates its passages state ("11 months" from August to July)
        checked_claims = [without_worked_out_spans(c, [(support_text(p), p.date) for p in
                                                       ([passages[n - 1] for n in markers_of(s)] or passages)])
                          for c, s in zip(checked_claims, sentences)]
        support, similarities, passage_sentences = self.support_matrix(checked_claims, passages)
        checked: list[CheckedSentence] = []
        facts_quotes: dict[tuple[int, int], str] = {}  # (sentence, passage number): the sentence that holds it
        outlets = sorted({p.outlet for passage in passages for p in (passage, *passage.also_reported_by)} - {""})
        named_by = [support_text(p) for p in passages] + outlets  # who the passages can be quoting
        for i, claim in enumerate(claims):
            holding = [n for n in markers_of(sentences[i]) if support[i, n - 1] >= self.threshold]
            top = int(support[i].argmax()) + 1
            if not holding and support[i, top - 1] >= self.threshold:
                holding = [top]  # a right fact under a wrong (or no) marker: cite the passage that holds it
            named = named_outlets(claim, outlets)
            if named and not any(attributes(passages[n - 1], named) for n in holding):
                # "The Levant Ledger said about 100 [2]" where [2] is another outlet's: only that outlet's own can
                holding = [n for n in range(1, len(passages) + 1)
                           if support[i, n - 1] >= self.threshold and attributes(passages[n - 1], named)]
            if unnamed_speaker(claim, named_by):
                holding = []  # "Iraq's parliament said …" over passages that never name a parliament
            credit = _credited_elsewhere(question, claim, holding, support[i],
                                         [sims[i] for sims in similarities], passage_sentences, self.threshold)
            if credit:
                checked.append(CheckedSentence(credit[1], (credit[0],), True, credit[1]))
                continue
            sources = [_same_statements(passage_sentences[n - 1], similarities[n - 1][i]) for n in holding]
            sources = [[*same, *(s for s in passage_sentences[n - 1] if s not in same and
                                 denies_the_asked(question, claim, s))] for n, same in zip(holding, sources)]
            result = _as_its_sources_say(claim, holding, sources, passages, question)
            if not result.quote:
                # the quote shown is a sentence stating every name, number and date the claim does, or none holds
                quotes = {n: _facts_quote(checked_claims[i], passages[n - 1], passage_sentences[n - 1],
                                          similarities[n - 1][i], named) for n in result.cited}
                kept = tuple(n for n in result.cited if quotes[n])
                if result.cited and not kept:  # another passage that holds the sentence may state it all
                    others = sorted((n for n in range(1, len(passages) + 1) if support[i, n - 1] >= self.threshold
                                     and n not in result.cited and (not named or attributes(passages[n - 1], named))),
                                    key=lambda n: -support[i, n - 1])
                    quotes |= {n: _facts_quote(checked_claims[i], passages[n - 1], passage_sentences[n - 1],
                                               similarities[n - 1][i], named) for n in others}
                    kept = next(((n,) for n in others if quotes[n]), ())
                undated = without_dates(checked_claims[i])
                if result.cited and not kept and undated != checked_claims[i]:  # a date no passage gives is cut
                    quotes = {n: _facts_quote(undated, passages[n - 1], passage_sentences[n - 1],
                                              similarities[n - 1][i], named) for n in result.cited}
                    kept = tuple(n for n in result.cited if quotes[n])
                    result = dataclasses.replace(result, text=without_dates(result.text)) if kept else result
                result = dataclasses.replace(result, cited=kept, supported=result.supported and bool(kept))
                facts_quotes.update({(i, n): quotes[n] or "" for n in kept})
            checked.append(result)

        shown = [_attach(s.text, s.cited) for s in checked]
        if checked[0].cited and not checked[0].quote and echoes_question(question, claims[0]):
            # "Yes, he did go see the troops [1]": what the article says follows it, from the passage it cites
            n = checked[0].cited[0]
            same = _same_statements(passage_sentences[n - 1], similarities[n - 1][0])
            evidence = next((e for e in same if _restates(e, claims[0])), "")
            if evidence and not _said_in(evidence, [s.text for s in checked]):
                checked[0] = dataclasses.replace(checked[0], quote=evidence)
                shown.insert(1, _attach(evidence, (n,)))
            elif not evidence and says_yes(claims[0]):
                # "Yes, the first figure stood [1]" with no sentence saying so: the model's guess at the verdict,
                # dropped from the answer (and listed as unsupported); what the passages do say stays
                checked[0] = CheckedSentence(claims[0], (), False)
                shown[0] = ""
        text = " ".join(s for s in shown if s)
        used = sorted({n for s in checked for n in s.cited})
        citations = []
        for n in used:
            passage = passages[n - 1]
            claim_rows = [i for i, s in enumerate(checked) if n in s.cited]
            row = max(claim_rows, key=lambda i: support[i, n - 1])
            closest = passage_sentences[n - 1][int(similarities[n - 1][row].argmax())]
            quote = checked[row].quote or facts_quotes.get((row, n)) or closest
            citations.append(Citation(
                n=n, passage_id=passage.id, title=passage.title, outlet=passage.outlet, date=passage.date,
                url=passage.url, text=passage.text, quote=quote,
            ))
        unsupported = [s.text for s in checked if not s.supported]
        return text, citations, unsupported


def _credited_elsewhere(
    question: str, claim: str, holding: Sequence[int], support: np.ndarray, similarities: Sequence[np.ndarray],
    passage_sentences: Sequence[Sequence[str]], threshold: float,
) -> tuple[int, str] | None:
    """For "which outlet reported …": the passage number and sentence that hold the claim best, when that
    sentence credits the fact to a source the claim does not name ("…, Arab News has reported" against "The Tigris
    Courier reported …") and the passages the claim cites hold it less. `support` and `similarities` are the
    claim's row: its support by each passage, its similarity to each passage's sentences."""
    if not asks_reporter(question):
        return None
    top = int(support.argmax())
    if support[top] < threshold or any(support[n - 1] >= support[top] for n in holding):
        return None
    sentence = passage_sentences[top][int(similarities[top].argmax())]
    credited = credited_source(sentence)
    if not credited or names(claim, credited):
        return None
    return top + 1, sentence


def _facts_quote(
    claim: str, passage: Passage, sentences: Sequence[str], similarity: np.ndarray, outlets: Sequence[str]
) -> str | None:
    """The passage's sentence (or adjacent pair, or headline, or sentences apart) stating every name, number and
    date of the claim; None when it does not (rag.quotes)."""
    closest = [int(k) for k in np.argsort(-similarity)]
    return (quote_holding(claim, sentences, closest, passage.date, outlets, passage.title)
            or quote_across(claim, sentences, passage.date, _terms, outlets, passage.title))


def attributes(passage: Passage, outlets: Sequence[str]) -> bool:
    """The passage is one of these outlets' reports (or a near-copy of one), or names the outlet in its text."""
    own = {p.outlet for p in (passage, *passage.also_reported_by)}
    return any(o in own or outlet_name(o) in passage.text for o in outlets)


def _once_each(sentences: Sequence[str]) -> list[str]:
    """The sentences without repeats: a small model caught in a loop writes one sentence again and again."""
    seen: set[str] = set()
    kept = []
    for sentence in sentences:
        key = " ".join(strip_markers(sentence).lower().split())
        if key not in seen:
            seen.add(key)
            kept.append(sentence)
    return kept


def _same_statements(sentences: Sequence[str], similarity: np.ndarray) -> list[str]:
    """The passage's statements about what the claim says (cosine >= SAME_STATEMENT), closest first.

    Not only the closest sentence: an FAQ's question ("Does Baghdad still ...?") is often closest to the claim
    that answers it, and states nothing. Not every sentence either: "The command did not say where the
    prisoners would be held" shares words with, but is not about, a claim on why they are moved (0.43).
    """
    order = np.argsort(-similarity)
    return [sentences[k] for k in order if similarity[k] >= SAME_STATEMENT and not sentences[k].rstrip().endswith("?")]


def _as_its_sources_say(
    claim: str, holding: Sequence[int], sources: Sequence[Sequence[str]], passages: Sequence[Passage], question: str
) -> CheckedSentence:
    """The claim checked for polarity (against every statement of each passage that supports it) and for
    number qualifiers."""
    for n, sentences in zip(holding, sources):
        for source in sentences:
            if polarity_conflict(claim, source, question):
                return CheckedSentence(corrected_by_source(claim, source, question), (n,), True, source)
    kept = []
    for n in holding:
        restored = match_qualifiers(claim, passages[n - 1].text)
        if restored is not None:
            claim = restored
            kept.append(n)
    return CheckedSentence(claim, tuple(kept), bool(kept))


def _restates(evidence: str, claim: str) -> bool:
    """The sentence holds half the claim's content words: it says the same thing, not only of the same place."""
    terms = {t[:5] for t in _terms(without_yes_no(claim))}  # "Syrian frontier" / "border with Syria"
    return len(terms & {t[:5] for t in _terms(evidence)}) >= RESTATED_TERMS * len(terms)


def _said_in(sentence: str, texts: Sequence[str]) -> bool:
    """Every content word of the sentence is already in the texts."""
    return _terms(sentence) <= _terms(" ".join(texts))


def _attach(sentence: str, cited: Sequence[int]) -> str:
    return f"{sentence} " + "".join(f"[{n}]" for n in cited) if cited else sentence
