import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePythonJson, toStrictJson } from '../../../src/engine/checkpoint/pythonJson';

test('Python json literals (transformers < 5) parse to numbers; strings are left alone', () => {
  const text = '{"time_step_limit": [0.0, Infinity], "lo": -Infinity, "x": NaN, "s": "Infinity and NaN \\" Infinity"}';
  const v = parsePythonJson(text) as Record<string, unknown>;
  assert.deepEqual(v.time_step_limit, [0, Infinity]);
  assert.equal(v.lo, -Infinity);
  assert.ok(Number.isNaN(v.x), 'a bare NaN stays NaN (it is not an absent value)');
  assert.equal(v.s, 'Infinity and NaN " Infinity');
  assert.equal(toStrictJson('{"a": 1}'), '{"a": 1}');
});

test('transformers 5 {"__float__": …} objects parse to numbers', () => {
  const v = parsePythonJson('{"time_step_limit": [0.0, {"__float__": "Infinity"}], "o": {"__float__": "x", "y": 1}}') as Record<string, unknown>;
  assert.deepEqual(v.time_step_limit, [0, Infinity]);
  assert.deepEqual(v.o, { __float__: 'x', y: 1 });
});

test('text that is not JSON still fails', () => {
  assert.throws(() => parsePythonJson('{"a": Infinit}'), SyntaxError);
  assert.throws(() => parsePythonJson('not json'), SyntaxError);
});
