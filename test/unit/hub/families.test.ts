// Mamba-1, Falcon-Mamba and transformer-baseline (GPT-2, Pythia) catalog entries through the local fake Hub (nothing
// reaches the network): a state-spaces original (GPT-NeoX tokenizer paired), a transformers -hf conversion, the
// sharded tiiuae/falcon-mamba-7b, an unpinned sharded -hf repo and pinned GPT-2 / Pythia repos. The files are tiny
// stand-ins; download.ts does not parse config.json.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FakeFile, bytes, sha256 } from '../../helpers/fakeHub';
import { useFakeHub } from '../../helpers/hubTest';
import { downloadModel, resolveModelRef, SIDECAR_NAME, knownModel, KNOWN_MODELS } from '../../../src/engine/hub/index';
import { misspelledModelHint } from '../../../src/engine/hub/catalog';
import { UserError } from '../../../src/engine/types';

const OTHER = '9999999999999999999999999999999999999999';
const CT = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
const C14 = 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb';

const M1_SS = 'state-spaces/mamba-130m';
const M1_HF = 'state-spaces/mamba-370m-hf';
const FALCON = 'tiiuae/falcon-mamba-7b';
const M1_HF_SHARDED = 'state-spaces/mamba-1.4b-hf';
const PIN_SS = knownModel(M1_SS)!.commit!;
const PIN_HF = knownModel(M1_HF)!.commit!;
const PIN_FALCON = knownModel(FALCON)!.commit!;
const PYTHIA = 'EleutherAI/pythia-160m';
const GPT2 = 'openai-community/gpt2';
const PIN_PYTHIA = knownModel(PYTHIA)!.commit!;
const PIN_GPT2 = knownModel(GPT2)!.commit!;
const GPT2_IDS = ['openai-community/gpt2', 'openai-community/gpt2-medium', 'openai-community/gpt2-large', 'openai-community/gpt2-xl'];
const PYTHIA_IDS = ['70m', '160m', '410m', '1b', '1.4b', '2.8b'].map((s) => `EleutherAI/pythia-${s}`);

const tokenizer = Buffer.from(JSON.stringify({ version: '1.0', model: { type: 'BPE', vocab: { a: 0, b: 1 } } }));
const falconTokenizer = Buffer.from(JSON.stringify({ version: '1.0', model: { type: 'BPE', vocab: { x: 0, y: 1, z: 2 } } }));
// state-spaces Mamba-1 config: no ssm_cfg.layer (= Mamba1)
const ssConfig = Buffer.from(JSON.stringify({ d_model: 64, n_layer: 2, vocab_size: 50277, ssm_cfg: {}, rms_norm: true, pad_vocab_size_multiple: 8 }));
const ssWeights = bytes(120_000, 21);
const hfConfig = Buffer.from(JSON.stringify({ model_type: 'mamba', architectures: ['MambaForCausalLM'], hidden_size: 64, state_size: 16, num_hidden_layers: 2 }));
const hfWeights = bytes(90_000, 22);
const falconConfig = Buffer.from(JSON.stringify({ model_type: 'falcon_mamba', architectures: ['FalconMambaForCausalLM'], hidden_size: 64, state_size: 16, num_hidden_layers: 3, mixer_rms_eps: 1e-6 }));
const shardNames = ['model-00001-of-00003.safetensors', 'model-00002-of-00003.safetensors', 'model-00003-of-00003.safetensors'];
const shards = [bytes(5000, 31), bytes(6000, 32), bytes(2500, 33)];
const falconIndex = Buffer.from(
  JSON.stringify({
    metadata: { total_size: shards.reduce((s, b) => s + b.length, 0) },
    weight_map: { 'backbone.embeddings.weight': shardNames[0], 'backbone.layers.0.mixer.in_proj.weight': shardNames[0], 'backbone.layers.1.mixer.x_proj.weight': shardNames[1], 'backbone.layers.2.mixer.dt_proj.weight': shardNames[2], 'backbone.norm_f.weight': shardNames[2] },
  }),
);
const neoxConfig = Buffer.from(JSON.stringify({ model_type: 'gpt_neox', architectures: ['GPTNeoXForCausalLM'], hidden_size: 64, num_hidden_layers: 2, num_attention_heads: 4 }));
const gpt2Config = Buffer.from(JSON.stringify({ model_type: 'gpt2', architectures: ['GPT2LMHeadModel'], n_embd: 64, n_layer: 2, n_head: 4 }));
const neoxWeights = bytes(70_000, 51);
const gpt2Weights = bytes(60_000, 52);
const shards14 = [bytes(4000, 41), bytes(1500, 42)];
const index14 = Buffer.from(JSON.stringify({ metadata: {}, weight_map: { a: 'model-00001-of-00002.safetensors', b: 'model-00002-of-00002.safetensors' } }));

