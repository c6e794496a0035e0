"""The answering chain: condense → retrieve → prompt → LLM → verify citations → Answer.

`stream` and `astream` yield, in order: the retrieved passages (a list of Passage, as soon as retrieval ends),
answer tokens (str), and last the verified Answer. `invoke`/`ainvoke` and `batch`/`abatch` return the Answer.

One call is one traced run: a root run (named by the caller's run_name, carrying its tags and metadata) whose
children are the condense model call (with history only), the retriever, the answering model and `verify` (the
answer pipeline of rag.answer, whose output Answer carries the trace of every check that acted), so a tracer,
LangSmith or astream_events sees the whole answer as one tree.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncIterator, Generator, Iterator, Sequence
from typing import Any

from langchain_core.callbacks import AsyncCallbackManager, BaseCallbackManager, CallbackManager
from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import Runnable, RunnableConfig, RunnableLambda
from langchain_core.runnables.config import ensure_config, patch_config, run_in_executor

from rag.answer.draft import CheckContext, is_decline
from rag.answer.pipeline import run_checks, switches
from rag.answer.question import QuestionInfo
from rag.citations import CitationVerifier, attributes
from rag.config import Settings, get_settings
from rag.conflicts import asks_figure, compares_reports
from rag.context import fit_passages, focus_passages
from rag.filters import Filters
from rag.inputs import MAX_QUESTION_CHARS, ChainInput, ChatTurn, question_problem, read_input
from rag.llm import get_chat_model, prime_prompt_cache, restore_prompt_cache
from rag.multipart import merge_for_parts, part_queries, question_parts
from rag.prompts import ABSTAIN_TEXT, answer_messages, condense_messages, to_messages
from rag.questions import named_outlets, rewrite_keeps_names, widened_to_year
from rag.retrieve import Reranker, Retriever
from rag.retriever import NewsRetriever, passage_of
from rag.steps import (
    StreamEvent,
    _Compute,
    _Condense,
    _Generate,
    _Generated,
    _HeldBack,
    _Retrieve,
    _Step,
    _Steps,
    _Verify,
)
from rag.store import Store
from rag.types import Answer, Passage, Timings

__all__ = ["MAX_QUESTION_CHARS", "AnswerChain", "ChainInput", "ChatTurn", "StreamEvent", "_HeldBack", "answer_question",
           "build_chain", "is_decline", "question_problem", "read_input"]
# reports below k are searched to 3 k: on the sample corpus the second figure of a question on one count ranked
# 10th ("four large camps") and 12th ("a few dozen American advisers") at k = 4
FURTHER_REPORTS_PER_K = 3


class AnswerChain(Runnable[ChainInput | dict, Answer]):
    """LCEL Runnable over ChainInput {"question", "chat_history", optional "k", "mode", "filters"}."""

    name = "newsrag"

    def __init__(self, settings: Settings, retriever: Retriever, llm: BaseChatModel) -> None:
        self.settings = settings
        self.retriever = retriever
        self.llm = llm
        self.documents = NewsRetriever(search=retriever)  # the same search, as a LangChain retriever run
        self.verifier = CitationVerifier(retriever.store.embeddings)
        self.switches = switches(settings.answer_checks)  # the answer checks switched on or off, by name
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
        # a two-part question resembles no single passage, while each part may have one that answers it: the floor
        # reads the best match of the whole question and of each part's own search ("Which team won, and who
        # scored the winner?" is further from every report than either half is from its own)
        closest = max((p.similarity or 0.0 for found in (passages, *swapped_in) for p in found), default=0.0)
        if swapped_in:
            passages = merge_for_parts(passages, swapped_in, request.k or self.settings.top_k)
        relevant = passages
        if closest < self.settings.min_relevance:
            # below the floor only what the question names is about it: a stored outlet's own reports ("What did
            # the Northern Gazette's correction change?" is no closer than 0.17 to any passage)
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
        answer = self._checked(question, standalone, raw, shown, passages, further)
        answer.raw_answer = raw
        return answer

    def _verified(self, arguments: dict[str, Any]) -> Answer:
        return self._checked(arguments["question"], arguments["standalone"], arguments["raw"], arguments["shown"],
                             arguments["passages"], arguments["further"])

    def _checked(self, question: str, standalone: str, raw: str, shown: list[Passage], passages: list[Passage],
                 further: Sequence[Passage] = ()) -> Answer:
        """The answer pipeline over the whole passages the model was shown (focused), so quotes come from full
        text; the reports below k are read for a question comparing reports and for a declined count or date."""
        outlets = self.retriever.store.outlets()
        ctx = CheckContext(question=question, standalone=standalone, info=QuestionInfo.parse(standalone, outlets),
                           shown=shown, passages=passages, further=further, verifier=self.verifier, outlets=outlets,
                           settings=self.settings, switches=self.switches)
        return run_checks(raw, ctx)


def wants_further_reports(question: str) -> bool:
    """Reports below k may matter: the question compares reports, or asks a figure reports may differ on."""
    return compares_reports(question) or asks_figure(question)


def _beyond(passages: Sequence[Passage], wider: Sequence[Passage]) -> list[Passage]:
    """The passages of a wider search that are not among these, nor copies folded into them."""
    kept = {p.id for passage in passages for p in (passage, *passage.also_reported_by)}
    return [p for p in wider if p.id not in kept and not {c.id for c in p.also_reported_by} & kept]


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
