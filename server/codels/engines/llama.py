"""The engine: runs the model. Only this module knows about llama.cpp.

:class:`LlamaEngine` keeps one resident ``llama_cpp.Llama``, owned by one worker thread
(llama.cpp contexts are not thread-safe). Requests queue for the worker; a newer request with
the same key (the document URI) supersedes a queued one and stops a running one. A running
generation reads its stop flag between prefill chunks and before every decoded token, so a
cancel or a supersession ends it within one token.

The prompt is tokenized with special tokens (the FIM markers) and evaluated by hand rather than
through ``create_completion(suffix=...)``, whose FIM path is broken in llama-cpp-python. Before
each request the engine keeps the longest common token prefix of the previous prompt in the KV
cache and evaluates only the rest; that is what makes stable-first prompts cheap.

:class:`Engine` is the interface the rest of codels uses; unit tests give the server a fake.

This module imports :mod:`codels.models.catalogue` and, lazily, ``llama_cpp``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from codels.engines.base import (
    EngineOptions,
    GenerationRequest,
    GenerationResult,
    ModelInfo,
    StopReason,
)
from codels.models.catalogue import (
    Catalogue,
    Family,
    ModelError,
    ProgressCallback,
    ResolvedModel,
    load_catalogue,
    resolve_model,
)
from codels.models.gguf import (
    ModelFileFacts,
    choose_family,
    facts_from_llama,
    family_probe,
    normalise_token,
)

log = logging.getLogger(__name__)

PREFILL_CHUNK = 128
"""Prompt tokens evaluated between two looks at the stop flag (~1 s on two slow cores)."""
BACKGROUND_PREFILL_CHUNK = 8
"""Prefill chunk of a background request (a stop waits for at most one chunk)."""

T = TypeVar("T")


@dataclass
class _Job:
    """A unit of work for the worker thread."""

    run: Callable[[threading.Event], Any]
    key: str | None
    future: concurrent.futures.Future[Any] = field(default_factory=concurrent.futures.Future)
    stop: threading.Event = field(default_factory=threading.Event)
    submitted: float = field(default_factory=time.perf_counter)
    background: bool = False
    """Nobody waits for it yet: any request someone waits for supersedes it."""


def llama_build() -> str:
    """Describe the llama.cpp build that llama-cpp-python was compiled with."""
    import llama_cpp

    info = llama_cpp.llama_print_system_info().decode("utf-8", "replace")
    backends = [name for name in ("CUDA", "Metal", "Vulkan", "ROCm", "HIP", "SYCL") if name in info]
    if llama_cpp.llama_supports_gpu_offload():
        return f"GPU offload ({', '.join(backends) or 'GPU'})"
    return "CPU"


class LlamaEngine:
    """The in-process engine: llama-cpp-python on one worker thread."""

    def __init__(self, catalogue: Catalogue | None = None) -> None:
        self._catalogue = catalogue
        self._llm: Any = None
        self._kv: KvCache | None = None
        self._kv_background: KvCache | None = None
        self._info: ModelInfo | None = None
        self._stop_ids: frozenset[int] = frozenset()
        self._special_ids: dict[str, int] = {}
        self._special_pattern: re.Pattern[str] | None = None
        self._space_ids = _SpaceTokens()
        self._queue: deque[_Job] = deque()
        self._current: _Job | None = None
        # Held while tokenizing (from the event loop) and while the model is replaced or freed
        # (on the worker), so a reload never frees a model that is being read.
        self._model_lock = threading.Lock()
        self._lock = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._work, name="codels-engine", daemon=True)
        self._thread.start()

    @property
    def info(self) -> ModelInfo | None:
        """The loaded model, or None."""
        return self._info

    # -- the worker ---------------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            with self._lock:
                while not self._queue and not self._closed:
                    self._lock.wait()
                if self._closed and not self._queue:
                    return
                job = self._queue.popleft()
                self._current = job
            try:
                if not job.future.set_running_or_notify_cancel():
                    continue
                try:
                    job.future.set_result(job.run(job.stop))
                except BaseException as exc:
                    job.future.set_exception(exc)
            finally:
                with self._lock:
                    self._current = None

    def _submit(
        self, run: Callable[[threading.Event], T], key: str | None, background: bool = False
    ) -> _Job:
        job = _Job(run=run, key=key, background=background)
        with self._lock:
            if self._closed:
                raise RuntimeError("the engine is closed")

            def superseded(other: _Job) -> bool:
                same = bool(key) and other.key == key
                if background:  # a guess never stops work someone waits for
                    return same and other.background
                return same or other.background

            for queued in [j for j in self._queue if superseded(j)]:
                self._queue.remove(queued)
                if not queued.future.done():  # its requester may have cancelled it already
                    queued.future.set_result(GenerationResult("", "superseded"))
            if self._current is not None and superseded(self._current):
                self._current.stop.set()
            self._queue.append(job)
            self._lock.notify()
        return job

    def close(self) -> None:
        """Stop the worker after the job in hand and free the model."""
        with self._lock:
            self._closed = True
            for job in self._queue:
                job.future.cancel()
            self._queue.clear()
            if self._current is not None:
                self._current.stop.set()
            self._lock.notify_all()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout=10)
        with self._model_lock:
            llm, self._llm = self._llm, None
            self._info = None
        if llm is not None:
            llm.close()

    # -- loading ------------------------------------------------------------------------------

    def load(self, options: EngineOptions, progress: ProgressCallback | None = None) -> ModelInfo:
        """Resolve, verify and load the model; blocks until done (call it from a thread).

        The new model is built in the calling thread while the worker goes on serving the old
        one, then swapped in by the worker between two generations, so a model switch drops
        no request. A model that does not fit in the memory available (counting what freeing
        the old one gives back) is refused with :class:`ModelError` and the old one stays.
        """
        catalogue = self._catalogue or load_catalogue()
        resolved = resolve_model(options.model, catalogue, progress)
        previous = self._info
        alongside = _check_memory(resolved, Path(previous.path) if previous else None)
        if not alongside:
            # Not enough memory for both at once: free the old model first (a short gap).
            log.info("freeing the old model before loading %s (memory)", resolved.name)
            self._submit(lambda _stop: self._install(None, None), None).future.result()
        if progress:
            progress(f"loading {resolved.name}", None)
        llm, info, extras = self._build(resolved, catalogue, options)
        try:
            self._submit(lambda _stop: self._install((llm, *extras), info), None).future.result()
        except BaseException:
            llm.close()
            raise
        return info

    def _build(
        self, resolved: ResolvedModel, catalogue: Catalogue, options: EngineOptions
    ) -> tuple[
        Any, ModelInfo, tuple[frozenset[int], dict[str, int], re.Pattern[str] | None, _SpaceTokens]
    ]:
        """Load ``resolved`` into a new ``Llama`` and work out its family and special tokens."""
        import llama_cpp

        threads = options.resolved_threads()
        started = time.perf_counter()
        try:
            llm = llama_cpp.Llama(
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
        try:
            _add_background_sequence(llm)
            facts = facts_from_llama(llm, resolved.path, family_probe(catalogue))
            choice = choose_family(
                facts, catalogue, resolved.entry.family if resolved.entry is not None else None
            )
            if choice.warning:
                log.warning("%s: %s", resolved.name, choice.warning)
            family = choice.family
            special = _special_token_ids(llm, facts, family)
            cut = family.cut_strings if family else ()
            stop_ids = {llm.token_eos()} | {special[token] for token in cut if token in special}
            spaces = _SpaceTokens.of(llm)
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
        return llm, info, (frozenset(stop_ids), special, _special_pattern(special), spaces)

    def _install(self, loaded: tuple[Any, ...] | None, info: ModelInfo | None) -> None:
        """On the worker, between generations: make ``loaded`` the model and free the old one."""
        with self._model_lock:
            previous = self._llm
            if loaded is None:
                self._llm, self._info = None, None
            else:
                llm, stop_ids, special, pattern, spaces = loaded
                self._llm, self._info = llm, info
                self._stop_ids, self._special_ids = stop_ids, special
                self._special_pattern, self._space_ids = pattern, spaces
            self._kv = self._kv_background = None
        if previous is not None and previous is not self._llm:
            previous.close()

    # -- generation ---------------------------------------------------------------------------

    def count_tokens(self, text: str) -> int:
        """Number of tokens of ``text`` (without special tokens)."""
        with self._model_lock:
            if self._llm is None:
                raise RuntimeError("no model is loaded")
            data = text.encode("utf-8", "replace")
            return len(self._llm.tokenize(data, add_bos=False, special=False))

    async def generate(self, request: GenerationRequest) -> GenerationResult:
        """Queue ``request`` for the worker and wait; cancelling the await stops the work."""
        if self._llm is None:
            raise RuntimeError("no model is loaded")
        submitted = time.perf_counter()
        job = self._submit(
            lambda stop: self._generate_on_worker(request, stop, submitted),
            request.key,
            request.background,
        )
        try:
            result: GenerationResult = await asyncio.wrap_future(job.future)
        except asyncio.CancelledError:
            job.stop.set()
            job.future.cancel()
            with self._lock:
                if job in self._queue:
                    self._queue.remove(job)
            log.info("request for %s cancelled: generation stopped", request.key or "?")
            raise
        return result

    def _tokenize_prompt(self, llm: Any, prompt: str) -> list[int]:
        """Tokens of ``prompt``: the family's special tokens by id, all other text as plain text.

        So a special token's text inside the user's code (``<|fim_prefix|>`` in a string, say)
        stays text and cannot steer the model.
        """
        tokens: list[int] = llm.tokenize(b"", add_bos=True, special=False)
        pattern = self._special_pattern
        pieces = pattern.split(prompt) if pattern is not None else [prompt]
        for index, piece in enumerate(pieces):
            if index % 2:
                tokens.append(self._special_ids[piece])
            elif piece:
                data = piece.encode("utf-8", "replace")
                tokens.extend(llm.tokenize(data, add_bos=False, special=False))
        return tokens

    def _generate_on_worker(
        self, request: GenerationRequest, stop: threading.Event, submitted: float
    ) -> GenerationResult:
        llm = self._llm
        if llm is None:
            raise RuntimeError("no model is loaded")
        started = time.perf_counter()
        tokens = self._tokenize_prompt(llm, request.prompt)
        room = llm.n_ctx() - request.max_tokens
        if len(tokens) > room:
            raise ModelError(
                f"the prompt takes {len(tokens)} tokens but the context holds {llm.n_ctx()} "
                f"with {request.max_tokens} for the answer; lower promptTokens or raise contextSize"
            )
        kv = self._kv
        if kv is None or kv.llm is not llm:
            kv = self._kv = KvCache(llm)
            self._kv_background = KvCache(llm, BACKGROUND_SEQUENCE) if _sequences(llm) > 1 else None
        if request.background and self._kv_background is not None:
            # A guess works in its own sequence, beside the one requests reuse: it starts from
            # what that one holds and leaves it as it was.
            foreground, kv = kv, self._kv_background
            try:
                return self._run(llm, kv, tokens, request, stop, started, submitted, foreground)
            except RuntimeError as exc:  # no room left in the cache beside the requests' cells
                log.info("speculative generation dropped: %s", exc)
                return GenerationResult("", "cancelled")
            finally:
                kv.clear()
        return self._run(llm, kv, tokens, request, stop, started, submitted, None)

    def _run(
        self,
        llm: Any,
        kv: KvCache,
        tokens: list[int],
        request: GenerationRequest,
        stop: threading.Event,
        started: float,
        submitted: float,
        source: KvCache | None,
    ) -> GenerationResult:
        """Prefill ``tokens`` into ``kv`` (starting from ``source``'s, if given) and decode."""
        chunk = BACKGROUND_PREFILL_CHUNK if request.background else PREFILL_CHUNK
        reused = kv.prepare(tokens, stop, reuse=request.reuse_cache, chunk=chunk, source=source)
        prefill_end = time.perf_counter()

        def result(text: str, reason: StopReason, generated: int) -> GenerationResult:
            now = time.perf_counter()
            return GenerationResult(
                text=text,
                stop_reason=reason,
                prompt_tokens=len(tokens),
                cached_tokens=reused or 0,
                generated_tokens=generated,
                prefill_ms=(prefill_end - started) * 1000,
                decode_ms=(now - prefill_end) * 1000,
                total_ms=(now - started) * 1000,
                queued_ms=(started - submitted) * 1000,
            )

        if reused is None:
            return result("", "cancelled", 0)

        generated: list[int] = []
        text = ""
        reason: StopReason = "length"
        while len(generated) < request.max_tokens:
            if stop.is_set():
                reason = "cancelled"
                break
            banned = None
            if request.no_leading_space and not text.strip(" \t") and "\n" not in text:
                banned = self._space_ids.after(text)
            if request.opener_first and not generated:
                banned = self._space_ids.not_openers
            token = llm.sample(
                temp=request.temperature,
                repeat_penalty=1.0,
                logits_processor=_ban(banned) if banned is not None and len(banned) else None,
            )
            if token in self._stop_ids:
                reason = "stop_token"
                break
            generated.append(token)
            text = llm.detokenize(generated).decode("utf-8", "ignore")
            if request.should_stop is not None and request.should_stop(text):
                reason = "rule"
                break
            kv.append(token)
        return result(text, reason, len(generated))


_OPENER_TOKEN = re.compile(
    rb"[ \t]?(?:if|elif|else|for|while|with|try|except|finally|def|class|async|match|case)"
    rb"(?![A-Za-z0-9_])"
)


@dataclass(frozen=True)
class _SpaceTokens:
    """Ids of tokens that begin with a space or tab, with two, and that open no block.

    The last are all tokens that do not begin a compound statement's keyword (for
    :attr:`GenerationRequest.opener_first`). Kept as numpy arrays, made once per model, so a
    constrained step converts no ids.
    """

    one: Any = ()
    two: Any = ()
    not_openers: Any = ()
    """Every token but those that begin a compound statement (`` if``, ``else``, ...)."""

    @classmethod
    def of(cls, llm: Any) -> _SpaceTokens:
        """Read them from ``llm``'s vocabulary (about 0.3 s for 150,000 tokens)."""
        import numpy

        one, two, not_openers = [], [], []
        for token in range(llm.n_vocab()):
            piece = llm.detokenize([token])
            if piece[:1] in (b" ", b"\t"):
                one.append(token)
                if piece[1:2] in (b" ", b"\t"):
                    two.append(token)
            if not _OPENER_TOKEN.match(piece):
                not_openers.append(token)
        return cls(*(numpy.asarray(ids, dtype=numpy.intc) for ids in (one, two, not_openers)))

    def after(self, text: str) -> Any:
        """The tokens that would indent an answer that is ``text`` so far (spaces only)."""
        return self.one if text else self.two


def _ban(ids: Any) -> Any:
    """A llama-cpp-python logits processor that rules the token ``ids`` out."""
    import llama_cpp
    import numpy

    def processor(_input_ids: Any, scores: Any) -> Any:
        scores[ids] = -numpy.inf
        return scores

    return llama_cpp.LogitsProcessorList([processor])


class KvCache:
    """What the llama.cpp KV cache (sequence 0) holds, position by position.

    A request's prompt is brought into the cache by keeping the longest common token prefix
    with what the cache holds and evaluating the rest in chunks, looking at the stop flag
    between chunks. (Keeping the cached *end* of the previous prompt across an edit before it
    would need out-of-order positions, which this llama.cpp refuses for one sequence.)

    Only the worker thread uses it. It drives llama-cpp-python's batch and context directly,
    so that generated tokens are tracked the same way as prompt tokens.
    """

    def __init__(self, llm: Any, sequence: int = 0) -> None:
        self.llm = llm
        self.sequence = sequence
        """The llama.cpp sequence id whose cells this tracks."""
        self.tokens: list[int] = []
        """The token at each position of the cache."""
        self.prompt_length = 0
        """How many of :attr:`tokens` are the last prompt (the rest were generated)."""

    def _decode(self, chunk: list[int], position: int) -> None:
        batch = self.llm._batch
        fields = batch.batch
        fields.n_tokens = len(chunk)
        for index, token in enumerate(chunk):
            fields.token[index] = token
            fields.pos[index] = position + index
            fields.seq_id[index][0] = self.sequence
            fields.n_seq_id[index] = 1
            fields.logits[index] = False
        fields.logits[len(chunk) - 1] = True
        self.llm._ctx.decode(batch)

    def _remove(self, start: int, end: int = -1) -> None:
        self.llm._ctx.kv_cache_seq_rm(self.sequence, start, end)

    def clear(self) -> None:
        """Forget everything this sequence holds (its cells go back to the cache)."""
        self._remove(0)
        self.tokens, self.prompt_length = [], 0

    def _evaluate(
        self, tokens: list[int], start: int, stop: threading.Event, chunk_size: int
    ) -> bool:
        """Evaluate ``tokens[start:]`` at their positions in chunks; False if stopped."""
        for chunk_start in range(start, len(tokens), chunk_size):
            if stop.is_set():
                self._remove(chunk_start)
                self.tokens = self.tokens[:chunk_start]
                self.prompt_length = len(self.tokens)
                return False
            chunk = tokens[chunk_start : chunk_start + chunk_size]
            self._decode(chunk, chunk_start)
            self.tokens[chunk_start:] = chunk
        return True

    def prepare(
        self,
        tokens: list[int],
        stop: threading.Event,
        *,
        reuse: bool,
        chunk: int = PREFILL_CHUNK,
        source: KvCache | None = None,
    ) -> int | None:
        """Bring the cache to ``tokens`` with logits for the last one.

        With ``source`` (another sequence of the same context), a longer common prefix held
        there is shared into this sequence first (llama.cpp shares the cells, no copy).
        Returns how many prompt tokens were reused rather than evaluated, or None when
        ``stop`` was set first.
        """
        if not reuse:
            self.clear()
        common = _common_prefix(self.tokens, tokens)
        if source is not None and reuse:
            shared = _common_prefix(source.tokens, tokens)
            if shared > common:
                self.clear()
                self.llm._ctx.kv_cache_seq_cp(source.sequence, self.sequence, 0, shared)
                self.tokens = source.tokens[:shared]
                common = shared
        self._remove(common)
        self.tokens = self.tokens[:common]
        if not self._evaluate(tokens, common, stop, chunk):
            return None
        self.prompt_length = len(tokens)
        self._sync()
        return common

    def append(self, token: int) -> None:
        """Evaluate one generated token after what the cache holds."""
        self._decode([token], len(self.tokens))
        self.tokens.append(token)
        self._sync()

    def _sync(self) -> None:
        """Keep llama-cpp-python's own bookkeeping in step (``sample`` asserts on it)."""
        count = len(self.tokens)
        self.llm.n_tokens = count
        self.llm.input_ids[:count] = self.tokens


def _common_prefix(held: list[int], tokens: list[int]) -> int:
    """How many leading ``tokens`` ``held`` has, leaving the last token to evaluate again."""
    common = 0
    limit = min(len(held), len(tokens) - 1)  # the last token is always evaluated (its logits)
    while common < limit and held[common] == tokens[common]:
        common += 1
    return common


BACKGROUND_SEQUENCE = 1
"""The llama.cpp sequence speculative generations use (requests use sequence 0)."""


def _add_background_sequence(llm: Any) -> None:
    """Give ``llm`` a context with a second sequence for background work.

    llama-cpp-python makes a one-sequence context and has no option for more, so the context is
    made again with two sequences over one unified cache (cells of a shared prefix are held
    once). If llama.cpp refuses, ``llm`` keeps its context and guesses share sequence 0.
    """
    from llama_cpp import _internals

    params = llm.context_params
    params.n_seq_max = 2
    params.kv_unified = True
    try:
        context = _internals.LlamaContext(model=llm._model, params=params, verbose=llm.verbose)
    except (ValueError, RuntimeError) as exc:
        params.n_seq_max = 1
        log.warning("no second KV sequence for speculative completions (%s)", exc)
        return
    previous, llm._ctx = llm._ctx, context
    llm._stack.enter_context(contextlib.closing(context))
    previous.close()


def _sequences(llm: Any) -> int:
    """How many KV sequences ``llm``'s context was made with."""
    return int(getattr(llm.context_params, "n_seq_max", 1))


def _available_memory() -> int | None:
    """Bytes of memory available to a new program (Linux ``MemAvailable``), if known."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _special_token_ids(llm: Any, facts: ModelFileFacts, family: Family | None) -> dict[str, int]:
    """Token id of each special token text the family's templates and stops use.

    A text the tokenizer maps to one special token takes that id; otherwise (Code Llama spells
    ``<PRE>`` as ``▁<PRE>``) the id llama.cpp gave that role. Texts this vocabulary lacks
    are left out: they stay plain text.
    """
    if family is None:
        return {}
    ids: dict[str, int] = {}
    for text in {*family.special_tokens, *family.stop, *family.markers}:
        if text in facts.single_tokens:
            ids[text] = llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)[0]
        elif (token := facts.special_ids.get(normalise_token(text))) is not None:
            ids[text] = token
    return ids


def _special_pattern(ids: dict[str, int]) -> re.Pattern[str] | None:
    """A regex that splits a prompt at these special tokens (longest first), capturing them."""
    if not ids:
        return None
    texts = sorted(ids, key=len, reverse=True)
    return re.compile("(" + "|".join(re.escape(text) for text in texts) + ")")


def _check_memory(resolved: ResolvedModel, loaded: Path | None = None) -> bool:
    """Refuse a model that cannot fit in memory; True if it fits beside the ``loaded`` one.

    A model needs about its file size in memory (the weights are mapped and all of them are
    read while it runs) plus the KV cache; the check keeps a 10 % margin.
    """
    available = _available_memory()
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
