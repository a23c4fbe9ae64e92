"""Loading a model into llama-cpp-python: the memory check, building the ``Llama`` and its tokens.

This module imports :mod:`codels.models`, :mod:`codels.engines.base`,
:mod:`codels.engines.llama_kv` and :mod:`codels.engines.llama_tokens`, and, lazily,
``llama_cpp``.
"""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codels.engines.base import EngineOptions, ModelInfo
from codels.engines.llama_kv import add_sequences
from codels.engines.llama_tokens import ModelTokens
from codels.models.auto import AutoChoice
from codels.models.catalogue import Catalogue, ModelError, ResolvedModel
from codels.models.gguf import choose_family, facts_from_llama, family_probe

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadedModel:
    """A ``llama_cpp.Llama`` with what codels worked out about it."""

    llm: Any
    info: ModelInfo
    tokens: ModelTokens


def llama_build() -> str:
    """Describe the llama.cpp build that llama-cpp-python was compiled with."""
    import llama_cpp

    info = llama_cpp.llama_print_system_info().decode("utf-8", "replace")
    backends = [name for name in ("CUDA", "Metal", "Vulkan", "ROCm", "HIP", "SYCL") if name in info]
    if llama_cpp.llama_supports_gpu_offload():
        return f"GPU offload ({', '.join(backends) or 'GPU'})"
    return "CPU"


def build_model(
    resolved: ResolvedModel,
    catalogue: Catalogue,
    options: EngineOptions,
    *,
    auto: AutoChoice | None = None,
    llm: Any = None,
) -> LoadedModel:
    """Load ``resolved`` into a new ``Llama`` and work out its family and special tokens.

    ``auto`` is why ``model: auto`` picked it, for :attr:`ModelInfo.auto`; ``llm`` is the file
    already loaded by :func:`new_llama` (by the speed probe), which is used rather than loaded
    again (its context is made anew here, so nothing the probe evaluated stays).
    """
    threads = options.resolved_threads()
    started = time.perf_counter()
    if llm is None:
        llm = new_llama(resolved, options, threads)
    try:
        add_sequences(llm)
        facts = facts_from_llama(llm, resolved.path, family_probe(catalogue))
        choice = choose_family(
            facts, catalogue, resolved.entry.family if resolved.entry is not None else None
        )
        if choice.warning:
            log.warning("%s: %s", resolved.name, choice.warning)
        family = choice.family
        tokens = ModelTokens.of(llm, facts, family)
    except BaseException:
        llm.close()
        raise
    info = ModelInfo(
        name=resolved.name,
        path=str(resolved.path),
        family=family,
        verified=resolved.verified,
        sha256=resolved.entry.sha256 if resolved.entry else "",
        context_size=llm.n_ctx(),
        threads=threads,
        gpu_layers=options.gpu_layers,
        build=llama_build(),
        family_reason=choice.reason,
        architecture=facts.architecture,
        trained_context=facts.context_length,
        auto=auto,
    )
    log.info(
        "loaded %s (%s) in %.1f s: family %s, %d threads, context %d, %s",
        resolved.name,
        resolved.path,
        time.perf_counter() - started,
        choice.reason,
        threads,
        llm.n_ctx(),
        info.build,
    )
    return LoadedModel(llm, info, tokens)


def new_llama(resolved: ResolvedModel, options: EngineOptions, threads: int) -> Any:
    """A new ``llama_cpp.Llama`` for ``resolved``; a ModelError if llama.cpp cannot load it."""
    import llama_cpp

    try:
        return llama_cpp.Llama(
            model_path=str(resolved.path),
            n_ctx=options.context_size,
            n_threads=threads,
            n_threads_batch=threads,
            n_gpu_layers=options.gpu_layers,
            n_batch=512,
            verbose=False,
        )
    except (ValueError, RuntimeError) as exc:
        raise ModelError(
            f"llama.cpp could not load {resolved.path} ({exc}); the file may be damaged or "
            "made for a newer llama.cpp: install the model again or pick another one"
        ) from exc


def available_memory() -> int | None:
    """Bytes of memory available to a new program (Linux ``MemAvailable``), if known."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def check_memory(resolved: ResolvedModel, loaded: Path | None = None) -> bool:
    """Refuse a model that cannot fit in memory; True if it fits beside the ``loaded`` one.

    A model needs about its file size in memory (the weights are mapped and all of them are
    read while it runs) plus the KV cache; the check keeps a 10 % margin.
    """
    available = available_memory()
    size = int(resolved.path.stat().st_size * 1.1)
    if available is None or size <= available or loaded == resolved.path:
        return True  # (the same file again shares its mapped pages)
    freed = 0
    if loaded is not None:
        with contextlib.suppress(OSError):
            freed = loaded.stat().st_size
    if size <= available + freed:
        return False
    raise ModelError(
        f"{resolved.name} needs about {size / 1e9:.1f} GB of memory but only "
        f"{(available + freed) / 1e9:.1f} GB is available; close other programs or pick a "
        "smaller model"
    )
