// The settings mapping: what of the `codels.*` configuration goes to the server, and how.
//
// Pure (no `vscode` import) so that `node --test` can check it without VS Code. The server
// reads camelCase keys, bare or under a `codels` key (server/codels/config.py); the keys it
// knows are listed here, and the unit tests check the list against package.json and against
// the server's Settings dataclass.

/** Settings the server reads (the `codels.*` keys in package.json, less the client's own). */
export const SERVER_SETTING_KEYS = [
  "enabled",
  "model",
  "threads",
  "contextSize",
  "maxTokens",
  "gpuLayers",
  "promptTokens",
  "suffixTokens",
  "timeBudgetMs",
  "showEarlyMs",
  "speculate",
  "prefillOnOpen",
  "triggerMode",
  "debounceMs",
  "invokedSuggestions",
  "keepAcceptanceStats",
  "completeInStrings",
  "completeInComments",
  "languages",
  "backend",
  "endpoint",
  "apiKeyEnv",
  "remoteModel",
  "remoteFamily",
  "requestTimeoutMs",
  "actionPrompt",
  "checkExamples",
  "actionMaxTokens",
  "ignoreFiles",
  "respectGitignore",
  "logDocumentText",
] as const;

/** The language ids codels reads (server/codels/languages/registry.py): the extension attaches
 * to these documents, and the server works in those the `codels.languages` setting names. */
export const SUPPORTED_LANGUAGES = [
  "python",
  "javascript",
  "javascriptreact",
  "typescript",
  "typescriptreact",
  "go",
  "rust",
  "java",
  "c",
  "cpp",
] as const;

/** The documents the language client sends the server: every supported language, on disk or
 * untitled (the server itself leaves out those `codels.languages` does not name, so a change
 * to that setting needs no restart). */
export function documentSelector(): { scheme: string; language: string }[] {
  return SUPPORTED_LANGUAGES.flatMap((language) => [
    { scheme: "file", language },
    { scheme: "untitled", language },
  ]);
}

/** Settings only the extension reads: how to start the server, and the LSP trace. */
export const CLIENT_SETTING_KEYS = ["serverPath", "serverArgs", "trace.server"] as const;

/** Settings whose change needs a new server process rather than a notification. */
export const RESTART_SETTING_KEYS = ["serverPath", "serverArgs"] as const;

export type ServerSettings = Record<string, unknown>;

/**
 * The server's settings from a reader of the `codels` configuration section.
 *
 * `read(key)` returns the effective value (VS Code fills in package.json defaults); keys it
 * has no value for are left out, so the server keeps its own default.
 */
export function serverSettings(read: (key: string) => unknown): ServerSettings {
  const settings: ServerSettings = {};
  for (const key of SERVER_SETTING_KEYS) {
    const value = read(key);
    if (value !== undefined && value !== null) {
      settings[key] = value;
    }
  }
  return settings;
}

/**
 * Answer a `workspace/configuration` item for the server: only the server's keys.
 *
 * `section` is what the server asked for (`codels`, `codels.maxTokens`, or something else the
 * extension does not own, answered by VS Code as usual: `undefined` here).
 */
export function configurationAnswer(
  section: string | undefined,
  read: (key: string) => unknown,
): unknown {
  if (section === "codels") {
    return serverSettings(read);
  }
  if (section !== undefined && section.startsWith("codels.")) {
    const key = section.slice("codels.".length);
    return (SERVER_SETTING_KEYS as readonly string[]).includes(key) ? read(key) : null;
  }
  return undefined;
}

/** The arguments that start the server over stdio, with the user's extra arguments. */
export function serverArguments(extra: unknown): string[] {
  const args = Array.isArray(extra) ? extra.filter((arg) => typeof arg === "string") : [];
  return args.includes("--stdio") ? args : ["--stdio", ...args];
}
