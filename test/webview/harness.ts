// Test harness for the webviews: builds the browser bundles, serves a page that mimics a VS Code
// webview (same CSP shell, fake acquireVsCodeApi, Dark/Light Modern theme variables) on 127.0.0.1,
// and starts headless Chromium through playwright-core.
import { createServer, type Server } from 'node:http';
import { readFileSync, existsSync } from 'node:fs';
import { join, resolve, extname } from 'node:path';
import * as esbuild from 'esbuild';
import { chromium, type Browser } from 'playwright-core';
import { buildWebviewHtml, makeNonce } from '../../src/extension/webviewHtml';

export const ROOT = resolve(__dirname, '../..');

export async function buildBundles(): Promise<void> {
  const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version;
  const common = { bundle: true, sourcemap: true, logLevel: 'warning', target: 'es2022', platform: 'browser', format: 'iife', define: { __MAMBA_EXPLAIN_VERSION__: JSON.stringify(version) }, absWorkingDir: ROOT } as const;
  await Promise.all([
    esbuild.build({ ...common, entryPoints: ['webview/panel/main.ts'], outfile: 'dist/webview/panel.js' }),
    esbuild.build({ ...common, entryPoints: ['webview/heatmap/main.ts'], outfile: 'dist/webview/heatmap.js' }),
    esbuild.build({ ...common, entryPoints: ['webview/steering/main.ts'], outfile: 'dist/webview/steering.js' }),
  ]);
}

const COMMON_VARS = {
  '--vscode-font-family': 'system-ui, "Ubuntu", "Droid Sans", sans-serif',
  '--vscode-font-size': '13px',
  '--vscode-font-weight': 'normal',
  '--vscode-editor-font-family': '"Droid Sans Mono", "monospace", monospace',
  '--vscode-editor-font-size': '14px',
};

/** Colours of VS Code's "Dark Modern" theme (the subset the webviews and vscode-elements use). */
export const DARK_MODERN: Record<string, string> = {
  ...COMMON_VARS,
  '--vscode-foreground': '#cccccc',
  '--vscode-descriptionForeground': '#9d9d9d',
  '--vscode-errorForeground': '#f85149',
  '--vscode-focusBorder': '#0078d4',
  '--vscode-editor-background': '#1f1f1f',
  '--vscode-editor-foreground': '#cccccc',
  '--vscode-editorWidget-background': '#202020',
  '--vscode-editorWidget-border': '#313131',
  '--vscode-panel-border': '#2b2b2b',
  '--vscode-widget-shadow': '#0000005c',
  '--vscode-charts-foreground': '#cccccc',
  '--vscode-charts-lines': '#cccccc80',
  '--vscode-charts-red': '#f14c4c',
  '--vscode-charts-blue': '#3794ff',
  '--vscode-charts-yellow': '#cca700',
  '--vscode-charts-orange': '#d18616',
  '--vscode-charts-green': '#89d185',
  '--vscode-charts-purple': '#b180d7',
  '--vscode-button-background': '#0078d4',
  '--vscode-button-foreground': '#ffffff',
  '--vscode-button-border': '#ffffff12',
  '--vscode-button-hoverBackground': '#026ec1',
  '--vscode-button-secondaryBackground': '#313131',
  '--vscode-button-secondaryForeground': '#cccccc',
  '--vscode-button-secondaryHoverBackground': '#3c3c3c',
  '--vscode-toolbar-hoverBackground': '#5a5d5e50',
  '--vscode-progressBar-background': '#0078d4',
  '--vscode-editorHoverWidget-background': '#202020',
  '--vscode-editorHoverWidget-foreground': '#cccccc',
  '--vscode-editorHoverWidget-border': '#454545',
  '--vscode-inputValidation-errorBackground': '#5a1d1d',
  '--vscode-inputValidation-errorBorder': '#be1100',
  '--vscode-input-background': '#313131',
  '--vscode-input-foreground': '#cccccc',
  '--vscode-input-border': '#3c3c3c',
  '--vscode-dropdown-background': '#313131',
  '--vscode-dropdown-border': '#3c3c3c',
  '--vscode-dropdown-foreground': '#cccccc',
  '--vscode-dropdown-listBackground': '#1f1f1f',
  '--vscode-list-activeSelectionBackground': '#0078d4',
  '--vscode-list-activeSelectionForeground': '#ffffff',
  '--vscode-list-hoverBackground': '#2a2d2e',
  '--vscode-list-focusOutline': '#0078d4',
  '--vscode-settings-dropdownListBorder': '#454545',
  '--vscode-settings-dropdownBackground': '#313131',
  '--vscode-settings-dropdownBorder': '#3c3c3c',
  '--vscode-settings-dropdownForeground': '#cccccc',
  '--vscode-list-highlightForeground': '#2aaaff',
  '--vscode-list-hoverForeground': '#cccccc',
  '--vscode-scrollbarSlider-background': '#79797966',
};

