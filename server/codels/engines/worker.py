"""One worker thread and its queue of jobs, with supersession by key; knows nothing of models.

A job submitted with a key supersedes the queued jobs with that key (they end with
``GenerationResult("", "superseded")``) and sets the stop flag of a running one. A background
job (nobody waits for it yet) is superseded by any job someone waits for, and supersedes only
background jobs of its own key.

This module imports :mod:`codels.engines.base` only.
"""

from __future__ import annotations

import concurrent.futures
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from codels.engines.base import GenerationResult


@dataclass
class Job:
    """A unit of work for the worker thread."""

    run: Callable[[threading.Event], Any]
    """Called on the worker with the job's stop flag; its value is the future's result."""
    key: str | None
    future: concurrent.futures.Future[Any] = field(default_factory=concurrent.futures.Future)
    stop: threading.Event = field(default_factory=threading.Event)
    submitted: float = field(default_factory=time.perf_counter)
    background: bool = False
    """Nobody waits for it yet: any request someone waits for supersedes it."""


class WorkerQueue:
    """Runs submitted jobs one at a time on its own daemon thread."""

    def __init__(self, name: str = "codels-engine") -> None:
        self._queue: deque[Job] = deque()
        self._current: Job | None = None
        self._lock = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._work, name=name, daemon=True)
        self._thread.start()

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

    def submit(
        self, run: Callable[[threading.Event], Any], key: str | None, background: bool = False
    ) -> Job:
        """Queue ``run``, superseding the jobs it outdates; raises RuntimeError once closed."""
        job = Job(run=run, key=key, background=background)
        with self._lock:
            if self._closed:
                raise RuntimeError("the engine is closed")

            def superseded(other: Job) -> bool:
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

    def cancel(self, job: Job) -> None:
        """Stop ``job`` if it runs, and drop it if it still waits."""
        job.stop.set()
        job.future.cancel()
        with self._lock:
            if job in self._queue:
                self._queue.remove(job)

    def close(self, timeout: float = 30.0) -> bool:
        """Cancel the queued jobs, stop the one in hand and wait for the thread to end.

        True when the thread has ended (or this is the worker itself), False when the job in
        hand was still running after ``timeout`` seconds.
        """
        with self._lock:
            self._closed = True
            for job in self._queue:
                job.future.cancel()
            self._queue.clear()
            if self._current is not None:
                self._current.stop.set()
            self._lock.notify_all()
        if threading.current_thread() is self._thread:
            return True
        self._thread.join(timeout=timeout)
        return not self._thread.is_alive()
