// Pure helpers of the Steering view's host side (no `vscode` import).
import type { SteerSpec } from '../../shared/protocol';

/** The worker's `steer` param for one triple (the {layer, channels, scale} form). */
export function steerParam(t: SteerSpec): { layer: number; channels: number[]; scale: number }[] {
  return [{ layer: t.layer, channels: [...t.channels], scale: t.scale }];
}

/** The presets whose layer and channels exist in a model of nLayer layers and width dModel. */
export function fittingPresets(presets: Record<string, SteerSpec>, nLayer: number, dModel: number): { name: string; layer: number; channels: number[]; scale: number }[] {
  return Object.entries(presets)
    .filter(([, p]) => p.layer < nLayer && p.channels.every((c) => c < dModel))
    .map(([name, p]) => ({ name, layer: p.layer, channels: [...p.channels], scale: p.scale }));
}

/** Arguments of the Steering command, checked: unknown or malformed fields are dropped. */
export function steeringArgs(a: unknown): { prompt?: string; layer?: number; channels?: number[]; scale?: number; maxTokens?: number } {
  if (typeof a !== 'object' || a === null || Array.isArray(a)) return {};
  const o = a as Record<string, unknown>;
  const out: ReturnType<typeof steeringArgs> = {};
  if (typeof o.prompt === 'string' && o.prompt.length <= 4000) out.prompt = o.prompt;
  if (Number.isInteger(o.layer) && (o.layer as number) >= 0) out.layer = o.layer as number;
  if (Array.isArray(o.channels) && o.channels.length > 0 && o.channels.every((c) => Number.isInteger(c) && c >= 0)) out.channels = [...new Set(o.channels as number[])].sort((x, y) => x - y);
  if (typeof o.scale === 'number' && Number.isFinite(o.scale)) out.scale = o.scale;
  if (Number.isInteger(o.maxTokens) && (o.maxTokens as number) >= 0 && (o.maxTokens as number) <= 256) out.maxTokens = o.maxTokens as number;
  return out;
}
