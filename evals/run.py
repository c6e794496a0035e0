"""The eval runner: every gold question through the chain users get, scored, written up, compared and gated.

`run_eval` writes results.json (per question, summary, settings; with `baseline`, the LangChain peer's too),
report.md and report.png to out_dir; `compare` diffs two results.json files; `check_gate` holds a test-split
summary against thresholds.toml's minimums and the recorded peer.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import tomllib
from collections import Counter
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from langchain_core.language_models import BaseChatModel
from tqdm import tqdm

from evals.answer_cache import AnswerCache, CachedChatModel
from evals.baseline import CHUNK_OVERLAP, CHUNK_SIZE, TOP_K, LangChainBaseline
from evals.dataset import (
    CORPORA,
    DEFAULT_CORPUS,
    DEFAULT_DATASET,
    EVALS_DIR,
    REPO_DIR,
    CorpusChoice,
    Split,
    by_corpus,
    corpus_dir,
    item_corpus,
    item_split,
    load_dataset,
)
from evals.metrics import LATENCY_KEYS, failed_scores, score_item, summarize
from ingest.pipeline import ingest
from rag.chain import AnswerChain, build_chain
from rag.config import RetrievalMode, Settings
from rag.errors import ConfigError
from rag.llm import get_chat_model
from rag.store import Store
from rag.types import Answer, Passage

DEFAULT_THRESHOLDS = EVALS_DIR / "thresholds.toml"
SECRET_SETTINGS = {"llm_api_key", "chroma_auth_header"}

# (summary key, label) in the order the report shows them
QUALITY_METRICS = (
    ("answer_correctness", "answer correctness"),
    ("citation_precision", "citation precision"),
    ("citation_recall", "citation recall"),
    ("citation_recall_verified", "citation recall (verified)"),
    ("malformed_rate", "malformed rate"),
    ("hit_at_k", "hit@k"),
    ("recall_at_k", "recall@k"),
    ("mrr", "MRR"),
    ("abstention_precision", "abstention precision"),
    ("abstention_recall", "abstention recall"),
    ("abstention_accuracy", "abstention accuracy"),
)
LATENCY_METRICS = tuple(
    (f"{stage}_{p}", f"{stage.replace('_', ' ')} {p} (s)")
    for stage in LATENCY_KEYS for p in ("p50", "p95")
)
# results.json files written before Answer.timings had these names (rag.types.Timings) are read with them
_OLD_LATENCY_NAMES = {"retrieval": "until_passages", "first_token": "until_first_token"}
# ours | peer | difference in report.md (first-token latency: a negative difference means ours is faster)
PEER_METRICS = (
    ("answer_correctness", "answer correctness"),
    ("abstention_accuracy", "abstention accuracy"),
    ("citation_precision", "citation precision"),
    ("citation_recall", "citation recall"),
    ("malformed_rate", "malformed rate"),
    ("until_first_token_p50", "until first token p50 (s)"),
    ("until_first_token_p95", "until first token p95 (s)"),
)
CHART_METRICS = ("answer_correctness", "citation_precision", "hit_at_k", "mrr", "abstention_accuracy")
GOOD_ABSTENTION = {"true_abstain", "answered"}


def run_eval(
    settings: Settings,
    dataset: Path = DEFAULT_DATASET,
    out_dir: Path | None = None,
    *,
    split: Split = "all",
    corpus: CorpusChoice = "all",
    limit: int | None = None,
    retrieval: RetrievalMode | None = None,
    k: int | None = None,
    data_dir: Path | None = None,
    baseline: bool = False,
    answer_cache: Path | None = None,
    progress: bool = True,
) -> dict:
    """Answer and score the split's questions on the corpus ("all": every corpus they are about); write the report
    files to out_dir (default: data_dir/eval).

    Without data_dir each corpus the questions need is ingested into a fresh temporary store of its own, so runs
    are reproducible, one corpus's figures never depend on the other's articles, and the user's own store is never
    touched; with data_dir the store already there is evaluated as it is (for the questions of one corpus).
    `baseline` also runs the LangChain peer (evals.baseline) on the same questions and corpus, after ours on
    that corpus rather than in turns, so neither keeps evicting the other's prompt from the model's cache.
    `answer_cache` (experiments only, never the gate) asks the model only for prompts that file has no answer
    for (evals.answer_cache). Returns what results.json holds: summary (with by_corpus), settings, rows (each
    with its corpus), and with the peer baseline_summary and baseline_rows.
    """
    if baseline and data_dir is not None:
        raise ConfigError("the LangChain peer reads the corpus files, so --baseline needs the sample corpus, "
                          "not an existing store (--data-dir)")
    out_dir = Path(out_dir) if out_dir is not None else settings.data_dir / "eval"
    overrides: dict = {key: value for key, value in (("retrieval", retrieval), ("top_k", k)) if value is not None}
    items = load_dataset(dataset, limit, split, corpus)
    if not items:
        raise ConfigError(f"{dataset} has no {split} questions"
                          + (f" on the {corpus} corpus" if corpus != "all" else "")
                          + " (an item without a split is dev)")
    groups = by_corpus(items)
    if data_dir is not None and len(groups) > 1:
        raise ConfigError(f"--data-dir evaluates one existing store, but these questions are about "
                          f"{len(groups)} corpora ({', '.join(groups)}): choose one with --corpus")
    rows: list[dict] = []
    peer_rows: list[dict] = []
    with ExitStack() as stack:
        def temporary(prefix: str) -> Path:
            return Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=prefix, ignore_cleanup_errors=True)))

        base_settings = settings.model_copy(update=overrides)
        cache = AnswerCache(answer_cache, base_settings) if answer_cache else None
        if cache:
            stack.callback(cache.close)

        def model(run_settings: Settings) -> BaseChatModel:
            llm = get_chat_model(run_settings)
            return CachedChatModel.wrapping(llm, cache) if cache else llm

        for name, group in groups.items():
            store_dir = temporary(f"newsrag-eval-{name}-") if data_dir is None else Path(data_dir)
            run_settings = base_settings.model_copy(update={"data_dir": store_dir})
            store = Store(run_settings)
            if data_dir is None:
                ingest([str(corpus_dir(name))], run_settings, store=store)
            chain = build_chain(run_settings, store=store, llm=model(run_settings))
            chain.warm_up()  # as `serve` does, so latency figures are what a user of the UI sees
            rows += [_row(item, run_settings.top_k, *_ask(chain, item))
                     for item in tqdm(group, desc=f"eval {name}", unit="q", disable=not progress)]
            if baseline:
                peer = LangChainBaseline(run_settings, corpus_dir(name), temporary(f"newsrag-baseline-{name}-"),
                                         llm=model(run_settings))
                peer.warm_up()
                peer_rows += [_row(item, TOP_K, *_ask_peer(peer, item))
                              for item in tqdm(group, desc=f"peer {name}", unit="q", disable=not progress)]

    run_info = {
        "dataset": str(dataset),
        "split": split,
        "corpus": corpus,
        "corpora": list(groups),
        "questions": len(rows),
        "store": None if data_dir is None else str(data_dir),
        "llm_backend": base_settings.llm_backend,
        "llm_model": base_settings.llm_model,
        "finished": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    if cache:  # such a run's latency figures are not the model's
        run_info["answer_cache"] = {"file": str(answer_cache), "answers_from_cache": cache.hits,
                                    "model_answers": cache.misses}
    summary = {"run": {"system": "newsrag", **run_info, "retrieval": base_settings.retrieval,
                       "k": base_settings.top_k}, **summarize_by_corpus(rows)}
    results: dict = {
        "summary": summary,
        "settings": base_settings.model_dump(mode="json", exclude=SECRET_SETTINGS | {"data_dir"}),
        "rows": rows,
    }
    if baseline:
        results["baseline_summary"] = {
            "run": {"system": "LangChain peer", **run_info,
                    "retrieval": f"Chroma similarity, chunks of {CHUNK_SIZE} characters ({CHUNK_OVERLAP} overlap)",
                    "k": TOP_K},
            **summarize_by_corpus(peer_rows),
        }
        results["baseline_rows"] = peer_rows
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
    report = render_report(summary, rows, results.get("baseline_summary"))
    (out_dir / "report.md").write_text(report, encoding="utf-8")
    plot_report(summary, out_dir / "report.png")
    return results


def summarize_by_corpus(rows: Sequence[Mapping]) -> dict:
    """summarize()'s overall and by_category over every row, and by_corpus: the same two tables per corpus."""
    return {**summarize(rows), "by_corpus": {name: summarize(group) for name, group in by_corpus(rows).items()}}