const { hub, tmp, opts, repoDir } = useFakeHub('hub-families');

function small(data: Buffer): FakeFile {
  return { data, lfs: false };
}

before(() => {
  hub.addRepo('EleutherAI/gpt-neox-20b', { refs: { main: CT }, commits: { [CT]: { 'tokenizer.json': small(tokenizer), 'config.json': small(Buffer.from('{}')) } } });
  // main points at another commit (with nothing useful in it): the pinned commit must be the one used
  hub.addRepo(M1_SS, { refs: { main: OTHER }, commits: { [PIN_SS]: { 'config.json': { data: ssConfig }, 'pytorch_model.bin': { data: ssWeights }, 'README.md': small(Buffer.from('x')) }, [OTHER]: {} } });
  hub.addRepo(M1_HF, {
    refs: { main: OTHER },
    commits: {
      [PIN_HF]: {
        'config.json': { data: hfConfig },
        'model.safetensors': { data: hfWeights },
        'tokenizer.json': small(tokenizer),
        'generation_config.json': small(Buffer.from('{"bos_token_id":0}')),
        'special_tokens_map.json': small(Buffer.from('{}')),
      },
      [OTHER]: {},
    },
  });
  const falconFiles: Record<string, FakeFile> = {
    'config.json': { data: falconConfig },
    'tokenizer.json': small(falconTokenizer),
    'model.safetensors.index.json': small(falconIndex),
    'generation_config.json': small(Buffer.from('{}')),
    'README.md': small(Buffer.from('falcon')),
  };
  shardNames.forEach((n, i) => (falconFiles[n] = { data: shards[i] }));
  hub.addRepo(FALCON, { refs: { main: OTHER }, commits: { [PIN_FALCON]: falconFiles, [OTHER]: {} } });
  // the baselines: main points elsewhere and the pinned commit also carries pytorch_model.bin (Pythia) / extra files
  hub.addRepo(PYTHIA, {
    refs: { main: OTHER },
    commits: {
      [PIN_PYTHIA]: {
        'config.json': { data: neoxConfig },
        'model.safetensors': { data: neoxWeights },
        'pytorch_model.bin': { data: bytes(70_000, 53) },
        'tokenizer.json': small(tokenizer),
        'tokenizer_config.json': small(Buffer.from('{}')),
      },
      [OTHER]: {},
    },
  });
  hub.addRepo(GPT2, {
    refs: { main: OTHER },
    commits: {
      [PIN_GPT2]: {
        'config.json': { data: gpt2Config },
        'model.safetensors': { data: gpt2Weights },
        'tokenizer.json': small(tokenizer),
        'vocab.json': small(Buffer.from('{}')),
        'merges.txt': small(Buffer.from('#version: 0.2')),
      },
      [OTHER]: {},
    },
  });
  hub.addRepo(M1_HF_SHARDED, {
    refs: { main: C14 },
    commits: {
      [C14]: {
        'config.json': { data: hfConfig },
        'tokenizer.json': small(tokenizer),
        'model.safetensors.index.json': small(index14),
        'model-00001-of-00002.safetensors': { data: shards14[0] },
        'model-00002-of-00002.safetensors': { data: shards14[1] },
      },
    },
  });
});

