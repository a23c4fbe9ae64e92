// The codels VS Code extension: a thin client that starts `codels --stdio`, lets
// vscode-languageclient wire inline completion, and shows what the server is doing in the
// status bar.

import { execFile, spawn } from "node:child_process";
import { constants as fsConstants, promises as fs } from "node:fs";
import * as vscode from "vscode";
import {
  DidChangeConfigurationNotification,
  type Executable,
  LanguageClient,
  type LanguageClientOptions,
  State,
  WorkDoneProgress,
  WorkDoneProgressCreateRequest,
  type WorkDoneProgressCreateParams,
} from "vscode-languageclient/node";
import { SNOOZE_MINUTES, clockTime, hasNativeSnooze, targetFor } from "./controls.ts";
import { type ServerCommand, findServer } from "./discovery.ts";
import {
  type ExplainAnswer,
  REQUEST_CANCELLED,
  escapeHtml,
  explanationPage,
  panelTitle,
} from "./explain.ts";
import { LineBuffer, lastWords, parseStep, progressIncrement } from "./pull.ts";
import {
  RESTART_SETTING_KEYS,
  SUPPORTED_LANGUAGES,
  configurationAnswer,
  documentSelector,
  serverArguments,
  serverSettings,
} from "./settings.ts";
import { type ServerView, describeStatus, phaseOf } from "./status.ts";

const SECTION = "codels";
const STATUS_REQUEST = "codels/status";
const NATIVE_SNOOZE = "editor.action.inlineSuggest.snooze";
const NATIVE_CANCEL_SNOOZE = "editor.action.inlineSuggest.cancelSnooze";

interface StatusAnswer {
  model?: string;
  name?: string | null;
  error?: string | null;
  enabled?: boolean;
  loading?: string | null;
}

interface ModelRow {
  name: string;
  default?: boolean;
  family?: string;
  description?: string;
  parameters?: string;
  quantization?: string;
  size?: number | null;
  installed?: boolean;
  verified?: boolean;
  /** The model `auto` picks on this machine (from the speed kept at the first start). */
  auto?: boolean;
}

/** The `model` setting that lets the server pick the catalogue model for the machine. */
const AUTO = "auto";

/** Everything the extension keeps between commands. */
class Codels {
  private client: LanguageClient | undefined;
  private server: ServerCommand | undefined;
  private readonly log: vscode.LogOutputChannel;
  private readonly item: vscode.StatusBarItem;
  private view: ServerView = { phase: "starting" };
  private poll: ReturnType<typeof setTimeout> | undefined;
  private notifiedMissing = false;
  private readonly context: vscode.ExtensionContext;
  /** While snoozed: when it ends (ms since the epoch), and whether VS Code snoozes itself. */
  private snoozedUntil: number | undefined;
  private snoozeNative = false;
  private snoozeTimer: ReturnType<typeof setTimeout> | undefined;
  /** The panel beside the editor that shows the last explanation (reused for the next). */
  private explanationPanel: vscode.WebviewPanel | undefined;
  /** The latest codels suggestions shown, for telling the server what a partial accept took. */
  private lastShown: { uri: string; items: vscode.InlineCompletionItem[]; at: number } | undefined;

  constructor(context: vscode.ExtensionContext) {
    this.context = context;
    this.log = vscode.window.createOutputChannel("codels", { log: true });
    this.item = vscode.window.createStatusBarItem(
      "codels.status",
      vscode.StatusBarAlignment.Right,
      100,
    );
    this.item.name = "codels";
    context.subscriptions.push(this.log, this.item);
    this.render();
    this.item.show();
  }

  // -- the server process -------------------------------------------------------------------

