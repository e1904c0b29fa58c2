// Kept traces (src/engine/runtime/keptTraces.ts): the heatmap's attention of a layer comes from the trace's own clean
// forward, bit for bit the same as a fresh computation, in one layer call; the LRU; typed arrays through the worker.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeRandomCheckpoint } from '../../helpers/checkpointWriter';
import { writeTinyTokenizer } from '../../helpers/tinyTokenizer';
import { openEngineSession, closeEngineSession } from '../../../src/engine/engine';
import { methods, type AttentionResult } from '../../../src/engine/runtime/methods';
import { attentionLayer, TraceCache, traceCache, traceKept, type AttentionLayerReply, type TraceKeptResult } from '../../../src/engine/runtime/keptTraces';
import { transferList } from '../../../src/engine/runtime/transfer';
import { EngineClient } from '../../../src/engine/runtime/client';
import { UserError, type EngineSession, type MethodContext } from '../../../src/engine/types';

const tmp = mkdtempSync(join(tmpdir(), 'me-kept-'));
const m2Dir = join(tmp, 'm2');
const m1Dir = join(tmp, 'm1');
const cacheRoot = join(tmp, 'cache');
const ctx: MethodContext = { progress: () => undefined, cancelled: () => false };
const PROMPT = 'The Eiffel Tower is in the city of';
const SUBJECT = 'The Eiffel Tower';
let m2: EngineSession;
let m1: EngineSession;

before(async () => {
  await writeRandomCheckpoint(m2Dir, { format: 'state-spaces', weights: 'safetensors', dtype: 'float32', dModel: 32, nLayer: 4, vocabSize: 300, dState: 16, headdim: 8, nGroups: 2, seed: 7 });
  writeTinyTokenizer(join(m2Dir, 'tokenizer.json'));
  await writeRandomCheckpoint(m1Dir, { arch: 'mamba1', format: 'hf', weights: 'safetensors', dtype: 'float32', dModel: 16, nLayer: 3, vocabSize: 320, dState: 4, headdim: 1, nGroups: 1, seed: 8 });
  writeTinyTokenizer(join(m1Dir, 'tokenizer.json'));
  m2 = await openEngineSession(m2Dir, { ep: 'cpu', cacheRoot, threads: 1 });
  m1 = await openEngineSession(m1Dir, { ep: 'cpu', cacheRoot, threads: 1 });
});
after(async () => {
  await closeEngineSession(m2);
  await closeEngineSession(m1);
  rmSync(tmp, { recursive: true, force: true });
});

/** Counts the backend's layer calls (by layer index) while f runs. */
async function countLayers<T>(s: EngineSession, f: () => Promise<T>): Promise<{ result: T; calls: number[] }> {
  const b = s.backend;
  const original = b.layer;
  const calls: number[] = [];
  (b as { layer: typeof original }).layer = function (this: typeof b, index, ...rest) {
    calls.push(index);
    return original.call(this, index, ...rest);
  } as typeof original;
  try {
    return { result: await f(), calls };
  } finally {
    (b as { layer: typeof original }).layer = original;
  }
}

/** Bit for bit: same length and Object.is for every value (±0 and NaN told apart as stored). */
function sameBits(a: ArrayLike<number>, b: ArrayLike<number>, what: string): void {
  assert.equal(a.length, b.length, `${what}: length`);
  for (let k = 0; k < a.length; k++) if (!Object.is(a[k], b[k])) assert.fail(`${what}[${k}]: ${a[k]} vs ${b[k]}`);
}
const flat = (m: number[][][] | number[][]) => (m as unknown[]).flat(2) as number[];

