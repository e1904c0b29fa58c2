// Steering by activation-subspace bottlenecks (SPEC §5): multiply chosen channels of layer ℓ's mixer output (after
// out_proj, before the residual add; d_model wide) by a scalar s at every position. Several (layer, channels, s)
// triples may apply at once (on the same channel they multiply). Compiled into one scale vector per layer, which the
// graphs take as `out_scale`; it applies to the clean run and to every knockout variant alike, so the last-position
// fast path still holds (the steered model is the model that is knocked out).
import { UserError, type ModelConfig } from '../types';
import { expandRangeList } from '../util/rangeList';

export interface SteerTriple {
  layer: number;
  channels: number[];
  scale: number;
}

/** The authors' public preset for mamba-130m (state-spaces/mamba-130m-hf, 24 layers): layer 20, ×5, 16 channels. */
export const STEER_PRESETS: Record<string, SteerTriple> = {
  'mamba-130m': { layer: 20, scale: 5, channels: [4, 38, 84, 94, 163, 171, 268, 363, 401, 497, 564, 568, 582, 654, 659, 686] },
};

function channelList(v: string, spec: string): number[] {
  return expandRangeList(
    v,
    {
      notAList: () => `--steer ${spec}: channels must be a list such as 4,38,84 or 10-20, got '${v}'`,
      empty: (r) => `--steer ${spec}: channel range ${r} is empty`,
      tooLong: (r) => `--steer ${spec}: channel range ${r} is too long`,
    },
    { spaced: true, unique: true },
  );
}

/** Parses --steer values: 'LAYER:CHANNELS:SCALE' (CHANNELS = 4,38,84 or ranges) or 'preset:NAME'. */
export function parseSteer(values: string | readonly string[] | undefined): SteerTriple[] {
  if (values === undefined) return [];
  const list = typeof values === 'string' ? [values] : values;
  return list.map((spec) => {
    const s = spec.trim();
    if (s.startsWith('preset:')) {
      const p = STEER_PRESETS[s.slice(7)];
      if (!p) throw new UserError(`--steer ${s}: unknown preset (known: ${Object.keys(STEER_PRESETS).map((k) => `preset:${k}`).join(', ')})`);
      return { ...p, channels: p.channels.slice() };
    }
    const m = /^(\d+):([^:]+):([^:]+)$/.exec(s);
    if (!m) throw new UserError(`--steer '${s}' must be LAYER:CHANNELS:SCALE (e.g. 20:4,38,84:5) or preset:NAME`);
    const scale = Number(m[3]);
    if (!Number.isFinite(scale) || m[3].trim() === '') throw new UserError(`--steer ${s}: the scale '${m[3]}' is not a finite number`);
    return { layer: Number(m[1]), channels: channelList(m[2], s), scale };
  });
}

/** Checks triples against a model: layer in range, channels of the mixer output (d_model wide), finite scale. */
export function checkSteering(c: ModelConfig, triples: readonly SteerTriple[]): void {
  for (const t of triples) {
    const what = `--steer ${t.layer}:…:${t.scale}`;
    if (!Number.isInteger(t.layer) || t.layer < 0 || t.layer >= c.nLayer) throw new UserError(`${what}: layer ${t.layer} is out of range: the model has layers 0..${c.nLayer - 1}`);
    if (!Array.isArray(t.channels) || t.channels.length === 0) throw new UserError(`${what}: no channel given`);
    for (const ch of t.channels) {
      if (!Number.isInteger(ch) || ch < 0 || ch >= c.dModel) throw new UserError(`${what}: channel ${ch} is out of range: the mixer output has channels 0..${c.dModel - 1} (d_model)`);
    }
    if (!Number.isFinite(t.scale)) throw new UserError(`${what}: the scale must be a finite number`);
  }
}

/** One scale vector [d] per layer (undefined where nothing is steered). Triples on the same channel multiply. */
export function compileSteering(c: ModelConfig, triples: readonly SteerTriple[]): (Float32Array | undefined)[] {
  checkSteering(c, triples);
  const out: (Float32Array | undefined)[] = new Array(c.nLayer).fill(undefined);
  for (const t of triples) {
    const v = (out[t.layer] ??= new Float32Array(c.dModel).fill(1));
    for (const ch of t.channels) v[ch] *= t.scale;
  }
  return out;
}

/** A short label: '20:4,38,84,…(16):×5'. */
export function steerLabel(t: SteerTriple): string {
  const ch = t.channels.length <= 6 ? t.channels.join(',') : `${t.channels.slice(0, 4).join(',')},…(${t.channels.length})`;
  return `${t.layer}:${ch}:×${t.scale}`;
}