  async start(): Promise<void> {
    this.setView({ phase: "starting" });
    const config = vscode.workspace.getConfiguration(SECTION);
    const discovery = await findServer({
      serverPath: config.get<string>("serverPath", ""),
      pathEnv: process.env.PATH ?? "",
      platform: process.platform,
      isExecutable,
      pythonInterpreter: () => pythonInterpreter(this.log),
      answersVersion: (command, args) => answersVersion(command, args),
    });
    if (discovery.found === undefined) {
      for (const line of discovery.tried) {
        this.log.appendLine(`[codels] ${line}`);
      }
      this.setView({ phase: "error", error: "the codels server is not installed" });
      void this.notifyMissing(discovery.tried);
      return;
    }
    this.server = discovery.found;
    const args = [...discovery.found.args, ...serverArguments(config.get("serverArgs"))];
    this.log.appendLine(
      `[codels] starting ${discovery.found.command} ${args.join(" ")} (found by ${discovery.found.source})`,
    );
    const executable: Executable = { command: discovery.found.command, args };
    const read = (key: string): unknown => this.readSetting(key);
    const clientOptions: LanguageClientOptions = {
      documentSelector: documentSelector(),
      outputChannel: this.log,
      initializationOptions: serverSettings(read),
      middleware: {
        provideInlineCompletionItems: async (document, position, context, token, next) => {
          const started = Date.now();
          const result = await next(document, position, context, token);
          const items = Array.isArray(result) ? result : result?.items;
          if (items && items.length > 0 && !token.isCancellationRequested) {
            this.setView({ ...this.view, lastLatencyMs: Date.now() - started });
            this.lastShown = { uri: document.uri.toString(), items, at: Date.now() };
          }
          return result;
        },
        workspace: {
          configuration: (params, token, next) => {
            const answers = params.items.map((item) => configurationAnswer(item.section, read));
            if (answers.every((answer) => answer !== undefined)) {
              return answers;
            }
            return next(params, token);
          },
        },
      },
    };
    const client = new LanguageClient(
      "codels",
      "codels",
      { run: executable, debug: executable },
      clientOptions,
    );
    this.client = client;
    client.onDidChangeState((change) => {
      if (this.client !== client) {
        return; // stopped on purpose (restart, deactivation)
      }
      if (change.newState === State.Stopped) {
        this.setView({ phase: "error", error: "the server stopped (see the log)" });
      } else if (change.newState === State.Running && change.oldState !== State.Running) {
        void this.refresh(); // also after the client restarted a crashed server
      }
    });
    try {
      await client.start();
    } catch (error) {
      this.log.appendLine(`[codels] the server did not start: ${String(error)}`);
      this.setView({ phase: "error", error: `the server did not start: ${String(error)}` });
      return;
    }
    // Model loading is reported as work-done progress; show it in our own status item
    // (this replaces the client's default window progress for the server's tokens).
    client.onRequest(WorkDoneProgressCreateRequest.type, (params: WorkDoneProgressCreateParams) => {
      let loadingModel = true;
      const disposable = client.onProgress(WorkDoneProgress.type, params.token, (value) => {
        if (value.kind === "begin") {
          // Only the model's loading is a phase; an action's progress (writing, explaining) is not.
          loadingModel = value.title.includes("loading");
        }
        if (value.kind === "end") {
          disposable.dispose();
          void this.refresh();
          return;
        }
        if (!loadingModel) {
          return;
        }
        this.setView({
          ...this.view,
          phase: this.view.phase === "disabled" ? "disabled" : "loading",
          percentage: value.percentage ?? this.view.percentage,
          progressMessage: value.message ?? this.view.progressMessage,
        });
      });
    });
    await this.refresh();
    this.focused(vscode.window.activeTextEditor);
  }

  /** Tell the server which document the person now looks at, and where its cursor is, so
   * that it evaluates the prompt there ahead (`codels/didFocus`; `prefillOnOpen`). */
  focused(editor: vscode.TextEditor | undefined): void {
    const client = this.client;
    if (editor === undefined || client === undefined || !client.isRunning()) {
      return;
    }
    const document = editor.document;
    const served = documentSelector().some(
      (filter) => filter.scheme === document.uri.scheme && filter.language === document.languageId,
    );
    if (!served) {
      return;
    }
    void client
      .sendNotification("codels/didFocus", {
        textDocument: { uri: client.code2ProtocolConverter.asUri(document.uri) },
        position: client.code2ProtocolConverter.asPosition(editor.selection.active),
      })
      .catch((error: unknown) => {
        this.log.appendLine(`[codels] codels/didFocus not sent: ${String(error)}`);
      });
  }

  async stop(): Promise<void> {
    if (this.poll !== undefined) {
      clearTimeout(this.poll);
      this.poll = undefined;
    }
    const client = this.client;
    this.client = undefined;
    if (client !== undefined) {
      try {
        await client.stop(5000);
      } catch (error) {
        this.log.appendLine(`[codels] stopping the server: ${String(error)}`);
      }
    }
  }