Asked = tuple[Answer | None, list[Passage], str | None]


def _ask(chain: AnswerChain, item: Mapping) -> Asked:
    """The answer, or the passages retrieved before the error and the error: one bad question never ends a run."""
    passages: list[Passage] = []
    try:
        for event in chain.stream({"question": item["question"], "chat_history": item.get("history") or []}):
            if isinstance(event, list):
                passages = event
            elif isinstance(event, Answer):
                return event, event.passages, None
        return None, passages, "the chain ended without an answer"
    except Exception as exc:  # recorded as this question's failure
        return None, passages, f"{type(exc).__name__}: {exc}"


def _ask_peer(peer: LangChainBaseline, item: Mapping) -> Asked:
    try:
        answer = peer.ask(item["question"], item.get("history") or [])
        return answer, answer.passages, None
    except Exception as exc:  # recorded as this question's failure, as for ours
        return None, [], f"{type(exc).__name__}: {exc}"


def _row(item: Mapping, k: int, answer: Answer | None, passages: list[Passage], error: str | None) -> dict:
    sources = {p.id: p.source for p in passages}
    return {
        "id": item["id"],
        "corpus": item_corpus(item),
        "split": item_split(item),
        "category": item["category"],
        "question": item["question"],
        "history": item.get("history") or [],
        "expected": item.get("answer", ""),
        "must_include": item.get("must_include", []),
        "must_not": item.get("must_not") or [],
        "answer": answer.answer if answer else "",
        "raw_answer": answer.raw_answer if answer else "",
        "reasked": answer.reasked if answer else False,
        "standalone_question": answer.standalone_question if answer else "",
        "abstained": answer.abstained if answer else None,
        "citations": [
            {"n": c.n, "passage_id": c.passage_id, "source": sources.get(c.passage_id, ""), "quote": c.quote}
            for c in (answer.citations if answer else [])
        ],
        "passages": [{"id": p.id, "source": p.source, "score": p.score, "similarity": p.similarity} for p in passages],
        "scores": score_item(item, answer, k) if answer else failed_scores(item, passages, k),
        "timings": answer.timings if answer else {},
        "error": error,
    }


