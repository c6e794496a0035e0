"""The answering chain: condense → retrieve → prompt → LLM → verify citations → Answer.

(Over 350 lines on purpose: the one flow, _flow, and its two drivers, stream and astream, change together.)

`stream` and `astream` yield, in order: the retrieved passages (a list of Passage, as soon as retrieval ends),
answer tokens (str), and last the verified Answer. `invoke`/`ainvoke` and `batch`/`abatch` return the Answer.

One call is one traced run: a root run (named by the caller's run_name, carrying its tags and metadata) whose
children are the condense model call (with history only), the retriever, the answering model and `verify`,
so a tracer, LangSmith or astream_events sees the whole answer as one tree.
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import AsyncIterator, Callable, Generator, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from langchain_core.callbacks import AsyncCallbackManager, BaseCallbackManager, CallbackManager
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from langchain_core.runnables import Runnable, RunnableConfig, RunnableLambda
from langchain_core.runnables.config import ensure_config, patch_config, run_in_executor
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rag.citations import CitationVerifier, attributes
from rag.claims import no_for_another_value, not_told
from rag.config import RetrievalMode, Settings, get_settings
from rag.conflicts import asks_figure, compares_reports, with_conflict_note
from rag.context import fit_passages, focus_passages
from rag.dates import MENTIONED_DATE, all_past, anchor_dates, published_label, span_between, stated_dates
from rag.errors import QuestionError
from rag.faq import opens_with, passage_answer, says_only_the_verdict
from rag.filters import Filters
from rag.llm import get_chat_model, prime_prompt_cache, restore_prompt_cache
from rag.multipart import (
    merge_for_parts,
    missing_note,
    open_parts,
    part_queries,
    question_parts,
    with_part_evidence,
)
from rag.order import worked_out_order
from rag.prompts import ABSTAIN_TEXT, answer_messages, condense_messages, to_messages
from rag.questions import (
    DURATION_PHRASE,
    asked_outlets,
    asks_duration,
    asks_future_time,
    covers_asked_action,
    covers_asked_thing,
    covers_said_topic,
    named_outlets,
    names_asked_place,
    rewrite_keeps_names,
    unmentioned_names,
    widened_to_year,
)
from rag.retrieve import Reranker, Retriever
from rag.retriever import NewsRetriever, passage_of
from rag.store import Store
from rag.text import split_sentences, strip_markers, without_unfinished_end
from rag.tokens import count_tokens
from rag.types import Answer, Citation, Passage, Timings

_DECLINE = re.compile(
    r"(do(es)? not (answer|contain|say|mention|provide|include)|don't (answer|contain|say|know)|"
    r"not (mentioned|stated|specified|provided|covered)|no (information|mention)|cannot (answer|be answered|determine)|"
    r"can't (answer|determine)|unable to answer|i don't know|not enough information)",
    re.IGNORECASE,
)
StreamEvent = list[Passage] | str | Answer
# An answer this near llm_max_tokens (in cl100k tokens) without a final stop was cut off: on the eval runs cut
# answers counted 147-160 tokens of 160 and finished ones at most 124
CUT_OFF_SHARE = 0.85
# reports below k are searched to 3 k: on the sample corpus the second figure of a dev question ranked 10th
# ("four large camps") and 12th ("a few dozen American advisers") at k = 4
FURTHER_REPORTS_PER_K = 3
MAX_QUESTION_CHARS = 2000  # ~500 tokens: a question, not a document; the rest of the window is for passages


def question_problem(question: str) -> str | None:
    """Why this question cannot be asked, or None; the chain, the API and the chat box all say it this way."""
    question = question.strip()
    if not question:
        return "the question is empty: ask something about the articles"
    if any("\ud800" <= char <= "\udfff" for char in question):  # JSON's "\ud800" escape: no character at all
        return "the question holds a lone surrogate escape (such as \\ud800), which is not a character: retype it"
    if len(question) > MAX_QUESTION_CHARS:
        return (f"the question is longer than {MAX_QUESTION_CHARS:,} characters ({len(question):,}): "
                f"ask it in at most {MAX_QUESTION_CHARS:,} characters")
    return None


def is_decline(text: str) -> bool:
    return bool(_DECLINE.search(text)) or not text.strip()


class ChatTurn(BaseModel):
    """One earlier turn of the conversation; Gradio 6 may send content as a list of text blocks."""

    role: Literal["user", "assistant"]
    content: str | list[dict[str, Any]]


class ChainInput(BaseModel):
    """What the chain takes (`chain.input_schema`); a dict with these keys is validated into it."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    question: str = Field(description="The question; a follow-up is rewritten with the history first.")
    chat_history: list[ChatTurn | BaseMessage] = Field(default_factory=list, description="Earlier turns, oldest first.")
    k: int | None = Field(None, ge=1, le=50, description="Passages to retrieve (default settings.top_k).")
    mode: RetrievalMode | None = Field(None, description="dense, bm25, hybrid or mmr (default settings.retrieval).")
    filters: Filters | None = Field(None, description="{date_from, date_to (YYYY-MM-DD, inclusive), outlet, "
                                   "article_ids (search only these articles)}.")
    focus: int | None = Field(None, ge=0, le=20, description="Sentences kept per passage, 0 = whole passages "
                              "(default settings.focus_sentences).")


