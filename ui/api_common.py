"""What the JSON API (ui.api) and the OpenAI-compatible routes (ui.openai_api) share: the filters of a request
and the route class that answers a NewsragError with its own HTTP status. Both import it; neither imports the other
for it.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field, model_validator

from rag.errors import NewsragError
from rag.filters import range_problem


class FiltersIn(BaseModel):
    """The filters of a request, checked as the CLI and the chat check theirs (rag.filters)."""

    model_config = ConfigDict(extra="forbid")

    date_from: str | None = Field(None, description="Inclusive, YYYY-MM-DD.", json_schema_extra={"format": "date"})
    date_to: str | None = Field(None, description="Inclusive, YYYY-MM-DD.", json_schema_extra={"format": "date"})
    outlet: str | None = None
    article_ids: list[str] = Field(default_factory=list, max_length=500,
                                   description="Search only these articles (ids from /api/sources); empty: all.")

    @model_validator(mode="after")
    def _dates(self) -> FiltersIn:
        problem = range_problem(self.date_from, self.date_to, ("date_from", "date_to"))
        if problem:
            raise ValueError(problem)
        return self

    def as_dict(self) -> dict[str, str | list[str] | None]:
        return {
            "date_from": (self.date_from or "").strip() or None,
            "date_to": (self.date_to or "").strip() or None,
            "outlet": self.outlet or None,
            "article_ids": self.article_ids,
        }



def error_route(respond: Callable[[NewsragError], Response]) -> type[APIRoute]:
    """A route class that answers any NewsragError its route raises with the error's own HTTP status.

    The one place the API maps errors to responses (each error class knows its status: rag.errors); `respond`
    shapes the body: newsrag's {"detail"} on /api, OpenAI's {"error"} on /v1. A streamed answer has sent its
    status already, so its errors are its last event instead.
    """

    class ErrorMappingRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            handler = super().get_route_handler()

            async def mapped(request: Request) -> Response:
                try:
                    return await handler(request)
                except NewsragError as exc:
                    return respond(exc)

            return mapped

    return ErrorMappingRoute