# --- report --------------------------------------------------------------------------------------------------


def _fmt(value: object) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def failure_reason(row: Mapping) -> str | None:
    """Why a row counts as a failure in the report, or None when it passed."""
    scores = row["scores"]
    if row.get("error"):
        return f"error: {row['error']}"
    if scores["abstention"] == "false_abstain":
        return "abstained on an answerable question"
    if scores["abstention"] == "missed_abstain":
        return "answered an unanswerable question"
    if scores["answer_correct"] is False:
        return "wrong answer"
    if scores.get("malformed"):
        return f"malformed: {scores['malformed_reason']}"
    return None


def render_report(summary: Mapping, rows: Sequence[Mapping], peer_summary: Mapping | None = None) -> str:
    """report.md: run details, headline table, per-category table, ours beside the LangChain peer (when it
    ran), and every failure of ours with what was expected."""
    run, overall, by_category = summary["run"], summary["overall"], summary["by_category"]
    lines = [
        "# newsrag eval report",
        "",
        f"{run['questions']} questions ({run.get('split', 'all')} split) from `{run['dataset']}` "
        f"over {corpora_text(run)}; "
        f"retrieval {run['retrieval']}, k={run['k']}, LLM backend {run['llm_backend']}"
        + (f" ({run['llm_model']})" if run.get("llm_model") else "")
        + f"; finished {run['finished']}. Errors: {overall['errors']}.",
        *_cache_note(run.get("answer_cache")),
        "",
        "## Headline",
        "",
        "| metric | value |",
        "|---|---|",
        *(f"| {label} | {_fmt(overall[key])} |" for key, label in QUALITY_METRICS + LATENCY_METRICS),
        "",
        "## By category",
        "",
        "| category | n | " + " | ".join(label for _, label in QUALITY_METRICS) + " | total p50 (s) |",
        "|---|---|" + "---|" * (len(QUALITY_METRICS) + 1),
    ]
    for category, metrics in by_category.items():
        values = [_fmt(metrics[key]) for key, _ in QUALITY_METRICS]
        lines.append(f"| {category} | {metrics['n']} | " + " | ".join(values) + f" | {_fmt(metrics['total_p50'])} |")
    lines += ["", *render_by_corpus(summary)]
    if peer_summary is not None:
        lines += ["", *render_peer_comparison(summary, peer_summary)]
    failures = [(row, reason) for row in rows if (reason := failure_reason(row))]
    sealed = [row for row, _ in failures if item_split(row) == "test"]
    lines += ["", f"## Failures ({len(failures)})", ""]
    if not failures:
        lines.append("None.")
    if sealed:
        lines += [f"{len(sealed)} of them on the sealed test split, not listed: test results are read as the "
                  "aggregate figures above, never question by question (evals/README.md).", ""]
    for row, reason in ((row, reason) for row, reason in failures if item_split(row) != "test"):
        lines += [
            f"### {row['id']} ({row['category']}): {_oneline(reason)}",
            "",
            f"- Question: {_oneline(row['question'])}",
            *([f"- Standalone question: {_oneline(row['standalone_question'])}"] if row.get("history") else []),
            f"- Expected: {_oneline(row['expected'])} (must include: {_must_include_text(row['must_include'])})",
            f"- Got: {_oneline(row['answer']) or '(no answer)'}",
            "",
        ]
    return "\n".join(lines).rstrip() + "\n"


