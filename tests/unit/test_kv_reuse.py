"""Keeping cached cells after an edit: the plan (pure) and the KV cache carrying it out.

The cache runs against a stand-in for llama.cpp's unified KV memory that enforces the rules the
real one does: a sequence's batch starts right after the highest position it holds, moving a
cell moves it for every sequence that has it, and a cell holds one position.
"""

import threading

import pytest

from codels.engines.kv_plan import (
    HOLE,
    Chunk,
    ReusePlan,
    plan_reuse,
    shift_order,
)
from codels.engines.llama_kv import KvCache
from codels.engines.llama_states import DocumentStates

# -- the plan ---------------------------------------------------------------------------------


def test_without_chunks_the_plan_keeps_the_common_prefix_only():
    held = list(range(100))
    tokens = [*range(10), 500, *range(11, 100)]
    plan = plan_reuse(held, tokens, min_chunk=0)
    assert plan == ReusePlan(10, (), 100)
    assert plan.gaps() == [(10, 100)]


def test_an_insertion_before_the_suffix_keeps_the_suffix_shifted_right():
    prefix, suffix = list(range(50)), list(range(1000, 1200))
    held = [*prefix, 7, *suffix, 9, 8, 8]  # the last three were generated
    tokens = [*prefix, 7, 70, 71, *suffix, 9]
    plan = plan_reuse(held, tokens, min_chunk=64)
    assert plan.common == 51
    assert plan.chunks == (Chunk(source=51, target=53, length=200),)
    assert plan.gaps() == [(51, 53), (253, 254)]  # the typed tokens and the last token
    assert plan.evaluated == 3
    assert plan.reused == 251


def test_a_deletion_keeps_the_chunk_shifted_left():
    held = [*range(40), 1, 2, 3, *range(100, 300), 5]
    tokens = [*range(40), *range(100, 300), 5]
    plan = plan_reuse(held, tokens, min_chunk=64)
    assert plan.chunks == (Chunk(source=43, target=40, length=200),)
    assert plan.chunks[0].shift == -3
    assert plan.evaluated == 1


def test_several_chunks_keep_their_order_and_runs_shorter_than_the_minimum_are_evaluated():
    a, b, c = list(range(100, 200)), list(range(300, 310)), list(range(400, 500))
    held = [0, *a, 1, *b, 2, *c, 3]
    tokens = [0, 9, *a, 8, *b, 7, 7, *c, 3]
    plan = plan_reuse(held, tokens, min_chunk=32)
    assert [(chunk.source, chunk.target, chunk.length) for chunk in plan.chunks] == [
        (1, 2, 100),
        (113, 115, 100),
    ]
    assert plan.gaps() == [(1, 2), (102, 115), (215, 216)]  # b (10 tokens) is evaluated


def test_a_chunk_never_takes_the_last_token_and_never_runs_backwards():
    a, b = list(range(100, 180)), list(range(200, 280))
    held = [0, *b, *a]
    tokens = [0, *a, *b]  # both moved, in the other order: only one can be kept
    plan = plan_reuse(held, tokens, min_chunk=16)
    assert len(plan.chunks) == 1
    chunk = plan.chunks[0]
    assert chunk.target + chunk.length <= len(tokens) - 1
    assert plan.reused + plan.evaluated == len(tokens)


def test_holes_match_nothing():
    held = [*range(10), HOLE, HOLE, *range(500, 600)]
    tokens = [*range(10), 42, 43, *range(500, 600), 1]
    plan = plan_reuse(held, tokens, min_chunk=16)
    assert plan.common == 10
    assert plan.chunks == (Chunk(12, 12, 100),)


def test_a_repetitive_seed_picks_the_longest_run():
    run = [5] * 8
    held = [0, *run, 1, *run, *range(100, 180)]
    tokens = [0, 2, *run, *range(100, 180), 3]
    plan = plan_reuse(held, tokens, min_chunk=32)
    assert plan.chunks == (Chunk(10, 2, 88),)


def test_refresh_evaluates_the_first_tokens_of_every_kept_run_again():
    prefix, suffix = list(range(50)), list(range(1000, 1200))
    held = [*prefix, 7, *suffix, 9]
    tokens = [*prefix, 7, 70, 71, *suffix, 9]
    plan = plan_reuse(held, tokens, min_chunk=64, refresh=16)
    assert plan.chunks == (Chunk(source=51 + 16, target=53 + 16, length=200 - 16),)
    assert plan.gaps() == [(51, 69), (253, 254)]
    short = plan_reuse([*prefix, *suffix[:20], 9], [*prefix, 1, *suffix[:20], 9], 16, 20)
    assert short.chunks == ()  # nothing is left of a run no longer than the refresh


