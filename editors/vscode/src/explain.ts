// "codels: Explain this function": the server's answer to `codels/explain`, and the page the
// webview panel shows it in. Pure (no `vscode` import), so that `node --test` checks it.

/** What the server answers to `codels/explain` (server/codels/lsp/handlers/explain.py). */
export interface ExplainAnswer {
  markdown: string;
  title: string;
  subject?: string;
  name?: string;
  range?: { start: { line: number; character: number }; end: { line: number; character: number } };
  model?: string | null;
  generatedTokens?: number;
  totalMs?: number;
  truncated?: boolean;
}

/** The LSP error code of a request the client cancelled. */
export const REQUEST_CANCELLED = -32800;

export function escapeHtml(text: string): string {
  return text
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&#39;");
}

/** The small print under an explanation: the model, how long it took, whether it was cut. */
export function explanationFacts(answer: ExplainAnswer, file: string): string {
  const facts = [file];
  if (answer.range !== undefined) {
    const first = answer.range.start.line + 1;
    const last = answer.range.end.line + 1;
    facts.push(first === last ? `line ${first}` : `lines ${first}–${last}`);
  }
  if (answer.model) {
    facts.push(answer.model);
  }
  if (typeof answer.totalMs === "number") {
    facts.push(`${(answer.totalMs / 1000).toFixed(1)} s`);
  }
  if (answer.truncated) {
    facts.push("cut short");
  }
  return facts.join(" · ");
}

/** The panel's title: "codels: area" or "codels: selection". */
export function panelTitle(answer: ExplainAnswer): string {
  return `codels: ${answer.name ? answer.name : "selection"}`;
}

/** The page's heading: the function's name in code type, or the server's title. */
function heading(answer: ExplainAnswer): string {
  return answer.name
    ? `Explanation of <code>${escapeHtml(answer.name)}</code>`
    : escapeHtml(answer.title);
}

/**
 * The whole page: `bodyHtml` is the explanation already rendered from Markdown (VS Code's
 * `markdown.api.render`, which sanitizes it); no script may run, styles come from the theme.
 */
export function explanationPage(
  answer: ExplainAnswer,
  bodyHtml: string,
  file: string,
  cspSource: string,
): string {
  const csp = [
    "default-src 'none'",
    `style-src ${cspSource} 'unsafe-inline'`,
    `img-src ${cspSource} https: data:`,
  ].join("; ");
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>${escapeHtml(answer.title)}</title>
<style>
  body { font-family: var(--vscode-font-family); font-size: var(--vscode-font-size);
         color: var(--vscode-foreground); padding: 0 1em; line-height: 1.5; }
  code { font-family: var(--vscode-editor-font-family); }
  .facts { color: var(--vscode-descriptionForeground); font-size: 0.9em; margin-top: 1.5em; }
</style>
</head>
<body>
<h2 class="codels-explanation-title">${heading(answer)}</h2>
<div class="codels-explanation">${bodyHtml}</div>
<p class="facts">${escapeHtml(explanationFacts(answer, file))}.
Written by the local model, which can be wrong; nothing was changed in the file.</p>
</body>
</html>`;
}
