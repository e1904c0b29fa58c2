import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { FakeHub } from '../helpers/fakeHub';
import { activate, setModel } from './helpers';

// Download Model… against a local stand-in for the Hugging Face Hub (nothing reaches the network), then trace
// with the setting holding the Hub id.
suite('download model', () => {
  const saved: Record<string, string | undefined> = {};
  let hub: FakeHub;
  let tmp: string;
  const ID = 'test-org/tiny-mamba2-hf';
  const C = 'c0ffee0000000000000000000000000000000001';

  suiteSetup(async () => {
    const model = process.env.MAMBA_EXPLAIN_TEST_MODEL;
    assert.ok(model && fs.existsSync(model), 'fixture model');
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mamba-hub-'));
    const files: Record<string, { data: Buffer; lfs?: boolean }> = {};
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json']) files[f] = { data: fs.readFileSync(path.join(model!, f)), lfs: f === 'model.safetensors' };
    hub = new FakeHub().addRepo(ID, { refs: { main: C }, commits: { [C]: files } });
    const endpoint = await hub.start();
    for (const [k, v] of Object.entries({ HF_ENDPOINT: endpoint, HF_HUB_CACHE: path.join(tmp, 'hub'), MAMBA_EXPLAIN_CACHE: path.join(tmp, 'me'), HF_HUB_OFFLINE: '' })) {
      saved[k] = process.env[k];
      process.env[k] = v;
    }
  });

  suiteTeardown(async () => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    await hub?.stop();
    await setModel(process.env.MAMBA_EXPLAIN_TEST_MODEL);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('Download Model… fetches into the HF cache and the Hub id then works as the model', async () => {
    await activate();
    const dir = (await vscode.commands.executeCommand('mambaExplain.downloadModel', ID)) as string;
    assert.ok(dir && fs.existsSync(path.join(dir, 'config.json')), `downloaded model folder ${dir}`);
    assert.ok(dir.startsWith(path.join(tmp, 'hub')), 'inside the HF cache');
    await setModel(ID);
    const r = (await vscode.commands.executeCommand('mambaExplain.traceFactualFlow', { prompt: 'Beats Music is owned by', subject: 'Beats Music', target: '' })) as { kind: string; provenance: { model: { path: string } } };
    assert.equal(r.kind, 'trace');
  });
});
