"""The `newsrag` command: the click group. Each command lives in ui/commands/ and is imported only when it runs
(or when --help lists it: those modules import click alone at the top), so `newsrag --help` is instant.

Where the commands are: ui/commands/library.py (ingest, sources, delete, stats, feedback), ui/commands/ask.py
(ask, serve), ui/commands/evals.py (eval, bench).
"""

from __future__ import annotations

import importlib
import os
from typing import Any

import click

OFFLINE_ENV = {
    "ANONYMIZED_TELEMETRY": "False",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "HF_HUB_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "TOKENIZERS_PARALLELISM": "false",
}
# command name -> "module:attribute" of its click command
COMMANDS = {
    "ingest": "ui.commands.library:ingest",
    "sources": "ui.commands.library:sources",
    "delete": "ui.commands.library:delete",
    "stats": "ui.commands.library:stats",
    "feedback": "ui.commands.library:feedback",
    "ask": "ui.commands.ask:ask",
    "serve": "ui.commands.ask:serve",
    "eval": "ui.commands.evals:eval_command",
    "bench": "ui.commands.evals:bench",
}


class FriendlyGroup(click.Group):
    """Loads each command from COMMANDS when it is asked for, and turns library errors into one-line messages
    (the only place that does)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module, _, attribute = COMMANDS[cmd_name].partition(":")
        command = getattr(importlib.import_module(module), attribute)
        assert isinstance(command, click.Command)
        return command

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
