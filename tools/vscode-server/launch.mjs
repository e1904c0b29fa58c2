#!/usr/bin/env node
// Runs VS Code extension tests inside a REAL VS Code extension host, offline, without a desktop VS Code:
//   1. starts VS Code's own server (shipped in the code-server npm package, run under Node 24; see setup.sh),
//   2. opens its workbench in Debian's headless Chromium driven by playwright-core,
//   3. passes extensionDevelopmentPath / extensionTestsPath in the workbench URL's `payload` (vscode-remote URIs,
//      the way VS Code's test/integration/browser does it in server mode), so the extension and the test runner
//      load in the server's Node extension host,
//   4. waits for the test runner's exit (window.codeAutomationExit, called by the workbench when the extension host
//      reports the tests' exit code) or for the result JSON that test/integration/index.ts writes; times out otherwise.
// Accepts VS Code's CLI flags, so @vscode/test-cli / @vscode/test-electron can use it as `useInstallation.fromPath`
// (see tools/vscode-server/code). Extra flags: --timeout <s>, --result-file <f>, --trusted=false (omit
// --disable-workspace-trust: the folder opens untrusted), --keep (keep temp dirs), --verbose.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, mkdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { format } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
const cache = process.env.MAMBA_EXPLAIN_CACHE || join(root, '.cache');
const t0 = Date.now();
const secs = () => ((Date.now() - t0) / 1000).toFixed(1) + 's';

// ---- arguments (VS Code CLI style: --name=value or --name value) ----
const argv = process.argv.slice(2);
const opts = { positional: [] };
const valued = new Set(['extensionDevelopmentPath', 'extensionTestsPath', 'user-data-dir', 'extensions-dir', 'timeout', 'result-file', 'install-extension', 'trusted', 'locale', 'log']);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (!a.startsWith('--')) { opts.positional.push(a); continue; }
  let [name, value] = a.slice(2).split(/=(.*)/s);
  if (value === undefined && valued.has(name) && i + 1 < argv.length && !argv[i + 1].startsWith('--')) value = argv[++i];
  if (name === 'extensionDevelopmentPath' || name === 'install-extension') (opts[name] ??= []).push(value);
  else opts[name] = value ?? true;
}
const verbose = !!opts.verbose || !!process.env.MAMBA_EXPLAIN_TEST_VERBOSE;
const log = (...m) => console.log(`[vscode-server ${secs()}]`, ...m);

// ---- locate Node 24 and VS Code's server ----
let NODE24 = process.env.NODE24, SERVER_MAIN = process.env.VSCODE_SERVER_MAIN;
const envFile = join(cache, 'vscode-server.env');
if ((!NODE24 || !SERVER_MAIN) && existsSync(envFile)) {
  for (const line of readFileSync(envFile, 'utf8').split('\n')) {
    const [k, v] = line.split(/=(.*)/s);
    if (k === 'NODE24' && !NODE24) NODE24 = v;
    if (k === 'SERVER_MAIN' && !SERVER_MAIN) SERVER_MAIN = v;
  }
}
if (!NODE24 || !SERVER_MAIN || !existsSync(NODE24) || !existsSync(SERVER_MAIN)) {
  console.error(`VS Code server not installed: run tools/vscode-server/setup.sh first (looked in ${envFile}).`);
  process.exit(2);
}

const tmp = mkdtempSync(join(tmpdir(), 'mamba-vscode-'));
const serverDataDir = join(tmp, 'server-data');
const userDataDir = opts['user-data-dir'] ? resolve(opts['user-data-dir']) : join(tmp, 'user-data');
const extensionsDir = opts['extensions-dir'] ? resolve(opts['extensions-dir']) : join(tmp, 'extensions');
for (const d of [serverDataDir, userDataDir, extensionsDir]) mkdirSync(d, { recursive: true });
// Offline, quiet workbench: no gallery checks, no experiments, no telemetry, no AI features.
const settingsFile = join(userDataDir, 'User', 'settings.json');
if (!existsSync(settingsFile)) {
  mkdirSync(dirname(settingsFile), { recursive: true });
  writeFileSync(settingsFile, JSON.stringify({
    'extensions.autoCheckUpdates': false, 'extensions.autoUpdate': false, 'extensions.ignoreRecommendations': true,
    'workbench.enableExperiments': false, 'telemetry.telemetryLevel': 'off', 'update.mode': 'none',
    'chat.disableAIFeatures': true, 'workbench.startupEditor': 'none', 'git.enabled': false,
  }, null, 2));
}
const serverArgs = (extra) => [SERVER_MAIN, '--server-data-dir', serverDataDir, '--user-data-dir', userDataDir, '--extensions-dir', extensionsDir, ...extra];

