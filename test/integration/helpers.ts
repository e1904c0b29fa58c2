// Shared helpers of the integration tests (run inside the extension host).
import * as vscode from 'vscode';

export const EXTENSION_ID = 'mamba-explain.mamba-explain';

export interface Api {
  panelMessages(): { type: string; [k: string]: unknown }[];
  heatmapMessages(): { type: string; [k: string]: unknown }[];
  panelReceived(): { type: string }[];
  heatmapReceived(): { type: string }[];
  simulatePanelMessage(raw: unknown): Promise<boolean>;
  simulateHeatmapMessage(raw: unknown): Promise<boolean>;
}

export async function activate(): Promise<Api> {
  const ext = vscode.extensions.getExtension(EXTENSION_ID);
  if (!ext) throw new Error(`extension ${EXTENSION_ID} not found`);
  return (await ext.activate()) as Api;
}

export function workspaceRoot(): string {
  const f = vscode.workspace.workspaceFolders?.[0];
  if (!f) throw new Error('no workspace folder');
  return f.uri.fsPath;
}

export async function waitFor<T>(what: string, f: () => T | undefined | false, timeoutMs = 30_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = f();
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function setModel(dir: string | undefined, windows = [2]): Promise<void> {
  const cfg = vscode.workspace.getConfiguration('mambaExplain');
  await cfg.update('model', dir ?? '', vscode.ConfigurationTarget.Global);
  await cfg.update('defaultWindows', windows, vscode.ConfigurationTarget.Global);
  await cfg.update('executionProvider', 'cpu', vscode.ConfigurationTarget.Global);
}
