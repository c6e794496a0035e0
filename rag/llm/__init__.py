"""The answering model: `backends` (local, openai, ollama; the prompt cache), `weights` (the bundled model's
file) and `fake` (the deterministic stand-in selected by NEWSRAG_LLM_BACKEND=fake)."""

from __future__ import annotations

from rag.llm.backends import (
    OLLAMA_BASE_URL,
    PROMPT_CACHE_DIR,
    get_chat_model,
    local_endpoint,
    prime_prompt_cache,
    restore_prompt_cache,
    server_params,
    shutdown_local_models,
    start_server,
)
from rag.llm.fake import FakeNewsModel
from rag.llm.weights import (
    LOCAL_MODEL_BYTES,
    LOCAL_MODEL_FILE,
    LOCAL_MODEL_PART_VERSION,
    LOCAL_MODEL_PARTS,
    LOCAL_MODEL_SHA256,
    local_model_path,
)

__all__ = [
    "LOCAL_MODEL_BYTES", "LOCAL_MODEL_FILE", "LOCAL_MODEL_PARTS", "LOCAL_MODEL_PART_VERSION", "LOCAL_MODEL_SHA256",
    "OLLAMA_BASE_URL", "PROMPT_CACHE_DIR", "FakeNewsModel", "get_chat_model", "local_endpoint", "local_model_path",
    "prime_prompt_cache", "restore_prompt_cache", "server_params", "shutdown_local_models", "start_server",
]
