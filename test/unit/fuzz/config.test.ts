// Fuzzing config.json of both families (Mamba-2 state-spaces and HF; Mamba-1 state-spaces, HF "mamba" and HF
// "falcon_mamba"): values replaced by wrong types, huge / negative / fractional / non-finite numbers (Python's bare
// NaN and Infinity and transformers 5's {"__float__": …} included), deep nesting, removed and duplicated keys, hostile
// model_type / architectures / ssm_cfg.layer, broken JSON text. Each case ends in a UserError (one line) or in a config
// whose dimensions are positive safe integers that agree with each other; unknown keys change nothing; and through
// openCheckpoint, a config that disagrees with the weights is refused.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { parseConfig, parseConfigText } from '../../../src/engine/checkpoint';
import { parsePythonJson } from '../../../src/engine/checkpoint/pythonJson';
import type { Mamba1Config, Mamba2Config, ModelConfig } from '../../../src/engine/types';
import { applyJsonOps, applyTextOps, enormous, Entries, hostileValue, jsonOps, nonFinite, Raw, serialize, textOp } from './mutate';
import { Base, checkOpened, folderOracle, makeBases, openCase, PARITY, PARITY_M1, CKPT_FIXTURES } from './bases';
import { check, guard, show, tempDir } from './harness';

const tmp = tempDir('cfg');
let models: Base[] = [];
/** every config.json of the bases and of the repository's real checkpoints */
let configs: { name: string; json: Record<string, unknown> }[] = [];

before(async () => {
  models = await makeBases(tmp);
  configs = models.map((m) => ({ name: m.name, json: JSON.parse(m.files.get('config.json')!.toString('utf8')) }));
  for (const root of [PARITY, PARITY_M1, CKPT_FIXTURES]) {
    for (const d of fs.readdirSync(root)) {
      const f = path.join(root, d, 'config.json');
      if (fs.existsSync(f)) configs.push({ name: `real-${d}`, json: parsePythonJson(fs.readFileSync(f, 'utf8')) as Record<string, unknown> });
    }
  }
  assert.ok(configs.length >= 15);
});

/** The keys the readers look at, so that mutations aim at them. */
const KNOWN_KEYS = [
  'model_type', 'architectures', 'd_model', 'n_layer', 'vocab_size', 'ssm_cfg', 'pad_vocab_size_multiple', 'd_intermediate', 'attn_layer_idx',
  'rms_norm', 'tie_embeddings', 'norm_epsilon', 'hidden_size', 'num_hidden_layers', 'state_size', 'head_dim', 'num_heads', 'n_groups',
  'expand', 'conv_kernel', 'layer_norm_epsilon', 'tie_word_embeddings', 'use_bias', 'use_conv_bias', 'norm_before_gate', 'time_step_limit',
  'hidden_act', 'intermediate_size', 'time_step_rank', 'mixer_rms_eps', 'layer', 'd_state', 'headdim', 'ngroups', 'd_conv', 'd_inner', 'dt_rank',
  'bias', 'conv_bias', 'D_has_hdim', 'rmsnorm', 'dt_limit',
];

const configValue = fc.oneof(
  { weight: 6, arbitrary: hostileValue },
  { weight: 2, arbitrary: fc.constantFrom('mamba', 'mamba2', 'falcon_mamba', 'mamba_ssm', 'Mamba1', 'Mamba2', 'Mamba3', 'auto', 'silu', 'gelu', ['Mamba2ForCausalLM'], ['FalconMambaForCausalLM'], ['MambaForCausalLM'], [0, 'Infinity'], [0, Infinity], [0.001, 0.1]) },
  { weight: 2, arbitrary: fc.integer({ min: -2, max: 70 }) },
  { weight: 1, arbitrary: nonFinite },
);
const configKey = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...KNOWN_KEYS) }, { weight: 1, arbitrary: fc.string({ maxLength: 8 }) });

const POSITIVE = ['dModel', 'nLayer', 'vocabSize', 'paddedVocabSize', 'dConv', 'dState', 'expand', 'dInner'] as const;

/** What a parsed config must satisfy, whatever the input was. */
function checkConfig(c: ModelConfig, label: string): void {
  if (c.arch === 'gpt2' || c.arch === 'gptneox') {
    for (const k of ['dModel', 'nLayer', 'vocabSize', 'paddedVocabSize', 'nHead', 'dFf', 'maxPositions'] as const) assert.ok(Number.isSafeInteger(c[k]) && c[k] > 0, `${label}: ${k} = ${c[k]}`);
    assert.equal(c.dModel % c.nHead, 0, `${label}: heads`);
    return;
  }
  checkMambaConfig(c as Mamba2Config | Mamba1Config, label);
}

