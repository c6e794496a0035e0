"""The library commands: ingest, sources, delete, stats, feedback export. Heavy modules load inside each command.

The lines that print stored titles, outlets and sources to the terminal are in `sources` and `delete` (and the
candidates listing of `delete`).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ui.commands.common import print_json, settings_with


@click.command()
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
    settings = settings_with()
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
        print_json(report.to_dict())
    else:
        counts = report.counts
        click.echo(", ".join(f"{n} {status}" for status, n in counts.items()) + f" in {report.seconds:.1f}s")
        for failure in report.failures:
            click.echo(f"  failed: {printable(failure.source)}: {printable(failure.reason)}", err=True)
    if report.failures:
        sys.exit(1)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def sources(as_json: bool) -> None:
    """List the stored articles: date, title, outlet, chunks, id, and under each the sources it came from."""
    from rag.store import Store

    articles = Store(settings_with()).articles()
    if as_json:
        print_json([a.__dict__ for a in articles])
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


@click.command()
@click.argument("source")
def delete(source: str) -> None:
    """Remove an article by its source (path, file name, path:line or URL, as `sources` shows) or article id.

    A file name or any unique end of a source path is enough; when the key fits several articles, nothing
    is removed and the candidates are listed.
    """
    from rag.store import Store

    store = Store(settings_with())
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


@click.group()
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

    entries = [e for e in FeedbackLog(settings_with().data_dir / "feedback.jsonl").entries()
               if verdict is None or e["verdict"] == verdict]
    lines = "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entries)
    if out_file:
        Path(out_file).write_text(lines, encoding="utf-8")
        click.echo(f"Wrote {len(entries)} rated answer(s) to {out_file}.", err=True)
    else:
        click.echo(lines, nl=False)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def stats(as_json: bool) -> None:
    """Show what the store holds and where it lives."""
    from rag.store import Store

    data = Store(settings_with()).stats()
    if as_json:
        print_json(data)
    else:
        for key, value in data.items():
            click.echo(f"{key:>16}: {value}")