// --install-extension: install through the server's CLI first; without tests, exit with its status.
if (opts['install-extension']) {
  const r = spawnSync(NODE24, serverArgs([...opts['install-extension'].flatMap((v) => ['--install-extension', v]), '--force']), { stdio: 'inherit' });
  if (r.status !== 0 || !opts.extensionTestsPath) process.exit(r.status ?? 1);
}

function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => res(p)); });
  });
}

const devPaths = (opts.extensionDevelopmentPath ?? []).map((p) => resolve(p));
const testsPath = opts.extensionTestsPath ? resolve(opts.extensionTestsPath) : undefined;
const folder = resolve(opts.positional[0] ?? process.env.MAMBA_EXPLAIN_TEST_WORKSPACE ?? join(tmp, 'workspace'));
mkdirSync(folder, { recursive: true });
const resultFile = resolve(opts['result-file'] ?? process.env.MAMBA_EXPLAIN_TEST_RESULT ?? join(tmp, 'result.json'));
try { unlinkSync(resultFile); } catch {}
const timeoutS = Number(opts.timeout ?? process.env.MAMBA_EXPLAIN_TEST_TIMEOUT ?? 900);
const trusted = opts.trusted !== 'false' && opts.trusted !== false;

const port = await freePort();
const serverEnv = { ...process.env, MAMBA_EXPLAIN_TEST_RESULT: resultFile, MAMBA_EXPLAIN_TEST_WORKSPACE: folder };
delete serverEnv.ELECTRON_RUN_AS_NODE;
for (const k of Object.keys(serverEnv)) if (k.startsWith('VSCODE_') && k !== 'VSCODE_TEST_OPTIONS') delete serverEnv[k];
const server = spawn(NODE24, serverArgs([
  '--host', '127.0.0.1', '--port', String(port), '--without-connection-token', '--accept-server-license-terms',
  '--enable-smoke-test-driver', ...(trusted ? ['--disable-workspace-trust'] : []), '--disable-telemetry',
  ...(opts.log ? ['--log', opts.log] : []),
]), { env: serverEnv, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
let serverOut = '';
const onServerData = (b) => { const s = b.toString(); serverOut += s; if (verbose) process.stdout.write('[server] ' + s); };
server.stdout.on('data', onServerData);
server.stderr.on('data', onServerData);
let serverExited = null;
server.on('exit', (code, sig) => { serverExited = code ?? sig; });

let browser;
let workbenchErrors;
let finished = false;
async function cleanup() {
  try { await browser?.close(); } catch {}
  try { process.kill(-server.pid, 'SIGTERM'); } catch {}
  await new Promise((r) => setTimeout(r, 300));
  try { process.kill(-server.pid, 'SIGKILL'); } catch {}
  if (!opts.keep) { try { rmSync(tmp, { recursive: true, force: true }); } catch {} }
}
async function finish(code, why) {
  if (finished) return;
  finished = true;
  let result;
  try { result = JSON.parse(readFileSync(resultFile, 'utf8')); } catch {}
  if (result) {
    for (const f of result.failures ?? []) console.log(`  FAILED: ${f.title}\n    ${String(f.error).split('\n').slice(0, 6).join('\n    ')}`);
    console.log(`\n  ${result.passed} passing (${((result.durationMs ?? 0) / 1000).toFixed(1)}s)`);
    if (result.pending) console.log(`  ${result.pending} pending`);
    if (result.failed) console.log(`  ${result.failed} failing`);
    if (code === 0 && result.failed > 0) code = 1;
    if (code !== 0 && workbenchErrors?.length) console.log('  workbench errors:\n    ' + workbenchErrors.slice(-10).join('\n    '));
  } else if (testsPath) {
    // another test runner (e.g. @vscode/test-cli's) printed its own summary; only our runner writes the result file
    const ours = /out[\\/]test[\\/]integration[\\/]index\.js$/.test(testsPath);
    if (ours) console.log(`\n  0 passing\n  no result file (${why})`);
    if (code === 0 && ours) code = 1;
  }
  log(`done (${why}) in ${secs()}`);
  if (result) console.log(`${result.passed} passed, ${result.failed} failed`);
  else if (testsPath) console.log(`test runner exited with ${code}`);
  await cleanup();
  process.exit(code);
}
process.on('SIGINT', () => finish(130, 'interrupted'));
process.on('SIGTERM', () => finish(143, 'terminated'));
const timer = setTimeout(() => { console.error(serverOut.split('\n').slice(-30).join('\n')); finish(124, `timeout after ${timeoutS}s`); }, timeoutS * 1000);
timer.unref?.();

// ---- wait for the server ----
const base = `http://127.0.0.1:${port}`;
for (;;) {
  if (serverExited !== null) { console.error(serverOut); await finish(3, `server exited (${serverExited})`); }
  try { const r = await fetch(base + '/version'); if (r.status < 500) break; } catch {}
  await new Promise((r) => setTimeout(r, 200));
}
log(`VS Code server on ${base} (${(serverOut.match(/Server bound to [^\n]*/) || [''])[0]})`);

// ---- the workbench in headless Chromium ----
const { chromium } = await import('playwright-core');
const browserProfile = join(tmp, 'chromium-profile');
browser = await chromium.launchPersistentContext(browserProfile, {
  executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--disable-quic', '--disable-dev-shm-usage'],
  viewport: { width: 1400, height: 900 },
});
const page = browser.pages()[0] ?? (await browser.newPage());
const remote = (p) => `vscode-remote://127.0.0.1:${port}${p.split('\\').join('/')}`;
let exitCode = null;
// The workbench forwards its log and the extension host's console here. Show the extension host's output
// (mocha's spec reporter), keep the workbench's own errors for a failure report.
const noise = /^(\[|Resolving connection|Resolved connection|Creating a socket|Updating additional|Canceled)/;
workbenchErrors = [];
await page.exposeFunction('codeAutomationLog', (type, args) => {
  const text = format(...(args ?? [])).replace(/%c/g, '');
  if (verbose) { console.log(`[workbench:${type}]`, text); return; }
  if (type === 'error' || type === 'warn') { workbenchErrors.push(text.split('\n').slice(0, 4).join('\n')); return; }
  if (!noise.test(text)) console.log(text);
});
await page.exposeFunction('codeAutomationExit', (code) => { exitCode = code; });
if (verbose) page.on('console', (m) => console.log('[console]', m.text()));
page.on('pageerror', (e) => { if (verbose) console.log('[pageerror]', e.message); });
const payload = [];
for (const p of devPaths) payload.push(['extensionDevelopmentPath', remote(p)]);
if (testsPath) payload.push(['extensionTestsPath', remote(testsPath)]);
payload.push(['skipWelcome', 'true']);
const url = `${base}/?folder=${encodeURIComponent(folder)}&payload=${encodeURIComponent(JSON.stringify(payload))}`;
if (verbose) log('opening', url);
await page.goto(url);
log(`workbench opened on ${folder}${trusted ? '' : ' (untrusted)'}`);

if (!testsPath) {
  log('no --extensionTestsPath: serving until interrupted');
  await new Promise(() => {});
}
for (;;) {
  if (exitCode !== null) {
    // give the result file a moment to appear
    for (let i = 0; i < 20 && !existsSync(resultFile); i++) await new Promise((r) => setTimeout(r, 100));
    await finish(exitCode, `extension host exited with ${exitCode}`);
  }
  if (existsSync(resultFile)) {
    await new Promise((r) => setTimeout(r, 1500));
    if (exitCode === null) { const r = JSON.parse(readFileSync(resultFile, 'utf8')); await finish(r.failed > 0 ? 1 : 0, 'result file written'); }
    continue;
  }
  if (serverExited !== null) { console.error(serverOut.split('\n').slice(-30).join('\n')); await finish(3, `server exited (${serverExited})`); }
  await new Promise((r) => setTimeout(r, 250));
}
