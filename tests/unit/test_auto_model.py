"""``model: auto``: the decision from machine facts and a speed sample, its cache, the commands."""

import dataclasses
import json

import pytest

from codels.engines import llama, llama_machine
from codels.engines.base import EngineOptions, ModelInfo
from codels.models import auto
from codels.models.auto import (
    BUDGET_MS,
    GpuDevice,
    MachineFacts,
    SpeedSample,
    choose_model,
    measurement_key,
    read_measurement,
    wants_auto,
    write_measurement,
)
from codels.models.catalogue import ModelError, load_catalogue, resolve_model

CATALOGUE = load_catalogue()
SMALL, MEDIUM, LARGE, HUGE = CATALOGUE.auto
GB = 1_000_000_000


def machine(**changes) -> MachineFacts:
    """A two-core CPU machine with 16 GB free, as this project's reference machine."""
    facts = MachineFacts(
        cpu="Some CPU",
        cores=2,
        threads=2,
        build="CPU",
        features="CPU : AVX2 = 1 |",
        llama_version="0.3.36",
        gpu_offload=False,
        gpu_layers=0,
        memory_available=16 * GB,
        load=0.5,
    )
    return dataclasses.replace(facts, **changes)


def sample(prefill: float, decode: float, probe: str = SMALL, **changes) -> SpeedSample:
    return dataclasses.replace(
        SpeedSample(
            probe=probe,
            prefill_tps=prefill,
            decode_tps=decode,
            prefill_tokens=64,
            decode_tokens=16,
            seconds=0.9,
        ),
        **changes,
    )


def installed(*names: str):
    return lambda entry: entry.name in names


GPU = GpuDevice(name="CUDA0", description="A GPU", free_bytes=24 * GB, total_bytes=24 * GB)


# -- the decision ---------------------------------------------------------------------------


def test_the_shipped_auto_list_is_one_family_smallest_first():
    assert CATALOGUE.auto[0] == CATALOGUE.default == "qwen2.5-coder-0.5b"
    assert CATALOGUE.auto[1] == "qwen2.5-coder-1.5b"
    assert {CATALOGUE.models[name].family for name in CATALOGUE.auto} == {"qwen2.5-coder"}
    sizes = [auto.model_bytes(CATALOGUE.models[name]) for name in CATALOGUE.auto]
    assert sizes == sorted(sizes)


def test_two_slow_cores_keep_the_small_model_even_with_the_bigger_one_installed():
    # The reference machine's own figures: the small model just meets the budget there.
    choice = choose_model(CATALOGUE, machine(), sample(125, 44), installed(SMALL, MEDIUM))
    assert choice.name == choice.best == SMALL
    assert not choice.hint
    [small, medium, *_] = choice.estimates
    assert small.answer_ms == pytest.approx(BUDGET_MS)
    assert medium.answer_ms > BUDGET_MS
    assert "prefill 125 tokens/s, decode 44 tokens/s" in choice.reason


def test_a_fast_cpu_takes_the_bigger_model_when_installed():
    fast = machine(cores=16, threads=8)
    choice = choose_model(CATALOGUE, fast, sample(600, 120), installed(SMALL, MEDIUM))
    assert choice.name == MEDIUM
    medium = choice.estimates[1]
    # Prefill scales with the parameters (3x), decode with the bytes read per token.
    assert medium.prefill_tps == pytest.approx(200)
    assert medium.decode_tps == pytest.approx(120 * 491_400_064 / 1_117_320_768)
    assert medium.fast_enough


def test_a_better_model_that_is_not_installed_is_named_never_fetched():
    fast = machine(cores=16, threads=8)
    choice = choose_model(CATALOGUE, fast, sample(600, 120), installed(SMALL))
    assert choice.name == SMALL
    assert choice.best == MEDIUM
    assert f"`codels models pull {MEDIUM}`" in choice.hint
    assert f"{SMALL} is the best installed" in choice.reason


def test_a_gpu_with_room_takes_the_largest_model_that_fits():
    gpu_machine = machine(gpu_offload=True, gpu_layers=-1, gpus=(GPU,), build="GPU (CUDA)")
    everything = installed(*CATALOGUE.auto)
    choice = choose_model(CATALOGUE, gpu_machine, sample(8000, 400), everything)
    assert choice.name == HUGE
    small_gpu = dataclasses.replace(GPU, free_bytes=2 * GB)
    tight = choose_model(
        CATALOGUE,
        dataclasses.replace(gpu_machine, gpus=(small_gpu,)),
        sample(8000, 400),
        everything,
    )
    assert tight.name == MEDIUM  # 3B needs 2.25 GB x 1.1 + buffers
    assert [e.fits for e in tight.estimates] == [True, True, False, False]
    assert "on the GPU" in tight.reason


