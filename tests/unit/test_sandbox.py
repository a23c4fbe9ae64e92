"""The sandbox's decisions, without running anything: the seccomp filter, what the sandbox
shows, the probe's verdict, the advice, the launcher's records, and what callers do without one.
"""

import dataclasses
import errno
import marshal
import os
import struct
import sys

import pytest
from fake_engine import FakeEngine

import codels.sandbox
import codels.sandbox.backends as backends_module
import codels.sandbox.probe as probe_module
from codels.config import Settings
from codels.languages.python.examples import Examples, check_examples
from codels.sandbox import Limits, RunResult, SandboxError, SandboxUnavailable, run_program
from codels.sandbox.backends import (
    LINUX_REQUIRED,
    PLAIN,
    Backend,
    backends,
    elf_interpreter,
    landlock_rules,
    launcher_command,
    plan_view,
)
from codels.sandbox.launcher import _pid_in
from codels.sandbox.probe import Observations, Verdict, advice, find_isolation, judge
from codels.sandbox.runner import _outcome, _records
from codels.sandbox.seccomp import AUDIT_ARCH, DENIED, NAMESPACE_FLAGS, SYSCALLS, seccomp_filter

# -- the seccomp filter, run by a small classic-BPF interpreter --------------------------------

ALLOW, KILL = 0x7FFF0000, 0x80000000


def errno_of(number: int) -> int:
    return 0x00050000 | number


def run_bpf(program: bytes, nr: int, arch: int, args: tuple[int, ...] = ()) -> int:
    """What the filter returns for one system call (the subset of BPF the filter uses)."""
    data = struct.pack("<iIQ6Q", nr, arch, 0, *(list(args) + [0] * (6 - len(args))))
    instructions = [struct.unpack_from("<HBBI", program, at) for at in range(0, len(program), 8)]
    accumulator, pc = 0, 0
    while True:
        code, true, false, k = instructions[pc]
        if code == 0x20:  # load a word of seccomp_data
            accumulator = struct.unpack_from("<I", data, k)[0]
        elif code == 0x06:
            return k
        elif code in (0x15, 0x35, 0x45):
            taken = {
                0x15: accumulator == k,
                0x35: accumulator >= k,
                0x45: bool(accumulator & k),
            }[code]
            pc += true if taken else false
        else:
            raise AssertionError(f"unexpected BPF instruction {code:#x}")
        pc += 1


@pytest.mark.parametrize("machine", sorted(SYSCALLS))
def test_the_filter_denies_what_a_program_never_needs_and_allows_the_rest(machine: str):
    program = seccomp_filter(machine)
    assert program is not None
    arch, numbers = AUDIT_ARCH[machine], SYSCALLS[machine]
    for name in DENIED:
        assert run_bpf(program, numbers[name], arch) == errno_of(errno.EPERM), name
    assert run_bpf(program, numbers["clone3"], arch) == errno_of(errno.ENOSYS)
    thread_flags = 0x3D0F00  # what pthread_create passes: no namespace
    assert run_bpf(program, numbers["clone"], arch, (thread_flags,)) == ALLOW
    assert run_bpf(program, numbers["clone"], arch, (0x11,)) == ALLOW  # fork(): SIGCHLD
    for flag in (0x10000000, 0x00020000, 0x20000000, 0x40000000):  # user, mount, pid, net
        assert run_bpf(program, numbers["clone"], arch, (0x11 | flag,)) == errno_of(errno.EPERM)
    for harmless in (0, 1, 3, 59, 221, 231):  # read, write, close, execve and friends
        if harmless not in numbers.values():
            assert run_bpf(program, harmless, arch) == ALLOW
    assert run_bpf(program, 0, 0x40000003) == KILL  # an i386 system call, int 0x80


def test_the_x32_table_is_denied_on_x86_64():
    program = seccomp_filter("x86_64")
    assert program is not None
    assert run_bpf(program, 0x40000000 | 1, AUDIT_ARCH["x86_64"]) == errno_of(errno.EPERM)
    assert NAMESPACE_FLAGS & 0x00000100 == 0  # CLONE_VM is not a namespace flag


def test_an_unknown_architecture_gets_no_filter():
    assert seccomp_filter("riscv64") is None


# -- what the sandbox shows ------------------------------------------------------------------


def fake_machine(entries: dict[str, tuple[str, str]]):
    return lambda path: entries.get(path, ("", ""))