  async restart(): Promise<void> {
    await this.stop();
    this.notifiedMissing = false;
    await this.start();
  }

  /** Ask the server where the model stands, and ask again soon while it is loading. */
  async refresh(): Promise<void> {
    if (this.poll !== undefined) {
      clearTimeout(this.poll);
      this.poll = undefined;
    }
    const client = this.client;
    if (client === undefined || !client.isRunning()) {
      return;
    }
    try {
      const status = await client.sendRequest<StatusAnswer>(STATUS_REQUEST, {});
      const phase = phaseOf(status);
      this.setView({
        ...this.view,
        phase,
        model: status.loading ?? status.name ?? undefined,
        error: status.error ?? undefined,
        ...(phase === "loading" ? {} : { percentage: undefined, progressMessage: undefined }),
      });
    } catch (error) {
      this.log.appendLine(`[codels] ${STATUS_REQUEST} failed: ${String(error)}`);
    }
    const delay = this.view.phase === "loading" || this.view.phase === "starting" ? 1000 : 15000;
    this.poll = setTimeout(() => void this.refresh(), delay);
  }

  /** Settings changed: a new process for how it starts, a notification for the rest. */
  async configurationChanged(event: vscode.ConfigurationChangeEvent): Promise<void> {
    if (!event.affectsConfiguration(SECTION)) {
      return;
    }
    if (RESTART_SETTING_KEYS.some((key) => event.affectsConfiguration(`${SECTION}.${key}`))) {
      await this.restart();
      return;
    }
    await this.sendSettings();
  }

  /** A `codels.*` setting as the server should see it: off while a timed snooze lasts. */
  private readSetting(key: string): unknown {
    if (key === "enabled" && this.snoozedUntil !== undefined && !this.snoozeNative) {
      return false;
    }
    return vscode.workspace.getConfiguration(SECTION).get(key);
  }

  private async sendSettings(): Promise<void> {
    const client = this.client;
    if (client === undefined || !client.isRunning()) {
      return;
    }
    const read = (key: string): unknown => this.readSetting(key);
    await client.sendNotification(DidChangeConfigurationNotification.type, {
      settings: { codels: serverSettings(read) },
    });
    await this.refresh();
  }

  // -- the status bar -----------------------------------------------------------------------

  private setView(view: ServerView): void {
    this.view = view;
    this.render();
  }

  private render(): void {
    const status = describeStatus(this.view);
    this.item.text = status.text;
    this.item.tooltip = status.tooltip;
    this.item.command = status.command;
    this.item.accessibilityInformation = { label: status.tooltip };
    this.item.backgroundColor = status.error
      ? new vscode.ThemeColor("statusBarItem.errorBackground")
      : undefined;
  }

  // -- commands -----------------------------------------------------------------------------

  showLog(): void {
    this.log.show(true);
  }

  /** Write `codels.enabled` where it takes effect (a workspace value would win over global). */
  async setEnabled(enabled: boolean): Promise<void> {
    const config = vscode.workspace.getConfiguration(SECTION);
    const targets = {
      workspaceFolder: vscode.ConfigurationTarget.WorkspaceFolder,
      workspace: vscode.ConfigurationTarget.Workspace,
      global: vscode.ConfigurationTarget.Global,
    };
    await config.update("enabled", enabled, targets[targetFor(config.inspect<boolean>("enabled"))]);
  }

  /** On ↔ off; a snooze ends instead, where one lasts. */
  async toggle(): Promise<void> {
    if (this.snoozedUntil !== undefined) {
      await this.cancelSnooze();
      return;
    }
    const enabled = vscode.workspace.getConfiguration(SECTION).get<boolean>("enabled", true);
    await this.setEnabled(!enabled);
  }