def test_gpu_layers_99_counts_as_all_but_a_partial_offload_sizes_by_main_memory():
    assert machine(gpu_offload=True, gpu_layers=99, gpus=(GPU,)).offloads_all
    partial = machine(gpu_offload=True, gpu_layers=10, gpus=(GPU,), memory_available=1 * GB)
    assert not partial.offloads_all
    choice = choose_model(CATALOGUE, partial, sample(8000, 400), installed(*CATALOGUE.auto))
    assert choice.name == SMALL  # only the small one fits in 1 GB of main memory


def test_a_gpu_build_that_is_not_asked_to_offload_says_how():
    idle_gpu = machine(gpu_offload=True, gpu_layers=0, gpus=(GPU,))
    choice = choose_model(CATALOGUE, idle_gpu, sample(125, 44), installed(SMALL))
    assert choice.name == SMALL
    assert "codels.gpuLayers to -1" in choice.hint and "CUDA0" in choice.hint


def test_a_model_that_does_not_fit_in_memory_is_not_picked():
    small_memory = machine(cores=16, threads=8, memory_available=1 * GB)
    choice = choose_model(CATALOGUE, small_memory, sample(600, 120), installed(SMALL, MEDIUM))
    assert choice.name == SMALL
    assert "does not fit" in choice.reason


def test_only_a_bigger_model_installed_still_runs_and_the_faster_one_is_named():
    choice = choose_model(CATALOGUE, machine(), sample(40, 18, probe=MEDIUM), installed(MEDIUM))
    assert choice.name == MEDIUM and choice.best == SMALL
    assert f"{SMALL} would answer faster" in choice.hint


def test_nothing_installed_falls_back_to_the_default_which_says_how_to_install_it():
    choice = choose_model(CATALOGUE, machine(), None, installed())
    assert choice.name == CATALOGUE.default
    assert "no model of the auto list is installed" in choice.reason


def test_the_choice_as_json_carries_the_figures():
    choice = choose_model(CATALOGUE, machine(), sample(125, 44), installed(SMALL), cached=True)
    facts = json.loads(json.dumps(choice.as_json()))
    assert facts["picked"] == SMALL and facts["cached"] is True
    assert facts["measured"]["prefill_tps"] == 125
    assert facts["budget_ms"] == pytest.approx(BUDGET_MS, abs=0.1)
    assert [c["name"] for c in facts["candidates"]] == list(CATALOGUE.auto)
    assert facts["machine"]["cores"] == 2


# -- explicit models win --------------------------------------------------------------------


def test_an_explicit_model_or_codels_model_wins(monkeypatch):
    monkeypatch.delenv("CODELS_MODEL", raising=False)
    assert wants_auto("auto") and wants_auto("")
    assert not wants_auto(MEDIUM) and not wants_auto("/models/mine.gguf")
    monkeypatch.setenv("CODELS_MODEL", MEDIUM)
    assert not wants_auto("auto") and not wants_auto("")


def test_the_engine_resolves_a_named_model_without_measuring(monkeypatch, tmp_path):
    def never(*_args, **_kwargs):
        raise AssertionError("auto_choice ran for a named model")

    monkeypatch.setattr(llama, "auto_choice", never)
    with pytest.raises(ModelError, match="does not exist"):
        llama._resolve(EngineOptions(model=str(tmp_path / "no.gguf")), CATALOGUE, None, None)


