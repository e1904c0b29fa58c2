// HTML shell of the webviews: strict CSP, nonce on every script, no remote content.
// No `vscode` import: the caller passes webview.asWebviewUri(...) strings and webview.cspSource.
import { randomBytes } from 'node:crypto';

export interface WebviewHtmlOptions {
  /** webview URI of the bundled script (dist/webview/panel.js or heatmap.js) */
  scriptUri: string;
  /** webview URI of the stylesheet (media/webview.css) */
  styleUri: string;
  /** webview.cspSource */
  cspSource: string;
  /** from makeNonce() — a fresh one per render */
  nonce: string;
  title: string;
  /** extra class(es) on <body>, e.g. 'panel' or 'heatmap' */
  bodyClass?: string;
}

/** 32 random bytes as base64url: a nonce for the CSP. */
export function makeNonce(): string {
  return randomBytes(32).toString('base64url');
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

export function buildCsp(cspSource: string, nonce: string): string {
  return (
    `default-src 'none'; img-src ${cspSource} data: blob:; style-src ${cspSource} 'nonce-${nonce}'; ` +
    `script-src 'nonce-${nonce}'; font-src ${cspSource};`
  );
}

export function buildWebviewHtml(o: WebviewHtmlOptions): string {
  if (!/^[A-Za-z0-9+/_=-]{16,}$/.test(o.nonce)) throw new Error('buildWebviewHtml: the nonce must be at least 16 base64 characters');
  if (/[;'"<>]/.test(o.cspSource)) throw new Error('buildWebviewHtml: invalid cspSource');
  const csp = buildCsp(o.cspSource, o.nonce);
  const bodyClass = o.bodyClass ? ` class="${escapeHtml(o.bodyClass)}"` : '';
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>${escapeHtml(o.title)}</title>
<link rel="stylesheet" href="${escapeHtml(o.styleUri)}" nonce="${o.nonce}">
</head>
<body${bodyClass}>
<div id="app" role="main" aria-live="polite"><p class="placeholder">Loading…</p></div>
<script nonce="${o.nonce}" src="${escapeHtml(o.scriptUri)}"></script>
</body>
</html>
`;
}
