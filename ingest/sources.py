"""Which files and URLs an ingest reads: inputs expanded into resolved paths and http(s) URLs.

Directories are walked here; anything that cannot be read as an article at all (a missing path, an unsupported
scheme or file type, a symlink leading out of a folder) becomes a LoadError that says why.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from rag.errors import LoadError

SUPPORTED_EXTENSIONS: frozenset[str] = frozenset({".txt", ".md", ".markdown", ".html", ".htm", ".jsonl", ".pdf"})
_URL_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+):")


def expand_sources(inputs: Iterable[str], *, follow_links: bool = False) -> Iterator[str | LoadError]:
    """Turn CLI inputs into resolved file paths and http(s) URLs, in a stable order.

    Directories are walked recursively in name order, quietly skipping hidden entries and unsupported file
    types, while a file named explicitly with an unsupported extension is reported. Each directory is entered once
    (by its resolved path), so symlink loops end, and each file is yielded once. Paths are resolved so a
    path and the Articles loaded from it carry the same source. A symlink inside a directory that leads
    outside it is reported, not followed, unless follow_links: naming a folder shares that folder only.
    """
    seen_dirs: set[str] = set()
    seen_files: set[str] = set()
    for raw in inputs:
        if is_http_url(raw):
            yield raw
            continue
        if error := scheme_error(raw):
            yield error
            continue
        path = Path(raw)
        if not raw.strip() or not os.path.lexists(path):
            yield LoadError(raw, "no such file or directory")
            continue
        if path.is_dir():
            found: Iterable[str | LoadError] = _walk(path, seen_dirs, None if follow_links else os.path.realpath(path))
        elif error := extension_error(raw, path.suffix):
            yield error
            continue
        else:
            found = [raw]
        for item in found:
            if isinstance(item, LoadError):
                yield item
                continue
            resolved = os.path.realpath(item)
            if resolved not in seen_files:
                seen_files.add(resolved)
                yield resolved


def _walk(directory: Path, seen_dirs: set[str], root: str | None) -> Iterator[str | LoadError]:
    """Supported files under directory, depth first in name order; seen_dirs holds resolved paths.

    With a root (a resolved path), symlinks leading outside it are reported instead of followed.
    """
    real = os.path.realpath(directory)
    if real in seen_dirs:
        return
    seen_dirs.add(real)
    try:
        with os.scandir(directory) as listing:
            entries = sorted(listing, key=lambda entry: entry.name)
    except OSError as exc:
        yield LoadError(str(directory), f"cannot list the directory: {exc.strerror or exc}")
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        path = Path(entry.path)
        is_dir = path.is_dir()  # Path.is_dir follows links and is False for a symlink loop; DirEntry.is_dir raises
        if not is_dir and path.suffix.lower() not in SUPPORTED_EXTENSIONS:
            continue
        if root is not None and entry.is_symlink() and not _inside(os.path.realpath(path), root):
            yield LoadError(entry.path, "symlink leads outside the folder being ingested; not followed "
                                        "(pass --follow-links to follow it)")
        elif is_dir:
            yield from _walk(path, seen_dirs, root)
        else:
            yield entry.path


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def is_http_url(value: str) -> bool:
    return value.lower().startswith(("http://", "https://"))


def scheme_error(value: str) -> LoadError | None:
    """file:, ftp: and other schemes are refused; a name like 'a:b.txt' that exists on disk is a path."""
    match = _URL_SCHEME.match(value)
    if match and ("://" in value or not os.path.lexists(value)):
        return LoadError(value, f"unsupported URL scheme '{match.group(1).lower()}:'; only http(s) URLs can be loaded")
    return None


def extension_error(path: str, suffix: str) -> LoadError | None:
    if suffix.lower() in SUPPORTED_EXTENSIONS:
        return None
    found = f"'{suffix}'" if suffix else "(no extension)"
    return LoadError(path, f"unsupported file type {found}; supported: {', '.join(sorted(SUPPORTED_EXTENSIONS))}")
