"""The answering commands: ask (here or through a running `newsrag serve`) and serve. Heavy modules load inside
each command."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import click

from ui.commands.common import print_json, settings_with


def _date_option(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A --since/--until date, checked as the API and the chat check theirs (rag.filters)."""
    from rag.filters import date_problem

    problem = date_problem(value, param.opts[0])
    if problem:
        raise click.UsageError(problem, ctx)
    return value


@click.command()
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
    settings = settings_with()
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
        print_json(answer_json(answer))
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


@click.command()
@click.option("--host", help="Address to bind (default 127.0.0.1; NEWSRAG_UI_HOST).")
@click.option("--port", type=int, help="Port (default 7860; NEWSRAG_UI_PORT).")
def serve(host: str | None, port: int | None) -> None:
    """Start the chat UI and the JSON API (/api/ask, /api/ingest, /api/sources, /healthz)."""
    from ui.server import serve as run_server

    settings = settings_with(ui_host=host, ui_port=port)
    run_server(settings, settings.ui_host, settings.ui_port)