def test_the_view_shows_the_system_and_the_interpreter_and_never_a_home():
    machine = fake_machine(
        {
            "/usr": ("dir", ""),
            "/bin": ("link", "usr/bin"),
            "/lib": ("link", "usr/lib"),
            "/lib64": ("link", "usr/lib64"),
            "/etc": ("dir", ""),
            "/root/.pyenv/versions/3.11.7": ("dir", ""),
            "/root": ("dir", ""),
            "/home/ann": ("dir", ""),
            "/home/ann/project/.venv": ("dir", ""),
            "/usr/local/lib/python3.11": ("dir", ""),
            "/tmp": ("dir", ""),
            "/tmp/venv": ("dir", ""),
            "/": ("dir", ""),
        }
    )
    interpreter = [
        "/root/.pyenv/versions/3.11.7",
        "/home/ann/project/.venv",
        "/usr/local/lib/python3.11",  # already shown with /usr
        "/home/ann",  # a home directory itself: never
        "/root",
        "/tmp",
        "/tmp/venv",
        "/",
        "/nowhere",  # missing
    ]
    view = plan_view(interpreter, "/home/ann", machine)
    assert view.binds == (
        "/usr",
        "/etc",
        "/home/ann/project/.venv",
        "/root/.pyenv/versions/3.11.7",
        "/tmp/venv",
    )
    assert view.symlinks == (("/bin", "usr/bin"), ("/lib", "usr/lib"), ("/lib64", "usr/lib64"))


def elf(wide: bool, interpreter: bytes) -> bytes:
    """A minimal little-endian ELF executable with one PT_INTERP program header."""
    if wide:
        header = (
            b"\x7fELF\x02\x01"
            + bytes(10)
            + struct.pack("<HHIQQQIHHHHHH", 2, 62, 1, 0, 64, 0, 0, 64, 56, 1, 0, 0, 0)
        )
        start = 64 + 56
        entry = struct.pack("<IIQQQQQQ", 3, 4, start, 0, 0, len(interpreter), len(interpreter), 1)
    else:
        header = (
            b"\x7fELF\x01\x01"
            + bytes(10)
            + struct.pack("<HHIIIIIHHHHHH", 2, 3, 1, 0, 52, 0, 0, 52, 32, 1, 0, 0, 0)
        )
        start = 52 + 32
        entry = struct.pack("<IIIIIIII", 3, start, 0, 0, len(interpreter), len(interpreter), 4, 1)
    return header + entry + interpreter


@pytest.mark.parametrize("wide", [True, False])
def test_the_loader_an_elf_executable_names_is_read(tmp_path, wide: bool):
    path = tmp_path / "program"
    path.write_bytes(elf(wide, b"/lib/ld-test.so.1\0"))
    assert elf_interpreter(str(path)) == "/lib/ld-test.so.1"


def test_a_file_that_is_not_elf_names_no_loader(tmp_path):
    script = tmp_path / "script"
    script.write_text("#!/bin/sh\n")
    assert elf_interpreter(str(script)) is None
    assert elf_interpreter(str(tmp_path / "missing")) is None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux executables")
def test_this_interpreters_loader_exists():
    loader = elf_interpreter(os.path.realpath(sys.executable))
    assert loader is not None and os.path.exists(loader)


def test_landlock_lets_only_the_interpreter_execute():
    rules = dict((path, rights) for path, rights in landlock_rules(["/py/bin/python3", "/ld.so"]))
    assert "execute" not in rules["/"] and {"read_file", "read_dir"} <= set(rules["/"])
    assert "execute" in rules["/py/bin/python3"] and "execute" in rules["/ld.so"]
    assert "write_file" in rules["/tmp"] and "make_reg" in rules["/tmp"]
    assert "write_file" in rules["/dev/null"] and "make_reg" not in rules["/dev/null"]
    assert "execute" in dict(landlock_rules([]))["/"]  # no loader known: no exec rule at all


def test_every_launcher_argument_fits_the_kernels_limit():
    for backend in (
        Backend("namespaces", LINUX_REQUIRED),
        Backend("bubblewrap", (), bwrap="bwrap"),
    ):
        config = backend.config(Limits()) | {"fds": [3, 4]}
        for argument in [*launcher_command(sys.executable), marshal.dumps(config).hex()]:
            assert len(argument.encode()) < 128 * 1024  # MAX_ARG_STRLEN


def test_bubblewrap_gets_a_size_limited_tmp_and_no_nested_user_namespaces():
    backend = Backend("bubblewrap", LINUX_REQUIRED, bwrap="/usr/bin/bwrap", bwrap_version=(0, 8, 0))
    command = backend.config(Limits(tmp_bytes=1234))["command"]
    assert command[:2] == ["/usr/bin/bwrap", "--unshare-user"]
    assert "--disable-userns" in command and "--die-with-parent" in command
    at = command.index("--tmpfs")
    assert command[at - 2 : at + 2] == ["--size", "1234", "--tmpfs", "/tmp"]
    assert "--bind" not in command  # everything the machine shows, read-only
    old = dataclasses.replace(backend, bwrap_version=(0, 7, 0))
    assert "--disable-userns" not in old.config(Limits())["command"]


