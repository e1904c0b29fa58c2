// The input of layer 0 for every family: the token's embedding row, plus (GPT-2) the learned position row. Rows are
// read from the checkpoint once and kept. Positions past the model's table are a UserError.
import { UserError, type Checkpoint } from '../types';
import { familyOf } from './index';

export class Embedder {
  private readonly tokens = new Map<number, Float32Array>();
  private readonly positions = new Map<number, Float32Array>();
  private readonly positionTable?: string;
  private readonly maxPositions?: number;

  constructor(private readonly ckpt: Checkpoint) {
    const c = ckpt.config;
    const family = familyOf(c);
    this.positionTable = family.positionTable?.(c);
    this.maxPositions = 'maxPositions' in c ? c.maxPositions : undefined;
  }

  private token(id: number): Float32Array {
    let row = this.tokens.get(id);
    if (!row) {
      const V = this.ckpt.config.paddedVocabSize;
      if (!Number.isInteger(id) || id < 0 || id >= V) throw new RangeError(`token id ${id} out of range [0, ${V})`);
      row = this.ckpt.readRowsF32('embedding.weight', id, 1);
      this.tokens.set(id, row);
    }
    return row;
  }

  private position(t: number): Float32Array | undefined {
    if (!this.positionTable) return undefined;
    let row = this.positions.get(t);
    if (!row) {
      row = this.ckpt.readRowsF32(this.positionTable, t, 1);
      this.positions.set(t, row);
    }
    return row;
  }

  /** [batch, seqLen, d] float32 */
  embed(ids: Int32Array, batch: number, seqLen: number): Float32Array {
    const d = this.ckpt.config.dModel;
    if (this.maxPositions !== undefined && seqLen > this.maxPositions) {
      throw new UserError(`a prompt of ${seqLen} tokens is longer than the model's ${this.maxPositions} positions`);
    }
    const out = new Float32Array(batch * seqLen * d);
    for (let t = 0; t < batch * seqLen; t++) {
      out.set(this.token(ids[t]), t * d);
      const p = this.position(t % seqLen);
      if (p) for (let k = 0; k < d; k++) out[t * d + k] = Math.fround(out[t * d + k] + p[k]);
    }
    return out;
  }

  /** the same in float64 (the sum of the float32 rows, unrounded) */
  embed64(ids: Int32Array, batch: number, seqLen: number): Float64Array {
    const d = this.ckpt.config.dModel;
    if (this.maxPositions !== undefined && seqLen > this.maxPositions) {
      throw new UserError(`a prompt of ${seqLen} tokens is longer than the model's ${this.maxPositions} positions`);
    }
    const out = new Float64Array(batch * seqLen * d);
    for (let t = 0; t < batch * seqLen; t++) {
      const row = this.token(ids[t]);
      const p = this.position(t % seqLen);
      for (let k = 0; k < d; k++) out[t * d + k] = row[k] + (p ? p[k] : 0);
    }
    return out;
  }

  clear(): void {
    this.tokens.clear();
    this.positions.clear();
  }
}
