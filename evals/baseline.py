"""The peer: the textbook LangChain RAG pipeline, answering the same gold questions in the same eval run.

It is what the LangChain tutorials build, with nothing of ours but the corpus loaders, the embedding model and
the chat model (so only the pipeline differs): RecursiveCharacterTextSplitter (1000 characters, 200 overlap),
a Chroma vector store, top-4 similarity search, and the docs' RAG prompt plus one line asking for [n] markers.
Chat history is handled the docs' way: their contextualize-question prompt rewrites a follow-up into a
standalone question, which retrieval and the answer prompt then use (our chain condenses the same way).
Its output becomes an Answer, so every metric scores both systems alike.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from langchain_core.documents import Document
from langchain_core.language_models import BaseChatModel
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder

from ingest.loaders import load_source
from ingest.sources import expand_sources
from rag.chain import is_decline
from rag.config import Settings
from rag.embeddings import get_embeddings
from rag.errors import LoadError
from rag.llm import get_chat_model
from rag.prompts import to_messages
from rag.text import markers_of, normalize_markers
from rag.types import Answer, Article, Citation, Passage, Timings

CHUNK_SIZE = 1000  # characters, the tutorials' values
CHUNK_OVERLAP = 200
TOP_K = 4

# LangChain's RAG prompt (the hub's rlm/rag-prompt used by the RAG tutorial), plus the citation request
RAG_PROMPT = ChatPromptTemplate.from_messages([(
    "human",
    ("You are an assistant for question-answering tasks. Use the following pieces of retrieved context to answer "
     "the question. If you don't know the answer, just say that you don't know. Use three sentences maximum and "
     "keep the answer concise. Cite the numbered context pieces you use like [1].\n"
     "Question: {question} \nContext:\n{context} \nAnswer:"),
)])
# The contextualize-question prompt of LangChain's conversational RAG tutorial
CONTEXTUALIZE_SYSTEM = (
    "Given a chat history and the latest user question which might reference context in the chat history, "
    "formulate a standalone question which can be understood without the chat history. Do NOT answer the "
    "question, just reformulate it if needed and otherwise return it as is.")
CONTEXTUALIZE_PROMPT = ChatPromptTemplate.from_messages([
    ("system", CONTEXTUALIZE_SYSTEM),
    MessagesPlaceholder("chat_history"),
    ("human", "{input}"),
])


def load_articles(corpus: Path, settings: Settings) -> list[Article]:
    """Every article under corpus, read by our loaders; a file that does not load stops the run."""
    articles: list[Article] = []
    for source in expand_sources([str(corpus)]):
        if isinstance(source, LoadError):
            raise source
        for loaded in load_source(source, settings):
            if isinstance(loaded, LoadError):
                raise loaded
            articles.append(loaded)
    return articles


def _document(article: Article) -> Document:
    meta = {"source": article.source, "article_id": article.id, "title": article.title, "date": article.date or "",
            "outlet": article.outlet, "url": article.url}
    return Document(page_content=article.text, metadata=meta)


def _passage(document: Document) -> Passage:
    meta = document.metadata
    return Passage(id=document.id or "", article_id=meta["article_id"], text=document.page_content,
                   title=meta["title"], date=meta["date"] or None, outlet=meta["outlet"], url=meta["url"],
                   source=meta["source"])


def format_context(documents: Sequence[Document]) -> str:
    """The tutorial's "\\n\\n".join of the page contents, each numbered so the model can cite it."""
    return "\n\n".join(f"[{n}] {d.page_content}" for n, d in enumerate(documents, start=1))


class LangChainBaseline:
    """Builds the tutorial's vector store over the corpus once, then answers questions like the tutorial."""

    def __init__(self, settings: Settings, corpus: Path, directory: Path, llm: BaseChatModel | None = None) -> None:
        import chromadb
        from chromadb.config import Settings as ChromaSettings
        from langchain_chroma import Chroma
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        self.settings = settings
        self.llm = llm or get_chat_model(settings)  # the same backend, temperature and max tokens as ours
        splitter = RecursiveCharacterTextSplitter(chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP,
                                                  add_start_index=True)
        chunks = splitter.split_documents([_document(a) for a in load_articles(corpus, settings)])
        client = chromadb.PersistentClient(str(directory), settings=ChromaSettings(anonymized_telemetry=False))
        self.store = Chroma(collection_name="baseline", embedding_function=get_embeddings(settings), client=client)
        step = client.get_max_batch_size()  # Chroma refuses larger batches
        for begin in range(0, len(chunks), step):
            self.store.add_documents(chunks[begin : begin + step])
        self._contextualize = CONTEXTUALIZE_PROMPT | self.llm | StrOutputParser()
        self._answer = RAG_PROMPT | self.llm | StrOutputParser()

    def warm_up(self) -> None:
        """Have the model read the prompt's fixed start once, as our chain's warm_up does for ours."""
        self.llm.invoke(RAG_PROMPT.format_messages(question="", context=""), max_tokens=1)

    def ask(self, question: str, history: Sequence[dict] = ()) -> Answer:
        """Contextualize (with history), retrieve the top 4, answer; citations are the [n] the model wrote."""
        started = time.perf_counter()
        timings = Timings()
        standalone = question
        if history:
            standalone = self._contextualize.invoke(
                {"chat_history": to_messages(history), "input": question}).strip() or question
            timings["condense"] = time.perf_counter() - started
        documents = self.store.similarity_search(standalone, k=TOP_K)
        timings["until_passages"] = time.perf_counter() - started
        parts: list[str] = []
        for token in self._answer.stream({"question": standalone, "context": format_context(documents)}):
            if not parts:
                timings["until_first_token"] = time.perf_counter() - started
            parts.append(token)
        text = "".join(parts).strip()
        timings["total"] = time.perf_counter() - started
        passages = [_passage(d) for d in documents]
        abstained = is_decline(text)
        cited = [] if abstained else markers_of(normalize_markers(text, len(passages)))
        citations = [Citation(n=n, passage_id=passages[n - 1].id, title=passages[n - 1].title,
                              outlet=passages[n - 1].outlet, date=passages[n - 1].date, url=passages[n - 1].url,
                              text=passages[n - 1].text, quote="") for n in cited]
        return Answer(question=question, standalone_question=standalone, answer=text, abstained=abstained,
                      raw_answer=text, citations=citations, passages=passages, timings=timings)
