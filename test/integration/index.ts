// Test runner module loaded by VS Code's extension host (`--extensionTestsPath`): runs every compiled
// out/test/integration/**/*.test.js with mocha inside the real extension host, prints a mocha-style summary and
// writes a result JSON (MAMBA_EXPLAIN_TEST_RESULT, else <this folder>/result.json) that the launcher waits for.
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface IntegrationResult {
  passed: number;
  failed: number;
  pending: number;
  durationMs: number;
  failures: { title: string; error: string }[];
  tests: { title: string; state: string; durationMs?: number }[];
}

function findTests(dir: string, out: string[] = []): string[] {
  for (const name of fs.readdirSync(dir)) {
    const p = path.join(dir, name);
    if (fs.statSync(p).isDirectory()) findTests(p, out);
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out.sort();
}

export function resultFile(): string {
  return process.env.MAMBA_EXPLAIN_TEST_RESULT || path.join(__dirname, 'result.json');
}

export async function run(): Promise<void> {
  // mocha stays outside the bundle: it is resolved from the repository's node_modules at run time.
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const Mocha = require('mocha');
  const mocha = new Mocha({
    ui: 'tdd',
    color: false,
    timeout: Number(process.env.MAMBA_EXPLAIN_TEST_TIMEOUT_MS || 120_000),
    reporter: 'spec',
    grep: process.env.MAMBA_EXPLAIN_TEST_GREP || undefined,
    invert: !!process.env.MAMBA_EXPLAIN_TEST_INVERT,
  });
  for (const f of findTests(__dirname)) mocha.addFile(f);
  const started = Date.now();
  const result: IntegrationResult = { passed: 0, failed: 0, pending: 0, durationMs: 0, failures: [], tests: [] };
  await new Promise<void>((resolve) => {
    let runner: any;
    try {
      runner = mocha.run(() => resolve());
    } catch (e) {
      result.failed++;
      result.failures.push({ title: 'loading the tests', error: String((e as Error)?.stack ?? e) });
      resolve();
      return;
    }
    runner.on('pass', (t: any) => {
      result.passed++;
      result.tests.push({ title: t.fullTitle(), state: 'passed', durationMs: t.duration });
    });
    runner.on('fail', (t: any, err: any) => {
      result.failed++;
      result.failures.push({ title: t.fullTitle(), error: String(err?.stack ?? err) });
      result.tests.push({ title: t.fullTitle(), state: 'failed', durationMs: t.duration });
    });
    runner.on('pending', (t: any) => {
      result.pending++;
      result.tests.push({ title: t.fullTitle(), state: 'pending' });
    });
  });
  result.durationMs = Date.now() - started;
  const file = resultFile();
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file + '.tmp', JSON.stringify(result, null, 2));
  fs.renameSync(file + '.tmp', file);
  console.log(`${result.passed} passed, ${result.failed} failed`);
  if (result.failed > 0) throw new Error(`${result.failed} integration test(s) failed`);
}