test('catalog: Mamba-1 and Falcon-Mamba entries, pinned commits are full hashes, formats and files are consistent', () => {
  const ids = KNOWN_MODELS.map((m) => m.id.toLowerCase());
  assert.equal(new Set(ids).size, ids.length, 'ids are unique');
  for (const size of ['130m', '370m', '790m', '1.4b', '2.8b']) {
    const ss = knownModel(`state-spaces/mamba-${size}`);
    assert.ok(ss, `state-spaces/mamba-${size}`);
    assert.equal(ss.format, 'state-spaces');
    assert.equal(ss.family, 'mamba1');
    assert.equal(ss.needsTokenizer, true);
    assert.deepEqual(ss.files, ['config.json', 'pytorch_model.bin']);
    const hf = knownModel(`state-spaces/mamba-${size}-hf`);
    assert.ok(hf, `state-spaces/mamba-${size}-hf`);
    assert.equal(hf.format, 'hf');
    assert.equal(hf.family, 'mamba1');
    assert.equal(hf.needsTokenizer, false);
    assert.ok(hf.files.includes('tokenizer.json'));
    assert.equal(misspelledModelHint(hf.id), undefined, `${hf.id} exists: no "there is no" hint`);
  }
  const falcon = knownModel(FALCON)!;
  assert.equal(falcon.family, 'falcon-mamba');
  assert.equal(falcon.needsTokenizer, false);
  assert.deepEqual(falcon.files, ['config.json', 'tokenizer.json', 'model.safetensors.index.json']);
  assert.ok(knownModel('state-spaces/mamba-2.8b-hf')!.files.includes('model.safetensors.index.json'), 'mamba-2.8b-hf is sharded');
  for (const m of KNOWN_MODELS) {
    if (m.commit !== undefined) assert.match(m.commit, /^[0-9a-f]{40}$/, m.id);
    assert.ok(m.files.includes('config.json'), m.id);
    assert.equal(m.needsTokenizer, !m.files.includes('tokenizer.json'), m.id);
    assert.equal(m.format === 'state-spaces', m.needsTokenizer, m.id);
  }
  // the Mamba-2 "-hf" alias still points at the real alternatives
  assert.match(misspelledModelHint('state-spaces/mamba2-370m-hf')!, /AntonV\/mamba2-370m-hf/);
  assert.equal(knownModel('STATE-SPACES/Mamba-130M')?.id, M1_SS, 'ids are case-insensitive');
});

test('catalog: transformer baselines (GPT-2 as gpt2, Pythia as gptneox) are pinned hf entries with their own tokenizer', () => {
  const expected = new Map<string, string>([
    ['openai-community/gpt2', '607a30d783dfa663caf39e06633721c8d4cfcd7e'],
    ['openai-community/gpt2-medium', '6dcaa7a952f72f9298047fd5137cd6e4f05f41da'],
    ['openai-community/gpt2-large', '32b71b12589c2f8d625668d2335a01cac3249519'],
    ['openai-community/gpt2-xl', '15ea56dee5df4983c59b2538573817e1667135e2'],
    ['EleutherAI/pythia-70m', 'a39f36b100fe8a5377810d56c3f4789b9c53ac42'],
    ['EleutherAI/pythia-160m', '50f5173d932e8e61f858120bcb800b97af589f46'],
    ['EleutherAI/pythia-410m', '9879c9b5f8bea9051dcb0e68dff21493d67e9d4f'],
    ['EleutherAI/pythia-1b', 'f73d7dcc545c8bd326d8559c8ef84ffe92fea6b2'],
    ['EleutherAI/pythia-1.4b', 'fedc38a16eea3bd36a96b906d78d11d2ce18ed79'],
    ['EleutherAI/pythia-2.8b', '2a259cdd96a4beb1cdf467512e3904197345f6a9'],
  ]);
  assert.deepEqual([...expected.keys()], [...GPT2_IDS, ...PYTHIA_IDS]);
  for (const [id, commit] of expected) {
    const m = knownModel(id);
    assert.ok(m, id);
    assert.equal(m.id, id);
    assert.equal(m.family, GPT2_IDS.includes(id) ? 'gpt2' : 'gptneox', id);
    assert.equal(m.format, 'hf', id);
    assert.equal(m.needsTokenizer, false, `${id} carries its own tokenizer.json`);
    // single-file safetensors (no index, no pytorch_model.bin) at the pinned commit
    assert.deepEqual(m.files, ['config.json', 'model.safetensors', 'tokenizer.json'], id);
    assert.equal(m.commit, commit, id);
    assert.match(m.commit!, /^[0-9a-f]{40}$/, id);
    assert.equal(misspelledModelHint(id), undefined, id);
  }
  // no two catalog entries share a pin (a copy-paste slip would show up here)
  const pins = KNOWN_MODELS.flatMap((m) => (m.commit ? [m.commit] : []));
  assert.equal(new Set(pins).size, pins.length, 'pins are unique');
  // families in listing order: the Mamba entries first, the baselines after them
  assert.deepEqual(
    [...new Set(KNOWN_MODELS.map((m) => m.family))],
    ['mamba2', 'mamba1', 'falcon-mamba', 'gpt2', 'gptneox'],
  );
  assert.equal(knownModel('eleutherai/PYTHIA-1.4B')?.id, 'EleutherAI/pythia-1.4b', 'ids are case-insensitive');
  // the pre-rename un-prefixed GPT-2 ids and the deduped / 6.9b+ Pythia repos are not catalog entries (they still
  // download through the Hub file list)
  for (const id of ['gpt2', 'gpt2-xl', 'EleutherAI/pythia-160m-deduped', 'EleutherAI/pythia-6.9b']) assert.equal(knownModel(id), undefined, id);
});

