"""The machine the model runs on, for ``model: "auto"``: its facts and a one-second speed probe.

:func:`auto_choice` reads the facts (CPU, cores, the llama.cpp build and the GPUs it can offload
to, the memory free), takes the speed of the smallest installed model of the catalogue's
``auto`` list from the measurement file, or measures it once (:func:`measure_speed`: about a
second) and keeps it there, and lets :func:`codels.models.auto.choose_model` decide. This module
imports :mod:`codels.models`, :mod:`codels.engines.base` and :mod:`codels.engines.llama_loader`,
and, lazily, ``llama_cpp``.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime
import logging
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from codels.engines.base import EngineOptions
from codels.engines.llama_loader import available_memory, llama_build
from codels.models.auto import (
    AutoChoice,
    GpuDevice,
    MachineFacts,
    SpeedSample,
    auto_models,
    choose_model,
    measurement_key,
    read_measurement,
    stored_measurement,
    write_measurement,
)
from codels.models.catalogue import (
    Catalogue,
    ProgressCallback,
    ResolvedModel,
    is_installed,
    resolve_catalogue_model,
)

log = logging.getLogger(__name__)

PREFILL_TOKENS = 64
"""Prompt tokens the probe evaluates, in chunks of :data:`PREFILL_CHUNK`."""
PREFILL_CHUNK = 16
"""About what one request evaluates while typing (so the probe measures that batch size)."""
DECODE_TOKENS = 16
"""Tokens the probe decodes one at a time."""
PHASE_BUDGET_S = 0.4
"""Prefill and decode each stop after this long (with at least one chunk or two tokens)."""
MEASURE_CAP_S = 1.2
"""The whole probe (loading aside) is stopped after this long, even in the middle of a step, so
a slow or busy machine never makes the first start wait more than about a second for it."""

_PROBE_TEXT = '''import json
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Inventory:
    """Items in stock, by name, with their unit prices."""

    items: dict[str, int] = field(default_factory=dict)
    prices: dict[str, float] = field(default_factory=dict)

    def add(self, name: str, count: int, price: float) -> None:
        self.items[name] = self.items.get(name, 0) + count
        self.prices[name] = price

    def total_value(self) -> float:
        return sum(count * self.prices[name] for name, count in self.items.items())

    def save(self, path: Path) -> None:
        path.write_text(json.dumps({"items": self.items, "prices": self.prices}, indent=2))
'''
"""Code the probe reads (about 180 tokens of ordinary Python)."""


def cpu_name() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux), else what the platform says."""
    with (
        contextlib.suppress(OSError),
        open("/proc/cpuinfo", encoding="utf-8", errors="replace") as cpuinfo,
    ):
        for line in cpuinfo:
            key, _, value = line.partition(":")
            if key.strip() in ("model name", "Model", "Hardware", "cpu model"):
                return value.strip()
    return platform.processor() or platform.machine() or "unknown"


def _load_average() -> float | None:
    try:
        return os.getloadavg()[0]
    except (OSError, AttributeError):
        return None


_DEVICE_GPU, _DEVICE_IGPU = 1, 2
"""``enum ggml_backend_dev_type``: GPU (its own memory) and IGPU (the host's memory)."""


def backend_devices() -> list[tuple[str, str, int, int, int]]:
    """The devices ggml knows: (name, description, type, free and total bytes); [] if unknown."""
    try:
        from llama_cpp._ggml import libggml

        # A handle of our own, so the argument types set here do not touch llama_cpp's.
        lib: Any = ctypes.CDLL(libggml._name)
        lib.ggml_backend_dev_count.restype = ctypes.c_size_t
        lib.ggml_backend_dev_get.restype = ctypes.c_void_p
        lib.ggml_backend_dev_get.argtypes = [ctypes.c_size_t]
        for text in (lib.ggml_backend_dev_name, lib.ggml_backend_dev_description):
            text.restype = ctypes.c_char_p
            text.argtypes = [ctypes.c_void_p]
        lib.ggml_backend_dev_type.restype = ctypes.c_int
        lib.ggml_backend_dev_type.argtypes = [ctypes.c_void_p]
        size = ctypes.POINTER(ctypes.c_size_t)
        lib.ggml_backend_dev_memory.argtypes = [ctypes.c_void_p, size, size]
    except (ImportError, AttributeError, OSError) as exc:
        log.info("cannot list llama.cpp's devices: %s", exc)
        return []
    devices = []
    for index in range(lib.ggml_backend_dev_count()):
        device = lib.ggml_backend_dev_get(index)
        free, total = ctypes.c_size_t(0), ctypes.c_size_t(0)
        lib.ggml_backend_dev_memory(device, ctypes.byref(free), ctypes.byref(total))
        name = (lib.ggml_backend_dev_name(device) or b"").decode("utf-8", "replace")
        about = (lib.ggml_backend_dev_description(device) or b"").decode("utf-8", "replace")
        kind = int(lib.ggml_backend_dev_type(device))
        devices.append((name, about, kind, int(free.value), int(total.value)))
    return devices