def test_shift_order_never_moves_a_chunk_over_one_still_waiting():
    chunks = [Chunk(10, 15, 20), Chunk(30, 36, 10), Chunk(50, 48, 5), Chunk(60, 53, 5)]
    occupied = {chunk: set(range(chunk.source, chunk.source + chunk.length)) for chunk in chunks}
    for chunk in shift_order(chunks):
        others = set().union(*(cells for other, cells in occupied.items() if other != chunk))
        assert not others & set(range(chunk.target, chunk.target + chunk.length)), chunk
        occupied[chunk] = set(range(chunk.target, chunk.target + chunk.length))
    assert Chunk(0, 0, 3) not in shift_order([Chunk(0, 0, 3)])  # nothing to move


# -- the cache against a stand-in for llama.cpp's memory --------------------------------------


class Cell:
    def __init__(
        self, position: int, token: int, sequence: int, seen: tuple[int, ...] = ()
    ) -> None:
        self.position = position
        self.token = token
        self.sequences = {sequence}
        self.seen = seen
        """The tokens before it when it was computed (what makes its K/V values)."""


class FakeMemory:
    """A unified KV cache: cells with a position, a token and the sequences that hold them."""

    def __init__(self) -> None:
        self.cells: list[Cell] = []
        self.decoded = 0

    def _in(self, cell: Cell, start: int, end: int) -> bool:
        start = max(start, 0)
        return cell.position >= start and (end < 0 or cell.position < end)

    def kv_cache_seq_rm(self, sequence: int, start: int, end: int) -> bool:
        for cell in self.cells:
            if self._in(cell, start, end):
                if sequence < 0:
                    cell.sequences.clear()
                cell.sequences.discard(sequence)
        self.cells = [cell for cell in self.cells if cell.sequences]
        return True

    def kv_cache_seq_cp(self, source: int, target: int, start: int, end: int) -> None:
        for cell in self.cells:
            if source in cell.sequences and self._in(cell, start, end):
                cell.sequences.add(target)

    def kv_cache_seq_shift(self, sequence: int, start: int, end: int, shift: int) -> None:
        for cell in self.cells:
            if sequence in cell.sequences and self._in(cell, start, end):
                cell.position += shift  # for every sequence that holds it, as llama.cpp does
        self.cells = [cell for cell in self.cells if cell.position >= 0]

    def held(self, sequence: int) -> dict[int, int]:
        positions: dict[int, int] = {}
        for cell in self.cells:
            if sequence in cell.sequences:
                assert cell.position not in positions, f"two cells at {cell.position}"
                positions[cell.position] = cell.token
        return positions

    def decode(self, batch: "FakeBatch") -> None:
        fields = batch.batch
        sequence = fields.seq_id[0][0]
        positions = fields.pos[: fields.n_tokens]
        held = self.held(sequence)
        if held and positions[0] != max(held) + 1:  # llama.cpp's rule: Y = X + 1
            raise RuntimeError(f"batch at {positions[0]} after {max(held)}")
        assert positions == list(range(positions[0], positions[0] + len(positions)))
        before = tuple(token for _, token in sorted(held.items()))
        batch_tokens = tuple(fields.token[: fields.n_tokens])
        for index, position in enumerate(positions):
            seen = before + batch_tokens[:index]
            self.cells.append(Cell(position, fields.token[index], sequence, seen))
        self.decoded += fields.n_tokens

    def exact(self, sequence: int, tokens: list[int]) -> list[bool]:
        """Whether each position's cell was computed after the tokens now before it."""
        cells = {cell.position: cell for cell in self.cells if sequence in cell.sequences}
        return [cells[i].seen == tuple(tokens[:i]) for i in range(len(tokens))]


class FakeFields:
    def __init__(self, size: int = 4096) -> None:
        self.n_tokens = 0
        self.token = [0] * size
        self.pos = [0] * size
        self.seq_id = [[0] for _ in range(size)]
        self.n_seq_id = [0] * size
        self.logits = [False] * size


class FakeBatch:
    def __init__(self) -> None:
        self.batch = FakeFields()


