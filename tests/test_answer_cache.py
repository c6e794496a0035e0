"""The eval's answer cache: a prompt it has an answer for never reaches the model, and a seeded run's answers are
filed under exactly the prompts the chain sends for them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner

from evals.answer_cache import AnswerCache, CachedChatModel, seed_from_results
from evals.dataset import DEFAULT_DATASET, load_dataset
from rag.chain import build_chain
from rag.config import Settings
from rag.llm import FakeNewsModel
from rag.prompts import answer_messages

from test_chain import sample_store  # noqa: F401 - a fixture

GOLD = {item["id"]: item for item in load_dataset(DEFAULT_DATASET, corpus="iraq")}  # the sample store's questions


class CountingModel(FakeNewsModel):
    """The fake model, counting the prompts it was asked."""

    asked: int = 0

    def answer(self, messages: list[Any]) -> str:
        self.asked += 1
        return super().answer(messages)


class SilentModel(FakeNewsModel):
    def answer(self, messages: list[Any]) -> str:
        raise AssertionError("the model was asked a prompt the cache should have answered")


def test_a_repeated_prompt_is_answered_from_the_cache(sample_store, tmp_path):  # noqa: F811
    settings, store = sample_store
    inner = CountingModel()
    cache = AnswerCache(tmp_path / "answers.db", settings)
    chain = build_chain(settings, store=store, llm=CachedChatModel.wrapping(inner, cache))
    question = {"question": "Who commands CENTCOM?"}

    first = chain.invoke(question)
    asked = inner.asked
    again = chain.invoke(question)
    assert asked >= 1 and inner.asked == asked, "the same prompt again did not reach the model"
    assert again.raw_answer == first.raw_answer and again.answer == first.answer
    assert (cache.hits, cache.misses) == (asked, asked)

    chain.invoke({"question": "When did US forces leave Ain al-Asad?"})
    assert inner.asked > asked, "a new prompt is asked"


def test_the_cache_survives_the_process(sample_store, tmp_path):  # noqa: F811
    settings, store = sample_store
    question = {"question": "Who commands CENTCOM?"}
    written = AnswerCache(tmp_path / "answers.db", settings)
    first = build_chain(settings, store=store, llm=CachedChatModel.wrapping(CountingModel(), written)).invoke(question)
    written.close()

    read = AnswerCache(tmp_path / "answers.db", settings)
    again = build_chain(settings, store=store, llm=CachedChatModel.wrapping(SilentModel(), read)).invoke(question)
    assert again.raw_answer == first.raw_answer and read.misses == 0


def test_other_sampling_settings_are_another_key(sample_store, tmp_path):  # noqa: F811
    settings, _ = sample_store
    messages = answer_messages("Who commands CENTCOM?", [])
    hotter = settings.model_copy(update={"llm_temperature": 0.7})
    assert (AnswerCache(tmp_path / "a.db", settings).key(messages, {"stop": None})
            != AnswerCache(tmp_path / "a.db", hotter).key(messages, {"stop": None}))


@pytest.mark.parametrize("follow_up", [False, True])
def test_a_seeded_run_answers_the_chain_without_the_model(sample_store, tmp_path, follow_up):  # noqa: F811
    """The stored raw answer comes back for the question it was given to; a follow-up's condensed question too."""
    settings, store = sample_store
    item = next(i for i in GOLD.values() if i["split"] == "dev" and bool(i.get("history")) == follow_up)
    standalone = "Who is the commander of US Central Command?" if follow_up else item["question"]
    raw = "A seeded answer from an earlier run. [1]"
    results = {"settings": settings.model_dump(mode="json"),
               "rows": [{"id": item["id"], "standalone_question": standalone, "raw_answer": raw, "passages": []}]}
    (tmp_path / "results.json").write_text(json.dumps(results))

    seeded = seed_from_results(tmp_path / "answers.db", tmp_path / "results.json", settings, DEFAULT_DATASET)
    assert seeded == (2 if follow_up else 1)
    cache = AnswerCache(tmp_path / "answers.db", settings)
    chain = build_chain(settings, store=store, llm=CachedChatModel.wrapping(SilentModel(), cache))
    answer = chain.invoke({"question": item["question"], "chat_history": item.get("history") or []})
    assert answer.standalone_question == standalone
    assert answer.raw_answer == raw and cache.misses == 0


