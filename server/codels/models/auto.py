"""``model: "auto"``: which catalogue model suits this machine, from its facts and one speed sample.

:func:`choose_model` is pure. It takes the machine's facts (cores, the llama.cpp build, its GPUs,
the memory free), the speed of the smallest installed model of the catalogue's ``auto`` list and
which models are installed; it estimates every model of that list from the sample (prefill scales
with the parameters, decode with the bytes read per token) and takes the largest that fits in
memory and answers a typical request within :data:`BUDGET_MS`, among those installed. A model
that would be better but is not installed is named, with the command that gets it: nothing is
downloaded behind the user's back. The sample is measured once by the llama engine and kept in
:func:`measurement_path`, keyed by everything that would change it (:func:`measurement_key`).

This module imports :mod:`codels.models.catalogue` only.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codels.models.catalogue import AUTO, Catalogue, CatalogueModel, cache_dir

log = logging.getLogger(__name__)

REFERENCE_PREFILL_TPS = 125.0
"""Prefill of the default 0.5B model on the two AVX2 cores the latency targets were set on
(tokens/s, DESIGN.md): a model at least this fast meets them as the default model does there."""
REFERENCE_DECODE_TPS = 44.0
"""Decode of the default model on that machine (tokens/s)."""
ANSWER_PROMPT_TOKENS = 32
"""Prompt tokens evaluated for a typical answer while typing: the line being typed and what
changed since the last request (the rest is reused from the KV cache)."""
ANSWER_TOKENS = 12
"""Tokens generated for a typical answer: about one line of code."""
BUDGET_MS = 1000 * (
    ANSWER_PROMPT_TOKENS / REFERENCE_PREFILL_TPS + ANSWER_TOKENS / REFERENCE_DECODE_TPS
)
"""The most a typical answer may take with the picked model: what it takes the default model on
the machine the latency targets were set on (about 530 ms)."""

BITS_PER_PARAMETER = {"Q4_K_M": 6.0, "Q4_K_S": 5.7, "Q4_0": 5.0, "Q5_K_M": 6.8, "Q8_0": 9.0}
"""File bits per (nominal) parameter, to size a model the catalogue gives no size for. Q4_K_M:
the catalogue's Qwen2.5-Coder-1.5B file is 1,117,320,768 bytes, 5.96 bits per nominal
parameter (embeddings and output layers are kept at higher precision)."""
MEMORY_MARGIN = 1.1
"""A model needs its file size and 10 % in memory (the engine's memory check says the same)."""
GPU_OVERHEAD_BYTES = 500_000_000
"""What a GPU needs beside the weights: the KV cache and compute buffers."""

_FORMAT = 1
"""The version of the measurement file's layout."""


def wants_auto(setting: str) -> bool:
    """Whether the ``model`` setting lets codels pick: ``auto`` or empty, and no ``CODELS_MODEL``.

    A model named in the settings or in ``CODELS_MODEL`` always wins.
    """
    return setting in ("", AUTO) and not os.environ.get("CODELS_MODEL")


@dataclass(frozen=True)
class GpuDevice:
    """A GPU llama.cpp can offload to."""

    name: str
    description: str
    free_bytes: int
    total_bytes: int
    integrated: bool = False
    """It shares the machine's memory (Apple silicon, integrated graphics)."""


@dataclass(frozen=True)
class MachineFacts:
    """What decides which model this machine runs well."""

    cpu: str
    cores: int
    threads: int
    """The threads the model runs on (the ``threads`` setting, resolved)."""
    build: str
    """The llama.cpp build in words: ``CPU`` or ``GPU offload (CUDA)``, …"""
    features: str
    """llama.cpp's system info (instruction sets, backends): part of the measurement's key."""
    llama_version: str
    gpu_offload: bool
    """The build can offload layers to a GPU."""
    gpu_layers: int
    """The ``gpuLayers`` setting: 0 keeps the model on the CPU, -1 offloads all."""
    gpus: tuple[GpuDevice, ...] = ()
    memory_available: int | None = None
    """Bytes of memory a new program may use, if known."""
    load: float | None = None
    """The one-minute load average when the facts were read, if known."""

    @property
    def gpu(self) -> GpuDevice | None:
        """The GPU the model goes to: the one with the most free memory, when offloading."""
        if not (self.gpu_offload and self.gpu_layers != 0 and self.gpus):
            return None
        return max(self.gpus, key=lambda device: device.free_bytes)

    @property
    def offloads_all(self) -> bool:
        """Whether every layer goes to the GPU (-1, or a count no model here has, such as 99)."""
        return self.gpu is not None and (self.gpu_layers < 0 or self.gpu_layers >= 99)

    @property
    def busy(self) -> bool:
        """Whether other programs kept every core busy (a speed measured now reads low)."""
        return self.load is not None and self.load >= self.cores


@dataclass(frozen=True)
class SpeedSample:
    """The speed of one model on this machine, measured in about a second."""

    probe: str
    """The catalogue model measured."""
    prefill_tps: float
    decode_tps: float
    prefill_tokens: int
    decode_tokens: int
    seconds: float
    """How long the measurement took, loading the model included."""
    load: float | None = None
    """The one-minute load average when it was measured."""
    busy: bool = False
    """Every core was busy with other programs then: measured again at a quieter start."""
    bounded: bool = False
    """A phase finished no step within the probe's time: its figure is an upper bound."""
    measured_at: str = ""
    """When, as ISO 8601."""


@dataclass(frozen=True)
class ModelEstimate:
    """How one model of the auto list would do here."""

    name: str
    parameters: str
    bytes: int
    """The model file's size (estimated where the catalogue gives none)."""
    needs_bytes: int
    """The memory it needs where it runs (GPU or main memory)."""
    fits: bool
    installed: bool
    prefill_tps: float | None = None
    decode_tps: float | None = None
    answer_ms: float | None = None
    """A typical answer's estimated time (None: not measured)."""

    @property
    def fast_enough(self) -> bool:
        """Whether its typical answer is estimated within :data:`BUDGET_MS`."""
        return self.answer_ms is not None and self.answer_ms <= BUDGET_MS


@dataclass(frozen=True)
class AutoChoice:
    """What ``model: auto`` picked, and why, with the figures it went by."""

    name: str
    """The model that runs."""
    best: str
    """The best model for this machine, installed or not."""
    reason: str
    """Why, in a sentence or two with the measured figures."""
    hint: str = ""
    """What would be better and how to get it; empty when nothing would."""
    machine: MachineFacts | None = None
    sample: SpeedSample | None = None
    estimates: tuple[ModelEstimate, ...] = ()
    cached: bool = False
    """The speed came from the cache (False: it was measured at this start)."""

    def as_json(self) -> dict[str, Any]:
        """The choice as ``codels info --json`` shows it."""
        return {
            "picked": self.name,
            "best": self.best,
            "reason": self.reason,
            "hint": self.hint or None,
            "budget_ms": round(BUDGET_MS, 1),
            "typical_answer": {"prompt_tokens": ANSWER_PROMPT_TOKENS, "tokens": ANSWER_TOKENS},
            "measured": dataclasses.asdict(self.sample) if self.sample else None,
            "cached": self.cached,
            "measurement_file": str(measurement_path()),
            "machine": dataclasses.asdict(self.machine) if self.machine else None,
            "candidates": [
                dataclasses.asdict(estimate) | {"fast_enough": estimate.fast_enough}
                for estimate in self.estimates
            ],
        }


def auto_models(catalogue: Catalogue) -> list[CatalogueModel]:
    """The models ``auto`` picks among, smallest first."""
    return [catalogue.models[name] for name in catalogue.auto or (catalogue.default,)]


def parameter_count(entry: CatalogueModel) -> float | None:
    """The nominal parameter count (``"1.5B"`` -> 1.5e9), if the catalogue gives one."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMBT])\s*", entry.parameters.upper())
    if match is None:
        return None
    return float(match.group(1)) * {"K": 1e3, "M": 1e6, "B": 1e9, "T": 1e12}[match.group(2)]


def model_bytes(entry: CatalogueModel) -> int:
    """The model file's size: the catalogue's, else estimated from parameters and quantization."""
    if entry.size is not None:
        return entry.size
    parameters = parameter_count(entry) or 0.0
    bits = BITS_PER_PARAMETER.get(entry.quantization.upper(), 8.0)
    return int(parameters * bits / 8)


def _estimate(
    entry: CatalogueModel,
    probe: CatalogueModel | None,
    sample: SpeedSample | None,
    room: int | None,
    on_gpu: bool,
    installed: bool,
) -> ModelEstimate:
    size = model_bytes(entry)
    needs = int(size * MEMORY_MARGIN) + (GPU_OVERHEAD_BYTES if on_gpu else 0)
    estimate = ModelEstimate(
        name=entry.name,
        parameters=entry.parameters,
        bytes=size,
        needs_bytes=needs,
        fits=room is None or needs <= room,
        installed=installed,
    )
    if probe is None or sample is None or sample.prefill_tps <= 0 or sample.decode_tps <= 0:
        return estimate
    # Prefill is bound by arithmetic, which grows with the parameters; decode by the bytes of
    # weights read for every token.
    probe_bytes, probe_parameters = model_bytes(probe), parameter_count(probe)
    parameters = parameter_count(entry)
    compute = (parameters / probe_parameters) if parameters and probe_parameters else None
    prefill = sample.prefill_tps / (compute or size / probe_bytes)
    decode = sample.decode_tps / (size / probe_bytes)
    answer_ms = 1000 * (ANSWER_PROMPT_TOKENS / prefill + ANSWER_TOKENS / decode)
    return dataclasses.replace(
        estimate, prefill_tps=prefill, decode_tps=decode, answer_ms=answer_ms
    )


def choose_model(
    catalogue: Catalogue,
    machine: MachineFacts,
    sample: SpeedSample | None,
    installed: Callable[[CatalogueModel], bool],
    *,
    cached: bool = False,
) -> AutoChoice:
    """Pick the model for this machine; see the module docstring.

    Without a sample (no model of the list is installed to measure), the smallest model is best.
    """
    models = auto_models(catalogue)
    gpu = machine.gpu
    on_gpu = machine.offloads_all
    room = gpu.free_bytes if gpu is not None and on_gpu else machine.memory_available
    probe = catalogue.models.get(sample.probe) if sample is not None else None
    estimates = [
        _estimate(entry, probe, sample, room, on_gpu, installed(entry)) for entry in models
    ]
    suitable = [e for e in estimates if e.fits and e.fast_enough]
    best = suitable[-1] if suitable else estimates[0]
    ceiling = estimates.index(best)
    have = [e for e in estimates if e.installed]
    within = [e for e in have if estimates.index(e) <= ceiling]
    picked = within[-1] if within else (have[0] if have else None)
    name = picked.name if picked is not None else catalogue.default
    reason = _reason(name, best, estimates, machine, sample, on_gpu, room)
    hint = _hint(name, best, picked, machine)
    return AutoChoice(
        name=name,
        best=best.name,
        reason=reason,
        hint=hint,
        machine=machine,
        sample=sample,
        estimates=tuple(estimates),
        cached=cached,
    )


def _gb(size: float) -> str:
    return f"{size / 1e9:.1f} GB"


def _duration(ms: float) -> str:
    return f"{ms:.0f} ms" if ms < 1000 else f"{ms / 1000:.1f} s"


def _reason(
    name: str,
    best: ModelEstimate,
    estimates: list[ModelEstimate],
    machine: MachineFacts,
    sample: SpeedSample | None,
    on_gpu: bool,
    room: int | None,
) -> str:
    """Why ``name`` runs, with the figures."""
    if sample is None:
        return (
            "no model of the auto list is installed to measure this machine with"
            if not any(e.installed for e in estimates)
            else "this machine could not be measured"
        ) + f", so the smallest installed runs: {name}"
    where = f"{machine.gpu.name}" if on_gpu and machine.gpu else f"{machine.threads} threads"
    busy = (
        f", load average {sample.load:.1f} on {machine.cores} cores"
        if sample.load is not None
        else ""
    )
    timed = ", ".join(
        f"{_duration(e.answer_ms)} for {e.name}" + ("" if e.fits else " (does not fit)")
        for e in estimates
        if e.answer_ms is not None
    )
    space = f" in {_gb(room)} free {'on the GPU' if on_gpu else 'memory'}" if room else ""
    if best.fits and best.fast_enough:
        verdict = f"{best.name} is the largest within it that fits{space}"
    else:
        verdict = "none is within it, so the smallest runs"
    picked = "" if name == best.name else f"; {name} is the best installed"
    # A phase that finished no step within the probe's time gives an upper bound.
    prefill = ("at most " if not sample.prefill_tokens else "") + f"{sample.prefill_tps:.0f}"
    decode = ("at most " if not sample.decode_tokens else "") + f"{sample.decode_tps:.0f}"
    return (
        f"measured with {sample.probe} on {where} ({machine.build}{busy}): prefill "
        f"{prefill} tokens/s, decode {decode} tokens/s. A typical "
        f"answer ({ANSWER_PROMPT_TOKENS} tokens read, {ANSWER_TOKENS} written) is estimated at "
        f"{timed} (budget {_duration(BUDGET_MS)}); {verdict}{picked}"
    )


def _hint(
    name: str, best: ModelEstimate, picked: ModelEstimate | None, machine: MachineFacts
) -> str:
    """What would be better here and the command that gets it ("" when nothing would)."""
    parts: list[str] = []
    if name != best.name and not best.installed:
        better = (
            "would answer faster"
            if picked is not None and picked.bytes > best.bytes
            else ("would be better")
        )
        parts.append(f"{best.name} {better} here; get it with `codels models pull {best.name}`")
    if machine.gpu_offload and machine.gpu_layers == 0 and machine.gpus:
        device = max(machine.gpus, key=lambda gpu: gpu.free_bytes)
        parts.append(
            f"this llama.cpp build can run the model on {device.name} "
            f"({_gb(device.free_bytes)} free): set codels.gpuLayers to -1 and auto picks for it"
        )
    return "; ".join(parts)


def measurement_path() -> Path:
    """Where the speed sample is kept: beside the models, in the codels cache directory."""
    return cache_dir() / "auto-model.json"


def measurement_key(
    machine: MachineFacts, catalogue: Catalogue, probe: CatalogueModel
) -> dict[str, Any]:
    """What a speed sample depends on: a sample taken under another key is measured again."""
    listed = [
        [m.name, m.parameters, m.quantization, m.size, m.sha256] for m in auto_models(catalogue)
    ]
    return {
        "format": _FORMAT,
        "cpu": machine.cpu,
        "cores": machine.cores,
        "threads": machine.threads,
        "llama_cpp": machine.llama_version,
        "features": machine.features,
        "gpu_offload": machine.gpu_offload,
        "gpu_layers": machine.gpu_layers,
        "gpus": [[gpu.name, gpu.description, gpu.total_bytes] for gpu in machine.gpus],
        "probe": [probe.name, probe.sha256, probe.size],
        "catalogue": hashlib.sha256(json.dumps(listed).encode()).hexdigest()[:16],
    }


def read_measurement(key: Mapping[str, Any]) -> SpeedSample | None:
    """The sample kept for ``key``, or None (none kept, another key, an unreadable file)."""
    try:
        stored = json.loads(measurement_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(stored, dict) or stored.get("key") != dict(key):
        return None
    try:
        return SpeedSample(**stored["sample"])
    except (KeyError, TypeError):
        return None


def stored_measurement() -> tuple[dict[str, Any], SpeedSample] | None:
    """The last key and sample kept, whatever machine they were for (for listings)."""
    try:
        stored = json.loads(measurement_path().read_text(encoding="utf-8"))
        return dict(stored["key"]), SpeedSample(**stored["sample"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_measurement(key: Mapping[str, Any], sample: SpeedSample) -> None:
    """Keep ``sample`` for ``key`` (a failure to write only means measuring again next time)."""
    path = measurement_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}")
        record = {"key": dict(key), "sample": dataclasses.asdict(sample)}
        temporary.write_text(json.dumps(record, indent=2), encoding="utf-8")
        os.replace(temporary, path)
    except OSError as exc:
        log.warning("could not keep the speed measurement in %s: %s", path, exc)


def forget_measurement() -> None:
    """Drop the kept sample, so that the next start measures again."""
    measurement_path().unlink(missing_ok=True)