  /**
   * Hide suggestions for a while: VS Code's own snooze where it has one (1.102+, every inline
   * provider), else the server's `enabled` turned off until the time is up.
   */
  async snooze(minutes?: number): Promise<void> {
    if (minutes === undefined) {
      const picked = await vscode.window.showQuickPick(
        SNOOZE_MINUTES.map((value) => ({ label: `${value} minutes`, value })),
        { title: "codels: snooze suggestions for" },
      );
      if (picked === undefined) {
        return;
      }
      minutes = picked.value;
    }
    this.endSnoozeTimer();
    this.snoozeNative =
      hasNativeSnooze(vscode.version) &&
      (await vscode.commands.getCommands(true)).includes(NATIVE_SNOOZE);
    if (this.snoozeNative) {
      await vscode.commands.executeCommand(NATIVE_SNOOZE, minutes);
    }
    this.snoozedUntil = Date.now() + minutes * 60_000;
    this.snoozeTimer = setTimeout(() => void this.cancelSnooze(), minutes * 60_000);
    const how = this.snoozeNative ? "VS Code's snooze" : "server disabled";
    this.log.appendLine(`[codels] snoozed for ${minutes} min (${how})`);
    await vscode.commands.executeCommand("setContext", "codels.snoozed", true);
    this.setView({
      ...this.view,
      snoozedUntil: this.snoozedUntil,
      snoozedUntilText: clockTime(this.snoozedUntil),
    });
    await this.sendSettings();
  }

  async cancelSnooze(): Promise<void> {
    if (this.snoozedUntil === undefined) {
      return;
    }
    const native = this.snoozeNative;
    this.endSnoozeTimer();
    this.snoozedUntil = undefined;
    this.snoozeNative = false;
    if (native && (await vscode.commands.getCommands(true)).includes(NATIVE_CANCEL_SNOOZE)) {
      await vscode.commands.executeCommand(NATIVE_CANCEL_SNOOZE);
    }
    await vscode.commands.executeCommand("setContext", "codels.snoozed", false);
    this.setView({ ...this.view, snoozedUntil: undefined, snoozedUntilText: undefined });
    await this.sendSettings();
  }

  /**
   * Run VS Code's accept-next-word/line `command` and, if it took part of the codels suggestion
   * shown, tell the server (`codels.acceptedPart`): it then counts it, and continues that one.
   */
  async acceptPart(command: string): Promise<void> {
    const editor = vscode.window.activeTextEditor;
    let inserted = "";
    const listening = vscode.workspace.onDidChangeTextDocument((event) => {
      if (editor !== undefined && event.document === editor.document) {
        inserted += event.contentChanges.map((change) => change.text).join("");
      }
    });
    try {
      await vscode.commands.executeCommand(command);
    } finally {
      listening.dispose();
    }
    const shown = this.lastShown;
    if (!inserted || editor === undefined || shown === undefined) {
      return;
    }
    const recent = Date.now() - shown.at < 120_000;
    const item = shown.items[0];
    const text = typeof item?.insertText === "string" ? item.insertText : item?.insertText.value;
    const argument = item?.command?.arguments?.[0] as { id?: unknown } | undefined;
    if (!recent || shown.uri !== editor.document.uri.toString() || !text?.includes(inserted)) {
      return; // another provider's suggestion, or one codels no longer knows
    }
    if (typeof argument?.id === "string") {
      await vscode.commands.executeCommand("codels.acceptedPart", {
        id: argument.id,
        chars: [...inserted].length,
      });
    }
  }

