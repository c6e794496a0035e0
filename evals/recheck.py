"""Answer-check ablation: a run's own model answers, checked again with each check after the model switched off.

Everything the chain does after the model wrote its answer (narration clean-up, citation verification,
polarity, qualifiers, the asked-thing and name checks, multi-part bookkeeping, conflict notes) is replayed on
the raw answers a `newsrag eval` run stored, so each check's effect on that run's figures is measured without
one model call: the whole table takes minutes where a model run takes most of an hour. The model's words are
fixed, so what a check changes in the prompt (dates anchored, passages focused, parts searched) is not
measured here; those need a model run each.

A row switches one check of rag.answer.pipeline off by name, through Settings.answer_checks (docs/checks.md lists
the names). A run over both corpora (dev and gen-dev together) replays each row over its own corpus's chain.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from evals.dataset import DEFAULT_DATASET, item_corpus, load_dataset
from evals.metrics import score_item, summarize
from evals.replay import replayed_chains, stored_passages
from rag.answer.pipeline import CHECK_NAMES
from rag.chain import AnswerChain
from rag.config import Settings
from rag.prompts import ABSTAIN_TEXT
from rag.types import Answer

METRICS = ("answer_correctness", "abstention_accuracy", "citation_precision", "malformed_rate")


def switched_off(chain: AnswerChain, name: str | None) -> AnswerChain:
    """The chain with one answer check switched off through Settings.answer_checks (None: every check on)."""
    if name is None:
        return chain
    settings = chain.settings.model_copy(update={"answer_checks": {**chain.settings.answer_checks, name: False}})
    return AnswerChain(settings, chain.retriever, chain.llm)


def recheck(results: Mapping, chains: Mapping[str, AnswerChain], gold: Mapping[str, Mapping]) -> dict:
    """The run's rows scored again from their raw answers with the current checks, each over its corpus's chain;
    returns summarize()'s shape."""
    rows = []
    for row in results["rows"]:
        item = gold[row["id"]]
        chain = chains[item_corpus(row)]
        passages = stored_passages(chain, row)
        standalone, raw = row["standalone_question"], row["raw_answer"]
        if not raw:  # declined before the model was asked (nothing relevant enough)
            answer = Answer(question=item["question"], standalone_question=standalone, answer=ABSTAIN_TEXT,
                            abstained=True, passages=passages)
        else:
            answer = chain.check(item["question"], standalone, raw, passages)
        rows.append({"id": row["id"], "category": item["category"],
                     "scores": score_item(item, answer, chain.settings.top_k), "timings": {}})
    return summarize(rows)


def answer_check_ablation(results_path: Path, settings: Settings, dataset: Path = DEFAULT_DATASET,
                          names: Sequence[str | None] = (None, *CHECK_NAMES),
                          progress: Callable[[str], None] | None = None) -> dict[str, dict]:
    """Per row (None: all checks on, else the check switched off), the run's figures from its own raw answers."""
    import json

    results = json.loads(results_path.read_text(encoding="utf-8"))
    gold = {item["id"]: item for item in load_dataset(dataset, None, "all")}
    with replayed_chains(results, settings) as chains:
        table = {}
        for name in names:
            if progress:
                progress(name or "all checks on")
            table[name or "all checks on"] = recheck(
                results, {corpus: switched_off(chain, name) for corpus, chain in chains.items()}, gold)
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
