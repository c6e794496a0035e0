"""Runs the chosen benchmarks in a temporary directory and turns their results into one table.

Every benchmark uses an embedded store of its own under the run's directory, never the user's store,
and is bounded: sizes come from the arguments, and defaults finish in minutes on 2 cores.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Collection, Sequence
from contextlib import ExitStack
from pathlib import Path

from evals.bench.answer import bench_answer
from evals.bench.corpus import write_jsonl
from evals.bench.embedding import bench_embedding
from evals.bench.ingestion import bench_ingest, chunk_texts
from evals.bench.llm_grid import bench_llm_grid
from evals.bench.measure import Contention, machine
from evals.bench.memory import bench_memory
from evals.bench.retrieval import bench_retrieval
from rag.config import Settings
from rag.embeddings import get_embeddings
from rag.llm import shutdown_local_models

BENCHMARKS = ("ingest", "reingest", "retrieval", "answer", "memory", "embedding", "llm-grid")
DEFAULT_BENCHMARKS = BENCHMARKS[:-1]  # llm-grid loads the model ~20 times: asked for by name only
TARGETS = {
    "ours_vs_raw": 0.85,  # at least, of the raw embedding throughput
    "ours_vs_langchain": 1.0,  # more than
    "reingest_percent": 5.0,  # at most, of the first ingest's time
    "hybrid_p95_ms": 50.0,  # at most, at the largest size (100k chunks)
    "passages_s": 0.5,  # p95, at most
    "first_token_s": 5.0,  # issue 16
    "full_answer_s": 8.0,
    "one_shot_over_warm_s": 1.5,  # a one-shot ask's first token after the model's load, beyond the warm one
    "peak_rss_gib": 3.0,
}
Row = tuple[str, str, str, str, str]  # benchmark, figure, value, target, met


def run_bench(
    settings: Settings,
    what: Collection[str] = DEFAULT_BENCHMARKS,
    *,
    articles: int = 1000,
    retrieval_sizes: Sequence[int] = (10_000, 100_000),
    queries: int = 50,
    questions: int = 5,
    embedding_texts: int = 128,
    workdir: Path | None = None,
    log: Callable[[str], None] = lambda message: None,
) -> dict:
    """Run the benchmarks in `what` (in the order of BENCHMARKS) and return their results with the machine's."""
    unknown = set(what) - set(BENCHMARKS)
    if unknown:
        raise ValueError(f"unknown benchmark(s) {', '.join(sorted(unknown))}; valid: {', '.join(BENCHMARKS)}")
    results: dict = {"machine": machine(), "run": {
        "benchmarks": [name for name in BENCHMARKS if name in what], "articles": articles,
        "retrieval_sizes": sorted(retrieval_sizes), "queries": queries, "questions": questions,
        "embed_batch_size": settings.embed_batch_size, "embed_threads": settings.embed_threads,
        "store": "embedded Chroma",
    }}
    with ExitStack() as stack:
        root = workdir or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="newsrag-bench-")))
        load: dict[str, float | None] = {}
        results["other_processes_cores"] = load

        def at(name: str) -> Settings:
            return settings.model_copy(update={"data_dir": root / name, "chroma_host": None})

        if "ingest" in what or "reingest" in what:
            compare = "ingest" in what
            log(f"ingest: {articles} generated articles"
                + (" (ours, then the raw model and LangChain on the same corpus)" if compare else ", then again"))
            corpus = write_jsonl(root / "corpus.jsonl", articles)
            # one JSONL file of 10,000 articles is ~30 MB: above the default cap on a single file
            fits = at("ingest").model_copy(update={"max_file_bytes": max(settings.max_file_bytes,
                                                                          corpus.stat().st_size)})
            with Contention() as others:
                results["ingest"] = bench_ingest(corpus, fits, root, compare=compare, again="reingest" in what)
            load["ingest"] = others.cores
        if "retrieval" in what or "memory" in what:
            sizes = retrieval_sizes if "retrieval" in what else [max(retrieval_sizes)]
            log(f"retrieval: filling a store to {', '.join(f'{n:,}' for n in sorted(sizes))} chunks, "
                f"{queries} queries per mode")
            with Contention() as others:
                results["retrieval"] = bench_retrieval(at("retrieval"), sizes, queries)
            load["retrieval"] = others.cores
        if "answer" in what:
            log(f"answer: {questions} gold questions with the {settings.llm_backend} model")
            with Contention() as others:
                results["answer"] = bench_answer(at("answer"), questions)
            load["answer"] = others.cores
            shutdown_local_models()
        if "memory" in what:
            chunks = results["retrieval"]["sizes"][str(max(sizes))]["chunks"]
            log(f"memory: `newsrag serve` over {chunks:,} chunks, one question")
            results["memory"] = bench_memory(at("retrieval"), chunks)
        if "embedding" in what:
            log(f"embedding: {embedding_texts} chunk texts per batch size and thread count")
            sample = write_jsonl(root / "embedding.jsonl", max(1, embedding_texts // 2))
            texts = chunk_texts(sample, settings, get_embeddings(settings))[:embedding_texts]
            with Contention() as others:
                results["embedding"] = bench_embedding(texts, settings)
            load["embedding"] = others.cores
        if "llm-grid" in what:
            log("llm-grid: each llama.cpp setting on a fresh server, beside a run of the defaults")
            results["llm_grid"] = bench_llm_grid(settings)
    return results


def _met(ok: bool) -> str:
    return "yes" if ok else "NO"


def _ms(figures: dict) -> str:
    return f"{figures['p50_ms']:.1f} / {figures['p95_ms']:.1f} ms"


def _s(figures: dict) -> str:
    if not figures["n"]:
        return "n/a"
    return f"{figures['p50_s']:.2f} / {figures['p95_s']:.2f} s"


def rows(results: dict) -> list[Row]:
    """The table: one row per figure, with its target and whether it was met where the issue sets one."""
    out: list[Row] = []
    ingest = results.get("ingest")
    if ingest:
        ours = ingest["ours"]
        out.append(("ingest", f"ours: {ours['articles']:,} articles, {ours['chunks']:,} chunks",
                    f"{ours['articles_per_s']} articles/s, {ours['chunks_per_s']} chunks/s", "", ""))
        out.append(("ingest", "  time in embedding / everything else",
                    f"{ours['embed_seconds']} s / {ours['other_seconds']} s", "", ""))
    if ingest and "raw_embedding" in ingest:
        raw, chain = ingest["raw_embedding"], ingest["langchain"]
        out.append(("ingest", "raw embedding, same chunk texts", f"{raw['chunks_per_s']} chunks/s", "", ""))
        out.append(("ingest", f"LangChain baseline ({chain['chunks']:,} chunks)",
                    f"{chain['articles_per_s']} articles/s, {chain['chunks_per_s']} chunks/s", "", ""))
        out.append(("ingest", "word pieces embedded per article: ours / LangChain",
                    f"{raw['wordpieces'] / ours['articles']:.0f} / {chain['wordpieces'] / chain['articles']:.0f}",
                    "", ""))
        out.append(("ingest", "word pieces/s: ours / raw / LangChain",
                    f"{ours['wordpieces_per_s']:.0f} / {raw['wordpieces_per_s']:.0f} / {chain['wordpieces_per_s']:.0f}",
                    "", ""))
        out.append(("ingest", "ours / raw (chunks/s)", f"{ingest['ours_vs_raw']}x",
                    f">= {TARGETS['ours_vs_raw']}x", _met((ingest["ours_vs_raw"] or 0) >= TARGETS["ours_vs_raw"])))
        out.append(("ingest", "ours / LangChain (articles/s)", f"{ingest['ours_vs_langchain']}x",
                    "> 1x", _met((ingest["ours_vs_langchain"] or 0) > TARGETS["ours_vs_langchain"])))
    if ingest and "reingest" in ingest:
        again = ingest["reingest"]
        out.append(("reingest", f"unchanged corpus ({again['unchanged']:,} unchanged)",
                    f"{again['seconds']} s = {again['percent_of_first']} % of first",
                    f"<= {TARGETS['reingest_percent']:g} %",
                    _met(again["unchanged"] > 0 and again["chunks_written"] == 0
                         and (again["percent_of_first"] or 0) <= TARGETS["reingest_percent"])))
    retrieval = results.get("retrieval")
    if retrieval:
        largest = max(retrieval["sizes"], key=int)
        for size, figures in sorted(retrieval["sizes"].items(), key=lambda item: int(item[0])):
            for mode in ("dense", "bm25", "hybrid"):
                target = verdict = ""
                if mode == "hybrid" and size == largest:
                    target = f"p95 <= {TARGETS['hybrid_p95_ms']:g} ms"
                    verdict = _met(figures[mode]["p95_ms"] <= TARGETS["hybrid_p95_ms"])
                out.append(("retrieval", f"{mode} @ {figures['chunks']:,} chunks p50 / p95", _ms(figures[mode]),
                            target, verdict))
    answer = results.get("answer")
    if answer:
        out.append(("answer",
                    f"model load + instructions {answer.get('instructions', 'read')} ({answer['llm_backend']})",
                    f"{answer['model_load_seconds']} s", "", ""))
        for name, label in (("passages", "passages"), ("first_token", "first token"), ("full_answer", "full answer")):
            figures, limit = answer[name], TARGETS[f"{name}_s"]
            out.append(("answer", f"{label} p50 / p95 ({answer['questions']} questions)", _s(figures),
                        f"p95 <= {limit:g} s", _met(bool(figures["n"]) and figures["p95_s"] <= limit)))
        out.append(("answer", "first token, first question", f"{answer['first_question_first_token_s']} s", "", ""))
        out.append(("answer", "prompt tokens p50 (cl100k)", f"{answer['prompt_tokens_p50']:.0f}", "", ""))
        out.extend(_model_token_rows(answer))
        out.extend(_peer_rows(answer))
    memory = results.get("memory")
    if memory:
        out.append(("memory", f"serve peak RSS, model + {memory['chunks']:,} chunks", f"{memory['peak_rss_gib']} GiB",
                    f"<= {TARGETS['peak_rss_gib']:g} GiB",
                    _met((memory["peak_rss_gib"] or 1e9) <= TARGETS["peak_rss_gib"])))
    embedding = results.get("embedding")
    if embedding:
        best, configured = embedding["best"], embedding["configured"]
        out.append(("embedding", "best batch size / threads",
                    f"{best['batch_size']} / {best['threads']}: {best['chunks_per_s']} chunks/s", "", ""))
        if configured:
            out.append(("embedding", "configured batch size / threads",
                        f"{configured['batch_size']} / {configured['threads']}: {configured['chunks_per_s']} chunks/s",
                        "", ""))
    grid = results.get("llm_grid")
    for name, figures in (grid or {}).get("settings", {}).items():
        default, changed = figures["default"], figures["changed"]
        out.append(("llm-grid", f"{name}: read / written tok/s (defaults just before)",
                    (f"{changed['read_per_s']} / {changed['written_per_s']} ({default['read_per_s']} / "
                     f"{default['written_per_s']}) = {figures['read_vs_default']}x / {figures['written_vs_default']}x, "
                     f"{figures['other_processes_cores']} other cores"), "", ""))
    for name, cores in results.get("other_processes_cores", {}).items():
        out.append(("machine", f"CPU used by other processes during {name}", f"{cores} cores",
                    "0 (figures are slower otherwise)", _met(cores is not None and cores < 0.1)))
    return out


def _model_token_rows(answer: dict) -> list[Row]:
    """What the bundled model read per answer, in its own tokens, and the first question as a one-shot meets it."""
    out: list[Row] = []
    parts = answer.get("model_token_parts_p50")
    if parts:
        out.append(("answer", "prompt tokens p50 (model): instructions / headers / texts / question",
                    (f"{parts['instructions']:.0f} / {parts['passage_headers']:.0f} / {parts['passage_texts']:.0f} / "
                     f"{parts['question']:.0f} ({parts['passages']:.0f} passages)"), "", ""))
    if answer.get("model_tokens_read_p50") is not None:
        out.append(("answer", "prompt tokens read per answer p50 (model, not cached)",
                    f"{answer['model_tokens_read_p50']:.0f}", "", ""))
    for turn in answer.get("follow_ups", []):
        out.append(("answer", "follow-up answer: prompt tokens / of them cached",
                    f"{turn['prompt_tokens']} / {turn['cached']}", "", ""))
    ways = (("warm", "warm (serve)"), ("cold", "one-shot, cold"), ("restored", "one-shot, instructions restored"))
    for how, label in ways:
        figures = answer.get("one_shot", {}).get(how)
        if figures:
            out.append(("answer", f"first question, {label}: load + first token (tokens read)",
                        (f"{figures['model_load_s']} + {figures['first_token_s']} = {figures['after_start_s']} s "
                         f"({figures['tokens_read']})"), "", ""))
    one_shot = answer.get("one_shot", {})
    if "warm" in one_shot and "restored" in one_shot:
        beyond = round(one_shot["restored"]["after_start_s"] - one_shot["warm"]["first_token_s"], 2)
        limit = TARGETS["one_shot_over_warm_s"]
        out.append(("answer", "one-shot (restored) first token beyond warm", f"{beyond} s", f"<= {limit:g} s",
                    _met(beyond <= limit)))
    return out


def _peer_rows(answer: dict) -> list[Row]:
    """The naive LangChain pipeline on the same questions in the same run, and our p95 as a multiple of its."""
    peer = answer.get("peer")
    if not peer:
        return []
    out: list[Row] = [("answer", f"LangChain peer: {label} p50 / p95", _s(peer[stage]), "", "")
                      for stage, label in (("first_token", "first token"), ("full_answer", "full answer"))]
    for stage, label in (("first_token", "first token"), ("full_answer", "full answer")):
        out.append(("answer", f"ours / peer, {label} p95", f"{answer[f'{stage}_p95_vs_peer']}x", "", ""))
    return out


def render(table: list[Row], note: str = "") -> str:
    """Fixed-width text table (the CLI prints it; docs/performance.md keeps a copy)."""
    header: Row = ("benchmark", "figure", "value", "target", "met")
    widths = [max(len(row[i]) for row in [header, *table]) for i in range(5)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in [header, *table]]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines + ([note] if note else []))


def write_results(results: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
