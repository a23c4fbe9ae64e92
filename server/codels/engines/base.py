"""What every engine is: requests and results, load options, backend names, the protocol.

Load options are settings fields, declared with :func:`setting` (default, range or choices,
command-line option) and extended by :class:`codels.config.Settings`.

Engines declare what they can do in :class:`EngineCapabilities`, so callers ask rather than
test types. This module imports :mod:`codels.models` only.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol, TypeVar

from codels.models.auto import AutoChoice
from codels.models.catalogue import AUTO, Family, ProgressCallback

LOCAL = "local"
"""The backend that runs the model in process (llama-cpp-python)."""
LLAMA_SERVER = "llama-server"
"""The backend that asks llama.cpp's ``llama-server``."""
OPENAI = "openai"
"""The backend that asks an OpenAI-compatible completion server."""
BACKENDS = (LOCAL, LLAMA_SERVER, OPENAI)
"""The values of the ``backend`` setting."""

StopReason = Literal["stop_token", "rule", "length", "cancelled", "superseded", "withheld"]


SETTING_RANGE = "range"
"""Field metadata key: the (lowest, highest) integer a client may set."""
SETTING_CHOICES = "choices"
"""Field metadata key: the strings a client may set."""
SETTING_OPTION = "option"
"""Field metadata key: the help of the command-line option that sets the field (no key: no
option)."""

T = TypeVar("T")


def setting(
    default: T,
    *,
    between: tuple[int, int] | None = None,
    one_of: tuple[str, ...] | None = None,
    option: str | None = None,
) -> T:
    """A settings field: its default, the range or choices a client's value must keep to.

    ``option`` is the help of the command-line option that sets the field (None: no option).
    """
    metadata: dict[str, object] = {}
    if between is not None:
        metadata[SETTING_RANGE] = between
    if one_of is not None:
        metadata[SETTING_CHOICES] = one_of
    if option is not None:
        metadata[SETTING_OPTION] = option
    return field(default=default, metadata=metadata)


@dataclass(frozen=True)
class EngineOptions:
    """What to load and how: the settings that need a model reload when they change.

    :class:`codels.config.Settings` extends this class, so each field here is also a setting
    (and, with an ``option``, a command-line option) of the same name.
    """

    model: str = setting(
        AUTO,
        option="catalogue name, GGUF path or auto (default: CODELS_MODEL, else auto: the model "
        "for this machine)",
    )
    """Catalogue name or path of a GGUF file; ``auto`` (or empty) means ``CODELS_MODEL``, else
    the catalogue model picked for this machine (:mod:`codels.models.auto`)."""
    threads: int = setting(
        0, between=(0, 256), option="CPU threads (default: number of cores, at most 8)"
    )
    """CPU threads for the model; 0 picks the number of cores (at most 8)."""
    context_size: int = setting(4096, between=(512, 131072), option="context window in tokens")
    """The model's context window in tokens (prompt plus answer)."""
    gpu_layers: int = setting(
        0, between=(-1, 1000), option="layers to offload in a GPU build (-1: all)"
    )
    """Layers offloaded to the GPU in a CUDA or Metal build; -1 offloads all."""
    backend: str = setting(
        LOCAL, one_of=BACKENDS, option="where the model runs (default local: in process)"
    )
    """Where the model runs: ``local`` (in process), ``llama-server`` or ``openai``."""
    endpoint: str = setting("", option="remote server address, e.g. http://127.0.0.1:8080")
    """Base address of the remote server, e.g. ``http://gpu-box:8080``."""
    api_key_env: str = setting(
        "", option="environment variable that holds the remote server's API key"
    )
    """Name of the environment variable that holds the remote server's API key."""
    remote_model: str = setting("", option="model name to ask the OpenAI-compatible server for")
    """Model to ask an OpenAI-compatible server for (empty: the first it lists)."""
    remote_family: str = setting("", option="family of the remote model (default: guessed)")
    """Family of the remote model (empty: guessed from its name)."""
    request_timeout_ms: int = setting(10_000, between=(100, 600_000))
    """How long a remote request may wait for the server."""

    def resolved_threads(self) -> int:
        """The thread count to use."""
        return self.threads if self.threads > 0 else max(1, min(8, os.cpu_count() or 1))


@dataclass(frozen=True)
class ModelInfo:
    """What the engine has loaded."""

    name: str
    path: str
    family: Family | None
    """The FIM family; None means the model cannot infill (prefix-only completion)."""
    verified: bool
    sha256: str
    context_size: int
    threads: int
    gpu_layers: int
    build: str
    """The llama.cpp build in use: CPU, CUDA, Metal, ..."""
    family_reason: str = ""
    """Why this family was picked (or why there is none), for the user."""
    architecture: str = ""
    trained_context: int | None = None
    """The context length the model was trained for (from the file)."""
    auto: AutoChoice | None = None
    """What ``model: auto`` picked and why; None when the model was named."""


@dataclass(frozen=True)
class FimParts:
    """The pieces of an infilling prompt, for servers that assemble it themselves."""

    prefix: str
    """Text before the cursor line (stable while typing on one line)."""
    suffix: str
    volatile: str
    """The cursor line up to the cursor (changes with every keystroke)."""
    extra: tuple[tuple[str, str], ...] = ()
    """(file name, text) chunks of extra context placed before the prefix."""


