"""The ``codels`` command as a user runs it, with the real default model."""

import json
import socket
import subprocess
import time
from pathlib import Path

from conftest import REPO, codels_command

from codels.languages.syntax import count_syntax_errors, new_parser

SAMPLE = REPO / "tests" / "data" / "sample.py"


def run(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [codels_command(), *args], capture_output=True, text=True, timeout=timeout, cwd=REPO
    )


def test_complete_prints_a_completion_that_parses():
    result = run("complete", f"{SAMPLE}:15:5", "--json")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["model"] == "qwen2.5-coder-0.5b"
    assert answer["completion"].strip()
    assert answer["timings"]["prompt_tokens"] > 0 and answer["timings"]["generated_tokens"] > 0
    lines = SAMPLE.read_text().split("\n")
    lines[14] = lines[14][:4] + answer["completion"]
    tree = new_parser("python").parse("\n".join(lines).encode())
    assert count_syntax_errors(tree.root_node) == 0


def test_complete_plain_output_is_the_completion():
    result = run("complete", f"{SAMPLE}:15:5")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()


def test_complete_errors_are_one_sentence_with_a_nonzero_exit():
    missing = run("complete", "no/such/file.py:1:1")
    assert missing.returncode == 2 and "cannot read no/such/file.py" in missing.stderr
    assert "Traceback" not in missing.stderr
    bad = run("complete", "tests/data/sample.py:one:1")
    assert bad.returncode == 2 and "is not PATH:LINE:COL" in bad.stderr
    past = run("complete", f"{SAMPLE}:999:1")
    assert past.returncode == 2 and "line 999 does not exist" in past.stderr
    model = run("complete", f"{SAMPLE}:15:5", "--model", "/nonexistent/model.gguf")
    assert model.returncode == 1 and "does not exist" in model.stderr
    assert "Traceback" not in model.stderr


def test_info_reports_the_verified_default_model():
    result = run("info", "--json")
    assert result.returncode == 0, result.stderr
    facts = json.loads(result.stdout)
    assert facts["model"] == "qwen2.5-coder-0.5b"
    assert facts["verified"] is True
    assert facts["sha256"].startswith("1d9614638d18")
    assert facts["family"] == "qwen2.5-coder" and facts["infilling"] is True
    assert facts["build"] == "CPU" or facts["build"].startswith("GPU")
    assert facts["threads"] >= 1
    sandbox = facts["sandbox"]  # the isolation generated code runs in, or what to do for one
    if sandbox["backend"]:
        assert "rlimits" in sandbox["isolation"] and sandbox["problem"] is None
    else:
        assert sandbox["problem"] and sandbox["advice"]


def test_version_and_help():
    assert run("--version").stdout.startswith("codels ")
    bare = run()
    assert bare.returncode == 2 and "--stdio" in bare.stderr


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_tcp_mode_answers_initialize():
    port = _free_port()
    server = subprocess.Popen(
        [codels_command(), "--tcp", "--host", "127.0.0.1", "--port", str(port)],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                connection = socket.create_connection(("127.0.0.1", port), timeout=30)
                break
            except OSError:
                assert time.monotonic() < deadline, "codels --tcp did not listen"
                time.sleep(0.2)
        with connection:
            body = json.dumps(
                {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}}}
            ).encode()
            connection.sendall(b"Content-Length: %d\r\n\r\n" % len(body) + body)
            received = b""
            while b'"id": 1' not in received and b'"id":1' not in received:
                chunk = connection.recv(65536)
                assert chunk, "connection closed before the initialize result"
                received += chunk
        answer = json.loads(received.split(b"\r\n\r\n", 1)[1])
        assert answer["result"]["serverInfo"]["name"] == "codels"
        assert "inlineCompletionProvider" in answer["result"]["capabilities"]
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_cli_generate_prints_the_edited_function_and_the_workspace_edit(tmp_path: Path):
    source = tmp_path / "geometry.py"
    source.write_text(
        "def circle_area(radius: float) -> float:\n"
        '    """Return the area of a circle with the given radius."""\n'
        "    ...\n\n\nprint(circle_area(2.0))\n"
    )
    command = [codels_command(), "generate", f"{source}:1"]
    plain = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert plain.returncode == 0, plain.stderr
    assert plain.stdout.startswith("def circle_area(radius: float) -> float:\n")
    assert count_syntax_errors(new_parser("python").parse(plain.stdout.encode()).root_node) == 0
    as_json = subprocess.run([*command, "--json"], capture_output=True, text=True, timeout=600)
    assert as_json.returncode == 0, as_json.stderr
    answer = json.loads(as_json.stdout)
    assert answer["action"] == "codels.generateFunction"
    (change,) = answer["edit"]["documentChanges"]
    assert change["textDocument"]["uri"] == source.resolve().as_uri()
    assert change["edits"][0]["newText"].strip()
    missing = subprocess.run(
        [codels_command(), "generate", f"{source}:6"], capture_output=True, text=True, timeout=60
    )
    assert missing.returncode == 2 and "not offered" in missing.stderr
    assert missing.stderr.strip().count("\n") == 0  # one sentence
