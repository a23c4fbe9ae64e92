"""The engine's worker queue, with plain callables: order, supersession, cancellation, close."""

import threading

import pytest

from codels.engines.base import GenerationResult
from codels.engines.worker import WorkerQueue


def blocker(started: threading.Event, release: threading.Event, value: str):
    """A job that says it started, then waits for ``release`` or its stop flag."""

    def run(stop: threading.Event) -> str:
        started.set()
        while not release.wait(0.01):
            if stop.is_set():
                return "stopped"
        return value

    return run


@pytest.fixture
def worker():
    queue = WorkerQueue("test-worker")
    yield queue
    queue.close()


def test_jobs_run_one_at_a_time_in_order(worker):
    seen: list[int] = []
    jobs = [worker.submit(lambda _stop, n=n: seen.append(n) or n, None) for n in range(5)]
    assert [job.future.result(timeout=5) for job in jobs] == [0, 1, 2, 3, 4]
    assert seen == [0, 1, 2, 3, 4]


def test_an_exception_reaches_the_future_and_the_worker_goes_on(worker):
    def fail(_stop):
        raise ValueError("boom")

    failed = worker.submit(fail, None)
    with pytest.raises(ValueError, match="boom"):
        failed.future.result(timeout=5)
    assert worker.submit(lambda _stop: "next", None).future.result(timeout=5) == "next"


def test_a_job_with_the_same_key_stops_the_running_one_and_supersedes_the_queued(worker):
    started, release = threading.Event(), threading.Event()
    running = worker.submit(blocker(started, release, "a"), "doc")
    assert started.wait(5)
    queued = worker.submit(lambda _stop: "b", "doc")
    newest = worker.submit(lambda _stop: "c", "doc")
    assert running.future.result(timeout=5) == "stopped"
    assert queued.future.result(timeout=5) == GenerationResult("", "superseded")
    assert newest.future.result(timeout=5) == "c"


def test_jobs_without_a_key_or_with_another_key_are_not_disturbed(worker):
    started, release = threading.Event(), threading.Event()
    running = worker.submit(blocker(started, release, "a"), "other")
    assert started.wait(5)
    unkeyed = worker.submit(lambda _stop: "b", None)
    keyed = worker.submit(lambda _stop: "c", "doc")
    also_unkeyed = worker.submit(lambda _stop: "d", None)
    release.set()
    assert running.future.result(timeout=5) == "a"
    assert [job.future.result(timeout=5) for job in (unkeyed, keyed, also_unkeyed)] == [
        "b",
        "c",
        "d",
    ]


def test_any_foreground_job_supersedes_background_jobs_but_not_the_other_way(worker):
    started, release = threading.Event(), threading.Event()
    guess = worker.submit(blocker(started, release, "a"), "doc", background=True)
    assert started.wait(5)
    other_guess = worker.submit(lambda _stop: "b", "doc2", background=True)
    assert not guess.stop.is_set() and not other_guess.future.done()
    same_guess = worker.submit(lambda _stop: "c", "doc2", background=True)
    assert other_guess.future.result(timeout=5) == GenerationResult("", "superseded")
    asked = worker.submit(lambda _stop: "d", "another")
    assert guess.future.result(timeout=5) == "stopped"
    assert same_guess.future.result(timeout=5) == GenerationResult("", "superseded")
    assert asked.future.result(timeout=5) == "d"


def test_a_background_job_never_stops_foreground_work(worker):
    started, release = threading.Event(), threading.Event()
    asked = worker.submit(blocker(started, release, "a"), "doc")
    assert started.wait(5)
    queued = worker.submit(lambda _stop: "b", "doc2")
    guess = worker.submit(lambda _stop: "c", "doc2", background=True)
    assert not asked.stop.is_set() and not queued.future.done()
    release.set()
    assert [job.future.result(timeout=5) for job in (asked, queued, guess)] == ["a", "b", "c"]


def test_cancel_stops_a_running_job_and_drops_a_queued_one(worker):
    started, release = threading.Event(), threading.Event()
    running = worker.submit(blocker(started, release, "a"), "one")
    assert started.wait(5)
    ran: list[str] = []
    queued = worker.submit(lambda _stop: ran.append("b"), "two")
    worker.cancel(queued)
    assert queued.future.cancelled()
    worker.cancel(running)
    assert running.stop.is_set()
    assert worker.submit(lambda _stop: "c", "two").future.result(timeout=5) == "c"
    assert ran == []


def test_close_cancels_queued_jobs_stops_the_running_one_and_refuses_more():
    worker = WorkerQueue("test-worker")
    started, release = threading.Event(), threading.Event()
    running = worker.submit(blocker(started, release, "a"), "one")
    assert started.wait(5)
    queued = worker.submit(lambda _stop: "b", "two")
    assert worker.close()
    assert running.future.result(timeout=5) == "stopped"
    assert queued.future.cancelled()
    with pytest.raises(RuntimeError, match="the engine is closed"):
        worker.submit(lambda _stop: "c", None)


def test_close_says_when_the_job_in_hand_would_not_stop():
    # A job deaf to its stop flag (native code that does not look at it): close must not
    # report the worker gone, or its caller would free what the job still uses.
    worker = WorkerQueue("test-worker")
    started, release = threading.Event(), threading.Event()
    worker.submit(lambda _stop: (started.set(), release.wait(10)), "one")
    assert started.wait(5)
    assert worker.close(timeout=0.2) is False
    release.set()
