// Dataset runs over several engine workers (`run --devices cpu,cpu`): real workers on the bundled demo model (ORT
// CPU). The chunks are shared out from one queue (both workers run some), and the one results file equals a
// one-worker run's in everything but timing and createdAt, for macro and micro, with steering, and after an
// interruption resumed by the pool or by one worker. --devices values are checked with one clear error each.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EnginePool, parseDevices, runDatasetOnPool, deviceStartOptions } from '../../../src/engine/runtime/pool';
import type { EngineClientOptions } from '../../../src/engine/runtime/client';
import { partialPath, type DatasetRunParams } from '../../../src/engine/experiments/dataset';
import { CancelledError, UserError, type ProgressEvent } from '../../../src/engine/types';
import type { DatasetRunResult as DRR } from '../../../src/engine/experiments/resultTypes';
import { tmpDir } from '../experiments/fixtures';
import { comparable, writeMixedDataset } from '../experiments/mixedDataset';

const ROOT = path.resolve(__dirname, '../../..');
const base: EngineClientOptions = { modelDir: path.join(ROOT, 'models/demo'), ep: 'auto', cacheRoot: tmpDir('onnx'), threads: 1 };
let one: EnginePool;
let two: EnginePool;
let dir = '';
let dataset = '';
/** 'datasetChunk' calls per worker of `two` */
const chunkCalls = [0, 0];

before(async () => {
  one = await EnginePool.start(base, ['cpu']);
  two = await EnginePool.start(base, ['cpu', 'cpu']);
  two.clients.forEach((c, i) => {
    const call = c.call.bind(c);
    c.call = ((method: string, params: unknown, opts?: object) => {
      if (method === 'datasetChunk') chunkCalls[i]++;
      return call(method, params, opts);
    }) as typeof c.call;
  });
  dir = tmpDir('pool');
  dataset = writeMixedDataset(dir);
});
after(async () => {
  await one?.dispose();
  await two?.dispose();
});

const single = (params: DatasetRunParams & { steer?: string[] }) => one.clients[0].call<DRR>('runDataset', params);

test('two CPU workers: the same file as one worker (macro, filter, split, bootstrap); both workers ran chunks', async () => {
  const params = { dataset, experiment: 'macro' as const, windows: [2, 4], split: true, limit: 30, seed: 2, chunkSize: 2 };
  const ref = await single({ ...params, out: path.join(dir, 'macro-one.json') });
  chunkCalls.fill(0);
  const events: ProgressEvent[] = [];
  const out = path.join(dir, 'macro-two.json');
  const res = await runDatasetOnPool(two, { ...params, out }, { onProgress: (p) => events.push(p) });
  assert.ok(ref.counts!.filteredOut > 0 && ref.counts!.skipped === 1 && ref.prompts.length > 10, JSON.stringify(ref.counts));
  assert.deepEqual(comparable(res), comparable(ref));
  assert.deepEqual(JSON.parse(fs.readFileSync(out, 'utf8')), res);
  assert.equal(fs.existsSync(partialPath(out)), false);
  assert.equal(res.timing!.workers, 2);
  assert.equal(res.provenance.devices, undefined, 'CPU workers record no GPU');
  assert.ok(chunkCalls[0] > 0 && chunkCalls[1] > 0, `both workers took chunks: ${chunkCalls}`);
  // progress in prompts, as with one worker, ending at the total
  assert.deepEqual(events.map((e) => e.total).filter((t, i, a) => a.indexOf(t) === i), [ref.counts!.selected - ref.counts!.skipped]);
  const last = events[events.length - 1];
  assert.equal(last.done, last.total);
});

test('two CPU workers: micro with --no-filter, and a steered macro run, equal one worker', async () => {
  const micro = { dataset, experiment: 'micro' as const, windows: [3], filter: false, limit: 12, chunkSize: 3 };
  assert.deepEqual(comparable(await runDatasetOnPool(two, { ...micro, out: path.join(dir, 'micro-two.json') })), comparable(await single({ ...micro, out: path.join(dir, 'micro-one.json') })));
  // steering reaches every worker's chunks (and the provenance)
  const steered = { dataset, experiment: 'macro' as const, windows: [2], filter: false, limit: 10, chunkSize: 2, steer: ['2:0-63:4'] };
  const a = await runDatasetOnPool(two, { ...steered, out: path.join(dir, 'steer-two.json') });
  const b = await single({ ...steered, out: path.join(dir, 'steer-one.json') });
  const plain = await single({ ...steered, steer: undefined, out: path.join(dir, 'plain-one.json') });
  assert.deepEqual(comparable(a), comparable(b));
  assert.deepEqual(a.provenance.steer, [{ layer: 2, channels: Array.from({ length: 64 }, (_, i) => i), scale: 4 }]);
  assert.notDeepEqual(a.prompts[0].baseProb, plain.prompts[0].baseProb, 'the steering changed the model');
});

