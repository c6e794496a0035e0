"""What every benchmark needs: latency percentiles, rates and ratios that survive a zero, memory, the machine."""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

from evals.metrics import percentile


def latency(seconds: Sequence[float], unit: str = "ms") -> dict[str, float | int | None]:
    """p50/p95/max of some timings, in ms (retrieval) or s (answers), rounded for reading."""
    scale, digits = (1000.0, 2) if unit == "ms" else (1.0, 3)

    def shown(value: float | None) -> float | None:
        return None if value is None else round(value * scale, digits)

    return {
        "n": len(seconds),
        f"p50_{unit}": shown(percentile(seconds, 50)),
        f"p95_{unit}": shown(percentile(seconds, 95)),
        f"max_{unit}": shown(max(seconds, default=None)),
    }


def rate(count: float, seconds: float) -> float | None:
    """count per second; None when nothing was timed."""
    return round(count / seconds, 2) if seconds > 0 else None


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """numerator / denominator, None when either is missing or the denominator is 0."""
    if numerator is None or not denominator:
        return None
    return round(numerator / denominator, 3)


class Stopwatch:
    """`with Stopwatch() as t: ...` then t.seconds."""

    def __enter__(self) -> Stopwatch:
        self.seconds = 0.0
        self._started = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self._started


def _busy_cpu_seconds() -> float | None:
    """CPU seconds every process on the machine has used since boot (from /proc/stat); None off Linux."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _own_cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


class Contention:
    """`with Contention() as c: ...` then c.cores: the CPU other processes used meanwhile, in cores on average.

    The machine may be shared; a figure measured while others ran is slower than this machine can do, and
    the results say so instead of passing it off as the machine's speed.
    """

    def __enter__(self) -> Contention:
        self.cores: float | None = None
        self._start = (time.monotonic(), _busy_cpu_seconds(), _own_cpu_seconds())
        return self

    def __exit__(self, *exc: object) -> None:
        started, busy, own = self._start
        busy_now, elapsed = _busy_cpu_seconds(), time.monotonic() - started
        if busy is not None and busy_now is not None and elapsed > 0:
            others = (busy_now - busy) - (_own_cpu_seconds() - own)
            self.cores = round(max(0.0, others / elapsed), 2)


def proc_status_mib(pid: int, field: str) -> float | None:
    """A memory field of /proc/PID/status (VmRSS now, VmHWM the peak) in MiB; None off Linux."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def machine() -> dict[str, object]:
    """Enough about this machine to compare figures across runs."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gib = None
    if hasattr(os, "sysconf") and "SC_PHYS_PAGES" in os.sysconf_names:
        memory_gib = round(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**30, 1)
    return {
        "cpu": cpu,
        "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "memory_gib": memory_gib,
        "python": platform.python_version(),
        "os": platform.platform(),
        "packages": {name: _version(name) for name in
                     ("onnxruntime", "chromadb", "bm25s", "xllamacpp", "langchain-chroma", "langchain-text-splitters")},
        "date": time.strftime("%Y-%m-%d %H:%M"),
    }
