// EngineClient's view of its calls (inFlight, whenIdle, cancelAll) on a real engine worker, and the RestartScheduler
// driven by it: a settings change during a dataset run lets the run finish; "Restart now" cancels it with its
// checkpoint kept.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeRandomCheckpoint } from '../../helpers/checkpointWriter';
import { writeTinyTokenizer } from '../../helpers/tinyTokenizer';
import { EngineClient } from '../../../src/engine/runtime/client';
import { CancelledError } from '../../../src/engine/types';
import type { DatasetRunResult } from '../../../src/engine/experiments/resultTypes';
import { RestartScheduler, RESTART_NOW } from '../../../src/extension/logic/restart';

const tmp = mkdtempSync(join(tmpdir(), 'me-client-calls-'));
const modelDir = join(tmp, 'model');
const cacheRoot = join(tmp, 'cache');
const dataset = join(tmp, 'facts.json');
let client: EngineClient;

before(async () => {
  await writeRandomCheckpoint(modelDir, { format: 'state-spaces', weights: 'safetensors', dtype: 'float32', dModel: 32, nLayer: 4, vocabSize: 300, dState: 16, headdim: 8, nGroups: 1, seed: 9 });
  writeTinyTokenizer(join(modelDir, 'tokenizer.json'));
  const rows = Array.from({ length: 160 }, (_, i) => ({ prompt: `The tower number ${i} is in the city of`, subject: `The tower number ${i}`, target_true: ' Paris' }));
  writeFileSync(dataset, JSON.stringify(rows));
  client = await EngineClient.start({ modelDir, ep: 'cpu', cacheRoot, threads: 1 });
});
after(async () => {
  await client?.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

const runParams = (out: string) => ({ dataset, experiment: 'micro', windows: [2], filter: false, split: false, out, chunkSize: 4, checkpointSeconds: 0 });

test('inFlight names the calls not answered yet; whenIdle resolves once they are', async () => {
  assert.deepEqual(client.inFlight, []);
  await client.whenIdle();
  const a = client.call('predict', { prompt: 'the cat' });
  const b = client.call('features', {});
  assert.deepEqual(client.inFlight, ['predict', 'features']);
  let idle = false;
  const w = client.whenIdle().then(() => (idle = true));
  await a;
  assert.equal(idle, false, 'one call is still in flight');
  await b;
  await w;
  assert.deepEqual(client.inFlight, []);
});

test('a settings change during a dataset run: the run completes, then the engine is stopped', async () => {
  const out = join(tmp, 'complete.json');
  let stopped = 0;
  let changed = true;
  const s = new RestartScheduler({
    inFlight: () => client.inFlight,
    whenIdle: () => client.whenIdle(),
    cancelAll: () => client.cancelAll(),
    stillChanged: () => changed,
    stop: async () => {
      stopped++;
      changed = false;
    },
    ask: () => new Promise(() => undefined),
  }, { noticeDelayMs: 20 });
  let progress = 0;
  const run = client.call<DatasetRunResult>('runDataset', runParams(out), { onProgress: () => progress++ });
  const restarted = s.request();
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(stopped, 0, 'not stopped under the run');
  assert.match(s.notices[0], /running dataset run finishes/);
  const r = await run;
  assert.equal(r.status, 'complete');
  assert.equal(r.prompts.length, 160);
  await restarted;
  assert.equal(stopped, 1, 'stopped after the run');
  assert.ok(progress > 1);
});

test('Restart now: the run is cancelled through its own cancellation and keeps its checkpoint', async () => {
  const out = join(tmp, 'cancelled.json');
  let stopped = 0;
  let answer: (v: string) => void = () => undefined;
  const s = new RestartScheduler({
    inFlight: () => client.inFlight,
    whenIdle: () => client.whenIdle(),
    cancelAll: () => client.cancelAll(),
    stillChanged: () => stopped === 0,
    stop: async () => void stopped++,
    ask: () => new Promise((r) => (answer = r)),
  }, { noticeDelayMs: 20 });
  let chunks = 0;
  const run = client.call<DatasetRunResult>('runDataset', runParams(out), { onProgress: () => chunks++ });
  const restarted = s.request();
  // after a few chunks, the user picks "Restart now"
  while (chunks < 3) await new Promise((r) => setTimeout(r, 10));
  answer(RESTART_NOW);
  await assert.rejects(run, CancelledError);
  await restarted;
  assert.equal(stopped, 1);
  assert.ok(existsSync(out + '.partial.json'), 'the checkpoint is kept');
  assert.ok(!existsSync(out), 'no results file');
  // the same client is still usable (it is the caller that stops it): resume completes the run
  const r = await client.call<DatasetRunResult>('runDataset', { ...runParams(out), resume: true });
  assert.equal(r.status, 'complete');
  assert.equal(r.prompts.length, 160);
});