def test_auto_as_a_setting_resolves_like_no_setting(monkeypatch, tmp_path):
    monkeypatch.setenv("CODELS_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("CODELS_MODEL", str(tmp_path / "mine.gguf"))
    with pytest.raises(ModelError, match="named by CODELS_MODEL"):
        resolve_model("auto", CATALOGUE)


def test_no_catalogue_model_may_be_called_auto_and_the_list_must_exist(tmp_path):
    base = 'default = "a"\n[families.f]\nfim_template = "{prefix}{suffix}"\n'
    entry = '[models.{0}]\nfamily = "f"\nfile = "{0}.gguf"\ncontext_length = 1\n'
    named_auto = tmp_path / "auto.toml"
    named_auto.write_text(base + entry.format("a") + entry.format("auto"))
    with pytest.raises(ModelError, match="no model may be named 'auto'"):
        load_catalogue(named_auto)
    unknown = tmp_path / "unknown.toml"
    unknown.write_text('auto = ["a", "b"]\n' + base + entry.format("a"))
    with pytest.raises(ModelError, match="auto list names models not in the catalogue"):
        load_catalogue(unknown)
    plain = tmp_path / "plain.toml"
    plain.write_text(base + entry.format("a"))
    assert load_catalogue(plain).auto == ("a",)


# -- the measurement's cache ----------------------------------------------------------------


def test_a_kept_measurement_is_read_back_only_under_its_key(monkeypatch, tmp_path):
    monkeypatch.setenv("CODELS_CACHE_DIR", str(tmp_path))
    probe = CATALOGUE.models[SMALL]
    key = measurement_key(machine(), CATALOGUE, probe)
    assert read_measurement(key) is None
    write_measurement(key, sample(125, 44))
    assert read_measurement(key) == sample(125, 44)
    assert auto.measurement_path().parent == tmp_path  # beside models/
    changed = [
        measurement_key(machine(cores=4), CATALOGUE, probe),
        measurement_key(machine(cpu="Other CPU"), CATALOGUE, probe),
        measurement_key(machine(features="CPU : AVX512 = 1 |"), CATALOGUE, probe),
        measurement_key(machine(llama_version="0.3.40"), CATALOGUE, probe),
        measurement_key(machine(gpu_offload=True, gpus=(GPU,)), CATALOGUE, probe),
        measurement_key(machine(gpu_layers=-1), CATALOGUE, probe),
        measurement_key(machine(threads=1), CATALOGUE, probe),
        measurement_key(machine(), CATALOGUE, CATALOGUE.models[MEDIUM]),
    ]
    for other in changed:
        assert read_measurement(other) is None, other
    # The free memory, the load and the time of day are not part of it.
    assert read_measurement(
        measurement_key(machine(load=9.0, memory_available=1), CATALOGUE, probe)
    )


def test_a_changed_catalogue_entry_invalidates_the_measurement(monkeypatch, tmp_path):
    monkeypatch.setenv("CODELS_CACHE_DIR", str(tmp_path))
    probe = CATALOGUE.models[SMALL]
    write_measurement(measurement_key(machine(), CATALOGUE, probe), sample(125, 44))
    medium = dataclasses.replace(CATALOGUE.models[MEDIUM], sha256="0" * 64)
    changed = dataclasses.replace(CATALOGUE, models={**CATALOGUE.models, MEDIUM: medium})
    assert read_measurement(measurement_key(machine(), changed, probe)) is None


def test_an_unreadable_measurement_file_is_measured_again(monkeypatch, tmp_path):
    monkeypatch.setenv("CODELS_CACHE_DIR", str(tmp_path))
    auto.measurement_path().write_text("{not json")
    assert read_measurement(measurement_key(machine(), CATALOGUE, CATALOGUE.models[SMALL])) is None


# -- measuring once, with fakes for the machine and the model -------------------------------


class FakeLlama:
    """Tokens and evaluations, without a model."""

    def __init__(self) -> None:
        self.evaluated: list[int] = []
        self.closed = self.cleared = False
        self._ctx = self

    def tokenize(self, text: bytes, add_bos: bool = False) -> list[int]:
        return list(range(len(text.split())))

    def eval(self, tokens: list[int]) -> None:
        self.evaluated.extend(tokens)

    def reset(self) -> None:
        pass

    def kv_cache_clear(self) -> None:
        self.cleared = True

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def fake_machine(monkeypatch, tmp_path):
    """Two installed models, a fake machine, and a speed probe that counts its runs."""
    monkeypatch.setenv("CODELS_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("CODELS_MODEL", raising=False)
    models = tmp_path / "models"
    models.mkdir()
    state = {"machine": machine(), "speed": (125.0, 44.0), "runs": 0, "opened": []}
    monkeypatch.setattr(
        llama_machine, "machine_facts", lambda threads, gpu_layers: state["machine"]
    )
    monkeypatch.setattr(llama_machine, "is_installed", lambda entry: entry.name in (SMALL, MEDIUM))
    monkeypatch.setattr(
        llama_machine,
        "resolve_catalogue_model",
        lambda entry, progress, is_default: type(
            "Resolved", (), {"path": models / entry.file, "name": entry.name}
        )(),
    )

    def measure(llm, probe, load_s=0.0):
        state["runs"] += 1
        prefill, decode = state["speed"]
        return sample(prefill, decode, probe, busy=state["machine"].busy)

    monkeypatch.setattr(llama_machine, "measure_speed", measure)

    def open_model(resolved):
        llm = FakeLlama()
        state["opened"].append(llm)
        return llm

    state["open_model"] = open_model
    return state


def test_the_first_start_measures_once_then_the_kept_figures_serve(fake_machine):
    first = llama_machine.auto_choice(
        CATALOGUE, EngineOptions(), open_model=fake_machine["open_model"]
    )
    assert fake_machine["runs"] == 1 and not first.choice.cached
    assert first.choice.name == SMALL
    # The probe is the model picked: the engine gets it loaded, rather than loading it again.
    assert first.llm is fake_machine["opened"][0] and not first.llm.closed
    again = llama_machine.auto_choice(
        CATALOGUE, EngineOptions(), open_model=fake_machine["open_model"]
    )
    assert fake_machine["runs"] == 1 and again.choice.cached and again.llm is None
    assert again.choice.name == SMALL


def test_a_new_machine_is_measured_again_and_a_bigger_pick_frees_the_probe(fake_machine):
    llama_machine.auto_choice(CATALOGUE, EngineOptions(), open_model=fake_machine["open_model"])
    fake_machine["machine"] = machine(cores=16, threads=8)
    fake_machine["speed"] = (600.0, 120.0)
    measured = llama_machine.auto_choice(
        CATALOGUE, EngineOptions(), open_model=fake_machine["open_model"]
    )
    assert fake_machine["runs"] == 2
    assert measured.choice.name == MEDIUM
    assert measured.llm is None and fake_machine["opened"][-1].closed


def test_a_measurement_taken_while_busy_is_taken_again_when_the_machine_is_quiet(fake_machine):
    fake_machine["machine"] = machine(load=5.0)
    options = EngineOptions()
    busy = llama_machine.auto_choice(CATALOGUE, options, open_model=fake_machine["open_model"])
    assert busy.choice.sample.busy and fake_machine["runs"] == 1
    llama_machine.auto_choice(CATALOGUE, options, open_model=fake_machine["open_model"])
    assert fake_machine["runs"] == 1  # still busy: the kept one serves
    fake_machine["machine"] = machine(load=0.3)
    quiet = llama_machine.auto_choice(CATALOGUE, options, open_model=fake_machine["open_model"])
    assert fake_machine["runs"] == 2 and not quiet.choice.sample.busy


def test_listing_reads_the_kept_choice_and_never_measures(fake_machine):
    assert llama_machine.kept_choice(CATALOGUE) is None
    llama_machine.auto_choice(CATALOGUE, EngineOptions(), open_model=fake_machine["open_model"])
    kept = llama_machine.kept_choice(CATALOGUE)
    assert kept is not None and kept.name == SMALL and kept.cached
    assert fake_machine["runs"] == 1


def test_without_room_beside_the_model_in_use_nothing_is_measured(fake_machine):
    measured = llama_machine.auto_choice(CATALOGUE, EngineOptions(), open_model=lambda r: None)
    assert fake_machine["runs"] == 0 and measured.choice.name == SMALL
    assert measured.choice.sample is None


class FakeDeadline:
    """The probe's deadline on a fake clock: a step running past it is stopped."""

    def __init__(self, llm, seconds):
        self.at = clock[0] + seconds
        self.hit = False
        llm.deadline = self

    def __enter__(self):
        return self

    def __exit__(self, *_exc):
        pass


clock = [0.0]


class SlowLlama(FakeLlama):
    """0.25 s per 16-token chunk, ``token_s`` per single token, on the fake clock."""

    def __init__(self, token_s: float = 0.125) -> None:
        super().__init__()
        self.token_s = token_s

    def eval(self, tokens):
        clock[0] += 0.25 if len(tokens) > 1 else self.token_s
        if clock[0] > self.deadline.at:
            self.deadline.hit = True
            raise RuntimeError("llama_decode returned 2")
        super().eval(tokens)


@pytest.fixture
def fake_clock(monkeypatch):
    clock[0] = 0.0
    monkeypatch.setattr(llama_machine.time, "perf_counter", lambda: clock[0])
    monkeypatch.setattr(llama_machine, "_Deadline", FakeDeadline)


def test_the_probe_is_bounded_in_time_and_leaves_the_context_empty(fake_clock):
    llm = SlowLlama()
    measured = llama_machine.measure_speed(llm, SMALL, load_s=0.5)
    # 0.25 s per 16-token chunk: two chunks fit in the phase's 0.4 s before it stops.
    assert measured.prefill_tokens == 32
    assert measured.prefill_tps == pytest.approx(32 / 0.5)
    assert measured.decode_tokens == 4 and measured.decode_tps == pytest.approx(8)
    assert measured.seconds == pytest.approx(0.5 + 0.125 + 0.5 + 0.5)
    assert not measured.bounded
    assert llm.cleared


def test_a_machine_too_busy_for_one_step_is_stopped_at_the_cap_with_upper_bounds(fake_clock):
    assert llama_machine.MEASURE_CAP_S == 1.2

    class VerySlow(SlowLlama):
        def eval(self, tokens):
            if len(tokens) > 1:
                clock[0] += 5.0  # the first chunk would take 5 s: the deadline stops it
                if clock[0] > self.deadline.at:
                    clock[0] = self.deadline.at + 0.01
                    self.deadline.hit = True
                    raise RuntimeError("llama_decode returned 2")
            super().eval(tokens)

    llm = VerySlow(token_s=0.5)  # the warm-up token takes 0.5 s
    measured = llama_machine.measure_speed(llm, SMALL)
    assert measured.seconds == pytest.approx(1.21)  # the cap, not 5 s
    assert measured.bounded and measured.prefill_tokens == 0 and measured.decode_tokens == 0
    assert measured.prefill_tps == pytest.approx(16 / 0.71)  # a chunk did not finish in 0.71 s
    assert measured.decode_tps == pytest.approx(2)  # the warm-up's one token in 0.5 s
    assert llm.cleared
    choice = choose_model(CATALOGUE, machine(), measured, installed(SMALL, MEDIUM))
    assert choice.name == SMALL and "prefill at most 23 tokens/s" in choice.reason


def test_llama_cpp_lists_its_devices_and_this_build_offers_no_gpu():
    llama_cpp = pytest.importorskip("llama_cpp")
    devices = llama_machine.backend_devices()
    assert any(kind == 0 and total > 0 for _, _, kind, _, total in devices), devices
    if not llama_cpp.llama_supports_gpu_offload():
        assert llama_machine.gpu_devices() == ()


# -- the command line -----------------------------------------------------------------------


class _Closing:
    def close(self) -> None:
        pass


def test_codels_info_json_reports_the_choice(monkeypatch, capsys, tmp_path):
    from codels.tools import cli

    monkeypatch.setenv("CODELS_CACHE_DIR", str(tmp_path))
    choice = choose_model(CATALOGUE, machine(), sample(125, 44), installed(SMALL), cached=True)
    info = ModelInfo(
        name=SMALL,
        path=str(tmp_path / "models" / "m.gguf"),
        family=CATALOGUE.families["qwen2.5-coder"],
        verified=True,
        sha256="ab" * 32,
        context_size=4096,
        threads=2,
        gpu_layers=0,
        build="CPU",
        auto=choice,
    )
    monkeypatch.setattr(cli, "load_engine", lambda settings: (_Closing(), info))
    monkeypatch.setattr(cli, "sandbox_facts", lambda: {})
    monkeypatch.setattr(cli, "describe", lambda facts: "none")
    auto.measurement_path().write_text("{}")
    assert cli.main(["info", "--json", "--measure-again"]) == 0
    facts = json.loads(capsys.readouterr().out)
    assert facts["model"] == SMALL
    assert facts["auto"]["picked"] == SMALL
    assert facts["auto"]["measured"]["decode_tps"] == 44
    assert "prefill 125 tokens/s" in facts["auto"]["reason"]
    assert not auto.measurement_path().exists()  # --measure-again forgot it
    assert cli.main(["info"]) == 0
    assert "picked by auto:" in capsys.readouterr().out
    named = dataclasses.replace(info, auto=None)
    monkeypatch.setattr(cli, "load_engine", lambda settings: (_Closing(), named))
    assert cli.main(["info", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["auto"] is None


def test_models_list_marks_what_auto_picks(monkeypatch, capsys, tmp_path):
    from codels.tools import cli

    monkeypatch.setenv("CODELS_CACHE_DIR", str(tmp_path))
    choice = choose_model(
        CATALOGUE, machine(cores=16, threads=8), sample(600, 120), installed(SMALL), cached=True
    )
    monkeypatch.setattr(llama_machine, "kept_choice", lambda catalogue: choice)
    assert cli.main(["models", "list", "--json"]) == 0
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows[SMALL]["auto"] and not rows[MEDIUM]["auto"]
    assert rows[MEDIUM]["auto_best"]
    assert cli.main(["models", "list"]) == 0
    plain = capsys.readouterr().out
    assert f"{SMALL} * +" in plain
    assert f"codels models pull {MEDIUM}" in plain
    monkeypatch.setattr(llama_machine, "kept_choice", lambda catalogue: None)
    assert cli.main(["models", "list"]) == 0
    assert "picks for this machine at the first start" in capsys.readouterr().out


def test_the_settings_default_is_auto():
    from codels.config import Settings, read_settings

    assert Settings().model == "auto"
    settings, problems = read_settings({"model": "qwen2.5-coder-1.5b"})
    assert settings.model == "qwen2.5-coder-1.5b" and not problems
