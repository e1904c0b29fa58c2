// Greedy generation, steered beside clean (SPEC §5): the prompt goes through each layer's recurrent step graph one
// position at a time (conv and SSM state in and out), so a generated token costs one position, not a re-run of the
// prefix. The step graphs compute the same maths as the attention form (tests: greedy tokens equal full forwards).
import { familyOf } from '../arch/index';
import { compileSteering, type SteerTriple } from '../interventions/steering';
import { UserError, CancelledError, type EngineSession, type MethodContext } from '../types';
import { topK } from './numerics';

export interface GenerateParams {
  prompt: string;
  /** tokens to generate (default 20, at most 1024) */
  maxTokens?: number;
  /** steering triples; the steered continuation is computed beside the clean one */
  steer?: SteerTriple[];
  /** top-k per step (default 5) */
  top?: number;
}

export interface GenerationStep {
  id: number;
  text: string;
  top: { id: number; text: string; prob: number }[];
}

export interface GenerationRun {
  ids: number[];
  text: string;
  steps: GenerationStep[];
}

export interface GenerateResult {
  prompt: string;
  promptIds: number[];
  clean: GenerationRun;
  /** with steering */
  steered?: GenerationRun;
  steer?: SteerTriple[];
  ep: string;
  tokensPerSecond: { clean: number; steered?: number };
}

/** Greedy decoding of `maxTokens` tokens after the prompt with the backend's current steering. */
export async function greedy(session: EngineSession, ids: readonly number[], maxTokens: number, k: number, ctx?: MethodContext): Promise<GenerationRun & { seconds: number }> {
  const b = session.backend;
  const c = b.config;
  const family = familyOf(c);
  if (!family.stateShape) return greedyFull(session, ids, maxTokens, k, ctx);
  if (!b.step) throw new UserError(`the ${b.ep} backend has no recurrent step graphs: generation needs the ONNX Runtime backend`);
  const st = family.stateShape(c);
  const conv: Float32Array[] = Array.from({ length: c.nLayer }, () => new Float32Array(st.conv[0] * st.conv[1]));
  const ssm: Float32Array[] = Array.from({ length: c.nLayer }, () => new Float32Array(st.ssm.reduce((x, y) => x * y, 1)));
  const t0 = performance.now();
  const feed = async (id: number): Promise<Float32Array> => {
    let h = await b.embed(Int32Array.of(id), 1, 1);
    for (let l = 0; l < c.nLayer; l++) {
      const o = await b.step!(l, h, 1, conv[l], ssm[l]);
      h = o.hidden;
      conv[l] = o.convState;
      ssm[l] = o.ssmState;
    }
    return b.headLast(h, 1, 1);
  };
  let logits: Float32Array | undefined;
  for (const id of ids) {
    if (ctx?.cancelled()) throw new CancelledError();
    logits = await feed(id);
  }
  const out: number[] = [];
  const steps: GenerationStep[] = [];
  for (let s = 0; s < maxTokens; s++) {
    if (ctx?.cancelled()) throw new CancelledError();
    const top = topK(logits!, 0, c.vocabSize, k);
    const id = top[0].id;
    out.push(id);
    steps.push({ id, text: session.tokenizer.decode([id]), top: top.map((t) => ({ ...t, text: session.tokenizer.decode([t.id]) })) });
    ctx?.progress({ done: s + 1, total: maxTokens, message: 'tokens' });
    if (s + 1 < maxTokens) logits = await feed(id);
  }
  return { ids: out, text: session.tokenizer.decode(out), steps, seconds: (performance.now() - t0) / 1000 };
}

/**
 * Greedy decoding for families without a recurrent state (transformers): every token is one whole forward of the
 * prompt and the tokens so far (the same numbers as a key/value cache, at quadratic cost; generation is not what
 * these models are here for).
 */
async function greedyFull(session: EngineSession, ids: readonly number[], maxTokens: number, k: number, ctx?: MethodContext): Promise<GenerationRun & { seconds: number }> {
  const b = session.backend;
  const c = b.config;
  const t0 = performance.now();
  const seq = [...ids];
  const out: number[] = [];
  const steps: GenerationStep[] = [];
  for (let s = 0; s < maxTokens; s++) {
    if (ctx?.cancelled()) throw new CancelledError();
    let h = await b.embed(Int32Array.from(seq), 1, seq.length);
    for (let l = 0; l < c.nLayer; l++) h = (await b.layer(l, h, 1, seq.length)).hidden;
    const top = topK(await b.headLast(h, 1, seq.length), 0, c.vocabSize, k);
    const id = top[0].id;
    out.push(id);
    seq.push(id);
    steps.push({ id, text: session.tokenizer.decode([id]), top: top.map((t) => ({ ...t, text: session.tokenizer.decode([t.id]) })) });
    ctx?.progress({ done: s + 1, total: maxTokens, message: 'tokens' });
  }
  return { ids: out, text: session.tokenizer.decode(out), steps, seconds: (performance.now() - t0) / 1000 };
}

export async function runGenerate(session: EngineSession, params: GenerateParams, ctx?: MethodContext): Promise<GenerateResult> {
  if (typeof params.prompt !== 'string' || params.prompt.trim() === '') throw new UserError('the prompt is empty');
  const maxTokens = params.maxTokens ?? 20;
  if (!Number.isInteger(maxTokens) || maxTokens < 1 || maxTokens > 1024) throw new UserError(`--max-tokens must be an integer from 1 to 1024, got ${params.maxTokens}`);
  const k = params.top ?? 5;
  if (!Number.isInteger(k) || k < 1) throw new UserError(`--top must be a positive integer, got ${params.top}`);
  const steer = params.steer ?? [];
  const perLayer = steer.length ? compileSteering(session.backend.config, steer) : undefined;
  const ids = session.tokenizer.encode(params.prompt).ids;
  if (ids.length === 0) throw new UserError(`the prompt '${params.prompt}' tokenises to nothing`);
  const b = session.backend;
  b.setSteering?.(undefined);
  const clean = await greedy(session, ids, maxTokens, k, ctx);
  let steered: (GenerationRun & { seconds: number }) | undefined;
  if (perLayer) {
    if (!b.setSteering) throw new UserError(`the ${b.ep} backend cannot steer`);
    b.setSteering(perLayer);
    try {
      steered = await greedy(session, ids, maxTokens, k, ctx);
    } finally {
      b.setSteering(undefined);
    }
  }
  const strip = ({ seconds: _s, ...r }: GenerationRun & { seconds: number }): GenerationRun => r;
  return {
    prompt: params.prompt,
    promptIds: ids,
    clean: strip(clean),
    ...(steered ? { steered: strip(steered), steer } : {}),
    ep: b.ep,
    tokensPerSecond: { clean: maxTokens / clean.seconds, ...(steered ? { steered: maxTokens / steered.seconds } : {}) },
  };
}
