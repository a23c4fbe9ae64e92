// Snooze and toggle: pure decisions the extension takes (no `vscode` import, so that
// `node --test` checks them).

/** The first VS Code with `editor.action.inlineSuggest.snooze` (it takes minutes). */
export const NATIVE_SNOOZE_VERSION = [1, 102] as const;

/** Durations offered by "codels: Snooze", in minutes. */
export const SNOOZE_MINUTES = [5, 15, 30, 60] as const;

/** Whether VS Code `version` ("1.139.1") snoozes inline suggestions itself. */
export function hasNativeSnooze(version: string): boolean {
  const [major, minor] = version.split(".").map((part) => Number.parseInt(part, 10));
  if (!Number.isFinite(major) || !Number.isFinite(minor)) {
    return false;
  }
  const [wantMajor, wantMinor] = NATIVE_SNOOZE_VERSION;
  return major > wantMajor || (major === wantMajor && minor >= wantMinor);
}

/** Where a setting's effective value comes from, as `WorkspaceConfiguration.inspect` says. */
export interface Inspected<T> {
  globalValue?: T;
  workspaceValue?: T;
  workspaceFolderValue?: T;
}

export type SettingTarget = "workspaceFolder" | "workspace" | "global";

/**
 * Where to write a setting so that the new value is the one in force: the most specific level
 * that has a value (a workspace value would silently win over a global write), else global.
 */
export function targetFor<T>(inspected: Inspected<T> | undefined): SettingTarget {
  if (inspected?.workspaceFolderValue !== undefined) {
    return "workspaceFolder";
  }
  if (inspected?.workspaceValue !== undefined) {
    return "workspace";
  }
  return "global";
}

/** "14:05" for a time in milliseconds since the epoch (the machine's local time). */
export function clockTime(epochMs: number): string {
  const at = new Date(epochMs);
  const pad = (value: number): string => String(value).padStart(2, "0");
  return `${pad(at.getHours())}:${pad(at.getMinutes())}`;
}
