"""What every command module uses: the settings with command-line overrides, and JSON output."""

from __future__ import annotations

import json
from typing import Any

import click


def settings_with(**overrides: Any) -> Any:
    """The NEWSRAG_* settings, with each override that was given (None: not given) in place."""
    from rag.config import get_settings

    return get_settings(**{k: v for k, v in overrides.items() if v is not None})


def print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))
