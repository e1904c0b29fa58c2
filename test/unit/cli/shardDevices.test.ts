// `run --shard I/N`, `merge` and `run --devices` end to end through the CLI (subprocesses, demo model, ORT CPU): the
// merged file and the two-worker file equal one plain run's; `report` reads the merged file; bad values are one
// line on stderr, exit 1, before the model is opened, with nothing written.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import type { DatasetRunResult as DRR } from '../../../src/engine/experiments/resultTypes';
import { comparable } from '../experiments/mixedDataset';

const ROOT = path.resolve(__dirname, '../../..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'me-shard-cli-'));
const cache = path.join(tmp, 'cache');
const DATASET = path.join(ROOT, 'examples/demo-facts.json');
const RUN = ['run', '--dataset', DATASET, '--experiment', 'macro', '--window', '2,4', '--limit', '20', '--seed', '4', '--split', '--chunk', '3'];

function cli(args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, MAMBA_EXPLAIN_CACHE: cache },
    timeout: 180_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}
const read = (f: string) => JSON.parse(fs.readFileSync(f, 'utf8')) as DRR;
const at = (f: string) => path.join(tmp, f);
let whole: DRR;

before(() => {
  const r = cli([...RUN, '--out', at('whole.json'), '--ep', 'cpu']);
  assert.equal(r.code, 0, r.err);
  whole = read(at('whole.json'));
});

test('run --shard 0/2 and 1/2, then merge (shards in any order) = one run; report reads the merged file', () => {
  for (const i of [0, 1]) {
    const r = cli([...RUN, '--shard', `${i}/2`, '--out', at(`s${i}.json`), '--ep', 'cpu']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, new RegExp(`shard ${i}/2 of the run`));
  }
  const m = cli(['merge', '--out', at('merged.json'), at('s1.json'), at('s0.json'), '--json']);
  assert.equal(m.code, 0, m.err);
  const summary = JSON.parse(m.out);
  assert.equal(summary.kind, 'dataset-run-summary');
  assert.equal(summary.shards, 2);
  assert.equal(summary.prompts, whole.prompts.length);
  assert.deepEqual(comparable(read(at('merged.json'))), comparable(whole));
  const text = cli(['merge', '--out', at('merged2.json'), at('s0.json'), at('s1.json')]);
  assert.equal(text.code, 0, text.err);
  assert.match(text.out, /^merged 2 shards\nmacro run on .*demo-facts\.json/);
  const rep = cli(['report', '--input', at('merged.json'), '--out', at('merged.html')]);
  assert.equal(rep.code, 0, rep.err);
  assert.ok(fs.statSync(at('merged.html')).size > 1000);
});

test('run --devices cpu,cpu and --devices cpu = one run', () => {
  for (const [devices, file] of [['cpu,cpu', 'two.json'], ['cpu', 'one.json']]) {
    const r = cli([...RUN, '--devices', devices, '--out', at(file)]);
    assert.equal(r.code, 0, r.err);
    const res = read(at(file));
    assert.deepEqual(comparable(res), comparable(whole));
    assert.equal(res.timing!.workers, devices === 'cpu' ? undefined : 2);
  }
});

test('bad --shard, --devices and merge input: one line, exit 1, nothing written', () => {
  const cases: [string[], RegExp][] = [
    [[...RUN, '--shard', '2/2', '--out', at('x.json')], /^mamba-explain: --shard 2\/2: the shard index is 0-based and must be below 2 \(0 … 1\)\n$/],
    [[...RUN, '--shard', 'first', '--out', at('x.json')], /^mamba-explain: --shard must be I\/N with 0 ≤ I < N/],
    [[...RUN, '--devices', '0', '--device', '0', '--out', at('x.json')], /^mamba-explain: give --devices or --device, not both \(--devices 0 is --device 0\)\n$/],
    [[...RUN, '--devices', 'cpu,0', '--out', at('x.json')], /^mamba-explain: --devices 'cpu,0' mixes cpu and GPU indices/],
    [[...RUN, '--devices', '0,1', '--ep', 'cpu', '--out', at('x.json')], /^mamba-explain: --devices '0,1' are GPU indices, but --ep is cpu/],
    [['merge', '--out', at('x.json')], /^mamba-explain: merge: no shard file given/],
    [['merge', '--out', at('x.json'), at('whole.json')], /^mamba-explain: '.*whole\.json' is not a shard's results file \(it was made without --shard\)\n$/],
    [['merge', at('whole.json')], /^mamba-explain: missing required option --out\n$/],
  ];
  for (const [args, re] of cases) {
    const r = cli(args);
    assert.equal(r.code, 1, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, re);
    assert.equal(r.out, '');
    assert.equal(fs.existsSync(at('x.json')), false);
  }
});
