"""What the API and the chat share in one process: the store, the chain, and uploads (checked, copied, ingested)."""

from __future__ import annotations

import filecmp
import os
import re
import shutil
import tempfile
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit

from ingest.pipeline import IngestReport, ingest
from ingest.sources import SUPPORTED_EXTENSIONS
from rag.chain import AnswerChain, build_chain
from rag.config import Settings
from rag.errors import NewsragError
from rag.store import Store

COPY_BLOCK = 1024 * 1024


class UploadRejected(NewsragError):
    """An upload refused before ingesting: too large (413) or of a type not read (415)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.http_status = status
        self.message = message


def safe_filename(name: str) -> str:
    """The basename of an uploaded file's name, reduced to harmless characters: no directories, no dotfiles."""
    base = re.split(r"[\\/]", unicodedata.normalize("NFKC", name or ""))[-1]
    base = re.sub(r"[^\w.-]+", "_", base).strip("._")
    stem, dot, suffix = base.rpartition(".")
    if dot and len(base) > 120:
        base = f"{stem[: 119 - len(suffix)]}.{suffix}"
    return base[:120] or "upload"


def http_urls(text: str) -> tuple[list[str], list[str]]:
    """Split a one-URL-per-line text into http(s) URLs and the lines that are not (never local paths)."""
    good, bad = [], []
    for line in (raw.strip() for raw in (text or "").splitlines()):
        if not line:
            continue
        parts = urlsplit(line)
        (good if parts.scheme.lower() in ("http", "https") and parts.netloc else bad).append(line)
    return good, bad


class Services:
    """One store and one chain per process; the models load once.

    The chain's retriever holds the store's lock while it searches; each write batch also takes it (after the
    data dir's write lock, shared with other processes), so a question waits at most for one batch's commit,
    never a whole ingest.
    """

    def __init__(self, settings: Settings, chain: AnswerChain | None = None) -> None:
        self.settings = settings
        self.chain = chain or build_chain(settings)
        self.store: Store = self.chain.retriever.store
        self.uploads = (settings.data_dir / "uploads").resolve()
        self.uploads.mkdir(parents=True, exist_ok=True)

    def ingest(self, inputs: Sequence[str], progress: Callable[[int, int], None] | None = None) -> IngestReport:
        """Ingest (the store locks each batch); uploads that ended up stored under no source are removed."""
        try:
            return ingest(inputs, self.settings, store=self.store, progress=progress)
        finally:
            self._drop_unused_uploads(Path(item) for item in inputs)

    def delete(self, key: str) -> int:
        """Remove a source, or every source of an article id, and the uploaded files nothing points at any more."""
        matched = [_file_of(source) for source in self.store.sources_named(key)]
        removed = self.store.delete_source(key)
        self.store.refresh_lexical()
        self._drop_unused_uploads(matched)
        return removed

    def _drop_unused_uploads(self, paths: Iterable[Path]) -> None:
        """Delete files in data_dir/uploads that no stored source (the file, or a JSONL line of it) names."""
        for path in paths:
            if path.parent != self.uploads or not path.is_file():
                continue
            if not self.store.names_file(str(path)):
                path.unlink(missing_ok=True)

    def receive(self, files: Sequence[tuple[str, BinaryIO]], *, replace: bool = False) -> list[Path]:
        """Check and copy uploads into data_dir/uploads, all or none: one bad file raises UploadRejected.

        Files are staged in a private directory first, so a refused batch never replaces a stored upload.
        An upload never overwrites another: a name already taken gets a numbered suffix (story-2.txt), unless
        the file there holds the same bytes (then it is reused). replace=True overwrites earlier uploads of
        the same name instead (that article is then updated); uploads in one batch still never overwrite
        each other.
        """
        incoming = Path(tempfile.mkdtemp(prefix=".incoming-", dir=self.uploads))
        try:
            staged = [self._stage(name, stream, incoming / str(n)) for n, (name, stream) in enumerate(files)]
            saved: list[Path] = []
            for path in staged:
                saved.append(self._place(path, replace=replace and self.uploads / path.name not in saved))
            return saved
        finally:
            shutil.rmtree(incoming, ignore_errors=True)

    def _place(self, staged: Path, *, replace: bool) -> Path:
        """Move a staged upload into the uploads folder under a name of its own (see receive)."""
        if replace:
            target = self.uploads / staged.name
            os.replace(staged, target)
            return target
        target, n = self.uploads / staged.name, 1
        while True:
            try:
                os.link(staged, target)  # fails if the name is taken, even by a request running meanwhile
                return target
            except FileExistsError:
                if filecmp.cmp(staged, target, shallow=False):
                    return target
            n += 1
            target = self.uploads / f"{staged.stem}-{n}{staged.suffix}"

    def _stage(self, name: str, stream: BinaryIO, directory: Path) -> Path:
        safe = safe_filename(name)
        suffix = Path(safe).suffix.lower()
        if suffix not in SUPPORTED_EXTENSIONS:
            found = f"'{suffix}'" if suffix else "no extension"
            raise UploadRejected(
                415, f"{safe}: files with {found} are not accepted; allowed: {', '.join(sorted(SUPPORTED_EXTENSIONS))}"
            )
        limit = self.settings.upload_max_bytes
        directory.mkdir()
        target = directory / safe
        size = 0
        with target.open("wb") as out:
            while block := stream.read(COPY_BLOCK):
                size += len(block)
                if size > limit:
                    raise UploadRejected(413, f"{safe} is larger than the upload limit of {limit:,} bytes")
                out.write(block)
        return target


def _file_of(source: str) -> Path:
    """The file a source names: a JSONL line's source is path:line."""
    path, _, line = source.rpartition(":")
    return Path(path) if path and line.isdigit() else Path(source)
