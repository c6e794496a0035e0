"""The `newsrag` command: a thin click layer over the library. Heavy modules load inside each command.

(Over 350 lines on purpose: one command per function, so the whole CLI reference reads in one place.)
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click

OFFLINE_ENV = {
    "ANONYMIZED_TELEMETRY": "False",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "HF_HUB_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "TOKENIZERS_PARALLELISM": "false",
}


class FriendlyGroup(click.Group):
    """Turns library errors into one-line messages; the only place that does."""

    def invoke(self, ctx: click.Context) -> Any:
        from rag.errors import NewsragError

        try:
            return super().invoke(ctx)
        except NewsragError as exc:
            raise click.ClickException(str(exc)) from exc
        except ValueError as exc:  # pydantic's ValidationError: a bad NEWSRAG_* setting
            if type(exc).__name__ == "ValidationError":
                raise click.ClickException(f"invalid setting: {exc}") from exc
            raise


@click.group(cls=FriendlyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="newsrag")
def cli() -> None:
    """Ask questions about news articles and get answers that cite their sources.

    \b
    Quick start:
      newsrag ingest --samples          # the bundled articles on the US withdrawal from Iraq
      newsrag ask "When did US forces leave Ain al-Asad?"
      newsrag serve                     # the chat UI on http://127.0.0.1:7860

    Settings come from NEWSRAG_* environment variables or a .env file
    (e.g. NEWSRAG_DATA_DIR, NEWSRAG_LLM_BACKEND); see the README.
    """
    for name, value in OFFLINE_ENV.items():
        os.environ.setdefault(name, value)


def _settings(**overrides: Any):
    from rag.config import get_settings

    return get_settings(**{k: v for k, v in overrides.items() if v is not None})


def _print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def _date_option(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A --since/--until date, checked as the API and the chat check theirs (rag.filters)."""
    from rag.filters import date_problem

    problem = date_problem(value, param.opts[0])
    if problem:
        raise click.UsageError(problem, ctx)
    return value


