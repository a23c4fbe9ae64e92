"""The engine's queue: supersession and cancellation, with a stand-in for the model."""

import asyncio
import threading

from codels.engines.base import GenerationRequest, GenerationResult
from codels.engines.llama import LlamaEngine


class _LlamaStub:
    def close(self) -> None:
        pass


class _LoadedStub:
    llm = _LlamaStub()
    info = None


class ScriptedEngine(LlamaEngine):
    """LlamaEngine's worker and queue, with generation replaced by a controllable stand-in."""

    def __init__(self) -> None:
        super().__init__()
        self._model = _LoadedStub()
        self.release = threading.Event()
        self.started: list[str] = []

    def _generate_on_worker(self, request, stop, submitted):
        self.started.append(request.prompt)
        while not self.release.wait(0.01):
            if stop.is_set():
                return GenerationResult("", "cancelled")
        return GenerationResult(request.prompt.upper(), "stop_token")


async def test_a_newer_request_stops_a_running_one_for_the_same_document():
    engine = ScriptedEngine()
    try:
        running = asyncio.ensure_future(engine.generate(GenerationRequest("a", 8, key="doc")))
        await asyncio.sleep(0.1)
        newer = asyncio.ensure_future(engine.generate(GenerationRequest("b", 8, key="doc")))
        assert (await running).stop_reason == "cancelled"
        engine.release.set()
        assert (await newer).text == "B"
    finally:
        engine.release.set()
        engine.close()


async def test_a_newer_request_supersedes_a_queued_one_for_the_same_document():
    engine = ScriptedEngine()
    try:
        busy = asyncio.ensure_future(engine.generate(GenerationRequest("a", 8, key="other")))
        await asyncio.sleep(0.1)
        queued = asyncio.ensure_future(engine.generate(GenerationRequest("b", 8, key="doc")))
        await asyncio.sleep(0.05)
        newest = asyncio.ensure_future(engine.generate(GenerationRequest("c", 8, key="doc")))
        assert (await queued).stop_reason == "superseded"
        engine.release.set()
        assert (await busy).text == "A"  # another document's request is not disturbed
        assert (await newest).text == "C"
        assert engine.started == ["a", "c"]
    finally:
        engine.release.set()
        engine.close()


async def test_a_request_someone_waits_for_stops_background_work_of_any_document():
    engine = ScriptedEngine()
    try:
        guess = GenerationRequest("a", 8, key="doc", background=True)
        running = asyncio.ensure_future(engine.generate(guess))
        await asyncio.sleep(0.1)
        queued = asyncio.ensure_future(
            engine.generate(GenerationRequest("b", 8, key="doc2", background=True))
        )
        await asyncio.sleep(0.05)
        # A guess does not stop a guess of another document, nor work someone waits for.
        assert not running.done() and not queued.done()
        asked = asyncio.ensure_future(engine.generate(GenerationRequest("c", 8, key="other")))
        assert (await running).stop_reason == "cancelled"
        assert (await queued).stop_reason == "superseded"
        engine.release.set()
        assert (await asked).text == "C"
        assert engine.started == ["a", "c"]
    finally:
        engine.release.set()
        engine.close()


async def test_a_request_cancelled_while_queued_does_not_break_the_next_one():
    engine = ScriptedEngine()
    try:
        running = asyncio.ensure_future(engine.generate(GenerationRequest("a", 8, key="other")))
        await asyncio.sleep(0.1)
        queued = asyncio.ensure_future(engine.generate(GenerationRequest("b", 8, key="doc")))
        await asyncio.sleep(0.05)
        queued.cancel()  # the client cancelled it before the worker got to it
        await asyncio.sleep(0.05)
        engine.release.set()
        following = await engine.generate(GenerationRequest("c", 8, key="doc"))
        assert following.text == "C"
        assert (await running).text == "A"
        assert "b" not in engine.started
    finally:
        engine.release.set()
        engine.close()


def test_memory_check_loads_beside_frees_first_or_refuses(tmp_path, monkeypatch):
    import pytest

    from codels.engines import llama_loader
    from codels.models.catalogue import ModelError, ResolvedModel

    new = tmp_path / "new.gguf"
    new.write_bytes(b"GGUF" + b"\0" * 996)  # 1,000 bytes -> 1,100 needed with the margin
    old = tmp_path / "old.gguf"
    old.write_bytes(b"GGUF" + b"\0" * 596)
    resolved = ResolvedModel(new, "new", None, verified=False, source="setting")

    monkeypatch.setattr(llama_loader, "available_memory", lambda: 2_000)
    assert llama_loader.check_memory(resolved, old) is True
    monkeypatch.setattr(llama_loader, "available_memory", lambda: 800)
    assert llama_loader.check_memory(resolved, old) is False  # fits once the old one is freed
    monkeypatch.setattr(llama_loader, "available_memory", lambda: 300)
    with pytest.raises(ModelError, match=r"needs about .* GB of memory .* pick a smaller model"):
        llama_loader.check_memory(resolved, old)
