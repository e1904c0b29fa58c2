// Browser-side helpers shared by the webviews: the VS Code API handle, theme colours from the
// --vscode-* CSS variables, and exports (sent to the host as 'export' messages).
import type { HostToWebview, WebviewToHost, ExportFormat } from '../../src/shared/protocol';
import { DARK_THEME, LIGHT_THEME, type Theme } from './colors';

interface VsCodeApi<S> {
  postMessage(msg: unknown): void;
  getState(): S | undefined;
  setState(s: S): S;
}
declare function acquireVsCodeApi<S>(): VsCodeApi<S>;

export class Host<S> {
  private readonly api: VsCodeApi<S>;
  constructor() {
    this.api =
      typeof acquireVsCodeApi === 'function'
        ? acquireVsCodeApi<S>()
        : { postMessage: (m) => console.log('postMessage', m), getState: () => undefined, setState: (s) => s };
  }
  post(msg: WebviewToHost): void {
    this.api.postMessage(msg);
  }
  getState(): S | undefined {
    try {
      return this.api.getState();
    } catch {
      return undefined;
    }
  }
  setState(s: S): void {
    this.api.setState(s);
  }
  onMessage(cb: (m: HostToWebview) => void): void {
    window.addEventListener('message', (e: MessageEvent) => {
      const d = e.data as HostToWebview | undefined;
      if (d && typeof d === 'object' && typeof d.type === 'string') cb(d);
    });
  }
}

function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || getComputedStyle(document.body).getPropertyValue(name).trim();
}

/** Resolved theme colours from the --vscode-* variables (fallbacks: Dark/Light Modern). */
export function readTheme(): Theme {
  const cls = document.body.classList;
  const light = cls.contains('vscode-light') || cls.contains('vscode-high-contrast-light');
  const base = light ? LIGHT_THEME : DARK_THEME;
  const v = (name: string, fb: string) => cssVar(name) || fb;
  return {
    kind: cls.contains('vscode-high-contrast') ? 'high-contrast' : light ? 'light' : 'dark',
    background: v('--vscode-editor-background', base.background),
    foreground: v('--vscode-editor-foreground', v('--vscode-foreground', base.foreground)),
    muted: v('--vscode-descriptionForeground', base.muted),
    grid: v('--vscode-editorWidget-border', v('--vscode-panel-border', base.grid)),
    red: v('--vscode-charts-red', base.red),
    blue: v('--vscode-charts-blue', base.blue),
    green: v('--vscode-charts-green', base.green),
    orange: v('--vscode-charts-orange', base.orange),
    purple: v('--vscode-charts-purple', base.purple),
    yellow: v('--vscode-charts-yellow', base.yellow),
    focus: v('--vscode-focusBorder', base.focus),
    fontFamily: v('--vscode-font-family', base.fontFamily),
  };
}

/** Calls cb when VS Code switches theme (it changes the body class and the CSS variables). */
export function onThemeChange(cb: () => void): void {
  let last = document.body.className;
  new MutationObserver(() => {
    if (document.body.className !== last) {
      last = document.body.className;
      cb();
    }
  }).observe(document.body, { attributes: true, attributeFilter: ['class'] });
}

/** Calls cb once the window has stopped resizing for `ms` milliseconds (a drag redraws once, at its end). */
export function onResizeSettled(cb: () => void, ms = 100): void {
  let timer: number | undefined;
  window.addEventListener('resize', () => {
    clearTimeout(timer);
    timer = window.setTimeout(cb, ms);
  });
}

// ------------------------------------------------------------------ exports

export function postExport(host: Host<unknown>, figure: string, format: ExportFormat, data: string): void {
  host.post({ type: 'export', figure, format, data, encoding: format === 'png' ? 'base64' : 'utf8' });
}

/** Rasterises an SVG string to PNG (base64, no prefix) at `scale`× resolution. */
export async function svgToPngBase64(svg: string, scale = 2): Promise<string> {
  const w = Number(/width="([\d.]+)"/.exec(svg)?.[1] ?? 800);
  const h = Number(/height="([\d.]+)"/.exec(svg)?.[1] ?? 600);
  const img = new Image();
  const loaded = new Promise<void>((res, rej) => {
    img.onload = () => res();
    img.onerror = () => rej(new Error('Could not rasterise the figure'));
  });
  img.src = 'data:image/svg+xml;charset=utf-8,' + encodeURIComponent(svg);
  await loaded;
  const c = document.createElement('canvas');
  c.width = Math.round(w * scale);
  c.height = Math.round(h * scale);
  const ctx = c.getContext('2d')!;
  ctx.scale(scale, scale);
  ctx.drawImage(img, 0, 0, w, h);
  return c.toDataURL('image/png').replace(/^data:image\/png;base64,/, '');
}

export interface ExportSources {
  svg: () => string;
  csv: () => string;
  json: () => string;
}

/** A row of export buttons for one figure. */
export function exportBar(host: Host<unknown>, figure: () => string, label: string, src: ExportSources): HTMLElement {
  const bar = document.createElement('div');
  bar.className = 'export-bar';
  bar.setAttribute('role', 'group');
  bar.setAttribute('aria-label', `Export ${label}`);
  const formats: ExportFormat[] = ['png', 'svg', 'csv', 'json'];
  for (const f of formats) {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'export-button';
    b.dataset.format = f;
    b.textContent = f.toUpperCase();
    b.title = f === 'png' || f === 'svg' ? `Save ${label} as ${f.toUpperCase()}` : `Save the data of ${label} as ${f.toUpperCase()}`;
    b.setAttribute('aria-label', b.title);
    b.addEventListener('click', async () => {
      try {
        const data = f === 'png' ? await svgToPngBase64(src.svg()) : f === 'svg' ? src.svg() : f === 'csv' ? src.csv() : src.json();
        postExport(host, figure(), f, data);
      } catch (e) {
        host.post({ type: 'log', level: 'error', message: `Export failed: ${(e as Error).message}` });
      }
    });
    bar.append(b);
  }
  return bar;
}

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else e.setAttribute(k, v);
  }
  e.append(...children);
  return e;
}

export type StatusKind = 'busy' | 'error' | 'info' | undefined;

/**
 * The host messages both webviews handle alike: busy, error, a theme change (`retheme` re-reads the colours and
 * redraws) and the outcome of an export. Returns false for any other message.
 */
export function handleCommonMessage(m: HostToWebview, setStatus: (kind: StatusKind, message?: string) => void, retheme: () => void): boolean {
  switch (m.type) {
    case 'busy':
      setStatus(m.message ? 'busy' : undefined, m.message);
      return true;
    case 'error':
      setStatus('error', m.message);
      return true;
    case 'theme':
      retheme();
      return true;
    case 'exported':
      if (!m.ok && m.message === 'cancelled') setStatus(undefined);
      else setStatus(m.ok ? 'info' : 'error', m.ok ? `Saved ${m.path ?? m.figure}` : m.message ?? 'Export failed');
      return true;
    default:
      return false;
  }
}
