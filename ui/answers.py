"""What each answer of a conversation showed, kept beside its chat message: for the sources panel, the feedback
log and the saved conversation.

A conversation's records map a message's index (as a string, for JSON) to what the chain returned for it:
question, history, settings and the answer's citations and passages. The sources panel holds every answer's
cards, one section per answer with anchors namespaced by the answer's place (#src-A-n), and shows one section at
a time: the newest, or the one whose message or marker was clicked last (CHAT_JS in ui.web). So a marker in an
older answer opens that answer's card, and after a reload the saved records bring every card back.
"""

from __future__ import annotations

from typing import Any

from rag.types import Answer
from ui.render import escape, render_answer_html

EMPTY_SOURCES = '<p class="nr-muted">Sources for the answer appear here.</p>'
SHOWN_FIELDS = {"question", "answer", "abstained", "citations", "passages"}  # what the panel needs of an Answer


def answer_record(answer: Answer, history: list[dict], settings: dict[str, Any]) -> dict[str, Any]:
    """One answer's record: the feedback log's fields (no passage text) and, under "shown", its sources."""
    return {
        "question": answer.question, "history": history, "answer": answer.answer, "abstained": answer.abstained,
        "citations": [c.model_dump(exclude={"text"}) for c in answer.citations], "settings": settings,
        "shown": answer.model_dump(mode="json", include=SHOWN_FIELDS),
    }


def feedback_fields(record: dict[str, Any]) -> dict[str, Any]:
    """A record as the feedback log keeps it: without the passages' text."""
    return {key: value for key, value in record.items() if key != "shown"}


def records_before(records: dict[str, Any] | None, length: int) -> dict[str, Any]:
    """The records of the first `length` messages: a regenerated or cut-off answer leaves none behind."""
    return {key: value for key, value in (records or {}).items() if key.isdigit() and int(key) < length}


def answer_number(chat: list[dict], index: int) -> int:
    """The message's place among the conversation's answers (0 for the first), as CHAT_JS counts bot messages."""
    return sum(1 for message in chat[:index] if message.get("role") == "assistant")


def _section(number: int, heading: str, body: str, shown: bool) -> str:
    return (f'<section class="nr-answer-sources" data-answer="{number}"{"" if shown else " hidden"}>'
            f'<p class="nr-for">{escape(heading)}</p>{body}</section>')


def sources_panel(chat: list[dict], records: dict[str, Any] | None, min_relevance: float,
                  current: str | None = None) -> str:
    """Every answer's sources, the newest shown; `current` is the cards of the answer being written (the last)."""
    total = sum(1 for message in chat if message.get("role") == "assistant")
    sections = []
    kept = sorted((int(key), record) for key, record in records_before(records, len(chat)).items()
                  if record.get("shown"))
    for index, record in kept:
        number = answer_number(chat, index)
        if current is not None and number == total - 1:
            continue  # being answered again: the new cards stand for it
        shown = current is None and index == kept[-1][0]
        answer = Answer.model_validate(record["shown"])
        sections.append(_section(number, f"Answer {number + 1} of {total}: {answer.question}",
                                 render_answer_html(answer, min_relevance, number), shown))
    if current is not None:
        sections.append(_section(total - 1, f"Answer {total} of {total}", current, True))
    return "".join(sections) or EMPTY_SOURCES
