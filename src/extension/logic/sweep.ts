// What the user is told when the fused chunk graph failed to load (issue 16 point 2: no silent fallbacks). No `vscode`
// import.
import type { SessionInfo } from '../../engine/runtime/protocol';

/** The status-bar tooltip's line on the knockout sweep. */
export function sweepTooltipLine(info: Pick<SessionInfo, 'sweep' | 'fusedSweepError'>): string {
  if (info.fusedSweepError) return `knockout sweep: layer by layer — the fused chunk graph failed to load (${info.fusedSweepError})`;
  return `knockout sweep ${info.sweep}`;
}

/**
 * The information message to show once per model and reason, or undefined (the fused graph loaded, was not asked for,
 * or this model's failure was already shown: `shown` remembers the keys).
 */
export function fusedSweepNotice(info: Pick<SessionInfo, 'fusedSweepError' | 'identity'>, shown: Set<string>): string | undefined {
  if (!info.fusedSweepError) return undefined;
  const key = `${info.identity.hash}\u0000${info.fusedSweepError}`;
  if (shown.has(key)) return undefined;
  shown.add(key);
  return `Mamba Explain: the fused chunk graph could not be loaded, so knockout sweeps run layer by layer (slower, same numbers). Reason: ${info.fusedSweepError}`;
}