def corpora_text(run: Mapping) -> str:
    """Which articles a run read, for its report: each corpus in a store of its own, or the existing store."""
    if run.get("store"):
        return f"the existing store {run['store']} ({', '.join(run.get('corpora', []))} questions)"
    corpora = run.get("corpora")
    if not corpora:  # a results.json from before there were two corpora
        return f"the {run.get('corpus', 'sample corpus')}"
    return " and ".join(f"the {name} corpus" for name in corpora) + (
        ", each in a store of its own" if len(corpora) > 1 else "")


def render_by_corpus(summary: Mapping) -> list[str]:
    """Markdown lines: the headline metrics per corpus, then per corpus and category (answer correctness, abstention
    accuracy, citation precision), so a gain on one corpus never hides a loss on the other."""
    by_corpus_ = summary.get("by_corpus") or {}
    lines = ["## By corpus", "",
             "| corpus | n | " + " | ".join(label for _, label in QUALITY_METRICS) + " |",
             "|---|---|" + "---|" * len(QUALITY_METRICS)]
    for name, tables in by_corpus_.items():
        overall = tables["overall"]
        lines.append(f"| {name} | {overall['n']} | " + " | ".join(_fmt(overall[key]) for key, _ in QUALITY_METRICS)
                     + " |")
    keys = (("answer_correctness", "answer correctness"), ("abstention_accuracy", "abstention accuracy"),
            ("citation_precision", "citation precision"))
    lines += ["", "### By corpus and category", "",
              "| corpus | category | n | " + " | ".join(label for _, label in keys) + " |",
              "|---|---|---|" + "---|" * len(keys)]
    for name, tables in by_corpus_.items():
        for category, metrics in tables["by_category"].items():
            lines.append(f"| {name} | {category} | {metrics['n']} | "
                         + " | ".join(_fmt(metrics[key]) for key, _ in keys) + " |")
    return lines


def _cache_note(cache: Mapping | None) -> list[str]:
    if not cache:
        return []
    return ["", f"**An experiment's run:** {cache['answers_from_cache']} model calls were answered from "
            f"`{cache['file']}` and {cache['model_answers']} by the model (`--answer-cache`); latency figures "
            "are not the model's."]


def _difference(ours: float | None, peer: float | None) -> str:
    return f"{ours - peer:+.2f}" if ours is not None and peer is not None else "–"


