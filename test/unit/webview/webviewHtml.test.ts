import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildWebviewHtml, makeNonce, buildCsp } from '../../../src/extension/webviewHtml';

const src = 'https://*.vscode-cdn.net';

test('makeNonce is random, long and base64url', () => {
  const a = makeNonce();
  const b = makeNonce();
  assert.notEqual(a, b);
  assert.match(a, /^[A-Za-z0-9_-]{40,}$/);
});

test('CSP string is exact', () => {
  assert.equal(
    buildCsp(src, 'abc'),
    `default-src 'none'; img-src ${src} data: blob:; style-src ${src} 'nonce-abc'; script-src 'nonce-abc'; font-src ${src};`,
  );
});

test('page has the CSP meta, the nonce on every script and no remote content', () => {
  const nonce = makeNonce();
  const html = buildWebviewHtml({
    scriptUri: 'vscode-webview://x/dist/webview/panel.js',
    styleUri: 'vscode-webview://x/media/webview.css',
    cspSource: src,
    nonce,
    title: 'Knockout <panel>',
    bodyClass: 'panel',
  });
  const meta = html.match(/<meta http-equiv="Content-Security-Policy" content="([^"]*)">/);
  assert.ok(meta, 'CSP meta present');
  assert.equal(
    meta[1],
    `default-src 'none'; img-src ${src} data: blob:; style-src ${src} 'nonce-${nonce}'; script-src 'nonce-${nonce}'; font-src ${src};`,
  );
  const scripts = html.match(/<script\b[^>]*>/g) ?? [];
  assert.equal(scripts.length, 1);
  for (const s of scripts) assert.ok(s.includes(`nonce="${nonce}"`), s);
  assert.ok(html.includes('<title>Knockout &lt;panel&gt;</title>'));
  assert.ok(html.includes('<body class="panel">'));
  // no remote http(s) content besides the CSP source itself
  const withoutCsp = html.replace(meta[0], '');
  assert.doesNotMatch(withoutCsp, /https?:\/\//);
  assert.doesNotMatch(html, /<script(?![^>]*nonce=)/);
});

test('rejects a weak nonce', () => {
  assert.throws(() => buildWebviewHtml({ scriptUri: 'a', styleUri: 'b', cspSource: src, nonce: 'x', title: 't' }));
});
