"""The eval runner: every gold question through the chain users get, scored, written up, compared and gated.

`run_eval` writes results.json (per question, summary, settings), report.md and report.png to out_dir;
`compare` diffs two results.json files; `check_gate` holds a summary against thresholds.toml.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import tomllib
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from pathlib import Path

from tqdm import tqdm

from evals.metrics import failed_scores, score_item, summarize
from ingest.pipeline import ingest, sample_corpus_dir
from rag.chain import AnswerChain, build_chain
from rag.config import RetrievalMode, Settings
from rag.store import Store
from rag.types import Answer, Passage

EVALS_DIR = Path(__file__).resolve().parent
DEFAULT_DATASET = EVALS_DIR / "data" / "gold.jsonl"
DEFAULT_THRESHOLDS = EVALS_DIR / "thresholds.toml"
SECRET_SETTINGS = {"llm_api_key", "chroma_auth_header"}

# (summary key, label) in the order the report shows them
QUALITY_METRICS = (
    ("answer_correctness", "answer correctness"),
    ("citation_precision", "citation precision"),
    ("citation_recall", "citation recall"),
    ("hit_at_k", "hit@k"),
    ("recall_at_k", "recall@k"),
    ("mrr", "MRR"),
    ("abstention_precision", "abstention precision"),
    ("abstention_recall", "abstention recall"),
    ("abstention_accuracy", "abstention accuracy"),
)
LATENCY_METRICS = tuple(
    (f"{stage}_{p}", f"{stage.replace('_', ' ')} {p} (s)")
    for stage in ("retrieval", "first_token", "total") for p in ("p50", "p95")
)
CHART_METRICS = ("answer_correctness", "citation_precision", "hit_at_k", "mrr", "abstention_accuracy")
GOOD_ABSTENTION = {"true_abstain", "answered"}


def load_dataset(path: Path, limit: int | None = None) -> list[dict]:
    """Gold items from a JSONL file, the first `limit` of them when given."""
    lines = [line for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
    items = [json.loads(line) for line in lines]
    return items[:limit] if limit is not None else items


def run_eval(
    settings: Settings,
    dataset: Path = DEFAULT_DATASET,
    out_dir: Path | None = None,
    *,
    limit: int | None = None,
    retrieval: RetrievalMode | None = None,
    k: int | None = None,
    data_dir: Path | None = None,
    progress: bool = True,
) -> dict:
    """Answer and score every question; write the report files to out_dir (default: data_dir/eval); return the summary.

    Without data_dir the sample corpus is ingested into a fresh temporary store, so runs are reproducible
    and never touch the user's own store; with data_dir the store already there is evaluated as it is.
    """
    out_dir = Path(out_dir) if out_dir is not None else settings.data_dir / "eval"
    overrides: dict = {key: value for key, value in (("retrieval", retrieval), ("top_k", k)) if value is not None}
    items = load_dataset(dataset, limit)
    with ExitStack() as stack:
        if data_dir is None:
            store_dir = Path(stack.enter_context(
                tempfile.TemporaryDirectory(prefix="newsrag-eval-", ignore_cleanup_errors=True)))
        else:
            store_dir = Path(data_dir)
        run_settings = settings.model_copy(update={**overrides, "data_dir": store_dir})
        store = Store(run_settings)
        if data_dir is None:
            ingest([str(sample_corpus_dir())], run_settings, store=store)
        chain = build_chain(run_settings, store=store)
        chain.warm_up()  # as `serve` does, so latency figures are what a user of the UI sees
        rows = [_evaluate(chain, item) for item in tqdm(items, desc="eval", unit="q", disable=not progress)]

    summary = {
        "run": {
            "dataset": str(dataset),
            "questions": len(rows),
            "corpus": "sample corpus" if data_dir is None else str(data_dir),
            "retrieval": run_settings.retrieval,
            "k": run_settings.top_k,
            "llm_backend": run_settings.llm_backend,
            "llm_model": run_settings.llm_model,
            "finished": time.strftime("%Y-%m-%d %H:%M:%S"),
        },
        **summarize(rows),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    results = {
        "summary": summary,
        "settings": run_settings.model_dump(mode="json", exclude=SECRET_SETTINGS),
        "rows": rows,
    }
    (out_dir / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
    (out_dir / "report.md").write_text(render_report(summary, rows), encoding="utf-8")
    plot_report(summary, out_dir / "report.png")
    return summary


def _ask(chain: AnswerChain, item: Mapping) -> tuple[Answer | None, list[Passage], str | None]:
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


def _evaluate(chain: AnswerChain, item: Mapping) -> dict:
    k = chain.settings.top_k
    answer, passages, error = _ask(chain, item)
    sources = {p.id: p.source for p in passages}
    return {
        "id": item["id"],
        "category": item["category"],
        "question": item["question"],
        "history": item.get("history") or [],
        "expected": item.get("answer", ""),
        "must_include": item.get("must_include", []),
        "answer": answer.answer if answer else "",
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
    return None


def render_report(summary: Mapping, rows: Sequence[Mapping]) -> str:
    """report.md: run details, headline table, per-category table, and every failure with what was expected."""
    run, overall, by_category = summary["run"], summary["overall"], summary["by_category"]
    lines = [
        "# newsrag eval report",
        "",
        f"{run['questions']} questions from `{run['dataset']}` over the {run['corpus']}; "
        f"retrieval {run['retrieval']}, k={run['k']}, LLM backend {run['llm_backend']}"
        + (f" ({run['llm_model']})" if run.get("llm_model") else "")
        + f"; finished {run['finished']}. Errors: {overall['errors']}.",
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
    failures = [(row, reason) for row in rows if (reason := failure_reason(row))]
    lines += ["", f"## Failures ({len(failures)})", ""]
    if not failures:
        lines.append("None.")
    for row, reason in failures:
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
    return json.loads(Path(path).read_text(encoding="utf-8"))


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
    lines = [f"# Compare `{old_path}` → `{new_path}`", "", "| metric | old | new | delta |", "|---|---|---|---|"]
    for key, label in QUALITY_METRICS + LATENCY_METRICS:
        a, b = old_overall.get(key), new_overall.get(key)
        delta = f"{b - a:+.2f}" if a is not None and b is not None else "–"
        lines.append(f"| {label} | {_fmt(a)} | {_fmt(b)} | {delta} |")

    old_rows = {row["id"]: row for row in old["rows"]}
    new_rows = {row["id"]: row for row in new["rows"]}
    regressions, improvements = [], []
    for qid in (qid for qid in new_rows if qid in old_rows):
        improved, regressed = question_changes(old_rows[qid], new_rows[qid])
        row = new_rows[qid]
        got = _oneline(row["answer"]) or "(no answer)"
        if regressed:
            regressions.append(f"- {qid} ({row['category']}): {'; '.join(regressed)}. Got: {got}")
        if improved:
            improvements.append(f"- {qid} ({row['category']}): {'; '.join(improved)}")
    lines += ["", f"## Regressed ({len(regressions)})", "", *(regressions or ["None."])]
    lines += ["", f"## Improved ({len(improvements)})", "", *(improvements or ["None."])]
    only_old = [qid for qid in old_rows if qid not in new_rows]
    only_new = [qid for qid in new_rows if qid not in old_rows]
    if only_old or only_new:
        lines += ["", "## Not compared", "", f"- only in old: {', '.join(only_old) or 'none'}",
                  f"- only in new: {', '.join(only_new) or 'none'}"]
    return "\n".join(lines) + "\n"


def check_gate(summary: Mapping, thresholds_path: Path = DEFAULT_THRESHOLDS) -> list[str]:
    """Each gated metric below its minimum (or not measured at all) as one message; an empty list passes."""
    gate = tomllib.loads(Path(thresholds_path).read_text(encoding="utf-8")).get("gate", {})
    overall = summary["overall"]
    failures = []
    for key, minimum in gate.items():
        if key not in overall:
            failures.append(f"{key} is not a metric of the summary")
        elif overall[key] is None:
            failures.append(f"{key} was not measured (minimum {minimum:.3g})")
        elif overall[key] < minimum:
            failures.append(f"{key} {overall[key]:.3g} < {minimum:.3g}")
    return failures
