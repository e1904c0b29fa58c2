// The Steering view through the real VS Code route, on the bundled Mamba-1 demo model (mambaExplain.model =
// demo-mamba1): the command opens it with the model's shape; 'steer' requests (as the slider sends them) get the clean
// and steered next-token distributions and continuations, a newer request supersedes an older one; bad input is a
// clear error; the bottleneck finder and the scale sweep deliver their results to the view.
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { activate, EXTENSION_ID, waitFor, type Api } from './helpers';

type SteeringApi = Api & {
  steeringMessages(): { type: string; [k: string]: any }[];
  simulateSteeringMessage(raw: unknown): Promise<boolean>;
};

suite('steering view', () => {
  test('opens on the Mamba-1 demo model; moving the scale gives a steered continuation; finder and sweep deliver', async function () {
    this.timeout(300_000);
    const api = (await activate()) as SteeringApi;
    const cfg = vscode.workspace.getConfiguration('mambaExplain');
    const before = cfg.inspect<string>('model')?.globalValue;
    await cfg.update('model', 'demo-mamba1', vscode.ConfigurationTarget.Global);
    try {
      const cmds = await vscode.commands.getCommands(true);
      assert.ok(cmds.includes('mambaExplain.openSteering'));
      const prompt = 'Beats Music is owned by';
      const channels = Array.from({ length: 64 }, (_, i) => i);
      assert.equal(await vscode.commands.executeCommand('mambaExplain.openSteering', { prompt, layer: 6, channels, scale: 1, maxTokens: 6 }), true);
      const init = await waitFor('steerInit', () => api.steeringMessages().find((m) => m.type === 'steerInit'));
      assert.equal(init.payload.nLayer, 8);
      assert.equal(init.payload.dModel, 256);
      assert.equal(init.payload.model.arch, 'mamba1');
      assert.equal(init.payload.prompt, prompt);
      assert.deepEqual(init.payload.initial.channels, channels);

      // ids above any the real webview uses (they start at its clock)
      const base = 4e15;
      const steer = (requestId: number, scale: number, extra: Record<string, unknown> = {}) =>
        api.simulateSteeringMessage({ type: 'steer', requestId, prompt, layer: 6, channels, scale, maxTokens: 6, top: 5, ...extra });
      assert.equal(await api.simulateSteeringMessage({ type: 'steer', requestId: 'x', prompt }), false, 'a malformed request is ignored');
      // two moves of the slider: the second supersedes the first
      const p1 = steer(base + 1, 3);
      const p2 = steer(base + 2, 8);
      await Promise.all([p1, p2]);
      const gen = await waitFor('steered continuation', () => api.steeringMessages().find((m) => m.type === 'steerGenerate' && m.requestId === base + 2), 120_000);
      assert.equal(gen.steer.scale, 8);
      assert.equal(gen.result.clean.ids.length, 6);
      assert.equal(gen.result.steered.ids.length, 6);
      assert.deepEqual(gen.result.steer, [{ layer: 6, channels, scale: 8 }]);
      const pred = api.steeringMessages().find((m) => m.type === 'steerPredict' && m.requestId === base + 2)!;
      assert.equal(pred.clean.length, 5);
      assert.equal(pred.steered.length, 5);
      assert.ok(Math.abs(pred.steered.reduce((s: number, t: any) => s + t.prob, 0) - pred.clean.reduce((s: number, t: any) => s + t.prob, 0)) > 1e-7, 'steering changes the distribution');
      assert.ok(!api.steeringMessages().some((m) => m.type === 'steerGenerate' && m.requestId === base + 1), 'the superseded request gets no continuation');
      // a stale request (older id) is dropped
      await steer(base, 2);
      await new Promise((r) => setTimeout(r, 300));
      assert.ok(!api.steeringMessages().some((m) => (m.type === 'steerPredict' || m.type === 'steerGenerate') && m.requestId === base));
      // scale 1 = no steering: the steered distribution is the clean one
      await steer(base + 3, 1, { maxTokens: 0 });
      const same = await waitFor('scale 1', () => api.steeringMessages().find((m) => m.type === 'steerPredict' && m.requestId === base + 3));
      assert.deepEqual(same.steered, same.clean);
      // a channel out of range is one clear line
      await steer(base + 4, 2, { channels: [300] });
      const err = await waitFor('error', () => api.steeringMessages().find((m) => m.type === 'error' && /channel 300 is out of range/.test(m.message)));
      assert.match(err.message, /0\.\.255/);

      const examples = path.join(vscode.extensions.getExtension(EXTENSION_ID)!.extensionPath, 'examples', 'demo-facts.json');
      assert.equal(await api.simulateSteeringMessage({ type: 'findBottleneck', texts: 12, file: examples }), true);
      const bn = await waitFor('bottlenecks', () => api.steeringMessages().find((m) => m.type === 'bottlenecks'), 120_000);
      assert.equal(bn.result.layers.length, 8);
      assert.equal(bn.result.corpus.texts, 12);
      assert.ok(bn.result.channels.length > 0);
      assert.equal(await api.simulateSteeringMessage({ type: 'sweepScales', layer: 6, channels: [0, 1, 2, 3], scales: [0, 1, 3], metric: 'accuracy', leaveOneOut: false, limit: 6, file: examples }), true);
      const sw = await waitFor('steerSweep', () => api.steeringMessages().find((m) => m.type === 'steerSweep'), 120_000);
      assert.deepEqual(sw.result.scales.map((s: any) => s.scale), [0, 1, 3]);
      assert.equal(sw.result.prompts, 6);
    } finally {
      await cfg.update('model', before, vscode.ConfigurationTarget.Global);
    }
  });
});
