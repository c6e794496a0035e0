"""The chain as LangChain tooling sees it: one run tree per call, astream_events, native async, typed input.

Plumbing only, so the deterministic fake model answers (the real model is exercised in test_answers.py).
"""

from __future__ import annotations

import asyncio
import itertools
import time

import pytest
from langchain_core.tracers.base import BaseTracer
from langchain_core.tracers.schemas import Run

from ingest.pipeline import ingest, sample_corpus_dir
from rag.chain import AnswerChain, ChainInput, build_chain
from rag.config import Settings
from rag.errors import QuestionError
from rag.store import Store
from rag.types import Answer, Passage

QUESTION = "Who is the commander of US Central Command?"
FOLLOW_UP = {
    "question": "And who is the commander of US Central Command?",
    "chat_history": [{"role": "user", "content": "What does CENTCOM do with Islamic State detainees?"},
                     {"role": "assistant", "content": "It moves them from Syria to Iraq [1]."}],
}


class RootRuns(BaseTracer):
    """Keeps every finished root run, with its children attached."""

    def __init__(self) -> None:
        super().__init__()
        self.roots: list[Run] = []

    def _persist_run(self, run: Run) -> None:
        self.roots.append(run)


@pytest.fixture(scope="module")
def chain(tmp_path_factory, embeddings) -> AnswerChain:
    settings = Settings(_env_file=None, data_dir=tmp_path_factory.mktemp("tracing"), llm_backend="fake")
    store = Store(settings, embeddings)
    ingest([str(sample_corpus_dir())], settings, store=store)
    return build_chain(settings, store=store)


def kinds(run: Run) -> list[tuple[str, str]]:
    return [(child.run_type, child.name) for child in sorted(run.child_runs, key=lambda r: r.dotted_order)]


def test_a_follow_up_is_one_root_run_with_condense_retrieve_answer_and_verify(chain):
    tracer = RootRuns()
    answer = chain.invoke(FOLLOW_UP, {"callbacks": [tracer], "run_name": "ask-newsrag", "tags": ["user-tag"],
                                      "metadata": {"session": "s1"}})
    [root] = tracer.roots
    assert (root.name, root.run_type) == ("ask-newsrag", "chain")
    assert "user-tag" in root.tags and root.metadata["session"] == "s1"
    assert root.outputs["output"] == answer and not answer.abstained
    assert kinds(root) == [("llm", "condense"), ("retriever", "retrieve"), ("llm", "answer"), ("chain", "verify")]
    for child in root.child_runs:  # the caller's name, tags and metadata belong to the root only
        assert "user-tag" not in (child.tags or []) and "session" not in child.metadata
    retrieved = next(r for r in root.child_runs if r.run_type == "retriever")
    assert retrieved.inputs["query"] == answer.standalone_question
    assert [d.id for d in retrieved.outputs["documents"]] == [p.id for p in answer.passages]
    verify = next(r for r in root.child_runs if r.name == "verify")
    assert verify.outputs["output"] == answer


def test_without_history_there_is_no_condense_run_and_an_abstention_has_no_model_run(chain):
    tracer = RootRuns()
    chain.invoke({"question": QUESTION}, {"callbacks": [tracer]})
    chain.invoke({"question": "What is a good recipe for banana bread with walnuts?"}, {"callbacks": [tracer]})
    answered, abstained = tracer.roots
    assert answered.name == "newsrag"
    assert kinds(answered) == [("retriever", "retrieve"), ("llm", "answer"), ("chain", "verify")]
    assert kinds(abstained) == [("retriever", "retrieve")] and abstained.outputs["output"].abstained


def test_a_failing_call_ends_its_root_run_with_the_error(chain):
    tracer = RootRuns()
    with pytest.raises(QuestionError, match="empty"):
        chain.invoke({"question": " "}, {"callbacks": [tracer]})
    [root] = tracer.roots
    assert "empty" in root.error and not root.child_runs


