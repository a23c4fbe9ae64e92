// Unit tests of the pure modules (settings mapping, server discovery, status text), run by
// `node --test test/` on Node 22.18+ (type stripping); tests/unit/test_vscode_extension.py runs
// them with the Node 24 of the test extra.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { findServer, type DiscoveryProbes } from "../src/discovery.ts";
import {
  CLIENT_SETTING_KEYS,
  SERVER_SETTING_KEYS,
  SUPPORTED_LANGUAGES,
  configurationAnswer,
  documentSelector,
  serverArguments,
  serverSettings,
} from "../src/settings.ts";
import { describeStatus, phaseOf } from "../src/status.ts";

const manifest = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
const properties: Record<string, { default: unknown }> =
  manifest.contributes.configuration.properties;

function defaults(): Map<string, unknown> {
  const values = new Map<string, unknown>();
  for (const [name, schema] of Object.entries(properties)) {
    values.set(name.slice("codels.".length), schema.default);
  }
  return values;
}

test("every contributed setting is either the server's or the client's", () => {
  const contributed = Object.keys(properties).map((name) => name.slice("codels.".length)).sort();
  const known = [...SERVER_SETTING_KEYS, ...CLIENT_SETTING_KEYS].sort();
  assert.deepEqual(contributed, known);
});

test("serverSettings sends the server's keys with VS Code's values, not the client's", () => {
  const values = defaults();
  values.set("maxTokens", 64);
  values.set("serverPath", "/opt/codels/bin/codels");
  const sent = serverSettings((key) => values.get(key));
  assert.equal(sent.maxTokens, 64);
  assert.equal(sent.enabled, true);
  assert.equal(sent.backend, "local");
  assert.equal(sent.contextSize, 4096);
  assert.deepEqual(Object.keys(sent).sort(), [...SERVER_SETTING_KEYS].sort());
  assert.equal("serverPath" in sent, false);
  assert.equal("trace.server" in sent, false);
});

test("serverSettings leaves out keys without a value (the server keeps its default)", () => {
  const sent = serverSettings((key) => (key === "model" ? "qwen2.5-coder-1.5b" : undefined));
  assert.deepEqual(sent, { model: "qwen2.5-coder-1.5b" });
});

test("workspace/configuration answers only what the server owns", () => {
  const values = defaults();
  const read = (key: string) => values.get(key);
  const section = configurationAnswer("codels", read) as Record<string, unknown>;
  assert.equal(section.threads, 0);
  assert.equal("serverArgs" in section, false);
  assert.equal(configurationAnswer("codels.maxTokens", read), 128);
  assert.equal(configurationAnswer("codels.serverPath", read), null);
  assert.equal(configurationAnswer("python", read), undefined);
  assert.equal(configurationAnswer(undefined, read), undefined);
});

test("serverArguments always has --stdio once", () => {
  assert.deepEqual(serverArguments([]), ["--stdio"]);
  assert.deepEqual(serverArguments(["--log-level", "debug"]), ["--stdio", "--log-level", "debug"]);
  assert.deepEqual(serverArguments(["--stdio"]), ["--stdio"]);
  assert.deepEqual(serverArguments("nonsense"), ["--stdio"]);
});

function probes(overrides: Partial<DiscoveryProbes>): DiscoveryProbes {
  return {
    serverPath: "",
    pathEnv: "/usr/local/bin:/usr/bin",
    platform: "linux",
    isExecutable: async () => false,
    pythonInterpreter: async () => undefined,
    answersVersion: async () => true,
    ...overrides,
  };
}

test("discovery: codels.serverPath first", async () => {
  const result = await findServer(
    probes({ serverPath: "/opt/codels/bin/codels", isExecutable: async () => true }),
  );
  assert.deepEqual(result.found, {
    command: "/opt/codels/bin/codels",
    args: [],
    source: "codels.serverPath",
  });
});

test("discovery: then codels on PATH", async () => {
  const result = await findServer(
    probes({ isExecutable: async (path) => path === "/usr/bin/codels" }),
  );
  assert.deepEqual(result.found, { command: "/usr/bin/codels", args: [], source: "PATH" });
});

test("discovery: a serverPath that does not run falls through and is reported", async () => {
  const result = await findServer(
    probes({
      serverPath: "/nowhere/codels",
      isExecutable: async (path) => path === "/usr/bin/codels",
      answersVersion: async (command) => command !== "/nowhere/codels",
    }),
  );
  assert.equal(result.found?.command, "/usr/bin/codels");
  assert.match(result.tried[0], /codels.serverPath "\/nowhere\/codels" does not run/);
});

test("discovery: then the Python extension's interpreter with -m codels", async () => {
  const result = await findServer(probes({ pythonInterpreter: async () => "/venv/bin/python" }));
  assert.deepEqual(result.found, {
    command: "/venv/bin/python",
    args: ["-m", "codels"],
    source: "Python extension",
  });
});

test("discovery: nothing found says what was tried", async () => {
  const result = await findServer(
    probes({ pythonInterpreter: async () => "/usr/bin/python3", answersVersion: async () => false }),
  );
  assert.equal(result.found, undefined);
  assert.deepEqual(result.tried, [
    "no codels on PATH",
    "the Python extension's interpreter /usr/bin/python3 has no codels module",
  ]);
});

test("status: loading with progress, ready with latency, disabled, error", () => {
  assert.equal(
    describeStatus({ phase: "loading", percentage: 42.4 }).text,
    "$(loading~spin) codels: loading 42%",
  );
  const ready = describeStatus({ phase: "ready", model: "qwen2.5-coder-0.5b", lastLatencyMs: 612.3 });
  assert.equal(ready.text, "$(sparkle) codels 612 ms");
  assert.match(ready.tooltip, /ready qwen2.5-coder-0.5b; last completion took 612 ms/);
  assert.equal(describeStatus({ phase: "disabled" }).text, "$(circle-slash) codels");
  const error = describeStatus({ phase: "error", error: "no model" });
  assert.equal(error.command, "codels.showLog");
  assert.equal(error.error, true);
});

test("status: the phase from codels/status", () => {
  assert.equal(phaseOf({ model: "ready", enabled: true }), "ready");
  assert.equal(phaseOf({ model: "ready", enabled: true, loading: "qwen2.5-coder-1.5b" }), "loading");
  assert.equal(phaseOf({ model: "loading", enabled: true }), "loading");
  assert.equal(phaseOf({ model: "ready", enabled: false }), "disabled");
  assert.equal(phaseOf({ model: "failed", enabled: true }), "error");
});

test("the client sends the server the documents of every supported language", () => {
  const selector = documentSelector();
  for (const language of SUPPORTED_LANGUAGES) {
    assert.ok(selector.some((s) => s.language === language && s.scheme === "file"), language);
    assert.ok(selector.some((s) => s.language === language && s.scheme === "untitled"), language);
  }
  assert.deepEqual(manifest.contributes.configuration.properties["codels.languages"].default, [
    ...SUPPORTED_LANGUAGES,
  ]);
  assert.deepEqual(
    manifest.activationEvents,
    SUPPORTED_LANGUAGES.map((language) => `onLanguage:${language}`),
  );
});