function checkMambaConfig(c: Mamba2Config | Mamba1Config, label: string): void {
  for (const k of POSITIVE) assert.ok(Number.isSafeInteger(c[k]) && c[k] > 0, `${label}: ${k} = ${c[k]}`);
  assert.equal(c.dInner, c.expand * c.dModel, `${label}: dInner`);
  assert.ok(c.paddedVocabSize >= c.vocabSize, `${label}: padded vocab`);
  assert.ok(Number.isFinite(c.eps) && c.eps > 0, `${label}: eps ${c.eps}`);
  assert.equal(typeof c.tieEmbeddings, 'boolean');
  if (c.arch === 'mamba2') {
    for (const k of ['headdim', 'nGroups', 'nHeads'] as const) assert.ok(Number.isSafeInteger(c[k]) && c[k] > 0, `${label}: ${k} = ${c[k]}`);
    assert.equal(c.nHeads * c.headdim, c.dInner, `${label}: heads × headdim`);
    assert.equal(c.nHeads % c.nGroups, 0, `${label}: heads / groups`);
  } else {
    assert.ok(Number.isSafeInteger(c.dtRank) && c.dtRank > 0, `${label}: dtRank = ${c.dtRank}`);
    assert.ok(c.variant === 'mamba' || c.variant === 'falcon_mamba');
    assert.ok(c.variant === 'falcon_mamba' ? Number.isFinite(c.mixerRmsEps) && c.mixerRmsEps! > 0 : c.mixerRmsEps === null, `${label}: mixerRmsEps ${c.mixerRmsEps}`);
  }
}

const parseText = (text: string): ModelConfig => parseConfigText(text, 'config.json');

test('config.json: structural mutations of every family and layout → UserError or a consistent config', async (t) => {
  const msg = await check('config-json', 3000, [fc.nat(), jsonOps(4, configKey, configValue)], async (ci, ops) => {
    const base = configs[ci % configs.length];
    const text = serialize(applyJsonOps(base.json, ops));
    const r = await guard(`config-json ${base.name} ${show(ops)}`, () => parseText(text));
    if (r.ok) checkConfig(r.value, `${base.name} ${show(ops)}`);
  });
  t.diagnostic(msg);
});

test('config.json: broken JSON text (truncated, spliced tokens, Python literals) → UserError or a consistent config', async (t) => {
  const msg = await check('config-text', 1500, [fc.nat(), fc.array(textOp, { minLength: 1, maxLength: 4 }), fc.boolean()], async (ci, ops, pretty) => {
    const base = configs[ci % configs.length];
    const text = applyTextOps(JSON.stringify(base.json, null, pretty ? 2 : undefined), ops);
    const r = await guard(`config-text ${base.name} ${show(ops)}`, () => parseText(text));
    if (r.ok) checkConfig(r.value, `${base.name} ${show(ops)}`);
  });
  t.diagnostic(msg);
});

test('config.json: keys the readers do not know (any value: deep nesting, NaN, huge arrays) change nothing', async (t) => {
  // values Python's json (or transformers 5) can write: not '-NaN' or 'inf'
  const written = fc.oneof(hostileValue, enormous, nonFinite).filter((v) => !(v instanceof Raw && (v.text === '-NaN' || v.text === 'inf')));
  const extra = fc.array(fc.tuple(fc.string({ maxLength: 10 }).map((k) => `zz_${k}`), written, fc.boolean()), { minLength: 1, maxLength: 3 });
  const msg = await check('config-unknown-keys', 250, [fc.nat(), extra], async (ci, adds) => {
    const base = configs[ci % configs.length];
    const want = parseConfig(base.json, 'config.json');
    const entries = Object.entries(base.json).map(([k, v]) => [k, k === 'ssm_cfg' && v && typeof v === 'object' ? new Entries(Object.entries(v)) : v] as [string, unknown]);
    const ssm = entries.find(([k]) => k === 'ssm_cfg')?.[1];
    for (const [k, v, nested] of adds) (nested && ssm instanceof Entries ? ssm.entries : entries).push([k, v]);
    const text = serialize(new Entries(entries));
    const r = await guard(`config-unknown-keys ${base.name} ${show(adds)}`, () => parseText(text));
    assert.ok(r.ok, `${base.name}: unknown keys ${show(adds)} made the config unreadable: ${!r.ok && r.error.message}`);
    assert.deepEqual(r.value, want, `${base.name}: unknown keys ${show(adds)} changed the config`);
  });
  t.diagnostic(msg);
});

test('config.json through openCheckpoint (both families): a mutated config is refused with a UserError, or agrees with the weights', async (t) => {
  const dir = path.join(tmp, 'case');
  const msg = await check('config-open', 400, [fc.nat(), jsonOps(2, configKey, configValue), fc.boolean()], async (mi, ops, asText) => {
    const m = models[mi % models.length];
    const json = JSON.parse(m.files.get('config.json')!.toString('utf8'));
    const files = new Map(m.files);
    files.set('config.json', Buffer.from(asText ? applyTextOps(JSON.stringify(json), [{ op: 'truncate', at: ops[0].at }]) : serialize(applyJsonOps(json, ops))));
    await openCase(dir, files, `config-open ${m.name} ${asText ? 'truncated' : show(ops)}`, (ck) => {
      checkConfig(ck.config, m.name);
      checkOpened(ck, m.name, folderOracle(files));
    });
  });
  t.diagnostic(msg);
});