async def test_astream_events_shows_retriever_tokens_and_the_verified_answer(chain):
    events = [e async for e in chain.astream_events({"question": QUESTION}, version="v2")]
    names = [e["event"] for e in events]
    assert names[0] == "on_chain_start" and names[-1] == "on_chain_end"
    [retrieved] = [e for e in events if e["event"] == "on_retriever_end"]
    assert retrieved["data"]["output"] and all(d.metadata["title"] for d in retrieved["data"]["output"])
    tokens = [e["data"]["chunk"].text for e in events if e["event"] == "on_chat_model_stream"]
    answer = events[-1]["data"]["output"]
    assert isinstance(answer, Answer) and not answer.abstained
    assert len(tokens) > 1 and "".join(tokens).strip() == answer.raw_answer
    root = events[0]["run_id"]
    assert all(root in e["parent_ids"] for e in events[1:-1] if e["run_id"] != root)
    streamed = [e["data"]["chunk"] for e in events if e["event"] == "on_chain_stream" and e["run_id"] == root]
    assert isinstance(streamed[0], list) and streamed[-1] == answer


async def test_astream_yields_what_stream_yields(chain):
    synced = list(chain.stream({"question": QUESTION}))
    streamed = [event async for event in chain.astream({"question": QUESTION})]
    assert [type(e) for e in streamed] == [type(e) for e in synced]
    assert streamed[0] == synced[0] and all(isinstance(p, Passage) for p in streamed[0])
    assert streamed[1:-1] == synced[1:-1]
    assert streamed[-1].answer == synced[-1].answer and streamed[-1].citations == synced[-1].citations


async def test_ainvoke_and_abatch_answer_without_blocking_the_event_loop(chain):
    ticks: list[float] = []

    async def heartbeat() -> None:
        while True:
            ticks.append(time.perf_counter())
            await asyncio.sleep(0.01)

    beat = asyncio.create_task(heartbeat())
    try:
        started = time.perf_counter()
        answer = await chain.ainvoke(FOLLOW_UP)
        answers = await chain.abatch([{"question": QUESTION}, {"question": "Where is Hasakah?"}])
        elapsed = time.perf_counter() - started
    finally:
        beat.cancel()
    assert not answer.abstained and answer.standalone_question
    assert [a.question for a in answers] == [QUESTION, "Where is Hasakah?"]
    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    assert len(ticks) > elapsed / 0.05 and max(gaps) < 0.5, "retrieval or verification blocked the loop"


def test_the_input_schema_is_the_typed_chain_input(chain):
    schema = chain.input_schema.model_json_schema()
    assert chain.input_schema is ChainInput
    assert {"question", "chat_history", "k", "mode", "filters", "focus"} == set(schema["properties"])
    assert schema["required"] == ["question"]
    assert chain.output_schema.model_json_schema()["title"] == "Answer"


@pytest.mark.parametrize("bad, message", [
    ({"question": QUESTION, "k": 0}, "k: Input should be greater than or equal to 1"),
    ({"question": QUESTION, "mode": "fuzzy"}, "mode: Input should be 'dense', 'bm25', 'hybrid' or 'mmr'"),
    ({"question": QUESTION, "top_k": 3}, "top_k: Extra inputs are not permitted"),
    ({"query": QUESTION}, "question: Field required"),
    ({"question": QUESTION, "chat_history": [{"role": "robot", "content": "hi"}]}, "chat_history.0"),
])
def test_bad_input_is_refused_with_the_field_named(chain, bad, message):
    with pytest.raises(QuestionError, match="invalid chain input") as error:
        chain.invoke(bad)
    assert message in str(error.value)


def test_a_chain_input_object_and_message_history_are_accepted(chain):
    from langchain_core.messages import AIMessage, HumanMessage

    history = [HumanMessage("What does CENTCOM do with Islamic State detainees?"), AIMessage("It moves them [1].")]
    answer = chain.invoke(ChainInput(question="And who is the commander of US Central Command?", chat_history=history, k=2))
    assert len(answer.passages) == 2 and answer.standalone_question



def test_the_verify_run_s_output_carries_the_trace_of_every_check_that_acted(chain):
    tracer = RootRuns()
    answer = chain.invoke({"question": "Who won the 2023 Tour de France?"}, {"callbacks": [tracer]})
    [root] = tracer.roots
    verify = next(r for r in root.child_runs if r.name == "verify")
    assert answer.abstained and answer.trace and answer.trace[-1].action == "decline"
    assert verify.outputs["output"].trace == answer.trace