for (const [id, pin, config, weights] of [
  [PYTHIA, () => PIN_PYTHIA, neoxConfig, neoxWeights],
  [GPT2, () => PIN_GPT2, gpt2Config, gpt2Weights],
] as const) {
  test(`transformer baseline (${id}): pinned commit, no API lookup, only the catalog files, its own tokenizer, the snapshot is the model folder`, async () => {
    const r = await downloadModel(id, opts());
    assert.equal(r.id, id);
    assert.equal(r.commit, pin());
    assert.ok(!hub.log.some((l) => l.url.startsWith('/api/models/')), 'pinned: no API request');
    assert.ok(!hub.log.some((l) => l.url.includes('gpt-neox')), 'no paired tokenizer');
    assert.ok(hub.log.some((l) => l.url.includes(`/resolve/${pin()}/model.safetensors`)));
    assert.deepEqual(r.files.map((f) => f.name), ['config.json', 'model.safetensors', 'tokenizer.json']);
    assert.equal(r.files[1].sha256, sha256(weights));
    assert.equal(r.tokenizer, undefined);
    assert.equal(r.modelDir, r.snapshotDir);
    assert.deepEqual(fs.readFileSync(path.join(r.snapshotDir, 'config.json')), config);
    for (const extra of ['pytorch_model.bin', 'tokenizer_config.json', 'vocab.json', 'merges.txt']) assert.ok(!fs.existsSync(path.join(r.snapshotDir, extra)), `${extra} is not fetched`);
    assert.ok(!fs.existsSync(path.join(repoDir(id), 'refs', 'main')), 'a pin does not write refs/main');
    assert.ok(!fs.existsSync(path.join(tmp(), 'managed')), 'no managed folder for a repository with a tokenizer');
    assert.equal(resolveModelRef(id, opts()), r.snapshotDir);
    assert.equal(resolveModelRef(`${id}@${pin()}`, opts()), r.snapshotDir);
    hub.log.length = 0;
    const again = await downloadModel(id, opts({ offline: true, endpoint: 'http://127.0.0.1:9' }));
    assert.equal(again.fromCache, true);
    assert.equal(hub.requestCount, 0);
  });
}

