// openEngineSession + core methods (predict, attention) + the worker client round trip.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeRandomCheckpoint } from '../../helpers/checkpointWriter';
import { writeTinyTokenizer } from '../../helpers/tinyTokenizer';
import { openEngineSession, closeEngineSession } from '../../../src/engine/engine';
import { predict, attention, softmaxTop, type PredictResult, type AttentionResult } from '../../../src/engine/runtime/methods';
import { EngineClient } from '../../../src/engine/runtime/client';
import { CancelledError, UserError, type EngineSession, type MethodContext, type ProgressEvent } from '../../../src/engine/types';
import type { Mamba2Config } from '../../../src/engine/types';

const tmp = mkdtempSync(join(tmpdir(), 'me-engine-'));
const modelDir = join(tmp, 'model');
const cacheRoot = join(tmp, 'cache');
const ctx: MethodContext = { progress: () => undefined, cancelled: () => false };
const PROMPT = 'The Eiffel Tower is in the city of';
let ortS: EngineSession;
let refS: EngineSession;

before(async () => {
  await writeRandomCheckpoint(modelDir, { format: 'state-spaces', weights: 'safetensors', dtype: 'bfloat16', dModel: 32, nLayer: 3, vocabSize: 300, dState: 16, headdim: 8, nGroups: 2, seed: 5 });
  writeTinyTokenizer(join(modelDir, 'tokenizer.json'));
  ortS = await openEngineSession(modelDir, { ep: 'cpu', cacheRoot, threads: 1 });
  refS = await openEngineSession(modelDir, { backend: 'reference' });
});
after(async () => {
  await closeEngineSession(ortS);
  await closeEngineSession(refS);
  rmSync(tmp, { recursive: true, force: true });
});

test('session identity and ep', () => {
  assert.equal(ortS.backend.ep, 'cpu');
  assert.equal(refS.backend.ep, 'reference');
  assert.equal(ortS.identity.nLayer, 3);
  assert.equal(ortS.identity.storedDType, 'bfloat16');
  assert.match(ortS.identity.tokenizer.sha256, /^[0-9a-f]{64}$/);
  assert.equal(ortS.computeDType, 'float32');
});

test('predict: tokens with offsets, top-N sorted, matches the float64 reference', async () => {
  const r = await predict(ortS, { prompt: PROMPT, top: 5 }, ctx);
  const q = await predict(refS, { prompt: PROMPT, top: 5 }, ctx);
  assert.equal(r.ep, 'cpu');
  assert.equal(r.top.length, 5);
  for (const t of r.tokens) if (t.end > t.start) assert.equal(PROMPT.slice(t.start, t.end), t.text);
  assert.deepEqual(r.tokens, q.tokens);
  for (let i = 1; i < 5; i++) assert.ok(r.top[i - 1].prob >= r.top[i].prob);
  assert.deepEqual(r.top.map((t) => t.id), q.top.map((t) => t.id));
  for (let i = 0; i < 5; i++) assert.ok(Math.abs(r.top[i].prob - q.top[i].prob) < 1e-5);
  for (const t of r.top) assert.ok(t.id < 300, 'padded rows excluded');
  assert.ok(r.timing_ms.total >= r.timing_ms.forward);
});

test('softmax over the real vocabulary only', () => {
  const logits = Float32Array.from([0, 0, 0, 100]);
  const t = softmaxTop(logits, 0, 3, 5);
  assert.equal(t.length, 3);
  assert.ok(Math.abs(t[0].prob - 1 / 3) < 1e-12);
});

