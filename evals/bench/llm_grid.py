"""llama.cpp settings for the bundled model: batch sizes, flash attention, threads, mmap/mlock, context, KV type.

Each setting gets a fresh server that reads the same answer-sized prompt (instructions and four generated news
passages, nothing cached) and writes up to 48 tokens. The figures are llama.cpp's own timings (prompt tokens/s
read, tokens/s written). Every setting runs right after a run of the defaults, and the `vs default` ratio
compares the two: a busy machine slows both, so the ratio is what to read, and only a gain well beyond the
spread of the default's own runs is worth a new default.
"""

from __future__ import annotations

import secrets
from typing import Any

import httpx

from evals.bench.corpus import article
from evals.bench.measure import Contention, Stopwatch, ratio
from rag.config import Settings
from rag.llm import local_model_path, server_params, start_server
from rag.prompts import answer_messages
from rag.types import Passage

MAX_TOKENS = 48
PASSAGE_WORDS = 90  # four passages of this many words: ~600 prompt tokens, an answer prompt at k=4


def grid(settings: Settings) -> dict[str, dict[str, Any]]:
    """Setting name -> CommonParams attributes to change from newsrag's defaults."""
    import xllamacpp as xlc

    flash = xlc.llama_flash_attn_type
    load = xlc.llama_load_mode
    q8 = int(xlc.ggml_type.GGML_TYPE_Q8_0)
    return {
        "n_batch 512 / n_ubatch 512": {"n_batch": 512, "n_ubatch": 512},
        "n_ubatch 128": {"n_ubatch": 128},
        "n_ubatch 1024 (n_batch 2048)": {"n_ubatch": 1024},
        "flash attention on": {"flash_attn_type": int(flash.LLAMA_FLASH_ATTN_TYPE_ENABLED)},
        "flash attention off": {"flash_attn_type": int(flash.LLAMA_FLASH_ATTN_TYPE_DISABLED)},
        "KV cache q8_0 (flash attention on)": {"flash_attn_type": int(flash.LLAMA_FLASH_ATTN_TYPE_ENABLED),
                                               "cache_type_k": q8, "cache_type_v": q8},
        f"threads {max(1, settings.llm_threads - 1)}": {"threads": max(1, settings.llm_threads - 1)},
        f"threads {settings.llm_threads + 1}": {"threads": settings.llm_threads + 1},
        "mlock": {"load_mode": int(load.LLAMA_LOAD_MODE_MMAP_MLOCK)},
        "no mmap (read into RAM)": {"load_mode": int(load.LLAMA_LOAD_MODE_NONE)},
        "n_ctx 2048": {"n_ctx": 2048},
    }


def grid_prompt() -> list[dict[str, str]]:
    """The chain's own answer prompt over four generated passages, as chat messages."""
    passages = []
    for i in range(4):
        record = article(i)
        words = record["text"].split()[:PASSAGE_WORDS]
        passages.append(Passage(id=f"g{i}", article_id=f"g{i}", text=" ".join(words), title=record["title"],
                                outlet=record["outlet"], date=record["date"]))
    messages = answer_messages("What did the officials announce, and when?", passages)
    return [{"role": "system" if m.type == "system" else "user", "content": str(m.content)} for m in messages]


def run_setting(settings: Settings, changes: dict[str, Any]) -> dict[str, float | None]:
    """Start a server with these changes, read the prompt once, write up to MAX_TOKENS; llama.cpp's timings."""
    threads = changes.get("threads", settings.llm_threads)
    key = secrets.token_urlsafe(16)
    params = server_params(str(local_model_path(settings)), changes.get("n_ctx", settings.llm_context_tokens),
                           threads, key)
    for name, value in changes.items():
        if name not in ("threads", "n_ctx"):
            setattr(params, name, value)
    with Stopwatch() as load:
        server = start_server(params)
    try:
        response = httpx.post(f"{server.listening_address}/v1/chat/completions", timeout=600, trust_env=False,
                              headers={"Authorization": f"Bearer {key}"},
                              json={"model": "local", "messages": grid_prompt(), "max_tokens": MAX_TOKENS,
                                    "temperature": 0, "cache_prompt": False})
        timings = response.json()["timings"]
    finally:
        del server  # its destructor stops it and frees the model before the next setting loads
    return {"load_s": round(load.seconds, 2), "prompt_tokens": timings["prompt_n"],
            "read_per_s": round(timings["prompt_per_second"], 1),
            "written_per_s": round(timings["predicted_per_second"], 1)}


def bench_llm_grid(settings: Settings, only: list[str] | None = None) -> dict[str, Any]:
    """Every setting beside a run of the defaults just before it; ratios of read and written tokens/s."""
    settings_grid = grid(settings)
    out: dict[str, Any] = {"threads": settings.llm_threads, "n_ctx": settings.llm_context_tokens, "settings": {}}
    for name in only or list(settings_grid):
        with Contention() as others:
            default = run_setting(settings, {})
            changed = run_setting(settings, settings_grid[name])
        out["settings"][name] = {
            "default": default, "changed": changed, "other_processes_cores": others.cores,
            "read_vs_default": ratio(changed["read_per_s"], default["read_per_s"]),
            "written_vs_default": ratio(changed["written_per_s"], default["written_per_s"]),
        }
    return out
