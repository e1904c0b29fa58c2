// Compiles test/integration/**/*.ts (or test/vsix with --vsix) with esbuild (CJS, `vscode` and `mocha` external) into out/test/integration/.
import * as esbuild from 'esbuild';
import { readdirSync, statSync, rmSync } from 'node:fs';
import { join } from 'node:path';

function find(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) find(p, out);
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}
// --vsix: the installed-VSIX check (test/vsix) instead of the integration tests.
const dir = process.argv.includes('--vsix') ? 'vsix' : 'integration';
rmSync(`out/test/${dir}`, { recursive: true, force: true });
await esbuild.build({
  entryPoints: find(`test/${dir}`),
  outdir: `out/test/${dir}`,
  outbase: `test/${dir}`,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'es2022',
  sourcemap: 'inline',
  logLevel: 'warning',
  external: ['vscode', 'mocha', 'onnxruntime-node'],
  define: { __MAMBA_EXPLAIN_VERSION__: JSON.stringify('test') },
});
