// What GPT-2 and GPT-NeoX share as model families (SPEC §7): the attention units are the heads, the clean context of
// the fast path is every earlier position's key and value, no conv path, no decay, LayerNorm before the head.
import type { TransformerConfig } from '../../types';
import type { ModelFamily } from '../types';
import { emitTransformerLayer } from './graph';
import { TransformerReference } from './reference';
import { transformerShapes } from './weights';

type Shared = Omit<ModelFamily<TransformerConfig>, 'arch' | 'label' | 'parseConfig' | 'storedName' | 'canonicalName' | 'positionTable'>;

export const transformerCommon: Shared = {
  describe: (c) =>
    `${c.arch === 'gpt2' ? 'GPT-2' : 'GPT-NeoX'}, d_model ${c.dModel}, n_layer ${c.nLayer}, ${c.nHead} heads, MLP ${c.dFf}, vocab ${c.vocabSize} (rows ${c.paddedVocabSize})` +
    (c.arch === 'gptneox' ? `, rotary ${c.rotaryPct} (base ${c.rotaryBase}), ${c.parallelResidual ? 'parallel' : 'sequential'} residual` : `, ${c.maxPositions} positions`),
  expectedShapes: transformerShapes,
  finalNorm: 'layer',
  convPath: false,
  zeroContextRow: false,
  // rotary (GPT-NeoX), and for both: which context columns are positions of a row (left padding leaves the softmax)
  usesPositions: true,
  attentionUnits: (c) => ({ unit: 'head', count: c.nHead }),
  contextSpec: (c) => [
    { name: 'k', rows: 'prefix', width: c.dModel },
    { name: 'v', rows: 'prefix', width: c.dModel },
  ],
  // hidden in/out and the norms, q/k/v, the scores and probabilities of every head (a few copies), the MLP
  bytesPerItem: (c, n) => 4 * n * (8 * c.dModel + 3 * c.dFf + 4 * c.nHead * (n + 1)),
  // the gathered keys and values (two copies each), one row of scores per head, the row's MLP
  rowBytes: (c, n) => 4 * (4 * 2 * n * c.dModel + 4 * c.nHead * n + 3 * c.dFf + 8 * c.dModel),
  graphs: { emitLayer: emitTransformerLayer },
  reference: (ckpt) => new TransformerReference(ckpt),
};
