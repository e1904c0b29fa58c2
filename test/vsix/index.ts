// Extension-tests entry for the packaged VSIX (npm run package -- --install-check): the extension is INSTALLED
// (not loaded from a development path); it must activate and trace a prompt on the embedded demo model
// (or on MAMBA_EXPLAIN_TEST_MODEL when the package has no demo model). Writes the launcher's result JSON.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';

export async function run(): Promise<void> {
  const result = { passed: 0, failed: 0, pending: 0, durationMs: 0, failures: [] as { title: string; error: string }[], tests: [] as { title: string; state: string }[] };
  const t0 = Date.now();
  const check = async (title: string, f: () => Promise<void>) => {
    try {
      await f();
      result.passed++;
      result.tests.push({ title, state: 'passed' });
      console.log(`  ✔ ${title}`);
    } catch (e) {
      result.failed++;
      result.failures.push({ title, error: String((e as Error)?.stack ?? e) });
      console.log(`  ✘ ${title}: ${(e as Error)?.message ?? e}`);
    }
  };
  const ext = vscode.extensions.getExtension('mamba-explain.mamba-explain');
  await check('the VSIX is installed', async () => {
    if (!ext) throw new Error('extension mamba-explain.mamba-explain is not installed');
    if (!/mamba-explain\.mamba-explain-0\.\d+\.\d+/.test(ext.extensionPath)) throw new Error(`unexpected extension path ${ext.extensionPath}`);
  });
  await check('it activates', async () => {
    await ext!.activate();
    if (!ext!.isActive) throw new Error('not active');
  });
  await check('Trace Factual Flow runs on the installed bundle (onnxruntime-node linux-x64)', async () => {
    const demo = path.join(ext!.extensionPath, 'models', 'demo', 'config.json');
    const cfg = vscode.workspace.getConfiguration('mambaExplain');
    await cfg.update('model', fs.existsSync(demo) ? '' : process.env.MAMBA_EXPLAIN_TEST_MODEL ?? '', vscode.ConfigurationTarget.Global);
    await cfg.update('executionProvider', 'cpu', vscode.ConfigurationTarget.Global);
    const r = (await vscode.commands.executeCommand('mambaExplain.traceFactualFlow', { prompt: 'The capital of France is', subject: 'France', target: '' })) as { kind: string; target: { text: string } };
    if (r?.kind !== 'trace') throw new Error('no TraceResult');
    console.log(`    top-1 target: ${JSON.stringify(r.target.text)}${fs.existsSync(demo) ? ' (embedded demo model)' : ''}`);
  });
  result.durationMs = Date.now() - t0;
  const file = process.env.MAMBA_EXPLAIN_TEST_RESULT;
  if (file) fs.writeFileSync(file, JSON.stringify(result, null, 2));
  if (result.failed) throw new Error(`${result.failed} check(s) failed`);
}
