// Host side of one webview: ready handshake (buffer until 'ready'), validated incoming messages, a record of
// what was posted (test hook).
import * as vscode from 'vscode';
import { parseWebviewMessage, type HostToWebview, type WebviewToHost } from '../shared/protocol';
import { buildWebviewHtml, makeNonce } from './webviewHtml';

export class WebviewChannel implements vscode.Disposable {
  private ready = false;
  private queue: HostToWebview[] = [];
  /** latest 'showResult' / 'attention' / 'features': re-sent whenever the document (re)loads */
  private readonly sticky = new Map<string, HostToWebview>();
  private readonly subs: vscode.Disposable[] = [];
  /** every message posted (or queued) to the webview, newest last (test hook; capped) */
  readonly posted: HostToWebview[] = [];
  /** messages received and accepted */
  readonly received: WebviewToHost[] = [];

  constructor(
    private readonly webview: vscode.Webview,
    private readonly log: vscode.OutputChannel,
    private readonly name: string,
    onMessage: (m: WebviewToHost) => void | Promise<void>,
    /** message types whose latest is re-sent when the document (re)loads */
    private readonly stickyTypes: readonly HostToWebview['type'][] = ['showResult', 'attention', 'features'],
  ) {
    this.onMessage = onMessage;
    this.subs.push(webview.onDidReceiveMessage((raw: unknown) => this.handle(raw)));
  }

  private readonly onMessage: (m: WebviewToHost) => void | Promise<void>;

  /** Handles one raw message from the webview (also the integration tests' entry point). false = ignored. */
  async handle(raw: unknown): Promise<boolean> {
    const m = parseWebviewMessage(raw);
    if (!m) {
      this.log.appendLine(`${this.name}: ignored a malformed message from the webview: ${safeJson(raw)}`);
      return false;
    }
    this.received.push(m);
    if (m.type === 'ready') {
      // first load, or a document rebuilt after being hidden (retainContextWhenHidden: false): send the current
      // result/attention again, then whatever was queued
      this.ready = true;
      const q = this.queue;
      this.queue = [];
      const resend = [...this.sticky.values()].filter((x) => !q.includes(x));
      for (const msg of [...resend, ...q]) await this.webview.postMessage(msg);
      return true;
    }
    try {
      await this.onMessage(m);
    } catch (e) {
      this.log.appendLine(`${this.name}: handling '${m.type}' failed: ${(e as Error)?.stack ?? e}`);
    }
    return true;
  }

  /** Sets the HTML (resets the handshake: the new document posts 'ready' again). */
  setHtml(extensionUri: vscode.Uri, script: string, title: string, bodyClass: string): void {
    this.ready = false;
    const w = this.webview;
    w.html = buildWebviewHtml({
      scriptUri: w.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'webview', script)).toString(),
      styleUri: w.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'media', 'webview.css')).toString(),
      cspSource: cspHosts(w.cspSource),
      nonce: makeNonce(),
      title,
      bodyClass,
    });
  }

  get isReady(): boolean {
    return this.ready;
  }

  /** The webview was hidden: its document is gone until it posts 'ready' again; queue until then. */
  markHidden(): void {
    this.ready = false;
    this.queue = [];
  }

  post(m: HostToWebview): void {
    // a reply re-sent to a reloaded document is a push there (its requests have other ids)
    if (this.stickyTypes.includes(m.type)) this.sticky.set(m.type, asPush(m));
    this.posted.push(m);
    if (this.posted.length > 50) this.posted.splice(0, this.posted.length - 50);
    if (!this.ready) {
      // the document that asked is gone: a reply is not queued for the next one (the sticky copy is re-sent)
      if ('requestId' in m && m.requestId !== undefined) return;
      // only the latest result (and decay layer) matters while waiting
      if (m.type === 'showResult' || m.type === 'features' || this.stickyTypes.includes(m.type) && m.type !== 'attention') this.queue = this.queue.filter((q) => q.type !== m.type);
      this.queue.push(m);
      return;
    }
    void this.webview.postMessage(m);
  }

  dispose(): void {
    for (const s of this.subs) s.dispose();
  }
}

/**
 * webview.cspSource without quoted keywords: in VS Code for the Web / server it is "'self' https://…", which
 * buildWebviewHtml refuses; scripts and the stylesheet carry the nonce anyway, so the host sources suffice.
 */
export function cspHosts(cspSource: string): string {
  const hosts = cspSource.split(/\s+/u).filter((t) => t.length > 0 && !/[;'"<>]/u.test(t));
  return hosts.length > 0 ? hosts.join(' ') : 'https://*.vscode-cdn.net';
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v).slice(0, 300);
  } catch {
    return String(v).slice(0, 300);
  }
}

export function webviewOptions(extensionUri: vscode.Uri): vscode.WebviewOptions {
  return {
    enableScripts: true,
    localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist', 'webview'), vscode.Uri.joinPath(extensionUri, 'media')],
  };
}

/** The message without its requestId (the same object when it has none). */
export function asPush(m: HostToWebview): HostToWebview {
  if (!('requestId' in m) || m.requestId === undefined) return m;
  const { requestId: _id, ...push } = m;
  return push as HostToWebview;
}
