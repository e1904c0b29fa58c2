// Test fixtures of the knockout experiments: small random checkpoints on the float64 reference backend (and the ORT
// backend), a simple word tokenizer with character offsets, and an in-process EngineSession.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Checkpoint, Encoding, EngineSession, MethodContext, ModelBackend, ProgressEvent, Tokenizer } from '../../../src/engine/types';
import { openCheckpoint } from '../../../src/engine/checkpoint/index';
import { ReferenceBackend } from '../../../src/engine/reference/referenceBackend';
import { writeRandomCheckpoint } from '../../helpers/checkpointWriter';

export function tmpDir(tag: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `mx-${tag}-`));
}

/** Word-level tokenizer: GPT-style pieces (' word', punctuation, spaces), ids by a stable hash into [1, vocab). */
export class WordTokenizer implements Tokenizer {
  readonly file = '<word-tokenizer>';
  private readonly byId = new Map<number, string>();
  constructor(readonly vocabSize: number) {}
  idOf(piece: string): number {
    let h = 2166136261;
    for (let i = 0; i < piece.length; i++) h = Math.imul(h ^ piece.charCodeAt(i), 16777619) >>> 0;
    const id = 1 + (h % (this.vocabSize - 1));
    this.byId.set(id, piece);
    return id;
  }
  encode(text: string): Encoding {
    const ids: number[] = [];
    const tokens: string[] = [];
    const offsets: [number, number][] = [];
    const re = / ?[A-Za-z0-9]+| ?[^A-Za-z0-9\s]+|\s+(?!\S)|\s+/g;
    let m: RegExpExecArray | null;
    while ((m = re.exec(text))) {
      ids.push(this.idOf(m[0]));
      tokens.push(m[0].replace(/ /g, 'Ġ'));
      // trim_offsets-like: a leading space is not part of the span
      const lead = m[0].startsWith(' ') && m[0].length > 1 ? 1 : 0;
      offsets.push([m.index + lead, m.index + m[0].length]);
    }
    return { ids, tokens, offsets };
  }
  decode(ids: number[]): string {
    return ids.map((i) => this.byId.get(i) ?? `<${i}>`).join('');
  }
  idToToken(id: number): string | undefined {
    return this.byId.get(id)?.replace(/ /g, 'Ġ');
  }
  tokenToId(token: string): number | undefined {
    return this.idOf(token.replace(/Ġ/g, ' '));
  }
}

export interface Fixture {
  dir: string;
  ckpt: Checkpoint;
  ref: ReferenceBackend;
}

export interface FixtureShape {
  /** model family (default mamba2) */
  arch?: 'mamba2' | 'mamba1';
  variant?: 'mamba' | 'falcon_mamba';
  dModel?: number;
  nLayer?: number;
  vocabSize?: number;
  dState?: number;
  headdim?: number;
  nGroups?: number;
  seed?: number;
}

export async function makeFixture(shape: FixtureShape = {}): Promise<Fixture> {
  const dir = tmpDir('ckpt');
  await writeRandomCheckpoint(dir, {
    arch: shape.arch,
    variant: shape.variant,
    format: shape.variant === 'falcon_mamba' ? 'hf' : 'state-spaces',
    weights: 'safetensors',
    dtype: 'float32',
    dModel: shape.dModel ?? 16,
    nLayer: shape.nLayer ?? 6,
    vocabSize: shape.vocabSize ?? 100,
    dState: shape.dState ?? 8,
    headdim: shape.headdim ?? 8,
    nGroups: shape.nGroups ?? 1,
    seed: shape.seed ?? 1,
  });
  const ckpt = await openCheckpoint(dir);
  return { dir, ckpt, ref: new ReferenceBackend(ckpt) };
}

export function makeSession(backend: ModelBackend, ckpt: Checkpoint, tokenizer?: Tokenizer): EngineSession {
  const tok = tokenizer ?? new WordTokenizer(ckpt.config.vocabSize);
  return {
    modelDir: ckpt.dir,
    checkpoint: ckpt,
    tokenizer: tok,
    backend,
    identity: {
      path: ckpt.dir,
      hash: ckpt.hash,
      format: ckpt.config.format,
      dModel: ckpt.config.dModel,
      nLayer: ckpt.config.nLayer,
      storedDType: ckpt.storedDType,
      tokenizer: { file: tok.file, sha256: 'test' },
    },
    computeDType: 'float32',
  };
}

export function makeCtx(cancelAfter?: number): MethodContext & { events: ProgressEvent[]; checks: number } {
  const events: ProgressEvent[] = [];
  const c = {
    events,
    checks: 0,
    progress(p: ProgressEvent) {
      events.push(p);
    },
    cancelled(): boolean {
      c.checks++;
      return cancelAfter !== undefined && c.checks > cancelAfter;
    },
  };
  return c;
}

/** Backend wrapper that counts layer calls and batch sizes. */
export class CountingBackend implements ModelBackend {
  layerCalls = 0;
  layerItems = 0;
  maxBatchSeen = 0;
  constructor(private readonly inner: ModelBackend) {}
  get config() {
    return this.inner.config;
  }
  get ep() {
    return this.inner.ep;
  }
  embed(ids: Int32Array, b: number, n: number) {
    return this.inner.embed(ids, b, n);
  }
  layer(i: number, h: Float32Array, b: number, n: number, ...rest: [mask?: Float32Array, att?: boolean, ctx?: boolean, convMask?: Float32Array, unitMask?: Float32Array]) {
    this.layerCalls++;
    this.layerItems += b;
    this.maxBatchSeen = Math.max(this.maxBatchSeen, b);
    return this.inner.layer(i, h, b, n, ...rest);
  }
  headLast(h: Float32Array, b: number, n: number) {
    return this.inner.headLast(h, b, n);
  }
  dispose() {
    return this.inner.dispose();
  }
}

/** Direct float64 reference of one knockout: p′ of `target` with (last ← c ∈ blocked) cut in layers [start, start+size). */
export function directProb64(ref: ReferenceBackend, ids: number[], target: number | undefined, start: number, size: number, blocked: number[]): { prob: number; target: number; argmax: number } {
  const n = ids.length;
  const mask = new Float64Array(n * n).fill(1);
  for (const c of blocked) mask[(n - 1) * n + c] = 0;
  const masks = blocked.length ? (l: number) => (l >= start && l < start + size ? mask : undefined) : undefined;
  const { logits } = ref.forward64(Int32Array.from(ids), 1, n, masks);
  const V = ref.config.vocabSize;
  let max = -Infinity;
  let arg = 0;
  for (let v = 0; v < V; v++) if (logits[v] > max) [max, arg] = [logits[v], v];
  let sum = 0;
  for (let v = 0; v < V; v++) sum += Math.exp(logits[v] - max);
  const t = target ?? arg;
  return { prob: Math.exp(logits[t] - max) / sum, target: t, argmax: arg };
}

/** ORT CPU backend of a fixture (ONNX cache in a temp folder). */
export async function ortBackendFor(fx: Fixture, opts: { padBatches?: boolean; fusedSweep?: boolean } = {}): Promise<ModelBackend> {
  const { ensureOnnxCache } = await import('../../../src/engine/onnx/cache');
  const { OrtBackend } = await import('../../../src/engine/runtime/ortBackend');
  const { dir, manifest } = ensureOnnxCache(fx.ckpt, { root: tmpDir('onnx') });
  return OrtBackend.open(fx.ckpt, dir, manifest, { ep: 'cpu', threads: 1, ...opts });
}
