// Pulling a model with `codels models pull NAME --json`: its stderr carries one JSON object per
// line ({"message", "fraction"}), among other lines (warnings, the error of a failure).
// Pure (no `vscode` import), for `node --test`.

export interface PullStep {
  message: string;
  /** 0-1, or null for a step without a measure of progress. */
  fraction: number | null;
}

/** Splits a stream of stderr chunks into lines, the last unfinished one kept for the next. */
export class LineBuffer {
  private pending = "";

  push(chunk: string): string[] {
    this.pending += chunk;
    const lines = this.pending.split("\n");
    this.pending = lines.pop() ?? "";
    return lines;
  }

  rest(): string {
    return this.pending;
  }
}

/** The progress step a stderr line reports, or undefined for any other line. */
export function parseStep(line: string): PullStep | undefined {
  if (!line.trimStart().startsWith("{")) {
    return undefined;
  }
  try {
    const value = JSON.parse(line) as Record<string, unknown>;
    if (typeof value.message !== "string") {
      return undefined;
    }
    const fraction = typeof value.fraction === "number" ? value.fraction : null;
    return { message: value.message, fraction };
  } catch {
    return undefined;
  }
}

/** The last stderr line that is not a progress step: what the command said when it failed. */
export function lastWords(lines: string[]): string {
  for (let index = lines.length - 1; index >= 0; index -= 1) {
    const line = lines[index].trim();
    if (line && parseStep(line) === undefined) {
      return line;
    }
  }
  return "";
}

/**
 * The increment (in percent) to report for `step`, given the percentage shown so far for the
 * same message; a new message starts again from 0. Returns [increment, new percentage].
 */
export function progressIncrement(
  step: PullStep,
  shownMessage: string,
  shownPercent: number,
): [number, number] {
  const base = step.message === shownMessage ? shownPercent : 0;
  if (step.fraction === null) {
    return [0, base];
  }
  const percent = Math.max(base, Math.min(100, Math.round(step.fraction * 100)));
  return [percent - base, percent];
}