/** Colours of VS Code's "Light Modern" theme. */
export const LIGHT_MODERN: Record<string, string> = {
  ...COMMON_VARS,
  '--vscode-foreground': '#3b3b3b',
  '--vscode-descriptionForeground': '#3b3b3b',
  '--vscode-errorForeground': '#f85149',
  '--vscode-focusBorder': '#005fb8',
  '--vscode-editor-background': '#ffffff',
  '--vscode-editor-foreground': '#3b3b3b',
  '--vscode-editorWidget-background': '#f8f8f8',
  '--vscode-editorWidget-border': '#c8c8c8',
  '--vscode-panel-border': '#e5e5e5',
  '--vscode-widget-shadow': '#00000029',
  '--vscode-charts-foreground': '#3b3b3b',
  '--vscode-charts-lines': '#3b3b3b80',
  '--vscode-charts-red': '#e51400',
  '--vscode-charts-blue': '#1a85ff',
  '--vscode-charts-yellow': '#bf8803',
  '--vscode-charts-orange': '#d18616',
  '--vscode-charts-green': '#388a34',
  '--vscode-charts-purple': '#652d90',
  '--vscode-button-background': '#005fb8',
  '--vscode-button-foreground': '#ffffff',
  '--vscode-button-border': '#0000001a',
  '--vscode-button-hoverBackground': '#0258a8',
  '--vscode-button-secondaryBackground': '#e5e5e5',
  '--vscode-button-secondaryForeground': '#3b3b3b',
  '--vscode-button-secondaryHoverBackground': '#cccccc',
  '--vscode-toolbar-hoverBackground': '#b8b8b850',
  '--vscode-progressBar-background': '#005fb8',
  '--vscode-editorHoverWidget-background': '#f8f8f8',
  '--vscode-editorHoverWidget-foreground': '#3b3b3b',
  '--vscode-editorHoverWidget-border': '#c8c8c8',
  '--vscode-inputValidation-errorBackground': '#f2dede',
  '--vscode-inputValidation-errorBorder': '#be1100',
  '--vscode-input-background': '#ffffff',
  '--vscode-input-foreground': '#3b3b3b',
  '--vscode-input-border': '#cecece',
  '--vscode-dropdown-background': '#ffffff',
  '--vscode-dropdown-border': '#cecece',
  '--vscode-dropdown-foreground': '#3b3b3b',
  '--vscode-dropdown-listBackground': '#ffffff',
  '--vscode-list-activeSelectionBackground': '#e8e8e8',
  '--vscode-list-activeSelectionForeground': '#000000',
  '--vscode-list-hoverBackground': '#f2f2f2',
  '--vscode-list-focusOutline': '#005fb8',
  '--vscode-settings-dropdownListBorder': '#cecece',
  '--vscode-settings-dropdownBackground': '#ffffff',
  '--vscode-settings-dropdownBorder': '#cecece',
  '--vscode-settings-dropdownForeground': '#3b3b3b',
  '--vscode-list-highlightForeground': '#0066bf',
  '--vscode-list-hoverForeground': '#3b3b3b',
  '--vscode-scrollbarSlider-background': '#64646466',
};

export type ThemeName = 'dark' | 'light';

export function themeCss(theme: ThemeName): string {
  const vars = theme === 'dark' ? DARK_MODERN : LIGHT_MODERN;
  return `html { ${Object.entries(vars).map(([k, v]) => `${k}: ${v};`).join(' ')} }`;
}

const FAKE_API = `
window.__posted = [];
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
(() => {
  let acquired = false;
  window.acquireVsCodeApi = () => {
    if (acquired) throw new Error('An instance of the VS Code API has already been acquired');
    acquired = true;
    return Object.freeze({
      postMessage(m) { window.__posted.push(JSON.parse(JSON.stringify(m))); },
      getState() { const s = sessionStorage.getItem('vscode-state'); return s ? JSON.parse(s) : undefined; },
      setState(s) { sessionStorage.setItem('vscode-state', JSON.stringify(s)); return s; },
    });
  };
})();
window.__setTheme = (name, css) => {
  document.getElementById('theme-vars').textContent = css;
  document.body.className = name === 'dark' ? 'vscode-dark' : 'vscode-light';
  document.body.dataset.vscodeThemeKind = document.body.className;
};
`;

function page(view: 'panel' | 'heatmap' | 'steering', theme: ThemeName, origin: string): string {
  const nonce = makeNonce();
  const html = buildWebviewHtml({
    scriptUri: `${origin}/dist/webview/${view}.js`,
    styleUri: `${origin}/media/webview.css`,
    cspSource: origin,
    nonce,
    title: view === 'panel' ? 'Knockout' : view === 'steering' ? 'Steering' : 'Attention heatmap',
    bodyClass: theme === 'dark' ? 'vscode-dark' : 'vscode-light',
  });
  // what VS Code adds to every webview: theme variables on <html> and a script defining acquireVsCodeApi
  return html
    .replace('</head>', `<style id="theme-vars" nonce="${nonce}">${themeCss(theme)}</style>\n<script nonce="${nonce}">${FAKE_API}</script>\n</head>`)
    .replace('<body class=', `<body data-vscode-theme-kind="${theme === 'dark' ? 'vscode-dark' : 'vscode-light'}" class=`);
}

const TYPES: Record<string, string> = { '.js': 'text/javascript', '.css': 'text/css', '.map': 'application/json' };

export async function startServer(): Promise<{ server: Server; origin: string }> {
  let origin = '';
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', origin);
    const m = /^\/(panel|heatmap|steering)\.html$/.exec(url.pathname);
    if (m) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(page(m[1] as 'panel' | 'heatmap' | 'steering', url.searchParams.get('theme') === 'light' ? 'light' : 'dark', origin));
      return;
    }
    const allowed = /^\/(dist\/webview\/[\w.-]+|media\/[\w.-]+)$/.exec(url.pathname);
    const file = allowed ? join(ROOT, allowed[1]) : '';
    if (!allowed || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
    res.end(readFileSync(file));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  origin = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  return { server, origin };
}

export async function launchChromium(): Promise<{ browser: Browser; cleanup: () => void }> {
  const exe = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (!existsSync(exe)) throw new Error(`${exe} is missing: install it with tools/setup-system.sh (apt-get install -y chromium)`);
  // playwright-core refuses --user-data-dir in args for launch(); it passes a fresh temporary
  // --user-data-dir of its own to every launch (deleted on close), which is what we want.
  const browser = await chromium.launch({
    executablePath: exe,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic'],
  });
  return { browser, cleanup: () => undefined };
}
