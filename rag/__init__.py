"""newsrag's library: `from rag import build_chain, answer_question, Settings`; for LangChain users also
`NewsRetriever` (or `Store(settings).as_retriever()`), `Store.as_vectorstore()` and the embeddings.

Names load lazily so that importing the settings alone stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Settings": "rag.config",
    "get_settings": "rag.config",
    "build_chain": "rag.chain",
    "answer_question": "rag.chain",
    "Answer": "rag.types",
    "Citation": "rag.types",
    "Passage": "rag.types",
    "ChainInput": "rag.chain",
    "Filters": "rag.filters",
    "NewsRetriever": "rag.retriever",
    "RemoteEmbeddings": "rag.embeddings",
    "MiniLMEmbeddings": "rag.embeddings",
    "Store": "rag.store",
    "NewsragError": "rag.errors",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'rag' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
