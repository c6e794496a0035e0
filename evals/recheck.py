"""Answer-check ablation: a run's own model answers, checked again with each check after the model switched off.

Everything the chain does after the model wrote its answer (narration clean-up, citation verification,
polarity, qualifiers, the asked-thing and name checks, multi-part bookkeeping, conflict notes) is replayed on
the raw answers a `newsrag eval` run stored, so each check's effect on that run's figures is measured without
one model call: the whole table takes minutes where a model run takes most of an hour. The model's words are
fixed, so what a check changes in the prompt (dates anchored, passages focused, parts searched) is not
measured here; those need a model run each.

A row switches one check off by putting a do-nothing in its place for the length of the replay.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

from evals.dataset import DEFAULT_DATASET, by_corpus, load_dataset
from evals.metrics import score_item, summarize
from evals.replay import replayed_chain, stored_passages
from rag import questions
from rag.chain import AnswerChain
from rag.config import Settings
from rag.errors import ConfigError
from rag.prompts import ABSTAIN_TEXT
from rag.types import Answer

_NEVER = re.compile(r"(?!)")


def _declined_without_reports(self: AnswerChain, question: str, standalone: str, passages: list, *_: Any) -> Answer:
    return Answer(question=question, standalone_question=standalone, answer=ABSTAIN_TEXT, abstained=True,
                  passages=passages)


# name → the patches that switch that check off (target, replacement)
CHECKS: dict[str, list[tuple[str, Any]]] = {
    "names the passages never mention": [("rag.chain.unmentioned_names", lambda question, texts: [])],
    "an ordinal past first is named like a name": [("rag.questions._ORDINAL", _NEVER)],
    "a count is not a date or a span": [("rag.questions._counts_only", lambda question, answer: answer)],
    "reports instead of a decline": [("rag.chain.AnswerChain._declined", _declined_without_reports)],
    "conflict note": [("rag.chain.with_conflict_note", lambda q, text, citations, *_: (text, citations)),
                      ("rag.chain.AnswerChain._declined", _declined_without_reports)],
    "reports below k for a question comparing them": [("rag.chain.compares_reports", lambda question: False)],
    "reports below k for a declined count or date": [("rag.chain.asks_figure", lambda question: False)],
    "Americans counted as US personnel": [("rag.conflicts._NATIONALS", {})],
    "the year of a month pair": [("rag.conflicts._MONTH_BEFORE_DATED_MONTH", _NEVER)],
    "a comparison frame is not what is compared": [("rag.conflicts._COMPARISON_FRAME", _NEVER)],
    "one source's figure gets no note": [("rag.conflicts._asks_one_source", lambda question, part: False)],
    "three markers per figure": [("rag.conflicts.MARKERS_PER_FIGURE", 99)],
    "yes to another value is no": [("rag.chain.no_for_another_value", lambda question, answer: answer)],
    "asked-thing coverage": [("rag.chain.covers_asked_thing", lambda *_: True)],
    "the asked act in the supporting sentences": [("rag.chain.covers_asked_action", lambda *_: True)],
    "who leads, from leadership words": [("rag.questions._ASKS_WHO_LEADS", _NEVER)],
    "an asked act near at 0.50, not at 0.45": [("rag.questions.NEAR_ACTION", questions.NEAR_WORD)],
    "a function word is no near word": [("rag.questions.FUNCTION_WORDS", frozenset())],
    "a count is a report of the asked act": [("rag.conflicts.covers_asked_action", lambda *_: True)],
    "what was said about the asked topic": [("rag.chain.covers_said_topic", lambda *_: True)],
    "a where answer names a place the question does not": [
        ("rag.questions._names_beyond", lambda question, answer: bool(questions._NAME.search(answer)))],
    "an either-or answer picks one": [("rag.questions._CHOICE", _NEVER)],
    "what the reports say was not disclosed": [("rag.chain.not_told", lambda question, texts: None)],
    "cited passages name what was asked": [("rag.chain._cited", lambda citations, shown: list(shown))],
    "span of two dates worked out": [("rag.chain._worked_out_span", lambda question, answer, citations: "")],
    "the order two dates imply": [("rag.chain.worked_out_order", lambda question, answer: "")],
    "the dates a span rests on": [("rag.chain.MENTIONED_DATE", _NEVER)],
    "cut-off end marked or dropped": [("rag.chain.without_unfinished_end", lambda answer: answer)],
    "future question, past date": [("rag.chain.asks_future_time", lambda question: False)],
    "polarity": [("rag.citations.polarity_conflict", lambda *_: False)],
    "a named outlet's claim held by its own report": [("rag.citations.named_outlets", lambda *_: [])],
    "the outlet the stating sentence credits": [("rag.citations.asks_reporter", lambda question: False)],
    "the quoted speaker named in a passage": [("rag.citations.unnamed_speaker", lambda sentence, texts: "")],
    "a yes against any sentence of its passage": [("rag.citations.denies_the_asked", lambda *_: False)],
    "a negated telling denies only a question about a telling": [
        ("rag.claims._asks_about_telling", lambda question: True)],
    "what was taken is not its holder's": [("rag.claims._TAKING", _NEVER)],
    "the first N is the first group's size": [("rag.conflicts._ORDINAL_BEFORE", _NEVER)],
    "an echoing yes or no followed by its evidence": [("rag.citations.echoes_question", lambda *_: False)],
    "an echoing yes without evidence dropped": [("rag.citations.says_yes", lambda claim: False)],
    "a passage's own yes or no to the question": [("rag.chain.passage_answer", lambda *_: None)],
    "a leaving asked is affirmed by a presence denied": [("rag.claims._asks_leaving", lambda question: False)],
    "a publication date names its month": [("rag.chain.published_label", lambda date: date or "")],
    "a dropped last part answered from a passage": [
        ("rag.chain.with_part_evidence", lambda parts, answer, passages, open_=(): (answer, []))],
    "leaving where the source arrives": [("rag.claims._ARRIVING", _NEVER)],
    "still where the source has them taken from": [("rag.claims._TAKEN_FROM", _NEVER)],
    "still held by whom the source has it taken from": [("rag.claims._TAKEN_FROM_HOLDER", _NEVER)],
    "still held by whom the source has another hold instead": [("rag.claims._REPLACED", _NEVER)],
    "a which-prison answer names one": [("rag.chain.names_asked_place", lambda question, answer: True)],
    "an answer about an outlet cites it": [("rag.chain.asked_outlets", lambda question, outlets: [])],
    "one source asked for in mid-question": [
        ("rag.conflicts._ACCORDING", re.compile(r"^\W*according to\b", re.IGNORECASE))],
    "still holding what the source has them hand over": [
        ("rag.claims._still_holds_what_source_hands_over", lambda claim, source: False)],
    "the question said back is a yes": [("rag.claims._yes_in_other_words", lambda question, claim: False)],
    "a short name's long form is mentioned": [("rag.questions._with_long_forms", lambda words: words)],
    "number qualifiers": [("rag.citations.match_qualifiers", lambda claim, source: claim)],
    "worked-out spans": [("rag.citations.asks_duration", lambda question: False)],
    "repeated sentences": [("rag.citations._once_each", list)],
    "narration clean-up": [("rag.citations.strip_narration", lambda answer: answer)],
    "stray quote marks, source clauses and list-item fragments": [
        ("rag.citations._DETACHED_CLOSING_QUOTE", _NEVER), ("rag.citations._EVIDENCE_CLAUSE", _NEVER),
        ("rag.citations._unpaired_quote_dropped", lambda sentence: sentence),
        ("rag.citations._joined_continuations", lambda sentences: sentences)],
    "marker lists": [("rag.text._MARKER_LIST_GLUE", _NEVER)],
}
METRICS = ("answer_correctness", "abstention_accuracy", "citation_precision", "malformed_rate")


@contextmanager
def switched_off(name: str | None) -> Iterator[None]:
    """The chain with one check replaced by a do-nothing (None: every check on)."""
    with ExitStack() as stack:
        for target, replacement in CHECKS[name] if name else []:
            stack.enter_context(mock.patch(target, replacement))
        yield


def recheck(results: Mapping, settings: Settings, chain: AnswerChain, gold: Mapping[str, Mapping]) -> dict:
    """The run's rows scored again from their raw answers with the current checks; returns summarize()'s shape."""
    rows = []
    for row in results["rows"]:
        item = gold[row["id"]]
        passages = stored_passages(chain, row)
        standalone, raw = row["standalone_question"], row["raw_answer"]
        if not raw:  # declined before the model was asked (nothing relevant enough)
            answer = Answer(question=item["question"], standalone_question=standalone, answer=ABSTAIN_TEXT,
                            abstained=True, passages=passages)
        else:
            answer = chain.check(item["question"], standalone, raw, passages)
        rows.append({"id": row["id"], "category": item["category"], "scores": score_item(item, answer, settings.top_k),
                     "timings": {}})
    return summarize(rows)


def answer_check_ablation(results_path: Path, settings: Settings, dataset: Path = DEFAULT_DATASET,
                          names: Sequence[str | None] = (None, *CHECKS),
                          progress: Callable[[str], None] | None = None) -> dict[str, dict]:
    """Per row (None: all checks on, else the check switched off), the run's figures from its own raw answers."""
    import json

    results = json.loads(results_path.read_text(encoding="utf-8"))
    gold = {item["id"]: item for item in load_dataset(dataset, None, "all")}
    corpora = list(by_corpus(results["rows"])) or ["iraq"]
    if len(corpora) > 1:  # recheck() replays every row over one chain's corpus
        raise ConfigError(f"{results_path} has rows from {len(corpora)} corpora ({', '.join(corpora)}): recheck a "
                          "run of one corpus (newsrag eval --corpus NAME)")
    with replayed_chain(results, settings, corpora[0]) as chain:
        table = {}
        for name in names:
            if progress:
                progress(name or "all checks on")
            with switched_off(name):
                table[name or "all checks on"] = recheck(results, chain.settings, chain, gold)
    return table


def render_answer_check_ablation(table: Mapping[str, Mapping]) -> str:
    """Markdown: one row per check switched off, its figures and the difference from all checks on."""
    base = table["all checks on"]["overall"]
    lines = ["| checks | " + " | ".join(METRICS) + " |", "|---|" + "---|" * len(METRICS)]
    for name, summary in table.items():
        cells = []
        for metric in METRICS:
            value, reference = summary["overall"].get(metric), base.get(metric)
            if value is None:
                cells.append("–")
            elif name == "all checks on" or reference is None:
                cells.append(f"{value:.3f}")
            else:
                cells.append(f"{value:.3f} ({value - reference:+.3f})")
        label = name if name == "all checks on" else f"without {name}"
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
