"""The chat's inputs: checking a question and its settings before it is sent, the filters it is asked with, and
the chips beside the question box that show (and remove) the filters in force.
"""

from __future__ import annotations

import gradio as gr

from rag.chain import question_problem
from rag.errors import QuestionError
from rag.filters import date_problem, range_problem
from ui.conversations import message_text
from ui.render import markdown_text, plain_text
from ui.services import Services

ALL_OUTLETS = ("All outlets", "")  # the outlet filter's (label, value) for "no filter"


def describe_backend(settings) -> str:
    """The answering model in words, for the read-only display in the settings."""
    backend = settings.llm_backend
    if backend == "local":
        return "local: Qwen2.5-Coder-1.5B-Instruct (bundled, Q4_K_M, CPU)"
    if backend == "fake":
        return "fake: deterministic stand-in for tests (quotes the first passage)"
    where = settings.llm_base_url or ("api.openai.com" if backend == "openai" else "local Ollama")
    return f"{backend}: {settings.llm_model or '(no model set)'} at {where}"


def chat_filters(date_from: str | None, date_to: str | None) -> dict[str, str | None]:
    """The date filters for the chain; a bad date or range is a NewsragError, never a silently ignored filter."""
    problem = range_problem(date_from, date_to, ("Date from", "Date to"))
    if problem:
        raise QuestionError(problem)
    return {"date_from": (date_from or "").strip() or None, "date_to": (date_to or "").strip() or None}


def check_chat_inputs(message: str, busy: bool, date_from: str | None, date_to: str | None) -> list[dict]:
    """What is wrong with each input of a question about to be sent (gr.validate each): the message, the busy flag,
    the two dates (a start after its end is the end date's problem)."""
    question = (message or "").strip()
    problems = [
        question_problem(question) if question else "Type a question first.", None,
        date_problem(date_from, "Date from"),
        date_problem(date_to, "Date to") or range_problem(date_from, date_to, ("Date from", "Date to")),
    ]
    return [gr.validate(problem is None, problem or "") for problem in problems]


def article_choices(services: Services, chosen: list[str] | None) -> dict:
    """The "ask within" article picker: every stored article by title, outlet and date; the chosen ones that are
    still stored stay chosen (a deleted one would make the next question fail Gradio's choice check)."""
    articles = services.store.articles()
    stored = {a.id for a in articles}
    choices = [(" · ".join(part for part in (a.title or "Untitled article", a.outlet, a.date) if part), a.id)
               for a in articles]
    return gr.update(choices=choices, value=[article_id for article_id in chosen or [] if article_id in stored])


def history_of(chat: list[dict]) -> list[dict]:
    """The conversation as plain {"role", "content"} turns for the chain (Gradio 6 content may be a list of blocks)."""
    return [{"role": m.get("role", "user"), "content": plain_text(message_text(m))} for m in chat]


def last_question(chat: list[dict] | None) -> tuple[int | None, str]:
    """The last question of the chat (its message index and plain text), or (None, "")."""
    index = max((i for i, m in enumerate(chat or []) if m.get("role") == "user"), default=None)
    return index, plain_text(message_text((chat or [])[index])) if index is not None else ""


def go_on(ready: bool) -> None:
    """Let a checked question go on to be answered, or end its event here: silently, as check() said why, and
    with no outputs, so no component shows an error badge."""
    if not ready:
        raise gr.Error("not sent", visible=False, print_exception=False)


def date_note_of(checks: list[dict]) -> dict:
    """The note under the date pickers: the first date problem, or nothing."""
    problem = next((c["message"] for c in checks[2:] if not c["is_valid"]), "")
    return gr.update(value=markdown_text(problem), visible=bool(problem))


CHIP_TITLE_CHARS = 40  # a chosen article's title on its chip, cut at a word


def filter_chips(services: Services, outlet: str | None, date_from: str | None, date_to: str | None,
                 articles: list[str] | None) -> tuple[dict, dict, dict, dict]:
    """The chips beside the question box, one per filter in force (outlet, from, to, chosen articles), each a
    button that removes its filter; a filter not in force hides its chip."""
    def chip(label: str | None) -> dict:
        return gr.update(value=f"{label} ✕" if label else "", visible=bool(label))

    chosen = list(articles or [])
    titles = {a.id: a.title or "Untitled article" for a in services.store.articles()} if len(chosen) == 1 else {}
    title = titles.get(chosen[0], "") if chosen else ""
    if len(title) > CHIP_TITLE_CHARS:
        title = title[: CHIP_TITLE_CHARS - 1].rsplit(" ", 1)[0] + "…"
    within = (f"Within: {title}" if len(chosen) == 1 else f"Within {len(chosen)} chosen articles") if chosen else None
    return (chip(outlet and f"Outlet: {outlet}"), chip((date_from or "").strip() and f"From {date_from.strip()}"),
            chip((date_to or "").strip() and f"To {date_to.strip()}"), chip(within))
