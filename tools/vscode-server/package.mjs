#!/usr/bin/env node
// `npm run package`: build, `vsce package --target linux-x64` (platform-specific VSIX), then verify the VSIX:
// the entries it must and must not contain (unzip -l), and that it installs into the
// VS Code server (--install-extension) and activates there (test/vsix/index.ts in the extension host); that check
// runs when the VS Code server is set up (.cache/vscode-server.env) or with --install-check; --no-install-check skips it.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
process.chdir(root);
const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
const target = process.env.VSCE_TARGET || 'linux-x64';
const vsix = resolve(process.argv.find((a) => a.startsWith('--out='))?.slice(6) ?? `${pkg.name}-${target}-${pkg.version}.vsix`);
const run = (cmd, args, opts = {}) => {
  const r = spawnSync(cmd, args, { stdio: 'inherit', ...opts });
  if (r.status !== 0) { console.error(`[package] ${cmd} ${args.join(' ')} failed (${r.status ?? r.signal})`); process.exit(1); }
  return r;
};

run(process.execPath, ['esbuild.mjs']);
for (const f of ['dist/extension.js', 'dist/worker.js']) if (!existsSync(f)) { console.error(`[package] ${f} is missing after the build`); process.exit(1); }
if (!existsSync('models/demo/config.json')) console.warn('[package] warning: models/demo/ is missing: the VSIX has no embedded demo model');
rmSync(vsix, { force: true });
// The README's relative links (docs, CHANGELOG, the demo models' TRAINING.md…) must work in the Extensions view: the
// manifest has no confirmed `repository` to make them absolute, so the linked files ship in the VSIX (an ignore file
// = .vscodeignore + one '!' line per linked file) and the links stay relative (--no-rewrite-relative-links).
const readmeLinks = [...readFileSync('README.md', 'utf8').matchAll(/\]\(([^)\s#]+)(?:#[^)]*)?\)/gu)].map((m) => m[1])
  .filter((l) => !/^[a-z][a-z0-9+.-]*:/iu.test(l) && !l.startsWith('/')).map((l) => decodeURIComponent(l).replace(/^\.\//u, ''));
const linked = [...new Set(readmeLinks)];
const missingLinks = linked.filter((l) => !existsSync(l));
if (missingLinks.length) { console.error(`[package] README.md links to missing files: ${missingLinks.join(', ')}`); process.exit(1); }
const ignoreFile = join(mkdtempSync(join(tmpdir(), 'mamba-vscodeignore-')), '.vscodeignore');
writeFileSync(ignoreFile, `${readFileSync('.vscodeignore', 'utf8').trimEnd()}\n# the README's linked files (tools/vscode-server/package.mjs)\n${linked.map((l) => `!${l}`).join('\n')}\n`);
run(process.execPath, [join('node_modules', '@vscode', 'vsce', 'vsce'), 'package', '--target', target, '--out', vsix, '--allow-missing-repository', '--no-rewrite-relative-links', '--ignoreFile', ignoreFile]);
rmSync(dirname(ignoreFile), { recursive: true, force: true });

// ---- contents
const list = spawnSync('unzip', ['-Z1', vsix], { encoding: 'utf8' });
if (list.status !== 0) { console.error('[package] unzip -Z1 failed'); process.exit(1); }
const files = list.stdout.split('\n').filter(Boolean);
const problems = [];
const must = ['extension/package.json', 'extension/dist/extension.js', 'extension/dist/worker.js', 'extension/LICENSE.txt', 'extension/readme.md',
  'extension/node_modules/onnxruntime-node/dist/index.js', 'extension/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node',
  'extension/node_modules/onnxruntime-common/dist/cjs/index.js', 'extension/media/mamba.svg'];
if (existsSync('dist/webview/panel.js')) must.push('extension/dist/webview/panel.js');
if (existsSync('models/demo/config.json')) must.push('extension/models/demo/config.json');
if (existsSync('models/demo-transformer/config.json')) must.push('extension/models/demo-transformer/config.json', 'extension/models/demo-transformer/model.safetensors', 'extension/models/demo-transformer/tokenizer.json');
if (existsSync('models/demo-mamba1/config.json')) must.push('extension/models/demo-mamba1/config.json', 'extension/models/demo-mamba1/model.safetensors', 'extension/models/demo-mamba1/tokenizer.json');
for (const m of must) if (!files.includes(m)) problems.push(`missing ${m}`);
// every relative link of the packaged README resolves inside the VSIX (vsce stores LICENSE as LICENSE.txt, README.md as readme.md)
const lower = new Set(files.map((f) => f.toLowerCase()));
for (const l of linked) {
  const e = `extension/${l}`.toLowerCase();
  if (!lower.has(e) && !lower.has(`${e}.txt`)) problems.push(`README link ${l} is not in the VSIX`);
}
const forbidden = [/^extension\/src\//, /^extension\/test\//, /^extension\/tools\//, /^extension\/out\//, /\.map$/, /^extension\/\.cache\//,
  /onnxruntime-node\/bin\/napi-v6\/(darwin|win32)\//, /onnxruntime-node\/bin\/napi-v6\/linux\/arm64\//,
  /^extension\/node_modules\/(?!onnxruntime-node\/|onnxruntime-common\/)/];
const linkedEntries = new Set(linked.map((l) => `extension/${l}`));
for (const f of files) for (const re of forbidden) if (!linkedEntries.has(f) && re.test(f)) { problems.push(`unexpected ${f}`); break; }
const size = spawnSync('du', ['-h', vsix], { encoding: 'utf8' }).stdout.split('\t')[0];
console.log(`[package] ${vsix}: ${files.length} entries, ${size}`);
if (problems.length) { console.error('[package] VSIX contents are wrong:\n  ' + problems.join('\n  ')); process.exit(1); }
console.log('[package] contents ok (linux-x64 binaries only, no sources/tests/maps)');

// ---- install into the VS Code server and activate
const installCheck = process.argv.includes('--install-check') || (!process.argv.includes('--no-install-check') && existsSync(join(root, '.cache', 'vscode-server.env')));
if (!installCheck) console.log('[package] install check skipped (run tools/vscode-server/setup.sh first, or pass --install-check)');
if (installCheck) {
  run(process.execPath, ['tools/vscode-server/build-tests.mjs', '--vsix']);
  const tmp = mkdtempSync(join(tmpdir(), 'mamba-vsix-'));
  const model = join(tmp, 'model');
  run(process.execPath, ['--import', 'tsx', 'test/integration/fixtures/make-model.ts', model]);
  // extension tests only run in extension-development mode: an empty placeholder extension provides it, while
  // the extension under test is the INSTALLED VSIX.
  const placeholder = join(tmp, 'placeholder');
  mkdirSync(placeholder, { recursive: true });
  writeFileSync(join(placeholder, 'package.json'), JSON.stringify({ name: 'vsix-check', publisher: 'mamba-explain', version: '0.0.0', engines: { vscode: '^1.90.0' } }));
  const r = spawnSync(process.execPath, ['tools/vscode-server/launch.mjs', '--install-extension', vsix, '--extensions-dir', join(tmp, 'ext'),
    `--extensionDevelopmentPath=${placeholder}`, `--extensionTestsPath=${join(root, 'out/test/vsix/index.js')}`, join(tmp, 'ws'), '--timeout', '240'],
  { stdio: 'inherit', env: { ...process.env, MAMBA_EXPLAIN_TEST_MODEL: model } });
  rmSync(tmp, { recursive: true, force: true });
  if (r.status !== 0) { console.error('[package] the VSIX did not install/activate in VS Code'); process.exit(1); }
  console.log('[package] installed into the VS Code server and activated');
}