test('Mamba-2: every layer of a kept trace equals a fresh forward from layer 0, bit for bit, in one layer call each', async () => {
  const { trace, traceId } = await traceKept(m2, { prompt: PROMPT, subject: SUBJECT, windows: [2] }, ctx);
  assert.equal(trace.kind, 'trace');
  assert.match(traceId, /^[0-9a-f-]{36}$/);
  const L = m2.backend.config.nLayer;
  for (let layer = L - 1; layer >= 0; layer--) {
    const { result: r, calls } = await countLayers(m2, () => attentionLayer(m2, { traceId, prompt: PROMPT, layer }, ctx));
    assert.deepEqual(calls, [layer], `layer ${layer}: one layer call, no earlier layer re-run`);
    assert.equal(r.traceId, traceId);
    const fresh = await attention(m2, layer);
    assert.equal(r.unit, 'head');
    assert.equal(r.count, fresh.layers[0].heads!.length);
    assert.equal(r.n, trace.tokens.length);
    assert.ok(r.heads instanceof Float32Array);
    sameBits(r.heads!, flat(fresh.layers[0].heads!), `layer ${layer} heads`);
    // the decay thirds' means, from the same matrices
    assert.deepEqual([r.groups!.fast.count, r.groups!.middle.count, r.groups!.slow.count].reduce((a, b) => a + b), r.count);
    const h0 = r.groups!.slow.units![0];
    const nn = r.n * r.n;
    const k = 2 * r.n + 1;
    const want = r.groups!.slow.units!.reduce((a, h) => a + r.heads![h * nn + k], 0) / r.groups!.slow.units!.length;
    assert.ok(Math.abs(r.groups!.slow.mean[k] - want) < 1e-12, `slow mean (first head ${h0})`);
    // the reply's buffers are transferred; the kept attention is not among them
    assert.equal(transferList(r).includes(r.heads!.buffer as ArrayBuffer), true);
    const kept = traceCache(m2).get(traceId)!.attention.get(layer)!;
    assert.equal(transferList(r).includes(kept.buffer as ArrayBuffer), false);
  }
  // asked again: from the cache, no layer call at all, the same values
  const first = await attentionLayer(m2, { traceId, prompt: PROMPT, layer: 1 }, ctx);
  const { result: again, calls } = await countLayers(m2, () => attentionLayer(m2, { traceId, prompt: PROMPT, layer: 1 }, ctx));
  assert.deepEqual(calls, []);
  sameBits(again.heads!, first.heads!, 'cached layer 1');
});

async function attention(s: EngineSession, layer: number, channels?: number[]): Promise<AttentionResult> {
  return (await methods.attention(s, { prompt: PROMPT, layers: [layer], ...(channels ? { channels } : {}) }, ctx)) as AttentionResult;
}

test('Mamba-1: mean α, max |α|, one channel and the group means equal the fresh computation bit for bit', async () => {
  const { traceId } = await traceKept(m1, { prompt: PROMPT, subject: SUBJECT, windows: [1] }, ctx);
  const fresh = (await attention(m1, 1)).layers[0];
  const { result: r, calls } = await countLayers(m1, () => attentionLayer(m1, { traceId, prompt: PROMPT, layer: 1, channel: 5 }, ctx));
  assert.deepEqual(calls, [1]);
  assert.equal(r.unit, 'channel');
  assert.equal(r.count, fresh.channelIds!.length);
  assert.equal(r.heads, undefined);
  sameBits(r.mean!, flat(fresh.mean!), 'mean');
  sameBits(r.maxAbs!, flat(fresh.maxAbs!), 'maxAbs');
  assert.equal(r.selected!.id, 5);
  sameBits(r.selected!.matrix, flat(fresh.channels![5]), 'channel 5');
  const one = (await attention(m1, 1, [5])).layers[0];
  sameBits(r.selected!.matrix, flat(one.channels![0]), 'channel 5 (asked alone)');
  // the groups' means: of all channels of the third, in float64 as the host computed them before
  const n = r.n;
  const slow = r.groups!.slow;
  assert.equal(slow.units, undefined, 'no channel lists');
  const report = (await methods.features(m1, {}, ctx)) as { layers: { slow: number[] }[] };
  const units = report.layers[1].slow;
  assert.equal(slow.count, units.length);
  const want = new Float64Array(n * n);
  for (const u of units) for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) want[i * n + j] += fresh.channels![u][i][j];
  for (let k = 0; k < want.length; k++) want[k] /= units.length;
  sameBits(slow.mean, want, 'slow mean');
  // channel errors; a remembered channel out of range is left out when lenient
  await assert.rejects(attentionLayer(m1, { traceId, prompt: PROMPT, layer: 1, channel: r.count }, ctx), (e: Error) => e instanceof UserError && /channel \d+ is out of range: the model has channels 0\.\.\d+/.test(e.message));
  assert.equal((await attentionLayer(m1, { traceId, prompt: PROMPT, layer: 1, channel: r.count, lenientChannel: true }, ctx)).selected, undefined);
  await assert.rejects(attentionLayer(m2, { prompt: PROMPT, layer: 0, channel: 1 }, ctx), /has heads, not channels/);
});

