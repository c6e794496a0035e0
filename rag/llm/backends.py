"""The chat model from settings: the bundled GGUF served in-process, or any OpenAI-compatible server.

Every real backend goes through one ChatOpenAI code path: the bundled model is served by xllamacpp on a
loopback port, so streaming, async and llama.cpp's prompt cache behave exactly as they do with a remote server.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
from pathlib import Path
from typing import Any

import httpx
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from langchain_openai import ChatOpenAI
from openai import DefaultAsyncHttpxClient, DefaultHttpxClient
from pydantic import SecretStr

from rag.config import Settings
from rag.errors import ConfigError, ModelError
from rag.llm.weights import LOCAL_MODEL_SHA256, local_model_path

OLLAMA_BASE_URL = "http://127.0.0.1:11434/v1"
PROMPT_CACHE_DIR = "prompt-cache"  # beside the model file: llama.cpp slot files of read instructions, ~4 MB each
# llama.cpp keeps old prompts' KV in RAM (default 8 GiB, ~20 MB per news prompt): bound a long-running server's growth
_PROMPT_CACHE_MIB = 256

_ServerKey = tuple[str, int, int]  # model path, n_ctx, threads
_servers: dict[_ServerKey, Any] = {}  # xllamacpp.Server; its destructor stops it
_local_models: dict[tuple[_ServerKey, float, int], ChatOpenAI] = {}
_server_keys: dict[_ServerKey, str] = {}  # each server's random API key: other local users cannot use its port
_servers_lock = threading.Lock()


def get_chat_model(settings: Settings) -> BaseChatModel:
    """The chat model named by settings.llm_backend; the local one is started once per process and reused."""
    if settings.llm_backend == "fake":
        from rag.llm.fake import FakeNewsModel  # a test double, but a setting too (NEWSRAG_LLM_BACKEND=fake)

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
        max_tokens=settings.llm_max_tokens,  # type: ignore[call-arg]  # an alias of max_completion_tokens
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