def gpu_devices() -> tuple[GpuDevice, ...]:
    """The GPUs this llama.cpp build can offload to, with their free memory."""
    import llama_cpp

    if not llama_cpp.llama_supports_gpu_offload():
        return ()
    return tuple(
        GpuDevice(
            name=name,
            description=about,
            free_bytes=free,
            total_bytes=total,
            integrated=kind == _DEVICE_IGPU,
        )
        for name, about, kind, free, total in backend_devices()
        if kind in (_DEVICE_GPU, _DEVICE_IGPU)
    )


def machine_facts(threads: int, gpu_layers: int) -> MachineFacts:
    """The facts of this machine, for the model running on ``threads`` with ``gpu_layers``."""
    import llama_cpp

    return MachineFacts(
        cpu=cpu_name(),
        cores=os.cpu_count() or 1,
        threads=threads,
        build=llama_build(),
        features=llama_cpp.llama_print_system_info().decode("utf-8", "replace").strip(),
        llama_version=str(getattr(llama_cpp, "__version__", "")),
        gpu_offload=bool(llama_cpp.llama_supports_gpu_offload()),
        gpu_layers=gpu_layers,
        gpus=gpu_devices(),
        memory_available=available_memory(),
        load=_load_average(),
    )


class _Deadline:
    """An abort callback that stops llama.cpp mid-evaluation once the probe is out of time."""

    def __init__(self, llm: Any, seconds: float) -> None:
        import llama_cpp

        self.at = time.perf_counter() + seconds
        self.hit = False
        self._llama_cpp = llama_cpp
        self._ctx = llm._ctx.ctx
        # Kept on the object: llama.cpp holds only the C pointer.
        self._callback = llama_cpp.ggml_abort_callback(self._check)

    def _check(self, _data: Any) -> bool:
        self.hit = self.hit or time.perf_counter() > self.at
        return self.hit

    def __enter__(self) -> _Deadline:
        self._llama_cpp.llama_set_abort_callback(self._ctx, self._callback, None)
        return self

    def __exit__(self, *_exc: object) -> None:
        self._llama_cpp.llama_set_abort_callback(
            self._ctx, self._llama_cpp.ggml_abort_callback(), None
        )


def measure_speed(llm: Any, probe: str, load_s: float = 0.0) -> SpeedSample:
    """Time a short prefill and decode on the loaded ``llm``, in :data:`MEASURE_CAP_S` at most.

    ``load_s`` is how long loading it took (counted in the sample's seconds). Decode is timed as
    one-token evaluations (the forward pass; sampling is not included). On a machine too slow (or
    too busy) to finish a step within the cap, the step is stopped and its figure is an upper
    bound, which is all the choice needs: no bigger model would be fast enough either. The
    context is left empty.
    """
    started = time.perf_counter()
    load = _load_average()
    try:
        with _Deadline(llm, MEASURE_CAP_S) as deadline:
            tokens = llm.tokenize(_PROBE_TEXT.encode("utf-8"), add_bos=False)
            # The first token touches every weight: a cold file's pages come in here.
            warm = _timed_eval(llm, tokens[:1], 1, deadline)
            text = tokens[1 : 1 + PREFILL_TOKENS]
            prefill = _timed_eval(llm, text if warm.done else [], PREFILL_CHUNK, deadline)
            rest = tokens[1 + prefill.done :][:DECODE_TOKENS]
            decode = _timed_eval(llm, rest if prefill.done else [], 1, deadline, at_least=2)
    finally:
        llm.reset()
        llm._ctx.kv_cache_clear()
    # Where a phase finished no step, it took longer than the time it was given.
    waited = max(warm.elapsed, prefill.elapsed, 1e-6)
    prefill_tps = prefill.rate if prefill.done else PREFILL_CHUNK / waited
    decode_tps = decode.rate if decode.done else 1 / max(warm.elapsed, decode.elapsed, 1e-6)
    return SpeedSample(
        probe=probe,
        prefill_tps=prefill_tps,
        decode_tps=decode_tps,
        prefill_tokens=prefill.done,
        decode_tokens=decode.done,
        seconds=round(load_s + time.perf_counter() - started, 3),
        load=load,
        busy=load is not None and load >= (os.cpu_count() or 1),
        bounded=not (prefill.done and decode.done),
        measured_at=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    )


