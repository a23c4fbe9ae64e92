"""The escape suite (tests/support/sandbox_escapes.py) against this machine's OS sandbox.

Every attempt runs through ``codels.sandbox.run_program``, as the examples check and the eval
run programs, and is judged from outside. As root (CI), the suite also runs as an ordinary
user, once per Linux backend, in a virtual environment that user owns (so a read-only mount,
not file permissions, is what keeps its interpreter's directory unchanged).
"""

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
import sandbox_escapes

from codels.sandbox import run_program

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def arena():
    with sandbox_escapes.arena() as place:
        yield place


@pytest.mark.parametrize("attempt", sandbox_escapes.ATTEMPTS, ids=lambda a: f"{a.group}: {a.name}")
def test_the_attempt_is_stopped(os_sandbox, arena, attempt):
    outcome = sandbox_escapes.run_attempt(
        arena, attempt, run_program, ("codels.sandbox", "run_program")
    )
    assert outcome.escaped == [], f"{attempt.name} escaped ({outcome.reason})"


def test_a_benign_program_still_passes(os_sandbox):
    program = """
import asyncio, json, math, os, subprocess, sys, tempfile, threading
with open("here.txt", "w") as file:
    file.write("written where the program runs")
assert open("here.txt").read().startswith("written")
with tempfile.NamedTemporaryFile("w+") as scratch:
    scratch.write("x" * 100_000)
threads = [threading.Thread(target=math.factorial, args=(2000,)) for _ in range(4)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
assert asyncio.run(asyncio.sleep(0, result=7)) == 7
child = subprocess.run([sys.executable, "-c", "print(6 * 7)"], capture_output=True, text=True)
assert child.stdout == "42\\n", child
print(json.dumps({"cwd": os.getcwd()}), file=sys.stderr)
"""
    result = run_program(program, tail_chars=1000)
    assert result.passed, result.output
    assert '"cwd": "/tmp"' in result.output
    assert {"user-ns", "mount-ns", "pid-ns", "net-ns", "no-caps", "rlimits"} <= set(
        result.isolation
    )


ORDINARY_USER = 65534


@pytest.fixture
def ordinary_place():
    """A directory an ordinary user may use (pytest's own are root's alone)."""
    place = Path(tempfile.mkdtemp(prefix="codels-ordinary-"))
    yield place
    shutil.rmtree(place, ignore_errors=True)


def _as_ordinary_user(tmp_path: Path, backend: str) -> list[dict]:
    """Run the suite as nobody, with an interpreter in a virtual environment nobody owns."""
    python, setpriv = Path("/usr/bin/python3"), shutil.which("setpriv")
    if os.geteuid() != 0:
        pytest.skip("the suite above already ran as an ordinary user")
    if not python.exists() or not setpriv:
        if os.environ.get("CODELS_REQUIRE_SANDBOX") == "1":
            pytest.fail("CODELS_REQUIRE_SANDBOX=1: setpriv and /usr/bin/python3 are needed")
        pytest.skip("needs setpriv and /usr/bin/python3 to run as an ordinary user")
    if backend == "bubblewrap" and not shutil.which("bwrap"):
        if os.environ.get("CODELS_REQUIRE_SANDBOX") == "1":
            pytest.fail("CODELS_REQUIRE_SANDBOX=1, but bubblewrap (bwrap) is not installed")
        pytest.skip("bubblewrap is not installed")
    home = tmp_path / "home"
    (home / ".config").mkdir(parents=True)
    (home / ".config" / "token").write_text("a credential the sandbox must not read\n")
    os.chmod(tmp_path, 0o755)
    user = ["setpriv", f"--reuid={ORDINARY_USER}", f"--regid={ORDINARY_USER}", "--clear-groups"]
    subprocess.run(["chown", "-R", f"{ORDINARY_USER}:{ORDINARY_USER}", str(tmp_path)], check=True)
    venv = tmp_path / "venv"
    subprocess.run([*user, str(python), "-m", "venv", "--without-pip", str(venv)], check=True)
    environment = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(home),
        "PYTHONPATH": f"{REPO / 'server'}:{REPO / 'tests' / 'support'}",
        "CODELS_SANDBOX": backend,
    }
    script = REPO / "tests" / "support" / "sandbox_escapes.py"
    run = subprocess.run(
        [
            *user,
            "env",
            "-i",
            *(f"{k}={v}" for k, v in environment.items()),
            str(venv / "bin" / "python"),
            str(script),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=tmp_path,
    )
    lines = run.stdout.strip().splitlines()
    assert lines, run.stderr[-3000:]
    return json.loads(lines[-1])


@pytest.mark.parametrize("backend", ["namespaces", "bubblewrap"])
def test_no_attempt_escapes_an_ordinary_users_sandbox(os_sandbox, ordinary_place, backend):
    outcomes = _as_ordinary_user(ordinary_place, backend)
    assert len(outcomes) == len(sandbox_escapes.ATTEMPTS)
    escaped = {o["name"]: o["escaped"] for o in outcomes if o["escaped"]}
    assert escaped == {}


def test_where_the_kernel_refuses_namespaces_nothing_runs(os_sandbox, ordinary_place):
    """Inside bubblewrap with --disable-userns no backend can work: the probe must see it."""
    python, setpriv, bwrap = (
        Path("/usr/bin/python3"),
        shutil.which("setpriv"),
        shutil.which("bwrap"),
    )
    if os.geteuid() != 0 or not python.exists() or not setpriv or not bwrap:
        pytest.skip("needs root, setpriv, bwrap and /usr/bin/python3")
    os.chmod(ordinary_place, 0o777)
    marker = ordinary_place / "ran"
    check = f"""
from codels.sandbox import SandboxUnavailable, run_program
try:
    run_program("open({str(marker)!r}, 'w')")
except SandboxUnavailable as error:
    print(error)
"""
    user = ["setpriv", f"--reuid={ORDINARY_USER}", f"--regid={ORDINARY_USER}", "--clear-groups"]
    jail = [bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]
    jail += [
        "--bind",
        str(ordinary_place),
        str(ordinary_place),
        "--unshare-user",
        "--disable-userns",
    ]
    result = subprocess.run(
        [
            *user,
            "env",
            "-i",
            f"PYTHONPATH={REPO / 'server'}",
            *jail,
            "--",
            str(python),
            "-c",
            check,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.stdout.startswith("no OS sandbox works on this machine"), result.stderr
    assert "namespaces: sandbox: cannot make user, mount, pid, network" in result.stdout
    assert not marker.exists()
