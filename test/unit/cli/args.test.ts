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

test('an unknown option is called unknown, also as the last argument; a near miss is suggested', () => {
  const known = new Set(['json', 'window', 'prompt', 'subject']);
  const flags = new Set(['json']);
  assert.throws(() => parseArgs(['--prompt', 'x', '--windw'], flags, known), /^UserError: unknown option --windw \(did you mean --window\?\)$|unknown option --windw \(did you mean --window\?\)/);
  assert.throws(() => parseArgs(['--bogus'], flags, known), (e: unknown) => e instanceof UserError && e.message === 'unknown option --bogus');
  assert.throws(() => parseArgs(['--bogus=1'], flags, known), /unknown option --bogus/);
  // a known option whose value would be another option needs a value
  assert.throws(() => parseArgs(['--prompt', '--subject', 'S'], flags, known), /option --prompt needs a value/);
  assert.throws(() => parseArgs(['--prompt'], flags, known), /option --prompt needs a value/);
  assert.throws(() => parseArgs(['--json=yes'], flags, known), /takes no value/);
  // a value that starts with -- but is no option is kept; --name=value always works
  assert.equal(parseArgs(['--prompt', '--not-an-option'], flags, known).options.get('prompt'), '--not-an-option');
  assert.equal(parseArgs(['--prompt=--subject'], flags, known).options.get('prompt'), '--subject');
  assert.deepEqual(parseArgs(['--', '--prompt'], flags, known).positionals, ['--prompt']);
});
