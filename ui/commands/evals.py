"""The measuring commands: eval (the gold questions, scored; the gate) and bench. Heavy modules load inside each
command."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ui.commands.common import settings_with

if TYPE_CHECKING:
    from evals.dataset import Split


@click.command(name="eval")
@click.option("--dataset", type=click.Path(exists=True), help="A gold JSONL file, or a folder of gold*.jsonl "
              "(default: the bundled evals/data/).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="evals/out", show_default=True,
              help="Where results.json, report.md and report.png go (evals/results/NAME for figures to commit).")
@click.option("--split", type=click.Choice(["dev", "test", "all"]),
              help="Gold split to run (default: all; test with --gate; dev with --ablation).")
@click.option("--corpus", type=click.Choice(["iraq", "general", "all"]),
              help="Questions on this corpus only (default: all, each corpus in a store of its own; iraq with "
                   "--data-dir).")
@click.option("--retrieval", type=click.Choice(["dense", "bm25", "hybrid", "mmr"]), help="Retrieval mode to evaluate.")
@click.option("--k", type=click.IntRange(1, 50), help="Passages per question.")
@click.option("--limit", type=click.IntRange(1), help="Only the first N questions.")
@click.option("--data-dir", type=click.Path(file_okay=False),
              help="Evaluate this existing store instead of a fresh one with the corpus (one corpus's questions).")
@click.option("--baseline", is_flag=True,
              help="Also run the textbook LangChain RAG pipeline on the same questions and report both.")
@click.option("--gate", is_flag=True,
              help="Run the test split of every corpus; exit 1 when a metric is below evals/thresholds.toml "
                   "(what CI runs).")
@click.option("--compare", nargs=2, type=click.Path(exists=True, dir_okay=False), metavar="OLD.json NEW.json",
              help="Print what improved and what regressed between two results.json files, and stop.")
@click.option("--ablation", is_flag=True,
              help="No model: for each retrieval mode, k, chunk size and focus, how often the evidence "
                   "reaches the prompt and at what size (under a minute per corpus).")
@click.option("--recheck", type=click.Path(exists=True, dir_okay=False), metavar="RESULTS.json",
              help="No model: that run's raw answers checked again, with each answer check switched off in turn.")
@click.option("--answer-cache", type=click.Path(dir_okay=False), metavar="FILE",
              help="Experiments only: ask the model only for prompts this SQLite file has no answer for, and "
                   "remember its answers there (latency figures then mean nothing; not with --gate).")
@click.option("--seed-cache", type=click.Path(exists=True, dir_okay=False), metavar="RESULTS.json",
              help="No model: file that run's answers (and its peer's, from a --baseline run) in --answer-cache "
                   "under the prompts this code builds for them (run it on the code that made the run), and stop.")
def eval_command(dataset, out_dir, split, corpus, retrieval, k, limit, data_dir, baseline, gate, compare, ablation,
                 recheck, answer_cache, seed_cache) -> None:
    """Run the gold questions through the same chain users get, and score them.

    \b
    Examples:
      newsrag eval --limit 5                     # a quick look
      newsrag eval --split dev --corpus general --retrieval bm25 --out evals/out-bm25
      newsrag eval --split test --baseline --out evals/results/NAME   # figures to quote (as aggregates) and commit
      newsrag eval --compare evals/out-bm25/results.json evals/out/results.json
      newsrag eval --ablation                    # which retrieval settings find the evidence (dev split)
      newsrag eval --recheck evals/out/results.json   # what each answer check moves in that run
      newsrag eval --answer-cache a.db --seed-cache evals/results/NAME/results.json   # then, after a change:
      newsrag eval --split dev --answer-cache a.db   # only the questions whose prompt changed ask the model
    """
    from evals import run
    from evals.dataset import DEFAULT_DATASET, by_corpus, load_dataset

    gold = Path(dataset) if dataset else DEFAULT_DATASET
    if compare:
        click.echo(run.compare(Path(compare[0]), Path(compare[1])))
        return
    if recheck:
        from evals.recheck import answer_check_ablation, render_answer_check_ablation

        table = answer_check_ablation(Path(recheck), settings_with(), gold,
                                      progress=lambda name: click.echo(f"rechecking: {name}", err=True))
        click.echo(render_answer_check_ablation(table))
        return
    if seed_cache:
        from evals.answer_cache import seed_from_results

        if not answer_cache:
            raise click.UsageError("--seed-cache needs --answer-cache FILE to write to")
        seeded = seed_from_results(Path(answer_cache), Path(seed_cache), settings_with(), gold)
        click.echo(f"{seeded} answers from {seed_cache} filed in {answer_cache}")
        return
    if gate and answer_cache:
        raise click.UsageError("--gate answers every question with the model: drop --answer-cache")
    if gate and split not in (None, "test"):
        raise click.UsageError("--gate runs the test split: drop --split or use --split test")
    if gate and corpus not in (None, "all"):
        raise click.UsageError("--gate runs the test split of every corpus: drop --corpus")
    if ablation:
        tuning: Split = split or "dev"  # the ablation chooses settings: never on the test split by default
        for name in by_corpus(load_dataset(gold, split=tuning, corpus=corpus or "all")):
            _retrieval_ablation(gold, tuning, name)
        return
    settings = settings_with()
    kwargs = {"limit": limit, "retrieval": retrieval, "k": k, "data_dir": Path(data_dir) if data_dir else None,
              "split": split or ("test" if gate else "all"), "corpus": corpus or ("iraq" if data_dir else "all"),
              "baseline": baseline, "answer_cache": Path(answer_cache) if answer_cache else None}
    results = run.run_eval(settings, gold, out_dir=Path(out_dir), **kwargs)
    peer = results.get("baseline_summary")
    click.echo(f"{'':>26}{'ours':>8}" + (f"{'peer':>8}" if peer else ""))
    for key, value in results["summary"]["overall"].items():
        if isinstance(value, (int, float)):
            other = peer["overall"][key] if peer else None
            click.echo(f"{key:>24}: {value:8.3f}" + (f"{other:8.3f}" if isinstance(other, (int, float)) else ""))
    click.echo(f"Report: {Path(out_dir) / 'report.md'}")
    if gate:
        outcome = run.check_gate(results["summary"], peer_summary=peer)
        for expected in outcome.expected_failures:
            click.echo(f"EXPECTED FAILURE (thresholds.toml: expected_to_fail): {expected}")
        for note in outcome.notes:
            click.echo(note)
        for failure in outcome.failures:
            click.echo(f"GATE FAILED: {failure}", err=True)
        if not outcome.passed:
            sys.exit(1)
        click.echo("Eval gate passed.")


def _retrieval_ablation(gold: Path, split: Split, corpus: str) -> None:
    """The three retrieval ablation tables of one corpus, printed."""
    from evals.ablation import render_ablation, retrieval_ablation

    settings = settings_with()

    def table(**grid: Any) -> str:
        return render_ablation(retrieval_ablation(settings, dataset=gold, split=split, corpus=corpus, **grid))

    click.echo(f"Modes, k and chunk sizes (focus {settings.focus_sentences}, {split} split, {corpus} corpus):\n")
    click.echo(table())
    click.echo(f"\nFocus (sentences kept per passage), {settings.retrieval}, {corpus} corpus:\n")
    click.echo(table(modes=[settings.retrieval], ks=(3, 4, 6), chunk_sizes=(150, 200, 240), focus=(0, 2, 3, 4)))
    click.echo(f"\nChunk overlap and the title and date header (ingest's cost), {settings.retrieval}, "
               f"{corpus} corpus:\n")
    click.echo(table(modes=[settings.retrieval], ks=(3, 4, 6), chunk_sizes=(settings.chunk_tokens,),
                     overlaps=(0, 20, 40), headers=(True, False)))


@click.command()
@click.option("--articles", type=click.IntRange(1), default=1000, show_default=True,
              help="Generated articles for the ingest and re-ingest benchmarks.")
@click.option("--what", default=",".join(("ingest", "reingest", "retrieval", "answer", "memory", "embedding")),
              show_default=True, metavar="LIST",
              help="Comma-separated benchmarks to run; also llm-grid (llama.cpp settings, ~20 model loads).")
@click.option("--chunks", "sizes", default="10000,100000", show_default=True, metavar="N,N",
              help="Store sizes for the retrieval benchmark (memory uses the largest).")
@click.option("--queries", type=click.IntRange(1), default=50, show_default=True, help="Queries per retrieval mode.")
@click.option("--questions", type=click.IntRange(1), default=5, show_default=True,
              help="Gold questions for the answer benchmark.")
@click.option("--out", "out_file", type=click.Path(dir_okay=False), help="Also write every figure as JSON here.")
def bench(articles: int, what: str, sizes: str, queries: int, questions: int, out_file: str | None) -> None:
    """Measure ingest, re-ingest, retrieval, answer latency, memory and embedding speed on this machine.

    Each benchmark runs on its own temporary embedded store, never on yours.
    Ingest is compared with the raw embedding model on the same chunk texts (the
    limit) and with a naive LangChain pipeline; retrieval fills the store with
    random unit vectors to reach 100k chunks quickly (the output says so). The
    answer benchmark uses the configured model (the bundled one by default).
    All of it takes about 15 minutes on 2 cores at the defaults; the ingest part
    grows with --articles (about 4 minutes per 1,000 articles).

    \b
    Examples:
      newsrag bench --what ingest,reingest --articles 200        # a quick look
      newsrag bench --what retrieval --chunks 10000 --queries 20
      newsrag bench --out bench.json                             # everything
      NEWSRAG_EMBED_BATCH_SIZE=64 newsrag bench --what ingest    # try a setting
    """
    from evals.bench.retrieval import VECTORS_NOTE
    from evals.bench.run import BENCHMARKS, render, rows, run_bench, write_results

    chosen = [name.strip() for name in what.split(",") if name.strip()]
    if not chosen or set(chosen) - set(BENCHMARKS):
        raise click.BadParameter(f"{what!r}: choose from {', '.join(BENCHMARKS)}", param_hint="--what")
    if not all(n.strip().isdigit() and int(n) > 0 for n in sizes.split(",")):
        raise click.BadParameter(f"{sizes!r} is not a comma-separated list of positive numbers", param_hint="--chunks")
    results = run_bench(settings_with(), chosen, articles=articles, retrieval_sizes=[int(n) for n in sizes.split(",")],
                        queries=queries, questions=questions, log=lambda message: click.echo(message, err=True))
    note = f"retrieval: {VECTORS_NOTE}" if "retrieval" in results else ""
    click.echo(render(rows(results), note))
    if out_file:
        write_results(results, Path(out_file))
        click.echo(f"Figures written to {out_file}", err=True)
