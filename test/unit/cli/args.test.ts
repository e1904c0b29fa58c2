import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseArgs, Options } from '../../../src/cli/args';
import { UserError } from '../../../src/engine/types';

test('parses options, flags and integer lists', () => {
  const o = new Options(parseArgs(['--window', '9,15', '--json', '--limit=5', 'pos'], new Set(['json'])), new Set(['json', 'window', 'limit']));
  assert.deepEqual(o.intList('window'), [9, 15]);
  assert.equal(o.int('limit'), 5);
  assert.equal(o.flag('json'), true);
  assert.deepEqual(o.positionals, ['pos']);
});

test('rejects unknown options and bad integers with a UserError', () => {
  assert.throws(() => new Options(parseArgs(['--nope', 'x'], new Set()), new Set(['json'])), UserError);
  const o = new Options(parseArgs(['--limit', 'abc'], new Set()), new Set(['limit']));
  assert.throws(() => o.int('limit'), /must be an integer/);
});
