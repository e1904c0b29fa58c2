import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FakeHub, bytes, sha256 } from '../../helpers/fakeHub';
import { downloadCommand } from '../../../src/cli/commands/download';
import { parseArgs, Options } from '../../../src/cli/args';
import type { CommandIO } from '../../../src/cli/command';

const C = '4444444444444444444444444444444444444444';
const weights = bytes(5000, 3);
let hub: FakeHub;

before(async () => {
  hub = new FakeHub().addRepo('test-org/cli-model', {
    refs: { main: C },
    commits: { [C]: { 'config.json': { data: Buffer.from('{"d_model":8}') }, 'model.safetensors': { data: weights }, 'tokenizer.json': { data: Buffer.from('{}') } } },
  });
  await hub.start();
});
after(() => hub.stop());

function run(argv: string[]): Promise<unknown> {
  const flags = new Set(['json', 'help', ...(downloadCommand.flags ?? [])]);
  const opts = new Options(parseArgs(argv, flags), new Set([...flags, ...(downloadCommand.options ?? [])]));
  const out: string[] = [];
  const io: CommandIO = { json: opts.flag('json'), out: (t) => out.push(t), err: () => undefined, signal: new AbortController().signal };
  return downloadCommand.run(opts, io);
}

test('download --json returns id, commit, snapshotDir and verified files', async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hub-cli-'));
  const old = process.env.MAMBA_EXPLAIN_CACHE;
  process.env.MAMBA_EXPLAIN_CACHE = path.join(tmp, 'managed');
  try {
    const r = (await run(['test-org/cli-model', '--cache-dir', path.join(tmp, 'hub'), '--endpoint', hub.endpoint, '--json'])) as {
      id: string; commit: string; snapshotDir: string; files: { name: string; size: number; sha256: string }[];
    };
    assert.equal(r.id, 'test-org/cli-model');
    assert.equal(r.commit, C);
    assert.equal(r.snapshotDir, path.join(tmp, 'hub', 'models--test-org--cli-model', 'snapshots', C));
    assert.deepEqual(r.files.find((f) => f.name === 'model.safetensors'), { name: 'model.safetensors', size: 5000, sha256: sha256(weights) });
    await assert.rejects(run([]), /missing model id/);
    await assert.rejects(run(['test-org/other', '--cache-dir', path.join(tmp, 'hub'), '--offline']), /offline/);
  } finally {
    if (old === undefined) delete process.env.MAMBA_EXPLAIN_CACHE;
    else process.env.MAMBA_EXPLAIN_CACHE = old;
  }
});

test('a downloaded Hub id works as --model in the knockout commands (predict, and modelDir for trace/micro/run)', async () => {
  const { predictCommand } = await import('../../../src/cli/commands/predict');
  const { modelDir } = await import('../../../src/cli/commands/trace');
  const D = '5555555555555555555555555555555555555555';
  const demo = path.join(__dirname, '..', '..', '..', 'models', 'demo');
  const files = Object.fromEntries(['config.json', 'model.safetensors', 'tokenizer.json'].map((f) => [f, { data: fs.readFileSync(path.join(demo, f)) }]));
  const local = new FakeHub().addRepo('test-org/demo-facts', { refs: { main: D }, commits: { [D]: files } });
  await local.start();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hub-cli-model-'));
  const saved = { cache: process.env.HF_HUB_CACHE, managed: process.env.MAMBA_EXPLAIN_CACHE };
  process.env.HF_HUB_CACHE = path.join(tmp, 'hub');
  process.env.MAMBA_EXPLAIN_CACHE = path.join(tmp, 'managed');
  try {
    const r = (await run(['test-org/demo-facts', '--endpoint', local.endpoint, '--json'])) as { snapshotDir: string };
    const opts = (argv: string[]) => new Options(parseArgs(argv, new Set(['json'])), new Set(['json', ...(predictCommand.options ?? [])]));
    assert.equal(modelDir(opts(['--model', 'test-org/demo-facts'])), r.snapshotDir);
    const out: string[] = [];
    const io: CommandIO = { json: true, out: (t) => out.push(t), err: () => undefined, signal: new AbortController().signal };
    const res = (await predictCommand.run(opts(['--model', 'test-org/demo-facts', '--prompt', 'Beats Music is owned by', '--ep', 'cpu', '--json']), io)) as { top: { text: string }[] };
    assert.equal(res.top[0].text, ' Apple');
    assert.throws(() => modelDir(opts(['--model', 'test-org/not-downloaded'])), /not downloaded.*mamba-explain download test-org\/not-downloaded/);
  } finally {
    await local.stop();
    for (const [k, v] of [['HF_HUB_CACHE', saved.cache], ['MAMBA_EXPLAIN_CACHE', saved.managed]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
});