def render_peer_comparison(summary: Mapping, peer_summary: Mapping) -> list[str]:
    """Markdown lines: ours | peer | difference overall, then "ours / peer (difference)" per category."""
    ours, peer = summary["overall"], peer_summary["overall"]
    lines = [
        "## Ours vs the LangChain peer",
        "",
        (f"The peer ({peer_summary['run']['retrieval']}, k={peer_summary['run']['k']}, the LangChain docs' RAG "
         "prompt, the same model; `evals/baseline.py`) answered the same questions. Difference = ours − peer "
         f"(for latency, negative means ours is faster). Peer errors: {peer['errors']}."),
        "",
        "| metric | ours | peer | difference |",
        "|---|---|---|---|",
        *(f"| {label} | {_fmt(ours[key])} | {_fmt(peer[key])} | {_difference(ours[key], peer[key])} |"
          for key, label in PEER_METRICS),
        "",
        "### By category (ours / peer (difference))",
        "",
        "| category | n | " + " | ".join(label for _, label in PEER_METRICS) + " |",
        "|---|---|" + "---|" * len(PEER_METRICS),
    ]
    for category, metrics in summary["by_category"].items():
        lines.append(_peer_cells(category, metrics, peer_summary["by_category"].get(category, {})))
    peer_corpora = peer_summary.get("by_corpus") or {}
    lines += ["", "### By corpus (ours / peer (difference))", "",
              "| corpus | n | " + " | ".join(label for _, label in PEER_METRICS) + " |",
              "|---|---|" + "---|" * len(PEER_METRICS)]
    for name, tables in (summary.get("by_corpus") or {}).items():
        lines.append(_peer_cells(name, tables["overall"], peer_corpora.get(name, {}).get("overall", {})))
    return lines


def _peer_cells(label: str, ours: Mapping, peer: Mapping) -> str:
    cells = [f"{_fmt(ours[key])} / {_fmt(peer.get(key))} ({_difference(ours[key], peer.get(key))})"
             for key, _ in PEER_METRICS]
    return f"| {label} | {ours['n']} | " + " | ".join(cells) + " |"


def _oneline(text: str) -> str:
    """Model output may span lines; one line keeps the Markdown list intact."""
    return " ".join(text.split())


def _must_include_text(groups: Sequence[Sequence[str]]) -> str:
    return " and ".join(" or ".join(f"'{alt}'" for alt in group) for group in groups) or "an abstention"


