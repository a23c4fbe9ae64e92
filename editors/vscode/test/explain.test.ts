// Unit tests of the Explain panel's page (src/explain.ts).
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  type ExplainAnswer,
  escapeHtml,
  explanationFacts,
  explanationPage,
  panelTitle,
} from "../src/explain.ts";

const ANSWER: ExplainAnswer = {
  markdown: "It returns the area.",
  title: "Explanation of `area`",
  name: "area",
  range: { start: { line: 8, character: 4 }, end: { line: 11, character: 40 } },
  model: "qwen2.5-coder-0.5b",
  totalMs: 4321,
  truncated: false,
};

test("the facts say where, which model and how long", () => {
  assert.equal(
    explanationFacts(ANSWER, "shapes.py"),
    "shapes.py · lines 9–12 · qwen2.5-coder-0.5b · 4.3 s",
  );
  const cut = { ...ANSWER, truncated: true, range: undefined, model: null, totalMs: undefined };
  assert.equal(explanationFacts(cut, "shapes.py"), "shapes.py · cut short");
});

test("the panel is titled by the function, or the selection", () => {
  assert.equal(panelTitle(ANSWER), "codels: area");
  assert.equal(panelTitle({ ...ANSWER, name: "" }), "codels: selection");
});

test("the page runs no script and escapes what is not rendered Markdown", () => {
  const page = explanationPage(
    { ...ANSWER, name: "<script>x</script>", title: "Explanation of `<script>x</script>`" },
    "<p>It returns the area.</p>",
    "a&b.py",
    "vscode-resource:",
  );
  assert.match(page, /content="default-src 'none'; style-src vscode-resource: 'unsafe-inline'/);
  assert.doesNotMatch(page, /script-src/);
  assert.doesNotMatch(page, /<script>x/);
  assert.match(page, /<h2[^>]*>Explanation of <code>&lt;script&gt;x&lt;\/script&gt;<\/code><\/h2>/);
  assert.match(page, /<div class="codels-explanation"><p>It returns the area.<\/p><\/div>/);
  assert.match(page, /a&amp;b.py · lines 9–12/);
  assert.match(page, /nothing was changed in the file/);
  assert.equal(
    escapeHtml(`<a href="x">'&'</a>`),
    "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;",
  );
});