def test_limits_give_the_cpu_a_second_beyond_the_wall_clock():
    assert Limits(timeout=5.0).launcher()["cpu_seconds"] == 6
    assert Limits(timeout=0.2).launcher()["cpu_seconds"] == 1


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux backends")
def test_which_backends_are_ruled_out_before_trying(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(backends_module.shutil, "which", lambda name: None)
    names = {backend.name: backend.problem for backend in backends()}
    assert names["namespaces"] == ""
    assert "not installed" in names["bubblewrap"]
    monkeypatch.setattr(backends_module.shutil, "which", lambda name: "/usr/bin/bwrap")
    monkeypatch.setattr(backends_module, "_bwrap_version", lambda command: (0, 6, 1))
    assert "older than 0.7" in backends()[1].problem
    monkeypatch.setattr(backends_module, "_bwrap_version", lambda command: (0, 8, 0))
    monkeypatch.setattr(backends_module.os, "geteuid", lambda: 0)
    assert "root" in backends()[1].problem
    monkeypatch.setattr(backends_module.os, "geteuid", lambda: 1000)
    assert backends()[1].problem == ""


# -- the probe's verdict and the advice ---------------------------------------------------------

BACKEND = Backend("namespaces", LINUX_REQUIRED)


def test_a_backend_is_trusted_only_when_nothing_escaped_and_every_layer_took_effect():
    clean = Observations(ran=True)
    assert judge(BACKEND, (*LINUX_REQUIRED, "seccomp"), clean) == ""
    assert judge(BACKEND, LINUX_REQUIRED, Observations()) == "the probe program did not run"
    for field in ("wrote_outside", "read_secret", "wrote_interpreter", "connected", "signalled"):
        problem = judge(BACKEND, LINUX_REQUIRED, dataclasses.replace(clean, **{field: True}))
        assert problem.startswith("the probe program "), field
    missing = tuple(layer for layer in LINUX_REQUIRED if layer != "pid-ns")
    assert judge(BACKEND, missing, clean) == "these layers did not take effect: pid-ns"


def test_the_probe_rejects_a_backend_that_does_not_confine(tmp_path):
    verdict = probe_module.probe(PLAIN, visible=tmp_path)
    assert not verdict.works
    for escape in (
        "wrote a file outside its directory",
        "read a file of the caller's",
        "wrote into the interpreter's directory",
        "connected to a listener of the caller's",
        "could signal the caller",
    ):
        assert escape in verdict.problem
    assert list(tmp_path.iterdir()) == []  # what it wrote was taken away


def test_the_advice_names_what_to_install_or_enable(monkeypatch: pytest.MonkeyPatch):
    files: dict[str, str] = {}
    monkeypatch.setattr(probe_module, "_read", lambda path: files.get(path, ""))
    assert "bubblewrap" in advice("auto", [], "linux")
    files["/proc/sys/kernel/apparmor_restrict_unprivileged_userns"] = "1"
    assert "sudo apt install bubblewrap" in advice("auto", [], "linux")
    files.clear()
    files["/proc/sys/kernel/unprivileged_userns_clone"] = "0"
    assert "kernel.unprivileged_userns_clone=1" in advice("auto", [], "linux")
    files.clear()
    files["/proc/sys/user/max_user_namespaces"] = "0"
    assert "user.max_user_namespaces" in advice("auto", [], "linux")
    assert advice("off", []) == "unset CODELS_SANDBOX to let codels use one"
    assert "no sandbox for win32" in advice("auto", [], "win32")
    assert "sandbox-exec" in advice("auto", [], "darwin")


def fake_backends(monkeypatch: pytest.MonkeyPatch, works: set[str]) -> list[Backend]:
    candidates = [Backend(name, ()) for name in ("namespaces", "bubblewrap")]
    monkeypatch.setattr(
        probe_module,
        "probe",
        lambda backend: Verdict(
            backend.name, backend.name in works, ("x",), "" if backend.name in works else "broken"
        ),
    )
    return candidates


def test_the_first_backend_that_works_is_used(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("CODELS_SANDBOX", raising=False)
    candidates = fake_backends(monkeypatch, {"bubblewrap"})
    found = find_isolation(candidates)
    assert found.backend is not None and found.backend.name == "bubblewrap"
    assert [v.backend for v in found.verdicts] == ["namespaces", "bubblewrap"]


def test_a_backend_named_in_codels_sandbox_is_not_replaced_by_another(
    monkeypatch: pytest.MonkeyPatch,
):
    candidates = fake_backends(monkeypatch, {"bubblewrap"})
    monkeypatch.setenv("CODELS_SANDBOX", "namespaces")
    found = find_isolation(candidates)
    assert found.backend is None and found.problem == "namespaces: broken"
    monkeypatch.setenv("CODELS_SANDBOX", "chroot")
    assert "names no backend" in find_isolation(candidates).problem
    monkeypatch.setenv("CODELS_SANDBOX", "off")
    off = find_isolation(candidates)
    assert off.backend is None and "CODELS_SANDBOX=off" in off.message()


# -- the launcher's records and how a run ended -------------------------------------------------


def record(**items) -> bytes:
    data = marshal.dumps(items)
    return len(data).to_bytes(4, "little") + data


def test_records_are_read_back_until_a_torn_one():
    import io

    data = record(ready=True, layers=["a"]) + record(status="exit", code=0) + b"\x05\x00"
    assert _records(io.BytesIO(data)) == [
        {"ready": True, "layers": ["a"]},
        {"status": "exit", "code": 0},
    ]


def test_how_a_run_ended():
    ready = {"ready": True, "layers": ["user-ns"]}
    passed = _outcome([ready, {"status": "exit", "code": 0}], "", 0.1, 0)
    assert passed == RunResult(True, "passed", 0.1, "", ("user-ns",))
    failed = _outcome([ready, {"status": "exit", "code": 1}], "x\nValueError: no\n", 0.1, 5)
    assert (failed.passed, failed.reason, failed.output) == (False, "ValueError: no", ": no\n")
    assert _outcome([ready, {"status": "timeout"}], "", 2.0, 0).reason == "timeout"
    killed = _outcome([ready, {"status": "signal", "signal": 9}], "", 1.0, 0)
    assert killed.reason.startswith("stopped by killed")
    with pytest.raises(SandboxError, match="unshare: Operation not permitted"):
        _outcome([{"error": "sandbox: unshare: Operation not permitted"}], "", 0.0, 0)
    with pytest.raises(SandboxError, match="starting /x"):
        _outcome([ready, {"error": "starting /x: gone"}, {"status": "exit", "code": 127}], "", 0, 0)


def test_the_pid_of_pid_1_is_read_from_either_channel():
    assert _pid_in((1234).to_bytes(4, "little"), text=False) == 1234
    assert _pid_in(b"\x01\x02", text=False) == 0
    assert _pid_in(b'{ "child-pid": 4321, "cgroup-namespace": 1 }', text=True) == 4321
    assert _pid_in(b'{ "child-pid": 43', text=True) == 0  # not all of it has come yet


# -- without a sandbox ------------------------------------------------------------------------


def test_nothing_runs_without_a_sandbox_unless_the_caller_says_unsafe(no_sandbox):
    with pytest.raises(SandboxUnavailable, match="CODELS_SANDBOX=off"):
        run_program("open('ran', 'w')")
    result = run_program("import sys; sys.exit(0)", unsafe=True)
    assert result.passed and result.isolation == ("rlimits",)


def test_the_examples_check_says_it_did_not_run_without_a_sandbox(no_sandbox):
    result = check_examples(
        "def f():\n    '''>>> f()\n    1\n    '''\n    return 1\n", "f", Examples(1)
    )
    assert result.no_sandbox and not result.ran and not result.failing
    assert "CODELS_SANDBOX=off" in result.problem
    assert result.summary().startswith("the docstring's examples were not run")


def test_the_examples_check_and_the_eval_go_through_the_same_sandbox(monkeypatch):
    from codels.tools.eval_report import Attempt
    from codels.tools.evaluation import EvalTask, Evaluator

    programs: list[str] = []

    def recorder(backend, program, limits, tail_chars=0):
        programs.append(program)
        return RunResult(True, "passed", 0.0, "", ("recorded",))

    monkeypatch.setattr(codels.sandbox, "run_with", recorder)
    monkeypatch.setattr(
        codels.sandbox, "isolation", lambda: probe_module.Isolation(BACKEND, ("recorded",))
    )
    check_examples("def f():\n    return 1\n", "f", Examples(1))
    task = EvalTask("t", "def f():\n    ", "\n", "return 1", "def check(f):\n    f()\n", "f")
    evaluator = Evaluator(FakeEngine(lambda request: ""), Settings())
    evaluator.score(task, Attempt("return 1", 0.0))
    assert len(programs) == 2
    assert "_codels_examples" in programs[0] and "check(f)" in programs[1]