  /**
   * Run codels's code action of `kind` at the cursor or selection, as the light bulb would:
   * ask the providers for actions of that kind, resolve codels's (the model writes it, with
   * progress) and apply its edit. Says what to do where there is none.
   */
  async runCodeAction(action: PaletteAction): Promise<void> {
    const editor = vscode.window.activeTextEditor;
    if (editor === undefined || !action.languages.includes(editor.document.languageId)) {
      const where = `codels: ${action.title} works in ${action.where}.`;
      void vscode.window.showInformationMessage(where);
      return;
    }
    const range = new vscode.Range(editor.selection.start, editor.selection.end);
    const found = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `codels: ${action.progress}` },
      () =>
        Promise.resolve(
          vscode.commands.executeCommand<(vscode.CodeAction | vscode.Command)[]>(
            "vscode.executeCodeActionProvider",
            editor.document.uri,
            range,
            action.kind,
            1, // resolve the first: codels's edit is computed then
          ),
        ),
    );
    const codeAction = (found ?? []).find(
      (candidate): candidate is vscode.CodeAction =>
        "kind" in candidate && candidate.kind?.value.startsWith(action.kind) === true,
    );
    if (codeAction === undefined) {
      void vscode.window.showInformationMessage(`codels: nothing to do here: ${action.hint}`);
      return;
    }
    if (codeAction.edit !== undefined) {
      await vscode.workspace.applyEdit(codeAction.edit);
    }
    if (codeAction.command !== undefined) {
      await vscode.commands.executeCommand(
        codeAction.command.command,
        ...(codeAction.command.arguments ?? []),
      );
    }
  }

  /**
   * "codels: Explain this function": the server's `codels/explain` for the selection, or the
   * function at the cursor, under a cancellable notification (cancelling stops the model), shown
   * in a panel beside the editor. Nothing is edited.
   */
  async explain(): Promise<void> {
    const editor = vscode.window.activeTextEditor;
    if (editor === undefined || editor.document.languageId !== "python") {
      void vscode.window.showInformationMessage(
        "codels: Explain this function works in a Python file.",
      );
      return;
    }
    const client = this.client;
    if (client === undefined || !client.isRunning()) {
      void vscode.window.showErrorMessage("codels: the server is not running; see the log.");
      return;
    }
    const document = editor.document;
    const params = {
      textDocument: { uri: client.code2ProtocolConverter.asUri(document.uri) },
      range: client.code2ProtocolConverter.asRange(editor.selection),
    };
    let answer: ExplainAnswer;
    try {
      answer = await vscode.window.withProgress(
        {
          location: vscode.ProgressLocation.Notification,
          title: "codels: explaining…",
          cancellable: true,
        },
        (_progress, token) => client.sendRequest<ExplainAnswer>("codels/explain", params, token),
      );
    } catch (error) {
      const failure = error as { code?: number; message?: string };
      if (failure.code === REQUEST_CANCELLED) {
        this.log.appendLine("[codels] explanation cancelled");
        return;
      }
      void vscode.window.showWarningMessage(failure.message ?? `codels: ${String(error)}`);
      return;
    }
    await this.showExplanation(answer, document);
  }

  /** The explanation in a webview panel beside the editor, its Markdown rendered by VS Code. */
  private async showExplanation(
    answer: ExplainAnswer,
    document: vscode.TextDocument,
  ): Promise<void> {
    let body: string;
    try {
      body = await vscode.commands.executeCommand<string>("markdown.api.render", answer.markdown);
    } catch {
      body = `<pre>${escapeHtml(answer.markdown)}</pre>`; // the Markdown extension is off
    }
    const file = vscode.workspace.asRelativePath(document.uri);
    let panel = this.explanationPanel;
    if (panel === undefined) {
      panel = vscode.window.createWebviewPanel(
        "codels.explanation",
        panelTitle(answer),
        { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
        { enableScripts: false, enableFindWidget: true },
      );
      panel.onDidDispose(() => {
        this.explanationPanel = undefined;
      });
      this.explanationPanel = panel;
    } else {
      panel.title = panelTitle(answer);
      panel.reveal(vscode.ViewColumn.Beside, true);
    }
    panel.webview.html = explanationPage(answer, body, file, panel.webview.cspSource);
  }

  /** The acceptance statistics of this machine (`codels/acceptance`), in a Markdown preview. */
  async showStatistics(): Promise<void> {
    const client = this.client;
    let text: string;
    try {
      if (client !== undefined && client.isRunning()) {
        const answer = await client.sendRequest<{ text: string }>("codels/acceptance", {});
        text = answer.text;
      } else if (this.server !== undefined) {
        text = await run(this.server.command, [...this.server.args, "stats"]);
      } else {
        throw new Error("the server is not installed");
      }
    } catch (error) {
      void vscode.window.showErrorMessage(
        `codels: could not read the statistics (${String(error)}); \`codels stats\` shows them too.`,
      );
      return;
    }
    const document = await vscode.workspace.openTextDocument({
      language: "markdown",
      content: `# codels: suggestions accepted\n\n\`\`\`text\n${text.trimEnd()}\n\`\`\`\n`,
    });
    await vscode.commands.executeCommand("markdown.showPreview", document.uri);
  }

  private endSnoozeTimer(): void {
    if (this.snoozeTimer !== undefined) {
      clearTimeout(this.snoozeTimer);
      this.snoozeTimer = undefined;
    }
  }

  async showMenu(): Promise<void> {
    const enabled = vscode.workspace.getConfiguration(SECTION).get<boolean>("enabled", true);
    const entries: (vscode.QuickPickItem & { command: string })[] = [
      enabled
        ? { label: "$(circle-slash) Disable completions", command: "codels.disable" }
        : { label: "$(check) Enable completions", command: "codels.enable" },
      this.snoozedUntil !== undefined
        ? { label: "$(bell) Cancel snooze", command: "codels.cancelSnooze" }
        : { label: "$(clock) Snooze…", command: "codels.snooze" },
      { label: "$(symbol-misc) Pick model…", command: "codels.pickModel" },
      { label: "$(graph) Show statistics", command: "codels.showStats" },
      { label: "$(debug-restart) Restart server", command: "codels.restart" },
      { label: "$(output) Show log", command: "codels.showLog" },
    ];
    const picked = await vscode.window.showQuickPick(entries, { title: "codels" });
    if (picked !== undefined) {
      await vscode.commands.executeCommand(picked.command);
    }
  }

  async pickModel(): Promise<void> {
    const server = this.server;
    if (server === undefined) {
      void vscode.window.showErrorMessage("codels: the server is not running; see the log.");
      return;
    }
    let rows: ModelRow[];
    try {
      const output = await run(server.command, [...server.args, "models", "list", "--json"]);
      rows = JSON.parse(output) as ModelRow[];
    } catch (error) {
      this.log.appendLine(`[codels] models list --json failed: ${String(error)}`);
      void vscode.window.showErrorMessage(
        "codels: could not list the models (`codels models list --json` failed); see the log.",
      );
      return;
    }
    const current = vscode.workspace.getConfiguration(SECTION).get<string>("model", AUTO) || AUTO;
    const otherFile = "$(file) Other GGUF file…";
    type ModelItem = vscode.QuickPickItem & { model: string; installed?: boolean };
    const picks = rows.find((row) => row.auto)?.name;
    const auto: ModelItem = {
      label: AUTO,
      description: "the model for this machine" + (picks ? `: ${picks} here` : ""),
      detail: "picked from a one-second measurement at the first start; `codels info` says why",
      picked: current === AUTO,
      model: AUTO,
      installed: true,
    };
    const catalogue: ModelItem[] = rows.map((row) => ({
      label: row.name + (row.default ? " (default)" : "") + (row.auto ? " (auto)" : ""),
      description: [row.parameters, row.quantization, sizeText(row.size), row.family]
        .filter(Boolean)
        .join(" · "),
      detail:
        (row.installed ? (row.verified ? "installed, verified" : "installed") : "not installed") +
        (row.description ? ` — ${row.description}` : ""),
      picked: row.name === current,
      model: row.name,
      installed: row.installed,
    }));
    const items: ModelItem[] = [auto, ...catalogue, { label: otherFile, model: "" }];
    const picked = await vscode.window.showQuickPick(items, {
      title: "codels: model",
      placeHolder: `now: ${current}`,
    });
    if (picked === undefined) {
      return;
    }
    let model = picked.model;
    if (picked.label === otherFile) {
      const files = await vscode.window.showOpenDialog({
        canSelectMany: false,
        filters: { "GGUF model": ["gguf"] },
      });
      if (files === undefined || files.length === 0) {
        return;
      }
      model = files[0].fsPath;
    } else if (picked.installed === false && !(await this.pull(server, model))) {
      return;
    }
    await vscode.workspace
      .getConfiguration(SECTION)
      .update("model", model, vscode.ConfigurationTarget.Global);
  }

  /**
   * Pull catalogue model `name` (`codels models pull NAME --json`) with its progress in a
   * notification; whether it is installed and verified now.
   */
  async pull(server: ServerCommand, name: string): Promise<boolean> {
    const args = [...server.args, "models", "pull", name, "--json"];
    this.log.appendLine(`[codels] ${server.command} ${args.join(" ")}`);
    return vscode.window.withProgress(
      {
        location: vscode.ProgressLocation.Notification,
        title: `codels: pulling ${name}`,
        cancellable: true,
      },
      (progress, token) =>
        new Promise<boolean>((resolve) => {
          const child = spawn(server.command, args, { stdio: ["ignore", "pipe", "pipe"] });
          const buffer = new LineBuffer();
          const said: string[] = [];
          let shownMessage = "";
          let shownPercent = 0;
          token.onCancellationRequested(() => child.kill());
          child.stderr.setEncoding("utf8");
          child.stderr.on("data", (chunk: string) => {
            for (const line of buffer.push(chunk)) {
              said.push(line);
              const step = parseStep(line);
              if (step === undefined) {
                this.log.appendLine(`[codels] pull: ${line}`);
                continue;
              }
              const [increment, percent] = progressIncrement(step, shownMessage, shownPercent);
              shownMessage = step.message;
              shownPercent = percent;
              progress.report({ message: `${step.message} ${percent}%`, increment });
            }
          });
          child.on("error", (error) => {
            void vscode.window.showErrorMessage(
              `codels: could not run ${server.command}: ${error.message}`,
            );
            resolve(false);
          });
          child.on("close", (code) => {
            said.push(buffer.rest());
            if (code === 0) {
              this.log.appendLine(`[codels] ${name} installed and verified`);
              resolve(true);
              return;
            }
            const why = token.isCancellationRequested
              ? "cancelled"
              : lastWords(said) || `exit code ${String(code)}`;
            this.log.appendLine(`[codels] pulling ${name} failed: ${why}`);
            void vscode.window.showErrorMessage(
              `codels: pulling ${name} failed: ${why}. The model setting is unchanged; see the log.`,
            );
            resolve(false);
          });
        }),
    );
  }

  private async notifyMissing(tried: string[]): Promise<void> {
    if (this.notifiedMissing) {
      return;
    }
    this.notifiedMissing = true;
    const instructions = "How to install";
    const settings = "Set codels.serverPath";
    const answer = await vscode.window.showErrorMessage(
      "codels: the codels language server was not found. Install it from a clone of the " +
        "codels repository with `pip install '.[default-model]'` (into a virtual environment " +
        "the Python extension uses, or any other and set codels.serverPath to its codels " +
        "executable), then run " +
        `"codels: Restart server". Looked at: ${tried.join("; ")}.`,
      instructions,
      settings,
    );
    if (answer === instructions) {
      const readme = vscode.Uri.joinPath(this.context.extensionUri, "README.md");
      await vscode.commands.executeCommand("markdown.showPreview", readme);
    } else if (answer === settings) {
      await vscode.commands.executeCommand("workbench.action.openSettings", "codels.serverPath");
    }
  }
}

