// Which model the extension opens. No `vscode` import.
import * as path from 'node:path';

/** Names of the demo models shipped in the extension (models/<folder>), as the CLI's --model accepts them. */
export const EMBEDDED_MODELS: Record<string, string> = { '': 'demo', demo: 'demo', 'demo-mamba2': 'demo', 'demo-mamba1': 'demo-mamba1', 'demo-transformer': 'demo-transformer' };

/** The setting value, or an embedded demo model: empty / 'demo' = the Mamba-2 one, 'demo-mamba1' = the Mamba-1 one. */
export function modelSetting(value: unknown, extensionPath: string): { ref: string; embedded: boolean } {
  const v = typeof value === 'string' ? value.trim() : '';
  const folder = Object.prototype.hasOwnProperty.call(EMBEDDED_MODELS, v) ? EMBEDDED_MODELS[v] : undefined;
  if (folder !== undefined) return { ref: path.join(extensionPath, 'models', folder), embedded: true };
  return { ref: v, embedded: false };
}

/** Short label for the status bar: 'demo' / 'demo-mamba1' for the embedded models, else the folder's base name or the Hub id. */
export function modelLabel(ref: string, embedded: boolean): string {
  if (embedded) return path.basename(ref.replace(/[\\/]+$/u, '')) || 'demo';
  const trimmed = ref.replace(/[\\/]+$/u, '');
  if (/^[A-Za-z0-9][\w.-]*\/[\w.-]+(@[\w.-]+)?$/u.test(trimmed) && !trimmed.startsWith('.')) return trimmed;
  return path.basename(trimmed) || trimmed;
}

/** Formats "12.3 prompts/s · ETA 1m 05s". */
export function formatRate(rate?: number, etaSeconds?: number): string {
  const parts: string[] = [];
  if (rate !== undefined && Number.isFinite(rate)) parts.push(`${rate >= 10 ? rate.toFixed(0) : rate.toFixed(1)} prompts/s`);
  if (etaSeconds !== undefined && Number.isFinite(etaSeconds)) {
    const s = Math.max(0, Math.round(etaSeconds));
    parts.push(`ETA ${s >= 60 ? `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s` : `${s}s`}`);
  }
  return parts.join(' · ');
}