class FakeLlama:
    def __init__(self) -> None:
        self._ctx = FakeMemory()
        self._batch = FakeBatch()
        self.n_tokens = 0
        self.input_ids = [0] * 4096


def held_exactly(llm: FakeLlama, cache: KvCache) -> None:
    """The sequence holds each of its tokens at its position, and nothing else."""
    positions = llm._ctx.held(cache.sequence)
    expected = {i: token for i, token in enumerate(cache.tokens) if token != HOLE}
    assert positions == expected
    assert not llm._ctx.held(2), "the scratch sequence is left empty"


def test_an_edit_before_the_suffix_evaluates_only_the_new_tokens():
    llm = FakeLlama()
    cache = KvCache(llm, scratch=2, min_chunk=16, refresh=0)
    stop = threading.Event()
    first = [*range(30), *range(1000, 1100), 7]
    assert cache.prepare(first, stop, reuse=True) == 0
    cache.append(8)  # a generated token after the prompt
    llm._ctx.decoded = 0
    second = [*range(29), 40, 41, 42, *range(1000, 1100), 7]
    reused = cache.prepare(second, stop, reuse=True)
    assert reused == 29 + 100
    assert llm._ctx.decoded == 4  # 40, 41, 42 and the last token
    assert cache.tokens == second
    held_exactly(llm, cache)
    assert llm.n_tokens == len(second) and llm.input_ids[: len(second)] == second


def test_deleting_and_inserting_across_several_chunks_holds_every_token_once():
    llm = FakeLlama()
    cache = KvCache(llm, scratch=2, min_chunk=16, refresh=0)
    stop = threading.Event()
    a, b, c = list(range(100, 150)), list(range(200, 260)), list(range(300, 340))
    cache.prepare([0, *a, 1, 1, 1, *b, 2, *c, 3], stop, reuse=True)
    llm._ctx.decoded = 0
    tokens = [0, 5, 5, 5, 5, *a, *b, 6, 6, 6, 6, 6, *c, 3]
    cache.prepare(tokens, stop, reuse=True)
    assert llm._ctx.decoded == 4 + 5 + 1
    assert cache.tokens == tokens
    held_exactly(llm, cache)


def test_a_refreshed_run_evaluates_its_first_tokens_with_the_new_ones():
    llm = FakeLlama()
    cache = KvCache(llm, scratch=2, min_chunk=16, refresh=8)
    stop = threading.Event()
    cache.prepare([*range(30), *range(1000, 1100), 7], stop, reuse=True)
    llm._ctx.decoded = 0
    second = [*range(29), 40, 41, *range(1000, 1100), 7]
    assert cache.prepare(second, stop, reuse=True) == 29 + 100 - 8
    assert llm._ctx.decoded == 2 + 8 + 1
    assert cache.tokens == second
    held_exactly(llm, cache)


def test_without_a_scratch_sequence_the_suffix_is_evaluated_again():
    llm = FakeLlama()
    cache = KvCache(llm, scratch=None)
    stop = threading.Event()
    cache.prepare([*range(30), *range(1000, 1100), 7], stop, reuse=True)
    llm._ctx.decoded = 0
    cache.prepare([*range(29), 40, *range(1000, 1100), 7], stop, reuse=True)
    assert llm._ctx.decoded == 102
    held_exactly(llm, cache)


class StopAfter(threading.Event):
    """A stop flag that is set once it has been read ``reads`` times."""

    def __init__(self, reads: int) -> None:
        super().__init__()
        self.reads = reads

    def is_set(self) -> bool:
        self.reads -= 1
        return self.reads < 0


@pytest.mark.parametrize("reads", [0, 1, 2])
def test_a_stop_keeps_the_moved_cells_for_the_next_prompt(reads):
    llm = FakeLlama()
    cache = KvCache(llm, scratch=2, min_chunk=16, refresh=0)
    suffix = list(range(1000, 1300))
    cache.prepare([*range(30), *suffix, 7], threading.Event(), reuse=True)
    gap = list(range(500, 700))  # 200 typed tokens: two prefill chunks of 128
    edited = [*range(30), *gap, *suffix, 7]
    assert cache.prepare(edited, StopAfter(reads), reuse=True, chunk=128) is None
    held_exactly(llm, cache)
    assert cache.tokens[230:530] == suffix  # parked at its new place, holes before it
    llm._ctx.decoded = 0
    assert cache.prepare(edited, threading.Event(), reuse=True) == len(edited) - 1 - (
        200 - min(reads, 2) * 128 if reads < 2 else 0
    )
    assert cache.tokens == edited
    held_exactly(llm, cache)


