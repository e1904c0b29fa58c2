// The checkpoint loader's errors on bad input (test/unit/checkpoint/*errors.test.ts): one UserError, on one line,
// whose message names the file and the problem.
import assert from 'node:assert/strict';
import { openCheckpoint } from '../../src/engine/checkpoint';
import { UserError } from '../../src/engine/types';

/** openCheckpoint(dir) rejects with a one-line UserError that starts with `${file}:` and matches `pattern`. */
export async function rejectsOpening(dir: string, file: string, pattern: RegExp): Promise<void> {
  await assert.rejects(openCheckpoint(dir), (e: unknown) => {
    assert.ok(e instanceof UserError, `expected a UserError, got ${String(e)}`);
    assert.ok(e.message.startsWith(file + ':'), `message should start with ${file}: ${e.message}`);
    assert.match(e.message, pattern);
    assert.ok(!e.message.includes('\n'), 'one line');
    return true;
  });
}
