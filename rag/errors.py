"""Errors whose messages tell the user what to do next; the CLI and API turn them into friendly output.

Each class knows the HTTP status the API answers it with (`http_status`), so ui/api.py maps errors in one place.
"""


class NewsragError(Exception):
    """Base class: anything the user can act on."""

    http_status = 503  # the server cannot do it as it is set up or as things stand (a model or a store is down)


class ConfigError(NewsragError):
    """A setting is missing or invalid."""

    http_status = 503


class LoadError(NewsragError):
    """One input (file, line or URL) could not be read as an article."""

    http_status = 422

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


class StoreError(NewsragError):
    """The vector store is unreachable or holds data from another embedding model."""

    http_status = 503


class ModelError(NewsragError):
    """An embedding or answering model could not be loaded or called."""

    http_status = 503


class QuestionError(NewsragError, ValueError):
    """The question cannot be asked as given: empty, or longer than the model can read with passages."""

    http_status = 422
