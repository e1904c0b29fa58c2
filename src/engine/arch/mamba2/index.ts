// The Mamba-2 family (SPEC §1): state-spaces mamba2-* and HF Mamba2ForCausalLM checkpoints.
import type { Mamba2Config } from '../../types';
import type { ModelFamily } from '../types';
import { parseMamba2Hf, parseMamba2StateSpaces } from './config';
import { emitMamba2Layer, emitMamba2Row, emitMamba2Step } from './graph';
import { Mamba2Reference } from './reference';
import { mamba2Shapes, mambaStoredName } from './weights';

const convDimOf = (c: Mamba2Config) => c.dInner + 2 * c.nGroups * c.dState;

export const mamba2: ModelFamily<Mamba2Config> = {
  arch: 'mamba2',
  label: () => 'Mamba-2',
  describe: (c) =>
    `Mamba-2, d_model ${c.dModel}, n_layer ${c.nLayer}, vocab ${c.vocabSize} (padded ${c.paddedVocabSize}), d_state ${c.dState}, headdim ${c.headdim}, ngroups ${c.nGroups}`,
  parseConfig: (json, file, kind) => (kind === 'state-spaces' ? parseMamba2StateSpaces(json, file) : parseMamba2Hf(json, file)),
  expectedShapes: mamba2Shapes,
  storedName: mambaStoredName,
  finalNorm: 'rms',
  usesPositions: false,
  convPath: true,
  zeroContextRow: true,
  attentionUnits: (c) => ({ unit: 'head', count: c.nHeads }),
  decayScores: (ckpt, layer) => Float64Array.from(ckpt.readF32(`layers.${layer}.mixer.A_log`), (a) => Math.exp(-Math.exp(a))),
  contextSpec: (c) => [
    { name: 'raw', rows: 'conv', width: convDimOf(c) },
    { name: 'xbc', rows: 'prefix', width: convDimOf(c) },
    { name: 'delta', rows: 'prefix', width: c.nHeads },
  ],
  // hidden in/out, in_proj output, attention, mask
  bytesPerItem: (c, n) => 4 * n * (4 * c.dModel + 3 * (2 * c.dInner + 2 * c.nGroups * c.dState + c.nHeads) + 2 * c.nHeads * n + n + 2 * c.dInner),
  // residual rows, in_proj output, the conv's K rows and its two products (convOneRow), the row's B and Δ over n
  // positions (a few copies), M's row and its decay, the own position's x pieces (emitMamba2Row: the context's x is read
  // per prompt, not copied per row)
  rowBytes: (c, n) => {
    const cd = convDimOf(c);
    return 4 * (6 * c.dModel + 3 * (2 * c.dInner + cd + c.nHeads) + 3 * c.dConv * cd + 3 * n * (c.nGroups * c.dState + c.nHeads) + 6 * c.nHeads * n + 4 * c.dInner);
  },
  graphs: { emitLayer: emitMamba2Layer, emitRow: emitMamba2Row, emitStep: emitMamba2Step },
  stateShape: (c) => ({ conv: [c.dConv - 1, convDimOf(c)], ssm: [c.nHeads, c.headdim, c.dState] }),
  reference: (ckpt) => new Mamba2Reference(ckpt),
};
