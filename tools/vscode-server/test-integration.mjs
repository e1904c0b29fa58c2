#!/usr/bin/env node
// `npm run test:integration`: idempotent setup (cached under .cache/), build, then the integration tests in a real
// VS Code extension host (tools/vscode-server/launch.mjs). Two passes: a trusted workspace (every suite except
// '@untrusted'), then the same workspace opened UNTRUSTED (only suites tagged '@untrusted').
// Flags: --skip-setup, --skip-build, --grep <re>, --verbose.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
process.chdir(root);
const args = process.argv.slice(2);
const has = (f) => args.includes(f);
const valueOf = (f) => { const i = args.indexOf(f); return i >= 0 ? args[i + 1] : undefined; };
const t0 = Date.now();
const step = (name, cmd, cmdArgs, env = {}) => {
  const t = Date.now();
  const r = spawnSync(cmd, cmdArgs, { stdio: 'inherit', env: { ...process.env, ...env } });
  console.log(`[test:integration] ${name}: ${((Date.now() - t) / 1000).toFixed(1)}s (exit ${r.status ?? r.signal})`);
  return r.status ?? 1;
};
if (!has('--skip-setup') && step('setup', 'bash', ['tools/vscode-server/setup.sh']) !== 0) process.exit(1);
if (!has('--skip-build')) {
  if (step('build', process.execPath, ['esbuild.mjs']) !== 0) process.exit(1);
  if (step('build tests', process.execPath, ['tools/vscode-server/build-tests.mjs']) !== 0) process.exit(1);
}

// Fixture model (small random Mamba-2 + tiny tokenizer): one outside the workspace, one inside it (untrusted pass).
const fixtureRoot = mkdtempSync(join(tmpdir(), 'mamba-fixtures-'));
const outsideModel = join(fixtureRoot, 'tiny-model');
if (step('fixture model', process.execPath, ['--import', 'tsx', 'test/integration/fixtures/make-model.ts', outsideModel]) !== 0) process.exit(1);
function workspace() {
  const ws = mkdtempSync(join(tmpdir(), 'mamba-ws-'));
  const fixtures = join(root, 'test/integration/fixtures/workspace');
  if (existsSync(fixtures)) cpSync(fixtures, ws, { recursive: true });
  cpSync(outsideModel, join(ws, 'models', 'tiny'), { recursive: true });
  return ws;
}
const grep = valueOf('--grep');
const passes = [
  { name: 'trusted workspace', trusted: true, env: { MAMBA_EXPLAIN_TEST_GREP: grep ?? '@untrusted', MAMBA_EXPLAIN_TEST_INVERT: grep ? '' : '1' } },
  { name: 'untrusted workspace', trusted: false, env: { MAMBA_EXPLAIN_TEST_GREP: '@untrusted', MAMBA_EXPLAIN_TEST_INVERT: '' } },
].filter((p) => !grep || p.trusted);
let failed = 0;
for (const p of passes) {
  const ws = workspace();
  const code = step(p.name, process.execPath, [
    'tools/vscode-server/launch.mjs', `--extensionDevelopmentPath=${root}`,
    `--extensionTestsPath=${join(root, 'out/test/integration/index.js')}`, ws,
    `--trusted=${p.trusted}`, '--timeout', process.env.MAMBA_EXPLAIN_TEST_TIMEOUT ?? '900', ...(has('--verbose') ? ['--verbose'] : []),
  ], { ...p.env, MAMBA_EXPLAIN_TEST_UNTRUSTED: p.trusted ? '' : '1', MAMBA_EXPLAIN_TEST_MODEL: outsideModel, MAMBA_EXPLAIN_TEST_WS_MODEL: join(ws, 'models', 'tiny') });
  rmSync(ws, { recursive: true, force: true });
  if (code !== 0) failed++;
}
rmSync(fixtureRoot, { recursive: true, force: true });
console.log(`[test:integration] total ${((Date.now() - t0) / 1000).toFixed(1)}s, ${failed ? failed + ' pass(es) failed' : 'all passes ok'}`);
process.exit(failed ? 1 : 0);
