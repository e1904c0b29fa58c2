// The fuzz harness checks what it claims: an internal error, a multi-line or overlong UserError, a write, a slow case
// and a leaked descriptor each fail a case; a hang is killed by the watchdog, naming the case; the seed is printed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../../../src/engine/types';
import { guard, memoryBatch, SEED, tempDir } from './harness';

const tmp = tempDir('harness');

test('guard: a value or a one-line UserError is an outcome; anything else fails the case', async (t) => {
  t.diagnostic(`fuzz suite seed ${SEED} (FUZZ_SEED overrides it)`);
  assert.deepEqual(await guard('value', () => 42), { ok: true, value: 42 });
  const r = await guard('user error', () => {
    throw new UserError('config.json: "d_model" is missing');
  });
  assert.ok(!r.ok && r.error.message.includes('d_model'));
  await assert.rejects(guard('type error', () => (null as unknown as { x: number }).x), /internal error instead of a UserError: TypeError/);
  await assert.rejects(guard('range error', () => new Array(-1)), /internal error instead of a UserError: RangeError/);
  await assert.rejects(guard('plain error', () => { throw new Error('boom'); }), /internal error instead of a UserError: Error: boom/);
  await assert.rejects(guard('two lines', () => { throw new UserError('a\nb'); }), /not one line/);
  await assert.rejects(guard('empty', () => { throw new UserError(' '); }), /empty UserError/);
  await assert.rejects(guard('long', () => { throw new UserError('x'.repeat(5000)); }), /5000 characters/);
});

test('guard: a write anywhere is caught (readers write nothing), an allowed path is not', async () => {
  const f = path.join(tmp, 'x.txt');
  await assert.rejects(guard('writeFileSync', () => fs.writeFileSync(f, 'y')), /wrote outside the allowed paths/);
  await assert.rejects(guard('openSync w', () => fs.closeSync(fs.openSync(f, 'w'))), /wrote outside the allowed paths/);
  await assert.rejects(guard('mkdirSync', () => fs.mkdirSync(path.join(tmp, 'd'))), /wrote outside the allowed paths/);
  await assert.rejects(guard('renameSync', () => fs.renameSync(f, f + '.2')), /wrote outside the allowed paths/);
  await assert.rejects(guard('promises.writeFile', () => fs.promises.writeFile(f, 'z')), /wrote outside the allowed paths/);
  await guard('read', () => fs.readFileSync(f)); // reading is fine
  await guard('allowed', () => fs.writeFileSync(f, 'ok'), { allowWrite: (p) => p === f });
});

test('guard: a case over the time limit fails', async () => {
  await assert.rejects(guard('slow', () => { const t0 = Date.now(); while (Date.now() - t0 < 2100); }), /took \d+ ms \(limit 2000 ms\)/);
});

test('memoryBatch: a descriptor left open by the cases fails the batch', async () => {
  let fd = -1;
  await assert.rejects(memoryBatch('leak', async () => { await guard('open', () => (fd = fs.openSync(__filename, 'r'))); }), /file descriptor\(s\) left open/);
  fs.closeSync(fd);
});

test('watchdog: a case that hangs is killed, and the case is named', () => {
  const script = path.join(tmp, 'hang.ts');
  fs.writeFileSync(script, `import { guard } from ${JSON.stringify(path.join(__dirname, 'harness'))};\nvoid guard('the hanging case', () => { for (;;); });\n`);
  try {
    const r = spawnSync(process.execPath, ['--import', 'tsx', script], { env: { ...process.env, FUZZ_HANG_MS: '500' }, encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.signal, 'SIGKILL', `the process should be killed (status ${r.status}, signal ${r.signal})`);
    assert.match(r.stderr, /FUZZ HANG: case the hanging case has run for \d+ ms \(limit 500 ms\)/);
  } finally {
    fs.rmSync(script, { force: true });
  }
});