def plot_report(summary: Mapping, path: Path) -> None:
    """report.png: a grouped bar chart of the quality metrics per category (a missing metric draws no bar)."""
    if "MPLCONFIGDIR" not in os.environ:  # matplotlib wants a writable cache dir; $HOME may not be one
        os.environ["MPLCONFIGDIR"] = tempfile.mkdtemp(prefix="newsrag-mpl-")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    groups = {"overall": summary["overall"], **summary["by_category"]}
    labels = dict(QUALITY_METRICS)
    width = 0.8 / len(CHART_METRICS)
    figure = Figure(figsize=(max(8, 1.6 * len(groups)), 4.5), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    for i, key in enumerate(CHART_METRICS):
        values = [float("nan") if g[key] is None else g[key] for g in groups.values()]
        bars = axes.bar([x + (i - (len(CHART_METRICS) - 1) / 2) * width for x in range(len(groups))], values, width,
                        label=labels[key])
        # a printed value tells a score of 0 (a label, no bar) from a metric that does not apply (neither)
        axes.bar_label(bars, ["" if g[key] is None else f"{g[key]:.2f}" for g in groups.values()], fontsize=6)
    axes.set_xticks(range(len(groups)), [name.replace("_", " ") for name in groups])
    axes.set_ylim(0, 1.05)
    axes.set_ylabel("score")
    axes.set_title(f"newsrag eval: {summary['run']['retrieval']}, k={summary['run']['k']}, "
                   f"{summary['run']['llm_backend']}")
    axes.legend(loc="upper left", bbox_to_anchor=(1, 1), fontsize="small")
    axes.grid(axis="y", alpha=0.3)
    figure.savefig(path, dpi=120)


# --- compare and gate ------------------------------------------------------------------------------------------


def _load_results(path: Path) -> dict:
    results = json.loads(Path(path).read_text(encoding="utf-8"))
    for summary in (results.get("summary"), results.get("baseline_summary")):
        for table in [summary["overall"], *summary.get("by_category", {}).values()] if summary else []:
            for old, new in _OLD_LATENCY_NAMES.items():
                for p in ("p50", "p95"):
                    if f"{old}_{p}" in table:
                        table.setdefault(f"{new}_{p}", table.pop(f"{old}_{p}"))
    return results


def question_changes(old: Mapping, new: Mapping) -> tuple[list[str], list[str]]:
    """What improved and what regressed for one question: correctness, abstention, citation precision."""
    improved: list[str] = []
    regressed: list[str] = []
    o, n = old["scores"], new["scores"]
    was_right, is_right = o["answer_correct"], n["answer_correct"]
    if was_right is not None and is_right is not None and was_right != is_right:
        (improved if is_right else regressed).append("now correct" if is_right else "no longer correct")
    was_good, is_good = o["abstention"] in GOOD_ABSTENTION, n["abstention"] in GOOD_ABSTENTION
    if was_good != is_good:
        (improved if is_good else regressed).append(f"abstention {o['abstention']} → {n['abstention']}")
    old_cp, new_cp = o["citation_precision"], n["citation_precision"]
    if old_cp is not None and new_cp is not None and abs(new_cp - old_cp) > 1e-9:
        (improved if new_cp > old_cp else regressed).append(f"citation precision {old_cp:.2f} → {new_cp:.2f}")
    return improved, regressed


def compare(old_path: Path, new_path: Path) -> str:
    """Markdown: headline deltas, then per question what regressed and what improved from old to new."""
    old, new = _load_results(old_path), _load_results(new_path)
    old_overall, new_overall = old["summary"]["overall"], new["summary"]["overall"]
    old_split, new_split = (results["summary"]["run"].get("split", "all") for results in (old, new))
    lines = [f"# Compare `{old_path}` → `{new_path}`", "",
             f"Old: {old_split} split, {old_overall['n']} questions. "
             f"New: {new_split} split, {new_overall['n']} questions."]
    if old_split != new_split:
        lines.append("**The runs are on different splits: the headline figures are not comparable; the "
                     "per-question lists cover the questions in both.**")
    lines += ["", "| metric | old | new | delta |", "|---|---|---|---|"]
    for key, label in QUALITY_METRICS + LATENCY_METRICS:
        a, b = old_overall.get(key), new_overall.get(key)
        delta = f"{b - a:+.2f}" if a is not None and b is not None else "–"
        lines.append(f"| {label} | {_fmt(a)} | {_fmt(b)} | {delta} |")

    old_rows = {row["id"]: row for row in old["rows"]}
    new_rows = {row["id"]: row for row in new["rows"]}
    regressions, improvements = [], []
    sealed: Counter[str] = Counter()
    for qid in (qid for qid in new_rows if qid in old_rows):
        improved, regressed = question_changes(old_rows[qid], new_rows[qid])
        row = new_rows[qid]
        if item_split(row) == "test":  # the sealed split is read as counts only
            sealed.update(improved=int(bool(improved)), regressed=int(bool(regressed)))
            continue
        got = _oneline(row["answer"]) or "(no answer)"
        where = f"{qid} ({row['category']}, {row.get('split', 'dev')})"
        if regressed:
            regressions.append(f"- {where}: {'; '.join(regressed)}. Got: {got}")
        if improved:
            improvements.append(f"- {where}: {'; '.join(improved)}")
    if sealed:
        lines += ["", f"Test split (sealed, counted only): {sealed['regressed']} questions regressed, "
                  f"{sealed['improved']} improved."]
    lines += ["", f"## Regressed ({len(regressions)})", "", *(regressions or ["None."])]
    lines += ["", f"## Improved ({len(improvements)})", "", *(improvements or ["None."])]
    only_old = [qid for qid in old_rows if qid not in new_rows]
    only_new = [qid for qid in new_rows if qid not in old_rows]
    if only_old or only_new:
        lines += ["", "## Not compared", "", f"- only in old: {', '.join(only_old) or 'none'}",
                  f"- only in new: {', '.join(only_new) or 'none'}"]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class GateOutcome:
    """What the gate found: failures fail it; expected failures (thresholds.toml says so) and notes are printed."""

    failures: list[str]
    expected_failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures


def check_gate(
    summary: Mapping, thresholds_path: Path = DEFAULT_THRESHOLDS, peer_summary: Mapping | None = None
) -> GateOutcome:
    """Hold a test-split summary against thresholds.toml: the [gate] minimums, and [beats_baseline].

    beats_baseline compares with the peer of this run when it ran (peer_summary), else with the peer figures
    recorded in the results file thresholds.toml names: the gate itself never spends CI time on the peer.
    """
    config = tomllib.loads(Path(thresholds_path).read_text(encoding="utf-8"))
    split, corpus = summary["run"].get("split", "all"), summary["run"].get("corpus", "all")
    failures = [] if split == "test" else [f"the gate reads the test split; this run was on {split}"]
    if corpus != "all":
        failures.append(f"the gate reads the test split of every corpus ({', '.join(CORPORA)}); "
                        f"this run was on the {corpus} corpus")
    failures += _below_minimums(summary["overall"], config.get("gate", {}))
    if "beats_baseline" not in config:
        return GateOutcome(failures)
    section = config["beats_baseline"]
    peer, problem = _peer_overall(summary, section, peer_summary)
    if problem:
        return GateOutcome([*failures, f"beats_baseline: {problem}"])
    shortfalls = [f"beats_baseline: {message}" for message in _below_minimums(summary["overall"],
                  {key: peer.get(key) for key in section["metrics"]}, whose="the LangChain peer")]
    if not section.get("expected_to_fail", False):
        return GateOutcome(failures + shortfalls)
    notes = [] if shortfalls else ["beats_baseline now passes: set expected_to_fail = false in thresholds.toml"]
    return GateOutcome(failures, expected_failures=shortfalls, notes=notes)


def _below_minimums(overall: Mapping, minimums: Mapping, whose: str = "") -> list[str]:
    """One message per metric below its minimum, not measured, or not a metric at all (a typo must not pass)."""
    suffix = f" of {whose}" if whose else ""
    failures = []
    for key, minimum in minimums.items():
        if key not in overall:
            failures.append(f"{key} is not a metric of the summary")
        elif minimum is None:
            failures.append(f"{key}: no figure{suffix}")
        elif overall[key] is None:
            failures.append(f"{key} was not measured (minimum {minimum:.3g}{suffix})")
        elif overall[key] < minimum:
            failures.append(f"{key} {overall[key]:.3g} < {minimum:.3g}{suffix}")
    return failures


def _peer_overall(summary: Mapping, section: Mapping, peer_summary: Mapping | None) -> tuple[dict, str | None]:
    """The peer's overall figures on the test split, or why there are none to compare with."""
    if peer_summary is None:
        path = Path(section.get("results", ""))
        path = path if path.is_absolute() else REPO_DIR / path
        if not path.is_file():
            return {}, (f"no recorded peer results at {path}: record them with `newsrag eval --split test "
                        f"--baseline --out {path.parent}` and commit the directory")
        peer_summary = _load_results(path).get("baseline_summary")
        if peer_summary is None:
            return {}, f"{path} has no baseline_summary: it was not a --baseline run"
    recorded, ours = peer_summary["run"], summary["run"]
    # a record from before there were two corpora was on the Iraq corpus
    recorded_corpora, our_corpora = (run.get("corpora", [DEFAULT_CORPUS]) for run in (recorded, ours))
    if (recorded.get("split") != "test" or recorded["questions"] != ours["questions"]
            or recorded_corpora != our_corpora):
        return {}, (f"the peer ran on {recorded['questions']} {recorded.get('split', 'all')} questions "
                    f"({', '.join(recorded_corpora)}), this run on {ours['questions']} {ours.get('split', 'all')} "
                    f"questions ({', '.join(our_corpora)}): record the peer again on the whole test split")
    return dict(peer_summary["overall"]), None
