// Which model the extension opens. No `vscode` import.
import * as path from 'node:path';

/** The setting value, or the embedded demo model when it is empty. */
export function modelSetting(value: unknown, extensionPath: string): { ref: string; embedded: boolean } {
  const v = typeof value === 'string' ? value.trim() : '';
  if (v === '') return { ref: path.join(extensionPath, 'models', 'demo'), embedded: true };
  return { ref: v, embedded: false };
}

/** Short label for the status bar: the folder's base name or the Hub id. */
export function modelLabel(ref: string, embedded: boolean): string {
  if (embedded) return 'demo';
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