test('Mamba-1 original (state-spaces/mamba-130m): pinned commit, no API lookup, GPT-NeoX tokenizer paired in a managed folder', async () => {
  const r = await downloadModel(M1_SS, opts());
  assert.equal(r.id, M1_SS);
  assert.equal(r.commit, PIN_SS);
  assert.ok(!hub.log.some((l) => l.url.startsWith(`/api/models/${M1_SS}/`)), 'no revision lookup for a pinned model');
  assert.ok(hub.log.some((l) => l.url.includes(`/resolve/${PIN_SS}/pytorch_model.bin`)));
  assert.ok(!fs.existsSync(path.join(repoDir(M1_SS), 'refs', 'main')), 'a pin does not write refs/main');
  assert.deepEqual(r.files.map((f) => f.name), ['config.json', 'pytorch_model.bin']);
  assert.equal(r.files[1].sha256, sha256(ssWeights));
  assert.ok(!fs.existsSync(path.join(r.snapshotDir, 'README.md')));
  assert.ok(!fs.existsSync(path.join(r.snapshotDir, 'tokenizer.json')), 'the HF snapshot is not modified');
  // tokenizer pairing, exactly as for the Mamba-2 originals
  assert.equal(r.tokenizer?.id, 'EleutherAI/gpt-neox-20b');
  assert.equal(r.tokenizer?.commit, CT);
  assert.notEqual(r.modelDir, r.snapshotDir);
  assert.ok(r.modelDir.startsWith(path.join(tmp(), 'managed', 'models', 'state-spaces--mamba-130m')));
  assert.deepEqual(fs.readFileSync(path.join(r.modelDir, 'tokenizer.json')), tokenizer);
  assert.deepEqual(fs.readFileSync(path.join(r.modelDir, 'config.json')), ssConfig);
  assert.deepEqual(fs.readFileSync(path.join(r.modelDir, 'pytorch_model.bin')), ssWeights);
  const side = JSON.parse(fs.readFileSync(path.join(r.modelDir, SIDECAR_NAME), 'utf8'));
  assert.equal(side.id, M1_SS);
  assert.equal(side.commit, PIN_SS);
  assert.deepEqual(side.files, ['config.json', 'pytorch_model.bin']);
  assert.equal(side.tokenizer.id, 'EleutherAI/gpt-neox-20b');
  // resolved without the network, also offline; a second download makes no request
  assert.equal(resolveModelRef(M1_SS, opts()), r.modelDir);
  hub.log.length = 0;
  const again = await downloadModel(M1_SS, opts({ offline: true, endpoint: 'http://127.0.0.1:9' }));
  assert.equal(again.modelDir, r.modelDir);
  assert.equal(again.fromCache, true);
  assert.equal(hub.requestCount, 0);
});

test('Mamba-1 transformers conversion (state-spaces/mamba-370m-hf): its own tokenizer, the snapshot is the model folder', async () => {
  const r = await downloadModel(M1_HF, opts());
  assert.equal(r.commit, PIN_HF);
  assert.ok(!hub.log.some((l) => l.url.startsWith('/api/models/')), 'pinned: no API request');
  assert.ok(!hub.log.some((l) => l.url.includes('gpt-neox')), 'no paired tokenizer');
  assert.equal(r.tokenizer, undefined);
  assert.equal(r.modelDir, r.snapshotDir);
  assert.deepEqual(r.files.map((f) => f.name), ['config.json', 'model.safetensors', 'tokenizer.json']);
  assert.equal(r.files[1].sha256, sha256(hfWeights));
  assert.deepEqual(fs.readFileSync(path.join(r.snapshotDir, 'tokenizer.json')), tokenizer);
  assert.ok(!fs.existsSync(path.join(r.snapshotDir, 'generation_config.json')), 'only the needed files');
  assert.ok(!fs.existsSync(path.join(tmp(), 'managed')), 'no managed folder for a repository with a tokenizer');
  assert.equal(resolveModelRef(M1_HF, opts()), r.snapshotDir);
  assert.equal(resolveModelRef(`${M1_HF}@${PIN_HF}`, opts()), r.snapshotDir);
  // the Mamba-2 alias rule does not touch the (real) Mamba-1 -hf ids
  assert.throws(
    () => resolveModelRef('state-spaces/mamba-790m-hf', opts()),
    (e: Error) => e instanceof UserError && /is not downloaded/.test(e.message) && e.message.includes('mamba-explain download state-spaces/mamba-790m-hf') && !/AntonV/.test(e.message),
  );
});