function sizeText(size: number | null | undefined): string | undefined {
  if (size === undefined || size === null) {
    return undefined;
  }
  return size >= 1e9 ? `${(size / 1e9).toFixed(2)} GB` : `${Math.round(size / 1e6)} MB`;
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    const stat = await fs.stat(path);
    if (!stat.isFile()) {
      return false;
    }
    await fs.access(path, process.platform === "win32" ? fsConstants.F_OK : fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function run(command: string, args: string[], timeoutMs = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) {
          reject(new Error(`${error.message}\n${stderr}`));
        } else {
          resolve(stdout);
        }
      },
    );
  });
}

async function answersVersion(command: string, args: string[]): Promise<boolean> {
  try {
    await run(command, [...args, "--version"], 30_000);
    return true;
  } catch {
    return false;
  }
}

/** The part of the Python extension's API used here (it publishes no types on npm we use). */
interface PythonExtensionApi {
  environments?: {
    getActiveEnvironmentPath?(resource?: vscode.Uri): { path?: string } | undefined;
    resolveEnvironment?(
      environment: { path?: string },
    ): Promise<{ executable?: { uri?: vscode.Uri } } | undefined>;
  };
  settings?: {
    getExecutionDetails?(resource?: vscode.Uri): { execCommand?: string[] } | undefined;
  };
}