@dataclass(frozen=True)
class GenerationRequest:
    """One completion to generate."""

    prompt: str
    max_tokens: int
    key: str = ""
    """Requests with the same key supersede each other (the document URI)."""
    stop: tuple[str, ...] = ()
    """Special tokens that end generation."""
    should_stop: Callable[[str], bool] | None = None
    """Called with the text so far after every token; True ends generation (a rule stop)."""
    reuse_cache: bool = True
    """Keep what the KV cache holds of earlier prompts (False: evaluate the whole prompt)."""
    parts: FimParts | None = None
    """The infilling prompt in pieces (used by ``llama-server``'s ``/infill``)."""
    chat: tuple[str, str] | None = None
    """An instruction prompt as (system, user) messages, for servers that apply the model's
    chat template themselves (``/v1/chat/completions``); :attr:`prompt` holds it templated."""
    no_leading_space: bool = False
    """The answer may begin with at most one space or tab (the one the prompt left out): the
    cursor's indentation is already right, so the model may not indent further (a backend that
    cannot constrain its tokens leaves it to post-processing)."""
    temperature: float = 0.0
    """0: greedy (repeatable); above it, sampled (another attempt that should differ)."""
    seed: int | None = None
    """With a temperature above 0: the seed of the sampling, so the same request samples the
    same answer and different seeds different ones (None: a random seed)."""
    first_token_words: tuple[str, ...] = ()
    """Words the answer's first token must begin (after at most one space or tab), as a whole
    word; empty: no constraint. The caller passes, say, a language's block keywords when the
    cursor line must open a block (a backend that cannot constrain its tokens ignores it)."""
    avoid_line: str = ""
    """A line the answer's first line should not be ("" for none): on a blank line, the line
    that follows the cursor, which an answer that would insert nothing repeats. An engine that
    constrains its tokens answers such a repeat with the likeliest other first line it finds
    (:mod:`codels.engines.llama_detour`); others leave the repeat to post-processing."""
    background: bool = False
    """Nobody waits for it yet (a speculative generation): the prompt is evaluated in smaller
    chunks, so a request that supersedes it waits less for the stop flag to be read."""
    document: str = ""
    """The document the prompt is for (its URI), under which an engine that keeps recently used
    documents' KV state keeps this one's; empty: :attr:`key`."""


@dataclass(frozen=True)
class GenerationResult:
    """What came back, with the figures codels logs and benchmarks."""

    text: str
    stop_reason: StopReason
    prompt_tokens: int = 0
    cached_tokens: int = 0
    """Prompt tokens reused from the KV cache (not evaluated again)."""
    generated_tokens: int = 0
    prefill_ms: float = 0.0
    decode_ms: float = 0.0
    total_ms: float = 0.0
    queued_ms: float = 0.0

    @property
    def cancelled(self) -> bool:
        """Whether the request was cancelled or superseded before it finished."""
        return self.stop_reason in ("cancelled", "superseded")


@dataclass(frozen=True)
class EngineCapabilities:
    """What an engine can do, so callers ask it rather than its type."""

    backend: str = "none"
    """One of :data:`BACKENDS`, or ``none`` while nothing is loaded."""
    in_process: bool = False
    """The model runs in this process (not on a server)."""
    constrains_tokens: bool = False
    """It honours :attr:`GenerationRequest.first_token_words` and
    :attr:`GenerationRequest.no_leading_space` by ruling tokens out while it samples."""
    background_sequence: bool = False
    """Background (speculative) generations run in a KV sequence of their own, beside the one
    that requests reuse."""
    streams_text: bool = False
    """It calls :attr:`GenerationRequest.should_stop` with the text so far as each token (or
    streamed piece) comes, so what a generation wrote is known while it runs (showing a block
    early needs it)."""
    document_states: bool = False
    """It keeps the KV state of recently used documents, and :meth:`Engine.prefill` evaluates a
    prompt ahead of the requests that will extend it."""


NOTHING_LOADED = EngineCapabilities()
"""The capabilities of an engine with no model or server yet."""


class Engine(Protocol):
    """What codels needs from a model runtime."""

    on_health: Callable[[str, bool], None] | None
    """Told (message, back?) when a remote server goes away or comes back; an engine in process
    never calls it."""

    @property
    def info(self) -> ModelInfo | None:
        """The loaded model, or None before :meth:`load` succeeded."""
        ...

    @property
    def capabilities(self) -> EngineCapabilities:
        """What the engine in use can do (:data:`NOTHING_LOADED` before a load)."""
        ...

    def load(self, options: EngineOptions, progress: ProgressCallback | None = None) -> ModelInfo:
        """Resolve and load the model (blocking; call it from a thread)."""
        ...

    def count_tokens(self, text: str) -> int:
        """Number of tokens ``text`` takes for the loaded model (thread-safe)."""
        ...

    async def generate(self, request: GenerationRequest) -> GenerationResult:
        """Generate a completion; asyncio cancellation stops it within one token."""
        ...

    async def prefill(self, request: GenerationRequest) -> GenerationResult:
        """Evaluate ``request``'s prompt in the background, generating nothing.

        Any request someone waits for stops it at once (what it evaluated stays cached, under
        the request's document). An engine without :attr:`EngineCapabilities.document_states`
        answers ``cancelled`` at once.
        """
        ...

    def close(self) -> None:
        """Stop the worker and free the model."""
        ...
