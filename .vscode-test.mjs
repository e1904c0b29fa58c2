// @vscode/test-cli configuration (`npx vscode-test`).
// Default (CI, offline): `useInstallation.fromPath` points at tools/vscode-server/code, which runs the tests in
// VS Code's server (code-server package, Node 24) + headless Chromium. Run `bash tools/vscode-server/setup.sh`
// and `node tools/vscode-server/build-tests.mjs` first (`npm run test:integration` does both).
// On a machine that can download VS Code, `MAMBA_EXPLAIN_VSCODE=download npx vscode-test` lets
// @vscode/test-electron download and run a desktop VS Code instead (not used in CI).
import { defineConfig } from '@vscode/test-cli';
import { fileURLToPath } from 'node:url';

const launcher = fileURLToPath(new URL('./tools/vscode-server/code', import.meta.url));
const download = process.env.MAMBA_EXPLAIN_VSCODE === 'download';

export default defineConfig({
  label: 'integration',
  files: 'out/test/integration/**/*.test.js',
  workspaceFolder: './test/integration/fixtures/workspace',
  mocha: { ui: 'tdd', timeout: 120000, color: false, grep: '@untrusted', invert: true },
  ...(download ? { version: 'stable' } : { useInstallation: { fromPath: launcher } }),
});
