"""The Chat tab: ask, stream, stop, regenerate, rate, and keep conversations across reloads.

One answer at a time per browser tab: while it is written the question box stays editable, Send is
disabled and a status line says so, so nothing typed or sent is lost. Answers are saved to the user's
current conversation after each turn; thumbs up/down (with an optional comment) go to the feedback log.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, get_args

import gradio as gr

from rag.config import RetrievalMode
from rag.errors import NewsragError
from rag.types import Answer
from ui.answers import (
    EMPTY_SOURCES,
    answer_number,
    answer_record,
    feedback_fields,
    records_before,
    sources_panel,
)
from ui.chat_inputs import (
    ALL_OUTLETS,
    chat_filters,
    check_chat_inputs,
    date_note_of,
    describe_backend,
    filter_chips,
    go_on,
    history_of,
    last_question,
)
from ui.conversations import Conversations, conversation_markdown, message_text, title_from
from ui.feedback import FeedbackLog
from ui.render import (
    markdown_text,
    plain_text,
    render_markdown_answer,
    render_sources_html,
    render_stopped_answer,
)
from ui.services import Services, safe_filename

EXAMPLES = (
    "When did US forces leave Ain al-Asad?",
    "How many detainees could be moved to Iraq?",
    "Who is the CENTCOM commander and what did he say?",
)
BUSY_NOTICE = ("An answer is still being written: your question stays in the box. Send it when this one ends, "
               "or press Stop.")
# The picked conversation's id is the list's value (the page never sees gr.State), its name the picked label's text.
CONFIRM_DELETE_JS = """
(id) => {
  const name = document.querySelector("#conversation-list label.selected")?.textContent.trim();
  return (id && name && confirm("Delete the conversation \u201c" + name + "\u201d? This cannot be undone.")) ? id : null;
}
"""


def _user(request: gr.Request | None) -> str:
    return (getattr(request, "username", None) or "") if request else ""


@dataclass
class ChatTab:
    """What the rest of the page needs from the chat tab."""

    outlet: gr.Dropdown
    articles: gr.Dropdown


def build_chat_tab(
    demo: gr.Blocks, services: Services, conversations: Conversations, feedback: FeedbackLog
) -> ChatTab:
    """Lay out the Chat tab inside the current gr.Blocks (demo) and wire its events."""
    settings = services.settings

    def check(message: str, busy: bool, date_from: str | None, date_to: str | None) -> tuple:
        """Look at the question and the settings before anything leaves the box: a problem is said beside its
        field (the question's under the box, a date's under the dates, whose settings open) and nothing is sent.

        Returns (ready, status, date note, settings accordion).
        """
        if busy:
            return False, BUSY_NOTICE, gr.skip(), gr.skip()
        question, _, start_date, end_date = [None if c["is_valid"] else c["message"]
                                              for c in check_chat_inputs(message, busy, date_from, date_to)]
        date = start_date or end_date
        if date:
            return (False, f"Not sent: {markdown_text(date)} (Answer settings, below).",
                    gr.update(value=markdown_text(date), visible=True), gr.update(open=True))
        if question:
            return False, f"Not sent: {markdown_text(question)}", gr.update(value="", visible=False), gr.skip()
        return True, "", gr.update(value="", visible=False), gr.skip()

    def start(message: str) -> tuple:
        """Take the checked question for answering (after check() and go_on()). Runs unqueued, so the busy flag is
        set before the answer starts: a question sent meanwhile is never lost, it stays in the box with a notice.
        Returns (box, asked, busy, send, stop, status).
        """
        return ("", (message or "").strip(), True, gr.update(interactive=False, value="Answering…"),
                gr.update(visible=True), "Answering… (press Stop to cut it short)")

    async def respond(
        question: str, chat: list[dict], k: float, mode: str, focus: float, outlet: str | None,
        date_from: str | None, date_to: str | None, articles: list[str] | None = None, records: dict | None = None,
    ) -> AsyncIterator[tuple[list[dict], str, dict, str]]:
        """Stream one answer: passages first, then tokens, then the verified answer replaces the raw text.

        Never writes to the question box, so what the user types meanwhile stays there. `records` (what each
        answer showed, by message index: ui.answers) gains the new answer; `writing` is the index of the message
        being written until it is done, so Stop marks that one and no other. Every failure ends as a message in
        the chat, never as a raised error, so the events after it (idle, autosave) always run.
        """
        chat = list(chat or [])
        records = dict(records or {})
        history = history_of(chat)
        chat += [{"role": "user", "content": markdown_text(question)}, {"role": "assistant", "content": "…"}]
        records = records_before(records, len(chat) - 1)
        number, writing = answer_number(chat, len(chat) - 1), str(len(chat) - 1)
        searching = '<p class="nr-muted">Searching the articles…</p>'
        yield chat, sources_panel(chat, records, settings.min_relevance, searching), records, writing
        streamed = ""
        try:
            filters = {**chat_filters(date_from, date_to), "outlet": outlet or None,
                       "article_ids": list(articles or [])}
            inputs = {"question": question, "chat_history": history, "k": int(k), "mode": mode, "focus": int(focus),
                      "filters": filters}
            async for event in services.chain.astream(inputs):  # native async: the event loop is never blocked
                if isinstance(event, list):
                    found = render_sources_html(event, "Retrieved passages", number)
                    yield chat, sources_panel(chat, records, settings.min_relevance, found), gr.skip(), writing
                elif isinstance(event, str):
                    streamed += event
                    chat[-1] = {"role": "assistant", "content": markdown_text(streamed)}
                    yield chat, gr.skip(), gr.skip(), writing
                elif isinstance(event, Answer):
                    chat[-1] = {"role": "assistant", "content": render_markdown_answer(event)}
                    records[writing] = answer_record(event, history, {
                        "k": int(k), "mode": mode, "focus": int(focus), "filters": filters,
                        "llm_backend": settings.llm_backend, "llm_model": settings.llm_model})
                    yield chat, sources_panel(chat, records, settings.min_relevance), records, ""
        except Exception as exc:  # noqa: BLE001 - shown in the chat; the log has the traceback of a surprise
            if not isinstance(exc, NewsragError):
                logging.getLogger("newsrag").exception("a chat answer failed")
            chat[-1] = {"role": "assistant", "content": f"**Error:** {markdown_text(str(exc) or type(exc).__name__)}"}
            yield chat, sources_panel(chat, records, settings.min_relevance), records, ""

    def stopped(chat: list[dict], writing: str) -> tuple[list[dict], str]:
        """Mark the answer that Stop cut off as partial and unverified: only the one being written, if any."""
        chat = list(chat or [])
        if writing.isdigit() and int(writing) == len(chat) - 1 and chat[-1].get("role") == "assistant":
            partial = plain_text(message_text(chat[-1])).removesuffix("…")
            chat[-1] = {"role": "assistant", "content": render_stopped_answer(partial)}
        return chat, ""

    def idle() -> tuple:
        return False, gr.update(interactive=True, value="Send"), gr.update(visible=False), ""

    def check_again(chat: list[dict], busy: bool, date_from: str | None, date_to: str | None) -> tuple:
        """check() for Retry: the last question and today's settings."""
        return check(last_question(chat)[1], busy, date_from, date_to)

    def regenerate(chat: list[dict]) -> tuple:
        """Ask the last question again (after check_again() and go_on()): the chat goes back to before it, and the
        answer streams anew."""
        index, question = last_question(chat)
        return (list(chat)[:index], question, True, gr.update(interactive=False, value="Answering…"),
                gr.update(visible=True), "Answering again…")

    def rate(chat: list[dict], records: dict, data: gr.LikeData, request: gr.Request) -> tuple:
        """Log a thumbs up/down with the answer's question, citations and settings; offer a comment box."""
        index = data.index[0] if isinstance(data.index, (list, tuple)) else data.index
        record = (records or {}).get(str(index))
        if record is None:  # a restored conversation: only the text is known
            turns = history_of(chat or [])
            record = {"question": turns[index - 1]["content"] if index else "", "answer": turns[index]["content"],
                      "citations": [], "settings": {}}
        verdict = "up" if data.liked is True else "down"
        feedback_id = feedback.verdict(feedback_fields(record), verdict, _user(request))
        return feedback_id, gr.update(visible=True, value=""), f"Thanks: feedback saved ({'👍' if verdict == 'up' else '👎'})."

    def save_comment(feedback_id: str, text: str, request: gr.Request) -> tuple:
        if feedback_id and text.strip():
            feedback.comment(feedback_id, text, _user(request))
            return gr.update(visible=False, value=""), "Comment saved."
        return gr.skip(), gr.skip()

    # --- conversations ---------------------------------------------------------------------------------------

    def conversation_choices(user: str, selected: str | None) -> dict:
        return gr.update(choices=conversations.list(user), value=selected)

    def restore(request: gr.Request) -> tuple:
        """On page load: the user's latest conversation and the list beside it."""
        user = _user(request)
        latest = conversations.latest(user)
        if latest is None:
            return [], "", conversation_choices(user, None), EMPTY_SOURCES, {}
        return (latest.messages, latest.id, conversation_choices(user, latest.id),
                sources_panel(latest.messages, latest.answers, settings.min_relevance), latest.answers)

    def autosave(chat: list[dict], conversation_id: str, records: dict, request: gr.Request) -> tuple:
        if not chat:
            return gr.skip(), gr.skip()
        user = _user(request)
        saved = conversations.save(user, conversation_id or None, chat, records_before(records, len(chat)))
        return saved, conversation_choices(user, saved)

    def open_conversation(conversation_id: str | None, busy: bool, request: gr.Request) -> tuple:
        found = conversations.get(_user(request), conversation_id) if conversation_id and not busy else None
        if found is None:
            return gr.skip(), gr.skip(), gr.skip(), gr.skip()
        return found.messages, found.id, sources_panel(found.messages, found.answers, settings.min_relevance), \
            found.answers

    def new_conversation(busy: bool, request: gr.Request) -> tuple:
        if busy:
            return gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
        return [], "", conversation_choices(_user(request), None), EMPTY_SOURCES, {}

    def rename_conversation(conversation_id: str, title: str, request: gr.Request) -> tuple:
        user = _user(request)
        if not conversation_id or not conversations.rename(user, conversation_id, title):
            gr.Warning("Choose a saved conversation and type a new name.")
            return gr.skip(), gr.skip()
        return conversation_choices(user, conversation_id), ""

    def delete_conversation(conversation_id: str | None, request: gr.Request) -> tuple:
        """Delete the conversation picked in the list, once CONFIRM_DELETE_JS has asked; cancelled, nothing changes."""
        user = _user(request)
        if not conversation_id or not conversations.delete(user, conversation_id):
            return (gr.skip(),) * 5
        return [], "", conversation_choices(user, None), EMPTY_SOURCES, {}

    def export_conversation(chat: list[dict], conversation_id: str, request: gr.Request) -> str | None:
        """The conversation as a Markdown file named after it (a safe file name), in a folder of its own per
        conversation, so two exports of the same name never overwrite each other."""
        if not chat:
            gr.Warning("Nothing to export yet.")
            return None
        found = conversations.get(_user(request), conversation_id) if conversation_id else None
        title = found.title if found else title_from(chat)
        folder = services.settings.data_dir / "exports" / (conversation_id or uuid.uuid4().hex)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{safe_filename(title).removesuffix('.md')}.md"
        path.write_text(conversation_markdown(title, chat), encoding="utf-8")
        return str(path)

    # --- layout ------------------------------------------------------------------------------------------------

    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=180, elem_id="conversations"):
            saved = gr.Radio(label="Conversations", choices=[], value=None, elem_id="conversation-list")
            new = gr.Button("New conversation", size="sm", elem_id="new-conversation")
            with gr.Accordion("Rename, delete, export", open=False):
                new_title = gr.Textbox(label="New name", max_lines=1)
                rename = gr.Button("Rename", size="sm")
                remove = gr.Button("Delete", size="sm", variant="stop", elem_id="delete-conversation")
                export = gr.Button("Export as Markdown", size="sm")
                exported = gr.File(label="Exported conversation", interactive=False, elem_id="exported-conversation")
        with gr.Column(scale=3):
            chatbot = gr.Chatbot(
                label="Conversation", height=460, latex_delimiters=[], elem_id="chat", buttons=["copy", "copy_all"],
                feedback_options=("Like", "Dislike"),
                placeholder="Ask a question about the articles, or pick an example below.",
            )
            with gr.Row():
                message = gr.Textbox(
                    label="Question", placeholder="Ask about the articles…", show_label=False, scale=6,
                    autofocus=True, elem_id="question", max_lines=4,
                )
                send = gr.Button("Send", variant="primary", scale=1, min_width=80, elem_id="send")
                stop = gr.Button("Stop", variant="stop", scale=1, min_width=80, visible=False, elem_id="stop")
            with gr.Row(elem_id="filter-chips", equal_height=False):  # the filters in force; a click removes one
                chips = [gr.Button("", size="sm", visible=False, elem_classes="nr-chip", min_width=0, scale=0,
                                   elem_id=f"chip-{name}") for name in ("outlet", "from", "to", "articles")]
            status = gr.Markdown("", elem_id="chat-status")
            with gr.Row(visible=False) as comment_row:
                comment = gr.Textbox(label="Comment on this answer (optional)", max_lines=3, scale=5,
                                     elem_id="feedback-comment")
                comment_send = gr.Button("Save comment", size="sm", scale=1)
            with gr.Row():
                examples = [gr.Button(q, size="sm", variant="secondary") for q in EXAMPLES]
            with gr.Accordion("Answer settings", open=False) as answer_settings:
                k = gr.Slider(1, max(12, settings.top_k), value=settings.top_k, step=1,
                              label="Passages to retrieve (k)")
                mode = gr.Radio(list(get_args(RetrievalMode)), value=settings.retrieval, label="Retrieval mode")
                focus = gr.Slider(0, 10, value=settings.focus_sentences, step=1, elem_id="focus",
                                  label="Sentences kept per passage (0 = whole passages)")
                outlet = gr.Dropdown(label="Outlet", choices=[ALL_OUTLETS], value=ALL_OUTLETS[1],
                                     elem_id="ask-within-outlet")
                articles = gr.Dropdown(label="Ask within these articles (none chosen: all)", choices=[], value=[],
                                       multiselect=True, elem_id="ask-within-articles")
                with gr.Row():
                    date_from = gr.DateTime(label="Date from", include_time=False, type="string", value="")
                    date_to = gr.DateTime(label="Date to", include_time=False, type="string", value="")
                date_note = gr.Markdown("", visible=False, elem_id="date-note", elem_classes="nr-problem")
                gr.Textbox(describe_backend(settings), label="Answering model", interactive=False,
                           elem_id="answering-model")
        with gr.Column(scale=2):
            sources = gr.HTML(EMPTY_SOURCES, label="Sources", elem_id="sources", js_on_load=None)

    # --- events ------------------------------------------------------------------------------------------------

    busy = gr.State(False)
    conversation_id = gr.State("")
    feedback_id = gr.State("")
    asked = gr.Textbox(visible=False)  # the question being answered; a component so /chat takes it as input
    ready = gr.State(False)  # check()'s verdict on the question about to be sent
    writing = gr.State("")  # the index of the answer being written, "" when none is: all Stop may mark
    check_inputs, check_outputs = [message, busy, date_from, date_to], [ready, status, date_note, answer_settings]
    start_outputs = [message, asked, busy, send, stop, status]
    records = gr.State({})  # what each answer showed, by message index (ui.answers): panel, feedback, saving
    answer_inputs = [asked, chatbot, k, mode, focus, outlet, date_from, date_to, articles, records]
    answer_outputs = [chatbot, sources, records, writing]
    idle_outputs = [busy, send, stop, status]
    private: dict[str, Any] = {"api_visibility": "private"}

    checked = gr.on([message.submit, send.click], check, check_inputs, check_outputs, queue=False, **private)
    sent = checked.then(go_on, ready, None, queue=False, **private).success(
        start, message, start_outputs, queue=False, **private)
    answers = [sent.success(respond, answer_inputs, answer_outputs, api_name="chat")]
    for button, question in zip(examples, EXAMPLES):
        picked = button.click(_constant(question), None, message, queue=False, **private).then(
            check, check_inputs, check_outputs, queue=False, **private).then(
            go_on, ready, None, queue=False, **private).success(start, message, start_outputs, queue=False, **private)
        answers.append(picked.success(respond, answer_inputs, answer_outputs, **private))
    again = chatbot.retry(check_again, [chatbot, busy, date_from, date_to], check_outputs, queue=False,
                          **private).then(go_on, ready, None, queue=False, **private).success(
        regenerate, chatbot, [chatbot, *start_outputs[1:]], queue=False, **private)
    answers.append(again.success(respond, answer_inputs, answer_outputs, **private))
    for answer in answers:
        answer.then(idle, None, idle_outputs, queue=False, **private).then(
            autosave, [chatbot, conversation_id, records], [conversation_id, saved], queue=False, **private)
    # cancel first, then mark: marking in the same event can be overwritten by the answer's last update
    stop.click(None, None, None, cancels=answers, queue=False, **private).then(
        stopped, [chatbot, writing], [chatbot, writing], queue=False, **private).then(
        idle, None, idle_outputs, queue=False, **private).then(
        autosave, [chatbot, conversation_id, records], [conversation_id, saved], queue=False, **private)
    filter_inputs = [outlet, date_from, date_to, articles]
    gr.on([field.change for field in filter_inputs], lambda *values: filter_chips(services, *values), filter_inputs,
          chips, queue=False, **private)
    for chip, field, cleared in zip(chips, filter_inputs, ("", "", "", [])):
        chip.click(_constant(cleared), None, field, queue=False, **private)
    gr.on([date_from.change, date_to.change], lambda start, end: date_note_of(check_chat_inputs("-", False, start, end)),
          [date_from, date_to], date_note, queue=False, **private)
    chatbot.clear(lambda: ("", EMPTY_SOURCES, {}), None, [conversation_id, sources, records], queue=False, **private)
    chatbot.like(rate, [chatbot, records], [feedback_id, comment_row, status], queue=False, **private)
    gr.on([comment_send.click, comment.submit], save_comment, [feedback_id, comment], [comment_row, status],
          queue=False, **private)

    switched = [chatbot, conversation_id, saved, sources, records]
    demo.load(restore, None, switched, queue=False, **private)
    saved.input(open_conversation, [saved, busy], [chatbot, conversation_id, sources, records], queue=False,
                **private)
    new.click(new_conversation, busy, switched, queue=False, **private)
    rename.click(rename_conversation, [conversation_id, new_title], [saved, new_title], queue=False, **private)
    remove.click(delete_conversation, saved, switched, queue=False, js=CONFIRM_DELETE_JS, **private)
    export.click(export_conversation, [chatbot, conversation_id], exported, queue=False, **private)
    return ChatTab(outlet=outlet, articles=articles)


def _constant(value: Any) -> Callable[[], Any]:
    return lambda: value