@dataclass(frozen=True)
class _Phase:
    done: int
    """Tokens evaluated."""
    seconds: float
    """Until the last step that finished."""
    elapsed: float
    """Until the phase ended (a step stopped by the deadline included)."""

    @property
    def rate(self) -> float:
        return self.done / max(self.seconds, 1e-6)


def _timed_eval(
    llm: Any, tokens: list[int], chunk: int, deadline: _Deadline, at_least: int = 1
) -> _Phase:
    """Evaluate ``tokens`` ``chunk`` at a time until done, out of time, or past the deadline."""
    started = time.perf_counter()
    done, seconds = 0, 0.0
    while done < len(tokens) and not deadline.hit:
        if done >= at_least * chunk and time.perf_counter() - started > PHASE_BUDGET_S:
            break
        step = tokens[done : done + chunk]
        try:
            llm.eval(step)
        except RuntimeError:
            if not deadline.hit:
                raise
            break
        done += len(step)
        seconds = time.perf_counter() - started
    return _Phase(done, seconds, time.perf_counter() - started)


@dataclass(frozen=True)
class Measured:
    """What ``model: auto`` picked, and the probe's model when it is the one picked."""

    choice: AutoChoice
    llm: Any = None
    """The probe model, loaded as the engine loads models, when the choice is that model: the
    engine uses it rather than loading the file again (None otherwise)."""
    resolved: ResolvedModel | None = None
    """The probe model's file, with :attr:`llm`."""


OpenModel = Callable[[ResolvedModel], Any]
"""Loads a model file as the engine would (a ``llama_cpp.Llama``); None where it may not (not
enough memory beside the model in use)."""


def auto_choice(
    catalogue: Catalogue,
    options: EngineOptions,
    progress: ProgressCallback | None = None,
    *,
    open_model: OpenModel | None = None,
) -> Measured:
    """What ``model: auto`` runs here; measures the machine once if nothing is kept for it.

    ``open_model`` loads the probe for the measurement; without it nothing is measured, and
    without a kept sample the choice is the smallest installed model, as for a machine that could
    not be measured.
    """
    threads = options.resolved_threads()
    machine = machine_facts(threads, options.gpu_layers)
    installed = [entry for entry in auto_models(catalogue) if is_installed(entry)]
    if not installed:
        return Measured(choose_model(catalogue, machine, None, is_installed))
    probe = installed[0]
    key = measurement_key(machine, catalogue, probe)
    sample = read_measurement(key)
    if sample is not None and sample.busy and not machine.busy and open_model is not None:
        log.info("the kept speed was measured while the machine was busy; measuring again")
        sample = None
    if sample is not None or open_model is None:
        return Measured(choose_model(catalogue, machine, sample, is_installed, cached=True))
    resolved = resolve_catalogue_model(probe, progress, is_default=probe.name == catalogue.default)
    if progress:
        progress(f"measuring this machine with {probe.name} (once)", None)
    started = time.perf_counter()
    llm = open_model(resolved)
    if llm is None:
        return Measured(choose_model(catalogue, machine, None, is_installed))
    try:
        sample = measure_speed(llm, probe.name, time.perf_counter() - started)
    except (ValueError, RuntimeError, OSError) as exc:
        log.warning("could not measure this machine with %s (%s); using it", probe.name, exc)
        choice = choose_model(catalogue, machine, None, lambda entry: entry is probe)
        return Measured(choice, llm, resolved)
    write_measurement(key, sample)
    log.info(
        "measured %s in %.2f s: prefill %.0f tokens/s, decode %.0f tokens/s%s (load average %s)",
        probe.name,
        sample.seconds,
        sample.prefill_tps,
        sample.decode_tps,
        " (upper bounds: stopped at the cap)" if sample.bounded else "",
        f"{sample.load:.2f}" if sample.load is not None else "unknown",
    )
    choice = choose_model(catalogue, machine, sample, is_installed)
    if choice.name == probe.name:
        return Measured(choice, llm, resolved)
    llm.close()
    return Measured(choice)


def kept_choice(catalogue: Catalogue) -> AutoChoice | None:
    """What auto picks with the kept sample, under the settings it was measured with.

    No model is loaded or measured; None when nothing is kept for this machine.
    """
    stored = stored_measurement()
    if stored is None:
        return None
    key, _sample = stored
    threads, gpu_layers = key.get("threads"), key.get("gpu_layers")
    if not isinstance(threads, int) or not isinstance(gpu_layers, int):
        return None
    options = EngineOptions(threads=threads, gpu_layers=gpu_layers)
    choice = auto_choice(catalogue, options).choice
    return choice if choice.sample is not None else None