test('a trace that is not kept (unknown id, another prompt): its clean forward runs once, then one layer call per layer', async () => {
  const { traceId } = await traceKept(m2, { prompt: PROMPT, subject: SUBJECT, windows: [2] }, ctx);
  const L = m2.backend.config.nLayer;
  const other = 'the cat sat on the mat';
  // the id of another prompt's trace is not used for this prompt
  const { result: r, calls } = await countLayers(m2, () => attentionLayer(m2, { traceId, prompt: other, layer: 2 }, ctx));
  assert.notEqual(r.traceId, traceId);
  assert.deepEqual(calls, [...Array.from({ length: L - 1 }, (_, l) => l), 2], 'the layer inputs once, then layer 2');
  const fresh = (await methods.attention(m2, { prompt: other, layers: [2] }, ctx)) as AttentionResult;
  sameBits(r.heads!, flat(fresh.layers[0].heads!), 'other prompt, layer 2');
  const { calls: next } = await countLayers(m2, () => attentionLayer(m2, { traceId: r.traceId, prompt: other, layer: 0 }, ctx));
  assert.deepEqual(next, [0]);
  const { result: unknown, calls: c3 } = await countLayers(m2, () => attentionLayer(m2, { traceId: 'no-such-id', prompt: other, layer: 0 }, ctx));
  assert.equal(c3.length, L);
  assert.notEqual(unknown.traceId, 'no-such-id');
  await assert.rejects(attentionLayer(m2, { traceId, prompt: PROMPT, layer: L }, ctx), /layer 4 is out of range: the model has layers 0\.\.3/);
});

test('a steered trace: its layers are computed under the same steering', async () => {
  const steer = '1:0-15:3';
  const { traceId } = (await methods.traceKept(m2, { prompt: PROMPT, subject: SUBJECT, windows: [2], steer }, ctx)) as TraceKeptResult;
  const r = (await attentionLayer(m2, { traceId, prompt: PROMPT, layer: 3 }, ctx)) as AttentionLayerReply;
  const fresh = (await methods.attention(m2, { prompt: PROMPT, layers: [3], steer }, ctx)) as AttentionResult;
  sameBits(r.heads!, flat(fresh.layers[0].heads!), 'steered layer 3');
  const plain = await attention(m2, 3);
  assert.notDeepEqual(Array.from(r.heads!), flat(plain.layers[0].heads!), 'the steering changes layer 3');
});

test('TraceCache: least recently used traces go first, by count and by bytes', () => {
  const c = new TraceCache(2, 1000);
  const inputs = (bytes: number) => [new Float32Array(bytes / 4)];
  const a = c.add('a', Int32Array.of(1), inputs(200));
  const b = c.add('b', Int32Array.of(1), inputs(200));
  assert.ok(c.get(a.id), 'a used: b is now the oldest');
  const d = c.add('d', Int32Array.of(1), inputs(200));
  assert.equal(c.size, 2);
  assert.equal(c.get(b.id), undefined);
  assert.ok(c.get(a.id) && c.get(d.id));
  // attention within the budget is kept; beyond it, older traces go, then the new matrix is not kept
  c.keepAttention(d, 0, new Float32Array(25));
  assert.equal(d.attention.size, 1);
  c.keepAttention(d, 1, new Float32Array(150));
  assert.equal(c.get(a.id), undefined, 'a evicted for d’s attention');
  assert.equal(d.attention.size, 2);
  c.keepAttention(d, 2, new Float32Array(50));
  assert.equal(d.attention.has(2), false, 'over the budget: not kept');
  assert.ok(c.bytes <= 1000);
  // the newest trace is kept whatever its size
  const big = c.add('big', Int32Array.of(1), inputs(4000));
  assert.equal(c.size, 1);
  assert.ok(c.get(big.id));
});

test('through the worker: typed arrays arrive as Float32Array, and the kept attention survives the transfer', async () => {
  const client = await EngineClient.start({ modelDir: m2Dir, ep: 'cpu', cacheRoot, threads: 1 });
  try {
    const { trace, traceId } = await client.call<TraceKeptResult>('traceKept', { prompt: PROMPT, subject: SUBJECT, windows: [2] });
    assert.equal(trace.prompt, PROMPT);
    const r1 = await client.call<AttentionLayerReply>('attentionLayer', { traceId, prompt: PROMPT, layer: 2 });
    const r2 = await client.call<AttentionLayerReply>('attentionLayer', { traceId, prompt: PROMPT, layer: 2 });
    assert.ok(r1.heads instanceof Float32Array && r1.groups!.fast.mean instanceof Float64Array);
    assert.equal(r1.traceId, traceId);
    sameBits(r2.heads!, r1.heads!, 'second request (from the cache after the first was transferred)');
    const fresh = (await attention(m2, 2)).layers[0];
    sameBits(r1.heads!, flat(fresh.heads!), 'worker layer 2');
  } finally {
    await client.dispose();
  }
});