def test_cells_moved_for_the_foreground_are_dropped_from_a_sequence_sharing_them():
    llm = FakeLlama()
    foreground = KvCache(llm, scratch=2, min_chunk=16, refresh=0)
    background = KvCache(llm, 1)
    stop = threading.Event()
    first = [*range(30), *range(1000, 1100), 7]
    foreground.prepare(first, stop, reuse=True)
    background.prepare([*first, 9, 9], stop, reuse=True, source=foreground)
    edited = [*range(29), 40, 41, *range(1000, 1100), 7]
    foreground.prepare(edited, stop, reuse=True, sharing=[background])
    held_exactly(llm, foreground)
    assert background.tokens == first[:30]
    assert llm._ctx.held(1) == dict(enumerate(first[:30]))


def test_a_failed_move_falls_back_to_evaluating_the_prompt():
    llm = FakeLlama()
    cache = KvCache(llm, scratch=2, min_chunk=16, refresh=0)
    stop = threading.Event()
    cache.prepare([*range(30), *range(1000, 1100), 7], stop, reuse=True)

    def refuse(*_args: object) -> None:
        raise RuntimeError("llama_decode returned -1")

    real_shift = llm._ctx.kv_cache_seq_shift
    llm._ctx.kv_cache_seq_shift = refuse  # type: ignore[method-assign]
    tokens = [*range(29), 40, 41, *range(1000, 1100), 7]
    assert cache.prepare(tokens, stop, reuse=True) == 0
    assert cache.scratch is None  # this context keeps the common prefix only from now on
    llm._ctx.kv_cache_seq_shift = real_shift  # type: ignore[method-assign]
    held_exactly(llm, cache)


# -- documents' kept states -------------------------------------------------------------------


class StatefulCache(KvCache):
    """A cache whose states are its cells' (position, token) pairs in the stand-in memory."""

    def export_state(self, limit: int) -> object | None:
        cells = sorted(self.llm._ctx.held(self.sequence).items())
        return cells if len(cells) * 10 <= limit else None

    def import_state(self, data: object) -> bool:
        self.clear()
        for position, token in data:  # type: ignore[attr-defined]
            cell = Cell(position, token, self.sequence)
            self.llm._ctx.cells.append(cell)
        return True


def documents_setup(capacity: int = 2, max_bytes: int = 10_000):
    llm = FakeLlama()
    cache = StatefulCache(llm, scratch=2, min_chunk=16, refresh=0)
    return llm, cache, DocumentStates(capacity, max_bytes)


def open_document(llm, cache, states, name: str, tokens: list[int]) -> int:
    states.switch(cache, name, tokens)
    llm._ctx.decoded = 0
    cache.prepare(tokens, threading.Event(), reuse=True)
    held_exactly(llm, cache)
    return llm._ctx.decoded


def test_switching_back_to_a_document_brings_its_cells_back():
    llm, cache, states = documents_setup()
    a, b = [*range(300, 400)], [*range(500, 650)]
    assert open_document(llm, cache, states, "a", a) == 100
    assert open_document(llm, cache, states, "b", b) == 150
    assert states.documents == ["a"]
    assert open_document(llm, cache, states, "a", [*a[:-1], 7]) == 1  # only the changed token
    assert states.documents == ["b"]  # a is held again; b kept
    assert open_document(llm, cache, states, "b", b) == 1


def test_the_least_recently_used_state_goes_first():
    llm, cache, states = documents_setup(capacity=2)
    for name, start in (("a", 100), ("b", 200), ("c", 300), ("d", 400)):
        open_document(llm, cache, states, name, [*range(start, start + 50)])
    assert states.documents == ["b", "c"]  # a went out; d is held
    assert open_document(llm, cache, states, "a", [*range(100, 150)]) == 50


def test_a_state_over_the_byte_budget_is_not_kept():
    llm, cache, states = documents_setup(max_bytes=1000)  # 100 cells
    open_document(llm, cache, states, "big", [*range(1000, 1200)])
    open_document(llm, cache, states, "small", [*range(1, 20)])
    open_document(llm, cache, states, "other", [*range(30, 50)])
    assert states.documents == ["small"]