test('an interrupted two-worker run keeps its finished chunks; the pool or one worker resumes it to the same file', async () => {
  const params = { dataset, experiment: 'macro' as const, windows: [2], filter: false, limit: 24, chunkSize: 2, checkpointSeconds: 0 };
  const ref = await single({ ...params, out: path.join(dir, 'res-ref.json') });
  for (const resumeWith of ['pool', 'one'] as const) {
    const out = path.join(dir, `res-${resumeWith}.json`);
    const ac = new AbortController();
    await assert.rejects(
      runDatasetOnPool(two, { ...params, out }, { signal: ac.signal, onProgress: (p) => p.done >= 6 && ac.abort() }),
      (e: unknown) => e instanceof CancelledError,
    );
    assert.equal(fs.existsSync(out), false, 'no results file after a cancelled run');
    const partial = JSON.parse(fs.readFileSync(partialPath(out), 'utf8')) as DRR;
    assert.equal(partial.status, 'partial');
    assert.ok(partial.prompts.length >= 6 && partial.prompts.length < 24, String(partial.prompts.length));
    assert.equal(partial.resume!.doneChunks.length * 2, partial.prompts.length, 'whole chunks only');
    const resumed = resumeWith === 'pool' ? await runDatasetOnPool(two, { ...params, out, resume: true }) : await single({ ...params, out, resume: true });
    assert.equal(resumed.timing!.resumed, true);
    assert.deepEqual(comparable(resumed), comparable(ref));
    assert.equal(fs.existsSync(partialPath(out)), false);
  }
});

test('bad input of a pool run: one UserError, nothing written (bad settings, resume without checkpoint)', async () => {
  const out = path.join(dir, 'never.json');
  await assert.rejects(runDatasetOnPool(two, { dataset, experiment: 'macro', windows: [99], out }), (e: unknown) => e instanceof UserError && /^window 99 is larger than the model's 8 layers$/.test(e.message));
  await assert.rejects(runDatasetOnPool(two, { dataset, experiment: 'macro', out, resume: true }), (e: unknown) => e instanceof UserError && /^nothing to resume/.test(e.message));
  assert.equal(fs.existsSync(out), false);
});

test('--devices values: GPU indices or cpu, not mixed, agreeing with --ep; one device is --device N', () => {
  assert.deepEqual(parseDevices('0,1'), [0, 1]);
  assert.deepEqual(parseDevices(' 1 , 0 ,1'), [1, 0, 1]);
  assert.deepEqual(parseDevices('cpu,CPU', 'cpu'), ['cpu', 'cpu']);
  assert.deepEqual(parseDevices('0', 'cuda'), [0]);
  const bad: [string, string, RegExp][] = [
    ['0,,1', 'auto', /^--devices must be a comma-separated list of GPU indices \(0,1,…\) or cpu \(cpu,cpu\), got '0,,1'$/],
    ['gpu0', 'auto', /^--devices must be a comma-separated list/],
    ['-1', 'auto', /^--devices must be a comma-separated list/],
    ['cpu,0', 'auto', /^--devices 'cpu,0' mixes cpu and GPU indices/],
    ['cpu,cpu', 'cuda', /^--devices 'cpu,cpu' runs on the CPU, but --ep is cuda: leave --ep out or give --ep cpu$/],
    ['0,1', 'cpu', /^--devices '0,1' are GPU indices, but --ep is cpu: give --devices cpu,cpu for several CPU workers$/],
    ['0,1', 'webgpu', /cannot choose a WebGPU adapter/],
    [Array(65).fill('cpu').join(','), 'auto', /^--devices: at most 64 devices, got 65$/],
  ];
  for (const [v, ep, re] of bad) assert.throws(() => parseDevices(v, ep), (e: unknown) => e instanceof UserError && re.test(e.message), v);
  // a device becomes the worker's options exactly as --device N / --ep cpu would
  assert.deepEqual(deviceStartOptions({ ...base, ep: 'cuda', device: 3 }, 1), { ...base, ep: 'cuda', device: 1 });
  assert.deepEqual(deviceStartOptions({ ...base, ep: 'auto' }, 'cpu'), { ...base, ep: 'cpu' });
});
