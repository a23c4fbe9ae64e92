"""Measures what several suggestions for an explicit request cost, with the real default model.

    python tests/e2e/alternatives_probe.py [--cursors N] [--json] [--log]

Takes N cursors (default 12) from the repository's own Python files: at each, the rest of a
code line is removed and the cursor left after its first word, as if it were being typed. At each
cursor it asks the completion service for the usual (greedy) suggestion, then for two more
(:meth:`CompletionService.alternatives`, sampled), and reports the time of each part (p50, p95),
how many different items came back, and for the samples: how much of their prompt the engine
reused from its cache, how many tokens each generated and how long each took. This is a
probe, not the benchmark: ``codels bench`` replays whole editing sessions.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "e2e"))

from codels.completion.service import CompletionService  # noqa: E402
from codels.config import Settings  # noqa: E402
from codels.documents import Document  # noqa: E402
from codels.engines.base import (  # noqa: E402
    EngineOptions,
    GenerationRequest,
    GenerationResult,
)
from codels.engines.llama import LlamaEngine  # noqa: E402


def cursors(count: int) -> list[tuple[str, str, int]]:
    """(uri, text, offset) at ``count`` code lines spread over the package's files."""
    files = sorted((REPO / "server" / "codels").rglob("*.py"))
    found: list[tuple[str, str, int]] = []
    for path in files:
        lines = path.read_text().split("\n")
        for number, line in enumerate(lines):
            stripped = line.strip()
            if (
                number < 60
                or number % 37 != 5
                or len(stripped) < 20
                or stripped.startswith(("#", '"', "'", "@"))
                or " " not in stripped
            ):
                continue
            indent = len(line) - len(stripped)
            head = line[: indent + stripped.index(" ") + 1]
            text = "\n".join([*lines[:number], head, *lines[number + 1 :]])
            offset = len("\n".join(lines[:number])) + 1 + len(head)
            found.append((path.as_uri(), text, offset))
            break
    step = max(1, len(found) // count)
    return found[::step][:count]


def percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=20)[q - 1] if len(values) >= 2 else values[0]


async def probe(count: int) -> dict[str, object]:
    from conftest import default_model_file

    engine = LlamaEngine()
    engine.load(EngineOptions(model=str(default_model_file())))
    sampled: list[GenerationResult] = []
    generate = engine.generate

    async def counted(request: GenerationRequest) -> GenerationResult:
        result = await generate(request)
        if request.temperature > 0:
            sampled.append(result)
        return result

    engine.generate = counted  # type: ignore[method-assign]
    service = CompletionService(engine)
    settings = Settings()
    first_ms: list[float] = []
    extra_ms: list[float] = []
    items: list[int] = []
    try:
        for uri, text, offset in cursors(count):
            snapshot = Document(uri, "python", 1, text).snapshot(around=offset)
            started = time.perf_counter()
            outcome = await service.complete(snapshot, offset, settings)
            first_ms.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            others = await service.alternatives(snapshot, offset, settings, outcome.text, 2)
            extra_ms.append((time.perf_counter() - started) * 1000)
            items.append(len([t for t in [outcome.text, *others] if t]))
    finally:
        engine.close()
    return {
        "cursors": len(first_ms),
        "first_p50_ms": round(statistics.median(first_ms)),
        "first_p95_ms": round(percentile(first_ms, 19)),
        "alternatives_p50_ms": round(statistics.median(extra_ms)),
        "alternatives_p95_ms": round(percentile(extra_ms, 19)),
        "items_mean": round(statistics.mean(items), 2),
        "items": items,
        "samples": len(sampled),
        "sample_prompt_tokens_reused": round(
            sum(r.cached_tokens for r in sampled) / max(1, sum(r.prompt_tokens for r in sampled)), 3
        ),
        "sample_generated_tokens_mean": round(
            statistics.mean(r.generated_tokens for r in sampled), 1
        )
        if sampled
        else None,
        "sample_ms_mean": round(statistics.mean(r.total_ms for r in sampled)) if sampled else None,
    }


def main() -> None:
    if "--log" in sys.argv:
        import logging

        logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    count = int(sys.argv[sys.argv.index("--cursors") + 1]) if "--cursors" in sys.argv else 12
    figures = asyncio.run(probe(count))
    if "--json" in sys.argv:
        print(json.dumps(figures))
        return
    for key, value in figures.items():
        print(f"{key}: {value}")


if __name__ == "__main__":
    main()