def test_what_the_sequence_holds_wins_when_it_keeps_more_of_the_prompt():
    llm, cache, states = documents_setup()
    shared = [*range(100, 200)]
    open_document(llm, cache, states, "a", [1, *range(600, 620)])
    open_document(llm, cache, states, "b", [1, *shared])
    # a's saved state keeps 1 token of this prompt; what b left keeps 100
    assert not states.switch(cache, "a", [1, *shared, 5])
    assert states.documents == ["a", "b"]


def test_parked_cells_are_left_out_of_a_saved_state():
    llm, cache, states = documents_setup()
    suffix = list(range(1000, 1100))
    open_document(llm, cache, states, "a", [*range(30), *suffix, 7])
    cache.prepare([*range(30), *range(500, 700), *suffix, 7], StopAfter(1), reuse=True)
    assert HOLE in cache.tokens
    open_document(llm, cache, states, "b", [*range(2000, 2050)])
    assert HOLE not in states._saved["a"].tokens
    assert open_document(llm, cache, states, "a", [*range(30), *range(500, 700), *suffix, 7]) == (
        200 - 128 + 100 + 1
    )


# -- repairing kept cells ---------------------------------------------------------------------


def test_kept_cells_are_marked_approximate_and_a_repair_makes_them_exact():
    llm = FakeLlama()
    cache = KvCache(llm, scratch=2, min_chunk=16, refresh=0)
    suffix = list(range(1000, 1100))
    cache.prepare([*range(30), *suffix, 7], threading.Event(), reuse=True)
    cache.append(9)
    assert cache.approximate_from is None
    edited = [*range(29), 40, 41, *suffix, 7]
    cache.prepare(edited, threading.Event(), reuse=True)
    assert cache.approximate_from == 31
    exact = llm._ctx.exact(0, cache.tokens)
    assert all(exact[:31]) and not any(exact[31:-1])  # the kept suffix saw 29, not 40 41
    cache.append(5)
    llm._ctx.decoded = 0
    assert cache.repair(threading.Event(), chunk_size=8)
    assert llm._ctx.decoded == len(edited) - 31
    assert cache.approximate_from is None
    assert cache.tokens == edited  # the generated token went
    assert all(llm._ctx.exact(0, cache.tokens))
    held_exactly(llm, cache)


@pytest.mark.parametrize("reads", [0, 1, 5])
def test_a_stopped_repair_leaves_the_cache_whole_and_goes_on_later(reads):
    llm = FakeLlama()
    cache = KvCache(llm, scratch=2, min_chunk=16, refresh=0)
    suffix = list(range(1000, 1100))
    cache.prepare([*range(30), *suffix, 7], threading.Event(), reuse=True)
    edited = [*range(29), 40, 41, *suffix, 7]
    cache.prepare(edited, threading.Event(), reuse=True)
    assert not cache.repair(StopAfter(reads), chunk_size=8)
    assert cache.tokens == edited
    assert cache.approximate_from == 31 + 8 * reads
    exact = llm._ctx.exact(0, cache.tokens)
    assert all(exact[: cache.approximate_from])
    held_exactly(llm, cache)
    # The next keystroke keeps what was repaired and what was not; a repair then finishes.
    typed = [*edited, 8]
    assert cache.prepare(typed, threading.Event(), reuse=True) == len(typed) - 1
    assert cache.approximate_from == 31 + 8 * reads
    assert cache.repair(threading.Event(), chunk_size=8)
    assert all(llm._ctx.exact(0, cache.tokens))
    held_exactly(llm, cache)


def test_an_edit_before_approximate_cells_keeps_the_earliest_mark():
    llm = FakeLlama()
    cache = KvCache(llm, scratch=2, min_chunk=16, refresh=0)
    suffix = list(range(1000, 1100))
    cache.prepare([*range(30), *suffix, 7], threading.Event(), reuse=True)
    cache.prepare([*range(30), 50, *suffix, 7], threading.Event(), reuse=True)
    assert cache.approximate_from == 31
    cache.prepare([*range(10), 60, *range(11, 30), 50, *suffix, 7], threading.Event(), reuse=True)
    assert cache.approximate_from == 11
    assert all(llm._ctx.exact(0, cache.tokens)[:11])
    cache.prepare([*range(5), 70], threading.Event(), reuse=True)  # nothing kept after 5
    assert cache.approximate_from is None