test('Falcon-Mamba (tiiuae/falcon-mamba-7b): sharded safetensors followed through the index, one progress total, cache completeness per shard', async () => {
  const events: { done: number; total: number }[] = [];
  const r = await downloadModel(FALCON, opts({ onProgress: (p) => events.push({ done: p.done, total: p.total }) }));
  assert.equal(r.commit, PIN_FALCON);
  assert.ok(!hub.log.some((l) => l.url.startsWith('/api/models/')), 'pinned: no API request');
  assert.deepEqual(r.files.map((f) => f.name), ['config.json', 'tokenizer.json', 'model.safetensors.index.json', ...shardNames]);
  shardNames.forEach((n, i) => {
    const f = r.files.find((x) => x.name === n)!;
    assert.equal(f.sha256, sha256(shards[i]), n);
    assert.equal(f.size, shards[i].length, n);
    assert.deepEqual(fs.readFileSync(path.join(r.snapshotDir, n)), shards[i]);
  });
  assert.equal(r.tokenizer, undefined, 'Falcon-Mamba carries its own tokenizer');
  assert.equal(r.modelDir, r.snapshotDir);
  assert.deepEqual(fs.readFileSync(path.join(r.snapshotDir, 'tokenizer.json')), falconTokenizer);
  assert.ok(!fs.existsSync(path.join(r.snapshotDir, 'generation_config.json')));
  assert.ok(!fs.existsSync(path.join(r.snapshotDir, 'README.md')));
  assert.ok(!hub.log.some((l) => l.url.includes('gpt-neox')));
  // the index is fetched first; then config, tokenizer and every shard are planned together (one total)
  const shardBytes = shards.reduce((s, b) => s + b.length, 0);
  const last = events.at(-1)!;
  assert.ok(last.total >= shardBytes, `one progress total covers all shards (${last.total} >= ${shardBytes})`);
  assert.equal(last.done, last.total);
  // resolved from the cache; a second download makes no request
  assert.equal(resolveModelRef(FALCON, opts()), r.snapshotDir);
  hub.log.length = 0;
  const again = await downloadModel(FALCON, opts());
  assert.equal(again.fromCache, true);
  assert.equal(hub.requestCount, 0);
  assert.deepEqual(again.files.map((f) => f.name), r.files.map((f) => f.name));
  assert.equal(again.files[4].sha256, sha256(shards[1]));
  // a snapshot missing one shard does not count as downloaded; the next download fetches only that shard
  const dir = repoDir(FALCON);
  fs.rmSync(path.join(r.snapshotDir, shardNames[1]));
  fs.rmSync(path.join(dir, 'blobs', sha256(shards[1])));
  assert.throws(() => resolveModelRef(FALCON, opts()), /is not downloaded/);
  await assert.rejects(downloadModel(FALCON, opts({ offline: true })), /offline/);
  hub.log.length = 0;
  const healed = await downloadModel(FALCON, opts());
  assert.equal(healed.fromCache, false);
  const cdn = hub.log.filter((l) => l.url.startsWith('/cdn/')).map((l) => l.url);
  assert.deepEqual(cdn, [`/cdn/${sha256(shards[1])}`]);
  assert.ok(!hub.log.some((l) => l.url.includes(shardNames[0]) || l.url.includes(shardNames[2])), 'present shards are not asked for');
  assert.deepEqual(fs.readFileSync(path.join(healed.snapshotDir, shardNames[1])), shards[1]);
  assert.equal(resolveModelRef(FALCON, opts()), r.snapshotDir);
});

test('an unpinned sharded -hf repo (state-spaces/mamba-1.4b-hf) resolves main once, records refs/main and follows the index', async () => {
  const r = await downloadModel(M1_HF_SHARDED, opts());
  assert.equal(r.commit, C14);
  assert.ok(hub.log.some((l) => l.url === `/api/models/${M1_HF_SHARDED}/revision/main`));
  assert.equal(fs.readFileSync(path.join(repoDir(M1_HF_SHARDED), 'refs', 'main'), 'utf8'), C14);
  assert.deepEqual(r.files.map((f) => f.name), ['config.json', 'tokenizer.json', 'model.safetensors.index.json', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']);
  assert.equal(r.files[4].sha256, sha256(shards14[1]));
  assert.equal(r.modelDir, r.snapshotDir);
  hub.log.length = 0;
  assert.equal(resolveModelRef(M1_HF_SHARDED, opts()), r.snapshotDir);
  assert.equal((await downloadModel(M1_HF_SHARDED, opts())).fromCache, true);
  assert.equal(hub.requestCount, 0);
});

test('a shard index naming a path outside the repository is refused before anything is fetched for it', async () => {
  const C = 'cccccccccccccccccccccccccccccccccccccccc';
  const evil = Buffer.from(JSON.stringify({ weight_map: { a: '../../../escaped.safetensors' } }));
  hub.addRepo('test-org/evil-index', { refs: { main: C }, commits: { [C]: { 'config.json': small(hfConfig), 'tokenizer.json': small(tokenizer), 'model.safetensors.index.json': small(evil) } } });
  await assert.rejects(downloadModel('test-org/evil-index', opts()), (e: Error) => e instanceof UserError && /not a usable shard index/.test(e.message));
  assert.ok(!hub.log.some((l) => l.url.includes('escaped')));
  assert.ok(!fs.existsSync(path.join(tmp(), 'hub', 'escaped.safetensors')));
});
