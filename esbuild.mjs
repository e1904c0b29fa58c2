// Bundles the CLI, the engine worker, the extension host code and the webviews.
import * as esbuild from 'esbuild';
import { existsSync, readFileSync } from 'node:fs';

const version = JSON.parse(readFileSync('package.json', 'utf8')).version;

const watch = process.argv.includes('--watch');
const common = { bundle: true, sourcemap: true, logLevel: 'warning', target: 'es2022', define: { __MAMBA_EXPLAIN_VERSION__: JSON.stringify(version) } };
const node = { ...common, platform: 'node', format: 'cjs', external: ['vscode', 'onnxruntime-node'] };

const entries = [
  { ...node, entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli.js', banner: { js: '#!/usr/bin/env node' } },
  { ...node, entryPoints: ['src/engine/runtime/worker.ts'], outfile: 'dist/worker.js' },
  { ...node, entryPoints: ['src/extension/extension.ts'], outfile: 'dist/extension.js' },
  { ...common, minify: true, platform: 'browser', format: 'iife', entryPoints: ['webview/panel/main.ts'], outfile: 'dist/webview/panel.js' },
  { ...common, minify: true, platform: 'browser', format: 'iife', entryPoints: ['webview/heatmap/main.ts'], outfile: 'dist/webview/heatmap.js' },
  { ...common, minify: true, platform: 'browser', format: 'iife', entryPoints: ['webview/steering/main.ts'], outfile: 'dist/webview/steering.js' },
].filter((e) => e.entryPoints.every((p) => existsSync(p)));

if (watch) {
  for (const e of entries) (await esbuild.context(e)).watch();
} else {
  await Promise.all(entries.map((e) => esbuild.build(e)));
}
