// The heatmap's wire format (typed arrays) and the request / reply pairing of src/shared/requests.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeAttention, encodeAttention, type AttentionWire } from '../../../src/shared/attentionWire';
import { LatestRequest, ReplyOnce } from '../../../src/shared/requests';
import { parseWebviewMessage, type AttentionPayload } from '../../../src/shared/protocol';

const tokens = ['a', 'b', 'c'].map((text, i) => ({ text, start: i, end: i + 1, role: i === 2 ? ('last' as const) : ('subject' as const) }));
const m = (s: number) => [[s, 0, 0], [0.5 * s, s, 0], [0.1, -0.2, s]];

test('encode → decode gives the payload back, heads and channel models, with group means', () => {
  const heads: AttentionPayload = {
    prompt: 'abc', tokens, layer: 2, nLayers: 4, heads: [m(1), m(2)], blocked: { layers: [2], edges: [[2, 0]] }, model: { path: '/m', hash: 'h' },
    groups: { fast: { count: 1, units: [0], mean: m(1) }, middle: { count: 0, units: [], mean: m(0) }, slow: { count: 1, units: [1], mean: m(2) } },
  };
  const w = encodeAttention(heads);
  assert.ok(w.heads instanceof Float64Array && w.heads.length === 18);
  assert.equal(w.n, 3);
  assert.deepEqual(decodeAttention(w), heads);
  const ch: AttentionPayload = { prompt: 'abc', tokens, layer: 0, nLayers: 4, unit: 'channel', heads: [], channels: { count: 512, mean: m(0.3), maxAbs: m(0.9), selected: { id: 7, matrix: m(-1) } } };
  assert.deepEqual(decodeAttention(encodeAttention(ch)), ch);
});

test('float32 from the engine decodes to the same numbers (no JSON rounding)', () => {
  const f = Float32Array.from([0.1, 0, 0, 0.2, 0.3, 0, -0, 1e-30, 0.7]);
  const w: AttentionWire = { prompt: 'abc', tokens, layer: 0, nLayers: 1, n: 3, heads: f };
  const p = decodeAttention(w);
  assert.deepEqual(p.heads[0].flat(), Array.from(f));
  assert.ok(Object.is(p.heads[0][2][0], -0));
});

test('decode refuses sizes that do not match the tokens', () => {
  const w = encodeAttention({ prompt: 'abc', tokens, layer: 0, nLayers: 1, heads: [m(1)] });
  assert.throws(() => decodeAttention({ ...w, heads: new Float32Array(10) }), RangeError);
  assert.throws(() => decodeAttention({ ...w, n: 2 }), /2 positions for 3 tokens/);
  assert.throws(() => decodeAttention({ ...w, heads: [1, 2] as unknown as Float32Array }), /not a typed array/);
  assert.throws(() => decodeAttention({ ...w, unit: 'channel', heads: new Float32Array(0), channels: { count: 4, mean: new Float32Array(9), maxAbs: new Float32Array(8) } }), /maxAbs/);
});

test('LatestRequest: only the latest request’s reply is current; pushes make requests in flight stale', () => {
  const r = new LatestRequest<string>(1000);
  const a = r.issue('3');
  const b = r.issue('4');
  assert.equal(a, 1000);
  assert.ok(b > a);
  assert.equal(r.pendingKey, '4');
  assert.equal(r.settle(a), 'stale');
  assert.equal(r.pendingKey, '4', 'a stale reply settles nothing');
  assert.equal(r.settle(b), 'current');
  assert.equal(r.pendingKey, undefined);
  assert.equal(r.settle(b), 'stale', 'one reply per request: a second one is stale');
  assert.equal(r.settle(undefined), 'push');
  const c = r.issue('5');
  r.invalidate();
  assert.equal(r.settle(c), 'stale');
});

test('ReplyOnce: the first reply goes out with the id, later ones are dropped', () => {
  const sent: unknown[] = [];
  const r = new ReplyOnce<{ type: string }>(7, (m) => sent.push(m));
  assert.equal(r.settled, false);
  assert.equal(r.reply({ type: 'attention' }), true);
  assert.equal(r.reply({ type: 'error' }), false);
  assert.deepEqual(sent, [{ type: 'attention', requestId: 7 }]);
  const push: unknown[] = [];
  new ReplyOnce<{ type: string }>(undefined, (m) => push.push(m)).reply({ type: 'attention' });
  assert.deepEqual(push, [{ type: 'attention' }]);
});

test("requestLayer carries an optional requestId (a non-negative safe integer)", () => {
  assert.deepEqual(parseWebviewMessage({ type: 'requestLayer', requestId: 12, layer: 3 }), { type: 'requestLayer', requestId: 12, layer: 3 });
  assert.deepEqual(parseWebviewMessage({ type: 'requestLayer', requestId: 0, layer: 3, channel: 5 }), { type: 'requestLayer', requestId: 0, layer: 3, channel: 5 });
  for (const requestId of [-1, 1.5, '3', Number.MAX_SAFE_INTEGER + 2, null]) assert.equal(parseWebviewMessage({ type: 'requestLayer', requestId, layer: 3 }), undefined, String(requestId));
});
