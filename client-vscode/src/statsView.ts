/** The HTML of the "ailoop stats" webview: the command's output, escaped, as preformatted text. Pure. */

/** Escape text for HTML element content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

/** A complete HTML page (no scripts, strict CSP) showing `output` of `commandLine` at `when`; the page is as
 *  wide as the widest line and scrolls sideways, so no column is cut off. */
export function renderStatsHtml(output: string, commandLine: string, when: Date): string {
  const body = output.trim() === '' ? '(no events recorded yet)' : output.replace(/\s+$/, '');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline';">
<title>ailoop stats</title>
<style>
  html { overflow: auto; }
  body { font-family: var(--vscode-font-family); color: var(--vscode-foreground); padding: 0 1em; width: max-content; min-width: calc(100% - 2em); }
  pre { font-family: var(--vscode-editor-font-family); font-size: var(--vscode-editor-font-size); white-space: pre; }
  .meta { color: var(--vscode-descriptionForeground); }
</style>
</head>
<body>
<h2>ailoop stats</h2>
<p class="meta"><code>${escapeHtml(commandLine)}</code> at ${escapeHtml(when.toISOString())}</p>
<pre>${escapeHtml(body)}</pre>
</body>
</html>
`;
}

/** The strict policy a page gets when it has none of its own: no scripts, nothing loaded. */
export const FALLBACK_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'none'";

/**
 * The report page (`ailoop report`) as the webview shows it: as it is when it declares its
 * own Content-Security-Policy (it does: no script, one hashed style), else with
 * {@link FALLBACK_CSP} put first in its head.
 */
export function reportForWebview(html: string): string {
  if (/<meta\s[^>]*http-equiv=["']?Content-Security-Policy/i.test(html)) return html;
  const meta = `<meta http-equiv="Content-Security-Policy" content="${FALLBACK_CSP}">`;
  const head = /<head[^>]*>/i.exec(html);
  if (head !== null) return html.slice(0, head.index + head[0].length) + meta + html.slice(head.index + head[0].length);
  return `<!DOCTYPE html><html><head>${meta}</head><body>${html}</body></html>`;
}