def test_a_seeded_question_asked_twice_files_the_decline_and_the_second_answer(sample_store, tmp_path):  # noqa: F811
    """A row the model first declined (reasked) replays both calls: the decline, then the answer asked again."""
    settings, store = sample_store
    item = next(i for i in GOLD.values() if i["split"] == "dev" and not i.get("history") and i["must_include"])
    raw = "A seeded answer from an earlier run. [1]"
    results = {"settings": settings.model_dump(mode="json"), "rows": [
        {"id": item["id"], "standalone_question": item["question"], "raw_answer": raw, "reasked": True, "passages": []}]}
    (tmp_path / "results.json").write_text(json.dumps(results))

    assert seed_from_results(tmp_path / "answers.db", tmp_path / "results.json", settings, DEFAULT_DATASET) == 2
    cache = AnswerCache(tmp_path / "answers.db", settings)
    answer = build_chain(settings, store=store, llm=CachedChatModel.wrapping(SilentModel(), cache)).invoke(
        {"question": item["question"]})
    assert answer.reasked and answer.raw_answer == raw and cache.misses == 0


def test_a_seeded_peer_answers_without_the_model(sample_store, tmp_path):  # noqa: F811
    """A `--baseline` run's peer answers come back to the peer's own prompts: a question and a follow-up."""
    from evals.baseline import LangChainBaseline
    from ingest.pipeline import sample_corpus_dir

    settings, _ = sample_store
    fact = next(i for i in GOLD.values() if i["split"] == "dev" and not i.get("history") and i["must_include"])
    follow_up = next(i for i in GOLD.values() if i["split"] == "dev" and i.get("history"))
    peer_rows = [{"id": fact["id"], "standalone_question": fact["question"], "raw_answer": "The peer's answer. [1]"},
                 {"id": follow_up["id"], "standalone_question": "Who leads US Central Command?",
                  "raw_answer": "The peer's follow-up answer. [2]"}]
    results = {"settings": settings.model_dump(mode="json"), "rows": [], "baseline_rows": peer_rows}
    (tmp_path / "results.json").write_text(json.dumps(results))

    assert seed_from_results(tmp_path / "answers.db", tmp_path / "results.json", settings, DEFAULT_DATASET) == 3
    cache = AnswerCache(tmp_path / "answers.db", settings)
    peer = LangChainBaseline(settings, sample_corpus_dir(), tmp_path / "peer",
                             llm=CachedChatModel.wrapping(SilentModel(), cache))
    assert peer.ask(fact["question"]).raw_answer == "The peer's answer. [1]"
    again = peer.ask(follow_up["question"], follow_up["history"])
    assert again.standalone_question == "Who leads US Central Command?"
    assert again.raw_answer == "The peer's follow-up answer. [2]" and cache.misses == 0


def test_seeding_skips_what_the_run_never_asked_the_model(sample_store, tmp_path):  # noqa: F811
    """A row declined before the model (no raw answer) that this code would send to the model files nothing."""
    settings, _ = sample_store
    item = next(i for i in GOLD.values() if i["split"] == "dev" and not i.get("history") and i["must_include"])
    results = {"settings": settings.model_dump(mode="json"),
               "rows": [{"id": item["id"], "standalone_question": item["question"], "raw_answer": "", "passages": []}]}
    (tmp_path / "results.json").write_text(json.dumps(results))
    assert seed_from_results(tmp_path / "answers.db", tmp_path / "results.json", settings, DEFAULT_DATASET) == 0


def test_an_eval_run_again_with_the_cache_asks_the_model_nothing_and_says_so(tmp_path):
    from evals.run import run_eval

    dataset = tmp_path / "tiny.jsonl"
    items = [i for i in GOLD.values() if i["split"] == "dev" and not i.get("history")][:2]
    dataset.write_text("".join(json.dumps(item) + "\n" for item in items))
    settings = Settings(llm_backend="fake", data_dir=tmp_path / "data")
    first = run_eval(settings, dataset, tmp_path / "first", answer_cache=tmp_path / "a.db", progress=False)
    again = run_eval(settings, dataset, tmp_path / "again", answer_cache=tmp_path / "a.db", progress=False)
    asked = first["summary"]["run"]["answer_cache"]["model_answers"]
    assert asked >= 1 and first["summary"]["run"]["answer_cache"]["answers_from_cache"] == 0
    assert again["summary"]["run"]["answer_cache"] == {"file": str(tmp_path / "a.db"), "answers_from_cache": asked,
                                                       "model_answers": 0}
    assert [r["raw_answer"] for r in again["rows"]] == [r["raw_answer"] for r in first["rows"]]
    assert "latency figures are not the model's" in (tmp_path / "again" / "report.md").read_text()
    assert "answer_cache" not in run_eval(settings, dataset, tmp_path / "plain", progress=False)["summary"]["run"]


def test_the_gate_never_takes_answers_from_a_cache():
    from ui.cli import cli

    result = CliRunner().invoke(cli, ["eval", "--gate", "--answer-cache", "a.db"])
    assert result.exit_code == 2 and "drop --answer-cache" in result.output
