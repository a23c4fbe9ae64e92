"""``codels bench`` end to end on a tiny input, with the real default model."""

import json
import subprocess

from conftest import REPO, codels_command


def test_bench_replays_one_body_against_codels_and_the_baseline(tmp_path):
    output = tmp_path / "bench.json"
    result = subprocess.run(
        [
            codels_command(),
            "bench",
            "--files",
            str(REPO / "tests" / "data" / "sample.py"),
            "--bodies",
            "1",
            "--pause-rounds",
            "1",
            "--output",
            str(output),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr
    assert "codels bench:" in result.stdout
    figures = json.loads(output.read_text())
    assert output.with_suffix(".png").stat().st_size > 1000  # the latency plot
    assert figures["replay"]["keystrokes"] > 20
    assert figures["model"]["name"] == "qwen2.5-coder-0.5b"
    codels, baseline = figures["runs"]["codels"], figures["runs"]["baseline"]
    for run in (codels, baseline):
        assert run["requests"] > 0 and run["answered"] > 0
        assert run["p50_ms"] is not None and run["p50_ms"] <= run["p95_ms"] <= run["p99_ms"]
        # Every typing request is of one kind (mid-line, new line, after accept).
        typing = [run["kinds"][kind] for kind in ("mid-line", "new line", "after accept")]
        assert sum(row["requests"] for row in typing) == run["requests"], run["kinds"]
    # The server's own counters came back over codels/stats.
    assert codels["model_runs"] + codels["typed_ahead"] + codels["cache_hits"] >= 1
    assert 0.0 <= codels["kv_reuse"] <= 1.0
    # Time outside the model and the wait for the model are told apart.
    assert codels["overhead_p50_ms"] >= 0 and "queued_p95_ms" in codels
    assert codels["peak_rss_mib"] > 100
    # One round of the reading pauses: a 2,000-line file opened, then switched back to.
    for kind in ("after opening a file", "switch back"):
        assert codels["pauses"][kind]["requests"] == 1, codels["pauses"]
        assert len(codels["pauses"][kind]["latencies_ms"]) == 1, codels["pauses"]
    if codels["shown_p50_ms"] and baseline["shown_p50_ms"]:  # (both showed something)
        assert figures["speedup_p50"] > 0