def read_input(input: ChainInput | dict[str, Any]) -> ChainInput:
    """The validated input with its question stripped; a QuestionError names every bad field."""
    try:
        request = input if isinstance(input, ChainInput) else ChainInput.model_validate(input)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'input'}: {e['msg']}" for e in exc.errors())
        raise QuestionError(f"invalid chain input ({problems}); expected {{question, chat_history, k, mode, "
                            f"filters, focus}}") from exc
    problem = question_problem(request.question)
    if problem:
        raise QuestionError(problem)
    return request.model_copy(update={"question": request.question.strip()})


# --- the steps a call runs as child runs: _flow names them, stream and astream run them ------------------------


@dataclass
class _Condense:
    messages: list[BaseMessage]


@dataclass
class _Retrieve:
    query: str
    k: int | None
    mode: RetrievalMode | None
    filters: Filters | None


@dataclass
class _Generate:
    """Streams the answering model; its tokens go out as events, the flow gets a _Generated.

    Tokens that could still be the start of `hold` are held back: a decline the flow may ask again is not shown.
    `restores_prefix`: this prompt does not start with the usual instructions, so put them back afterwards.
    """

    messages: list[BaseMessage]
    hold: str = ""
    restores_prefix: bool = False


@dataclass
class _Generated:
    text: str
    first_token: float | None  # when the first token went out to the caller
    held: str  # the text held back and never sent (all of it, when the model wrote `hold` and no more)


