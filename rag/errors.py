"""Errors whose messages tell the user what to do next; the CLI and API turn them into friendly output."""


class NewsragError(Exception):
    """Base class: anything the user can act on."""


class ConfigError(NewsragError):
    """A setting is missing or invalid."""


class LoadError(NewsragError):
    """One input (file, line or URL) could not be read as an article."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


class StoreError(NewsragError):
    """The vector store is unreachable or holds data from another embedding model."""


class ModelError(NewsragError):
    """An embedding or answering model could not be loaded or called."""


class QuestionError(NewsragError, ValueError):
    """The question cannot be asked as given: empty, or longer than the model can read with passages."""