test('attention: heads[h][i][j] = M_h, causal, matches the reference', async () => {
  const r = await attention(ortS, { prompt: PROMPT, layers: [2, 0] }, ctx);
  const q = await attention(refS, { prompt: PROMPT, layers: [2, 0] }, ctx);
  const n = r.tokens.length;
  assert.deepEqual(r.layers.map((l) => l.layer), [2, 0]);
  for (let k = 0; k < 2; k++) {
    const a = r.layers[k].heads!, b = q.layers[k].heads!;
    assert.equal(a.length, (ortS.backend.config as Mamba2Config).nHeads);
    let max = 0, diff = 0;
    for (let h = 0; h < a.length; h++)
      for (let i = 0; i < n; i++) {
        assert.equal(a[h][i].length, n);
        for (let j = 0; j < n; j++) {
          if (j > i) assert.ok(a[h][i][j] === 0);
          max = Math.max(max, Math.abs(b[h][i][j]));
          diff = Math.max(diff, Math.abs(a[h][i][j] - b[h][i][j]));
        }
      }
    assert.ok(diff / max < 1e-5, `attention rel diff ${diff / max}`);
  }
});

test('user errors: empty prompt, bad layer, missing model, missing tokenizer', async () => {
  await assert.rejects(predict(ortS, { prompt: '  ' }, ctx), (e: Error) => e instanceof UserError && /empty/.test(e.message));
  await assert.rejects(attention(ortS, { prompt: 'a', layers: [3] }, ctx), (e: Error) => e instanceof UserError && /0\.\.2/.test(e.message));
  await assert.rejects(openEngineSession(join(tmp, 'nope')), UserError);
  await assert.rejects(openEngineSession(modelDir, { tokenizerFile: join(tmp, 'none.json') }), UserError);
});

test('cancellation between layers', async () => {
  await assert.rejects(predict(ortS, { prompt: PROMPT }, { progress: () => undefined, cancelled: () => true }), CancelledError);
});

test('worker client: round trip with progress, errors kept, cancellation, dispose', async () => {
  const opening: ProgressEvent[] = [];
  const client = await EngineClient.start({ modelDir, ep: 'cpu', cacheRoot, threads: 1, onProgress: (p) => opening.push(p) });
  try {
    assert.equal(client.ep, 'cpu');
    assert.equal(client.info.identity.hash, ortS.identity.hash);
    const progress: ProgressEvent[] = [];
    const r = await client.call<PredictResult>('predict', { prompt: PROMPT, top: 3 }, { onProgress: (p) => progress.push(p) });
    const local = await predict(ortS, { prompt: PROMPT, top: 3 }, ctx);
    assert.deepEqual(r.top, local.top);
    assert.deepEqual(progress.map((p) => p.done), [1, 2, 3]);
    const a = await client.call<AttentionResult>('attention', { prompt: 'the cat', layers: [1] });
    assert.equal(a.layers[0].heads!.length, (ortS.backend.config as Mamba2Config).nHeads);
    // UserError crosses the thread boundary as a UserError with its message
    await assert.rejects(client.call('predict', { prompt: '' }), (e: Error) => e instanceof UserError && /empty/.test(e.message));
    await assert.rejects(client.call('nope', {}), /unknown engine method/);
    // cancellation: the worker is kept busy with a long prompt, so the flag is set long before it starts the
    // cancelled call (calls run one at a time, in order)
    const ac = new AbortController();
    const busy = client.call<PredictResult>('predict', { prompt: Array(60).fill(PROMPT).join(' ') });
    const p = client.call('predict', { prompt: PROMPT }, { signal: ac.signal });
    ac.abort();
    await busy;
    await assert.rejects(p, CancelledError);
    await assert.rejects(client.call('predict', { prompt: PROMPT }, { signal: ac.signal }), CancelledError);
    // still usable after a cancelled call
    assert.deepEqual((await client.call<PredictResult>('predict', { prompt: PROMPT, top: 3 })).top, local.top);
  } finally {
    await client.dispose();
  }
  await assert.rejects(client.call('predict', { prompt: PROMPT }), /disposed/);
});

test('worker client: a failing open is reported with the UserError', async () => {
  await assert.rejects(EngineClient.start({ modelDir: join(tmp, 'missing'), ep: 'cpu', cacheRoot }), (e: Error) => e instanceof UserError && /does not exist/.test(e.message));
});
