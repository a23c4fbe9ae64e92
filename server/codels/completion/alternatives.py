"""More suggestions at one cursor, for a client that cycles through them (an explicit request).

The first suggestion is the service's usual, greedy answer. The others are sampled from the
same prompt (a temperature and a seed per attempt), so the engine reuses the whole prompt from
its cache and only decodes; each answer goes through the same cleaning and syntax judge as the
first, and answers that are empty, need a block header the first did not, or repeat one already
found are dropped.

Imports the pipeline stages, :mod:`codels.config`, :mod:`codels.documents` and
:mod:`codels.engines.base`.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Sequence

from codels.config import Settings
from codels.documents import DocumentSnapshot
from codels.engines.base import Engine, GenerationRequest
from codels.pipeline.context import CompletionContext, CompletionKind
from codels.pipeline.fim import Infill, fim_parts, prepare_infill
from codels.pipeline.postprocess import indent_settled, needs_header
from codels.pipeline.prompt import TokenCounter

log = logging.getLogger(__name__)

TEMPERATURE = 0.7
"""Sampling temperature of an alternative: varied, yet still the model's likely code."""
FIRST_SEED = 1
"""Seed of the first attempt; attempt ``n`` uses ``FIRST_SEED + n * SEED_STEP``, so the same
cursor gives the same alternatives (repeatable tests, steady cycling)."""
SEED_STEP = 7919
ATTEMPTS_PER_ITEM = 2
"""Samples tried per alternative wanted, at most (a sample often repeats the greedy answer)."""


def same_suggestion(a: str, b: str) -> bool:
    """Whether two suggestions show the same code (trailing whitespace aside)."""
    return a.rstrip() == b.rstrip()


async def sample_alternatives(
    engine: Engine,
    counter: TokenCounter,
    snapshot: DocumentSnapshot,
    context: CompletionContext,
    settings: Settings,
    known: Sequence[str],
    count: int,
    line_max_tokens: int,
) -> list[str]:
    """Up to ``count`` suggestions for ``context`` unlike each other and those ``known``.

    ``line_max_tokens`` caps a single-line answer, as for the first suggestion.
    """
    info = engine.info
    if info is None or count <= 0 or context.kind is CompletionKind.NONE:
        return []
    started = time.perf_counter()
    infill = prepare_infill(context, info.family, counter, settings.prompt_budget())
    max_tokens = settings.max_tokens
    if context.kind is CompletionKind.LINE:
        max_tokens = min(max_tokens, line_max_tokens)
    seen = [text for text in known if text]
    found: list[str] = []
    attempts = 0
    generated = 0
    prefill_ms = 0.0
    for attempt in range(count * ATTEMPTS_PER_ITEM):
        if len(found) >= count:
            break
        attempts += 1
        result = await engine.generate(_sample(infill, snapshot.uri, max_tokens, attempt))
        if result.cancelled:
            break
        generated += result.generated_tokens
        prefill_ms += result.prefill_ms
        cleaned = infill.clean(result.text, truncated=result.stop_reason == "length")
        text = cleaned.text
        if not text or needs_header(context, text):
            continue
        if any(same_suggestion(text, other) for other in seen):
            continue
        seen.append(text)
        found.append(text)
    log.info(
        "%s: %d alternative(s) from %d sample(s), generated %d, prefill %.0f ms, total %.0f ms",
        snapshot.uri.rsplit("/", 1)[-1],
        len(found),
        attempts,
        generated,
        prefill_ms,
        (time.perf_counter() - started) * 1000,
    )
    return found


def _sample(infill: Infill, key: str, max_tokens: int, attempt: int) -> GenerationRequest:
    """The request of sample number ``attempt``: the first suggestion's, sampled, own seed."""
    base = infill.request(
        max_tokens=max_tokens,
        key=key,
        should_stop=infill.stop_rule(),
        parts=fim_parts(infill.prompt, key),
        no_leading_space=bool(infill.prompt.healed) and indent_settled(infill.context),
    )
    seed = FIRST_SEED + attempt * SEED_STEP
    return dataclasses.replace(base, temperature=TEMPERATURE, seed=seed)
