// What the status bar item says: a pure function of the extension's view of the server.

/** The server's state as the extension sees it. */
export type ServerPhase = "starting" | "loading" | "ready" | "disabled" | "error";

export interface ServerView {
  phase: ServerPhase;
  /** The model being loaded or serving (from `codels/status`). */
  model?: string;
  /** Loading progress, 0-100, when the server reports a percentage. */
  percentage?: number;
  /** The latest progress message ("downloading", "verifying", ...). */
  progressMessage?: string;
  /** Milliseconds from request to answer of the last completion that offered text. */
  lastLatencyMs?: number;
  /** Why the phase is "error" (one sentence from the server or the extension). */
  error?: string;
  /** While snoozed: when it ends, in milliseconds since the epoch, and how it reads ("14:05"). */
  snoozedUntil?: number;
  snoozedUntilText?: string;
}

export interface StatusText {
  text: string;
  tooltip: string;
  /** Command run on click: the log for errors, the menu otherwise. */
  command: "codels.showLog" | "codels.showMenu";
  error: boolean;
}

/** The status bar item's text, tooltip and click command for a view of the server. */
export function describeStatus(view: ServerView): StatusText {
  const model = view.model ? ` ${view.model}` : "";
  if (view.snoozedUntil !== undefined && (view.phase === "ready" || view.phase === "disabled")) {
    return {
      text: "$(clock) codels",
      tooltip: `codels: snoozed until ${view.snoozedUntilText ?? "later"}. Click for the menu.`,
      command: "codels.showMenu",
      error: false,
    };
  }
  switch (view.phase) {
    case "starting":
      return {
        text: "$(loading~spin) codels",
        tooltip: "codels: starting the server",
        command: "codels.showMenu",
        error: false,
      };
    case "loading": {
      const percent = view.percentage !== undefined ? ` ${Math.round(view.percentage)}%` : "";
      const detail = view.progressMessage ? ` (${view.progressMessage})` : "";
      return {
        text: `$(loading~spin) codels: loading${percent}`,
        tooltip: `codels: loading the model${model}${detail}`,
        command: "codels.showMenu",
        error: false,
      };
    }
    case "ready": {
      const latency = view.lastLatencyMs !== undefined ? ` ${Math.round(view.lastLatencyMs)} ms` : "";
      const last =
        view.lastLatencyMs !== undefined
          ? `last completion took ${Math.round(view.lastLatencyMs)} ms`
          : "no completion yet";
      return {
        text: `$(sparkle) codels${latency}`,
        tooltip: `codels: ready${model}; ${last}. Click for the menu.`,
        command: "codels.showMenu",
        error: false,
      };
    }
    case "disabled":
      return {
        text: "$(circle-slash) codels",
        tooltip: "codels: completions are disabled. Click for the menu.",
        command: "codels.showMenu",
        error: false,
      };
    case "error":
      return {
        text: "$(error) codels",
        tooltip: `codels: ${view.error ?? "error"}. Click to show the log.`,
        command: "codels.showLog",
        error: true,
      };
  }
}

/** The phase from a `codels/status` answer (see server/codels/lsp/handlers/status.py). */
export function phaseOf(status: {
  model?: string;
  enabled?: boolean;
  loading?: string | null;
}): ServerPhase {
  if (status.model === "failed") {
    return "error";
  }
  if (status.enabled === false) {
    return "disabled";
  }
  if (status.model === "loading" || status.model === "not loaded" || status.loading) {
    return "loading";
  }
  return "ready";
}
