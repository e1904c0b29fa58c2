import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseWebviewMessage, HandshakeQueue, exportBytes, exportFileName } from '../../../src/shared/protocol';

test('accepts every well-formed webview message', () => {
  assert.deepEqual(parseWebviewMessage({ type: 'ready' }), { type: 'ready' });
  assert.deepEqual(parseWebviewMessage({ type: 'ready', view: 'heatmap' }), { type: 'ready', view: 'heatmap' });
  assert.deepEqual(parseWebviewMessage({ type: 'rerun', windows: [9, 15, 9] }), { type: 'rerun', windows: [9, 15] });
  assert.deepEqual(parseWebviewMessage({ type: 'requestLayer', layer: 0 }), { type: 'requestLayer', layer: 0 });
  assert.deepEqual(parseWebviewMessage({ type: 'export', format: 'svg', figure: 'macro-k9', data: '<svg/>' }), {
    type: 'export', format: 'svg', figure: 'macro-k9', data: '<svg/>', encoding: 'utf8',
  });
  assert.deepEqual(parseWebviewMessage({ type: 'export', format: 'png', figure: 'micro', data: 'iVBORw0KGgo=', encoding: 'base64' }), {
    type: 'export', format: 'png', figure: 'micro', data: 'iVBORw0KGgo=', encoding: 'base64',
  });
  assert.deepEqual(parseWebviewMessage({ type: 'openFile', path: '/tmp/x.json' }), { type: 'openFile', path: '/tmp/x.json' });
  assert.deepEqual(parseWebviewMessage({ type: 'log', level: 'warn', message: 'hi' }), { type: 'log', level: 'warn', message: 'hi' });
});

test('rejects malformed and unknown messages', () => {
  const bad: unknown[] = [
    undefined, null, 42, 'ready', [], ['ready'], {}, { type: 'nope' }, { type: 'READY' },
    { type: 'ready', view: 'other' }, { type: 'ready', extra: 1 },
    { type: 'rerun' }, { type: 'rerun', windows: [] }, { type: 'rerun', windows: [0] }, { type: 'rerun', windows: [1.5] },
    { type: 'rerun', windows: ['9'] }, { type: 'rerun', windows: 9 }, { type: 'rerun', windows: [NaN] }, { type: 'rerun', windows: [1e9] },
    { type: 'rerun', windows: Array.from({ length: 100 }, (_, i) => i + 1) },
    { type: 'requestLayer', layer: -1 }, { type: 'requestLayer', layer: '3' }, { type: 'requestLayer', layer: 2.5 }, { type: 'requestLayer' },
    { type: 'export', format: 'exe', figure: 'x', data: 'a' }, { type: 'export', format: 'svg', figure: '../../etc/passwd', data: 'a' },
    { type: 'export', format: 'svg', figure: 'x/y', data: 'a' }, { type: 'export', format: 'svg', figure: 'x', data: '' },
    { type: 'export', format: 'svg', figure: 'x', data: 5 }, { type: 'export', format: 'png', figure: 'x', data: 'abc', encoding: 'utf8' },
    { type: 'export', format: 'png', figure: 'x', data: 'ab!d', encoding: 'base64' }, { type: 'export', format: 'png', figure: 'x', data: 'abc' },
    { type: 'export', format: 'svg', figure: 'x', data: 'a', encoding: 'hex' },
    { type: 'openFile', path: '' }, { type: 'openFile', path: 'a\0b' }, { type: 'openFile' },
    { type: 'log', level: 'debug', message: 'x' }, { type: 'log', level: 'info', message: 'x'.repeat(5000) },
    Object.assign(Object.create({ evil: true }), { type: 'ready' }),
    new Map([['type', 'ready']]),
  ];
  for (const m of bad) assert.equal(parseWebviewMessage(m), undefined, JSON.stringify(m));
});

test('never throws, even on hostile objects', () => {
  const hostile = new Proxy({}, { ownKeys() { throw new Error('boom'); }, get() { throw new Error('boom'); } });
  assert.equal(parseWebviewMessage(hostile), undefined);
  const getter = { get type() { throw new Error('boom'); } };
  assert.equal(parseWebviewMessage(getter), undefined);
});

test('returns a fresh copy (no aliasing of the raw message)', () => {
  const raw = { type: 'rerun', windows: [3, 5] };
  const m = parseWebviewMessage(raw);
  assert.ok(m && m.type === 'rerun');
  raw.windows.push(7);
  assert.deepEqual(m.windows, [3, 5]);
});

test('HandshakeQueue buffers until ready and keeps order', () => {
  const sent: number[] = [];
  const q = new HandshakeQueue<number>((m) => void sent.push(m));
  q.post(1); q.post(2);
  assert.deepEqual(sent, []);
  assert.equal(q.pending, 2);
  q.markReady();
  assert.deepEqual(sent, [1, 2]);
  q.post(3);
  assert.deepEqual(sent, [1, 2, 3]);
  q.reset();
  q.post(4);
  assert.deepEqual(sent, [1, 2, 3]);
  q.markReady();
  assert.deepEqual(sent, [1, 2, 3, 4]);
});

test('export helpers', () => {
  assert.equal(exportFileName({ figure: 'macro-k9', format: 'svg' }), 'macro-k9.svg');
  assert.deepEqual([...exportBytes({ type: 'export', format: 'png', figure: 'x', data: 'AQID', encoding: 'base64' })], [1, 2, 3]);
  assert.equal(Buffer.from(exportBytes({ type: 'export', format: 'csv', figure: 'x', data: 'é', encoding: 'utf8' })).toString('utf8'), 'é');
});
