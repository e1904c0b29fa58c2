// The Mamba-1 family (SPEC §2): state-spaces mamba-*, HF MambaForCausalLM and FalconMambaForCausalLM checkpoints.
import type { Mamba1Config } from '../../types';
import type { ModelFamily } from '../types';
import { mambaStoredName } from '../mamba2/weights';
import { parseMamba1Hf, parseMamba1StateSpaces } from './config';
import { emitMamba1Layer, emitMamba1Row, emitMamba1Step } from './graph';
import { Mamba1Reference } from './reference';
import { mamba1Shapes } from './weights';

export const mamba1: ModelFamily<Mamba1Config> = {
  arch: 'mamba1',
  label: (c) => (c.variant === 'falcon_mamba' ? 'Falcon-Mamba' : 'Mamba-1'),
  describe: (c) =>
    `${c.variant === 'falcon_mamba' ? 'Falcon-Mamba' : 'Mamba-1'}, d_model ${c.dModel}, n_layer ${c.nLayer}, vocab ${c.vocabSize} (padded ${c.paddedVocabSize}), d_state ${c.dState}, d_inner ${c.dInner}, dt_rank ${c.dtRank}`,
  parseConfig: (json, file, kind) =>
    kind === 'state-spaces' ? parseMamba1StateSpaces(json, file) : parseMamba1Hf(json, file, kind === 'hf-falcon' ? 'falcon_mamba' : 'mamba'),
  expectedShapes: mamba1Shapes,
  storedName: mambaStoredName,
  finalNorm: 'rms',
  usesPositions: false,
  convPath: true,
  zeroContextRow: true,
  attentionUnits: (c) => ({ unit: 'channel', count: c.dInner }),
  decayScores: (ckpt, layer) => {
    const c = ckpt.config as Mamba1Config;
    const a = ckpt.readF32(`layers.${layer}.mixer.A_log`); // [dInner, S]
    const s = new Float64Array(c.dInner);
    for (let ch = 0; ch < c.dInner; ch++) for (let n = 0; n < c.dState; n++) s[ch] += Math.exp(-Math.exp(a[ch * c.dState + n]));
    return s;
  },
  contextSpec: (c) => [
    { name: 'raw', rows: 'conv', width: c.dInner },
    { name: 'x', rows: 'prefix', width: c.dInner },
    { name: 'delta', rows: 'prefix', width: c.dInner },
    { name: 'B', rows: 'prefix', width: c.dState },
  ],
  // projections per position, and α with its few live [dInner, m, T] temporaries (the terms of y and their running sum)
  bytesPerItem: (c, n) => 4 * n * (4 * c.dModel + 8 * c.dInner + 3 * (c.dtRank + 2 * c.dState)) + 4 * 7 * c.dInner * n * (n + 1),
  // the row's state terms [dInner, S] (a few), the conv's K rows and its two products (convOneRow), its mask block and
  // projections
  rowBytes: (c, n) => 4 * (5 * c.dInner * c.dState + 3 * c.dConv * c.dInner + 8 * c.dInner + 6 * c.dModel + 4 * n),
  graphs: { emitLayer: emitMamba1Layer, emitRow: emitMamba1Row, emitStep: emitMamba1Step },
  stateShape: (c) => ({ conv: [c.dConv - 1, c.dInner], ssm: [c.dInner, c.dState] }),
  reference: (ckpt) => new Mamba1Reference(ckpt),
};
