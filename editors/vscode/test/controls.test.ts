// Unit tests of the snooze and toggle decisions (src/controls.ts) and the snoozed status text.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { clockTime, hasNativeSnooze, targetFor } from "../src/controls.ts";
import { describeStatus } from "../src/status.ts";

test("VS Code snoozes inline suggestions itself from 1.102 on", () => {
  assert.equal(hasNativeSnooze("1.91.1"), false);
  assert.equal(hasNativeSnooze("1.101.2"), false);
  assert.equal(hasNativeSnooze("1.102.0"), true);
  assert.equal(hasNativeSnooze("1.139.1"), true);
  assert.equal(hasNativeSnooze("2.0.0"), true);
  assert.equal(hasNativeSnooze("garbage"), false);
});

test("enabling writes where the value in force comes from", () => {
  assert.equal(targetFor(undefined), "global");
  assert.equal(targetFor({ globalValue: false }), "global");
  assert.equal(targetFor({ globalValue: true, workspaceValue: false }), "workspace");
  assert.equal(
    targetFor({ workspaceValue: true, workspaceFolderValue: false }),
    "workspaceFolder",
  );
});

test("a snooze shows in the status bar until when", () => {
  const until = new Date(2026, 0, 2, 9, 5).getTime();
  assert.equal(clockTime(until), "09:05");
  for (const phase of ["ready", "disabled"] as const) {
    const status = describeStatus({ phase, snoozedUntil: until, snoozedUntilText: "09:05" });
    assert.equal(status.text, "$(clock) codels");
    assert.equal(status.tooltip, "codels: snoozed until 09:05. Click for the menu.");
  }
  // An error still says so while snoozed.
  const broken = describeStatus({ phase: "error", error: "boom", snoozedUntil: until });
  assert.equal(broken.error, true);
});

test("the keys: a toggle, and acceptNextLine only while a suggestion is shown", () => {
  const manifest = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
  const bindings: { command: string; key: string; when?: string }[] =
    manifest.contributes.keybindings;
  const byCommand = new Map(bindings.map((binding) => [binding.command, binding]));
  assert.equal(byCommand.get("codels.toggle")?.key, "ctrl+alt+\\");
  const nextLine = byCommand.get("editor.action.inlineSuggest.acceptNextLine");
  assert.equal(nextLine?.key, "ctrl+down");
  assert.match(nextLine?.when ?? "", /inlineSuggestionVisible/);
  const commands = new Set(manifest.contributes.commands.map((c: { command: string }) => c.command));
  for (const command of ["codels.toggle", "codels.snooze", "codels.cancelSnooze"]) {
    assert.ok(commands.has(command), command);
  }
});
