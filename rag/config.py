"""Settings for every part of newsrag, read from NEWSRAG_* variables and .env when asked for."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

RetrievalMode = Literal["dense", "bm25", "hybrid", "mmr"]
LLMBackend = Literal["local", "openai", "ollama", "fake"]
EmbeddingBackend = Literal["local", "openai"]
EMBEDDING_MODELS = ("minilm-int8",)


class Settings(BaseSettings):
    """All configuration; construct it (or call get_settings) when needed, never at import time."""

    model_config = SettingsConfigDict(
        env_prefix="NEWSRAG_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    data_dir: Path = Field(Path(".newsrag"), description="Where the store, BM25 index and catalog live.")
    collection: str = Field("newsrag", min_length=3, max_length=512, description="Chroma collection name.")
    chroma_host: str | None = Field(None, description="Use a Chroma server at this host instead of the embedded store.")
    chroma_port: int = Field(8000, ge=1, le=65535)
    chroma_ssl: bool = False
    chroma_auth_header: SecretStr | None = Field(
        None, description="'Header-Name: value' sent to the Chroma server, e.g. 'Authorization: Bearer TOKEN'."
    )

    embedding_backend: EmbeddingBackend = Field(
        "local",
        description="local (bundled MiniLM, in-process) or openai (an OpenAI-compatible /v1/embeddings server).",
    )
    embedding_model: str = Field(
        "minilm-int8", description=f"local: one of {', '.join(EMBEDDING_MODELS)}; openai: the server's model name."
    )
    embedding_base_url: str | None = Field(None, description="The embedding server's base URL, e.g. http://gpu:8080/v1.")
    embedding_api_key: SecretStr | None = Field(None, description="API key for the embedding server, if it needs one.")
    embed_batch_size: int = Field(
        8, ge=1, le=2048,
        description="Texts per onnxruntime call or per /v1/embeddings request; see docs/performance.md.",
    )
    embed_threads: int = Field(0, ge=0, le=256, description="onnxruntime intra-op threads; 0 = all cores.")

    chunk_tokens: int = Field(200, ge=32, le=240, description="Target chunk size in tiktoken tokens.")
    chunk_overlap: int = Field(
        40, ge=0, le=120, description="Tokens shared by neighbouring chunks (see docs/performance.md, Ingest)."
    )
    chunk_header: bool = Field(
        True, description="Embed each chunk after its article's title and date (see docs/performance.md, Ingest)."
    )
    max_file_bytes: int = Field(20_000_000, ge=1, description="Files and URL bodies larger than this are refused.")
    max_article_chunks: int = Field(
        1000, ge=1, description="An article that would need more chunks is refused (it would hold up every writer)."
    )
    write_lock_timeout: float = Field(
        600.0, ge=0, description="Seconds a write waits for another process's write to the same data dir."
    )

    url_timeout: float = Field(15.0, gt=0, description="Seconds for a URL fetch.")
    allow_private_urls: bool = Field(False, description="Allow loopback, link-local and private addresses in URLs.")

    retrieval: RetrievalMode = Field("hybrid", description="dense, bm25, hybrid (RRF of both) or mmr.")
    top_k: int = Field(4, ge=1, le=50, description="Passages given to the model.")
    min_relevance: float = Field(
        0.30, ge=-1.0, le=1.0,
        description="Best passage's cosine similarity below which the chain abstains without asking the model, "
        "unless the question names a stored outlet: then only that outlet's reports are asked over (on the dev "
        "split of 2026-12-04 off-topic questions reach 0.31 at most, answerable ones 0.36 at least, apart from "
        "one naming an outlet at 0.17).",
    )

    focus_sentences: int = Field(
        3, ge=0, le=50, description="Sentences of each passage kept in the prompt (closest to the question); 0 = all."
    )
    passage_token_budget: int = Field(
        0, ge=0, le=100_000,
        description="Tokens (cl100k) of passage text in the answer prompt, at most; 0 = no limit. The kept sentences "
        "least like the question go first, each passage keeps its best one. On 2 cores each token read costs ~12 ms "
        "before the first answer token.",
    )
    reask_declines: bool = Field(
        True, description="When the model declines over passages above min_relevance, ask it once more without the "
        "rule that lets it decline; the answer checks then decide (evals/README.md has what it moved).",
    )
    answer_checks: dict[str, bool] = Field(
        default_factory=dict, description="Answer checks switched on (true) or off (false) by name, as docs/checks.md "
        'lists them, e.g. NEWSRAG_ANSWER_CHECKS=\'{"conflict_note": false}\'; a name not in the pipeline is an error.')
    llm_backend: LLMBackend = Field(
        "local", description="local (bundled model), openai (any compatible server), ollama."
    )
    llm_base_url: str | None = Field(None, description="Base URL for the openai/ollama backends.")
    llm_api_key: SecretStr | None = Field(None, description="API key for the openai backend.")
    llm_model: str | None = Field(None, description="Model name for the openai/ollama backends.")
    llm_temperature: float = Field(0.0, ge=0.0, le=2.0)
    llm_max_tokens: int = Field(160, ge=16, le=4096)
    llm_context_tokens: int = Field(4096, ge=512, le=131072, description="Context window of the model.")
    llm_threads: int = Field(2, ge=1, le=256, description="CPU threads for the local model.")
    model_dir: Path = Field(
        Path.home() / ".cache" / "newsrag",
        description="Where the bundled answering model is joined from its packages on first use (1.1 GB).",
    )

    ui_host: str = "127.0.0.1"
    ui_port: int = Field(7860, ge=1, le=65535)
    ui_auth: str | None = Field(None, description="user:password, or a path to a file of such lines, to require login.")
    upload_max_bytes: int = Field(20_000_000, ge=1)
    server_url: str | None = Field(
        None, description="A running `newsrag serve` (http://user:password@host:port for one with a login) that "
        "`newsrag ask` sends its question to, instead of loading the model in a process of its own.",
    )

    @model_validator(mode="after")
    def _known_embedding_model(self) -> Settings:
        if self.embedding_backend == "local" and self.embedding_model not in EMBEDDING_MODELS:
            raise ValueError(f"unknown embedding model {self.embedding_model!r}; valid values: "
                             f"{', '.join(EMBEDDING_MODELS)} "
                             "(or NEWSRAG_EMBEDDING_BACKEND=openai for a server's model)")
        if self.embedding_backend == "openai" and not self.embedding_base_url:
            raise ValueError("the openai embedding backend needs NEWSRAG_EMBEDDING_BASE_URL (e.g. http://gpu:8080/v1)")
        return self

    @model_validator(mode="after")
    def _overlap_below_size(self) -> Settings:
        if self.chunk_overlap >= self.chunk_tokens:
            raise ValueError(
                f"chunk_overlap ({self.chunk_overlap}) must be smaller than chunk_tokens ({self.chunk_tokens})"
            )
        return self

    @property
    def uses_chroma_server(self) -> bool:
        return bool(self.chroma_host)


def get_settings(**overrides: Any) -> Settings:
    """Read the environment now; keyword overrides win over it."""
    return Settings(**overrides)
