"""``codels sandbox check`` and ``codels sandbox run``: the verdict, the layers, and the advice."""

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def codels(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PYTHONPATH": str(REPO / "server"), **env}
    return subprocess.run(
        [sys.executable, "-m", "codels", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=environment,
    )


def test_check_names_the_backend_and_its_layers(os_sandbox):
    result = codels("sandbox", "check", "--json")
    assert result.returncode == 0, result.stderr
    facts = json.loads(result.stdout)
    assert facts["backend"] == os_sandbox.backend.name
    assert {"user-ns", "pid-ns", "net-ns", "no-caps", "rlimits"} <= set(facts["isolation"])
    assert facts["run_ms"] > 0
    assert any(entry["works"] for entry in facts["backends"])
    text = codels("sandbox", "check")
    assert text.stdout.startswith(f"sandbox: {os_sandbox.backend.name} (")


def test_run_prints_the_verdict_as_the_examples_check_would(os_sandbox, tmp_path):
    program = tmp_path / "program.py"
    program.write_text("import sys\nprint('to the caller', file=sys.stderr)\nopen('/etc/x', 'w')\n")
    result = codels("sandbox", "run", "--json", str(program))
    assert result.returncode == 1, result.stderr
    verdict = json.loads(result.stdout)
    assert verdict["passed"] is False
    assert verdict["reason"].startswith(("PermissionError", "OSError"))
    assert "to the caller" in verdict["output"]
    assert "seccomp" in verdict["isolation"] or "user-ns" in verdict["isolation"]
    program.write_text("assert sum(range(4)) == 6\n")
    passed = codels("sandbox", "run", str(program))
    assert passed.returncode == 0 and passed.stdout.startswith("passed\nisolation: ")


def test_without_a_sandbox_check_says_what_to_do_and_run_runs_nothing(tmp_path):
    check = codels("sandbox", "check", "--json", CODELS_SANDBOX="off")
    assert check.returncode == 1
    facts = json.loads(check.stdout)
    assert (
        facts["backend"] is None and facts["advice"] == "unset CODELS_SANDBOX to let codels use one"
    )
    marker = tmp_path / "ran"
    program = tmp_path / "program.py"
    program.write_text(f"open({str(marker)!r}, 'w')\n")
    result = codels("sandbox", "run", str(program), CODELS_SANDBOX="off")
    assert result.returncode == 1 and "was not run: no OS sandbox works" in result.stderr
    assert not marker.exists()
