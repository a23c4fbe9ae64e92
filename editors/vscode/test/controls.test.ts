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

test("the keys: a trigger, a toggle, and acceptNextLine only while a suggestion is shown", () => {
  const manifest = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
  const bindings: { command: string; key: string; when?: string }[] =
    manifest.contributes.keybindings;
  const byCommand = new Map(bindings.map((binding) => [binding.command, binding]));
  assert.equal(byCommand.get("codels.toggle")?.key, "ctrl+alt+\\");
  // VS Code binds no key to Trigger Inline Suggestion: without this one, manual mode has none.
  const trigger = byCommand.get("editor.action.inlineSuggest.trigger");
  assert.equal(trigger?.key, "alt+\\");
  assert.match(trigger?.when ?? "", /editorTextFocus/);
  const nextLine = byCommand.get("codels.acceptNextLine");
  assert.equal(nextLine?.key, "ctrl+down");
  assert.match(nextLine?.when ?? "", /inlineSuggestionVisible/);
  const nextWord = byCommand.get("codels.acceptNextWord");
  assert.equal(nextWord?.key, "ctrl+right");
  assert.match(nextWord?.when ?? "", /inlineSuggestionVisible/);
  const commands = new Set(manifest.contributes.commands.map((c: { command: string }) => c.command));
  for (const command of ["codels.toggle", "codels.snooze", "codels.cancelSnooze"]) {
    assert.ok(commands.has(command), command);
  }
});

import { LineBuffer, lastWords, parseStep, progressIncrement } from "../src/pull.ts";

test("pull progress lines are read among other stderr lines", () => {
  const buffer = new LineBuffer();
  assert.deepEqual(buffer.push('{"message": "downloading", "fra'), []);
  const lines = buffer.push('ction": 0.25}\ncodels: warning: little memory\n{"message": "ver');
  assert.deepEqual(lines, ['{"message": "downloading", "fraction": 0.25}', "codels: warning: little memory"]);
  assert.deepEqual(parseStep(lines[0]), { message: "downloading", fraction: 0.25 });
  assert.equal(parseStep(lines[1]), undefined);
  assert.equal(parseStep("{broken"), undefined);
  assert.deepEqual(parseStep('{"message": "verifying", "fraction": null}'), {
    message: "verifying",
    fraction: null,
  });
  assert.equal(lastWords([lines[0], "codels: the hub refused: 401", '{"message": "x"}']),
    "codels: the hub refused: 401");
});

test("progress increments never go back and restart with each step", () => {
  assert.deepEqual(progressIncrement({ message: "downloading", fraction: 0.3 }, "", 0), [30, 30]);
  assert.deepEqual(progressIncrement({ message: "downloading", fraction: 0.5 }, "downloading", 30), [20, 50]);
  assert.deepEqual(progressIncrement({ message: "downloading", fraction: 0.4 }, "downloading", 50), [0, 50]);
  assert.deepEqual(progressIncrement({ message: "verifying", fraction: 0.1 }, "downloading", 100), [10, 10]);
  assert.deepEqual(progressIncrement({ message: "verifying", fraction: null }, "verifying", 10), [0, 10]);
});