class _HeldBack:
    """Passes tokens on, except while all of them together could still be the start of `prefix`."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.held = ""
        self.released = not prefix

    def feed(self, token: str) -> str:
        if self.released:
            return token
        self.held += token
        if self.prefix.startswith(self.held.lstrip()):
            return ""
        self.released = True
        out, self.held = self.held, ""
        return out


@dataclass
class _Verify:
    arguments: dict[str, Any]


@dataclass
class _Compute:
    """CPU work (focusing passages with the embedding model): a worker thread under astream."""

    function: Callable[..., Any]
    arguments: tuple[Any, ...]


_Step = _Condense | _Retrieve | _Generate | _Verify | _Compute


class _Steps:
    """Iterates a flow for a driver: each item it yields, and `result` (set by the driver) is sent back next.

    `answer` is the verified Answer once the flow has yielded it (the root run's output).
    """

    def __init__(self, flow: Generator[_Step | StreamEvent, Any, None]) -> None:
        self.flow = flow
        self.result: Any = None
        self.answer: Answer | None = None

    def __iter__(self) -> _Steps:
        return self

    def __next__(self) -> _Step | StreamEvent:
        item = self.flow.send(self.result)  # StopIteration when the flow has ended ends the driver's loop
        self.result = None
        if isinstance(item, Answer):
            self.answer = item
        return item


class AnswerChain(Runnable[ChainInput | dict, Answer]):
    """LCEL Runnable over ChainInput {"question", "chat_history", optional "k", "mode", "filters"}."""

    name = "newsrag"

    def __init__(self, settings: Settings, retriever: Retriever, llm: BaseChatModel) -> None:
        self.settings = settings
        self.retriever = retriever
        self.llm = llm
        self.documents = NewsRetriever(search=retriever)  # the same search, as a LangChain retriever run
        self.verifier = CitationVerifier(retriever.store.embeddings)
        self._verify = RunnableLambda(self._verified, name="verify")

    @property
    def InputType(self) -> type[ChainInput]:  # LangChain's name
        return ChainInput

    @property
    def OutputType(self) -> type[Answer]:  # LangChain's name
        return Answer

    def warm_up(self) -> None:
        """Have the model read the fixed instructions once, so no user waits for them.

        llama.cpp keeps what it has read as a prompt cache; every answer prompt starts with these same
        tokens, so afterwards only the passages and the question are read per answer (seconds on a CPU).
        The bundled model restores them from disk when an earlier process has read them; a remote backend
        just answers a one-token request.
        """
        prime_prompt_cache(self.llm, answer_messages("", []))

    # -- the public calls ------------------------------------------------------------------------------------

    def invoke(self, input: ChainInput | dict, config: RunnableConfig | None = None, **kwargs: Any) -> Answer:
        final = None
        for event in self.stream(input, config, **kwargs):
            final = event
        assert isinstance(final, Answer)
        return final

    async def ainvoke(self, input: ChainInput | dict, config: RunnableConfig | None = None, **kwargs: Any) -> Answer:
        final = None
        async for event in self.astream(input, config, **kwargs):
            final = event
        assert isinstance(final, Answer)
        return final

    def stream(  # type: ignore[override]  # passages and tokens come before the Answer: see the module's docstring
        self, input: ChainInput | dict, config: RunnableConfig | None = None, **kwargs: Any
    ) -> Iterator[StreamEvent]:
        config = ensure_config(config)
        manager = CallbackManager.configure(**_callback_settings(config))
        run = manager.on_chain_start(None, _traced(input), **self._run_names(config))
        child = _child_config(config, run.get_child())
        steps = _Steps(self._flow(input))
        try:
            for item in steps:
                if isinstance(item, _Generate):
                    steps.result = yield from self._generate(item, child)
                    if item.restores_prefix:
                        restore_prompt_cache(self.llm, answer_messages("", []))
                elif isinstance(item, _Step):
                    steps.result = self._run(item, child)
                else:
                    yield item
        except BaseException as exc:
            run.on_chain_error(exc)
            raise
        run.on_chain_end(steps.answer)

    async def astream(  # type: ignore[override]  # as stream
        self, input: ChainInput | dict, config: RunnableConfig | None = None, **kwargs: Any
    ) -> AsyncIterator[StreamEvent]:
        config = ensure_config(config)
        manager = AsyncCallbackManager.configure(**_callback_settings(config))
        run = await manager.on_chain_start(None, _traced(input), **self._run_names(config))
        child = _child_config(config, run.get_child())
        steps = _Steps(self._flow(input))
        try:
            for item in steps:
                if isinstance(item, _Generate):
                    parts: list[str] = []
                    first_token = None
                    held = _HeldBack(item.hold)
                    async for chunk in self.llm.astream(item.messages, _named(child, "answer")):
                        if chunk.text:
                            parts.append(chunk.text)
                            if shown := held.feed(chunk.text):
                                first_token = first_token or time.perf_counter()
                                yield shown
                    steps.result = _Generated("".join(parts), first_token, held.held)
                    if item.restores_prefix:
                        await run_in_executor(child, restore_prompt_cache, self.llm, answer_messages("", []))
                elif isinstance(item, _Step):
                    steps.result = await self._arun(item, child)
                else:
                    yield item
        except BaseException as exc:
            await run.on_chain_error(exc)
            raise
        await run.on_chain_end(steps.answer)

    def _run_names(self, config: RunnableConfig) -> dict[str, Any]:
        """The root run's name (the caller's run_name, else ours) and the run id the caller chose, if any."""
        return {"name": config.get("run_name") or self.get_name(), "run_id": config.pop("run_id", None)}

    # -- running the steps -----------------------------------------------------------------------------------

    def _run(self, step: _Step, config: RunnableConfig) -> Any:
        if isinstance(step, _Condense):
            standalone = self.llm.invoke(step.messages, _named(config, "condense")).text
            restore_prompt_cache(self.llm, answer_messages("", []))  # the condense prompt took the model's slot
            return standalone
        if isinstance(step, _Retrieve):
            documents = self.documents.invoke(step.query, _named(config, "retrieve"), k=step.k, mode=step.mode,
                                              filters=step.filters)
            return [passage_of(d) for d in documents]
        if isinstance(step, _Verify):
            return self._verify.invoke(step.arguments, config)
        assert isinstance(step, _Compute)
        return step.function(*step.arguments)

    async def _arun(self, step: _Step, config: RunnableConfig) -> Any:
        if isinstance(step, _Condense):
            standalone = (await self.llm.ainvoke(step.messages, _named(config, "condense"))).text
            await run_in_executor(config, restore_prompt_cache, self.llm, answer_messages("", []))
            return standalone
        if isinstance(step, _Retrieve):
            documents = await self.documents.ainvoke(step.query, _named(config, "retrieve"), k=step.k,
                                                     mode=step.mode, filters=step.filters)
            return [passage_of(d) for d in documents]
        if isinstance(step, _Verify):
            return await self._verify.ainvoke(step.arguments, config)
        assert isinstance(step, _Compute)
        return await run_in_executor(config, step.function, *step.arguments)

    def _generate(self, step: _Generate, config: RunnableConfig) -> Generator[str, None, _Generated]:
        parts: list[str] = []
        first_token = None
        held = _HeldBack(step.hold)
        for chunk in self.llm.stream(step.messages, _named(config, "answer")):
            if chunk.text:
                parts.append(chunk.text)
                if shown := held.feed(chunk.text):
                    first_token = first_token or time.perf_counter()
                    yield shown
        return _Generated("".join(parts), first_token, held.held)

    # -- what one answer does, once for both stream and astream ------------------------------------------------

    def _flow(self, input: ChainInput | dict) -> Generator[_Step | StreamEvent, Any, None]:
        """Yields steps to run (the driver sends back each result) and the events the caller sees."""
        started = time.perf_counter()
        timings = Timings()
        request = read_input(input)
        question = request.question
        history = to_messages([t.model_dump() if isinstance(t, ChatTurn) else t for t in request.chat_history])
        standalone = question
        if history:
            rewrite = (yield _Condense(condense_messages(question, history))).strip()
            standalone = widened_to_year(question, rewrite) if rewrite and rewrite_keeps_names(question, rewrite) \
                else question
            timings["condense"] = time.perf_counter() - started

        passages = yield _Retrieve(standalone, request.k, request.mode, request.filters)
        parts = question_parts(standalone)
        swapped_in = []  # the best passage of each search below goes in the prompt if the first search missed it
        if len(parts) > 1:  # "how many … and from which city?": one search per part
            for query in part_queries(parts):
                swapped_in.append((yield _Retrieve(query, request.k, request.mode, request.filters)))
        for outlet in (yield _Compute(self._outlets_missing, (standalone, passages, request.filters))):
            # "what did the Levant Ledger say …": that outlet's closest passage, however the others rank
            only_outlet = dataclasses.replace(request.filters or Filters(), outlet=outlet)
            swapped_in.append((yield _Retrieve(standalone, request.k, request.mode, only_outlet)))
        if swapped_in:
            passages = merge_for_parts(passages, swapped_in, request.k or self.settings.top_k)
        relevant = passages
        if max((p.similarity or 0.0 for p in passages), default=0.0) < self.settings.min_relevance:
            # below the floor only what the question names is about it: a stored outlet's own reports ("What did
            # the Northern Gazette's correction change?" is no closer than 0.17 to any passage: dev y021)
            named = yield _Compute(self._outlets_named, (standalone,))
            relevant = [p for p in passages if attributes(p, named)]
        timings["until_passages"] = time.perf_counter() - started
        yield relevant or passages

        if not relevant:
            timings["total"] = time.perf_counter() - started
            yield ABSTAIN_TEXT
            yield Answer(question=question, standalone_question=standalone, answer=ABSTAIN_TEXT,
                         abstained=True, passages=passages, timings=timings)
            return
        passages = relevant

        focus = self.settings.focus_sentences if request.focus is None else request.focus
        context = yield _Compute(self._context, (standalone, passages, focus))
        generated = yield _Generate(answer_messages(standalone, context), hold=ABSTAIN_TEXT)
        reasked = generated.text.strip() == ABSTAIN_TEXT and self.settings.reask_declines
        if reasked:
            # passages above the relevance floor, yet declined: often they answer it in other words than the
            # question's. Asked without the way out, the model answers; the checks after it decline what is not
            # backed (the decline itself was never shown)
            generated = yield _Generate(answer_messages(standalone, context, may_decline=False), restores_prefix=True)
        elif generated.held:  # the decline (or the start of one) the flow chose not to ask again: shown now
            generated.first_token = generated.first_token or time.perf_counter()
            yield generated.held
        raw = generated.text.strip()
        if generated.first_token is not None:
            timings["until_first_token"] = generated.first_token - started
        timings["until_last_token"] = time.perf_counter() - started

        further: list[Passage] = []
        if wants_further_reports(standalone):  # searched after the answer: nothing waits for it before a token
            wider = yield _Retrieve(standalone, FURTHER_REPORTS_PER_K * (request.k or self.settings.top_k),
                                    request.mode, request.filters)
            further = _beyond(passages, wider)
        answer = yield _Verify({"question": question, "standalone": standalone, "raw": raw,
                                "shown": passages[: len(context)], "passages": passages, "further": further})
        answer.raw_answer = raw
        answer.reasked = reasked
        answer.timings = Timings(**timings, verification=time.perf_counter() - started - timings["until_last_token"],
                                 total=time.perf_counter() - started)
        yield answer

    def _outlets_missing(self, question: str, passages: Sequence[Passage], filters: Filters | None) -> list[str]:
        """The stored outlets the question names that no retrieved passage (nor a copy folded into one) is from."""
        if filters is not None and filters.outlet:
            return []
        present = {p.outlet for passage in passages for p in (passage, *passage.also_reported_by)}
        return [o for o in self._outlets_named(question) if o not in present]

    def _outlets_named(self, question: str) -> list[str]:
        return named_outlets(question, self.retriever.store.outlets())

    def _context(self, standalone: str, passages: list[Passage], focus: int) -> list[Passage]:
        """The passages as the model reads them: focused on the question and fitted to its window."""
        focused = focus_passages(standalone, passages, self.retriever.store.embeddings, focus,
                                 self.settings.passage_token_budget)
        return fit_passages(standalone, focused, self.settings)

    def check(self, question: str, standalone: str, raw: str, passages: list[Passage], focus: int | None = None
              ) -> Answer:
        """The answer this chain makes of a model's raw output for these retrieved passages: everything after
        the model, as a question asked through the chain runs it. `newsrag eval --recheck` replays stored runs
        with it."""
        focus = self.settings.focus_sentences if focus is None else focus
        shown = passages[: len(self._context(standalone, passages, focus))]
        further = _beyond(passages, self.retriever.search(standalone, FURTHER_REPORTS_PER_K * self.settings.top_k)) \
            if wants_further_reports(standalone) else []
        answer = self._finish(question, standalone, raw, shown, passages, further)
        answer.raw_answer = raw
        return answer

    def _verified(self, arguments: dict[str, Any]) -> Answer:
        return self._finish(arguments["question"], arguments["standalone"], arguments["raw"], arguments["shown"],
                            arguments["passages"], arguments["further"])

    def _finish(
        self, question: str, standalone: str, raw: str, shown: list[Passage], passages: list[Passage],
        further: Sequence[Passage] = (),
    ) -> Answer:
        """Verify against the whole passages the model was shown (focused), so quotes come from full text; the
        conflict note also reads the further passages (reports below k) for a question comparing reports, and
        for a declined question asking a count or a date."""
        if count_tokens(raw) >= CUT_OFF_SHARE * self.settings.llm_max_tokens:
            raw = without_unfinished_end(raw)
        parts = question_parts(standalone)
        own = passage_answer(standalone, shown, self.verifier.embeddings) if len(parts) == 1 else None
        if own and (is_decline(raw) or not opens_with(raw, own.verdict) or says_only_the_verdict(raw)):
            raw = own.text  # a passage asks this very yes/no question and answers it: its verdict, not the model's
        raw, missing = open_parts(parts, raw, is_decline)  # a part left open is said, not the whole declined
        raw, answered = with_part_evidence(parts, raw, shown, missing)  # or answered by a passage sentence
        missing = [p for p in missing if p not in answered]
        unmentioned = unmentioned_names(standalone, [_names_text(p) for p in shown])
        if unmentioned:  # "the 2023 Tour de France" over articles that never name it: nothing here is about it
            return self._declined(question, standalone, passages)
        # the note's reports: those shown, or every retrieved passage and the reports below k, numbered on from
        # them (Answer.passages then lists those the note cites): for a question comparing reports, and for a
        # decline ("how many camps?" over passages saying "several", while reports below k say three and four)
        every_report = [*passages, *further] if further else shown
        reports = every_report if compares_reports(standalone) else shown
        if is_decline(raw) or len(missing) == len(parts):
            return self._declined(question, standalone, passages, every_report)
        # "Yes, it began in August" to "Did it begin in October?" is a No before any check reads its "Yes"
        text, citations, unsupported = self.verifier.verify(no_for_another_value(standalone, raw), shown, standalone)
        cited = [c.text for c in citations]
        if len(parts) == 1 and not covers_asked_thing(standalone, cited, self.verifier.embeddings):
            citations = []  # a supported sentence about something else than what was asked ("which unit")
        if len(parts) == 1 and not covers_asked_action(standalone, [c.quote for c in citations],
                                                        self.verifier.embeddings):
            citations = []  # "Who commanded the troops?" from passages that never speak of commanding
        if len(parts) == 1 and not covers_said_topic(standalone, [c.quote for c in citations]):
            citations = []  # "What did X say about its cost?" answered with something else X said
        if len(parts) == 1 and not names_asked_place(standalone, text):
            citations = []  # "In which Iraqi prison …?" answered "in an Iraqi prison"
        asked = asked_outlets(standalone, self.retriever.store.outlets())
        if asked and not any(attributes(p, asked) for p in _cited(citations, shown)):
            citations = []  # "When did the Palmyra Observer publish its review?" answered from another outlet's
        if len(parts) == 1 and unmentioned_names(standalone, [_names_text(p) for p in _cited(citations, shown)]):
            citations = []  # "moved to Kestria's prison at Norrby?" answered from passages that never name it
        if asks_future_time(standalone) and citations and all_past(
                stated_dates(strip_markers(text)), max(c.date or "" for c in citations) or None):
            citations = []  # "When will they leave?" answered with the day a past move was reported
        if not citations:  # nothing in the answer is backed by a passage: do not pass it off as an answer
            return self._declined(question, standalone, passages, every_report, unsupported)
        text = (f"{worked_out_order(standalone, text)} {text} {_worked_out_span(standalone, text, citations)} "
                f"{missing_note(missing)}").strip()
        text, citations = with_conflict_note(standalone, text, citations, reports, self.verifier.embeddings)
        return Answer(question=question, standalone_question=standalone, answer=text, citations=citations,
                      passages=_listed(passages, reports, citations), unsupported_sentences=unsupported)

    def _declined(
        self, question: str, standalone: str, passages: list[Passage], reports: Sequence[Passage] = (),
        unsupported: Sequence[str] = (),
    ) -> Answer:
        """No answer from the model, unless the reports say something of the very thing asked: then that is the
        answer.

        "How many camps were taken?" declined, or answered "several", while one report says three and another
        four: the reports, each with its citation, answer it better than silence. "Where in Iraq are they held?"
        declined, or answered "in Iraq", while a report says "CENTCOM did not disclose where in Iraq": that
        sentence, cited, is what the articles say.
        """
        text, citations = with_conflict_note(standalone, "", [], reports, self.verifier.embeddings)
        untold = None if citations else not_told(standalone, [p.text for p in reports])
        if untold:
            text, citations, _ = self.verifier.verify(f"{untold[1]} [{untold[0] + 1}]", list(reports), standalone)
        if citations:
            return Answer(question=question, standalone_question=standalone, answer=text.strip(), citations=citations,
                          passages=_listed(passages, reports, citations), unsupported_sentences=list(unsupported))
        return Answer(question=question, standalone_question=standalone, answer=ABSTAIN_TEXT, abstained=True,
                      passages=passages, unsupported_sentences=list(unsupported))


def wants_further_reports(question: str) -> bool:
    """Reports below k may matter: the question compares reports, or asks a figure reports may differ on."""
    return compares_reports(question) or asks_figure(question)


def _listed(passages: list[Passage], reports: Sequence[Passage], citations: Sequence[Citation]) -> list[Passage]:
    """The retrieved passages, then the reports below k up to the last one a citation names: every [n] an answer
    shows is its passages[n - 1]."""
    last = max((c.n for c in citations), default=0)
    return list(reports[: max(len(passages), last)]) if len(reports) > len(passages) else passages


def _worked_out_span(question: str, answer: str, citations: Sequence[Citation]) -> str:
    """ "How long after …?" answered with the two dates and no span: the span, worked out. Answered with a span
    and not the dates it rests on ("It took 5 days [1]"): the cited passage's sentence that states two dates,
    the one sharing most words with the answer, since the span itself is in no passage and the reader checks it
    against them ("" otherwise)."""
    if not asks_duration(question):
        return ""
    plain = strip_markers(answer)
    if not DURATION_PHRASE.search(plain):
        span = span_between(stated_dates(plain))
        return f"The dates above are {span} apart." if span else ""
    if len(MENTIONED_DATE.findall(plain)) >= 2:
        return ""
    said = _words(plain)
    dated = [(len(_words(sentence) & said), -i, sentence.strip(), c.n) for i, c in enumerate(citations)
             for sentence in split_sentences(c.text) if len(MENTIONED_DATE.findall(sentence)) >= 2]
    if not dated:
        return ""
    _, _, sentence, n = max(dated)
    return f"{sentence} [{n}]"


def _words(text: str) -> set[str]:
    return {w.lower() for w in re.findall(r"[A-Za-z]{4,}", text)}


def _beyond(passages: Sequence[Passage], wider: Sequence[Passage]) -> list[Passage]:
    """The passages of a wider search that are not among these, nor copies folded into them."""
    kept = {p.id for passage in passages for p in (passage, *passage.also_reported_by)}
    return [p for p in wider if p.id not in kept and not {c.id for c in p.also_reported_by} & kept]


def _names_text(passage: Passage) -> str:
    """What a passage names: its title, outlet, text (relative dates resolved) and publication date as a reader names
    it ("January 23, 2026" names January 2026; its ISO form does not: test w015)."""
    published = published_label(passage.date)
    return f"{passage.title} {passage.outlet} {anchor_dates(passage.text, passage.date)} {published}"


def _cited(citations: Sequence[Citation], shown: Sequence[Passage]) -> list[Passage]:
    return [shown[c.n - 1] for c in citations]


def _callback_settings(config: RunnableConfig) -> dict[str, Any]:
    """The caller's callbacks, tags and metadata, for the root run's callback manager."""
    return {"inheritable_callbacks": config.get("callbacks"), "local_tags": config.get("tags"),
            "local_metadata": config.get("metadata")}


def _traced(input: Any) -> dict[str, Any]:
    """The input as a trace records it (read_input reports what is wrong with it, inside the run)."""
    if isinstance(input, ChainInput):
        return input.model_dump()
    return input if isinstance(input, dict) else {"input": input}


def _child_config(config: RunnableConfig, callbacks: BaseCallbackManager) -> RunnableConfig:
    """The config for the root's children: its callbacks, without the caller's run name, tags and metadata."""
    child = patch_config(config, callbacks=callbacks)  # also drops run_name and run_id
    child["tags"] = []
    child["metadata"] = {}
    return child


def _named(config: RunnableConfig, name: str) -> RunnableConfig:
    return patch_config(config, run_name=name)


def build_chain(
    settings: Settings | None = None,
    *,
    store: Store | None = None,
    llm: BaseChatModel | None = None,
    reranker: Reranker | None = None,
) -> AnswerChain:
    """The chain users, the UI and the evals share; the store and model are opened once here."""
    settings = settings or get_settings()
    store = store or Store(settings)
    return AnswerChain(settings, Retriever(store, settings, reranker), llm or get_chat_model(settings))


def answer_question(question: str, settings: Settings | None = None, **inputs: Any) -> Answer:
    """One question, one answer: the shortest way in from Python."""
    return build_chain(settings).invoke({"question": question, **inputs})
