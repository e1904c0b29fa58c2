// Float64 pure-TypeScript model (embedding, the family's blocks, norm_f + head): the test oracle of every other
// backend. Small and clear over fast. Hidden states cross the ModelBackend interface as float32, but `forward64`
// keeps the whole residual stream in float64 for tighter parity checks. The blocks are the family's
// (src/engine/arch/<family>/reference.ts).
import type { BackendHints, Checkpoint, Mamba2Config, ModelBackend, ModelConfig } from '../types';
import type { FamilyReference } from '../arch/types';
import { familyOf } from '../arch/index';
import { Embedder } from '../arch/embedding';

export { softplus } from '../arch/mamba2/reference';
export type { ReferenceLayerWeights } from '../arch/mamba2/reference';

const f64 = (a: Float32Array): Float64Array => Float64Array.from(a);

/** `C` only types `config` for callers that know the family (default: Mamba-2, the first family). */
export class ReferenceBackend<C extends ModelConfig = Mamba2Config> implements ModelBackend {
  readonly ep = 'reference';
  readonly hints: BackendHints = { lastRowBatch: 64, callBytes: 512 * 1024 * 1024, chunkRows: 512, datasetChunk: 8 };
  readonly config: C;
  private readonly family: FamilyReference;
  private normF?: Float64Array;
  private normFBias?: Float64Array | null;
  private head?: Float64Array;
  private readonly embedder: Embedder;
  private steering: readonly (Float32Array | undefined)[] | undefined;

  constructor(private readonly ckpt: Checkpoint) {
    this.config = ckpt.config as C;
    this.family = familyOf(ckpt.config).reference(ckpt);
    this.embedder = new Embedder(ckpt);
  }

  /** The family's float64 weights of layer i (Mamba-2: ReferenceLayerWeights), for tests. */
  weights(i: number): C extends Mamba2Config ? import('../arch/mamba2/reference').ReferenceLayerWeights : unknown {
    return (this.family as unknown as { weights(i: number): never }).weights(i);
  }

  embed64(ids: Int32Array, batch: number, seqLen: number): Float64Array {
    return this.embedder.embed64(ids, batch, seqLen);
  }

  async embed(ids: Int32Array, batch: number, seqLen: number): Promise<Float32Array> {
    return Float32Array.from(this.embed64(ids, batch, seqLen));
  }

  /** One block of the model's family in float64 (see FamilyReference.layer64). */
  layer64(
    index: number,
    hidden: Float64Array,
    batch: number,
    N: number,
    mask?: ArrayLike<number>,
    wantAttention = false,
    convMask?: ArrayLike<number>,
    unitMask?: ArrayLike<number>,
  ): { hidden: Float64Array; attention?: Float64Array } {
    return this.family.layer64(index, hidden, batch, N, mask, wantAttention, convMask, unitMask, this.steering?.[index]);
  }

  setSteering(perLayer: readonly (Float32Array | undefined)[] | undefined): void {
    this.steering = perLayer;
  }

  async layer(index: number, hidden: Float32Array, batch: number, seqLen: number, mask?: Float32Array, wantAttention?: boolean, _wantContext?: boolean, convMask?: Float32Array, unitMask?: Float32Array) {
    const r = this.layer64(index, Float64Array.from(hidden), batch, seqLen, mask, wantAttention, convMask, unitMask);
    return { hidden: Float32Array.from(r.hidden), attention: r.attention ? Float32Array.from(r.attention) : undefined };
  }

  /** norm_f + head on the last position: float64 logits [batch, paddedVocab]. */
  headLast64(hidden: Float64Array, batch: number, N: number): Float64Array {
    const c = this.config;
    const d = c.dModel, V = c.paddedVocabSize;
    if (!this.normF) this.normF = f64(this.ckpt.readF32('norm_f.weight'));
    if (this.normFBias === undefined) this.normFBias = familyOf(c).finalNorm === 'layer' ? f64(this.ckpt.readF32('norm_f.bias')) : null;
    if (!this.head) {
      const untied = !c.tieEmbeddings && this.ckpt.tensorNames().includes('lm_head.weight');
      this.head = f64(this.ckpt.readF32(untied ? 'lm_head.weight' : 'embedding.weight'));
    }
    const logits = new Float64Array(batch * V);
    const u = new Float64Array(d);
    for (let b = 0; b < batch; b++) {
      const o = (b * N + N - 1) * d;
      const bias = this.normFBias;
      // RMSNorm (Mamba) or LayerNorm (transformers: centred, plus the bias)
      let mu = 0;
      if (bias) {
        for (let k = 0; k < d; k++) mu += hidden[o + k];
        mu /= d;
      }
      let ss = 0;
      for (let k = 0; k < d; k++) ss += (hidden[o + k] - mu) ** 2;
      const r = 1 / Math.sqrt(ss / d + c.eps);
      for (let k = 0; k < d; k++) u[k] = (hidden[o + k] - mu) * r * this.normF[k] + (bias ? bias[k] : 0);
      for (let v = 0; v < V; v++) {
        let s = 0;
        for (let k = 0; k < d; k++) s += u[k] * this.head[v * d + k];
        logits[b * V + v] = s;
      }
    }
    return logits;
  }

  async headLast(hidden: Float32Array, batch: number, seqLen: number): Promise<Float32Array> {
    return Float32Array.from(this.headLast64(Float64Array.from(hidden), batch, seqLen));
  }

  /**
   * Whole model in float64. masks(layer) gives the knockout mask of a layer (or undefined), convMasks(layer) its
   * conv-tap mask (complete knockout);
   * attentionLayers lists the layers whose M is returned.
   */
  forward64(
    ids: Int32Array,
    batch: number,
    N: number,
    masks?: (layer: number) => ArrayLike<number> | undefined,
    attentionLayers: number[] = [],
    convMasks?: (layer: number) => ArrayLike<number> | undefined,
    unitMasks?: (layer: number) => ArrayLike<number> | undefined,
  ): { logits: Float64Array; attention: Map<number, Float64Array> } {
    let h = this.embed64(ids, batch, N);
    const attention = new Map<number, Float64Array>();
    for (let l = 0; l < this.config.nLayer; l++) {
      const r = this.layer64(l, h, batch, N, masks?.(l), attentionLayers.includes(l), convMasks?.(l), unitMasks?.(l));
      h = r.hidden;
      if (r.attention) attention.set(l, r.attention);
    }
    return { logits: this.headLast64(h, batch, N), attention };
  }

  async dispose(): Promise<void> {
    this.family.dispose();
    this.embedder.clear();
    this.head = undefined;
  }
}
