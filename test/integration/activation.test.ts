import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';

const EXTENSION_ID = 'mamba-explain.mamba-explain';

suite('harness', () => {
  test('runs inside a real VS Code extension host', () => {
    assert.equal(typeof vscode.version, 'string');
    assert.ok(vscode.workspace.workspaceFolders && vscode.workspace.workspaceFolders.length > 0, 'a workspace folder is open');
  });

  test('the extension under development is known', () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(ext, `extension ${EXTENSION_ID} is loaded`);
  });
});
