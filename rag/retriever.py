"""newsrag's search as LangChain sees it: a BaseRetriever over the hybrid search, and a plain Chroma view.

NewsRetriever runs the very code path the answering chain uses (dense + BM25 fused, filters, reranker), so
it can sit in any LCEL chain; its Documents carry everything a Passage does, and `passage_of` turns them back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from langchain_core.callbacks import (
    AsyncCallbackManagerForRetrieverRun,
    CallbackManagerForRetrieverRun,
)
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables.config import run_in_executor
from pydantic import ConfigDict, Field

from rag.config import RetrievalMode
from rag.filters import Filters
from rag.retrieve import Retriever
from rag.types import Passage

if TYPE_CHECKING:
    from langchain_chroma import Chroma

    from rag.store import Store

FiltersLike = Filters | dict[str, Any] | None


def as_filters(filters: FiltersLike) -> Filters | None:
    """Filters from a Filters or a {"date_from", "date_to", "outlet", "article_ids"} dict (what JSON callers send)."""
    return Filters(**filters) if isinstance(filters, dict) else filters


def document_of(passage: Passage) -> Document:
    """A Passage as a Document: the chunk text, with its id and every Passage field in the metadata."""
    metadata = passage.model_dump(exclude={"text"})
    metadata["chunk_index"] = int(passage.id.rsplit("-", 1)[1])  # chunk ids are "<article id>-<index:04d>"
    return Document(id=passage.id, page_content=passage.text, metadata=metadata)


def passage_of(document: Document) -> Passage:
    """The inverse of document_of."""
    fields = {key: value for key, value in document.metadata.items() if key in Passage.model_fields}
    return Passage(**fields, text=document.page_content)


class NewsRetriever(BaseRetriever):
    """The hybrid search (dense + BM25 + filters) returning Documents; `k`, `mode`, `filters` may be given per call.

    >>> retriever = store.as_retriever(k=3, mode="hybrid")
    >>> retriever.invoke("Who commands CENTCOM?", k=1)   # per-call k, mode and filters override these
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    search: Retriever = Field(description="The search the answering chain uses.")
    k: int | None = Field(default=None, ge=1, le=50, description="Documents returned; default settings.top_k.")
    mode: RetrievalMode | None = Field(
        default=None, description="dense, bm25, hybrid or mmr; default settings.retrieval."
    )
    filters: Filters | None = None

    def _get_relevant_documents(
        self,
        query: str,
        *,
        run_manager: CallbackManagerForRetrieverRun,
        k: int | None = None,
        mode: RetrievalMode | None = None,
        filters: FiltersLike = None,
    ) -> list[Document]:
        with self.search.store.lock:  # no commit or reopening of the store in the middle of a search
            passages = self.search.search(query, k or self.k, mode or self.mode, as_filters(filters) or self.filters)
        return [document_of(p) for p in passages]

    async def _aget_relevant_documents(
        self, query: str, *, run_manager: AsyncCallbackManagerForRetrieverRun, **options: Any
    ) -> list[Document]:
        """The search in a worker thread (Chroma, BM25 and the embedding model are blocking calls); options are
        _get_relevant_documents' k, mode and filters."""
        return await run_in_executor(None, self._get_relevant_documents, query, run_manager=run_manager.get_sync(),
                                     **options)


def news_retriever(store: Store, k: int | None = None, mode: RetrievalMode | None = None,
                   filters: FiltersLike = None) -> NewsRetriever:
    """Store.as_retriever's body: a retriever over this store with its own settings."""
    return NewsRetriever(search=Retriever(store, store.settings), k=k, mode=mode, filters=as_filters(filters))


def chroma_view(store: Store) -> Chroma:
    """The store's Chroma collection as a langchain_chroma.Chroma with our embeddings: plain dense search.

    For reading: articles added through it skip the catalog and BM25 index, so ingest with `newsrag ingest`.
    """
    from langchain_chroma import Chroma

    return Chroma(client=store.client, collection_name=store.settings.collection, embedding_function=store.embeddings)