@cli.command()
@click.argument("inputs", nargs=-1, metavar="PATH_OR_URL...")
@click.option("--samples", is_flag=True, help="Also ingest the bundled sample corpus.")
@click.option("--reset", is_flag=True, help="Empty the store first.")
@click.option("--if-empty", is_flag=True, help="Do nothing when the store already holds articles.")
@click.option("--field", "fields", multiple=True, metavar="OURS=THEIRS",
              help="JSONL field mapping, e.g. --field text=body --field date=published.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("--follow-links", is_flag=True, help="Follow symlinks in a directory that lead outside it.")
def ingest(inputs: tuple[str, ...], samples: bool, reset: bool, if_empty: bool, fields: tuple[str, ...], as_json: bool,
           follow_links: bool) -> None:
    """Add articles: files (.txt .md .html .jsonl .pdf), directories, or http(s) URLs.

    Ingesting is idempotent: unchanged articles are skipped, an edited article
    replaces its old chunks, and the same text under two names is stored once.
    Exits with 1 if any input failed; every good input is still stored.

    \b
    Examples:
      newsrag ingest articles/
      newsrag ingest feed.jsonl --field text=body
      newsrag ingest https://example.com/story.html
    """
    from tqdm import tqdm

    from ingest.formats import printable
    from ingest.pipeline import ingest as run_ingest
    from ingest.pipeline import sample_corpus_dir
    from rag.store import Store

    field_map = {}
    for item in fields:
        ours, sep, theirs = item.partition("=")
        if not sep or not ours or not theirs:
            raise click.BadParameter(f"{item!r} is not OURS=THEIRS", param_hint="--field")
        field_map[ours] = theirs
    paths = list(inputs) + ([str(sample_corpus_dir())] if samples else [])
    if not paths:
        raise click.UsageError("nothing to ingest: name files, directories or URLs, or pass --samples")
    settings = _settings()
    store = Store(settings)
    if if_empty and not reset and store.stats()["articles"]:
        click.echo(f"The store already holds {store.stats()['articles']} articles; nothing to do.", err=True)
        return
    with tqdm(unit="file", desc="Ingesting", disable=as_json or None, file=sys.stderr) as bar:

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        report = run_ingest(paths, settings, store=store, reset=reset, field_map=field_map or None, progress=progress,
                            follow_links=follow_links)
    if as_json:
        _print_json(report.to_dict())
    else:
        counts = report.counts
        click.echo(", ".join(f"{n} {status}" for status, n in counts.items()) + f" in {report.seconds:.1f}s")
        for failure in report.failures:
            click.echo(f"  failed: {printable(failure.source)}: {printable(failure.reason)}", err=True)
    if report.failures:
        sys.exit(1)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def sources(as_json: bool) -> None:
    """List the stored articles: date, title, outlet, chunks, id, and under each the sources it came from."""
    from rag.store import Store

    articles = Store(_settings()).articles()
    if as_json:
        _print_json([a.__dict__ for a in articles])
        return
    if not articles:
        click.echo("No articles yet. Try: newsrag ingest --samples")
        return
    for a in articles:
        click.echo(f"{a.date or 'unknown date':<12} {_clip(a.title or 'Untitled', 60):<60} {_clip(a.outlet, 24):<24} "
                   f"{a.n_chunks:>3} chunks  {a.id[:12]}")
        for source in a.sources:
            click.echo(f"{'':<12} {_shown_source(source)}")


def _clip(text: str, width: int) -> str:
    """Text cut to width with an ellipsis, so a cut title never passes for the whole one."""
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def _shown_source(source: str) -> str:
    """A source as the user would type it: relative to the current folder when it lies under it."""
    from ingest.formats import printable

    try:
        return printable(str(Path(source).relative_to(Path.cwd())))
    except ValueError:
        return printable(source)


@cli.command()
@click.argument("source")
def delete(source: str) -> None:
    """Remove an article by its source (path, file name, path:line or URL, as `sources` shows) or article id.

    A file name or any unique end of a source path is enough; when the key fits several articles, nothing
    is removed and the candidates are listed.
    """
    from rag.store import Store

    store = Store(_settings())
    matches = store.match_sources(source)
    if not matches:
        raise click.ClickException(f"no stored article matches {source!r}; see `newsrag sources`")
    by_article: dict[str, list[str]] = {}
    for matched, article_id in matches:
        by_article.setdefault(article_id, []).append(matched)
    titles = {a.id: a for a in store.articles()}
    if len(by_article) > 1:
        listing = "\n".join(f"  {_shown_source(s)}  ({_describe(titles.get(a))})" for s, a in matches)
        raise click.ClickException(f"{source!r} fits {len(by_article)} articles; give more of the path:\n{listing}")
    (article_id, names), = by_article.items()
    whole_article = source in (article_id,) or (len(source) >= 6 and article_id.startswith(source))
    removed = sum(store.delete_source(key) for key in ([article_id] if whole_article else names))
    store.refresh_lexical()
    click.echo(f"Removed {_describe(titles.get(article_id))}: {removed} source(s) "
               f"({', '.join(_shown_source(n) for n in names)}).")


def _describe(article) -> str:
    """'Title' (date, outlet) for messages about an article."""
    if article is None:
        return "an article no longer stored"
    meta = ", ".join(part for part in (article.date, article.outlet) if part)
    return f"'{_clip(article.title or 'Untitled', 60)}'" + (f" ({meta})" if meta else "")


@cli.group()
def feedback() -> None:
    """The thumbs up/down (and comments) given to answers in the chat."""


@feedback.command(name="export")
@click.option("--out", "out_file", type=click.Path(dir_okay=False), help="Write JSONL here instead of printing it.")
@click.option("--verdict", type=click.Choice(["up", "down"]), help="Only this verdict.")
def feedback_export(out_file: str | None, verdict: str | None) -> None:
    """Every rated answer as JSONL: question, history, answer, citations, settings, verdict, comment.

    A rated answer is a gold-set candidate: a thumbs-down with its comment says what the right answer was.
    """
    from ui.feedback import FeedbackLog

    entries = [e for e in FeedbackLog(_settings().data_dir / "feedback.jsonl").entries()
               if verdict is None or e["verdict"] == verdict]
    lines = "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entries)
    if out_file:
        Path(out_file).write_text(lines, encoding="utf-8")
        click.echo(f"Wrote {len(entries)} rated answer(s) to {out_file}.", err=True)
    else:
        click.echo(lines, nl=False)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def stats(as_json: bool) -> None:
    """Show what the store holds and where it lives."""
    from rag.store import Store

    data = Store(_settings()).stats()
    if as_json:
        _print_json(data)
    else:
        for key, value in data.items():
            click.echo(f"{key:>16}: {value}")


@cli.command()
@click.argument("question")
@click.option("--k", type=click.IntRange(1, 50), help="How many passages to give the model (default NEWSRAG_TOP_K).")
@click.option("--mode", type=click.Choice(["dense", "bm25", "hybrid", "mmr"]), help="Retrieval mode.")
@click.option("--since", "date_from", metavar="YYYY-MM-DD", callback=_date_option,
              help="Only articles published on or after this date.")
@click.option("--until", "date_to", metavar="YYYY-MM-DD", callback=_date_option,
              help="Only articles published on or before this date.")
@click.option("--outlet", help="Only articles from this outlet.")
@click.option("--json", "as_json", is_flag=True,
              help="Print one JSON object: answer, abstained, citations, passages, timings.")
@click.option("--stream", is_flag=True, help="Print the answer as it is generated.")
def ask(question: str, k: int | None, mode: str | None, date_from: str | None, date_to: str | None,
        outlet: str | None, as_json: bool, stream: bool) -> None:
    """Answer QUESTION from the stored articles, citing passages as [1], [2]...

    With NEWSRAG_SERVER_URL set (e.g. http://127.0.0.1:7860), the question goes to that running
    `newsrag serve`, whose model is loaded and has read its instructions already (--stream prints its
    tokens as they come); when nothing answers there, it is answered in this process (with a note).

    \b
    Example:
      newsrag ask "How many detainees could be moved to Iraq?" --stream
    """
    from rag.filters import Filters, range_problem

    if not question.strip():
        raise click.UsageError("the question is empty")
    if problem := range_problem(date_from, date_to, ("--since", "--until")):
        raise click.UsageError(problem)
    settings = _settings()
    inputs = {"question": question, "k": k, "mode": mode, "filters": Filters(date_from, date_to, outlet)}
    streamed = False

    def echo_token(token: str) -> None:
        nonlocal streamed
        click.echo(token, nl=False)
        streamed = True

    printing = echo_token if stream and not as_json else None
    answer = _answer_from_server(settings.server_url, inputs, printing) if settings.server_url else None
    if answer is None:
        from rag.chain import build_chain  # ~4 s of imports (LangChain, Chroma, the models): only to answer here
        from rag.types import Answer

        chain = build_chain(settings)
        if settings.llm_backend == "local":
            chain.warm_up()  # restores the instructions an earlier process read, instead of reading them again
        for event in chain.stream(inputs):
            if isinstance(event, Answer):
                answer = event
            elif isinstance(event, str) and printing:
                printing(event)
    assert answer is not None
    if as_json:
        _print_json(answer_json(answer))
        return
    if streamed:
        click.echo("\n\nVerified answer:")
    click.echo(answer.answer)
    if answer.abstained and answer.passages:
        click.echo("\nRelated passages:")
        for n, p in enumerate(answer.passages, start=1):
            click.echo(f"  ({n}) {p.title} — {p.outlet}, {p.date or 'unknown date'}")
    for c in answer.citations:
        click.echo(f"\n[{c.n}] {c.title} — {c.outlet}, {c.date or 'unknown date'} {c.url}".rstrip())
        click.echo(f"    “{c.quote}”")
    for sentence in answer.unsupported_sentences:
        click.echo(f"\n(unsupported by the articles: {sentence})")


def _answer_from_server(url: str, inputs: dict[str, Any], on_token: Callable[[str], None] | None = None) -> Any:
    """The Answer from the `newsrag serve` at url, or None (after a note) when nothing is listening there.

    With on_token the answer is asked for as server-sent events, and each token goes to on_token as it comes.
    """
    import httpx

    filters = inputs["filters"]
    body = {"question": inputs["question"], "k": inputs["k"], "mode": inputs["mode"],
            "filters": {"date_from": filters.date_from, "date_to": filters.date_to, "outlet": filters.outlet}}
    shown_url = httpx.URL(url).copy_with(username=None, password=None)  # never print a password
    try:
        with httpx.stream("POST", f"{url.rstrip('/')}/api/ask", json=body, timeout=httpx.Timeout(600, connect=5),
                          params={"stream": "true"} if on_token else None, trust_env=False) as response:
            if response.status_code == 401:
                raise click.ClickException(f"newsrag serve at {shown_url} needs a login: set NEWSRAG_SERVER_URL "
                                           "to http://user:password@host:port")
            if response.status_code != 200:
                raise click.ClickException(f"newsrag serve at {shown_url} answered {response.status_code}: "
                                           f"{response.read().decode(errors='replace')[:500]}")
            if on_token:
                return _answer_from_events(response.iter_lines(), on_token, shown_url)
            return _answer_of(response.read())
    except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
        click.echo(f"note: no newsrag serve answers at {shown_url} ({exc}); answering in this process, "
                   "which loads the model first", err=True)
        return None
    except httpx.HTTPError as exc:
        raise click.ClickException(f"newsrag serve at {shown_url} failed: {exc}") from exc


def _answer_of(body: str | bytes) -> Any:
    from rag.types import Answer

    return Answer.model_validate_json(body)


def _answer_from_events(lines: Iterator[str], on_token: Callable[[str], None], shown_url: object) -> Any:
    """The `answer` event of /api/ask's server-sent events, each `token` event's text passed to on_token."""
    for event, data in server_sent_events(lines):
        if event == "token":
            on_token(json.loads(data))
        elif event == "answer":
            return _answer_of(data)
        elif event == "error":
            raise click.ClickException(f"newsrag serve at {shown_url} failed: {json.loads(data)['detail']}")
    raise click.ClickException(f"newsrag serve at {shown_url} ended its answer without one")


def server_sent_events(lines: Iterator[str]) -> Iterator[tuple[str, str]]:
    """(event name, data) of each event in a server-sent event stream's lines; comments and pings are skipped."""
    event, data = "message", []
    for line in lines:
        if line:
            field, _, value = line.partition(":")
            if field == "event":
                event = value.strip()
            elif field == "data":
                data.append(value[1:] if value.startswith(" ") else value)
            continue
        if data:
            yield event, "\n".join(data)
        event, data = "message", []
    if data:  # a stream cut off after its last data line
        yield event, "\n".join(data)


def answer_json(answer) -> dict:
    """The JSON shape shared by `ask --json` and the API."""
    return answer.model_dump(mode="json")


@cli.command()
@click.option("--host", help="Address to bind (default 127.0.0.1; NEWSRAG_UI_HOST).")
@click.option("--port", type=int, help="Port (default 7860; NEWSRAG_UI_PORT).")
def serve(host: str | None, port: int | None) -> None:
    """Start the chat UI and the JSON API (/api/ask, /api/ingest, /api/sources, /healthz)."""
    from ui.server import serve as run_server

    settings = _settings(ui_host=host, ui_port=port)
    run_server(settings, settings.ui_host, settings.ui_port)


@cli.command(name="eval")
@click.option("--dataset", type=click.Path(exists=True, dir_okay=False), help="Gold JSONL (default: the bundled set).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="evals/out", show_default=True,
              help="Where results.json, report.md and report.png go (evals/results/NAME for figures to commit).")
@click.option("--split", type=click.Choice(["dev", "test", "all"]),
              help="Gold split to run (default: all; test with --gate; dev with --ablation).")
@click.option("--retrieval", type=click.Choice(["dense", "bm25", "hybrid", "mmr"]), help="Retrieval mode to evaluate.")
@click.option("--k", type=click.IntRange(1, 50), help="Passages per question.")
@click.option("--limit", type=click.IntRange(1), help="Only the first N questions.")
@click.option("--data-dir", type=click.Path(file_okay=False),
              help="Evaluate this existing store instead of a fresh one with the sample corpus.")
@click.option("--baseline", is_flag=True,
              help="Also run the textbook LangChain RAG pipeline on the same questions and report both.")
@click.option("--gate", is_flag=True,
              help="Run the test split; exit 1 when a metric is below evals/thresholds.toml (what CI runs).")
@click.option("--compare", nargs=2, type=click.Path(exists=True, dir_okay=False), metavar="OLD.json NEW.json",
              help="Print what improved and what regressed between two results.json files, and stop.")
@click.option("--ablation", is_flag=True,
              help="No model: for each retrieval mode, k, chunk size and focus, how often the evidence "
                   "reaches the prompt and at what size (under a minute).")
@click.option("--recheck", type=click.Path(exists=True, dir_okay=False), metavar="RESULTS.json",
              help="No model: that run's raw answers checked again, with each answer check switched off in turn.")
@click.option("--answer-cache", type=click.Path(dir_okay=False), metavar="FILE",
              help="Experiments only: ask the model only for prompts this SQLite file has no answer for, and "
                   "remember its answers there (latency figures then mean nothing; not with --gate).")
@click.option("--seed-cache", type=click.Path(exists=True, dir_okay=False), metavar="RESULTS.json",
              help="No model: file that run's answers (and its peer's, from a --baseline run) in --answer-cache "
                   "under the prompts this code builds for them (run it on the code that made the run), and stop.")
def eval_command(dataset, out_dir, split, retrieval, k, limit, data_dir, baseline, gate, compare, ablation,
                 recheck, answer_cache, seed_cache) -> None:
    """Run the gold questions through the same chain users get, and score them.

    \b
    Examples:
      newsrag eval --limit 5                     # a quick look
      newsrag eval --split dev --retrieval bm25 --out evals/out-bm25
      newsrag eval --split test --baseline --out evals/results/NAME   # figures to quote and commit
      newsrag eval --compare evals/out-bm25/results.json evals/out/results.json
      newsrag eval --ablation                    # which retrieval settings find the evidence (dev split)
      newsrag eval --recheck evals/out/results.json   # what each answer check moves in that run
      newsrag eval --answer-cache a.db --seed-cache evals/results/NAME/results.json   # then, after a change:
      newsrag eval --split dev --answer-cache a.db   # only the questions whose prompt changed ask the model
    """
    from pathlib import Path

    from evals import run

    if compare:
        click.echo(run.compare(Path(compare[0]), Path(compare[1])))
        return
    if recheck:
        from evals.recheck import answer_check_ablation, render_answer_check_ablation

        table = answer_check_ablation(Path(recheck), _settings(), Path(dataset) if dataset else run.DEFAULT_DATASET,
                                      progress=lambda name: click.echo(f"rechecking: {name}", err=True))
        click.echo(render_answer_check_ablation(table))
        return
    if seed_cache:
        from evals.answer_cache import seed_from_results

        if not answer_cache:
            raise click.UsageError("--seed-cache needs --answer-cache FILE to write to")
        seeded = seed_from_results(Path(answer_cache), Path(seed_cache), _settings(),
                                   Path(dataset) if dataset else run.DEFAULT_DATASET)
        click.echo(f"{seeded} answers from {seed_cache} filed in {answer_cache}")
        return
    if gate and answer_cache:
        raise click.UsageError("--gate answers every question with the model: drop --answer-cache")
    if gate and split not in (None, "test"):
        raise click.UsageError("--gate runs the test split: drop --split or use --split test")
    if ablation:
        from evals.ablation import render_ablation, retrieval_ablation

        settings, gold = _settings(), Path(dataset) if dataset else run.DEFAULT_DATASET
        tuning = split or "dev"  # the ablation chooses settings: never on the test split by default
        click.echo(f"Modes, k and chunk sizes (focus {settings.focus_sentences}, {tuning} split):\n")
        click.echo(render_ablation(retrieval_ablation(settings, dataset=gold, split=tuning)))
        click.echo(f"\nFocus (sentences kept per passage), {settings.retrieval}:\n")
        click.echo(render_ablation(retrieval_ablation(settings, modes=[settings.retrieval], ks=(3, 4, 6),
                                                      chunk_sizes=(150, 200, 240), focus=(0, 2, 3, 4), dataset=gold,
                                                      split=tuning)))
        click.echo(f"\nChunk overlap and the title and date header (ingest's cost), {settings.retrieval}:\n")
        click.echo(render_ablation(retrieval_ablation(settings, modes=[settings.retrieval], ks=(3, 4, 6),
                                                      chunk_sizes=(settings.chunk_tokens,), overlaps=(0, 20, 40),
                                                      headers=(True, False), dataset=gold, split=tuning)))
        return
    settings = _settings()
    kwargs = {"limit": limit, "retrieval": retrieval, "k": k, "data_dir": Path(data_dir) if data_dir else None,
              "split": split or ("test" if gate else "all"), "baseline": baseline,
              "answer_cache": Path(answer_cache) if answer_cache else None}
    if dataset:
        kwargs["dataset"] = Path(dataset)
    results = run.run_eval(settings, out_dir=Path(out_dir), **kwargs)
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


@cli.command()
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
    from pathlib import Path

    from evals.bench.retrieval import VECTORS_NOTE
    from evals.bench.run import BENCHMARKS, render, rows, run_bench, write_results

    chosen = [name.strip() for name in what.split(",") if name.strip()]
    if not chosen or set(chosen) - set(BENCHMARKS):
        raise click.BadParameter(f"{what!r}: choose from {', '.join(BENCHMARKS)}", param_hint="--what")
    if not all(n.strip().isdigit() and int(n) > 0 for n in sizes.split(",")):
        raise click.BadParameter(f"{sizes!r} is not a comma-separated list of positive numbers", param_hint="--chunks")
    results = run_bench(_settings(), chosen, articles=articles, retrieval_sizes=[int(n) for n in sizes.split(",")],
                        queries=queries, questions=questions, log=lambda message: click.echo(message, err=True))
    note = f"retrieval: {VECTORS_NOTE}" if "retrieval" in results else ""
    click.echo(render(rows(results), note))
    if out_file:
        write_results(results, Path(out_file))
        click.echo(f"Figures written to {out_file}", err=True)
