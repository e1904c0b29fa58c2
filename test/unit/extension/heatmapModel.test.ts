// Issue 16 point 3: the heatmap shows the traced model or nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { modelMismatchMessage } from '../../../src/extension/logic/heatmapModel';
import { parseWebviewMessage } from '../../../src/shared/protocol';

test('same hash: no message; another hash or none: a clear message naming both models', () => {
  assert.equal(modelMismatchMessage({ path: '/m/a', hash: 'abc' }, { path: '/m/a-copy', hash: 'abc' }), undefined);
  const m = modelMismatchMessage({ path: '/m/a', hash: 'aaaaaaaaaaaaaaaa' }, { path: '/m/b', hash: 'bbbbbbbbbbbbbbbb' })!;
  assert.match(m, /another model \(\/m\/a, hash aaaaaaaaaaaa\).*\(\/m\/b, hash bbbbbbbbbbbb\)/u);
  assert.match(m, /Re-trace/u);
  assert.ok(modelMismatchMessage({ path: '/m/a' }, { path: '/m/a', hash: 'abc' }), 'a trace without a hash cannot be checked: not shown');
});

test("the webview's 'retrace' message is validated", () => {
  assert.deepEqual(parseWebviewMessage({ type: 'retrace' }), { type: 'retrace' });
  assert.equal(parseWebviewMessage({ type: 'retrace', prompt: 'x' }), undefined);
});
