import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { activate, setModel } from './helpers';

// Runs in the second pass, where the workspace is opened WITHOUT --disable-workspace-trust (untrusted).
suite('untrusted workspace @untrusted', () => {
  test('the workspace is untrusted', () => {
    assert.equal(vscode.workspace.isTrusted, false);
  });

  test('a model inside the workspace is refused with a clear error', async () => {
    await activate();
    const inside = process.env.MAMBA_EXPLAIN_TEST_WS_MODEL;
    assert.ok(inside, 'MAMBA_EXPLAIN_TEST_WS_MODEL is set');
    await setModel(inside);
    await assert.rejects(
      Promise.resolve(vscode.commands.executeCommand('mambaExplain.traceFactualFlow', { prompt: 'Beats Music is owned by', subject: 'Beats Music', target: '' })),
      /untrusted workspace/,
    );
  });

  test('a model outside the workspace still works', async () => {
    await setModel(process.env.MAMBA_EXPLAIN_TEST_MODEL);
    const r = (await vscode.commands.executeCommand('mambaExplain.traceFactualFlow', { prompt: 'Beats Music is owned by', subject: 'Beats Music', target: '' })) as { kind: string };
    assert.equal(r.kind, 'trace');
  });
});