/** The interpreter the Python extension selected for the workspace, if it is installed. */
async function pythonInterpreter(log: vscode.OutputChannel): Promise<string | undefined> {
  const extension = vscode.extensions.getExtension("ms-python.python");
  if (extension === undefined) {
    return undefined;
  }
  try {
    const api = (extension.isActive ? extension.exports : await extension.activate()) as
      | PythonExtensionApi
      | undefined;
    const resource = vscode.workspace.workspaceFolders?.[0]?.uri;
    const environment = api?.environments?.getActiveEnvironmentPath?.(resource);
    if (environment?.path) {
      const resolved = await api?.environments?.resolveEnvironment?.(environment);
      return resolved?.executable?.uri?.fsPath ?? environment.path;
    }
    const details = api?.settings?.getExecutionDetails?.(resource);
    return details?.execCommand?.[0];
  } catch (error) {
    log.appendLine(`[codels] asking the Python extension for its interpreter: ${String(error)}`);
    return undefined;
  }
}

/** A code action the command palette and the editor's context menu run. */
interface PaletteAction {
  command: string;
  title: string;
  /** The action's kind (server/codels/actions/sites.py). */
  kind: string;
  progress: string;
  hint: string;
  /** The language ids the server offers the action in (tests: Python only). */
  languages: readonly string[];
  /** Those languages, in words, for the message elsewhere. */
  where: string;
}

const EVERY_LANGUAGE = "a file of a language codels reads";

const PALETTE_ACTIONS: PaletteAction[] = [
  {
    command: "codels.generateFunction",
    title: "Generate function",
    kind: "refactor.rewrite.codels.generate",
    progress: "writing the function…",
    hint:
      "put the cursor on a comment that describes a function, on a stub (a body of `...` " +
      "or `pass`, `todo!()`, `panic(\"TODO\")`, `throw new Error(\"not implemented\")`), or " +
      "on a TODO comment in a function.",
    languages: SUPPORTED_LANGUAGES,
    where: EVERY_LANGUAGE,
  },
  {
    command: "codels.addDocstring",
    title: "Add docstring",
    kind: "refactor.rewrite.codels.docstring",
    progress: "writing the docstring…",
    hint: "put the cursor on the header of a function without a docstring or doc comment.",
    languages: SUPPORTED_LANGUAGES,
    where: EVERY_LANGUAGE,
  },
  {
    command: "codels.writeTests",
    title: "Write tests",
    kind: "refactor.rewrite.codels.tests",
    progress: "writing the tests…",
    hint: "put the cursor on the `def` line of a function in a saved file (not a stub).",
    languages: ["python"],
    where: "a Python file",
  },
];

let codels: Codels | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const instance = new Codels(context);
  codels = instance;
  context.subscriptions.push(
    vscode.commands.registerCommand("codels.enable", () => instance.setEnabled(true)),
    vscode.commands.registerCommand("codels.disable", () => instance.setEnabled(false)),
    vscode.commands.registerCommand("codels.restart", () => instance.restart()),
    vscode.commands.registerCommand("codels.showLog", () => instance.showLog()),
    vscode.commands.registerCommand("codels.pickModel", () => instance.pickModel()),
    vscode.commands.registerCommand("codels.showMenu", () => instance.showMenu()),
    vscode.commands.registerCommand("codels.toggle", () => instance.toggle()),
    vscode.commands.registerCommand("codels.snooze", (minutes?: number) =>
      instance.snooze(typeof minutes === "number" ? minutes : undefined),
    ),
    vscode.commands.registerCommand("codels.cancelSnooze", () => instance.cancelSnooze()),
    vscode.commands.registerCommand("codels.showStats", () => instance.showStatistics()),
    vscode.commands.registerCommand("codels.explain", () => instance.explain()),
    ...PALETTE_ACTIONS.map((action) =>
      vscode.commands.registerCommand(action.command, () => instance.runCodeAction(action)),
    ),
    vscode.commands.registerCommand("codels.acceptNextWord", () =>
      instance.acceptPart("editor.action.inlineSuggest.acceptNextWord"),
    ),
    vscode.commands.registerCommand("codels.acceptNextLine", () =>
      instance.acceptPart("editor.action.inlineSuggest.acceptNextLine"),
    ),
    vscode.workspace.onDidChangeConfiguration((event) => instance.configurationChanged(event)),
    vscode.window.onDidChangeActiveTextEditor((editor) => instance.focused(editor)),
  );
  await instance.start();
}

export async function deactivate(): Promise<void> {
  await codels?.stop();
  codels = undefined;
}
